//! Recovery: applying the journal's records that the redb file lacks, on open and after a failed
//! transaction.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use redb::Database;
use tracing::warn;

use super::heads::HeadCache;
use super::journal::Journal;
use super::journal::{self};
use super::options::REPAIR_RETRY_INTERVAL;
use super::tables::{apply_op, last_journal_batch, set_last_journal_batch, unavailable};
use super::writer::Writer;
use crate::store::StoreError;

/// Applies the journal records in `files` (read up to their `len_max`) that the redb file does
/// not hold yet, in one durable transaction. Returns the number of the last record applied ever.
pub(super) fn replay(db: &Database, files: &[(&File, &Path, u64)]) -> Result<u64, StoreError> {
    let mut records = Vec::new();
    for &(file, path, len_max) in files {
        let mut bytes = Vec::new();
        let mut reader = file;
        // From the start (the writer's appends leave the offset at the end), and no further
        // than the last record whose write succeeded.
        reader
            .seek(std::io::SeekFrom::Start(0))
            .and_then(|_| reader.take(len_max).read_to_end(&mut bytes))
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot read {}: {error}", path.display()))
            })?;
        let read = journal::read_records(&bytes);
        if let Some(damage) = &read.damage {
            warn!(
                journal = %path.display(),
                dropped_bytes = bytes.len() - read.intact_bytes,
                "the journal ends in {damage}: dropped (a write cut short, or damaged on disk)"
            );
        }
        records.extend(read.records);
    }
    let txn = db.begin_write().map_err(unavailable)?;
    let held = last_journal_batch(&txn)?;
    if records.is_empty() {
        return Ok(held);
    }
    // The older file's records come first: every record a file holds is numbered below the
    // ones appended after the switch to the other file.
    records.sort_by_key(|record| record.batch);
    let mut last = held;
    let mut head_cache = HeadCache::default();
    for (index, record) in records.iter().enumerate() {
        if record.batch <= held {
            // Already in the redb file: the journal was not emptied after its checkpoint.
            continue;
        }
        if record.batch != last + 1 {
            warn!(
                expected = last + 1,
                found = record.batch,
                dropped_records = records.len() - index,
                "the journal skips a batch number; the records from there on are older than the \
                 last checkpoint and are ignored"
            );
            break;
        }
        for op in &record.ops {
            match apply_op(&txn, &mut head_cache, op) {
                Ok(_) => {}
                Err(StoreError::Unavailable(error)) => return Err(StoreError::Unavailable(error)),
                // Applied to the state it was first applied to, an op that succeeded then
                // succeeds again; if not, the state differs and the op is skipped, as it would
                // have been refused.
                Err(error) => warn!(batch = record.batch, %error, "a journal op failed on replay"),
            }
        }
        last = record.batch;
    }
    if last > held {
        head_cache.store_heads(&txn)?;
        set_last_journal_batch(&txn, last)?;
        tracing::info!(
            records = last - held,
            from = held + 1,
            through = last,
            "applied the journal's records that the store file lacked"
        );
    }
    // Durable (the default) before the journal is emptied.
    txn.commit().map_err(unavailable)?;
    Ok(last)
}

impl Journal {
    /// Applies the records the redb file does not hold yet (each file read up to its length as
    /// known here: the end of its last complete write), durably, then empties both files and
    /// appends to the first again. Returns the number of the last record applied ever.
    pub(super) fn recover(&mut self, db: &Database) -> Result<u64, StoreError> {
        let last = replay(
            db,
            &[0, 1].map(|index| {
                (
                    &*self.files[index],
                    self.paths[index].as_path(),
                    self.lens[index],
                )
            }),
        )?;
        for index in [0, 1] {
            self.empty(index)?;
            self.files[index].sync_all().map_err(|error| {
                StoreError::Unavailable(format!(
                    "cannot sync {}: {error}",
                    self.paths[index].display()
                ))
            })?;
        }
        self.active = 0;
        Ok(last)
    }
}

impl Writer {
    /// Marks the open transaction as failed: it is dropped, and until [`Writer::repair`]
    /// applies the journal again, reads go through the writer (which repairs first).
    pub(super) fn break_open_transaction(&mut self) {
        self.open = None;
        self.head_cache.forget();
        self.broken = true;
        self.uncommitted.store(true, Ordering::Release);
    }

    /// After a failed redb transaction: drops the open one and applies the journal's records
    /// (up to its last good byte) again to the last durable commit, as on open after a crash.
    /// A failed attempt is retried at most once a second. (After an I/O error redb refuses
    /// every transaction until it is opened again: writes then fail with `storage_unavailable`
    /// and a restart recovers from the journal.) Never runs during a background commit's window.
    pub(super) fn repair(&mut self) -> Result<(), StoreError> {
        self.break_open_transaction();
        if let Some(failed) = self.repair_failed_at
            && failed.elapsed() < REPAIR_RETRY_INTERVAL
        {
            return Err(StoreError::Unavailable(
                "the store cannot apply its journal; restart the server to recover".into(),
            ));
        }
        let last = match self.journal.recover(&self.db) {
            Ok(last) => last,
            Err(error) => {
                self.repair_failed_at = Some(Instant::now());
                return Err(error);
            }
        };
        self.repair_failed_at = None;
        self.next_batch = last + 1;
        self.broken = false;
        self.dirty = false;
        self.last_checkpoint = Instant::now();
        self.uncommitted.store(false, Ordering::Release);
        Ok(())
    }
}
