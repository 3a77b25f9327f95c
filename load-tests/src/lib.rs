//! Load generator for Roundtable and the minimal peers it is compared with.
//!
//! The generator starts each server itself on 127.0.0.1 (see [`peer`]), joins a fleet of
//! WebSocket clients (see [`fleet`]), and runs the scenarios in [`scenarios`], [`reconnect`]
//! and [`compare`]. Only loopback addresses are ever contacted; every loop is bounded in count
//! and time.

pub mod client;
pub mod cluster;
pub mod compare;
pub mod fleet;
pub mod peer;
pub mod reconnect;
pub mod scenarios;
pub mod stats;
pub mod storage;
pub mod sys;
