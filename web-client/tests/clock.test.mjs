// Clock agreement: browsers whose clocks are off by minutes in opposite directions still agree
// on the server's time within 50 ms at the same instant, because each measures its offset to
// the server with pings (js/clock.js). The timer display is computed from exactly this
// estimate.
//
// "The same instant" is measured on a clock the shift does not touch: every page's
// `performance.timeOrigin + performance.now()` is the machine's real clock, shared by all
// pages. So each page reports (its server time estimate, the real time) at one moment, and
// `estimate - real` must be the same on every page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, screenshot, waitUntil } from './support/browser.mjs';

const AGREEMENT_MS = 50;
const MINUTE_MS = 60 * 1000;
/** The pages' clock shifts: behind by seven minutes, right, and ahead by five minutes. */
const SHIFTS_MS = [-7 * MINUTE_MS, 0, 5 * MINUTE_MS];

test('pages with clocks shifted by minutes agree on the server time within 50 ms', async (t) => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const created = await fetch(`${server.url}/api/groups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Clock Check' }),
    }).then((response) => response.json());

    const pages = [];
    for (const [index, shift] of SHIFTS_MS.entries()) {
      const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
      // Shift this page's wall clock before any of its scripts run. Only Date is shifted, as
      // a wrong system clock would; the page's monotonic clock is left alone.
      await context.addInitScript((shiftMs) => {
        const realNow = Date.now.bind(Date);
        Date.now = () => realNow() + shiftMs;
      }, shift);
      const page = await context.newPage();
      await page.goto(created.invite_url);
      await page.getByLabel('Your name').fill(`Clock ${index + 1}`);
      await page.getByRole('button', { name: 'Join', exact: true }).click();
      pages.push({ page, shift });
    }
    for (const { page } of pages) {
      await waitUntil(page, 'the page joined', () => window.roundtable?.phase() === 'connected');
      // The burst of pings after joining has been answered.
      await page.waitForTimeout(1200);
    }
    await screenshot(pages[0].page, 'clock-shifted-room');

    const readings = await Promise.all(pages.map(async ({ page, shift }) => {
      const reading = await page.evaluate(() => {
        const real = performance.timeOrigin + performance.now();
        return { estimate: window.roundtable.serverNow(), real, shifted: Date.now(), offset: window.roundtable.clockOffsetMs() };
      });
      return { ...reading, shift };
    }));
    for (const reading of readings) {
      // The shift is really in effect on the page (otherwise this test would prove nothing).
      assert.ok(Math.abs(reading.shifted - reading.real - reading.shift) < AGREEMENT_MS,
        `the page clock is shifted by ${reading.shift} ms (it reads ${reading.shifted - reading.real} ms off)`);
      // The offset undoes the shift: the server runs on this machine, so its clock is the
      // real one.
      assert.ok(Math.abs(reading.estimate - reading.real) < AGREEMENT_MS,
        `a page shifted by ${reading.shift} ms estimates the server time ${reading.estimate - reading.real} ms off`);
    }
    const errors = readings.map((reading) => reading.estimate - reading.real);
    const spread = Math.max(...errors) - Math.min(...errors);
    t.diagnostic(`server time estimate minus real time per page: ${errors.map((error) => error.toFixed(1)).join(', ')} ms; spread ${spread.toFixed(1)} ms`);
    assert.ok(spread < AGREEMENT_MS, `the pages disagree by ${spread.toFixed(1)} ms on the server time`);
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
