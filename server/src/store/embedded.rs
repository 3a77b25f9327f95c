//! The embedded store: one redb file under the data directory.
//!
//! Writes go through a single writer thread that commits many callers' batches in one durable
//! transaction (group commit): under load, one fsync serves every room that wrote in the
//! meantime, and a caller is answered only after that commit. Reads run on tokio's blocking pool
//! in their own read transactions, which never wait for the writer.
//!
//! Tables:
//! - `groups`: group id -> the latest snapshot, encoded as meeting id (16 bytes, big endian),
//!   seq (8 bytes, big endian), then the snapshot bytes;
//! - `log`: (meeting id, seq) -> event bytes;
//! - `log_heads`: meeting id -> the last seq ever logged (kept when the log is trimmed);
//! - `ended_meetings`: (ended at, in Unix ms; meeting id) -> nothing, the meetings whose logs
//!   are due for trimming, in the order they ended; `meeting_ended_at`: meeting id -> the time
//!   it ended, so that recording an end twice keeps the first.
//!
//! Ownership leases ([`Store::take_lease`]) live in memory only. redb locks its file, so no
//! second process can open the same store: within one process every lease is taken by the same
//! owner and is therefore always granted. The in-memory leases still keep the trait's
//! semantics (another owner is refused until the lease expires or is released), so that the
//! conformance suite checks both stores the same way.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use roundtable_protocol::{GroupId, MeetingId, Seq, UnixMs};
use tokio::sync::oneshot;

use super::{AppendBatch, LoadedRoom, LogEntry, Snapshot, Store, StoreError, check_batch_shape};

const GROUPS: TableDefinition<u128, &[u8]> = TableDefinition::new("groups");
const LOG: TableDefinition<(u128, u64), &[u8]> = TableDefinition::new("log");
const LOG_HEADS: TableDefinition<u128, u64> = TableDefinition::new("log_heads");
const ENDED_MEETINGS: TableDefinition<(u64, u128), ()> = TableDefinition::new("ended_meetings");
const MEETING_ENDED_AT: TableDefinition<u128, u64> = TableDefinition::new("meeting_ended_at");

/// Leases held in memory past which expired ones are swept out on the next take. Live leases
/// are bounded by the live rooms, which release theirs when they unload.
const LEASES_SWEEP_AT: usize = 1024;

/// The most write operations committed in one transaction. Bounds the time a caller waits
/// behind others and the size of one commit.
const GROUP_COMMIT_OPS_MAX: usize = 256;

/// The most write operations waiting for the writer thread; callers beyond wait for a slot.
const WRITE_QUEUE_MAX: usize = 4096;

/// A store in one redb file. Cheap to clone; all clones share the file and the writer thread.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    writes: std_mpsc::SyncSender<WriteOp>,
    /// Ownership leases: group -> (owner, expiry).
    leases: Arc<Mutex<HashMap<GroupId, (String, Instant)>>>,
}

#[derive(Debug)]
enum WriteKind {
    CreateGroup {
        group_id: GroupId,
        snapshot: Snapshot,
    },
    Append {
        group_id: GroupId,
        meeting_id: MeetingId,
        entries: Vec<LogEntry>,
        snapshot: Option<Snapshot>,
    },
    Trim {
        meeting_id: MeetingId,
        through_seq: Seq,
    },
    EndMeeting {
        meeting_id: MeetingId,
        ended_at_ms: UnixMs,
    },
}

#[derive(Debug)]
struct WriteOp {
    kind: WriteKind,
    done: oneshot::Sender<Result<(), StoreError>>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store file `roundtable.redb` in `data_dir`, creating the
    /// directory if needed.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|error| {
            StoreError::Unavailable(format!("cannot create {}: {error}", data_dir.display()))
        })?;
        let path = data_dir.join("roundtable.redb");
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
        txn.commit().map_err(unavailable)?;

        let (writes, queue) = std_mpsc::sync_channel(WRITE_QUEUE_MAX);
        let writer_db = Arc::clone(&db);
        std::thread::Builder::new()
            .name("redb-writer".into())
            .spawn(move || writer_loop(&writer_db, &queue))
            .map_err(|error| StoreError::Unavailable(format!("cannot start writer: {error}")))?;
        Ok(EmbeddedStore {
            db,
            writes,
            leases: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    async fn write(&self, kind: WriteKind) -> Result<(), StoreError> {
        let (done, result) = oneshot::channel();
        let sender = self.writes.clone();
        // The queue is bounded; a full queue blocks, so hand the send to the blocking pool.
        tokio::task::spawn_blocking(move || sender.send(WriteOp { kind, done }))
            .await
            .map_err(|_| StoreError::Unavailable("writer queue task failed".into()))?
            .map_err(|_| StoreError::Unavailable("the writer thread has stopped".into()))?;
        result
            .await
            .map_err(|_| StoreError::Unavailable("the writer thread has stopped".into()))?
    }

    async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
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

/// Receives write operations and commits them in groups until every sender is gone.
fn writer_loop(db: &Database, queue: &std_mpsc::Receiver<WriteOp>) {
    while let Ok(first) = queue.recv() {
        let mut ops = vec![first];
        while ops.len() < GROUP_COMMIT_OPS_MAX {
            match queue.try_recv() {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        commit_group(db, ops);
    }
}

fn commit_group(db: &Database, ops: Vec<WriteOp>) {
    let txn = match db.begin_write() {
        Ok(txn) => txn,
        Err(error) => {
            let error = unavailable(error);
            for op in ops {
                let _ = op.done.send(Err(error.clone()));
            }
            return;
        }
    };
    // Each operation is checked and applied inside the shared transaction; one that fails its
    // checks writes nothing and does not affect the others.
    let mut outcomes = Vec::with_capacity(ops.len());
    for op in &ops {
        outcomes.push(apply_write(&txn, &op.kind));
    }
    let committed = txn.commit().map_err(unavailable);
    for (op, outcome) in ops.into_iter().zip(outcomes) {
        let result = match &committed {
            Ok(()) => outcome,
            Err(error) => Err(error.clone()),
        };
        let _ = op.done.send(result);
    }
}

fn apply_write(txn: &WriteTransaction, kind: &WriteKind) -> Result<(), StoreError> {
    match kind {
        WriteKind::CreateGroup { group_id, snapshot } => {
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
            Ok(())
        }
        WriteKind::Append {
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
            Ok(())
        }
        WriteKind::Trim {
            meeting_id,
            through_seq,
        } => {
            let mut log = txn.open_table(LOG).map_err(unavailable)?;
            let meeting = meeting_id.as_u128();
            log.retain_in((meeting, 0)..=(meeting, *through_seq), |_, _| false)
                .map_err(unavailable)?;
            Ok(())
        }
        WriteKind::EndMeeting {
            meeting_id,
            ended_at_ms,
        } => {
            let mut ended_at = txn.open_table(MEETING_ENDED_AT).map_err(unavailable)?;
            let meeting = meeting_id.as_u128();
            if ended_at.get(meeting).map_err(unavailable)?.is_some() {
                return Ok(());
            }
            ended_at
                .insert(meeting, *ended_at_ms)
                .map_err(unavailable)?;
            let mut ended = txn.open_table(ENDED_MEETINGS).map_err(unavailable)?;
            ended
                .insert((*ended_at_ms, meeting), ())
                .map_err(unavailable)?;
            Ok(())
        }
    }
}

/// Trims the logs of up to `meetings_max` meetings ended at or before `ended_through_ms`, in
/// one transaction of its own (redb runs write transactions one at a time, so this waits for
/// the writer thread's commit in progress, if any).
fn trim_ended(
    db: &Database,
    ended_through_ms: UnixMs,
    meetings_max: usize,
) -> Result<usize, StoreError> {
    let txn = db.begin_write().map_err(unavailable)?;
    let trimmed = {
        let mut ended = txn.open_table(ENDED_MEETINGS).map_err(unavailable)?;
        let mut ended_at = txn.open_table(MEETING_ENDED_AT).map_err(unavailable)?;
        let mut log = txn.open_table(LOG).map_err(unavailable)?;
        let mut due = Vec::new();
        for item in ended
            .range((0, 0)..=(ended_through_ms, u128::MAX))
            .map_err(unavailable)?
            .take(meetings_max)
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
        due.len()
    };
    txn.commit().map_err(unavailable)?;
    Ok(trimmed)
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
        self.write(WriteKind::CreateGroup {
            group_id,
            snapshot: snapshot.clone(),
        })
        .await
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
        self.write(WriteKind::Append {
            group_id: batch.group_id,
            meeting_id: batch.meeting_id,
            entries: batch.entries.to_vec(),
            snapshot: batch.snapshot.cloned(),
        })
        .await
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
        self.write(WriteKind::Trim {
            meeting_id,
            through_seq,
        })
        .await
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
        self.write(WriteKind::EndMeeting {
            meeting_id,
            ended_at_ms,
        })
        .await
    }

    async fn trim_ended_logs(
        &self,
        ended_through_ms: UnixMs,
        meetings_max: usize,
    ) -> Result<usize, StoreError> {
        // A retention pass is rare and may be long; it runs on the blocking pool in its own
        // write transaction rather than holding up the writer thread's group commits.
        self.read(move |db| trim_ended(db, ended_through_ms, meetings_max))
            .await
    }
}
