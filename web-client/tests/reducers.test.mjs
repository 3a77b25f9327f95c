// Each feature's pure state (js/features/<name>/state.js), run in Node without a browser:
// a snapshot gives the state, each event a new state, and the state before is never changed
// (views know what changed by comparing objects, not by counters).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roomFromSnapshot, reduceRoom } from '../js/store.js';
import { FEATURES } from '../js/features/states.js';

const ann = 'a';
const bob = 'b';
const fran = 'f';

/** A snapshot with every feature's part, empty unless `extra` says otherwise. */
function snapshot(extra = {}) {
  return /** @type {any} */ ({
    seq: 1,
    group: { group_id: 'g', name: 'Peers' },
    meeting: { meeting_id: 'm', number: 2, started_at_ms: 1000 },
    members: [fran, ann, bob].map((id) => ({ member_id: id, display_name: id.toUpperCase(), role: id === fran ? 'facilitator' : 'member', online: true })),
    hands: [],
    commitments: [],
    accountability: [],
    benchmarks: { metrics: [{ key: 'calls', name: 'Calls', unit: '' }], submitted_count: 0, metric_views: [], ratios: [] },
    practices: [],
    practice_count: 0,
    role_play: { current: null, buyer_brief: null, revealed: [], templates: [], seller_trends: [], you_submitted: false },
    flow: { agenda: [], proposals: [], agenda_template: [], talk_times: [], round: null, timer: null, floor: null },
    ...extra,
  });
}

/**
 * Applies events in order from seq 2 on, checking at each step that the state before is unchanged.
 * @param {any} state
 * @param {any[]} events
 */
function play(state, events) {
  let seq = state.seq;
  for (const event of events) {
    const before = structuredClone(state);
    const next = reduceRoom(state, { seq: ++seq, at_ms: 5000, event }, FEATURES);
    assert.deepEqual(state, before, `${event.kind} leaves the state before it unchanged`);
    assert.notEqual(next, state);
    state = next;
  }
  return state;
}

test('the flow: agenda items, the current item, a round with its timer and talk times', () => {
  const start = roomFromSnapshot(snapshot(), FEATURES);
  const item = (id, kind) => ({ item_id: id, title: `Item ${id}`, kind, time_box_ms: 600_000, status: 'pending', origin: 'added' });
  let state = play(start, [
    { kind: 'agenda_item_added', item: item(1, 'round'), position: 0 },
    { kind: 'agenda_item_added', item: item(2, 'problem'), position: 1 },
    { kind: 'agenda_item_status_changed', item_id: 1, status: 'current' },
  ]);
  const flow = () => /** @type {any} */ (state.features.agenda);
  assert.deepEqual(flow().agenda.map((entry) => [entry.item_id, entry.status]), [[1, 'current'], [2, 'pending']]);
  const before = state;
  state = play(state, [{ kind: 'hand_raised', member_id: ann }]);
  assert.equal(state.features.agenda, before.features.agenda, 'an event for another part shares the flow as it was');
  assert.notEqual(state.hands, before.hands);

  state = play(state, [
    { kind: 'agenda_item_status_changed', item_id: 2, status: 'current' },
    { kind: 'round_started', round: { item_id: 1, speaker_time_box_ms: 240_000, auto_advance: false, speakers: [{ member_id: ann, status: 'waiting', talk_ms: 0 }, { member_id: bob, status: 'waiting', talk_ms: 0 }] } },
    { kind: 'round_speaker_changed', member_id: ann, status: 'speaking' },
    { kind: 'timer_set', timer: { subject: { kind: 'round_speaker', member_id: ann }, time_box_ms: 240_000, state: { status: 'running', deadline_ms: 250_000 }, time_up: false } },
    { kind: 'time_up', subject: { kind: 'round_speaker', member_id: ann }, deadline_ms: 250_000 },
    { kind: 'turn_ended', member_id: ann, talk_ms: 250_000, time_box_ms: 240_000, in_round: true },
    { kind: 'round_speaker_changed', member_id: ann, status: 'done' },
  ]);
  assert.deepEqual(flow().agenda.map((entry) => entry.status), ['pending', 'current'], 'one current item at a time');
  assert.equal(flow().timer.time_up, true);
  assert.deepEqual(flow().talk_times, [{ member_id: ann, talk_ms: 250_000, turns: 1, overrun_ms: 10_000 }]);
  assert.deepEqual(flow().round.speakers.map((s) => [s.member_id, s.status, s.talk_ms]), [[ann, 'done', 250_000], [bob, 'waiting', 0]]);
  state = play(state, [{ kind: 'round_ended' }, { kind: 'timer_set', timer: null }]);
  assert.equal(flow().round, null);
  assert.equal(flow().timer, null);
});

test('commitments: an update replaces the commitment and the owner\'s accountability', () => {
  const commitment = { commitment_id: 7, owner: ann, text: 'Call three leads', due_meeting: 2, status: 'open', note: '', made_in_meeting: 1, source: { kind: 'own' }, created_at_ms: 1, updated_at_ms: 1 };
  const accountability = { member_id: ann, completion_rate_percent: null, resolved_count: 0, streak: 0, overdue_count: 1, meetings_counted: 4 };
  let state = roomFromSnapshot(snapshot({ commitments: [commitment], accountability: [accountability] }), FEATURES);
  state = play(state, [{ kind: 'commitment_updated', commitment: { ...commitment, status: 'partial', note: 'Two of three' }, owner_accountability: { ...accountability, completion_rate_percent: 50, resolved_count: 1, overdue_count: 0 } }]);
  const own = /** @type {any} */ (state.features.commitments);
  assert.deepEqual(own.commitments.map((c) => [c.status, c.note]), [['partial', 'Two of three']]);
  assert.equal(own.accountability[ann].completion_rate_percent, 50);
});

test('commitments: the streak is the server\'s count of meetings, so two done for one meeting are a streak of 1', () => {
  // The page holds no streak rule of its own: each commitment event carries the owner's
  // accountability as the server computed it (rules/src/commitments.rs), and the board shows
  // the latest. Two commitments due at meeting 2, both done, come with streak 1 each time.
  const due = { owner: ann, due_meeting: 2, note: '', made_in_meeting: 1, source: { kind: 'own' }, created_at_ms: 1, updated_at_ms: 1 };
  const first = { ...due, commitment_id: 1, text: 'Call three leads', status: 'open' };
  const second = { ...due, commitment_id: 2, text: 'Book two demos', status: 'open' };
  const before = { member_id: ann, completion_rate_percent: null, resolved_count: 0, streak: 0, overdue_count: 2, meetings_counted: 2 };
  let state = roomFromSnapshot(snapshot({ commitments: [first, second], accountability: [before] }), FEATURES);
  state = play(state, [
    { kind: 'commitment_updated', commitment: { ...first, status: 'done', updated_at_ms: 2 }, owner_accountability: { ...before, completion_rate_percent: 100, resolved_count: 1, streak: 1, overdue_count: 1 } },
    { kind: 'commitment_updated', commitment: { ...second, status: 'done', updated_at_ms: 3 }, owner_accountability: { ...before, completion_rate_percent: 100, resolved_count: 2, streak: 1, overdue_count: 0 } },
  ]);
  const own = /** @type {any} */ (state.features.commitments);
  assert.deepEqual(own.commitments.map((c) => c.status), ['done', 'done']);
  assert.equal(own.accountability[ann].streak, 1, 'one meeting, not two commitments');
  assert.equal(own.accountability[ann].resolved_count, 2);
});

test('benchmarks, practices and role play follow their events', () => {
  let state = roomFromSnapshot(snapshot(), FEATURES);
  const view = { metrics: [{ key: 'calls', name: 'Calls', unit: '' }], submitted_count: 1, metric_views: [], ratios: [] };
  const practice = { practice_id: 1, title: 'Ask for the budget early', description: '', tags: [], outcome: 'worked', author: ann, created_at_ms: 2, upvoters: [], comments: [] };
  const rolePlay = { role_play_id: 'r', seller: ann, buyer: bob, scenario: 'Renewal', rubric: { name: 'Discovery', criteria: [] }, phase: 'setup', submission_count: 0, reveal_threshold: 3 };
  state = play(state, [
    { kind: 'benchmarks_changed', view },
    { kind: 'practice_posted', practice },
    { kind: 'practice_upvoted', practice_id: 1, member_id: bob, up: true },
    { kind: 'role_play', change: { kind: 'set_up', role_play: rolePlay } },
    { kind: 'role_play', change: { kind: 'scoring_opened', role_play_id: 'r' } },
    { kind: 'role_play', change: { kind: 'submission_count', role_play_id: 'r', count: 2 } },
  ]);
  const features = /** @type {any} */ (state.features);
  assert.equal(features.benchmarks.view.submitted_count, 1);
  assert.deepEqual(features.practices.practices[0].upvoters, [bob]);
  assert.equal(features.practices.total, 1);
  assert.equal(features.role_play.view.current.phase, 'scoring');
  assert.equal(features.role_play.view.current.submission_count, 2);
});

test('numbers, amounts, plurals and dates are written for the viewer', async () => {
  const { formatAmount, formatNumber, plural, formatDay } = await import('../js/format.js');
  assert.equal(formatNumber(18500, 'en-US'), '18,500');
  assert.equal(formatAmount(18500, '$', 'en-US'), '$18,500');
  assert.equal(formatAmount(18500.5, 'USD', 'en-US'), '$18,500.50');
  assert.equal(formatAmount(4817, 'calls', 'en-US'), '4,817 calls');
  assert.equal(plural(1, 'deal', undefined, 'en-US'), '1 deal');
  assert.equal(plural(2, 'deal', undefined, 'en-US'), '2 deals');
  assert.equal(formatDay('2031-12-03', 'en-GB'), 'Wed 3 Dec');
});

test('the stage follows the current item and the bar warns in the last 30 seconds', async () => {
  const { stageView, barModel } = await import('../js/features/meeting/model.js');
  const item = (id, kind, status) => ({ item_id: id, title: `Item ${id}`, kind, time_box_ms: 600_000, status, origin: 'added' });
  let state = roomFromSnapshot(snapshot({ flow: { agenda: [item(1, 'round', 'done'), item(2, 'role_play', 'current'), item(3, 'benchmarks', 'pending')], proposals: [], agenda_template: [], talk_times: [] } }), FEATURES);
  assert.equal(stageView(state), 'roleplay');
  state = play(state, [{ kind: 'timer_set', timer: { subject: { kind: 'called_speaker', member_id: ann }, time_box_ms: 60_000, state: { status: 'running', deadline_ms: 100_000 }, time_up: false } }]);
  const bar = barModel(state, 75_000, (id) => id.toUpperCase());
  assert.equal(bar.item?.item_id, 2);
  assert.equal(bar.next?.item_id, 3);
  assert.equal(bar.plannedTotalMs, 1_800_000);
  assert.equal(bar.elapsedMs, 74_000);
  assert.deepEqual(bar.timer, { who: 'A', remainingMs: 25_000, paused: false, over: false, warning: true, deadline: 100_000 });
  assert.equal(barModel(state, 60_000, String).timer?.warning, false);
  assert.equal(barModel(state, 101_000, String).timer?.over, true);
});
