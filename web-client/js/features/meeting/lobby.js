// @ts-check
// The lobby: what everyone sees while the group's meeting is upcoming (not started yet), in
// place of the meeting's stage. It says which group and meeting this is, when it is (from the
// group's schedule, features/schedule) and who is here now; "Join the call" is the room's own, beside the group's
// name above it (views/room.js), there whenever the group has a call link.
// A facilitator gets a prominent "Start meeting" (confirmed first only when fewer than half
// the group is here) and the agenda to edit (the room moves the agenda panel into
// `#lobby-agenda`); members read "Waiting for the facilitator to start". Everyone who may
// prepare gets "Prepare for this meeting" (or, once they prepared something, "Edit your prep"
// with what they prepared), which opens the Prep tab and takes the focus there. When the
// meeting starts, the stage is the current item's view on every page at once (model.js,
// stageView). `lobbyModel` and `myPrepSummary` are pure (tested in Node).

import { h, confirmDialog } from '../../ui.js';
import { patch, listen } from '../../render.js';
import { plural } from '../../format.js';
import { nextMeetingLine } from '../schedule/view.js';
import { loadDrafts } from '../../drafts.js';
import { prepDraftsName, NUMBERS_SENT } from '../prep/outbox.js';

/** @typedef {import('../../store.js').RoomState} RoomState */

/**
 * @typedef {object} Lobby
 * @property {string} groupName
 * @property {number} number The meeting's number.
 * @property {{ memberId: string, name: string, you: boolean, facilitator: boolean }[]} here
 *   Members online now, in the order they joined.
 * @property {number} total Members of the group (observers left out).
 * @property {number} present Of them, online now.
 * @property {boolean} fewHere Fewer than half the group is here: starting asks first.
 */

/**
 * @param {RoomState} state
 * @param {string | null} myMemberId
 * @returns {Lobby | null} Null once the meeting is live.
 */
export function lobbyModel(state, myMemberId) {
  if (state.meeting.phase !== 'upcoming') return null;
  const participants = state.members.filter((member) => member.role !== 'observer');
  const here = state.members
    .filter((member) => member.online)
    .map((member) => ({
      memberId: member.member_id,
      name: member.display_name,
      you: member.member_id === myMemberId,
      facilitator: member.role === 'facilitator',
    }));
  const present = participants.filter((member) => member.online).length;
  return {
    groupName: state.group.name,
    number: state.meeting.number,
    here,
    total: participants.length,
    present,
    fewHere: present * 2 < participants.length,
  };
}

/**
 * What the viewer prepared for the upcoming meeting, as short phrases ("check-in saved",
 * "hot seat asked", "numbers in", "2 report-backs held"); empty when nothing yet.
 * @param {import('../prep/state.js').PrepState | null | undefined} prep
 * @param {boolean} numbersSent This browser sent numbers for this meeting.
 * @returns {string[]}
 */
export function myPrepSummary(prep, numbersSent) {
  if (!prep?.open) return [];
  const parts = [];
  if (prep.mine.check_in) parts.push('check-in saved');
  if (prep.mine.hot_seat) parts.push('hot seat asked');
  if (numbersSent) parts.push('numbers in');
  const held = prep.mine.report_backs?.length ?? 0;
  if (held > 0) parts.push(`${plural(held, 'report-back', 'report-backs')} held`);
  return parts;
}

/** @type {import('../index.js').Panel} */
export const lobbyPanel = {
  id: 'lobby',
  view: 'lobby',
  mount(context) {
    const { store } = context;
    const heading = h('h2', { id: 'lobby-title', tabindex: '-1' }, 'Lobby');
    const groupLine = h('p', { class: 'lobby-group', id: 'lobby-group' });
    // When the meeting is, from the group's schedule (hidden while the group has none).
    const when = nextMeetingLine(context, 'lobby-when');
    when.element.classList.add('lobby-when');
    // Until the group has a schedule the lobby says so, and a facilitator gets a way to the
    // form that sets it (further down, with the agenda), rather than an empty slot.
    const setSchedule = h('button', { type: 'button', class: 'link-button', id: 'lobby-set-schedule' }, 'Set when the group meets');
    const unscheduledText = h('span', {});
    const unscheduled = h('p', { class: 'lobby-unscheduled', id: 'lobby-unscheduled' }, unscheduledText, ' ', setSchedule);
    listen(setSchedule, 'click', () => {
      const first = /** @type {HTMLElement | null} */ (document.querySelector('#schedule-form select, #schedule-form input'));
      first?.scrollIntoView({ block: 'center' });
      first?.focus({ preventScroll: true });
    });
    // How many prepared ("5 of 8", features/prep): the count only, never what they prepared.
    const prepared = h('p', { class: 'lobby-prepared', id: 'lobby-prepared' });
    const startButton = h('button', { type: 'button', class: 'button primary large', id: 'lobby-start' }, 'Start meeting');
    // The way to the Prep tab, for everyone who may prepare (not observers).
    const prepButton = h('button', { type: 'button', class: 'button secondary large', id: 'lobby-prepare', 'aria-describedby': 'lobby-my-prep' }, 'Prepare for this meeting');
    const myPrep = h('p', { class: 'lobby-my-prep hint', id: 'lobby-my-prep' });
    const waiting = h('p', { class: 'lobby-waiting', id: 'lobby-waiting', role: 'status' }, 'Waiting for the facilitator to start.');
    const hereHeading = h('h3', { id: 'lobby-here-title' }, 'Here now');
    const hereList = h('ul', { class: 'lobby-here', id: 'lobby-here', 'aria-labelledby': 'lobby-here-title' });
    const agendaSlot = h('div', { class: 'lobby-agenda', id: 'lobby-agenda' });
    const element = h('section', { class: 'panel lobby', id: 'panel-lobby', 'aria-labelledby': 'lobby-title' },
      heading, groupLine, when.element, unscheduled, prepared,
      h('div', { class: 'lobby-actions' }, startButton, prepButton),
      myPrep,
      waiting,
      h('div', { class: 'lobby-people' }, hereHeading, hereList),
      agendaSlot);

    listen(startButton, 'click', async () => {
      const state = store.state;
      if (!state) return;
      const lobby = lobbyModel(state, store.myMemberId);
      if (!lobby) return;
      if (lobby.fewHere) {
        const confirmed = await confirmDialog(`Start meeting ${lobby.number} with ${lobby.present} of ${lobby.total} here?`,
          'Fewer than half the group is here. Those who come later join the meeting as it runs.',
          'Start meeting', 'Keep waiting');
        if (!confirmed) return;
      }
      startButton.disabled = true;
      const started = await context.act({ type: 'start_meeting' }, 'Could not start the meeting');
      if (!started) {
        startButton.disabled = !context.isConnected();
        startButton.focus();
      }
    });

    listen(prepButton, 'click', () => {
      const tab = /** @type {HTMLElement | null} */ (document.querySelector('[role="tab"][data-view="prep"]:not([hidden])'));
      if (!tab) return;
      tab.click();
      // The focus goes to the Prep tab's heading, so the next Tab is its first field.
      /** @type {HTMLElement | null} */ (document.getElementById('prep-title'))?.focus();
    });

    return {
      element,
      update() {
        const state = store.state;
        const lobby = state ? lobbyModel(state, store.myMemberId) : null;
        const facilitator = store.iAmFacilitator();
        startButton.hidden = !lobby || !facilitator;
        startButton.disabled = !context.isConnected();
        waiting.hidden = !lobby || facilitator;
        if (!state || !lobby) return;
        when.element.hidden = !state.group.schedule;
        unscheduled.hidden = !!state.group.schedule;
        setSchedule.hidden = !facilitator;
        unscheduledText.textContent = facilitator
          ? 'No time is set for this meeting yet.' : 'No time is set for this meeting yet; the facilitator sets it.';
        if (state.group.schedule) when.update();
        heading.textContent = `Meeting ${lobby.number} has not started yet`;
        groupLine.textContent = `${lobby.groupName} · Meeting ${lobby.number}`;
        const prep = /** @type {import('../prep/state.js').PrepState | undefined} */ (state.features.prep);
        prepared.textContent = `${prep?.prepared ?? 0} of ${state.members.length} prepared`;
        const mayPrepare = !!prep?.open && store.me()?.role !== 'observer';
        const numbersSent = !!context.groupId && !!loadDrafts(prepDraftsName(context.groupId, state.meeting.meeting_id))[NUMBERS_SENT];
        const summary = myPrepSummary(prep, numbersSent);
        prepButton.hidden = !mayPrepare;
        prepButton.textContent = summary.length > 0 ? 'Edit your prep' : 'Prepare for this meeting';
        myPrep.hidden = !mayPrepare;
        myPrep.textContent = summary.length > 0
          ? `Your prep: ${summary.join(' · ')}. Only you see it until the meeting starts.`
          : 'You have not prepared yet: a check-in, numbers, a report back on your commitments, a hot-seat request.';
        hereHeading.textContent = `Here now: ${lobby.present} of ${plural(lobby.total, 'member', 'members')}`;
        patch(hereList, () => lobby.here.length === 0
          ? [h('li', { class: 'hint', 'data-key': 'nobody' }, 'Nobody yet.')]
          : lobby.here.map((person) => h('li', { 'data-key': person.memberId, 'data-member-id': person.memberId },
            person.name,
            person.you ? h('span', { class: 'tag' }, 'you') : null,
            person.facilitator ? h('span', { class: 'tag' }, 'facilitator') : null)));
      },
    };
  },
};
