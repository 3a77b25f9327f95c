// @ts-check
// What the stage and the meeting bar show, computed from the room's state and the server's
// clock. Pure (tested in Node): no DOM, no clock of its own.
//
// The stage follows the current agenda item: its kind names the view everyone sees first; once
// a facilitator ended the meeting, the stage is its summary; while the meeting is upcoming,
// the stage is the lobby. The bar shows the current item
// with what is left of its time box (the item's clock, kept by the server), the running timer
// (a round's speaker, a member called from the queue, a problem's phase: whatever the server
// times), and the meeting's elapsed time against the agenda's planned total.

import { flowOf, itemRemainingMs } from '../flow/state.js';
import { remainingMs, PHASE_LABELS } from '../flow/time.js';

/** @typedef {import('../../store.js').RoomState} RoomState */
/** @typedef {import('../../protocol').AgendaItem} AgendaItem */
/** @typedef {import('../../protocol').AgendaItemKind} AgendaItemKind */

/** How long before time-up the bar warns, by default, in milliseconds. */
export const WARNING_MS = 30_000;

/**
 * The views of the room, in the order of the tabs. `kinds` are the agenda item kinds whose
 * stage the view is.
 * @type {{ id: string, label: string, kinds: AgendaItemKind[] }[]}
 */
export const VIEWS = [
  // Shown only while the meeting is upcoming (then it is the stage).
  { id: 'lobby', label: 'Lobby', kinds: [] },
  // Prep for the upcoming meeting (features/prep).
  { id: 'prep', label: 'Prep', kinds: [] },
  { id: 'timer', label: 'Round', kinds: ['round', 'discussion'] },
  { id: 'reportback', label: 'Report back', kinds: ['report_back'] },
  { id: 'problem', label: 'Problem', kinds: ['problem'] },
  { id: 'roleplay', label: 'Role play', kinds: ['role_play'] },
  { id: 'benchmarks', label: 'Benchmarks', kinds: ['benchmarks'] },
  { id: 'practices', label: 'Practices', kinds: ['best_practices'] },
  { id: 'commitments', label: 'Commitments', kinds: ['commitments'] },
  { id: 'agenda', label: 'Agenda', kinds: [] },
  { id: 'people', label: 'People', kinds: [] },
  // Shown only once the meeting has ended (then it is the stage).
  { id: 'summary', label: 'Summary', kinds: [] },
];

/**
 * The views that run a meeting, which an upcoming meeting has no use for (the server refuses
 * what they do until a facilitator starts it): their tabs are hidden in the lobby, and so is
 * the agenda's, whose panel the lobby shows.
 */
export const LIVE_ONLY_VIEWS = ['timer', 'reportback', 'problem', 'roleplay', 'agenda', 'summary'];

/**
 * Whether a view's tab is shown now: the lobby only while the meeting is upcoming, the summary
 * only once it has ended, the views that run a meeting only while it is live.
 * @param {string} viewId
 * @param {RoomState | null} state
 * @returns {boolean}
 */
export function viewShown(viewId, state) {
  const stage = state ? stageView(state) : null;
  if (viewId === 'lobby') return stage === 'lobby';
  // Prep, while the meeting is upcoming (features/prep).
  if (viewId === 'prep') return stage === 'lobby';
  if (viewId === 'summary') return stage === 'summary';
  if (stage === 'lobby') return !LIVE_ONLY_VIEWS.includes(viewId);
  return true;
}

/**
 * @param {RoomState} state
 * @returns {AgendaItem | null}
 */
export function currentItem(state) {
  return flowOf(state).agenda.find((item) => item.status === 'current') ?? null;
}

/**
 * The view that is the stage now: the current item's, else the round's while one runs (or a
 * timer), else the agenda.
 * @param {RoomState} state
 * @returns {string}
 */
export function stageView(state) {
  if (state.meeting.phase === 'upcoming') return 'lobby';
  if (flowOf(state).ended_at_ms != null) return 'summary';
  const item = currentItem(state);
  if (item) return VIEWS.find((view) => view.kinds.includes(item.kind))?.id ?? 'agenda';
  const flow = flowOf(state);
  if (flow.round || flow.timer) return 'timer';
  return 'agenda';
}

/**
 * @typedef {object} BarModel
 * @property {AgendaItem | null} item The current agenda item.
 * @property {AgendaItem | null} next The first pending item after it (or the first pending one).
 * @property {number} plannedTotalMs The agenda's time boxes added up.
 * @property {AgendaItem | null} previous The item before the current one (or the last done
 *   one when none is current): where Back goes.
 * @property {number} elapsedMs Since the meeting started (until it ended).
 * @property {number | null} endedAtMs When a facilitator ended the meeting.
 * @property {{ who: string | null, remainingMs: number, paused: boolean, warning: boolean, over: boolean, deadline: number } | null} timer
 * @property {{ remainingMs: number, warning: boolean, over: boolean, deadline: number } | null} itemClock
 *   What is left of the current item's time box; `deadline` is when it runs out (server time).
 */

/**
 * @param {RoomState} state
 * @param {number} now The server's time.
 * @param {(id: string) => string} nameOf
 * @param {number} [warningMs]
 * @returns {BarModel}
 */
export function barModel(state, now, nameOf, warningMs = WARNING_MS) {
  const flow = flowOf(state);
  const item = currentItem(state);
  const index = item ? flow.agenda.indexOf(item) : -1;
  // Where Next goes: the first pending item after the current one, else the first pending one.
  const next = flow.agenda.slice(index + 1).find((candidate) => candidate.status === 'pending')
    ?? flow.agenda.slice(0, Math.max(0, index)).find((candidate) => candidate.status === 'pending') ?? null;
  const previous = item
    ? flow.agenda[index - 1] ?? null
    : [...flow.agenda].reverse().find((candidate) => candidate.status === 'done') ?? null;
  const plannedTotalMs = flow.agenda.reduce((sum, entry) => sum + entry.time_box_ms, 0);
  /** @type {BarModel['timer']} */
  let timer = null;
  if (flow.timer) {
    const remaining = remainingMs(flow.timer, now);
    const subject = flow.timer.subject;
    // Whom the timer times, or a problem's phase.
    const who = subject.kind === 'problem_phase' ? PHASE_LABELS[subject.phase] ?? null : nameOf(subject.member_id);
    const paused = flow.timer.state.status === 'paused';
    timer = {
      who,
      remainingMs: remaining,
      paused,
      over: remaining <= 0,
      warning: remaining > 0 && remaining <= warningMs,
      deadline: flow.timer.state.status === 'running' ? flow.timer.state.deadline_ms : -1,
    };
  }
  /** @type {BarModel['itemClock']} */
  let itemClock = null;
  const itemLeft = item ? itemRemainingMs(item, now) : null;
  if (item && itemLeft !== null) {
    itemClock = {
      remainingMs: itemLeft,
      over: itemLeft <= 0,
      warning: itemLeft > 0 && itemLeft <= warningMs,
      deadline: (item.current_since_ms ?? 0) + item.time_box_ms - (item.spent_ms ?? 0),
    };
  }
  const endedAtMs = flow.ended_at_ms;
  const elapsedMs = Math.max(0, (endedAtMs ?? now) - state.meeting.started_at_ms);
  return { item, next, previous, plannedTotalMs, elapsedMs, endedAtMs, timer, itemClock };
}
