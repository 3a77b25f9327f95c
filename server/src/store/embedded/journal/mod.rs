//! The embedded store's write-ahead journal: its two files ([`Journal`]), the record format
//! ([`format`]) and the background fdatasync ([`sync`]).

pub(super) mod format;
mod sync;

pub(super) use self::format::{Op, encode_record, read_records};
pub(super) use self::sync::sync_loop;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::fail_points;
use crate::store::StoreError;

/// The journal's two files; appends go to one of them at a time.
pub(super) const JOURNAL_FILES: [&str; 2] = ["roundtable.journal", "roundtable.journal.2"];

/// The journal's two files as the writer appends to them: one at a time, switching at the
/// start of each timed checkpoint (see the module's documentation).
#[derive(Debug)]
pub(super) struct Journal {
    pub(super) files: [Arc<File>; 2],
    pub(super) paths: [PathBuf; 2],
    /// The data directory, which names the store to its fail points.
    pub(super) dir: PathBuf,
    /// The file appended to.
    pub(super) active: usize,
    /// Each file's length.
    pub(super) lens: [u64; 2],
    /// Bytes ever appended; the syncer compares it with what it synced last.
    pub(super) appended: Arc<AtomicU64>,
}

impl Journal {
    /// Opens (or creates) the journal's files in `data_dir`, for appending.
    pub(super) fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let paths = JOURNAL_FILES.map(|name| data_dir.join(name));
        let open = |path: &Path| {
            std::fs::OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(path)
                .map(Arc::new)
                .map_err(|error| {
                    StoreError::Unavailable(format!("cannot open {}: {error}", path.display()))
                })
        };
        let files = [open(&paths[0])?, open(&paths[1])?];
        let len = |index: usize| {
            files[index]
                .metadata()
                .map(|meta| meta.len())
                .map_err(|error| {
                    StoreError::Unavailable(format!(
                        "cannot read the length of {}: {error}",
                        paths[index].display()
                    ))
                })
        };
        let lens = [len(0)?, len(1)?];
        Ok(Journal {
            files,
            paths,
            dir: data_dir.to_path_buf(),
            active: 0,
            lens,
            appended: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Both files' bytes.
    pub(super) fn len(&self) -> u64 {
        self.lens[0] + self.lens[1]
    }

    /// Appends one record to the active file with one `write` (it is opened for appending).
    pub(super) fn append(&mut self, record: &[u8]) -> std::io::Result<()> {
        let active = self.active;
        let before = self.lens[active];
        if fail_points::fails(fail_points::JOURNAL_WRITE, &self.dir) {
            return Err(fail_points::injected(fail_points::JOURNAL_WRITE));
        }
        let result = (&*self.files[active]).write_all(record);
        if result.is_err() {
            // Part of the record may be in the file; cut it off.
            let _ = self.files[active].set_len(before);
        } else {
            self.lens[active] += record.len() as u64;
            self.appended
                .fetch_add(record.len() as u64, Ordering::Release);
        }
        result
    }

    /// Cuts the active file back to `len`, removing the record just appended; the length is
    /// taken as `len` even if that fails, so that a repair reads no further.
    pub(super) fn cut_active(&mut self, len: u64) {
        let _ = self.files[self.active].set_len(len);
        self.lens[self.active] = len;
    }

    /// Empties file `index`.
    pub(super) fn empty(&mut self, index: usize) -> Result<(), StoreError> {
        self.files[index].set_len(0).map_err(|error| {
            StoreError::Unavailable(format!(
                "cannot empty {}: {error}",
                self.paths[index].display()
            ))
        })?;
        self.lens[index] = 0;
        Ok(())
    }

    /// Switches appends to the other file, if it is empty; whether it did.
    pub(super) fn switch(&mut self) -> bool {
        let other = 1 - self.active;
        if self.lens[other] != 0 {
            return false;
        }
        self.active = other;
        true
    }
}
