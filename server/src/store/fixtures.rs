//! Fixtures for the stores' tests, made the same way everywhere: log entries, snapshots, groups,
//! appends and loads against any [`Store`], and opening an embedded store that a dropped
//! predecessor may still hold. The conformance suite ([`conformance`](super::conformance)), the
//! embedded store's own tests and the integration tests under `tests/` use them.
//!
//! Every helper that expects success panics, naming what failed.

use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

use roundtable_protocol::{GroupId, MeetingId, Seq};

use super::{
    AppendBatch, EmbeddedOptions, EmbeddedStore, Fence, LoadedRoom, LogEntry, Snapshot, Store,
    StoreError,
};

/// The log entry at `seq`; its bytes name the seq.
pub fn entry(seq: Seq) -> LogEntry {
    LogEntry {
        seq,
        bytes: format!("event {seq}").into_bytes(),
    }
}

/// The log entries at `seqs`, in order.
pub fn entries(seqs: RangeInclusive<Seq>) -> Vec<LogEntry> {
    seqs.map(entry).collect()
}

/// A snapshot of meeting `meeting_id` at `seq` whose bytes are `text`.
pub fn snapshot(meeting_id: MeetingId, seq: Seq, text: &str) -> Snapshot {
    Snapshot {
        meeting_id,
        seq,
        bytes: text.as_bytes().to_vec(),
    }
}

/// Creates a group with new random ids and its first snapshot, at seq 0 with the bytes `text`;
/// answers the group's and its meeting's ids.
pub async fn create_group(store: &dyn Store, text: &str) -> (GroupId, MeetingId) {
    let group_id = GroupId::random();
    let meeting_id = MeetingId::random();
    store
        .create_group(group_id, &snapshot(meeting_id, 0, text))
        .await
        .expect("create_group on a new id succeeds");
    (group_id, meeting_id)
}

/// Appends `entries` and, if given, `snapshot` to the group's meeting; answers how the store
/// took it.
pub async fn append(
    store: &dyn Store,
    group_id: GroupId,
    meeting_id: MeetingId,
    entries: &[LogEntry],
    snapshot: Option<&Snapshot>,
) -> Result<(), StoreError> {
    store
        .append(AppendBatch {
            group_id,
            meeting_id,
            entries,
            snapshot,
            fence: None,
            log_epoch: None,
        })
        .await
}

/// Like [`append`], under the fence of `owner`'s lease at `epoch`.
pub async fn append_fenced(
    store: &dyn Store,
    group_id: GroupId,
    meeting_id: MeetingId,
    entries: &[LogEntry],
    snapshot: Option<&Snapshot>,
    fence: Fence<'_>,
) -> Result<(), StoreError> {
    store
        .append(AppendBatch {
            group_id,
            meeting_id,
            entries,
            snapshot,
            fence: Some(fence),
            log_epoch: None,
        })
        .await
}

/// The group's room as the store loads it; the group must exist.
pub async fn load(store: &dyn Store, group_id: GroupId) -> LoadedRoom {
    store
        .load_room(group_id)
        .await
        .expect("load_room succeeds")
        .expect("a created group loads")
}

/// The seqs of the log entries loaded with the group's room.
pub async fn tail_seqs(store: &dyn Store, group_id: GroupId) -> Vec<Seq> {
    load(store, group_id)
        .await
        .tail
        .iter()
        .map(|entry| entry.seq)
        .collect()
}

/// Opens the embedded store in `dir`, waiting up to 2 s for a dropped predecessor in this
/// process to let go of its files (its writer thread ends after its last handle is dropped).
pub async fn open_embedded(dir: &Path, options: EmbeddedOptions) -> EmbeddedStore {
    let mut last_error = None;
    for _ in 0..100 {
        match EmbeddedStore::open_with(dir, options.clone()) {
            Ok(store) => return store,
            Err(error) => {
                last_error = Some(error);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    panic!(
        "the store in {} does not open within 2 s: {}",
        dir.display(),
        last_error.map_or_else(String::new, |error| error.to_string())
    );
}
