// The "My history" page's pure model in Node: the summary, a chart's geometry (gaps where a
// meeting has no number) and a past meeting's minutes in short.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, chart, digest } from '../js/features/history/model.js';

const ME = '00000000-0000-4000-8000-000000000001';
const BOB = '00000000-0000-4000-8000-000000000002';

/** @returns {import('../js/protocol').MyHistory} */
function history() {
  return {
    member_id: ME,
    summary: {
      meetings_held: 4, meetings_attended: 3, completion_rate_percent: 67,
      recent: { member_id: ME, completion_rate_percent: 50, resolved_count: 2, streak: 1, overdue_count: 0, meetings_counted: 4 },
    },
    meetings: [],
    commitments: { per_meeting: [], commitments: [] },
    benchmarks: [
      { key: 'calls', name: 'Calls', unit: 'calls', direction: 'down', points: [
        { meeting_number: 1, mine: 40, group_median: 30 },
        { meeting_number: 2, group_median: 35 },
        { meeting_number: 3, mine: 20, group_median: 80 },
      ] },
      { key: 'revenue', name: 'Revenue', unit: 'USD', points: [] },
    ],
    role_plays: [
      { role_play_id: 'a', meeting_number: 1, revealed_at_ms: 1, scenario: 's', rubric_name: 'r', submission_count: 3, overall_percent: 50, criteria: [] },
      { role_play_id: 'b', meeting_number: 2, revealed_at_ms: 2, scenario: 's', rubric_name: 'r', submission_count: 4, overall_percent: 81.5, criteria: [] },
    ],
  };
}

test('the summary counts meetings, rates, trends and the latest role play', () => {
  const summary = summarize(history());
  assert.equal(summary.attended, 3);
  assert.equal(summary.held, 4);
  assert.equal(summary.completionPercent, 67);
  assert.equal(summary.recentPercent, 50);
  assert.deepEqual(summary.trends, [{ key: 'calls', name: 'Calls', direction: 'down' }]);
  assert.equal(summary.rolePlays, 2);
  assert.equal(summary.lastOverallPercent, 81.5);
});

test('a chart breaks the member\'s line where a meeting has no number of theirs', () => {
  const geometry = chart(history().benchmarks[0], 100, 50);
  assert.equal(geometry.max, 80);
  assert.equal(geometry.mine.lines.length, 2, 'meeting 2 has no number of theirs');
  assert.equal(geometry.mine.dots.length, 2);
  assert.equal(geometry.median.lines.length, 1);
  assert.equal(geometry.median.dots.length, 3);
  // The highest value is at the top of the box (inside its padding), the first point at the left.
  const top = geometry.median.dots[2];
  assert.equal(top.y, 6);
  assert.equal(geometry.mine.dots[0].x, 6);
  const empty = chart(history().benchmarks[1], 100, 50);
  assert.deepEqual(empty.mine, { lines: [], dots: [] });
});

test('a past meeting in short names the reader "You" and others by the minutes\' names', () => {
  /** @type {import('../js/protocol').Minutes} */
  const minutes = {
    group_name: 'Peers', meeting_id: 'm', meeting_number: 2, started_at_ms: 10, ended_at_ms: 20,
    attendees: [{ member_id: ME, display_name: 'Ann' }, { member_id: BOB, display_name: 'Bob' }],
    agenda: [], talk_times: [],
    role_plays: [{ role_play_id: 'r', seller: ME, scenario: 's', rubric_name: 'Discovery', meeting_number: 2, revealed_at_ms: 15, submission_count: 3, criteria: [], overall_percent: 70, comments: ['Nice'], one_thing_differently: [] }],
    commitments_made: [{ commitment_id: 1, owner: BOB, text: 'Book demos', due_meeting: 3, status: 'open', note: '', made_in_meeting: 2, source: 'manual', created_at_ms: 1, updated_at_ms: 1 }],
    commitments_reported: [{ commitment_id: 2, owner: 'gone', text: 'Old one', due_meeting: 2, status: 'missed', note: '', made_in_meeting: 1, source: 'manual', created_at_ms: 1, updated_at_ms: 1 }],
    benchmarks: { metrics: [{ key: 'calls', name: 'Calls', unit: 'calls' }], submitted_count: 3, aggregates_shown: true, per_metric: [{ key: 'calls', count: 3, quartiles: { q1: 1, median: 2, q3: 3 }, named: [] }], ratios: [] },
    practices: [],
  };
  const short = digest(minutes, ME, () => 'A former member');
  assert.equal(short.attended, true);
  assert.deepEqual(short.attendees, ['You', 'Bob']);
  assert.deepEqual(short.commitmentsMade, ['Bob: Book demos']);
  assert.deepEqual(short.commitmentsReported, ['A former member: Old one (missed)']);
  assert.equal(short.rolePlays[0].seller, 'You');
  assert.deepEqual(short.benchmarks, [{ key: 'calls', name: 'Calls', unit: 'calls', count: 3, median: 2 }]);
});
