// @ts-check
// The entry point: picks the screen from the address, and wires the room together.
//
// `/` is the landing page. `/g/<group_id>` is a group: its links carry a secret in the
// fragment (`#invite=…` or `#facilitator=…`), which this page reads, remembers (memory.js) and
// then removes from the address bar, so it is not left on screen. A browser that has a member
// token for the group joins straight away with it.

import { showLanding } from './views/landing.js';
import { showJoin, showDeadEnd } from './views/join.js';
import { mountRoom } from './views/room.js';
import { Connection } from './connection.js';
import { RoomStore } from './store.js';
import { FEATURES } from './features/states.js';
import { forgetGroup, loadGroupMemory, updateGroupMemory } from './memory.js';
import { toast } from './ui.js';

/** @typedef {import('./protocol').Credential} Credential */
/** @typedef {import('./protocol').CatchUp} CatchUp */
/** @typedef {import('./connection.js').RequestError} RequestError */

/**
 * What tests (and a curious person in the console) can read.
 * @typedef {object} DebugHandle
 * @property {() => number} serverNow The server's clock now, as this page estimates it.
 * @property {() => number} clockOffsetMs Server minus client, in milliseconds.
 * @property {() => import('./store.js').RoomState | null} state
 * @property {() => string} phase The connection phase.
 * @property {CatchUp[]} catchUps How each join so far caught up, in order.
 */

const GROUP_PATH = /^\/g\/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\/?$/;

const root = /** @type {HTMLElement} */ (document.getElementById('app'));

function route() {
  const path = location.pathname;
  if (path === '/' || path === '/index.html') {
    showLanding(root);
    return;
  }
  const match = GROUP_PATH.exec(path);
  if (match) {
    openGroup(match[1].toLowerCase());
    return;
  }
  showDeadEnd(root, 'Nothing here', 'This address is not a Roundtable page. Check the link you were sent.');
}

/** @param {string} groupId */
function openGroup(groupId) {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const invite = fragment.get('invite');
  const facilitator = fragment.get('facilitator');
  // The links this page hands out name the group after the secret, so the join page can too.
  const named = fragment.get('group');
  if (named && (invite || facilitator)) updateGroupMemory(groupId, { group_name: named.slice(0, 200) });
  // Which version of the invite link this is becomes known when a join with it succeeds.
  if (invite) updateGroupMemory(groupId, { invite_secret: invite, invite_version: undefined });
  if (facilitator) updateGroupMemory(groupId, { facilitator_secret: facilitator });
  if (location.hash) history.replaceState(null, '', `/g/${groupId}`);

  const memory = loadGroupMemory(groupId);
  if (memory.facilitator_secret) {
    if (memory.member_token) {
      // A known member opened the facilitator link: the server makes them facilitator.
      enterRoom(groupId, {
        kind: 'facilitator', secret: memory.facilitator_secret,
        display_name: memory.display_name ?? 'Facilitator', member_token: memory.member_token,
      });
    } else {
      askName(groupId, 'facilitator');
    }
  } else if (memory.member_token) {
    enterRoom(groupId, { kind: 'member_token', token: memory.member_token });
  } else if (memory.invite_secret) {
    askName(groupId, 'invite');
  } else {
    showDeadEnd(root, 'This link is incomplete',
      'The link to a group carries a secret after a # sign, and this one has none (or this browser has forgotten it). Ask the facilitator to send the invite link again.');
  }
}

/**
 * @param {string} groupId
 * @param {'invite' | 'facilitator'} mode
 * @param {{ name?: string, observer?: boolean, error?: string }} [previous]
 */
function askName(groupId, mode, previous = {}) {
  const memory = loadGroupMemory(groupId);
  showJoin(root, {
    mode,
    name: previous.name ?? memory.display_name,
    observer: previous.observer,
    error: previous.error,
    groupName: memory.group_name,
    onJoin: ({ display_name, observer }) => {
      updateGroupMemory(groupId, { display_name });
      const secret = mode === 'facilitator' ? memory.facilitator_secret : memory.invite_secret;
      if (!secret) {
        openGroup(groupId);
        return;
      }
      /** @type {Credential} */
      const credential = mode === 'facilitator'
        ? { kind: 'facilitator', secret, display_name }
        : { kind: 'invite', secret, display_name, observer };
      enterRoom(groupId, credential, { name: display_name, observer });
    },
  });
}

/**
 * Connects and shows the room.
 * @param {string} groupId
 * @param {Credential} firstCredential
 * @param {{ name: string, observer: boolean }} [typed] What the person typed, to give back on a refusal.
 */
function enterRoom(groupId, firstCredential, typed) {
  let credential = firstCredential;
  /** Set while a join with the invite link waits for its snapshot, which says the link's version. */
  let joinedWithInvite = false;
  const store = new RoomStore(FEATURES);
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  /** @type {CatchUp[]} */
  const catchUps = [];
  /** @type {ReturnType<typeof mountRoom> | null} */
  let room = null;

  const connection = new Connection({
    url: `${scheme}//${location.host}/ws`,
    joinRequest: () => ({
      type: 'join',
      group_id: groupId,
      credential,
      resume: store.resumePoint(),
    }),
    onJoined: (joined) => {
      catchUps.push(joined.catch_up);
      const memory = loadGroupMemory(groupId);
      const token = joined.member_token ?? memory.member_token;
      joinedWithInvite = credential.kind === 'invite';
      // From now on the member token is the credential: a link's secret would create a new
      // member at every reconnect.
      if (token) {
        credential = { kind: 'member_token', token };
        updateGroupMemory(groupId, { member_token: token, member_id: joined.member_id, facilitator_secret: undefined });
      }
      store.setJoined(joined);
    },
    onRoomMessage: (message) => {
      if (message.type === 'snapshot') {
        store.applySnapshot(message);
        // The invite link just worked: it is the current one.
        if (joinedWithInvite) updateGroupMemory(groupId, { invite_version: message.group.links?.invite ?? 0 });
        joinedWithInvite = false;
      }
      else if (message.type === 'event') store.applyEvent(message);
      else if (message.type === 'presence') store.applyPresence(message);
      // Remember the names as the room has them, for the landing page and the next join.
      const me = store.me();
      const groupName = store.state?.group.name;
      const memory = loadGroupMemory(groupId);
      if ((me && me.display_name !== memory.display_name) || (groupName && groupName !== memory.group_name)) {
        updateGroupMemory(groupId, { display_name: me?.display_name ?? memory.display_name, group_name: groupName ?? memory.group_name });
      }
    },
    onStatus: (status) => {
      // A removed member's token, or a revoked session's, no longer works; forget it so a
      // reload does not try it.
      if (status.closing_reason === 'removed' || status.closing_reason === 'session_revoked') {
        updateGroupMemory(groupId, { member_token: undefined, member_id: undefined });
      }
      // The end of the group, or of this member in it: nothing of it stays on this device,
      // and the page says so plainly instead of showing the room.
      if (status.phase === 'stopped' && (status.closing_reason === 'group_deleted' || status.closing_reason === 'left')) {
        const groupName = store.state?.group.name ?? loadGroupMemory(groupId).group_name ?? 'The group';
        forgetGroup(groupId);
        if (status.closing_reason === 'group_deleted') {
          showDeadEnd(root, 'This group was deleted', `The group was deleted by a facilitator. Nothing of ${groupName} is kept, and its links no longer work.`);
        } else {
          showDeadEnd(root, `You left ${groupName}`, 'Your name is gone from the group\'s history and your data was erased as you chose. This browser has forgotten the group.');
        }
        room = null;
        return;
      }
      room?.setStatus(status);
    },
    onServerError: (error) => toast(`The server refused a message: ${error.message}.`),
    onReaction: (reaction) => room?.showReaction(reaction),
    onJoinRefused: (error) => refused(groupId, credential, error, typed),
  });
  room = mountRoom(root, { store, connection, groupId });

  /** @type {DebugHandle} */
  const handle = {
    serverNow: () => connection.clock.serverNow(),
    clockOffsetMs: () => connection.clock.offsetMs(),
    state: () => store.state,
    phase: () => connection.status.phase,
    catchUps,
  };
  /** @type {any} */ (window).roundtable = handle;
  connection.connectNow();
}

/**
 * The server refused the join: explain, and offer the way forward.
 * @param {string} groupId
 * @param {Credential} credential
 * @param {RequestError} error
 * @param {{ name: string, observer: boolean }} [typed]
 */
function refused(groupId, credential, error, typed) {
  if (error.code === 'not_found') {
    showDeadEnd(root, 'This group does not exist', 'Check the link you were sent; it may be cut off.');
    return;
  }
  if (credential.kind === 'member_token') {
    // The token no longer works (removed from the group, or the group was reset): forget it.
    updateGroupMemory(groupId, { member_token: undefined, member_id: undefined });
    const memory = loadGroupMemory(groupId);
    if (memory.invite_secret && error.code === 'unauthorized') {
      askName(groupId, 'invite', { error: 'This browser is no longer a member of the group (perhaps you were removed, or a facilitator ended this device\'s session). Join again with your name.' });
    } else {
      showDeadEnd(root, 'You are no longer in this group', `${error.message}. Ask the facilitator for a new invite link.`);
    }
    return;
  }
  const mode = credential.kind === 'facilitator' ? 'facilitator' : 'invite';
  if (error.code === 'unauthorized') {
    updateGroupMemory(groupId, mode === 'facilitator' ? { facilitator_secret: undefined } : { invite_secret: undefined });
    showDeadEnd(root, 'This link does not work', `${error.message}.`);
    return;
  }
  askName(groupId, mode, { name: typed?.name, observer: typed?.observer, error: `Could not join: ${error.message}.` });
}

// Opening another group link in the same tab can change only the fragment, which does not
// load the page again; start over so the new secret is read.
window.addEventListener('hashchange', () => {
  if (/(^|[#&])(invite|facilitator)=/.test(location.hash)) location.reload();
});

route();
