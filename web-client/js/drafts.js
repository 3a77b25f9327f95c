// @ts-check
// What a person chose or typed but has not sent yet, kept in this browser's `localStorage` so
// a reload (or a dropped connection) loses nothing. One record per group and purpose, keyed by
// the thing it is about (a commitment's id). Failing storage (private mode, full) only means
// drafts last as long as the page.

const PREFIX = 'roundtable.drafts.';

/** @type {Map<string, Record<string, any>>} */
const fallback = new Map();

/**
 * @param {string} name e.g. `commitments:<group id>`
 * @returns {Record<string, any>}
 */
export function loadDrafts(name) {
  try {
    const text = localStorage.getItem(PREFIX + name);
    return text ? JSON.parse(text) : {};
  } catch {
    return fallback.get(name) ?? {};
  }
}

/**
 * Sets (or with `null`, forgets) one draft.
 * @param {string} name
 * @param {string | number} key
 * @param {any} value
 */
export function saveDraft(name, key, value) {
  const drafts = loadDrafts(name);
  if (value === null) delete drafts[String(key)];
  else drafts[String(key)] = value;
  try {
    if (Object.keys(drafts).length) localStorage.setItem(PREFIX + name, JSON.stringify(drafts));
    else localStorage.removeItem(PREFIX + name);
  } catch {
    fallback.set(name, drafts);
  }
}
