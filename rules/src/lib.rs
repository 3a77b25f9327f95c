//! Roundtable's room rules: the whole state of one group's live room and every rule that
//! changes it, as a pure state machine. No I/O, no clock, no randomness, no async runtime: time,
//! fresh ids and random values come in as arguments, so the server's room actor and the tests
//! drive the same code. This crate depends only on the protocol, serde and small pure crates,
//! so the compiler keeps it that way.
//!
//! A map of the crate, top to bottom: each module names only modules below it
//! (`tests/module_graph.rs` checks this).
//! - [`stored`]: the stored forms of a room (snapshot, log events), the one home of the format.
//!   [`wire_view`]: what clients see of the room: snapshots per viewer, events on the wire.
//! - [`state`]: the state machine: the fold of events into the room ([`RoomState::apply`]) and
//!   the dispatch of member requests to the features, each handed what it needs.
//! - [`history`]: a member's own history across the kept meetings, for that member alone.
//! - [`membership`]: joins, tokens, a meeting's attendance and the facilitators' changes to the group.
//!   [`access`]: the links' versions, the members' sessions, rotating and revoking them.
//!   [`minutes`]: what a meeting leaves behind.
//! - [`room`]: the shape of [`RoomState`]: the group, its members and each feature's state.
//! - The features, each with its own state, rules and limits: [`roleplay`] (role play and
//!   anonymous scoring), [`commitments`], [`activity`] (weekly sales-activity numbers against
//!   the peers'), [`practices`] (the best-practice library); they decide [`RoomEvent`]s
//!   ([`event`]) from a [`roster::Roster`] and their own state, never from the whole room.
//! - [`meeting_life`]: which requests need a live meeting (or an upcoming one): one table.
//! - [`flow`] (agenda, timer, rounds, speaker queue, problems), which decides its own events.
//! - [`command`]: what a member asks of the room, sorted from the wire request in one place.
//!   [`roster`]: the members, the current meeting, who receives an event, and the checks of
//!   who asks. [`text`]: the one check of text that people type.
//! - [`error`]: why a command was refused. [`limits`]: the limits the rules enforce, as plain
//!   values. [`secret`]: secrets as the rules keep them, hashed.

pub mod access;
pub mod activity;
pub mod command;
pub mod commitments;
pub mod error;
pub mod event;
pub mod flow;
pub mod history;
pub mod limits;
pub mod meeting_life;
pub mod membership;
pub mod minutes;
pub mod practices;
pub mod prep;
pub mod reactions;
pub mod roleplay;
pub mod room;
pub mod roster;
mod same_on_the_wire;
pub mod schedule;
pub mod secret;
pub mod state;
pub mod stored;
pub mod text;
pub mod wire_view;

#[cfg(test)]
mod consistency_tests;
#[cfg(test)]
mod golden_tests;

#[cfg(test)]
mod erasure_tests;

pub use command::{AccessCommand, Change, Command, Query, SessionRequest, VoteCommand};
pub use limits::{FlowLimits, PrepLimits, RoomLimits};
pub use state::{RoomError, RoomEvent, RoomState, StoredEvent};
