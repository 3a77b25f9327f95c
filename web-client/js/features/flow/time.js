// @ts-check
// The flow's pure helpers: the time left on the server's timer, how times are written, the
// agenda's limits and kinds. No DOM (tested in Node).

/** @typedef {import('../../protocol').TimerInfo} TimerInfo */
/** @typedef {import('../../protocol').AgendaItemKind} AgendaItemKind */

/** A speaker's default time box in a round, in minutes. */
export const ROUND_MINUTES_DEFAULT = 4;
/** What +1 min adds, in milliseconds. */
export const EXTEND_MS = 60_000;
/** How often the timer's display is recomputed, in milliseconds. */
export const TIMER_TICK_MS = 100;
/** The server's limit on titles (PROTOCOL.md). */
export const AGENDA_TITLE_CHARS_MAX = 120;
/** The server's longest time box (`time_box_seconds_max`), in minutes. */
export const TIME_BOX_MINUTES_MAX = 240;

/** @type {Record<AgendaItemKind, string>} */
export const KIND_LABELS = {
  round: 'Round',
  report_back: 'Report back',
  problem: 'Bring a problem',
  role_play: 'Role play',
  benchmarks: 'Benchmarks',
  best_practices: 'Best practices',
  commitments: 'Commitments',
  discussion: 'Discussion',
};

/**
 * What is wrong with an item's title and time box as typed, in words for the person, or ''.
 * @param {string} title Already trimmed.
 * @param {number} minutes
 */
export function draftProblem(title, minutes) {
  if (!title) return 'The title must not be empty.';
  const chars = [...title].length;
  if (chars > AGENDA_TITLE_CHARS_MAX) return `The title is too long: ${chars} characters, at most ${AGENDA_TITLE_CHARS_MAX}.`;
  if (!(minutes > 0) || minutes > TIME_BOX_MINUTES_MAX) return `The time box must be more than 0 and at most ${TIME_BOX_MINUTES_MAX} minutes.`;
  return '';
}

/**
 * The time left on a timer at server time `now`: negative past the deadline.
 * @param {TimerInfo} timer
 * @param {number} now
 */
export function remainingMs(timer, now) {
  return timer.state.status === 'running' ? timer.state.deadline_ms - now : timer.state.remaining_ms;
}

/**
 * Shows a remaining time as m:ss (rounded up, so a fresh 4-minute box shows 4:00), or an
 * overrun as "+0:12 over".
 * @param {number} ms
 */
export function formatRemaining(ms) {
  const mss = (/** @type {number} */ seconds) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  if (ms > 0) return mss(Math.ceil(ms / 1000));
  if (ms > -1000) return '0:00';
  return `+${mss(Math.floor(-ms / 1000))} over`;
}


/**
 * The phases of bring-a-problem, as people read them.
 * @type {Record<import('../../protocol').ProblemPhase, string>}
 */
export const PHASE_LABELS = { present: 'Present', clarify: 'Clarifying questions', suggest: 'Suggestions', decide: 'Choose' };

/**
 * What a new timer would start for: a round, a problem's phase, or a member called from the
 * speaker queue.
 * @typedef {{ kind: 'round' } | { kind: 'problem_phase', item_id: number } | { kind: 'called_speaker' }} TimerIntent
 */

/**
 * The running (or paused) timer that starting a timer for `intent` would replace, in words
 * ("the Clarifying questions phase of “Acme renewal”, 3:12 left"), or null when nothing would
 * be lost: no timer, one whose time is up, or one of the same thing (the next phase of the
 * same problem, the next person called from the queue).
 * @param {{ timer: TimerInfo | null, agenda: { item_id: number, title: string }[] }} flow
 * @param {TimerIntent} intent
 * @param {number} now The server's time.
 * @param {(memberId: string) => string} nameOf
 * @returns {string | null}
 */
export function timerToReplace(flow, intent, now, nameOf) {
  const timer = flow.timer;
  if (!timer) return null;
  const left = remainingMs(timer, now);
  if (left <= 0) return null;
  const subject = timer.subject;
  if (intent.kind === 'problem_phase' && subject.kind === 'problem_phase' && subject.item_id === intent.item_id) return null;
  if (intent.kind === 'called_speaker' && subject.kind === 'called_speaker') return null;
  const what = subject.kind === 'problem_phase'
    ? (() => {
      const item = flow.agenda.find((candidate) => candidate.item_id === subject.item_id);
      return `the ${PHASE_LABELS[subject.phase]} phase${item ? ` of “${item.title}”` : ''}`;
    })()
    : subject.kind === 'round_speaker' ? `${nameOf(subject.member_id)}'s turn in the round`
      : `${nameOf(subject.member_id)}'s turn from the speaker queue`;
  return `${what}, ${formatRemaining(left)} left${timer.state.status === 'paused' ? ' (paused)' : ''}`;
}
