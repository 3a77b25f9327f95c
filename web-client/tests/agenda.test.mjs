// The agenda and timer panel in real browsers against the real server: a facilitator and two
// members. The facilitator starts a round; both members see the same speaker and a remaining
// time that agrees with the facilitator's within a second; pausing freezes it, +1 min adds a
// minute, Next (and the N key, but not while typing) moves the speaker; a member proposes an
// item and the facilitator accepts it; a short round runs over and shows the overrun.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, screenshot, waitUntil, collectPageErrors, showView, startMeeting } from './support/browser.mjs';

/** @typedef {import('playwright-core').Page} Page */
/** @typedef {{ name: string, page: Page }} Person */

const DESKTOP = { viewport: { width: 1280, height: 1000 } };

/** @param {Page} page @param {string} who */
async function waitJoined(page, who) {
  await waitUntil(page, `${who} is connected and has the room`,
    () => window.roundtable?.phase() === 'connected' && window.roundtable.state() !== null);
}

/**
 * What the timer shows now: its remaining time and the page's clock when read, so two pages
 * read at slightly different moments can be compared.
 * @param {Page} page
 */
async function readTimer(page) {
  return page.evaluate(() => {
    const display = document.getElementById('timer-display');
    return {
      remaining: Number(display?.getAttribute('data-remaining-ms')),
      text: display?.textContent ?? '',
      at: Date.now(),
      speaker: document.getElementById('timer-speaker')?.textContent ?? '',
      next: document.getElementById('timer-next')?.textContent ?? '',
    };
  });
}

/** @param {Person[]} people @param {string} speaker */
async function everyoneSeesSpeaker(people, speaker) {
  for (const { name, page } of people) {
    await waitUntil(page, `${name} sees ${speaker} speaking`,
      (expected) => document.getElementById('timer-speaker')?.textContent?.startsWith(`${expected}`)
        && document.getElementById('timer-display')?.hasAttribute('data-remaining-ms'), `${speaker} `);
  }
}

test('a round under the shared timer, pause, +1 min, next, a proposal accepted, and an overrun', async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  /** @type {string[]} */
  const errors = [];
  try {
    const franContext = await browser.newContext(DESKTOP);
    const franPage = await franContext.newPage();
    errors.push(...[]);
    const franErrors = collectPageErrors(franPage, 'Fran');
    await franPage.goto(`${server.url}/`);
    await franPage.getByLabel('Group name').fill('Timer Peers');
    await franPage.getByRole('button', { name: 'Create group' }).click();
    await franPage.getByText('Timer Peers is ready').waitFor();
    const inviteLink = await franPage.locator('#invite-link').inputValue();
    await franPage.getByRole('link', { name: 'Open as facilitator' }).click();
    await franPage.getByLabel('Your name').fill('Fran');
    await franPage.getByRole('button', { name: 'Enter as facilitator' }).click();
    await waitJoined(franPage, 'Fran');
    const fran = { name: 'Fran', page: franPage };

    /** @param {string} name @returns {Promise<Person>} */
    const join = async (name) => {
      const context = await browser.newContext(DESKTOP);
      const page = await context.newPage();
      errors.push(...[]);
      const pageErrors = collectPageErrors(page, name);
      page.on('close', () => errors.push(...pageErrors));
      await page.goto(inviteLink);
      await page.getByLabel('Your name').fill(name);
      await page.getByRole('button', { name: 'Join', exact: true }).click();
      await waitJoined(page, name);
      return { name, page, pageErrors };
    };
    const ann = await join('Ann');
    const bob = await join('Bob');
    const everyone = [fran, ann, bob];
    // A new group's first meeting is upcoming: the facilitator starts it from the lobby.
    await startMeeting(fran, everyone);
    for (const { name, page } of everyone) {
      await waitUntil(page, `${name} sees three people online`,
        () => document.querySelectorAll('#people-list .presence.online').length === 3);
    }

    // The agenda panel comes first, with the default template's items; only the facilitator
    // gets the timer controls.
    for (const { name, page } of everyone) {
      await waitUntil(page, `${name} sees the agenda first in the main column`,
        () => document.querySelectorAll('#agenda-list .agenda-item').length > 0);
    }
    await showView(fran.page, 'timer');
    assert.equal(await fran.page.locator('#timer-controls').isVisible(), true);
    await showView(ann.page, 'timer');
    assert.equal(await ann.page.locator('#timer-controls').isVisible(), false);
    await showView(fran.page, 'timer');
    assert.equal(await fran.page.locator('#round-minutes').inputValue(), '4');

    // --- Start a round: Fran speaks first, Ann is next. -----------------------------------
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-start').click();
    await everyoneSeesSpeaker(everyone, 'Fran');
    for (const { name, page } of everyone) {
      await waitUntil(page, `${name} sees Ann next`, () => document.getElementById('timer-next')?.textContent === 'Next: Ann');
    }
    // Give the pages' pings a moment to settle the clock offset, then compare.
    await fran.page.waitForTimeout(1200);
    const franReading = await readTimer(fran.page);
    for (const member of [ann, bob]) {
      const reading = await readTimer(member.page);
      // The same deadline: remaining + clock-at-reading is the same on every page.
      const disagreement = Math.abs((reading.remaining + reading.at) - (franReading.remaining + franReading.at));
      assert.ok(disagreement < 1000, `${member.name}'s timer agrees with Fran's within 1 s (off by ${disagreement} ms)`);
      assert.ok(reading.remaining > 200_000 && reading.remaining <= 240_000, `${member.name} sees about 4 minutes (${reading.remaining} ms)`);
      assert.match(reading.text, /^[34]:\d\d$/);
    }
    await screenshot(fran.page, 'panel-agenda-timer');

    // --- Pause freezes it (Space on the facilitator's page). ------------------------------
    await fran.page.locator('body').press('Space');
    for (const { name, page } of everyone) {
      await waitUntil(page, `${name} sees the timer paused`,
        () => document.getElementById('timer-box')?.classList.contains('paused'));
    }
    const paused1 = await readTimer(ann.page);
    await ann.page.waitForTimeout(1500);
    const paused2 = await readTimer(ann.page);
    assert.equal(paused2.remaining, paused1.remaining, 'a paused timer does not move');
    assert.equal(paused2.text, paused1.text);

    // --- +1 min adds about sixty seconds (the button, while paused: exact). ----------------
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-extend').click();
    await waitUntil(ann.page, 'Ann sees a minute more',
      (before) => Number(document.getElementById('timer-display')?.getAttribute('data-remaining-ms')) > before + 30_000, paused2.remaining);
    // Bob's page draws the same event in its own time: wait for it there too before reading.
    await waitUntil(bob.page, 'Bob sees a minute more',
      (before) => Number(document.getElementById('timer-display')?.getAttribute('data-remaining-ms')) > before + 30_000, paused2.remaining);
    const extended = await readTimer(bob.page);
    assert.ok(Math.abs(extended.remaining - paused2.remaining - 60_000) < 1000,
      `+1 min adds about 60 s (${extended.remaining - paused2.remaining} ms)`);

    // Resume with the button.
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-pause').click();
    for (const { name, page } of everyone) {
      await waitUntil(page, `${name} sees the timer running again`,
        () => document.getElementById('timer-box')?.classList.contains('running'));
    }

    // --- Keys do not fire while typing: "n" in the title field does not move the speaker. --
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-item-title').fill('');
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-item-title').press('n');
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-item-title').press('s');
    await fran.page.waitForTimeout(500);
    assert.match((await readTimer(ann.page)).speaker, /^Fran /, 'typing n or s in a field does not move the speaker');
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-item-title').fill('');

    // --- Next moves the speaker: the button, then the N key. -------------------------------
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-next-button').click();
    await everyoneSeesSpeaker(everyone, 'Ann');
    for (const { name, page } of everyone) {
      await waitUntil(page, `${name} sees Bob next`, () => document.getElementById('timer-next')?.textContent === 'Next: Bob');
    }
    const annTurn = await readTimer(bob.page);
    assert.ok(annTurn.remaining > 230_000, `Ann's turn starts with a fresh 4 minutes (${annTurn.remaining} ms)`);
    await fran.page.locator('body').press('n');
    await everyoneSeesSpeaker(everyone, 'Bob');

    // --- A member proposes an item; the facilitator accepts it. ---------------------------
    await showView(ann.page, 'agenda');
    await ann.page.locator('#agenda-item-title').fill('Pricing objections');
    await showView(ann.page, 'agenda');
    await ann.page.getByRole('button', { name: 'Propose item' }).click();
    await waitUntil(fran.page, 'Fran sees Ann\'s proposal',
      () => [...document.querySelectorAll('#proposal-list .proposal')].some((item) => item.textContent?.includes('Pricing objections')));
    await showView(ann.page, 'agenda');
    assert.equal(await ann.page.locator('#proposal-list [data-action="accept"]').count(), 0, 'members get no accept button');
    await showView(fran.page, 'agenda');
    await fran.page.locator('#proposal-list .proposal', { hasText: 'Pricing objections' }).locator('[data-action="accept"]').click();
    for (const { name, page } of everyone) {
      await waitUntil(page, `${name} sees the accepted item in the agenda`,
        () => [...document.querySelectorAll('#agenda-list .agenda-item')].some((item) => item.textContent?.includes('Pricing objections'))
          && document.querySelectorAll('#proposal-list .proposal').length === 0);
    }

    // Mark it current, then done.
    const accepted = fran.page.locator('#agenda-list .agenda-item', { hasText: 'Pricing objections' });
    await accepted.locator('[data-action="current"]').click();
    await waitUntil(bob.page, 'Bob sees the item current',
      () => [...document.querySelectorAll('#agenda-list .agenda-item.current')].some((item) => item.textContent?.includes('Pricing objections')));
    await showView(fran.page, 'agenda');
    await accepted.locator('[data-action="done"]').click();
    await waitUntil(bob.page, 'Bob sees the item done',
      () => [...document.querySelectorAll('#agenda-list .agenda-item.done')].some((item) => item.textContent?.includes('Pricing objections')));
    await screenshot(fran.page, 'panel-agenda-timer-proposal');

    // --- End the round; a 3-second round runs over: red, "+0:0N over", announced once. -----
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-end').click();
    await waitUntil(ann.page, 'Ann sees no round', () => document.getElementById('timer-speaker')?.textContent === 'No round running');
    await showView(fran.page, 'timer');
    await fran.page.locator('#round-minutes').fill('0.05');
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-start').click();
    for (const { name, page } of everyone) {
      await waitUntil(page, `${name} sees the overrun`,
        () => document.getElementById('timer-box')?.classList.contains('overrun')
          && /^\+0:0\d over$/.test(document.getElementById('timer-display')?.textContent ?? ''));
    }
    await waitUntil(ann.page, 'the live region tells Ann time is up',
      () => document.getElementById('announcer')?.textContent?.includes('Time is up for Fran'));
    await showView(ann.page, 'timer');
    assert.equal(await ann.page.locator('#timer-status').textContent(), 'Time is up');
    await screenshot(ann.page, 'panel-agenda-timer-overrun');

    assert.deepEqual([...franErrors, ...ann.pageErrors, ...bob.pageErrors], [], 'no uncaught errors on any page');
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
