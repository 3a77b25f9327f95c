// @ts-check
// The round's speaking order and the meeting's talk times, drawn inside the agenda panel.
//
// Before a round, the facilitator can plan the order (move people up or down, or shuffle);
// starting the round sends that order. While it runs, everyone sees the order with who speaks
// and who is next, and the facilitator can still move or shuffle the speakers who are waiting
// (the server shuffles, so every page gets the same order). Speakers who went offline stay in
// their place, marked offline; the facilitator skips any waiting or speaking speaker from their
// row and puts a skipped one back (they wait in their place again). When the round ends, the
// planned order becomes the round's, so the next round starts from it. The talk-time table
// sums each member's turns in this meeting, longest first, so a facilitator sees who spoke how
// long.

import { prepOf, checkInOf, checkInLine } from '../prep/state.js';
import { patch, listen } from '../../render.js';
import { h, announce, busy } from '../../ui.js';

/** @typedef {import('../../protocol').MemberId} MemberId */
/** @typedef {import('../../protocol').RoundSpeaker} RoundSpeaker */
/** @typedef {import('./state.js').FlowState} FlowState */

/**
 * A duration as m:ss, or h:mm:ss from an hour on.
 * @param {number} ms
 */
export function formatDuration(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
  return `${Math.floor(seconds / 60)}:${pad(seconds % 60)}`;
}

/** @type {Record<RoundSpeaker['status'], string>} */
const STATUS_WORDS = { waiting: 'waiting', speaking: 'speaking', done: 'done', skipped: 'skipped' };

/**
 * Moves `list[index]` by `delta` places, returning a new list (the same one when it cannot move).
 * @template T
 * @param {T[]} list
 * @param {number} index
 * @param {number} delta
 */
export function moved(list, index, delta) {
  const target = index + delta;
  if (index < 0 || target < 0 || target >= list.length) return list;
  const copy = [...list];
  [copy[index], copy[target]] = [copy[target], copy[index]];
  return copy;
}

/**
 * Remembers which button in `container` has the focus (by its row's data-key and its
 * data-action), so it can be focused again after the rows are drawn anew.
 * @param {HTMLElement} container
 * @returns {() => void} Puts the focus back (on the other move button when that one is off).
 */
export function keepFocus(container) {
  const active = /** @type {HTMLElement | null} */ (document.activeElement);
  if (!active || !container.contains(active)) return () => {};
  const row = /** @type {HTMLElement | null} */ (active.closest('[data-key]'));
  const action = active.getAttribute('data-action');
  const key = row?.getAttribute('data-key');
  return () => {
    if (active.isConnected && !(/** @type {HTMLButtonElement} */ (active).disabled)) { active.focus(); return; }
    if (!key || !action) return;
    const newRow = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
    /** @type {Record<string, string>} The button that takes a button's place after its action. */
    const partners = { up: 'down', down: 'up', skip: 'restore', restore: 'skip' };
    const fallback = partners[action] ?? null;
    for (const candidate of [action, fallback]) {
      const button = /** @type {HTMLButtonElement | null} */ (candidate ? newRow?.querySelector(`[data-action="${candidate}"]`) : null);
      if (button && !button.disabled && !button.hidden) { button.focus(); return; }
    }
  };
}

/**
 * Up and down buttons for a row, labelled with what they move.
 * @param {string} what The row's name, for the labels.
 * @param {boolean} first
 * @param {boolean} last
 * @param {(delta: number) => void} move
 */
export function moveButtons(what, first, last, move) {
  return h('span', { class: 'move-buttons' },
    h('button', { type: 'button', class: 'icon-button move', 'data-action': 'up', 'aria-label': `Move ${what} up`, title: 'Move up', disabled: first, onclick: () => move(-1) }, '↑'),
    h('button', { type: 'button', class: 'icon-button move', 'data-action': 'down', 'aria-label': `Move ${what} down`, title: 'Move down', disabled: last, onclick: () => move(1) }, '↓'));
}

/**
 * @param {object} deps
 * @param {import('../index.js').PanelContext} deps.context
 * @param {() => FlowState | null} deps.flow
 * @param {(id: MemberId) => string} deps.nameOf
 */
export function mountRound({ context, flow, nameOf }) {
  const { store } = context;
  const you = (/** @type {MemberId} */ id) => (id === store.myMemberId ? ' (you)' : '');

  // --- the plan before a round (facilitator) -----------------------------------------------
  /** The order the facilitator planned, or null for the default (members present, as they joined). */
  /** @type {MemberId[] | null} */
  let plan = null;
  /** @returns {MemberId[]} */
  const defaultSpeakers = () => (store.state?.members ?? [])
    .filter((member) => member.online && member.role !== 'observer')
    .map((member) => member.member_id);
  /**
   * The planned order: who the facilitator placed stays (offline for a moment too: the round
   * marks them and they can be skipped), unless they left the group or only watch; newcomers
   * who are present go at the end.
   */
  const plannedSpeakers = () => {
    const present = defaultSpeakers();
    if (!plan) return present;
    const speaks = (/** @type {string} */ id) => {
      const member = store.state?.members.find((candidate) => candidate.member_id === id);
      return !!member && member.role !== 'observer';
    };
    const kept = plan.filter(speaks);
    return [...kept, ...present.filter((id) => !kept.includes(id))];
  };
  const planSummary = h('span', { class: 'plan-summary', id: 'round-plan-summary' });
  const planList = h('ol', { class: 'speaker-list', id: 'round-plan-list', 'aria-label': 'Planned speaking order' });
  const planShuffle = h('button', { type: 'button', class: 'button secondary small', id: 'round-plan-shuffle' }, 'Shuffle');
  const planReset = h('button', { type: 'button', class: 'button secondary small', id: 'round-plan-reset' }, 'As they joined');
  const planner = h('details', { class: 'round-plan', id: 'round-plan' },
    h('summary', {}, 'Speaking order: ', planSummary),
    planList,
    h('div', { class: 'speaker-tools' }, planShuffle, planReset));
  listen(planShuffle, 'click', () => {
    const order = plannedSpeakers();
    const random = new Uint32Array(order.length);
    crypto.getRandomValues(random);
    for (let index = order.length - 1; index > 0; index--) {
      const other = random[index] % (index + 1);
      [order[index], order[other]] = [order[other], order[index]];
    }
    plan = order;
    drawPlan();
    announce(`Planned order: ${order.map(nameOf).join(', ')}.`);
  });
  listen(planReset, 'click', () => {
    plan = null;
    drawPlan();
    announce('Planned order: as they joined.');
  });

  const drawPlan = () => {
    const order = plannedSpeakers();
    planSummary.textContent = order.length ? order.map(nameOf).join(', ') : 'nobody present';
    const restore = keepFocus(planList);
    patch(planList, () => order.map((id, index) => h('li', { class: 'speaker', 'data-key': id, 'data-member-id': id },
      h('span', { class: 'speaker-position', 'aria-hidden': 'true' }, String(index + 1)),
      h('span', { class: 'speaker-name' }, `${nameOf(id)}${you(id)}`),
      store.state?.members.find((member) => member.member_id === id)?.online === false
        ? h('span', { class: 'tag speaker-tag offline' }, 'offline') : null,
      moveButtons(nameOf(id), index === 0, index === order.length - 1, (delta) => {
        plan = moved(plannedSpeakers(), index, delta);
        drawPlan();
      }))));
    restore();
  };

  // --- the running round ---------------------------------------------------------------------
  const shuffleButton = h('button', { type: 'button', class: 'button secondary small', id: 'round-shuffle' }, 'Shuffle waiting');
  const orderList = h('ol', { class: 'speaker-list', id: 'round-order', 'aria-labelledby': 'round-order-title' });
  const roundBox = h('section', { class: 'round-box', id: 'round-box', 'aria-labelledby': 'round-order-title' },
    h('div', { class: 'subhead' }, h('h3', { id: 'round-order-title' }, 'Speaking order'), shuffleButton),
    orderList);

  /** @param {MemberId[]} waitingOrder */
  const sendOrder = async (waitingOrder) => {
    await context.act({ type: 'reorder_speakers', order: waitingOrder }, 'Could not reorder the speakers');
  };
  listen(shuffleButton, 'click', async () => {
    const before = flow()?.round?.speakers.map((s) => s.member_id).join() ?? '';
    const release = busy(shuffleButton);
    const reply = await context.act({ type: 'shuffle_speakers' }, 'Could not shuffle the speakers');
    release();
    const after = flow()?.round?.speakers.map((s) => s.member_id).join() ?? '';
    if (reply && before === after) announce('Shuffled; the order came out the same.');
  });

  /**
   * The facilitator's Skip (waiting or speaking) or Put back (skipped) button of one speaker,
   * named with the speaker ("Skip Ann", "Put Ann back").
   * @param {RoundSpeaker} speaker
   */
  const skipOrRestore = (speaker) => {
    const id = speaker.member_id;
    const name = nameOf(id);
    const disabled = !context.isConnected();
    // A member removed from the group stays skipped.
    if (speaker.status === 'skipped' && store.member(id)) {
      return h('button', {
        type: 'button', class: 'button secondary small', 'data-action': 'restore', disabled,
        onclick: () => context.act({ type: 'restore_speaker', member_id: id }, `Could not put ${name} back`),
      }, 'Put ', h('span', { class: 'visually-hidden' }, `${name} `), 'back');
    }
    if (speaker.status === 'waiting' || speaker.status === 'speaking') {
      return h('button', {
        type: 'button', class: 'button secondary small', 'data-action': 'skip', disabled,
        onclick: () => context.act({ type: 'skip_speaker', member_id: id }, `Could not skip ${name}`),
      }, 'Skip', h('span', { class: 'visually-hidden' }, ` ${name}`));
    }
    return null;
  };

  /**
   * The speaker's check-in from their prep (features/prep), beside them while it is their turn.
   * @param {RoundSpeaker} speaker
   */
  const speakerCheckIn = (speaker) => {
    if (speaker.status !== 'speaking') return null;
    const checkIn = checkInOf(prepOf(store.state), speaker.member_id, store.myMemberId);
    return checkIn ? h('p', { class: 'speaker-check-in', id: 'speaker-check-in', 'data-member-id': speaker.member_id }, h('span', { class: 'visually-hidden' }, 'Check-in: '), checkInLine(checkIn)) : null;
  };

  /** The order of the round drawn last, which the plan takes when the round ends. */
  /** @type {MemberId[] | null} */
  let lastRoundOrder = null;

  const drawRound = () => {
    const round = flow()?.round ?? null;
    roundBox.hidden = !round;
    if (!round) {
      // The round ended: the next one starts from its order, not from the joining order.
      if (lastRoundOrder) plan = lastRoundOrder;
      lastRoundOrder = null;
      return;
    }
    lastRoundOrder = round.speakers.map((s) => s.member_id);
    const facilitator = store.iAmFacilitator();
    const waiting = round.speakers.filter((s) => s.status === 'waiting').map((s) => s.member_id);
    const nextId = waiting[0];
    shuffleButton.hidden = !facilitator || waiting.length < 2;
    const restore = keepFocus(orderList);
    patch(orderList, () => round.speakers.map((speaker, index) => {
      const id = speaker.member_id;
      const waitingIndex = waiting.indexOf(id);
      const tag = speaker.status === 'waiting' ? (id === nextId ? 'next' : null) : STATUS_WORDS[speaker.status];
      const offline = store.member(id)?.online === false;
      return h('li', { class: `speaker ${speaker.status}${offline ? ' offline' : ''}`, 'data-key': id, 'data-member-id': id, 'data-status': speaker.status, 'aria-current': speaker.status === 'speaking' ? 'true' : null },
        h('span', { class: 'speaker-position', 'aria-hidden': 'true' }, String(index + 1)),
        h('span', { class: 'speaker-name' }, `${nameOf(id)}${you(id)}`),
        tag ? h('span', { class: `tag speaker-tag ${tag}` }, tag) : null,
        offline ? h('span', { class: 'tag speaker-tag offline' }, 'offline') : null,
        speaker.talk_ms > 0 ? h('span', { class: 'speaker-talk', title: 'Talk time in this round' }, formatDuration(speaker.talk_ms)) : null,
        facilitator && waitingIndex >= 0 && waiting.length > 1
          ? moveButtons(nameOf(id), waitingIndex === 0, waitingIndex === waiting.length - 1, (delta) => sendOrder(moved(waiting, waitingIndex, delta)))
          : null,
        facilitator ? skipOrRestore(speaker) : null,
        speakerCheckIn(speaker));
    }));
    restore();
  };

  // --- talk times ---------------------------------------------------------------------------
  const talkBody = h('tbody', {});
  const talkBox = h('section', { class: 'talk-times', id: 'talk-times', 'aria-labelledby': 'talk-times-title' },
    h('h3', { id: 'talk-times-title' }, 'Talk time this meeting'),
    h('table', { class: 'talk-table' },
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Member'),
        h('th', { scope: 'col' }, 'Talk time'),
        h('th', { scope: 'col' }, 'Turns'),
        h('th', { scope: 'col' }, 'Over time'))),
      talkBody));

  const drawTalkTimes = () => {
    const times = [...(flow()?.talk_times ?? [])].sort((a, b) => b.talk_ms - a.talk_ms);
    talkBox.hidden = times.length === 0;
    const longest = Math.max(1, ...times.map((t) => t.talk_ms));
    patch(talkBody, () => times.map((entry) => h('tr', { 'data-member-id': entry.member_id },
      h('th', { scope: 'row' }, `${nameOf(entry.member_id)}${you(entry.member_id)}`),
      h('td', {}, h('span', { class: 'talk-cell' },
        h('span', { class: 'talk-bar', 'aria-hidden': 'true' },
          h('span', { class: 'talk-fill', style: `width: ${Math.round((entry.talk_ms / longest) * 100)}%` })),
        h('span', { class: 'talk-value', 'data-talk-ms': String(entry.talk_ms) }, formatDuration(entry.talk_ms)))),
      h('td', {}, String(entry.turns)),
      h('td', { class: entry.overrun_ms > 0 ? 'over' : '' }, entry.overrun_ms > 0 ? `+${formatDuration(entry.overrun_ms)}` : '–'))));
  };

  return {
    planner,
    roundBox,
    talkBox,
    plannedSpeakers,
    /** Forgets the plan once a round started with it. */
    clearPlan() { plan = null; },
    /** @param {boolean} changed Whether the flow or the members changed since the last call. */
    update(changed) {
      if (!changed) return;
      drawRound();
      drawPlan();
      drawTalkTimes();
    },
  };
}
