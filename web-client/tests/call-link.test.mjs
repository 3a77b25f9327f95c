// The group's video call link, in real browsers against the real server: the facilitator
// (laptop) saves a link that is not https and is told why, then a Jitsi link; a member on a
// phone in dark mode gets "Join the call" at once, opening the link in a new tab without an
// opener or a referrer, and reaches it with the keyboard; removing the link takes it away.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, screenshot, waitUntil, join, PHONE, showView } from './support/browser.mjs';
import { checkAccessibility } from './support/stage.mjs';

const LINK = 'https://meet.jit.si/CallLinkPeers';

test('a facilitator sets the call link and every member can join the call from the room', async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const created = await fetch(`${server.url}/api/groups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Call Link Peers' }),
    }).then((response) => response.json());
    const fran = await join(browser, created.facilitator_url, 'Fran', { viewport: { width: 1366, height: 900 } }, 'Enter as facilitator');
    const ann = await join(browser, created.invite_url, 'Ann', { ...PHONE, colorScheme: 'dark' }, 'Join');
    for (const person of [fran, ann]) {
      assert.equal(await person.page.locator('#join-call').isVisible(), false, `${person.name}: no call link yet`);
    }

    // A link that is not https: the server's reason is shown and nothing changes.
    await showView(fran.page, 'agenda');
    const input = fran.page.getByLabel('Video call link');
    await input.fill('http://meet.jit.si/CallLinkPeers');
    await fran.page.getByRole('button', { name: 'Save link' }).click();
    await fran.page.getByText('Not saved: the call link must start with https://').first().waitFor();
    assert.equal(await ann.page.evaluate(() => window.roundtable.state()?.group.call_url ?? null), null);

    // The real link, saved with the keyboard (Enter in the field).
    await input.fill(LINK);
    await input.press('Enter');
    for (const person of [fran, ann]) {
      await waitUntil(person.page, `${person.name} has the call link`,
        (link) => document.getElementById('join-call')?.getAttribute('href') === link, LINK);
    }
    const joinCall = ann.page.getByRole('link', { name: /Join the call/ });
    assert.equal(await joinCall.isVisible(), true);
    assert.equal(await joinCall.getAttribute('target'), '_blank');
    assert.equal(await joinCall.getAttribute('rel'), 'noopener noreferrer');
    await screenshot(ann.page, 'call-link-phone-dark');
    await screenshot(fran.page, 'call-link-facilitator');
    await checkAccessibility(ann.page, 'call link, member, phone, dark');
    await checkAccessibility(fran.page, 'call link, facilitator, laptop');

    // Reached with Tab from the top of the page, and it opens the call in a new tab.
    await ann.page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement)?.blur());
    let focused = '';
    for (let presses = 0; presses < 8 && focused !== 'join-call'; presses += 1) {
      await ann.page.keyboard.press('Tab');
      focused = await ann.page.evaluate(() => document.activeElement?.id ?? '');
    }
    assert.equal(focused, 'join-call', 'Join the call is among the first stops of the keyboard');
    const opened = ann.page.context().waitForEvent('page');
    // The call's site is not on this machine: the new tab is stopped before it loads anything.
    await ann.page.context().route('https://meet.jit.si/**', (route) => route.fulfill({ status: 200, body: 'the call' }));
    await ann.page.keyboard.press('Enter');
    const callTab = await opened;
    await callTab.waitForLoadState();
    assert.equal(callTab.url(), LINK);
    assert.equal(await callTab.evaluate(() => window.opener), null, 'the call cannot reach back into the room');
    await callTab.close();

    // Removing the link takes the button away for everyone.
    await fran.page.getByRole('button', { name: 'Remove' }).click();
    for (const person of [fran, ann]) {
      await waitUntil(person.page, `${person.name} has no call link`,
        () => document.getElementById('join-call')?.hidden === true);
    }
    assert.deepEqual([...fran.errors, ...ann.errors], []);
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
