//! Live rooms. A room is one group's current meeting while anyone is in it; its rules are the
//! pure state machine of the `roundtable_rules` crate, and this module runs them.
//!
//! - [`actor`]: the task that alone owns one room's state: it decides commands with the rules,
//!   persists their events, then fans them out to the room's connections.
//! - [`registry`]: finds the live room of a group, loading it from the store on first use.
//! - [`lease`]: the group's ownership lease, which the registry takes and the room renews and
//!   releases.
//! - [`fleet`]: the process's renewal of all its rooms' leases in batches, and the drain that
//!   hands its rooms to other processes.
//!
//! A room reaches its connections only through their outboxes ([`crate::transport::outbox`]).

pub mod actor;
pub mod fleet;
pub mod lease;
pub mod registry;

/// Identifies one WebSocket connection within the process, for logs and room bookkeeping.
pub type ConnectionId = u64;
