// @ts-check
// The live room: a header (group name, meeting, who I am, the connection), the meeting bar,
// then the stage. While the meeting is upcoming the stage is the lobby (with the agenda in it)
// and the bar, the reactions and the views that run a meeting are hidden. The views of the room are tabs; the current agenda item's view is the
// stage, and every page switches to it when the item changes (the tab says "now"). Anyone can
// look at another tab in one click (or with the arrow keys in the tab list); on a wide screen
// the people and the speaker queue stay beside the stage.

import { h, toast, announce, roleLabel, busy } from '../ui.js';
import { listen } from '../render.js';
import { PANELS } from '../features/index.js';
import { VIEWS, stageView, viewShown } from '../features/meeting/model.js';
import { mountMeetingBar } from '../features/meeting/bar.js';
import { formatDateTime } from '../format.js';
import { ROOM_MOVING_MESSAGE, RequestError } from '../connection.js';
import { mountReactions } from '../features/reactions/view.js';
import { mountHistory } from '../features/history/view.js';

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
  session_revoked: 'A facilitator ended this device\'s session. Reload the page to join again through the invite link.',
  group_deleted: 'The group was deleted by a facilitator.',
  left: 'You left the group and your data was erased.',
  draining: 'Switching to another server. Reconnecting and picking up where it was.',
});

/**
 * @param {HTMLElement} root
 * @param {object} options
 * @param {RoomStore} options.store
 * @param {Connection} options.connection
 * @param {string} options.groupId
 * @returns {{ setStatus: (status: ConnectionStatus) => void, showReaction: (reaction: import('../protocol').ReactionFrame) => void }}
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
      // No answer came before the connection, or the meeting's server, went away: it may well
      // have been done, so "could not" would be wrong. The page shows the meeting as it is.
      if (failure instanceof RequestError && failure.code === 'connection_lost') {
        toast(`Not sure this was done (${what.replace(/^Could not /, '')}): no answer came before the connection to the meeting was lost. The page shows the meeting as it is now; try again if it is not there.`);
      } else {
        toast(`${what}: ${message}.`);
      }
      return null;
    }
  };
  /** @type {import('../features/index.js').PanelContext} */
  const context = { store, connection, groupId, isConnected, act };

  // --- header ------------------------------------------------------------------------------
  const groupName = h('h1', { class: 'group-name', id: 'group-name' }, 'Connecting…');
  const renameButton = h('button', { type: 'button', class: 'icon-button', id: 'rename-button', 'aria-label': 'Rename the group', title: 'Rename the group', hidden: true }, '✎');
  // The group's video call, for everyone, when a facilitator has set its link: it opens in a
  // new tab, and the call's site learns nothing of the room (no opener, no referrer).
  const callLink = h('a', {
    class: 'button primary small call-link', id: 'join-call', target: '_blank', rel: 'noopener noreferrer', hidden: true,
  }, 'Join the call', h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'));
  const titleRow = h('div', { class: 'title-row' }, groupName, renameButton, callLink);
  const meetingLine = h('p', { class: 'meeting-line', id: 'meeting-line' });
  const indicatorDot = h('span', { class: 'dot', 'aria-hidden': 'true' });
  const indicatorText = h('span', { id: 'connection-text' });
  const retryButton = h('button', { type: 'button', class: 'link-button', id: 'retry-now', hidden: true }, 'Retry now');
  listen(retryButton, 'click', () => connection.connectNow());
  const indicator = h('div', { class: 'connection', id: 'connection', 'data-phase': status.phase }, indicatorDot, indicatorText, retryButton);
  const banner = h('div', { class: 'banner', id: 'banner', role: 'status', hidden: true });

  // Every member's own history, on a page of its own over the room.
  const historyButton = h('button', { type: 'button', class: 'button secondary small', id: 'history-button', 'aria-expanded': 'false', 'aria-controls': 'history-page' }, 'My history');
  const header = h('header', { class: 'room-header' },
    h('div', { class: 'room-topline' }, h('a', { class: 'brand', href: '/' }, 'Roundtable'), h('div', { class: 'topline-end' }, historyButton, indicator)),
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
    listen(cancel, 'click', finish);
    listen(input, 'keydown', (keyEvent) => {
      if (keyEvent.key === 'Escape') {
        keyEvent.preventDefault();
        finish();
      }
    });
    listen(form, 'submit', async (submitEvent) => {
      submitEvent.preventDefault();
      const name = input.value.trim();
      if (!name || name === store.state?.group.name) {
        finish();
        return;
      }
      const release = busy(save);
      const reply = await act({ type: 'rename_group', name }, 'Could not rename the group');
      release();
      if (reply) finish();
      else input.focus();
    });
    titleRow.replaceWith(form);
    input.focus();
    input.select();
  };
  listen(renameButton, 'click', startRename);

  // --- the bar, the tabs and the stage ------------------------------------------------------
  const bar = mountMeetingBar(context);
  // Reactions float over the stage's corner, with their buttons beside the meeting bar.
  const reactions = mountReactions(context);
  // A landmark of its own, like everything else on the page (screen readers list it).
  const reactionsArea = h('section', { class: 'reactions-area', 'aria-label': 'Reactions' }, reactions.element);
  const mounted = PANELS.map((panel) => ({ panel, view: panel.mount(context) }));
  /** @type {Map<string, HTMLElement[]>} */
  const parts = new Map(VIEWS.map((view) => [view.id, []]));
  for (const { panel, view } of mounted) {
    parts.get(panel.view)?.push(view.element);
    for (const [viewId, element] of Object.entries(view.more ?? {})) parts.get(viewId)?.push(element);
  }
  const stageNote = h('p', { class: 'stage-note', id: 'stage-note', hidden: true });
  const tabButtons = VIEWS.map((view) => h('button', {
    type: 'button', role: 'tab', id: `tab-${view.id}`, class: `tab tab-${view.id}`, 'aria-controls': `view-${view.id}`,
    'aria-selected': 'false', tabindex: '-1', 'data-view': view.id,
  }, h('span', { class: 'tab-label' }, view.label), h('span', { class: 'tab-now', hidden: true }, 'now')));
  const tabList = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Room views', id: 'room-tabs' }, ...tabButtons);
  const viewPanels = VIEWS.map((view) => h('div', {
    class: `view view-${view.id}`, id: `view-${view.id}`, role: 'tabpanel', 'aria-labelledby': `tab-${view.id}`, 'data-view': view.id,
  }, ...(parts.get(view.id) ?? [])));
  const peopleView = /** @type {HTMLElement} */ (viewPanels.find((panel) => panel.dataset.view === 'people'));
  const mainColumn = h('main', { class: 'stage', id: 'main', tabindex: '-1' }, stageNote, ...viewPanels.filter((panel) => panel !== peopleView));
  const sideColumn = h('aside', { class: 'sidebar', 'aria-label': 'People and speaker queue' }, peopleView);
  const loading = h('p', { class: 'loading', id: 'room-loading' }, 'Joining the room…');

  const historyPage = mountHistory(context, {
    onClose: () => {
      historyPage.close();
      roomElement.dataset.page = 'room';
      historyButton.setAttribute('aria-expanded', 'false');
      historyButton.focus();
    },
  });
  // While the meeting is upcoming the agenda (and the group's settings beside it) is edited in
  // the lobby: the agenda view's panels move there, and back once the meeting is live.
  const agendaHome = viewPanels.find((panel) => panel.dataset.view === 'agenda') ?? null;
  const lobbyAgenda = /** @type {HTMLElement | null} */ (mainColumn.querySelector('#lobby-agenda'));
  const placeAgenda = (/** @type {boolean} */ upcoming) => {
    if (!agendaHome || !lobbyAgenda) return;
    const [from, to] = upcoming ? [agendaHome, lobbyAgenda] : [lobbyAgenda, agendaHome];
    if (from.children.length > 0) to.append(...from.children);
  };

  const roomElement = h('div', { class: 'room' }, header, banner,
    h('div', { class: 'room-body' }, bar.element, reactionsArea, reactions.stream, h('nav', { class: 'tab-bar', 'aria-label': 'Room views' }, tabList), mainColumn, sideColumn),
    historyPage.element, loading);
  roomElement.dataset.page = 'room';
  listen(historyButton, 'click', () => {
    if (roomElement.dataset.page === 'history') return;
    roomElement.dataset.page = 'history';
    historyButton.setAttribute('aria-expanded', 'true');
    historyPage.open();
  });
  root.replaceChildren(roomElement);

  /** The view shown; `chosen` when the person picked it since the stage last changed. */
  let selected = 'agenda';
  let chosen = false;
  /** @type {string | null} */
  let lastStage = null;
  /** @type {string | null} The current item's id when the stage was last followed. */
  let lastItem = null;
  /**
   * @param {string} viewId
   * @param {{ focus?: boolean }} [options]
   */
  const select = (viewId, options = {}) => {
    selected = viewId;
    for (const button of tabButtons) {
      const on = button.dataset.view === viewId;
      button.setAttribute('aria-selected', String(on));
      button.tabIndex = on ? 0 : -1;
      if (on && options.focus) button.focus();
    }
    for (const panel of viewPanels) panel.classList.toggle('active', panel.dataset.view === viewId);
    roomElement.dataset.view = viewId;
    revealSelectedTab();
  };
  /**
   * On a narrow screen the tabs scroll sideways: the selected one, with its "now" badge, is
   * brought wholly into view (the list scrolls, not the page). Called again after the tabs
   * change (a tab shown or hidden, a badge added), since either moves or widens the tab.
   */
  const revealSelectedTab = () => {
    const button = tabButtons.find((candidate) => candidate.dataset.view === selected);
    if (!button || button.hidden || tabList.scrollWidth <= tabList.clientWidth) return;
    const tab = button.getBoundingClientRect();
    const list = tabList.getBoundingClientRect();
    if (tab.left < list.left || tab.right > list.right) tabList.scrollLeft += tab.left + tab.width / 2 - (list.left + list.width / 2);
  };
  listen(tabList, 'click', (clickEvent) => {
    const button = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (clickEvent.target).closest('[role="tab"]'));
    if (!button?.dataset.view) return;
    chosen = button.dataset.view !== lastStage;
    select(button.dataset.view);
    render();
  });
  listen(tabList, 'keydown', (keyEvent) => {
    const visible = tabButtons.filter((button) => getComputedStyle(button).display !== 'none');
    const index = visible.findIndex((button) => button.dataset.view === selected);
    /** @type {number | null} */
    let target = null;
    if (keyEvent.key === 'ArrowRight') target = (index + 1) % visible.length;
    else if (keyEvent.key === 'ArrowLeft') target = (index - 1 + visible.length) % visible.length;
    else if (keyEvent.key === 'Home') target = 0;
    else if (keyEvent.key === 'End') target = visible.length - 1;
    if (target === null) return;
    keyEvent.preventDefault();
    const viewId = visible[target].dataset.view ?? 'agenda';
    chosen = viewId !== lastStage;
    select(viewId, { focus: true });
    render();
  });

  /** Follows the stage: when the current item (or the stage) changes, everyone goes there. */
  const followStage = () => {
    const state = store.state;
    if (!state) return;
    const stage = stageView(state);
    const item = /** @type {any} */ (state.features.agenda)?.agenda.find((/** @type {any} */ entry) => entry.status === 'current');
    const itemKey = item ? String(item.item_id) : null;
    if (stage !== lastStage || itemKey !== lastItem) {
      const hadFocusInStage = mainColumn.contains(document.activeElement);
      lastStage = stage;
      lastItem = itemKey;
      chosen = false;
      select(stage);
      // The focus was in a view that is now hidden: take it to the new stage.
      if (hadFocusInStage && !isShown(document.activeElement)) focusStage();
    } else if (!chosen && selected !== stage) {
      select(stage);
    }
    const prepOpen = !!/** @type {any} */ (state.features.prep)?.open;
    // The meeting started while someone was preparing: they go to the stage with everyone.
    if (!prepOpen && selected === 'prep') select(stage);
    for (const button of tabButtons) {
      // The lobby is there while the meeting is upcoming (and the views that run a meeting
      // are not), the summary once it has ended.
      button.hidden = !viewShown(button.dataset.view ?? '', state);
      const now = button.dataset.view === stage;
      button.classList.toggle('is-stage', now);
      /** @type {HTMLElement} */ (button.querySelector('.tab-now')).hidden = !now;
    }
    // The round's view is an open discussion's stage too: its tab says which it is now (it
    // read "Round" through a discussion).
    const timerLabel = /** @type {HTMLElement | null} */ (tabList.querySelector('#tab-timer .tab-label'));
    if (timerLabel) timerLabel.textContent = item?.kind === 'discussion' ? 'Discussion' : 'Round';
    // The tab was selected before its badge (or the tab itself) was shown.
    revealSelectedTab();
    const note = item?.notes?.trim();
    stageNote.hidden = !note || selected !== stage;
    // The meeting bar right above names the item; the note says what it is for (its title
    // is there for screen readers, which do not see the bar beside it).
    stageNote.replaceChildren(...(note ? [h('span', { class: 'visually-hidden' }, `${item.title}: `), note] : []));
  };

  /** @param {Element | null} element */
  const isShown = (element) => !!element && element !== document.body && element.isConnected
    && /** @type {HTMLElement} */ (element).getClientRects().length > 0;
  /** Puts the focus on the view shown: its heading, or the stage itself. */
  const focusStage = () => {
    const panel = viewPanels.find((candidate) => candidate.dataset.view === selected);
    const heading = /** @type {HTMLElement | null} */ (panel?.querySelector('h2[tabindex="-1"]') ?? null);
    (heading && isShown(heading) ? heading : mainColumn).focus({ preventScroll: true });
  };
  // After anything redraws: if the focused control went away (hidden or replaced), the focus
  // goes to the view rather than falling to the page.
  /** @type {HTMLElement | null} */
  let lastFocused = null;
  document.addEventListener('focusin', (focusEvent) => { lastFocused = /** @type {HTMLElement} */ (focusEvent.target); });
  const rescueFocus = () => {
    const active = document.activeElement;
    // A control hidden in this redraw may still hold the focus until the browser notices.
    if (active && active !== document.body && isShown(active)) return;
    if (document.querySelector('dialog[open]')) return;
    const lost = active && active !== document.body ? /** @type {HTMLElement} */ (active) : lastFocused;
    if (!lost || !roomElement.contains(lost) && lost.isConnected) return;
    if (lost !== active && isShown(lost)) return;
    focusStage();
  };
  select(selected);

  const render = () => {
    const state = store.state;
    const me = store.me();
    roomElement.classList.toggle('ready', !!state);
    loading.hidden = !!state;
    if (state) {
      groupName.textContent = state.group.name;
      const callUrl = state.group.call_url ?? '';
      callLink.hidden = !callUrl;
      if (callUrl && callLink.getAttribute('href') !== callUrl) callLink.setAttribute('href', callUrl);
      if (!callUrl) callLink.removeAttribute('href');
      const upcoming = state.meeting.phase === 'upcoming';
      // On a phone the start's date and time give way (css/app.css): the bar shows how long
      // the meeting has run, and who you are keeps its place on one line.
      meetingLine.replaceChildren(`Meeting ${state.meeting.number}`,
        upcoming ? ' · not started yet' : h('span', { class: 'meeting-started' }, ` · started ${formatDateTime(state.meeting.started_at_ms)}`),
        me ? ` · You: ${me.display_name}, ${roleLabel(me.role).toLowerCase()}` : '');
      roomElement.dataset.meetingPhase = upcoming ? 'upcoming' : 'live';
      placeAgenda(upcoming);
    }
    renameButton.hidden = !store.iAmFacilitator();
    renameButton.disabled = !isConnected();
    followStage();
    historyButton.hidden = !state;
    historyPage.update();
    bar.update();
    reactions.update();
    for (const { view } of mounted) view.update();
    // A control that vanished in this redraw (Start round once the round runs) gives the
    // focus to its view, never to the page.
    queueMicrotask(rescueFocus);
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
      case 'meeting_started':
        announce(`Meeting ${store.state?.meeting.number ?? ''} has started.`);
        break;
      default:
        break;
    }
  });

  setStatus(status);
  return { setStatus, showReaction: reactions.show };
}
