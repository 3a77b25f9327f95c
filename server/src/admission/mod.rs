//! Admission: who may create groups and open connections, counted by client address.
//!
//! - [`address`]: the client's address, from the TCP peer or, behind a trusted reverse proxy,
//!   from `X-Forwarded-For`; the key addresses are counted under (an IPv6 address by its /64).
//! - [`buckets`]: token buckets, and a map of them per key whose size is capped.
//! - [`group_creation`]: the limits on `POST /api/groups`, per address and server-wide.
//! - [`counts`]: counts per address of what is open now (connections that have not sent a
//!   whole request, WebSockets that have not joined).

pub mod address;
pub mod buckets;
pub mod counts;
pub mod group_creation;
