// The schedule, in real browsers against the real server: the facilitator (laptop, Berlin)
// sets a weekly schedule in Europe/Berlin; a member on a phone in dark mode in New York sees
// the next meeting in her time and the group's, subscribes to the calendar (her feed URL, which
// serves the group's iCalendar with its RRULE to anyone without headers, as a calendar app
// reads it), downloads the next meeting's .ics, and sees a moved meeting and its move back.
// Keyboard use, axe-core, no sideways scrolling on the phone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, screenshot, waitUntil, join, PHONE, showView } from './support/browser.mjs';
import { checkAccessibility } from './support/stage.mjs';
import { nextMeetingText, describeSchedule } from '../js/features/schedule/format.js';
import { formatDateTime } from '../js/format.js';
import { scheduleFeature } from '../js/features/schedule/state.js';

test('the next meeting reads in the viewer\'s time and the group\'s', () => {
  // Tuesday 5 January 2027, 09:00 in Berlin is 08:00 UTC, 03:00 in New York.
  const next = { occurrence: '2027-01-05', starts_at_ms: Date.UTC(2027, 0, 5, 8), ends_at_ms: Date.UTC(2027, 0, 5, 9, 30), local_start: '2027-01-05T09:00', time_zone: 'Europe/Berlin', moved: false };
  assert.equal(formatDateTime(next.starts_at_ms, undefined, 'Europe/Berlin'), 'Tue 5 Jan, 09:00');
  // Every other date on the page (the minutes, My history, "started ...") reads the same way,
  // 24-hour, whatever the browser's own locale would write.
  assert.equal(formatDateTime(Date.UTC(2026, 11, 6, 0, 48), undefined, 'UTC'), 'Sun 6 Dec, 00:48');
  assert.equal(formatDateTime(Date.UTC(2026, 11, 6, 13, 5), undefined, 'America/New_York'), 'Sun 6 Dec, 08:05');
  assert.equal(nextMeetingText(next, 'America/New_York'), 'Next meeting: Tue 5 Jan, 03:00 (your time) / 09:00 Europe/Berlin');
  assert.equal(nextMeetingText(next, 'Europe/Berlin'), 'Next meeting: Tue 5 Jan, 09:00 Europe/Berlin');
  // Another day in the group's zone: the day is said too.
  assert.equal(nextMeetingText(next, 'America/Los_Angeles'), 'Next meeting: Tue 5 Jan, 00:00 (your time) / 09:00 Europe/Berlin');
  assert.equal(nextMeetingText({ ...next, starts_at_ms: Date.UTC(2027, 0, 5, 3) }, 'America/Los_Angeles'),
    'Next meeting: Mon 4 Jan, 19:00 (your time) / Tue 5 Jan, 04:00 Europe/Berlin');
  assert.equal(nextMeetingText({ ...next, moved: true }, 'Europe/Berlin'), 'Next meeting: Tue 5 Jan, 09:00 Europe/Berlin (moved)');
  const schedule = { cadence: { every: 'month_weekday', week: 2, weekday: 'tuesday' }, starts_on: '2027-01-01', start_time: '17:30', duration_minutes: 60, time_zone: 'America/New_York' };
  assert.equal(describeSchedule(/** @type {any} */ (schedule)), 'The 2nd Tuesday of each month at 17:30 (America/New York), 60 minutes');
  assert.equal(describeSchedule(/** @type {any} */ ({ ...schedule, cadence: { every: 'month_weekday', week: -1, weekday: 'friday' } })).startsWith('The last Friday'), true);
  assert.equal(describeSchedule(/** @type {any} */ ({ ...schedule, cadence: { every: 'two_weeks', weekday: 'monday' } })).startsWith('Every other Monday'), true);
});

test('feeds turn on and off in the store as the server says, in its order', () => {
  const own = scheduleFeature.fromSnapshot(/** @type {any} */ ({ calendar_feeds: ['b'] }));
  const frame = /** @type {any} */ ({});
  scheduleFeature.events.calendar_feed_changed(own, { kind: 'calendar_feed_changed', member_id: 'a', active: true }, frame, /** @type {any} */ (null));
  assert.deepEqual(own.feeds, ['a', 'b']);
  scheduleFeature.events.calendar_feed_changed(own, { kind: 'calendar_feed_changed', member_id: 'b', active: false }, frame, /** @type {any} */ (null));
  assert.deepEqual(own.feeds, ['a']);
  scheduleFeature.events.member_removed(own, { kind: 'member_removed', member_id: 'a' }, frame, /** @type {any} */ (null));
  assert.deepEqual(own.feeds, []);
});

test('a facilitator sets the schedule; a member sees the next meeting, subscribes and downloads it', async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const created = await fetch(`${server.url}/api/groups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Schedule Peers', time_zone: 'Europe/Berlin' }),
    }).then((response) => response.json());
    const fran = await join(browser, created.facilitator_url, 'Fran', { viewport: { width: 1366, height: 900 }, timezoneId: 'Europe/Berlin' }, 'Enter as facilitator');
    const ann = await join(browser, created.invite_url, 'Ann', { ...PHONE, colorScheme: 'dark', timezoneId: 'America/New_York', acceptDownloads: true }, 'Join');
    for (const person of [fran, ann]) {
      await showView(person.page, 'agenda');
      await waitUntil(person.page, `${person.name} sees no meeting yet`,
        () => document.getElementById('next-meeting')?.textContent === 'No meeting is scheduled yet.');
    }
    assert.equal(await ann.page.locator('#schedule-form').isVisible(), false, 'members have no schedule form');

    // The facilitator fills the form and saves it with Enter.
    const page = fran.page;
    await page.getByLabel('Repeats').selectOption('week');
    await page.getByLabel('Day of the week').selectOption('tuesday');
    await page.getByLabel('First meeting on or after').fill('2027-01-04');
    await page.getByLabel('Start time (the group\'s time zone)').fill('09:00');
    await page.getByLabel('Planned length (minutes)').fill('90');
    await page.getByLabel('Time zone of the schedule').selectOption('Europe/Berlin');
    await page.getByLabel('Planned length (minutes)').press('Enter');

    await waitUntil(ann.page, 'Ann sees the next meeting in her time and the group\'s',
      () => document.getElementById('next-meeting')?.textContent === 'Next meeting: Tue 5 Jan, 03:00 (your time) / 09:00 Europe/Berlin');
    await waitUntil(page, 'Fran sees it in Berlin time',
      () => document.getElementById('next-meeting')?.textContent === 'Next meeting: Tue 5 Jan, 09:00 Europe/Berlin');
    assert.equal(await ann.page.locator('#schedule-summary').textContent(), 'Every Tuesday at 09:00 (Europe/Berlin), 90 minutes');
    // The meeting is upcoming: its lobby says when it is, on top.
    await waitUntil(ann.page, 'Ann\'s lobby says when the meeting is',
      () => document.getElementById('lobby-when')?.textContent === 'Next meeting: Tue 5 Jan, 03:00 (your time) / 09:00 Europe/Berlin');
    assert.equal(await ann.page.locator('#lobby-when').isVisible(), true);

    // Subscribe, with the keyboard: Tab from Download .ics, then Enter.
    await ann.page.locator('#download-ics').focus();
    await ann.page.keyboard.press('Tab');
    assert.equal(await ann.page.evaluate(() => document.activeElement?.id), 'subscribe-calendar');
    await ann.page.keyboard.press('Enter');
    const feedInput = ann.page.locator('#calendar-feed-url');
    await feedInput.waitFor();
    const feedUrl = await feedInput.inputValue();
    assert.match(feedUrl, new RegExp(`^${server.url}/api/groups/${created.group_id}/calendar/[A-Za-z0-9_-]{43}\\.ics$`));
    assert.equal(await ann.page.locator('#subscribe-calendar').isVisible(), false);
    // A calendar app reads it without any header.
    const feed = await fetch(feedUrl);
    assert.equal(feed.status, 200);
    assert.equal(feed.headers.get('content-type'), 'text/calendar; charset=utf-8');
    assert.equal(feed.headers.get('cache-control'), 'no-store');
    const feedText = await feed.text();
    assert.match(feedText, /\r\nRRULE:FREQ=WEEKLY;BYDAY=TU\r\n/);
    assert.match(feedText, /\r\nDTSTART;TZID=Europe\/Berlin:20270105T090000\r\n/);
    // Fran sees Ann's feed is on (and could turn it off).
    await waitUntil(page, 'Fran\'s page knows Ann has a feed',
      () => (window.roundtable.state()?.features.schedule?.feeds ?? []).length === 1);

    await screenshot(ann.page, 'schedule-member-phone-dark');
    await screenshot(page, 'schedule-facilitator-laptop');
    await checkAccessibility(ann.page, 'schedule, member, phone, dark');
    await checkAccessibility(page, 'schedule, facilitator, laptop');
    assert.ok(await ann.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'nothing scrolls sideways on the phone');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'nothing scrolls sideways on the laptop');

    // Download .ics: the next meeting alone.
    const downloading = ann.page.waitForEvent('download');
    await ann.page.locator('#download-ics').click();
    const download = await downloading;
    assert.equal(download.suggestedFilename(), 'next-meeting.ics');
    const single = readFileSync(/** @type {string} */ (await download.path()), 'utf8');
    assert.match(single, /\r\nDTSTART;TZID=Europe\/Berlin:20270105T090000\r\n/);
    assert.doesNotMatch(single, /RRULE/);

    // The facilitator moves the first meeting; everyone sees it moved, then moved back.
    assert.equal(await page.locator('#move-occurrence').inputValue(), '2027-01-05', 'the next meeting is offered');
    await page.getByLabel('New date and time (the group\'s time zone)').fill('2027-01-06T10:00');
    await page.getByRole('button', { name: 'Move meeting' }).click();
    await waitUntil(ann.page, 'Ann sees the meeting moved',
      () => document.getElementById('next-meeting')?.textContent === 'Next meeting: Wed 6 Jan, 04:00 (your time) / 10:00 Europe/Berlin (moved)');
    const back = page.getByRole('button', { name: /Move the meeting of .* back/ });
    await back.focus();
    await page.keyboard.press('Enter');
    await waitUntil(ann.page, 'Ann sees it back at its time',
      () => document.getElementById('next-meeting')?.textContent === 'Next meeting: Tue 5 Jan, 03:00 (your time) / 09:00 Europe/Berlin');

    // The facilitator turns off Ann's feed: its URL stops working, and Ann may subscribe anew.
    await page.getByRole('button', { name: 'Turn off Ann\'s calendar feed' }).click();
    await ann.page.locator('#subscribe-calendar').waitFor();
    assert.equal((await fetch(feedUrl)).status, 404);
    await ann.page.locator('#subscribe-calendar').click();
    await waitUntil(ann.page, 'Ann has a new feed link',
      (old) => { const input = /** @type {HTMLInputElement | null} */ (document.getElementById('calendar-feed-url')); return !!input && input.value !== old; }, feedUrl);
    const renewed = await ann.page.locator('#calendar-feed-url').inputValue();
    assert.equal((await fetch(renewed)).status, 200);
    // Ann turns it off herself.
    await ann.page.getByRole('button', { name: 'Turn off my feed' }).click();
    await ann.page.locator('#subscribe-calendar').waitFor();
    assert.equal((await fetch(renewed)).status, 404);
    await waitUntil(page, 'Fran\'s list of feeds is empty', () => document.getElementById('feeds-area')?.hidden === true);
    assert.deepEqual([...fran.errors, ...ann.errors], []);
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
