// Prep's client side in Node: the state (what the viewer holds before and after the start) and
// the outbox (a saved prep item stays pending until the server's ack; a lost connection keeps
// it for the next try, a refusal drops it, an item is never sent twice at once, and an edit
// made while a send is in flight is sent after it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roomFromSnapshot, reduceRoom } from '../js/store.js';
import { FEATURES } from '../js/features/states.js';
import { checkInOf, checkInLine, rankedHotSeat } from '../js/features/prep/state.js';
import { keepPending, pendingRequests, flushPending, prepDraftsName } from '../js/features/prep/outbox.js';

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
