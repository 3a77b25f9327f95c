//! The embedded store: one redb file and a write-ahead journal under the data directory.
//!
//! Writes go through a single writer, on a thread of its own (`store-writer`): a caller queues its
//! operation on a bounded channel and waits for the answer; the writer takes everything queued
//! and applies it together as one *group*. No file I/O happens on the runtime threads the rooms
//! share, so a disk that stalls holds up only the callers waiting for their writes. Per group it appends one record with the group's successful operations to the
//! journal (one `write` to a file opened for appending: the data is then with the operating system
//! and survives a crash of this process, even `kill -9`) and answers the callers. The journal, not
//! redb, is what makes a write stored: the redb transaction stays open for the groups of up to
//! [`COMMIT_INTERVAL`] and is then committed *without* an fsync (`Durability::None`: in-process),
//! together with the number of the last journal record it holds, so that a busy store pays redb's
//! commit about once a second rather than once per group. Group creations and appends, checked
//! against the groups and log heads the writer keeps in memory, are written into the transaction a
//! few at a time ([`UNWRITTEN_MAX`](options::UNWRITTEN_MAX)), which opens each table once for all
//! of them. Reads run on tokio's blocking pool in their own read transactions; a read that finds
//! answered writes not yet committed has the writer commit them first (in place, or after the
//! running background commit), so every read sees every answered write.
//!
//! Durability against power loss: with [`JournalSync::Background`] a background thread fdatasyncs
//! the journal every [`JOURNAL_SYNC_INTERVAL`] when it grew, so a power loss can lose at most the
//! writes of about that long; with [`JournalSync::Always`] the writer fdatasyncs the journal before
//! answering. A *checkpoint* commits redb with `Durability::Immediate`, which makes every earlier
//! commit durable, and then empties the journal: every [`EmbeddedOptions::checkpoint_interval`]
//! when something was written, when the journal outgrows
//! [`EmbeddedOptions::checkpoint_journal_bytes`], on [`Store::flush`] and when the last handle is
//! dropped.
//!
//! Commits run in the background: the writer hands its open transaction to the `store-commit`
//! thread, which runs with the idle scheduling policy so that its CPU work does not take the core
//! from the rooms, and writes do not wait for it. A checkpoint's commit writes out every page
//! changed since the last one and fsyncs (tens of milliseconds under load); an ordinary commit a
//! fraction of that. While the thread holds redb's only write transaction, creating groups and
//! appending to logs go on: each is checked against the state before the commit plus what the
//! writer knows the committing transaction and the writes since changed
//! ([`CommitWindow`](background::CommitWindow)), journalled and answered. Once committed, the
//! thread applies the window's writes so far to a new redb transaction, and the writer applies the
//! few made meanwhile to it and carries on with it. Rarer operations wait for the commit's end. The
//! journal is two files, `roundtable.journal` and `roundtable.journal.2`: a timed checkpoint
//! switches the appends to the other (empty) file as it begins, and its thread empties the older
//! one once the commit is durable.
//!
//! Recovery, on open: redb comes back at its last durable commit, whose `last_journal_batch` says
//! which journal records it holds already. The records of both files after it are applied again, in
//! the order of their numbers, to exactly the state they were first applied to, so they give the
//! same result; then a checkpoint. Reading stops at a gap in the batch numbers (records left from
//! before an earlier checkpoint) and, in each file, at the first record that is cut short or
//! damaged (the tail of a write that never completed), with a warning. The running store repairs
//! itself the same way when a redb transaction fails after its writes were answered: the open
//! transaction is dropped and the journal's records are applied again to the last commit. (After an
//! I/O error redb refuses further transactions until it is opened again; then writes fail until a
//! restart, which recovers from the journal.)
//!
//! Tables:
//! - `groups`: group id -> the latest snapshot, encoded as meeting id (16 bytes, big endian), seq
//!   (8 bytes, big endian), then the snapshot bytes;
//! - `log`: (meeting id, seq) -> event bytes;
//! - `log_heads`: meeting id -> the last seq ever logged (kept when the log is trimmed), written
//!   when a transaction commits (the writer's [`HeadCache`] has the newer ones);
//! - `ended_meetings`: (ended at, in Unix ms; meeting id) -> nothing, the meetings whose logs are
//!   due for trimming, in the order they ended; `meeting_ended_at`: meeting id -> the time it
//!   ended, so that recording an end twice keeps the first;
//! - `group_meetings`: (group id, meeting id) -> nothing, the meetings of each group, written
//!   with a group's creation and with a meeting's first log entries or snapshot, so that
//!   [`Store::delete_group`] finds every row of a group (a file from before this table has the
//!   meeting of each group's snapshot indexed when it is opened);
//! - `group_activity`: group id -> (its last activity in Unix ms, whether anyone ever joined),
//!   and `groups_by_activity`: (joined, last activity, group id) -> nothing, the same in the
//!   order retention reads it ([`Store::abandoned_groups`]);
//! - `meta`: `last_journal_batch` -> the number of the last journal record applied;
//!   `group_meetings_indexed` -> 1 once the meetings of older files' groups were indexed.
//!
//! Words: a *commit* is always a redb commit (of the writer's open transaction, in place or on the
//! `store-commit` thread); a *checkpoint* is a durable commit followed by emptying the journal; a
//! *group* is the writes applied and journalled together, as one journal *record* numbered by its
//! *batch*; the *commit window* is the writes made while a background commit runs; the *head cache*
//! is what the writer knows of the groups and log heads.
//!
//! Tests inject faults through named fail points ([`fail_points`]), compiled in only in test
//! builds: the journal's write and fdatasync, redb commits, and holds of the `store-commit` thread.
//!
//! Ownership leases ([`Store::take_lease`]) live in memory only. redb locks its file, so no second
//! process can open the same store (nor its journal, which is opened after the file): within one
//! process every lease is taken by the same owner and is therefore always granted. The in-memory
//! leases still keep the trait's semantics (another owner is refused until the lease expires or is
//! released; every take raises the epoch, and a fenced append is refused unless its epoch is the
//! group's), so that the conformance suite checks both stores the same way. The epochs matter in
//! one process too: a room loaded again while the previous room of the same group is still
//! stopping takes the lease at a new epoch, which fences out the stopping room's writes.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableHandle};
use roundtable_protocol::{GroupId, MeetingId, Seq, UnixMs};
use tokio::sync::{mpsc, oneshot};

use self::journal::{Op, sync_loop};
use crate::store::{
    AppendBatch, Fence, LeaseTake, LoadedRoom, LogEntry, Snapshot, Store, StoreError,
    check_batch_shape,
};

mod background;
pub mod fail_points;
mod heads;
mod journal;
mod leases;
mod options;
mod recovery;
mod tables;
mod task;
mod vacuum;
mod writer;

use self::background::{CommitJob, run_commit_jobs};
use self::heads::HeadCache;
use self::journal::Journal;
use self::leases::Leases;
use self::options::WRITE_QUEUE_MAX;
pub use self::options::{
    CACHE_BYTES, CHECKPOINT_INTERVAL, CHECKPOINT_JOURNAL_BYTES, COMMIT_INTERVAL, EmbeddedOptions,
    JOURNAL_SYNC_INTERVAL, JournalSync,
};
use self::tables::{
    ENDED_MEETINGS, GROUP_ACTIVITY, GROUP_MEETINGS, GROUPS, GROUPS_BY_ACTIVITY, LOG, LOG_HEADS,
    MEETING_ENDED_AT, META, abandoned_groups, decode_snapshot, open_database, read_entries,
    unavailable,
};
use self::task::{Command, SharedWriter, run_writer};
use self::writer::Writer;

/// The store's files in the data directory.
const DB_FILE: &str = "roundtable.redb";

/// The health check's canary record ([`Store::write_canary`]): the last writer's id and time.
const CANARY_FILE: &str = "canary";

/// A store in one redb file and its journal. Cheap to clone; all clones share the files and
/// the writer.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    commands: mpsc::Sender<Command>,
    /// The writer's [`Writer::uncommitted`].
    uncommitted: Arc<AtomicBool>,
    /// The writer itself (its thread holds it; tests look inside).
    #[cfg_attr(not(test), allow(dead_code))]
    writer: SharedWriter,
    /// Wakes the writer thread to look at its deadlines (tests use it).
    #[cfg_attr(not(test), allow(dead_code))]
    attention: Arc<tokio::sync::Notify>,
    leases: Arc<Leases>,
    /// The data directory, where [`Store::forget_deleted`] marks a vacuum due.
    data_dir: Arc<Path>,
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
        let db = Arc::new(open_database(&data_dir.join(DB_FILE), options.cache_bytes)?);

        let mut journal = Journal::open(data_dir)?;
        let last_batch = journal.recover(&db)?;
        // Deleted data leaves the file: with the journal applied and emptied, the file holds
        // everything, and it is rewritten with its live entries only (see `vacuum`).
        drop(db);
        if vacuum::vacuum_if_due(data_dir, &data_dir.join(DB_FILE), options.cache_bytes)? {
            tracing::info!("the store's file was rewritten without the data deleted before");
        }
        let db = Arc::new(open_database(&data_dir.join(DB_FILE), options.cache_bytes)?);

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
        let (commit_jobs, commit_job_queue) = std_mpsc::channel::<CommitJob>();
        std::thread::Builder::new()
            .name("store-commit".into())
            .spawn(move || run_commit_jobs(&commit_job_queue))
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
            commit_window: None,
            head_cache: HeadCache::default(),
            deferred: Vec::new(),
            uncommitted: Arc::clone(&uncommitted),
            broken: false,
            repair_failed_at: None,
            dirty: false,
            last_checkpoint: Instant::now(),
            commit_jobs,
            _stop_syncer: stop_syncer,
        };
        let writer = Arc::new(Mutex::new(writer));
        let attention = Arc::new(tokio::sync::Notify::new());
        // The writer runs on a thread of its own, in a runtime of its own: its `write`s to the
        // journal and redb's page writes never hold a thread the rooms run on.
        let writer_runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("store-writer-blocking")
            .build()
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot start the store's writer: {error}"))
            })?;
        {
            let writer = Arc::clone(&writer);
            let attention = Arc::clone(&attention);
            std::thread::Builder::new()
                .name("store-writer".into())
                .spawn(move || writer_runtime.block_on(run_writer(writer, queue, attention)))
                .map_err(|error| {
                    StoreError::Unavailable(format!("cannot start the store's writer: {error}"))
                })?;
        }
        Ok(EmbeddedStore {
            db,
            commands,
            uncommitted,
            writer,
            attention,
            leases: Arc::default(),
            data_dir: Arc::from(data_dir),
        })
    }

    /// Queues a command for the writer, waiting for a slot when the queue is full.
    async fn send(&self, command: Command) -> Result<(), StoreError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))
    }

    /// Applies a write: queues it for the writer thread and waits for its answer. No file I/O
    /// happens on the caller's thread, which is a runtime thread that other rooms share: when the
    /// disk stalls (another process filling the page cache, say), only the callers waiting for
    /// an answer wait, and the queue's next group takes everything that queued meanwhile.
    async fn write(&self, op: Op) -> Result<usize, StoreError> {
        let (done, result) = oneshot::channel();
        self.send(Command::Write { op, done }).await?;
        result
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))?
    }

    /// Like [`Self::write`], for a write under `fence`: the fence is checked against the leases
    /// with the write's slot in the writer's queue already reserved, and the write queued at
    /// once, so that no take of the lease comes between the check and the write's place in the
    /// order of writes: a write checked after a take is refused ([`StoreError::Fenced`]), and one
    /// checked before it is ordered before every write of the new holder (whose first append
    /// conflicts on its seq, should its load have come before this write was applied).
    async fn write_fenced(
        &self,
        op: Op,
        group_id: GroupId,
        fence: Fence<'_>,
    ) -> Result<usize, StoreError> {
        let permit = self
            .commands
            .reserve()
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))?;
        self.leases.check(group_id, fence)?;
        let (done, result) = oneshot::channel();
        permit.send(Command::Write { op, done });
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

impl EmbeddedStore {
    /// Every row of every table, as (table name, key bytes, value bytes), after every answered
    /// write is committed; ids are written big endian. For tests that look at what is stored
    /// (a deleted group must leave no row); fails on a table this store does not know.
    pub async fn stored_rows(&self) -> Result<Vec<(String, Vec<u8>, Vec<u8>)>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let known = [
                GROUPS.name(),
                LOG.name(),
                LOG_HEADS.name(),
                ENDED_MEETINGS.name(),
                MEETING_ENDED_AT.name(),
                GROUP_MEETINGS.name(),
                GROUP_ACTIVITY.name(),
                GROUPS_BY_ACTIVITY.name(),
                META.name(),
            ];
            for table in txn.list_tables().map_err(unavailable)? {
                if !known.contains(&table.name()) {
                    return Err(StoreError::Corrupt(format!(
                        "unknown table {}",
                        table.name()
                    )));
                }
            }
            let mut rows = Vec::new();
            let mut push = |table: &str, key: Vec<u8>, value: Vec<u8>| {
                rows.push((table.to_string(), key, value));
            };
            for item in txn
                .open_table(GROUPS)
                .map_err(unavailable)?
                .iter()
                .map_err(unavailable)?
            {
                let (key, value) = item.map_err(unavailable)?;
                push(
                    "groups",
                    key.value().to_be_bytes().to_vec(),
                    value.value().to_vec(),
                );
            }
            for item in txn
                .open_table(LOG)
                .map_err(unavailable)?
                .iter()
                .map_err(unavailable)?
            {
                let (key, value) = item.map_err(unavailable)?;
                let (meeting, seq) = key.value();
                let key = [&meeting.to_be_bytes()[..], &seq.to_be_bytes()].concat();
                push("log", key, value.value().to_vec());
            }
            for item in txn
                .open_table(LOG_HEADS)
                .map_err(unavailable)?
                .iter()
                .map_err(unavailable)?
            {
                let (key, value) = item.map_err(unavailable)?;
                push(
                    "log_heads",
                    key.value().to_be_bytes().to_vec(),
                    value.value().to_be_bytes().to_vec(),
                );
            }
            for item in txn
                .open_table(ENDED_MEETINGS)
                .map_err(unavailable)?
                .iter()
                .map_err(unavailable)?
            {
                let (key, _) = item.map_err(unavailable)?;
                let (at, meeting) = key.value();
                let key = [&at.to_be_bytes()[..], &meeting.to_be_bytes()].concat();
                push("ended_meetings", key, Vec::new());
            }
            for item in txn
                .open_table(MEETING_ENDED_AT)
                .map_err(unavailable)?
                .iter()
                .map_err(unavailable)?
            {
                let (key, value) = item.map_err(unavailable)?;
                push(
                    "meeting_ended_at",
                    key.value().to_be_bytes().to_vec(),
                    value.value().to_be_bytes().to_vec(),
                );
            }
            for item in txn
                .open_table(GROUP_MEETINGS)
                .map_err(unavailable)?
                .iter()
                .map_err(unavailable)?
            {
                let (key, _) = item.map_err(unavailable)?;
                let (group, meeting) = key.value();
                let key = [&group.to_be_bytes()[..], &meeting.to_be_bytes()].concat();
                push("group_meetings", key, Vec::new());
            }
            for item in txn
                .open_table(GROUP_ACTIVITY)
                .map_err(unavailable)?
                .iter()
                .map_err(unavailable)?
            {
                let (key, value) = item.map_err(unavailable)?;
                let (at_ms, joined) = value.value();
                let value = [&at_ms.to_be_bytes()[..], &[u8::from(joined)]].concat();
                push("group_activity", key.value().to_be_bytes().to_vec(), value);
            }
            for item in txn
                .open_table(GROUPS_BY_ACTIVITY)
                .map_err(unavailable)?
                .iter()
                .map_err(unavailable)?
            {
                let (key, _) = item.map_err(unavailable)?;
                let (joined, at_ms, group) = key.value();
                let key = [
                    &[u8::from(joined)][..],
                    &at_ms.to_be_bytes(),
                    &group.to_be_bytes(),
                ]
                .concat();
                push("groups_by_activity", key, Vec::new());
            }
            for item in txn
                .open_table(META)
                .map_err(unavailable)?
                .iter()
                .map_err(unavailable)?
            {
                let (key, value) = item.map_err(unavailable)?;
                push(
                    "meta",
                    key.value().as_bytes().to_vec(),
                    value.value().to_be_bytes().to_vec(),
                );
            }
            Ok(rows)
        })
        .await
    }
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
        let started = std::time::Instant::now();
        let op = Op::Append {
            group_id: batch.group_id,
            meeting_id: batch.meeting_id,
            entries: batch.entries.to_vec(),
            snapshot: batch.snapshot.cloned(),
        };
        let written = match batch.fence {
            Some(fence) => self.write_fenced(op, batch.group_id, fence).await,
            None => self.write(op).await,
        }
        .map(|_| ());
        crate::metrics::store_write("embedded", batch.snapshot.is_some(), started, &written);
        written
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

    async fn take_lease_reporting(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
    ) -> Result<LeaseTake, StoreError> {
        Ok(self
            .leases
            .take(group_id, owner, Duration::from_millis(duration_ms), None))
    }

    async fn renew_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
        epoch: u64,
    ) -> Result<LeaseTake, StoreError> {
        Ok(self.leases.take(
            group_id,
            owner,
            Duration::from_millis(duration_ms),
            Some(epoch),
        ))
    }

    async fn release_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        epoch: u64,
    ) -> Result<(), StoreError> {
        self.leases.release(group_id, owner, epoch);
        Ok(())
    }

    async fn break_lease(&self, group_id: GroupId, holder: &str) -> Result<bool, StoreError> {
        Ok(self.leases.end(group_id, holder))
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

    async fn delete_group(&self, group_id: GroupId) -> Result<bool, StoreError> {
        // Rare, and bounded by the group's meetings; through the writer like every mutation.
        let existed = self.write(Op::DeleteGroup { group_id }).await? > 0;
        self.leases.drop_group(group_id);
        Ok(existed)
    }

    async fn record_group_activity(
        &self,
        group_id: GroupId,
        at_ms: UnixMs,
        joined: bool,
    ) -> Result<(), StoreError> {
        self.write(Op::GroupActivity {
            group_id,
            at_ms,
            joined,
        })
        .await
        .map(|_| ())
    }

    async fn abandoned_groups(
        &self,
        unjoined_through_ms: UnixMs,
        joined_through_ms: Option<UnixMs>,
        max: usize,
    ) -> Result<Vec<GroupId>, StoreError> {
        let due = self
            .read(move |db| abandoned_groups(db, unjoined_through_ms, joined_through_ms, max))
            .await?;
        Ok(due
            .into_iter()
            .map(|group| GroupId(uuid::Uuid::from_u128(group)))
            .collect())
    }

    fn kind(&self) -> &'static str {
        "embedded"
    }

    async fn write_canary(&self, writer: &str, at_ms: UnixMs) -> Result<(), StoreError> {
        // The writer commits what it holds: it answers only while it can write.
        let (done, result) = oneshot::channel();
        self.send(Command::Commit { done }).await?;
        result
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))??;
        // And the data directory takes a durable write: a full or read-only disk fails here.
        let path = self.data_dir.join(CANARY_FILE);
        let record = format!("{writer} {at_ms}\n");
        tokio::task::spawn_blocking(move || {
            let write = || -> std::io::Result<()> {
                let mut file = std::fs::File::create(&path)?;
                std::io::Write::write_all(&mut file, record.as_bytes())?;
                file.sync_data()
            };
            write().map_err(|error| {
                StoreError::Unavailable(format!("cannot write {}: {error}", path.display()))
            })
        })
        .await
        .map_err(|_| StoreError::Unavailable("the canary's write task failed".into()))?
    }

    async fn flush(&self) -> Result<(), StoreError> {
        let (done, result) = oneshot::channel();
        self.send(Command::Checkpoint { done }).await?;
        result
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))?
    }

    async fn forget_deleted(&self) -> Result<(), StoreError> {
        let data_dir = Arc::clone(&self.data_dir);
        tokio::task::spawn_blocking(move || vacuum::mark_due(&data_dir))
            .await
            .map_err(|error| StoreError::Unavailable(error.to_string()))?
    }
}

#[cfg(test)]
mod tests;
