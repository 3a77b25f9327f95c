// @ts-check
// Links and sessions, for facilitators (under People): make the invite or the facilitator link
// anew, see the current invite link when this browser has it, and list and revoke the members'
// sessions (a lost laptop).
//
// The server keeps only a fingerprint (hash) of each link's secret, so it can check a link but
// never show one again. A link is on screen here only when this page has it: the invite link
// this browser remembers while it is the current version (memory.js), and a link made anew
// from this page. No browser keeps the facilitator link (see memory.js), so it shows only on
// the page that made it, until the page is left; "Make a new … link" is always the way to
// get one to hand on, and the old one then stops working.

import { h, confirmDialog, confirmWithOptions, copyField, linkBox, namedLink, toast, announce } from '../../ui.js';
import { listen } from '../../render.js';
import { loadGroupMemory, updateGroupMemory } from '../../memory.js';
import { formatDateTime } from '../../format.js';

/** @typedef {import('../../protocol').LinkKind} LinkKind */
/** @typedef {import('../../protocol').SessionInfo} SessionInfo */
/** @typedef {import('../index.js').PanelContext} PanelContext */

/** A facilitator link this page made, by group: shown until the page is left, never stored. */
const madeHere = /** @type {Map<string, { url: string, version: number }>} */ (new Map());

/** Event kinds after which the session list is read again. */
const SESSION_EVENTS = new Set(['session_revoked', 'session_started', 'member_added', 'member_removed', 'presence_changed', 'role_changed']);

/**
 * Makes `link` anew: the server answers this page alone with the new link. The invite link is
 * remembered with its version; the facilitator link only for this page's life.
 * @param {PanelContext} context
 * @param {LinkKind} link
 * @returns {Promise<boolean>} Whether it was made.
 */
export async function rotateLink(context, link) {
  const what = link === 'invite' ? 'invite link' : 'facilitator link';
  const reply = await context.act({ type: 'rotate_link', link }, `Could not make a new ${what}`);
  if (!reply || reply.kind !== 'link_rotated') return false;
  if (link === 'invite') {
    const secret = new URLSearchParams(new URL(reply.url).hash.slice(1)).get('invite');
    if (secret) updateGroupMemory(context.groupId, { invite_secret: secret, invite_version: reply.version });
  } else {
    madeHere.set(context.groupId, { url: reply.url, version: reply.version });
  }
  context.store.notify({ kind: 'local' });
  announce(`A new ${what} was made; the old one no longer works.`);
  return true;
}

/**
 * The invite link this browser has, if it is the current one.
 * @param {string} groupId
 * @param {number} currentVersion
 */
export function currentInviteLink(groupId, currentVersion) {
  const memory = loadGroupMemory(groupId);
  // A secret of unknown version counts as the first link's: right while no link was made anew.
  if (!memory.invite_secret || (memory.invite_version ?? 0) !== currentVersion) return null;
  return namedLink(`${location.origin}/g/${groupId}#invite=${memory.invite_secret}`, memory.group_name ?? '');
}

/** @type {import('../index.js').Panel} */
export const accessPanel = {
  id: 'access',
  view: 'people',
  mount(context) {
    const { store, groupId } = context;
    const inviteArea = h('div', { class: 'access-link', id: 'access-invite' });
    const rotateInvite = h('button', { type: 'button', class: 'button secondary', id: 'rotate-invite' }, 'Make a new invite link');
    const facilitatorArea = h('div', { class: 'access-link', id: 'access-facilitator' });
    const rotateFacilitator = h('button', { type: 'button', class: 'button secondary', id: 'rotate-facilitator' }, 'Make a new facilitator link');
    const refresh = h('button', { type: 'button', class: 'button secondary small', id: 'refresh-sessions' }, 'Refresh');
    const sessionsBody = h('ul', { class: 'session-list', id: 'sessions-body', 'aria-labelledby': 'sessions-title' });
    const sessionsNote = h('p', { class: 'hint', id: 'sessions-note', role: 'status' }, 'Loading the sessions…');
    const element = h('section', { class: 'panel access-panel', id: 'panel-access', 'aria-labelledby': 'access-title', hidden: true },
      h('h2', { id: 'access-title' }, 'Links and sessions'),
      h('p', { class: 'hint' }, 'The server keeps only a fingerprint of each link, so it can check a link but cannot show it again. Making a link anew shows the new one here, and the old one stops working at once; everyone already in the group stays in.'),
      h('h3', {}, 'Invite link'),
      inviteArea,
      h('div', { class: 'actions' }, rotateInvite),
      h('h3', {}, 'Facilitator link'),
      facilitatorArea,
      h('div', { class: 'actions' }, rotateFacilitator),
      h('div', { class: 'panel-head' }, h('h3', { id: 'sessions-title' }, 'Sessions'), refresh),
      h('p', { class: 'hint' }, 'Each browser a member joined from is a session. End one when a device is lost: it is disconnected at once and its saved sign-in stops working. The member stays in the group and can join again through the invite link under the same name.'),
      sessionsNote,
      sessionsBody);

    listen(rotateInvite, 'click', async () => {
      const sure = await confirmDialog('Make a new invite link?',
        'The current invite link stops working at once for anyone who has not joined with it yet. Everyone already in the group stays in. The new link appears here, to send to whoever should join.',
        'Make a new link');
      if (sure) await rotateLink(context, 'invite');
    });
    listen(rotateFacilitator, 'click', async () => {
      const sure = await confirmDialog('Make a new facilitator link?',
        'The current facilitator link stops working at once. Facilitators already in the group stay facilitators. The new link appears here only once: this browser does not keep it.',
        'Make a new link');
      if (sure) await rotateLink(context, 'facilitator');
    });

    /** @type {SessionInfo[] | null} */
    let sessions = null;
    let loading = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    let pending = null;
    /** The sessions were read on this connection (a reconnect reads them again). */
    let loadedOnline = false;

    const load = async () => {
      if (loading || !store.iAmFacilitator() || !context.isConnected()) return;
      loading = true;
      // Once per connection even when it fails (the toast says so; Refresh tries again), so
      // that a refusal is not asked again at every change to the room.
      loadedOnline = true;
      const reply = await context.act({ type: 'list_sessions' }, 'Could not read the sessions');
      loading = false;
      if (reply && reply.kind === 'sessions') {
        sessions = reply.sessions;
        draw();
      } else if (!sessions) {
        sessionsNote.textContent = 'The sessions could not be read; press Refresh to try again.';
      }
    };
    const soon = () => {
      if (pending) clearTimeout(pending);
      pending = setTimeout(() => {
        pending = null;
        load();
      }, 300);
    };
    listen(refresh, 'click', () => load());
    store.subscribe((change) => {
      if (change.kind === 'event' && SESSION_EVENTS.has(change.frame.event.kind)) soon();
      // Someone came or went: a session's connections changed.
      if (change.kind === 'presence') soon();
      if (change.kind === 'joined') loadedOnline = false;
    });

    /** @param {SessionInfo} session */
    const revoke = async (session) => {
      const member = store.member(session.member_id);
      const name = member?.display_name ?? 'this member';
      const since = formatDateTime(session.started_at_ms);
      const { confirmed, ticked } = await confirmWithOptions(`End ${name}'s session?`,
        `The device ${name} joined from on ${since} is disconnected at once and its saved sign-in stops working. ${name} stays in the group with everything of theirs.`,
        'End session',
        [{ id: 'invite', label: 'Also make a new invite link (the lost device may still have it)', checked: false }]);
      if (!confirmed) return;
      const done = await context.act({ type: 'revoke_session', member_id: session.member_id, session_id: session.session_id }, `Could not end ${name}'s session`);
      if (done) {
        toast(`${name}'s session on that device has ended.`, 'info');
        if (ticked.has('invite')) await rotateLink(context, 'invite');
        await load();
      }
    };

    const draw = () => {
      if (!sessions) return;
      sessionsNote.textContent = sessions.length === 0 ? 'No sessions.' : `${sessions.length} ${sessions.length === 1 ? 'session' : 'sessions'}.`;
      const list = sessions;
      const rows = list.map((session) => {
        const member = store.member(session.member_id);
        const name = member?.display_name ?? 'A former member';
        const mine = session.member_id === store.myMemberId;
        // With one session of one's own, it is the one in use: the server would refuse it.
        const inUse = mine && list.filter((other) => other.member_id === session.member_id).length === 1;
        const button = h('button', {
          type: 'button', class: 'button secondary small revoke-session', 'data-member-id': session.member_id,
        }, 'End session…', h('span', { class: 'visually-hidden' }, ` (${name}, joined ${formatDateTime(session.started_at_ms)})`));
        button.disabled = !context.isConnected();
        listen(button, 'click', () => revoke(session));
        const seen = session.connections > 0 ? 'online now' : `last seen ${formatDateTime(session.last_seen_ms)}`;
        return h('li', { class: 'session', 'data-session-id': String(session.session_id) },
          h('div', { class: 'session-main' },
            h('span', { class: 'session-name' }, mine ? `${name} (you)` : name),
            h('span', { class: 'session-seen hint' }, `Joined ${formatDateTime(session.started_at_ms)} · ${seen}`)),
          inUse ? h('span', { class: 'hint' }, 'this device') : button);
      });
      sessionsBody.replaceChildren(...rows);
    };

    /** What the link areas show, to draw them again only when it changes. */
    let drawnLinks = '';
    return {
      element,
      update() {
        const facilitating = store.iAmFacilitator();
        element.hidden = !facilitating;
        const connected = context.isConnected();
        rotateInvite.disabled = !connected;
        rotateFacilitator.disabled = !connected;
        refresh.disabled = !connected;
        if (!facilitating || !store.state) return;
        const versions = store.state.group.links ?? { invite: 0, facilitator: 0 };
        const invite = currentInviteLink(groupId, versions.invite);
        const made = madeHere.get(groupId);
        const facilitator = made && made.version === versions.facilitator ? namedLink(made.url, store.state.group.name) : null;
        const key = JSON.stringify([invite, facilitator]);
        if (key !== drawnLinks) {
          drawnLinks = key;
          inviteArea.replaceChildren(invite
            ? linkBox('invite', copyField('Current invite link', invite, 'access-invite-link', 'Send it to whoever should join the group.'))
            : h('p', { class: 'hint', id: 'access-invite-missing' }, 'This browser does not have the current invite link (it was made on another device or by another facilitator). Make a new one to see it here.'));
          facilitatorArea.replaceChildren(facilitator
            ? linkBox('facilitator', copyField('New facilitator link (private)', facilitator, 'access-facilitator-link', 'Shown only now, on this page: copy it and send it privately to whoever should run the meetings.'))
            : h('p', { class: 'hint' }, 'No browser keeps the facilitator link, so it cannot be shown again. Make a new one to hand it on.'));
        }
        if (connected && !loadedOnline) load();
        for (const button of sessionsBody.querySelectorAll('button')) button.disabled = !connected;
      },
    };
  },
};
