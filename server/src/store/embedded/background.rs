//! Background commits on the `store-commit` thread, and the window of writes made meanwhile.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redb::{Database, Durability, WriteTransaction};
use tokio::sync::oneshot;
use tracing::warn;

use super::fail_points;
use super::heads::ReadView;
use super::journal::Op;
use super::options::COMMIT_WINDOW_OPS_MAX;
use super::tables::{unavailable, write_checked_all};
use super::writer::{OpenTransaction, Writer, commit};
use crate::store::StoreError;

/// What a background commit does with the open transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CommitKind {
    /// Commits it without an fsync, so that readers see its writes: every commit interval
    /// ([`COMMIT_INTERVAL`](super::COMMIT_INTERVAL) by default).
    Visible,
    /// Commits it durably, then empties the journal file that held its writes: a timed
    /// checkpoint.
    Checkpoint,
}

/// A background commit running on the `store-commit` thread.
pub(super) type RunningCommit = oneshot::Receiver<CommitJobResult>;

/// How a background commit ended: an error if its commit failed.
pub(super) type CommitJobResult = Result<CommitJobDone, StoreError>;

/// The `store-commit` thread after a commit.
pub(super) struct CommitJobDone {
    /// How long the commit took.
    pub(super) took: Duration,
    /// For a checkpoint, whether the journal file it made redundant was emptied.
    pub(super) emptied: bool,
    /// A new transaction holding the window's writes made until the thread took them, and
    /// those writes.
    pub(super) applied: Result<(WriteTransaction, Vec<Op>), StoreError>,
}

/// A background commit, for the `store-commit` thread.
pub(super) struct CommitJob {
    pub(super) kind: CommitKind,
    pub(super) db: Arc<Database>,
    /// The writer's open transaction, sealed (or a new, empty one for a checkpoint).
    pub(super) txn: WriteTransaction,
    /// For a checkpoint: the journal file whose records the commit makes durable, to empty.
    pub(super) older: Option<(Arc<File>, PathBuf)>,
    /// The data directory, which names the store to its fail points.
    pub(super) dir: PathBuf,
    /// The window's writes not yet applied.
    pub(super) ops: Arc<Mutex<Vec<Op>>>,
    pub(super) done: oneshot::Sender<CommitJobResult>,
}

/// The `store-commit` thread: runs the background commits it is sent, one after another, with
/// the idle scheduling policy, until the writer is gone.
pub(super) fn run_commit_jobs(commit_jobs: &std_mpsc::Receiver<CommitJob>) {
    lower_this_thread_s_priority();
    while let Ok(job) = commit_jobs.recv() {
        run_commit_job(job);
    }
}

/// Commits a job's transaction (durably for a checkpoint, which then empties the older journal
/// file), applies the window's writes so far to a new transaction and answers the writer.
pub(super) fn run_commit_job(job: CommitJob) {
    let CommitJob {
        kind,
        db,
        mut txn,
        older,
        dir,
        ops,
        done,
    } = job;
    fail_points::hold(fail_points::BEFORE_BACKGROUND_COMMIT, &dir);
    let started = Instant::now();
    let durability = match kind {
        CommitKind::Visible => Ok(()),
        CommitKind::Checkpoint => txn
            .set_durability(Durability::Immediate)
            .map_err(unavailable),
    };
    if let Err(error) = durability.and_then(|()| commit(txn, &dir)) {
        let _ = done.send(Err(error));
        return;
    }
    let took = started.elapsed();
    // Once a checkpoint's commit is durable, the older file's records are in the redb file
    // (numbered at most its `last_journal_batch`). Emptying a file of megabytes takes
    // milliseconds: done here, not by the writer. Should it fail, recovery skips the records,
    // and the next checkpoint, finding the file not empty, empties both.
    let emptied = older.is_some_and(|(file, path)| match file.set_len(0) {
        Ok(()) => true,
        Err(error) => {
            warn!(%error, journal = %path.display(), "cannot empty a journal file after a checkpoint");
            false
        }
    });
    // Applying the window's writes takes milliseconds too under load (some 6 µs each): done
    // here as well, so that the writer only applies those made meanwhile.
    let applied = apply_commit_window(&db, &ops);
    fail_points::hold(fail_points::AFTER_WINDOW_APPLIED, &dir);
    let _ = done.send(Ok(CommitJobDone {
        took,
        emptied,
        applied,
    }));
}

/// Takes the window's writes made so far and applies them to a new transaction (on the
/// `store-commit` thread, after its commit). They were checked against the state that
/// transaction starts from.
pub(super) fn apply_commit_window(
    db: &Database,
    ops: &Mutex<Vec<Op>>,
) -> Result<(WriteTransaction, Vec<Op>), StoreError> {
    let mut txn = db.begin_write().map_err(unavailable)?;
    txn.set_durability(Durability::None).map_err(unavailable)?;
    let taken = std::mem::take(&mut *lock_ops(ops));
    write_checked_all(&txn, &taken)?;
    Ok((txn, taken))
}

/// The window's writes not yet applied (its lock is never held across anything that can
/// panic, but a poisoned lock still holds them whole).
pub(super) fn lock_ops(ops: &Mutex<Vec<Op>>) -> std::sync::MutexGuard<'_, Vec<Op>> {
    ops.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Gives the calling thread, the `store-commit` thread, the idle scheduling policy
/// (`SCHED_IDLE`): it runs only on CPU time the rooms leave over. It mostly waits for the disk,
/// and what it does on the CPU (committing, and for a checkpoint writing out the pages changed
/// since the last one, tens of milliseconds under load) is not urgent, whereas the rooms
/// sharing the core are. A thread at nice 19 still ran for about a millisecond at a time before
/// a woken room got the core, and under load kept the rooms' latency at 20 to 40 ms for a whole
/// checkpoint; a room that wakes preempts an idle-policy thread at once (BENCHMARKS.md). (On
/// Linux the policy is per thread.)
pub(super) fn lower_this_thread_s_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        if let Err(error) = set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
        ) {
            tracing::debug!(
                ?error,
                "cannot give the store's commit thread the idle policy"
            );
        }
    }
}

/// How [`Writer::begin_background`] went.
pub(super) enum BackgroundStart {
    /// The commit runs on the `store-commit` thread; writes go on in the window.
    Running(RunningCommit),
    /// No window can be opened (nothing to commit, a transaction failed, the other journal file
    /// still holds records, or the thread is gone): see
    /// [`commit_in_place`](super::task::commit_in_place).
    InPlace,
}

/// While a background commit holds redb's write transaction, the writes it cannot take yet.
/// Creating a group and appending to a log are checked here, as
/// [`apply_op`](super::tables::apply_op) would check them after the commit: by the writer's
/// [`HeadCache`](super::heads::HeadCache), which knows every group and log head the committing
/// transaction changed and reads the rest from the state before it (a read transaction opened as it
/// began). Other operations wait for the end.
pub(super) struct CommitWindow {
    pub(super) kind: CommitKind,
    pub(super) view: ReadView,
    /// The window's journalled writes in order, not yet in redb. Once the commit is done, the
    /// `store-commit` thread takes those made so far and applies them to a new transaction;
    /// the writer applies the rest to it when it ends the window.
    pub(super) ops: Arc<Mutex<Vec<Op>>>,
    /// The writes the window took, all told.
    pub(super) count: usize,
    /// The number of the window's last journal record.
    pub(super) last_batch: Option<u64>,
}

impl CommitWindow {
    /// Whether the window decides `op` now (rather than after the commit).
    pub(super) fn takes(&self, op: &Op) -> bool {
        matches!(op, Op::CreateGroup { .. } | Op::Append { .. })
            && self.count < COMMIT_WINDOW_OPS_MAX
    }
}

impl Writer {
    /// Begins a background commit: hands the open transaction (sealed) to the `store-commit`
    /// thread and opens the window. A checkpoint also switches the journal to its other file,
    /// and commits an empty transaction when none is open (which makes every earlier commit
    /// durable with it).
    pub(super) fn begin_background(&mut self, kind: CommitKind) -> BackgroundStart {
        let checkpoint = kind == CommitKind::Checkpoint;
        if self.broken
            || (!checkpoint && self.open.is_none())
            || (checkpoint && self.journal.lens[1 - self.journal.active] != 0)
        {
            return BackgroundStart::InPlace;
        }
        // The state the open transaction starts from. What it changed, `head_cache` knows: nothing
        // is forgotten while a transaction is open.
        let view = match ReadView::open(&self.db) {
            Ok(view) => view,
            Err(error) => {
                warn!(%error, "cannot read the store for a commit's window");
                return BackgroundStart::InPlace;
            }
        };
        let open = self.open.take();
        let ops_before = open.as_ref().map_or(0, |open| open.ops);
        let txn = match open {
            Some(open) => open.seal(&mut self.head_cache),
            None => self.db.begin_write().map_err(unavailable),
        };
        let txn = match txn {
            Ok(txn) => txn,
            Err(error) => {
                warn!(%error, "cannot seal the store's open transaction; applying the journal again");
                self.break_open_transaction();
                return BackgroundStart::InPlace;
            }
        };
        let older = if checkpoint {
            self.journal.switch();
            self.last_checkpoint = Instant::now();
            self.dirty = false;
            let older = 1 - self.journal.active;
            Some((
                Arc::clone(&self.journal.files[older]),
                self.journal.paths[older].clone(),
            ))
        } else {
            None
        };
        let ops = Arc::new(Mutex::new(Vec::new()));
        self.commit_window = Some(CommitWindow {
            kind,
            view,
            ops: Arc::clone(&ops),
            count: 0,
            last_batch: None,
        });
        let (done, ended) = oneshot::channel();
        let job = CommitJob {
            kind,
            db: Arc::clone(&self.db),
            txn,
            older,
            dir: self.journal.dir.clone(),
            ops,
            done,
        };
        if let Err(std_mpsc::SendError(job)) = self.commit_jobs.send(job) {
            warn!("the store's commit thread is gone; committing in place");
            // Nothing was written in the window yet: back to the state before it, the sealed
            // transaction open again (what sealing wrote into it is true still).
            self.commit_window = None;
            if checkpoint {
                self.journal.active = 1 - self.journal.active;
                self.dirty = true;
            }
            self.open = Some(OpenTransaction::new(job.txn, ops_before, None));
            return BackgroundStart::InPlace;
        }
        BackgroundStart::Running(ended)
    }

    /// Ends the window of a background commit whose thread ended with `result`: on success,
    /// notes a checkpoint's older journal file as emptied (the thread did that) and makes the
    /// transaction holding the window's writes the open one. Whether a repair is due (the
    /// commit or this failed).
    pub(super) fn end_commit_window(&mut self, result: CommitJobResult) -> bool {
        let Some(commit_window) = self.commit_window.take() else {
            return self.broken;
        };
        let checkpoint = commit_window.kind == CommitKind::Checkpoint;
        let end = match result {
            Ok(end) => end,
            Err(error) => {
                warn!(%error, kind = ?commit_window.kind, "a store commit failed; applying the journal again");
                self.break_open_transaction();
                return true;
            }
        };
        if self.broken {
            return true;
        }
        let ending = Instant::now();
        if checkpoint {
            let older = 1 - self.journal.active;
            tracing::debug!(
                took_ms = end.took.as_millis(),
                journal_bytes = self.journal.lens[older],
                window_ops = commit_window.count,
                "store checkpoint"
            );
            if end.emptied {
                self.journal.lens[older] = 0;
            }
        } else {
            tracing::trace!(
                took_us = end.took.as_micros(),
                window_ops = commit_window.count,
                "store commit"
            );
        }
        let applied = end.applied.and_then(|(txn, taken)| {
            // Checked already, against the state this transaction starts from.
            let rest = std::mem::take(&mut *lock_ops(&commit_window.ops));
            write_checked_all(&txn, &rest)?;
            Ok((txn, taken, rest))
        });
        let (txn, taken, rest) = match applied {
            Ok(applied) => applied,
            Err(error) => {
                warn!(%error, "cannot apply a commit commit_window's writes; applying the journal again");
                self.break_open_transaction();
                return true;
            }
        };
        if checkpoint {
            // Everything before the window is durable now: what the writer knows is bounded by
            // what was written since.
            self.head_cache.forget();
            for op in taken.iter().chain(&rest) {
                self.head_cache.note(op);
            }
        }
        let Some(last_batch) = commit_window.last_batch else {
            // Nothing was written meanwhile: every answered write is committed.
            self.uncommitted.store(false, Ordering::Release);
            return false;
        };
        tracing::trace!(
            by_the_commit_thread = taken.len(),
            here = rest.len(),
            here_us = ending.elapsed().as_micros(),
            "store commit's commit_window applied"
        );
        self.open = Some(OpenTransaction::new(
            txn,
            commit_window.count,
            Some(last_batch),
        ));
        false
    }
}
