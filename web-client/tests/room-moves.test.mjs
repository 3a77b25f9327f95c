// A room moving between server processes, as the browser sees it: joins refused with
// `room_elsewhere` while another process still holds the room are retried soon (about 200 ms), and a
// connection closed with `room_moved` reconnects and resumes. One real server; the WebSocket
// is routed through the test (playwright's routeWebSocket) so it can answer a join the way a
// node that does not own the room does, and close a connection the way a node that lost it does.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, waitUntil, collectPageErrors, showView, join, startMeeting } from './support/browser.mjs';

test('a join refused with room_elsewhere is retried soon, and a room_moved close reconnects and resumes', async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const created = await fetch(`${server.url}/api/groups`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Movers' }),
    }).then((response) => response.json());
    // The facilitator starts the meeting (hands need a live one) on a page of their own.
    const fran = await join(browser, created.facilitator_url, 'Fran', { viewport: { width: 1000, height: 800 } }, 'Enter as facilitator');
    await startMeeting(fran);
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page, 'Ann');

    let joinsRefused = 0;
    let joinsForwarded = 0;
    /** @type {any[]} The join frames the page sent upstream, in order. */
    const joinFrames = [];
    /** @type {any[]} The join acks the server answered, in order. */
    const joinAcks = [];
    /** @type {number[]} When each join frame arrived (ms). */
    const joinTimes = [];
    /** @type {import('playwright-core').WebSocketRoute | null} */
    let current = null;
    /** @type {import('playwright-core').WebSocketRoute | null} */
    let currentServer = null;
    await page.routeWebSocket(/\/ws$/, (route) => {
      const upstream = route.connectToServer();
      current = route;
      currentServer = upstream;
      route.onMessage((message) => {
        const frame = JSON.parse(String(message));
        if (frame.type === 'join') joinTimes.push(Date.now());
        if (frame.type === 'join' && joinsRefused < 2) {
          joinsRefused++;
          route.send(JSON.stringify({ type: 'error', id: frame.id, code: 'room_elsewhere', message: 'the room is served by another node right now' }));
          return;
        }
        if (frame.type === 'join') {
          joinsForwarded++;
          joinFrames.push(frame);
        }
        upstream.send(message);
      });
      upstream.onMessage((message) => {
        const frame = JSON.parse(String(message));
        if (frame.type === 'ack' && frame.result?.kind === 'joined') joinAcks.push(frame.result);
        route.send(message);
      });
    });

    await page.goto(created.invite_url);
    await page.getByLabel('Your name').fill('Ann');
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await waitUntil(page, 'the banner says the meeting is moving', () =>
      document.getElementById('banner')?.textContent?.includes('moving between servers'));
    await waitUntil(page, 'Ann is in after the refusals', () => window.roundtable?.phase() === 'connected' && window.roundtable.state() !== null);
    assert.equal(joinsRefused, 2);
    assert.equal(joinsForwarded, 1);
    // `room_elsewhere` is retried after about 200 ms each time, not after a growing backoff
    // (whose second wait alone is 500 to 1000 ms).
    const retries = joinTimes.slice(1).map((at, index) => at - joinTimes[index]);
    assert.equal(retries.length, 2);
    for (const wait of retries) assert.ok(wait < 450, `a room_elsewhere retry waited ${wait} ms`);
    assert.equal(await page.locator('#banner').isHidden(), true, 'the banner goes once joined');

    // Something to resume: a raised hand.
    await showView(page, 'people');
    await page.locator('#hand-button').click();
    await waitUntil(page, 'Ann\'s hand is up', () => document.querySelectorAll('#queue-list .queue-item').length === 1);
    const seqBefore = await page.evaluate(() => window.roundtable.state().seq);

    // The room moves: the node closes the connection with room_moved.
    // Both ends of this connection, taken before the close: the page reconnects at once, and
    // `current` then names the new connection.
    const moving = /** @type {import('playwright-core').WebSocketRoute} */ (/** @type {unknown} */ (current));
    const movingServer = /** @type {import('playwright-core').WebSocketRoute} */ (/** @type {unknown} */ (currentServer));
    moving.send(JSON.stringify({ type: 'closing', reason: 'room_moved', message: 'the room moved to another node' }));
    await moving.close({ code: 1012, reason: 'room moved' });
    await movingServer.close();
    await waitUntil(page, 'the banner says the meeting is moving after room_moved', () =>
      document.getElementById('banner')?.textContent?.includes('moving between servers'));
    await waitUntil(page, 'Ann is back', () => window.roundtable.phase() === 'connected');
    assert.equal(joinsForwarded, 2, 'the page joined again by itself');
    // The page keeps the room's log epoch with its seq and sends it back: the same room (the
    // same process, still loaded) replays what was missed.
    assert.ok(joinAcks[0].log_epoch, 'the join ack carries the log epoch');
    assert.equal(joinFrames[1].resume?.log_epoch, joinAcks[0].log_epoch, 'the resume carries the epoch');
    assert.equal(joinAcks[1]?.catch_up, 'replay', 'a resume from the room\'s epoch is replayed');
    await waitUntil(page, 'the state resumed with the hand still up', (seq) =>
      window.roundtable.state().seq >= seq && document.querySelectorAll('#queue-list .queue-item').length === 1, seqBefore);
    await showView(page, 'people');
    await page.locator('#hand-button').click();
    await waitUntil(page, 'requests work after the move', () => document.querySelectorAll('#queue-list .queue-item').length === 0);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
