// A planned restart as the browser sees it: two real server processes on one real Redis
// (started here, on loopback) behind a small TCP load balancer of the test's own. The process
// that runs the meeting gets SIGTERM: it hands the room over and closes the pages with 1012
// (`draining`); the pages reconnect at once through the load balancer, which now sends them
// to the other process, and resume there. What each member sees is timed in the page: from
// the moment its connection left `connected` to the moment it is `connected` again; and the
// page's sockets are logged, to see that the next one was made right after the close.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, waitUntil, showView, join, startMeeting } from './support/browser.mjs';
import { freePort, startRedis } from './support/redis.mjs';
import { startBalancer } from './support/balancer.mjs';

/** The longest gap a member may see: the drain's promise (ARCHITECTURE.md, "Drain"). */
const GAP_MAX_MS = 500;
/**
 * The longest from the close with 1012 to the page's next WebSocket. The backoff's first wait
 * is 250 to 500 ms, so a page that did not reconnect at once could not make this.
 */
const RECONNECT_AT_ONCE_MAX_MS = 100;

/**
 * Makes the pages of `context` log when each WebSocket is made and when (and with which code)
 * it closes, in `window.socketLog`.
 * @param {import('playwright-core').BrowserContext} context
 */
async function logSockets(context) {
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    /** @type {{ kind: string, code?: number, at: number }[]} */
    const log = [];
    /** @type {any} */ (window).socketLog = log;
    window.WebSocket = class extends Native {
      /** @param {string | URL} url @param {string | string[]} [protocols] */
      constructor(url, protocols) {
        super(url, protocols);
        log.push({ kind: 'made', at: performance.now() });
        this.addEventListener('close', (event) => log.push({ kind: 'closed', code: event.code, at: performance.now() }));
      }
    };
  });
}

/**
 * Times, in the page, how long its connection is away from `connected` the next time it
 * leaves it (polled every 2 ms).
 * @param {import('playwright-core').Page} page
 */
async function timeNextGap(page) {
  await page.evaluate(() => {
    const w = /** @type {any} */ (window);
    w.gap = { left: null, back: null };
    const timer = setInterval(() => {
      const phase = w.roundtable.phase();
      if (w.gap.left === null && phase !== 'connected') w.gap.left = performance.now();
      if (w.gap.left !== null && phase === 'connected') {
        w.gap.back = performance.now();
        clearInterval(timer);
      }
    }, 2);
  });
}

test('a drained server hands the meeting over and the pages resume on another at once', async (t) => {
  const redis = await startRedis();
  const target = { ports: /** @type {number[]} */ ([]) };
  const balancer = await startBalancer(target);
  const prefix = `rt-browser-drain-${process.pid}-${Date.now()}:`;
  const args = [
    '--redis-url', redis.url, '--redis-prefix', prefix,
    '--public-url', `http://127.0.0.1:${balancer.port}`,
  ];
  const dirs = [makeDataDir(), makeDataDir()];
  // The servers print the public URL (the balancer's), so their own ports are chosen here.
  const ports = [await freePort(), await freePort()];
  const first = await startServer({ dataDir: dirs[0], port: ports[0], args });
  const second = await startServer({ dataDir: dirs[1], port: ports[1], args });
  target.ports = [ports[0]];
  const browser = await launchBrowser();
  try {
    const created = await fetch(`http://127.0.0.1:${balancer.port}/api/groups`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Rolling peers' }),
    }).then((response) => response.json());
    const fran = await join(browser, created.facilitator_url, 'Fran', { viewport: { width: 1000, height: 800 } }, 'Enter as facilitator', logSockets);
    await startMeeting(fran);
    const ann = await join(browser, created.invite_url, 'Ann', { viewport: { width: 1000, height: 800 } }, 'Join', logSockets);
    await showView(ann.page, 'people');
    await ann.page.locator('#hand-button').click();
    await waitUntil(ann.page, 'Ann\'s hand is up', () => document.querySelectorAll('#queue-list .queue-item').length === 1);
    const seqBefore = await ann.page.evaluate(() => /** @type {any} */ (window).roundtable.state().seq);

    for (const person of [fran, ann]) await timeNextGap(person.page);
    // New connections go to the second process from now on; the first drains and stops.
    target.ports = [ports[1]];
    await first.stop();

    for (const person of [fran, ann]) {
      await waitUntil(person.page, `${person.name} is back`, () => /** @type {any} */ (window).gap.back !== null);
      const gap = await person.page.evaluate(() => {
        const w = /** @type {any} */ (window);
        return w.gap.back - w.gap.left;
      });
      t.diagnostic(`${person.name} was away ${Math.round(gap)} ms`);
      assert.ok(gap <= GAP_MAX_MS, `${person.name} was away ${Math.round(gap)} ms, more than ${GAP_MAX_MS} ms`);
      // The page made its next socket right after the server's 1012, without the backoff.
      const log = await person.page.evaluate(() => /** @type {any} */ (window).socketLog);
      const closed = log.findIndex((/** @type {any} */ entry) => entry.kind === 'closed' && entry.code === 1012);
      assert.ok(closed >= 0, `${person.name}'s socket was closed with 1012: ${JSON.stringify(log)}`);
      const next = log.slice(closed).find((/** @type {any} */ entry) => entry.kind === 'made');
      assert.ok(next, `${person.name} made a new socket`);
      const wait = next.at - log[closed].at;
      t.diagnostic(`${person.name} reconnected ${Math.round(wait)} ms after the close`);
      assert.ok(wait <= RECONNECT_AT_ONCE_MAX_MS, `${person.name} reconnected ${Math.round(wait)} ms after the 1012 close`);
    }
    // Resumed, not started over: the hand is still up, and the room works on the new process.
    await waitUntil(ann.page, 'Ann resumed with her hand up', (seq) =>
      /** @type {any} */ (window).roundtable.state().seq >= seq && document.querySelectorAll('#queue-list .queue-item').length === 1, seqBefore);
    await ann.page.locator('#hand-button').click();
    await waitUntil(fran.page, 'Fran sees the hand go down, served by the second process', () =>
      document.querySelectorAll('#queue-list .queue-item').length === 0);
    assert.deepEqual([...fran.errors, ...ann.errors], []);
  } finally {
    await browser.close();
    await second.stop();
    await first.stop();
    await balancer.stop();
    redis.stop();
    for (const dir of dirs) removeDataDir(dir);
  }
});
