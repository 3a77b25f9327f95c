// @ts-check
// The agenda and the big timer: what everyone looks at. The agenda lists the items with the
// current one highlighted and finished ones marked; a facilitator adds items, edits them
// inline (title, kind, time box, owner), removes them (after a confirmation), moves them up
// or down (buttons, so the keyboard works), marks one current or done, accepts or declines
// members' proposals and saves the agenda as the group's template; members propose items.
// The round's speaking order and the talk times (round.js) and bring-a-problem (problem.js)
// are drawn in this panel too, from the same flow state.
//
// The timer is the server's: `timer_set` says when it starts, pauses, resumes, is extended or
// stops, and the page computes the remaining time itself every 100 ms as
// `deadline_ms - serverNow()` while running (`remaining_ms` while paused), with the measured
// server clock, so every page shows the same time. Past the deadline it shows the overrun in
// red ("+0:12 over") and announces time-up once. A facilitator runs rounds from here, also
// with the keyboard: Space pauses or resumes, N next speaker, S skip, + one more minute.
// Speaker changes are announced in the live region ("Now speaking: Ann. Next: Bob."), and
// each person may turn on a soft tone at time-up (sound.js; off by default).

import { flowOf } from './state.js';
import { remainingMs, formatRemaining, draftProblem, KIND_LABELS, ROUND_MINUTES_DEFAULT, EXTEND_MS, TIMER_TICK_MS, AGENDA_TITLE_CHARS_MAX, TIME_BOX_MINUTES_MAX } from './time.js';

export { draftProblem, formatRemaining, remainingMs, KIND_LABELS };
import { patch, listen } from '../../render.js';
import { h, announce, confirmDialog, busy } from '../../ui.js';
import { mountRound, moveButtons, moved, keepFocus } from './round.js';
import { mountProblem, phaseLabel } from './problem.js';
import { mayReplaceTimer } from './guard.js';
import { plural } from '../../format.js';
import { playTimeUpTone, setTimeUpSound, soundWanted } from '../../sound.js';

/** @typedef {import('../../protocol').FlowInfo} FlowInfo */
/** @typedef {import('../../protocol').AgendaItem} AgendaItem */
/** @typedef {import('../../protocol').AgendaItemKind} AgendaItemKind */
/** @typedef {import('../../protocol').Proposal} Proposal */
/** @typedef {import('../../protocol').RoundInfo} RoundInfo */
/** @typedef {import('../../protocol').TimerInfo} TimerInfo */
/** @typedef {import('../../protocol').FloorInfo} FloorInfo */
/** @typedef {import('../../protocol').TalkTime} TalkTime */
/** @typedef {import('../../protocol').MemberId} MemberId */
/** @typedef {import('../../protocol').TemplateItem} TemplateItem */

/** @typedef {import('./state.js').FlowState} FlowState */

/**
 * Whether the agenda, as a template, is the saved template.
 * @param {AgendaItem[]} agenda
 * @param {TemplateItem[]} template
 */
function matchesTemplate(agenda, template) {
  return agenda.length === template.length && agenda.every((item, index) => {
    const saved = template[index];
    return item.title === saved.title && item.kind === saved.kind && item.time_box_ms === saved.time_box_ms
      && (item.notes ?? '') === (saved.notes ?? '');
  });
}

/** @param {number} ms A time box as minutes for a field (whole when it is whole). */
function minutesOf(ms) {
  return String(Math.round((ms / 60_000) * 100) / 100);
}



/** @param {EventTarget | null} target Whether a key press there is typing. */
function isTyping(target) {
  const element = /** @type {HTMLElement | null} */ (target);
  return !!element && (element.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(element.tagName));
}

/** @type {import('../index.js').Panel} */
export const agendaPanel = {
  id: 'agenda',
  view: 'agenda',
  mount(context) {
    const { store } = context;
    /** @returns {FlowState | null} */
    const flow = () => (store.state ? flowOf(store.state) : null);
    // Someone no longer in the group (removed, or left with their data erased) is named as the
    // minutes name them.
    const nameOf = (/** @type {MemberId} */ id) => store.member(id)?.display_name ?? 'A former member';
    const serverNow = () => context.connection.clock.serverNow();
    const round = mountRound({ context, flow, nameOf });
    const problem = mountProblem({ context, flow, nameOf });

    // --- the timer -------------------------------------------------------------------------
    const timerDisplay = h('div', { class: 'timer-display', id: 'timer-display', role: 'timer', 'aria-live': 'off', 'aria-labelledby': 'timer-speaker' }, '–:––');
    const timerSpeaker = h('p', { class: 'timer-speaker', id: 'timer-speaker' });
    const timerNext = h('p', { class: 'timer-next hint', id: 'timer-next' });
    const timerStatus = h('span', { class: 'tag timer-status', id: 'timer-status' });
    const soundToggle = h('input', { type: 'checkbox', id: 'time-up-sound', checked: soundWanted() });
    listen(soundToggle, 'change', () => {
      setTimeUpSound(soundToggle.checked);
      announce(soundToggle.checked ? 'A soft tone plays when time is up.' : 'No tone at time-up.');
    });
    const soundLabel = h('label', { class: 'sound-toggle', for: 'time-up-sound' }, soundToggle, 'Tone at time-up');

    const minutesInput = h('input', { type: 'number', id: 'round-minutes', min: '0.05', max: '240', step: 'any', value: String(ROUND_MINUTES_DEFAULT), class: 'round-minutes' });
    const startButton = h('button', { type: 'button', class: 'button primary', id: 'timer-start' }, 'Start round');
    const pauseButton = h('button', { type: 'button', class: 'button secondary', id: 'timer-pause', 'aria-keyshortcuts': 'Space' }, 'Pause');
    const extendButton = h('button', { type: 'button', class: 'button secondary', id: 'timer-extend', 'aria-keyshortcuts': '+' }, '+1 min');
    const nextButton = h('button', { type: 'button', class: 'button secondary', id: 'timer-next-button', 'aria-keyshortcuts': 'N' }, 'Next');
    const skipButton = h('button', { type: 'button', class: 'button secondary', id: 'timer-skip', 'aria-keyshortcuts': 'S' }, 'Skip');
    const endButton = h('button', { type: 'button', class: 'button secondary', id: 'timer-end' }, 'End round');
    const startRow = h('div', { class: 'timer-start-row' },
      h('label', { for: 'round-minutes' }, 'Minutes per speaker'), minutesInput, startButton);
    const planRow = h('div', { class: 'timer-plan-row' }, round.planner);
    const controls = h('div', { class: 'timer-controls', id: 'timer-controls' },
      startRow, planRow,
      h('div', { class: 'timer-buttons' }, pauseButton, extendButton, nextButton, skipButton, endButton),
      h('p', { class: 'hint' }, 'Keys: Space pause or resume, N next, S skip, + one more minute.'));

    const timerBox = h('div', { class: 'timer-box', id: 'timer-box' },
      h('div', { class: 'timer-head' }, timerSpeaker, h('span', { class: 'timer-tools' }, timerStatus, soundLabel)),
      timerDisplay, timerNext, controls);

    // --- the agenda ------------------------------------------------------------------------
    const agendaList = h('ol', { class: 'agenda-list', id: 'agenda-list', 'aria-labelledby': 'agenda-title' });
    const agendaEmpty = h('p', { class: 'empty', id: 'agenda-empty' }, 'No agenda items yet.');
    const titleInput = h('input', { type: 'text', id: 'agenda-item-title', required: true, 'aria-describedby': 'agenda-form-error' });
    const kindSelect = h('select', { id: 'agenda-item-kind' },
      ...Object.entries(KIND_LABELS).map(([kind, label]) => h('option', { value: kind, selected: kind === 'discussion' }, label)));
    const itemMinutes = h('input', { type: 'number', id: 'agenda-item-minutes', min: '1', max: String(TIME_BOX_MINUTES_MAX), step: '1', value: '10' });
    const addButton = h('button', { type: 'submit', class: 'button primary', id: 'agenda-add' }, 'Add item');
    const addError = h('p', { class: 'form-error', id: 'agenda-form-error', role: 'alert', hidden: true });
    const addForm = h('form', { class: 'inline-form agenda-form', id: 'agenda-form', novalidate: true },
      h('div', { class: 'field grow' }, h('label', { for: 'agenda-item-title' }, 'Item title'), titleInput),
      h('div', { class: 'field' }, h('label', { for: 'agenda-item-kind' }, 'Kind'), kindSelect),
      h('div', { class: 'field' }, h('label', { for: 'agenda-item-minutes' }, 'Minutes'), itemMinutes),
      h('div', { class: 'field end' }, addButton),
      addError);
    const proposalsTitle = h('h3', { id: 'proposals-title' }, 'Proposed items');
    const proposalsList = h('ul', { class: 'proposal-list', id: 'proposal-list', 'aria-labelledby': 'proposals-title' });
    const proposalsBox = h('div', { class: 'proposals', id: 'agenda-proposals' }, proposalsTitle, proposalsList);
    const templateButton = h('button', { type: 'button', class: 'button secondary small', id: 'agenda-save-template' }, 'Save agenda as template');
    const templateState = h('span', { class: 'hint', id: 'agenda-template-state' });
    const templateRow = h('div', { class: 'template-row', id: 'agenda-template' }, templateButton, templateState);

    const element = h('section', { class: 'panel panel-agenda', id: 'panel-agenda', 'aria-labelledby': 'agenda-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'agenda-title', tabindex: '-1' }, 'Agenda')),
      agendaList, agendaEmpty, templateRow, proposalsBox, addForm);
    // The round's stage: the big timer with the facilitator's controls beside the speaking
    // order, then the talk times.
    const timerSection = h('section', { class: 'panel panel-timer', id: 'panel-timer', 'aria-labelledby': 'timer-title' },
      h('h2', { id: 'timer-title', class: 'visually-hidden', tabindex: '-1' }, 'Round and timer'),
      h('div', { class: 'timer-grid' }, timerBox, round.roundBox),
      round.talkBox);

    // --- requests --------------------------------------------------------------------------
    const startRound = async () => {
      const minutes = Number(minutesInput.value);
      if (!(minutes > 0)) { minutesInput.focus(); return; }
      if (!await mayReplaceTimer(context, { kind: 'round' }, 'Start round')) return;
      const current = flow()?.agenda.find((item) => item.status === 'current');
      const reply = await context.act({
        type: 'start_round', speaker_time_box_ms: Math.round(minutes * 60_000), auto_advance: false,
        speakers: round.plannedSpeakers(),
        item_id: current && current.kind === 'round' ? current.item_id : null,
      }, 'Could not start the round');
      if (reply) {
        round.clearPlan();
        // The start row is gone now; the focus goes to the round's first control.
        pauseButton.focus();
      }
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
    listen(startButton, 'click', startRound);
    listen(pauseButton, 'click', togglePause);
    listen(extendButton, 'click', extend);
    listen(nextButton, 'click', next);
    listen(skipButton, 'click', skip);
    listen(endButton, 'click', () => context.act({ type: 'end_round' }, 'Could not end the round'));

    /** @param {HTMLElement} errorElement @param {HTMLElement} field @param {string} message */
    const showError = (errorElement, field, message) => {
      errorElement.textContent = message;
      errorElement.hidden = !message;
      field.setAttribute('aria-invalid', String(!!message));
    };

    listen(addForm, 'submit', async (submitEvent) => {
      submitEvent.preventDefault();
      const title = titleInput.value.trim();
      const minutes = Number(itemMinutes.value);
      const wrong = draftProblem(title, minutes);
      showError(addError, titleInput, wrong);
      if (wrong) {
        (title && [...title].length <= AGENDA_TITLE_CHARS_MAX ? itemMinutes : titleInput).focus();
        return;
      }
      const item = { title, kind: /** @type {AgendaItemKind} */ (kindSelect.value), time_box_ms: Math.round(minutes * 60_000) };
      const release = busy(addButton);
      const reply = store.iAmFacilitator()
        ? await context.act({ type: 'add_agenda_item', item }, 'Could not add the item')
        : await context.act({ type: 'propose_agenda_item', item }, 'Could not propose the item');
      release();
      if (reply) {
        titleInput.value = '';
        if (!store.iAmFacilitator()) announce('Your item was proposed to the facilitator.');
      }
    });
    listen(titleInput, 'input', () => { if (!addError.hidden) showError(addError, titleInput, ''); });

    listen(templateButton, 'click', async () => {
      templateButton.disabled = true;
      const reply = await context.act({ type: 'save_agenda_as_template' }, 'Could not save the template');
      drawAgenda();
      // Saved, the button stays disabled (nothing to save): the focus goes to the agenda.
      if (document.activeElement === document.body || !document.activeElement) /** @type {HTMLElement | null} */ (element.querySelector('#agenda-title'))?.focus();
      if (reply) announce('The agenda is saved as the group\'s template for the next meetings.');
    });

    // --- editing an item in place ----------------------------------------------------------
    /**
     * The item being edited and its form, kept across redraws so what was typed stays.
     * @type {{ itemId: number, form: HTMLFormElement } | null}
     */
    let editing = null;

    /** @param {AgendaItem} item */
    const editForm = (item) => {
      const id = (/** @type {string} */ name) => `agenda-edit-${name}`;
      const title = h('input', { type: 'text', id: id('title'), value: item.title, required: true, 'aria-describedby': id('error') });
      const kind = h('select', { id: id('kind') },
        ...Object.entries(KIND_LABELS).map(([value, label]) => h('option', { value, selected: value === item.kind }, label)));
      const minutes = h('input', { type: 'number', id: id('minutes'), min: '1', max: String(TIME_BOX_MINUTES_MAX), step: 'any', value: minutesOf(item.time_box_ms) });
      const owner = h('select', { id: id('owner') },
        h('option', { value: '' }, 'Nobody'),
        ...(store.state?.members ?? []).map((member) => h('option', { value: member.member_id, selected: member.member_id === item.owner }, member.display_name)));
      const error = h('p', { class: 'form-error', id: id('error'), role: 'alert', hidden: true });
      const save = h('button', { type: 'submit', class: 'button primary small', 'data-action': 'save' }, 'Save');
      const cancel = h('button', { type: 'button', class: 'button secondary small', 'data-action': 'cancel' }, 'Cancel');
      const remove = h('button', { type: 'button', class: 'button danger small', 'data-action': 'remove' }, 'Remove item');
      const form = h('form', { class: 'agenda-edit', novalidate: true, 'aria-label': `Edit ${item.title}` },
        h('div', { class: 'field grow' }, h('label', { for: id('title') }, 'Title'), title),
        h('div', { class: 'field' }, h('label', { for: id('kind') }, 'Kind'), kind),
        h('div', { class: 'field' }, h('label', { for: id('minutes') }, 'Minutes'), minutes),
        h('div', { class: 'field' }, h('label', { for: id('owner') }, item.kind === 'problem' ? 'Owner (presents)' : 'Owner'), owner),
        error,
        h('div', { class: 'actions' }, save, cancel, remove));
      const close = () => {
        editing = null;
        drawAgenda();
        /** @type {HTMLElement | null} */ (agendaList.querySelector(`[data-item-id="${item.item_id}"] [data-action="edit"]`))?.focus();
      };
      listen(form, 'submit', async (submitEvent) => {
        submitEvent.preventDefault();
        const typedTitle = title.value.trim();
        const typedMinutes = Number(minutes.value);
        const wrong = draftProblem(typedTitle, typedMinutes);
        showError(error, title, wrong);
        if (wrong) { (typedTitle && [...typedTitle].length <= AGENDA_TITLE_CHARS_MAX ? minutes : title).focus(); return; }
        const latest = flow()?.agenda.find((candidate) => candidate.item_id === item.item_id);
        const release = busy(save);
        try {
          await context.connection.request({
            type: 'edit_agenda_item', item_id: item.item_id,
            item: {
              title: typedTitle, kind: /** @type {AgendaItemKind} */ (kind.value), time_box_ms: Math.round(typedMinutes * 60_000),
              owner: owner.value || null, notes: latest?.notes ?? item.notes ?? '',
            },
          });
          announce(`Saved ${typedTitle}.`);
          close();
        } catch (failure) {
          showError(error, title, `Could not save: ${failure instanceof Error ? failure.message : String(failure)}.`);
        } finally {
          release();
        }
      });
      listen(title, 'input', () => { if (!error.hidden) showError(error, title, ''); });
      listen(cancel, 'click', close);
      listen(form, 'keydown', (keyEvent) => {
        if (keyEvent.key === 'Escape') { keyEvent.preventDefault(); close(); }
      });
      listen(remove, 'click', async () => {
        const notes = flow()?.agenda.find((candidate) => candidate.item_id === item.item_id)?.notes?.trim() ?? '';
        const confirmed = await confirmDialog('Remove this agenda item?', notes
          ? `"${item.title}" leaves the agenda for everyone, with its notes (${plural([...notes].length, 'character')}); they cannot be restored.`
          : `"${item.title}" leaves the agenda for everyone. Add it again if you change your mind.`, 'Remove item', 'Keep the item');
        if (!confirmed) { remove.focus(); return; }
        const reply = await context.act({ type: 'remove_agenda_item', item_id: item.item_id }, 'Could not remove the item');
        if (reply) {
          announce(`Removed ${item.title} from the agenda.`);
          editing = null;
          drawAgenda();
          /** @type {HTMLElement | null} */ (agendaList.querySelector('[data-action="edit"]') ?? titleInput)?.focus();
        } else {
          remove.focus();
        }
      });
      return form;
    };

    /** @param {number} index @param {number} delta */
    const moveItem = async (index, delta) => {
      const ids = (flow()?.agenda ?? []).map((item) => item.item_id);
      const order = moved(ids, index, delta);
      if (order === ids) return;
      await context.act({ type: 'reorder_agenda', order }, 'Could not move the item');
    };

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
        if (target && (target.tagName === 'BUTTON' || target.tagName === 'A' || target.tagName === 'SUMMARY')) return;
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
    /** @type {unknown} */
    let drawnState = null;
    let drawnRole = '';
    let drawnMembers = '';
    let drawnConnected = false;
    /** @type {string} The meeting's phase the agenda was drawn for. */
    let drawnPhase = '';
    /** The deadline whose time-up this page announced (or found already past), so once only. */
    let announcedDeadline = -1;
    let lastRemaining = Number.POSITIVE_INFINITY;
    /** Who had the floor at the last update, to announce changes; undefined before the first. */
    /** @type {MemberId | null | undefined} */
    let announcedSpeaker;

    /** @returns {MemberId | null} */
    const currentSpeaker = () => {
      const state = flow();
      if (!state) return null;
      const subject = state.timer?.subject;
      if (subject && (subject.kind === 'round_speaker' || subject.kind === 'called_speaker')) return subject.member_id;
      const speaking = state.round?.speakers.find((s) => s.status === 'speaking');
      return speaking?.member_id ?? state.floor?.member_id ?? null;
    };
    /** @returns {MemberId | null} The first waiting round speaker. */
    const nextSpeaker = () => flow()?.round?.speakers.find((s) => s.status === 'waiting')?.member_id ?? null;

    const tick = () => {
      const state = flow();
      const timer = state?.timer ?? null;
      if (!timer) {
        timerDisplay.textContent = '–:––';
        timerDisplay.removeAttribute('data-remaining-ms');
        timerDisplay.removeAttribute('data-rendered-at-ms');
        timerBox.classList.remove('overrun', 'paused', 'running');
        timerBox.classList.add('idle');
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
      timerBox.classList.remove('idle');
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
          playTimeUpTone();
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
      else if (subject?.kind === 'problem_phase') {
        const item = state?.agenda.find((candidate) => candidate.item_id === subject.item_id);
        timerSpeaker.textContent = `${phaseLabel(subject.phase)}${item ? `: ${item.title}` : ''}`;
      } else {
        const current = state?.agenda.find((candidate) => candidate.status === 'current');
        timerSpeaker.textContent = state?.round ? 'Round: nobody is speaking'
          // A discussion has no round: people raise their hands (the queue beside it).
          : current?.kind === 'discussion' ? `${current.title}: raise your hand to speak`
            : current?.kind === 'round' && !store.iAmFacilitator() ? 'The round starts when the facilitator starts it' : 'No round running';
      }
      const upNext = nextSpeaker();
      timerNext.textContent = state?.round ? (upNext ? `Next: ${nameOf(upNext)}` : 'Last speaker') : '';
      const timer = state?.timer;
      if (!timer) timerStatus.textContent = '';
      timerStatus.hidden = !timer;
    };

    /** Says who has the floor now and who is next, when that changed (not at the first draw). */
    const announceSpeaker = () => {
      if (!flow()) return;
      const speaker = currentSpeaker();
      if (announcedSpeaker !== undefined && speaker !== announcedSpeaker && speaker) {
        const upNext = flow()?.round ? nextSpeaker() : null;
        const who = speaker === store.myMemberId ? `${nameOf(speaker)} (you)` : nameOf(speaker);
        announce(`Now speaking: ${who}.${flow()?.round ? (upNext ? ` Next: ${nameOf(upNext)}.` : ' Last speaker.') : ''}`);
      }
      announcedSpeaker = speaker;
    };

    const drawAgenda = () => {
      const state = flow();
      const facilitator = store.iAmFacilitator();
      const connected = context.isConnected();
      // Moving through the agenda is running the meeting: not before it starts.
      const live = store.state?.meeting.phase !== 'upcoming';
      const agenda = state?.agenda ?? [];
      if (editing && !agenda.some((item) => item.item_id === editing?.itemId)) editing = null;
      if (!facilitator) editing = null;
      const restore = keepFocus(agendaList);
      patch(agendaList, () => agenda.map((item, index) => {
        const isEditing = editing?.itemId === item.item_id;
        const buttons = facilitator ? [
          live && item.status !== 'current' && item.status !== 'done'
            ? h('button', { type: 'button', class: 'button secondary small', 'data-action': 'current', disabled: !connected, onclick: () => context.act({ type: 'set_current_agenda_item', item_id: item.item_id }, 'Could not mark the item current') }, 'Make current')
            : null,
          live && item.status !== 'done'
            ? h('button', { type: 'button', class: 'button secondary small', 'data-action': 'done', disabled: !connected, onclick: () => context.act({ type: 'mark_agenda_item_done', item_id: item.item_id }, 'Could not mark the item done') }, 'Done')
            : null,
          h('button', {
            type: 'button', class: 'button secondary small', 'data-action': 'edit', 'aria-expanded': String(isEditing), disabled: isEditing,
            'aria-label': `Edit ${item.title}`,
            onclick: () => {
              editing = { itemId: item.item_id, form: editForm(item) };
              drawAgenda();
              /** @type {HTMLInputElement | null} */ (editing?.form.querySelector('input[type="text"]') ?? null)?.focus();
            },
          }, 'Edit'),
          moveButtons(item.title, index === 0 || !connected, index === agenda.length - 1 || !connected, (delta) => moveItem(index, delta)),
        ] : [];
        const owner = item.owner ? store.member(item.owner)?.display_name : null;
        return h('li', { class: `agenda-item ${item.status}${isEditing ? ' editing' : ''}`, 'data-item-id': String(item.item_id), 'data-key': String(item.item_id), 'aria-current': item.status === 'current' ? 'step' : null },
          h('span', { class: 'agenda-mark', 'aria-hidden': 'true' }, item.status === 'done' ? '✓' : item.status === 'current' ? '▶' : '·'),
          h('span', { class: 'agenda-main' },
            h('span', { class: 'agenda-title' }, item.title),
            // The kind only when the title does not say it already ("Report back").
            h('span', { class: 'agenda-meta' }, `${(KIND_LABELS[item.kind] ?? item.kind) === item.title ? '' : `${KIND_LABELS[item.kind] ?? item.kind} · `}${minutesOf(item.time_box_ms)} min${owner ? ` · ${owner}` : ''}`),
            item.status === 'current' ? h('span', { class: 'tag next' }, 'now') : null,
            item.status === 'done' ? h('span', { class: 'tag' }, 'done') : null),
          facilitator ? h('span', { class: 'agenda-actions' }, ...buttons) : null,
          isEditing && editing ? editing.form : null);
      }));
      restore();
      agendaEmpty.hidden = agenda.length > 0;
      templateRow.hidden = !facilitator || !state;
      const saved = !!state && matchesTemplate(agenda, state.template);
      templateState.textContent = saved ? 'Next meetings start from this agenda.' : 'Next meetings start from the saved template, not this agenda.';
      templateButton.disabled = !connected || saved;
      const proposals = state?.proposals ?? [];
      patch(proposalsList, () => proposals.map((proposal) => h('li', { class: 'proposal', 'data-proposal-id': String(proposal.proposal_id) },
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
      more: { timer: timerSection, problem: problem.element },
      update() {
        const state = flow();
        const facilitator = store.iAmFacilitator();
        const role = store.me()?.role ?? '';
        const connected = context.isConnected() && !!state;
        const members = (store.state?.members ?? []).map((m) => `${m.member_id}:${m.display_name}:${m.role}:${m.online}`).join('|');
        const phase = store.state?.meeting.phase ?? '';
        const changed = state !== drawnState || role !== drawnRole
          || members !== drawnMembers || connected !== drawnConnected || phase !== drawnPhase;
        if (changed) {
          drawnPhase = phase;
          drawnState = state;
          drawnRole = role;
          drawnMembers = members;
          drawnConnected = connected;
          drawAgenda();
        }
        round.update(changed);
        problem.update(changed);
        drawTimerText();
        announceSpeaker();
        controls.hidden = !facilitator;
        startRow.hidden = !!state?.round;
        planRow.hidden = !!state?.round;
        // Pause and +1 min work on any timer (a round, a called speaker, a problem's phase).
        pauseButton.hidden = !state?.timer && !state?.round;
        extendButton.hidden = !state?.timer && !state?.round;
        for (const button of [nextButton, skipButton, endButton]) button.hidden = !state?.round;
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
