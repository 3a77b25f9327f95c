// @ts-check
// Role play and anonymous scoring. A facilitator sets up a role play (seller, optional buyer with
// a private brief, scenario, a rubric from a template), opens scoring, closes it and reveals the
// results once enough members have scored. Everyone sees the scenario and the number of
// submissions, never who submitted; only the buyer sees the brief. Scorers (not the seller, not
// observers) fill the rubric and may revise until scoring closes. Revealed results show each
// criterion's statistics and distribution, the overall score, the comments and the seller's trend.

import { registerFeature } from '../store.js';
import { h } from '../ui.js';

/** @typedef {import('../protocol').RolePlayView} RolePlayView */
/** @typedef {import('../protocol').RolePlayInfo} RolePlayInfo */
/** @typedef {import('../protocol').RolePlayResults} RolePlayResults */
/** @typedef {import('../protocol').RolePlayEvent} RolePlayEvent */
/** @typedef {import('../protocol').RolePlayRequest} RolePlayRequest */
/** @typedef {import('../protocol').Rubric} Rubric */

/**
 * @typedef {object} RolePlayState
 * @property {RolePlayView} view
 * @property {number} version Counts changes, so the panel redraws only when something changed.
 */

/** The server's limits (PROTOCOL.md). */
export const SCENARIO_CHARS_MAX = 2000;
export const COMMENT_CHARS_MAX = 1000;
export const ONE_THING_CHARS_MAX = 300;
/** How many revealed results the server keeps in the snapshot. */
const REVEALED_KEPT = 10;

/**
 * Applies one role play change to the feature's state.
 * @param {RolePlayState} own
 * @param {RolePlayEvent} change
 */
export function applyRolePlayChange(own, change) {
  const view = own.view;
  const current = view.current;
  const same = (/** @type {string} */ id) => !!current && current.role_play_id === id;
  switch (change.kind) {
    case 'set_up':
      view.current = { ...change.role_play };
      view.buyer_brief = null;
      break;
    case 'buyer_brief':
      if (same(change.role_play_id)) view.buyer_brief = change.brief;
      break;
    case 'scoring_opened':
      if (current && same(change.role_play_id)) current.phase = 'scoring';
      break;
    case 'submission_count':
      if (current && same(change.role_play_id)) current.submission_count = change.count;
      break;
    case 'scoring_closed':
      if (current && same(change.role_play_id)) current.phase = 'closed';
      break;
    case 'revealed': {
      const results = change.results;
      if (current && same(results.role_play_id)) {
        current.phase = 'revealed';
        current.submission_count = results.submission_count;
      }
      view.revealed = [...view.revealed.filter((entry) => entry.role_play_id !== results.role_play_id), results].slice(-REVEALED_KEPT);
      const point = { role_play_id: results.role_play_id, meeting_number: results.meeting_number, revealed_at_ms: results.revealed_at_ms, rubric_name: results.rubric_name, overall_percent: results.overall_percent };
      const trend = view.seller_trends.find((entry) => entry.seller === results.seller);
      if (trend) {
        if (!trend.points.some((entry) => entry.role_play_id === point.role_play_id)) trend.points = [...trend.points, point].slice(-50);
      } else {
        view.seller_trends = [...view.seller_trends, { seller: results.seller, points: [point] }];
      }
      break;
    }
    case 'cancelled':
      if (same(change.role_play_id)) {
        view.current = null;
        view.buyer_brief = null;
      }
      break;
    case 'template_saved': {
      const name = change.rubric.name.toLowerCase();
      view.templates = [...view.templates.filter((entry) => entry.built_in || entry.rubric.name.toLowerCase() !== name), { rubric: change.rubric, built_in: false }];
      break;
    }
    case 'template_deleted': {
      const name = change.name.toLowerCase();
      view.templates = view.templates.filter((entry) => entry.built_in || entry.rubric.name.toLowerCase() !== name);
      break;
    }
  }
  own.version++;
}

registerFeature({
  id: 'role_play',
  fromSnapshot(snapshot) {
    const view = snapshot.role_play;
    /** @type {RolePlayState} */
    const own = {
      view: {
        current: view.current ? { ...view.current } : null,
        buyer_brief: view.buyer_brief ?? null,
        revealed: [...view.revealed],
        templates: [...view.templates],
        seller_trends: view.seller_trends.map((trend) => ({ ...trend, points: [...trend.points] })),
      },
      version: 0,
    };
    return own;
  },
  events: {
    role_play(state, event) {
      const own = /** @type {RolePlayState | undefined} */ (state.features.role_play);
      if (own) applyRolePlayChange(own, event.change);
    },
  },
});

/** @param {number} value */
function fmt(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** @param {import('../protocol').RolePlayPhase} phase */
function phaseLabel(phase) {
  return { setup: 'being set up', scoring: 'scoring open', closed: 'scoring closed', revealed: 'revealed' }[phase];
}

/** @type {import('./index.js').Panel} */
export const rolePlayPanel = {
  id: 'role_play',
  area: 'main',
  mount(context) {
    const { store } = context;
    const body = h('div', { class: 'roleplay-body', id: 'roleplay-body' });
    const element = h('section', { class: 'panel', id: 'panel-roleplay', 'aria-labelledby': 'roleplay-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'roleplay-title' }, 'Role play')),
      body);

    /** Role plays this browser has submitted for (so the button reads "Update"). */
    const submitted = new Set();
    /** @type {{ id: string, scores: (number | null)[], comment: string, oneThing: string }} The score form being filled. */
    let draft = { id: '', scores: [], comment: '', oneThing: '' };
    /** @type {{ seller: string, buyer: string, scenario: string, brief: string, template: string, threshold: string }} */
    const setupDraft = { seller: '', buyer: '', scenario: '', brief: '', template: '', threshold: '3' };
    let busy = false;

    /**
     * @param {RolePlayRequest} action
     * @param {string} what
     */
    const act = async (action, what) => {
      busy = true;
      redraw();
      const reply = await context.act({ type: 'role_play', action }, what);
      busy = false;
      redraw();
      return reply;
    };

    /** @param {string} id */
    const name = (id) => {
      const member = store.member(id);
      const label = member?.display_name ?? 'A former member';
      return id === store.myMemberId ? `${label} (you)` : label;
    };

    /** @param {RolePlayState} own */
    const renderSetup = (own) => {
      const state = store.state;
      if (!state) return null;
      const candidates = state.members.filter((member) => member.role !== 'observer');
      const sellerSelect = h('select', { id: 'roleplay-seller', required: true },
        h('option', { value: '' }, 'Choose the seller…'),
        ...candidates.map((member) => h('option', { value: member.member_id, selected: member.member_id === setupDraft.seller }, name(member.member_id))));
      const buyerSelect = h('select', { id: 'roleplay-buyer' },
        h('option', { value: '' }, 'No buyer (or played by someone outside)'),
        ...state.members.map((member) => h('option', { value: member.member_id, selected: member.member_id === setupDraft.buyer }, name(member.member_id))));
      const templateSelect = h('select', { id: 'roleplay-template' },
        ...own.view.templates.map((template) => h('option', { value: template.rubric.name, selected: template.rubric.name === setupDraft.template },
          `${template.rubric.name}${template.built_in ? '' : ' (group)'}`)));
      if (!setupDraft.template && own.view.templates[0]) setupDraft.template = own.view.templates[0].rubric.name;
      const scenario = h('textarea', { id: 'roleplay-scenario', rows: 3, maxlength: SCENARIO_CHARS_MAX, required: true, placeholder: 'e.g. Discovery call with the head of operations of a logistics firm.' });
      scenario.value = setupDraft.scenario;
      const brief = h('textarea', { id: 'roleplay-brief', rows: 2, maxlength: SCENARIO_CHARS_MAX, placeholder: 'Only the buyer sees this.' });
      brief.value = setupDraft.brief;
      const threshold = h('input', { type: 'number', id: 'roleplay-threshold', min: 2, max: 50, value: setupDraft.threshold });
      const keep = () => Object.assign(setupDraft, { seller: sellerSelect.value, buyer: buyerSelect.value, scenario: scenario.value, brief: brief.value, template: templateSelect.value, threshold: threshold.value });
      for (const control of [sellerSelect, buyerSelect, templateSelect, scenario, brief, threshold]) control.addEventListener('input', keep);
      const submit = h('button', { type: 'submit', class: 'button primary', id: 'roleplay-setup-submit', disabled: busy || !context.isConnected() }, 'Set up role play');
      const form = h('form', { class: 'roleplay-setup', id: 'roleplay-setup' },
        h('div', { class: 'form-row' },
          h('div', { class: 'field' }, h('label', { for: 'roleplay-seller' }, 'Seller'), sellerSelect),
          h('div', { class: 'field' }, h('label', { for: 'roleplay-buyer' }, 'Buyer (optional)'), buyerSelect),
          h('div', { class: 'field' }, h('label', { for: 'roleplay-template' }, 'Rubric'), templateSelect),
          h('div', { class: 'field' }, h('label', { for: 'roleplay-threshold' }, 'Reveal after'), threshold)),
        h('div', { class: 'field' }, h('label', { for: 'roleplay-scenario' }, 'Scenario (everyone sees it)'), scenario),
        h('div', { class: 'field' }, h('label', { for: 'roleplay-brief' }, 'Buyer brief (optional, private to the buyer)'), brief),
        h('div', { class: 'actions' }, submit));
      form.addEventListener('submit', async (submitEvent) => {
        submitEvent.preventDefault();
        keep();
        const template = own.view.templates.find((entry) => entry.rubric.name === setupDraft.template);
        if (!setupDraft.seller || !setupDraft.scenario.trim() || !template) return;
        /** @type {RolePlayRequest} */
        const action = { kind: 'set_up', seller: setupDraft.seller, scenario: setupDraft.scenario.trim(), rubric: template.rubric };
        if (setupDraft.buyer) action.buyer = setupDraft.buyer;
        if (setupDraft.buyer && setupDraft.brief.trim()) action.buyer_brief = setupDraft.brief.trim();
        const wanted = Number(setupDraft.threshold);
        if (Number.isInteger(wanted) && wanted >= 2) action.reveal_threshold = wanted;
        const reply = await act(action, 'Could not set up the role play');
        if (reply) Object.assign(setupDraft, { scenario: '', brief: '' });
      });
      return h('details', { class: 'roleplay-setup-box', open: !own.view.current || own.view.current.phase !== 'revealed' ? true : null },
        h('summary', {}, own.view.current ? 'Set up the next role play' : 'Set up a role play'), form);
    };

    /** @param {RolePlayInfo} current */
    const renderControls = (current) => {
      const id = current.role_play_id;
      const disabled = busy || !context.isConnected();
      const below = current.submission_count < current.reveal_threshold;
      const controls = h('div', { class: 'actions roleplay-controls', id: 'roleplay-controls' });
      if (current.phase === 'setup') controls.append(h('button', { type: 'button', class: 'button primary', id: 'roleplay-open', disabled, onclick: () => act({ kind: 'open_scoring', role_play_id: id }, 'Could not open scoring') }, 'Open scoring'));
      if (current.phase === 'scoring') controls.append(h('button', { type: 'button', class: 'button secondary', id: 'roleplay-close', disabled, onclick: () => act({ kind: 'close_scoring', role_play_id: id }, 'Could not close scoring') }, 'Close scoring'));
      if (current.phase === 'scoring' || current.phase === 'closed') {
        controls.append(h('button', { type: 'button', class: 'button primary', id: 'roleplay-reveal', disabled: disabled || below, 'aria-describedby': below ? 'roleplay-reveal-why' : null, onclick: () => act({ kind: 'reveal', role_play_id: id }, 'Could not reveal the results') }, 'Reveal results'));
      }
      if (current.phase !== 'revealed') controls.append(h('button', { type: 'button', class: 'button danger secondary', id: 'roleplay-cancel', disabled, onclick: () => act({ kind: 'cancel', role_play_id: id }, 'Could not cancel the role play') }, 'Cancel role play'));
      const why = (current.phase === 'scoring' || current.phase === 'closed') && below
        ? h('p', { class: 'hint', id: 'roleplay-reveal-why' }, `The reveal needs at least ${current.reveal_threshold} submissions, so nobody's scores can be singled out; ${current.reveal_threshold - current.submission_count} more to go.`)
        : null;
      return h('div', { class: 'roleplay-facilitator' }, controls, why);
    };

    /** @param {RolePlayInfo} current */
    const renderScoreForm = (current) => {
      if (draft.id !== current.role_play_id) draft = { id: current.role_play_id, scores: current.rubric.criteria.map(() => null), comment: '', oneThing: '' };
      const mine = submitted.has(current.role_play_id);
      const form = h('form', { class: 'roleplay-score', id: 'roleplay-score' });
      current.rubric.criteria.forEach((criterion, index) => {
        const values = [];
        for (let value = criterion.scale_min; value <= criterion.scale_max; value++) values.push(value);
        const groupName = `roleplay-c${index}`;
        /** @type {HTMLElement} */
        let control;
        if (values.length <= 10) {
          control = h('div', { class: 'scale', role: 'radiogroup', 'aria-labelledby': `${groupName}-name` },
            ...values.map((value) => {
              const radio = h('input', { type: 'radio', name: groupName, id: `${groupName}-${value}`, value, checked: draft.scores[index] === value, required: true });
              radio.addEventListener('change', () => { draft.scores[index] = value; });
              return h('label', { class: 'scale-point', for: `${groupName}-${value}` }, radio, h('span', {}, String(value)));
            }));
        } else {
          const select = h('select', { id: groupName, required: true, 'aria-labelledby': `${groupName}-name` },
            h('option', { value: '' }, '—'), ...values.map((value) => h('option', { value, selected: draft.scores[index] === value }, String(value))));
          select.addEventListener('change', () => { draft.scores[index] = select.value === '' ? null : Number(select.value); });
          control = select;
        }
        form.append(h('fieldset', { class: 'criterion', 'data-criterion': index },
          h('legend', { id: `${groupName}-name` }, criterion.name, h('span', { class: 'weight' }, ` ×${criterion.weight}`)),
          h('p', { class: 'hint' }, criterion.description, ` (${criterion.scale_min} to ${criterion.scale_max})`),
          control));
      });
      const comment = h('textarea', { id: 'roleplay-comment', rows: 2, maxlength: COMMENT_CHARS_MAX, placeholder: 'What worked, what did not (anonymous)' });
      comment.value = draft.comment;
      comment.addEventListener('input', () => { draft.comment = comment.value; });
      form.append(h('div', { class: 'field' }, h('label', { for: 'roleplay-comment' }, 'Comment'), comment));
      /** @type {HTMLInputElement | null} */
      let oneThing = null;
      if (current.rubric.one_thing_differently) {
        const input = h('input', { type: 'text', id: 'roleplay-one-thing', maxlength: ONE_THING_CHARS_MAX, value: draft.oneThing, placeholder: 'One thing to do differently' });
        input.addEventListener('input', () => { draft.oneThing = input.value; });
        oneThing = input;
        form.append(h('div', { class: 'field' }, h('label', { for: 'roleplay-one-thing' }, 'One thing to do differently'), input));
      }
      const button = h('button', { type: 'submit', class: 'button primary', id: 'roleplay-submit', disabled: busy || !context.isConnected() }, mine ? 'Update my scores' : 'Submit scores');
      form.append(h('div', { class: 'actions' }, button,
        mine ? h('span', { class: 'hint', id: 'roleplay-submitted' }, 'Submitted anonymously. You may revise until scoring closes.') : null));
      form.addEventListener('submit', async (submitEvent) => {
        submitEvent.preventDefault();
        if (draft.scores.some((score) => score === null)) return;
        /** @type {RolePlayRequest} */
        const action = { kind: 'submit', role_play_id: current.role_play_id, scores: draft.scores.map(Number), comment: draft.comment.trim() };
        if (oneThing && draft.oneThing.trim()) action.one_thing_differently = draft.oneThing.trim();
        const reply = await act(action, 'Could not submit your scores');
        if (reply) {
          submitted.add(current.role_play_id);
          drawnKey = '';
          redraw();
        }
      });
      return form;
    };

    /** @param {RolePlayResults} results @param {RolePlayState} own */
    const renderResults = (results, own) => {
      const trend = own.view.seller_trends.find((entry) => entry.seller === results.seller);
      return h('section', { class: 'roleplay-results', id: 'roleplay-results', 'data-role-play-id': results.role_play_id },
        h('h3', {}, `Results: ${name(results.seller)} — ${results.rubric_name}`),
        h('p', { class: 'overall' }, h('b', { id: 'roleplay-overall' }, `${Math.round(results.overall_percent)}%`), ` overall, from ${results.submission_count} anonymous scorers`),
        h('ul', { class: 'criterion-results' }, ...results.criteria.map((criterion) => {
          const most = Math.max(1, ...criterion.distribution);
          return h('li', { class: 'criterion-result' },
            h('div', { class: 'criterion-head' }, h('b', {}, criterion.name),
              h('span', { class: 'stats' }, `mean ${fmt(criterion.mean)} · median ${fmt(criterion.median)} · min ${criterion.min} · max ${criterion.max}`)),
            h('div', { class: 'distribution', 'aria-label': `How many gave each score from ${criterion.scale_min} to ${criterion.scale_max}` },
              ...criterion.distribution.map((count, offset) => h('span', { class: 'bar', title: `${criterion.scale_min + offset}: ${count}` },
                h('span', { class: 'fill', style: `height: ${Math.round((count / most) * 100)}%` }),
                h('small', {}, String(criterion.scale_min + offset))))));
        })),
        results.comments.length ? h('div', {}, h('h4', {}, 'Comments'), h('ul', { class: 'comments', id: 'roleplay-comments' }, ...results.comments.map((text) => h('li', {}, text)))) : null,
        results.one_thing_differently.length ? h('div', {}, h('h4', {}, 'One thing to do differently'), h('ul', { class: 'comments' }, ...results.one_thing_differently.map((text) => h('li', {}, text)))) : null,
        trend && trend.points.length > 1
          ? h('div', { class: 'trend', id: 'roleplay-trend' }, h('h4', {}, results.seller === store.myMemberId ? 'Your trend' : `${store.member(results.seller)?.display_name ?? 'The seller'}'s trend`),
            h('ol', { class: 'trend-points' }, ...trend.points.map((point) => h('li', {}, `Meeting ${point.meeting_number} (${point.rubric_name}): ${Math.round(point.overall_percent)}%`))))
          : null);
    };

    let drawnKey = '';
    /** @type {unknown} */
    let drawnState = null;
    function redraw() {
      drawnKey = '';
      draw();
    }
    function draw() {
      const state = store.state;
      const own = /** @type {RolePlayState | undefined} */ (state?.features.role_play);
      if (!state || !own) return;
      const me = store.me();
      const facilitator = store.iAmFacilitator();
      const key = `${own.version}|${busy}|${context.isConnected()}|${me?.role}|${state.members.map((member) => member.member_id + member.display_name + member.role).join(',')}`;
      if (drawnState === own && drawnKey === key) return;
      drawnState = own;
      drawnKey = key;
      const focusedId = body.contains(document.activeElement) ? document.activeElement?.id : null;
      const current = own.view.current;
      /** @type {(HTMLElement | null)[]} */
      const parts = [];
      if (current) {
        const iAmSeller = current.seller === store.myMemberId;
        const iAmBuyer = !!current.buyer && current.buyer === store.myMemberId;
        parts.push(h('div', { class: 'roleplay-current', 'data-phase': current.phase },
          h('div', { class: 'roleplay-who' },
            h('span', {}, 'Seller: ', h('b', {}, name(current.seller))),
            current.buyer ? h('span', {}, 'Buyer: ', h('b', {}, name(current.buyer))) : null,
            h('span', { class: 'tag', id: 'roleplay-phase' }, phaseLabel(current.phase)),
            h('span', { class: 'tag', id: 'roleplay-rubric' }, current.rubric.name)),
          h('p', { class: 'roleplay-scenario', id: 'roleplay-scenario-text' }, current.scenario),
          iAmBuyer && own.view.buyer_brief ? h('div', { class: 'roleplay-brief', id: 'roleplay-brief-text' }, h('b', {}, 'Your private brief (only you see this): '), own.view.buyer_brief) : null,
          current.phase === 'scoring' || current.phase === 'closed' ? h('p', { class: 'roleplay-count', id: 'roleplay-count' },
            `${current.submission_count} ${current.submission_count === 1 ? 'submission' : 'submissions'} so far`, h('span', { class: 'hint' }, ` (reveal needs ${current.reveal_threshold})`)) : null));
        if (facilitator) parts.push(renderControls(current));
        if (current.phase === 'scoring') {
          if (iAmSeller) parts.push(h('p', { class: 'roleplay-wait', id: 'roleplay-seller-wait' }, 'Scoring in progress. Your results appear here when the facilitator reveals them.'));
          else if (me && me.role !== 'observer') parts.push(renderScoreForm(current));
          else parts.push(h('p', { class: 'hint' }, 'Scoring in progress.'));
        } else if (current.phase === 'closed') {
          parts.push(h('p', { class: 'roleplay-wait' }, 'Scoring is closed; the results are waiting for the reveal.'));
        } else if (current.phase === 'setup') {
          parts.push(h('p', { class: 'hint' }, 'Scoring opens after the role play.'));
        }
      } else {
        parts.push(h('p', { class: 'empty', id: 'roleplay-empty' }, 'No role play right now.'));
      }
      const last = own.view.revealed[own.view.revealed.length - 1];
      if (last && (!current || current.phase === 'revealed' || current.role_play_id !== last.role_play_id)) parts.push(renderResults(last, own));
      if (facilitator && (!current || current.phase === 'setup' || current.phase === 'revealed')) parts.push(renderSetup(own));
      body.replaceChildren(...parts.filter((part) => part !== null));
      if (focusedId) document.getElementById(focusedId)?.focus();
    }

    return { element, update: draw };
  },
};
