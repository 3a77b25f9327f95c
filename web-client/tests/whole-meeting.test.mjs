// A whole weekly meeting in real browsers: a facilitator and three members (a laptop, a phone
// at 390×844, a laptop in dark mode) go through every stage of the default agenda. At each
// stage every page shows that stage's content in its first screen, without scrolling, and
// the meeting bar; every screen is photographed (target/screenshots/meeting-*.png) and checked
// with axe-core (no serious or critical violation).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, join, waitUntil, everyoneSees, PHONE } from './support/browser.mjs';
import { checkAccessibility, firstScreenShot, inFirstScreen } from './support/stage.mjs';

const LAPTOP = { viewport: { width: 1366, height: 900 } };
const DARK = { viewport: { width: 1366, height: 900 }, colorScheme: /** @type {const} */ ('dark') };

test('a whole meeting: every stage is in the first screen of every page', { timeout: 600_000 }, async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const links = await fetch(`${server.url}/api/groups`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Tuesday Closers' }),
    }).then((response) => response.json());
    const fran = await join(browser, links.facilitator_url, 'Fran', LAPTOP, 'Enter as facilitator');
    const ann = await join(browser, links.invite_url, 'Ann', LAPTOP, 'Join');
    const bob = await join(browser, links.invite_url, 'Bob', PHONE, 'Join');
    const cleo = await join(browser, links.invite_url, 'Cleo', DARK, 'Join');
    const everyone = [fran, ann, bob, cleo];
    const labels = { Fran: 'facilitator', Ann: 'member', Bob: 'phone', Cleo: 'dark' };

    /**
     * Every page shows `selector` in its first screen; photographs and checks each page.
     * @param {string} stage
     * @param {string} selector
     */
    const stageSeen = async (stage, selector) => {
      for (const person of everyone) {
        await waitUntil(person.page, `${person.name} sees the ${stage} stage`, (wanted) => {
          const element = document.querySelector(wanted);
          return !!element && element.getClientRects().length > 0;
        }, selector);
        const where = await inFirstScreen(person.page, [selector, '#meeting-bar']);
        const label = /** @type {Record<string, string>} */ (labels)[person.name];
        await firstScreenShot(person.page, `meeting-${stage}-${label}`);
        assert.deepEqual(where.filter((entry) => !entry.inside), [], `${person.name} (${label}) sees the ${stage} stage in the first screen`);
        await checkAccessibility(person.page, `${stage}, ${person.name} (${label})`);
      }
    };

    await stageSeen('agenda', '#agenda-list');
    /** The facilitator moves on from the bar; everyone's bar names the item. */
    const nextItem = async (/** @type {string} */ title) => {
      await fran.page.locator('#bar-next-item').click();
      await everyoneSees(everyone, `"${title}" in the bar`, (wanted) => document.getElementById('bar-item-title')?.textContent === wanted, title);
    };

    // --- the check-in round: the order and the big timer -----------------------------------
    await nextItem('Check-in round');
    await stageSeen('round-ready', '#timer-box');
    await fran.page.locator('#timer-start').click();
    await everyoneSees(everyone, 'the speaking order and a running timer', () => document.querySelectorAll('#round-order .speaker').length === 4
      && /^\d+:\d\d$/.test(document.getElementById('timer-display')?.textContent ?? '') && !!document.querySelector('#bar-timer:not([hidden])'));
    assert.notEqual(await fran.page.evaluate(() => document.activeElement?.tagName), 'BODY', 'the focus does not fall to the page after Start round');
    await everyoneSees(everyone, 'the time left in the tab title', () => /^\d+:\d\d /.test(document.title));
    await stageSeen('round', '#round-order');
    await fran.page.locator('#timer-next-button').click();
    await everyoneSees(everyone, 'Ann speaking', () => document.querySelector('#round-order .speaker[data-status="speaking"] .speaker-name')?.textContent?.startsWith('Ann'));
    await fran.page.locator('#timer-end').click();

    // --- report back: nothing due in a group's first meeting --------------------------------
    await nextItem('Report back');
    await stageSeen('report-back', '#panel-reportback');

    // --- bring a problem: its phases ---------------------------------------------------------
    await nextItem('Bring a problem');
    await stageSeen('problem', '#problem-box');

    // --- role play: setup, then the scoring form for the observers ----------------------------
    await nextItem('Role play');
    await stageSeen('role-play-setup', '#panel-roleplay');
    await fran.page.locator('#roleplay-seller').selectOption({ label: 'Ann' });
    await fran.page.locator('#roleplay-buyer').selectOption({ label: 'Bob' });
    await fran.page.locator('#roleplay-scenario').fill('Renewal call with a customer who wants a 10% discount.');
    await fran.page.locator('#roleplay-setup-submit').click();
    await everyoneSees(everyone, 'the scenario', () => document.getElementById('roleplay-scenario-text')?.textContent?.includes('Renewal'));
    await fran.page.locator('#roleplay-open').click();
    for (const person of [cleo, fran]) await waitUntil(person.page, `${person.name} has the form`, () => !!document.getElementById('roleplay-score'));
    await stageSeen('role-play-scoring', '.roleplay-current');
    await fran.page.locator('#roleplay-cancel').click();

    // --- benchmarks: entry and the group view -------------------------------------------------
    await nextItem('Benchmarks');
    await stageSeen('benchmarks', '#panel-benchmarks');

    // --- best practices: the library -----------------------------------------------------------
    await nextItem('Best practices');
    await stageSeen('practices', '#panel-practices');

    // --- new commitments: the board -------------------------------------------------------------
    await nextItem('New commitments');
    await bob.page.locator('#commitment-text').fill('Call the three stalled leads');
    await bob.page.locator('#commitment-add').click();
    await everyoneSees(everyone, 'Bob\'s commitment', () => document.getElementById('commitment-board')?.textContent?.includes('three stalled leads'));
    await stageSeen('commitments', '#commitment-board');
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
