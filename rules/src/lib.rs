//! Roundtable's room rules: the whole state of one group's live room and every rule that
//! changes it, as a pure state machine. No I/O, no clock, no randomness, no async runtime: time,
//! fresh ids and random values come in as arguments, so the server's room actor and the tests
//! drive the same code. This crate depends only on the protocol, serde and small pure crates,
//! so the compiler keeps it that way.
//!
//! A map of the crate:
//! - [`command`]: what a member asks of the room, sorted from the wire request in one place.
//! - [`state`]: [`RoomState`], the stored [`RoomEvent`]s and their fold
//!   ([`RoomState::apply`]), joins, presence, membership and the dispatch of member requests.
//! - The features, each with its own state, rules and limits: [`flow`] (agenda, timer, rounds,
//!   speaker queue, problems), [`roleplay`] (role play and anonymous scoring),
//!   [`commitments`], [`activity`] (weekly sales-activity numbers against the peers'),
//!   [`practices`] (the best-practice library), and [`minutes`] (what a meeting leaves behind).
//! - [`membership`]: joins, tokens, presence and the facilitators' changes to the group.
//! - [`wire_view`]: what clients see of the room: snapshots per viewer, events on the wire.
//! - [`limits`]: the limits the rules enforce, as plain values.
//! - [`secret`]: secrets as the rules keep them, hashed.
//! - [`stored`]: the stored forms of a room (snapshot, log events), the one home of the format.
//! - [`text`]: the one check of text that people type.

pub mod activity;
pub mod command;
pub mod commitments;
pub mod flow;
pub mod limits;
pub mod membership;
pub mod minutes;
pub mod practices;
pub mod roleplay;
pub mod secret;
pub mod state;
pub mod stored;
pub mod text;
pub mod wire_view;

#[cfg(test)]
mod golden_tests;

pub use command::{Change, Command, Query, SessionRequest};
pub use limits::{FlowLimits, RoomLimits};
pub use state::{RoomError, RoomEvent, RoomState, StoredEvent};
