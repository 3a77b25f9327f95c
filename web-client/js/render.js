// @ts-check
// The one rendering helper every view uses. A view builds what it wants to show with `h()`
// (fresh elements, from the state), and `patch(parent, build)` makes `parent`'s children look
// like that while keeping the elements already on the page wherever they match: same tag and
// same key (`data-key`, else `id`), or, for elements with neither, same tag at the same place
// among their unkeyed siblings. Kept elements get the new attributes, text and listeners, so
// the focus stays where it was (an element that is moved gets it back), and a field keeps what
// the person typed: its value is set only when the value the view gives changes, and never
// while the person is in it. A `<details>` the person opened stays open.
//
// Listeners: every listener goes through `h()`'s props (`onclick: …`) or, on an element kept
// by the view itself, `listen(element, type, handler)`; both keep it per element, and a patch
// swaps the kept element's listeners for the fresh one's, so a kept button runs the handler
// of the latest draw (with that draw's data). `addEventListener` on an element built by `h()`
// throws: a listener added that way would stay on a kept element as at its first draw.
// A handler runs on the element on the page (`event.currentTarget`), which may not be the
// element it was built with (that one may have been dropped for the kept copy): it reads
// what the person typed from the event's form (`formField(event, name)`), not from an
// element of its own draw.

/** @typedef {Node | string | null | undefined | false} Child */

/** Counts patches; a node built since the last patch is fresh, an older one is kept as it is. */
let epoch = 0;
/** @type {WeakMap<Node, number>} */
const bornIn = new WeakMap();

/**
 * Notes that `h()` built this node now.
 * @param {Node} node
 */
export function born(node) {
  bornIn.set(node, epoch);
}

/** @type {WeakMap<Element, Record<string, EventListener>>} */
const listeners = new WeakMap();
/** @type {WeakMap<Element, { value?: string, checked?: boolean }>} */
const given = new WeakMap();

/**
 * Sets the listener for `type` on an element (replacing the one set before).
 * @template {string} K
 * @param {Element} element
 * @param {K} type
 * @param {(event: K extends keyof HTMLElementEventMap ? HTMLElementEventMap[K] : Event) => unknown} listener
 */
export function listen(element, type, listener) {
  let map = listeners.get(element);
  if (!map) {
    map = {};
    listeners.set(element, map);
  }
  if (!(type in map)) EventTarget.prototype.addEventListener.call(element, type, (event) => listeners.get(element)?.[type]?.call(element, event));
  map[type] = /** @type {EventListener} */ (listener);
}

/**
 * Makes `addEventListener` on an element built by `h()` fail loudly (see the top of this file).
 * @param {Element} element
 */
export function guardListeners(element) {
  Object.defineProperty(element, 'addEventListener', {
    value: () => { throw new Error(`A listener on <${element.tagName.toLowerCase()}> must be given to h() as an on… prop or set with listen(), so that a patch swaps it.`); },
  });
}

/**
 * The field called `name` (its `name` or `id`) in the form the event happened in or on: the
 * form on the page, whichever draw built the handler.
 * @template {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} [T=HTMLInputElement]
 * @param {Event} event
 * @param {string} name
 * @returns {T}
 */
export function formField(event, name) {
  const target = /** @type {Element} */ (event.currentTarget ?? event.target);
  const form = target instanceof HTMLFormElement ? target : /** @type {HTMLInputElement} */ (target).form ?? target.closest('form');
  const found = form?.elements.namedItem(name);
  if (!found || found instanceof RadioNodeList) throw new Error(`No single field "${name}" in the form.`);
  return /** @type {T} */ (/** @type {unknown} */ (found));
}

/**
 * Remembers the value (or checked state) a view gave a field, and sets it.
 * @param {Element} element
 * @param {'value' | 'checked'} property
 * @param {string | boolean} value
 */
export function give(element, property, value) {
  const record = given.get(element) ?? {};
  if (property === 'value') record.value = String(value);
  else record.checked = !!value;
  given.set(element, record);
  /** @type {any} */ (element)[property] = value;
}

/** @param {Element} element */
function keyOf(element) {
  return element.getAttribute('data-key') ?? element.id ?? '';
}

/**
 * @param {Element} old
 * @param {Element} fresh
 */
function updateElement(old, fresh) {
  for (const { name } of [...old.attributes]) {
    if (fresh.hasAttribute(name)) continue;
    // What the person opened stays open.
    if (name === 'open' && (old.tagName === 'DETAILS' || old.tagName === 'DIALOG')) continue;
    old.removeAttribute(name);
  }
  for (const { name, value } of [...fresh.attributes]) {
    if (old.getAttribute(name) === value) continue;
    // Styles through the CSSOM: the Content-Security-Policy refuses style attributes.
    if (name === 'style') /** @type {HTMLElement} */ (old).style.cssText = /** @type {HTMLElement} */ (fresh).style.cssText;
    else old.setAttribute(name, value);
  }
  const freshListeners = listeners.get(fresh) ?? {};
  const oldListeners = listeners.get(old);
  if (oldListeners) for (const type of Object.keys(oldListeners)) if (!(type in freshListeners)) delete oldListeners[type];
  for (const [type, listener] of Object.entries(freshListeners)) listen(old, type, listener);
  // A persistent node handed over as it is (a form kept across draws) is not built anew.
  if (old.tagName !== 'TEXTAREA') patchChildren(old, [...fresh.childNodes]);
  // A field shows the value the view gave it (as `value:` or by setting it after `h()`).
  const isField = old.tagName === 'TEXTAREA' || old.tagName === 'SELECT'
    || (old.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit'].includes(/** @type {HTMLInputElement} */ (old).type));
  const wanted = isField
    ? { ...given.get(fresh), value: /** @type {HTMLInputElement} */ (/** @type {unknown} */ (fresh)).value }
    : given.get(fresh);
  if (wanted) {
    const had = given.get(old) ?? {};
    const focused = old === document.activeElement;
    const field = /** @type {HTMLInputElement} */ (old);
    if (wanted.value !== undefined && wanted.value !== had.value && !focused && field.value !== wanted.value) field.value = wanted.value;
    if (wanted.checked !== undefined && wanted.checked !== had.checked) field.checked = wanted.checked;
    given.set(old, { ...had, ...wanted });
  }
}

/**
 * @param {Node} old
 * @param {Node} fresh
 */
function update(old, fresh) {
  if (old === fresh) return;
  if (old.nodeType === Node.ELEMENT_NODE) updateElement(/** @type {Element} */ (old), /** @type {Element} */ (fresh));
  else if (old.nodeValue !== fresh.nodeValue) old.nodeValue = fresh.nodeValue;
}

/**
 * @param {Node} parent
 * @param {Node[]} next
 */
function patchChildren(parent, next) {
  const old = [...parent.childNodes];
  /** @type {Map<string, Element>} */
  const byKey = new Map();
  for (const node of old) {
    if (node.nodeType !== Node.ELEMENT_NODE) continue;
    const key = keyOf(/** @type {Element} */ (node));
    if (key) byKey.set(`${node.nodeName}#${key}`, /** @type {Element} */ (node));
  }
  const unkeyed = old.filter((node) => node.nodeType !== Node.ELEMENT_NODE || !keyOf(/** @type {Element} */ (node)));
  let cursor = 0;
  /** @type {Set<Node>} */
  const used = new Set();
  /** @type {Node[]} */
  const result = [];
  for (const fresh of next) {
    /** @type {Node | null} */
    let match = null;
    if (old.includes(/** @type {ChildNode} */ (fresh))) {
      match = fresh;
    } else if (fresh.nodeType === Node.ELEMENT_NODE && bornIn.get(fresh) !== epoch) {
      // A node the view keeps itself (a form being filled in): placed as it is.
      match = null;
    } else if (fresh.nodeType === Node.ELEMENT_NODE && keyOf(/** @type {Element} */ (fresh))) {
      match = byKey.get(`${fresh.nodeName}#${keyOf(/** @type {Element} */ (fresh))}`) ?? null;
    } else {
      while (cursor < unkeyed.length && used.has(unkeyed[cursor])) cursor++;
      const candidate = unkeyed[cursor];
      if (candidate && candidate.nodeName === fresh.nodeName) {
        match = candidate;
        cursor++;
      }
    }
    if (match && used.has(match)) match = null;
    if (match) {
      used.add(match);
      update(match, fresh);
      result.push(match);
    } else {
      result.push(fresh);
    }
  }
  for (const node of old) if (!used.has(node)) parent.removeChild(node);
  result.forEach((node, index) => {
    const at = parent.childNodes[index] ?? null;
    if (at !== node) parent.insertBefore(node, at);
  });
}

/**
 * Makes `parent`'s children look like what `build` returns (see the top of this file).
 * @param {Element} parent
 * @param {(() => (Child | Child[])[]) | (Child | Child[])[]} build Children, or a function that
 *   builds them (called after the focus is noted, so building may move kept nodes).
 */
export function patch(parent, build) {
  const active = /** @type {HTMLElement | null} */ (document.activeElement);
  const children = typeof build === 'function' ? build() : build;
  const next = children.flat().filter((child) => child !== null && child !== undefined && child !== false)
    .map((child) => (typeof child === 'string' ? document.createTextNode(child) : /** @type {Node} */ (child)));
  patchChildren(parent, next);
  epoch++;
  // Moving an element takes the focus from it; give it back.
  if (active && active !== document.body && active.isConnected && document.activeElement !== active) active.focus({ preventScroll: true });
}
