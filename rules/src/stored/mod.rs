//! The stored forms of a room: its snapshot and the events of a meeting's log, as bytes for the
//! store. Every read and write of stored room data goes through these four functions, so the
//! format has one home; the golden tests (`golden_tests.rs`) hold it to what earlier versions
//! wrote.

use crate::state::{RoomState, StoredEvent};

/// Why stored bytes could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(String);

/// A room's snapshot as stored.
pub fn encode_snapshot(state: &RoomState) -> Vec<u8> {
    serde_json::to_vec(state).expect("room state always serializes")
}

/// A room from its stored snapshot.
pub fn decode_snapshot(bytes: &[u8]) -> Result<RoomState, FormatError> {
    serde_json::from_slice(bytes)
        .map_err(|error| FormatError(format!("room snapshot does not parse: {error}")))
}

/// One event of a meeting's log as stored.
pub fn encode_event(event: &StoredEvent) -> Vec<u8> {
    serde_json::to_vec(event).expect("stored events always serialize")
}

/// One event of a meeting's log from its stored bytes.
pub fn decode_event(bytes: &[u8]) -> Result<StoredEvent, FormatError> {
    serde_json::from_slice(bytes)
        .map_err(|error| FormatError(format!("log entry does not parse: {error}")))
}

#[cfg(test)]
mod tests;
