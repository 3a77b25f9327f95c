// @ts-check
// The speaker queue: who raised a hand, in order, and the button to raise or lower one's own.

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
      update() {
        const state = store.state;
        const up = myHandIsUp();
        handButton.replaceChildren(handIcon(), up ? 'Lower hand' : 'Raise hand');
        handButton.setAttribute('aria-pressed', String(up));
        handButton.classList.toggle('raised', up);
        handButton.disabled = !context.isConnected() || !state;
        const hands = state?.hands ?? [];
        count.textContent = hands.length ? `(${hands.length})` : '';
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
