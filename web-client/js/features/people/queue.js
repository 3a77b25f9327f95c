// @ts-check
// The speaker queue: who raised a hand, in order, and the button to raise or lower one's own.
// On a narrow screen, where the queue is a tab of its own, a discussion's stage carries a
// copy of the button and the count, so nobody has to leave the stage to ask to speak.

import { patch, listen } from '../../render.js';
import { h, handIcon } from '../../ui.js';

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
    const element = h('section', { class: 'panel', id: 'panel-queue', 'aria-labelledby': 'queue-title' },
      h('div', { class: 'panel-head' },
        h('h2', { id: 'queue-title' }, 'Speaker queue ', count),
        handButton),
      list, empty,
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
    const stageHand = h('section', { class: 'stage-hand', id: 'stage-hand', 'aria-label': 'Speaker queue', hidden: true }, stageCount, stageHandButton);
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

    return {
      element,
      more: { timer: stageHand },
      update() {
        const state = store.state;
        const up = myHandIsUp();
        for (const button of [handButton, stageHandButton]) {
          button.replaceChildren(handIcon(), up ? 'Lower hand' : 'Raise hand');
          button.setAttribute('aria-pressed', String(up));
          button.classList.toggle('raised', up);
          button.disabled = !context.isConnected() || !state;
        }
        const hands = state?.hands ?? [];
        count.textContent = hands.length ? `(${hands.length})` : '';
        const current = /** @type {{ agenda?: { status: string, kind: string }[] } | undefined} */ (state?.features.agenda)?.agenda?.find((item) => item.status === 'current');
        stageHand.hidden = current?.kind !== 'discussion' || store.me()?.role === 'observer';
        stageCount.textContent = hands.length ? `${hands.length} ${hands.length === 1 ? 'hand' : 'hands'} raised` : 'No hands raised';
        patch(list, () => hands.map((memberId, index) => {
          const member = store.member(memberId);
          const mine = memberId === store.myMemberId;
          return h('li', { class: mine ? 'queue-item mine' : 'queue-item', 'data-member-id': memberId },
            h('span', { class: 'queue-position', 'aria-hidden': 'true' }, String(index + 1)),
            h('span', { class: 'queue-name' }, member?.display_name ?? 'Someone'),
            index === 0 ? h('span', { class: 'tag next' }, 'next') : null,
            mine ? h('span', { class: 'tag' }, 'you') : null);
        }));
        empty.hidden = hands.length > 0;
      },
    };
  },
};
