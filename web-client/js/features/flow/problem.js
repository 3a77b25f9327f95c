// @ts-check
// Bring a problem, drawn inside the agenda panel while a `problem` item is current: the four
// phases with what each one means (everyone sees where the group is), the facilitator's
// buttons to start a phase (each runs the timer), the members' suggestions in the suggest
// phase, and the presenter's choice in the decide phase: each ticked suggestion shows as an
// editable line, the text of the commitment it becomes, and "Confirm" sends them; the server
// makes each one its own commitment of the presenter's (they show up on the commitment board).

import { prepOf, rankedHotSeat } from '../prep/state.js';
import { loadDrafts, saveDraft } from '../../drafts.js';
import { patch, listen } from '../../render.js';
import { h, announce, busy } from '../../ui.js';
import { PHASE_LABELS } from './time.js';
import { mayReplaceTimer } from './guard.js';
import { problemVotes } from './state.js';
import { plural } from '../../format.js';


/** Longest agenda item title the server takes; a longer hot-seat problem is cut to it. */
const HOT_SEAT_TITLE_CHARS = 120;
/** @typedef {import('../../protocol').MemberId} MemberId */
/** @typedef {import('../../protocol').ProblemPhase} ProblemPhase */
/** @typedef {import('../../protocol').AgendaItem} AgendaItem */
/** @typedef {import('./state.js').FlowState} FlowState */

/** The server's limit on a suggestion (PROTOCOL.md). */
export const SUGGESTION_CHARS_MAX = 500;
/** The server's limit on a commitment's text (PROTOCOL.md). */
export const COMMITMENT_CHARS_MAX = 280;

/**
 * The commitment a suggestion becomes when the presenter does not edit it, as the server makes
 * it: on one line, cut to a commitment's length.
 * @param {string} text
 */
export function commitmentTextOf(text) {
  return [...text.split(/\s+/).filter(Boolean).join(' ')].slice(0, COMMITMENT_CHARS_MAX).join('');
}

/**
 * The `choose_suggestions` request's choices: the ticked suggestions in the order ticked, each
 * with its commitment's text (the edit, trimmed, or the suggestion's own), and the first one
 * whose text is empty, if any.
 * @param {Iterable<number>} ticked
 * @param {Map<number, string>} edits
 * @param {{ suggestion_id: number, text: string }[]} suggestions
 * @returns {{ choices: { suggestion_id: number, text: string }[], empty: number | null }}
 */
export function choicesOf(ticked, edits, suggestions) {
  const choices = [];
  let empty = null;
  for (const id of ticked) {
    const suggestion = suggestions.find((s) => s.suggestion_id === id);
    if (!suggestion) continue;
    const text = (edits.get(id) ?? commitmentTextOf(suggestion.text)).trim();
    if (!text && empty === null) empty = id;
    choices.push({ suggestion_id: id, text });
  }
  return { choices, empty };
}

/** Dots each member may put on one problem's suggestions (PROTOCOL.md, "Dot votes"). */
export const DOTS_PER_PROBLEM = 3;

/**
 * Each phase in order: its name, what the group does in it, and the server's default time box
 * in minutes (PROTOCOL.md, "Bring a problem").
 * @type {{ phase: ProblemPhase, label: string, meaning: string, minutes: number }[]}
 */
export const PHASES = [
  { phase: 'present', label: PHASE_LABELS.present, meaning: 'The presenter explains the problem. Everyone else listens.', minutes: 5 },
  { phase: 'clarify', label: PHASE_LABELS.clarify, meaning: 'Questions about the facts only; no advice yet.', minutes: 5 },
  { phase: 'suggest', label: PHASE_LABELS.suggest, meaning: 'Everyone but the presenter offers suggestions, written down here.', minutes: 8 },
  { phase: 'decide', label: PHASE_LABELS.decide, meaning: 'The presenter picks what they will act on; each pick becomes one of their commitments.', minutes: 2 },
];

/** @param {ProblemPhase} phase */
export function phaseLabel(phase) {
  return PHASES.find((entry) => entry.phase === phase)?.label ?? phase;
}

/**
 * @param {object} deps
 * @param {import('../index.js').PanelContext} deps.context
 * @param {() => FlowState | null} deps.flow
 * @param {(id: MemberId) => string} deps.nameOf
 */
export function mountProblem({ context, flow, nameOf }) {
  const { store } = context;

  // The problem's view has no panel heading of its own: this is its h2.
  const title = h('h2', { id: 'problem-title', class: 'problem-title', tabindex: '-1' });
  const presenterLine = h('p', { class: 'problem-presenter', id: 'problem-presenter' });
  const phaseList = h('ol', { class: 'phase-list', id: 'problem-phases', 'aria-label': 'Phases' });

  // The facilitator picks a presenter when the item has none (the item's owner presents).
  const presenterSelect = h('select', { id: 'problem-presenter-select' });
  const presenterButton = h('button', { type: 'submit', class: 'button primary small' }, 'Set presenter');
  const presenterForm = h('form', { class: 'inline-form problem-presenter-form', id: 'problem-presenter-form' },
    h('div', { class: 'field' }, h('label', { for: 'problem-presenter-select' }, 'Presenter'), presenterSelect),
    h('div', { class: 'field end' }, presenterButton));

  const suggestionList = h('ol', { class: 'suggestion-list', id: 'suggestion-list', 'aria-labelledby': 'suggestions-title' });
  const suggestionsEmpty = h('p', { class: 'empty', id: 'suggestions-empty' }, 'No suggestions yet.');
  const suggestionText = h('textarea', { id: 'suggestion-text', rows: '2', 'aria-describedby': 'suggestion-error' });
  const suggestionError = h('p', { class: 'form-error', id: 'suggestion-error', role: 'alert', hidden: true });
  const suggestionButton = h('button', { type: 'submit', class: 'button primary', id: 'suggestion-add' }, 'Add suggestion');
  const suggestionForm = h('form', { class: 'suggestion-form', id: 'suggestion-form' },
    h('label', { for: 'suggestion-text' }, 'Your suggestion'), suggestionText, suggestionError,
    h('div', { class: 'actions' }, suggestionButton));

  const chooseButton = h('button', { type: 'submit', class: 'button primary', id: 'suggestions-choose' }, 'Confirm my commitments');
  const chooseHint = h('p', { class: 'hint', id: 'choose-hint' });
  const chooseForm = h('form', { class: 'choose-form', id: 'choose-form' }, chooseHint, h('div', { class: 'actions' }, chooseButton));
  const chosenNote = h('p', { class: 'chosen-note', id: 'chosen-note' });

  const dotsLine = h('p', { class: 'hint dots-left', id: 'dots-left', hidden: true });
  const suggestionsBox = h('div', { class: 'suggestions', id: 'problem-suggestions' },
    h('h3', { id: 'suggestions-title' }, 'Suggestions'), suggestionList, suggestionsEmpty, chosenNote, dotsLine, chooseForm, suggestionForm);

  // The hot-seat requests from the members' prep (features/prep), ranked A before B before C,
  // then the earlier request: the facilitator picks one, which makes its member the presenter
  // and fills the item with their problem and the minutes they asked for.
  const hotSeatList = h('ol', { class: 'hot-seat-list', id: 'hot-seat-list', 'aria-labelledby': 'hot-seat-title' });
  const hotSeatBox = h('section', { class: 'hot-seat', id: 'hot-seat', 'aria-labelledby': 'hot-seat-title', hidden: true },
    h('h3', { id: 'hot-seat-title' }, 'Hot-seat requests'), hotSeatList);

  const element = h('section', { class: 'problem-box', id: 'problem-box', 'aria-labelledby': 'problem-title' },
    title, presenterLine, presenterForm, hotSeatBox, phaseList, suggestionsBox);

  /**
   * Fills the problem item from a hot-seat request.
   * @param {AgendaItem} item
   * @param {import('../../protocol').RankedHotSeat} request
   */
  const pickHotSeat = async (item, request) => {
    const text = request.request.problem;
    const line = text.replace(/\s+/g, ' ');
    const title = line.length > HOT_SEAT_TITLE_CHARS ? `${line.slice(0, HOT_SEAT_TITLE_CHARS - 1)}…` : line;
    const reply = await context.act({
      type: 'edit_agenda_item', item_id: item.item_id,
      item: { title, kind: item.kind, time_box_ms: request.request.minutes * 60_000, owner: request.member_id, notes: text },
    }, 'Could not fill the problem from the request');
    if (reply) announce(`${nameOf(request.member_id)} presents: ${title}.`);
  };

  /** @returns {AgendaItem | null} The current item, when it is a problem. */
  const currentProblem = () => flow()?.agenda.find((item) => item.status === 'current' && item.kind === 'problem') ?? null;
  /** @param {AgendaItem} item */
  const presenterOf = (item) => item.problem?.presenter ?? item.owner ?? null;

  listen(presenterForm, 'submit', async (submitEvent) => {
    submitEvent.preventDefault();
    const item = currentProblem();
    if (!item || !presenterSelect.value) return;
    await context.act({
      type: 'edit_agenda_item', item_id: item.item_id,
      item: { title: item.title, kind: item.kind, time_box_ms: item.time_box_ms, owner: presenterSelect.value, notes: item.notes ?? '' },
    }, 'Could not set the presenter');
  });

  listen(suggestionForm, 'submit', async (submitEvent) => {
    submitEvent.preventDefault();
    const item = currentProblem();
    if (!item) return;
    const text = suggestionText.value.trim();
    const problemWithIt = !text ? 'Write a suggestion first.'
      : [...text].length > SUGGESTION_CHARS_MAX ? `A suggestion has at most ${SUGGESTION_CHARS_MAX} characters; this one has ${[...text].length}.` : '';
    suggestionError.textContent = problemWithIt;
    suggestionError.hidden = !problemWithIt;
    suggestionText.setAttribute('aria-invalid', String(!!problemWithIt));
    if (problemWithIt) { suggestionText.focus(); return; }
    const release = busy(suggestionButton);
    const reply = await context.act({ type: 'add_suggestion', item_id: item.item_id, text }, 'Could not add the suggestion');
    release();
    if (reply) {
      suggestionText.value = '';
      announce('Your suggestion was added.');
    }
  });
  listen(suggestionText, 'input', () => {
    if (suggestionError.hidden) return;
    suggestionError.hidden = true;
    suggestionText.setAttribute('aria-invalid', 'false');
  });

  listen(chooseForm, 'submit', async (submitEvent) => {
    submitEvent.preventDefault();
    const item = currentProblem();
    if (!item) return;
    const { choices, empty } = choicesOf(ticked, edits, item.problem?.suggestions ?? []);
    const problemWithIt = choices.length === 0 ? 'Tick at least one suggestion to commit to.'
      : empty !== null ? 'A commitment needs words: write what you will do, or untick it.' : '';
    if (problemWithIt) {
      chooseHint.textContent = problemWithIt;
      chooseHint.classList.add('form-error');
      if (empty !== null) document.getElementById(`commitment-text-${empty}`)?.focus();
      return;
    }
    const release = busy(chooseButton);
    const reply = await context.act({ type: 'choose_suggestions', item_id: item.item_id, choices }, 'Could not save your choice');
    release();
    if (reply) {
      saveDraft(draftsName(), item.item_id, null);
      announce(`Confirmed: ${choices.length === 1 ? '1 commitment is' : `${choices.length} commitments are`} on your board.`);
      document.getElementById('suggestions-title')?.focus();
    }
  });

  /** The phase last seen, to announce changes (not the one found at load). */
  /** @type {string | null} */
  let seenPhase = null;
  /** Ticked boxes (in the order ticked) and edited texts survive redraws until the presenter submits. */
  /** @type {Set<number>} */
  const ticked = new Set();
  /** The presenter's ticks and edits are drafts too: a reload before Confirm keeps them. */
  const draftsName = () => `choice:${context.groupId}:${store.state?.meeting.meeting_id ?? ''}`;
  const keepDraft = () => {
    if (tickedFor >= 0) saveDraft(draftsName(), tickedFor, { ticked: [...ticked], edits: Object.fromEntries(edits) });
  };
  /** @type {Map<number, string>} */
  const edits = new Map();
  let tickedFor = -1;

  /**
   * The editable line of a ticked suggestion: the commitment it becomes.
   * @param {{ suggestion_id: number, text: string }} suggestion
   */
  const commitmentLine = (suggestion) => {
    const id = suggestion.suggestion_id;
    const fieldId = `commitment-text-${id}`;
    return h('span', { class: 'commitment-line' },
      h('label', { for: fieldId }, 'Your commitment', h('span', { class: 'visually-hidden' }, ` from “${commitmentTextOf(suggestion.text)}”`)),
      h('input', {
        type: 'text', id: fieldId, maxlength: String(COMMITMENT_CHARS_MAX), autocomplete: 'off',
        value: edits.get(id) ?? commitmentTextOf(suggestion.text),
        oninput: (/** @type {Event} */ inputEvent) => {
          edits.set(id, /** @type {HTMLInputElement} */ (inputEvent.target).value);
          keepDraft();
        },
      }));
  };

  /**
   * The suggestions, each with its maker; while the presenter chooses, a tick box each and, for
   * a ticked one, the line of the commitment it becomes.
   * @param {import('../../protocol').Suggestion[]} suggestions
   * @param {number[]} chosen
   * @param {boolean} choosing
   * @param {ReturnType<typeof dotVoting>} dots What each suggestion shows of the dot votes.
   */
  const drawSuggestionList = (suggestions, chosen, choosing, dots) => {
    patch(suggestionList, () => suggestions.map((suggestion) => {
      const isChosen = chosen.includes(suggestion.suggestion_id);
      const boxId = `suggestion-choose-${suggestion.suggestion_id}`;
      return h('li', { class: `suggestion${isChosen ? ' chosen' : ''}`, 'data-suggestion-id': String(suggestion.suggestion_id) },
        choosing ? h('input', {
          type: 'checkbox', id: boxId, value: String(suggestion.suggestion_id), checked: ticked.has(suggestion.suggestion_id),
          onchange: (/** @type {Event} */ changeEvent) => {
            const box = /** @type {HTMLInputElement} */ (changeEvent.target);
            if (box.checked) ticked.add(suggestion.suggestion_id); else ticked.delete(suggestion.suggestion_id);
            keepDraft();
            drawSuggestionList(suggestions, chosen, choosing, dots);
          },
        }) : null,
        h(choosing ? 'label' : 'span', { class: 'suggestion-text', for: choosing ? boxId : null }, suggestion.text),
        h('span', { class: 'suggestion-by' }, `from ${nameOf(suggestion.by)}`),
        isChosen ? h('span', { class: 'tag next' }, 'chosen') : null,
        choosing && ticked.has(suggestion.suggestion_id) ? commitmentLine(suggestion) : null,
        ...dots(suggestion));
    }));
  };

  const draw = () => {
    const item = currentProblem();
    element.hidden = !item;
    if (!item) { seenPhase = null; return; }
    const facilitator = store.iAmFacilitator();
    const me = store.me();
    const problem = item.problem ?? null;
    const presenter = presenterOf(item);
    const iPresent = !!presenter && presenter === store.myMemberId;
    const phase = problem?.phase ?? null;
    const connected = context.isConnected();

    const phaseKey = `${item.item_id}:${phase}`;
    if (seenPhase !== null && phase && seenPhase !== phaseKey) {
      const entry = PHASES.find((p) => p.phase === phase);
      announce(`Bring a problem: ${entry?.label ?? phase}. ${entry?.meaning ?? ''}`);
    }
    seenPhase = phaseKey;

    title.textContent = item.title.toLowerCase() === 'bring a problem' ? item.title : `Bring a problem: ${item.title}`;
    presenterLine.textContent = presenter
      ? `${nameOf(presenter)}${iPresent ? ' (you)' : ''} presents.`
      : facilitator ? 'Choose who presents this problem.' : 'Waiting for the facilitator to choose who presents.';
    presenterForm.hidden = !facilitator || !!problem;
    const ranked = rankedHotSeat(prepOf(store.state));
    hotSeatBox.hidden = ranked.length === 0 || !!problem;
    if (!hotSeatBox.hidden) {
      patch(hotSeatList, () => ranked.map((request) => h('li', { class: 'hot-seat-request', 'data-key': request.member_id, 'data-member-id': request.member_id, 'data-priority': request.request.priority },
        h('span', { class: `tag priority priority-${request.request.priority}` }, `Priority ${request.request.priority.toUpperCase()}`),
        h('span', { class: 'hot-seat-text' }, h('strong', {}, nameOf(request.member_id)), ` · ${request.request.minutes} min: `, request.request.problem),
        facilitator ? h('button', {
          type: 'button', class: 'button secondary small', 'data-action': 'pick-hot-seat', disabled: !connected,
          onclick: () => pickHotSeat(item, request),
        }, 'Pick', h('span', { class: 'visually-hidden' }, ` ${nameOf(request.member_id)}’s problem`)) : null)));
    }
    if (!presenterForm.hidden) {
      // Until the facilitator chooses, the select offers the top hot-seat request's member.
      const chosen = presenterSelect.value || presenter || ranked[0]?.member_id || '';
      patch(presenterSelect, () => (store.state?.members ?? [])
        .filter((member) => member.role !== 'observer')
        .map((member) => h('option', { value: member.member_id, selected: member.member_id === chosen }, member.display_name)));
      presenterButton.disabled = !connected;
    }

    phaseList.classList.toggle('running', !!phase);
    patch(phaseList, () => PHASES.map((entry, index) => {
      const current = entry.phase === phase;
      return h('li', { class: `phase${current ? ' current' : ''}`, 'data-phase': entry.phase, 'aria-current': current ? 'step' : null },
        h('span', { class: 'phase-number', 'aria-hidden': 'true' }, String(index + 1)),
        h('span', { class: 'phase-text' },
          h('span', { class: 'phase-name' }, entry.label, current ? h('span', { class: 'tag next' }, 'now') : null),
          h('span', { class: 'phase-meaning' }, entry.meaning)),
        facilitator ? h('button', {
          type: 'button', class: `button ${current ? 'secondary' : 'primary'} small`, 'data-action': `phase-${entry.phase}`,
          disabled: !connected || !presenter,
          onclick: async () => {
            if (!await mayReplaceTimer(context, { kind: 'problem_phase', item_id: item.item_id }, `Start ${entry.label}`)) return;
            await context.act({ type: 'start_problem_phase', item_id: item.item_id, phase: entry.phase }, `Could not start ${entry.label.toLowerCase()}`);
          },
          // The name is the visible text with the phase in it: "Start Present · 5 min".
        }, current ? 'Restart' : 'Start', h('span', { class: 'visually-hidden' }, ` ${entry.label}`), ` · ${entry.minutes} min`) : null);
    }));

    // Suggestions, with the presenter's tick boxes in the decide phase.
    const suggestions = problem?.suggestions ?? [];
    const chosen = problem?.chosen ?? [];
    // The presenter chooses once; then the commitments are on the board.
    const choosing = iPresent && phase === 'decide' && chosen.length === 0;
    const dots = dotVoting({ context, item, flow: flow(), iPresent, me, dotsLine });
    if (tickedFor !== item.item_id) {
      ticked.clear();
      edits.clear();
      for (const id of chosen) ticked.add(id);
      tickedFor = item.item_id;
      const draft = chosen.length === 0 ? loadDrafts(draftsName())[String(item.item_id)] : undefined;
      const known = new Set(suggestions.map((suggestion) => suggestion.suggestion_id));
      for (const id of draft?.ticked ?? []) if (known.has(id)) ticked.add(id);
      for (const [id, text] of Object.entries(draft?.edits ?? {})) if (known.has(Number(id))) edits.set(Number(id), String(text));
    }
    drawSuggestionList(suggestions, chosen, choosing, dots);
    suggestionsEmpty.hidden = suggestions.length > 0;
    suggestionsEmpty.textContent = phase === 'suggest' ? 'No suggestions yet.' : 'Suggestions are collected in the suggestions phase.';
    suggestionsBox.hidden = !problem;

    suggestionForm.hidden = phase !== 'suggest' || iPresent || !me || me.role === 'observer';
    suggestionButton.disabled = !connected;
    chooseForm.hidden = !choosing || suggestions.length === 0;
    chooseButton.disabled = !connected;
    if (!chooseForm.hidden && !chooseHint.classList.contains('form-error')) {
      chooseHint.textContent = 'Tick the suggestions you will act on and word each one as you will do it. Each becomes a commitment for next meeting.';
    }
    chosenNote.hidden = chosen.length === 0;
    chosenNote.textContent = presenter ? `${nameOf(presenter)} chose ${chosen.length === 1 ? '1 suggestion; it is' : `${chosen.length} suggestions; they are`} on the commitment board.` : '';
    if (phase === 'decide' && !iPresent && chosen.length === 0 && presenter) {
      chosenNote.hidden = false;
      chosenNote.textContent = `${nameOf(presenter)} is choosing what to act on.`;
    }
  };

  // Ticking, unticking or rewording clears a refusal.
  const clearChooseError = () => {
    if (!chooseHint.classList.contains('form-error')) return;
    chooseHint.classList.remove('form-error');
    chooseHint.textContent = 'Tick the suggestions you will act on and word each one as you will do it. Each becomes a commitment for next meeting.';
  };
  listen(suggestionList, 'change', clearChooseError);
  listen(suggestionList, 'input', clearChooseError);

  return {
    element,
    /** @param {boolean} changed Whether the flow, members or connection changed. */
    update(changed) {
      if (changed) draw();
    },
  };
}

/**
 * Dot votes on the current problem's suggestions: what each suggestion shows (its count, the
 * most-dotted marked while the presenter decides, and for a member who may vote a toggle
 * button until the presenter has chosen), and the "dots left" line. Everyone sees counts
 * only, never who voted; counts show once anyone has voted.
 * @param {object} deps
 * @param {import('../index.js').PanelContext} deps.context
 * @param {AgendaItem} deps.item
 * @param {FlowState | null} deps.flow
 * @param {boolean} deps.iPresent
 * @param {import('../../protocol').MemberInfo | null} deps.me
 * @param {HTMLElement} deps.dotsLine
 * @returns {(suggestion: import('../../protocol').Suggestion) => (HTMLElement | null)[]}
 */
function dotVoting({ context, item, flow, iPresent, me, dotsLine }) {
  const phase = item.problem?.phase ?? null;
  const open = phase === 'suggest' || phase === 'decide';
  const votes = problemVotes(flow, item.item_id);
  const chosen = (item.problem?.chosen.length ?? 0) > 0;
  const canVote = open && !chosen && !iPresent && !!me && me.role !== 'observer';
  const left = DOTS_PER_PROBLEM - votes.yours.length;
  dotsLine.hidden = !canVote || (item.problem?.suggestions.length ?? 0) === 0;
  dotsLine.textContent = `Put a dot on the suggestions you back: you have ${left} of ${DOTS_PER_PROBLEM} dots left.`;
  const counts = (item.problem?.suggestions ?? []).map((suggestion) => votes.count(suggestion.suggestion_id));
  const most = Math.max(0, ...counts);
  const anyVotes = most > 0;
  return (suggestion) => {
    const count = votes.count(suggestion.suggestion_id);
    const mine = votes.yours.includes(suggestion.suggestion_id);
    const shown = count > 0 || (open && anyVotes);
    return [
      shown ? h('span', { class: 'vote-count', 'data-votes': String(count) }, plural(count, 'dot')) : null,
      phase === 'decide' && count > 0 && count === most ? h('span', { class: 'tag most-dots' }, 'most dots') : null,
      canVote ? h('button', {
        type: 'button', class: `button secondary small vote-button${mine ? ' voted' : ''}`, 'aria-pressed': String(mine),
        'data-suggestion-id': String(suggestion.suggestion_id),
        disabled: !context.isConnected() || (!mine && left <= 0),
        onclick: (/** @type {Event} */ clickEvent) => castDot(context, item.item_id, suggestion.suggestion_id, !mine, /** @type {HTMLButtonElement} */ (clickEvent.currentTarget)),
      }, h('span', { 'aria-hidden': 'true' }, mine ? '● ' : '○ '), 'Dot', h('span', { class: 'visually-hidden' }, ` on ${suggestion.text}`)) : null,
    ];
  };
}

/**
 * Puts or takes back a dot, keeping the focus on the button.
 * @param {import('../index.js').PanelContext} context
 * @param {number} itemId
 * @param {number} suggestionId
 * @param {boolean} vote
 * @param {HTMLButtonElement} button
 */
async function castDot(context, itemId, suggestionId, vote, button) {
  const release = busy(button);
  const reply = await context.act({ type: 'vote_suggestion', item_id: itemId, suggestion_id: suggestionId, vote },
    vote ? 'Could not put your dot' : 'Could not take your dot back');
  release();
  if (reply) announce(vote ? 'Your dot is on it.' : 'Your dot is taken back.');
}
