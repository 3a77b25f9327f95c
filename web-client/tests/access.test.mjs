// Links and sessions in a real browser against the real server (issue 19, point 4): the
// facilitator makes a new invite link, copies it, a new member joins with it, and the old one
// fails with a clear message; a new facilitator link works on a phone (dark) and the old one
// does not; the facilitator ends a member's session and that page is told at once. The panel is
// keyboard-usable, passes axe, and fits a laptop and a phone, light and dark.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import path from 'node:path';
import { launchBrowser, screenshot, waitUntil, join, showView, collectPageErrors, PHONE, SCREENSHOT_DIR } from './support/browser.mjs';
import { checkAccessibility } from './support/stage.mjs';

const LAPTOP = { viewport: { width: 1366, height: 900 } };

/**
 * The panel fits the page's width: nothing in it is wider than the viewport.
 * @param {import('playwright-core').Page} page
 */
async function panelFits(page) {
  return page.evaluate(() => {
    const panel = /** @type {HTMLElement} */ (document.getElementById('panel-access'));
    const box = panel.getBoundingClientRect();
    return { fits: box.left >= 0 && box.right <= window.innerWidth + 1 && document.documentElement.scrollWidth <= window.innerWidth + 1, right: box.right, width: window.innerWidth };
  });
}

test('a facilitator makes the links anew and ends a session; old links fail and say why', async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const created = await fetch(`${server.url}/api/groups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Link Rotation' }),
    }).then((response) => response.json());

    const fran = await join(browser, created.facilitator_url, 'Fran', LAPTOP, 'Enter as facilitator',
      (context) => context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url }));
    // From the group's settings (the Facilitator panel, under Agenda) to the panel.
    await showView(fran.page, 'agenda');
    await fran.page.getByRole('button', { name: 'Links and sessions' }).click();
    await waitUntil(fran.page, 'the panel\'s heading has the focus', () => document.activeElement?.id === 'access-title');
    const panel = fran.page.locator('#panel-access');
    await panel.getByRole('heading', { name: 'Links and sessions' }).waitFor();
    // Fran opened the facilitator link only: this browser has no invite link to show, and the
    // panel says so instead of guessing.
    await panel.locator('#access-invite-missing').waitFor();
    await waitUntil(fran.page, 'Fran sees her own session, online',
      () => document.querySelector('#sessions-body .session-name')?.textContent === 'Fran (you)'
        && document.querySelector('#sessions-body .session-seen')?.textContent?.endsWith('online now'));
    await checkAccessibility(fran.page, 'links and sessions, laptop light');
    assert.ok((await panelFits(fran.page)).fits, 'the panel fits the laptop');

    // Keyboard only: focus the button, Enter, then confirm in the dialog with the keyboard.
    await panel.locator('#rotate-invite').focus();
    await fran.page.keyboard.press('Enter');
    const dialog = fran.page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Make a new invite link?' }).waitFor();
    await fran.page.keyboard.press('Tab');
    assert.equal(await fran.page.evaluate(() => document.activeElement?.textContent), 'Make a new link');
    await fran.page.keyboard.press('Enter');
    const newLinkField = panel.locator('#access-invite-link');
    await newLinkField.waitFor();
    const newLink = await newLinkField.inputValue();
    assert.notEqual(newLink.split('#')[1], created.invite_url.split('#')[1], 'a new secret');
    assert.match(newLink, /#invite=[A-Za-z0-9_-]{43}/);
    await panel.locator('[data-copy="access-invite-link"]').click();
    const copied = await fran.page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, newLink, 'the Copy button copies the new link');
    await waitUntil(fran.page, 'the page knows the invite link is version 1',
      () => window.roundtable.state()?.group.links?.invite === 1);
    await screenshot(fran.page, 'access-new-invite-link');

    // A new member joins with the copied link, on a phone.
    const bea = await join(browser, copied, 'Bea', PHONE, 'Join');
    assert.equal(await bea.page.evaluate(() => window.roundtable.state()?.members.length), 2);
    const beaMemory = await bea.page.evaluate(() => Object.entries(localStorage).find(([key]) => key.startsWith('roundtable:group:'))?.[1] ?? '');
    assert.match(beaMemory, /"invite_version":1/, 'Bea\'s page knows its invite link is the current one');
    await waitUntil(fran.page, 'Fran sees Bea\'s session',
      () => [...document.querySelectorAll('#sessions-body .session-name')].some((cell) => cell.textContent === 'Bea'));

    // The old invite link fails and says why.
    const mallory = await (await browser.newContext(PHONE)).newPage();
    await mallory.goto(created.invite_url);
    await mallory.getByLabel('Your name').fill('Mallory');
    await mallory.getByRole('button', { name: 'Join', exact: true }).click();
    await mallory.getByRole('heading', { name: 'This link does not work' }).waitFor();
    await mallory.getByText('a facilitator made a new one').waitFor();
    await screenshot(mallory, 'access-old-invite-refused');

    // A new facilitator link, shown once on this page; it works on a phone in dark mode, and
    // the old one no longer does.
    await panel.locator('#rotate-facilitator').click();
    await dialog.getByRole('button', { name: 'Make a new link' }).click();
    const facilitatorField = panel.locator('#access-facilitator-link');
    await facilitatorField.waitFor();
    const facilitatorLink = await facilitatorField.inputValue();
    const gus = await join(browser, facilitatorLink, 'Gus', { ...PHONE, colorScheme: 'dark' }, 'Enter as facilitator');
    await showView(gus.page, 'people');
    await gus.page.locator('#panel-access').getByRole('heading', { name: 'Links and sessions' }).waitFor();
    await waitUntil(gus.page, 'Gus sees the sessions', () => document.querySelectorAll('#sessions-body .session').length === 3);
    await checkAccessibility(gus.page, 'links and sessions, phone dark');
    const fits = await panelFits(gus.page);
    assert.ok(fits.fits, `the panel fits the phone: ${JSON.stringify(fits)}`);
    await gus.page.locator('#panel-access').screenshot({ path: path.join(SCREENSHOT_DIR, 'access-panel-phone-dark.png') });
    await screenshot(gus.page, 'access-phone-dark');
    const oldFacilitator = await (await browser.newContext(LAPTOP)).newPage();
    await oldFacilitator.goto(created.facilitator_url);
    await oldFacilitator.getByLabel('Your name').fill('Hal');
    await oldFacilitator.getByRole('button', { name: 'Enter as facilitator', exact: true }).click();
    await oldFacilitator.getByRole('heading', { name: 'This link does not work' }).waitFor();

    // Bea's phone is lost: Fran ends that session; the page is told at once and stops.
    await fran.page.getByRole('button', { name: /^End session… \(Bea,/ }).click();
    await dialog.getByRole('heading', { name: 'End Bea\'s session?' }).waitFor();
    await screenshot(fran.page, 'access-revoke-confirmation');
    await dialog.getByRole('button', { name: 'End session' }).click();
    await waitUntil(bea.page, 'Bea is told her session ended',
      () => document.getElementById('banner')?.textContent?.includes('ended this device'));
    await waitUntil(bea.page, 'Bea\'s page stops reconnecting', () => window.roundtable.phase() === 'stopped');
    const afterMemory = await bea.page.evaluate(() => Object.entries(localStorage).find(([key]) => key.startsWith('roundtable:group:'))?.[1] ?? '');
    assert.doesNotMatch(afterMemory, /member_token/, 'the revoked token is forgotten');
    await waitUntil(fran.page, 'Bea\'s session is gone from the list',
      () => ![...document.querySelectorAll('#sessions-body .session-name')].some((cell) => cell.textContent === 'Bea'));
    await screenshot(bea.page, 'access-session-ended');

    // Removing a facilitator offers a new facilitator link, ticked.
    await showView(fran.page, 'people');
    await fran.page.getByRole('button', { name: 'Actions for Gus' }).click();
    await fran.page.getByRole('menuitem', { name: 'Remove from group…' }).click();
    const makeNew = dialog.getByRole('checkbox', { name: 'Also make a new facilitator link' });
    assert.equal(await makeNew.isChecked(), true, 'on by default for a facilitator');
    await checkAccessibility(fran.page, 'remove a facilitator');
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await waitUntil(fran.page, 'the facilitator link is made anew with the removal',
      () => window.roundtable.state()?.group.links?.facilitator === 2);
    const made = await panel.locator('#access-facilitator-link').inputValue();
    assert.notEqual(made, facilitatorLink);
    const gusBack = await (await browser.newContext(LAPTOP)).newPage();
    const gusErrors = collectPageErrors(gusBack, 'Gus again');
    await gusBack.goto(facilitatorLink);
    await gusBack.getByLabel('Your name').fill('Gus');
    await gusBack.getByRole('button', { name: 'Enter as facilitator', exact: true }).click();
    await gusBack.getByRole('heading', { name: 'This link does not work' }).waitFor();

    assert.deepEqual([...fran.errors, ...bea.errors, ...gus.errors, ...gusErrors], [], 'no page threw or broke the policy');
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
