// The meeting scenario in real browsers against the real server: a facilitator creates a group
// on the landing page, three members join through the invite link in their own browser
// contexts (a laptop, a phone, a dark-themed laptop), and everyone sees presence, the speaker
// queue and a rename. A member reloads and is recognised; a member goes offline and catches
// up; the server restarts mid-meeting and every page recovers by itself; the facilitator
// changes a role and removes a member through the member menu.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, screenshot, waitUntil, collectPageErrors, PHONE, showView, startMeeting } from './support/browser.mjs';

/** @typedef {import('playwright-core').Page} Page */
/** @typedef {import('playwright-core').Browser} Browser */
/** @typedef {{ name: string, page: Page, context: import('playwright-core').BrowserContext }} Person */

const DESKTOP = { viewport: { width: 1280, height: 860 } };

/** @param {Page} page */
async function waitJoined(page, who) {
  await waitUntil(page, `${who} is connected and has the room`,
    () => window.roundtable?.phase() === 'connected' && window.roundtable.state() !== null);
}

/**
 * @param {Person[]} people
 * @param {number} count
 */
async function everyoneSeesPeopleOnline(people, count) {
  for (const { name, page } of people) {
    await waitUntil(page, `${name} sees ${count} people, all online`, (expected) =>
      document.querySelectorAll('#people-list .person').length === expected
      && document.querySelectorAll('#people-list .presence.online').length === expected, count);
  }
}

/**
 * @param {Person[]} people
 * @param {string[]} names
 */
async function everyoneSeesQueue(people, names) {
  for (const { name, page } of people) {
    await waitUntil(page, `${name} sees the speaker queue [${names.join(', ')}]`, (expected) =>
      [...document.querySelectorAll('#queue-list .queue-name')].map((item) => item.textContent).join('|') === expected.join('|'),
    names);
  }
}

/**
 * @param {Person[]} people
 * @param {string} groupName
 */
async function everyoneSeesGroupName(people, groupName) {
  for (const { name, page } of people) {
    await waitUntil(page, `${name} sees the group called "${groupName}"`,
      (expected) => document.getElementById('group-name')?.textContent === expected, groupName);
  }
}

/**
 * @param {Browser} browser
 * @param {string} inviteUrl
 * @param {string} name
 * @param {object} contextOptions
 * @param {string} [screenshotName] Photograph the join screen under this name.
 * @returns {Promise<Person>}
 */
async function joinThroughInvite(browser, inviteUrl, name, contextOptions, screenshotName) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  await page.goto(inviteUrl);
  await page.getByLabel('Your name').waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the invite secret is removed from the address bar');
  if (screenshotName) await screenshot(page, screenshotName);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await waitJoined(page, name);
  return { name, page, context };
}

test('a facilitator and three members run a meeting through links, a reload, an offline spell and a server restart', async () => {
  const dataDir = makeDataDir();
  let server = await startServer({ dataDir });
  const browser = await launchBrowser();
  /** @type {string[]} */
  const pageErrors = [];
  try {
    // --- The facilitator creates the group on the landing page. ---------------------------
    const facilitatorContext = await browser.newContext(DESKTOP);
    const facilitatorPage = await facilitatorContext.newPage();
    pageErrors.push(...[]);
    const facilitatorErrors = collectPageErrors(facilitatorPage, 'Fran');
    await facilitatorPage.goto(`${server.url}/`);
    await facilitatorPage.getByLabel('Group name').waitFor();
    await screenshot(facilitatorPage, 'landing');
    await facilitatorPage.getByLabel('Group name').fill('Friday Sales Peers');
    await facilitatorPage.getByRole('button', { name: 'Create group' }).click();
    await facilitatorPage.getByText('Friday Sales Peers is ready').waitFor();
    const facilitatorLink = await facilitatorPage.locator('#facilitator-link').inputValue();
    const inviteLink = await facilitatorPage.locator('#invite-link').inputValue();
    assert.match(facilitatorLink, /\/g\/[0-9a-f-]{36}#facilitator=.+/);
    assert.match(inviteLink, /\/g\/[0-9a-f-]{36}#invite=.+/);
    await screenshot(facilitatorPage, 'group-created');

    // Open as facilitator: asks for a name, then the room.
    await facilitatorPage.getByRole('link', { name: 'Open as facilitator' }).click();
    await facilitatorPage.getByLabel('Your name').waitFor();
    assert.equal(new URL(facilitatorPage.url()).hash, '', 'the facilitator secret is removed from the address bar');
    await screenshot(facilitatorPage, 'join-facilitator');
    await facilitatorPage.getByLabel('Your name').fill('Fran');
    await facilitatorPage.getByRole('button', { name: 'Enter as facilitator' }).click();
    await waitJoined(facilitatorPage, 'Fran');
    const fran = { name: 'Fran', page: facilitatorPage, context: facilitatorContext };

    // --- Three members join through the invite link. --------------------------------------
    const ann = await joinThroughInvite(browser, inviteLink, 'Ann', DESKTOP, 'join-invite');
    const bob = await joinThroughInvite(browser, inviteLink, 'Bob', PHONE, 'join-invite-phone');
    const cleo = await joinThroughInvite(browser, inviteLink, 'Cleo', { ...DESKTOP, colorScheme: 'dark' });
    const everyone = [fran, ann, bob, cleo];
    // A new group's first meeting is upcoming: the facilitator starts it from the lobby.
    await startMeeting(fran, everyone);
    for (const person of [ann, bob, cleo]) pageErrors.push(...collectPageErrors(person.page, person.name));
    await everyoneSeesPeopleOnline(everyone, 4);
    await everyoneSeesGroupName(everyone, 'Friday Sales Peers');
    // Only the facilitator gets the rename button and the member menus.
    assert.equal(await fran.page.locator('#rename-button').isVisible(), true);
    assert.equal(await ann.page.locator('#rename-button').isVisible(), false);
    await showView(ann.page, 'people');
    assert.equal(await ann.page.getByRole('button', { name: 'Actions for Bob' }).count() > 0
      && await ann.page.getByRole('button', { name: 'Actions for Bob' }).isVisible(), false);

    // --- Hands: Ann clicks, Bob uses the keyboard shortcut. -------------------------------
    await showView(ann.page, 'people');
    await ann.page.getByRole('button', { name: /Raise hand/ }).click();
    await everyoneSeesQueue(everyone, ['Ann']);
    await waitUntil(fran.page, 'the live region tells Fran that Ann raised a hand',
      () => document.getElementById('announcer')?.textContent?.includes('Ann raised a hand'));
    await bob.page.locator('body').press('h');
    await everyoneSeesQueue(everyone, ['Ann', 'Bob']);
    await showView(bob.page, 'people');
    assert.equal(await bob.page.locator('#hand-button').getAttribute('aria-pressed'), 'true');

    // --- The facilitator renames the group inline. ----------------------------------------
    // First a name the server refuses: the error shows as a toast, the typing stays.
    await fran.page.locator('#rename-button').click();
    await fran.page.locator('#rename-input').fill('Friday\u0007Peers');
    await fran.page.locator('#rename-input').press('Enter');
    await fran.page.getByRole('alert').filter({ hasText: 'Could not rename the group' }).waitFor();
    assert.equal(await fran.page.locator('#rename-input').inputValue(), 'Friday\u0007Peers', 'what was typed is kept');
    await screenshot(fran.page, 'error-toast');
    assert.equal(await fran.page.evaluate(() => window.roundtable.state()?.group.name), 'Friday Sales Peers', 'a refused rename changes nothing');
    await fran.page.locator('#rename-input').fill('Friday Peers');
    await fran.page.locator('#rename-input').press('Enter');
    await everyoneSeesGroupName(everyone, 'Friday Peers');
    await screenshot(fran.page, 'room-facilitator');
    await screenshot(ann.page, 'room-member');
    await screenshot(bob.page, 'room-member-phone');
    await screenshot(cleo.page, 'room-member-dark');

    // --- Bob reloads and is recognised: no name prompt, the same member. ------------------
    const bobMemberId = await bob.page.evaluate(() => window.roundtable.state()?.members.find((m) => m.display_name === 'Bob')?.member_id);
    await bob.page.reload();
    await waitJoined(bob.page, 'Bob after a reload');
    assert.equal(await bob.page.locator('#display-name').count(), 0, 'no name prompt after a reload');
    const stored = await bob.page.evaluate(() => Object.entries(localStorage).find(([key]) => key.startsWith('roundtable:group:'))?.[1]);
    assert.equal(JSON.parse(stored ?? '{}').member_id, bobMemberId, 'the reload rejoined as the same member');
    assert.doesNotMatch(stored ?? '', /facilitator_secret/, 'a member keeps no facilitator secret');
    await everyoneSeesPeopleOnline(everyone, 4);
    await everyoneSeesQueue(everyone, ['Ann', 'Bob']);

    // --- Next week: Ann opens the site, finds her group on the landing page, is back in. --
    await ann.page.goto(`${server.url}/`);
    await ann.page.getByRole('link', { name: 'Friday Peers' }).waitFor();
    await screenshot(ann.page, 'landing-returning');
    await ann.page.getByRole('link', { name: 'Friday Peers' }).click();
    await waitJoined(ann.page, 'Ann back from the landing page');
    assert.equal(await ann.page.locator('#display-name').count(), 0, 'no name prompt for a remembered member');
    await everyoneSeesPeopleOnline(everyone, 4);

    // --- Cleo goes offline, misses changes, comes back and catches up. --------------------
    await cleo.context.setOffline(true);
    await waitUntil(cleo.page, 'Cleo notices she is offline', () => window.roundtable.phase() !== 'connected');
    await waitUntil(cleo.page, 'Cleo sees the offline indicator',
      () => ['offline', 'waiting', 'connecting'].includes(document.getElementById('connection')?.dataset.phase ?? ''));
    await screenshot(cleo.page, 'room-offline');
    await waitUntil(fran.page, 'Fran sees Cleo offline', () =>
      [...document.querySelectorAll('#people-list .person.offline')].some((row) => row.textContent?.includes('Cleo')));
    await screenshot(fran.page, 'room-member-offline-seen-by-facilitator');
    await fran.page.locator('#rename-button').click();
    await fran.page.locator('#rename-input').fill('Friday Peers, week 2');
    await fran.page.getByRole('button', { name: 'Save', exact: true }).click();
    await ann.page.getByRole('button', { name: /Lower hand/ }).click();
    await everyoneSeesGroupName([fran, ann, bob], 'Friday Peers, week 2');
    await everyoneSeesQueue([fran, ann, bob], ['Bob']);
    // Offline, Cleo still shows the old room: she has not received the changes.
    assert.equal(await cleo.page.locator('#group-name').textContent(), 'Friday Peers');
    await cleo.context.setOffline(false);
    await waitJoined(cleo.page, 'Cleo back online');
    await everyoneSeesGroupName([cleo], 'Friday Peers, week 2');
    await everyoneSeesQueue([cleo], ['Bob']);
    const cleoCatchUps = await cleo.page.evaluate(() => window.roundtable.catchUps);
    assert.deepEqual(cleoCatchUps.slice(-1), ['replay'], 'Cleo resumed from her last seq instead of reloading a snapshot');
    await everyoneSeesPeopleOnline(everyone, 4);

    // --- The server restarts mid-meeting; every page recovers by itself. ------------------
    const port = server.port;
    await server.stop();
    for (const { name, page } of everyone) {
      await waitUntil(page, `${name} sees the connection drop`, () => document.getElementById('connection')?.dataset.phase !== 'connected');
    }
    await waitUntil(fran.page, 'Fran sees why', () => document.getElementById('banner')?.textContent?.includes('restarting'));
    await screenshot(fran.page, 'room-server-restarting');
    server = await startServer({ dataDir, port });
    for (const { name, page } of everyone) await waitJoined(page, `${name} after the restart`);
    await everyoneSeesPeopleOnline(everyone, 4);
    await everyoneSeesGroupName(everyone, 'Friday Peers, week 2');
    await everyoneSeesQueue(everyone, ['Bob']);
    // The room works after the restart: a new hand reaches everyone.
    await showView(ann.page, 'people');
    await ann.page.getByRole('button', { name: /Raise hand/ }).click();
    await everyoneSeesQueue(everyone, ['Bob', 'Ann']);

    // --- The facilitator runs the queue: call on the second hand, lower one, lower all. ---
    await cleo.page.locator('body').press('h');
    await everyoneSeesQueue(everyone, ['Bob', 'Ann', 'Cleo']);
    await showView(ann.page, 'people');
    assert.equal(await ann.page.getByRole('button', { name: 'Call on Bob' }).count(), 0, 'members get no queue controls');
    await showView(fran.page, 'people');
    await fran.page.getByLabel('Time for whoever you call on').selectOption({ label: '2 min' });
    await fran.page.getByRole('button', { name: 'Call on Ann' }).click();
    await everyoneSeesQueue(everyone, ['Bob', 'Cleo']);
    for (const { name, page } of everyone) {
      await waitUntil(page, `${name} sees that Ann has the floor, with a 2-minute timer`, () =>
        document.querySelector('#queue-floor .queue-floor-name')?.textContent?.startsWith('Ann')
        && /** @type {any} */ (window.roundtable.state()?.features.agenda)?.timer?.subject?.kind === 'called_speaker'
        && /** @type {any} */ (window.roundtable.state()?.features.agenda)?.timer?.time_box_ms === 120_000);
    }
    await waitUntil(fran.page, 'the focus is on End turn', () => document.activeElement?.id === 'queue-end-turn');
    await screenshot(fran.page, 'queue-facilitator');
    await fran.page.getByRole('button', { name: 'Lower Bob\'s hand' }).click();
    await everyoneSeesQueue(everyone, ['Cleo']);
    await waitUntil(fran.page, 'the focus moves to the hand that took Bob\'s place', () =>
      document.activeElement?.getAttribute('aria-label') === 'Lower Cleo\'s hand');
    await bob.page.locator('body').press('h');
    await everyoneSeesQueue(everyone, ['Cleo', 'Bob']);
    await fran.page.getByRole('button', { name: 'Lower all hands' }).click();
    await everyoneSeesQueue(everyone, []);
    await waitUntil(fran.page, 'the focus stays on the queue', () => document.activeElement?.id === 'queue-end-turn');
    await fran.page.getByRole('button', { name: 'End Ann\'s turn' }).click();
    for (const { name, page } of everyone) {
      await waitUntil(page, `${name} sees that nobody called has the floor`, () =>
        /** @type {HTMLElement | null} */ (document.getElementById('queue-floor'))?.hidden === true
        && !(/** @type {any} */ (window.roundtable.state()?.features.agenda)?.floor));
    }
    await waitUntil(fran.page, 'the focus goes to the queue\'s heading', () => document.activeElement?.id === 'queue-title');
    await ann.page.getByRole('button', { name: /Raise hand/ }).click();
    await everyoneSeesQueue(everyone, ['Ann']);

    // --- The facilitator's member menu: make Cleo an observer, then remove her. -----------
    await showView(fran.page, 'people');
    await fran.page.getByRole('button', { name: 'Actions for Cleo' }).click();
    await showView(fran.page, 'people');
    await fran.page.getByRole('menuitem', { name: 'Make observer' }).waitFor();
    await screenshot(fran.page, 'member-menu');
    await showView(fran.page, 'people');
    await fran.page.getByRole('menuitem', { name: 'Make observer' }).click();
    for (const { name, page } of everyone) {
      await waitUntil(page, `${name} sees Cleo as an observer`, () =>
        [...document.querySelectorAll('#people-list .person')].some((row) =>
          row.textContent?.includes('Cleo') && row.querySelector('.role')?.textContent === 'Observer'));
    }
    // The menu is keyboard operable: open with Enter, move with the arrows, Escape closes.
    await showView(fran.page, 'people');
    await fran.page.getByRole('button', { name: 'Actions for Ann' }).focus();
    await fran.page.keyboard.press('Enter');
    await fran.page.keyboard.press('ArrowDown');
    const focused = await fran.page.evaluate(() => document.activeElement?.textContent);
    assert.equal(focused, 'Hand over facilitation…');
    await fran.page.keyboard.press('Escape');
    assert.equal(await fran.page.getByRole('menu').count(), 0);

    await showView(fran.page, 'people');
    await fran.page.getByRole('button', { name: 'Actions for Cleo' }).click();
    await showView(fran.page, 'people');
    await fran.page.getByRole('menuitem', { name: 'Remove from group…' }).click();
    await fran.page.getByRole('dialog').waitFor();
    await screenshot(fran.page, 'remove-confirmation');
    await fran.page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await everyoneSeesPeopleOnline([fran, ann, bob], 3);
    await waitUntil(cleo.page, 'Cleo is told she was removed',
      () => document.getElementById('banner')?.textContent?.includes('removed you'));
    await waitUntil(cleo.page, 'Cleo stops reconnecting', () => window.roundtable.phase() === 'stopped');
    await screenshot(cleo.page, 'room-removed');
    const cleoMemory = await cleo.page.evaluate(() => Object.entries(localStorage).find(([key]) => key.startsWith('roundtable:group:'))?.[1]);
    assert.doesNotMatch(cleoMemory ?? '', /member_token/, 'a removed member\'s token is forgotten');

    assert.deepEqual([...facilitatorErrors, ...pageErrors], [], 'no page threw an uncaught error');
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
