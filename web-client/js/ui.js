// @ts-check
import { born, listen, give, guardListeners } from './render.js';

// Small DOM helpers shared by every view: building elements (with render.js's `patch`), toasts, the screen reader
// announcer, copying to the clipboard and a confirmation dialog.

/** How long a toast stays, in milliseconds. */
export const TOAST_VISIBLE_MS = 6000;
/** Toasts shown at once at most; older ones leave first. */
export const TOASTS_MAX = 4;

/**
 * @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Props
 * @typedef {Node | string | null | undefined | false} Child
 */

/**
 * Creates an element. Props starting with `on` are listeners; `class`, `for`, `aria-*`,
 * `data-*` and other attributes are set as attributes; `true` sets an empty attribute and
 * `false`, null or undefined leave it out.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'checked' && tag === 'input') {
      if (value) element.setAttribute('checked', '');
      give(element, 'checked', !!value);
      continue;
    }
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      listen(element, name.slice(2).toLowerCase(), /** @type {EventListener} */ (value));
    } else if (name === 'value' && 'value' in element) {
      give(element, 'value', String(value));
    } else if (name === 'style') {
      // Through the CSSOM: the Content-Security-Policy refuses style attributes.
      element.style.cssText = String(value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  born(element);
  guardListeners(element);
  return element;
}

/**
 * Disables a button while its request runs; the returned function enables it again and, when
 * the button had the focus (a disabled button loses it to the page), gives the focus back
 * unless the person has moved on.
 * @param {HTMLButtonElement} button
 * @returns {() => void}
 */
export function busy(button) {
  const hadFocus = document.activeElement === button;
  button.disabled = true;
  return () => {
    button.disabled = false;
    const now = document.activeElement;
    if (hadFocus && (!now || now === document.body) && button.isConnected && button.getClientRects().length > 0) button.focus({ preventScroll: true });
  };
}

/** What counts as a control the person acts on, for the toasts' placement. */
const CONTROL = 'button, a[href], input, select, textarea, summary, label, [role="tab"], [tabindex]:not([tabindex="-1"])';
/** The control the person last pressed, tapped or moved the focus to (a tapped button has no
 * focus in every browser, so a press counts too): the toasts keep clear of it. */
let lastControl = /** @type {Element | null} */ (null);
const noteControl = (/** @type {Event} */ event) => {
  const control = event.target instanceof Element ? event.target.closest(CONTROL) : null;
  if (control && !control.closest('#toasts')) lastControl = control;
};
if (typeof document !== 'undefined') {
  document.addEventListener('pointerdown', noteControl, true);
  document.addEventListener('focusin', noteControl, true);
}

/**
 * Puts the toasts at the bottom of the screen, or at its top when the control the person just
 * used (a Save button, the choice beside it) is in the screen's lower half, so that a toast
 * does not hide what was just done (on a phone a toast is as wide as the screen, and at the
 * bottom it lay over the form just sent). The toasts already shown move along.
 * @param {HTMLElement} region
 */
function placeToasts(region) {
  const focused = document.activeElement?.closest(CONTROL) ?? null;
  const control = [lastControl, focused].find((element) => element
    && element.isConnected && !region.contains(element) && element.getClientRects().length > 0);
  let edge = 'bottom';
  if (control) {
    const box = control.getBoundingClientRect();
    if ((box.top + box.bottom) / 2 > window.innerHeight / 2) edge = 'top';
  }
  region.dataset.edge = edge;
}

/**
 * Shows a short message that does not block anything, away from the control just used (see
 * `placeToasts`).
 * @param {string} message
 * @param {'error' | 'info'} [kind]
 */
export function toast(message, kind = 'error') {
  const region = document.getElementById('toasts');
  if (!region) return;
  placeToasts(region);
  while (region.children.length >= TOASTS_MAX) region.firstElementChild?.remove();
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×');
  const item = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', {}, message), close);
  const timer = setTimeout(() => item.remove(), TOAST_VISIBLE_MS);
  listen(close, 'click', () => {
    clearTimeout(timer);
    item.remove();
  });
  region.append(item);
}

/**
 * Says something to screen readers through the polite live region.
 * @param {string} message
 */
export function announce(message) {
  const region = document.getElementById('announcer');
  if (!region) return;
  // Replacing the text (rather than appending) keeps the region short; the brief clear makes
  // screen readers announce a repeat of the same words too.
  region.textContent = '';
  setTimeout(() => { region.textContent = message; }, 30);
}

/**
 * Copies text, and says so.
 * @param {string} text
 * @param {string} what What was copied, for the confirmation.
 */
export async function copyText(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    toast(`${what} copied.`, 'info');
  } catch {
    // Clipboard access can be refused (no secure context, no permission); selecting the
    // text lets the person copy it by hand.
    toast(`Could not copy; select the ${what.toLowerCase()} and copy it by hand.`);
  }
}

/**
 * A copy-to-clipboard field: the text in a read-only input and a Copy button.
 * @param {string} label
 * @param {string} value
 * @param {string} id
 * @param {string} [hint]
 */
export function copyField(label, value, id, hint) {
  const input = h('input', { id, type: 'text', readonly: true, value, class: 'copy-input', spellcheck: 'false' });
  listen(input, 'focus', (focusEvent) => /** @type {HTMLInputElement} */ (focusEvent.currentTarget).select());
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('div', { class: 'copy-row' },
      input,
      h('button', { type: 'button', class: 'button secondary', 'data-copy': id, onclick: () => copyText(value, label) }, 'Copy')),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
}

/**
 * A group link with the group's name added after the secret (`&group=…`), so the page that
 * opens it can say which group it is. The server never sees the fragment.
 * @param {string} link
 * @param {string} groupName
 */
export function namedLink(link, groupName) {
  return groupName ? `${link}&group=${encodeURIComponent(groupName)}` : link;
}

/**
 * The two kinds of group link, told apart at a glance: the facilitator link is private (amber,
 * a lock, "private"), the invite link is for sharing (green).
 * @param {'facilitator' | 'invite'} kind
 * @param {HTMLElement} field A `copyField`.
 */
export function linkBox(kind, field) {
  return h('div', { class: `link-box link-${kind}` },
    h('p', { class: 'link-kind' }, kind === 'facilitator' ? 'Private: only for whoever runs the meetings' : 'Share with the members'),
    field);
}

/**
 * Asks for a confirmation in a modal dialog; resolves true on confirm.
 * @param {string} title
 * @param {string} body
 * @param {string} confirmLabel
 * @param {string} [keepLabel] The safe choice's label (what declining keeps).
 * @returns {Promise<boolean>}
 */
export function confirmDialog(title, body, confirmLabel, keepLabel = 'Cancel') {
  return new Promise((resolve) => {
    const confirmButton = h('button', { type: 'submit', value: 'confirm', class: 'button danger' }, confirmLabel);
    const cancelButton = h('button', { type: 'submit', value: 'cancel', class: 'button secondary' }, keepLabel);
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'dialog-title' }, title),
        h('p', {}, body),
        h('div', { class: 'actions' }, cancelButton, confirmButton)));
    document.body.append(dialog);
    listen(dialog, 'close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    dialog.showModal();
    // The safe choice has the focus, so a stray Enter does not remove anyone.
    cancelButton.focus();
  });
}

/**
 * Like `confirmDialog`, with checkboxes for what may go with the action ("Also make a new
 * invite link"); resolves whether it was confirmed and the ids of the boxes ticked.
 * @param {string} title
 * @param {string} body
 * @param {string} confirmLabel
 * @param {{ id: string, label: string, checked: boolean }[]} options
 * @returns {Promise<{ confirmed: boolean, ticked: Set<string> }>}
 */
export function confirmWithOptions(title, body, confirmLabel, options) {
  return new Promise((resolve) => {
    const confirmButton = h('button', { type: 'submit', value: 'confirm', class: 'button danger' }, confirmLabel);
    const cancelButton = h('button', { type: 'submit', value: 'cancel', class: 'button secondary' }, 'Cancel');
    const boxes = options.map((option) => h('input', { type: 'checkbox', id: `dialog-option-${option.id}`, checked: option.checked }));
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'dialog-title' }, title),
        h('p', {}, body),
        ...options.map((option, index) => h('div', { class: 'checkbox' },
          boxes[index], h('label', { for: `dialog-option-${option.id}` }, option.label))),
        h('div', { class: 'actions' }, cancelButton, confirmButton)));
    document.body.append(dialog);
    listen(dialog, 'close', () => {
      const ticked = new Set(options.filter((_, index) => boxes[index].checked).map((option) => option.id));
      resolve({ confirmed: dialog.returnValue === 'confirm', ticked });
      dialog.remove();
    });
    dialog.showModal();
    cancelButton.focus();
  });
}

/** @param {string} role */
export function roleLabel(role) {
  return role === 'facilitator' ? 'Facilitator' : role === 'observer' ? 'Observer' : 'Member';
}

const SVG_NAMESPACE = 'http://www.w3.org/2000/svg';

/**
 * A raised hand, drawn as lines so it shows the same everywhere (emoji fonts are not on
 * every machine) and takes the text colour.
 * @returns {SVGSVGElement}
 */
export function handIcon() {
  const svg = document.createElementNS(SVG_NAMESPACE, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  // Four fingers, then the palm with the thumb folded in from the left.
  for (const d of ['M8 11V5.5', 'M11 10V3.5', 'M14 10V4', 'M17 11V6.5',
    'M8 11.5 6.2 9.8a1.6 1.6 0 0 0-2.3 2.2l3.6 5.2A7 7 0 0 0 13 20.5h.5a4.5 4.5 0 0 0 3.5-4.4V11']) {
    const path = document.createElementNS(SVG_NAMESPACE, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}
