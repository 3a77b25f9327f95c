// Role play and anonymous scoring in real browsers against the real server: a facilitator sets
// up a role play with a seller, a buyer with a private brief and a built-in rubric; the buyer
// alone sees the brief; the buyer, two scorers and the facilitator score while the seller sees
// no form; everyone sees only the count; no comment reaches any page before the reveal, and
// after it everyone sees the results.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, screenshot, waitUntil, SCREENSHOT_DIR, PHONE, join, everyoneSees, showView, startMeeting } from './support/browser.mjs';

/** @typedef {import('playwright-core').Page} Page */
/** @typedef {import('./support/browser.mjs').Person} Person */

const DESKTOP = { viewport: { width: 1280, height: 900 } };

const BRIEF = 'Zebrafinch brief: you regret the competitor contract';
const SECRET_COMMENT = 'Quokka-7731 loved the discovery questions';

/**
 * @param {Page} page
 * @param {string} name
 */
async function panelShot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await showView(page, 'roleplay');
  await page.locator('#panel-roleplay').screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
}

/**
 * Fills the score form: one radio per criterion, a comment, and one thing to do differently.
 * @param {Page} page
 * @param {number} score
 * @param {string} comment
 */
async function score(page, score, comment) {
  await showView(page, 'roleplay');
  // A scorer who has submitted opens the form again to change their scores.
  if (await page.locator('#roleplay-change').count()) await page.locator('#roleplay-change').click();
  await showView(page, 'roleplay');
  const criteria = await page.locator('#roleplay-score .criterion').count();
  for (let index = 0; index < criteria; index++) {
    const radios = page.locator(`#roleplay-score [data-criterion="${index}"] input[type="radio"]`);
    const count = await radios.count();
    await radios.nth(Math.min(score, count) - 1).check();
  }
  await showView(page, 'roleplay');
  await page.locator('#roleplay-comment').fill(comment);
  if (await page.locator('#roleplay-one-thing').count()) await page.locator('#roleplay-one-thing').fill(`Slow down (${comment.slice(0, 5)})`);
  await showView(page, 'roleplay');
  await page.locator('#roleplay-submit').click();
  await waitUntil(page, 'the submission is acknowledged', () => !!document.getElementById('roleplay-submitted'));
}

/** @param {Page} page */
const html = (page) => page.evaluate(() => document.documentElement.outerHTML);

test('role play: private brief, anonymous scoring with a count only, reveal to everyone', async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const created = await fetch(`${server.url}/api/groups`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Role Players' }),
    }).then((response) => response.json());
    const fran = await join(browser, created.facilitator_url, 'Fran', DESKTOP, 'Enter as facilitator');
    const sam = await join(browser, created.invite_url, 'Sam', DESKTOP, 'Join');
    const bea = await join(browser, created.invite_url, 'Bea', PHONE, 'Join');
    const cal = await join(browser, created.invite_url, 'Cal', DESKTOP, 'Join');
    const dee = await join(browser, created.invite_url, 'Dee', { ...DESKTOP, colorScheme: 'dark' }, 'Join');
    const everyone = [fran, sam, bea, cal, dee];
    // A new group's first meeting is upcoming: the facilitator starts it from the lobby.
    await startMeeting(fran, everyone);

    // Set up: Sam sells, Bea buys with a private brief.
    await waitUntil(fran.page, 'the setup form lists everyone', () => document.querySelectorAll('#roleplay-seller option').length === 6);
    await showView(sam.page, 'roleplay');
    assert.equal(await sam.page.locator('#roleplay-setup').count(), 0, 'only a facilitator sets up a role play');
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-seller').selectOption({ label: 'Sam' });
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-buyer').selectOption({ label: 'Bea' });
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-scenario').fill('Discovery call with a logistics firm.');
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-brief').fill(BRIEF);
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-setup-submit').click();
    await everyoneSees(everyone, 'the scenario', () => document.getElementById('roleplay-scenario-text')?.textContent?.includes('logistics firm'));
    await everyoneSees(everyone, 'when the results will be shown, in plain words', () =>
      document.getElementById('roleplay-threshold-means')?.textContent?.includes('The results are shown only once at least 3 people have scored, so nobody\'s scores can be picked out.'));
    await waitUntil(bea.page, 'Bea sees her brief', (brief) => document.getElementById('roleplay-brief-text')?.textContent?.includes(brief), BRIEF);
    for (const person of [fran, sam, cal, dee]) assert.ok(!(await html(person.page)).includes('Zebrafinch'), `the brief is nowhere on ${person.name}'s page`);
    await showView(bea.page, 'roleplay');
    await panelShot(bea.page, 'panel-roleplay-buyer-phone');

    // Open scoring.
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-open').click();
    await everyoneSees(everyone, 'no submissions yet, and how many the reveal needs', () =>
      document.getElementById('roleplay-count')?.textContent === '0 submissions so far · results are shown once 3 people have scored');
    await waitUntil(sam.page, 'Sam waits, with no form', () => !!document.getElementById('roleplay-seller-wait') && !document.getElementById('roleplay-score'));
    for (const person of [fran, bea, cal, dee]) await waitUntil(person.page, `${person.name} has the form`, () => !!document.getElementById('roleplay-score'));
    await showView(fran.page, 'roleplay');
    assert.equal(await fran.page.locator('#roleplay-reveal').isDisabled(), true, 'the reveal waits for the threshold');
    await showView(fran.page, 'roleplay');
    assert.ok((await fran.page.locator('#roleplay-reveal-why').textContent())?.includes('at least 3'));

    await score(cal.page, 4, SECRET_COMMENT);
    await everyoneSees(everyone, 'one submission', () => document.getElementById('roleplay-count')?.textContent?.startsWith('1 submission'));
    await waitUntil(cal.page, 'Cal may revise', () => document.getElementById('roleplay-change')?.textContent === 'Change my scores');
    await score(dee.page, 3, 'Dee thinks the close was rushed');
    await everyoneSees(everyone, 'two submissions', () => document.getElementById('roleplay-count')?.textContent?.startsWith('2 submissions'));
    await showView(fran.page, 'roleplay');
    await panelShot(fran.page, 'panel-roleplay-facilitator-below-threshold');
    await score(bea.page, 5, 'Bea felt heard');
    await score(fran.page, 2, 'Fran wants a clearer next step');
    await everyoneSees(everyone, 'four submissions', () => document.getElementById('roleplay-count')?.textContent?.startsWith('4 submissions'));
    // A revision changes no count.
    await score(cal.page, 5, SECRET_COMMENT);
    await everyoneSees(everyone, 'still four submissions', () => document.getElementById('roleplay-count')?.textContent?.startsWith('4 submissions'));
    await showView(cal.page, 'roleplay');
    await panelShot(cal.page, 'panel-roleplay-scorer');
    await showView(sam.page, 'roleplay');
    await panelShot(sam.page, 'panel-roleplay-seller-waiting');
    await showView(sam.page, 'roleplay');
    assert.equal(await sam.page.locator('#roleplay-score').count(), 0, 'the seller never gets a form');
    for (const person of everyone) {
      const page = await html(person.page);
      assert.ok(!page.includes('Quokka-7731'), `Cal's comment is nowhere on ${person.name}'s page before the reveal`);
      if (person !== cal) assert.ok(!page.includes('Bea felt heard') || person === bea, `Bea's comment is not on ${person.name}'s page`);
    }

    // Reveal.
    await waitUntil(fran.page, 'the reveal is enabled', () => !(/** @type {HTMLButtonElement} */ (document.getElementById('roleplay-reveal'))).disabled);
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-reveal').click();
    await everyoneSees(everyone, 'the results with Cal\'s comment', () => document.getElementById('roleplay-comments')?.textContent?.includes('Quokka-7731'));
    await everyoneSees(everyone, 'a distribution per criterion and the overall score', () =>
      document.querySelectorAll('#roleplay-results .distribution').length > 0 && /%$/.test(document.getElementById('roleplay-overall')?.textContent ?? ''));
    await everyoneSees(everyone, 'what the overall score means, in plain words', () =>
      document.getElementById('roleplay-overall-means')?.textContent?.startsWith('100% would mean that every scorer gave every criterion its top score, 0% that every scorer gave the lowest; criteria with a higher weight count more. From 4 anonymous scorers.'));
    await everyoneSees(everyone, 'the "one thing to do differently" answers', () =>
      document.querySelectorAll('#roleplay-one-things li').length === 4);
    await showView(sam.page, 'roleplay');
    assert.equal(await sam.page.locator('#roleplay-score').count(), 0, 'the seller still has no form');
    await showView(sam.page, 'roleplay');
    await panelShot(sam.page, 'panel-roleplay-results');
    await showView(bea.page, 'roleplay');
    await panelShot(bea.page, 'panel-roleplay-results-phone');
    await showView(dee.page, 'roleplay');
    await panelShot(dee.page, 'panel-roleplay-results-dark');

    // A second role play for Sam: cancelled once (nothing revealed), then scored and revealed,
    // after which everyone sees Sam's trend across the two.
    const setUpAgain = async () => {
      if (!(await fran.page.locator('#roleplay-setup').isVisible())) await fran.page.getByText('Set up the next role play').click();
      await showView(fran.page, 'roleplay');
      await fran.page.locator('#roleplay-seller').selectOption({ label: 'Sam' });
      await showView(fran.page, 'roleplay');
      await fran.page.locator('#roleplay-scenario').fill('Objection handling: the price is too high.');
      await showView(fran.page, 'roleplay');
      await fran.page.locator('#roleplay-setup-submit').click();
      await everyoneSees(everyone, 'the second scenario', () => document.getElementById('roleplay-scenario-text')?.textContent?.includes('price is too high'));
    };
    await setUpAgain();
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-cancel').click();
    await everyoneSees(everyone, 'the cancelled role play gone, the last results kept', () =>
      !document.getElementById('roleplay-scenario-text') && !!document.getElementById('roleplay-results'));
    // Cancelling once someone has scored asks first, saying how many scores would be lost.
    await setUpAgain();
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-open').click();
    await waitUntil(cal.page, 'Cal has the form', () => !!document.getElementById('roleplay-score'));
    await score(cal.page, 3, 'Cal scored a role play that gets cancelled');
    await everyoneSees(everyone, 'one submission to the role play', () => document.getElementById('roleplay-count')?.textContent?.startsWith('1 submission'));
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-cancel').click();
    const dialog = fran.page.getByRole('dialog', { name: 'Cancel the role play?' });
    await dialog.waitFor();
    assert.match(await dialog.textContent() ?? '', /1 anonymous score has been submitted\. Cancelling deletes it for good/);
    await screenshot(fran.page, 'roleplay-cancel-confirm');
    await dialog.getByRole('button', { name: 'Keep the role play' }).click();
    await waitUntil(fran.page, 'the dialog closes, the focus back on Cancel role play', () => !document.querySelector('dialog[open]') && document.activeElement?.id === 'roleplay-cancel');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await everyoneSees(everyone, 'the role play still scoring, its submission kept', () =>
      document.getElementById('roleplay-phase')?.textContent === 'scoring open' && document.getElementById('roleplay-count')?.textContent?.startsWith('1 submission'));
    await fran.page.locator('#roleplay-cancel').click();
    await dialog.getByRole('button', { name: 'Cancel and delete 1 score' }).click();
    await everyoneSees(everyone, 'the scored role play cancelled', () => !document.getElementById('roleplay-scenario-text'));
    await waitUntil(fran.page, 'the focus on the role play, not the page', () => document.activeElement !== document.body && !!document.activeElement);
    await setUpAgain();
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-open').click();
    for (const person of [cal, dee, bea]) {
      await waitUntil(person.page, `${person.name} has the second form`, () => !!document.getElementById('roleplay-score'));
      await score(person.page, 5, `${person.name} second round`);
    }
    await everyoneSees(everyone, 'three submissions', () => document.getElementById('roleplay-count')?.textContent?.startsWith('3 submissions'));
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-close').click();
    await waitUntil(fran.page, 'the reveal is enabled after closing', () => !(/** @type {HTMLButtonElement | null} */ (document.getElementById('roleplay-reveal')))?.disabled);
    await showView(fran.page, 'roleplay');
    await fran.page.locator('#roleplay-reveal').click();
    await everyoneSees(everyone, 'Sam\'s trend with two points', () => document.querySelectorAll('#roleplay-trend li').length === 2);
    await showView(sam.page, 'roleplay');
    await panelShot(sam.page, 'panel-roleplay-trend');
    await screenshot(fran.page, 'roleplay-facilitator');

    // The next meeting: last meeting's results leave the stage, one click away at most.
    await showView(fran.page, 'agenda');
    await fran.page.locator('#start-next-meeting').click();
    await fran.page.getByRole('dialog').getByRole('button', { name: 'End meeting' }).click();
    await everyoneSees(everyone, 'meeting 2', () => document.getElementById('meeting-line')?.textContent?.startsWith('Meeting 2'));
    // Meeting 2 is upcoming until the facilitator starts it from its lobby.
    await startMeeting(fran, everyone);
    await everyoneSees(everyone, 'no role play on the stage, last meeting\'s results closed', () =>
      !document.getElementById('roleplay-scenario-text') && document.getElementById('roleplay-empty')?.textContent === 'No role play right now.'
      && /** @type {HTMLDetailsElement | null} */ (document.getElementById('roleplay-earlier'))?.open === false
      && document.querySelector('#roleplay-earlier summary')?.textContent?.startsWith('Last meeting\'s results: Sam'));
    await showView(fran.page, 'roleplay');
    assert.equal(await fran.page.locator('#roleplay-setup').isVisible(), true, 'the facilitator sees the setup of this meeting\'s role play');
    await showView(cal.page, 'roleplay');
    assert.equal(await cal.page.locator('#roleplay-results').isVisible(), false, 'the results are not on the stage');
    await cal.page.getByText('Last meeting\'s results: Sam').click();
    await waitUntil(cal.page, 'the results open on request', () => !!document.getElementById('roleplay-results')?.checkVisibility());
    await panelShot(cal.page, 'panel-roleplay-next-meeting');
    assert.deepEqual(everyone.flatMap((person) => person.errors), [], 'no page threw an uncaught error');
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
