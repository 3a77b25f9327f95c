//! The room's rules as a pure state machine: no I/O, no clock, no randomness.
//!
//! A room is event-sourced. [`decide`] (and [`decide_join`], [`decide_attendance`]) look at the
//! state and a command and return the events the command causes, or a [`RoomError`] and no
//! events. [`RoomState::apply`] folds one event into the state. The state after a command is
//! therefore exactly the fold of its events, which is what makes a room loadable from a
//! snapshot plus the log tail, and resumable by replaying events. Time and random values come
//! in as arguments, so tests drive the machine with a fake clock and fixed ids.
//!
//! This module is the top of the crate's rules: it dispatches each request to the feature
//! that decides it, handing the feature what it needs (the [`Roster`], its own state, its
//! limits), and folds every feature's events into the room. The room's types are defined
//! below it and named here too, so callers have one path for the machine and its types.
//!
//! Where each part is:
//! - `fold.rs`: [`RoomState::apply`], the fold of one event into the room.
//! - `decide.rs`: [`decide`] and [`decide_keyed`], a member's change dispatched to the feature
//!   that decides it; [`decide_tick`], what happens when nobody acts; and the events one
//!   feature's decision causes in another (hands lowered, prep recounted, commitments from a
//!   problem's chosen suggestions).
//! - `meeting.rs`: starting and ending the meeting, [`admit`] (the meeting's phase), and what
//!   an upcoming meeting withholds ([`RoomState::benchmarks_view`]).
//! - `answer.rs`: [`answer`] and [`answer_keyed`] for requests that only read, and
//!   [`reply_for`], the ack of one that changed the room.
//! - `unlogged.rs`: the changes to a room that are not events (who is online, when a session
//!   was last seen, the scorers' bag).
//! - `invariants.rs`: [`RoomState::check_invariants`], which tests call after every step.

mod answer;
mod decide;
mod fold;
mod invariants;
mod meeting;
mod unlogged;

pub use answer::{answer, answer_keyed, reply_for};
pub use decide::{decide, decide_keyed, decide_tick};
pub use meeting::{admit, decide_next_meeting, decide_start_meeting};

pub use crate::error::RoomError;
pub use crate::event::{RoomEvent, StoredEvent};
pub use crate::membership::{
    FreshMember, JoinDecision, decide_attendance, decide_attendance_of_everyone_online,
    decide_join, member_by_token, session_by_token,
};
pub use crate::room::{Group, RoomState};
pub use crate::roster::{Audience, Meeting, Member, Roster, require_facilitator};

/// A key for member `member_id` in tests, as if their token were "the token of" their id.
#[cfg(test)]
pub(crate) fn test_key(
    member_id: roundtable_protocol::MemberId,
) -> Option<crate::secret::PseudonymKey> {
    Some(crate::secret::PseudonymKey::of_token(&format!(
        "the token of {member_id}"
    )))
}

#[cfg(test)]
mod tests;
