// @ts-check
// A revealed role play's results, as everyone sees them: the overall score and what it means
// in plain words, each criterion's statistics and distribution (a histogram that reads as a
// list), the comments and the "one thing to do differently" answers (shuffled by the server,
// never tied to a scorer), and the seller's trend. Results of an earlier meeting stay behind
// a closed disclosure, so they never take the stage of the next meeting.

import { plural } from '../../format.js';
import { h } from '../../ui.js';

/** @typedef {import('../../protocol').RolePlayResults} RolePlayResults */
/** @typedef {import('./state.js').RolePlayState} RolePlayState */

/**
 * @typedef {object} Names
 * @property {(memberId: string) => string} name A member's name, "(you)" added for oneself.
 * @property {(memberId: string) => string | null} displayName A member's name as it is, or null.
 * @property {string | null} myMemberId
 */

/** @param {number} value */
function fmt(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/**
 * The overall score and what it means.
 * @param {RolePlayResults} results
 */
function overall(results) {
  return [
    h('p', { class: 'overall' }, 'Overall score: ', h('b', { id: 'roleplay-overall' }, `${Math.round(results.overall_percent)}%`), ' of the best possible score'),
    h('p', { class: 'hint', id: 'roleplay-overall-means' },
      `100% would mean that every scorer gave every criterion its top score, 0% that every scorer gave the lowest; `
      + `criteria with a higher weight count more. From ${plural(results.submission_count, 'anonymous scorer')}.`),
  ];
}

/**
 * @param {RolePlayResults} results
 * @param {RolePlayState} own
 * @param {Names} names
 */
export function renderResults(results, own, names) {
  const trend = own.view.seller_trends.find((entry) => entry.seller === results.seller);
  return h('section', { class: 'roleplay-results', id: 'roleplay-results', 'data-role-play-id': results.role_play_id },
    h('h3', {}, `Results: ${names.name(results.seller)} — ${results.rubric_name}`),
    overall(results),
    h('ul', { class: 'criterion-results' }, ...results.criteria.map((criterion) => {
      const most = Math.max(1, ...criterion.distribution);
      return h('li', { class: 'criterion-result' },
        h('div', { class: 'criterion-head' }, h('b', {}, criterion.name),
          h('span', { class: 'stats' }, `mean ${fmt(criterion.mean)} · median ${fmt(criterion.median)} · min ${criterion.min} · max ${criterion.max}`)),
        // A histogram that reads as a list: "Score 4: 2 scorers".
        h('ul', { class: 'distribution', 'aria-label': `${criterion.name}: how many gave each score from ${criterion.scale_min} to ${criterion.scale_max}` },
          ...criterion.distribution.map((count, offset) => h('li', { class: 'bar' },
            h('span', { class: 'count', 'aria-hidden': 'true' }, count ? String(count) : ''),
            h('span', { class: 'fill', 'aria-hidden': 'true', style: `height: ${Math.round((count / most) * 100)}%` }),
            h('small', { 'aria-hidden': 'true' }, String(criterion.scale_min + offset)),
            h('span', { class: 'visually-hidden' }, `Score ${criterion.scale_min + offset}: ${plural(count, 'scorer')}`)))));
    })),
    results.comments.length ? h('div', {}, h('h4', {}, 'Comments'), h('ul', { class: 'comments', id: 'roleplay-comments' }, ...results.comments.map((text) => h('li', {}, text)))) : null,
    results.one_thing_differently.length ? h('div', {}, h('h4', {}, 'One thing to do differently'), h('ul', { class: 'comments', id: 'roleplay-one-things' }, ...results.one_thing_differently.map((text) => h('li', {}, text)))) : null,
    trend && trend.points.length > 1
      ? h('div', { class: 'trend', id: 'roleplay-trend' }, h('h4', {}, results.seller === names.myMemberId ? 'Your trend' : `${names.displayName(results.seller) ?? 'The seller'}'s trend`),
        h('ol', { class: 'trend-points' }, ...trend.points.map((point) => h('li', {}, `Meeting ${point.meeting_number} (${point.rubric_name}): ${Math.round(point.overall_percent)}%`))))
      : null);
}

/**
 * An earlier meeting's results, closed until someone opens them.
 * @param {RolePlayResults} results
 * @param {RolePlayState} own
 * @param {number} meetingNumber The meeting now.
 * @param {Names} names
 */
export function renderEarlier(results, own, meetingNumber, names) {
  const when = results.meeting_number === meetingNumber - 1 ? 'Last meeting\'s results' : `Results from meeting ${results.meeting_number}`;
  return h('details', { class: 'roleplay-earlier', id: 'roleplay-earlier', 'data-key': `earlier-${results.role_play_id}` },
    h('summary', {}, `${when}: ${names.name(results.seller)}, ${results.rubric_name}`),
    renderResults(results, own, names));
}
