//! The writer's state: the open redb transaction, groups of writes, commits and checkpoints.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::Instant;

use redb::{Database, Durability, WriteTransaction};
use tokio::sync::oneshot;
use tracing::warn;

use super::background::{CommitJob, CommitKind, CommitWindow, lock_ops};
use super::fail_points;
use super::heads::HeadCache;
use super::journal::Journal;
use super::journal::{self, Op};
use super::options::{COMMIT_OPS_MAX, EmbeddedOptions, JournalSync, UNWRITTEN_MAX};
use super::tables::{apply_op, set_last_journal_batch, unavailable, write_checked_all};
use crate::store::StoreError;

/// Queued writes, each with where its caller waits for the answer.
pub(super) type QueuedWrites = Vec<(Op, oneshot::Sender<Result<usize, StoreError>>)>;

/// The writer's state.
pub(super) struct Writer {
    pub(super) db: Arc<Database>,
    pub(super) journal: Journal,
    /// The number of the next journal record.
    pub(super) next_batch: u64,
    pub(super) options: EmbeddedOptions,
    /// The redb transaction holding answered writes not committed yet.
    pub(super) open: Option<OpenTransaction>,
    /// While a background commit runs: the writes made meanwhile.
    pub(super) commit_window: Option<CommitWindow>,
    /// The groups and log heads the writer knows.
    pub(super) head_cache: HeadCache,
    /// Queued writes the running background commit's window does not take, applied after it.
    pub(super) deferred: QueuedWrites,
    /// Set before callers are answered whose writes are in [`Writer::open`] or a window;
    /// cleared after the commit. A read that finds it clear sees every answered write without
    /// asking the writer.
    pub(super) uncommitted: Arc<AtomicBool>,
    /// A redb transaction failed: redb lacks journalled writes until the journal is applied
    /// again ([`Writer::repair`]); nothing is written or committed before that.
    pub(super) broken: bool,
    /// When the last repair failed, if it did.
    pub(super) repair_failed_at: Option<Instant>,
    /// Whether something was written since the last checkpoint began.
    pub(super) dirty: bool,
    pub(super) last_checkpoint: Instant,
    /// Where background commits go: the `store-commit` thread.
    pub(super) commit_jobs: std_mpsc::Sender<CommitJob>,
    /// Dropped with the writer, which stops the syncer.
    pub(super) _stop_syncer: std_mpsc::Sender<()>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("next_batch", &self.next_batch)
            .field("journal_len", &self.journal.len())
            .field("open_ops", &self.open.as_ref().map(|open| open.ops))
            .field(
                "window_ops",
                &self
                    .commit_window
                    .as_ref()
                    .map(|commit_window| commit_window.count),
            )
            .field("broken", &self.broken)
            .field("dirty", &self.dirty)
            .finish_non_exhaustive()
    }
}

/// A redb write transaction the writer keeps open across groups of writes.
pub(super) struct OpenTransaction {
    pub(super) txn: WriteTransaction,
    pub(super) opened: Instant,
    pub(super) ops: usize,
    /// The number of the last journal record it holds, stored as `last_journal_batch` when it
    /// commits.
    pub(super) last_batch: Option<u64>,
    /// Group creations and appends checked, journalled and answered but not yet written into
    /// `txn`: they are written together, up to [`UNWRITTEN_MAX`] at a time, because opening a
    /// table costs redb more than inserting into it. What they change, [`HeadCache`] knows.
    pub(super) unwritten: Vec<Op>,
}

impl OpenTransaction {
    pub(super) fn new(txn: WriteTransaction, ops: usize, last_batch: Option<u64>) -> Self {
        OpenTransaction {
            txn,
            opened: Instant::now(),
            ops,
            last_batch,
            unwritten: Vec::new(),
        }
    }

    /// Writes the unwritten group creations and appends into the transaction.
    pub(super) fn write_unwritten(&mut self) -> Result<(), StoreError> {
        if !self.unwritten.is_empty() {
            write_checked_all(&self.txn, &self.unwritten)?;
            self.unwritten.clear();
        }
        Ok(())
    }

    /// The transaction, ready to commit: with every write it took, the log heads its appends
    /// moved and its last journal record's number.
    pub(super) fn seal(
        mut self,
        head_cache: &mut HeadCache,
    ) -> Result<WriteTransaction, StoreError> {
        self.write_unwritten()?;
        head_cache.store_heads(&self.txn)?;
        if let Some(batch) = self.last_batch {
            set_last_journal_batch(&self.txn, batch)?;
        }
        Ok(self.txn)
    }
}

impl Writer {
    /// When the writer must act even if no command arrives: the open transaction's commit, or
    /// a checkpoint.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let commit = self
            .open
            .as_ref()
            .map(|open| open.opened + self.options.commit_interval);
        let checkpoint = (self.dirty && self.commit_window.is_none())
            .then(|| self.last_checkpoint + self.options.checkpoint_interval);
        commit.into_iter().chain(checkpoint).min()
    }

    /// Commits the open transaction, if any, without an fsync: readers see its writes. Should
    /// it fail, the transaction is marked broken, for [`Writer::repair`].
    pub(super) fn commit(&mut self) -> Result<(), StoreError> {
        if self.broken {
            return Err(StoreError::Unavailable(
                "the store is applying its journal again after a failed transaction".into(),
            ));
        }
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        match open
            .seal(&mut self.head_cache)
            .and_then(|txn| commit(txn, &self.journal.dir))
        {
            Ok(()) => {
                self.uncommitted.store(false, Ordering::Release);
                Ok(())
            }
            Err(error) => {
                warn!(%error, "a store commit failed; applying the journal again");
                self.break_open_transaction();
                Err(error)
            }
        }
    }

    /// What is due now, if anything: a checkpoint (every checkpoint interval while something
    /// was written, or when the journal is full), else a commit of the open transaction (after
    /// the commit interval, or at [`COMMIT_OPS_MAX`]).
    pub(super) fn due(&self) -> Option<CommitKind> {
        if fail_points::fails(fail_points::CHECKPOINT_DUE, &self.journal.dir) {
            return Some(CommitKind::Checkpoint);
        }
        if fail_points::fails(fail_points::COMMIT_DUE, &self.journal.dir) {
            return Some(CommitKind::Visible);
        }
        let checkpoint = self.dirty
            && (self.last_checkpoint.elapsed() >= self.options.checkpoint_interval
                || self.journal.len() >= self.options.checkpoint_journal_bytes);
        if checkpoint {
            return Some(CommitKind::Checkpoint);
        }
        let commit = self.open.as_ref().is_some_and(|open| {
            open.ops >= COMMIT_OPS_MAX || open.opened.elapsed() >= self.options.commit_interval
        });
        commit.then_some(CommitKind::Visible)
    }

    /// Makes every write so far durable in the redb file, then empties the journal, holding
    /// the writer throughout. Never runs during a background commit's window.
    pub(super) fn checkpoint(&mut self) -> Result<(), StoreError> {
        if !self.dirty && self.journal.len() == 0 && self.open.is_none() && !self.broken {
            return Ok(());
        }
        // Counted from the attempt, so that a failing checkpoint is retried after the
        // interval rather than at once.
        self.last_checkpoint = Instant::now();
        if self.broken {
            // A repair ends in a checkpoint.
            return self.repair();
        }
        let sealed = match self.open.take() {
            Some(open) => open.seal(&mut self.head_cache),
            None => self.db.begin_write().map_err(unavailable),
        };
        let committed =
            sealed.and_then(|mut txn| match txn.set_durability(Durability::Immediate) {
                Ok(()) => commit(txn, &self.journal.dir),
                // Dropped here: a live write transaction would keep the repair's from starting.
                Err(error) => Err(unavailable(error)),
            });
        if let Err(error) = committed {
            warn!(%error, "a store checkpoint failed; applying the journal again");
            return self.repair();
        }
        self.uncommitted.store(false, Ordering::Release);
        self.dirty = false;
        // Bounds what it knows by what is written between checkpoints.
        self.head_cache.forget();
        tracing::debug!(
            took_ms = self.last_checkpoint.elapsed().as_millis(),
            journal_bytes = self.journal.len(),
            "store checkpoint, holding the writer"
        );
        // The records are in the durable redb file now (their batch numbers are at most its
        // `last_journal_batch`): if emptying fails, recovery skips them.
        self.journal.empty(0)?;
        self.journal.empty(1)
    }

    /// Applies the group's ops (those a running background commit's window does not take wait for
    /// its end), journals the successful ones and answers every caller.
    pub(super) fn write_queued(&mut self, ops: QueuedWrites) {
        let (now, later): (Vec<_>, Vec<_>) = match &self.commit_window {
            Some(commit_window) => ops.into_iter().partition(|(op, _)| commit_window.takes(op)),
            None => (ops, Vec::new()),
        };
        self.deferred.extend(later);
        if now.is_empty() {
            return;
        }
        let refs: Vec<&Op> = now.iter().map(|(op, _)| op).collect();
        let outcomes = self.write_group(&refs);
        for ((_, done), outcome) in now.into_iter().zip(outcomes) {
            let _ = done.send(outcome);
        }
    }

    /// Applies the group's ops in the open transaction (or a background commit's window) and
    /// journals the successful ones; the outcome of each op.
    pub(super) fn write_group(&mut self, ops: &[&Op]) -> Vec<Result<usize, StoreError>> {
        match self.try_write_group(ops) {
            Ok(outcomes) => outcomes,
            Err(error) => vec![Err(error); ops.len()],
        }
    }

    pub(super) fn try_write_group(
        &mut self,
        ops: &[&Op],
    ) -> Result<Vec<Result<usize, StoreError>>, StoreError> {
        if self.journal.len() >= self.options.checkpoint_journal_bytes.saturating_mul(2) {
            // Checkpoints keep failing: refuse writes rather than grow the journal unbounded.
            return Err(StoreError::Unavailable(
                "the store's journal is full: checkpoints are failing".into(),
            ));
        }
        if self.commit_window.is_some() {
            return self.try_write_group_in_window(ops);
        }
        if self.broken {
            self.repair()?;
        }
        let open = match &mut self.open {
            Some(open) => open,
            None => {
                let mut txn = self.db.begin_write().map_err(unavailable)?;
                txn.set_durability(Durability::None).map_err(unavailable)?;
                self.open.insert(OpenTransaction::new(txn, 0, None))
            }
        };
        // A group of only group creations and appends is checked now and written into the
        // transaction later, with other unwritten ones (see `OpenTransaction::unwritten`); a
        // group with any other operation is applied now, after the unwritten ones. Either way
        // an operation that fails its checks writes nothing and does not affect the others.
        // One that cannot reach the file may have written part of itself: the transaction is
        // dropped and rebuilt from the journal, which holds the earlier groups but not this one.
        let now = ops
            .iter()
            .any(|op| !matches!(op, Op::CreateGroup { .. } | Op::Append { .. }));
        if (now || open.unwritten.len() >= UNWRITTEN_MAX)
            && let Err(error) = open.write_unwritten()
        {
            self.break_open_transaction();
            return Err(error);
        }
        let mut outcomes = Vec::with_capacity(ops.len());
        for op in ops {
            let outcome = if now {
                apply_op(&open.txn, &mut self.head_cache, op)
            } else {
                self.head_cache.check(&open.txn, op).map(|()| 0)
            };
            if let Err(StoreError::Unavailable(error)) = outcome {
                self.break_open_transaction();
                return Err(StoreError::Unavailable(error));
            }
            outcomes.push(outcome);
        }
        let applied = succeeded(ops, &outcomes);
        if applied.is_empty() {
            // Nothing changed; a transaction opened for nothing is dropped.
            if open.ops == 0 {
                self.open = None;
            }
            return Ok(outcomes);
        }
        let batch = self.next_batch;
        self.append_journal_record(batch, &applied)?;
        let open = self.open.as_mut().expect("opened above");
        if !now {
            open.unwritten.extend(applied.iter().map(|&op| op.clone()));
        }
        open.ops += applied.len();
        open.last_batch = Some(batch);
        self.next_batch += 1;
        self.dirty = true;
        self.uncommitted.store(true, Ordering::Release);
        Ok(outcomes)
    }

    /// [`Writer::try_write_group`] while a background commit runs: the window checks the ops, the
    /// successful ones are journalled and kept for redb.
    pub(super) fn try_write_group_in_window(
        &mut self,
        ops: &[&Op],
    ) -> Result<Vec<Result<usize, StoreError>>, StoreError> {
        if self.broken {
            return Err(StoreError::Unavailable(
                "the store is applying its journal again after a failed write".into(),
            ));
        }
        let commit_window = self.commit_window.as_mut().expect("called in a window");
        let outcomes: Vec<_> = ops
            .iter()
            .map(|op| self.head_cache.check(&commit_window.view, op).map(|()| 0))
            .collect();
        let applied = succeeded(ops, &outcomes);
        if applied.is_empty() {
            return Ok(outcomes);
        }
        let batch = self.next_batch;
        // Should this fail, the window has noted writes that are not journalled: the store is
        // broken, and repaired from the journal when the commit ends.
        self.append_journal_record(batch, &applied)?;
        let commit_window = self.commit_window.as_mut().expect("called in a window");
        lock_ops(&commit_window.ops).extend(applied.iter().map(|&op| op.clone()));
        commit_window.count += applied.len();
        commit_window.last_batch = Some(batch);
        self.next_batch += 1;
        self.dirty = true;
        self.uncommitted.store(true, Ordering::Release);
        Ok(outcomes)
    }

    /// fdatasyncs the journal file appended to.
    fn sync_journal(&self) -> std::io::Result<()> {
        if fail_points::fails(fail_points::JOURNAL_SYNC, &self.journal.dir) {
            return Err(fail_points::injected(fail_points::JOURNAL_SYNC));
        }
        self.journal.files[self.journal.active].sync_data()
    }

    /// Appends the journal record `batch` holding `ops` (and fdatasyncs it with
    /// [`JournalSync::Always`]). On failure, the store is broken: redb may hold what the
    /// journal does not.
    pub(super) fn append_journal_record(
        &mut self,
        batch: u64,
        ops: &[&Op],
    ) -> Result<(), StoreError> {
        let record = journal::encode_record(batch, ops.iter().copied());
        fail_points::hold(fail_points::JOURNAL_WRITE_STALL, &self.journal.dir);
        let before = self.journal.lens[self.journal.active];
        if let Err(error) = self.journal.append(&record) {
            self.break_open_transaction();
            return Err(StoreError::Unavailable(format!(
                "cannot write the journal: {error}"
            )));
        }
        if self.options.sync == JournalSync::Always
            && let Err(error) = self.sync_journal()
        {
            // Whether or not the record can be cut off, the repair reads no further than this.
            self.journal.cut_active(before);
            self.break_open_transaction();
            return Err(StoreError::Unavailable(format!(
                "cannot sync the journal: {error}"
            )));
        }
        Ok(())
    }
}

/// Commits `txn`, unless the fail point [`fail_points::COMMIT`] fails it for the store in `dir`.
pub(super) fn commit(txn: WriteTransaction, dir: &Path) -> Result<(), StoreError> {
    if fail_points::fails(fail_points::COMMIT, dir) {
        return Err(unavailable(fail_points::injected(fail_points::COMMIT)));
    }
    txn.commit().map_err(unavailable)
}

/// The ops whose outcome is a success.
pub(super) fn succeeded<'a>(ops: &[&'a Op], outcomes: &[Result<usize, StoreError>]) -> Vec<&'a Op> {
    ops.iter()
        .zip(outcomes)
        .filter(|(_, outcome)| outcome.is_ok())
        .map(|(&op, _)| op)
        .collect()
}
