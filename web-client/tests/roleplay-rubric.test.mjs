// Editing a role play's rubric and "you have submitted" after a reload, in real browsers against
// the real server. A facilitator loads a built-in template, breaks it (no name, a weight of 0, an
// empty scale, two criteria with one name) and gets a clear message per field with nothing sent;
// fixes it, renames it, removes, reorders and adds criteria, saves it as a group template, which
// a second facilitator (on a phone) sees at once; a built-in name is refused before sending.
// The role play runs with the edited rubric; scorers who submitted and reload the page are told
// they submitted (their own snapshot says so), while someone who did not sees the blank form; a
// revision after the reload replaces the earlier scores. Deleting the template removes it from
// every facilitator's list.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, waitUntil, SCREENSHOT_DIR, PHONE, join, everyoneSees, showView, startMeeting } from './support/browser.mjs';

/** @typedef {import('playwright-core').Page} Page */

const DESKTOP = { viewport: { width: 1280, height: 900 } };

/** @param {Page} page @param {string} name */
async function panelShot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await showView(page, 'roleplay');
  await page.locator('#panel-roleplay').screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
}

/** The criteria names in the editor, in order. @param {Page} page */
const editorCriteria = (page) => page.locator('#rubric-criteria input[id$="-name"]').evaluateAll(
  (inputs) => inputs.map((input) => /** @type {HTMLInputElement} */ (input).value));

/** The template names in the setup's list. @param {Page} page */
const templateOptions = (page) => page.locator('#roleplay-template option').allTextContents();

/** The role play feature's state on a page. @param {Page} page */
const rolePlayView = (page) => page.evaluate(() => /** @type {any} */ (window.roundtable.state()?.features.role_play)?.view);

/**
 * Picks a score on every criterion of the form (the lowest + `offset`, within the scale), and
 * submits.
 * @param {Page} page
 * @param {number} offset
 */
async function score(page, offset) {
  await showView(page, 'roleplay');
  const criteria = await page.locator('#roleplay-score .criterion').count();
  for (let index = 0; index < criteria; index++) {
    const radios = page.locator(`#roleplay-score [data-criterion="${index}"] input[type="radio"]`);
    await radios.nth(Math.min(offset, (await radios.count()) - 1)).check();
  }
  await showView(page, 'roleplay');
  await page.locator('#roleplay-comment').fill(`Comment ${offset}`);
  await showView(page, 'roleplay');
  await page.locator('#roleplay-submit').click();
}

/** Reloads a page and waits until it is back in the room. @param {Page} page @param {string} who */
async function reload(page, who) {
  await page.reload();
  await waitUntil(page, `${who} is back after the reload`, () => window.roundtable?.phase() === 'connected' && window.roundtable.state() !== null);
}

test('rubric editing with clear errors, group templates for every facilitator, and "you have submitted" after a reload', async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const created = await fetch(`${server.url}/api/groups`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Rubric Crafters' }),
    }).then((response) => response.json());
    const fran = await join(browser, created.facilitator_url, 'Fran', DESKTOP, 'Enter as facilitator');
    const gus = await join(browser, created.facilitator_url, 'Gus', PHONE, 'Enter as facilitator');
    const sam = await join(browser, created.invite_url, 'Sam', DESKTOP, 'Join');
    const cal = await join(browser, created.invite_url, 'Cal', DESKTOP, 'Join');
    const pia = await join(browser, created.invite_url, 'Pia', PHONE, 'Join');
    const everyone = [fran, gus, sam, cal, pia];
    // A new group's first meeting is upcoming: the facilitator starts it from the lobby.
    await startMeeting(fran, everyone);
    const page = fran.page;

    // Load a built-in template and open the editor.
    await waitUntil(page, 'the setup lists everyone', () => document.querySelectorAll('#roleplay-seller option').length === 6);
    await showView(page, 'roleplay');
    await page.locator('#roleplay-template').selectOption({ label: 'Objection handling' });
    await showView(page, 'roleplay');
    await page.locator('#rubric-summary').click();
    assert.deepEqual(await editorCriteria(page), ['Stayed calm', 'Clarified', 'Acknowledged', 'Responded', 'Confirmed']);
    await showView(page, 'roleplay');
    assert.match(await page.locator('#rubric-limits').textContent() ?? '', /1 to 12 criteria.*60 characters.*300.*2 to 100 points.*1 to 100/);

    // Bad input: each problem is named next to its field, and nothing is sent.
    await showView(page, 'roleplay');
    await page.locator('#roleplay-seller').selectOption({ label: 'Sam' });
    await showView(page, 'roleplay');
    await page.locator('#roleplay-scenario').fill('The buyer says the price is 20% too high.');
    await showView(page, 'roleplay');
    await page.locator('#rubric-name').fill('   ');
    await showView(page, 'roleplay');
    await page.locator('#criterion-0-weight').fill('0');
    await showView(page, 'roleplay');
    await page.locator('#criterion-1-min').fill('5');
    await showView(page, 'roleplay');
    await page.locator('#criterion-1-max').fill('5');
    await showView(page, 'roleplay');
    await page.locator('#criterion-2-name').fill('stayed calm');
    await showView(page, 'roleplay');
    await page.locator('#criterion-3-max').fill('150');
    await showView(page, 'roleplay');
    await page.locator('#roleplay-setup-submit').click();
    await waitUntil(page, 'the problems are listed', () => document.querySelectorAll('#roleplay-problems li').length === 5);
    await showView(page, 'roleplay');
    const problems = await page.locator('#roleplay-problems li').allTextContents();
    assert.deepEqual(problems, [
      'Give the rubric a name.',
      'The weight of criterion 1 must be a whole number from 1 to 100.',
      'The highest score of criterion 2 must be above its lowest (5).',
      'Two criteria are named "stayed calm"; give criterion 3 another name.',
      'Criterion 4\'s scale has 150 points; at most 100 are allowed (like 1 to 100).',
    ]);
    await showView(page, 'roleplay');
    assert.equal(await page.locator('#criterion-0-weight').getAttribute('aria-invalid'), 'true');
    await showView(page, 'roleplay');
    assert.equal(await page.locator('#criterion-0-weight-problem').textContent(), problems[1]);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'rubric-name', 'the first field to fix has the focus');
    await showView(page, 'roleplay');
    await panelShot(page, 'panel-roleplay-rubric-errors');
    // Fixing a field clears its message at once.
    await showView(page, 'roleplay');
    await page.locator('#rubric-name').fill('Objection drill');
    await showView(page, 'roleplay');
    assert.equal(await page.locator('#rubric-name-problem').count(), 0);
    await showView(page, 'roleplay');
    assert.equal(await page.locator('#rubric-name').getAttribute('aria-invalid'), null);
    await page.waitForTimeout(300);
    for (const person of everyone) assert.equal(await person.page.locator('#roleplay-scenario-text').count(), 0, `no role play reached ${person.name}`);
    assert.equal((await rolePlayView(page)).current, null);

    // Fix the rest and reshape it: remove "Acknowledged", move "Responded" up, add a criterion.
    await showView(page, 'roleplay');
    await page.locator('#criterion-0-weight').fill('3');
    await showView(page, 'roleplay');
    await page.locator('#criterion-1-min').fill('1');
    await showView(page, 'roleplay');
    await page.locator('#criterion-1-max').fill('10');
    await showView(page, 'roleplay');
    await page.locator('#criterion-2-name').fill('Acknowledged');
    await showView(page, 'roleplay');
    await page.locator('#criterion-3-max').fill('5');
    await showView(page, 'roleplay');
    await page.getByRole('button', { name: 'Remove criterion 3, Acknowledged' }).click();
    assert.deepEqual(await editorCriteria(page), ['Stayed calm', 'Clarified', 'Responded', 'Confirmed']);
    await showView(page, 'roleplay');
    await page.getByRole('button', { name: 'Move criterion 3, Responded up' }).click();
    assert.deepEqual(await editorCriteria(page), ['Stayed calm', 'Responded', 'Clarified', 'Confirmed']);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'criterion-1-up', 'the focus follows the moved criterion');
    // The keyboard works too: Enter on the focused button moves it once more.
    await page.keyboard.press('Enter');
    assert.deepEqual(await editorCriteria(page), ['Responded', 'Stayed calm', 'Clarified', 'Confirmed']);
    await showView(page, 'roleplay');
    await page.locator('#rubric-add').click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'criterion-4-name');
    await page.keyboard.type('Next step agreed');
    await showView(page, 'roleplay');
    await page.locator('#criterion-4-min').fill('0');
    await showView(page, 'roleplay');
    await page.locator('#criterion-4-max').fill('3');
    await showView(page, 'roleplay');
    await page.locator('#criterion-4-weight').fill('2');
    await showView(page, 'roleplay');
    await page.locator('#criterion-4-description').fill('Left with a date for the next conversation.');
    assert.deepEqual(await editorCriteria(page), ['Responded', 'Stayed calm', 'Clarified', 'Confirmed', 'Next step agreed']);

    // Choosing another template asks before it replaces the edits; cancelling keeps them.
    await showView(page, 'roleplay');
    await page.locator('#roleplay-template').selectOption({ label: 'Closing' });
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual(await editorCriteria(page), ['Responded', 'Stayed calm', 'Clarified', 'Confirmed', 'Next step agreed']);
    await showView(page, 'roleplay');
    assert.equal(await page.locator('#roleplay-template').inputValue(), 'Objection handling');

    // A built-in name cannot be taken: said before anything is sent.
    await showView(page, 'roleplay');
    await page.locator('#rubric-name').fill('closing');
    await showView(page, 'roleplay');
    await page.locator('#rubric-save').click();
    await waitUntil(page, 'the built-in name is refused', () => document.getElementById('rubric-name-problem')?.textContent?.includes('is a built-in template'));
    await showView(page, 'roleplay');
    await page.locator('#rubric-name').fill('Objection drill');

    // Save it: every facilitator's list has it at once.
    await showView(page, 'roleplay');
    await page.locator('#rubric-save').click();
    await everyoneSees([fran, gus], 'the saved template in the list', () =>
      [...document.querySelectorAll('#roleplay-template option')].some((option) => option.textContent === 'Objection drill (group)'));
    await showView(page, 'roleplay');
    assert.equal(await page.locator('#roleplay-template').inputValue(), 'Objection drill');
    await showView(page, 'roleplay');
    assert.ok((await page.locator('#rubric-delete').textContent())?.includes('Objection drill'));
    await showView(gus.page, 'roleplay');
    await gus.page.locator('#roleplay-template').selectOption({ label: 'Objection drill (group)' });
    await showView(gus.page, 'roleplay');
    await gus.page.locator('#rubric-summary').click();
    assert.deepEqual(await editorCriteria(gus.page), ['Responded', 'Stayed calm', 'Clarified', 'Confirmed', 'Next step agreed']);
    await showView(gus.page, 'roleplay');
    await panelShot(gus.page, 'panel-roleplay-rubric-editor-phone');
    await showView(page, 'roleplay');
    await panelShot(page, 'panel-roleplay-rubric-editor');

    // Set up with it: scorers get the edited criteria, in order, on their scales.
    await showView(page, 'roleplay');
    await page.locator('#roleplay-setup-submit').click();
    await everyoneSees(everyone, 'the role play with the edited rubric', () => document.getElementById('roleplay-rubric')?.textContent === 'Objection drill');
    await showView(page, 'roleplay');
    await page.locator('#roleplay-open').click();
    for (const person of [cal, pia, fran, gus]) await waitUntil(person.page, `${person.name} has the form`, () => !!document.getElementById('roleplay-score'));
    await showView(cal.page, 'roleplay');
    const legends = await cal.page.locator('#roleplay-score legend').allTextContents();
    assert.deepEqual(legends, ['Responded ×3', 'Stayed calm ×3', 'Clarified ×3', 'Confirmed ×2', 'Next step agreed ×2']);
    await showView(cal.page, 'roleplay');
    assert.equal(await cal.page.locator('#roleplay-score [data-criterion="2"] input[type="radio"]').count(), 10, 'the 1 to 10 scale');
    await showView(cal.page, 'roleplay');
    assert.equal(await cal.page.locator('#roleplay-score [data-criterion="4"] input[type="radio"]').count(), 4, 'the 0 to 3 scale');

    // Cal and Pia submit, then reload: each is told they submitted; Fran, who did not, is not.
    await score(cal.page, 2);
    await waitUntil(cal.page, 'Cal sees his submission acknowledged', () => !!document.getElementById('roleplay-submitted'));
    await score(pia.page, 1);
    await everyoneSees(everyone, 'two submissions', () => document.getElementById('roleplay-count')?.textContent?.startsWith('2 submissions'));
    await reload(cal.page, 'Cal');
    await reload(pia.page, 'Pia');
    await reload(fran.page, 'Fran');
    for (const person of [cal, pia]) {
      await waitUntil(person.page, `${person.name} is told they submitted`, () =>
        document.getElementById('roleplay-submitted-text')?.textContent === 'You have submitted; you can change your scores until scoring closes.'
        && !document.getElementById('roleplay-score'));
      assert.equal((await rolePlayView(person.page)).you_submitted, true);
    }
    await waitUntil(fran.page, 'Fran has the blank form', () => !!document.getElementById('roleplay-score') && !document.querySelector('#roleplay-score input:checked'));
    await showView(fran.page, 'roleplay');
    assert.equal(await fran.page.locator('#roleplay-submitted').count(), 0);
    for (const person of [fran, gus, sam]) assert.equal((await rolePlayView(person.page)).you_submitted, false, `${person.name}'s state says false`);
    await showView(cal.page, 'roleplay');
    await panelShot(cal.page, 'panel-roleplay-submitted-after-reload');
    await showView(pia.page, 'roleplay');
    await panelShot(pia.page, 'panel-roleplay-submitted-after-reload-phone');

    // After the reload, Cal changes his scores: the form says why it is blank, and his new
    // scores replace the old ones (the count stays at two).
    await showView(cal.page, 'roleplay');
    await cal.page.locator('#roleplay-change').click();
    await waitUntil(cal.page, 'the form explains it is blank', () => document.getElementById('roleplay-changing')?.textContent?.includes('not shown'));
    assert.equal(await cal.page.evaluate(() => document.activeElement?.id), 'roleplay-score-first');
    await score(cal.page, 4);
    await waitUntil(cal.page, 'Cal is told he submitted again', () => !!document.getElementById('roleplay-submitted'));
    await page.waitForTimeout(300);
    await everyoneSees(everyone, 'still two submissions', () => document.getElementById('roleplay-count')?.textContent?.startsWith('2 submissions'));

    // Drop this role play (confirming the loss of its two scores); Gus deletes the template,
    // and it leaves Fran's list too.
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-cancel').click();
    await fran.page.getByRole('dialog', { name: 'Cancel the role play?' }).getByRole('button', { name: 'Cancel and delete 2 scores' }).click();
    await everyoneSees(everyone, 'the role play gone', () => !document.getElementById('roleplay-scenario-text'));
    await showView(gus.page, 'roleplay');
    await gus.page.locator('#roleplay-template').selectOption({ label: 'Objection drill (group)' });
    await showView(gus.page, 'roleplay');
    await gus.page.locator('#rubric-delete').click();
    await gus.page.getByRole('dialog').getByRole('button', { name: 'Delete template' }).click();
    await everyoneSees([fran, gus], 'the template gone from the list', () =>
      ![...document.querySelectorAll('#roleplay-template option')].some((option) => option.textContent === 'Objection drill (group)'));
    assert.deepEqual((await templateOptions(gus.page)).filter((label) => label.endsWith('(group)')), []);
    assert.deepEqual(everyone.flatMap((person) => person.errors), [], 'no page threw an uncaught error');
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
