// @ts-check
// The prep page, for the upcoming meeting and made for a phone: a check-in (a win, a
// challenge, what I want from the group), a hot-seat request (the problem, priority A/B/C, the
// minutes wanted), this period's numbers (named or anonymous, the benchmarks' own
// `submit_numbers`), and the report back on one's open commitments (`update_commitment`, which
// the server holds as prep until the start, then applies to the board). Whatever is saved
// goes through outbox.js: kept in this browser first, sent now or when the connection is back,
// never lost and harmless when sent again. Until the meeting starts only its author sees their
// prep; the page says how many prepared.

import { h, announce, toast } from '../../ui.js';
import { listen, patch, formField } from '../../render.js';
import { prepOf, heldReportBack, CHECK_IN_FIELD_CHARS_MAX, HOT_SEAT_PROBLEM_CHARS_MAX, HOT_SEAT_MINUTES_MAX } from './state.js';
import { prepDraftsName, keepPending, pendingRequests, flushPending, reportBackItem, NUMBERS_SENT } from './outbox.js';
import { saveDraft } from '../../drafts.js';
import { COMMITMENT_NOTE_CHARS_MAX } from '../commitments/view.js';
import { unitWorthShowing } from '../benchmarks/view.js';

/** @typedef {import('../../protocol').Request} Request */
/** @typedef {import('./outbox.js').PrepItem} PrepItem */

/** What a report back may say of a commitment, in the order the menu offers it. */
const REPORT_STATUSES = /** @type {{ value: import('../../protocol').CommitmentStatus, label: string }[]} */ ([
  { value: 'done', label: 'Done' },
  { value: 'partial', label: 'Partly done' },
  { value: 'missed', label: 'Missed' },
  { value: 'dropped', label: 'Dropped' },
  { value: 'open', label: 'Still open' },
]);

/** @param {string} status */
function statusLabel(status) {
  return REPORT_STATUSES.find((choice) => choice.value === status)?.label ?? status;
}

const PRIORITIES = [
  { value: 'a', label: 'A: urgent' },
  { value: 'b', label: 'B: important' },
  { value: 'c', label: 'C: can wait' },
];

/** @type {import('../index.js').Panel} */
export const prepPanel = {
  id: 'prep',
  view: 'prep',
  mount(context) {
    const { store, groupId } = context;
    /** @type {Set<string>} */
    const inFlight = new Set();
    /** The meetings (drafts' names) whose numbers this page sent; the server keeps them. */
    /** @type {Set<string>} */
    const sentNumbers = new Set();

    const title = h('h2', { id: 'prep-title', tabindex: '-1' }, 'Prepare');
    const count = h('p', { class: 'hint prep-count', id: 'prep-count' });
    const closed = h('p', { class: 'hint', id: 'prep-closed', hidden: true });

    /**
     * @param {string} id
     * @param {string} label
     * @param {string} hint
     */
    const area = (id, label, hint) => {
      const field = h('textarea', { id, rows: 2, maxlength: CHECK_IN_FIELD_CHARS_MAX, 'aria-describedby': `${id}-hint` });
      return { field, box: h('div', { class: 'field' }, h('label', { for: id }, label), h('span', { class: 'hint', id: `${id}-hint` }, hint), field) };
    };
    const win = area('prep-win', 'A win', 'Something that went well since the last meeting.');
    const challenge = area('prep-challenge', 'A challenge', 'What is hard right now.');
    const ask = area('prep-ask', 'What I want from the group', 'Ideas, an introduction, a push.');
    const checkInStatus = h('p', { class: 'hint prep-status', id: 'prep-check-in-status', role: 'status' });
    const checkInForm = h('form', { class: 'stack-small prep-form', id: 'prep-check-in', 'aria-labelledby': 'prep-check-in-title' },
      h('h3', { id: 'prep-check-in-title' }, 'Check-in'),
      win.box, challenge.box, ask.box,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary', id: 'prep-check-in-save' }, 'Save check-in')),
      checkInStatus);

    const problem = h('textarea', { id: 'prep-problem', rows: 3, maxlength: HOT_SEAT_PROBLEM_CHARS_MAX });
    const priority = h('select', { id: 'prep-priority' }, ...PRIORITIES.map((choice) => h('option', { value: choice.value }, choice.label)));
    const minutes = h('input', { type: 'number', id: 'prep-minutes', min: 1, max: HOT_SEAT_MINUTES_MAX, step: 1, value: 15, inputmode: 'numeric' });
    const withdraw = h('button', { type: 'button', class: 'button secondary', id: 'prep-hot-seat-withdraw', hidden: true }, 'Withdraw');
    const hotSeatStatus = h('p', { class: 'hint prep-status', id: 'prep-hot-seat-status', role: 'status' });
    const hotSeatForm = h('form', { class: 'stack-small prep-form', id: 'prep-hot-seat', 'aria-labelledby': 'prep-hot-seat-title' },
      h('h3', { id: 'prep-hot-seat-title' }, 'Ask for the hot seat'),
      h('div', { class: 'field' }, h('label', { for: 'prep-problem' }, 'The problem you would bring'), problem),
      h('div', { class: 'field' }, h('label', { for: 'prep-priority' }, 'Priority'), priority),
      h('div', { class: 'field' }, h('label', { for: 'prep-minutes' }, 'Minutes wanted'), minutes),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary', id: 'prep-hot-seat-save' }, 'Ask for the hot seat'), withdraw),
      hotSeatStatus);

    const numberInputs = h('div', { class: 'metric-inputs', id: 'prep-number-inputs' });
    const named = h('input', { type: 'radio', name: 'prep-sharing', id: 'prep-sharing-named', value: 'named', checked: true });
    const anonymous = h('input', { type: 'radio', name: 'prep-sharing', id: 'prep-sharing-anonymous', value: 'anonymous' });
    const numbersStatus = h('p', { class: 'hint prep-status', id: 'prep-numbers-status', role: 'status' });
    const numbersForm = h('form', { class: 'stack-small prep-form', id: 'prep-numbers', 'aria-labelledby': 'prep-numbers-title' },
      h('h3', { id: 'prep-numbers-title' }, 'This period’s numbers'),
      numberInputs,
      h('fieldset', { class: 'sharing' },
        h('legend', {}, 'Share'),
        h('span', { class: 'radio' }, named, h('label', { for: 'prep-sharing-named' }, 'with my name')),
        h('span', { class: 'radio' }, anonymous, h('label', { for: 'prep-sharing-anonymous' }, 'anonymously (only in the aggregates, by range)'))),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary', id: 'prep-numbers-save' }, 'Submit numbers')),
      numbersStatus);

    const reportLine = h('p', { class: 'hint', id: 'prep-report-line' });
    const reportList = h('ul', { class: 'prep-report-list', id: 'prep-report-list' });
    const reportButton = h('button', { type: 'button', class: 'button secondary', id: 'prep-report-back' }, 'Open the commitment board');
    const reportBox = h('section', { class: 'stack-small prep-form', id: 'prep-report', 'aria-labelledby': 'prep-report-title' },
      h('h3', { id: 'prep-report-title' }, 'Report back on your commitments'), reportLine, reportList, h('div', { class: 'actions' }, reportButton));
    // The whole board, where the others' commitments are too.
    listen(reportButton, 'click', () => {
      const tab = /** @type {HTMLElement | null} */ (document.querySelector('[role="tab"][data-view="commitments"]:not([hidden])'));
      tab?.click();
    });

    const forms = h('div', { class: 'prep-forms', id: 'prep-forms' }, checkInForm, hotSeatForm, numbersForm, reportBox);
    const element = h('section', { class: 'panel', id: 'panel-prep', 'aria-labelledby': 'prep-title' },
      h('div', { class: 'panel-head' }, title, count),
      h('p', { class: 'hint', id: 'prep-private' }, 'Only you see your prep until the meeting starts; everyone sees how many prepared.'),
      closed, forms);

    const draftsName = () => (store.state ? prepDraftsName(groupId, store.state.meeting.meeting_id) : null);

    /** Sends what is pending, if the connection is up. */
    const flush = () => {
      const name = draftsName();
      if (!name || !context.isConnected() || !prepOf(store.state)?.open) return;
      const pending = pendingRequests(name);
      if (Object.keys(pending).length === 0) return;
      flushPending(name, (request) => context.connection.request(request), inFlight, (item, error) => {
        const what = item.startsWith('report_back') ? 'report back' : item.replace('_', '-');
        toast(`Could not save your ${what}: ${error.message ?? 'refused'}.`);
      }).then((acked) => {
        if (acked.includes('numbers')) {
          sentNumbers.add(name);
          saveDraft(name, NUMBERS_SENT, true);
        }
        draw();
        if (Object.keys(pendingRequests(name)).length === 0) announce('Your prep is saved.');
      });
    };

    /**
     * @param {PrepItem} item
     * @param {Request} request
     */
    const save = (item, request) => {
      const name = draftsName();
      if (!name) return;
      keepPending(name, item, request);
      draw();
      flush();
      if (!context.isConnected()) announce('Kept on this phone; it will be sent when you are back online.');
    };

    listen(checkInForm, 'submit', (submitEvent) => {
      submitEvent.preventDefault();
      save('check_in', { type: 'save_check_in', win: win.field.value, challenge: challenge.field.value, ask: ask.field.value });
    });
    listen(hotSeatForm, 'submit', (submitEvent) => {
      submitEvent.preventDefault();
      const wanted = Math.round(Number(minutes.value));
      save('hot_seat', {
        type: 'request_hot_seat', problem: problem.value,
        priority: /** @type {import('../../protocol').HotSeatPriority} */ (priority.value), minutes: wanted,
      });
    });
    listen(withdraw, 'click', () => save('hot_seat', { type: 'withdraw_hot_seat' }));
    listen(numbersForm, 'submit', (submitEvent) => {
      submitEvent.preventDefault();
      /** @type {Record<string, number>} */
      const values = {};
      for (const input of /** @type {NodeListOf<HTMLInputElement>} */ (numberInputs.querySelectorAll('input'))) {
        if (input.value.trim() !== '') values[input.name] = Number(input.value);
      }
      if (Object.keys(values).length === 0) return;
      save('numbers', { type: 'submit_numbers', values, sharing: anonymous.checked ? 'anonymous' : 'named' });
    });

    /** The meeting whose prep fills the fields. */
    let filledFor = '';
    let metricsKey = '';

    /**
     * @param {PrepItem} item
     * @param {boolean} saved
     * @param {string} savedText
     */
    const statusText = (item, saved, savedText) => {
      const name = draftsName();
      const pending = name ? pendingRequests(name)[item] : undefined;
      if (pending) return context.isConnected() ? 'Sending…' : 'Kept on this phone; it will be sent when you are back online.';
      return saved ? savedText : '';
    };

    const draw = () => {
      const state = store.state;
      const prep = prepOf(state);
      if (!state || !prep) return;
      const name = /** @type {string} */ (draftsName());
      const open = prep.open;
      title.textContent = `Prepare for meeting ${state.meeting.number}`;
      count.textContent = `${prep.prepared} of ${state.members.length} prepared`;
      closed.hidden = open;
      closed.textContent = 'The meeting has started, so prep is closed: check-ins show with each speaker in the round, hot-seat requests in the problem item.';
      forms.hidden = !open;

      const benchmarks = /** @type {{ view: import('../../protocol').BenchmarkView } | undefined} */ (state.features.benchmarks);
      const metrics = benchmarks?.view.metrics ?? [];
      const key = metrics.map((metric) => `${metric.key}:${metric.name}:${metric.unit}`).join('|');
      if (key !== metricsKey) {
        metricsKey = key;
        patch(numberInputs, () => metrics.map((metric) => h('div', { class: 'field', 'data-key': metric.key },
          // As in the meeting's form: "Revenue (USD)", not "Calls (calls)".
          h('label', { for: `prep-number-${metric.key}` }, metric.name,
            unitWorthShowing(metric) ? h('span', { class: 'unit' }, ` (${metric.unit})`) : null),
          h('input', { type: 'number', id: `prep-number-${metric.key}`, name: metric.key, min: 0, step: 'any', inputmode: 'decimal' }))));
      }

      if (filledFor !== name) {
        filledFor = name;
        const pending = pendingRequests(name);
        const checkIn = pending.check_in?.type === 'save_check_in' ? pending.check_in : prep.mine.check_in;
        win.field.value = checkIn?.win ?? '';
        challenge.field.value = checkIn?.challenge ?? '';
        ask.field.value = checkIn?.ask ?? '';
        const hotSeat = pending.hot_seat?.type === 'request_hot_seat' ? pending.hot_seat : prep.mine.hot_seat?.request;
        if (hotSeat) {
          problem.value = hotSeat.problem;
          priority.value = hotSeat.priority;
          minutes.value = String(hotSeat.minutes);
        }
        const numbers = pending.numbers?.type === 'submit_numbers' ? pending.numbers : null;
        if (numbers) {
          for (const [metric, value] of Object.entries(numbers.values)) {
            const input = /** @type {HTMLInputElement | null} */ (numberInputs.querySelector(`input[name="${CSS.escape(metric)}"]`));
            if (input) input.value = String(value);
          }
          (numbers.sharing === 'anonymous' ? anonymous : named).checked = true;
        }
      }

      checkInStatus.textContent = statusText('check_in', !!prep.mine.check_in, 'Saved. Only you see it until the meeting starts.');
      withdraw.hidden = !prep.mine.hot_seat;
      hotSeatStatus.textContent = statusText('hot_seat', !!prep.mine.hot_seat,
        prep.mine.hot_seat ? `Asked: priority ${prep.mine.hot_seat.request.priority.toUpperCase()}, ${prep.mine.hot_seat.request.minutes} minutes.` : '');
      numbersStatus.textContent = statusText('numbers', sentNumbers.has(name), 'Submitted. They count for this meeting and show in the benchmarks when it starts.');

      drawReportBacks(state, prep, name);
    };

    /** What the report-back list was drawn from, so typing is not wiped by others' changes. */
    let reportKey = '';
    /**
     * The viewer's open commitments, each with its report back: held until the start, pending
     * on this phone, or still to make.
     * @param {import('../../store.js').RoomState} state
     * @param {import('./state.js').PrepState} prep
     * @param {string} name
     */
    const drawReportBacks = (state, prep, name) => {
      const commitments = /** @type {import('../commitments/state.js').CommitmentsState | undefined} */ (state.features.commitments);
      const mine = (commitments?.commitments ?? [])
        .filter((commitment) => commitment.owner === store.myMemberId && commitment.status === 'open')
        .sort((a, b) => a.due_meeting - b.due_meeting || a.commitment_id - b.commitment_id);
      const pending = pendingRequests(name);
      const held = prep.mine.report_backs ?? [];
      reportLine.textContent = mine.length === 0
        ? 'You have no open commitments.'
        : `${held.length} of your ${mine.length} open commitments reported. Only you see a report back until the meeting starts; then it goes to the board.`;
      const key = JSON.stringify([mine.map((c) => [c.commitment_id, c.text, c.due_meeting]), held, mine.map((c) => pending[reportBackItem(c.commitment_id)] ?? null), context.isConnected()]);
      if (key === reportKey) return;
      reportKey = key;
      const focusedId = reportList.contains(document.activeElement) ? document.activeElement?.id : null;
      patch(reportList, () => mine.map((commitment) => {
        const id = commitment.commitment_id;
        const item = reportBackItem(id);
        const wanted = pending[item];
        const saved = heldReportBack(prep, id);
        const shown = wanted?.type === 'update_commitment' ? { status: wanted.status, note: wanted.note ?? '' } : saved;
        const statusSelect = h('select', { id: `prep-report-${id}-status`, name: 'status' },
          ...REPORT_STATUSES.map((choice) => h('option', { value: choice.value, selected: choice.value === (shown?.status ?? 'done') }, choice.label)));
        const noteInput = h('input', { type: 'text', id: `prep-report-${id}-note`, name: 'note', maxlength: COMMITMENT_NOTE_CHARS_MAX, value: shown?.note ?? '' });
        const withdrawButton = h('button', {
          type: 'button', class: 'button secondary small', id: `prep-report-${id}-withdraw`, hidden: !saved && wanted?.type !== 'update_commitment',
          onclick: () => save(item, { type: 'withdraw_report_back', commitment_id: id }),
        }, 'Withdraw');
        const heldText = saved ? `Reported: ${statusLabel(saved.status)}${saved.note ? `, “${saved.note}”` : ''}. Shown at the start.` : '';
        const status = h('p', { class: 'hint prep-status', id: `prep-report-${id}-state`, role: 'status' }, statusText(item, !!saved, heldText));
        /** @param {Event} submitEvent */
        const report = (submitEvent) => {
          submitEvent.preventDefault();
          save(item, {
            type: 'update_commitment', commitment_id: id,
            status: /** @type {import('../../protocol').CommitmentStatus} */ (formField(submitEvent, 'status').value),
            note: formField(submitEvent, 'note').value.trim(),
          });
        };
        return h('li', { class: `prep-report-item${saved ? ' held' : ''}`, 'data-key': String(id), 'data-commitment-id': id },
          h('p', { class: 'prep-report-text', id: `prep-report-${id}-text` }, commitment.text,
            h('span', { class: 'hint' }, ` · due meeting ${commitment.due_meeting}`)),
          h('form', { class: 'prep-report-form', 'aria-labelledby': `prep-report-${id}-text`, onsubmit: report },
            h('div', { class: 'field' }, h('label', { for: `prep-report-${id}-status` }, 'How it went'), statusSelect),
            h('div', { class: 'field grow' }, h('label', { for: `prep-report-${id}-note` }, 'Note (optional)'), noteInput),
            h('div', { class: 'actions' },
              h('button', { type: 'submit', class: 'button primary small', id: `prep-report-${id}-save` }, saved ? 'Update report' : 'Report back'),
              withdrawButton)),
          status);
      }));
      if (focusedId) document.getElementById(focusedId)?.focus();
    };

    return { element, update: () => { draw(); flush(); } };
  },
};
