// @ts-check
// The commitment board's state: every commitment the snapshot holds, and each member's
// accountability (completion rate, streak, overdue), kept up to date by the events. Pure.

/** @typedef {import('../../protocol').Commitment} Commitment */
/** @typedef {import('../../protocol').MemberAccountability} MemberAccountability */

/**
 * @typedef {object} CommitmentsState
 * @property {Commitment[]} commitments
 * @property {Record<string, MemberAccountability>} accountability By member id.
 */

/**
 * @param {CommitmentsState} own
 * @param {Commitment} commitment
 * @param {MemberAccountability} accountability
 */
function upsert(own, commitment, accountability) {
  const index = own.commitments.findIndex((candidate) => candidate.commitment_id === commitment.commitment_id);
  if (index >= 0) own.commitments[index] = commitment;
  else own.commitments.push(commitment);
  own.accountability[accountability.member_id] = accountability;
}

/** @type {import('../../store.js').Feature<CommitmentsState>} */
export const commitmentsFeature = {
  id: 'commitments',
  fromSnapshot(snapshot) {
    /** @type {CommitmentsState} */
    const own = { commitments: snapshot.commitments.map((commitment) => ({ ...commitment })), accountability: {} };
    for (const entry of snapshot.accountability) own.accountability[entry.member_id] = entry;
    return own;
  },
  events: {
    commitment_added(own, event) { upsert(own, event.commitment, event.owner_accountability); },
    commitment_updated(own, event) { upsert(own, event.commitment, event.owner_accountability); },
    // A new member starts with nothing to account for, counted over the same meetings as
    // everyone (which depends on the meeting's number alone).
    member_added(own, event) {
      const meetingsCounted = Object.values(own.accountability)[0]?.meetings_counted ?? 1;
      own.accountability[event.member.member_id] ??= {
        member_id: event.member.member_id, completion_rate_percent: null, resolved_count: 0, streak: 0, overdue_count: 0, meetings_counted: meetingsCounted,
      };
    },
    // A removed member's commitments leave the board, as they leave the server's.
    member_removed(own, event) {
      own.commitments = own.commitments.filter((commitment) => commitment.owner !== event.member_id);
      delete own.accountability[event.member_id];
    },
    // A member who left: their accountability goes with them; what their choice did to their
    // commitments arrives in the snapshot that follows.
    member_erased(own, event) {
      delete own.accountability[event.member_id];
    },
  },
};

/**
 * The report back: commitments due at or before this meeting that were made in an earlier one,
 * still open or resolved during this meeting, grouped by owner in the members' order.
 * @param {CommitmentsState} own
 * @param {{ number: number, started_at_ms: number }} meeting
 * @returns {Commitment[]}
 */
export function reportBackList(own, meeting) {
  return own.commitments.filter((commitment) => commitment.made_in_meeting < meeting.number
    && commitment.due_meeting <= meeting.number
    && (commitment.status === 'open' || commitment.updated_at_ms >= meeting.started_at_ms));
}
