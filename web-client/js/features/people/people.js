// @ts-check
// Who is in the group: online or not, their role, a raised hand; for a facilitator, a menu per
// member to change roles, hand over or remove (offering to make anew the links they may hold).
// Also the invite link, when this browser has the current one.

import { h, confirmDialog, confirmWithOptions, copyField, roleLabel, handIcon, linkBox, toast } from '../../ui.js';
import { listen } from '../../render.js';
import { currentInviteLink, rotateLink } from './access.js';

/** @typedef {import('../../protocol').MemberInfo} MemberInfo */
/** @typedef {import('../../protocol').Request} Request */

/**
 * @typedef {object} Row
 * @property {HTMLLIElement} row
 * @property {HTMLSpanElement} name
 * @property {HTMLSpanElement} status
 * @property {HTMLSpanElement} role
 * @property {HTMLSpanElement} hand
 * @property {HTMLButtonElement} menuButton
 */

/** @type {import('../index.js').Panel} */
export const peoplePanel = {
  id: 'people',
  view: 'people',
  mount(context) {
    const { store } = context;
    const list = h('ul', { class: 'people-list', id: 'people-list', 'aria-labelledby': 'people-title' });
    const count = h('span', { class: 'count', id: 'people-count' });
    const invite = h('div', { class: 'invite' });
    const element = h('section', { class: 'panel', id: 'panel-people', 'aria-labelledby': 'people-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'people-title' }, 'People ', count)),
      list, invite);

    /** The invite link drawn, to draw it again only when it changes. */
    let drawnInvite = /** @type {string | null} */ (null);

    /** @type {Map<string, Row>} */
    const rows = new Map();
    /** @type {HTMLElement | null} */
    let openMenu = null;

    const closeMenu = (returnFocus = false) => {
      if (!openMenu) return;
      const button = /** @type {HTMLButtonElement | null} */ (openMenu.previousElementSibling);
      openMenu.remove();
      openMenu = null;
      button?.setAttribute('aria-expanded', 'false');
      if (returnFocus) button?.focus();
    };
    document.addEventListener('pointerdown', (pointerEvent) => {
      if (openMenu && !openMenu.parentElement?.contains(/** @type {Node} */ (pointerEvent.target))) closeMenu();
    });

    /**
     * @param {MemberInfo} member
     * @returns {{ label: string, run: () => Promise<unknown> }[]}
     */
    const actionsFor = (member) => {
      const name = member.display_name;
      /** @param {Request} request @param {string} what */
      const act = (request, what) => () => context.act(request, what);
      const actions = [];
      if (member.role !== 'facilitator') {
        actions.push({ label: 'Make facilitator', run: act({ type: 'set_role', member_id: member.member_id, role: 'facilitator' }, `Could not make ${name} a facilitator`) });
        actions.push({
          label: 'Hand over facilitation…',
          run: async () => {
            const sure = await confirmDialog(`Hand over to ${name}?`,
              `${name} becomes the facilitator and you become a member. Only a facilitator can give it back.`, 'Hand over');
            if (sure) await context.act({ type: 'hand_over_facilitator', member_id: member.member_id }, `Could not hand over to ${name}`);
          },
        });
      }
      if (member.role !== 'member') {
        actions.push({ label: 'Make member', run: act({ type: 'set_role', member_id: member.member_id, role: 'member' }, `Could not make ${name} a member`) });
      }
      if (member.role !== 'observer') {
        actions.push({ label: 'Make observer', run: act({ type: 'set_role', member_id: member.member_id, role: 'observer' }, `Could not make ${name} an observer`) });
      }
      actions.push({
        label: 'Remove from group…',
        run: async () => {
          // The links they may hold would let them straight back in: offer to make them anew.
          const facilitator = member.role === 'facilitator';
          const options = [
            ...(facilitator ? [{ id: 'facilitator', label: 'Also make a new facilitator link', checked: true }] : []),
            { id: 'invite', label: 'Also make a new invite link', checked: false },
          ];
          const { confirmed, ticked } = await confirmWithOptions(`Remove ${name}?`,
            `${name} leaves the group and is disconnected at once. With the ${facilitator ? 'facilitator or the invite' : 'invite'} link they could join again, until it is made anew.`,
            'Remove', options);
          if (!confirmed) return;
          const removed = await context.act({ type: 'remove_member', member_id: member.member_id }, `Could not remove ${name}`);
          if (!removed) return;
          for (const link of /** @type {const} */ (['facilitator', 'invite'])) {
            if (ticked.has(link) && await rotateLink(context, link)) {
              toast(`A new ${link} link was made: it is under People, in Links and sessions.`, 'info');
            }
          }
        },
      });
      return actions;
    };

    /**
     * @param {HTMLButtonElement} button
     * @param {string} memberId
     */
    const showMenu = (button, memberId) => {
      const wasOpenHere = openMenu?.previousElementSibling === button;
      closeMenu();
      if (wasOpenHere) return;
      const member = store.member(memberId);
      if (!member) return;
      const items = actionsFor(member).map(({ label, run }) => {
        const item = h('button', { type: 'button', role: 'menuitem', class: 'menu-item', tabindex: '-1' }, label);
        listen(item, 'click', () => {
          closeMenu(true);
          run();
        });
        return item;
      });
      const menu = h('div', { role: 'menu', class: 'menu', 'aria-label': `Actions for ${member.display_name}` }, ...items);
      listen(menu, 'keydown', (keyEvent) => {
        const index = items.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
        if (keyEvent.key === 'ArrowDown' || keyEvent.key === 'ArrowUp') {
          keyEvent.preventDefault();
          const step = keyEvent.key === 'ArrowDown' ? 1 : -1;
          items[(index + step + items.length) % items.length]?.focus();
        } else if (keyEvent.key === 'Home' || keyEvent.key === 'End') {
          keyEvent.preventDefault();
          items[keyEvent.key === 'Home' ? 0 : items.length - 1]?.focus();
        } else if (keyEvent.key === 'Escape') {
          keyEvent.preventDefault();
          closeMenu(true);
        } else if (keyEvent.key === 'Tab') {
          closeMenu();
        }
      });
      button.after(menu);
      button.setAttribute('aria-expanded', 'true');
      openMenu = menu;
      items[0]?.focus();
    };

    /** @param {MemberInfo} member */
    const makeRow = (member) => {
      const name = h('span', { class: 'person-name' });
      const status = h('span', { class: 'presence' });
      const role = h('span', { class: 'tag role' });
      const hand = h('span', { class: 'hand', title: 'Hand raised' }, handIcon(), h('span', { class: 'visually-hidden' }, 'hand raised'));
      const menuButton = h('button', {
        type: 'button', class: 'icon-button', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
      }, '⋯');
      listen(menuButton, 'click', () => showMenu(menuButton, member.member_id));
      listen(menuButton, 'keydown', (keyEvent) => {
        if (keyEvent.key === 'ArrowDown') {
          keyEvent.preventDefault();
          if (!openMenu) showMenu(menuButton, member.member_id);
        }
      });
      const row = h('li', { class: 'person', 'data-member-id': member.member_id },
        status, h('span', { class: 'person-main' }, name, role, hand),
        h('span', { class: 'person-actions' }, menuButton));
      return { row, name, status, role, hand, menuButton };
    };

    return {
      element,
      update() {
        const state = store.state;
        const members = state?.members ?? [];
        const facilitating = store.iAmFacilitator();
        const seen = new Set();
        for (const member of members) {
          seen.add(member.member_id);
          let entry = rows.get(member.member_id);
          if (!entry) {
            entry = makeRow(member);
            rows.set(member.member_id, entry);
          }
          const mine = member.member_id === store.myMemberId;
          entry.name.textContent = mine ? `${member.display_name} (you)` : member.display_name;
          entry.row.classList.toggle('offline', !member.online);
          entry.row.classList.toggle('mine', mine);
          entry.status.className = member.online ? 'presence online' : 'presence';
          entry.status.setAttribute('role', 'img');
          entry.status.setAttribute('aria-label', member.online ? 'online' : 'offline');
          entry.role.textContent = roleLabel(member.role);
          entry.role.dataset.role = member.role;
          entry.role.hidden = member.role === 'member';
          entry.hand.hidden = !state?.hands.includes(member.member_id);
          entry.menuButton.setAttribute('aria-label', `Actions for ${member.display_name}`);
          entry.menuButton.hidden = !facilitating || mine;
          entry.menuButton.disabled = !context.isConnected();
          if ((entry.menuButton.hidden || entry.menuButton.disabled) && openMenu?.previousElementSibling === entry.menuButton) closeMenu();
        }
        for (const [memberId, entry] of rows) {
          if (!seen.has(memberId)) {
            entry.row.remove();
            rows.delete(memberId);
          }
        }
        // Re-order only when the order changed: moving a node drops its focus.
        const order = members.map((member) => member.member_id);
        const current = [...list.children].map((child) => /** @type {HTMLElement} */ (child).dataset.memberId);
        if (order.join() !== current.join()) {
          for (const memberId of order) {
            const entry = rows.get(memberId);
            if (entry) list.append(entry.row);
          }
        }
        const online = members.filter((member) => member.online).length;
        count.textContent = `(${online} of ${members.length} online)`;
        // Facilitators have it under Links and sessions, with the way to make it anew.
        const link = state && !facilitating ? currentInviteLink(context.groupId, state.group.links?.invite ?? 0) : null;
        if (link !== drawnInvite) {
          drawnInvite = link;
          invite.replaceChildren(...(link ? [linkBox('invite', copyField('Invite link', link, 'room-invite-link',
            'Send it to someone who should join the group.'))] : []));
        }
      },
    };
  },
};
