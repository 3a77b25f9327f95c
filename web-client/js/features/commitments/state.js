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
