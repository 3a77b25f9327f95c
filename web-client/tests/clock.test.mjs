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
import { launchBrowser, screenshot, waitUntil, join, everyoneSees, showView, startMeeting } from './support/browser.mjs';

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

/**
 * Shifts a context's wall clock (Date.now) by `shiftMs` before any of its scripts run, as a
 * wrong system clock would; the monotonic clock is left alone.
 * @param {number} shiftMs
 * @returns {(context: import('playwright-core').BrowserContext) => Promise<void>}
 */
const shiftClock = (shiftMs) => (context) => context.addInitScript((shift) => {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + shift;
}, shiftMs);

/** The timer's m:ss for a positive remaining time (agenda.js rounds up to the second). */
const mss = (/** @type {number} */ ms) => {
  const seconds = Math.ceil(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
};

// The big timer shows the same remaining time on every page at the same instant, whatever the
// pages' clocks say. The display is m:ss, so the timer element carries the exact remaining
// milliseconds it rendered from and the page's own clock at that moment (data-remaining-ms,
// data-rendered-at-ms, written by the code that writes the text). The pages render at slightly
// different instants, so each reading is moved to true time with its page's known shift:
// `remaining + (rendered_at - shift)` is the deadline as that page sees it, in true time, and
// must agree across pages (and with the server's deadline) within 50 ms.
test('the big timer shows the same remaining time on pages whose clocks are off by minutes in opposite directions', async (t) => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const created = await fetch(`${server.url}/api/groups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Timer Clocks' }),
    }).then((response) => response.json());
    const viewport = { viewport: { width: 1000, height: 800 } };
    // The facilitator's clock runs six minutes ahead; the members' seven minutes behind and
    // four minutes ahead.
    const cast = [
      { name: 'Fran', link: created.facilitator_url, button: 'Enter as facilitator', shift: 6 * MINUTE_MS },
      { name: 'Ann', link: created.invite_url, button: 'Join', shift: -7 * MINUTE_MS },
      { name: 'Bob', link: created.invite_url, button: 'Join', shift: 4 * MINUTE_MS },
    ];
    const people = [];
    for (const { name, link, button, shift } of cast) {
      const person = await join(browser, link, name, viewport, button, shiftClock(shift));
      people.push({ ...person, shift });
    }
    // The burst of pings after joining has been answered on every page.
    await people[people.length - 1].page.waitForTimeout(1200);
    await startMeeting(people[0], people);

    await showView(people[0].page, 'timer');
    await people[0].page.locator('#timer-start').click();
    await everyoneSees(people, 'the running timer with its exact remaining time', () => {
      const display = document.getElementById('timer-display');
      return document.getElementById('timer-box')?.classList.contains('running') && display?.hasAttribute('data-rendered-at-ms');
    });
    await screenshot(people[1].page, 'clock-shifted-timer');

    const SAMPLES = 5;
    for (let sample = 0; sample < SAMPLES; sample++) {
      const readings = await Promise.all(people.map(async ({ name, page, shift }) => {
        const reading = await page.evaluate(() => {
          const display = /** @type {HTMLElement} */ (document.getElementById('timer-display'));
          const timer = /** @type {any} */ (window.roundtable.state()?.features.agenda)?.timer;
          return {
            remaining: Number(display.getAttribute('data-remaining-ms')),
            renderedAt: Number(display.getAttribute('data-rendered-at-ms')),
            text: display.textContent ?? '',
            pageNow: Date.now(),
            realNow: performance.timeOrigin + performance.now(),
            deadline: timer?.state.status === 'running' ? timer.state.deadline_ms : null,
          };
        });
        return { name, shift, ...reading };
      }));
      const deadlines = [];
      for (const reading of readings) {
        // The page's clock is really off by its shift (otherwise this would prove nothing).
        assert.ok(Math.abs(reading.pageNow - reading.realNow - reading.shift) < AGREEMENT_MS,
          `${reading.name}'s clock is shifted by ${reading.shift} ms (it reads ${(reading.pageNow - reading.realNow).toFixed(0)} ms off)`);
        // The reading is the display as it is now: rendered within the last few ticks.
        const age = reading.pageNow - reading.renderedAt;
        assert.ok(age >= 0 && age < 1000, `${reading.name}'s timer was rendered ${age} ms before it was read`);
        // The text on screen is the exact remaining time, as m:ss.
        assert.ok(reading.remaining > 0 && reading.remaining <= 4 * MINUTE_MS, `${reading.name} shows ${reading.remaining} ms left of a 4-minute turn`);
        assert.ok([mss(reading.remaining), mss(reading.remaining + 1)].includes(reading.text),
          `${reading.name} shows ${reading.text} for ${reading.remaining} ms`);
        // Where this page puts the deadline, in true time: its render instant moved to true
        // time with its known shift, plus what it showed then.
        const deadline = reading.remaining + (reading.renderedAt - reading.shift);
        deadlines.push(deadline);
        assert.ok(reading.deadline !== null, `${reading.name} has the running timer`);
        // The server runs on this machine, so true time is its time: the page shows the
        // server's deadline.
        assert.ok(Math.abs(deadline - reading.deadline) < AGREEMENT_MS,
          `${reading.name} (clock off by ${reading.shift / MINUTE_MS} min) shows the deadline ${(deadline - reading.deadline).toFixed(1)} ms off the server's`);
      }
      const spread = Math.max(...deadlines) - Math.min(...deadlines);
      // The same readings at one instant (the latest render): each page's remaining time then.
      const instant = Math.max(...readings.map((reading) => reading.renderedAt - reading.shift));
      const atInstant = readings.map((reading, index) => deadlines[index] - instant);
      t.diagnostic(`sample ${sample + 1}: remaining at one true instant ${readings.map((reading, index) => `${reading.name} ${atInstant[index].toFixed(0)} ms`).join(', ')}; spread ${spread.toFixed(1)} ms`);
      assert.ok(spread < AGREEMENT_MS, `the timers disagree by ${spread.toFixed(1)} ms at the same instant`);
      await people[0].page.waitForTimeout(230);
    }
    assert.deepEqual(people.flatMap((person) => person.errors), [], 'no page threw an uncaught error');
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
