// @ts-check
// The report back: last meeting's commitments that are due now, each reported in one action
// (Done, Partial or Missed, with an optional note typed first). What is typed is kept in this
// browser (drafts.js) until the server confirms, so a reload or a dropped connection loses
// nothing. The owner reports their own; a facilitator may report for anyone.

import { h, announce } from '../../ui.js';
import { patch } from '../../render.js';
import { loadDrafts, saveDraft } from '../../drafts.js';
import { reportBackList } from './state.js';
import { COMMITMENT_NOTE_CHARS_MAX } from './view.js';
import { formatDay } from '../../format.js';

/** @typedef {import('../../protocol').Commitment} Commitment */
/** @typedef {import('../../protocol').CommitmentStatus} CommitmentStatus */
/** @typedef {import('./state.js').CommitmentsState} CommitmentsState */

/** The one-action choices, in order. */
const CHOICES = /** @type {{ status: CommitmentStatus, label: string }[]} */ ([
  { status: 'done', label: 'Done' },
  { status: 'partial', label: 'Partial' },
  { status: 'missed', label: 'Missed' },
]);

/** @type {import('../index.js').Panel} */
export const reportBackPanel = {
  id: 'reportback',
  view: 'reportback',
  mount(context) {
    const { store, groupId } = context;
    const draftsName = `reportback:${groupId}`;
    const list = h('div', { class: 'report-list', id: 'report-list' });
    const summary = h('p', { class: 'hint', id: 'report-summary' });
    const element = h('section', { class: 'panel', id: 'panel-reportback', 'aria-labelledby': 'reportback-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'reportback-title', tabindex: '-1' }, 'Report back'), summary),
      list);

    /**
     * @param {Commitment} commitment
     * @param {CommitmentStatus} status
     */
    const report = async (commitment, status) => {
      const note = String(loadDrafts(draftsName)[commitment.commitment_id] ?? '').trim();
      const reply = await context.act({ type: 'update_commitment', commitment_id: commitment.commitment_id, status, note }, 'Could not report the commitment');
      if (reply) {
        saveDraft(draftsName, commitment.commitment_id, null);
        announce(`Reported ${status}: ${commitment.text}.`);
      }
    };

    /** @type {unknown} */
    let drawn = null;
    let drawnKey = '';
    const draw = () => {
      const state = store.state;
      const own = /** @type {CommitmentsState | undefined} */ (state?.features.commitments);
      if (!state || !own) return;
      const facilitator = store.iAmFacilitator();
      const connected = context.isConnected();
      const key = `${facilitator}|${connected}|${state.members.map((member) => member.member_id + member.display_name).join(',')}`;
      if (drawn === own && drawnKey === key) return;
      drawn = own;
      drawnKey = key;
      const due = reportBackList(own, state.meeting);
      const open = due.filter((commitment) => commitment.status === 'open').length;
      summary.textContent = due.length ? `${open} of ${due.length} still to report` : '';
      const drafts = loadDrafts(draftsName);
      const owners = [...new Set([...state.members.map((member) => member.member_id), ...due.map((commitment) => commitment.owner)])]
        .filter((owner) => due.some((commitment) => commitment.owner === owner));
      patch(list, () => due.length === 0
        ? [h('p', { class: 'empty', id: 'report-empty' }, 'Nothing to report: no commitments from earlier meetings are due.')]
        : owners.map((owner) => h('section', { class: 'report-owner', 'data-key': `owner-${owner}`, 'aria-labelledby': `report-owner-${owner}` },
          h('h3', { id: `report-owner-${owner}` }, `${store.member(owner)?.display_name ?? 'A former member'}${owner === store.myMemberId ? ' (you)' : ''}`),
          h('ul', { class: 'report-items' }, ...due.filter((commitment) => commitment.owner === owner).map((commitment) => {
            const id = `report-${commitment.commitment_id}`;
            const mayReport = facilitator || owner === store.myMemberId;
            const note = h('input', {
              type: 'text', id: `${id}-note`, class: 'note-input', maxlength: COMMITMENT_NOTE_CHARS_MAX,
              'aria-label': `Note on “${commitment.text}” (optional)`, placeholder: 'Note (optional)',
              value: drafts[commitment.commitment_id] ?? (commitment.status === 'open' ? '' : commitment.note),
              oninput: (/** @type {Event} */ event) => saveDraft(draftsName, commitment.commitment_id, /** @type {HTMLInputElement} */ (event.currentTarget).value),
            });
            return h('li', { class: `report-item status-${commitment.status}`, 'data-key': String(commitment.commitment_id), 'data-commitment-id': String(commitment.commitment_id), 'data-status': commitment.status },
              h('div', { class: 'report-text' },
                h('span', { class: 'commitment-text' }, commitment.text),
                h('span', { class: 'hint' }, ` · due meeting ${commitment.due_meeting}${commitment.due_date ? `, ${formatDay(commitment.due_date)}` : ''}`),
                commitment.status !== 'open' ? h('span', { class: 'tag status', 'data-status': commitment.status }, commitment.status) : null),
              mayReport ? h('div', { class: 'report-actions', role: 'group', 'aria-label': `Report “${commitment.text}”` },
                note,
                ...CHOICES.map((choice) => h('button', {
                  type: 'button', class: `button small ${commitment.status === choice.status ? 'primary' : 'secondary'}`,
                  'data-action': choice.status, 'aria-pressed': String(commitment.status === choice.status), disabled: !connected,
                  onclick: () => report(commitment, choice.status),
                }, choice.label)))
                : commitment.note ? h('p', { class: 'commitment-note' }, `“${commitment.note}”`) : null);
          })))));
    };
    return { element, update: draw };
  },
};
