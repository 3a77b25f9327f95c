// @ts-check
// What the "My history" page shows, computed from the member's own history (the answer to
// `get_my_history`, PROTOCOL.md "Your history"). Pure (tested in Node): no DOM, no clock.

/** @typedef {import('../../protocol').MyHistory} MyHistory */
/** @typedef {import('../../protocol').MetricTrend} MetricTrend */
/** @typedef {import('../../protocol').Minutes} Minutes */
/** @typedef {import('../../protocol').TrendDirection} TrendDirection */
/** @typedef {import('../../protocol').CommitmentStatus} CommitmentStatus */

/** How a direction reads: an arrow for the eye and words for everyone. */
export const DIRECTION_WORDS = /** @type {Record<TrendDirection, { arrow: string, words: string }>} */ ({
  up: { arrow: '↑', words: 'up' },
  down: { arrow: '↓', words: 'down' },
  flat: { arrow: '→', words: 'level' },
});

/** Commitment statuses in words. */
export const STATUS_WORDS = /** @type {Record<CommitmentStatus, string>} */ ({
  open: 'open', done: 'done', partial: 'partly done', missed: 'missed', dropped: 'dropped',
});

/**
 * @typedef {object} Summary
 * @property {number} attended
 * @property {number} held
 * @property {number | null} completionPercent Over every resolved commitment kept.
 * @property {number | null} recentPercent Over the recent meetings, as the board shows it.
 * @property {number} streak
 * @property {{ key: string, name: string, direction: TrendDirection }[]} trends
 * @property {number} rolePlays
 * @property {number | null} lastOverallPercent
 */

/**
 * The top of the page.
 * @param {MyHistory} history
 * @returns {Summary}
 */
export function summarize(history) {
  const last = history.role_plays.at(-1);
  return {
    attended: history.summary.meetings_attended,
    held: history.summary.meetings_held,
    completionPercent: history.summary.completion_rate_percent ?? null,
    recentPercent: history.summary.recent.completion_rate_percent ?? null,
    streak: history.summary.recent.streak,
    trends: history.benchmarks.flatMap((metric) => metric.direction ? [{ key: metric.key, name: metric.name, direction: metric.direction }] : []),
    rolePlays: history.role_plays.length,
    lastOverallPercent: last ? last.overall_percent : null,
  };
}

/**
 * A line chart's geometry in a `width` x `height` box: the member's values and the group's
 * medians as polylines (each a list of "x,y" points; a gap starts a new line), with the
 * largest value for the axis.
 * @param {MetricTrend} metric
 * @param {number} width
 * @param {number} height
 */
export function chart(metric, width, height) {
  const pad = 6;
  const values = metric.points.flatMap((point) => [point.mine, point.group_median]).filter((value) => typeof value === 'number');
  const max = Math.max(1, ...values.map(Number));
  const count = metric.points.length;
  const x = (/** @type {number} */ index) => count <= 1 ? width / 2 : pad + (index * (width - 2 * pad)) / (count - 1);
  const y = (/** @type {number} */ value) => height - pad - (value / max) * (height - 2 * pad);
  /**
   * @param {'mine' | 'group_median'} field
   * @returns {{ lines: string[], dots: { x: number, y: number }[] }}
   */
  const series = (field) => {
    /** @type {string[]} */
    const lines = [];
    /** @type {string[]} */
    let current = [];
    /** @type {{ x: number, y: number }[]} */
    const dots = [];
    metric.points.forEach((point, index) => {
      const value = point[field];
      if (typeof value !== 'number') {
        if (current.length) lines.push(current.join(' '));
        current = [];
        return;
      }
      const at = { x: Math.round(x(index) * 10) / 10, y: Math.round(y(value) * 10) / 10 };
      current.push(`${at.x},${at.y}`);
      dots.push(at);
    });
    if (current.length) lines.push(current.join(' '));
    return { lines, dots };
  };
  return { max, mine: series('mine'), median: series('group_median') };
}

/**
 * What one past meeting's minutes say, in short, with names from `nameOf` (the minutes'
 * attendees know the names of who came; the room knows its members).
 * @param {Minutes} minutes
 * @param {string} myMemberId
 * @param {(memberId: string) => string} nameOf
 */
export function digest(minutes, myMemberId, nameOf) {
  const attendeeNames = new Map(minutes.attendees.map((attendee) => [attendee.member_id, attendee.display_name]));
  const name = (/** @type {string} */ memberId) => memberId === myMemberId ? 'You' : attendeeNames.get(memberId) ?? nameOf(memberId);
  const decisions = minutes.agenda.flatMap((item) => {
    const problem = item.problem;
    if (!problem || problem.chosen.length === 0) return [];
    const chosen = problem.chosen.map((id) => problem.suggestions.find((suggestion) => suggestion.suggestion_id === id)?.text).filter(Boolean);
    return [`${item.title} (${name(problem.presenter)}): ${chosen.join('; ')}`];
  });
  const benchmarks = minutes.benchmarks.per_metric.flatMap((metric) => {
    const named = minutes.benchmarks.metrics.find((candidate) => candidate.key === metric.key);
    return metric.quartiles ? [{ key: metric.key, name: named?.name ?? metric.key, unit: named?.unit ?? '', count: metric.count, median: metric.quartiles.median }] : [];
  });
  return {
    number: minutes.meeting_number,
    startedAtMs: minutes.started_at_ms,
    endedAtMs: minutes.ended_at_ms ?? null,
    attended: minutes.attendees.some((attendee) => attendee.member_id === myMemberId),
    attendees: minutes.attendees.map((attendee) => attendee.member_id === myMemberId ? 'You' : attendee.display_name),
    agenda: minutes.agenda.map((item) => ({ title: item.title, done: item.status === 'done' })),
    decisions,
    commitmentsMade: minutes.commitments_made.map((commitment) => `${name(commitment.owner)}: ${commitment.text}`),
    commitmentsReported: minutes.commitments_reported.map((commitment) => `${name(commitment.owner)}: ${commitment.text} (${STATUS_WORDS[commitment.status]})`),
    rolePlays: minutes.role_plays.map((results) => ({
      seller: name(results.seller), rubric: results.rubric_name, overallPercent: results.overall_percent, scorers: results.submission_count,
      comments: results.comments, oneThing: results.one_thing_differently,
    })),
    benchmarks,
    practices: minutes.practices.map((practice) => `${practice.title} (${name(practice.author)})`),
  };
}
