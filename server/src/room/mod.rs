//! Live rooms. A room is one group's current meeting while anyone is in it.
//!
//! - [`state`]: the pure state machine (rules, events, invariants).
//! - [`actor`]: the task that alone owns one room's state: it decides commands, persists their
//!   events, then fans them out to the room's connections.
//! - [`flow`]: the meeting flow's rules (agenda, timer, rounds, speaker queue, problems).
//! - [`registry`]: finds the live room of a group, loading it from the store on first use.
//! - [`commitments`], [`benchmarks`], [`practices`]: the group's accountability features, each
//!   with its own state, rules and limits, dispatched from [`state`].
//!
//! A room reaches its connections only through their outboxes ([`crate::transport::outbox`]).

pub mod actor;
pub mod benchmarks;
pub mod commitments;
pub mod flow;
pub mod minutes;
pub mod practices;
pub mod registry;
pub mod roleplay;
pub mod state;

/// Identifies one WebSocket connection within the process, for logs and room bookkeeping.
pub type ConnectionId = u64;
