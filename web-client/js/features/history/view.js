// @ts-check
// "My history": one page of the member's own history, opened from the room's header for
// every member. It asks the server with `get_my_history` (answered to this member alone) each
// time it opens, and shows a summary on top, then the commitments meeting by meeting, the
// numbers against the group's medians (a chart with a table beside it, so the numbers read
// without the picture), the role play scores, and the minutes of past meetings.

import { patch, listen } from '../../render.js';
import { h } from '../../ui.js';
import { formatAmount, formatDateTime, formatNumber, plural } from '../../format.js';
import { summarize, chart, digest, DIRECTION_WORDS, STATUS_WORDS } from './model.js';

/** @typedef {import('../../protocol').MyHistory} MyHistory */
/** @typedef {import('../../protocol').MetricTrend} MetricTrend */
/** @typedef {import('../../protocol').RolePlayScores} RolePlayScores */

const SVG = 'http://www.w3.org/2000/svg';
/** The chart's drawing box, in SVG units (it scales to the width it is given). */
const CHART_WIDTH = 320;
const CHART_HEIGHT = 120;

/**
 * An SVG element with attributes (presentation attributes only: no style attribute).
 * @param {string} tag
 * @param {Record<string, string | number>} [attributes]
 * @param {...Element} children
 */
function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/**
 * A table that scrolls sideways on a narrow screen: a labelled region the keyboard can reach
 * (to scroll it with the arrow keys).
 * @param {string} label
 * @param {HTMLTableElement} table
 */
function scroller(label, table) {
  return h('div', { class: 'table-scroll', role: 'region', 'aria-label': label, tabindex: 0 }, table);
}

/**
 * @param {string} label
 * @param {string} value
 * @param {string} [note]
 * @param {string} [id]
 */
function fact(label, value, note, id) {
  return h('div', { class: 'history-fact', id },
    h('dt', {}, label),
    h('dd', {}, h('span', { class: 'history-fact-value' }, value), note ? h('span', { class: 'hint' }, note) : null));
}

/**
 * @param {import('../index.js').PanelContext} context
 * @param {{ onClose: () => void }} options
 */
export function mountHistory(context, { onClose }) {
  const { store } = context;
  const heading = h('h2', { id: 'history-title', tabindex: '-1' }, 'My history');
  const back = h('button', { type: 'button', class: 'button secondary small', id: 'history-back' }, '← Back to the room');
  const refresh = h('button', { type: 'button', class: 'button secondary small', id: 'history-refresh' }, 'Refresh');
  const status = h('p', { class: 'hint', id: 'history-status', role: 'status' });
  const body = h('div', { class: 'history-body', id: 'history-body' });
  // The page's main landmark while it is shown (the room's, behind it, is hidden then).
  const element = h('main', { class: 'history-page', id: 'history-page', 'aria-labelledby': 'history-title', hidden: true },
    h('div', { class: 'history-head' }, heading, h('div', { class: 'history-actions' }, refresh, back)),
    status, body);

  /** @type {MyHistory | null} */
  let history = null;
  let loading = false;
  /** Whether this opening of the page has asked already (so a failure is not asked again). */
  let asked = false;

  const load = async () => {
    if (loading) return;
    loading = true;
    asked = true;
    refresh.disabled = true;
    status.textContent = 'Loading your history…';
    const reply = await context.act({ type: 'get_my_history' }, 'Could not load your history');
    loading = false;
    refresh.disabled = !context.isConnected();
    if (reply && reply.kind === 'my_history') {
      history = reply;
      status.textContent = '';
      draw();
    } else {
      status.textContent = history ? 'Showing what was loaded before.' : 'Your history could not be loaded. Try Refresh once connected.';
    }
  };
  listen(refresh, 'click', () => { load(); });
  listen(back, 'click', () => onClose());
  listen(element, 'keydown', (keyEvent) => {
    if (keyEvent.key === 'Escape' && !(/** @type {HTMLElement} */ (keyEvent.target).closest('details'))) {
      keyEvent.preventDefault();
      onClose();
    }
  });

  const nameOf = (/** @type {string} */ memberId) => store.member(memberId)?.display_name ?? 'A former member';

  function draw() {
    const shown = history;
    if (!shown) return;
    const summary = summarize(shown);
    const myId = shown.member_id;
    patch(body, () => [
      h('section', { class: 'history-part history-summary', 'aria-labelledby': 'history-summary-title' },
        h('h3', { id: 'history-summary-title' }, 'At a glance'),
        h('dl', { class: 'history-facts', id: 'history-facts' },
          fact('Meetings attended', `${formatNumber(summary.attended)} of ${formatNumber(summary.held)}`, 'of the meetings since you joined whose minutes are kept', 'fact-attended'),
          fact('Commitments kept', summary.completionPercent === null ? '–' : `${formatNumber(summary.completionPercent)}%`,
            summary.recentPercent === null ? 'none resolved yet' : `recent meetings ${formatNumber(summary.recentPercent)}%${summary.streak ? `, ${plural(summary.streak, 'meeting')} all done in a row` : ''}`, 'fact-completion'),
          fact('Role plays', formatNumber(summary.rolePlays),
            summary.lastOverallPercent === null ? 'none revealed as seller yet' : `latest ${formatNumber(Math.round(summary.lastOverallPercent))}% overall`, 'fact-roleplays'),
          h('div', { class: 'history-fact', id: 'fact-trends' },
            h('dt', {}, 'Your numbers'),
            h('dd', {}, summary.trends.length
              ? h('ul', { class: 'trend-arrows' }, ...summary.trends.map((trend) => h('li', { 'data-metric': trend.key, 'data-direction': trend.direction },
                h('span', { class: 'arrow', 'aria-hidden': 'true' }, DIRECTION_WORDS[trend.direction].arrow), ` ${trend.name} `,
                h('span', { class: 'visually-hidden' }, DIRECTION_WORDS[trend.direction].words))))
              : h('span', { class: 'hint' }, 'A trend shows after two meetings with your numbers.'))))),
      commitmentsPart(shown),
      benchmarksPart(shown),
      rolePlaysPart(shown.role_plays),
      meetingsPart(shown, myId),
    ]);
  }

  /** @param {MyHistory} history */
  function commitmentsPart(history) {
    const rows = history.commitments.per_meeting.filter((row) => row.made + row.done + row.partial + row.missed + row.dropped + row.carried > 0);
    return h('section', { class: 'history-part', 'aria-labelledby': 'history-commitments-title' },
      h('h3', { id: 'history-commitments-title' }, 'My commitments'),
      rows.length
        ? scroller('Commitments per meeting', h('table', { class: 'history-table', id: 'history-commitment-table' },
          h('caption', { class: 'visually-hidden' }, 'Your commitments per meeting: made, and of those due, done, partly done, missed, dropped and carried on'),
          h('thead', {}, h('tr', {}, ...['Meeting', 'Made', 'Done', 'Partly', 'Missed', 'Dropped', 'Carried'].map((label) => h('th', { scope: 'col' }, label)))),
          h('tbody', {}, ...rows.map((row) => h('tr', { 'data-meeting': row.meeting_number },
            h('th', { scope: 'row' }, String(row.meeting_number)),
            ...[row.made, row.done, row.partial, row.missed, row.dropped, row.carried].map((count) => h('td', {}, formatNumber(count))))))))
        : h('p', { class: 'empty' }, 'No commitments yet.'),
      history.commitments.commitments.length
        ? h('ul', { class: 'plain-list history-commitments', id: 'history-commitment-list' }, ...history.commitments.commitments.map((commitment) => h('li', { 'data-status': commitment.status },
          h('span', {}, commitment.text), ' ',
          h('span', { class: 'tag' }, STATUS_WORDS[commitment.status]), ' ',
          h('span', { class: 'hint' }, `made in meeting ${commitment.made_in_meeting}, due at meeting ${commitment.due_meeting}`))))
        : null);
  }

  /** @param {MyHistory} history */
  function benchmarksPart(history) {
    const metrics = history.benchmarks.filter((metric) => metric.points.length > 0);
    return h('section', { class: 'history-part', 'aria-labelledby': 'history-benchmarks-title' },
      h('h3', { id: 'history-benchmarks-title' }, 'My numbers against the group'),
      metrics.length
        ? h('p', { class: 'hint' }, 'Your numbers (only you see the anonymous ones) and the group\'s median, where enough members shared to show one.')
        : h('p', { class: 'empty' }, 'No numbers from past meetings yet.'),
      metrics.length ? h('ul', { class: 'history-metrics' }, ...metrics.map(metricCard)) : null);
  }

  /** @param {MetricTrend} metric */
  function metricCard(metric) {
    const geometry = chart(metric, CHART_WIDTH, CHART_HEIGHT);
    const amount = (/** @type {number | null | undefined} */ value) => typeof value === 'number' ? formatAmount(value, metric.unit) : '–';
    const first = metric.points[0];
    const last = metric.points.at(-1);
    const label = `${metric.name}: from meeting ${first?.meeting_number} to ${last?.meeting_number}, yours ${amount(first?.mine)} to ${amount(last?.mine)}, the group median ${amount(first?.group_median)} to ${amount(last?.group_median)}.`;
    const picture = svg('svg', { viewBox: `0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`, class: 'history-chart', role: 'img', 'aria-label': label, preserveAspectRatio: 'none' },
      svg('line', { x1: 0, y1: CHART_HEIGHT - 6, x2: CHART_WIDTH, y2: CHART_HEIGHT - 6, class: 'chart-axis' }),
      ...geometry.median.lines.map((points) => svg('polyline', { points, class: 'chart-median' })),
      ...geometry.mine.lines.map((points) => svg('polyline', { points, class: 'chart-mine' })),
      ...geometry.mine.dots.map((dot) => svg('circle', { cx: dot.x, cy: dot.y, r: 3, class: 'chart-dot' })));
    const direction = metric.direction ? DIRECTION_WORDS[metric.direction] : null;
    // One meeting's numbers make no line: they are said in words (a lone dot in an empty box
    // said nothing), and the chart comes with the second meeting.
    const single = metric.points.length < 2;
    return h('li', { class: 'history-metric', 'data-metric': metric.key },
      h('h4', {}, metric.name, direction ? h('span', { class: 'trend', 'data-direction': metric.direction }, ` ${direction.arrow} `, h('span', { class: 'visually-hidden' }, direction.words)) : null),
      single
        ? h('p', { class: 'history-single' }, `Meeting ${first?.meeting_number}: yours ${amount(first?.mine)}, the group median ${amount(first?.group_median)}. A chart shows once two meetings have your numbers.`)
        : picture,
      single ? null : h('p', { class: 'chart-key hint', 'aria-hidden': 'true' }, h('span', { class: 'key-mine' }, 'You'), ' ', h('span', { class: 'key-median' }, 'Group median')),
      h('details', { class: 'history-numbers' },
        h('summary', {}, `${metric.name}: the numbers`),
        scroller(`${metric.name} per meeting`, h('table', { class: 'history-table' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Meeting'), h('th', { scope: 'col' }, 'You'), h('th', { scope: 'col' }, 'Group median'))),
          h('tbody', {}, ...metric.points.map((point) => h('tr', {},
            h('th', { scope: 'row' }, `Meeting ${point.meeting_number}`),
            h('td', {}, amount(point.mine)), h('td', {}, amount(point.group_median)))))))));
  }

  /** @param {RolePlayScores[]} rolePlays */
  function rolePlaysPart(rolePlays) {
    return h('section', { class: 'history-part', 'aria-labelledby': 'history-roleplays-title' },
      h('h3', { id: 'history-roleplays-title' }, 'My role play scores'),
      rolePlays.length
        ? h('ul', { class: 'history-roleplays', id: 'history-roleplays' }, ...[...rolePlays].reverse().map((results) => h('li', { class: 'history-roleplay', 'data-role-play': results.role_play_id },
          h('h4', {}, `Meeting ${results.meeting_number}: ${results.rubric_name}`),
          h('p', {}, h('strong', {}, `${formatNumber(Math.round(results.overall_percent))}% overall`), ` from ${plural(results.submission_count, 'scorer')} · ${formatDateTime(results.revealed_at_ms)}`),
          h('p', { class: 'hint' }, results.scenario),
          scroller(`Scores per criterion, meeting ${results.meeting_number}`, h('table', { class: 'history-table' },
            h('caption', { class: 'visually-hidden' }, `Scores per criterion, meeting ${results.meeting_number}`),
            h('thead', {}, h('tr', {}, ...['Criterion', 'Mean', 'Median', 'Range'].map((label) => h('th', { scope: 'col' }, label)))),
            h('tbody', {}, ...results.criteria.map((criterion) => h('tr', {},
              h('th', { scope: 'row' }, criterion.name),
              h('td', {}, `${formatNumber(criterion.mean)} of ${formatNumber(criterion.scale_max)}`),
              h('td', {}, formatNumber(criterion.median)),
              h('td', {}, `${formatNumber(criterion.min)}–${formatNumber(criterion.max)}`)))))))))
        : h('p', { class: 'empty' }, 'No revealed role play where you were the seller yet.'));
  }

  /**
   * @param {MyHistory} history
   * @param {string} myId
   */
  function meetingsPart(history, myId) {
    return h('section', { class: 'history-part', 'aria-labelledby': 'history-meetings-title' },
      h('h3', { id: 'history-meetings-title' }, 'Past meetings'),
      history.meetings.length
        ? h('div', { class: 'history-meetings', id: 'history-meetings' }, ...history.meetings.map((minutes) => {
          const meeting = digest(minutes, myId, nameOf);
          /**
           * @param {string} title
           * @param {(string | Node)[]} entries
           */
          const list = (title, entries) => entries.length ? [h('h4', {}, title), h('ul', { class: 'plain-list' }, ...entries.map((entry) => h('li', {}, entry)))] : [];
          return h('details', { class: 'history-meeting', 'data-meeting': meeting.number },
            h('summary', {}, h('strong', {}, `Meeting ${meeting.number}`), ` · ${formatDateTime(meeting.startedAtMs)}`,
              h('span', { class: 'tag' }, meeting.attended ? 'attended' : 'missed')),
            h('div', { class: 'history-minutes' },
              h('p', {}, `Attended: ${meeting.attendees.join(', ') || 'nobody'}`),
              ...list('Agenda', meeting.agenda.map((item) => `${item.title}${item.done ? '' : ' (not reached)'}`)),
              ...list('Decisions', meeting.decisions),
              ...list('Commitments made', meeting.commitmentsMade),
              ...list('Commitments reported', meeting.commitmentsReported),
              ...list('Role plays', meeting.rolePlays.map((results) => `${results.seller}, ${results.rubric}: ${formatNumber(Math.round(results.overallPercent))}% overall from ${plural(results.scorers, 'scorer')}`
                + (results.comments.length ? `. Comments: ${results.comments.join(' · ')}` : ''))),
              ...list('Benchmarks (group medians)', meeting.benchmarks.map((metric) => `${metric.name}: ${formatAmount(metric.median, metric.unit)} (${plural(metric.count, 'value')})`)),
              ...list('Practices shared', meeting.practices)));
        }))
        : h('p', { class: 'empty' }, 'No past meetings since you joined yet.'));
  }

  return {
    element,
    /** Shows the page and loads the history afresh. */
    open() {
      element.hidden = false;
      asked = false;
      heading.focus({ preventScroll: false });
      if (context.isConnected()) load();
      else status.textContent = history ? 'Offline: showing what was loaded before.' : 'Your history loads once connected.';
    },
    close() {
      element.hidden = true;
    },
    update() {
      refresh.disabled = loading || !context.isConnected();
      // Opened while offline: load once connected.
      if (!element.hidden && !asked && !loading && context.isConnected()) load();
    },
  };
}
