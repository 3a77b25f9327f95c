// "My history" in a real browser against the real server: Ann, on a phone, keeps commitments
// and shares her numbers (anonymously, then by name) over two meetings, sells in a role play
// the others score, and then opens her history: the summary, her commitments per meeting, her
// numbers against the group's medians, her role play scores and the past meetings' minutes,
// with nobody else's anonymous number and no scorer anywhere on the page. The page is checked
// with axe and for fit on a phone and a laptop, light and dark, and used with the keyboard
// alone. The other members are real WebSocket clients (run inside a browser page of the
// server's own origin), as any client would be.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, screenshot, waitUntil, PHONE, join, showView } from './support/browser.mjs';
import { checkAccessibility } from './support/stage.mjs';

/** @typedef {import('playwright-core').Page} Page */

/** The others' anonymous numbers: chosen so they cannot appear on a page by chance. */
const OTHERS_ANONYMOUS = [4817.3, 2939.7, 3571.9, 6143.1, 1297.3, 8861.7];

/**
 * Opens a WebSocket from `page` (a page of the server's origin), joins with `credential`,
 * sends `requests` one after the other (each waits for its answer) and closes. Returns the
 * join's answer, the answers and the events seen.
 * @param {Page} page
 * @param {string} groupId
 * @param {object} credential
 * @param {object[]} requests
 */
async function session(page, groupId, credential, requests) {
  return page.evaluate(async ({ groupId, credential, requests }) => {
    const socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws`);
    /** @type {any[]} */
    const events = [];
    /** @type {Map<number, (frame: any) => void>} */
    const waiting = new Map();
    socket.addEventListener('message', (message) => {
      const frame = JSON.parse(String(message.data));
      if (frame.type === 'event') events.push(frame.event);
      if ((frame.type === 'ack' || frame.type === 'error') && waiting.has(frame.id)) waiting.get(frame.id)?.(frame);
    });
    await new Promise((resolve, reject) => { socket.addEventListener('open', resolve); socket.addEventListener('error', reject); });
    let id = 0;
    const send = (/** @type {any} */ request) => new Promise((resolve) => {
      id += 1;
      waiting.set(id, resolve);
      socket.send(JSON.stringify({ v: 1, id, ...request }));
    });
    const joined = /** @type {any} */ (await send({ type: 'join', group_id: groupId, credential }));
    if (joined.type !== 'ack') throw new Error(`join refused: ${JSON.stringify(joined)}`);
    const answers = [];
    for (const request of requests) {
      const answer = /** @type {any} */ (await send(request));
      if (answer.type !== 'ack') throw new Error(`${JSON.stringify(request)} refused: ${JSON.stringify(answer)}`);
      answers.push(answer.result);
    }
    socket.close();
    return { joined: joined.result, answers, events };
  }, { groupId, credential, requests });
}

/**
 * @param {Page} page
 * @param {Record<string, string>} values
 * @param {'named' | 'anonymous'} sharing
 */
async function submitNumbers(page, values, sharing) {
  await showView(page, 'benchmarks');
  for (const [key, value] of Object.entries(values)) await page.locator(`#metric-${key}`).fill(value);
  await page.locator(sharing === 'named' ? '#sharing-named' : '#sharing-anonymous').check();
  await page.locator('#benchmark-submit').click();
  await waitUntil(page, 'the numbers are in', () => document.querySelector('#my-position') !== null);
}

/**
 * @param {Page} page
 * @param {string} text
 */
async function addCommitment(page, text) {
  await showView(page, 'commitments');
  await page.locator('#commitment-text').fill(text);
  await page.locator('#commitment-add').click();
  await waitUntil(page, 'the form empties after adding', () => /** @type {HTMLInputElement} */ (document.getElementById('commitment-text')).value === '');
}

/**
 * The history page fits the viewport: nothing wider than the screen.
 * @param {Page} page
 * @param {string} where
 */
async function checkFit(page, where) {
  const overflow = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('#history-page *')]
      .filter((element) => element.getClientRects().length > 0 && !element.closest('.table-scroll table'))
      .filter((element) => element.getBoundingClientRect().right > width + 1)
      .map((element) => `${element.tagName.toLowerCase()}#${element.id}.${element.className}`);
    return { scroll: document.documentElement.scrollWidth - width, wide: wide.slice(0, 5) };
  });
  assert.ok(overflow.scroll <= 0 && overflow.wide.length === 0, `${where}: the page is wider than the screen: ${JSON.stringify(overflow)}`);
}

test('a member reads their own history on a phone and a laptop, light and dark', async () => {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const created = await fetch(`${server.url}/api/groups`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Tuesday Closers' }),
    }).then((response) => response.json());
    const groupId = created.group_id;
    const facilitatorSecret = new URL(created.facilitator_url).hash.replace('#facilitator=', '');
    const inviteSecret = new URL(created.invite_url).hash.replace('#invite=', '');
    const driverContext = await browser.newContext();
    const driver = await driverContext.newPage();
    await driver.goto(server.url);

    const fran = await session(driver, groupId, { kind: 'facilitator', secret: facilitatorSecret, display_name: 'Fran' }, []);
    const franToken = { kind: 'member_token', token: fran.joined.member_token };
    /** @type {{ kind: string, token: string }[]} */
    const others = [];
    for (const name of ['Bob', 'Cleo', 'Dan']) {
      const joined = await session(driver, groupId, { kind: 'invite', secret: inviteSecret, display_name: name }, []);
      others.push({ kind: 'member_token', token: joined.joined.member_token });
    }
    const ann = await join(browser, created.invite_url, 'Ann', PHONE, 'Join');
    const annId = await ann.page.evaluate(() => window.roundtable.state().members.find((/** @type {any} */ member) => member.display_name === 'Ann').member_id);

    // --- Meeting 1: commitments, anonymous numbers, a role play with Ann as the seller. ---
    await session(driver, groupId, franToken, [{ type: 'start_meeting' }]);
    await waitUntil(ann.page, 'meeting 1 is live', () => window.roundtable.state()?.meeting.phase === 'live');
    await addCommitment(ann.page, 'Call ten lapsed customers');
    await addCommitment(ann.page, 'Send the new pricing page');
    await submitNumbers(ann.page, { calls: '41', revenue: '18500' }, 'anonymous');
    for (const [index, credential] of others.entries()) {
      await session(driver, groupId, credential, [{ type: 'submit_numbers', values: { calls: OTHERS_ANONYMOUS[index], revenue: 20000 + index * 1000 }, sharing: 'anonymous' }]);
    }
    const rubric = {
      name: 'Discovery call', one_thing_differently: false,
      criteria: [
        { name: 'Questions', description: '', scale_min: 1, scale_max: 5, weight: 1 },
        { name: 'Next step', description: '', scale_min: 1, scale_max: 5, weight: 1 },
      ],
    };
    const setUp = await session(driver, groupId, franToken, [
      { type: 'role_play', action: { kind: 'set_up', seller: annId, scenario: 'Renewal with a CFO', rubric } },
    ]);
    const rolePlay = setUp.events.filter((event) => event.kind === 'role_play' && event.change.kind === 'set_up').at(-1)?.change.role_play;
    assert.ok(rolePlay, 'the role play was set up');
    const rolePlayId = rolePlay.role_play_id;
    await session(driver, groupId, franToken, [{ type: 'role_play', action: { kind: 'open_scoring', role_play_id: rolePlayId } }]);
    const scores = [[4, 3], [5, 3], [3, 2]];
    for (const [index, credential] of others.entries()) {
      await session(driver, groupId, credential, [{ type: 'role_play', action: { kind: 'submit', role_play_id: rolePlayId, scores: scores[index], comment: index === 0 ? 'Good pause before the price' : '' } }]);
    }
    await session(driver, groupId, franToken, [{ type: 'role_play', action: { kind: 'reveal', role_play_id: rolePlayId } }, { type: 'start_next_meeting' }, { type: 'start_meeting' }]);
    await waitUntil(ann.page, 'Ann is in meeting 2, live', () => window.roundtable.state()?.meeting.number === 2 && window.roundtable.state()?.meeting.phase === 'live');

    // --- Meeting 2: one commitment done, numbers by name; then meeting 3. ---------------
    await showView(ann.page, 'commitments');
    const row = ann.page.locator('#commitment-board .commitment', { has: ann.page.locator('.commitment-text', { hasText: 'Call ten lapsed customers' }) });
    await row.locator('.status-select').selectOption('done');
    await row.getByRole('button', { name: 'Save' }).click();
    await waitUntil(ann.page, 'the commitment is done', () => window.roundtable.state().features.commitments.commitments.some((/** @type {any} */ c) => c.status === 'done'));
    await submitNumbers(ann.page, { calls: '60', revenue: '21000' }, 'named');
    for (const [index, credential] of others.entries()) {
      await session(driver, groupId, credential, [{ type: 'submit_numbers', values: { calls: OTHERS_ANONYMOUS[3 + index], revenue: 25000 + index * 1000 }, sharing: 'anonymous' }]);
    }
    await session(driver, groupId, franToken, [{ type: 'start_next_meeting' }, { type: 'start_meeting' }]);
    await waitUntil(ann.page, 'Ann is in meeting 3, live', () => window.roundtable.state()?.meeting.number === 3 && window.roundtable.state()?.meeting.phase === 'live');

    // --- The history page, with the keyboard alone, on the phone. -----------------------
    const page = ann.page;
    await page.locator('#history-button').focus();
    await page.keyboard.press('Enter');
    await waitUntil(page, 'the history is shown', () => document.querySelector('#history-facts') !== null);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'history-title', 'the focus moves to the page\'s heading');
    assert.equal(await page.locator('.room-body').isVisible(), false, 'the room is behind the page');
    const text = await page.locator('#history-page').innerText();
    assert.match(await page.locator('#fact-attended').innerText(), /3 of 3/);
    assert.match(await page.locator('#fact-completion').innerText(), /100%/);
    assert.match(await page.locator('#fact-roleplays').innerText(), /\b1\b[\s\S]*latest 58% overall/, "(75% + 42%) / 2 of the two criteria");
    assert.match(await page.locator('#fact-trends').innerText(), /Calls/);
    assert.equal(await page.locator('#fact-trends [data-metric="calls"]').getAttribute('data-direction'), 'up');
    assert.equal(await page.locator('#history-commitment-table tbody tr').count(), 2, 'meetings 1 and 2 had commitments');
    assert.match(await page.locator('#history-commitment-table tr[data-meeting="2"]').innerText(), /^2\s+0\s+1\s+0\s+0\s+0\s+1$/, 'one done and one carried at meeting 2');
    assert.match(text, /Renewal with a CFO/);
    assert.match(await page.locator('#history-roleplays').innerText(), /Questions\s+4 of 5/);
    assert.equal(await page.locator('#history-meetings details').count(), 2, 'meetings 1 and 2');
    assert.equal(await page.locator('.history-chart[role="img"]').count() >= 2, true, 'a chart per metric with numbers');
    assert.match(await page.locator('.history-metric[data-metric="calls"] .history-chart').getAttribute('aria-label') ?? '', /yours 41 calls to 60 calls/);

    // Tab through the page to a meeting's minutes and open them with the keyboard.
    const meetingSummary = page.locator('#history-meetings details[data-meeting="1"] > summary');
    for (let presses = 0; presses < 60; presses += 1) {
      if (await meetingSummary.evaluate((element) => element === document.activeElement)) break;
      await page.keyboard.press('Tab');
    }
    assert.equal(await meetingSummary.evaluate((element) => element === document.activeElement), true, 'the minutes are reached with Tab');
    await page.keyboard.press('Enter');
    const minutes = await page.locator('#history-meetings details[data-meeting="1"]').innerText();
    assert.match(minutes, /Good pause before the price/, 'the revealed comment is in the minutes');
    assert.match(minutes, /Call ten lapsed customers/);

    // Nobody else's anonymous number, and no scorer, anywhere on the page.
    const html = await page.locator('#history-page').innerHTML();
    for (const value of OTHERS_ANONYMOUS) {
      for (const written of [String(value), value.toLocaleString('en-US')]) {
        assert.ok(!html.includes(written), `another member's anonymous ${written} is on Ann's page`);
      }
    }
    const roleplays = await page.locator('#history-roleplays').innerText();
    for (const name of ['Bob', 'Cleo', 'Dan']) assert.ok(!roleplays.includes(name), `${name} named next to Ann's scores`);

    // Phone and laptop, light and dark: axe and fit.
    for (const [width, height, label] of [[390, 844, 'phone'], [1366, 900, 'laptop']]) {
      for (const scheme of /** @type {const} */ (['light', 'dark'])) {
        await page.setViewportSize({ width: Number(width), height: Number(height) });
        await page.emulateMedia({ colorScheme: scheme });
        // The buttons' colours change with a short transition: check once it has run.
        await waitUntil(page, 'the colours settle', () => document.getAnimations().length === 0);
        await checkAccessibility(page, `my history, ${label} ${scheme}`);
        await checkFit(page, `my history, ${label} ${scheme}`);
        await screenshot(page, `history-${label}-${scheme}`);
      }
    }

    // Escape goes back to the room, with the focus on the button that opened the page.
    await page.locator('#history-refresh').focus();
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('#history-page').isVisible(), false);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'history-button');
    assert.equal(await page.locator('.room-body').isVisible(), true);

    // Exports stay facilitator-only.
    const memberToken = others[0].token;
    for (const route of ['minutes', 'commitments.csv', 'benchmarks.csv']) {
      const response = await fetch(`${server.url}/api/groups/${groupId}/${route}`, { headers: { authorization: `Bearer ${memberToken}` } });
      assert.equal(response.status, 403, `${route} for a member`);
    }
    assert.deepEqual(ann.errors, []);
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
});
