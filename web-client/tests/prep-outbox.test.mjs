// Prep's client side in Node: the state (what the viewer holds before and after the start) and
// the outbox (a saved prep item stays pending until the server's ack; a lost connection keeps
// it for the next try, a refusal drops it, an item is never sent twice at once, and an edit
// made while a send is in flight is sent after it; report backs are held by commitment, and the
// lobby's summary of what one prepared).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roomFromSnapshot, reduceRoom } from '../js/store.js';
import { FEATURES } from '../js/features/states.js';
import { checkInOf, checkInLine, rankedHotSeat, heldReportBack } from '../js/features/prep/state.js';
import { keepPending, pendingRequests, flushPending, prepDraftsName, reportBackItem, NUMBERS_SENT } from '../js/features/prep/outbox.js';
import { saveDraft } from '../js/drafts.js';
import { myPrepSummary } from '../js/features/meeting/lobby.js';

const snapshot = /** @type {any} */ ({
  seq: 1,
  group: { group_id: 'g', name: 'Peers' },
  meeting: { meeting_id: 'm', number: 2, started_at_ms: 1000, phase: 'upcoming' },
  members: ['f', 'a', 'b'].map((id) => ({ member_id: id, display_name: id, role: 'member', online: true })),
  hands: [], commitments: [], accountability: [],
  benchmarks: { metrics: [], submitted_count: 0, aggregates_shown: false, per_metric: [], ratios: [] },
  practices: [], practice_count: 0,
  role_play: { revealed: [], templates: [], seller_trends: [], you_submitted: false },
  flow: { agenda: [], proposals: [], agenda_template: [], talk_times: [] },
  prep: { open: true, prepared: 1, mine: { check_in: { win: 'Mine', challenge: '', ask: '' } } },
});

test('prep state: the viewer\'s own prep before the start, everyone\'s after it', () => {
  let state = roomFromSnapshot(snapshot, FEATURES);
  const prep = () => /** @type {any} */ (state.features.prep);
  assert.equal(checkInOf(prep(), 'a', 'a')?.win, 'Mine');
  assert.equal(checkInOf(prep(), 'b', 'a'), null, 'nobody else\'s before the start');
  const frame = (seq, event) => ({ seq, at_ms: 1000 + seq, event });
  state = reduceRoom(state, frame(2, { kind: 'prepared_count_changed', prepared: 2 }), FEATURES);
  state = reduceRoom(state, frame(3, { kind: 'hot_seat_saved', member_id: 'a', hot_seat: { member_id: 'a', request: { problem: 'P', priority: 'b', minutes: 10 }, requested_at_ms: 5 } }), FEATURES);
  assert.equal(prep().prepared, 2);
  assert.equal(prep().mine.hot_seat.request.problem, 'P');
  const before = state;
  state = reduceRoom(state, frame(4, { kind: 'meeting_started', started_at_ms: 2000 }), FEATURES);
  state = reduceRoom(state, frame(5, {
    kind: 'prep_revealed',
    check_ins: [{ member_id: 'b', check_in: { win: 'Won', challenge: '', ask: 'Help' } }],
    hot_seat: [{ member_id: 'b', request: { problem: 'Q', priority: 'a', minutes: 5 }, requested_at_ms: 9 }],
    benchmarks: { metrics: [], submitted_count: 2, aggregates_shown: false, per_metric: [], ratios: [] },
  }), FEATURES);
  assert.equal(prep().open, false);
  assert.equal(/** @type {any} */ (before.features.prep).open, true, 'the state before is not changed');
  assert.equal(checkInLine(/** @type {any} */ (checkInOf(prep(), 'b', 'a'))), 'Win: Won · Ask: Help');
  assert.deepEqual(rankedHotSeat(prep()).map((entry) => entry.member_id), ['b']);
  assert.equal(/** @type {any} */ (state.features.benchmarks).view.submitted_count, 2);
});

test('the outbox keeps a request until its ack, and sends each item once at a time', async () => {
  const name = prepDraftsName('g', 'm-outbox');
  const request = /** @type {any} */ ({ type: 'save_check_in', win: 'W', challenge: '', ask: '' });
  keepPending(name, 'check_in', request);
  const inFlight = new Set();
  /** @type {any[]} */
  const sent = [];
  const refused = /** @type {any[]} */ ([]);

  // The connection drops before the answer: it stays pending.
  const lost = async (/** @type {any} */ sending) => {
    sent.push(sending);
    throw Object.assign(new Error('dropped'), { code: 'connection_lost' });
  };
  assert.deepEqual(await flushPending(name, lost, inFlight, (item, error) => refused.push([item, error])), []);
  assert.deepEqual(pendingRequests(name).check_in, request);

  // Two flushes at once send it once; an edit made meanwhile stays pending after the ack.
  /** @type {(value: any) => void} */
  let answer = () => {};
  const slow = (/** @type {any} */ sending) => {
    sent.push(sending);
    return new Promise((resolve) => { answer = resolve; });
  };
  const first = flushPending(name, slow, inFlight, () => {});
  const second = flushPending(name, slow, inFlight, () => {});
  await second;
  assert.equal(sent.length, 2, 'the second flush did not send the item in flight again');
  const edited = { ...request, win: 'W, edited' };
  keepPending(name, 'check_in', edited);
  answer({ kind: 'done' });
  assert.deepEqual(await first, ['check_in']);
  assert.deepEqual(pendingRequests(name).check_in, edited, 'the edit is still to send');

  // Sent and acked: nothing pending. A refusal drops the item and says why.
  assert.deepEqual(await flushPending(name, async (sending) => { sent.push(sending); return { kind: 'done' }; }, inFlight, () => {}), ['check_in']);
  assert.deepEqual(pendingRequests(name), {});
  keepPending(name, 'hot_seat', /** @type {any} */ ({ type: 'request_hot_seat', problem: '', priority: 'a', minutes: 5 }));
  await flushPending(name, async () => { throw Object.assign(new Error('the hot-seat problem is required'), { code: 'invalid' }); }, inFlight,
    (item, error) => refused.push([item, error.code]));
  assert.deepEqual(refused, [['hot_seat', 'invalid']]);
  assert.deepEqual(pendingRequests(name), {});
});

test('held report backs: the viewer\'s own until the start, kept by commitment, gone at the start', () => {
  let state = roomFromSnapshot({ ...snapshot, prep: { ...snapshot.prep, mine: { report_backs: [{ commitment_id: 7, status: 'done', note: 'Signed' }] } } }, FEATURES);
  const prep = () => /** @type {any} */ (state.features.prep);
  const frame = (seq, event) => ({ seq, at_ms: 1000 + seq, event });
  assert.deepEqual(heldReportBack(prep(), 7), { commitment_id: 7, status: 'done', note: 'Signed' });
  state = reduceRoom(state, frame(2, { kind: 'report_back_held', member_id: 'a', commitment_id: 3, report_back: { status: 'partial', note: 'Half' } }), FEATURES);
  state = reduceRoom(state, frame(3, { kind: 'report_back_held', member_id: 'a', commitment_id: 7, report_back: { status: 'missed', note: '' } }), FEATURES);
  assert.deepEqual(prep().mine.report_backs.map((/** @type {any} */ held) => [held.commitment_id, held.status]), [[3, 'partial'], [7, 'missed']],
    'by commitment, revised in place');
  assert.deepEqual(myPrepSummary(prep(), true), ['numbers in', '2 report-backs held']);
  state = reduceRoom(state, frame(4, { kind: 'report_back_held', member_id: 'a', commitment_id: 3, report_back: null }), FEATURES);
  assert.equal(heldReportBack(prep(), 3), null, 'withdrawn');
  assert.deepEqual(myPrepSummary(prep(), false), ['1 report-back held']);
  state = reduceRoom(state, frame(5, { kind: 'meeting_started', started_at_ms: 2000 }), FEATURES);
  assert.deepEqual(prep().mine.report_backs, [], 'the start puts them on the board');
  assert.deepEqual(myPrepSummary(prep(), true), [], 'nothing to prepare once it started');
});

test('the outbox keeps a report back per commitment beside the other items', async () => {
  const name = prepDraftsName('g', 'report-backs');
  keepPending(name, reportBackItem(3), { type: 'update_commitment', commitment_id: 3, status: 'done', note: 'x' });
  keepPending(name, reportBackItem(4), { type: 'withdraw_report_back', commitment_id: 4 });
  saveDraft(name, NUMBERS_SENT, true);
  assert.deepEqual(Object.keys(pendingRequests(name)).sort(), ['report_back:3', 'report_back:4'], 'the numbers-sent mark is no request');
  const sent = [];
  const acked = await flushPending(name, async (request) => { sent.push(request.type); return { kind: 'done' }; }, new Set(), () => {});
  assert.deepEqual(acked.sort(), ['report_back:3', 'report_back:4']);
  assert.deepEqual(sent.sort(), ['update_commitment', 'withdraw_report_back']);
  assert.deepEqual(pendingRequests(name), {});
});
