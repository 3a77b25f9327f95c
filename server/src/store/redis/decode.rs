//! Log entries and snapshots, from what Redis answers.

use roundtable_protocol::{MeetingId, Seq};

use crate::store::{LogEntry, Snapshot, StoreError};

/// The stream field holding an entry's bytes.
const ENTRY_FIELD: &str = "e";

pub(super) fn decode_entry(
    key: &str,
    id: &str,
    fields: Vec<Vec<u8>>,
) -> Result<LogEntry, StoreError> {
    let seq = id
        .strip_suffix("-0")
        .and_then(|seq| seq.parse::<Seq>().ok())
        .ok_or_else(|| {
            StoreError::Corrupt(format!("stream {key} has entry id {id}, not <seq>-0"))
        })?;
    let mut fields = fields.into_iter();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        if name == ENTRY_FIELD.as_bytes() {
            return Ok(LogEntry { seq, bytes: value });
        }
    }
    Err(StoreError::Corrupt(format!(
        "stream {key} entry {id} has no field {ENTRY_FIELD:?}"
    )))
}

pub(super) fn decode_snapshot(
    key: &str,
    fields: Vec<Option<Vec<u8>>>,
) -> Result<Option<Snapshot>, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("snapshot {key}: {what}"));
    let [meeting, seq, data]: [Option<Vec<u8>>; 3] = fields
        .try_into()
        .map_err(|_| corrupt("HMGET did not return three fields"))?;
    let (meeting, seq, data) = match (meeting, seq, data) {
        (None, None, None) => return Ok(None),
        (Some(meeting), Some(seq), Some(data)) => (meeting, seq, data),
        _ => return Err(corrupt("some of the fields meeting, seq, data are missing")),
    };
    let meeting_id = std::str::from_utf8(&meeting)
        .ok()
        .and_then(|meeting| meeting.parse::<MeetingId>().ok())
        .ok_or_else(|| corrupt("field meeting is not a meeting id"))?;
    let seq = std::str::from_utf8(&seq)
        .ok()
        .and_then(|seq| seq.parse::<Seq>().ok())
        .ok_or_else(|| corrupt("field seq is not a number"))?;
    Ok(Some(Snapshot {
        meeting_id,
        seq,
        bytes: data,
    }))
}
