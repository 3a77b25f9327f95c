//! The embedded store: one redb file and a write-ahead journal under the data directory.
//!
//! Writes go through a single writer: a caller applies its operation itself when the writer is
//! free, otherwise it queues for the writer task, which applies the queued operations together
//! (group commit). Per group it appends one record with the group's successful operations to
//! the journal `roundtable.journal` (one `write` to a file opened for appending: the data is
//! then with the operating system and survives a crash of this process, even `kill -9`),
//! records the record's batch number in the same redb transaction, and answers the callers.
//! The journal, not redb, is what makes a write stored: the redb transaction stays open for the
//! groups of up to [`COMMIT_INTERVAL`] and is then committed *without* an fsync
//! (`Durability::None`: fast, in-process), so that a busy store pays redb's commit a few dozen
//! times a second rather than once per group. Reads run on tokio's blocking pool in their own
//! read transactions; a read that finds answered writes not yet committed has the writer commit
//! them first, so every read sees every answered write.
//!
//! Durability against power loss: with [`JournalSync::Background`] a background thread
//! fdatasyncs the journal every [`JOURNAL_SYNC_INTERVAL`] when it grew, so a power loss can
//! lose at most the writes of about that long; with [`JournalSync::Always`] the writer
//! fdatasyncs the journal before answering. A *checkpoint* commits the open redb transaction
//! (or an empty one) with `Durability::Immediate`, which makes every earlier commit durable, and
//! then empties the journal: every [`EmbeddedOptions::checkpoint_interval`] when something was written, when the
//! journal outgrows [`EmbeddedOptions::checkpoint_journal_bytes`], on [`Store::flush`] and when
//! the last handle is dropped.
//!
//! Recovery, on open: redb comes back at its last durable commit, whose `last_journal_batch`
//! says which journal records it holds already. The records after it are applied again, in
//! order, to exactly the state they were first applied to, so they give the same result; then
//! a checkpoint. Reading stops at a gap in the batch numbers (records left from before an
//! earlier checkpoint) and at the first record that is cut short or damaged (the tail of a
//! write that never completed), with a warning. The running store repairs itself the same way
//! when a redb transaction fails after its writes were answered: the open transaction is
//! dropped and the journal's records are applied again to the last commit. (After an I/O error
//! redb refuses further transactions until it is opened again; then writes fail until a
//! restart, which recovers from the journal.)
//!
//! Tables:
//! - `groups`: group id -> the latest snapshot, encoded as meeting id (16 bytes, big endian),
//!   seq (8 bytes, big endian), then the snapshot bytes;
//! - `log`: (meeting id, seq) -> event bytes;
//! - `log_heads`: meeting id -> the last seq ever logged (kept when the log is trimmed);
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

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use roundtable_protocol::{GroupId, MeetingId, Seq, UnixMs};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use super::journal::{self, Op};
use super::{AppendBatch, LoadedRoom, LogEntry, Snapshot, Store, StoreError, check_batch_shape};

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
const JOURNAL_FILE: &str = "roundtable.journal";

/// Leases held in memory past which expired ones are swept out on the next take. Live leases
/// are bounded by the live rooms, which release theirs when they unload.
const LEASES_SWEEP_AT: usize = 1024;

/// The most write operations applied and journalled as one group. Bounds the time a caller
/// waits behind others and the size of one journal record.
const GROUP_COMMIT_OPS_MAX: usize = 256;

/// The most write operations waiting for the writer; callers beyond wait for a slot.
const WRITE_QUEUE_MAX: usize = 4096;

/// The longest answered writes wait in the writer's open redb transaction before it commits
/// them (a read commits them at once). They are in the journal already.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(50);

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
    /// Time between two checkpoints while something is written.
    pub checkpoint_interval: Duration,
    /// Journal size past which the writer checkpoints at once.
    pub checkpoint_journal_bytes: u64,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            sync: JournalSync::default(),
            checkpoint_interval: CHECKPOINT_INTERVAL,
            checkpoint_journal_bytes: CHECKPOINT_JOURNAL_BYTES,
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
        let db = Database::create(&path).map_err(|error| {
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

        let journal_path = data_dir.join(JOURNAL_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&journal_path)
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot open {}: {error}", journal_path.display()))
            })?;
        let last_batch = recover(&db, &file, &journal_path, u64::MAX)?;
        let journal = Journal {
            file: Arc::new(file),
            len: 0,
            appended: Arc::new(AtomicU64::new(0)),
        };

        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            StoreError::Unavailable("the embedded store opens inside a tokio runtime".into())
        })?;
        let (commands, queue) = mpsc::channel(WRITE_QUEUE_MAX);
        // The syncer stops when the writer drops its end of this channel.
        let (stop_syncer, syncer_stop) = std_mpsc::channel::<()>();
        if options.sync == JournalSync::Background {
            let file = Arc::clone(&journal.file);
            let appended = Arc::clone(&journal.appended);
            std::thread::Builder::new()
                .name("journal-sync".into())
                .spawn(move || sync_loop(&file, &appended, &syncer_stop))
                .map_err(|error| {
                    StoreError::Unavailable(format!("cannot start the journal syncer: {error}"))
                })?;
        }
        let uncommitted = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            db: Arc::clone(&db),
            journal,
            journal_path,
            next_batch: last_batch + 1,
            options,
            open: None,
            uncommitted: Arc::clone(&uncommitted),
            broken: false,
            repair_failed_at: None,
            dirty: false,
            last_checkpoint: Instant::now(),
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

    /// Applies a write. When the writer is free (not checkpointing, say) and the journal needs
    /// no fsync per write, the caller applies it inline, under the writer's lock: a round trip
    /// through the writer task would cost two more turns of the runtime's queue for every
    /// action, and a room handles its actions one after another. Otherwise it queues for the
    /// writer task.
    async fn write(&self, op: Op) -> Result<usize, StoreError> {
        if let Ok(mut writer) = self.writer.try_lock()
            && !writer.broken
            && writer.options.sync == JournalSync::Background
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

/// Applies the journal's records that the redb file does not hold yet, in one durable
/// transaction, and empties the journal. Returns the number of the last record applied ever.
fn recover(db: &Database, file: &File, path: &Path, len_max: u64) -> Result<u64, StoreError> {
    let mut bytes = Vec::new();
    let mut reader = file;
    // From the start (the writer's appends leave the offset at the end), and no further than
    // the last record whose write succeeded.
    reader
        .seek(std::io::SeekFrom::Start(0))
        .and_then(|_| reader.take(len_max).read_to_end(&mut bytes))
        .map_err(|error| {
            StoreError::Unavailable(format!("cannot read {}: {error}", path.display()))
        })?;
    let txn = db.begin_write().map_err(unavailable)?;
    let held = last_journal_batch(&txn)?;
    if bytes.is_empty() {
        return Ok(held);
    }
    let read = journal::read_records(&bytes);
    let mut last = held;
    let mut applied_bytes = 0;
    let mut stopped_at_gap = false;
    for (record, &record_end) in read.records.iter().zip(&read.ends) {
        if record.batch <= held {
            // Already in the redb file: the journal was not emptied after its checkpoint.
            applied_bytes = record_end;
            continue;
        }
        if record.batch != last + 1 {
            warn!(
                journal = %path.display(),
                expected = last + 1,
                found = record.batch,
                "the journal skips a batch number; the records from there on are older than the \
                 last checkpoint and are ignored"
            );
            stopped_at_gap = true;
            break;
        }
        for op in &record.ops {
            match apply_op(&txn, op) {
                Ok(_) => {}
                Err(StoreError::Unavailable(error)) => return Err(StoreError::Unavailable(error)),
                // Applied to the state it was first applied to, an op that succeeded then
                // succeeds again; if not, the state differs and the op is skipped, as it would
                // have been refused.
                Err(error) => warn!(batch = record.batch, %error, "a journal op failed on replay"),
            }
        }
        last = record.batch;
        applied_bytes = record_end;
    }
    if let Some(damage) = &read.damage
        && !stopped_at_gap
    {
        warn!(
            journal = %path.display(),
            dropped_bytes = bytes.len() - read.intact_bytes,
            "the journal ends in {damage}: dropped (a write cut short, or damaged on disk)"
        );
    }
    if stopped_at_gap {
        warn!(
            journal = %path.display(),
            dropped_bytes = bytes.len() - applied_bytes,
            "dropped the journal's stale tail"
        );
    }
    if last > held {
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
    file.set_len(0).map_err(|error| {
        StoreError::Unavailable(format!("cannot empty {}: {error}", path.display()))
    })?;
    file.sync_all().map_err(|error| {
        StoreError::Unavailable(format!("cannot sync {}: {error}", path.display()))
    })?;
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

/// The writer task: applies queued writes in groups, commits the open transaction when it is
/// due, checkpoints, until every sender is gone; then checkpoints a last time.
///
/// A task on the runtime, not a thread of its own: applying a group to the open redb
/// transaction and appending its journal record (a `write` into the page cache) take
/// microseconds, and doing them on the runtime spares every write two context switches and a
/// cross-thread wake-up. Most writes do not even come here: the caller applies them itself
/// when the writer is free. What can take milliseconds (an fsync: checkpoints, every group
/// with [`JournalSync::Always`]; a repair) runs on the blocking pool while the writes behind
/// it wait in the queue.
async fn run_writer(
    writer: SharedWriter,
    mut queue: mpsc::Receiver<Command>,
    attention: Arc<tokio::sync::Notify>,
) {
    loop {
        let deadline = lock(&writer).next_deadline();
        let received = tokio::select! {
            received = queue.recv() => match received {
                Some(command) => Some(command),
                None => break,
            },
            () = attention.notified() => None,
            () = sleep_until(deadline) => None,
        };
        let mut after_group = None;
        match received {
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
                let inline = {
                    let state = lock(&writer);
                    !state.broken && state.options.sync == JournalSync::Background
                };
                if inline {
                    lock(&writer).commit_group(ops);
                } else if blocking(&writer, move |writer| writer.commit_group(ops))
                    .await
                    .is_none()
                {
                    return;
                }
            }
            Some(other) => after_group = Some(other),
            None => {}
        }
        match after_group {
            Some(Command::Commit { done }) => {
                let Some(result) = commit_or_repair(&writer).await else {
                    return;
                };
                let _ = done.send(result);
            }
            Some(Command::Checkpoint { done }) => {
                let Some(result) = blocking(&writer, Writer::checkpoint).await else {
                    return;
                };
                let _ = done.send(result);
            }
            #[cfg(test)]
            Some(Command::FailOpenTransaction) => lock(&writer).break_open_transaction(),
            Some(Command::Write { .. }) | None => {}
        }
        let commit_due = lock(&writer).open.as_ref().is_some_and(|open| {
            open.ops >= COMMIT_OPS_MAX || open.opened.elapsed() >= COMMIT_INTERVAL
        });
        if commit_due {
            match commit_or_repair(&writer).await {
                None => return,
                Some(Err(error)) => {
                    warn!(%error, "store commit failed; the journal keeps the writes");
                }
                Some(Ok(())) => {}
            }
        }
        let checkpoint_due = {
            let state = lock(&writer);
            let due = state.last_checkpoint.elapsed() >= state.options.checkpoint_interval;
            state.dirty && (due || state.journal.len >= state.options.checkpoint_journal_bytes)
        };
        if checkpoint_due {
            match blocking(&writer, Writer::checkpoint).await {
                None => return,
                Some(Err(error)) => {
                    warn!(%error, "store checkpoint failed; the journal keeps the writes");
                }
                Some(Ok(())) => {}
            }
        }
    }
    if let Some(Err(error)) = blocking(&writer, Writer::checkpoint).await {
        warn!(%error, "final store checkpoint failed; the next start replays the journal");
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
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

/// The journal file as the writer appends to it.
#[derive(Debug)]
struct Journal {
    file: Arc<File>,
    /// The file's length.
    len: u64,
    /// Bytes ever appended; the syncer compares it with what it synced last.
    appended: Arc<AtomicU64>,
}

impl Journal {
    /// Appends one record with one `write` (the file is opened for appending).
    fn append(&mut self, record: &[u8]) -> std::io::Result<()> {
        let result = (&*self.file).write_all(record);
        if result.is_err() {
            // Part of the record may be in the file; cut it off.
            let _ = self.truncate(self.len);
        } else {
            self.len += record.len() as u64;
            self.appended
                .fetch_add(record.len() as u64, Ordering::Release);
        }
        result
    }

    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)?;
        self.len = len;
        Ok(())
    }
}

/// fdatasyncs the journal every [`JOURNAL_SYNC_INTERVAL`] when it grew, until `stop`'s sender
/// is dropped.
fn sync_loop(file: &File, appended: &AtomicU64, stop: &std_mpsc::Receiver<()>) {
    let mut synced = 0;
    while let Err(std_mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(JOURNAL_SYNC_INTERVAL) {
        let now = appended.load(Ordering::Acquire);
        if now == synced {
            continue;
        }
        match file.sync_data() {
            Ok(()) => synced = now,
            Err(error) => warn!(%error, "cannot sync the store's journal; retrying"),
        }
    }
}

/// The writer's state.
struct Writer {
    db: Arc<Database>,
    journal: Journal,
    journal_path: std::path::PathBuf,
    /// The number of the next journal record.
    next_batch: u64,
    options: EmbeddedOptions,
    /// The redb transaction holding answered writes not committed yet.
    open: Option<OpenTransaction>,
    /// Set before callers are answered whose writes are in [`Writer::open`]; cleared after the
    /// commit. A read that finds it clear sees every answered write without asking the writer.
    uncommitted: Arc<AtomicBool>,
    /// A redb transaction failed: redb lacks journalled writes until the journal is applied
    /// again ([`Writer::repair`]); nothing is written or committed before that.
    broken: bool,
    /// When the last repair failed, if it did.
    repair_failed_at: Option<Instant>,
    /// Whether something was written since the last checkpoint.
    dirty: bool,
    last_checkpoint: Instant,
    /// Dropped with the writer, which stops the syncer.
    _stop_syncer: std_mpsc::Sender<()>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("next_batch", &self.next_batch)
            .field("journal_len", &self.journal.len)
            .field("open_ops", &self.open.as_ref().map(|open| open.ops))
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
}

impl Writer {
    /// When the writer must act even if no command arrives: the open transaction's commit, or
    /// a checkpoint.
    fn next_deadline(&self) -> Option<Instant> {
        let commit = self.open.as_ref().map(|open| open.opened + COMMIT_INTERVAL);
        let checkpoint = self
            .dirty
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
        match open.txn.commit() {
            Ok(()) => {
                self.uncommitted.store(false, Ordering::Release);
                Ok(())
            }
            Err(error) => {
                warn!(%error, "a store commit failed; applying the journal again");
                self.break_open_transaction();
                Err(unavailable(error))
            }
        }
    }

    /// Makes every write so far durable in the redb file, then empties the journal.
    fn checkpoint(&mut self) -> Result<(), StoreError> {
        if !self.dirty && self.journal.len == 0 && self.open.is_none() && !self.broken {
            return Ok(());
        }
        // Counted from the attempt, so that a failing checkpoint is retried after the
        // interval rather than at once.
        self.last_checkpoint = Instant::now();
        if self.broken {
            // A repair ends in a checkpoint.
            return self.repair();
        }
        let mut txn = match self.open.take() {
            Some(open) => open.txn,
            None => self.db.begin_write().map_err(unavailable)?,
        };
        let committed = match txn.set_durability(Durability::Immediate) {
            Ok(()) => txn.commit().map_err(unavailable),
            Err(error) => {
                // A live write transaction would keep the repair's from starting.
                drop(txn);
                Err(unavailable(error))
            }
        };
        if let Err(error) = committed {
            warn!(%error, "a store checkpoint failed; applying the journal again");
            return self.repair();
        }
        self.uncommitted.store(false, Ordering::Release);
        self.dirty = false;
        let took_ms = self.last_checkpoint.elapsed().as_millis();
        tracing::debug!(
            took_ms,
            journal_bytes = self.journal.len,
            "store checkpoint"
        );
        // The records are in the durable redb file now (their batch numbers are at most its
        // `last_journal_batch`): if emptying fails, recovery skips them.
        self.journal
            .truncate(0)
            .map_err(|error| StoreError::Unavailable(format!("cannot empty the journal: {error}")))
    }

    /// Marks the open transaction as failed: it is dropped, and until [`Writer::repair`]
    /// applies the journal again, reads go through the writer (which repairs first).
    fn break_open_transaction(&mut self) {
        self.open = None;
        self.broken = true;
        self.uncommitted.store(true, Ordering::Release);
    }

    /// After a failed redb transaction: drops the open one and applies the journal's records
    /// (up to its last good byte) again to the last commit, as on open after a crash, which ends
    /// in a checkpoint. A failed attempt is retried at most once a second. (After an I/O error
    /// redb refuses every transaction until it is opened again: writes then fail with
    /// `storage_unavailable` and a restart recovers from the journal.)
    fn repair(&mut self) -> Result<(), StoreError> {
        self.break_open_transaction();
        if let Some(failed) = self.repair_failed_at
            && failed.elapsed() < REPAIR_RETRY_INTERVAL
        {
            return Err(StoreError::Unavailable(
                "the store cannot apply its journal; restart the server to recover".into(),
            ));
        }
        let recovered = recover(
            &self.db,
            &self.journal.file,
            &self.journal_path,
            self.journal.len,
        );
        let last = match recovered {
            Ok(last) => last,
            Err(error) => {
                self.repair_failed_at = Some(Instant::now());
                return Err(error);
            }
        };
        self.repair_failed_at = None;
        self.journal.len = 0;
        self.next_batch = last + 1;
        self.broken = false;
        self.dirty = false;
        self.last_checkpoint = Instant::now();
        self.uncommitted.store(false, Ordering::Release);
        Ok(())
    }

    /// Applies the group's ops in the open transaction, journals the successful ones and
    /// answers every caller.
    fn commit_group(&mut self, ops: Vec<(Op, oneshot::Sender<Result<usize, StoreError>>)>) {
        let refs: Vec<&Op> = ops.iter().map(|(op, _)| op).collect();
        let outcomes = self.apply_group(&refs);
        for ((_, done), outcome) in ops.into_iter().zip(outcomes) {
            let _ = done.send(outcome);
        }
    }

    /// Applies the group's ops in the open transaction and journals the successful ones; the
    /// outcome of each op.
    fn apply_group(&mut self, ops: &[&Op]) -> Vec<Result<usize, StoreError>> {
        match self.try_commit_group(ops) {
            Ok(outcomes) => outcomes,
            Err(error) => vec![Err(error); ops.len()],
        }
    }

    /// Whether the writer task should look at the writer soon: a transaction was opened (its
    /// commit is due in [`COMMIT_INTERVAL`]), or it or the journal is full.
    fn needs_attention(&self, had_open_transaction: bool) -> bool {
        let commit = self
            .open
            .as_ref()
            .is_some_and(|open| !had_open_transaction || open.ops >= COMMIT_OPS_MAX);
        commit || self.journal.len >= self.options.checkpoint_journal_bytes
    }

    fn try_commit_group(
        &mut self,
        ops: &[&Op],
    ) -> Result<Vec<Result<usize, StoreError>>, StoreError> {
        if self.journal.len >= self.options.checkpoint_journal_bytes.saturating_mul(2) {
            // Checkpoints keep failing: refuse writes rather than grow the journal unbounded.
            return Err(StoreError::Unavailable(
                "the store's journal is full: checkpoints are failing".into(),
            ));
        }
        if self.broken {
            self.repair()?;
        }
        let open = match &mut self.open {
            Some(open) => open,
            None => {
                let mut txn = self.db.begin_write().map_err(unavailable)?;
                txn.set_durability(Durability::None).map_err(unavailable)?;
                self.open.insert(OpenTransaction {
                    txn,
                    opened: Instant::now(),
                    ops: 0,
                })
            }
        };
        // Each operation is checked and applied inside the shared transaction; one that fails
        // its checks writes nothing and does not affect the others. One that cannot reach the
        // file may have written part of itself: the transaction is dropped and rebuilt from
        // the journal, which holds the earlier groups but not this one.
        let mut outcomes = Vec::with_capacity(ops.len());
        for op in ops {
            let outcome = apply_op(&open.txn, op);
            if let Err(StoreError::Unavailable(error)) = outcome {
                self.break_open_transaction();
                return Err(StoreError::Unavailable(error));
            }
            outcomes.push(outcome);
        }
        let applied: Vec<&Op> = ops
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| outcome.is_ok())
            .map(|(op, _)| *op)
            .collect();
        if applied.is_empty() {
            // Nothing changed; a transaction opened for nothing is dropped.
            if open.ops == 0 {
                self.open = None;
            }
            return Ok(outcomes);
        }
        let batch = self.next_batch;
        if let Err(error) = set_last_journal_batch(&open.txn, batch) {
            self.break_open_transaction();
            return Err(error);
        }
        open.ops += applied.len();
        let record = journal::encode_record(batch, applied.into_iter());
        let before = self.journal.len;
        if let Err(error) = self.journal.append(&record) {
            // The transaction holds the group's ops, the journal does not.
            self.break_open_transaction();
            return Err(StoreError::Unavailable(format!(
                "cannot write the journal: {error}"
            )));
        }
        if self.options.sync == JournalSync::Always
            && let Err(error) = self.journal.file.sync_data()
        {
            // Whether or not the record can be cut off, the repair reads no further than this.
            let _ = self.journal.truncate(before);
            self.journal.len = before;
            self.break_open_transaction();
            return Err(StoreError::Unavailable(format!(
                "cannot sync the journal: {error}"
            )));
        }
        self.next_batch += 1;
        self.dirty = true;
        self.uncommitted.store(true, Ordering::Release);
        Ok(outcomes)
    }
}

/// Applies one op in `txn`. Answers the count of meetings trimmed for [`Op::TrimEnded`], 0 for
/// the others.
fn apply_op(txn: &WriteTransaction, op: &Op) -> Result<usize, StoreError> {
    match op {
        Op::CreateGroup { group_id, snapshot } => {
            let mut groups = txn.open_table(GROUPS).map_err(unavailable)?;
            if groups
                .get(group_id.as_u128())
                .map_err(unavailable)?
                .is_some()
            {
                return Err(StoreError::Conflict(format!("group {group_id} exists")));
            }
            groups
                .insert(group_id.as_u128(), encode_snapshot(snapshot).as_slice())
                .map_err(unavailable)?;
            Ok(0)
        }
        Op::Append {
            group_id,
            meeting_id,
            entries,
            snapshot,
        } => {
            let mut groups = txn.open_table(GROUPS).map_err(unavailable)?;
            if groups
                .get(group_id.as_u128())
                .map_err(unavailable)?
                .is_none()
            {
                return Err(StoreError::NotFound(format!("group {group_id}")));
            }
            let mut heads = txn.open_table(LOG_HEADS).map_err(unavailable)?;
            let head = heads
                .get(meeting_id.as_u128())
                .map_err(unavailable)?
                .map(|value| value.value())
                .unwrap_or(0);
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
            let mut log = txn.open_table(LOG).map_err(unavailable)?;
            for entry in entries {
                log.insert((meeting_id.as_u128(), entry.seq), entry.bytes.as_slice())
                    .map_err(unavailable)?;
            }
            if let Some(last) = entries.last() {
                heads
                    .insert(meeting_id.as_u128(), last.seq)
                    .map_err(unavailable)?;
            }
            if let Some(snapshot) = snapshot {
                groups
                    .insert(group_id.as_u128(), encode_snapshot(snapshot).as_slice())
                    .map_err(unavailable)?;
            }
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
mod tests {
    //! Recovery from the journal. The conformance suite (`tests/store_conformance.rs`) and the
    //! SIGKILL tests of the real binary (`tests/crash_restart.rs`) cover the rest.

    use super::*;

    /// Options under which the writer never checkpoints on its own while the test runs.
    fn no_checkpoints() -> EmbeddedOptions {
        EmbeddedOptions {
            sync: JournalSync::Background,
            checkpoint_interval: Duration::from_secs(3600),
            checkpoint_journal_bytes: u64::MAX,
        }
    }

    /// Opens the store in `dir`, waiting for a dropped predecessor's writer to let go of it.
    async fn reopen(dir: &Path) -> EmbeddedStore {
        reopen_with(dir, no_checkpoints()).await
    }

    async fn reopen_with(dir: &Path, options: EmbeddedOptions) -> EmbeddedStore {
        for _ in 0..100 {
            match EmbeddedStore::open_with(dir, options.clone()) {
                Ok(store) => return store,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        panic!("the store in {} does not reopen within 2 s", dir.display());
    }

    fn entry(seq: Seq) -> LogEntry {
        LogEntry {
            seq,
            bytes: format!("event {seq}").into_bytes(),
        }
    }

    fn snapshot(meeting_id: MeetingId, seq: Seq) -> Snapshot {
        Snapshot {
            meeting_id,
            seq,
            bytes: format!("state at {seq}").into_bytes(),
        }
    }

    fn append_op(group_id: GroupId, meeting_id: MeetingId, seq: Seq) -> Op {
        Op::Append {
            group_id,
            meeting_id,
            entries: vec![entry(seq)],
            snapshot: None,
        }
    }

    async fn append(store: &EmbeddedStore, group_id: GroupId, meeting_id: MeetingId, seq: Seq) {
        let entries = [entry(seq)];
        store
            .append(AppendBatch {
                group_id,
                meeting_id,
                entries: &entries,
                snapshot: None,
            })
            .await
            .expect("append");
    }

    /// Creates group `group_id` with meeting `meeting_id` and an empty log.
    async fn create_empty_group(store: &EmbeddedStore, group_id: GroupId, meeting_id: MeetingId) {
        store
            .create_group(group_id, &snapshot(meeting_id, 0))
            .await
            .expect("create");
    }

    /// Whether `condition` holds within 2 s, looking every 10 ms.
    async fn within_two_seconds(mut condition: impl FnMut() -> bool) -> bool {
        for _ in 0..200 {
            if condition() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    async fn tail_seqs(store: &EmbeddedStore, group_id: GroupId) -> Vec<Seq> {
        let loaded = store
            .load_room(group_id)
            .await
            .expect("load")
            .expect("the group exists");
        loaded.tail.iter().map(|entry| entry.seq).collect()
    }

    /// The last journal batch the redb file holds, read as every read is (after the writer
    /// committed what it answered).
    async fn held_batch(store: &EmbeddedStore) -> u64 {
        store
            .read(|db| {
                let txn = db.begin_read().map_err(unavailable)?;
                let meta = txn.open_table(META).map_err(unavailable)?;
                Ok(meta
                    .get(LAST_JOURNAL_BATCH)
                    .map_err(unavailable)?
                    .map_or(0, |value| value.value()))
            })
            .await
            .expect("read")
    }

    fn journal_len(dir: &Path) -> u64 {
        std::fs::metadata(dir.join(JOURNAL_FILE))
            .expect("the journal exists")
            .len()
    }

    /// A store in `dir` holding group `group_id` (meeting `meeting_id`, empty log), checkpointed
    /// and closed: its redb file holds journal batch 1 and its journal is empty.
    async fn closed_store_with_group(dir: &Path, group_id: GroupId, meeting_id: MeetingId) {
        let store = reopen(dir).await;
        create_empty_group(&store, group_id, meeting_id).await;
        assert_eq!(held_batch(&store).await, 1);
        drop(store);
        let store = reopen(dir).await;
        assert_eq!(journal_len(dir), 0, "closing checkpointed");
        drop(store);
    }

    fn write_journal(dir: &Path, records: &[(u64, Vec<Op>)]) -> Vec<usize> {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for (batch, ops) in records {
            bytes.extend(journal::encode_record(*batch, ops.iter()));
            ends.push(bytes.len());
        }
        std::fs::write(dir.join(JOURNAL_FILE), &bytes).expect("write the journal");
        ends
    }

    #[tokio::test]
    async fn a_crash_before_any_checkpoint_is_recovered_from_the_journal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
        let (old_group, old_meeting) = (GroupId::random(), MeetingId::random());
        let store = reopen(dir.path()).await;
        create_empty_group(&store, group_id, meeting_id).await;
        for seq in 1..=3 {
            append(&store, group_id, meeting_id, seq).await;
        }
        store
            .create_group(old_group, &snapshot(old_meeting, 0))
            .await
            .expect("create");
        append(&store, old_group, old_meeting, 1).await;
        store.end_meeting(old_meeting, 1_000).await.expect("end");
        assert_eq!(store.trim_ended_logs(2_000, 10).await.expect("trim"), 1);
        store.trim_log(meeting_id, 1).await.expect("trim");

        // Every write is answered, none is checkpointed: the files as they are now are what a
        // `kill -9` leaves behind. Copy them while the store runs.
        let crashed = tempfile::tempdir().expect("temp dir");
        let redb_only = tempfile::tempdir().expect("temp dir");
        for (file, into) in [
            (DB_FILE, crashed.path()),
            (JOURNAL_FILE, crashed.path()),
            (DB_FILE, redb_only.path()),
        ] {
            std::fs::copy(dir.path().join(file), into.join(file)).expect("copy");
        }
        assert!(journal_len(crashed.path()) > 0);
        drop(store);

        // The redb file alone is behind: its last durable commit is from before the writes.
        let behind = reopen(redb_only.path()).await;
        assert_eq!(behind.load_room(group_id).await.expect("load"), None);
        drop(behind);

        let recovered = reopen(crashed.path()).await;
        assert_eq!(
            journal_len(crashed.path()),
            0,
            "recovery empties the journal"
        );
        assert_eq!(held_batch(&recovered).await, 9);
        assert_eq!(tail_seqs(&recovered, group_id).await, vec![2, 3]);
        assert_eq!(
            recovered.read_log(old_meeting, 0, 10).await.expect("read"),
            Vec::new(),
            "the retention pass is replayed"
        );
        assert_eq!(
            recovered.trim_ended_logs(2_000, 10).await.expect("trim"),
            0,
            "and so is its forgetting the meeting"
        );
        // The journal numbering goes on from the recovered batch.
        append(&recovered, group_id, meeting_id, 4).await;
        assert_eq!(held_batch(&recovered).await, 11);
        drop(recovered);
        let reopened = reopen(crashed.path()).await;
        assert_eq!(tail_seqs(&reopened, group_id).await, vec![2, 3, 4]);
    }

    /// A closed store holding one group (journal batch 1), and a journal behind it with three
    /// appends (seqs 1 to 3, batches 2 to 4). Returns the ids and where each record ends.
    async fn store_with_three_journalled_appends(dir: &Path) -> (GroupId, MeetingId, Vec<usize>) {
        let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
        closed_store_with_group(dir, group_id, meeting_id).await;
        let ends = write_journal(
            dir,
            &[
                (2, vec![append_op(group_id, meeting_id, 1)]),
                (3, vec![append_op(group_id, meeting_id, 2)]),
                (4, vec![append_op(group_id, meeting_id, 3)]),
            ],
        );
        (group_id, meeting_id, ends)
    }

    #[tokio::test]
    async fn a_torn_last_record_is_dropped_and_the_complete_ones_applied() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (group_id, meeting_id, ends) = store_with_three_journalled_appends(dir.path()).await;
        let torn_at = (ends[1] + ends[2]) / 2;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join(JOURNAL_FILE))
            .expect("open the journal");
        file.set_len(torn_at as u64).expect("tear the last record");
        drop(file);

        let store = reopen(dir.path()).await;
        assert_eq!(tail_seqs(&store, group_id).await, vec![1, 2]);
        assert_eq!(held_batch(&store).await, 3);
        assert_eq!(journal_len(dir.path()), 0);
        // The torn write was never answered: its seq is free again.
        append(&store, group_id, meeting_id, 3).await;
        assert_eq!(tail_seqs(&store, group_id).await, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn a_record_with_a_wrong_crc_ends_the_replay() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (group_id, _, ends) = store_with_three_journalled_appends(dir.path()).await;
        let path = dir.path().join(JOURNAL_FILE);
        let mut bytes = std::fs::read(&path).expect("read the journal");
        // The last byte of the second record's body (its event text).
        bytes[ends[1] - 1] ^= 0x01;
        std::fs::write(&path, &bytes).expect("write the journal");

        let store = reopen(dir.path()).await;
        assert_eq!(tail_seqs(&store, group_id).await, vec![1]);
        assert_eq!(held_batch(&store).await, 2);
        assert_eq!(journal_len(dir.path()), 0);
    }

    #[tokio::test]
    async fn records_the_redb_file_holds_already_are_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
        closed_store_with_group(dir.path(), group_id, meeting_id).await;
        // Batch 1 is held already (the group's creation); applied again, this one would create
        // another group.
        let stale_group = GroupId::random();
        write_journal(
            dir.path(),
            &[
                (
                    1,
                    vec![Op::CreateGroup {
                        group_id: stale_group,
                        snapshot: snapshot(meeting_id, 0),
                    }],
                ),
                (2, vec![append_op(group_id, meeting_id, 1)]),
            ],
        );

        let store = reopen(dir.path()).await;
        assert_eq!(store.load_room(stale_group).await.expect("load"), None);
        assert_eq!(tail_seqs(&store, group_id).await, vec![1]);
        assert_eq!(held_batch(&store).await, 2);
    }

    #[tokio::test]
    async fn a_gap_in_the_batch_numbers_ends_the_replay() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
        closed_store_with_group(dir.path(), group_id, meeting_id).await;
        // Batch 4 would apply cleanly, but 3 is missing: it is not the journal's continuation.
        write_journal(
            dir.path(),
            &[
                (2, vec![append_op(group_id, meeting_id, 1)]),
                (4, vec![append_op(group_id, meeting_id, 2)]),
            ],
        );

        let store = reopen(dir.path()).await;
        assert_eq!(tail_seqs(&store, group_id).await, vec![1]);
        assert_eq!(held_batch(&store).await, 2);
        assert_eq!(journal_len(dir.path()), 0);
    }

    #[tokio::test]
    async fn garbage_in_place_of_a_journal_changes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
        closed_store_with_group(dir.path(), group_id, meeting_id).await;
        for garbage in [
            vec![0xff; 3],
            vec![0xff; 64],
            vec![0; 64],
            b"not a journal at all".to_vec(),
        ] {
            std::fs::write(dir.path().join(JOURNAL_FILE), &garbage).expect("write");
            let store = reopen(dir.path()).await;
            assert_eq!(tail_seqs(&store, group_id).await, Vec::<Seq>::new());
            assert_eq!(held_batch(&store).await, 1);
            assert_eq!(journal_len(dir.path()), 0);
            drop(store);
        }
    }

    #[tokio::test]
    async fn checkpoints_empty_the_journal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
        let store = reopen(dir.path()).await;
        create_empty_group(&store, group_id, meeting_id).await;
        append(&store, group_id, meeting_id, 1).await;
        assert!(journal_len(dir.path()) > 0);
        store.flush().await.expect("flush");
        assert_eq!(journal_len(dir.path()), 0, "a flush checkpoints");
        drop(store);

        // Past the size threshold, the writer checkpoints after the group commit.
        let options = EmbeddedOptions {
            checkpoint_journal_bytes: 1,
            ..no_checkpoints()
        };
        let store = reopen_with(dir.path(), options).await;
        append(&store, group_id, meeting_id, 2).await;
        // The checkpoint follows the answer; wait for it (through the writer).
        store.flush().await.expect("flush");
        assert_eq!(journal_len(dir.path()), 0);
        drop(store);

        // After the interval, too.
        let options = EmbeddedOptions {
            checkpoint_interval: Duration::from_millis(50),
            ..no_checkpoints()
        };
        let store = reopen_with(dir.path(), options).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        append(&store, group_id, meeting_id, 3).await;
        assert!(
            within_two_seconds(|| journal_len(dir.path()) == 0).await,
            "the timed checkpoint empties the journal within 2 s"
        );
        assert_eq!(tail_seqs(&store, group_id).await, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn answered_writes_are_committed_within_the_interval() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
        let store = reopen(dir.path()).await;
        create_empty_group(&store, group_id, meeting_id).await;
        append(&store, group_id, meeting_id, 1).await;
        assert!(
            within_two_seconds(|| !store.uncommitted.load(Ordering::Acquire)).await,
            "the writer commits within 2 s without being asked"
        );
        // Read straight from redb, without asking the writer: the write is there.
        let txn = store.db.begin_read().expect("read");
        let log = txn.open_table(LOG).expect("log table");
        let stored = log.get((meeting_id.as_u128(), 1)).expect("get");
        assert_eq!(stored.expect("entry 1").value(), entry(1).bytes.as_slice());
    }

    #[tokio::test]
    async fn a_failed_transaction_is_rebuilt_from_the_journal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
        let store = reopen(dir.path()).await;
        create_empty_group(&store, group_id, meeting_id).await;
        store.flush().await.expect("checkpoint");
        for seq in 1..=3 {
            append(&store, group_id, meeting_id, seq).await;
        }
        // The three appends were answered; lose the transaction that holds them.
        store
            .send(Command::FailOpenTransaction)
            .await
            .expect("send");
        assert_eq!(
            tail_seqs(&store, group_id).await,
            vec![1, 2, 3],
            "a read after the failure finds the answered writes, applied again from the journal"
        );
        assert_eq!(
            journal_len(dir.path()),
            0,
            "the repair ends in a checkpoint"
        );

        // Lose a transaction again; this time the next write comes first and repairs.
        append(&store, group_id, meeting_id, 4).await;
        store
            .send(Command::FailOpenTransaction)
            .await
            .expect("send");
        append(&store, group_id, meeting_id, 5).await;
        assert_eq!(tail_seqs(&store, group_id).await, vec![1, 2, 3, 4, 5]);
        drop(store);
        let reopened = reopen(dir.path()).await;
        assert_eq!(tail_seqs(&reopened, group_id).await, vec![1, 2, 3, 4, 5]);
    }
}
