// @ts-check
// The commitment board: what each member promised to do before a coming meeting, grouped by
// member with their completion rate and streak. Anyone adds their own; a facilitator may add
// one for a member. The owner or a facilitator reports the status with a note. Open
// commitments due at or before this meeting are highlighted, so the report back is obvious.
// While the meeting is upcoming, an owner's report back on their open commitment is prep: the
// server holds it until the start (features/prep), so the owner's own board says "Reported:
// …, shown at the start" and everyone else's board still shows it open.

import { patch, listen, formField } from '../../render.js';
import { h, busy } from '../../ui.js';
import { loadDrafts, saveDraft } from '../../drafts.js';
import { prepOf, heldReportBack } from '../prep/state.js';

/** @typedef {import('../../protocol').Commitment} Commitment */
/** @typedef {import('../../protocol').CommitmentStatus} CommitmentStatus */
/** @typedef {import('../../protocol').MemberAccountability} MemberAccountability */

/** @typedef {import('./state.js').CommitmentsState} CommitmentsState */

/** The statuses in the order the status menu offers them. */
export const COMMITMENT_STATUSES = /** @type {CommitmentStatus[]} */ (['open', 'done', 'partial', 'missed', 'dropped']);
/** The server's limits (PROTOCOL.md), so the form stops the person before the server refuses. */
export const COMMITMENT_TEXT_CHARS_MAX = 280;
export const COMMITMENT_NOTE_CHARS_MAX = 500;



/**
 * Whether an open commitment is late: due at an earlier meeting, or its date has passed.
 * @param {Commitment} commitment
 * @param {number} meetingNumber
 * @param {string} today `YYYY-MM-DD`
 */
export function isOverdue(commitment, meetingNumber, today) {
  if (commitment.status !== 'open') return false;
  return commitment.due_meeting < meetingNumber || (!!commitment.due_date && commitment.due_date < today);
}

/** @param {MemberAccountability | undefined} accountability */
function badges(accountability) {
  const rate = accountability?.completion_rate_percent;
  return h('span', { class: 'badges' },
    h('span', { class: 'badge rate', title: 'Completion rate over the last meetings (done 1, partial ½, missed 0)' },
      rate === null || rate === undefined ? 'no record yet' : `${Math.round(rate)}% done`),
    h('span', { class: 'badge streak', title: 'Meetings in a row with every commitment done' }, `streak ${accountability?.streak ?? 0}`));
}

/** @type {import('../index.js').Panel} */
export const commitmentsPanel = {
  id: 'commitments',
  view: 'commitments',
  mount(context) {
    const { store } = context;
    const textInput = h('input', { type: 'text', id: 'commitment-text', maxlength: COMMITMENT_TEXT_CHARS_MAX, placeholder: 'e.g. Call the three stalled leads', required: true });
    const dateInput = h('input', { type: 'date', id: 'commitment-date' });
    const ownerSelect = h('select', { id: 'commitment-owner', 'aria-label': 'For whom' });
    const ownerField = h('div', { class: 'field', hidden: true }, h('label', { for: 'commitment-owner' }, 'For'), ownerSelect);
    const addButton = h('button', { type: 'submit', class: 'button primary', id: 'commitment-add' }, 'Add commitment');
    const form = h('form', { class: 'inline-form', id: 'commitment-form' },
      h('div', { class: 'field grow' }, h('label', { for: 'commitment-text' }, 'I commit to…'), textInput),
      h('div', { class: 'field' }, h('label', { for: 'commitment-date' }, 'Due date (optional)'), dateInput),
      ownerField,
      h('div', { class: 'field end' }, addButton));
    const board = h('div', { class: 'commitment-board', id: 'commitment-board' });
    const empty = h('p', { class: 'empty', id: 'commitments-empty' }, 'No commitments yet. What will you do before next meeting?');
    const element = h('section', { class: 'panel', id: 'panel-commitments', 'aria-labelledby': 'commitments-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'commitments-title' }, 'Commitments')),
      form, board, empty);

    listen(form, 'submit', async (submitEvent) => {
      submitEvent.preventDefault();
      const text = textInput.value.trim();
      if (!text) return;
      /** @type {import('../../protocol').Request} */
      const request = { type: 'add_commitment', text };
      if (dateInput.value) request.due_date = dateInput.value;
      if (store.iAmFacilitator() && ownerSelect.value && ownerSelect.value !== store.myMemberId) request.owner = ownerSelect.value;
      const release = busy(addButton);
      const reply = await context.act(request, 'Could not add the commitment');
      release();
      // What was typed stays on failure, so nothing needs retyping.
      if (reply) {
        textInput.value = '';
        dateInput.value = '';
        // The next one is most likely the facilitator's own again.
        if (store.myMemberId) ownerSelect.value = store.myMemberId;
      }
    });

    // Status edits not saved yet, by commitment id: kept in this browser, so neither a redraw
    // nor a reload loses a status chosen or a note typed before Save.
    const draftsName = `commitments:${context.groupId}`;
    const drafts = {
      /** @param {number} id @returns {{ status: string, note: string } | undefined} */
      get: (id) => loadDrafts(draftsName)[id],
      /** @param {number} id @param {{ status: string, note: string }} value */
      set: (id, value) => saveDraft(draftsName, id, value),
      /** @param {number} id */
      delete: (id) => saveDraft(draftsName, id, null),
    };

    /**
     * One commitment, with the status editor when this person may change it.
     * @param {Commitment} commitment
     * @param {number} meetingNumber
     * @param {string} today
     */
    const renderItem = (commitment, meetingNumber, today) => {
      const overdue = isOverdue(commitment, meetingNumber, today);
      const dueNow = commitment.status === 'open' && commitment.due_meeting === meetingNumber;
      const mayEdit = commitment.owner === store.myMemberId || store.iAmFacilitator();
      const due = [`due meeting ${commitment.due_meeting}`, commitment.due_date ? `by ${commitment.due_date}` : null].filter(Boolean).join(', ');
      const item = h('li', {
        class: `commitment status-${commitment.status}${overdue ? ' overdue' : ''}${dueNow ? ' due-now' : ''}`,
        'data-commitment-id': commitment.commitment_id, 'data-status': commitment.status,
      },
      h('div', { class: 'commitment-main' },
        h('span', { class: 'commitment-text' }, commitment.text),
        h('span', { class: `tag status`, 'data-status': commitment.status }, commitment.status),
        overdue ? h('span', { class: 'tag overdue-tag' }, 'overdue') : dueNow ? h('span', { class: 'tag due-tag' }, 'due today') : null),
      h('div', { class: 'commitment-meta' }, due,
        commitment.source.kind === 'facilitator' ? ' · set by the facilitator' : '',
        commitment.note ? h('span', { class: 'commitment-note' }, ` · “${commitment.note}”`) : null));
      // The viewer's own report back, held until the meeting starts.
      const held = heldReportBack(prepOf(store.state), commitment.commitment_id);
      if (held) {
        item.classList.add('report-held');
        item.append(h('p', { class: 'commitment-held', id: `commitment-${commitment.commitment_id}-held` },
          h('span', { class: 'tag held-tag' }, 'reported'),
          ` ${held.status}${held.note ? `, “${held.note}”` : ''}: only you see this until the meeting starts, then it goes to the board.`));
      }
      if (mayEdit) {
        const id = `commitment-${commitment.commitment_id}`;
        const draft = drafts.get(commitment.commitment_id);
        const shownStatus = draft?.status ?? held?.status ?? commitment.status;
        const statusSelect = h('select', { id: `${id}-status`, name: 'status', class: 'status-select', 'aria-label': `Status of “${commitment.text}”` },
          ...COMMITMENT_STATUSES.map((status) => h('option', { value: status, selected: status === shownStatus }, status)));
        const noteInput = h('input', { type: 'text', id: `${id}-note`, name: 'note', class: 'note-input', maxlength: COMMITMENT_NOTE_CHARS_MAX, placeholder: 'Note (optional)', 'aria-label': `Note on “${commitment.text}”`, value: draft?.note ?? held?.note ?? commitment.note });
        // An edit in progress survives redraws caused by others' changes. The handlers read the
        // fields on the page, through the event's form.
        /** @param {Event} event */
        const keepDraft = (event) => drafts.set(commitment.commitment_id, {
          status: formField(event, 'status').value, note: formField(event, 'note').value,
        });
        /** @param {Event} submitEvent */
        const save = async (submitEvent) => {
          submitEvent.preventDefault();
          const status = formField(submitEvent, 'status').value;
          const note = formField(submitEvent, 'note').value.trim();
          const saveButton = /** @type {HTMLFormElement} */ (submitEvent.currentTarget).querySelector('button');
          const release = saveButton ? busy(saveButton) : () => {};
          const reply = await context.act({
            type: 'update_commitment', commitment_id: commitment.commitment_id,
            status: /** @type {CommitmentStatus} */ (status), note,
          }, 'Could not update the commitment');
          release();
          if (reply) {
            drafts.delete(commitment.commitment_id);
            drawnKey = '';
            draw();
          }
        };
        const saveButton = h('button', { type: 'submit', class: 'button secondary small' }, 'Save');
        item.append(h('form', { class: 'commitment-editor', onsubmit: save, onchange: keepDraft, oninput: keepDraft }, statusSelect, noteInput, saveButton));
      }
      return item;
    };

    /** @type {unknown} */
    let drawnState = null;
    let drawnKey = '';
    function draw() {
      const state = store.state;
      const own = /** @type {CommitmentsState | undefined} */ (state?.features.commitments);
      const facilitator = store.iAmFacilitator();
      if (!state || !own) return;
      // Redraw only when the board, the people or this person's powers changed, so a note
      // being typed is not wiped by someone raising a hand.
      const held = prepOf(state)?.open ? prepOf(state)?.mine.report_backs ?? [] : [];
      const key = `${state.meeting.meeting_id}|${facilitator}|${state.members.map((member) => member.member_id + member.display_name).join(',')}|${JSON.stringify(held)}`;
      if (drawnState === own && drawnKey === key) return;
      drawnState = own;
      drawnKey = key;

      const chosenOwner = ownerSelect.value;
      patch(ownerSelect, () => state.members.filter((member) => member.role !== 'observer').map((member) =>
        h('option', { value: member.member_id }, member.member_id === store.myMemberId ? `${member.display_name} (you)` : member.display_name)));
      ownerSelect.value = chosenOwner || store.myMemberId || '';

      const today = new Date().toISOString().slice(0, 10);
      const meetingNumber = state.meeting.number;
      /** @type {Map<string, Commitment[]>} */
      const byOwner = new Map();
      for (const commitment of own.commitments) {
        const list = byOwner.get(commitment.owner) ?? [];
        list.push(commitment);
        byOwner.set(commitment.owner, list);
      }
      // Members in the room's order, me first; owners no longer in the group last.
      const order = [...state.members.map((member) => member.member_id)].sort((a, b) => Number(b === store.myMemberId) - Number(a === store.myMemberId));
      for (const owner of byOwner.keys()) if (!order.includes(owner)) order.push(owner);
      const focusedId = board.contains(document.activeElement) ? document.activeElement?.id : null;
      patch(board, () => order.filter((owner) => byOwner.has(owner)).map((owner) => {
        const member = store.member(owner);
        const items = (byOwner.get(owner) ?? []).slice().sort((a, b) =>
          Number(b.status === 'open') - Number(a.status === 'open') || a.due_meeting - b.due_meeting || a.commitment_id - b.commitment_id);
        return h('section', { class: 'commitment-owner', 'data-member-id': owner },
          h('h3', { class: 'owner-head' },
            h('span', { class: 'owner-name' }, member?.display_name ?? 'A former member', owner === store.myMemberId ? ' (you)' : ''),
            badges(own.accountability[owner])),
          h('ul', { class: 'commitment-list' }, ...items.map((commitment) => renderItem(commitment, meetingNumber, today))));
      }));
      empty.hidden = own.commitments.length > 0;
      // Keep the focus where the person was, on the redrawn copy of the same control.
      if (focusedId) document.getElementById(focusedId)?.focus();
    }

    return {
      element,
      update() {
        addButton.disabled = !context.isConnected() || !store.state;
        ownerField.hidden = !store.iAmFacilitator();
        draw();
      },
    };
  },
};
