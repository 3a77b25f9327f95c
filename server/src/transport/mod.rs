//! Everything between the socket and the room. A room sees only the [`outbox`].
//!
//! - [`listener`]: accepts connections and serves HTTP/1.1 on them with hyper, driven by hand.
//! - [`upgrade`]: the WebSocket upgrade, through hyper or directly.
//! - [`socket`]: the WebSocket on the TCP stream, shared with the outbox; reads and batched
//!   writes.
//! - [`frame`]: server messages framed once, as shared bytes.
//! - [`outbox`]: the bounded way from a room to one connection's socket.
//! - [`connection`]: one task per WebSocket: frame checks, join, forwarding, the close.
//! - [`internal`]: the internal listener, where other nodes forward clients (see
//!   [`crate::fleet`]).
//! - [`parse`]: a client frame, with its errors told apart.
//! - [`rate_limit`]: the per-connection token bucket.

pub mod connection;
pub mod frame;
pub mod internal;
pub mod listener;
pub mod outbox;
pub mod parse;
pub mod rate_limit;
pub mod socket;
pub mod upgrade;
