// @ts-check
// The optional time-up tone: a short, soft chime made with Web Audio when the timer reaches
// zero. It is off by default; each person turns it on for their own browser, which remembers
// the choice in localStorage.
//
// Browsers only let a page make sound after the person has interacted with it, so the audio
// context is created (or resumed) when the toggle is switched on, and again on the first click
// or key press after a page load with the tone already on.

/** Where the choice is remembered. */
export const SOUND_STORAGE_KEY = 'roundtable:time-up-sound';
/** The chime's two notes (a rising fifth), in hertz, and how long each rings, in seconds. */
const NOTES_HZ = [659.25, 987.77];
const NOTE_SECONDS = 0.35;
/** The loudest the chime gets (0..1): soft on purpose. */
const PEAK_GAIN = 0.12;

/**
 * What the page did with sound, for tests and the console (`window.roundtableSound`).
 * @type {{ tones: number, contextState: string }}
 */
export const soundStats = { tones: 0, contextState: 'none' };
// (Guarded so the module also loads in Node, where the client's pure parts are tested.)
if (typeof window !== 'undefined') /** @type {any} */ (window).roundtableSound = soundStats;

/** @type {AudioContext | null} */
let audio = null;

/** @returns {boolean} Whether this browser wants the tone. */
export function timeUpSoundOn() {
  try {
    return localStorage.getItem(SOUND_STORAGE_KEY) === 'on';
  } catch {
    return false;
  }
}

/** @param {boolean} on */
export function setTimeUpSound(on) {
  try {
    if (on) localStorage.setItem(SOUND_STORAGE_KEY, 'on');
    else localStorage.removeItem(SOUND_STORAGE_KEY);
  } catch {
    // Storage can be refused (private mode); the choice then lasts until the page closes.
  }
  remembered = on;
  if (on) prepareAudio();
}

/** The choice for this page, also when storage refuses it. */
let remembered = timeUpSoundOn();

/** @returns {boolean} */
export function soundWanted() {
  return remembered;
}

/** Creates or resumes the audio context; call it from a click or key press. */
export function prepareAudio() {
  const AudioContextClass = window.AudioContext
    ?? /** @type {typeof AudioContext | undefined} */ (/** @type {any} */ (window).webkitAudioContext);
  if (!AudioContextClass) return null;
  try {
    if (!audio) audio = new AudioContextClass();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    soundStats.contextState = audio.state;
  } catch {
    audio = null;
  }
  return audio;
}

// With the tone on from an earlier visit, the first gesture on the page unlocks the audio.
const unlock = () => {
  if (remembered) prepareAudio();
  if (audio && audio.state !== 'suspended') {
    document.removeEventListener('pointerdown', unlock, true);
    document.removeEventListener('keydown', unlock, true);
  }
};
if (typeof document !== 'undefined') {
  document.addEventListener('pointerdown', unlock, true);
  document.addEventListener('keydown', unlock, true);
}

/** Plays the chime, if the person turned the tone on. */
export function playTimeUpTone() {
  if (!remembered) return;
  const context = prepareAudio();
  if (!context) return;
  const start = context.currentTime + 0.02;
  NOTES_HZ.forEach((frequency, index) => {
    const at = start + index * NOTE_SECONDS * 0.8;
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = 'sine';
    oscillator.frequency.value = frequency;
    // A quick, gentle attack and a long fade, so it sounds like a soft bell, not a beep.
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(PEAK_GAIN, at + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + NOTE_SECONDS);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(at);
    oscillator.stop(at + NOTE_SECONDS + 0.05);
  });
  soundStats.tones += 1;
  soundStats.contextState = context.state;
}
