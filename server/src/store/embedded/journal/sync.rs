//! The journal's background fdatasync ([`super::super::JournalSync::Background`]).

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;

use tracing::warn;

use crate::store::embedded::options::JOURNAL_SYNC_INTERVAL;

/// fdatasyncs the journal every [`JOURNAL_SYNC_INTERVAL`] when it grew, until `stop`'s sender
/// is dropped.
pub(in crate::store::embedded) fn sync_loop(
    files: &[Arc<File>; 2],
    appended: &AtomicU64,
    stop: &std_mpsc::Receiver<()>,
) {
    let mut synced = 0;
    while let Err(std_mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(JOURNAL_SYNC_INTERVAL) {
        let now = appended.load(Ordering::Acquire);
        if now == synced {
            continue;
        }
        // Both files: the one not appended to may have been, since the last sync (costs
        // nothing when it has no unsynced data).
        match files.iter().try_for_each(|file| file.sync_data()) {
            Ok(()) => synced = now,
            Err(error) => warn!(%error, "cannot sync the store's journal; retrying"),
        }
    }
}
