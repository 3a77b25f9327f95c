// A peer group's week walked through in real browsers, the way its people would, around the
// meeting itself (whole-meeting.test.mjs walks every stage of the meeting): Fran (laptop,
// light) creates the group on the landing page and opens it as facilitator; Ann (phone,
// light), Bob (laptop, dark) and Cleo (laptop, light) join through the invite link. In the
// lobby Fran sets the schedule and the call link; Ann prepares on her phone (check-in, numbers,
// a hot-seat request); Fran starts the meeting, the round shows Ann's check-in, the problem
// item her request, and Fran ends the meeting; then everyone reads the minutes, and Ann and Bob
// open "My history". Every screen a person arrives at is photographed
// (target/screenshots/walk-<screen>-<who>.png) and checked with axe-core and for what a person
// would call broken (support/stage.mjs layoutProblems: cut text, a cut tab or badge,
// overlapping or covered controls, a page wider than the screen), in its first screen and, for
// long pages, at each part scrolled to.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, collectPageErrors, waitUntil, everyoneSees, showView, PHONE } from './support/browser.mjs';
import { checkAccessibility, firstScreenShot, layoutProblems } from './support/stage.mjs';

/** @typedef {import('playwright-core').Page} Page */
/** @typedef {import('./support/browser.mjs').Person} Person */

const LAPTOP = { viewport: { width: 1366, height: 900 }, timezoneId: 'Europe/Berlin' };
const LAPTOP_DARK = { ...LAPTOP, colorScheme: /** @type {const} */ ('dark') };
const PHONE_LIGHT = { ...PHONE, timezoneId: 'Europe/Berlin' };
const CALL_LINK = 'https://meet.jit.si/TuesdayClosersWeekly';
const ANN_WIN = 'Closed the Acme renewal at full price';
const ANN_PROBLEM = 'Procurement stalls every deal over 50k';

test('a group\'s week walked through: created, scheduled, prepared for on a phone, met, and looked back on', { timeout: 600_000 }, async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  /** What looked broken anywhere, listed at the end so one run shows all of it. */
  const broken = /** @type {string[]} */ ([]);
  /** @type {string[][]} */
  const errors = [];
  /**
   * Photographs and checks what `person` sees now, scrolled to the top (or to `part`, brought
   * into view first).
   * @param {Person} person
   * @param {string} label
   * @param {string} screen
   * @param {string} [part]
   */
  const look = async (person, label, screen, part) => {
    if (part) await person.page.locator(part).first().evaluate((element) => element.scrollIntoView({ block: 'start' }));
    else await person.page.evaluate(() => window.scrollTo(0, 0));
    // Colour transitions and the tabs' scrolling settle before the photograph.
    await waitUntil(person.page, 'the page settles', () => document.getAnimations().every((animation) => animation.playState !== 'running'
      || /** @type {any} */ (animation).animationName === 'pulse'));
    await firstScreenShot(person.page, `walk-${screen}-${label}`);
    for (const problem of await layoutProblems(person.page)) broken.push(`${screen}, ${person.name} (${label}): ${problem}`);
    await checkAccessibility(person.page, `${screen}, ${person.name} (${label})`);
  };

  try {
    // --- Fran creates the group on the landing page --------------------------------------------
    const franContext = await browser.newContext(LAPTOP);
    const franPage = await franContext.newPage();
    errors.push(collectPageErrors(franPage, 'Fran'));
    const fran = { name: 'Fran', page: franPage };
    await franPage.goto(`${server.url}/`);
    await look(fran, 'facilitator', 'landing');
    await franPage.getByLabel('Group name').fill('Tuesday Closers');
    await franPage.getByRole('button', { name: 'Create group' }).click();
    await waitUntil(franPage, 'the two links', () => !!document.getElementById('invite-link'));
    await look(fran, 'facilitator', 'created');
    const invite = await franPage.locator('#invite-link').inputValue();
    await franPage.locator('#open-as-facilitator').click();
    await franPage.getByLabel('Your name').fill('Fran');
    await look(fran, 'facilitator', 'join');
    await franPage.getByRole('button', { name: 'Enter as facilitator', exact: true }).click();
    await waitUntil(franPage, 'Fran is in the room', () => window.roundtable?.phase() === 'connected' && window.roundtable.state() !== null);

    /** @type {(name: string, label: string, options: object) => Promise<Person>} */
    const member = async (name, label, options) => {
      const context = await browser.newContext(options);
      const page = await context.newPage();
      errors.push(collectPageErrors(page, name));
      await page.goto(invite);
      await page.getByLabel('Your name').fill(name);
      await look({ name, page }, label, 'join');
      await page.getByRole('button', { name: 'Join', exact: true }).click();
      await waitUntil(page, `${name} is in the room`, () => window.roundtable?.phase() === 'connected' && window.roundtable.state() !== null);
      return { name, page };
    };
    const ann = await member('Ann', 'phone', PHONE_LIGHT);
    const bob = await member('Bob', 'laptop-dark', LAPTOP_DARK);
    const cleo = await member('Cleo', 'laptop', LAPTOP);
    const everyone = [fran, ann, bob, cleo];
    const labels = new Map([[fran, 'facilitator'], [ann, 'phone'], [bob, 'laptop-dark'], [cleo, 'laptop']]);
    const lookAll = async (/** @type {string} */ screen, /** @type {string} */ [part] = []) => {
      for (const person of everyone) await look(person, /** @type {string} */ (labels.get(person)), screen, part);
    };
    await everyoneSees(everyone, 'four here', () => document.querySelectorAll('#lobby-here li').length === 4);
    // No schedule yet: the lobby says so (it said nothing), and leads the facilitator to the form.
    await everyoneSees(everyone, 'no time set yet', () => document.getElementById('lobby-unscheduled')?.textContent?.startsWith('No time is set for this meeting yet')
      && !!document.getElementById('lobby-unscheduled')?.getClientRects().length);
    for (const person of [ann, bob, cleo]) assert.equal(await person.page.locator('#lobby-set-schedule').isVisible(), false, `${person.name} sets no schedule`);
    await lookAll('lobby');
    // The keyboard in a member's menu: the focused item shows a ring (the shade was too faint).
    await franPage.locator('#people-list .person', { hasText: 'Ann' }).locator('button[aria-haspopup="menu"]').focus();
    await franPage.keyboard.press('Enter');
    const ring = await franPage.evaluate(() => {
      const focused = document.activeElement;
      const style = focused ? getComputedStyle(focused) : null;
      return { role: focused?.getAttribute('role'), outline: style ? `${style.outlineStyle} ${style.outlineWidth}` : '' };
    });
    assert.deepEqual(ring, { role: 'menuitem', outline: 'solid 2px' }, 'the focused menu item shows a ring');
    await franPage.keyboard.press('Escape');
    await franPage.locator('#lobby-set-schedule').focus();
    await franPage.keyboard.press('Enter');
    assert.equal(await franPage.evaluate(() => document.activeElement?.id), 'schedule-every', 'the focus goes to the schedule form');
    // Every field of the schedule forms is as tall as the others (the time fields were not styled).
    const heights = await franPage.locator('#schedule-form :is(input, select):visible, #move-form :is(input, select):visible')
      .evaluateAll((fields) => fields.map((field) => `${field.id} ${Math.round(field.getBoundingClientRect().height)}`));
    assert.equal(new Set(heights.map((entry) => entry.split(' ')[1])).size, 1, `one height for every field: ${heights.join(', ')}`);

    // --- the schedule and the call link, set in the lobby ---------------------------------------
    await franPage.getByLabel('Repeats').selectOption('week');
    await franPage.getByLabel('Day of the week').selectOption('tuesday');
    await franPage.getByLabel('First meeting on or after').fill('2027-01-04');
    await franPage.getByLabel('Start time (the group\'s time zone)').fill('09:00');
    await franPage.getByLabel('Planned length (minutes)').fill('90');
    await franPage.getByLabel('Time zone of the schedule').selectOption('Europe/Berlin');
    await franPage.getByLabel('Planned length (minutes)').press('Enter');
    await everyoneSees(everyone, 'when the meeting is, in the lobby', () => document.getElementById('lobby-when')?.textContent?.startsWith('Next meeting: Tue 5 Jan')
      && !document.getElementById('lobby-unscheduled')?.getClientRects().length);
    const callField = franPage.getByLabel('Video call link');
    await callField.fill(CALL_LINK);
    await callField.press('Enter');
    await everyoneSees(everyone, 'Join the call', (link) => document.getElementById('join-call')?.getAttribute('href') === link, CALL_LINK);
    await lookAll('lobby-scheduled');
    await look(fran, 'facilitator', 'lobby-settings', '#schedule-form');

    // --- Ann prepares on her phone ------------------------------------------------------------------
    await ann.page.locator('#lobby-prepare').click();
    await waitUntil(ann.page, 'the prep page', () => document.getElementById('tab-prep')?.getAttribute('aria-selected') === 'true');
    await look(ann, 'phone', 'prep');
    await ann.page.locator('#prep-win').fill(ANN_WIN);
    await ann.page.locator('#prep-check-in-save').click();
    await waitUntil(ann.page, 'the check-in saved', () => document.getElementById('prep-check-in-status')?.textContent?.startsWith('Saved'));
    await look(ann, 'phone', 'prep-check-in', '#prep-check-in-save');
    await ann.page.locator('#prep-problem').fill(ANN_PROBLEM);
    await ann.page.locator('#prep-hot-seat-save').click();
    await waitUntil(ann.page, 'the hot seat asked', () => document.getElementById('prep-hot-seat-status')?.textContent?.startsWith('Asked'));
    await look(ann, 'phone', 'prep-hot-seat', '#prep-problem');
    // The numbers' labels as in the meeting's form: a unit only where it says something.
    assert.deepEqual(await ann.page.locator('#prep-number-inputs label').allTextContents(),
      ['Calls', 'Meetings', 'Proposals', 'Deals closed', 'Revenue (USD)']);
    await ann.page.locator('#prep-number-calls').fill('42');
    await ann.page.locator('#prep-numbers-save').click();
    await waitUntil(ann.page, 'the numbers in', () => document.getElementById('prep-numbers-status')?.textContent?.startsWith('Submitted'));
    await look(ann, 'phone', 'prep-numbers', '#prep-number-calls');
    await showView(ann.page, 'lobby');
    await waitUntil(franPage, 'Fran sees one prepared', () => document.getElementById('lobby-prepared')?.textContent === '1 of 4 prepared');
    await lookAll('lobby-prepared');

    // --- the meeting: started, the round with Ann's check-in, the problem with her request -------
    await franPage.locator('#lobby-start').click();
    await everyoneSees(everyone, 'the meeting live', () => window.roundtable?.state()?.meeting.phase === 'live');
    await lookAll('live');
    // Every part of the room is in a landmark: the reactions were not (axe's "region").
    for (const person of everyone) {
      assert.equal(await person.page.locator('#reactions').evaluate((toolbar) => toolbar.closest('main, nav, aside, header, footer, section[aria-label]')?.getAttribute('aria-label') ?? null),
        'Reactions', `${person.name}: the reactions in a landmark`);
    }
    await franPage.locator('#bar-next-item').click();
    await everyoneSees(everyone, 'the round', () => document.getElementById('bar-item-title')?.textContent === 'Check-in round');
    await franPage.locator('#timer-start').click();
    await everyoneSees(everyone, 'the round running', () => !!document.querySelector('#round-order .speaker[data-status="speaking"]'));
    for (let step = 0; step < 4; step++) {
      const speaking = await franPage.evaluate(() => document.querySelector('#round-order .speaker[data-status="speaking"] .speaker-name')?.textContent ?? '');
      if (speaking.startsWith('Ann')) break;
      await franPage.locator('#timer-next-button').click();
      await waitUntil(franPage, 'the next speaker', (was) => (document.querySelector('#round-order .speaker[data-status="speaking"] .speaker-name')?.textContent ?? '') !== was, speaking);
    }
    await everyoneSees(everyone, 'Ann\'s check-in beside her', (win) => document.getElementById('speaker-check-in')?.textContent?.includes(win), ANN_WIN);
    await lookAll('round-check-in');
    // A facilitator may run the meeting from a phone too.
    await franPage.setViewportSize(PHONE.viewport);
    await look(fran, 'facilitator-phone', 'round-check-in');
    await franPage.setViewportSize(LAPTOP.viewport);
    await franPage.locator('#timer-end').click();
    await everyoneSees(everyone, 'the round ended', () => !document.querySelector('#round-box:not([hidden])'));
    for (const title of ['Report back', 'Bring a problem']) {
      await franPage.locator('#bar-next-item').click();
      await everyoneSees(everyone, `"${title}"`, (wanted) => document.getElementById('bar-item-title')?.textContent === wanted, title);
    }
    await waitUntil(franPage, 'Ann\'s hot-seat request', () => document.querySelectorAll('#hot-seat-list .hot-seat-request').length === 1);
    // Its priority reads as the letter Ann chose (it showed as "a").
    for (const person of everyone) assert.equal(await person.page.locator('#hot-seat-list .priority').innerText(), 'Priority A', `${person.name} reads the priority`);
    // Until Fran chooses, the presenter offered is the member whose request ranks first.
    assert.equal(await franPage.locator('#problem-presenter-select option:checked').innerText(), 'Ann', 'the presenter offered is the hot seat\'s Ann');
    await lookAll('problem-hot-seat');
    await franPage.setViewportSize(PHONE.viewport);
    await look(fran, 'facilitator-phone', 'problem-hot-seat');
    await franPage.setViewportSize(LAPTOP.viewport);

    // --- the end, the minutes -----------------------------------------------------------------------
    await franPage.locator('#bar-end-meeting').click();
    await franPage.locator('dialog[open] button[value="confirm"]').click();
    await everyoneSees(everyone, 'the summary', () => !!document.querySelector('#summary-body')?.getClientRects().length);
    await lookAll('summary');
    // On a laptop every tab is wholly in sight (with the summary's tab the row scrolled "Round"
    // out of view).
    for (const person of [fran, bob, cleo]) {
      const cut = await person.page.evaluate(() => {
        const list = /** @type {HTMLElement} */ (document.getElementById('room-tabs')).getBoundingClientRect();
        return [...document.querySelectorAll('#room-tabs [role="tab"]')].filter((tab) => tab.getClientRects().length > 0)
          .filter((tab) => { const box = tab.getBoundingClientRect(); return box.left < list.left - 1 || box.right > list.right + 1; })
          .map((tab) => tab.textContent);
      });
      assert.deepEqual(cut, [], `${person.name} sees every tab`);
    }
    assert.equal(await franPage.locator('#bar-now').textContent(), 'The meeting has ended. Open the next meeting\'s lobby from the summary.',
      'the bar names what the summary\'s button does');
    await franPage.locator('#summary-start-next').click();
    await everyoneSees(everyone, 'meeting 2\'s lobby', () => document.getElementById('lobby-group')?.textContent?.endsWith('Meeting 2'));
    await lookAll('next-lobby');

    // --- My history, on the phone and on the dark laptop ---------------------------------------------
    for (const person of [ann, bob]) {
      const label = /** @type {string} */ (labels.get(person));
      await person.page.locator('#history-button').click();
      await waitUntil(person.page, `${person.name}'s history`, () => document.querySelectorAll('#history-meetings details').length === 1);
      await look(person, label, 'history');
      if (person === ann) {
        // One meeting's numbers: said in words, not a lone dot in an empty chart.
        const calls = ann.page.locator('.history-metric[data-metric="calls"]');
        assert.equal(await calls.locator('.history-chart').count(), 0, 'no chart from one meeting');
        assert.match(await calls.locator('.history-single').textContent() ?? '', /^Meeting 1: yours 42 calls, the group median –\./);
      }
      await look(person, label, 'history-meetings', '#history-meetings');
      await person.page.locator('#history-meetings details > summary').first().click();
      await look(person, label, 'history-minutes', '#history-meetings details');
    }

    assert.deepEqual(errors.flat(), [], 'no page logged an error');
    assert.deepEqual(broken, [], 'no screen shows cut text, a cut tab, overlapping or covered controls');
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
