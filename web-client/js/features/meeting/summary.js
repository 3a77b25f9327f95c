// @ts-check
// The summary everyone sees once a facilitator ended the meeting: how long it ran, what was
// covered and what carries over, the decisions on problems, the commitments made, the role
// plays' results and what the next meeting starts with. `summaryModel` is pure (tested in
// Node); the panel draws it on the `summary` view, which is the stage while the meeting is
// ended. The facilitator ends it from here, which opens the next meeting's lobby.

import { h } from '../../ui.js';
import { patch, listen } from '../../render.js';
import { flowOf } from '../flow/state.js';
import { formatDuration } from '../flow/round.js';
import { formatDateTime, plural } from '../../format.js';

/** @typedef {import('../../store.js').RoomState} RoomState */

/** The most items an agenda has (the server's `agenda_items_max` default, 40). */
export const AGENDA_ITEMS_MAX = 40;

/**
 * @typedef {object} Summary
 * @property {number} number The meeting's number.
 * @property {number} endedAtMs
 * @property {number} durationMs
 * @property {string[]} covered Titles of the items done.
 * @property {string[]} unfinished Titles of the items not done.
 * @property {{ title: string, presenter: string, chosen: string[] }[]} decisions Problems with
 *   the suggestions their presenter chose.
 * @property {{ owner: string, text: string }[]} commitments Made in this meeting.
 * @property {{ seller: string, rubric: string, overallPercent: number, scorers: number }[]} rolePlays
 *   Revealed in this meeting.
 * @property {string[]} nextAgenda What the next meeting's agenda starts with: the template,
 *   with this meeting's unfinished items that did not come from it before its closing
 *   commitments item (as the server builds it).
 */

/**
 * @param {RoomState} state
 * @param {(id: string) => string} nameOf
 * @returns {Summary | null} Null while the meeting runs.
 */
export function summaryModel(state, nameOf) {
  const flow = flowOf(state);
  if (flow.ended_at_ms == null) return null;
  const number = state.meeting.number;
  const decisions = flow.agenda.flatMap((item) => {
    const problem = item.problem;
    if (!problem || problem.chosen.length === 0) return [];
    const chosen = problem.chosen
      .map((id) => problem.suggestions.find((suggestion) => suggestion.suggestion_id === id)?.text)
      .filter((text) => text !== undefined);
    return [{ title: item.title, presenter: nameOf(problem.presenter), chosen: /** @type {string[]} */ (chosen) }];
  });
  const board = /** @type {{ commitments: import('../../protocol').Commitment[] } | undefined} */ (state.features.commitments);
  const commitments = (board?.commitments ?? [])
    .filter((commitment) => commitment.made_in_meeting === number)
    .map((commitment) => ({ owner: nameOf(commitment.owner), text: commitment.text }));
  const rolePlay = /** @type {{ view: import('../../protocol').RolePlayView } | undefined} */ (state.features.role_play);
  const rolePlays = (rolePlay?.view.revealed ?? [])
    .filter((results) => results.meeting_number === number)
    .map((results) => ({
      seller: nameOf(results.seller),
      rubric: results.rubric_name,
      overallPercent: results.overall_percent,
      scorers: results.submission_count,
    }));
  const carried = flow.agenda
    .filter((item) => item.status !== 'done' && item.origin !== 'template')
    .map((item) => item.title);
  const templateTitles = flow.template.map((item) => item.title);
  const closing = flow.template.findIndex((item) => item.kind === 'commitments');
  const at = closing < 0 ? templateTitles.length : closing;
  // As the server builds it: carried items only while the agenda has room for them.
  const room = Math.max(AGENDA_ITEMS_MAX, templateTitles.length) - templateTitles.length;
  return {
    number,
    endedAtMs: flow.ended_at_ms,
    durationMs: Math.max(0, flow.ended_at_ms - state.meeting.started_at_ms),
    covered: flow.agenda.filter((item) => item.status === 'done').map((item) => item.title),
    unfinished: flow.agenda.filter((item) => item.status !== 'done').map((item) => item.title),
    decisions,
    commitments,
    rolePlays,
    nextAgenda: [...templateTitles.slice(0, at), ...carried.slice(0, room), ...templateTitles.slice(at)],
  };
}

/**
 * A titled list, or a line saying there is nothing.
 * @param {string} id
 * @param {string} title
 * @param {(HTMLElement | string)[]} entries
 * @param {string} none
 */
function part(id, title, entries, none) {
  return h('section', { class: 'summary-part', 'aria-labelledby': `${id}-title` },
    h('h3', { id: `${id}-title` }, title),
    entries.length > 0
      ? h('ul', { class: 'summary-list', id }, ...entries.map((entry) => h('li', {}, entry)))
      : h('p', { class: 'muted' }, none));
}

/** @type {import('../index.js').Panel} */
export const summaryPanel = {
  id: 'summary',
  view: 'summary',
  mount(context) {
    const { store } = context;
    const nameOf = (/** @type {string} */ id) => store.member(id)?.display_name ?? 'A former member';
    const heading = h('h2', { id: 'summary-title', tabindex: '-1' }, 'Meeting summary');
    const body = h('div', { class: 'summary-body', id: 'summary-body' });
    const startButton = h('button', { type: 'button', class: 'button primary', id: 'summary-start-next' });
    const waiting = h('p', { class: 'hint', id: 'summary-waiting' });
    const element = h('section', { class: 'panel summary', id: 'panel-summary', 'aria-labelledby': 'summary-title' },
      heading, body, h('div', { class: 'summary-next' }, startButton, waiting));

    listen(startButton, 'click', async () => {
      startButton.disabled = true;
      const started = await context.act({ type: 'start_next_meeting' }, 'Could not end the meeting');
      if (!started) startButton.disabled = !context.isConnected();
    });

    /** @type {Summary | null} */
    let drawn = null;
    let drawnKey = '';
    return {
      element,
      update() {
        const state = store.state;
        const summary = state ? summaryModel(state, nameOf) : null;
        const facilitator = store.iAmFacilitator();
        startButton.hidden = !summary || !facilitator;
        startButton.disabled = !context.isConnected();
        waiting.hidden = !summary || facilitator;
        if (!summary) return;
        const key = JSON.stringify(summary);
        if (key === drawnKey && drawn) return;
        drawn = summary;
        drawnKey = key;
        heading.textContent = `Meeting ${summary.number} has ended`;
        startButton.textContent = `End meeting ${summary.number} and open meeting ${summary.number + 1}'s lobby`;
        waiting.textContent = `A facilitator opens meeting ${summary.number + 1} for the group's next session. Your commitments stay on the board.`;
        patch(body, () => [
          h('p', { class: 'summary-when', id: 'summary-when' },
            `Ended ${formatDateTime(summary.endedAtMs)} after ${formatDuration(summary.durationMs)}. `
            + `${plural(summary.covered.length, 'item', 'items')} covered`
            + (summary.unfinished.length > 0 ? `, ${summary.unfinished.length} not reached.` : '.')),
          part('summary-decisions', 'Decisions', summary.decisions.map((decision) => h('span', {},
            h('strong', {}, decision.title), ` (${decision.presenter}): ${decision.chosen.join('; ')}`)),
          'No problem reached a decision.'),
          part('summary-commitments', 'Commitments made', summary.commitments.map((commitment) => h('span', {},
            h('strong', {}, commitment.owner), `: ${commitment.text}`)),
          'No commitments were made in this meeting.'),
          part('summary-roleplays', 'Role play results', summary.rolePlays.map((result) =>
            `${result.seller}, ${result.rubric}: ${Math.round(result.overallPercent)}% overall from ${plural(result.scorers, 'scorer', 'scorers')}`),
          'No role play was revealed.'),
          part('summary-next-agenda', `Meeting ${summary.number + 1} starts with`, summary.nextAgenda, 'An empty agenda.'),
        ]);
      },
    };
  },
};
