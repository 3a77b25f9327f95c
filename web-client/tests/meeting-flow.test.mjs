// The facilitator's meeting-flow controls in real browsers against the real server:
// editing, moving and removing agenda items (with the keyboard too) and saving the agenda as
// the template; planning, moving and shuffling a round's speakers while members watch the
// order, the live region and the talk-time table; the optional time-up tone; a round that keeps
// its order (the plan after End round, an offline speaker marked, skipped and put back); and a
// bring-a-problem run through its phases, ending with the presenter's reworded commitments on
// the commitment board.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, screenshot, waitUntil, PHONE, join, everyoneSees, SCREENSHOT_DIR, showView, startMeeting } from './support/browser.mjs';
import { checkAccessibility } from './support/stage.mjs';

import { formatDuration, moved } from '../js/features/flow/round.js';
import { draftProblem } from '../js/features/flow/view.js';
import { choicesOf, commitmentTextOf, COMMITMENT_CHARS_MAX } from '../js/features/flow/problem.js';
import { RoomStore } from '../js/store.js';
import { flowFeature } from '../js/features/flow/state.js';

/** @typedef {import('playwright-core').Page} Page */
/** @typedef {import('playwright-core').Browser} Browser */
/** @typedef {import('./support/browser.mjs').Person} Person */

const DESKTOP = { viewport: { width: 1280, height: 1000 } };

/**
 * A server, a browser and a new group; `run` gets them and everything is stopped afterwards.
 * @param {string} groupName
 * @param {(setup: { browser: Browser, links: { facilitator_url: string, invite_url: string } }) => Promise<void>} run
 */
async function withGroup(groupName, run) {
  const dataDir = makeDataDir();
  const server = await startServer({ dataDir });
  const browser = await launchBrowser();
  try {
    const links = await fetch(`${server.url}/api/groups`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: groupName }),
    }).then((response) => response.json());
    await run({ browser, links });
  } finally {
    await browser.close();
    await server.stop();
    removeDataDir(dataDir);
  }
}

/**
 * Photographs one panel (a phone's whole page is too long to look at).
 * @param {Page} page
 * @param {string} selector
 * @param {string} name
 */
async function panelShot(page, selector, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // The round, its order and the talk times are the round's stage, apart from the agenda.
  if (selector === '#panel-agenda' && /round|talk/.test(name)) selector = '#panel-timer';
  const views = { '#problem-box': 'problem', '#round-box': 'timer' };
  await showView(page, /** @type {Record<string, string>} */ (views)[selector] ?? selector.replace('#panel-', ''));
  await page.locator(selector).screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
}

/** @param {Page} page @returns {Promise<string[]>} The agenda's titles, in order. */
function agendaTitles(page) {
  return page.locator('#agenda-list .agenda-item .agenda-main > .agenda-title').allTextContents();
}

/** @param {Page} page @returns {Promise<string[]>} The round's speakers, in order. */
function roundOrder(page) {
  return page.locator('#round-order .speaker-name').allTextContents()
    .then((names) => names.map((name) => name.replace(' (you)', '')));
}

/** @param {Person[]} people @param {string[]} titles */
async function everyoneSeesAgenda(people, titles) {
  await everyoneSees(people, `the agenda ${titles.join(' / ')}`,
    (expected) => JSON.stringify([...document.querySelectorAll('#agenda-list .agenda-item .agenda-main > .agenda-title')].map((e) => e.textContent)) === expected,
    JSON.stringify(titles));
}

/** @param {Person[]} people @param {string[]} names */
async function everyoneSeesOrder(people, names) {
  await everyoneSees(people, `the speaking order ${names.join(', ')}`,
    (expected) => JSON.stringify([...document.querySelectorAll('#round-order .speaker-name')].map((e) => e.textContent?.replace(' (you)', ''))) === expected,
    JSON.stringify(names));
}

/** @param {Page} page @returns {Promise<string>} What the live region says. */
function announced(page) {
  return page.locator('#announcer').textContent().then((text) => text ?? '');
}

test('the flow\'s pure parts: durations, moves, title checks, and the problem and template events in the store', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(61_400), '1:01');
  assert.equal(formatDuration(3_725_000), '1:02:05');
  assert.deepEqual(moved(['a', 'b', 'c'], 2, -1), ['a', 'c', 'b']);
  const list = ['a', 'b'];
  assert.equal(moved(list, 0, -1), list, 'the first cannot move up');
  assert.equal(moved(list, 1, 1), list, 'the last cannot move down');
  assert.equal(commitmentTextOf('  Offer a pilot\n  with a smaller team '), 'Offer a pilot with a smaller team', 'one line, as the server makes it');
  assert.equal([...commitmentTextOf('é'.repeat(300))].length, COMMITMENT_CHARS_MAX);
  const suggestions = [{ suggestion_id: 1, text: 'Call the CFO' }, { suggestion_id: 2, text: 'Offer a pilot' }];
  assert.deepEqual(choicesOf([2, 1], new Map([[2, '  Offer Acme a pilot ']]), suggestions), {
    choices: [{ suggestion_id: 2, text: 'Offer Acme a pilot' }, { suggestion_id: 1, text: 'Call the CFO' }], empty: null,
  }, 'in the order ticked, edits trimmed, the others as suggested');
  assert.equal(choicesOf([1, 2], new Map([[2, '   ']]), suggestions).empty, 2, 'an emptied line is found');
  assert.equal(draftProblem('', 10), 'The title must not be empty.');
  assert.equal(draftProblem('é'.repeat(120), 10), '', '120 characters are allowed, counted as characters');
  assert.equal(draftProblem('é'.repeat(121), 10), 'The title is too long: 121 characters, at most 120.');
  assert.equal(draftProblem('Pipeline', 0), 'The time box must be more than 0 and at most 240 minutes.');
  assert.equal(draftProblem('Pipeline', 241), 'The time box must be more than 0 and at most 240 minutes.');

  const ann = '0c8e5f7a-1b2c-4d3e-8f90-a1b2c3d4e5f6';
  const bob = '3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7';
  const store = new RoomStore([flowFeature]);
  store.applySnapshot(/** @type {any} */ ({
    seq: 1, group: { group_id: 'g', name: 'G' }, meeting: { meeting_id: 'm', number: 1, started_at_ms: 0 }, members: [], hands: [],
    flow: {
      agenda: [{ item_id: 3, title: 'Acme', kind: 'problem', time_box_ms: 60_000, owner: ann, status: 'current', origin: 'added' }],
      proposals: [], agenda_template: [], talk_times: [],
    },
  }));
  const event = (/** @type {number} */ seq, /** @type {any} */ body) => store.applyEvent(/** @type {any} */ ({ type: 'event', seq, at_ms: 0, event: body }));
  event(2, { kind: 'problem_phase_started', item_id: 3, presenter: ann, phase: 'suggest' });
  event(3, { kind: 'suggestion_added', item_id: 3, suggestion: { suggestion_id: 1, by: bob, text: 'Call the CFO' } });
  event(4, { kind: 'problem_phase_started', item_id: 3, presenter: ann, phase: 'decide' });
  event(5, { kind: 'suggestions_chosen', item_id: 3, suggestion_ids: [1] });
  event(6, { kind: 'agenda_template_saved', items: [{ title: 'Acme', kind: 'problem', time_box_ms: 60_000 }] });
  const flow = /** @type {any} */ (store.state?.features.agenda);
  assert.deepEqual(flow.agenda[0].problem, { presenter: ann, phase: 'decide', suggestions: [{ suggestion_id: 1, by: bob, text: 'Call the CFO' }], chosen: [1] });
  assert.deepEqual(flow.template.map((/** @type {any} */ item) => item.title), ['Acme']);
});

test('the facilitator edits, moves and removes agenda items and saves the template; bad titles get a clear error', async () => {
  await withGroup('Agenda Editors', async ({ browser, links }) => {
    const fran = await join(browser, links.facilitator_url, 'Fran', DESKTOP, 'Enter as facilitator');
    const ann = await join(browser, links.invite_url, 'Ann', DESKTOP, 'Join');
    const bob = await join(browser, links.invite_url, 'Bob', PHONE, 'Join');
    const everyone = [fran, ann, bob];
    // A new group's first meeting is upcoming: the facilitator starts it from the lobby.
    await startMeeting(fran, everyone);
    const start = ['Check-in round', 'Report back', 'Bring a problem', 'Role play', 'Benchmarks', 'Best practices', 'New commitments'];
    await everyoneSeesAgenda(everyone, start);
    await showView(ann.page, 'agenda');
    assert.equal(await ann.page.locator('#agenda-list [data-action="edit"]').count(), 0, 'members are offered no editing');
    await showView(bob.page, 'agenda');
    assert.equal(await bob.page.locator('#agenda-list [data-action="up"]').count(), 0, 'members are offered no moving');
    await showView(ann.page, 'agenda');
    assert.equal(await ann.page.locator('#agenda-save-template').isVisible(), false);

    // --- Edit "Bring a problem": bad titles are refused on the page and change nothing. ----
    const row = (/** @type {Page} */ page, /** @type {string} */ title) =>
      page.locator('#agenda-list .agenda-item', { has: page.locator(':scope > .agenda-main > .agenda-title', { hasText: title }) });
    await row(fran.page, 'Bring a problem').getByRole('button', { name: 'Edit Bring a problem' }).click();
    const titleField = fran.page.locator('#agenda-edit-title');
    assert.equal(await titleField.evaluate((field) => field === document.activeElement), true, 'the title field has the focus');
    assert.equal(await titleField.inputValue(), 'Bring a problem');
    await titleField.fill('   ');
    await fran.page.getByRole('button', { name: 'Save', exact: true }).click();
    await waitUntil(fran.page, 'the empty-title error', () => document.getElementById('agenda-edit-error')?.textContent === 'The title must not be empty.');
    assert.equal(await titleField.getAttribute('aria-invalid'), 'true');
    await titleField.fill('x'.repeat(130));
    await fran.page.getByRole('button', { name: 'Save', exact: true }).click();
    await waitUntil(fran.page, 'the too-long error', () => document.getElementById('agenda-edit-error')?.textContent === 'The title is too long: 130 characters, at most 120.');
    await screenshot(fran.page, 'flow-agenda-edit-error');
    await fran.page.waitForTimeout(300);
    await everyoneSeesAgenda(everyone, start);

    await titleField.fill('Acme renewal');
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-edit-minutes').fill('15');
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-edit-owner').selectOption({ label: 'Ann' });
    await fran.page.getByRole('button', { name: 'Save', exact: true }).click();
    const edited = ['Check-in round', 'Report back', 'Acme renewal', 'Role play', 'Benchmarks', 'Best practices', 'New commitments'];
    await everyoneSeesAgenda(everyone, edited);
    await everyoneSees(everyone, 'the edited kind, time box and owner', () =>
      [...document.querySelectorAll('#agenda-list .agenda-meta')].some((meta) => meta.textContent === 'Bring a problem · 15 min · Ann'));
    await showView(fran.page, 'agenda');
    assert.equal(await fran.page.locator('#agenda-edit-title').count(), 0, 'the form closes after saving');
    assert.equal(await fran.page.evaluate(() => document.activeElement?.getAttribute('data-action')), 'edit', 'the focus goes back to Edit');

    // Escape cancels an edit without saving.
    await row(fran.page, 'Role play').getByRole('button', { name: 'Edit Role play' }).click();
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-edit-title').fill('Something else');
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-edit-title').press('Escape');
    await showView(fran.page, 'agenda');
    assert.equal(await fran.page.locator('#agenda-edit-title').count(), 0);
    await fran.page.waitForTimeout(300);
    await everyoneSeesAgenda(everyone, edited);

    // --- Move with the keyboard: the focus stays on the moved item's button. --------------
    await row(fran.page, 'Acme renewal').getByRole('button', { name: 'Move Acme renewal up' }).focus();
    await fran.page.keyboard.press('Enter');
    await everyoneSeesAgenda(everyone, ['Check-in round', 'Acme renewal', 'Report back', 'Role play', 'Benchmarks', 'Best practices', 'New commitments']);
    assert.equal(await fran.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Move Acme renewal up', 'the focus follows the item');
    await fran.page.keyboard.press('Space');
    await everyoneSeesAgenda(everyone, ['Acme renewal', 'Check-in round', 'Report back', 'Role play', 'Benchmarks', 'Best practices', 'New commitments']);
    // At the top, up is off and the focus moves to its down button.
    assert.equal(await fran.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Move Acme renewal down');
    assert.equal(await row(fran.page, 'Acme renewal').getByRole('button', { name: 'Move Acme renewal up' }).isDisabled(), true);
    await row(fran.page, 'Role play').getByRole('button', { name: 'Move Role play down' }).click();
    const movedOrder = ['Acme renewal', 'Check-in round', 'Report back', 'Benchmarks', 'Role play', 'Best practices', 'New commitments'];
    await everyoneSeesAgenda(everyone, movedOrder);

    // --- Remove asks first; "Keep the item" keeps it. -------------------------------------
    await row(fran.page, 'Best practices').getByRole('button', { name: 'Edit Best practices' }).click();
    await showView(fran.page, 'agenda');
    await fran.page.getByRole('button', { name: 'Remove item' }).click();
    const dialog = fran.page.getByRole('dialog', { name: 'Remove this agenda item?' });
    await dialog.waitFor();
    await screenshot(fran.page, 'flow-agenda-remove-confirm');
    await dialog.getByRole('button', { name: 'Keep the item' }).click();
    await fran.page.waitForTimeout(300);
    await everyoneSeesAgenda(everyone, movedOrder);
    await showView(fran.page, 'agenda');
    await fran.page.getByRole('button', { name: 'Remove item' }).click();
    await dialog.getByRole('button', { name: 'Remove item' }).click();
    const removed = ['Acme renewal', 'Check-in round', 'Report back', 'Benchmarks', 'Role play', 'New commitments'];
    await everyoneSeesAgenda(everyone, removed);
    await waitUntil(ann.page, 'Ann sees no removed item', () => !document.getElementById('agenda-list')?.textContent?.includes('Best practices'));

    // --- The add form refuses bad titles too. ----------------------------------------------
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-item-title').fill('');
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-add').click();
    await waitUntil(fran.page, 'the add form\'s empty-title error', () => document.getElementById('agenda-form-error')?.textContent === 'The title must not be empty.');
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-item-title').fill('y'.repeat(121));
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-add').click();
    await waitUntil(fran.page, 'the add form\'s too-long error', () => document.getElementById('agenda-form-error')?.textContent === 'The title is too long: 121 characters, at most 120.');
    await showView(ann.page, 'agenda');
    await ann.page.locator('#agenda-item-title').fill('z'.repeat(125));
    await showView(ann.page, 'agenda');
    await ann.page.getByRole('button', { name: 'Propose item' }).click();
    await waitUntil(ann.page, 'a member\'s too-long proposal is refused on the page', () => document.getElementById('agenda-form-error')?.textContent === 'The title is too long: 125 characters, at most 120.');
    await fran.page.waitForTimeout(300);
    assert.equal(await fran.page.locator('#proposal-list .proposal').count(), 0, 'nothing was proposed');
    await everyoneSeesAgenda(everyone, removed);

    // --- Save as template. ------------------------------------------------------------------
    await showView(fran.page, 'agenda');
    assert.equal(await fran.page.locator('#agenda-template-state').textContent(), 'Next meetings start from the saved template, not this agenda.');
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-save-template').click();
    await waitUntil(fran.page, 'the template saved', () => document.getElementById('agenda-template-state')?.textContent === 'Next meetings start from this agenda.'
      && /** @type {HTMLButtonElement} */ (document.getElementById('agenda-save-template')).disabled);
    // The event reaches Ann's page a moment after Fran's: wait for it there, then compare.
    await waitUntil(ann.page, 'Ann\'s page holds the saved template', (expected) => JSON.stringify(
      /** @type {any} */ (window).roundtable.state().features.agenda.template?.map((/** @type {any} */ item) => item.title)) === JSON.stringify(expected), removed);
    const template = await ann.page.evaluate(() => /** @type {any} */ (window).roundtable.state().features.agenda.template.map((/** @type {any} */ item) => item.title));
    assert.deepEqual(template, removed, 'members\' pages hold the saved template');

    await screenshot(fran.page, 'flow-agenda-edited-desktop');
    await fran.page.setViewportSize(PHONE.viewport);
    await row(fran.page, 'Report back').getByRole('button', { name: 'Edit Report back' }).click();
    await showView(fran.page, 'agenda');
    await panelShot(fran.page, '#panel-agenda', 'flow-agenda-editing-facilitator-phone');
    await fran.page.keyboard.press('Escape');
    await showView(bob.page, 'agenda');
    await panelShot(bob.page, '#panel-agenda', 'flow-agenda-edited-phone');
    assert.deepEqual([...fran.errors, ...ann.errors, ...bob.errors], [], 'no uncaught errors on any page');
  });
});

test('the facilitator plans, moves and shuffles the speaking order; members see it, hear who speaks, and see talk times; the time-up tone', async () => {
  await withGroup('Round Runners', async ({ browser, links }) => {
    const fran = await join(browser, links.facilitator_url, 'Fran', DESKTOP, 'Enter as facilitator');
    const ann = await join(browser, links.invite_url, 'Ann', DESKTOP, 'Join');
    const bob = await join(browser, links.invite_url, 'Bob', DESKTOP, 'Join');
    const cy = await join(browser, links.invite_url, 'Cy', PHONE, 'Join');
    const everyone = [fran, ann, bob, cy];
    // A new group's first meeting is upcoming: the facilitator starts it from the lobby.
    await startMeeting(fran, everyone);
    await everyoneSees(everyone, 'four people online', () => document.querySelectorAll('#people-list .presence.online').length === 4);

    // --- The tone is off by default; Ann turns it on and it stays on after a reload. -------
    await showView(ann.page, 'timer');
    assert.equal(await ann.page.locator('#time-up-sound').isChecked(), false, 'the tone is off by default');
    await ann.page.getByLabel('Tone at time-up').check();
    assert.equal(await ann.page.evaluate(() => /** @type {any} */ (window).roundtableSound.contextState !== 'none'), true, 'switching it on prepares the audio');
    await ann.page.reload();
    await waitUntil(ann.page, 'Ann is back', () => window.roundtable?.phase() === 'connected' && window.roundtable.state() !== null);
    await showView(ann.page, 'timer');
    assert.equal(await ann.page.locator('#time-up-sound').isChecked(), true, 'the choice is remembered');
    await showView(bob.page, 'timer');
    assert.equal(await bob.page.locator('#time-up-sound').isChecked(), false, 'each browser has its own choice');
    await ann.page.locator('body').click({ position: { x: 5, y: 5 } });

    // --- Before the round: Fran moves Cy to the front and Bob before Ann. ------------------
    await showView(ann.page, 'timer');
    assert.equal(await ann.page.locator('#round-plan').isVisible(), false, 'only the facilitator plans');
    await showView(fran.page, 'timer');
    await fran.page.locator('#round-plan > summary').click();
    await showView(fran.page, 'timer');
    assert.equal(await fran.page.locator('#round-plan-summary').textContent(), 'Fran, Ann, Bob, Cy');
    const planButton = (/** @type {string} */ label) => fran.page.locator('#round-plan-list').getByRole('button', { name: label });
    await planButton('Move Cy up').focus();
    await fran.page.keyboard.press('Enter');
    await fran.page.keyboard.press('Enter');
    await fran.page.keyboard.press('Enter');
    await showView(fran.page, 'timer');
    assert.equal(await fran.page.locator('#round-plan-summary').textContent(), 'Cy, Fran, Ann, Bob');
    await planButton('Move Bob up').click();
    await showView(fran.page, 'timer');
    assert.equal(await fran.page.locator('#round-plan-summary').textContent(), 'Cy, Fran, Bob, Ann');
    await showView(fran.page, 'timer');
    await panelShot(fran.page, '#panel-agenda', 'flow-round-plan');

    // Six-second turns, so time runs out soon.
    await showView(fran.page, 'timer');
    await fran.page.locator('#round-minutes').fill('0.1');
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-start').click();
    await everyoneSeesOrder(everyone, ['Cy', 'Fran', 'Bob', 'Ann']);
    await everyoneSees(everyone, 'Cy speaking and Fran next', () =>
      document.querySelector('#round-order .speaker.speaking .speaker-name')?.textContent?.startsWith('Cy')
      && document.querySelector('#round-order .speaker-tag.next')?.closest('.speaker')?.querySelector('.speaker-name')?.textContent?.startsWith('Fran'));
    await waitUntil(ann.page, 'the live region says who speaks and who is next', () =>
      document.getElementById('announcer')?.textContent === 'Now speaking: Cy. Next: Fran.');
    await waitUntil(cy.page, 'Cy hears it is their turn', () =>
      document.getElementById('announcer')?.textContent === 'Now speaking: Cy (you). Next: Fran.');

    // --- While it runs: move Ann up (among those waiting), then shuffle. --------------------
    await showView(ann.page, 'timer');
    assert.equal(await ann.page.locator('#round-order [data-action="up"]').count(), 0, 'members cannot move speakers');
    await showView(ann.page, 'timer');
    assert.equal(await ann.page.locator('#round-shuffle').isVisible(), false);
    await showView(fran.page, 'timer');
    assert.equal(await fran.page.locator('#round-order .speaker[data-status="speaking"] .move-buttons').count(), 0, 'the speaker on the floor does not move');
    await showView(fran.page, 'timer');
    await fran.page.locator('#round-order').getByRole('button', { name: 'Move Ann up' }).click();
    await everyoneSeesOrder(everyone, ['Cy', 'Fran', 'Ann', 'Bob']);
    assert.equal(await fran.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Move Ann up', 'the focus follows Ann');

    // A shuffle may come out the same; try until it changes (the odds of 15 same are 6^-15).
    let shuffled = ['Cy', 'Fran', 'Ann', 'Bob'];
    for (let attempt = 0; attempt < 15 && shuffled.join() === 'Cy,Fran,Ann,Bob'; attempt++) {
      await showView(fran.page, 'timer');
      await fran.page.locator('#round-shuffle').click();
      await waitUntil(fran.page, 'the shuffle answered', () => !/** @type {HTMLButtonElement} */ (document.getElementById('round-shuffle')).disabled);
      shuffled = await roundOrder(fran.page);
    }
    assert.notDeepEqual(shuffled, ['Cy', 'Fran', 'Ann', 'Bob'], 'a shuffle changed the order');
    assert.equal(shuffled[0], 'Cy', 'the speaker on the floor stays first');
    assert.deepEqual([...shuffled].sort(), ['Ann', 'Bob', 'Cy', 'Fran']);
    await everyoneSeesOrder(everyone, shuffled);
    await everyoneSees(everyone, `${shuffled[1]} next after the shuffle`, (expected) =>
      document.getElementById('timer-next')?.textContent === `Next: ${expected}`, shuffled[1]);

    // --- Time runs out for Cy: Ann's page plays the tone, Bob's does not. -------------------
    await everyoneSees(everyone, 'time up for Cy', () => document.getElementById('timer-box')?.classList.contains('overrun'));
    await waitUntil(ann.page, 'Ann\'s page played the tone once', () => /** @type {any} */ (window).roundtableSound.tones === 1);
    assert.equal(await bob.page.evaluate(() => /** @type {any} */ (window).roundtableSound.tones), 0, 'no tone where it is off');
    await screenshot(fran.page, 'flow-round-order-desktop');
    await showView(cy.page, 'timer');
    await panelShot(cy.page, '#panel-agenda', 'flow-round-order-phone');
    await fran.page.setViewportSize(PHONE.viewport);
    await showView(fran.page, 'timer');
    await panelShot(fran.page, '#round-box', 'flow-round-order-facilitator-phone');
    await fran.page.setViewportSize(DESKTOP.viewport);

    // --- Next: the live region names the new speaker and the one after; talk times show. ----
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-next-button').click();
    await everyoneSees(everyone, `${shuffled[1]} speaking`, (expected) =>
      document.querySelector('#round-order .speaker.speaking .speaker-name')?.textContent?.startsWith(expected), shuffled[1]);
    await waitUntil(bob.page, 'the live region names the next pair', (expected) =>
      document.getElementById('announcer')?.textContent === expected,
    `Now speaking: ${shuffled[1] === 'Bob' ? 'Bob (you)' : shuffled[1]}. Next: ${shuffled[2]}.`);
    await everyoneSees(everyone, 'Cy\'s talk time in the table', () => {
      const row = [...document.querySelectorAll('#talk-times tbody tr')].find((tr) => tr.querySelector('th')?.textContent?.startsWith('Cy'));
      const cells = row ? [...row.querySelectorAll('td')].map((td) => td.textContent) : [];
      const talk = Number(row?.querySelector('.talk-value')?.getAttribute('data-talk-ms'));
      return row && talk >= 6000 && /^0:\d\d$/.test(cells[0] ?? '') && cells[1] === '1' && /^\+0:\d\d$/.test(cells[2] ?? '');
    });
    await everyoneSees(everyone, 'Cy done with their round time', () => {
      const cyRow = [...document.querySelectorAll('#round-order .speaker')].find((li) => li.querySelector('.speaker-name')?.textContent?.startsWith('Cy'));
      return cyRow?.getAttribute('data-status') === 'done' && /^0:\d\d$/.test(cyRow.querySelector('.speaker-talk')?.textContent ?? '');
    });

    // Two more turns, then the end of the round: the table lists everyone who spoke, longest first.
    await fran.page.waitForTimeout(1200);
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-next-button').click();
    await everyoneSees(everyone, `${shuffled[2]} speaking`, (expected) =>
      document.querySelector('#round-order .speaker.speaking .speaker-name')?.textContent?.startsWith(expected), shuffled[2]);
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-end').click();
    await everyoneSees(everyone, 'three rows of talk time, longest first', () => {
      const values = [...document.querySelectorAll('#talk-times .talk-value')].map((v) => Number(v.getAttribute('data-talk-ms')));
      return values.length === 3 && values.every((v, i) => i === 0 || values[i - 1] >= v);
    });
    const table = (/** @type {Page} */ page) => page.locator('#talk-times tbody').textContent().then((text) => text?.replaceAll(' (you)', ''));
    const franTable = await table(fran.page);
    for (const member of [ann, bob, cy]) assert.equal(await table(member.page), franTable, `${member.name} sees the same talk times`);
    await showView(fran.page, 'timer');
    await panelShot(fran.page, '#panel-agenda', 'flow-talk-times-desktop');
    await showView(cy.page, 'timer');
    await panelShot(cy.page, '#panel-agenda', 'flow-talk-times-phone');
    assert.deepEqual([...fran.errors, ...ann.errors, ...bob.errors, ...cy.errors], [], 'no uncaught errors on any page');
  });
});

test('a round keeps its order: ending it keeps the plan, an offline speaker stays marked, is skipped and put back from the order', async () => {
  await withGroup('Round Keepers', async ({ browser, links }) => {
    const fran = await join(browser, links.facilitator_url, 'Fran', DESKTOP, 'Enter as facilitator');
    const ann = await join(browser, links.invite_url, 'Ann', DESKTOP, 'Join');
    const bob = await join(browser, links.invite_url, 'Bob', DESKTOP, 'Join');
    const watchers = [fran, ann];
    await startMeeting(fran, [fran, ann, bob]);

    // Fran plans Bob before Ann, runs the round and ends it: the plan is still Bob before Ann.
    await showView(fran.page, 'timer');
    await fran.page.locator('#round-plan > summary').click();
    await fran.page.locator('#round-plan-list').getByRole('button', { name: 'Move Bob up' }).click();
    assert.equal(await fran.page.locator('#round-plan-summary').textContent(), 'Fran, Bob, Ann');
    await fran.page.locator('#timer-start').click();
    await everyoneSeesOrder([...watchers, bob], ['Fran', 'Bob', 'Ann']);
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-end').click();
    await waitUntil(fran.page, 'the round ended', () => document.getElementById('round-box')?.hidden === true);
    assert.equal(await fran.page.locator('#round-plan-summary').textContent(), 'Fran, Bob, Ann', 'the next round starts from the same order');

    // A second round from that plan; Bob leaves: he stays in his place, marked offline.
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-start').click();
    await everyoneSeesOrder([...watchers, bob], ['Fran', 'Bob', 'Ann']);
    await bob.page.context().close();
    await everyoneSees(watchers, 'Bob offline in the order', () => {
      const row = [...document.querySelectorAll('#round-order .speaker')].find((li) => li.querySelector('.speaker-name')?.textContent === 'Bob');
      return row?.classList.contains('offline') && row.querySelector('.speaker-tag.offline')?.textContent === 'offline'
        && row.getAttribute('data-status') === 'waiting';
    });
    await everyoneSeesOrder(watchers, ['Fran', 'Bob', 'Ann']);
    await showView(ann.page, 'timer');
    assert.equal(await ann.page.locator('#round-order [data-action="skip"]').count(), 0, 'members do not skip');

    // Fran skips Bob from his row; the focus moves to the button that puts him back.
    await showView(fran.page, 'timer');
    await fran.page.locator('#round-order').getByRole('button', { name: 'Skip Bob' }).click();
    await everyoneSees(watchers, 'Bob skipped', () =>
      [...document.querySelectorAll('#round-order .speaker')].find((li) => li.querySelector('.speaker-name')?.textContent === 'Bob')?.getAttribute('data-status') === 'skipped');
    await waitUntil(fran.page, 'the focus on Put Bob back', () => document.activeElement?.textContent === 'Put Bob back');
    await checkAccessibility(fran.page, 'a round with an offline speaker skipped');
    await panelShot(fran.page, '#round-box', 'flow-round-skipped-offline');

    // Next: Ann speaks (Bob's place is passed while he is skipped); then Fran puts him back
    // with the keyboard, and he is next, in his place, though Ann spoke after it.
    await fran.page.locator('#timer-next-button').click();
    await everyoneSees(watchers, 'Ann speaking', () =>
      document.querySelector('#round-order .speaker.speaking .speaker-name')?.textContent?.startsWith('Ann'));
    await showView(fran.page, 'timer');
    await fran.page.locator('#round-order').getByRole('button', { name: 'Put Bob back' }).focus();
    await fran.page.keyboard.press('Enter');
    await everyoneSees(watchers, 'Bob waiting again, next', () => {
      const row = [...document.querySelectorAll('#round-order .speaker')].find((li) => li.querySelector('.speaker-name')?.textContent === 'Bob');
      return row?.getAttribute('data-status') === 'waiting' && row.querySelector('.speaker-tag.next') !== null
        && document.getElementById('timer-next')?.textContent === 'Next: Bob';
    });
    await everyoneSeesOrder(watchers, ['Fran', 'Bob', 'Ann']);
    await waitUntil(fran.page, 'the focus on Skip Bob', () => document.activeElement?.textContent === 'Skip Bob');
    await fran.page.locator('#timer-next-button').click();
    await everyoneSees(watchers, 'Bob speaking', () =>
      document.querySelector('#round-order .speaker.speaking .speaker-name')?.textContent === 'Bob');
    await everyoneSees(watchers, 'no turn for being skipped', () =>
      ![...document.querySelectorAll('#talk-times tbody tr th')].some((th) => th.textContent === 'Bob'));
    await checkAccessibility(ann.page, 'a member sees the round with an offline speaker');

    // After this round the plan still has Bob in his place, marked offline, for the next one.
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-end').click();
    await waitUntil(fran.page, 'the round ended', () => document.getElementById('round-box')?.hidden === true);
    assert.equal(await fran.page.locator('#round-plan-summary').textContent(), 'Fran, Bob, Ann', 'an offline member keeps his planned place');
    assert.equal(await fran.page.locator('#round-plan-list .speaker[data-member-id] .speaker-tag.offline').count(), 1, 'and is marked offline');
    assert.deepEqual([...fran.errors, ...ann.errors], [], 'no uncaught errors on any page');
  });
});

test('bring a problem: the phases for everyone, suggestions from members, the presenter\'s choice on the commitment board', async () => {
  await withGroup('Problem Solvers', async ({ browser, links }) => {
    const fran = await join(browser, links.facilitator_url, 'Fran', DESKTOP, 'Enter as facilitator');
    const ann = await join(browser, links.invite_url, 'Ann', DESKTOP, 'Join');
    const bob = await join(browser, links.invite_url, 'Bob', PHONE, 'Join');
    const cy = await join(browser, links.invite_url, 'Cy', { ...DESKTOP, colorScheme: 'dark' }, 'Join');
    const everyone = [fran, ann, bob, cy];
    // A new group's first meeting is upcoming: the facilitator starts it from the lobby.
    await startMeeting(fran, everyone);
    await everyoneSees(everyone, 'four people online', () => document.querySelectorAll('#people-list .presence.online').length === 4);
    await everyoneSees(everyone, 'no problem box while no problem is current', () => document.getElementById('problem-box')?.hidden === true);

    // --- Fran makes the problem current and chooses Ann to present. ------------------------
    await showView(fran.page, 'agenda');
    await fran.page.locator('#agenda-list .agenda-item', { hasText: 'Bring a problem' }).locator('[data-action="current"]').click();
    await everyoneSees(everyone, 'the four phases with what they mean', () =>
      document.getElementById('problem-box')?.hidden === false
      && [...document.querySelectorAll('#problem-phases .phase')].map((li) => li.getAttribute('data-phase')).join() === 'present,clarify,suggest,decide'
      && document.querySelector('#problem-phases [data-phase="clarify"] .phase-meaning')?.textContent === 'Questions about the facts only; no advice yet.');
    await waitUntil(ann.page, 'Ann waits for a presenter', () => document.getElementById('problem-presenter')?.textContent === 'Waiting for the facilitator to choose who presents.');
    await showView(ann.page, 'problem');
    assert.equal(await ann.page.locator('#problem-phases button').count(), 0, 'members get no phase buttons');
    await showView(fran.page, 'problem');
    assert.equal(await fran.page.locator('#problem-phases button').first().isDisabled(), true, 'no phase without a presenter');
    await fran.page.getByLabel('Presenter').selectOption({ label: 'Ann' });
    await fran.page.getByRole('button', { name: 'Set presenter' }).click();
    await waitUntil(ann.page, 'Ann sees she presents', () => document.getElementById('problem-presenter')?.textContent === 'Ann (you) presents.');
    await everyoneSees([fran, bob, cy], 'Ann presents', () => document.getElementById('problem-presenter')?.textContent === 'Ann presents.');

    // --- Present, then clarifying questions: everyone sees the phase and its timer. -------
    await showView(fran.page, 'problem');
    await fran.page.getByRole('button', { name: 'Start Present · 5 min' }).click();
    await everyoneSees(everyone, 'the present phase current, with its timer', () =>
      document.querySelector('#problem-phases .phase.current')?.getAttribute('data-phase') === 'present'
      && document.getElementById('timer-speaker')?.textContent === 'Present: Bring a problem'
      && Number(document.getElementById('timer-display')?.getAttribute('data-remaining-ms')) > 290_000);
    await showView(fran.page, 'timer');
    assert.equal(await fran.page.locator('#timer-pause').isVisible(), true, 'the facilitator can pause a phase');
    await showView(fran.page, 'problem');
    await showView(fran.page, 'problem');
    await fran.page.getByRole('button', { name: 'Start Clarifying questions · 5 min' }).click();
    await everyoneSees(everyone, 'the clarify phase current', () => document.querySelector('#problem-phases .phase.current')?.getAttribute('data-phase') === 'clarify');
    await waitUntil(bob.page, 'the live region names the phase and what it means', () =>
      document.getElementById('announcer')?.textContent === 'Bring a problem: Clarifying questions. Questions about the facts only; no advice yet.');
    await showView(bob.page, 'problem');
    assert.equal(await bob.page.locator('#suggestion-form').isVisible(), false, 'no suggestions before their phase');

    // --- Suggestions: members add them; the presenter only listens; bad input is refused. --
    await showView(fran.page, 'problem');
    await fran.page.getByRole('button', { name: 'Start Suggestions · 8 min' }).click();
    await everyoneSees([bob, cy], 'the suggestion form', () => document.getElementById('suggestion-form')?.hidden === false);
    await showView(ann.page, 'problem');
    assert.equal(await ann.page.locator('#suggestion-form').isVisible(), false, 'the presenter adds no suggestions');
    await showView(bob.page, 'problem');
    await bob.page.getByRole('button', { name: 'Add suggestion' }).click();
    await waitUntil(bob.page, 'the empty-suggestion error', () => document.getElementById('suggestion-error')?.textContent === 'Write a suggestion first.');
    await showView(bob.page, 'problem');
    await bob.page.getByLabel('Your suggestion').fill('w'.repeat(501));
    await showView(bob.page, 'problem');
    await bob.page.getByRole('button', { name: 'Add suggestion' }).click();
    await waitUntil(bob.page, 'the too-long error', () => document.getElementById('suggestion-error')?.textContent === 'A suggestion has at most 500 characters; this one has 501.');
    await showView(bob.page, 'problem');
    await bob.page.getByLabel('Your suggestion').fill('Call the CFO before the renewal date');
    await showView(bob.page, 'problem');
    await bob.page.getByRole('button', { name: 'Add suggestion' }).click();
    await waitUntil(bob.page, 'Bob\'s field empties', () => /** @type {HTMLTextAreaElement} */ (document.getElementById('suggestion-text')).value === '');
    await showView(cy.page, 'problem');
    await cy.page.getByLabel('Your suggestion').fill('Offer a three-month pilot');
    await showView(cy.page, 'problem');
    await cy.page.getByRole('button', { name: 'Add suggestion' }).click();
    await everyoneSees(everyone, 'both suggestions with who made them', () =>
      [...document.querySelectorAll('#suggestion-list .suggestion')].map((li) => `${li.querySelector('.suggestion-text')?.textContent} ${li.querySelector('.suggestion-by')?.textContent}`).join(' | ')
        === 'Call the CFO before the renewal date from Bob | Offer a three-month pilot from Cy');

    // --- Dot votes: members put dots, everyone (the presenter too) sees counts only. -------
    const dotButton = (/** @type {Person} */ person, /** @type {string} */ text) => person.page.getByRole('button', { name: `Dot on ${text}` });
    await showView(ann.page, 'problem');
    assert.equal(await ann.page.locator('#suggestion-list .vote-button').count(), 0, 'the presenter puts no dots');
    await showView(bob.page, 'problem');
    await waitUntil(bob.page, 'Bob has three dots', () => document.getElementById('dots-left')?.textContent === 'Put a dot on the suggestions you back: you have 3 of 3 dots left.');
    await dotButton(bob, 'Offer a three-month pilot').click();
    await waitUntil(bob.page, 'Bob\'s dot is pressed', () =>
      document.querySelector('#suggestion-list [data-suggestion-id="2"] .vote-button')?.getAttribute('aria-pressed') === 'true'
      && document.getElementById('dots-left')?.textContent === 'Put a dot on the suggestions you back: you have 2 of 3 dots left.');
    await showView(cy.page, 'problem');
    await dotButton(cy, 'Offer a three-month pilot').click();
    await showView(cy.page, 'problem');
    await dotButton(cy, 'Call the CFO before the renewal date').press('Enter');
    await everyoneSees(everyone, 'the counts, 1 and 2 dots', () =>
      [...document.querySelectorAll('#suggestion-list .suggestion .vote-count')].map((count) => count.textContent).join() === '1 dot,2 dots');
    // Cy takes one back by keyboard; the others see the count fall, and no name anywhere.
    await showView(cy.page, 'problem');
    await dotButton(cy, 'Call the CFO before the renewal date').press('Enter');
    await everyoneSees(everyone, 'the counts, 0 and 2 dots', () =>
      [...document.querySelectorAll('#suggestion-list .suggestion .vote-count')].map((count) => count.textContent).join() === '0 dots,2 dots');
    await waitUntil(cy.page, 'Cy\'s dot taken back', () =>
      document.querySelector('#suggestion-list [data-suggestion-id="1"] .vote-button')?.getAttribute('aria-pressed') === 'false');

    // --- A reaction: Bob applauds; it shows on Ann's page, named, for a few seconds. -------
    await bob.page.getByRole('button', { name: 'Applause' }).click();
    await everyoneSees([fran, ann, cy], 'Bob\'s applause floating', () =>
      [...document.querySelectorAll('#reaction-stream .reaction')].some((reaction) =>
        reaction.getAttribute('data-reaction') === 'applause' && reaction.querySelector('.reaction-name')?.textContent === 'Bob'));
    // Cy reacts by keyboard: the toolbar is one Tab stop, the arrow keys move along it.
    await cy.page.getByRole('button', { name: 'Applause' }).focus();
    await cy.page.keyboard.press('ArrowRight');
    assert.equal(await cy.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Plus one');
    await cy.page.keyboard.press('Enter');
    await waitUntil(ann.page, 'Cy\'s +1 floating', () =>
      [...document.querySelectorAll('#reaction-stream .reaction')].some((reaction) =>
        reaction.getAttribute('data-reaction') === 'plus_one' && reaction.querySelector('.reaction-name')?.textContent === 'Cy'));
    await waitUntil(ann.page, 'the reactions announced once together, politely', () =>
      document.getElementById('announcer')?.textContent === 'Reactions: applause from Bob; plus one from Cy.');
    await screenshot(ann.page, 'flow-reaction-desktop');
    await waitUntil(ann.page, 'the applause gone after a few seconds', () => document.querySelectorAll('#reaction-stream .reaction').length === 0);
    await screenshot(cy.page, 'flow-problem-suggest-dark');
    await showView(fran.page, 'problem');
    await panelShot(fran.page, '#problem-box', 'flow-problem-suggest-facilitator');
    await showView(bob.page, 'problem');
    await panelShot(bob.page, '#problem-box', 'flow-problem-suggest-phone');

    // --- Decide: Ann ticks both, words each commitment, confirms: two commitments. ----------
    await fran.page.getByRole('button', { name: 'Start Choose · 2 min' }).click();
    await waitUntil(ann.page, 'Ann gets tick boxes', () => document.querySelectorAll('#suggestion-list input[type="checkbox"]').length === 2);
    await showView(bob.page, 'problem');
    assert.equal(await bob.page.locator('#suggestion-list input[type="checkbox"]').count(), 0, 'only the presenter chooses');
    await waitUntil(bob.page, 'Bob sees Ann choosing', () => document.getElementById('chosen-note')?.textContent === 'Ann is choosing what to act on.');
    await showView(ann.page, 'problem');
    await ann.page.getByRole('button', { name: 'Confirm my commitments' }).click();
    await waitUntil(ann.page, 'nothing ticked is refused', () => document.getElementById('choose-hint')?.textContent === 'Tick at least one suggestion to commit to.');
    await waitUntil(ann.page, 'the presenter sees the most-dotted suggestion marked', () =>
      document.querySelector('#suggestion-list .suggestion .tag.most-dots')?.closest('.suggestion')?.getAttribute('data-suggestion-id') === '2');
    await ann.page.getByLabel('Call the CFO before the renewal date').check();
    await ann.page.getByLabel('Offer a three-month pilot').check();
    const lineFor = (/** @type {string} */ text) => ann.page.getByLabel(`Your commitment from “${text}”`);
    assert.equal(await lineFor('Call the CFO before the renewal date').inputValue(), 'Call the CFO before the renewal date', 'each line starts as the suggestion');
    await lineFor('Offer a three-month pilot').fill('  ');
    await ann.page.getByRole('button', { name: 'Confirm my commitments' }).click();
    await waitUntil(ann.page, 'an empty commitment is refused, its line focused', () =>
      document.getElementById('choose-hint')?.textContent?.startsWith('A commitment needs words')
      && document.activeElement?.id?.startsWith('commitment-text-'));
    await lineFor('Offer a three-month pilot').fill('Offer Acme a three-month pilot by Friday');
    // What the presenter ticked and wrote survives a reload until they confirm.
    await ann.page.reload();
    await waitUntil(ann.page, 'Ann is back', () => window.roundtable?.phase() === 'connected' && window.roundtable.state() !== null);
    await showView(ann.page, 'problem');
    assert.equal(await ann.page.getByRole('checkbox', { name: 'Call the CFO before the renewal date' }).isChecked(), true, 'the ticks are kept');
    assert.equal(await lineFor('Offer a three-month pilot').inputValue(), 'Offer Acme a three-month pilot by Friday', 'the wording is kept');
    await panelShot(ann.page, '#problem-box', 'flow-problem-choosing');
    await checkAccessibility(ann.page, 'the presenter words their commitments');
    await showView(ann.page, 'problem');
    await ann.page.getByRole('button', { name: 'Confirm my commitments' }).click();
    await everyoneSees(everyone, 'both chosen suggestions marked', () =>
      document.querySelectorAll('#suggestion-list .suggestion.chosen').length === 2
      && document.getElementById('chosen-note')?.textContent === 'Ann chose 2 suggestions; they are on the commitment board.');
    assert.equal(await ann.page.locator('#choose-form').isVisible(), false, 'the choice is made once');
    await everyoneSees(everyone, 'Ann\'s two commitments on the board, one each', () => {
      const group = [...document.querySelectorAll('#commitment-board .commitment-owner')].find((g) => g.querySelector('.owner-name')?.textContent?.startsWith('Ann'));
      const texts = [...(group?.querySelectorAll('.commitment-text') ?? [])].map((t) => t.textContent).sort();
      return JSON.stringify(texts) === JSON.stringify(['Call the CFO before the renewal date', 'Offer Acme a three-month pilot by Friday']);
    });
    await showView(ann.page, 'agenda');
    await panelShot(ann.page, '#panel-agenda', 'flow-problem-decided-desktop');
    await showView(bob.page, 'problem');
    await panelShot(bob.page, '#problem-box', 'flow-problem-decided-phone');

    // --- Calling on a hand with a time box while the Choose phase still has time asks first. -
    const timerSubject = () => fran.page.evaluate(() => /** @type {any} */ (window.roundtable.state()?.features.agenda)?.timer?.subject?.kind ?? null);
    await bob.page.locator('body').press('h');
    await waitUntil(fran.page, 'Fran sees Bob\'s hand', () => document.querySelector('#queue-list .queue-name')?.textContent === 'Bob');
    await fran.page.getByLabel('Time for whoever you call on').selectOption({ label: '1 min' });
    await fran.page.getByRole('button', { name: 'Call on Bob' }).click();
    const callDialog = fran.page.getByRole('dialog', { name: 'Replace the running timer?' });
    await callDialog.waitFor();
    assert.match(await callDialog.textContent() ?? '', /the Choose phase of “Bring a problem”.*“Call on Bob” stops it/);
    await callDialog.getByRole('button', { name: 'Keep the timer' }).click();
    await fran.page.waitForTimeout(300);
    assert.equal(await timerSubject(), 'problem_phase', 'keeping the timer calls on nobody');
    assert.deepEqual(await fran.page.evaluate(() => window.roundtable.state()?.hands.length), 1, 'Bob\'s hand is still up');
    await fran.page.getByRole('button', { name: 'Lower Bob\'s hand' }).click();
    await waitUntil(bob.page, 'Bob\'s hand is down', () => window.roundtable.state()?.hands.length === 0);

    // --- Starting a round while the Choose phase still has time asks first too. ------------
    await showView(fran.page, 'timer');
    await fran.page.locator('#timer-start').click();
    const dialog = fran.page.getByRole('dialog', { name: 'Replace the running timer?' });
    await dialog.waitFor();
    assert.match(await dialog.textContent() ?? '', /the Choose phase of “Bring a problem”, [0-2]:\d\d left/, 'the dialog names the timer it replaces');
    await screenshot(fran.page, 'flow-timer-replace-confirm');
    await dialog.getByRole('button', { name: 'Keep the timer' }).click();
    await waitUntil(fran.page, 'the dialog closes, the focus back on Start round', () => !document.querySelector('dialog[open]') && document.activeElement?.id === 'timer-start');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await timerSubject(), 'problem_phase', 'keeping the timer starts nothing');
    assert.equal(await fran.page.evaluate(() => /** @type {any} */ (window.roundtable.state()?.features.agenda)?.round ?? null), null);
    await fran.page.locator('#timer-start').click();
    await dialog.getByRole('button', { name: 'Start round' }).click();
    await everyoneSees(everyone, 'the round replaced the phase\'s timer', () =>
      /** @type {any} */ (window.roundtable.state()?.features.agenda)?.timer?.subject?.kind === 'round_speaker');
    assert.deepEqual([...fran.errors, ...ann.errors, ...bob.errors, ...cy.errors], [], 'no uncaught errors on any page');
  });
});
