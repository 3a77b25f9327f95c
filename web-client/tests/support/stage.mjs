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
