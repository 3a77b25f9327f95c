//! What a member is answered: the reply to a request that only reads the room, and the ack
//! of one that changed it.

use roundtable_protocol as wire;
use roundtable_protocol::MemberId;

use super::{RoomEvent, RoomState};
use crate::activity::Me;
use crate::command::Query;
use crate::history;
use crate::secret::PseudonymKey;

/// Answers a request that only reads (it causes no event), for the asking member alone, where
/// no connection's pseudonym key is at hand: their anonymous numbers are not found (see
/// [`answer_keyed`]).
pub fn answer(state: &RoomState, by: MemberId, query: &Query) -> wire::Reply {
    answer_keyed(state, by, None, query)
}

/// Answers a request that only reads (it causes no event), for the asking member alone, on a
/// connection whose pseudonym key is `key`: their own anonymous numbers are found by it.
pub fn answer_keyed(
    state: &RoomState,
    by: MemberId,
    key: Option<PseudonymKey>,
    query: &Query,
) -> wire::Reply {
    match query {
        Query::GetMyBenchmarks => {
            let mut mine = state
                .activity
                .mine(&Me { member_id: by, key }, state.meeting.id);
            // Before the start, a member's place among the others' prep numbers would show
            // what the others submitted; their own numbers and trend stay.
            if state.prep_open() {
                mine.percentile_by_metric.clear();
            }
            wire::Reply::MyBenchmarks(mine)
        }
        Query::SearchPractices { text, tag } => {
            let (practices, total_matches) = state.practices.search(text, tag.as_deref());
            wire::Reply::Practices {
                practices,
                total_matches,
            }
        }
        Query::GetMyHistory => {
            wire::Reply::MyHistory(history::build(state, &Me { member_id: by, key }))
        }
    }
}

/// The ack for a request that caused `events`: the id of what it created, if anything.
pub fn reply_for(events: &[RoomEvent]) -> wire::Reply {
    for event in events {
        match event {
            RoomEvent::CommitmentAdded { commitment, .. } => {
                return wire::Reply::Created {
                    id: commitment.commitment_id,
                };
            }
            RoomEvent::PracticePosted { practice } => {
                return wire::Reply::Created {
                    id: practice.practice_id,
                };
            }
            _ => {}
        }
    }
    wire::Reply::Done
}
