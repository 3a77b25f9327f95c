//! The embedded store: one redb file and a write-ahead journal under the data directory.
//!
//! Writes go through a single writer: a caller applies its operation itself when the writer is
//! free, otherwise it queues for the writer task, which applies the queued operations together
//! (group commit). Per group it appends one record with the group's successful operations to
//! the journal (one `write` to a file opened for appending: the data is then with the operating
//! system and survives a crash of this process, even `kill -9`) and answers the callers. The
//! journal, not redb, is what makes a write stored: the redb transaction stays open for the
//! groups of up to [`COMMIT_INTERVAL`] and is then committed *without* an fsync
//! (`Durability::None`: in-process), together with the number of the last journal record it
//! holds, so that a busy store pays redb's commit about once a second rather than once per
//! group. Group creations and appends, checked against the groups and log heads the writer
//! keeps in memory, are written into the transaction a few at a time ([`UNWRITTEN_MAX`]),
//! which opens each table once for all of them. Reads run on tokio's blocking pool in their own
//! read transactions; a read that finds answered writes not yet committed has the writer commit
//! them first (in place, or after the running background commit), so every read sees every
//! answered write.
//!
//! Durability against power loss: with [`JournalSync::Background`] a background thread
//! fdatasyncs the journal every [`JOURNAL_SYNC_INTERVAL`] when it grew, so a power loss can
//! lose at most the writes of about that long; with [`JournalSync::Always`] the writer
//! fdatasyncs the journal before answering. A *checkpoint* commits redb with
//! `Durability::Immediate`, which makes every earlier commit durable, and then empties the
//! journal: every [`EmbeddedOptions::checkpoint_interval`] when something was written, when the
//! journal outgrows [`EmbeddedOptions::checkpoint_journal_bytes`], on [`Store::flush`] and when
//! the last handle is dropped.
//!
//! Commits run in the background: the writer hands its open transaction to the `store-commit`
//! thread, which runs with the idle scheduling policy so that its CPU work does not take the
//! core from the rooms, and writes do not wait for it. A checkpoint's commit writes out every
//! page changed since the last one and fsyncs (tens of milliseconds under load); an ordinary
//! commit a fraction of that. While the thread holds redb's only write transaction, creating
//! groups and appending to logs go on: each is checked against the state before the commit
//! plus what the writer knows the committing transaction and the writes since changed
//! ([`Window`]), journalled and answered. Once committed, the thread applies the window's
//! writes so far to a new redb transaction, and the writer applies the few made meanwhile to it
//! and carries on with it. Rarer operations wait for the commit's end. The journal is two
//! files, `roundtable.journal` and `roundtable.journal.2`: a timed checkpoint switches the
//! appends to the other (empty) file as it begins, and its thread empties the older one once
//! the commit is durable.
//!
//! Recovery, on open: redb comes back at its last durable commit, whose `last_journal_batch`
//! says which journal records it holds already. The records of both files after it are applied
//! again, in the order of their numbers, to exactly the state they were first applied to, so
//! they give the same result; then a checkpoint. Reading stops at a gap in the batch numbers
//! (records left from before an earlier checkpoint) and, in each file, at the first record that
//! is cut short or damaged (the tail of a write that never completed), with a warning. The
//! running store repairs itself the same way when a redb transaction fails after its writes were
//! answered: the open transaction is dropped and the journal's records are applied again to the
//! last commit. (After an I/O error redb refuses further transactions until it is opened again;
//! then writes fail until a restart, which recovers from the journal.)
//!
//! Tables:
//! - `groups`: group id -> the latest snapshot, encoded as meeting id (16 bytes, big endian),
//!   seq (8 bytes, big endian), then the snapshot bytes;
//! - `log`: (meeting id, seq) -> event bytes;
//! - `log_heads`: meeting id -> the last seq ever logged (kept when the log is trimmed),
//!   written when a transaction commits (the writer's [`Known`] has the newer ones);
//! - `ended_meetings`: (ended at, in Unix ms; meeting id) -> nothing, the meetings whose logs
//!   are due for trimming, in the order they ended; `meeting_ended_at`: meeting id -> the time
//!   it ended, so that recording an end twice keeps the first;
//! - `meta`: `last_journal_batch` -> the number of the last journal record applied.
//!
//! Ownership leases ([`Store::take_lease`]) live in memory only. redb locks its file, so no
//! second process can open the same store (nor its journal, which is opened after the file):
//! within one process every lease is taken by the same owner and is therefore always granted.
//! The in-memory leases still keep the trait's semantics (another owner is refused until the
//! lease expires or is released), so that the conformance suite checks both stores the same
//! way.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redb::{
    Database, Durability, ReadOnlyTable, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};
use roundtable_protocol::{GroupId, MeetingId, Seq, UnixMs};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use super::journal::{self, Op};
use super::{AppendBatch, LoadedRoom, LogEntry, Snapshot, Store, StoreError, check_batch_shape};
use crate::clock::sleep_until_or_never;

const GROUPS: TableDefinition<u128, &[u8]> = TableDefinition::new("groups");
const LOG: TableDefinition<(u128, u64), &[u8]> = TableDefinition::new("log");
const LOG_HEADS: TableDefinition<u128, u64> = TableDefinition::new("log_heads");
const ENDED_MEETINGS: TableDefinition<(u64, u128), ()> = TableDefinition::new("ended_meetings");
const MEETING_ENDED_AT: TableDefinition<u128, u64> = TableDefinition::new("meeting_ended_at");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The `meta` key of the number of the last journal record applied to the redb file.
const LAST_JOURNAL_BATCH: &str = "last_journal_batch";

/// The store's files in the data directory.
const DB_FILE: &str = "roundtable.redb";
/// The journal's two files; appends go to one of them at a time.
const JOURNAL_FILES: [&str; 2] = ["roundtable.journal", "roundtable.journal.2"];

/// Leases held in memory past which expired ones are swept out on the next take. Live leases
/// are bounded by the live rooms, which release theirs when they unload.
const LEASES_SWEEP_AT: usize = 1024;

/// The most write operations applied and journalled as one group. Bounds the time a caller
/// waits behind others and the size of one journal record.
const GROUP_COMMIT_OPS_MAX: usize = 256;

/// The most write operations waiting for the writer; callers beyond wait for a slot. Also the
/// most operations held back until a running background commit ends.
const WRITE_QUEUE_MAX: usize = 4096;

/// The most operations a background commit's [`Window`] takes; later ones wait for its end.
const WINDOW_OPS_MAX: usize = 4096;

/// Default time answered writes wait at most in the writer's open redb transaction before it
/// has them committed (a read has them committed at once). They are in the journal already. Longer saves
/// redb's copying of pages changed again after a commit; shorter keeps each commit, and the
/// window of writes made during it, small (see ARCHITECTURE.md, "Persistence").
pub const COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// The most group creations and appends the open transaction holds unwritten (see
/// [`OpenTransaction::unwritten`]).
const UNWRITTEN_MAX: usize = 16;

/// The operations the open redb transaction may hold before it commits, whatever its age (it
/// can exceed this by one group).
const COMMIT_OPS_MAX: usize = 4096;

/// The least time between two attempts to repair the store after a failed transaction.
const REPAIR_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// With [`JournalSync::Background`], how often the journal is fdatasynced when it grew: the
/// most recent writes a power loss (not a crash of the process) can lose.
pub const JOURNAL_SYNC_INTERVAL: Duration = Duration::from_millis(100);

/// Default time between two checkpoints while something is written.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(30);

/// Default journal size past which the writer checkpoints at once; bounds the journal (it can
/// exceed this by one group commit's record; should checkpoints keep failing, writes are refused
/// at twice this) and the work of a recovery.
pub const CHECKPOINT_JOURNAL_BYTES: u64 = 64 * 1024 * 1024;

/// Default memory for redb's own cache of the file's pages, on top of the kernel's page cache,
/// which holds the file anyway: a page redb does not keep costs a `pread` from memory when it
/// is needed again. At most half of it holds pages written since the last checkpoint; more are
/// written out to the file early (without an fsync: the journal keeps them safe), in bursts
/// during commits when the cache is too small for the pages a commit changes. redb's own
/// default is 1 GiB, which a server would fill with stored data it rarely reads again.
pub const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// When the journal is fdatasynced, that is, what a power loss or kernel crash can lose. A
/// crash of the process loses no answered write either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum JournalSync {
    /// Every 100 ms in a background thread, when the journal grew: a power loss loses at most
    /// the writes of the last ~100 ms.
    #[default]
    Background,
    /// Before answering each group commit's callers: a power loss loses no answered write, at
    /// the cost of an fdatasync in every write's latency.
    Always,
}

/// How an [`EmbeddedStore`] syncs and checkpoints.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    pub sync: JournalSync,
    /// The longest answered writes wait in the open transaction before it is committed.
    pub commit_interval: Duration,
    /// Time between two checkpoints while something is written.
    pub checkpoint_interval: Duration,
    /// Journal size past which the writer checkpoints at once.
    pub checkpoint_journal_bytes: u64,
    /// Memory for redb's cache of the file's pages (see [`CACHE_BYTES`]).
    pub cache_bytes: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            sync: JournalSync::default(),
            commit_interval: COMMIT_INTERVAL,
            checkpoint_interval: CHECKPOINT_INTERVAL,
            checkpoint_journal_bytes: CHECKPOINT_JOURNAL_BYTES,
            cache_bytes: CACHE_BYTES,
        }
    }
}

/// A store in one redb file and its journal. Cheap to clone; all clones share the files and
/// the writer.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    commands: mpsc::Sender<Command>,
    /// The writer's [`Writer::uncommitted`].
    uncommitted: Arc<AtomicBool>,
    /// The writer itself, for callers that apply their write inline.
    writer: SharedWriter,
    /// Wakes the writer task when an inline write needs it (see [`Writer::needs_attention`]).
    attention: Arc<tokio::sync::Notify>,
    /// Ownership leases: group -> (owner, expiry).
    leases: Arc<Mutex<HashMap<GroupId, (String, Instant)>>>,
}

/// What the writer is asked to do.
#[derive(Debug)]
enum Command {
    /// Apply an operation; the answer is the count of meetings trimmed for
    /// [`Op::TrimEnded`], 0 for the others.
    Write {
        op: Op,
        done: oneshot::Sender<Result<usize, StoreError>>,
    },
    /// Commit the open transaction now, so that a read sees every answered write.
    Commit {
        done: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Checkpoint now.
    Checkpoint {
        done: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Fault injection for the tests: act as if the open transaction had failed.
    #[cfg(test)]
    FailOpenTransaction,
    /// For the tests: begin a background commit of `kind` now (as soon as none runs), whose
    /// commit waits for a message on `gate`; `started` answers whether it runs with a window.
    #[cfg(test)]
    BeginBackground {
        kind: CommitKind,
        gate: std_mpsc::Receiver<Gate>,
        started: oneshot::Sender<bool>,
    },
}

/// For the tests: what a held background commit's thread does next.
#[cfg(test)]
#[derive(Debug)]
enum Gate {
    /// Go on as usual.
    Release,
    /// Fail instead of the commit.
    Fail,
    /// Go on, and once the window's writes so far are applied, say so and wait for another
    /// message (or the sender's end) before answering the writer.
    ReleaseThenHoldApplied(oneshot::Sender<()>),
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `data_dir` with the default options, creating the
    /// directory if needed.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, EmbeddedOptions::default())
    }

    /// Opens (or creates) the store files `roundtable.redb` and `roundtable.journal` in
    /// `data_dir`, creating the directory if needed, and applies the journal's records that the
    /// redb file does not hold yet (after a crash).
    pub fn open_with(data_dir: &Path, options: EmbeddedOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|error| {
            StoreError::Unavailable(format!("cannot create {}: {error}", data_dir.display()))
        })?;
        let path = data_dir.join(DB_FILE);
        let db = Database::builder()
            .set_cache_size(options.cache_bytes)
            .create(&path)
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot open {}: {error}", path.display()))
            })?;
        let db = Arc::new(db);
        // Create the tables up front so that read transactions always find them.
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(GROUPS).map_err(unavailable)?;
        txn.open_table(LOG).map_err(unavailable)?;
        txn.open_table(LOG_HEADS).map_err(unavailable)?;
        txn.open_table(ENDED_MEETINGS).map_err(unavailable)?;
        txn.open_table(MEETING_ENDED_AT).map_err(unavailable)?;
        txn.open_table(META).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;

        let mut journal = Journal::open(data_dir)?;
        let last_batch = journal.recover(&db)?;

        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            StoreError::Unavailable("the embedded store opens inside a tokio runtime".into())
        })?;
        let (commands, queue) = mpsc::channel(WRITE_QUEUE_MAX);
        // The syncer stops when the writer drops its end of this channel.
        let (stop_syncer, syncer_stop) = std_mpsc::channel::<()>();
        if options.sync == JournalSync::Background {
            let files = journal.files.clone();
            let appended = Arc::clone(&journal.appended);
            std::thread::Builder::new()
                .name("journal-sync".into())
                .spawn(move || sync_loop(&files, &appended, &syncer_stop))
                .map_err(|error| {
                    StoreError::Unavailable(format!("cannot start the journal syncer: {error}"))
                })?;
        }
        // The background thread stops when the writer drops its end of this channel.
        let (jobs, jobs_queue) = std_mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("store-commit".into())
            .spawn(move || run_background_jobs(&jobs_queue))
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot start the store's commit thread: {error}"))
            })?;
        let uncommitted = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            db: Arc::clone(&db),
            journal,
            next_batch: last_batch + 1,
            options,
            open: None,
            window: None,
            known: Known::default(),
            deferred: Vec::new(),
            uncommitted: Arc::clone(&uncommitted),
            broken: false,
            repair_failed_at: None,
            dirty: false,
            last_checkpoint: Instant::now(),
            jobs,
            #[cfg(test)]
            gate: None,
            _stop_syncer: stop_syncer,
        };
        let writer = Arc::new(Mutex::new(writer));
        let attention = Arc::new(tokio::sync::Notify::new());
        runtime.spawn(run_writer(
            Arc::clone(&writer),
            queue,
            Arc::clone(&attention),
        ));
        Ok(EmbeddedStore {
            db,
            commands,
            uncommitted,
            writer,
            attention,
            leases: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// Queues a command for the writer, waiting for a slot when the queue is full.
    async fn send(&self, command: Command) -> Result<(), StoreError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))
    }

    /// Applies a write. When the writer is free (not repairing, say), the journal needs no
    /// fsync per write and a running background commit's window (if any) takes the op, the
    /// caller applies it inline, under the writer's lock: a round trip through the writer task
    /// would cost two more turns of the runtime's queue for every action, and a room handles
    /// its actions one after another. Otherwise it queues for the writer task.
    async fn write(&self, op: Op) -> Result<usize, StoreError> {
        if let Ok(mut writer) = self.writer.try_lock()
            && writer.writes_inline()
            && writer
                .window
                .as_ref()
                .is_none_or(|window| window.takes(&op))
        {
            let had_open_transaction = writer.open.is_some();
            let outcome = writer
                .apply_group(&[&op])
                .pop()
                .expect("one outcome per op");
            if writer.needs_attention(had_open_transaction) || writer.broken {
                self.attention.notify_one();
            }
            return outcome;
        }
        let (done, result) = oneshot::channel();
        self.send(Command::Write { op, done }).await?;
        result
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))?
    }

    /// Runs `read` on the blocking pool, in sight of every answered write: writes still in the
    /// writer's open transaction are committed first.
    async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        if self.uncommitted.load(Ordering::Acquire) {
            let (done, result) = oneshot::channel();
            self.send(Command::Commit { done }).await?;
            result
                .await
                .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))??;
        }
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || read(&db))
            .await
            .map_err(|_| StoreError::Unavailable("read task failed".into()))?
    }
}

fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn encode_snapshot(snapshot: &Snapshot) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(24 + snapshot.bytes.len());
    bytes.extend_from_slice(&snapshot.meeting_id.as_u128().to_be_bytes());
    bytes.extend_from_slice(&snapshot.seq.to_be_bytes());
    bytes.extend_from_slice(&snapshot.bytes);
    bytes
}

fn decode_snapshot(bytes: &[u8]) -> Result<Snapshot, StoreError> {
    if bytes.len() < 24 {
        return Err(StoreError::Corrupt(
            "snapshot record shorter than its header".into(),
        ));
    }
    let (meeting, rest) = bytes.split_at(16);
    let (seq, body) = rest.split_at(8);
    let meeting = u128::from_be_bytes(meeting.try_into().expect("split at 16"));
    let seq = u64::from_be_bytes(seq.try_into().expect("split at 8"));
    Ok(Snapshot {
        meeting_id: MeetingId(uuid::Uuid::from_u128(meeting)),
        seq,
        bytes: body.to_vec(),
    })
}

fn last_journal_batch(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let meta = txn.open_table(META).map_err(unavailable)?;
    Ok(meta
        .get(LAST_JOURNAL_BATCH)
        .map_err(unavailable)?
        .map_or(0, |value| value.value()))
}

fn set_last_journal_batch(txn: &WriteTransaction, batch: u64) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META).map_err(unavailable)?;
    meta.insert(LAST_JOURNAL_BATCH, batch)
        .map_err(unavailable)?;
    Ok(())
}

/// Applies the journal records in `files` (read up to their `len_max`) that the redb file does
/// not hold yet, in one durable transaction. Returns the number of the last record applied ever.
fn replay(db: &Database, files: &[(&File, &Path, u64)]) -> Result<u64, StoreError> {
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
    let mut known = Known::default();
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
            match apply_op(&txn, &mut known, op) {
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
        known.store_heads(&txn)?;
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

/// The writer, shared by its task and the callers that write inline (see
/// [`EmbeddedStore::write`]).
type SharedWriter = Arc<Mutex<Writer>>;

fn lock(writer: &SharedWriter) -> std::sync::MutexGuard<'_, Writer> {
    writer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `work` on the writer on the blocking pool (holding its lock, so inline writes queue
/// meanwhile); `None` when the runtime is shutting down and the work did not run, or it
/// panicked: the writer is then considered gone.
async fn blocking<T: Send + 'static>(
    writer: &SharedWriter,
    work: impl FnOnce(&mut Writer) -> T + Send + 'static,
) -> Option<T> {
    let writer = Arc::clone(writer);
    let ran = tokio::task::spawn_blocking(move || work(&mut lock(&writer))).await;
    match ran {
        Ok(result) => Some(result),
        Err(error) => {
            if error.is_panic() {
                tracing::error!(%error, "the store's writer failed; writes are refused until a restart");
            }
            None
        }
    }
}

/// The writer task: applies queued writes in groups, has the open transaction committed when
/// it is due, runs checkpoints, until every sender is gone; then checkpoints a last time.
///
/// A task on the runtime, not a thread of its own: applying a group to the open redb
/// transaction and appending its journal record (a `write` into the page cache) take
/// microseconds, and doing them on the runtime spares every write two context switches and a
/// cross-thread wake-up. Most writes do not even come here: the caller applies them itself
/// when the writer is free. What can take milliseconds runs elsewhere: the commits of the open
/// transaction, timed checkpoints' included, on the `store-commit` thread at the lowest
/// priority, while writes go on in a [`Window`]; and on the blocking pool, while the writes
/// behind them wait in the queue, every group with [`JournalSync::Always`], repairs, and the
/// checkpoints of [`Store::flush`] and of the end.
async fn run_writer(
    writer: SharedWriter,
    mut queue: mpsc::Receiver<Command>,
    attention: Arc<tokio::sync::Notify>,
) {
    let mut background: Option<BackgroundTask> = None;
    let mut waiting = Waiting::default();
    #[cfg(test)]
    let mut forced: Option<(CommitKind, oneshot::Sender<bool>)> = None;
    loop {
        let (deadline, accepting) = {
            let state = lock(&writer);
            (
                state.next_deadline(),
                state.deferred.len() < WRITE_QUEUE_MAX,
            )
        };
        let event = tokio::select! {
            received = queue.recv(), if accepting => match received {
                Some(command) => Some(command),
                None => break,
            },
            ended = async { background.as_mut().expect("guarded by is_some").await },
                if background.is_some() =>
            {
                background = None;
                if !end_background(&writer, ended, &mut waiting).await {
                    return;
                }
                None
            }
            () = attention.notified() => None,
            () = sleep_until_or_never(deadline.map(Into::into)) => None,
        };
        let mut after_group = None;
        match event {
            Some(Command::Write { op, done }) => {
                let mut ops = vec![(op, done)];
                while ops.len() < GROUP_COMMIT_OPS_MAX {
                    match queue.try_recv() {
                        Ok(Command::Write { op, done }) => ops.push((op, done)),
                        Ok(other) => {
                            after_group = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                if !apply_queued(&writer, ops).await {
                    return;
                }
            }
            Some(other) => after_group = Some(other),
            None => {}
        }
        match after_group {
            Some(Command::Commit { done }) if background.is_some() => waiting.commits.push(done),
            // In place: a read waits for it, and the idle-policy thread can be slow to get the
            // core when the rooms keep it busy.
            Some(Command::Commit { done }) => {
                let Some(result) = commit_or_repair(&writer).await else {
                    return;
                };
                let _ = done.send(result);
            }
            Some(Command::Checkpoint { done }) if background.is_some() => {
                waiting.checkpoints.push(done);
            }
            Some(Command::Checkpoint { done }) => {
                let Some(result) = blocking(&writer, Writer::checkpoint).await else {
                    return;
                };
                let _ = done.send(result);
            }
            #[cfg(test)]
            Some(Command::FailOpenTransaction) => lock(&writer).break_open_transaction(),
            #[cfg(test)]
            Some(Command::BeginBackground {
                kind,
                gate,
                started,
            }) => {
                lock(&writer).gate = Some(gate);
                forced = Some((kind, started));
            }
            Some(Command::Write { .. }) | None => {}
        }
        if background.is_some() {
            // One background commit at a time: the next is looked at when it ends.
            continue;
        }
        let due = lock(&writer).due();
        #[cfg(test)]
        let (due, forced_started) = match forced.take() {
            Some((kind, started)) => (Some(kind), Some(started)),
            None => (due, None),
        };
        let Some(kind) = due else {
            continue;
        };
        let begun = lock(&writer).begin_background(kind);
        #[cfg(test)]
        if let Some(started) = forced_started {
            let _ = started.send(matches!(begun, Begun::Running(_)));
        }
        match begun {
            Begun::Running(task) => background = Some(task),
            Begun::InPlace => {
                if !commit_in_place(&writer, kind).await {
                    return;
                }
            }
        }
    }
    if let Some(task) = background.take()
        && !end_background(&writer, task.await, &mut waiting).await
    {
        return;
    }
    if let Some(Err(error)) = blocking(&writer, Writer::checkpoint).await {
        warn!(%error, "final store checkpoint failed; the next start replays the journal");
    }
}

/// What a background commit does with the open transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommitKind {
    /// Commits it without an fsync, so that readers see its writes: every commit interval
    /// ([`COMMIT_INTERVAL`] by default).
    Visible,
    /// Commits it durably, then empties the journal file that held its writes: a timed
    /// checkpoint.
    Checkpoint,
}

/// A background commit running on the `store-commit` thread.
type BackgroundTask = oneshot::Receiver<BackgroundOutcome>;

/// How a background commit ended: an error if its commit failed.
type BackgroundOutcome = Result<BackgroundEnd, StoreError>;

/// The `store-commit` thread after a commit.
struct BackgroundEnd {
    /// How long the commit took.
    took: Duration,
    /// For a checkpoint, whether the journal file it made redundant was emptied.
    emptied: bool,
    /// A new transaction holding the window's writes made until the thread took them, and
    /// those writes.
    applied: Result<(WriteTransaction, Vec<Op>), StoreError>,
}

/// A background commit, for the `store-commit` thread.
struct Job {
    kind: CommitKind,
    db: Arc<Database>,
    /// The writer's open transaction, sealed (or a new, empty one for a checkpoint).
    txn: WriteTransaction,
    /// For a checkpoint: the journal file whose records the commit makes durable, to empty.
    older: Option<(Arc<File>, PathBuf)>,
    /// The window's writes not yet applied.
    ops: Arc<Mutex<Vec<Op>>>,
    #[cfg(test)]
    gate: Option<std_mpsc::Receiver<Gate>>,
    done: oneshot::Sender<BackgroundOutcome>,
}

/// The `store-commit` thread: runs the background commits it is sent, one after another, with
/// the idle scheduling policy, until the writer is gone.
fn run_background_jobs(jobs: &std_mpsc::Receiver<Job>) {
    lower_this_thread_s_priority();
    while let Ok(job) = jobs.recv() {
        run_job(job);
    }
}

/// Commits a job's transaction (durably for a checkpoint, which then empties the older journal
/// file), applies the window's writes so far to a new transaction and answers the writer.
fn run_job(job: Job) {
    let Job {
        kind,
        db,
        mut txn,
        older,
        ops,
        done,
        ..
    } = job;
    #[cfg(test)]
    let gate = job.gate.map(|gate| (gate.recv(), gate));
    #[cfg(test)]
    if let Some((Ok(Gate::Fail), _)) = gate {
        drop(txn);
        let _ = done.send(Err(StoreError::Unavailable(
            "injected commit failure".into(),
        )));
        return;
    }
    let started = Instant::now();
    let durability = match kind {
        CommitKind::Visible => Ok(()),
        CommitKind::Checkpoint => txn
            .set_durability(Durability::Immediate)
            .map_err(unavailable),
    };
    if let Err(error) = durability.and_then(|()| txn.commit().map_err(unavailable)) {
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
    let applied = apply_window(&db, &ops);
    #[cfg(test)]
    if let Some((Ok(Gate::ReleaseThenHoldApplied(holding)), gate)) = gate {
        let _ = holding.send(());
        let _ = gate.recv();
    }
    let _ = done.send(Ok(BackgroundEnd {
        took,
        emptied,
        applied,
    }));
}

/// Takes the window's writes made so far and applies them to a new transaction (on the
/// `store-commit` thread, after its commit). They were checked against the state that
/// transaction starts from.
fn apply_window(
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
fn lock_ops(ops: &Mutex<Vec<Op>>) -> std::sync::MutexGuard<'_, Vec<Op>> {
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
fn lower_this_thread_s_priority() {
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
enum Begun {
    /// The commit runs on the `store-commit` thread; writes go on in the window.
    Running(BackgroundTask),
    /// No window can be opened (nothing to commit, a transaction failed, the other journal
    /// file still holds records, or the thread is gone): see [`commit_in_place`].
    InPlace,
}

/// Does what a background commit of `kind` that could not begin was for, holding the writer:
/// a commit (or repair) here, a checkpoint on the blocking pool. `false` when the writer is
/// gone.
async fn commit_in_place(writer: &SharedWriter, kind: CommitKind) -> bool {
    let result = match kind {
        CommitKind::Visible => commit_or_repair(writer).await,
        CommitKind::Checkpoint => blocking(writer, Writer::checkpoint).await,
    };
    match result {
        None => false,
        Some(result) => {
            if let Err(error) = result {
                warn!(%error, ?kind, "store commit failed; the journal keeps the writes");
            }
            true
        }
    }
}

/// Requests that wait for a background commit's end.
#[derive(Default)]
struct Waiting {
    commits: Vec<oneshot::Sender<Result<(), StoreError>>>,
    checkpoints: Vec<oneshot::Sender<Result<(), StoreError>>>,
}

/// Applies queued writes: here when the writer may write on the runtime, otherwise on the
/// blocking pool. `false` when the writer is gone.
async fn apply_queued(
    writer: &SharedWriter,
    ops: Vec<(Op, oneshot::Sender<Result<usize, StoreError>>)>,
) -> bool {
    let inline = lock(writer).writes_inline();
    if inline {
        lock(writer).commit_group(ops);
        true
    } else {
        blocking(writer, move |writer| writer.commit_group(ops))
            .await
            .is_some()
    }
}

/// After a background commit: ends its window (or repairs, should it have failed), then
/// applies the writes and answers the requests that waited for it. `false` when the writer is
/// gone.
async fn end_background(
    writer: &SharedWriter,
    ended: Result<BackgroundOutcome, oneshot::error::RecvError>,
    waiting: &mut Waiting,
) -> bool {
    let result = ended.unwrap_or_else(|error| {
        Err(StoreError::Unavailable(format!(
            "the store's commit thread failed: {error}"
        )))
    });
    let broken = lock(writer).end_window(result);
    if broken {
        match blocking(writer, Writer::repair).await {
            None => return false,
            Some(Err(error)) => warn!(%error, "the store's repair failed"),
            Some(Ok(())) => {}
        }
    }
    let deferred = std::mem::take(&mut lock(writer).deferred);
    if !deferred.is_empty() && !apply_queued(writer, deferred).await {
        return false;
    }
    if !waiting.commits.is_empty() {
        let Some(result) = commit_or_repair(writer).await else {
            return false;
        };
        for done in waiting.commits.drain(..) {
            let _ = done.send(result.clone());
        }
    }
    if !waiting.checkpoints.is_empty() {
        let Some(result) = blocking(writer, Writer::checkpoint).await else {
            return false;
        };
        for done in waiting.checkpoints.drain(..) {
            let _ = done.send(result.clone());
        }
    }
    true
}

/// Commits the open transaction here; should that fail (or the transaction be broken
/// already), repairs on the blocking pool. `None` when the writer is gone.
async fn commit_or_repair(writer: &SharedWriter) -> Option<Result<(), StoreError>> {
    let (result, broken) = {
        let mut state = lock(writer);
        let result = state.commit();
        (result, state.broken)
    };
    if broken {
        return blocking(writer, Writer::repair).await;
    }
    Some(result)
}

/// The journal's two files as the writer appends to them: one at a time, switching at the
/// start of each timed checkpoint (see the module's documentation).
#[derive(Debug)]
struct Journal {
    files: [Arc<File>; 2],
    paths: [PathBuf; 2],
    /// The file appended to.
    active: usize,
    /// Each file's length.
    lens: [u64; 2],
    /// Bytes ever appended; the syncer compares it with what it synced last.
    appended: Arc<AtomicU64>,
}

impl Journal {
    /// Opens (or creates) the journal's files in `data_dir`, for appending.
    fn open(data_dir: &Path) -> Result<Self, StoreError> {
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
            active: 0,
            lens,
            appended: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Both files' bytes.
    fn len(&self) -> u64 {
        self.lens[0] + self.lens[1]
    }

    /// Applies the records the redb file does not hold yet (each file read up to its length as
    /// known here: the end of its last complete write), durably, then empties both files and
    /// appends to the first again. Returns the number of the last record applied ever.
    fn recover(&mut self, db: &Database) -> Result<u64, StoreError> {
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

    /// Appends one record to the active file with one `write` (it is opened for appending).
    fn append(&mut self, record: &[u8]) -> std::io::Result<()> {
        let active = self.active;
        let before = self.lens[active];
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
    fn cut_active(&mut self, len: u64) {
        let _ = self.files[self.active].set_len(len);
        self.lens[self.active] = len;
    }

    /// Empties file `index`.
    fn empty(&mut self, index: usize) -> Result<(), StoreError> {
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
    fn switch(&mut self) -> bool {
        let other = 1 - self.active;
        if self.lens[other] != 0 {
            return false;
        }
        self.active = other;
        true
    }
}

/// fdatasyncs the journal every [`JOURNAL_SYNC_INTERVAL`] when it grew, until `stop`'s sender
/// is dropped.
fn sync_loop(files: &[Arc<File>; 2], appended: &AtomicU64, stop: &std_mpsc::Receiver<()>) {
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

/// The writer's state.
struct Writer {
    db: Arc<Database>,
    journal: Journal,
    /// The number of the next journal record.
    next_batch: u64,
    options: EmbeddedOptions,
    /// The redb transaction holding answered writes not committed yet.
    open: Option<OpenTransaction>,
    /// While a background commit runs: the writes made meanwhile.
    window: Option<Window>,
    /// The groups and log heads the writer knows.
    known: Known,
    /// Queued writes the running background commit's window does not take, applied after it.
    deferred: Vec<(Op, oneshot::Sender<Result<usize, StoreError>>)>,
    /// Set before callers are answered whose writes are in [`Writer::open`] or a window;
    /// cleared after the commit. A read that finds it clear sees every answered write without
    /// asking the writer.
    uncommitted: Arc<AtomicBool>,
    /// A redb transaction failed: redb lacks journalled writes until the journal is applied
    /// again ([`Writer::repair`]); nothing is written or committed before that.
    broken: bool,
    /// When the last repair failed, if it did.
    repair_failed_at: Option<Instant>,
    /// Whether something was written since the last checkpoint began.
    dirty: bool,
    last_checkpoint: Instant,
    /// Where background commits go: the `store-commit` thread.
    jobs: std_mpsc::Sender<Job>,
    /// Fault injection for the tests: the next background commit waits for a message before
    /// it commits (see [`Gate`]).
    #[cfg(test)]
    gate: Option<std_mpsc::Receiver<Gate>>,
    /// Dropped with the writer, which stops the syncer.
    _stop_syncer: std_mpsc::Sender<()>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("next_batch", &self.next_batch)
            .field("journal_len", &self.journal.len())
            .field("open_ops", &self.open.as_ref().map(|open| open.ops))
            .field(
                "window_ops",
                &self.window.as_ref().map(|window| window.count),
            )
            .field("broken", &self.broken)
            .field("dirty", &self.dirty)
            .finish_non_exhaustive()
    }
}

/// A redb write transaction the writer keeps open across group commits.
struct OpenTransaction {
    txn: WriteTransaction,
    opened: Instant,
    ops: usize,
    /// The number of the last journal record it holds, stored as `last_journal_batch` when it
    /// commits.
    last_batch: Option<u64>,
    /// Group creations and appends checked, journalled and answered but not yet written into
    /// `txn`: they are written together, up to [`UNWRITTEN_MAX`] at a time, because opening a
    /// table costs redb more than inserting into it. What they change, [`Known`] knows.
    unwritten: Vec<Op>,
}

impl OpenTransaction {
    fn new(txn: WriteTransaction, ops: usize, last_batch: Option<u64>) -> Self {
        OpenTransaction {
            txn,
            opened: Instant::now(),
            ops,
            last_batch,
            unwritten: Vec::new(),
        }
    }

    /// Writes the unwritten group creations and appends into the transaction.
    fn write_unwritten(&mut self) -> Result<(), StoreError> {
        if !self.unwritten.is_empty() {
            write_checked_all(&self.txn, &self.unwritten)?;
            self.unwritten.clear();
        }
        Ok(())
    }

    /// The transaction, ready to commit: with every write it took, the log heads its appends
    /// moved and its last journal record's number.
    fn seal(mut self, known: &mut Known) -> Result<WriteTransaction, StoreError> {
        self.write_unwritten()?;
        known.store_heads(&self.txn)?;
        if let Some(batch) = self.last_batch {
            set_last_journal_batch(&self.txn, batch)?;
        }
        Ok(self.txn)
    }
}

/// While a background commit holds redb's write transaction, the writes it cannot take yet.
/// Creating a group and appending to a log are checked here, as [`apply_op`] would check them
/// after the commit: by the writer's [`Known`], which knows every group and log head the
/// committing transaction changed and reads the rest from the state before it (a read
/// transaction opened as it began). Other operations wait for the end.
struct Window {
    kind: CommitKind,
    view: ReadView,
    /// The window's journalled writes in order, not yet in redb. Once the commit is done, the
    /// `store-commit` thread takes those made so far and applies them to a new transaction;
    /// the writer applies the rest to it when it ends the window.
    ops: Arc<Mutex<Vec<Op>>>,
    /// The writes the window took, all told.
    count: usize,
    /// The number of the window's last journal record.
    last_batch: Option<u64>,
}

impl Window {
    /// Whether the window decides `op` now (rather than after the commit).
    fn takes(&self, op: &Op) -> bool {
        matches!(op, Op::CreateGroup { .. } | Op::Append { .. }) && self.count < WINDOW_OPS_MAX
    }
}

/// The groups and log heads of one read transaction.
struct ReadView {
    groups: ReadOnlyTable<u128, &'static [u8]>,
    heads: ReadOnlyTable<u128, u64>,
    /// Keeps the state the tables read alive (declared after them, so dropped after them).
    _read: redb::ReadTransaction,
}

impl ReadView {
    fn open(db: &Database) -> Result<Self, StoreError> {
        let read = db.begin_read().map_err(unavailable)?;
        Ok(ReadView {
            groups: read.open_table(GROUPS).map_err(unavailable)?,
            heads: read.open_table(LOG_HEADS).map_err(unavailable)?,
            _read: read,
        })
    }
}

/// Where [`Known`] reads what it does not know yet.
trait Lookup {
    fn group_exists(&self, group: u128) -> Result<bool, StoreError>;
    /// The last seq logged for the meeting, 0 if none.
    fn head(&self, meeting: u128) -> Result<Seq, StoreError>;
}

impl Lookup for ReadView {
    fn group_exists(&self, group: u128) -> Result<bool, StoreError> {
        Ok(self.groups.get(group).map_err(unavailable)?.is_some())
    }

    fn head(&self, meeting: u128) -> Result<Seq, StoreError> {
        Ok(self
            .heads
            .get(meeting)
            .map_err(unavailable)?
            .map_or(0, |value| value.value()))
    }
}

/// Reads the transaction's own state, its uncommitted writes included. (Only on a miss of
/// [`Known`]: the tables are opened for each lookup.)
impl Lookup for WriteTransaction {
    fn group_exists(&self, group: u128) -> Result<bool, StoreError> {
        let groups = self.open_table(GROUPS).map_err(unavailable)?;
        Ok(groups.get(group).map_err(unavailable)?.is_some())
    }

    fn head(&self, meeting: u128) -> Result<Seq, StoreError> {
        let heads = self.open_table(LOG_HEADS).map_err(unavailable)?;
        Ok(heads
            .get(meeting)
            .map_err(unavailable)?
            .map_or(0, |value| value.value()))
    }
}

/// What the writer knows of the groups and log heads, so that checking a write reads no table
/// in the common case, and an append writes only its entries: the heads it moves are written to
/// `log_heads` when the transaction commits ([`Known::store_heads`]). It knows everything changed
/// since its state was last committed durably: at the end of every checkpoint it forgets all
/// but what the checkpoint's window wrote (which bounds it by what was written since), and
/// all whenever a transaction fails.
#[derive(Debug, Default)]
struct Known {
    /// Groups known to exist (a group is never deleted).
    groups: HashSet<u128>,
    /// Meeting id -> its last seq, and whether `log_heads` lacks it.
    heads: HashMap<u128, (Seq, bool)>,
}

impl Known {
    fn group_exists(&mut self, lookup: &impl Lookup, group: u128) -> Result<bool, StoreError> {
        if self.groups.contains(&group) {
            return Ok(true);
        }
        let exists = lookup.group_exists(group)?;
        if exists {
            self.groups.insert(group);
        }
        Ok(exists)
    }

    fn head(&mut self, lookup: &impl Lookup, meeting: u128) -> Result<Seq, StoreError> {
        if let Some(&(head, _)) = self.heads.get(&meeting) {
            return Ok(head);
        }
        let head = lookup.head(meeting)?;
        self.heads.insert(meeting, (head, false));
        Ok(head)
    }

    /// Checks a group's creation or an append as applying it would; on success notes its
    /// effect. Other ops have nothing to check here.
    fn check(&mut self, lookup: &impl Lookup, op: &Op) -> Result<(), StoreError> {
        match op {
            Op::CreateGroup { group_id, .. } => {
                let group = group_id.as_u128();
                if self.group_exists(lookup, group)? {
                    return Err(StoreError::Conflict(format!("group {group_id} exists")));
                }
            }
            Op::Append {
                group_id,
                meeting_id,
                entries,
                snapshot,
            } => {
                let group_exists = self.group_exists(lookup, group_id.as_u128())?;
                let meeting = meeting_id.as_u128();
                let head = self.head(lookup, meeting)?;
                check_append(
                    group_exists,
                    *group_id,
                    *meeting_id,
                    head,
                    entries,
                    snapshot.as_ref(),
                )?;
            }
            Op::Trim { .. } | Op::EndMeeting { .. } | Op::TrimEnded { .. } => {}
        }
        self.note(op);
        Ok(())
    }

    /// Notes the effect of a group's creation or an append that was checked: the group
    /// exists, the log's head moved (and `log_heads` lacks it).
    fn note(&mut self, op: &Op) {
        match op {
            Op::CreateGroup { group_id, .. } => {
                self.groups.insert(group_id.as_u128());
            }
            Op::Append {
                group_id,
                meeting_id,
                entries,
                ..
            } => {
                self.groups.insert(group_id.as_u128());
                if let Some(last) = entries.last() {
                    self.heads.insert(meeting_id.as_u128(), (last.seq, true));
                }
            }
            Op::Trim { .. } | Op::EndMeeting { .. } | Op::TrimEnded { .. } => {}
        }
    }

    /// Writes the heads `log_heads` lacks into `txn`.
    fn store_heads(&mut self, txn: &WriteTransaction) -> Result<(), StoreError> {
        if !self.heads.values().any(|&(_, unstored)| unstored) {
            return Ok(());
        }
        let mut table = txn.open_table(LOG_HEADS).map_err(unavailable)?;
        for (&meeting, (head, unstored)) in &mut self.heads {
            if *unstored {
                table.insert(meeting, *head).map_err(unavailable)?;
                *unstored = false;
            }
        }
        Ok(())
    }

    fn forget(&mut self) {
        self.groups.clear();
        self.heads.clear();
    }
}

impl Writer {
    /// Whether writes may be applied on the runtime: the journal needs no fsync per write and
    /// no repair is due.
    fn writes_inline(&self) -> bool {
        !self.broken && self.options.sync == JournalSync::Background
    }

    /// When the writer must act even if no command arrives: the open transaction's commit, or
    /// a checkpoint.
    fn next_deadline(&self) -> Option<Instant> {
        let commit = self
            .open
            .as_ref()
            .map(|open| open.opened + self.options.commit_interval);
        let checkpoint = (self.dirty && self.window.is_none())
            .then(|| self.last_checkpoint + self.options.checkpoint_interval);
        commit.into_iter().chain(checkpoint).min()
    }

    /// Commits the open transaction, if any, without an fsync: readers see its writes. Should
    /// it fail, the transaction is marked broken, for [`Writer::repair`].
    fn commit(&mut self) -> Result<(), StoreError> {
        if self.broken {
            return Err(StoreError::Unavailable(
                "the store is applying its journal again after a failed transaction".into(),
            ));
        }
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        match open
            .seal(&mut self.known)
            .and_then(|txn| txn.commit().map_err(unavailable))
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
    fn due(&self) -> Option<CommitKind> {
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

    /// Begins a background commit: hands the open transaction (sealed) to the `store-commit`
    /// thread and opens the window. A checkpoint also switches the journal to its other file,
    /// and commits an empty transaction when none is open (which makes every earlier commit
    /// durable with it).
    fn begin_background(&mut self, kind: CommitKind) -> Begun {
        // A test's hold is for this commit, whether or not it can begin.
        #[cfg(test)]
        let gate = self.gate.take();
        let checkpoint = kind == CommitKind::Checkpoint;
        if self.broken
            || (!checkpoint && self.open.is_none())
            || (checkpoint && self.journal.lens[1 - self.journal.active] != 0)
        {
            return Begun::InPlace;
        }
        // The state the open transaction starts from. What it changed, `known` knows: nothing
        // is forgotten while a transaction is open.
        let view = match ReadView::open(&self.db) {
            Ok(view) => view,
            Err(error) => {
                warn!(%error, "cannot read the store for a commit's window");
                return Begun::InPlace;
            }
        };
        let open = self.open.take();
        let ops_before = open.as_ref().map_or(0, |open| open.ops);
        let txn = match open {
            Some(open) => open.seal(&mut self.known),
            None => self.db.begin_write().map_err(unavailable),
        };
        let txn = match txn {
            Ok(txn) => txn,
            Err(error) => {
                warn!(%error, "cannot seal the store's open transaction; applying the journal again");
                self.break_open_transaction();
                return Begun::InPlace;
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
        self.window = Some(Window {
            kind,
            view,
            ops: Arc::clone(&ops),
            count: 0,
            last_batch: None,
        });
        let (done, ended) = oneshot::channel();
        let job = Job {
            kind,
            db: Arc::clone(&self.db),
            txn,
            older,
            ops,
            #[cfg(test)]
            gate,
            done,
        };
        if let Err(std_mpsc::SendError(job)) = self.jobs.send(job) {
            warn!("the store's commit thread is gone; committing in place");
            // Nothing was written in the window yet: back to the state before it, the sealed
            // transaction open again (what sealing wrote into it is true still).
            self.window = None;
            if checkpoint {
                self.journal.active = 1 - self.journal.active;
                self.dirty = true;
            }
            self.open = Some(OpenTransaction::new(job.txn, ops_before, None));
            return Begun::InPlace;
        }
        Begun::Running(ended)
    }

    /// Ends the window of a background commit whose thread ended with `result`: on success,
    /// notes a checkpoint's older journal file as emptied (the thread did that) and makes the
    /// transaction holding the window's writes the open one. Whether a repair is due (the
    /// commit or this failed).
    fn end_window(&mut self, result: BackgroundOutcome) -> bool {
        let Some(window) = self.window.take() else {
            return self.broken;
        };
        let checkpoint = window.kind == CommitKind::Checkpoint;
        let end = match result {
            Ok(end) => end,
            Err(error) => {
                warn!(%error, kind = ?window.kind, "a store commit failed; applying the journal again");
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
                window_ops = window.count,
                "store checkpoint"
            );
            if end.emptied {
                self.journal.lens[older] = 0;
            }
        } else {
            tracing::trace!(
                took_us = end.took.as_micros(),
                window_ops = window.count,
                "store commit"
            );
        }
        let applied = end.applied.and_then(|(txn, taken)| {
            // Checked already, against the state this transaction starts from.
            let rest = std::mem::take(&mut *lock_ops(&window.ops));
            write_checked_all(&txn, &rest)?;
            Ok((txn, taken, rest))
        });
        let (txn, taken, rest) = match applied {
            Ok(applied) => applied,
            Err(error) => {
                warn!(%error, "cannot apply a commit window's writes; applying the journal again");
                self.break_open_transaction();
                return true;
            }
        };
        if checkpoint {
            // Everything before the window is durable now: what the writer knows is bounded by
            // what was written since.
            self.known.forget();
            for op in taken.iter().chain(&rest) {
                self.known.note(op);
            }
        }
        let Some(last_batch) = window.last_batch else {
            // Nothing was written meanwhile: every answered write is committed.
            self.uncommitted.store(false, Ordering::Release);
            return false;
        };
        tracing::trace!(
            by_the_commit_thread = taken.len(),
            here = rest.len(),
            here_us = ending.elapsed().as_micros(),
            "store commit's window applied"
        );
        self.open = Some(OpenTransaction::new(txn, window.count, Some(last_batch)));
        false
    }

    /// Makes every write so far durable in the redb file, then empties the journal, holding
    /// the writer throughout. Never runs during a background commit's window.
    fn checkpoint(&mut self) -> Result<(), StoreError> {
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
            Some(open) => open.seal(&mut self.known),
            None => self.db.begin_write().map_err(unavailable),
        };
        let committed =
            sealed.and_then(|mut txn| match txn.set_durability(Durability::Immediate) {
                Ok(()) => txn.commit().map_err(unavailable),
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
        self.known.forget();
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

    /// Marks the open transaction as failed: it is dropped, and until [`Writer::repair`]
    /// applies the journal again, reads go through the writer (which repairs first).
    fn break_open_transaction(&mut self) {
        self.open = None;
        self.known.forget();
        self.broken = true;
        self.uncommitted.store(true, Ordering::Release);
    }

    /// After a failed redb transaction: drops the open one and applies the journal's records
    /// (up to its last good byte) again to the last durable commit, as on open after a crash.
    /// A failed attempt is retried at most once a second. (After an I/O error redb refuses
    /// every transaction until it is opened again: writes then fail with `storage_unavailable`
    /// and a restart recovers from the journal.) Never runs during a background commit's window.
    fn repair(&mut self) -> Result<(), StoreError> {
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

    /// Applies the group's ops (those a running background commit's window does not take wait for
    /// its end), journals the successful ones and answers every caller.
    fn commit_group(&mut self, ops: Vec<(Op, oneshot::Sender<Result<usize, StoreError>>)>) {
        let (now, later): (Vec<_>, Vec<_>) = match &self.window {
            Some(window) => ops.into_iter().partition(|(op, _)| window.takes(op)),
            None => (ops, Vec::new()),
        };
        self.deferred.extend(later);
        if now.is_empty() {
            return;
        }
        let refs: Vec<&Op> = now.iter().map(|(op, _)| op).collect();
        let outcomes = self.apply_group(&refs);
        for ((_, done), outcome) in now.into_iter().zip(outcomes) {
            let _ = done.send(outcome);
        }
    }

    /// Applies the group's ops in the open transaction (or a background commit's window) and journals
    /// the successful ones; the outcome of each op.
    fn apply_group(&mut self, ops: &[&Op]) -> Vec<Result<usize, StoreError>> {
        match self.try_commit_group(ops) {
            Ok(outcomes) => outcomes,
            Err(error) => vec![Err(error); ops.len()],
        }
    }

    /// Whether the writer task should look at the writer soon: a transaction was opened (its
    /// commit is due after the commit interval), or it or the journal is full.
    fn needs_attention(&self, had_open_transaction: bool) -> bool {
        let commit = self
            .open
            .as_ref()
            .is_some_and(|open| !had_open_transaction || open.ops >= COMMIT_OPS_MAX);
        let checkpoint =
            self.window.is_none() && self.journal.len() >= self.options.checkpoint_journal_bytes;
        commit || checkpoint
    }

    fn try_commit_group(
        &mut self,
        ops: &[&Op],
    ) -> Result<Vec<Result<usize, StoreError>>, StoreError> {
        if self.journal.len() >= self.options.checkpoint_journal_bytes.saturating_mul(2) {
            // Checkpoints keep failing: refuse writes rather than grow the journal unbounded.
            return Err(StoreError::Unavailable(
                "the store's journal is full: checkpoints are failing".into(),
            ));
        }
        if self.window.is_some() {
            return self.try_window_group(ops);
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
                apply_op(&open.txn, &mut self.known, op)
            } else {
                self.known.check(&open.txn, op).map(|()| 0)
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
        self.journal_record(batch, &applied)?;
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

    /// [`Writer::try_commit_group`] while a background commit runs: the window checks the ops, the
    /// successful ones are journalled and kept for redb.
    fn try_window_group(
        &mut self,
        ops: &[&Op],
    ) -> Result<Vec<Result<usize, StoreError>>, StoreError> {
        if self.broken {
            return Err(StoreError::Unavailable(
                "the store is applying its journal again after a failed write".into(),
            ));
        }
        let window = self.window.as_mut().expect("called in a window");
        let outcomes: Vec<_> = ops
            .iter()
            .map(|op| self.known.check(&window.view, op).map(|()| 0))
            .collect();
        let applied = succeeded(ops, &outcomes);
        if applied.is_empty() {
            return Ok(outcomes);
        }
        let batch = self.next_batch;
        // Should this fail, the window has noted writes that are not journalled: the store is
        // broken, and repaired from the journal when the commit ends.
        self.journal_record(batch, &applied)?;
        let window = self.window.as_mut().expect("called in a window");
        lock_ops(&window.ops).extend(applied.iter().map(|&op| op.clone()));
        window.count += applied.len();
        window.last_batch = Some(batch);
        self.next_batch += 1;
        self.dirty = true;
        self.uncommitted.store(true, Ordering::Release);
        Ok(outcomes)
    }

    /// Appends the journal record `batch` holding `ops` (and fdatasyncs it with
    /// [`JournalSync::Always`]). On failure, the store is broken: redb may hold what the
    /// journal does not.
    fn journal_record(&mut self, batch: u64, ops: &[&Op]) -> Result<(), StoreError> {
        let record = journal::encode_record(batch, ops.iter().copied());
        let before = self.journal.lens[self.journal.active];
        if let Err(error) = self.journal.append(&record) {
            self.break_open_transaction();
            return Err(StoreError::Unavailable(format!(
                "cannot write the journal: {error}"
            )));
        }
        if self.options.sync == JournalSync::Always
            && let Err(error) = self.journal.files[self.journal.active].sync_data()
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

/// The ops whose outcome is a success.
fn succeeded<'a>(ops: &[&'a Op], outcomes: &[Result<usize, StoreError>]) -> Vec<&'a Op> {
    ops.iter()
        .zip(outcomes)
        .filter(|(_, outcome)| outcome.is_ok())
        .map(|(&op, _)| op)
        .collect()
}

/// Checks an append to the log of `meeting_id`, whose last seq is `head`, in group `group_id`:
/// the group exists, the entries continue the log, and the snapshot, if any, is at its end.
fn check_append(
    group_exists: bool,
    group_id: GroupId,
    meeting_id: MeetingId,
    head: Seq,
    entries: &[LogEntry],
    snapshot: Option<&Snapshot>,
) -> Result<(), StoreError> {
    if !group_exists {
        return Err(StoreError::NotFound(format!("group {group_id}")));
    }
    if let Some(first) = entries.first()
        && first.seq != head + 1
    {
        return Err(StoreError::Conflict(format!(
            "meeting {meeting_id} log is at seq {head}; batch starts at {}",
            first.seq
        )));
    }
    if let Some(snapshot) = snapshot {
        let last = entries.last().map_or(head, |entry| entry.seq);
        if snapshot.seq != last {
            return Err(StoreError::Conflict(format!(
                "snapshot at seq {} but the log will be at {last}",
                snapshot.seq
            )));
        }
    }
    Ok(())
}

/// Writes group creations and appends that [`Known::check`] accepted, in order, opening each
/// table they need once (the heads they move are [`Known`]'s to store).
fn write_checked_all(txn: &WriteTransaction, ops: &[Op]) -> Result<(), StoreError> {
    let mut groups = None;
    let mut log = None;
    for op in ops {
        match op {
            Op::CreateGroup { group_id, snapshot } => {
                open_once(&mut groups, txn, GROUPS)?
                    .insert(group_id.as_u128(), encode_snapshot(snapshot).as_slice())
                    .map_err(unavailable)?;
            }
            Op::Append {
                group_id,
                meeting_id,
                entries,
                snapshot,
            } => {
                let log = open_once(&mut log, txn, LOG)?;
                for entry in entries {
                    log.insert((meeting_id.as_u128(), entry.seq), entry.bytes.as_slice())
                        .map_err(unavailable)?;
                }
                if let Some(snapshot) = snapshot {
                    open_once(&mut groups, txn, GROUPS)?
                        .insert(group_id.as_u128(), encode_snapshot(snapshot).as_slice())
                        .map_err(unavailable)?;
                }
            }
            Op::Trim { .. } | Op::EndMeeting { .. } | Op::TrimEnded { .. } => {
                return Err(StoreError::Unavailable(format!(
                    "{op:?} is not a checked write"
                )));
            }
        }
    }
    Ok(())
}

/// The table in `slot`, opened in `txn` the first time it is asked for (opening a table costs
/// redb more than an insert).
fn open_once<'s, 'txn, K: redb::Key + 'static, V: redb::Value + 'static>(
    slot: &'s mut Option<redb::Table<'txn, K, V>>,
    txn: &'txn WriteTransaction,
    definition: TableDefinition<'static, K, V>,
) -> Result<&'s mut redb::Table<'txn, K, V>, StoreError> {
    if slot.is_none() {
        *slot = Some(txn.open_table(definition).map_err(unavailable)?);
    }
    Ok(slot.as_mut().expect("opened above"))
}

/// Applies one op in `txn`, checked by `known` (which notes its effect). Answers the count of
/// meetings trimmed for [`Op::TrimEnded`], 0 for the others.
fn apply_op(txn: &WriteTransaction, known: &mut Known, op: &Op) -> Result<usize, StoreError> {
    match op {
        Op::CreateGroup { .. } | Op::Append { .. } => {
            known.check(txn, op)?;
            write_checked_all(txn, std::slice::from_ref(op))?;
            Ok(0)
        }
        Op::Trim {
            meeting_id,
            through_seq,
        } => {
            let mut log = txn.open_table(LOG).map_err(unavailable)?;
            let meeting = meeting_id.as_u128();
            log.retain_in((meeting, 0)..=(meeting, *through_seq), |_, _| false)
                .map_err(unavailable)?;
            Ok(0)
        }
        Op::EndMeeting {
            meeting_id,
            ended_at_ms,
        } => {
            let mut ended_at = txn.open_table(MEETING_ENDED_AT).map_err(unavailable)?;
            let meeting = meeting_id.as_u128();
            if ended_at.get(meeting).map_err(unavailable)?.is_some() {
                return Ok(0);
            }
            ended_at
                .insert(meeting, *ended_at_ms)
                .map_err(unavailable)?;
            let mut ended = txn.open_table(ENDED_MEETINGS).map_err(unavailable)?;
            ended
                .insert((*ended_at_ms, meeting), ())
                .map_err(unavailable)?;
            Ok(0)
        }
        Op::TrimEnded {
            ended_through_ms,
            meetings_max,
        } => trim_ended(txn, *ended_through_ms, *meetings_max),
    }
}

/// Trims the logs of up to `meetings_max` meetings ended at or before `ended_through_ms`.
fn trim_ended(
    txn: &WriteTransaction,
    ended_through_ms: UnixMs,
    meetings_max: u64,
) -> Result<usize, StoreError> {
    let mut ended = txn.open_table(ENDED_MEETINGS).map_err(unavailable)?;
    let mut ended_at = txn.open_table(MEETING_ENDED_AT).map_err(unavailable)?;
    let mut log = txn.open_table(LOG).map_err(unavailable)?;
    let mut due = Vec::new();
    for item in ended
        .range((0, 0)..=(ended_through_ms, u128::MAX))
        .map_err(unavailable)?
        .take(usize::try_from(meetings_max).unwrap_or(usize::MAX))
    {
        let (key, _) = item.map_err(unavailable)?;
        due.push(key.value());
    }
    for &(at_ms, meeting) in &due {
        log.retain_in((meeting, 0)..=(meeting, u64::MAX), |_, _| false)
            .map_err(unavailable)?;
        ended.remove((at_ms, meeting)).map_err(unavailable)?;
        ended_at.remove(meeting).map_err(unavailable)?;
    }
    Ok(due.len())
}

fn read_entries(
    db: &Database,
    meeting_id: MeetingId,
    after_seq: Seq,
    limit: usize,
) -> Result<Vec<LogEntry>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let log = txn.open_table(LOG).map_err(unavailable)?;
    let meeting = meeting_id.as_u128();
    let Some(first) = after_seq.checked_add(1) else {
        return Ok(Vec::new());
    };
    let mut entries = Vec::new();
    for item in log
        .range((meeting, first)..=(meeting, u64::MAX))
        .map_err(unavailable)?
        .take(limit)
    {
        let (key, value) = item.map_err(unavailable)?;
        entries.push(LogEntry {
            seq: key.value().1,
            bytes: value.value().to_vec(),
        });
    }
    Ok(entries)
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn create_group(&self, group_id: GroupId, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.write(Op::CreateGroup {
            group_id,
            snapshot: snapshot.clone(),
        })
        .await
        .map(|_| ())
    }

    async fn load_room(&self, group_id: GroupId) -> Result<Option<LoadedRoom>, StoreError> {
        self.read(move |db| {
            let snapshot = {
                let txn = db.begin_read().map_err(unavailable)?;
                let groups = txn.open_table(GROUPS).map_err(unavailable)?;
                match groups.get(group_id.as_u128()).map_err(unavailable)? {
                    Some(value) => decode_snapshot(value.value())?,
                    None => return Ok(None),
                }
            };
            // A snapshot and the log are written in one transaction, so reading the tail in a
            // second read transaction can only find more entries, never fewer.
            let tail = read_entries(db, snapshot.meeting_id, snapshot.seq, usize::MAX)?;
            Ok(Some(LoadedRoom { snapshot, tail }))
        })
        .await
    }

    async fn append(&self, batch: AppendBatch<'_>) -> Result<(), StoreError> {
        check_batch_shape(&batch)?;
        self.write(Op::Append {
            group_id: batch.group_id,
            meeting_id: batch.meeting_id,
            entries: batch.entries.to_vec(),
            snapshot: batch.snapshot.cloned(),
        })
        .await
        .map(|_| ())
    }

    async fn read_log(
        &self,
        meeting_id: MeetingId,
        after_seq: Seq,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        self.read(move |db| read_entries(db, meeting_id, after_seq, limit))
            .await
    }

    async fn trim_log(&self, meeting_id: MeetingId, through_seq: Seq) -> Result<(), StoreError> {
        self.write(Op::Trim {
            meeting_id,
            through_seq,
        })
        .await
        .map(|_| ())
    }

    async fn take_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut leases = self
            .leases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if leases.len() >= LEASES_SWEEP_AT {
            leases.retain(|_, (_, expires)| *expires > now);
        }
        if let Some((holder, expires)) = leases.get(&group_id)
            && holder != owner
            && *expires > now
        {
            return Ok(false);
        }
        leases.insert(
            group_id,
            (owner.to_string(), now + Duration::from_millis(duration_ms)),
        );
        Ok(true)
    }

    async fn release_lease(&self, group_id: GroupId, owner: &str) -> Result<(), StoreError> {
        let mut leases = self
            .leases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if leases
            .get(&group_id)
            .is_some_and(|(holder, _)| holder == owner)
        {
            leases.remove(&group_id);
        }
        Ok(())
    }

    async fn end_meeting(
        &self,
        meeting_id: MeetingId,
        ended_at_ms: UnixMs,
    ) -> Result<(), StoreError> {
        self.write(Op::EndMeeting {
            meeting_id,
            ended_at_ms,
        })
        .await
        .map(|_| ())
    }

    async fn trim_ended_logs(
        &self,
        ended_through_ms: UnixMs,
        meetings_max: usize,
    ) -> Result<usize, StoreError> {
        // A retention pass is rare and bounded by `meetings_max`; it goes through the writer
        // thread like every mutation, so that the journal holds every change in order.
        self.write(Op::TrimEnded {
            ended_through_ms,
            meetings_max: u64::try_from(meetings_max).unwrap_or(u64::MAX),
        })
        .await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        let (done, result) = oneshot::channel();
        self.send(Command::Checkpoint { done }).await?;
        result
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))?
    }
}

#[cfg(test)]
mod tests;
