// @ts-check
// The landing page: create a group, then see its two links.

import { h, copyField, linkBox, namedLink, busy } from '../ui.js';
import { listen } from '../render.js';
import { updateGroupMemory, rememberedGroups } from '../memory.js';

/** @typedef {import('../protocol').CreateGroupResponse} CreateGroupResponse */
/** @typedef {import('../protocol').HttpError} HttpError */

/** The longest group name the form accepts; the server checks its own (configurable) limit. */
export const GROUP_NAME_CHARS_MAX = 80;

/** @param {HTMLElement} root */
export function showLanding(root) {
  document.title = 'Roundtable';
  const nameInput = h('input', {
    id: 'group-name-input', name: 'name', type: 'text', required: true, autocomplete: 'off',
    maxlength: GROUP_NAME_CHARS_MAX, placeholder: 'Friday Sales Peers',
  });
  const error = h('p', { class: 'form-error', id: 'create-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Create group');
  const form = h('form', { class: 'card stack', 'aria-labelledby': 'create-title' },
    h('h2', { id: 'create-title' }, 'Start a peer group'),
    h('div', { class: 'field' },
      h('label', { for: 'group-name-input' }, 'Group name'),
      nameInput),
    error,
    h('div', { class: 'actions' }, submit));

  listen(form, 'submit', async (submitEvent) => {
    submitEvent.preventDefault();
    error.hidden = true;
    const release = busy(submit);
    submit.textContent = 'Creating…';
    try {
      const create = (/** @type {string | undefined} */ timeZone) => fetch('/api/groups', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: nameInput.value, time_zone: timeZone }),
      });
      // The group's minutes give times in the creator's time zone until a facilitator changes
      // it; a zone the server does not know (a newer or older database) leaves them in UTC.
      let response = await create(browserTimeZone());
      if (response.status === 400) {
        const refused = /** @type {HttpError} */ (await response.clone().json().catch(() => ({})));
        if (refused.error?.message?.includes('time zone')) response = await create(undefined);
      }
      const body = await response.json();
      if (!response.ok) {
        throw new Error(/** @type {HttpError} */ (body).error?.message ?? `the server answered ${response.status}`);
      }
      showCreated(root, /** @type {CreateGroupResponse} */ (body), nameInput.value.trim());
    } catch (failure) {
      // What was typed stays in the field, so trying again is one click.
      error.textContent = `Could not create the group: ${failure instanceof Error ? failure.message : String(failure)}`;
      error.hidden = false;
      release();
      submit.textContent = 'Create group';
    }
  });

  // Groups this browser belongs to: one click back into next week's meeting.
  const groups = rememberedGroups();
  const yours = groups.length === 0 ? null : h('section', { class: 'card stack', 'aria-labelledby': 'yours-title' },
    h('h2', { id: 'yours-title' }, 'Your groups'),
    h('ul', { class: 'group-links', id: 'your-groups' }, ...groups.map((group) =>
      h('li', {}, h('a', { href: `/g/${group.group_id}` }, group.group_name)))));
  root.replaceChildren(
    h('div', { class: 'page narrow' },
      h('header', { class: 'hero' },
        h('p', { class: 'brand' }, 'Roundtable'),
        h('h1', {}, 'Your peer group’s meeting room, one link away.'),
        h('p', { class: 'lede' },
          'No accounts and no installs: members open a link and type their name. Everyone sees who is here and who wants to speak, and the room picks up by itself after a dropped connection.')),
      h('main', { id: 'main', class: 'stack' }, yours, form)));
  if (!yours) nameInput.focus();
}

/**
 * @param {HTMLElement} root
 * @param {CreateGroupResponse} created
 * @param {string} name
 */
function showCreated(root, created, name) {
  // The room can offer the invite link to pass on; the facilitator secret is not kept (see
  // memory.js), it travels in the link the facilitator opens.
  const inviteSecret = new URLSearchParams(new URL(created.invite_url).hash.slice(1)).get('invite');
  if (inviteSecret) updateGroupMemory(created.group_id, { invite_secret: inviteSecret, invite_version: 0 });
  const open = h('a', { class: 'button primary', href: namedLink(created.facilitator_url, name), id: 'open-as-facilitator' }, 'Open as facilitator');
  root.replaceChildren(
    h('div', { class: 'page narrow' },
      h('header', { class: 'hero' },
        h('p', { class: 'brand' }, 'Roundtable'),
        h('h1', { id: 'created-title', tabindex: '-1' }, `${name} is ready`),
        h('p', { class: 'lede' }, 'Two links: one to run the meetings, one for the members.')),
      h('main', { id: 'main', class: 'card stack' },
        linkBox('facilitator', copyField('Facilitator link (private)', namedLink(created.facilitator_url, name), 'facilitator-link',
          'Do not send this to the group: whoever opens it can run the meetings. Copy it somewhere safe, it is shown only here.')),
        linkBox('invite', copyField('Invite link for members', namedLink(created.invite_url, name), 'invite-link',
          'Send this to the members. Each opens it once, types their name, and is recognised from then on.')),
        h('div', { class: 'actions' }, open))));
  /** @type {HTMLElement | null} */ (document.getElementById('created-title'))?.focus();
}

/** The browser's IANA time zone, if it says. */
function browserTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
  } catch {
    return undefined;
  }
}
