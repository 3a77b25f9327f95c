// @ts-check
// The speaker queue: who raised a hand, in order, and the button to raise or lower one's own.
// On a narrow screen, where the queue is a tab of its own, a discussion's stage carries a
// copy of the button and the count, so nobody has to leave the stage to ask to speak.
//
// A facilitator runs the queue from here: "Call on" any raised hand gives that member the
// floor (with the time box chosen above the list, or none), "Lower" lowers one hand, "Lower
// all hands" every one, and "End turn" ends the turn of whoever was called. Calling with a
// time box when a timer still runs for something else (a problem's phase) asks first.
// After each action the focus goes to the control that comes next, never to the page.

import { patch, listen } from '../../render.js';
import { h, handIcon } from '../../ui.js';
import { flowOf } from '../flow/state.js';
import { mayReplaceTimer } from '../flow/guard.js';

/** The time boxes a facilitator may give a member called from the queue, in minutes (0: none). */
export const CALL_MINUTES = [0, 1, 2, 3, 5];

/** @type {import('../index.js').Panel} */
export const queuePanel = {
  id: 'queue',
  view: 'people',
  mount(context) {
    const { store } = context;
    const handButton = h('button', {
      type: 'button', class: 'button primary hand-button', id: 'hand-button', 'aria-pressed': 'false',
      'aria-keyshortcuts': 'H',
    });
    const list = h('ol', { class: 'queue-list', id: 'queue-list', 'aria-labelledby': 'queue-title' });
    const empty = h('p', { class: 'empty', id: 'queue-empty' }, 'No hands raised.');
    const count = h('span', { class: 'count', id: 'queue-count' });
    const title = h('h2', { id: 'queue-title', tabindex: '-1' }, 'Speaker queue ', count);
    // Who has the floor is announced by the round's view ("Now speaking: Dana."), not here.
    const floor = h('div', { class: 'queue-floor', id: 'queue-floor' });
    const timeBox = h('select', { id: 'queue-time-box', class: 'queue-time-box' },
      ...CALL_MINUTES.map((minutes) => h('option', { value: String(minutes) }, minutes ? `${minutes} min` : 'No timer')));
    const lowerAll = h('button', { type: 'button', class: 'button secondary small', id: 'queue-lower-all' }, 'Lower all hands');
    const tools = h('div', { class: 'queue-tools', id: 'queue-tools' },
      h('label', { for: 'queue-time-box' }, 'Time for whoever you call on'), timeBox, lowerAll);
    const element = h('section', { class: 'panel', id: 'panel-queue', 'aria-labelledby': 'queue-title' },
      h('div', { class: 'panel-head' }, title, handButton),
      floor, tools, list, empty,
      h('p', { class: 'hint' }, 'Press H to raise or lower your hand.'));

    const myHandIsUp = () => {
      const state = store.state;
      return !!state && !!store.myMemberId && state.hands.includes(store.myMemberId);
    };
    const toggleHand = async () => {
      if (myHandIsUp()) await context.act({ type: 'lower_hand' }, 'Could not lower your hand');
      else await context.act({ type: 'raise_hand' }, 'Could not raise your hand');
    };
    listen(handButton, 'click', toggleHand);
    const stageHandButton = h('button', { type: 'button', class: 'button primary hand-button', id: 'stage-hand-button', 'aria-pressed': 'false' });
    const stageCount = h('span', { class: 'stage-hand-count', id: 'stage-hand-count' });
    listen(stageHandButton, 'click', toggleHand);
    // The facilitator ends a called member's turn from the stage too (on a phone the queue is
    // a tab of its own).
    const stageEndTurn = h('button', { type: 'button', class: 'button secondary', id: 'stage-end-turn', hidden: true });
    const stageHand = h('section', { class: 'stage-hand', id: 'stage-hand', 'aria-label': 'Speaker queue', hidden: true }, stageCount, stageHandButton, stageEndTurn);
    // H raises or lowers the hand, unless the person is typing somewhere.
    document.addEventListener('keydown', (keyEvent) => {
      if (keyEvent.key !== 'h' && keyEvent.key !== 'H') return;
      if (keyEvent.ctrlKey || keyEvent.metaKey || keyEvent.altKey) return;
      const target = /** @type {HTMLElement | null} */ (keyEvent.target);
      if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
      if (document.querySelector('dialog[open]')) return;
      if (!element.isConnected || handButton.disabled) return;
      keyEvent.preventDefault();
      toggleHand();
    });

    const { callOn, lowerOne, drawFloor, endTurn } = queueControls(context, { element, title, list, floor, timeBox, lowerAll });
    listen(stageEndTurn, 'click', endTurn);

    return {
      element,
      more: { timer: stageHand },
      update() {
        const state = store.state;
        const up = myHandIsUp();
        const connected = context.isConnected() && !!state;
        const facilitator = store.iAmFacilitator();
        for (const button of [handButton, stageHandButton]) {
          button.replaceChildren(handIcon(), up ? 'Lower hand' : 'Raise hand');
          button.setAttribute('aria-pressed', String(up));
          button.classList.toggle('raised', up);
          button.disabled = !connected;
        }
        // Hands belong to a running meeting: the queue is not there in the lobby (and H does
        // nothing, since the hand button is disabled).
        const upcoming = state?.meeting.phase === 'upcoming';
        element.hidden = upcoming;
        if (upcoming) handButton.disabled = true;
        const hands = state?.hands ?? [];
        count.textContent = hands.length ? `(${hands.length})` : '';
        const current = /** @type {{ agenda?: { status: string, kind: string }[] } | undefined} */ (state?.features.agenda)?.agenda?.find((item) => item.status === 'current');
        stageHand.hidden = current?.kind !== 'discussion' || store.me()?.role === 'observer';
        stageCount.textContent = hands.length ? `${hands.length} ${hands.length === 1 ? 'hand' : 'hands'} raised` : 'No hands raised';
        const called = state ? flowOf(state).floor : null;
        stageEndTurn.hidden = !facilitator || !called;
        stageEndTurn.disabled = !connected;
        const calledName = called ? store.member(called.member_id)?.display_name : undefined;
        if (called) stageEndTurn.textContent = calledName ? `End ${calledName}'s turn` : 'End the turn';
        tools.hidden = !facilitator || hands.length === 0;
        lowerAll.disabled = !connected;
        timeBox.disabled = !connected;
        drawFloor();
        patch(list, () => hands.map((memberId, index) => {
          const member = store.member(memberId);
          const name = member?.display_name ?? 'Someone';
          const mine = memberId === store.myMemberId;
          return h('li', { class: mine ? 'queue-item mine' : 'queue-item', 'data-member-id': memberId, 'data-key': memberId },
            h('span', { class: 'queue-position', 'aria-hidden': 'true' }, String(index + 1)),
            h('span', { class: 'queue-name' }, name),
            index === 0 ? h('span', { class: 'tag next' }, 'next') : null,
            mine ? h('span', { class: 'tag' }, 'you') : null,
            facilitator ? h('span', { class: 'queue-actions' },
              h('button', { type: 'button', class: 'button primary small', 'data-action': 'call', disabled: !connected, 'aria-label': `Call on ${name}`, onclick: () => callOn(memberId) }, 'Call on'),
              h('button', { type: 'button', class: 'button secondary small', 'data-action': 'lower', disabled: !connected, 'aria-label': `Lower ${name}'s hand`, onclick: () => lowerOne(memberId, index) }, 'Lower'))
              : null);
        }));
        empty.hidden = hands.length > 0;
      },
    };
  },
};

/**
 * The facilitator's queue actions, each moving the focus to what comes next (never the page),
 * and the line saying who was called and has the floor, with End turn.
 * @param {import('../index.js').PanelContext} context
 * @param {{ element: HTMLElement, title: HTMLElement, list: HTMLElement, floor: HTMLElement, timeBox: HTMLSelectElement, lowerAll: HTMLButtonElement }} parts
 */
function queueControls(context, { element, title, list, floor, timeBox, lowerAll }) {
  const { store } = context;
  const nameOf = (/** @type {string} */ memberId) => store.member(memberId)?.display_name ?? 'Someone';
  /**
   * Focuses the first of these that is on the page and usable, else the queue's heading.
   * @param {string[]} selectors
   */
  const focusFirst = (...selectors) => {
    for (const selector of selectors) {
      const found = /** @type {HTMLButtonElement | null} */ (element.querySelector(selector));
      if (found && !found.disabled && found.getClientRects().length > 0) {
        found.focus();
        return;
      }
    }
    title.focus();
  };
  /** The control at `index` in the queue, or the one before it when the list got shorter. */
  const rowControl = (/** @type {number} */ index, /** @type {string} */ action) => {
    const rows = list.querySelectorAll('.queue-item');
    const row = rows[Math.min(index, rows.length - 1)];
    return row ? `[data-member-id="${row.getAttribute('data-member-id')}"] [data-action="${action}"]` : '#queue-none';
  };

  /** @param {string} memberId */
  const callOn = async (memberId) => {
    const minutes = Number(timeBox.value);
    const name = nameOf(memberId);
    if (minutes && !await mayReplaceTimer(context, { kind: 'called_speaker' }, `Call on ${name}`)) return;
    const reply = await context.act(minutes
      ? { type: 'call_next_speaker', member_id: memberId, time_box_ms: minutes * 60_000 }
      : { type: 'call_next_speaker', member_id: memberId }, `Could not call on ${name}`);
    // Next, the facilitator ends the turn (or calls on someone else).
    if (reply) focusFirst('#queue-end-turn', rowControl(0, 'call'));
  };
  /** @param {string} memberId @param {number} index */
  const lowerOne = async (memberId, index) => {
    const reply = await context.act({ type: 'lower_hand_of', member_id: memberId }, `Could not lower ${nameOf(memberId)}'s hand`);
    if (reply) focusFirst(rowControl(index, 'lower'), '#queue-end-turn');
  };
  listen(lowerAll, 'click', async () => {
    const reply = await context.act({ type: 'clear_hands' }, 'Could not lower the hands');
    if (reply) focusFirst('#queue-end-turn');
  });
  /** Ends the called member's turn; the focus goes to the next hand to call on. */
  const endTurn = async () => {
    const reply = await context.act({ type: 'end_turn' }, 'Could not end the turn');
    if (reply) focusFirst(rowControl(0, 'call'));
  };

  /** Who was called from the queue and has the floor now, and the facilitator's End turn. */
  const drawFloor = () => {
    const state = store.state;
    const called = state ? flowOf(state).floor : null;
    floor.hidden = !called;
    patch(floor, () => called ? [
      h('span', { class: 'queue-floor-name' }, `${nameOf(called.member_id)}${called.member_id === store.myMemberId ? ' (you)' : ''} has the floor`),
      store.iAmFacilitator() ? h('button', {
        type: 'button', class: 'button secondary small', id: 'queue-end-turn', disabled: !context.isConnected(),
        onclick: endTurn,
      }, `End ${nameOf(called.member_id)}'s turn`) : null,
    ] : []);
  };
  return { callOn, lowerOne, drawFloor, endTurn };
}
