// @ts-check
// One line, under the meeting bar, saying what is happening and what the person reading it can
// do now: whose turn it is in a round (and when theirs comes), a problem's phase and what it
// asks of them, the role play's step, what the current item asks of everyone. Pure (tested in
// Node): the room's state and who is reading in, a sentence out.

import { flowOf } from '../flow/state.js';
import { currentItem } from './model.js';

/** @typedef {import('../../store.js').RoomState} RoomState */

/**
 * @param {RoomState} state
 * @param {string | null} me The reader's member id.
 * @param {boolean} facilitator Whether the reader runs the meeting.
 * @param {(id: string) => string} nameOf
 * @returns {string}
 */
export function nowLine(state, me, facilitator, nameOf) {
  const flow = flowOf(state);
  if (flow.ended_at_ms != null) {
    return facilitator ? 'The meeting has ended. Open the next meeting\'s lobby from the summary.' : 'The meeting has ended: the summary shows what it decided.';
  }
  if (flow.floor) {
    return flow.floor.member_id === me ? 'You have the floor.' : `${nameOf(flow.floor.member_id)} has the floor. Raise your hand (H) to speak next.`;
  }
  if (flow.round) return roundLine(flow.round, me, nameOf);
  const item = currentItem(state);
  if (!item) return facilitator ? 'Press Next to start the agenda.' : 'Waiting for the facilitator to start the agenda.';
  switch (item.kind) {
    case 'round':
      return facilitator ? 'Start the round when everyone is ready.' : 'A round is next: everyone speaks in turn.';
    case 'report_back':
      return 'Report on last meeting\'s commitments: done, partial or missed, with a note if you like.';
    case 'problem':
      return problemLine(item.problem ?? null, me, facilitator, nameOf);
    case 'role_play':
      return rolePlayLine(state, me, facilitator, nameOf);
    case 'benchmarks':
      return 'Enter this week\'s numbers; the group view appears as people share.';
    case 'best_practices':
      return 'Share what worked (or did not) this week, and upvote what you will try.';
    case 'commitments':
      return 'Add your commitments for next week; the group follows up on them next meeting.';
    default:
      return 'Raise your hand (H) to speak.';
  }
}

/**
 * @param {import('../../protocol').RoundInfo} round
 * @param {string | null} me
 * @param {(id: string) => string} nameOf
 */
function roundLine(round, me, nameOf) {
  const speaking = round.speakers.find((speaker) => speaker.status === 'speaking');
  if (speaking?.member_id === me) return 'Your turn: you have the floor.';
  const waiting = round.speakers.filter((speaker) => speaker.status === 'waiting');
  const place = waiting.findIndex((speaker) => speaker.member_id === me);
  const who = speaking ? `${nameOf(speaking.member_id)} is speaking.` : 'The round is paused between speakers.';
  if (place === 0) return `${who} You are next.`;
  if (place > 0) return `${who} You speak after ${place} more.`;
  return `${who} ${waiting.length === 0 ? 'Last speaker of the round.' : `${waiting.length} still to speak.`}`;
}

/**
 * @param {import('../../protocol').ProblemInfo | null} problem
 * @param {string | null} me
 * @param {boolean} facilitator
 * @param {(id: string) => string} nameOf
 */
function problemLine(problem, me, facilitator, nameOf) {
  if (!problem) return facilitator ? 'Choose the presenter and start the first phase.' : 'Someone brings a stuck deal to the group.';
  const presenter = problem.presenter === me ? 'you' : nameOf(problem.presenter);
  const mine = problem.presenter === me;
  switch (problem.phase) {
    case 'present':
      return mine ? 'Present your problem: the deal, where it is stuck, what you tried.' : `${nameOf(problem.presenter)} presents. Listen; questions come next.`;
    case 'clarify':
      return mine ? 'Answer the group\'s clarifying questions.' : `Ask ${presenter} clarifying questions only; suggestions come next.`;
    case 'suggest':
      return mine ? 'Listen to the suggestions; you choose next.' : `Add your suggestions for ${presenter}.`;
    default:
      return mine ? 'Choose the suggestions you will act on: each becomes a commitment.' : `${nameOf(problem.presenter)} chooses what to act on.`;
  }
}

/**
 * @param {RoomState} state
 * @param {string | null} me
 * @param {boolean} facilitator
 * @param {(id: string) => string} nameOf
 */
function rolePlayLine(state, me, facilitator, nameOf) {
  const rolePlay = /** @type {{ view: import('../../protocol').RolePlayView } | undefined} */ (state.features.role_play);
  const current = rolePlay?.view.current;
  if (!current) return facilitator ? 'Set up the role play: a seller, a buyer and the scenario.' : 'A role play is being set up.';
  const seller = current.seller === me ? 'You sell' : `${nameOf(current.seller)} sells`;
  const buyer = current.buyer ? (current.buyer === me ? 'to you' : `to ${nameOf(current.buyer)}`) : '';
  switch (current.phase) {
    case 'setup':
      return `${seller} ${buyer}. Watch the call and note what you see.`.replace(' .', '.');
    case 'scoring':
      // The seller waits; the buyer scores the call like everyone else (the role play's form
      // offers it the score form too).
      if (current.seller === me) return 'The others are scoring your call, anonymously.';
      return rolePlay?.view.you_submitted ? 'Your scores are in; you can change them until scoring closes.' : 'Score the call: your scores are anonymous.';
    case 'revealed':
      return 'The results are in: the group\'s scores and comments, with no scorer named.';
    default:
      return 'Scoring is closed; the results come when the facilitator reveals them.';
  }
}
