//! The stored forms of a room: its snapshot and the events of a meeting's log, as bytes for the
//! store. Every read and write of stored room data goes through the four functions here
//! ([`encode_snapshot`], [`decode_snapshot`], [`encode_event`], [`decode_event`]), so the format
//! has one home. Users' data must survive every later upgrade; this module says how.
//!
//! # The stored types are the server's own
//!
//! What is on disk is described by the stored types of a format ([`v1`] for format 1), never by
//! the in-memory rules types or the protocol's wire types: renaming a wire field, or a field of
//! `RoomState`, must not change what is on users' disks. Each in-memory or wire type inside a
//! record has its stored counterpart, converted both ways with `From` (written once per type as
//! a list of its fields, in `convert.rs`). The in-memory rules types have no serde at all; the wire
//! types keep theirs for the wire only.
//!
//! # The envelope: `format`
//!
//! Every record (a snapshot, one log entry) is a JSON object whose first field is `"format"`, the
//! number of the stored format it was written in: `{"format": 1, "group": {...}, ...}` and
//! `{"format": 1, "at_ms": ..., "event": {...}}`. The number sits beside the record's own fields,
//! not around them, so a record is what it was before numbers existed plus one field; the name
//! is one no record uses for anything else, and says what it numbers (not the protocol's
//! version `v`, not the release). A reader looks at `format` first and then reads the rest with
//! that format's types:
//!
//! - no `format` field: the record was written before stored formats had numbers ("v0",
//!   `golden/stored-v0/`). Format 1 is exactly that JSON, so it is read as format 1.
//! - a format this code knows: read with that format's types, then converted forward to today's
//!   in-memory state.
//! - a higher number: [`FormatError::Newer`], which names the number. The record was written by
//!   a newer Roundtable; this one refuses to load it rather than guess (and never rewrites it).
//! - anything else (0): [`FormatError::Unknown`].
//!
//! # How the format evolves
//!
//! 1. A change that an older reader could misread, or would silently drop, gets a new format
//!    number: a field added, removed, renamed or retyped, a variant added or renamed, a changed
//!    meaning or unit, a new default. When in doubt, a new number; numbers are cheap.
//! 2. A format's stored types never change once a release wrote them. A new format is a new
//!    module (`v2`) with its own types; writers write only the newest format.
//! 3. Readers of every older format are kept forever. An old format is read with its own types
//!    and converted forward, one format at a time (`v1` → `v2` → ... → in memory), so each step
//!    is written once and every older record reaches today's state.
//! 4. Each format has golden files (`golden/stored-v0/`, `golden/stored-v1/`, ...) written once
//!    by the code of its time and never rewritten; the golden test loads every directory and
//!    checks it against what users saw when it was written (the same rooms, the same wire view,
//!    working links and tokens). A change that breaks an old directory's test is a change that
//!    would break users' data.
//!
//! To add format N+1: make the module `vN+1` with the change (a type that does not change may
//! be taken from `vN` with `pub use`, since `vN`'s types never change); move the conversions of
//! today's types (`mirror_struct!`, `mirror_enum!`) to `vN+1`, and give `vN` conversions
//! forward, `From<vN::Snapshot> for vN+1::Snapshot` and so on; raise [`FORMAT`]; add the
//! `N+1 =>` arm to [`decode_snapshot`] and [`decode_event`]; write `golden/stored-vN+1/` with
//! `ROUNDTABLE_WRITE_GOLDEN=1 cargo test -p roundtable-rules golden` (which writes only the
//! current format's directory, and only when it does not exist yet) and add the directory to the
//! golden test's `DIRECTORIES`; keep a test that the previous format's golden records convert
//! forward to the same rooms (the golden test does this for every directory). Ship a release that
//! reads format N+1 before one that writes it, when several server versions share a store
//! (several nodes, a rollback): an older node refuses a newer record rather than misreading it.
//!
//! Numbers in records are JSON numbers; serde_json's `float_roundtrip` makes every `f64` read
//! back bit for bit.

#[macro_use]
mod convert;
pub mod v1;
pub mod v2;
pub mod v3;
pub mod v4;
pub mod v5;

use serde::{Deserialize, Serialize};

use crate::state::{RoomState, StoredEvent};

/// The stored format this code writes.
pub const FORMAT: u32 = v5::FORMAT;

/// Why stored bytes could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The record is in a format newer than this code knows.
    #[error(
        "{record} is in stored format {format}, written by a newer Roundtable; this version \
         reads stored formats up to {FORMAT}"
    )]
    Newer { record: &'static str, format: u64 },
    /// The record names a format that was never written.
    #[error("{record} is in unknown stored format {format}")]
    Unknown { record: &'static str, format: u64 },
    /// The record is not valid in its format.
    #[error("{record} does not parse: {message}")]
    Parse {
        record: &'static str,
        message: String,
    },
}

const SNAPSHOT: &str = "room snapshot";
const LOG_ENTRY: &str = "log entry";

/// A record as written: the format's number first, then the record's own fields.
#[derive(Serialize)]
struct Versioned<'a, T> {
    format: u32,
    #[serde(flatten)]
    record: &'a T,
}

/// What a reader looks at first: the format, if the record names one.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    format: Option<u64>,
}

/// The format a record was written in; `None` for a record written before formats had numbers.
fn format_of(record: &'static str, bytes: &[u8]) -> Result<Option<u64>, FormatError> {
    serde_json::from_slice::<Envelope>(bytes)
        .map(|envelope| envelope.format)
        .map_err(|error| parse_error(record, error))
}

fn parse_error(record: &'static str, error: serde_json::Error) -> FormatError {
    FormatError::Parse {
        record,
        message: error.to_string(),
    }
}

fn unreadable(record: &'static str, format: u64) -> FormatError {
    if format > u64::from(FORMAT) {
        FormatError::Newer { record, format }
    } else {
        FormatError::Unknown { record, format }
    }
}

fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    serde_json::to_vec(&Versioned {
        format: FORMAT,
        record,
    })
    .expect("stored records always serialize")
}

/// A room's snapshot as stored.
pub fn encode_snapshot(state: &RoomState) -> Vec<u8> {
    encode(&v5::Snapshot::from(state))
}

/// A room from its stored snapshot, in any format this code knows.
pub fn decode_snapshot(bytes: &[u8]) -> Result<RoomState, FormatError> {
    match format_of(SNAPSHOT, bytes)? {
        None | Some(1) => serde_json::from_slice::<v1::Snapshot>(bytes)
            .map(|v1| RoomState::from(up_from_v2(v2::Snapshot::from(v1))))
            .map_err(|error| parse_error(SNAPSHOT, error)),
        Some(2) => serde_json::from_slice::<v2::Snapshot>(bytes)
            .map(|v2| RoomState::from(up_from_v2(v2)))
            .map_err(|error| parse_error(SNAPSHOT, error)),
        Some(3) => serde_json::from_slice::<v3::Snapshot>(bytes)
            .map(|v3| RoomState::from(up_from_v3(v3)))
            .map_err(|error| parse_error(SNAPSHOT, error)),
        Some(4) => serde_json::from_slice::<v4::Snapshot>(bytes)
            .map(|v4| RoomState::from(up_from_v4(v4)))
            .map_err(|error| parse_error(SNAPSHOT, error)),
        Some(5) => serde_json::from_slice::<v5::Snapshot>(bytes)
            .map(RoomState::from)
            .map_err(|error| parse_error(SNAPSHOT, error)),
        Some(format) => Err(unreadable(SNAPSHOT, format)),
    }
}

/// One event of a meeting's log as stored.
pub fn encode_event(event: &StoredEvent) -> Vec<u8> {
    encode(&v5::Event::from(event))
}

/// One event of a meeting's log from its stored bytes, in any format this code knows.
pub fn decode_event(bytes: &[u8]) -> Result<StoredEvent, FormatError> {
    match format_of(LOG_ENTRY, bytes)? {
        None | Some(1) => serde_json::from_slice::<v1::Event>(bytes)
            .map(|v1| StoredEvent::from(event_up_from_v2(v2::Event::from(v1))))
            .map_err(|error| parse_error(LOG_ENTRY, error)),
        Some(2) => serde_json::from_slice::<v2::Event>(bytes)
            .map(|v2| StoredEvent::from(event_up_from_v2(v2)))
            .map_err(|error| parse_error(LOG_ENTRY, error)),
        Some(3) => serde_json::from_slice::<v3::Event>(bytes)
            .map(|v3| StoredEvent::from(event_up_from_v3(v3)))
            .map_err(|error| parse_error(LOG_ENTRY, error)),
        Some(4) => serde_json::from_slice::<v4::Event>(bytes)
            .map(|v4| StoredEvent::from(event_up_from_v4(v4)))
            .map_err(|error| parse_error(LOG_ENTRY, error)),
        Some(5) => serde_json::from_slice::<v5::Event>(bytes)
            .map(StoredEvent::from)
            .map_err(|error| parse_error(LOG_ENTRY, error)),
        Some(format) => Err(unreadable(LOG_ENTRY, format)),
    }
}

/// A format 2 snapshot carried forward to the newest format, one format at a time.
fn up_from_v2(snapshot: v2::Snapshot) -> v5::Snapshot {
    up_from_v3(v3::Snapshot::from(snapshot))
}

/// A format 3 snapshot carried forward to the newest format, one format at a time.
fn up_from_v3(snapshot: v3::Snapshot) -> v5::Snapshot {
    up_from_v4(v4::Snapshot::from(snapshot))
}

/// A format 4 snapshot carried forward to the newest format.
fn up_from_v4(snapshot: v4::Snapshot) -> v5::Snapshot {
    v5::Snapshot::from(snapshot)
}

/// A format 2 log entry carried forward to the newest format, one format at a time.
fn event_up_from_v2(event: v2::Event) -> v5::Event {
    event_up_from_v3(v3::Event::from(event))
}

/// A format 3 log entry carried forward to the newest format, one format at a time.
fn event_up_from_v3(event: v3::Event) -> v5::Event {
    event_up_from_v4(v4::Event::from(event))
}

/// A format 4 log entry carried forward to the newest format.
fn event_up_from_v4(event: v4::Event) -> v5::Event {
    v5::Event::from(event)
}

#[cfg(test)]
mod tests;
