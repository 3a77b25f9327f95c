// Leaving and deleting, in a real browser against the real server: a member on a phone in dark
// mode leaves the group and erases her data by keyboard (a choice per kind, explained), the
// others see her gone and her page says she left; then the facilitator on a laptop deletes the
// group by typing its name (the button works only once the name matches), everyone's page says
// the group was deleted, and its invite link leads nowhere. axe-core runs on each screen.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, join, screenshot, showView, waitUntil, PHONE } from './support/browser.mjs';
import { checkAccessibility } from './support/stage.mjs';

const GROUP = 'Leaving Test Peers';
const LAPTOP = { viewport: { width: 1366, height: 900 } };

/**
 * Presses Tab until `selector` has the focus (at most `most` times).
 * @param {import('playwright-core').Page} page
 * @param {string} selector
 * @param {number} [most]
 */
async function tabTo(page, selector, most = 60) {
  for (let presses = 0; presses < most; presses++) {
    if (await page.evaluate((wanted) => document.activeElement?.matches(wanted) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${selector} is not reached within ${most} Tab presses`);
}

/**
 * The dialog fits the viewport, all of it in view.
 * @param {import('playwright-core').Page} page
 * @param {string} selector
 */
async function fitsTheScreen(page, selector) {
  const fits = await page.evaluate((wanted) => {
    const element = document.querySelector(wanted);
    const box = element?.getBoundingClientRect();
    // Within the viewport, and with nothing to scroll to inside it.
    return !!element && !!box && box.left >= 0 && box.right <= window.innerWidth && box.top >= 0
      && box.bottom <= window.innerHeight && element.scrollHeight <= element.clientHeight + 1;
  }, selector);
  assert.ok(fits, `${selector} fits the screen`);
}

test('a member leaves and erases her data, then the facilitator deletes the group; by keyboard, on a phone and a laptop, light and dark', async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const created = await fetch(`${server.url}/api/groups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: GROUP }),
    }).then((response) => response.json());
    const fran = await join(browser, created.facilitator_url, 'Fran', { ...LAPTOP, colorScheme: 'light' }, 'Enter as facilitator');
    const ann = await join(browser, created.invite_url, 'Ann', { ...PHONE, colorScheme: 'dark' }, 'Join');
    const bob = await join(browser, created.invite_url, 'Bob', { ...LAPTOP, colorScheme: 'dark' }, 'Join');
    await ann.page.evaluate(() => window.roundtable.state());
    const annId = await ann.page.evaluate(() => window.roundtable.state()?.members.find((m) => m.display_name === 'Ann')?.member_id);
    assert.ok(annId);

    // Ann, on her phone, finds "Leave and erase my data" under the agenda and opens it with
    // the keyboard.
    await showView(ann.page, 'agenda');
    await ann.page.locator('#leave-group').scrollIntoViewIfNeeded();
    await ann.page.locator('#leave-group').focus();
    await ann.page.keyboard.press('Enter');
    const leaveDialog = ann.page.getByRole('dialog', { name: `Leave ${GROUP} and erase your data?` });
    await leaveDialog.waitFor();
    assert.equal(await ann.page.evaluate(() => document.activeElement?.textContent), 'Cancel', 'the safe choice has the focus');
    for (const words of ['Your commitments', 'Your numbers shared by name', 'Your practices', 'Anonymous numbers and role-play scores stay']) {
      await leaveDialog.getByText(words).first().waitFor();
    }
    await fitsTheScreen(ann.page, '#leave-dialog');
    await checkAccessibility(ann.page, 'leave dialog, phone, dark');
    await screenshot(ann.page, 'leave-dialog-phone-dark');
    // She keeps her practices for the group (arrow keys move within a choice), and leaves.
    await ann.page.locator('#erase-practices-remove').focus();
    await ann.page.keyboard.press('ArrowDown');
    assert.ok(await ann.page.locator('#erase-practices-anonymize').isChecked(), 'the arrow key chose "keep"');
    await tabTo(ann.page, '#leave-confirm');
    await ann.page.keyboard.press('Enter');
    await ann.page.getByRole('heading', { name: `You left ${GROUP}` }).waitFor();
    await checkAccessibility(ann.page, 'left page, phone, dark');
    await screenshot(ann.page, 'left-phone-dark');
    const annMemory = await ann.page.evaluate((key) => localStorage.getItem(key), `roundtable:group:${created.group_id}`);
    assert.equal(annMemory, null, 'her browser forgot the group');
    for (const person of [fran, bob]) {
      await waitUntil(person.page, `${person.name} sees Ann gone`,
        (id) => !window.roundtable.state()?.members.some((member) => member.member_id === id), annId);
    }

    // Bob, a member, has no delete button.
    await showView(bob.page, 'agenda');
    assert.equal(await bob.page.locator('#delete-group').isVisible(), false, 'only facilitators may delete');

    // Fran, the only facilitator, cannot leave; she deletes the group.
    await showView(fran.page, 'agenda');
    assert.ok(await fran.page.locator('#leave-group').isDisabled(), 'the only facilitator cannot leave');
    await fran.page.getByText('You are the group\'s only facilitator').waitFor();
    await fran.page.locator('#delete-group').scrollIntoViewIfNeeded();
    await checkAccessibility(fran.page, 'leaving and deleting, laptop, light');
    await screenshot(fran.page, 'delete-zone-laptop-light');
    await fran.page.locator('#delete-group').focus();
    await fran.page.keyboard.press('Enter');
    const deleteDialog = fran.page.getByRole('dialog', { name: `Delete ${GROUP} for everyone?` });
    await deleteDialog.waitFor();
    assert.ok(await fran.page.locator('#delete-confirm').isDisabled(), 'nothing to delete with before the name is typed');
    await fran.page.keyboard.type('Leaving test');
    await fran.page.keyboard.press('Enter');
    assert.ok(await deleteDialog.isVisible(), 'Enter with a wrong name deletes nothing');
    assert.ok(await fran.page.locator('#delete-confirm').isDisabled());
    await fran.page.locator('#delete-confirm-name').fill('');
    await fran.page.keyboard.type(GROUP);
    assert.ok(await fran.page.locator('#delete-confirm').isEnabled(), 'the typed name enables the button');
    await fitsTheScreen(fran.page, '#delete-dialog');
    await checkAccessibility(fran.page, 'delete dialog, laptop, light');
    await screenshot(fran.page, 'delete-dialog-laptop-light');
    await fran.page.keyboard.press('Enter');

    for (const person of [fran, bob]) {
      await person.page.getByRole('heading', { name: 'This group was deleted' }).waitFor();
      await person.page.getByText('The group was deleted by a facilitator').waitFor();
    }
    await checkAccessibility(bob.page, 'group deleted, laptop, dark');
    await screenshot(bob.page, 'group-deleted-laptop-dark');

    // The invite link leads nowhere now.
    const late = await (await browser.newContext(PHONE)).newPage();
    await late.goto(created.invite_url);
    await late.getByLabel('Your name').fill('Late');
    await late.getByRole('button', { name: 'Join', exact: true }).click();
    await late.getByRole('heading', { name: 'This group does not exist' }).waitFor();

    for (const person of [fran, ann, bob]) assert.deepEqual(person.errors, [], `${person.name}'s page logged no error`);
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
