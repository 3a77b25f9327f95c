// @ts-check
// The meeting bar, always on screen above the stage: the current agenda item with its planned
// time box, the running timer (who, and the time left as the server's deadline says, counted
// with the measured server clock), and the meeting's elapsed time against the planned total.
// The tab's title carries the time left. In the last 30 s (WARNING_MS) the timer turns amber
// and screen readers hear it once (when this page saw it cross into them); at time-up it
// turns red. A facilitator moves the meeting to the next agenda item from here (the current
// one is marked done, the next made current).

import { h, announce, busy } from '../../ui.js';
import { patch, listen } from '../../render.js';
import { barModel } from './model.js';
import { formatRemaining, KIND_LABELS } from '../flow/time.js';
import { formatDuration } from '../flow/round.js';
import { plural } from '../../format.js';

/** How often the bar's clocks are recomputed, in milliseconds. */
export const BAR_TICK_MS = 250;

/**
 * @param {import('../index.js').PanelContext} context
 */
export function mountMeetingBar(context) {
  const { store } = context;
  const nameOf = (/** @type {string} */ id) => store.member(id)?.display_name ?? 'Someone';
  const itemBox = h('div', { class: 'bar-item', id: 'bar-item' });
  const nextButton = h('button', { type: 'button', class: 'button primary small', id: 'bar-next-item', hidden: true });
  const timerWho = h('span', { class: 'bar-timer-who', id: 'bar-timer-who' });
  const timerTime = h('span', { class: 'bar-timer-time', id: 'bar-timer-time' });
  const timerBox = h('div', { class: 'bar-timer', id: 'bar-timer', role: 'timer', 'aria-live': 'off', hidden: true }, timerWho, timerTime);
  const clock = h('div', { class: 'bar-clock', id: 'bar-clock' });
  const element = h('section', { class: 'meeting-bar', id: 'meeting-bar', 'aria-label': 'Meeting bar' },
    itemBox, timerBox, clock, nextButton);

  listen(nextButton, 'click', async () => {
    const state = store.state;
    if (!state) return;
    const model = barModel(state, context.connection.clock.serverNow(), nameOf);
    const release = busy(nextButton);
    if (model.item) {
      const done = await context.act({ type: 'mark_agenda_item_done', item_id: model.item.item_id }, 'Could not mark the item done');
      if (!done) { release(); return; }
    }
    if (model.next) await context.act({ type: 'set_current_agenda_item', item_id: model.next.item_id }, 'Could not move to the next item');
    release();
  });

  /** The deadline whose warning was announced, so once only. */
  let warnedDeadline = -1;
  /** The deadline last seen with more than the warning's time left. */
  let seenBeforeWarning = -1;
  let lastTitle = '';

  const tick = () => {
    const state = store.state;
    if (!state) return;
    const model = barModel(state, context.connection.clock.serverNow(), nameOf);
    const timer = model.timer;
    timerBox.hidden = !timer;
    element.classList.toggle('warning', !!timer?.warning && !timer.paused);
    element.classList.toggle('over', !!timer?.over);
    let title = `${state.group.name} · Roundtable`;
    if (timer) {
      const text = formatRemaining(timer.remainingMs);
      const who = timer.who ?? (model.item ? model.item.title : 'Timer');
      if (timerWho.textContent !== who) timerWho.textContent = who;
      const shown = timer.paused ? `${text} paused` : text;
      if (timerTime.textContent !== shown) timerTime.textContent = shown;
      timerBox.setAttribute('aria-label', `${who}: ${timer.over ? 'time is up' : `${text} left`}${timer.paused ? ', paused' : ''}`);
      title = `${timer.over ? '⏰ ' : ''}${text} ${who} · ${title}`;
      // Warned once, and only on crossing into the last 30 s: a turn shorter than that starts
      // inside it, and its start's announcement ("Now speaking: …") must not be talked over.
      if (!timer.warning && !timer.over) seenBeforeWarning = timer.deadline;
      if (timer.warning && !timer.paused && timer.deadline !== warnedDeadline && timer.deadline === seenBeforeWarning) {
        warnedDeadline = timer.deadline;
        announce(`${Math.ceil(timer.remainingMs / 1000)} seconds left${timer.who ? ` for ${timer.who}` : ''}.`);
      }
    }
    if (title !== lastTitle) {
      document.title = title;
      lastTitle = title;
    }
    const planned = model.plannedTotalMs > 0 ? ` of ${formatDuration(model.plannedTotalMs)} planned` : '';
    const text = `Meeting ${formatDuration(model.elapsedMs)}${planned}`;
    if (clock.textContent !== text) clock.textContent = text;
  };

  const draw = () => {
    const state = store.state;
    if (!state) return;
    const model = barModel(state, context.connection.clock.serverNow(), nameOf);
    const item = model.item;
    patch(itemBox, () => item ? [
      h('span', { class: 'bar-label' }, 'Now'),
      h('span', { class: 'bar-title', id: 'bar-item-title' }, item.title),
      // The kind only when the title does not say it already ("Bring a problem").
      h('span', { class: 'bar-meta' }, `${(KIND_LABELS[item.kind] ?? item.kind) === item.title ? '' : `${KIND_LABELS[item.kind] ?? item.kind} · `}${plural(Math.round(item.time_box_ms / 60_000), 'min', 'min')} planned`),
    ] : [
      h('span', { class: 'bar-label' }, 'Now'),
      h('span', { class: 'bar-title muted', id: 'bar-item-title' }, store.iAmFacilitator() ? 'No current item: start one from the agenda' : 'Waiting for the facilitator to start an item'),
    ]);
    const facilitator = store.iAmFacilitator();
    nextButton.hidden = !facilitator || (!model.next && !model.item);
    nextButton.textContent = model.next ? `Next: ${model.next.title}` : 'Finish this item';
    nextButton.disabled = !context.isConnected();
    tick();
  };
  setInterval(() => { if (element.isConnected) tick(); }, BAR_TICK_MS);

  return { element, update: draw };
}
