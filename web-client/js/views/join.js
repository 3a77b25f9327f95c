// @ts-check
// Asking for a display name before the first join through a link.

import { h } from '../ui.js';
import { listen } from '../render.js';

/** The longest display name the form accepts; the server checks its own limit. */
export const DISPLAY_NAME_CHARS_MAX = 40;

/**
 * @typedef {object} JoinChoice
 * @property {string} display_name
 * @property {boolean} observer
 */

/**
 * @param {HTMLElement} root
 * @param {object} options
 * @param {'invite' | 'facilitator'} options.mode
 * @param {string} [options.name] A name to start from (remembered, or typed before an error).
 * @param {boolean} [options.observer]
 * @param {string} [options.error] Why the last attempt failed.
 * @param {string} [options.groupName] The group's name, when the link or this browser knows it.
 * @param {(choice: JoinChoice) => void} options.onJoin
 */
export function showJoin(root, options) {
  document.title = 'Join · Roundtable';
  const facilitating = options.mode === 'facilitator';
  const nameInput = h('input', {
    id: 'display-name', name: 'display_name', type: 'text', required: true, autocomplete: 'name',
    maxlength: DISPLAY_NAME_CHARS_MAX, value: options.name ?? '', 'aria-describedby': 'display-name-hint',
  });
  const observerBox = h('input', { id: 'observer', name: 'observer', type: 'checkbox', checked: options.observer ?? false });
  const form = h('form', { class: 'card stack', 'aria-labelledby': 'join-title' },
    h('h1', { id: 'join-title' }, facilitating
      ? (options.groupName ? `Run ${options.groupName}’s meetings` : 'Run this group’s meetings')
      : (options.groupName ? `Join ${options.groupName}` : 'Join your peer group')),
    h('p', { class: 'lede' }, facilitating
      ? 'You opened the facilitator link. Tell the group who is facilitating.'
      : 'You were invited to a Roundtable meeting room. No account needed.'),
    options.error ? h('p', { class: 'form-error', role: 'alert', id: 'join-error' }, options.error) : null,
    h('div', { class: 'field' },
      h('label', { for: 'display-name' }, 'Your name'),
      nameInput,
      h('p', { class: 'hint', id: 'display-name-hint' }, 'As the group knows you. This browser remembers you next time.')),
    facilitating ? null : h('div', { class: 'checkbox' },
      observerBox,
      h('label', { for: 'observer' }, 'Join as an observer (watch, without taking part in rounds or scoring)')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary', id: 'join-button' }, facilitating ? 'Enter as facilitator' : 'Join')));
  listen(form, 'submit', (submitEvent) => {
    submitEvent.preventDefault();
    const display_name = nameInput.value.trim();
    if (!display_name) {
      nameInput.focus();
      return;
    }
    options.onJoin({ display_name, observer: !facilitating && observerBox.checked });
  });
  root.replaceChildren(h('div', { class: 'page narrow' },
    h('header', {}, h('p', { class: 'brand' }, 'Roundtable')),
    h('main', { id: 'main' }, form)));
  nameInput.focus();
}

/**
 * A link that cannot be used: no secret in it and nothing remembered.
 * @param {HTMLElement} root
 * @param {string} title
 * @param {string} explanation
 */
export function showDeadEnd(root, title, explanation) {
  document.title = 'Roundtable';
  root.replaceChildren(h('div', { class: 'page narrow' },
    h('header', {}, h('p', { class: 'brand' }, 'Roundtable')),
    h('main', { id: 'main', class: 'card stack' },
      h('h1', { id: 'dead-end-title' }, title),
      h('p', {}, explanation),
      h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: '/' }, 'Start a new group')))));
}
