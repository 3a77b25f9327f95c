// @ts-check
// The scorer's form of a role play: one score per criterion (radio buttons, or a list for long
// scales), a comment and "one thing to do differently", all anonymous. A scorer who has
// submitted is told so (after a reload, on another device and after a server restart too: the
// snapshot's `you_submitted`, their own alone, which the server reads from their member token)
// and may open the form again to replace their scores until scoring closes; their earlier
// scores are never shown, since the server sends nobody a score before the reveal.

import { noteOwnSubmission } from './state.js';
import { listen } from '../../render.js';
import { h, announce } from '../../ui.js';

/** @typedef {import('../../protocol').RolePlayInfo} RolePlayInfo */
/** @typedef {import('../../protocol').RolePlayRequest} RolePlayRequest */
/** @typedef {import('./state.js').RolePlayState} RolePlayState */

/** The server's limits (PROTOCOL.md). */
export const COMMENT_CHARS_MAX = 1000;
export const ONE_THING_CHARS_MAX = 300;

/**
 * What the form needs from the role play view.
 * @typedef {object} ScoreFormHost
 * @property {import('../../store.js').RoomStore} store
 * @property {boolean} disabled Whether actions are off now (a request running, no connection).
 * @property {(action: RolePlayRequest, what: string) => Promise<unknown>} act
 * @property {(id: string) => void} redrawFocusing Redraws the view, then focuses this element.
 */

/** The form, keeping what the scorer filled in across redraws. */
export function scoreForm() {
  /** @type {{ id: string, scores: (number | null)[], comment: string, oneThing: string }} */
  let draft = { id: '', scores: [], comment: '', oneThing: '' };
  /** Whether a scorer who has submitted opened the form again to change their scores. */
  let changing = false;
  return {
    /**
     * @param {RolePlayInfo} current
     * @param {RolePlayState} own
     * @param {ScoreFormHost} host
     */
    render(current, own, host) {
      if (draft.id !== current.role_play_id) {
        draft = { id: current.role_play_id, scores: current.rubric.criteria.map(() => null), comment: '', oneThing: '' };
        changing = false;
      }
      const mine = own.view.you_submitted;
      const { store, disabled, act } = host;
      if (mine && !changing) {
        return h('div', { class: 'roleplay-submitted', id: 'roleplay-submitted', tabindex: -1, role: 'status' },
          h('p', { id: 'roleplay-submitted-text' }, h('b', {}, 'You have submitted; you can change your scores until scoring closes.')),
          h('p', { class: 'hint' }, 'Your scores are anonymous: nobody, the facilitator included, sees them before the reveal, and the results never say who gave which.'),
          h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'button secondary', id: 'roleplay-change', disabled, onclick: () => {
              changing = true;
              host.redrawFocusing(current.rubric.criteria.length ? 'roleplay-score-first' : 'roleplay-comment');
            } }, 'Change my scores')));
      }
      const blank = draft.scores.every((score) => score === null);
      const form = h('form', { class: 'roleplay-score', id: 'roleplay-score', 'data-key': `score-${current.role_play_id}` });
      current.rubric.criteria.forEach((criterion, index) => {
        const values = [];
        for (let value = criterion.scale_min; value <= criterion.scale_max; value++) values.push(value);
        const groupName = `roleplay-c${index}`;
        /** @type {HTMLElement} */
        let control;
        if (values.length <= 10) {
          control = h('div', { class: 'scale', role: 'radiogroup', 'aria-labelledby': `${groupName}-name` },
            ...values.map((value) => {
              const first = index === 0 && value === criterion.scale_min;
              const radio = h('input', { type: 'radio', name: groupName, id: first ? 'roleplay-score-first' : `${groupName}-${value}`, value, checked: draft.scores[index] === value, required: true });
              listen(radio, 'change', () => { draft.scores[index] = value; });
              return h('label', { class: 'scale-point', for: radio.id }, radio, h('span', {}, String(value)));
            }));
        } else {
          const select = h('select', { id: index === 0 ? 'roleplay-score-first' : groupName, required: true, 'aria-labelledby': `${groupName}-name` },
            h('option', { value: '' }, '—'), ...values.map((value) => h('option', { value, selected: draft.scores[index] === value }, String(value))));
          listen(select, 'change', (changeEvent) => {
            const value = /** @type {HTMLSelectElement} */ (changeEvent.currentTarget).value;
            draft.scores[index] = value === '' ? null : Number(value);
          });
          control = select;
        }
        form.append(h('fieldset', { class: 'criterion', 'data-criterion': index },
          h('legend', { id: `${groupName}-name` }, criterion.name, h('span', { class: 'weight' }, ` ×${criterion.weight}`)),
          h('p', { class: 'hint' }, criterion.description, ` (${criterion.scale_min} to ${criterion.scale_max})`),
          control));
      });
      const comment = h('textarea', { id: 'roleplay-comment', rows: 2, maxlength: COMMENT_CHARS_MAX, placeholder: 'What worked, what did not (anonymous)' });
      comment.value = draft.comment;
      listen(comment, 'input', (inputEvent) => { draft.comment = /** @type {HTMLTextAreaElement} */ (inputEvent.currentTarget).value; });
      form.append(h('div', { class: 'field' }, h('label', { for: 'roleplay-comment' }, 'Comment'), comment));
      /** @type {HTMLInputElement | null} */
      let oneThing = null;
      if (current.rubric.one_thing_differently) {
        const input = h('input', { type: 'text', id: 'roleplay-one-thing', maxlength: ONE_THING_CHARS_MAX, value: draft.oneThing, placeholder: 'One thing to do differently' });
        listen(input, 'input', (inputEvent) => { draft.oneThing = /** @type {HTMLInputElement} */ (inputEvent.currentTarget).value; });
        oneThing = input;
        form.append(h('div', { class: 'field' }, h('label', { for: 'roleplay-one-thing' }, 'One thing to do differently'), input));
      }
      const button = h('button', { type: 'submit', class: 'button primary', id: 'roleplay-submit', disabled }, mine ? 'Replace my scores' : 'Submit scores');
      if (mine) {
        form.prepend(h('p', { class: 'hint', id: 'roleplay-changing' }, blank
          ? 'You have submitted already. Your earlier scores are not shown: the server sends nobody any score before the reveal, you included. Fill in the form to replace them.'
          : 'You have submitted already; sending this replaces your earlier scores.'));
      }
      form.append(h('div', { class: 'actions' }, button,
        mine ? h('button', { type: 'button', class: 'button secondary', id: 'roleplay-keep', onclick: () => {
          changing = false;
          host.redrawFocusing('roleplay-change');
        } }, 'Keep my scores') : null));
      listen(form, 'submit', async (submitEvent) => {
        submitEvent.preventDefault();
        if (draft.scores.some((score) => score === null)) return;
        /** @type {RolePlayRequest} */
        const action = { kind: 'submit', role_play_id: current.role_play_id, scores: draft.scores.map(Number), comment: draft.comment.trim() };
        if (oneThing && draft.oneThing.trim()) action.one_thing_differently = draft.oneThing.trim();
        const reply = await act(action, 'Could not submit your scores');
        if (reply) {
          store.updateFeature('role_play', (/** @type {RolePlayState} */ own) => noteOwnSubmission(own, current.role_play_id));
          changing = false;
          announce('Your scores were submitted anonymously. You can change them until scoring closes.');
          host.redrawFocusing('roleplay-submitted');
        }
      });
      return form;
    },
  };
}
