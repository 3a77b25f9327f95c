//! The Roundtable server: live meeting rooms for sales peer groups, over WebSocket, with
//! persisted sessions.
//!
//! A map of the crate:
//! - [`config`]: the typed configuration, from flags and environment variables.
//! - [`server`]: binds, serves, shuts down gracefully; [`server::Server`] is the entry point
//!   tests use too.
//! - [`admission`]: limits by client address (group creation; trusted reverse proxies).
//! - [`app`]: what the HTTP routes and the connections share (configuration, store, rooms,
//!   shutdown).
//! - [`http`]: the HTTP routes (health, group creation, the WebSocket upgrade through hyper,
//!   facilitator exports, the static client).
//! - [`transport`]: everything between the socket and the room: the listener, the WebSocket
//!   upgrade, frames, the socket, each connection's outbox and task, parsing, the rate limit.
//! - [`room`]: live rooms: the actor that owns each room and runs its rules (the pure state
//!   machine of the `roundtable_rules` crate), and the registry that finds or loads them.
//! - [`store`]: persistence behind one trait, with the embedded (redb) implementation and the
//!   conformance suite every implementation passes.
//! - [`fleet`]: several nodes on one Redis: the node registry, placement, and the internal
//!   links that forward a client to the node running its room.
//! - [`logging`]: the log filter, which keeps frame payloads out of the logs.
//! - [`metrics`]: the process's Prometheus metrics, served on the admin listener.
//! - [`health`]: the store canary and readiness behind `/healthz`.
//! - [`secrets`]: random secrets and tokens, stored only as hashes.
//! - [`clock`]: wall-clock time, real or manual.
//! - [`time_zone`]: time zone names and offsets for the minutes, from a built-in database.

pub mod admission;
pub mod app;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod fleet;
pub mod health;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod room;
pub mod secrets;
pub mod server;
pub mod store;
pub mod time_zone;
pub mod transport;

pub use config::{Config, Limits};
pub use server::Server;
