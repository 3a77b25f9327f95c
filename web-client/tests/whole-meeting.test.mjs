// A whole weekly meeting in real browsers: a facilitator and three members wait in the lobby,
// the facilitator starts the meeting, and they go through every stage of the default agenda
// plus an open discussion, then end it into the next meeting's lobby, at 1366×900 and on a phone at 390×844,
// each in light and in dark mode (Fran: laptop, light; Ann: phone, dark; Bob: phone, light;
// Cleo: laptop, dark). At each stage every page shows that stage's content in its first
// screen, without scrolling, and the meeting bar; every screen is photographed
// (target/screenshots/meeting-<stage>-<who>.png) and checked with axe-core (no serious or
// critical violation) and for what a person would call broken (support/stage.mjs
// layoutProblems: cut text, a selected tab or its "now" badge cut, controls overlapping or
// covered, a page wider than the screen); the facilitator reaches the stage's control within
// 10 Tab presses from the stage's tab; the toast after saving the benchmark numbers lies over
// neither the share choice nor the button just used; and no page logs an error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, join, waitUntil, everyoneSees, showView, PHONE } from './support/browser.mjs';
import { checkAccessibility, firstScreenShot, inFirstScreen, layoutProblems, toastsOver } from './support/stage.mjs';

/** @typedef {import('playwright-core').Page} Page */

const LAPTOP = { viewport: { width: 1366, height: 900 } };
const LAPTOP_DARK = { ...LAPTOP, colorScheme: /** @type {const} */ ('dark') };
const PHONE_DARK = { ...PHONE, colorScheme: /** @type {const} */ ('dark') };
/** Tab presses from the stage's tab to the facilitator's control, at most. */
const TABS_TO_CONTROL_MAX = 10;

/**
 * Presses Tab from the selected tab of the room until `selector` has the focus; the number of
 * presses, or null when it was not reached within TABS_TO_CONTROL_MAX.
 * @param {Page} page
 * @param {string} selector
 */
async function tabsTo(page, selector) {
  await page.locator('#room-tabs [role="tab"][aria-selected="true"]').focus();
  for (let presses = 1; presses <= TABS_TO_CONTROL_MAX; presses++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((wanted) => !!document.activeElement?.matches(wanted), selector)) return presses;
  }
  return null;
}

/**
 * Fills the score form with the top score of each criterion, and submits it.
 * @param {Page} page
 */
async function score(page) {
  const criteria = await page.locator('#roleplay-score .criterion').count();
  for (let index = 0; index < criteria; index++) {
    await page.locator(`#roleplay-score [data-criterion="${index}"] input[type="radio"]`).last().check();
  }
  await page.locator('#roleplay-comment').fill('Clear next step at the end.');
  await page.locator('#roleplay-submit').click();
  await waitUntil(page, 'the submission is acknowledged', () => !!document.getElementById('roleplay-submitted'));
}

test('a whole meeting: every stage is in the first screen of every page', { timeout: 600_000 }, async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const links = await fetch(`${server.url}/api/groups`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Tuesday Closers' }),
    }).then((response) => response.json());
    const fran = await join(browser, links.facilitator_url, 'Fran', LAPTOP, 'Enter as facilitator');
    const ann = await join(browser, links.invite_url, 'Ann', PHONE_DARK, 'Join');
    const bob = await join(browser, links.invite_url, 'Bob', PHONE, 'Join');
    const cleo = await join(browser, links.invite_url, 'Cleo', LAPTOP_DARK, 'Join');
    const everyone = [fran, ann, bob, cleo];
    const labels = { Fran: 'facilitator', Ann: 'phone-dark', Bob: 'phone', Cleo: 'dark' };
    /** What looked broken on any first screen (cut text, a cut tab, covered controls). */
    const layoutSeen = /** @type {string[]} */ ([]);

    /**
     * Every page shows `selector` in its first screen; photographs and checks each page; the
     * facilitator reaches `control` (when given) within 10 Tab presses.
     * @param {string} stage
     * @param {string} selector
     * @param {string} [control]
     * @param {boolean} [withBar] Whether the meeting bar is on screen too (not in the lobby).
     */
    const stageSeen = async (stage, selector, control, withBar = true) => {
      for (const person of everyone) {
        await waitUntil(person.page, `${person.name} sees the ${stage} stage`, (wanted) => {
          const element = document.querySelector(wanted);
          return !!element && element.getClientRects().length > 0;
        }, selector);
        // Clicks elsewhere may have scrolled; the first screen is what a person sees on arrival.
        const where = await inFirstScreen(person.page, withBar ? [selector, '#meeting-bar'] : [selector]);
        const label = /** @type {Record<string, string>} */ (labels)[person.name];
        await firstScreenShot(person.page, `meeting-${stage}-${label}`);
        assert.deepEqual(where.filter((entry) => !entry.inside), [], `${person.name} (${label}) sees the ${stage} stage in the first screen`);
        for (const problem of await layoutProblems(person.page)) layoutSeen.push(`${stage}, ${person.name} (${label}): ${problem}`);
        await checkAccessibility(person.page, `${stage}, ${person.name} (${label})`);
      }
      if (control) {
        const presses = await tabsTo(fran.page, control);
        assert.ok(presses !== null, `the facilitator reaches ${control} within ${TABS_TO_CONTROL_MAX} Tab presses from the ${stage} stage's tab`);
      }
    };
    /** Where the focus is on Fran's page: not the page itself after an action. */
    const focusKept = async (/** @type {string} */ after) => {
      const where = await fran.page.evaluate(() => document.activeElement?.tagName ?? 'BODY');
      assert.notEqual(where, 'BODY', `the focus does not fall to the page after ${after}`);
    };

    // --- the lobby: the meeting is upcoming until the facilitator starts it -----------------
    await stageSeen('lobby', '#lobby-here', '#lobby-start', false);
    for (const person of everyone) {
      const facilitator = person === fran;
      assert.equal(await person.page.locator('#lobby-start').isVisible(), facilitator, `${person.name}: Start meeting for facilitators only`);
      assert.equal(await person.page.locator('#lobby-waiting').isVisible(), !facilitator, `${person.name}: waiting for the facilitator`);
      assert.match(await person.page.locator('#lobby-group').textContent() ?? '', /^Tuesday Closers · Meeting 1$/);
      assert.match(await person.page.locator('#lobby-here-title').textContent() ?? '', /4 of 4 members/);
      assert.equal(await person.page.locator('#lobby-here li').count(), 4, `${person.name} sees who is here`);
      // No time is shown until the group has a schedule: the slot is there, empty.
      assert.equal(await person.page.locator('#lobby-when').isVisible(), false);
      assert.equal(await person.page.locator('#meeting-bar').isVisible(), false, 'no meeting bar before the start');
      assert.equal(await person.page.locator('#tab-timer').isVisible(), false, 'no round tab before the start');
      // The mark and the name "Roundtable" on one line, on a phone too (the mark wrapped alone).
      assert.ok(await person.page.locator('.room-topline .brand').evaluate((brand) =>
        brand.getBoundingClientRect().height < 2.2 * parseFloat(getComputedStyle(brand).fontSize)), `${person.name}: the brand on one line`);
    }
    // The agenda is edited in the lobby: an open discussion added at the end.
    await fran.page.locator('#agenda-item-title').fill('Open discussion');
    await fran.page.locator('#agenda-item-kind').selectOption('discussion');
    await fran.page.locator('#agenda-add').click();
    await everyoneSees(everyone, 'the open discussion on the agenda', () => document.getElementById('agenda-list')?.textContent?.includes('Open discussion'));
    await focusKept('Add item');
    // Everyone here: Start meeting asks nothing, and every page leaves the lobby at once.
    await fran.page.locator('#lobby-start').focus();
    await fran.page.keyboard.press('Enter');
    await everyoneSees(everyone, 'the meeting live, the lobby gone', () => window.roundtable?.state()?.meeting.phase === 'live'
      && !document.querySelector('#panel-lobby')?.getClientRects().length && !!document.querySelector('#meeting-bar')?.getClientRects().length);
    assert.equal(await fran.page.locator('dialog[open]').count(), 0, 'no confirmation with everyone here');
    await focusKept('Start meeting');

    // --- the agenda ---------------------------------------------------------------------------
    await stageSeen('agenda', '#agenda-list');
    /** The facilitator moves on from the bar; everyone's bar names the item. */
    const nextItem = async (/** @type {string} */ title) => {
      await fran.page.locator('#bar-next-item').click();
      await everyoneSees(everyone, `"${title}" in the bar`, (wanted) => document.getElementById('bar-item-title')?.textContent === wanted, title);
      await focusKept(`Next: ${title}`);
    };

    // --- the check-in round: the order and the big timer -----------------------------------
    await nextItem('Check-in round');
    await stageSeen('round-ready', '#timer-box', '#timer-start');
    await fran.page.locator('#timer-start').click();
    await everyoneSees(everyone, 'the speaking order and a running timer', () => document.querySelectorAll('#round-order .speaker').length === 4
      && /^\d+:\d\d$/.test(document.getElementById('timer-display')?.textContent ?? '') && !!document.querySelector('#bar-timer:not([hidden])'));
    await focusKept('Start round');
    await everyoneSees(everyone, 'the time left in the tab title', () => /^\d+:\d\d /.test(document.title));
    await stageSeen('round', '#round-order', '#timer-next-button');
    await fran.page.locator('#timer-next-button').click();
    await everyoneSees(everyone, 'Ann speaking', () => document.querySelector('#round-order .speaker[data-status="speaking"] .speaker-name')?.textContent?.startsWith('Ann'));
    await fran.page.locator('#timer-end').click();
    await everyoneSees(everyone, 'the round ended', () => !document.querySelector('#round-box:not([hidden])'));
    await focusKept('End round');

    // --- report back: nothing due in a group's first meeting --------------------------------
    await nextItem('Report back');
    await stageSeen('report-back', '#panel-reportback');

    // --- bring a problem: a presenter, suggestions, the presenter's choice ---------------------
    await nextItem('Bring a problem');
    await stageSeen('problem-presenter', '#problem-box', '#problem-presenter-select');
    await fran.page.locator('#problem-presenter-select').selectOption({ label: 'Ann' });
    await fran.page.getByRole('button', { name: 'Set presenter' }).click();
    await everyoneSees(everyone, 'Ann presents', () => document.getElementById('problem-presenter')?.textContent?.startsWith('Ann'));
    await focusKept('Set presenter');
    await fran.page.getByRole('button', { name: 'Start Present · 5 min' }).click();
    await everyoneSees(everyone, 'the present phase', () => !!document.querySelector('#problem-phases .phase.current[data-phase="present"]'));
    await stageSeen('problem', '#problem-phases', '[data-action="phase-clarify"]');
    await fran.page.getByRole('button', { name: 'Start Suggestions · 8 min' }).click();
    await focusKept('Start Suggestions');
    await cleo.page.locator('#suggestion-text').fill('Ask the champion to bring the CFO to a second call.');
    await cleo.page.locator('#suggestion-add').click();
    await bob.page.locator('#suggestion-text').fill('Send a one-page ROI summary before Friday.');
    await bob.page.locator('#suggestion-add').click();
    await everyoneSees(everyone, 'two suggestions', () => document.querySelectorAll('#suggestion-list .suggestion').length === 2);
    await stageSeen('problem-suggestions', '#suggestion-list');
    await fran.page.getByRole('button', { name: 'Start Choose · 2 min' }).click();
    await waitUntil(ann.page, 'Ann can choose', () => !!document.querySelector('#suggestion-list input[type="checkbox"]'));
    await ann.page.locator('#suggestion-list input[type="checkbox"]').first().check();
    await ann.page.locator('#suggestions-choose').click();
    await everyoneSees(everyone, 'Ann\'s choice', () => document.getElementById('chosen-note')?.textContent?.includes('chose 1 suggestion'));
    await stageSeen('problem-decided', '#chosen-note');

    // --- role play: setup, the call, scoring, results -----------------------------------------
    await nextItem('Role play');
    await stageSeen('role-play-setup', '#panel-roleplay', '#roleplay-seller');
    // Members are told the role play is being set up (they read "No role play right now").
    for (const person of [ann, bob, cleo]) {
      assert.match(await person.page.locator('#roleplay-empty').textContent() ?? '', /^The facilitator is setting up the role play/, `${person.name} knows it is coming`);
    }
    await fran.page.locator('#roleplay-seller').selectOption({ label: 'Ann' });
    await fran.page.locator('#roleplay-buyer').selectOption({ label: 'Bob' });
    await fran.page.locator('#roleplay-scenario').fill('Renewal call with a customer who wants a 10% discount.');
    await fran.page.locator('#roleplay-brief').fill('You have a competitor quote 12% lower.');
    await fran.page.locator('#roleplay-setup-submit').click();
    await everyoneSees(everyone, 'the scenario', () => document.getElementById('roleplay-scenario-text')?.textContent?.includes('Renewal'));
    await focusKept('Set up role play');
    await stageSeen('role-play-call', '.roleplay-current', '#roleplay-open');
    await fran.page.locator('#roleplay-open').click();
    for (const person of [fran, bob, cleo]) await waitUntil(person.page, `${person.name} has the form`, () => !!document.getElementById('roleplay-score'));
    await focusKept('Open scoring');
    await stageSeen('role-play-scoring', '.roleplay-current', '#roleplay-score-first');
    // The bar asks the buyer to score, as the form does (it told Bob his call was being scored).
    assert.equal(await bob.page.locator('#bar-now').textContent(), 'Score the call: your scores are anonymous.');
    assert.equal(await ann.page.locator('#bar-now').textContent(), 'The others are scoring your call, anonymously.');
    for (const person of [fran, bob, cleo]) await score(person.page);
    await waitUntil(fran.page, 'the reveal is enabled', () => !(/** @type {HTMLButtonElement | null} */ (document.getElementById('roleplay-reveal')))?.disabled);
    await fran.page.locator('#roleplay-reveal').click();
    await everyoneSees(everyone, 'the results', () => !!document.getElementById('roleplay-results'));
    await focusKept('Reveal results');
    await stageSeen('role-play-results', '#roleplay-results');
    for (const person of everyone) {
      const bars = await person.page.locator('#roleplay-results .distribution').first().getByRole('listitem').allTextContents();
      assert.ok(bars.some((text) => /3 scorers/.test(text)), `${person.name} hears each bar's count: ${bars.join(' | ')}`);
    }

    // --- benchmarks: entry, then the group view -------------------------------------------------
    await nextItem('Benchmarks');
    await stageSeen('benchmarks-entry', '#benchmark-form', '#benchmark-inputs input');
    // An empty form sends nothing and says why (the button did nothing).
    await ann.page.locator('#benchmark-submit').click();
    await waitUntil(ann.page, 'Ann is told to enter a number', () => document.getElementById('benchmark-submit-status')?.textContent === 'Enter at least one number first.');
    for (const [index, person] of [ann, bob, cleo].entries()) {
      const inputs = person.page.locator('#benchmark-inputs input');
      const count = await inputs.count();
      for (let field = 0; field < count; field++) await inputs.nth(field).fill(String(10 * (index + 1) + field));
      await person.page.locator('#benchmark-submit').click();
      // The toast that says so keeps clear of what was just used: the share choice and the
      // button (on a phone, at the bottom, it lay over "anonymously").
      await waitUntil(person.page, `${person.name} is told the numbers are in`, () => [...document.querySelectorAll('#toasts .toast')]
        .some((toast) => toast.textContent?.startsWith('Your numbers are in')));
      const label = /** @type {Record<string, string>} */ (labels)[person.name];
      await firstScreenShot(person.page, `meeting-benchmarks-saved-${label}`);
      assert.deepEqual(await toastsOver(person.page, ['#benchmark-form .sharing', '#benchmark-submit']), [],
        `${person.name} (${label}): the toast leaves the share choice and the button just used in sight`);
    }
    await everyoneSees(everyone, 'the group\'s numbers', () => !!document.querySelector('#benchmark-group .metric-cards'));
    // Each who submitted is told so, and the button now corrects them.
    await everyoneSees([ann, bob, cleo], 'their numbers submitted', () => document.getElementById('benchmark-submit-status')?.textContent === ''
      && [...document.querySelectorAll('#toasts .toast')].some((toast) => toast.textContent?.startsWith('Your numbers are in, with your name.'))
      && document.getElementById('benchmark-submit')?.textContent === 'Update my numbers');
    await stageSeen('benchmarks', '#benchmark-group');

    // --- best practices: the library ---------------------------------------------------------
    await nextItem('Best practices');
    await stageSeen('practices-empty', '#panel-practices', '#practice-search');
    await cleo.page.locator('.practice-new > summary').click();
    await cleo.page.locator('#practice-title').fill('Ask for the budget in the first call');
    await cleo.page.locator('#practice-description').fill('Asking early saved two weeks on three deals.');
    await cleo.page.locator('#practice-tags').fill('discovery, budget');
    await cleo.page.locator('#practice-post').click();
    await everyoneSees(everyone, 'the practice', () => !!document.querySelector('#practice-list .practice'));
    await ann.page.locator('#practice-list .upvote').first().click();
    await everyoneSees(everyone, 'one upvote', () => document.querySelector('#practice-list .upvote')?.textContent === '▲ 1');
    await stageSeen('practices', '#practice-list .practice');

    // --- new commitments: the board -------------------------------------------------------------
    await nextItem('New commitments');
    await bob.page.locator('#commitment-text').fill('Call the three stalled leads');
    await bob.page.locator('#commitment-add').click();
    await everyoneSees(everyone, 'Bob\'s commitment', () => document.getElementById('commitment-board')?.textContent?.includes('three stalled leads'));
    await stageSeen('commitments', '#commitment-board', '#commitment-text');

    // --- the open discussion: the timer stage --------------------------------------------------
    await nextItem('Open discussion');
    // On a phone the hand button is on the stage too.
    await bob.page.locator('#stage-hand-button').click();
    await everyoneSees(everyone, 'Bob\'s raised hand', () => document.getElementById('queue-list')?.textContent?.includes('Bob'));
    await waitUntil(bob.page, 'Bob\'s stage button says the hand is up', () => document.getElementById('stage-hand-button')?.getAttribute('aria-pressed') === 'true');
    await stageSeen('discussion', '#timer-box', '#timer-start');
    // The stage's tab names the discussion (it read "Round"); back to "Round" after it.
    for (const person of everyone) assert.equal(await person.page.locator('#tab-timer .tab-label').textContent(), 'Discussion', `${person.name}'s tab`);

    // --- a facilitator on a phone calls on Bob and ends his turn from the stage ----------------------
    await fran.page.setViewportSize(PHONE.viewport);
    await showView(fran.page, 'people');
    await fran.page.getByRole('button', { name: 'Call on Bob' }).click();
    await everyoneSees(everyone, 'Bob has the floor', () => document.getElementById('bar-now')?.textContent?.includes('has the floor') || document.getElementById('bar-now')?.textContent === 'You have the floor.');
    await showView(fran.page, 'timer');
    await fran.page.getByRole('button', { name: 'End Bob\'s turn' }).click();
    await everyoneSees(everyone, 'the floor is free', () => /** @type {any} */ (window.roundtable.state()?.features.agenda)?.floor === null);
    await fran.page.setViewportSize(LAPTOP.viewport);
    await bob.page.locator('#stage-hand-button').click();
    await everyoneSees(everyone, 'Bob\'s hand up again', () => (window.roundtable.state()?.hands.length ?? 0) === 1);

    // --- the item's clock, Back and Next --------------------------------------------------------
    await everyoneSees(everyone, 'the item\'s time left in the bar', () => /^\d+:\d\d left$/.test(document.getElementById('bar-item-clock')?.textContent ?? ''));
    await fran.page.locator('#bar-back-item').click();
    await everyoneSees(everyone, '"New commitments" in the bar again', () => document.getElementById('bar-item-title')?.textContent === 'New commitments');
    await focusKept('Back');
    await nextItem('Open discussion');

    // --- End meeting: a confirmation that names what runs, then everyone's summary ---------------
    await fran.page.locator('#bar-end-meeting').click();
    const dialog = fran.page.locator('dialog[open]');
    assert.match(await dialog.textContent() ?? '', /1 raised hand is lowered/);
    await dialog.locator('button[value="confirm"]').click();
    await everyoneSees(everyone, 'the meeting ended', () => document.getElementById('bar-item-title')?.textContent === 'Meeting 1 has ended');
    await focusKept('End meeting');
    assert.equal(await fran.page.evaluate(() => document.activeElement?.id), 'summary-title', 'the focus goes to the summary');
    await stageSeen('summary', '#summary-body', '#summary-start-next');
    for (const person of everyone) {
      const text = await person.page.locator('#panel-summary').textContent() ?? '';
      assert.match(text, /Ask the champion to bring the CFO|Send a one-page ROI summary/, `${person.name} sees the decision`);
      assert.match(text, /Bob: Call the three stalled leads/, `${person.name} sees the commitments made`);
      assert.match(text, /Ann, .*% overall from 3 scorers/, `${person.name} sees the role play's result`);
      assert.equal(await person.page.locator('#summary-waiting').isVisible(), person !== fran);
      assert.equal(await person.page.locator('#queue-list li').count(), 0, 'hands are lowered');
    }
    // Ending the meeting leads everyone to meeting 2's lobby.
    assert.match(await fran.page.locator('#summary-start-next').textContent() ?? '', /^End meeting 1 and open meeting 2's lobby$/);
    await fran.page.locator('#summary-start-next').click();
    await everyoneSees(everyone, "meeting 2's lobby", () => /^Meeting 2 · not started yet/.test(document.querySelector('.meeting-line')?.textContent ?? '')
      && !!document.querySelector('#panel-lobby')?.getClientRects().length && document.getElementById('lobby-group')?.textContent?.endsWith('Meeting 2'));

    for (const person of everyone) assert.deepEqual(person.errors, [], `${person.name}'s page logged no error`);
    assert.deepEqual(layoutSeen, [], 'no first screen shows cut text, a cut tab or a covered control');
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
