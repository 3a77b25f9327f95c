// @ts-check
// Role play and anonymous scoring. A facilitator sets up a role play (seller, optional buyer with
// a private brief, scenario, a rubric from a template), opens scoring, closes it and reveals the
// results once enough members have scored. Everyone sees the scenario and the number of
// submissions, never who submitted; only the buyer sees the brief. Scorers (not the seller, not
// observers) fill the rubric (score.js) and may revise until scoring closes. Revealed results
// (results.js) show each criterion's statistics and distribution, the overall score in plain
// words, the comments and the seller's trend. Cancelling a role play that has anonymous scores
// asks first, saying how many would be lost. In the next meeting, last meeting's revealed role
// play leaves the stage (`rolePlayStage`): its results wait behind a closed disclosure.
//
// The facilitator's setup starts from a template (built-in or the group's) and edits it before
// setting up: rename it, add, remove and reorder criteria (name, description, scale, weight),
// with the server's limits checked field by field (js/rubric.js); the edited rubric can be saved
// as a group template, and a group template deleted.

import { rolePlayStage } from './state.js';
import { renderResults, renderEarlier } from './results.js';
import { scoreForm } from './score.js';
import { plural } from '../../format.js';
import { currentItem } from '../meeting/model.js';
import { patch, listen, formField } from '../../render.js';
import { h, announce, confirmDialog } from '../../ui.js';
import {
  CRITERIA_MAX, RUBRIC_NAME_CHARS_MAX, CRITERION_NAME_CHARS_MAX, CRITERION_DESCRIPTION_CHARS_MAX, SCALE_POINTS_MAX, WEIGHT_MAX,
  GROUP_TEMPLATES_MAX, checkRubric, criterionFieldIds, draftOf, moveCriterion, newCriterion, sameName, templateProblem,
} from './rubric.js';

/** @typedef {import('../../protocol').RolePlayView} RolePlayView */
/** @typedef {import('../../protocol').RolePlayInfo} RolePlayInfo */
/** @typedef {import('../../protocol').RolePlayResults} RolePlayResults */
/** @typedef {import('../../protocol').RolePlayEvent} RolePlayEvent */
/** @typedef {import('../../protocol').RolePlayRequest} RolePlayRequest */
/** @typedef {import('../../protocol').Rubric} Rubric */
/** @typedef {import('./rubric.js').RubricDraft} RubricDraft */
/** @typedef {import('./rubric.js').RubricProblem} RubricProblem */

/** @typedef {import('./state.js').RolePlayState} RolePlayState */

/** The server's limits (PROTOCOL.md). */
export const SCENARIO_CHARS_MAX = 2000;
/** @param {import('../../protocol').RolePlayPhase} phase */
function phaseLabel(phase) {
  return { setup: 'the call', scoring: 'scoring open', closed: 'scoring closed', revealed: 'revealed' }[phase];
}

/** @type {import('../index.js').Panel} */
export const rolePlayPanel = {
  id: 'role_play',
  view: 'roleplay',
  mount(context) {
    const { store } = context;
    const body = h('div', { class: 'roleplay-body', id: 'roleplay-body' });
    const element = h('section', { class: 'panel', id: 'panel-roleplay', 'aria-labelledby': 'roleplay-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'roleplay-title', tabindex: '-1' }, 'Role play')),
      body);

    /** The scorer's form, with what they have filled in so far. */
    const scoring = scoreForm();
    /** @type {{ seller: string, buyer: string, scenario: string, brief: string, template: string, threshold: string }} */
    const setupDraft = { seller: '', buyer: '', scenario: '', brief: '', template: '', threshold: '3' };
    /** @type {RubricDraft | null} The rubric being edited, loaded from the chosen template. */
    let rubricDraft = null;
    /** Whether the rubric differs from the template it was loaded from. */
    let rubricDirty = false;
    /** Whether the rubric editor and the setup box are open (kept across redraws). */
    let rubricOpen = false;
    let setupOpen = false;
    /** @type {RubricProblem[]} What the last attempt to set up or save found wrong. */
    let problems = [];
    /** @type {string | null} The element to focus after the next redraw. */
    let focusAfterDraw = null;
    let busy = false;

    /** @returns {RolePlayState | undefined} */
    const ownState = () => /** @type {RolePlayState | undefined} */ (store.state?.features.role_play);
    /** @param {RolePlayState} own @param {string} templateName */
    const templateNamed = (own, templateName) => own.view.templates.find((template) => template.rubric.name === templateName);

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
      // The control used is gone or was disabled while busy: the focus goes to the next step
      // (the facilitator's first control: Open scoring, Reveal results), else the heading.
      if (!document.activeElement || document.activeElement === document.body) {
        /** @type {HTMLElement | null} */ (body.querySelector('#roleplay-controls button:not([disabled])') ?? element.querySelector('#roleplay-title'))?.focus();
      }
      return reply;
    };

    /** @param {string} id */
    const name = (id) => {
      const member = store.member(id);
      const label = member?.display_name ?? 'A former member';
      return id === store.myMemberId ? `${label} (you)` : label;
    };

    /**
     * @param {RolePlayState} own
     * @param {RolePlayInfo | null} current The role play on the stage, if any.
     */
    const renderSetup = (own, current) => {
      const state = store.state;
      if (!state) return null;
      const templates = own.view.templates;
      if (!setupDraft.template && !rubricDraft && templates[0]) setupDraft.template = templates[0].rubric.name;
      const selected = templateNamed(own, setupDraft.template);
      if (!rubricDraft && selected) {
        rubricDraft = draftOf(selected.rubric);
        rubricDirty = false;
      }
      const candidates = state.members.filter((member) => member.role !== 'observer');
      const sellerSelect = h('select', { id: 'roleplay-seller', ...invalidProps('roleplay-seller') },
        h('option', { value: '' }, 'Choose the seller…'),
        ...candidates.map((member) => h('option', { value: member.member_id, selected: member.member_id === setupDraft.seller }, name(member.member_id))));
      const buyerSelect = h('select', { id: 'roleplay-buyer' },
        h('option', { value: '' }, 'No buyer (or played by someone outside)'),
        ...state.members.map((member) => h('option', { value: member.member_id, selected: member.member_id === setupDraft.buyer }, name(member.member_id))));
      const templateSelect = h('select', { id: 'roleplay-template', 'aria-describedby': 'roleplay-template-hint' },
        selected ? null : h('option', { value: '', selected: true }, 'Custom rubric (edited)'),
        ...templates.map((template) => h('option', { value: template.rubric.name, selected: !!selected && template.rubric.name === selected.rubric.name },
          `${template.rubric.name}${template.built_in ? '' : ' (group)'}`)));
      listen(templateSelect, 'change', async (changeEvent) => {
        // The select on the page (this draw's copy may have been dropped for it).
        const onPage = /** @type {HTMLSelectElement} */ (changeEvent.currentTarget);
        const wanted = onPage.value;
        const template = templateNamed(own, wanted);
        if (!template) return;
        if (rubricDirty && rubricDraft) {
          const replace = await confirmDialog('Load another template?',
            `Your changes to the rubric "${rubricDraft.name.trim() || 'without a name'}" will be replaced by the template "${wanted}".`, 'Load template');
          if (!replace) {
            onPage.value = selected ? selected.rubric.name : '';
            return;
          }
        }
        setupDraft.template = wanted;
        rubricDraft = draftOf(template.rubric);
        rubricDirty = false;
        problems = [];
        focusAfterDraw = 'roleplay-template';
        redraw();
      });
      const scenario = h('textarea', { id: 'roleplay-scenario', rows: 3, maxlength: SCENARIO_CHARS_MAX, placeholder: 'e.g. Discovery call with the head of operations of a logistics firm.', ...invalidProps('roleplay-scenario') });
      scenario.value = setupDraft.scenario;
      const brief = h('textarea', { id: 'roleplay-brief', rows: 2, maxlength: SCENARIO_CHARS_MAX, placeholder: 'Only the buyer sees this.' });
      brief.value = setupDraft.brief;
      const threshold = h('input', { type: 'number', id: 'roleplay-threshold', min: 3, max: 50, step: 1, value: setupDraft.threshold, ...invalidProps('roleplay-threshold') });
      /** Copies the fields on the page (the event's form) into the draft. @param {Event} event */
      const keep = (event) => Object.assign(setupDraft, {
        seller: formField(event, 'roleplay-seller').value, buyer: formField(event, 'roleplay-buyer').value,
        scenario: formField(event, 'roleplay-scenario').value, brief: formField(event, 'roleplay-brief').value,
        threshold: formField(event, 'roleplay-threshold').value,
      });
      for (const control of [sellerSelect, buyerSelect, scenario, brief, threshold]) {
        listen(control, 'input', (inputEvent) => {
          keep(inputEvent);
          clearProblem(/** @type {HTMLElement} */ (inputEvent.currentTarget));
        });
      }
      const disabled = busy || !context.isConnected();
      const submit = h('button', { type: 'submit', class: 'button primary', id: 'roleplay-setup-submit', disabled }, 'Set up role play');
      const form = h('form', { class: 'roleplay-setup', id: 'roleplay-setup', novalidate: true },
        problems.length ? renderProblems() : null,
        h('div', { class: 'form-row' },
          h('div', { class: 'field' }, h('label', { for: 'roleplay-seller' }, 'Seller'), sellerSelect, problemText('roleplay-seller')),
          h('div', { class: 'field' }, h('label', { for: 'roleplay-buyer' }, 'Buyer (optional)'), buyerSelect),
          h('div', { class: 'field' }, h('label', { for: 'roleplay-threshold' }, 'Scorers needed before the reveal'), threshold, h('p', { class: 'hint' }, 'Results stay hidden until at least this many people have scored, so no single score can be picked out.'), problemText('roleplay-threshold'))),
        h('div', { class: 'field' }, h('label', { for: 'roleplay-scenario' }, 'Scenario (everyone sees it)'), scenario, problemText('roleplay-scenario')),
        h('div', { class: 'field' }, h('label', { for: 'roleplay-brief' }, 'Buyer brief (optional, private to the buyer)'), brief),
        h('div', { class: 'field' },
          h('label', { for: 'roleplay-template' }, 'Rubric template'),
          templateSelect,
          h('p', { class: 'hint', id: 'roleplay-template-hint' }, 'Start from a template, then change it below if you like.')),
        rubricDraft ? renderRubricEditor(own, selected ?? null) : null,
        h('div', { class: 'actions' }, submit));
      listen(form, 'submit', async (submitEvent) => {
        submitEvent.preventDefault();
        keep(submitEvent);
        /** @type {RubricProblem[]} */
        const found = [];
        if (!setupDraft.seller) found.push({ field: 'roleplay-seller', message: 'Choose who plays the seller.' });
        if (!setupDraft.scenario.trim()) found.push({ field: 'roleplay-scenario', message: 'Describe the scenario everyone will see.' });
        const wanted = Number(setupDraft.threshold);
        if (setupDraft.threshold.trim() !== '' && !(Number.isInteger(wanted) && wanted >= 3)) {
          found.push({ field: 'roleplay-threshold', message: 'The reveal needs a whole number of submissions, at least 3.' });
        }
        const checked = rubricDraft ? checkRubric(rubricDraft) : { rubric: null, problems: [{ field: 'roleplay-template', message: 'Choose a rubric template.' }] };
        found.push(...checked.problems);
        if (found.length || !checked.rubric) {
          showProblems(found);
          return;
        }
        /** @type {RolePlayRequest} */
        const action = { kind: 'set_up', seller: setupDraft.seller, scenario: setupDraft.scenario.trim(), rubric: checked.rubric };
        if (setupDraft.buyer) action.buyer = setupDraft.buyer;
        if (setupDraft.buyer && setupDraft.brief.trim()) action.buyer_brief = setupDraft.brief.trim();
        if (setupDraft.threshold.trim() !== '') action.reveal_threshold = wanted;
        problems = [];
        const reply = await act(action, 'Could not set up the role play');
        if (reply) {
          Object.assign(setupDraft, { scenario: '', brief: '' });
          setupOpen = false;
        }
      });
      // While a role play is on (being set up, or revealed) the box for the next one starts
      // closed, so the current one and its controls stand out; it stays as the facilitator
      // leaves it.
      const collapsed = !!current;
      // Keyed by the current role play: a new one starts its box closed (a kept box keeps
      // whatever the person opened).
      return h('details', { class: 'roleplay-setup-box', 'data-key': `setup-${current?.role_play_id ?? 'first'}`, open: !collapsed || setupOpen ? true : null,
        ontoggle: (/** @type {Event} */ toggle) => { if (collapsed) setupOpen = /** @type {HTMLDetailsElement} */ (toggle.currentTarget).open; } },
      h('summary', {}, current ? 'Set up the next role play' : 'Set up a role play'), form);
    };

    /**
     * The rubric being edited: its name, its criteria (each with name, description, scale and
     * weight, movable and removable), "one thing to do differently", and the template actions.
     * @param {RolePlayState} own
     * @param {import('../../protocol').RubricTemplate | null} selected The template it started from.
     */
    const renderRubricEditor = (own, selected) => {
      const draft = /** @type {RubricDraft} */ (rubricDraft);
      const disabled = busy || !context.isConnected();
      const summaryText = () => `Edit the rubric: ${draft.name.trim() || 'no name yet'}, ${draft.criteria.length} ${draft.criteria.length === 1 ? 'criterion' : 'criteria'}${rubricDirty ? ' (changed)' : ''}`;
      /**
       * An input bound to one field of the draft: edits go into the draft without a redraw.
       * @param {HTMLInputElement | HTMLTextAreaElement} control
       * @param {(value: string) => void} write
       */
      const bind = (control, write) => {
        listen(control, 'input', (inputEvent) => {
          const onPage = /** @type {HTMLInputElement} */ (inputEvent.currentTarget);
          write(onPage.value);
          rubricDirty = true;
          clearProblem(onPage);
          const summary = document.getElementById('rubric-summary');
          if (summary) summary.textContent = summaryText();
        });
        return control;
      };
      const nameInput = bind(h('input', { type: 'text', id: 'rubric-name', value: draft.name, maxlength: RUBRIC_NAME_CHARS_MAX, autocomplete: 'off', ...invalidProps('rubric-name') }),
        (value) => { draft.name = value; });
      /** @param {number} index @param {number} to @param {string} focusId */
      const move = (index, to, focusId) => {
        moveCriterion(draft, index, to);
        rubricDirty = true;
        problems = [];
        focusAfterDraw = focusId;
        announce(`Criterion "${draft.criteria[to].name.trim() || to + 1}" moved to position ${to + 1}.`);
        redraw();
      };
      const count = draft.criteria.length;
      const rows = draft.criteria.map((criterion, index) => {
        const ids = criterionFieldIds(index);
        const number = index + 1;
        /** The buttons name the criterion, and follow its name as it is typed. */
        const labelOf = () => (criterion.name.trim() ? `criterion ${number}, ${criterion.name.trim()}` : `criterion ${number}`);
        const numberInput = (/** @type {string} */ id, /** @type {string} */ value, /** @type {number} */ min, /** @type {number | null} */ max, /** @type {(value: string) => void} */ write) =>
          bind(h('input', { type: 'number', id, value, min, max, step: 1, inputmode: 'numeric', class: 'num', ...invalidProps(id) }), write);
        const upButton = h('button', { type: 'button', class: 'button secondary small', id: `criterion-${index}-up`, disabled: index === 0,
          onclick: () => move(index, index - 1, index - 1 === 0 ? 'criterion-0-down' : `criterion-${index - 1}-up`) }, '↑ Up');
        const downButton = h('button', { type: 'button', class: 'button secondary small', id: `criterion-${index}-down`, disabled: index === count - 1,
          onclick: () => move(index, index + 1, index + 1 === count - 1 ? `criterion-${index + 1}-up` : `criterion-${index + 1}-down`) }, '↓ Down');
        const removeButton = h('button', { type: 'button', class: 'button secondary small remove', id: `criterion-${index}-remove`, disabled: count <= 1,
          onclick: () => {
            const removed = draft.criteria.splice(index, 1)[0];
            rubricDirty = true;
            problems = [];
            focusAfterDraw = draft.criteria.length ? criterionFieldIds(Math.min(index, draft.criteria.length - 1)).name : 'rubric-add';
            announce(`Criterion "${removed.name.trim() || number}" removed.`);
            redraw();
          } }, 'Remove');
        /** Names the buttons, this draw's and those on the page (found by id: a patch may keep those for these). */
        const label = () => {
          for (const [button, name] of /** @type {[HTMLElement, string][]} */ ([[upButton, `Move ${labelOf()} up`], [downButton, `Move ${labelOf()} down`], [removeButton, `Remove ${labelOf()}`]])) {
            button.setAttribute('aria-label', name);
            document.getElementById(button.id)?.setAttribute('aria-label', name);
          }
        };
        label();
        return h('li', { class: 'criterion-edit', 'data-criterion': index },
          h('fieldset', {},
            h('legend', {}, `Criterion ${number}`),
            h('div', { class: 'criterion-edit-tools' }, upButton, downButton, removeButton),
            h('div', { class: 'criterion-edit-fields' },
              h('div', { class: 'field grow' }, h('label', { for: ids.name }, 'Name'),
                bind(h('input', { type: 'text', id: ids.name, value: criterion.name, maxlength: CRITERION_NAME_CHARS_MAX, autocomplete: 'off', ...invalidProps(ids.name) }), (value) => {
                  criterion.name = value;
                  label();
                })),
              h('div', { class: 'field num-field' }, h('label', { for: ids.scale_min }, 'Lowest'),
                numberInput(ids.scale_min, criterion.scale_min, 0, null, (value) => { criterion.scale_min = value; })),
              h('div', { class: 'field num-field' }, h('label', { for: ids.scale_max }, 'Highest'),
                numberInput(ids.scale_max, criterion.scale_max, 1, null, (value) => { criterion.scale_max = value; })),
              h('div', { class: 'field num-field' }, h('label', { for: ids.weight }, 'Weight'),
                numberInput(ids.weight, criterion.weight, 1, WEIGHT_MAX, (value) => { criterion.weight = value; }))),
            // The row's messages go under the whole row, where they have room.
            problemText(ids.name), problemText(ids.scale_min), problemText(ids.scale_max), problemText(ids.weight),
            h('div', { class: 'field' }, h('label', { for: ids.description }, 'What a good score looks like (optional)'),
              (() => {
                const area = h('textarea', { id: ids.description, rows: 2, maxlength: CRITERION_DESCRIPTION_CHARS_MAX, ...invalidProps(ids.description) });
                area.value = criterion.description;
                return bind(area, (value) => { criterion.description = value; });
              })(),
              problemText(ids.description))));
      });
      const oneThing = h('input', { type: 'checkbox', id: 'rubric-one-thing', checked: draft.one_thing_differently });
      listen(oneThing, 'change', (changeEvent) => {
        draft.one_thing_differently = /** @type {HTMLInputElement} */ (changeEvent.currentTarget).checked;
        rubricDirty = true;
      });
      const full = count >= CRITERIA_MAX;
      const groupTemplate = selected && !selected.built_in ? selected : null;
      const ownCount = own.view.templates.filter((template) => !template.built_in).length;
      return h('details', { class: 'rubric-editor', id: 'rubric-editor', open: rubricOpen ? true : null,
        ontoggle: (/** @type {Event} */ toggle) => { rubricOpen = /** @type {HTMLDetailsElement} */ (toggle.currentTarget).open; } },
      h('summary', { id: 'rubric-summary' }, summaryText()),
      h('div', { class: 'rubric-editor-body' },
        h('p', { class: 'hint', id: 'rubric-limits' },
          `Limits: 1 to ${CRITERIA_MAX} criteria; names up to ${RUBRIC_NAME_CHARS_MAX} characters, descriptions up to ${CRITERION_DESCRIPTION_CHARS_MAX}; `
          + `whole-number scales from 0 up with 2 to ${SCALE_POINTS_MAX} points (like 1 to 5); weights from 1 to ${WEIGHT_MAX}. The group keeps up to ${GROUP_TEMPLATES_MAX} templates of its own.`),
        h('div', { class: 'field' }, h('label', { for: 'rubric-name' }, 'Rubric name'), nameInput, problemText('rubric-name')),
        h('ol', { class: 'criteria-edit', id: 'rubric-criteria', 'aria-label': 'Criteria' }, ...rows),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'button secondary', id: 'rubric-add', disabled: full, 'aria-describedby': full ? 'rubric-add-full' : null,
            onclick: () => {
              draft.criteria.push(newCriterion());
              rubricDirty = true;
              problems = problems.filter((problem) => problem.field !== 'rubric-add');
              focusAfterDraw = criterionFieldIds(draft.criteria.length - 1).name;
              redraw();
            } }, '+ Add criterion'),
          full ? h('span', { class: 'hint', id: 'rubric-add-full' }, `${CRITERIA_MAX} criteria is the most a rubric may have.`) : null,
          problemText('rubric-add')),
        h('label', { class: 'check' }, oneThing, ' Ask scorers for "one thing to do differently"'),
        h('div', { class: 'actions rubric-template-actions' },
          h('button', { type: 'button', class: 'button secondary', id: 'rubric-save', disabled, 'aria-describedby': 'rubric-save-hint', onclick: () => saveTemplate() }, 'Save as template'),
          groupTemplate ? h('button', { type: 'button', class: 'button danger secondary', id: 'rubric-delete', disabled, onclick: () => deleteTemplate(groupTemplate.rubric.name) }, `Delete template "${groupTemplate.rubric.name}"`) : null,
          selected && rubricDirty ? h('button', { type: 'button', class: 'button secondary', id: 'rubric-reset', onclick: () => {
            rubricDraft = draftOf(selected.rubric);
            rubricDirty = false;
            problems = [];
            focusAfterDraw = 'rubric-name';
            announce(`The rubric is back to the template "${selected.rubric.name}".`);
            redraw();
          } }, 'Undo my changes') : null),
        h('p', { class: 'hint', id: 'rubric-save-hint' }, `Saves this rubric under its name for the whole group (${ownCount} of ${GROUP_TEMPLATES_MAX} saved); a group template of the same name is replaced.`)));
    };

    /** The problems of the last attempt, as a list that links to each field. */
    const renderProblems = () => h('div', { class: 'form-problems', id: 'roleplay-problems', role: 'alert' },
      h('p', {}, problems.length === 1 ? 'One thing to fix first:' : `${problems.length} things to fix first:`),
      h('ul', {}, ...problems.map((problem) => h('li', {},
        h('a', { href: `#${problem.field}`, onclick: (/** @type {Event} */ click) => {
          click.preventDefault();
          document.getElementById(problem.field)?.focus();
        } }, problem.message)))));

    /** @param {string} field */
    const problemOf = (field) => problems.find((problem) => problem.field === field);
    /** @param {string} field Attributes that tie a field to its problem, if it has one. */
    const invalidProps = (field) => problemOf(field) ? { 'aria-invalid': 'true', 'aria-describedby': `${field}-problem` } : {};
    /** @param {string} field */
    const problemText = (field) => {
      const problem = problemOf(field);
      return problem ? h('p', { class: 'field-problem', id: `${field}-problem` }, problem.message) : null;
    };
    /**
     * The person is fixing this field: its message goes (the others stay until the next try).
     * @param {HTMLElement} control
     */
    const clearProblem = (control) => {
      if (!problemOf(control.id)) return;
      problems = problems.filter((problem) => problem.field !== control.id);
      control.removeAttribute('aria-invalid');
      control.removeAttribute('aria-describedby');
      document.getElementById(`${control.id}-problem`)?.remove();
    };
    /** @param {RubricProblem[]} found */
    const showProblems = (found) => {
      problems = found;
      if (found.some((problem) => problem.field.startsWith('rubric-') || problem.field.startsWith('criterion-'))) rubricOpen = true;
      focusAfterDraw = found[0]?.field ?? null;
      redraw();
    };

    const saveTemplate = async () => {
      if (!rubricDraft) return;
      const own = ownState();
      if (!own) return;
      const checked = checkRubric(rubricDraft);
      const blocker = checked.rubric ? templateProblem(checked.rubric, own.view.templates) : null;
      if (!checked.rubric || blocker) {
        showProblems(blocker ? [blocker] : checked.problems);
        return;
      }
      const rubric = checked.rubric;
      const existing = own.view.templates.find((template) => !template.built_in && sameName(template.rubric.name, rubric.name));
      if (existing) {
        const replace = await confirmDialog(`Replace the template "${existing.rubric.name}"?`,
          'The group already has a template of this name. Saving replaces it for every facilitator of the group.', 'Replace template');
        if (!replace) return;
      }
      problems = [];
      const reply = await act({ kind: 'save_template', rubric }, 'Could not save the template');
      if (!reply) return;
      setupDraft.template = rubric.name;
      rubricDraft = draftOf(rubric);
      rubricDirty = false;
      focusAfterDraw = 'roleplay-template';
      announce(`Template "${rubric.name}" saved for the group.`);
      redraw();
    };

    /** @param {string} templateName */
    const deleteTemplate = async (templateName) => {
      const confirmed = await confirmDialog(`Delete the template "${templateName}"?`,
        'It leaves the template list of every facilitator of the group. Role plays set up with it keep their rubric.', 'Delete template');
      if (!confirmed) return;
      const reply = await act({ kind: 'delete_template', name: templateName }, 'Could not delete the template');
      if (!reply) return;
      const own = ownState();
      const first = own?.view.templates[0];
      if (!rubricDirty && first) {
        setupDraft.template = first.rubric.name;
        rubricDraft = draftOf(first.rubric);
      } else {
        // Keep the edits; the rubric no longer comes from a template.
        setupDraft.template = '';
      }
      problems = [];
      focusAfterDraw = 'roleplay-template';
      announce(`Template "${templateName}" deleted.`);
      redraw();
    };

    /**
     * Cancels the role play; when anonymous scores were submitted, only after the facilitator
     * confirms losing them (nobody could ever restore them: nobody knows who gave them).
     * @param {string} id
     */
    const cancel = async (id) => {
      const scored = ownState()?.view.current?.submission_count ?? 0;
      if (scored > 0) {
        const sure = await confirmDialog('Cancel the role play?',
          `${plural(scored, 'anonymous score has', 'anonymous scores have')} been submitted. Cancelling deletes `
          + `${scored === 1 ? 'it' : 'them'} for good: nobody can restore ${scored === 1 ? 'it' : 'them'}, since nobody knows who gave ${scored === 1 ? 'it' : 'them'}.`,
          `Cancel and delete ${plural(scored, 'score')}`, 'Keep the role play');
        if (!sure) return;
      }
      await act({ kind: 'cancel', role_play_id: id }, 'Could not cancel the role play');
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
      if (current.phase !== 'revealed') controls.append(h('button', { type: 'button', class: 'button danger secondary', id: 'roleplay-cancel', disabled, onclick: () => cancel(id) }, 'Cancel role play'));
      const why = (current.phase === 'scoring' || current.phase === 'closed') && below
        ? h('p', { class: 'hint', id: 'roleplay-reveal-why' }, `The reveal needs at least ${current.reveal_threshold} submissions, so nobody's scores can be singled out; ${current.reveal_threshold - current.submission_count} more to go.`)
        : null;
      return h('div', { class: 'roleplay-facilitator' }, controls, why);
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
      // The current item's kind too: it decides what the empty stage says.
      const key = `${state.meeting.number}|${busy}|${context.isConnected()}|${me?.role}|${currentItem(state)?.kind}|${state.members.map((member) => member.member_id + member.display_name + member.role).join(',')}`;
      if (drawnState === own && drawnKey === key) return;
      drawnState = own;
      drawnKey = key;
      const focused = body.contains(document.activeElement) ? /** @type {HTMLElement | null} */ (document.activeElement) : null;
      const focusedId = focused?.id || null;
      const selection = focused instanceof HTMLInputElement || focused instanceof HTMLTextAreaElement
        ? (() => { try { return [focused.selectionStart, focused.selectionEnd]; } catch { return null; } })()
        : null;
      // Last meeting's revealed role play is over: the stage shows this meeting's.
      const stage = rolePlayStage(own.view, state.meeting.number);
      const current = stage.current;
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
            `${current.submission_count} ${current.submission_count === 1 ? 'submission' : 'submissions'} so far`, h('span', { class: 'hint' }, ` · results are shown once ${plural(current.reveal_threshold, 'person has', 'people have')} scored`)) : null));
        if (facilitator) parts.push(renderControls(current));
        if (current.phase === 'scoring') {
          if (iAmSeller) parts.push(h('p', { class: 'roleplay-wait', id: 'roleplay-seller-wait' }, 'Scoring in progress. Your results appear here when the facilitator reveals them.'));
          else if (me && me.role !== 'observer') parts.push(scoring.render(current, own, {
            store, disabled: busy || !context.isConnected(), act,
            redrawFocusing: (id) => { focusAfterDraw = id; redraw(); },
          }));
          else parts.push(h('p', { class: 'hint' }, 'Scoring in progress.'));
        } else if (current.phase === 'closed') {
          parts.push(h('p', { class: 'roleplay-wait' }, 'Scoring is closed; the results are waiting for the reveal.'));
        } else if (current.phase === 'setup') {
          parts.push(h('p', { class: 'hint', id: 'roleplay-threshold-means' }, `Scoring opens after the role play. The results are shown only once at least ${plural(current.reveal_threshold, 'person has', 'people have')} scored, so nobody's scores can be picked out.`));
        }
      } else {
        // While the role play is the meeting's current item, members are told it is coming
        // (the bar says it is being set up; "No role play right now" said the opposite).
        const upNext = !facilitator && currentItem(state)?.kind === 'role_play';
        parts.push(h('p', { class: 'empty', id: 'roleplay-empty' }, upNext
          ? 'The facilitator is setting up the role play: the seller, the buyer and the scenario show here once it starts.'
          : 'No role play right now.'));
      }
      const names = { name, displayName: (/** @type {string} */ id) => store.member(id)?.display_name ?? null, myMemberId: store.myMemberId };
      if (stage.results) parts.push(renderResults(stage.results, own, names));
      else if (stage.earlier) parts.push(renderEarlier(stage.earlier, own, state.meeting.number, names));
      if (facilitator && (!current || current.phase === 'setup' || current.phase === 'revealed')) parts.push(renderSetup(own, current));
      patch(body, () => parts.filter((part) => part !== null));
      const wanted = focusAfterDraw;
      focusAfterDraw = null;
      const target = wanted ? document.getElementById(wanted) : focusedId ? document.getElementById(focusedId) : null;
      if (target && !(/** @type {HTMLButtonElement} */ (target)).disabled) {
        target.focus();
        if (!wanted && selection && selection[0] !== null && (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement)) {
          try { target.setSelectionRange(selection[0], selection[1]); } catch { /* number inputs have no selection */ }
        }
      }
    }

    return { element, update: draw };
  },
};
