// Headless Chromium for the browser tests, and helpers to drive and photograph pages.

import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { REPO_DIR } from './server.mjs';

export const SCREENSHOT_DIR = path.join(REPO_DIR, 'target', 'screenshots');
/** How long a test waits for something every page should see. */
export const SEE_TIMEOUT_MS = 15000;

/** Launches Debian's Chromium (playwright cannot download browsers here) with a fresh profile. */
export async function launchBrowser() {
  const executablePath = process.env.ROUNDTABLE_TEST_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium is missing at ${executablePath}: install Debian's chromium package (./scripts/test.sh does) or point ROUNDTABLE_TEST_CHROMIUM at a Chromium binary`);
  }
  // `launch` (not a persistent context) starts from a new temporary profile every run.
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/**
 * Saves a screenshot as target/screenshots/<name>.png.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/**
 * Waits until `predicate` holds in the page, with a message that says what was expected.
 * @template T
 * @param {import('playwright-core').Page} page
 * @param {string} what
 * @param {(arg: T) => unknown} predicate Runs in the page.
 * @param {T} [arg]
 */
export async function waitUntil(page, what, predicate, arg) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: SEE_TIMEOUT_MS, polling: 50 });
  } catch (error) {
    const phase = await page.evaluate(() => /** @type {any} */ (window).roundtable?.phase?.()).catch(() => 'unknown');
    throw new Error(`${what}: not seen within ${SEE_TIMEOUT_MS} ms (connection phase ${phase}; page ${page.url()})\n${error}`);
  }
}

/**
 * Collects the page's console errors and uncaught exceptions, so a test can assert none.
 * @param {import('playwright-core').Page} page
 * @param {string} label
 * @returns {string[]}
 */
export function collectPageErrors(page, label) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (error) => errors.push(`${label}: uncaught ${error.message}`));
  // The server's Content-Security-Policy refusing something the page does is a bug too.
  page.on('console', (message) => {
    if (message.type() === 'error' && message.text().includes('Content Security Policy')) {
      errors.push(`${label}: ${message.text()}`);
    }
  });
  return errors;
}

/** A phone-sized browser context. */
export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/** @typedef {{ name: string, page: import('playwright-core').Page }} Person */

/**
 * Opens `link` in a new context, types `name` into the join form, presses `button`, and waits
 * until the page is connected and holds the room's state.
 * @param {import('playwright-core').Browser} browser
 * @param {string} link
 * @param {string} name
 * @param {object} options Browser context options.
 * @param {string} button
 * @param {(context: import('playwright-core').BrowserContext) => Promise<void>} [prepare] Runs on
 *   the new context before the page opens (for instance to add an init script).
 * @returns {Promise<Person & { errors: string[] }>}
 */
export async function join(browser, link, name, options, button, prepare) {
  const context = await browser.newContext(options);
  if (prepare) await prepare(context);
  const page = await context.newPage();
  const errors = collectPageErrors(page, name);
  await page.goto(link);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: button, exact: true }).click();
  await waitUntil(page, `${name} is connected`, () => window.roundtable?.phase() === 'connected' && window.roundtable.state() !== null);
  return { name, page, errors };
}

/**
 * Waits until every page satisfies `predicate`.
 * @param {Person[]} people
 * @param {string} what
 * @param {(arg: any) => unknown} predicate
 * @param {unknown} [arg]
 */
export async function everyoneSees(people, what, predicate, arg) {
  for (const { name, page } of people) await waitUntil(page, `${name} sees ${what}`, predicate, arg);
}

/**
 * Shows one view of the room (a tab: 'agenda', 'timer', 'commitments', …) unless it is on
 * screen already (the people view always is on a wide screen).
 * @param {import('playwright-core').Page} page
 * @param {string} view
 */
export async function showView(page, view) {
  // While the meeting is upcoming the agenda view's panels (the agenda, the group's settings)
  // are in the lobby.
  view = await page.evaluate((id) => (id === 'agenda' && /** @type {any} */ (window).roundtable?.state()?.meeting.phase === 'upcoming' ? 'lobby' : id), view);
  const shown = await page.evaluate((id) => {
    const element = document.getElementById(`view-${id}`);
    return !!element && element.getClientRects().length > 0;
  }, view);
  if (!shown) await page.locator(`#tab-${view}`).click();
}

/**
 * The facilitator starts the group's upcoming meeting from the lobby (a new group's first
 * meeting, and the meeting after an ended one, are upcoming: the round, the timer, hands, role
 * play and votes need it live), confirming when fewer than half the group is here; then waits
 * until each of `people` (the facilitator's page included) holds the live meeting.
 * @param {Person} facilitator
 * @param {Person[]} [people]
 */
export async function startMeeting(facilitator, people = [facilitator]) {
  await showView(facilitator.page, 'lobby');
  await facilitator.page.locator('#lobby-start').click();
  const dialog = facilitator.page.locator('dialog[open]');
  const started = () => window.roundtable?.state()?.meeting.phase === 'live';
  // Confirmed only when few are here: either the dialog opens or the meeting starts.
  await facilitator.page.waitForFunction(() => !!document.querySelector('dialog[open]')
    || window.roundtable?.state()?.meeting.phase === 'live', undefined, { timeout: SEE_TIMEOUT_MS });
  if (await dialog.count() > 0) await dialog.getByRole('button', { name: 'Start meeting' }).click();
  await everyoneSees(people.includes(facilitator) ? people : [facilitator, ...people], 'the meeting live', started);
}
