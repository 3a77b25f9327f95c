// @ts-check
// The agenda and the big timer: what everyone looks at. The agenda lists the items with the
// current one highlighted and finished ones marked; a facilitator adds items, marks one
// current or done, and accepts or declines members' proposals; members propose items.
//
// The timer is the server's: `timer_set` says when it starts, pauses, resumes, is extended or
// stops, and the page computes the remaining time itself every 100 ms as
// `deadline_ms - serverNow()` while running (`remaining_ms` while paused), with the measured
// server clock, so every page shows the same time. Past the deadline it shows the overrun in
// red ("+0:12 over") and announces time-up once. A facilitator runs rounds from here, also
// with the keyboard: Space pauses or resumes, N next speaker, S skip, + one more minute.

import { registerFeature } from '../store.js';
import { h, announce } from '../ui.js';

/** @typedef {import('../protocol').FlowInfo} FlowInfo */
/** @typedef {import('../protocol').AgendaItem} AgendaItem */
/** @typedef {import('../protocol').AgendaItemKind} AgendaItemKind */
/** @typedef {import('../protocol').Proposal} Proposal */
/** @typedef {import('../protocol').RoundInfo} RoundInfo */
/** @typedef {import('../protocol').TimerInfo} TimerInfo */
/** @typedef {import('../protocol').FloorInfo} FloorInfo */
/** @typedef {import('../protocol').TalkTime} TalkTime */
/** @typedef {import('../protocol').MemberId} MemberId */

/**
 * @typedef {object} FlowState
 * @property {AgendaItem[]} agenda
 * @property {Proposal[]} proposals
 * @property {RoundInfo | null} round
 * @property {TimerInfo | null} timer
 * @property {FloorInfo | null} floor
 * @property {TalkTime[]} talk_times
 * @property {number} version Counts changes, so the lists redraw only when something changed.
 */

/** A speaker's default time box in a round, in minutes. */
export const ROUND_MINUTES_DEFAULT = 4;
/** What +1 min adds, in milliseconds. */
export const EXTEND_MS = 60_000;
/** How often the timer's display is recomputed, in milliseconds. */
export const TIMER_TICK_MS = 100;
/** The server's limit on titles (PROTOCOL.md). */
export const AGENDA_TITLE_CHARS_MAX = 120;

/** @type {Record<AgendaItemKind, string>} */
export const KIND_LABELS = {
  round: 'Round',
  report_back: 'Report back',
  problem: 'Bring a problem',
  role_play: 'Role play',
  benchmarks: 'Benchmarks',
  best_practices: 'Best practices',
  commitments: 'Commitments',
  discussion: 'Discussion',
};

/**
 * @param {import('../store.js').RoomState} state
 * @returns {FlowState}
 */
function flowOf(state) {
  return /** @type {FlowState} */ (state.features.agenda);
}

registerFeature({
  id: 'agenda',
  fromSnapshot(snapshot) {
    /** @type {FlowState} */
    const own = {
      agenda: snapshot.flow.agenda.map((item) => ({ ...item })),
      proposals: snapshot.flow.proposals.map((proposal) => ({ ...proposal })),
      round: snapshot.flow.round ? { ...snapshot.flow.round, speakers: snapshot.flow.round.speakers.map((s) => ({ ...s })) } : null,
      timer: snapshot.flow.timer ?? null,
      floor: snapshot.flow.floor ?? null,
      talk_times: snapshot.flow.talk_times.map((entry) => ({ ...entry })),
      version: 0,
    };
    return own;
  },
  events: {
    agenda_item_added(state, event) {
      const own = flowOf(state);
      own.agenda = own.agenda.filter((item) => item.item_id !== event.item.item_id);
      own.agenda.splice(Math.min(event.position, own.agenda.length), 0, { ...event.item });
      own.version++;
    },
    agenda_item_edited(state, event) {
      const own = flowOf(state);
      own.agenda = own.agenda.map((item) => (item.item_id === event.item.item_id ? { ...event.item } : item));
      own.version++;
    },
    agenda_item_removed(state, event) {
      const own = flowOf(state);
      own.agenda = own.agenda.filter((item) => item.item_id !== event.item_id);
      own.version++;
    },
    agenda_reordered(state, event) {
      const own = flowOf(state);
      const byId = new Map(own.agenda.map((item) => [item.item_id, item]));
      /** @type {number[]} */
      const order = event.order;
      const ordered = order.map((id) => byId.get(id)).filter((item) => item !== undefined);
      const rest = own.agenda.filter((item) => !order.includes(item.item_id));
      own.agenda = [.../** @type {AgendaItem[]} */ (ordered), ...rest];
      own.version++;
    },
    agenda_item_status_changed(state, event) {
      const own = flowOf(state);
      for (const item of own.agenda) {
        if (item.item_id === event.item_id) item.status = event.status;
        else if (event.status === 'current' && item.status === 'current') item.status = 'pending';
      }
      own.version++;
    },
    agenda_item_proposed(state, event) {
      const own = flowOf(state);
      if (!own.proposals.some((p) => p.proposal_id === event.proposal.proposal_id)) own.proposals.push(event.proposal);
      own.version++;
    },
    proposal_closed(state, event) {
      const own = flowOf(state);
      own.proposals = own.proposals.filter((p) => p.proposal_id !== event.proposal_id);
      own.version++;
    },
    round_started(state, event) {
      const own = flowOf(state);
      /** @type {RoundInfo} */
      const round = event.round;
      own.round = { ...round, speakers: round.speakers.map((s) => ({ ...s })) };
      own.version++;
    },
    round_speakers_reordered(state, event) {
      const own = flowOf(state);
      if (!own.round) return;
      /** @type {MemberId[]} */
      const order = event.order;
      const listed = order
        .map((id) => own.round?.speakers.find((s) => s.member_id === id))
        .filter((s) => s !== undefined);
      const rest = own.round.speakers.filter((s) => !order.includes(s.member_id));
      own.round.speakers = [...rest, .../** @type {import('../protocol').RoundSpeaker[]} */ (listed)];
      own.version++;
    },
    round_speaker_changed(state, event) {
      const own = flowOf(state);
      const speaker = own.round?.speakers.find((s) => s.member_id === event.member_id);
      if (speaker) speaker.status = event.status;
      own.version++;
    },
    round_auto_advance_set(state, event) {
      const own = flowOf(state);
      if (own.round) own.round.auto_advance = event.auto_advance;
      own.version++;
    },
    round_ended(state) {
      const own = flowOf(state);
      own.round = null;
      own.version++;
    },
    timer_set(state, event) {
      const own = flowOf(state);
      own.timer = event.timer;
      own.version++;
    },
    time_up(state, event) {
      const own = flowOf(state);
      if (own.timer && own.timer.state.status === 'running' && own.timer.state.deadline_ms === event.deadline_ms) {
        own.timer = { ...own.timer, time_up: true };
      }
      own.version++;
    },
    turn_ended(state, event) {
      const own = flowOf(state);
      const entry = own.talk_times.find((t) => t.member_id === event.member_id);
      const overrun = event.time_box_ms ? Math.max(0, event.talk_ms - event.time_box_ms) : 0;
      if (entry) {
        entry.talk_ms += event.talk_ms;
        entry.turns += 1;
        entry.overrun_ms += overrun;
      } else {
        own.talk_times.push({ member_id: event.member_id, talk_ms: event.talk_ms, turns: 1, overrun_ms: overrun });
      }
      if (event.in_round) {
        const speaker = own.round?.speakers.find((s) => s.member_id === event.member_id);
        if (speaker) speaker.talk_ms += event.talk_ms;
      }
      own.version++;
    },
    floor_given(state, event) {
      const own = flowOf(state);
      own.floor = event.floor;
      own.version++;
    },
  },
});

/**
 * The time left on a timer at server time `now`: negative past the deadline.
 * @param {TimerInfo} timer
 * @param {number} now
 */
export function remainingMs(timer, now) {
  return timer.state.status === 'running' ? timer.state.deadline_ms - now : timer.state.remaining_ms;
}

/**
 * Shows a remaining time as m:ss (rounded up, so a fresh 4-minute box shows 4:00), or an
 * overrun as "+0:12 over".
 * @param {number} ms
 */
export function formatRemaining(ms) {
  const mss = (/** @type {number} */ seconds) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  if (ms > 0) return mss(Math.ceil(ms / 1000));
  if (ms > -1000) return '0:00';
  return `+${mss(Math.floor(-ms / 1000))} over`;
}

/** @param {EventTarget | null} target Whether a key press there is typing. */
function isTyping(target) {
  const element = /** @type {HTMLElement | null} */ (target);
  return !!element && (element.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(element.tagName));
}

/** @type {import('./index.js').Panel} */
export const agendaPanel = {
  id: 'agenda',
  area: 'main',
  mount(context) {
    const { store } = context;
    /** @returns {FlowState | null} */
    const flow = () => (store.state ? flowOf(store.state) : null);
    const nameOf = (/** @type {MemberId} */ id) => store.member(id)?.display_name ?? 'Someone';
    const serverNow = () => context.connection.clock.serverNow();

    // --- the timer -------------------------------------------------------------------------
    const timerDisplay = h('div', { class: 'timer-display', id: 'timer-display', role: 'timer', 'aria-live': 'off', 'aria-labelledby': 'timer-speaker' }, '–:––');
    const timerSpeaker = h('p', { class: 'timer-speaker', id: 'timer-speaker' });
    const timerNext = h('p', { class: 'timer-next hint', id: 'timer-next' });
    const timerStatus = h('span', { class: 'tag timer-status', id: 'timer-status' });

    const minutesInput = h('input', { type: 'number', id: 'round-minutes', min: '0.05', max: '240', step: 'any', value: String(ROUND_MINUTES_DEFAULT), class: 'round-minutes' });
    const startButton = h('button', { type: 'button', class: 'button primary', id: 'timer-start' }, 'Start round');
    const pauseButton = h('button', { type: 'button', class: 'button secondary', id: 'timer-pause', 'aria-keyshortcuts': 'Space' }, 'Pause');
    const extendButton = h('button', { type: 'button', class: 'button secondary', id: 'timer-extend', 'aria-keyshortcuts': '+' }, '+1 min');
    const nextButton = h('button', { type: 'button', class: 'button secondary', id: 'timer-next-button', 'aria-keyshortcuts': 'N' }, 'Next');
    const skipButton = h('button', { type: 'button', class: 'button secondary', id: 'timer-skip', 'aria-keyshortcuts': 'S' }, 'Skip');
    const endButton = h('button', { type: 'button', class: 'button secondary', id: 'timer-end' }, 'End round');
    const startRow = h('div', { class: 'timer-start-row' },
      h('label', { for: 'round-minutes' }, 'Minutes per speaker'), minutesInput, startButton);
    const controls = h('div', { class: 'timer-controls', id: 'timer-controls' },
      startRow,
      h('div', { class: 'timer-buttons' }, pauseButton, extendButton, nextButton, skipButton, endButton),
      h('p', { class: 'hint' }, 'Keys: Space pause or resume, N next, S skip, + one more minute.'));

    const timerBox = h('div', { class: 'timer-box', id: 'timer-box' },
      h('div', { class: 'timer-head' }, timerSpeaker, timerStatus),
      timerDisplay, timerNext, controls);

    // --- the agenda ------------------------------------------------------------------------
    const agendaList = h('ol', { class: 'agenda-list', id: 'agenda-list', 'aria-labelledby': 'agenda-title' });
    const agendaEmpty = h('p', { class: 'empty', id: 'agenda-empty' }, 'No agenda items yet.');
    const titleInput = h('input', { type: 'text', id: 'agenda-item-title', maxlength: String(AGENDA_TITLE_CHARS_MAX), required: true });
    const kindSelect = h('select', { id: 'agenda-item-kind' },
      ...Object.entries(KIND_LABELS).map(([kind, label]) => h('option', { value: kind, selected: kind === 'discussion' }, label)));
    const itemMinutes = h('input', { type: 'number', id: 'agenda-item-minutes', min: '1', max: '240', step: '1', value: '10' });
    const addButton = h('button', { type: 'submit', class: 'button primary', id: 'agenda-add' }, 'Add item');
    const addForm = h('form', { class: 'inline-form agenda-form', id: 'agenda-form' },
      h('div', { class: 'field grow' }, h('label', { for: 'agenda-item-title' }, 'Item title'), titleInput),
      h('div', { class: 'field' }, h('label', { for: 'agenda-item-kind' }, 'Kind'), kindSelect),
      h('div', { class: 'field' }, h('label', { for: 'agenda-item-minutes' }, 'Minutes'), itemMinutes),
      h('div', { class: 'field end' }, addButton));
    const proposalsTitle = h('h3', { id: 'proposals-title' }, 'Proposed items');
    const proposalsList = h('ul', { class: 'proposal-list', id: 'proposal-list', 'aria-labelledby': 'proposals-title' });
    const proposalsBox = h('div', { class: 'proposals', id: 'agenda-proposals' }, proposalsTitle, proposalsList);

    const element = h('section', { class: 'panel panel-agenda', id: 'panel-agenda', 'aria-labelledby': 'agenda-title' },
      timerBox,
      h('div', { class: 'panel-head' }, h('h2', { id: 'agenda-title' }, 'Agenda')),
      agendaList, agendaEmpty, proposalsBox, addForm);

    // --- requests --------------------------------------------------------------------------
    const startRound = async () => {
      const minutes = Number(minutesInput.value);
      if (!(minutes > 0)) { minutesInput.focus(); return; }
      const current = flow()?.agenda.find((item) => item.status === 'current');
      await context.act({
        type: 'start_round', speaker_time_box_ms: Math.round(minutes * 60_000), auto_advance: false,
        item_id: current && current.kind === 'round' ? current.item_id : null,
      }, 'Could not start the round');
    };
    const togglePause = async () => {
      const timer = flow()?.timer;
      if (!timer) return;
      if (timer.state.status === 'running') await context.act({ type: 'pause_timer' }, 'Could not pause the timer');
      else await context.act({ type: 'resume_timer' }, 'Could not resume the timer');
    };
    const extend = () => context.act({ type: 'extend_timer', delta_ms: EXTEND_MS }, 'Could not add a minute');
    const next = () => context.act({ type: 'next_speaker' }, 'Could not move to the next speaker');
    const skip = () => context.act({ type: 'skip_speaker' }, 'Could not skip the speaker');
    startButton.addEventListener('click', startRound);
    pauseButton.addEventListener('click', togglePause);
    extendButton.addEventListener('click', extend);
    nextButton.addEventListener('click', next);
    skipButton.addEventListener('click', skip);
    endButton.addEventListener('click', () => context.act({ type: 'end_round' }, 'Could not end the round'));

    addForm.addEventListener('submit', async (submitEvent) => {
      submitEvent.preventDefault();
      const title = titleInput.value.trim();
      const minutes = Number(itemMinutes.value);
      if (!title) { titleInput.focus(); return; }
      if (!(minutes > 0)) { itemMinutes.focus(); return; }
      const item = { title, kind: /** @type {AgendaItemKind} */ (kindSelect.value), time_box_ms: Math.round(minutes * 60_000) };
      addButton.disabled = true;
      const reply = store.iAmFacilitator()
        ? await context.act({ type: 'add_agenda_item', item }, 'Could not add the item')
        : await context.act({ type: 'propose_agenda_item', item }, 'Could not propose the item');
      addButton.disabled = false;
      if (reply) {
        titleInput.value = '';
        if (!store.iAmFacilitator()) announce('Your item was proposed to the facilitator.');
      }
    });

    // The facilitator's keys, unless the person is typing somewhere.
    document.addEventListener('keydown', (keyEvent) => {
      if (keyEvent.ctrlKey || keyEvent.metaKey || keyEvent.altKey) return;
      if (!element.isConnected || !store.iAmFacilitator() || !context.isConnected()) return;
      if (isTyping(keyEvent.target) || document.querySelector('dialog[open]')) return;
      const state = flow();
      if (!state) return;
      const key = keyEvent.key;
      if (key === ' ' || key === 'Spacebar') {
        // Space on a focused button clicks it; leave that alone.
        const target = /** @type {HTMLElement | null} */ (keyEvent.target);
        if (target && (target.tagName === 'BUTTON' || target.tagName === 'A')) return;
        if (!state.timer) return;
        keyEvent.preventDefault();
        togglePause();
      } else if ((key === 'n' || key === 'N') && state.round) {
        keyEvent.preventDefault();
        next();
      } else if ((key === 's' || key === 'S') && state.round) {
        keyEvent.preventDefault();
        skip();
      } else if ((key === '+' || key === '=') && state.timer) {
        keyEvent.preventDefault();
        extend();
      }
    });

    // --- drawing ---------------------------------------------------------------------------
    let drawnVersion = -1;
    /** @type {unknown} */
    let drawnState = null;
    let drawnRole = '';
    /** The deadline whose time-up this page announced (or found already past), so once only. */
    let announcedDeadline = -1;
    let lastRemaining = Number.POSITIVE_INFINITY;

    /** @returns {MemberId | null} */
    const currentSpeaker = () => {
      const state = flow();
      if (!state) return null;
      const subject = state.timer?.subject;
      if (subject && (subject.kind === 'round_speaker' || subject.kind === 'called_speaker')) return subject.member_id;
      const speaking = state.round?.speakers.find((s) => s.status === 'speaking');
      return speaking?.member_id ?? state.floor?.member_id ?? null;
    };

    const tick = () => {
      const state = flow();
      const timer = state?.timer ?? null;
      if (!timer) {
        timerDisplay.textContent = '–:––';
        timerDisplay.removeAttribute('data-remaining-ms');
        timerDisplay.removeAttribute('data-rendered-at-ms');
        timerBox.classList.remove('overrun', 'paused', 'running');
        lastRemaining = Number.POSITIVE_INFINITY;
        return;
      }
      const renderedAt = Date.now();
      const remaining = remainingMs(timer, serverNow());
      const text = formatRemaining(remaining);
      if (timerDisplay.textContent !== text) timerDisplay.textContent = text;
      // The exact time behind the text, and this page's own clock when it was computed.
      timerDisplay.setAttribute('data-remaining-ms', String(Math.round(remaining)));
      timerDisplay.setAttribute('data-rendered-at-ms', String(renderedAt));
      const overrun = remaining <= 0;
      timerBox.classList.toggle('overrun', overrun);
      timerBox.classList.toggle('paused', timer.state.status === 'paused');
      timerBox.classList.toggle('running', timer.state.status === 'running');
      const status = timer.state.status === 'paused' ? 'Paused' : overrun ? 'Time is up' : 'Running';
      if (timerStatus.textContent !== status) timerStatus.textContent = status;
      const deadlineKey = timer.state.status === 'running' ? timer.state.deadline_ms : -2;
      if (overrun && deadlineKey !== announcedDeadline) {
        // Announce only a crossing seen on this page, not a timer that was already over at load.
        if (lastRemaining > 0 && lastRemaining !== Number.POSITIVE_INFINITY) {
          const speaker = currentSpeaker();
          announce(speaker ? `Time is up for ${nameOf(speaker)}.` : 'Time is up.');
        }
        announcedDeadline = deadlineKey;
      }
      lastRemaining = remaining;
    };
    setInterval(() => { if (element.isConnected) tick(); }, TIMER_TICK_MS);

    const drawTimerText = () => {
      const state = flow();
      const speaker = currentSpeaker();
      const subject = state?.timer?.subject;
      if (speaker) timerSpeaker.textContent = `${nameOf(speaker)}${speaker === store.myMemberId ? ' (you)' : ''} is speaking`;
      else if (subject?.kind === 'problem_phase') timerSpeaker.textContent = `Problem: ${subject.phase}`;
      else timerSpeaker.textContent = state?.round ? 'Round: nobody is speaking' : 'No round running';
      const nextSpeaker = state?.round?.speakers.find((s) => s.status === 'waiting');
      timerNext.textContent = state?.round ? (nextSpeaker ? `Next: ${nameOf(nextSpeaker.member_id)}` : 'Last speaker') : '';
      const timer = state?.timer;
      if (!timer) timerStatus.textContent = '';
      timerStatus.hidden = !timer;
    };

    const drawAgenda = () => {
      const state = flow();
      const facilitator = store.iAmFacilitator();
      const agenda = state?.agenda ?? [];
      agendaList.replaceChildren(...agenda.map((item) => {
        const buttons = facilitator ? [
          item.status !== 'current' && item.status !== 'done'
            ? h('button', { type: 'button', class: 'button secondary small', 'data-action': 'current', onclick: () => context.act({ type: 'set_current_agenda_item', item_id: item.item_id }, 'Could not mark the item current') }, 'Make current')
            : null,
          item.status !== 'done'
            ? h('button', { type: 'button', class: 'button secondary small', 'data-action': 'done', onclick: () => context.act({ type: 'mark_agenda_item_done', item_id: item.item_id }, 'Could not mark the item done') }, 'Done')
            : null,
        ] : [];
        return h('li', { class: `agenda-item ${item.status}`, 'data-item-id': String(item.item_id), 'aria-current': item.status === 'current' ? 'step' : null },
          h('span', { class: 'agenda-mark', 'aria-hidden': 'true' }, item.status === 'done' ? '✓' : item.status === 'current' ? '▶' : '·'),
          h('span', { class: 'agenda-title' }, item.title),
          h('span', { class: 'agenda-meta' }, `${KIND_LABELS[item.kind] ?? item.kind} · ${Math.round(item.time_box_ms / 60_000)} min`),
          item.status === 'current' ? h('span', { class: 'tag next' }, 'now') : null,
          item.status === 'done' ? h('span', { class: 'tag' }, 'done') : null,
          h('span', { class: 'agenda-actions' }, ...buttons));
      }));
      agendaEmpty.hidden = agenda.length > 0;
      const proposals = state?.proposals ?? [];
      proposalsList.replaceChildren(...proposals.map((proposal) => h('li', { class: 'proposal', 'data-proposal-id': String(proposal.proposal_id) },
        h('span', { class: 'agenda-title' }, proposal.item.title),
        h('span', { class: 'agenda-meta' }, `${KIND_LABELS[proposal.item.kind] ?? proposal.item.kind} · ${Math.round(proposal.item.time_box_ms / 60_000)} min · from ${nameOf(proposal.proposed_by)}`),
        facilitator ? h('span', { class: 'agenda-actions' },
          h('button', { type: 'button', class: 'button primary small', 'data-action': 'accept', onclick: () => context.act({ type: 'accept_proposal', proposal_id: proposal.proposal_id }, 'Could not accept the proposal') }, 'Accept'),
          h('button', { type: 'button', class: 'button secondary small', 'data-action': 'decline', onclick: () => context.act({ type: 'decline_proposal', proposal_id: proposal.proposal_id }, 'Could not decline the proposal') }, 'Decline'))
          : null)));
      proposalsBox.hidden = proposals.length === 0;
    };

    return {
      element,
      update() {
        const state = flow();
        const facilitator = store.iAmFacilitator();
        const role = store.me()?.role ?? '';
        if (state !== drawnState || state?.version !== drawnVersion || role !== drawnRole) {
          drawnState = state;
          drawnVersion = state?.version ?? -1;
          drawnRole = role;
          drawAgenda();
        }
        drawTimerText();
        const connected = context.isConnected() && !!state;
        controls.hidden = !facilitator;
        startRow.hidden = !!state?.round;
        for (const button of [pauseButton, extendButton, nextButton, skipButton, endButton]) button.hidden = !state?.round;
        pauseButton.textContent = state?.timer?.state.status === 'paused' ? 'Resume' : 'Pause';
        pauseButton.disabled = !connected || !state?.timer;
        extendButton.disabled = !connected || !state?.timer;
        for (const button of [startButton, nextButton, skipButton, endButton]) button.disabled = !connected;
        addForm.hidden = role === 'observer' || !state;
        addButton.textContent = facilitator ? 'Add item' : 'Propose item';
        addButton.disabled = !connected;
        tick();
      },
    };
  },
};
