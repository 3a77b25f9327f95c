//! The changes to a room that are not events: who is online now, when a session was last
//! seen, and the scorers' bag of role play forms. None of them is history; a room loaded again
//! starts with nobody online.

use roundtable_protocol as wire;
use roundtable_protocol::{MemberId, UnixMs};

use super::RoomState;
use crate::roleplay::{Submission as ScoreForm, SubmissionSlot};

impl RoomState {
    /// Notes that a member is online now (at least one of their connections is in the room)
    /// or no longer is. Not an event: who is online is not history, and a room loaded again has
    /// nobody online. Returns whether it changed anything; a stranger is never online.
    pub fn set_online(&mut self, member_id: MemberId, online: bool) -> bool {
        if online {
            self.member(member_id).is_some() && self.online.insert(member_id)
        } else {
            self.online.remove(&member_id)
        }
    }

    /// The room as a snapshot of it reads back: nobody online (presence is not stored).
    #[cfg(test)]
    pub(crate) fn as_loaded(&self) -> RoomState {
        let mut room = self.clone();
        room.online.clear();
        room.logged_online.clear();
        room
    }

    /// The members online now, in the order they joined the group (as the `presence` frame
    /// lists them).
    pub fn online_members(&self) -> Vec<MemberId> {
        self.members
            .iter()
            .filter(|member| self.online.contains(&member.id))
            .map(|member| member.id)
            .collect()
    }
    /// Notes that a connection of a member's session joined or left at `at_ms`
    /// ([`crate::access::Session::last_seen_ms`]): with the scorers' bag below, the only
    /// changes to a room that are not events.
    pub fn session_seen(
        &mut self,
        member_id: MemberId,
        session_id: wire::SessionId,
        at_ms: UnixMs,
    ) {
        self.access.seen(member_id, session_id, at_ms);
    }

    /// Puts a scorer's form into the role play's bag ([`crate::roleplay::RolePlayState::put_submission`]):
    /// the one change to a room that is not an event.
    pub fn put_submission(&mut self, slot: SubmissionSlot, submission: ScoreForm) {
        self.role_play.put_submission(slot, submission);
    }
}
