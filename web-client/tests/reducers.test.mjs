// Each feature's pure state (js/features/<name>/state.js), run in Node without a browser:
// a snapshot gives the state, each event a new state, and the state before is never changed
// (views know what changed by comparing objects, not by counters).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roomFromSnapshot, reduceRoom } from '../js/store.js';
import { FEATURES } from '../js/features/states.js';
import { itemRemainingMs } from '../js/features/flow/state.js';

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

test('the flow: each item keeps its clock from the frames\' times, and the meeting ends', () => {
  const item = (id) => ({ item_id: id, title: `Item ${id}`, kind: 'discussion', time_box_ms: 600_000, status: 'pending', origin: 'added' });
  let state = roomFromSnapshot(snapshot({ flow: { agenda: [item(1), item(2)], proposals: [], agenda_template: [], talk_times: [], round: null, timer: null, floor: null } }), FEATURES);
  let seq = state.seq;
  const at = (atMs, event) => { state = reduceRoom(state, { seq: ++seq, at_ms: atMs, event }, FEATURES); };
  const flow = () => /** @type {any} */ (state.features.agenda);
  at(10_000, { kind: 'agenda_item_status_changed', item_id: 1, status: 'current' });
  assert.equal(flow().agenda[0].current_since_ms, 10_000);
  assert.equal(itemRemainingMs(flow().agenda[0], 70_000), 540_000);
  // Next: item 1 done after 2 minutes, item 2 current.
  at(130_000, { kind: 'agenda_item_status_changed', item_id: 1, status: 'done' });
  at(130_000, { kind: 'agenda_item_status_changed', item_id: 2, status: 'current' });
  assert.deepEqual([flow().agenda[0].spent_ms, flow().agenda[0].current_since_ms], [120_000, undefined]);
  assert.equal(itemRemainingMs(flow().agenda[0], 200_000), null, 'a done item has no running clock');
  // Back: item 1 current again (item 2 back to pending, by the status change of item 1).
  at(190_000, { kind: 'agenda_item_status_changed', item_id: 1, status: 'current' });
  assert.deepEqual(flow().agenda.map((entry) => [entry.status, entry.spent_ms]), [['current', 120_000], ['pending', 60_000]]);
  assert.equal(itemRemainingMs(flow().agenda[0], 250_000), 600_000 - 120_000 - 60_000);
  assert.equal(flow().ended_at_ms, null);
  at(300_000, { kind: 'meeting_ended' });
  assert.equal(flow().ended_at_ms, 300_000);
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

test('commitments: a new member is counted over the same meetings as everyone, as the server counts them', () => {
  const accountability = { member_id: ann, completion_rate_percent: null, resolved_count: 0, streak: 0, overdue_count: 0, meetings_counted: 2 };
  let state = roomFromSnapshot(snapshot({ accountability: [accountability] }), FEATURES);
  state = play(state, [{ kind: 'member_added', member: { member_id: 'n', display_name: 'New', role: 'member', online: false } }]);
  const own = /** @type {any} */ (state.features.commitments);
  assert.deepEqual(own.accountability.n, { ...accountability, member_id: 'n' }, 'meeting 2 counts two meetings, for a newcomer too');
});

test('role play: the sellers\' trends stay in the order the members joined, as in the snapshot', () => {
  const results = (id, seller) => ({ role_play_id: id, seller, meeting_number: 2, revealed_at_ms: 3, rubric_name: 'Discovery', overall_percent: 50, submission_count: 3, criteria: [], comments: [], one_thing_differently: [] });
  let state = roomFromSnapshot(snapshot(), FEATURES);
  state = play(state, [
    { kind: 'role_play', change: { kind: 'revealed', results: results('r1', bob) } },
    { kind: 'role_play', change: { kind: 'revealed', results: results('r2', fran) } },
    { kind: 'role_play', change: { kind: 'revealed', results: results('r3', ann) } },
  ]);
  const view = /** @type {any} */ (state.features.role_play).view;
  assert.deepEqual(view.seller_trends.map((trend) => trend.seller), [fran, ann, bob], 'the members\' order, not the order of the reveals');
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

test('the bar counts the current item down and the summary says what the ended meeting did', async () => {
  const { stageView, barModel } = await import('../js/features/meeting/model.js');
  const { summaryModel } = await import('../js/features/meeting/summary.js');
  const problem = { presenter: ann, phase: 'decide', suggestions: [{ suggestion_id: 1, by: bob, text: 'Bring the CFO' }, { suggestion_id: 2, by: fran, text: 'Send an ROI page' }], chosen: [2] };
  const agenda = [
    { item_id: 1, title: 'Check-in', kind: 'round', time_box_ms: 600_000, status: 'done', spent_ms: 650_000, origin: 'template' },
    { item_id: 2, title: 'Acme', kind: 'problem', time_box_ms: 600_000, status: 'current', spent_ms: 60_000, current_since_ms: 100_000, origin: 'added', problem },
    { item_id: 3, title: 'Commitments', kind: 'commitments', time_box_ms: 300_000, status: 'pending', origin: 'template' },
  ];
  const template = [{ title: 'Check-in', kind: 'round', time_box_ms: 600_000 }, { title: 'Commitments', kind: 'commitments', time_box_ms: 300_000 }];
  const results = { role_play_id: 'r', seller: bob, scenario: 'Renewal', rubric_name: 'Discovery', meeting_number: 2, revealed_at_ms: 1, submission_count: 3, criteria: [], overall_percent: 49.4, comments: [], one_thing_differently: [] };
  const commitment = { commitment_id: 1, owner: ann, text: 'Send the ROI page', due_meeting: 3, status: 'open', note: '', made_in_meeting: 2, source: { kind: 'own' }, created_at_ms: 1, updated_at_ms: 1 };
  const old = { ...commitment, commitment_id: 2, text: 'An old one', made_in_meeting: 1 };
  let state = roomFromSnapshot(snapshot({
    flow: { agenda, proposals: [], agenda_template: template, talk_times: [], round: null, timer: null, floor: null },
    commitments: [commitment, old],
    role_play: { current: null, buyer_brief: null, revealed: [{ ...results, meeting_number: 1, role_play_id: 'q' }, results], templates: [], seller_trends: [], you_submitted: false },
  }), FEATURES);
  // 540 s left at 100 s; 30 s left at 610 s: the warning; over after.
  let bar = barModel(state, 100_000, String);
  assert.deepEqual(bar.itemClock, { remainingMs: 540_000, over: false, warning: false, deadline: 640_000 });
  assert.equal(barModel(state, 610_000, String).itemClock?.warning, true);
  assert.equal(barModel(state, 700_000, String).itemClock?.remainingMs, -60_000);
  assert.equal(bar.previous?.item_id, 1);
  assert.equal(bar.next?.item_id, 3);
  assert.equal(summaryModel(state, String), null, 'no summary while the meeting runs');

  let seq = state.seq;
  for (const [atMs, event] of [[400_000, { kind: 'agenda_item_status_changed', item_id: 2, status: 'pending' }], [400_000, { kind: 'meeting_ended' }]]) {
    state = reduceRoom(state, { seq: ++seq, at_ms: atMs, event }, FEATURES);
  }
  assert.equal(stageView(state), 'summary');
  bar = barModel(state, 900_000, String);
  assert.equal(bar.elapsedMs, 399_000, 'the meeting\'s time stops when it ends');
  const summary = summaryModel(state, (id) => id.toUpperCase());
  assert.deepEqual(summary, {
    number: 2,
    endedAtMs: 400_000,
    durationMs: 399_000,
    covered: ['Check-in'],
    unfinished: ['Acme', 'Commitments'],
    decisions: [{ title: 'Acme', presenter: 'A', chosen: ['Send an ROI page'] }],
    commitments: [{ owner: 'A', text: 'Send the ROI page' }],
    rolePlays: [{ seller: 'B', rubric: 'Discovery', overallPercent: 49.4, scorers: 3 }],
    nextAgenda: ['Check-in', 'Acme', 'Commitments'],
  });
});

test('the line under the bar says what happens and what the reader can do', async () => {
  const { nowLine } = await import('../js/features/meeting/now.js');
  const name = (id) => id.toUpperCase();
  const flow = (extra) => ({ agenda: [], proposals: [], agenda_template: [], talk_times: [], round: null, timer: null, floor: null, ...extra });
  const item = (kind, extra = {}) => ({ item_id: 1, title: 'Item', kind, time_box_ms: 600_000, status: 'current', origin: 'template', ...extra });
  const line = (flowExtra, me, facilitator = false, extra = {}) => nowLine(roomFromSnapshot(snapshot({ flow: flow(flowExtra), ...extra }), FEATURES), me, facilitator, name);

  assert.equal(line({}, fran, true), 'Press Next to start the agenda.');
  assert.equal(line({}, ann), 'Waiting for the facilitator to start the agenda.');
  const round = { speaker_time_box_ms: 60_000, auto_advance: false, speakers: [
    { member_id: fran, status: 'done', talk_ms: 1 }, { member_id: ann, status: 'speaking', talk_ms: 0 }, { member_id: bob, status: 'waiting', talk_ms: 0 }] };
  assert.equal(line({ round }, ann), 'Your turn: you have the floor.');
  assert.equal(line({ round }, bob), 'A is speaking. You are next.');
  assert.equal(line({ round }, fran), 'A is speaking. 1 still to speak.');
  assert.equal(line({ floor: { member_id: bob, since_ms: 1 } }, ann), 'B has the floor. Raise your hand (H) to speak next.');
  const problem = { presenter: ann, phase: 'suggest', suggestions: [], chosen: [] };
  assert.equal(line({ agenda: [item('problem', { problem })] }, bob), 'Add your suggestions for A.');
  assert.equal(line({ agenda: [item('problem', { problem })] }, ann), 'Listen to the suggestions; you choose next.');
  const current = { role_play_id: 'r', seller: ann, buyer: bob, scenario: 'Renewal', rubric: { name: 'R', criteria: [], one_thing_differently: false }, phase: 'scoring', submission_count: 0, reveal_threshold: 3 };
  const rolePlay = (you_submitted) => ({ role_play: { current, buyer_brief: null, revealed: [], templates: [], seller_trends: [], you_submitted } });
  assert.equal(line({ agenda: [item('role_play')] }, fran, true, rolePlay(false)), 'Score the call: your scores are anonymous.');
  assert.equal(line({ agenda: [item('role_play')] }, fran, true, rolePlay(true)), 'Your scores are in; you can change them until scoring closes.');
  // The seller waits; the buyer scores like everyone else but the seller (PROTOCOL.md).
  assert.equal(line({ agenda: [item('role_play')] }, ann, false, rolePlay(false)), 'The others are scoring your call, anonymously.');
  assert.equal(line({ agenda: [item('role_play')] }, bob, false, rolePlay(false)), 'Score the call: your scores are anonymous.');
  assert.equal(line({ agenda: [item('commitments')] }, bob), 'Add your commitments for next week; the group follows up on them next meeting.');
  assert.equal(line({ ended_at_ms: 5 }, bob), 'The meeting has ended: the summary shows what it decided.');
});

test('a revealed role play of last meeting leaves the stage; its results wait behind a disclosure', async () => {
  const { rolePlayStage } = await import('../js/features/roleplay/state.js');
  const rubric = { name: 'Discovery', criteria: [], one_thing_differently: true };
  const results = (id, meeting) => ({ role_play_id: id, seller: ann, buyer: null, scenario: 'Renewal', rubric_name: 'Discovery', meeting_number: meeting, revealed_at_ms: 9, submission_count: 3, criteria: [], overall_percent: 49, comments: ['Clear'], one_thing_differently: ['Slow down'] });
  const snapshotWith = (/** @type {any} */ rolePlay, /** @type {number} */ number) => roomFromSnapshot(snapshot({
    meeting: { meeting_id: `m${number}`, number, started_at_ms: 1000 },
    role_play: { current: null, buyer_brief: null, revealed: [], templates: [], seller_trends: [], you_submitted: false, ...rolePlay },
  }), FEATURES);
  const revealedNow = { role_play_id: 'r', seller: ann, scenario: 'Renewal', rubric, phase: 'revealed', submission_count: 3, reveal_threshold: 3 };
  // Meeting 2: the role play revealed in it is current, with its results.
  let state = snapshotWith({ current: revealedNow, revealed: [results('r', 2)] }, 2);
  let stage = rolePlayStage(/** @type {any} */ (state.features.role_play).view, 2);
  assert.equal(stage.current?.role_play_id, 'r');
  assert.equal(stage.results?.role_play_id, 'r');
  assert.equal(stage.earlier, null);
  // Meeting 3 (the server keeps the revealed role play as `current`): nothing current, the
  // results only as an earlier meeting's.
  state = snapshotWith({ current: revealedNow, revealed: [results('r', 2)] }, 3);
  stage = rolePlayStage(/** @type {any} */ (state.features.role_play).view, 3);
  assert.equal(stage.current, null);
  assert.equal(stage.results, null);
  assert.equal(stage.earlier?.role_play_id, 'r');
  // A new role play set up in meeting 3 is current; last meeting's results stay behind.
  state = play(state, [{ kind: 'role_play', change: { kind: 'set_up', role_play: { ...revealedNow, role_play_id: 's', phase: 'setup', submission_count: 0 } } }]);
  stage = rolePlayStage(/** @type {any} */ (state.features.role_play).view, 3);
  assert.equal(stage.current?.role_play_id, 's');
  assert.equal(stage.results, null);
  assert.equal(stage.earlier?.role_play_id, 'r');
  // Once it is revealed, its own results take the stage.
  state = play(state, [{ kind: 'role_play', change: { kind: 'revealed', results: results('s', 3) } }]);
  stage = rolePlayStage(/** @type {any} */ (state.features.role_play).view, 3);
  assert.equal(stage.current?.role_play_id, 's');
  assert.equal(stage.results?.role_play_id, 's');
  assert.equal(stage.earlier, null);
  // A role play still being scored when the meeting changed stays current.
  state = snapshotWith({ current: { ...revealedNow, phase: 'scoring' }, revealed: [] }, 3);
  stage = rolePlayStage(/** @type {any} */ (state.features.role_play).view, 3);
  assert.equal(stage.current?.phase, 'scoring');
});

test('starting a timer names the running timer it would replace, unless nothing is lost', async () => {
  const { timerToReplace } = await import('../js/features/flow/time.js');
  const agenda = [{ item_id: 4, title: 'Acme renewal' }];
  const running = (/** @type {any} */ subject) => ({ subject, time_box_ms: 300_000, state: { status: 'running', deadline_ms: 200_000 }, time_up: false });
  const phase = running({ kind: 'problem_phase', item_id: 4, phase: 'clarify' });
  const name = (/** @type {string} */ id) => id.toUpperCase();
  assert.equal(timerToReplace({ timer: null, agenda }, { kind: 'round' }, 0, name), null);
  assert.equal(timerToReplace({ timer: phase, agenda }, { kind: 'round' }, 7_500, name), 'the Clarifying questions phase of “Acme renewal”, 3:13 left');
  assert.equal(timerToReplace({ timer: phase, agenda }, { kind: 'called_speaker' }, 7_500, name), 'the Clarifying questions phase of “Acme renewal”, 3:13 left');
  assert.equal(timerToReplace({ timer: phase, agenda }, { kind: 'problem_phase', item_id: 5 }, 7_500, name), 'the Clarifying questions phase of “Acme renewal”, 3:13 left');
  // The next phase of the same problem, a timer whose time is up: nothing to lose.
  assert.equal(timerToReplace({ timer: phase, agenda }, { kind: 'problem_phase', item_id: 4 }, 7_500, name), null);
  assert.equal(timerToReplace({ timer: phase, agenda }, { kind: 'round' }, 200_000, name), null);
  const paused = { ...running({ kind: 'called_speaker', member_id: ann }), state: { status: 'paused', remaining_ms: 61_000 } };
  assert.equal(timerToReplace({ timer: paused, agenda }, { kind: 'round' }, 0, name), 'A\'s turn from the speaker queue, 1:01 left (paused)');
  assert.equal(timerToReplace({ timer: paused, agenda }, { kind: 'called_speaker' }, 0, name), null);
  assert.equal(timerToReplace({ timer: running({ kind: 'round_speaker', member_id: bob }), agenda }, { kind: 'problem_phase', item_id: 4 }, 0, name), 'B\'s turn in the round, 3:20 left');
});

test('dot votes: counts for everyone, my own dots, and a removed problem item\'s votes go', async () => {
  const { problemVotes } = await import('../js/features/flow/state.js');
  const item = { item_id: 3, title: 'Acme', kind: 'problem', time_box_ms: 600_000, status: 'current', origin: 'added' };
  const start = roomFromSnapshot(snapshot({ flow: { agenda: [item], proposals: [], agenda_template: [], talk_times: [], votes: [{ item_id: 3, counts: [{ suggestion_id: 2, votes: 1 }], yours: [] }] } }), FEATURES);
  const flow = (/** @type {any} */ state) => state.features.agenda;
  assert.equal(problemVotes(flow(start), 3).count(2), 1);
  let state = play(start, [
    { kind: 'your_vote_set', item_id: 3, suggestion_id: 1, voted: true },
    { kind: 'suggestion_votes_counted', item_id: 3, suggestion_id: 1, votes: 1 },
    { kind: 'suggestion_votes_counted', item_id: 3, suggestion_id: 2, votes: 2 },
  ]);
  let votes = problemVotes(flow(state), 3);
  assert.deepEqual([votes.count(1), votes.count(2), votes.count(9)], [1, 2, 0]);
  assert.deepEqual(votes.yours, [1]);
  state = play(state, [
    { kind: 'your_vote_set', item_id: 3, suggestion_id: 1, voted: false },
    { kind: 'suggestion_votes_counted', item_id: 3, suggestion_id: 1, votes: 0 },
  ]);
  votes = problemVotes(flow(state), 3);
  assert.deepEqual([votes.count(1), votes.yours], [0, []]);
  assert.deepEqual(flow(state).votes[0].counts, [{ suggestion_id: 2, votes: 2 }], 'a count of 0 leaves the list');
  state = play(state, [{ kind: 'agenda_item_removed', item_id: 3 }]);
  assert.deepEqual(flow(state).votes, []);
});

test('dot votes are kept as the server keeps them: a problem\'s entry only while it has dots, by item', () => {
  const start = roomFromSnapshot(snapshot({ flow: { agenda: [], proposals: [], agenda_template: [], talk_times: [], votes: [{ item_id: 5, counts: [{ suggestion_id: 1, votes: 1 }], yours: [] }] } }), FEATURES);
  let state = play(start, [
    { kind: 'your_vote_set', item_id: 3, suggestion_id: 2, voted: true },
    { kind: 'suggestion_votes_counted', item_id: 3, suggestion_id: 2, votes: 1 },
  ]);
  const flow = (/** @type {any} */ state) => state.features.agenda;
  assert.deepEqual(flow(state).votes.map((entry) => entry.item_id), [3, 5], 'in the order of the items\' ids');
  state = play(state, [
    { kind: 'suggestion_votes_counted', item_id: 3, suggestion_id: 2, votes: 0 },
    { kind: 'your_vote_set', item_id: 3, suggestion_id: 2, voted: false },
  ]);
  assert.deepEqual(flow(state).votes.map((entry) => entry.item_id), [5], 'the last dot taken back takes the entry with it');
});

test('time is up for a paused timer whose time was taken away, as the server says', () => {
  const timer = { subject: { kind: 'agenda_item', item_id: 1 }, time_box_ms: 60_000, state: { status: 'paused', remaining_ms: -5_000 }, time_up: false };
  let state = roomFromSnapshot(snapshot(), FEATURES);
  state = play(state, [
    { kind: 'timer_set', timer },
    { kind: 'time_up', subject: timer.subject, deadline_ms: 5000 },
  ]);
  assert.equal(/** @type {any} */ (state.features.agenda).timer.time_up, true);
});

test('role play: a seller who is no longer a member gets no trend, as in the snapshot', () => {
  const results = { role_play_id: 'r1', seller: 'gone', meeting_number: 2, revealed_at_ms: 3, rubric_name: 'Discovery', overall_percent: 50, submission_count: 3, criteria: [], comments: [], one_thing_differently: [] };
  const state = play(roomFromSnapshot(snapshot(), FEATURES), [{ kind: 'role_play', change: { kind: 'revealed', results } }]);
  const view = /** @type {any} */ (state.features.role_play).view;
  assert.deepEqual(view.seller_trends, []);
  assert.equal(view.revealed.length, 1, 'the results are shown all the same');
});

test('practices: the page keeps the newest 30, as the snapshot has them, and counts them all', () => {
  const practice = (id) => ({ practice_id: id, title: `Practice ${id}`, description: '', tags: [], outcome: 'worked', author: ann, created_at_ms: id, upvoters: [], comments: [] });
  let state = roomFromSnapshot(snapshot(), FEATURES);
  state = play(state, Array.from({ length: 32 }, (_, index) => ({ kind: 'practice_posted', practice: practice(index + 1) })));
  const own = /** @type {any} */ (state.features.practices);
  assert.equal(own.total, 32);
  assert.deepEqual([own.practices.length, own.practices[0].practice_id, own.practices[29].practice_id], [30, 32, 3]);
});

test('reactions that come together are announced in one short line', async () => {
  const { reactionSummary } = await import('../js/features/reactions/view.js');
  assert.equal(reactionSummary([]), '');
  assert.equal(reactionSummary([{ reaction: 'applause', name: 'Ann' }]), 'Reactions: applause from Ann.');
  assert.equal(reactionSummary([
    { reaction: 'applause', name: 'Ann' }, { reaction: 'laugh', name: 'Cy' }, { reaction: 'applause', name: 'Bob' },
    { reaction: 'applause', name: 'Ann' }, { reaction: 'applause', name: 'Dee' },
  ]), 'Reactions: applause from Ann, Bob and Dee; laugh from Cy.');
});

test('an upcoming meeting: the lobby is the stage, the views that run a meeting are hidden, and meeting_started makes it live', async () => {
  const { stageView, viewShown } = await import('../js/features/meeting/model.js');
  const { lobbyModel } = await import('../js/features/meeting/lobby.js');
  const current = { item_id: 1, title: 'Check-in', kind: 'round', time_box_ms: 600_000, status: 'current', origin: 'template' };
  const members = [
    { member_id: fran, display_name: 'Fran', role: 'facilitator', online: true },
    { member_id: ann, display_name: 'Ann', role: 'member', online: false },
    { member_id: bob, display_name: 'Bob', role: 'member', online: false },
    { member_id: 'o', display_name: 'Olive', role: 'observer', online: true },
  ];
  let state = roomFromSnapshot(snapshot({
    meeting: { meeting_id: 'm', number: 3, started_at_ms: 1000, phase: 'upcoming' },
    members,
    flow: { agenda: [current], proposals: [], agenda_template: [], talk_times: [], round: null, timer: null, floor: null },
  }), FEATURES);
  assert.equal(stageView(state), 'lobby', 'the lobby, not the current item');
  assert.deepEqual(['lobby', 'timer', 'roleplay', 'agenda', 'summary', 'commitments', 'benchmarks', 'people'].map((view) => viewShown(view, state)),
    [true, false, false, false, false, true, true, true]);
  const lobby = lobbyModel(state, ann);
  assert.deepEqual(lobby, {
    groupName: 'Peers',
    number: 3,
    here: [
      { memberId: fran, name: 'Fran', you: false, facilitator: true },
      { memberId: 'o', name: 'Olive', you: false, facilitator: false },
    ],
    // Observers are here but not counted among those the meeting waits for.
    total: 3,
    present: 1,
    fewHere: true,
  });
  state = play(state, [{ kind: 'presence_changed', member_id: ann, online: true, reason: 'joined' }]);
  assert.equal(lobbyModel(state, ann)?.fewHere, false, 'two of three is half or more: no confirmation');
  assert.equal(lobbyModel(state, ann)?.here.find((person) => person.memberId === ann)?.you, true);

  const before = state;
  state = play(state, [{ kind: 'meeting_started', started_at_ms: 5000 }]);
  assert.equal(before.meeting.phase, 'upcoming', 'the state before is unchanged');
  assert.deepEqual(state.meeting, { meeting_id: 'm', number: 3, started_at_ms: 5000, phase: 'live' });
  assert.equal(stageView(state), 'timer', 'once live the stage is the current item');
  assert.equal(lobbyModel(state, ann), null);
  assert.deepEqual(['lobby', 'timer', 'agenda', 'summary'].map((view) => viewShown(view, state)), [false, true, true, false]);
  // A meeting from a server before phases (no `phase`) is a running one.
  const old = roomFromSnapshot(snapshot({ flow: { agenda: [current], proposals: [], agenda_template: [], talk_times: [] } }), FEATURES);
  assert.equal(stageView(old), 'timer');
  assert.equal(lobbyModel(old, ann), null);
});
