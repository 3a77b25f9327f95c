// Links that do not lead straight into a room, in a real browser against the real server: a
// link without its secret, a wrong secret, a group that does not exist, a remembered token that
// no longer works; and two that do: an observer joining, and a member opening the facilitator
// link, who becomes facilitator without being asked for a name again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, screenshot, waitUntil, join, startMeeting } from './support/browser.mjs';

/** @param {import('playwright-core').Page} page */
async function waitJoined(page, who) {
  await waitUntil(page, `${who} is connected and has the room`,
    () => window.roundtable?.phase() === 'connected' && window.roundtable.state() !== null);
}

test('group links that cannot be used explain why, and the facilitator link promotes a known member', async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const created = await fetch(`${server.url}/api/groups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Link Check' }),
    }).then((response) => response.json());
    const groupPath = `${server.url}/g/${created.group_id}`;

    // A group address without a secret, in a browser that knows nothing of the group.
    const stranger = await (await browser.newContext()).newPage();
    await stranger.goto(groupPath);
    await stranger.getByRole('heading', { name: 'This link is incomplete' }).waitFor();
    await screenshot(stranger, 'link-incomplete');

    // A wrong invite secret: the name is asked, the server refuses, the page says so.
    await stranger.goto(`${groupPath}#invite=not-the-secret`);
    await stranger.getByLabel('Your name').fill('Mallory');
    await stranger.getByRole('button', { name: 'Join', exact: true }).click();
    await stranger.getByRole('heading', { name: 'This link does not work' }).waitFor();

    // A group that does not exist.
    await stranger.goto(`${server.url}/g/00000000-0000-4000-8000-000000000000#invite=whatever`);
    await stranger.getByLabel('Your name').fill('Mallory');
    await stranger.getByRole('button', { name: 'Join', exact: true }).click();
    await stranger.getByRole('heading', { name: 'This group does not exist' }).waitFor();

    // A remembered token that no longer works: the page forgets it and asks for a name.
    const forgotten = await browser.newContext();
    await forgotten.addInitScript(([groupId, inviteSecret]) => {
      const key = `roundtable:group:${groupId}`;
      if (!localStorage.getItem(key)) {
        localStorage.setItem(key, JSON.stringify({ member_token: 'a-token-the-server-never-issued', invite_secret: inviteSecret }));
      }
    }, [created.group_id, new URL(created.invite_url).hash.split('=')[1]]);
    const returning = await forgotten.newPage();
    await returning.goto(groupPath);
    await returning.getByText('no longer a member of the group').waitFor();
    const memory = await returning.evaluate((key) => localStorage.getItem(key), `roundtable:group:${created.group_id}`);
    assert.doesNotMatch(memory ?? '', /member_token/, 'the token that failed is forgotten');
    await screenshot(returning, 'join-token-refused');

    // The facilitator starts the meeting (hands need a live one), then an observer joins.
    const fran = await join(browser, created.facilitator_url, 'Fran', {}, 'Enter as facilitator');
    await startMeeting(fran);
    await returning.getByLabel('Your name').fill('Olga');
    await returning.getByLabel(/Join as an observer/).check();
    await returning.getByRole('button', { name: 'Join', exact: true }).click();
    await waitJoined(returning, 'Olga');
    assert.equal(await returning.evaluate(() => window.roundtable.state()?.members.find((m) => m.display_name === 'Olga')?.role), 'observer');
    await returning.locator('#people-list .role', { hasText: 'Observer' }).waitFor();
    // An observer may raise a hand too (the server allows it).
    await returning.getByRole('button', { name: /Raise hand/ }).click();
    await waitUntil(returning, 'Olga is in the queue', () => document.querySelector('#queue-list .queue-name')?.textContent === 'Olga');

    // Olga, now a known member, opens the facilitator link: no name prompt, she is facilitator.
    await returning.goto(created.facilitator_url);
    await waitJoined(returning, 'Olga with the facilitator link');
    assert.equal(await returning.locator('#display-name').count(), 0, 'no name prompt for a known member');
    await waitUntil(returning, 'Olga is facilitator',
      () => window.roundtable.state()?.members.find((m) => m.display_name === 'Olga')?.role === 'facilitator');
    assert.deepEqual(await returning.evaluate(() => window.roundtable.state()?.members.map((m) => m.display_name)), ['Fran', 'Olga'],
      'no second member was created for Olga');
    const afterPromotion = await returning.evaluate((key) => localStorage.getItem(key), `roundtable:group:${created.group_id}`);
    assert.doesNotMatch(afterPromotion ?? '', /facilitator_secret/, 'the facilitator secret is not kept after it was used');
    assert.equal(new URL(returning.url()).hash, '', 'the secret is gone from the address bar');
    await returning.locator('#rename-button').waitFor();
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
