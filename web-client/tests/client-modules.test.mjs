// The client's pure modules, run in Node without a browser: the clock offset estimator and
// the store that applies snapshots and events.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClockOffset, CLOCK_SAMPLES_MAX } from '../js/clock.js';
import { RoomStore } from '../js/store.js';

test('the clock offset comes from the ping with the smallest round trip among the recent ones', () => {
  let now = 1_000_000;
  const clock = new ClockOffset(() => now);
  clock.noteHello(now + 60_000);
  assert.equal(clock.offsetMs(), 60_000, 'until a pong, the hello gives a rough offset');

  // Server is 5000 ms ahead. A slow ping with asymmetric delay gives a worse estimate.
  clock.addSample(0, 5000 + 300, 400); // round trip 400: estimate 5100
  clock.addSample(1000, 6000 + 10, 1020); // round trip 20: estimate 4990 + ... = 5000
  clock.addSample(2000, 7000 + 150, 2200); // round trip 200: estimate 5050
  assert.equal(clock.best()?.round_trip_ms, 20);
  assert.equal(clock.offsetMs(), 6010 - 1010);
  now = 50_000;
  assert.equal(clock.serverNow(), 50_000 + 5000);

  // A negative round trip (the client clock jumped back mid-ping) is not a sample.
  clock.addSample(3000, 9000, 2500);
  assert.equal(clock.samples.length, 3);

  // Old samples fall out, so the estimate follows a clock that was adjusted.
  for (let index = 0; index < CLOCK_SAMPLES_MAX; index++) {
    const sent = 10_000 + index * 1000;
    clock.addSample(sent, sent + 40 + 2000, sent + 80); // round trip 80, offset 2000
  }
  assert.equal(clock.samples.length, CLOCK_SAMPLES_MAX);
  assert.equal(clock.offsetMs(), 2000);
});

const GROUP = { group_id: 'g', name: 'Peers' };
const MEETING = { meeting_id: 'm1', number: 1, started_at_ms: 1 };
const fran = { member_id: 'f', display_name: 'Fran', role: 'facilitator', online: true };

test('the store applies a snapshot and then each event once, in order', () => {
  const store = new RoomStore();
  const changes = [];
  store.subscribe((change) => changes.push(change.kind));
  assert.equal(store.resumePoint(), null, 'nothing to resume from before a snapshot');
  assert.equal(store.applyEvent({ seq: 1, at_ms: 1, event: { kind: 'group_renamed', name: 'x' } }), false,
    'an event before any snapshot is not applied');

  store.setJoined({ member_id: 'f', role: 'facilitator', meeting_id: 'm1', catch_up: 'snapshot' });
  store.applySnapshot({ seq: 3, group: GROUP, meeting: MEETING, members: [fran], hands: [] });
  const ann = { member_id: 'a', display_name: 'Ann', role: 'member', online: false };
  assert.ok(store.applyEvent({ seq: 4, at_ms: 2, event: { kind: 'member_added', member: ann } }));
  assert.ok(store.applyEvent({ seq: 5, at_ms: 2, event: { kind: 'presence_changed', member_id: 'a', online: true, reason: 'joined' } }));
  assert.ok(store.applyEvent({ seq: 6, at_ms: 3, event: { kind: 'hand_raised', member_id: 'a' } }));
  assert.ok(store.applyEvent({ seq: 7, at_ms: 3, event: { kind: 'hand_raised', member_id: 'f' } }));
  assert.equal(store.applyEvent({ seq: 6, at_ms: 3, event: { kind: 'hand_raised', member_id: 'a' } }), false,
    'a replayed event already included is skipped');
  assert.ok(store.applyEvent({ seq: 9, at_ms: 4, event: { kind: 'group_renamed', name: 'Friday Peers' } }),
    'a gap in seqs is allowed (events not addressed to this member)');
  assert.ok(store.applyEvent({ seq: 10, at_ms: 4, event: { kind: 'role_changed', member_id: 'a', role: 'observer' } }));
  assert.ok(store.applyEvent({ seq: 11, at_ms: 5, event: { kind: 'member_removed', member_id: 'a' } }));

  const state = store.state;
  assert.equal(state?.group.name, 'Friday Peers');
  assert.deepEqual(state?.members.map((member) => member.member_id), ['f']);
  assert.deepEqual(state?.hands, ['f'], 'a removed member leaves the queue');
  assert.deepEqual(store.resumePoint(), { meeting_id: 'm1', seq: 11 });
  assert.ok(store.iAmFacilitator());
  assert.deepEqual(changes.slice(0, 2), ['joined', 'snapshot']);

  // A new meeting started while away: the old state must not take the new meeting's events.
  store.setJoined({ member_id: 'f', role: 'facilitator', meeting_id: 'm2', catch_up: 'snapshot' });
  assert.equal(store.state, null);
  assert.equal(store.applyEvent({ seq: 12, at_ms: 6, event: { kind: 'group_renamed', name: 'y' } }), false);
});

test('who is online comes in presence frames, which change no seq and only what they say', () => {
  const store = new RoomStore();
  const changes = [];
  store.subscribe((change) => changes.push(change.kind));
  assert.equal(store.applyPresence({ online: ['f'] }), false, 'nothing to apply it to before a snapshot');
  const ann = { member_id: 'a', display_name: 'Ann', role: 'member', online: false };
  store.applySnapshot({ seq: 3, group: GROUP, meeting: MEETING, members: [fran, ann], hands: [] });
  const before = store.state;
  assert.ok(store.applyPresence({ online: ['f', 'a'], change: { member_id: 'a', online: true, reason: 'joined' } }));
  assert.deepEqual(store.state?.members.map((member) => member.online), [true, true]);
  assert.equal(store.state?.seq, 3, 'presence is no event');
  assert.equal(store.state?.members[0], before?.members[0], 'an unchanged member is the same object');
  assert.equal(store.applyPresence({ online: ['a', 'f'] }), false, 'the same people: no change');
  // The list is the whole truth: whoever it leaves out is offline, whoever it names that the
  // page does not know is ignored.
  assert.ok(store.applyPresence({ online: ['a', 'stranger'] }));
  assert.deepEqual(store.state?.members.map((member) => member.online), [false, true]);
  assert.deepEqual(changes, ['snapshot', 'presence', 'presence']);
  assert.deepEqual(store.resumePoint(), { meeting_id: 'm1', seq: 3 });
});

test('a feature reads its part of the snapshot and handles its own events on a copy', () => {
  const counter = {
    id: 'counter',
    fromSnapshot: () => ({ renames: 0 }),
    events: {
      group_renamed: (/** @type {any} */ own) => { own.renames += 1; },
    },
  };
  const store = new RoomStore([counter]);
  store.applySnapshot({ seq: 0, group: GROUP, meeting: MEETING, members: [fran], hands: [] });
  const first = store.state;
  store.applyEvent({ seq: 1, at_ms: 1, event: { kind: 'group_renamed', name: 'A' } });
  store.applyEvent({ seq: 2, at_ms: 1, event: { kind: 'group_renamed', name: 'B' } });
  assert.deepEqual(store.state?.features.counter, { renames: 2 });
  assert.equal(store.state?.group.name, 'B');
  assert.deepEqual(first?.features.counter, { renames: 0 }, 'the earlier state is not changed');
  assert.equal(first?.group.name, 'Peers');
});

test('the rubric editor checks a draft the way the server does', async () => {
  const { checkRubric, draftOf, moveCriterion, newCriterion, templateProblem, CRITERIA_MAX, GROUP_TEMPLATES_MAX } = await import('../js/features/roleplay/rubric.js');
  const rubric = {
    name: 'Discovery',
    criteria: [
      { name: 'Questions', description: 'Open ones.', scale_min: 1, scale_max: 5, weight: 2 },
      { name: 'Next step', description: '', scale_min: 0, scale_max: 99, weight: 100 },
    ],
    one_thing_differently: true,
  };
  // A template round-trips through the draft unchanged.
  assert.deepEqual(checkRubric(draftOf(rubric)), { rubric, problems: [] });
  // Text is trimmed like the server trims it.
  const padded = draftOf(rubric);
  padded.name = '  Discovery  ';
  padded.criteria[0].name = ' Questions ';
  assert.deepEqual(checkRubric(padded).rubric, rubric);

  const fields = (/** @type {any} */ draft) => checkRubric(draft).problems.map((problem) => problem.field);
  const broken = draftOf(rubric);
  broken.name = '';
  broken.criteria[0].weight = '0';
  broken.criteria[1].scale_min = '-1';
  broken.criteria[1].scale_max = '2.5';
  assert.deepEqual(fields(broken), ['rubric-name', 'criterion-0-weight', 'criterion-1-min', 'criterion-1-max']);
  assert.equal(checkRubric(broken).rubric, null);

  const limits = draftOf(rubric);
  limits.name = 'x'.repeat(61);
  limits.criteria[0].weight = '101';
  limits.criteria[1].scale_min = '1';
  limits.criteria[1].scale_max = '101'; // 101 points
  limits.criteria[1].description = 'd'.repeat(301);
  assert.deepEqual(fields(limits), ['rubric-name', 'criterion-0-weight', 'criterion-1-description', 'criterion-1-max']);
  const same = draftOf(rubric);
  same.criteria[1].name = 'QUESTIONS';
  same.criteria[1].scale_max = '0';
  assert.deepEqual(checkRubric(same).problems.map((problem) => problem.message), [
    'Two criteria are named "QUESTIONS"; give criterion 2 another name.',
    'The highest score of criterion 2 must be above its lowest (0).',
  ]);
  // Scales of exactly 100 points and emoji counted as one character each are fine.
  const edge = draftOf(rubric);
  edge.criteria[1].scale_min = '1';
  edge.criteria[1].scale_max = '100';
  edge.name = '🙂'.repeat(60);
  assert.deepEqual(checkRubric(edge).problems, []);

  const empty = draftOf(rubric);
  empty.criteria = [];
  assert.deepEqual(fields(empty), ['rubric-add']);
  const many = draftOf(rubric);
  many.criteria = Array.from({ length: CRITERIA_MAX + 1 }, (_, index) => ({ ...newCriterion(), name: `C${index}` }));
  assert.deepEqual(fields(many), ['rubric-add']);

  const order = draftOf(rubric);
  moveCriterion(order, 1, 0);
  assert.deepEqual(order.criteria.map((criterion) => criterion.name), ['Next step', 'Questions']);
  moveCriterion(order, 0, 5); // out of range: nothing moves
  assert.deepEqual(order.criteria.map((criterion) => criterion.name), ['Next step', 'Questions']);

  const builtIn = { rubric: { ...rubric, name: 'Closing' }, built_in: true };
  assert.equal(templateProblem({ ...rubric, name: ' closing ' }, [builtIn])?.field, 'rubric-name');
  assert.equal(templateProblem(rubric, [builtIn]), null);
  const full = Array.from({ length: GROUP_TEMPLATES_MAX }, (_, index) => ({ rubric: { ...rubric, name: `T${index}` }, built_in: false }));
  assert.match(templateProblem(rubric, full)?.message ?? '', /delete one first/);
  assert.equal(templateProblem({ ...rubric, name: 't3' }, full), null, 'replacing one of the group\'s own is fine');
});

test('views give their listeners to h() or listen(), never addEventListener on an element (a patch would keep it stale)', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const path = await import('node:path');
  const root = path.join(import.meta.dirname, '..', 'js');
  /** @type {string[]} */
  const offending = [];
  /** @param {string} dir */
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith('.js') && !file.endsWith('render.js') && !file.endsWith('connection.js') && !file.endsWith('sound.js')) {
        readFileSync(file, 'utf8').split('\n').forEach((line, index) => {
          // The document and the window are never patched.
          if (/\.addEventListener\(/.test(line) && !/\b(document|window)\.addEventListener\(/.test(line)) offending.push(`${path.relative(root, file)}:${index + 1}: ${line.trim()}`);
        });
      }
    }
  };
  walk(root);
  assert.deepEqual(offending, []);
});

test('the store keeps the log epoch of the state it holds and resumes with it', () => {
  const store = new RoomStore();
  store.setJoined({ member_id: 'f', role: 'facilitator', meeting_id: 'm1', catch_up: 'snapshot', log_epoch: 'e1' });
  assert.equal(store.resumePoint(), null, 'nothing to resume from before the snapshot');
  store.applySnapshot({ seq: 3, group: GROUP, meeting: MEETING, members: [fran], hands: [] });
  assert.deepEqual(store.resumePoint(), { meeting_id: 'm1', seq: 3, log_epoch: 'e1' });

  // A replay continues the same epoch.
  store.setJoined({ member_id: 'f', role: 'facilitator', meeting_id: 'm1', catch_up: 'replay', log_epoch: 'e1' });
  assert.ok(store.applyEvent({ seq: 4, at_ms: 2, event: { kind: 'group_renamed', name: 'x' } }));
  assert.deepEqual(store.resumePoint(), { meeting_id: 'm1', seq: 4, log_epoch: 'e1' });

  // The room was loaded anew (another server, a restart): its snapshot is of another epoch.
  // Until that snapshot arrives the state held is still of the old epoch, and so is the
  // resume point (a connection lost in between must not claim the old seqs in the new epoch).
  store.setJoined({ member_id: 'f', role: 'facilitator', meeting_id: 'm1', catch_up: 'snapshot', log_epoch: 'e2' });
  assert.deepEqual(store.resumePoint(), { meeting_id: 'm1', seq: 4, log_epoch: 'e1' });
  store.applySnapshot({ seq: 2, group: GROUP, meeting: MEETING, members: [fran], hands: [] });
  assert.deepEqual(store.resumePoint(), { meeting_id: 'm1', seq: 2, log_epoch: 'e2' },
    'a snapshot of a store that lost writes may be at a lower seq; it replaces the state');
});
