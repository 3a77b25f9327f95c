// Prep before a meeting in real browsers against the real server: Ann (phone, light) goes from
// the lobby's "Prepare for this meeting" to the Prep tab and prepares with the keyboard alone,
// and the lobby then says what she prepared ("Edit your prep"); Cleo (phone) reports back on
// her commitment in the Prep tab, held until the start: her own board says so, nobody else's
// page or frames hold it, and the start puts it on everyone's board; Bob (phone, dark) types his check-in, hot-seat request and numbers
// while his phone is offline (the browser's network emulation), closes the page, and his prep
// is sent once when he opens the room again online; Cleo (phone) does not prepare. Until the
// start, the facilitator (laptop) sees only "2 of 4 prepared" and receives nobody's prep in any
// frame; the lobby says how many prepared. Then the facilitator starts the meeting from the lobby: the round shows each speaker's check-in on
// their turn, the problem item lists the hot-seat requests ranked (Bob's A before Ann's B) and
// picking one makes Bob the presenter, and the benchmarks hold the numbers from prep. Every
// screen passes axe-core, fits its width and is photographed (target/screenshots/prep-*.png).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, join, waitUntil, everyoneSees, showView, screenshot, collectPageErrors, PHONE } from './support/browser.mjs';
import { checkAccessibility } from './support/stage.mjs';

/** @typedef {import('playwright-core').Page} Page */

const LAPTOP = { viewport: { width: 1366, height: 900 } };
const PHONE_DARK = { ...PHONE, colorScheme: /** @type {const} */ ('dark') };
const ANN_WIN = 'Ann closed the Acme renewal';
const ANN_PROBLEM = 'Ann: procurement stalls every deal';
const BOB_WIN = 'Bob booked six demos offline';
const BOB_PROBLEM = 'Bob: pilots convert but nobody signs';
const CLEO_COMMITMENT = 'Cleo calls the three stalled accounts';
const CLEO_REPORT = 'Cleo-report: all three called, one meeting booked';

/**
 * Records the text frames a page sends and receives on its WebSockets.
 * @param {Page} page
 */
function recordFrames(page) {
  const sent = /** @type {string[]} */ ([]);
  const received = /** @type {string[]} */ ([]);
  page.on('websocket', (socket) => {
    socket.on('framesent', (frame) => sent.push(String(frame.payload)));
    socket.on('framereceived', (frame) => received.push(String(frame.payload)));
  });
  return { sent, received };
}

/**
 * Records the frames of every page of a browser context from its first WebSocket on: `prepare`
 * goes to `join`, which calls it before the page opens.
 */
function recordFramesFromTheStart() {
  const frames = { sent: /** @type {string[]} */ ([]), received: /** @type {string[]} */ ([]) };
  /** @param {import('playwright-core').BrowserContext} context */
  const prepare = async (context) => {
    context.on('page', (page) => {
      const recorded = recordFrames(page);
      frames.sent = recorded.sent;
      frames.received = recorded.received;
    });
  };
  return { frames, prepare };
}

/**
 * Whether the page fits its viewport's width (no sideways scrolling).
 * @param {Page} page
 */
async function fitsWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/**
 * Presses Tab until `selector` has the focus (at most `max` presses).
 * @param {Page} page
 * @param {string} selector
 */
async function tabTo(page, selector, max = 30) {
  for (let presses = 0; presses < max; presses++) {
    if (await page.evaluate((wanted) => !!document.activeElement?.matches(wanted), selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${selector} not reached with Tab`);
}

test('members prepare on phones, one offline, and the meeting uses their prep', { timeout: 300_000 }, async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const links = await fetch(`${server.url}/api/groups`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Prep Peers' }),
    }).then((response) => response.json());
    // Every frame Fran, Ann and Cleo receive, from their first on.
    const franRecording = recordFramesFromTheStart();
    const annRecording = recordFramesFromTheStart();
    const cleoRecording = recordFramesFromTheStart();
    const fran = await join(browser, links.facilitator_url, 'Fran', LAPTOP, 'Enter as facilitator', franRecording.prepare);
    const franFrames = franRecording.frames;
    const ann = await join(browser, links.invite_url, 'Ann', PHONE, 'Join', annRecording.prepare);
    const annFrames = annRecording.frames;
    const bob = await join(browser, links.invite_url, 'Bob', PHONE_DARK, 'Join');
    const cleo = await join(browser, links.invite_url, 'Cleo', PHONE, 'Join', cleoRecording.prepare);
    const cleoFrames = cleoRecording.frames;
    const errors = [fran.errors, ann.errors, bob.errors, cleo.errors];
    await everyoneSees([fran, ann, bob, cleo], 'four members and prep open',
      () => window.roundtable.state()?.members.length === 4 && /** @type {any} */ (window.roundtable.state()?.features.prep)?.open === true);


    // --- Cleo reports back on her commitment in prep: held for her alone ----------------------
    await showView(cleo.page, 'commitments');
    await cleo.page.locator('#commitment-text').fill(CLEO_COMMITMENT);
    await cleo.page.locator('#commitment-add').click();
    await everyoneSees([fran, ann, bob, cleo], 'Cleo\'s commitment on the board', (text) =>
      /** @type {any} */ (window.roundtable.state()?.features.commitments)?.commitments.some((/** @type {any} */ c) => c.text === text), CLEO_COMMITMENT);
    await showView(cleo.page, 'prep');
    const report = cleo.page.locator('#prep-report-list .prep-report-item').first();
    await report.locator('select[name="status"]').selectOption('done');
    await report.locator('input[name="note"]').fill(CLEO_REPORT);
    await report.locator('button[type="submit"]').click();
    await waitUntil(cleo.page, 'Cleo\'s report back held', () => document.querySelector('#prep-report-list .prep-report-item .prep-status')?.textContent?.startsWith('Reported: Done'));
    assert.ok(await fitsWidth(cleo.page), 'the report back fits a phone');
    await screenshot(cleo.page, 'prep-report-back-phone');
    await checkAccessibility(cleo.page, 'prep, report back held, phone');
    await showView(cleo.page, 'commitments');
    await waitUntil(cleo.page, 'Cleo\'s board says it is held', (text) => document.querySelector('#commitment-board .commitment-held')?.textContent?.includes(text), CLEO_REPORT);
    await screenshot(cleo.page, 'prep-report-back-board-phone');
    await checkAccessibility(cleo.page, 'the board with a held report back, phone');
    assert.equal(await cleo.page.evaluate(() => /** @type {any} */ (window.roundtable.state()?.features.commitments)?.commitments[0].status), 'open',
      'held: not on the board yet');

    // --- Ann goes from the lobby to the Prep tab and prepares with the keyboard alone ---------
    await waitUntil(ann.page, 'the lobby leads to prep', () => document.getElementById('lobby-prepare')?.textContent === 'Prepare for this meeting');
    await showView(ann.page, 'lobby');
    await screenshot(ann.page, 'prep-lobby-phone-light');
    await checkAccessibility(ann.page, 'lobby with the way to prep, phone, light');
    await ann.page.locator('#tab-lobby').focus();
    await tabTo(ann.page, '#lobby-prepare');
    await ann.page.keyboard.press('Enter');
    await waitUntil(ann.page, 'the Prep tab open with the focus in it', () => document.getElementById('tab-prep')?.getAttribute('aria-selected') === 'true'
      && document.activeElement?.id === 'prep-title');
    await waitUntil(ann.page, 'the prep page', () => document.getElementById('prep-count')?.textContent === '0 of 4 prepared');
    await tabTo(ann.page, '#prep-win');
    await ann.page.keyboard.type(ANN_WIN);
    await ann.page.keyboard.press('Tab');
    await ann.page.keyboard.type('Two deals stuck in legal');
    await ann.page.keyboard.press('Tab');
    await ann.page.keyboard.type('An intro to Globex');
    await tabTo(ann.page, '#prep-check-in-save');
    await ann.page.keyboard.press('Enter');
    await waitUntil(ann.page, 'Ann\'s check-in saved', () => document.getElementById('prep-check-in-status')?.textContent?.startsWith('Saved'));
    await tabTo(ann.page, '#prep-problem');
    await ann.page.keyboard.type(ANN_PROBLEM);
    await ann.page.keyboard.press('Tab');
    await ann.page.keyboard.press('ArrowDown'); // priority B
    await ann.page.keyboard.press('Tab');
    await ann.page.keyboard.press('Control+A');
    await ann.page.keyboard.type('20');
    await ann.page.keyboard.press('Enter');
    await waitUntil(ann.page, 'Ann\'s hot-seat request saved', () => document.getElementById('prep-hot-seat-status')?.textContent?.startsWith('Asked: priority B, 20 minutes'));
    await ann.page.locator('#prep-number-calls').fill('40');
    await ann.page.locator('#prep-numbers-save').click();
    await waitUntil(ann.page, 'Ann\'s numbers submitted', () => document.getElementById('prep-numbers-status')?.textContent?.startsWith('Submitted'));
    assert.ok(await fitsWidth(ann.page), 'the prep page fits a phone');
    await screenshot(ann.page, 'prep-phone-light');
    await checkAccessibility(ann.page, 'prep, member, phone, light');
    // The lobby says what she prepared, and leads back to it.
    await showView(ann.page, 'lobby');
    await waitUntil(ann.page, 'the lobby says what Ann prepared', () => document.getElementById('lobby-prepare')?.textContent === 'Edit your prep'
      && document.getElementById('lobby-my-prep')?.textContent?.startsWith('Your prep: check-in saved · hot seat asked · numbers in.'));
    assert.ok(await fitsWidth(ann.page), 'the lobby fits a phone');
    await screenshot(ann.page, 'prep-lobby-prepared-phone-light');
    await checkAccessibility(ann.page, 'lobby after prep, phone, light');

    // --- Bob prepares offline, closes the page, and comes back online -------------------------
    const bobFrames = recordFrames(bob.page);
    await showView(bob.page, 'prep');
    await bob.page.context().setOffline(true);
    await waitUntil(bob.page, 'Bob offline', () => window.roundtable.phase() === 'offline');
    await bob.page.locator('#prep-win').fill(BOB_WIN);
    await bob.page.locator('#prep-ask').fill('Feedback on my pilot pitch');
    await bob.page.locator('#prep-check-in-save').click();
    await bob.page.locator('#prep-problem').fill(BOB_PROBLEM);
    await bob.page.locator('#prep-priority').selectOption('a');
    await bob.page.locator('#prep-minutes').fill('15');
    await bob.page.locator('#prep-hot-seat-save').click();
    await bob.page.locator('#prep-number-calls').fill('55');
    await bob.page.locator('#prep-sharing-anonymous').check();
    await bob.page.locator('#prep-numbers-save').click();
    await waitUntil(bob.page, 'Bob\'s draft kept on the phone', () => document.getElementById('prep-check-in-status')?.textContent?.startsWith('Kept on this phone'));
    assert.ok(await fitsWidth(bob.page), 'the offline prep page fits a phone');
    await screenshot(bob.page, 'prep-phone-dark-offline');
    await checkAccessibility(bob.page, 'prep, member, phone, dark, offline');
    const kept = await bob.page.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('roundtable.drafts.prep:'))
      .map((key) => localStorage.getItem(key) ?? '').join(''));
    assert.ok(kept.includes(BOB_WIN) && kept.includes(BOB_PROBLEM), 'the drafts are in the browser\'s storage');
    assert.equal(bobFrames.sent.filter((frame) => frame.includes('save_check_in')).length, 0, 'nothing sent while offline');
    const room = bob.page.url();
    await bob.page.close();
    await bob.page.context().setOffline(false);
    const bobAgain = await bob.page.context().newPage();
    const bobErrors = collectPageErrors(bobAgain, 'Bob again');
    errors.push(bobErrors);
    const bobAgainFrames = recordFrames(bobAgain);
    await bobAgain.goto(room);
    await waitUntil(bobAgain, 'Bob back and his prep saved', () => {
      const prep = /** @type {any} */ (window.roundtable?.state()?.features.prep);
      return window.roundtable?.phase() === 'connected' && !!prep?.mine.check_in && !!prep?.mine.hot_seat;
    });
    await showView(bobAgain, 'prep');
    await waitUntil(bobAgain, 'Bob sees it saved', () => document.getElementById('prep-check-in-status')?.textContent?.startsWith('Saved')
      && document.getElementById('prep-numbers-status')?.textContent?.startsWith('Submitted'));
    assert.equal(await bobAgain.locator('#prep-win').inputValue(), BOB_WIN, 'the draft is back in its field');
    for (const kind of ['save_check_in', 'request_hot_seat', 'submit_numbers']) {
      assert.equal(bobAgainFrames.sent.filter((frame) => frame.includes(`"${kind}"`)).length, 1, `${kind} sent once`);
    }
    const bobPage = bobAgain;
    await showView(bobPage, 'lobby');
    await waitUntil(bobPage, 'Bob\'s lobby says what he prepared', () => document.getElementById('lobby-prepare')?.textContent === 'Edit your prep');
    assert.ok(await fitsWidth(bobPage), 'the lobby fits a dark phone');
    await screenshot(bobPage, 'prep-lobby-prepared-phone-dark');
    await checkAccessibility(bobPage, 'lobby after prep, phone, dark');

    // --- before the start: counts only --------------------------------------------------------
    await showView(fran.page, 'prep');
    await everyoneSees([fran, ann, { name: 'Bob', page: bobPage }, cleo], 'two of four prepared',
      () => /** @type {any} */ (window.roundtable.state()?.features.prep)?.prepared === 2);
    await waitUntil(fran.page, 'the count on the facilitator\'s page', () => document.getElementById('prep-count')?.textContent === '2 of 4 prepared');
    await screenshot(fran.page, 'prep-facilitator-count');
    await checkAccessibility(fran.page, 'prep, facilitator, laptop');
    for (const text of [ANN_WIN, ANN_PROBLEM, BOB_WIN, BOB_PROBLEM]) {
      assert.ok(!franFrames.received.some((frame) => frame.includes(text)), `the facilitator received nothing of "${text}" before the start`);
      assert.ok(!(await cleo.page.content()).includes(text), `Cleo's page holds nothing of "${text}"`);
    }
    assert.ok(!(await ann.page.content()).includes(BOB_WIN), 'Ann does not see Bob\'s prep');
    // Cleo's report back: nobody else received it or shows it, and their boards say open.
    for (const [name, page, frames] of /** @type {const} */ ([['Fran', fran.page, franFrames], ['Ann', ann.page, annFrames], ['Bob', bobPage, bobAgainFrames]])) {
      assert.ok(!frames.received.some((frame) => frame.includes(CLEO_REPORT)), `${name} received nothing of Cleo's report back`);
      assert.ok(!(await page.content()).includes(CLEO_REPORT), `${name}'s page holds nothing of Cleo's report back`);
      assert.equal(await page.evaluate(() => /** @type {any} */ (window.roundtable.state()?.features.commitments)?.commitments[0].status), 'open');
    }
    assert.ok(cleoFrames.received.some((frame) => frame.includes(CLEO_REPORT)), 'Cleo received her own report back');
    await showView(ann.page, 'commitments');
    assert.equal(await ann.page.locator('#commitment-board .commitment-held').count(), 0, 'Ann\'s board marks nothing held');

    // The lobby on a laptop, light and dark: the facilitator may prepare too.
    await showView(fran.page, 'lobby');
    await waitUntil(fran.page, 'the facilitator\'s way to prep', () => document.getElementById('lobby-prepare')?.textContent === 'Prepare for this meeting');
    assert.ok(await fitsWidth(fran.page), 'the lobby fits a laptop');
    await screenshot(fran.page, 'prep-lobby-laptop-light');
    await checkAccessibility(fran.page, 'lobby, facilitator, laptop, light');
    await fran.page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(fran.page, 'prep-lobby-laptop-dark');
    await checkAccessibility(fran.page, 'lobby, facilitator, laptop, dark');
    await fran.page.emulateMedia({ colorScheme: 'light' });
    assert.equal(await cleo.page.evaluate(() => /** @type {any} */ (window.roundtable.state()?.features.benchmarks)?.view.submitted_count), 0,
      'no prep numbers show before the start');

    // --- the start ------------------------------------------------------------------------------
    const everyone = [fran, ann, { name: 'Bob', page: bobPage }, cleo];
    await waitUntil(fran.page, 'the count in the lobby', () => document.getElementById('lobby-prepared')?.textContent === '2 of 4 prepared');
    await showView(fran.page, 'lobby');
    await fran.page.locator('#lobby-start').click();
    await everyoneSees(everyone, 'the prep revealed', () => /** @type {any} */ (window.roundtable.state()?.features.prep)?.check_ins?.length === 2);
    // Cleo's report back is on everyone's board now.
    await everyoneSees(everyone, 'Cleo\'s report back on the board', (note) => {
      const commitment = /** @type {any} */ (window.roundtable.state()?.features.commitments)?.commitments[0];
      return commitment?.status === 'done' && commitment.note === note;
    }, CLEO_REPORT);
    await showView(ann.page, 'commitments');
    await waitUntil(ann.page, 'Ann\'s board shows Cleo\'s report back', (note) => document.getElementById('commitment-board')?.textContent?.includes(note), CLEO_REPORT);
    assert.equal(await cleo.page.evaluate(() => /** @type {any} */ (window.roundtable.state()?.features.prep)?.mine.report_backs.length), 0, 'nothing held any more');
    await everyoneSees(everyone, 'the prep numbers in the benchmarks', () => {
      const view = /** @type {any} */ (window.roundtable.state()?.features.benchmarks)?.view;
      return view?.submitted_count === 2 && view.per_metric.find((/** @type {any} */ metric) => metric.key === 'calls')?.named.some((/** @type {any} */ value) => value.value === 40);
    });

    // The round: each speaker's check-in beside them on their turn.
    await fran.page.locator('#bar-next-item').click();
    await everyoneSees(everyone, 'the check-in round', () => document.getElementById('bar-item-title')?.textContent === 'Check-in round');
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-start').click();
    await everyoneSees(everyone, 'the round running', () => document.querySelectorAll('#round-order .speaker').length === 4);
    for (const [name, win] of [['Ann', ANN_WIN], ['Bob', BOB_WIN]]) {
      for (let step = 0; step < 4; step++) {
        const speaking = await fran.page.evaluate(() => document.querySelector('#round-order .speaker[data-status="speaking"] .speaker-name')?.textContent ?? '');
        if (speaking.startsWith(name)) break;
        await fran.page.locator('#timer-next-button').click();
        await waitUntil(fran.page, 'the next speaker', (was) => (document.querySelector('#round-order .speaker[data-status="speaking"] .speaker-name')?.textContent ?? '') !== was, speaking);
      }
      await everyoneSees(everyone, `${name}'s check-in beside them`, (wanted) => document.getElementById('speaker-check-in')?.textContent?.includes(wanted), win);
    }
    await screenshot(cleo.page, 'prep-round-check-in-phone');
    await checkAccessibility(cleo.page, 'the round with a check-in, phone');
    await fran.page.locator('#timer-end').click();
    await everyoneSees(everyone, 'the round ended', () => !document.querySelector('#round-box:not([hidden])'));

    // The problem item: the requests ranked, and the facilitator picks Bob's.
    for (let step = 0; step < 4; step++) {
      if (await fran.page.evaluate(() => document.getElementById('bar-item-title')?.textContent === 'Bring a problem')) break;
      const was = await fran.page.evaluate(() => document.getElementById('bar-item-title')?.textContent ?? '');
      await fran.page.locator('#bar-next-item').click();
      await waitUntil(fran.page, 'the next item', (title) => document.getElementById('bar-item-title')?.textContent !== title, was);
    }
    await showView(fran.page, 'problem');
    await waitUntil(fran.page, 'the ranked hot-seat requests', () => document.querySelectorAll('#hot-seat-list .hot-seat-request').length === 2);
    const order = await fran.page.locator('#hot-seat-list .hot-seat-request').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-priority')));
    assert.deepEqual(order, ['a', 'b'], 'priority A before B');
    assert.ok((await fran.page.locator('#hot-seat-list .hot-seat-request').first().textContent())?.includes(BOB_PROBLEM));
    await screenshot(fran.page, 'prep-problem-hot-seat');
    await checkAccessibility(fran.page, 'the problem item with the hot-seat requests');
    await fran.page.locator('#hot-seat-list [data-action="pick-hot-seat"]').first().click();
    await everyoneSees(everyone, 'Bob presents his problem', () => document.getElementById('problem-presenter')?.textContent?.startsWith('Bob'));
    const item = await fran.page.evaluate(() => /** @type {any} */ (window.roundtable.state()?.features.agenda)?.agenda.find((/** @type {any} */ entry) => entry.status === 'current'));
    assert.equal(item.title, BOB_PROBLEM);
    assert.equal(item.time_box_ms, 15 * 60_000);

    assert.deepEqual(errors.flat(), []);
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
