// @ts-check
// The meeting bar, always on screen above the stage: the current agenda item with what is left
// of its time box (the item's clock, kept by the server), the running timer (who, and the time
// left as the server's deadline says, counted with the measured server clock), and the
// meeting's elapsed time against the planned total. The tab's title carries the time left (the
// timer's, else the item's). In the last 30 s (WARNING_MS) the bar turns amber and screen
// readers hear it once (when this page saw it cross into them); at time-up it turns red. A
// facilitator moves through the agenda from here (Back, Next: one request each) and ends the
// meeting, after a confirmation that names what is still running.

import { h, announce, busy, confirmDialog } from '../../ui.js';
import { patch, listen } from '../../render.js';
import { barModel } from './model.js';
import { nowLine } from './now.js';
import { flowOf } from '../flow/state.js';
import { formatRemaining, KIND_LABELS } from '../flow/time.js';
import { formatDuration } from '../flow/round.js';
import { plural } from '../../format.js';

/** @typedef {import('../../store.js').RoomState} RoomState */

/** How often the bar's clocks are recomputed, in milliseconds. */
export const BAR_TICK_MS = 250;

/**
 * @param {import('../index.js').PanelContext} context
 */
/**
 * Announces a deadline's last 30 s once, and only when this page saw it cross into them: a
 * turn shorter than that starts inside it, and its start's announcement ("Now speaking: …")
 * must not be talked over.
 */
function warningWatch() {
  let warned = -1;
  let seenBefore = -1;
  /**
   * @param {{ warning: boolean, over: boolean, deadline: number } | null} clock
   * @param {boolean} paused
   * @returns {boolean} Whether to announce now.
   */
  return (clock, paused) => {
    if (!clock) return false;
    if (!clock.warning && !clock.over) seenBefore = clock.deadline;
    if (clock.warning && !paused && clock.deadline !== warned && clock.deadline === seenBefore) {
      warned = clock.deadline;
      return true;
    }
    return false;
  };
}

/**
 * What End meeting stops, in words, for its confirmation.
 * @param {RoomState} state
 * @param {(id: string) => string} nameOf
 */
function whatIsRunning(state, nameOf) {
  const flow = flowOf(state);
  const running = [];
  if (flow.round) {
    const left = flow.round.speakers.filter((speaker) => speaker.status === 'waiting' || speaker.status === 'speaking').length;
    running.push(`The round is running: ${plural(left, 'member has', 'members have')} not finished speaking.`);
  }
  if (flow.floor) running.push(`${nameOf(flow.floor.member_id)} has the floor.`);
  else if (flow.timer && !flow.round) running.push('A timer is running.');
  if (state.hands.length > 0) running.push(`${plural(state.hands.length, 'raised hand is', 'raised hands are')} lowered.`);
  const rolePlay = /** @type {{ view: import('../../protocol').RolePlayView } | undefined} */ (state.features.role_play)?.view.current;
  if (rolePlay && (rolePlay.phase === 'scoring' || rolePlay.phase === 'closed')) {
    running.push(`The role play stays open${rolePlay.phase === 'scoring' ? ' for scoring' : ''} until you reveal or cancel it.`);
  }
  return running.join(' ');
}

/**
 * @param {import('../index.js').PanelContext} context
 */
export function mountMeetingBar(context) {
  const { store } = context;
  const nameOf = (/** @type {string} */ id) => store.member(id)?.display_name ?? 'Someone';
  const itemBox = h('div', { class: 'bar-item', id: 'bar-item' });
  const itemClock = h('span', { class: 'bar-item-clock', id: 'bar-item-clock', role: 'timer', 'aria-live': 'off' });
  const backButton = h('button', { type: 'button', class: 'button secondary small', id: 'bar-back-item', hidden: true }, 'Back');
  const nextButton = h('button', { type: 'button', class: 'button primary small', id: 'bar-next-item', hidden: true });
  const endButton = h('button', { type: 'button', class: 'button danger secondary small', id: 'bar-end-meeting', hidden: true }, 'End meeting');
  const controls = h('div', { class: 'bar-controls', id: 'bar-controls', role: 'group', 'aria-label': 'Run the meeting' }, backButton, nextButton, endButton);
  const timerWho = h('span', { class: 'bar-timer-who', id: 'bar-timer-who' });
  const timerTime = h('span', { class: 'bar-timer-time', id: 'bar-timer-time' });
  const timerBox = h('div', { class: 'bar-timer', id: 'bar-timer', role: 'timer', 'aria-live': 'off', hidden: true }, timerWho, timerTime);
  const clock = h('div', { class: 'bar-clock', id: 'bar-clock' });
  const now = h('p', { class: 'bar-now', id: 'bar-now' });
  const element = h('section', { class: 'meeting-bar', id: 'meeting-bar', 'aria-label': 'Meeting bar' },
    itemBox, timerBox, clock, controls, now);

  const model = () => barModel(/** @type {RoomState} */ (store.state), context.connection.clock.serverNow(), nameOf);
  listen(nextButton, 'click', async () => {
    if (!store.state) return;
    const release = busy(nextButton);
    await context.act({ type: 'next_agenda_item' }, 'Could not move to the next item');
    release();
  });
  listen(backButton, 'click', async () => {
    if (!store.state) return;
    const release = busy(backButton);
    await context.act({ type: 'previous_agenda_item' }, 'Could not go back');
    release();
  });
  listen(endButton, 'click', async () => {
    const state = store.state;
    if (!state) return;
    const running = whatIsRunning(state, nameOf);
    const confirmed = await confirmDialog(`End meeting ${state.meeting.number}?`,
      `${running ? `${running} ` : ''}Everyone sees the meeting's summary; items not reached carry over. You start the next meeting from the summary.`,
      'End meeting');
    if (!confirmed) { endButton.focus(); return; }
    await context.act({ type: 'end_meeting' }, 'Could not end the meeting');
  });

  const timerWarning = warningWatch();
  const itemWarning = warningWatch();
  let lastTitle = '';

  const tick = () => {
    const state = store.state;
    if (!state) return;
    const bar = model();
    const timer = bar.timer;
    const item = bar.itemClock;
    timerBox.hidden = !timer;
    // The bar warns for the timer when one runs, else for the item's time box.
    const warning = timer ? timer.warning && !timer.paused : !!item?.warning;
    element.classList.toggle('warning', warning);
    element.classList.toggle('over', timer ? timer.over : !!item?.over);
    element.classList.toggle('item-over', !!item?.over);
    let title = `${state.group.name} · Roundtable`;
    if (item && bar.item) {
      const text = formatRemaining(item.remainingMs);
      const shown = item.over ? `${text} over` : `${text} left`;
      if (itemClock.textContent !== shown) itemClock.textContent = shown;
      itemClock.setAttribute('aria-label', `${bar.item.title}: ${item.over ? 'time box used up' : `${text} left`}`);
      if (!timer) title = `${item.over ? '⏰ ' : ''}${text} ${bar.item.title} · ${title}`;
      if (itemWarning(item, false) && !timer) announce(`${Math.ceil(item.remainingMs / 1000)} seconds left for ${bar.item.title}.`);
    }
    if (timer) {
      const text = formatRemaining(timer.remainingMs);
      const who = timer.who ?? (bar.item ? bar.item.title : 'Timer');
      if (timerWho.textContent !== who) timerWho.textContent = who;
      const shown = timer.paused ? `${text} paused` : text;
      if (timerTime.textContent !== shown) timerTime.textContent = shown;
      timerBox.setAttribute('aria-label', `${who}: ${timer.over ? 'time is up' : `${text} left`}${timer.paused ? ', paused' : ''}`);
      title = `${timer.over ? '⏰ ' : ''}${text} ${who} · ${title}`;
      if (timerWarning(timer, timer.paused)) announce(`${Math.ceil(timer.remainingMs / 1000)} seconds left${timer.who ? ` for ${timer.who}` : ''}.`);
    }
    if (title !== lastTitle) {
      document.title = title;
      lastTitle = title;
    }
    const planned = bar.plannedTotalMs > 0 ? ` of ${formatDuration(bar.plannedTotalMs)} planned` : '';
    const text = `${bar.endedAtMs != null ? 'Met for' : 'Meeting'} ${formatDuration(bar.elapsedMs)}${planned}`;
    if (clock.textContent !== text) clock.textContent = text;
  };

  const draw = () => {
    const state = store.state;
    if (!state) return;
    const bar = model();
    const item = bar.item;
    const ended = bar.endedAtMs != null;
    const facilitator = store.iAmFacilitator();
    patch(itemBox, () => {
      if (ended) {
        return [h('span', { class: 'bar-label' }, 'Ended'),
          h('span', { class: 'bar-title', id: 'bar-item-title' }, `Meeting ${state.meeting.number} has ended`)];
      }
      if (!item) {
        return [h('span', { class: 'bar-label' }, 'Now'),
          h('span', { class: 'bar-title muted', id: 'bar-item-title' }, 'The agenda has not started')];
      }
      const kind = KIND_LABELS[item.kind] ?? item.kind;
      return [
        h('span', { class: 'bar-label' }, 'Now'),
        h('span', { class: 'bar-title', id: 'bar-item-title' }, item.title),
        // The kind only when the title does not say it already ("Bring a problem").
        h('span', { class: 'bar-meta' }, `${kind === item.title ? '' : `${kind} · `}${plural(Math.round(item.time_box_ms / 60_000), 'min', 'min')} planned`),
        bar.itemClock ? itemClock : null,
      ];
    });
    const line = nowLine(state, store.myMemberId, facilitator, nameOf);
    if (now.textContent !== line) now.textContent = line;
    controls.hidden = !facilitator || ended;
    backButton.hidden = !bar.previous;
    backButton.setAttribute('aria-label', bar.previous ? `Back to ${bar.previous.title}` : 'Back');
    nextButton.hidden = !bar.next && !item;
    nextButton.textContent = bar.next ? `Next: ${bar.next.title}` : 'Finish this item';
    endButton.hidden = false;
    for (const button of [backButton, nextButton, endButton]) button.disabled = !context.isConnected();
    tick();
  };
  setInterval(() => { if (element.isConnected) tick(); }, BAR_TICK_MS);

  return { element, update: draw };
}
