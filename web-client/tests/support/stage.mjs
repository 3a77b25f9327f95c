// Helpers for the stage: is something in the first screen, a photograph of the first screen,
// and axe-core's accessibility check run inside the page.

import { mkdirSync, appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { SCREENSHOT_DIR } from './browser.mjs';

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core/axe.min.js');

/**
 * Where each selector's element is: inside the first screen (the viewport at scroll 0) or not.
 * @param {import('playwright-core').Page} page
 * @param {string[]} selectors
 */
export async function inFirstScreen(page, selectors) {
  return page.evaluate((wanted) => {
    window.scrollTo(0, 0);
    return wanted.map((selector) => {
      const element = document.querySelector(selector);
      const box = element?.getBoundingClientRect();
      const inside = !!box && box.height > 0 && box.top >= 0 && box.top < window.innerHeight && box.left >= 0 && box.right <= window.innerWidth + 1;
      return { selector, inside, top: box ? Math.round(box.top) : null, height: window.innerHeight };
    });
  }, selectors);
}

/**
 * Photographs what the person sees without scrolling, as target/screenshots/<name>.png.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function firstScreenShot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
}

/**
 * Runs axe-core in the page and fails on any serious or critical violation.
 * @param {import('playwright-core').Page} page
 * @param {string} where
 */
export async function checkAccessibility(page, where) {
  // Evaluated through the browser's debugging protocol: the page's Content-Security-Policy
  // refuses an injected <script>, as it should.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(readFileSync(AXE_PATH, 'utf8'));
  const violations = await page.evaluate(async () => {
    const axe = /** @type {any} */ (window).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .map((/** @type {any} */ violation) => `${violation.id} (${violation.impact}): ${violation.help}\n    ${violation.nodes.slice(0, 4).map((/** @type {any} */ node) => `${node.target.join(' ')}: ${node.failureSummary?.split('\n').slice(1, 2).join(' ')}`).join('\n    ')}`);
  });
  // Moderate and minor findings (heading order, landmarks) are listed to look at, not failed on.
  const lesser = violations.filter((text) => !/^\S+ \((serious|critical)\)/.test(text));
  if (lesser.length) {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    appendFileSync(path.join(SCREENSHOT_DIR, 'axe-lesser.txt'), `${where}:\n  ${lesser.join('\n  ')}\n`);
  }
  const failing = violations.filter((text) => /^\S+ \((serious|critical)\)/.test(text));
  if (failing.length) throw new Error(`accessibility, ${where}:\n  ${failing.join('\n  ')}`);
}

/**
 * What a person would call broken in the first screen (the viewport at its current scroll),
 * as a list of findings, empty when none:
 * - the page is wider than the screen (it scrolls sideways);
 * - a text is cut: an element whose content is wider than its box while its box hides the
 *   rest (an ellipsis, `overflow: hidden`), unless it scrolls (a tab list, a table);
 * - the selected tab, its "now" badge included, is not wholly inside its tab list's visible
 *   part;
 * - two controls (buttons, links, fields, tabs) overlap, or something else covers a control's
 *   middle (a toolbar laid over the tabs);
 * - an emoji, which machines without an emoji font draw as an empty box.
 * Only what is shown and inside the screen counts; screen-reader-only text (clipped to 1 px)
 * does not, nor does what lies in a closed <details>, nor the toasts (passing by design).
 * @param {import('playwright-core').Page} page
 * @returns {Promise<string[]>}
 */
export async function layoutProblems(page) {
  return page.evaluate(() => {
    /** @type {string[]} */
    const problems = [];
    const width = window.innerWidth;
    const height = window.innerHeight;
    const describe = (/** @type {Element} */ element) => {
      const id = element.id ? `#${element.id}` : '';
      const classes = typeof element.className === 'string' && element.className ? `.${element.className.trim().split(/\s+/).join('.')}` : '';
      const text = (element.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40);
      return `${element.tagName.toLowerCase()}${id}${classes} "${text}"`;
    };
    const shown = (/** @type {Element} */ element) => {
      const box = element.getBoundingClientRect();
      if (box.width <= 1 || box.height <= 1) return false;
      if (box.bottom <= 0 || box.top >= height || box.right <= 0 || box.left >= width) return false;
      // Not inside a closed <details> (whose content keeps its boxes), nor invisible.
      return element.checkVisibility({ contentVisibilityAuto: true, visibilityProperty: true, opacityProperty: true });
    };
    if (document.documentElement.scrollWidth > width + 1) {
      problems.push(`the page is ${document.documentElement.scrollWidth}px wide on a ${width}px screen`);
    }
    // The room's parts stay within its columns: a part wider than its column sticks out into
    // the margin, out of line with everything above and below it. Content a scrolling box (the
    // tab list) scrolls, and what floats over the page (position: fixed), are not parts.
    const roomBody = document.querySelector('.room-body');
    if (roomBody && shown(roomBody)) {
      const body = roomBody.getBoundingClientRect();
      const sticksOut = (/** @type {Element} */ element) => {
        const box = element.getBoundingClientRect();
        return box.right > body.right + 1 || box.left < body.left - 1;
      };
      const free = (/** @type {Element} */ element) => {
        for (let at = /** @type {Element | null} */ (element); at && at !== roomBody; at = at.parentElement) {
          const style = getComputedStyle(at);
          if (style.position === 'fixed') return false;
          if (at !== element && /^(auto|scroll|hidden|clip)$/.test(style.overflowX)) return false;
        }
        return true;
      };
      for (const element of roomBody.querySelectorAll('*')) {
        if (!shown(element) || !free(element) || !sticksOut(element)) continue;
        // The outermost part that sticks out stands for what it holds.
        if (element.parentElement && element.parentElement !== roomBody && sticksOut(element.parentElement)) continue;
        const box = element.getBoundingClientRect();
        problems.push(`${describe(element)} sticks out of the room's columns (${Math.round(box.left)}-${Math.round(box.right)}, room ${Math.round(body.left)}-${Math.round(body.right)})`);
      }
    }
    /** Whether an element scrolls its overflow, so nothing of it is lost for good. */
    const scrolls = (/** @type {Element} */ element) => /^(auto|scroll)$/.test(getComputedStyle(element).overflowX);
    for (const element of document.querySelectorAll('body *')) {
      if (!shown(element)) continue;
      const style = getComputedStyle(element);
      const hides = style.textOverflow === 'ellipsis' || /^(hidden|clip)$/.test(style.overflowX);
      if (!hides || scrolls(element)) continue;
      if (element.scrollWidth > element.clientWidth + 1 && (element.textContent ?? '').trim()) {
        problems.push(`text cut: ${describe(element)} needs ${element.scrollWidth}px, has ${element.clientWidth}px`);
      }
    }
    // An emoji is drawn only where an emoji font is installed (elsewhere an empty box): the
    // client draws its icons instead.
    const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = texts.nextNode(); node; node = texts.nextNode()) {
      const parent = node.parentElement;
      if (parent && /\p{Emoji_Presentation}/u.test(node.textContent ?? '') && shown(parent)) problems.push(`an emoji in ${describe(parent)}`);
    }
    const selectedTab = document.querySelector('#room-tabs [role="tab"][aria-selected="true"]');
    const tabList = document.getElementById('room-tabs');
    if (selectedTab && tabList && shown(tabList) && selectedTab.getClientRects().length) {
      const tab = selectedTab.getBoundingClientRect();
      const list = tabList.getBoundingClientRect();
      if (tab.left < list.left - 1 || tab.right > list.right + 1) {
        problems.push(`the selected tab ${describe(selectedTab)} is cut by its list (tab ${Math.round(tab.left)}-${Math.round(tab.right)}, list ${Math.round(list.left)}-${Math.round(list.right)})`);
      }
    }
    // Controls: overlapping each other, or covered at their middle by something else.
    // Toasts float over the page for a few seconds by design (each can be dismissed), so
    // neither they nor what they lie over count.
    const toasts = document.getElementById('toasts');
    const controls = [...document.querySelectorAll('button, a[href], input:not([type="hidden"]), select, textarea, summary, [role="tab"]')]
      .filter((element) => shown(element) && element.getClientRects().length > 0 && !toasts?.contains(element));
    const visibleBox = (/** @type {Element} */ element) => {
      // What of the control is visible through its scrolling ancestors (a tab list).
      let { left, right, top, bottom } = element.getBoundingClientRect();
      for (let parent = element.parentElement; parent; parent = parent.parentElement) {
        if (!scrolls(parent)) continue;
        const box = parent.getBoundingClientRect();
        left = Math.max(left, box.left); right = Math.min(right, box.right);
        top = Math.max(top, box.top); bottom = Math.min(bottom, box.bottom);
      }
      return { left, right, top, bottom };
    };
    const boxes = controls.map((element) => ({ element, box: visibleBox(element) }))
      .filter(({ box }) => box.right - box.left > 1 && box.bottom - box.top > 1);
    for (let first = 0; first < boxes.length; first++) {
      for (let second = first + 1; second < boxes.length; second++) {
        const a = boxes[first];
        const b = boxes[second];
        if (a.element.contains(b.element) || b.element.contains(a.element)) continue;
        // A label's control inside the same label, or a radio beside its text, never overlaps.
        const across = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
        const down = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
        if (across > 2 && down > 2) problems.push(`controls overlap: ${describe(a.element)} and ${describe(b.element)}`);
      }
    }
    for (const { element, box } of boxes) {
      const x = (box.left + box.right) / 2;
      const y = (box.top + box.bottom) / 2;
      if (x < 0 || x >= width || y < 0 || y >= height) continue;
      const top = document.elementFromPoint(x, y);
      if (!top || element.contains(top) || top.contains(element) || toasts?.contains(top)) continue;
      // A label over its own field (a styled radio) is the same control.
      if (top instanceof HTMLLabelElement && top.control === element) continue;
      problems.push(`covered: ${describe(element)} lies under ${describe(top)}`);
    }
    return problems;
  });
}

/**
 * What of `selectors` (the controls a person just used) a toast on the page lies over, as the
 * page is now: one line per toast and control that overlap, empty when none. A selector that
 * matches nothing on screen is a finding too (nothing would be checked).
 * @param {import('playwright-core').Page} page
 * @param {string[]} selectors
 * @returns {Promise<string[]>}
 */
export async function toastsOver(page, selectors) {
  return page.evaluate((wanted) => {
    /** @type {string[]} */
    const found = [];
    const round = (/** @type {DOMRect} */ box) => `${Math.round(box.left)},${Math.round(box.top)}-${Math.round(box.right)},${Math.round(box.bottom)}`;
    const toasts = [...document.querySelectorAll('#toasts .toast')].map((toast) => toast.getBoundingClientRect());
    for (const selector of wanted) {
      const box = document.querySelector(selector)?.getBoundingClientRect();
      if (!box || box.height <= 0 || box.bottom <= 0 || box.top >= window.innerHeight) {
        found.push(`${selector} is not on screen`);
        continue;
      }
      for (const toast of toasts) {
        const across = Math.min(toast.right, box.right) - Math.max(toast.left, box.left);
        const down = Math.min(toast.bottom, box.bottom) - Math.max(toast.top, box.top);
        if (across > 0 && down > 0) found.push(`a toast (${round(toast)}) lies over ${selector} (${round(box)})`);
      }
    }
    return found;
  }, selectors);
}
