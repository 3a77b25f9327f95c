//! The Roundtable server.
//!
//! - [`config`]: the typed configuration, from flags and environment.
//! - [`store`]: persistence behind one trait, with the embedded (redb) implementation.
pub mod store;
