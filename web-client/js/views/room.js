// @ts-check
// The live room: a header (group name, meeting, who I am, the connection), then the panels.

import { h, toast, announce, roleLabel } from '../ui.js';
import { PANELS } from '../panels/index.js';
import { ROOM_MOVING_MESSAGE } from '../connection.js';

/** @typedef {import('../store.js').RoomStore} RoomStore */
/** @typedef {import('../store.js').StoreChange} StoreChange */
/** @typedef {import('../connection.js').Connection} Connection */
/** @typedef {import('../connection.js').ConnectionStatus} ConnectionStatus */
/** @typedef {import('../protocol').CloseReason} CloseReason */

/** Plain words for each reason the server gives when it closes a connection. */
export const CLOSING_WORDS = /** @type {Record<CloseReason, string>} */ ({
  server_shutdown: 'The server is restarting. The room reconnects by itself and picks up where it was.',
  slow_consumer: 'This connection fell behind the room. Reconnecting and catching up.',
  removed: 'The facilitator removed you from this group.',
  policy_violation: 'The server closed this connection because it sent too many bad requests. Reload the page.',
  join_timeout: 'Joining took too long. Trying again.',
  unsupported_version: 'This page is out of date for the server. Reload the page.',
  room_moved: 'The meeting is moving between servers. Reconnecting and picking up where it was.',
});

/**
 * @param {HTMLElement} root
 * @param {object} options
 * @param {RoomStore} options.store
 * @param {Connection} options.connection
 * @param {string} options.groupId
 * @returns {{ setStatus: (status: ConnectionStatus) => void }}
 */
export function mountRoom(root, { store, connection, groupId }) {
  /** @type {ConnectionStatus} */
  let status = connection.status;
  const isConnected = () => status.phase === 'connected';

  /**
   * @param {import('../protocol').Request} request
   * @param {string} what
   */
  const act = async (request, what) => {
    try {
      return await connection.request(request);
    } catch (failure) {
      const message = failure instanceof Error ? failure.message : String(failure);
      toast(`${what}: ${message}.`);
      return null;
    }
  };
  /** @type {import('../panels/index.js').PanelContext} */
  const context = { store, connection, groupId, isConnected, act };

  // --- header ------------------------------------------------------------------------------
  const groupName = h('h1', { class: 'group-name', id: 'group-name' }, 'Connecting…');
  const renameButton = h('button', { type: 'button', class: 'icon-button', id: 'rename-button', 'aria-label': 'Rename the group', title: 'Rename the group', hidden: true }, '✎');
  const titleRow = h('div', { class: 'title-row' }, groupName, renameButton);
  const meetingLine = h('p', { class: 'meeting-line', id: 'meeting-line' });
  const indicatorDot = h('span', { class: 'dot', 'aria-hidden': 'true' });
  const indicatorText = h('span', { id: 'connection-text' });
  const retryButton = h('button', { type: 'button', class: 'link-button', id: 'retry-now', hidden: true }, 'Retry now');
  retryButton.addEventListener('click', () => connection.connectNow());
  const indicator = h('div', { class: 'connection', id: 'connection', 'data-phase': status.phase }, indicatorDot, indicatorText, retryButton);
  const banner = h('div', { class: 'banner', id: 'banner', role: 'status', hidden: true });

  const header = h('header', { class: 'room-header' },
    h('div', { class: 'room-topline' }, h('a', { class: 'brand', href: '/' }, 'Roundtable'), indicator),
    titleRow, meetingLine);

  // Inline rename: the name turns into a field; Enter saves, Escape cancels. A failed save
  // keeps the field open with what was typed.
  const startRename = () => {
    const state = store.state;
    if (!state) return;
    const input = h('input', {
      type: 'text', id: 'rename-input', class: 'rename-input', value: state.group.name, 'aria-label': 'Group name',
      maxlength: connection.limits?.group_name_chars_max ?? 80, required: true,
    });
    const save = h('button', { type: 'submit', class: 'button primary small' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'button secondary small' }, 'Cancel');
    const form = h('form', { class: 'rename-form', id: 'rename-form' }, input, save, cancel);
    const finish = () => {
      form.replaceWith(titleRow);
      renameButton.focus();
    };
    cancel.addEventListener('click', finish);
    input.addEventListener('keydown', (keyEvent) => {
      if (keyEvent.key === 'Escape') {
        keyEvent.preventDefault();
        finish();
      }
    });
    form.addEventListener('submit', async (submitEvent) => {
      submitEvent.preventDefault();
      const name = input.value.trim();
      if (!name || name === store.state?.group.name) {
        finish();
        return;
      }
      save.disabled = true;
      const reply = await act({ type: 'rename_group', name }, 'Could not rename the group');
      save.disabled = false;
      if (reply) finish();
      else input.focus();
    });
    titleRow.replaceWith(form);
    input.focus();
    input.select();
  };
  renameButton.addEventListener('click', startRename);

  // --- panels ------------------------------------------------------------------------------
  const mounted = PANELS.map((panel) => ({ panel, view: panel.mount(context) }));
  const mainColumn = h('main', { class: 'stage', id: 'main' },
    ...mounted.filter(({ panel }) => panel.area === 'main').map(({ view }) => view.element));
  const sideColumn = h('aside', { class: 'sidebar', 'aria-label': 'People' },
    ...mounted.filter(({ panel }) => panel.area === 'side').map(({ view }) => view.element));
  const loading = h('p', { class: 'loading', id: 'room-loading' }, 'Joining the room…');

  const roomElement = h('div', { class: 'room' }, header, banner,
    h('div', { class: 'room-body' }, mainColumn, sideColumn), loading);
  root.replaceChildren(roomElement);

  const render = () => {
    const state = store.state;
    const me = store.me();
    roomElement.classList.toggle('ready', !!state);
    loading.hidden = !!state;
    if (state) {
      groupName.textContent = state.group.name;
      document.title = `${state.group.name} · Roundtable`;
      const started = new Date(state.meeting.started_at_ms);
      meetingLine.textContent = `Meeting ${state.meeting.number} · started ${started.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' })}`
        + (me ? ` · You: ${me.display_name}, ${roleLabel(me.role).toLowerCase()}` : '');
    }
    renameButton.hidden = !store.iAmFacilitator();
    renameButton.disabled = !isConnected();
    for (const { view } of mounted) view.update();
  };

  // --- connection indicator ----------------------------------------------------------------
  /** @type {ReturnType<typeof setInterval> | null} */
  let countdown = null;
  const renderStatus = () => {
    indicator.dataset.phase = status.phase;
    // While not connected the room shows what it last knew, dimmed, so nobody mistakes it
    // for the live state; after a removal it shows nothing of the group.
    roomElement.dataset.phase = status.phase;
    roomElement.dataset.closing = status.closing_reason ?? '';
    retryButton.hidden = status.phase !== 'waiting' && status.phase !== 'offline';
    switch (status.phase) {
      case 'connected':
        indicatorText.textContent = 'Connected';
        break;
      case 'connecting':
        indicatorText.textContent = status.attempt > 0 ? 'Reconnecting…' : 'Connecting…';
        break;
      case 'waiting': {
        const seconds = Math.max(1, Math.ceil(((status.retry_at_ms ?? 0) - Date.now()) / 1000));
        indicatorText.textContent = `Reconnecting in ${seconds} s`;
        break;
      }
      case 'offline':
        indicatorText.textContent = 'Offline';
        break;
      case 'stopped':
        indicatorText.textContent = 'Disconnected';
        break;
    }
    const reason = status.closing_reason;
    const words = reason ? CLOSING_WORDS[reason] : status.phase === 'offline'
      ? 'This device is offline. The room catches up by itself when the network is back.'
      : status.phase === 'waiting' && status.closing_message === ROOM_MOVING_MESSAGE ? CLOSING_WORDS.room_moved
      : status.phase === 'waiting' && status.closing_message ? `The connection dropped (${status.closing_message}). Reconnecting.`
        : status.phase === 'waiting' ? 'The connection dropped. Reconnecting; nothing is lost.' : null;
    banner.hidden = status.phase === 'connected' || !words;
    banner.textContent = words ?? '';
    banner.dataset.severity = reason === 'removed' || status.phase === 'stopped' ? 'error' : 'warning';
  };

  /** @type {ConnectionStatus['phase'] | null} */
  let lastPhase = null;
  // Set when the link dropped, so coming back is announced once.
  let dropped = false;
  const setStatus = (/** @type {ConnectionStatus} */ next) => {
    status = next;
    renderStatus();
    if (countdown !== null) clearInterval(countdown);
    countdown = status.phase === 'waiting' ? setInterval(renderStatus, 250) : null;
    if (lastPhase !== status.phase) {
      if (status.phase === 'connected' && dropped) announce('Reconnected.');
      else if (status.phase === 'offline') announce('Offline. The room catches up when the network is back.');
      else if (status.phase === 'waiting' && !dropped) announce('Connection lost. Reconnecting.');
      else if (status.phase === 'stopped' && status.closing_reason) announce(CLOSING_WORDS[status.closing_reason]);
      dropped = status.phase === 'connected' ? false : dropped || status.phase === 'waiting' || status.phase === 'offline';
      lastPhase = status.phase;
    }
    render();
  };

  // --- what the room announces to screen readers -------------------------------------------
  store.subscribe((/** @type {StoreChange} */ change) => {
    render();
    if (change.kind !== 'event') return;
    const event = change.frame.event;
    const nameOf = (/** @type {string} */ memberId) => store.member(memberId)?.display_name ?? 'Someone';
    switch (event.kind) {
      case 'hand_raised': {
        const position = store.state?.hands.indexOf(event.member_id) ?? -1;
        announce(event.member_id === store.myMemberId
          ? `Your hand is raised, number ${position + 1} in the queue.`
          : `${nameOf(event.member_id)} raised a hand, number ${position + 1} in the queue.`);
        break;
      }
      case 'hand_lowered':
        if (event.member_id === store.myMemberId) announce('Your hand is lowered.');
        break;
      case 'group_renamed':
        announce(`The group is now called ${event.name}.`);
        break;
      case 'role_changed':
        if (event.member_id === store.myMemberId) announce(`You are now ${roleLabel(event.role).toLowerCase()}.`);
        break;
      case 'member_added':
        announce(`${event.member.display_name} joined the group.`);
        break;
      default:
        break;
    }
  });

  setStatus(status);
  return { setStatus };
}
