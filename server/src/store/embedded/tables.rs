//! The embedded store's redb tables and the operations on them: applying a write, reading a log.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use std::path::Path;

use roundtable_protocol::{MeetingId, Seq, UnixMs};

use super::heads::HeadCache;
use super::journal::Op;
use crate::store::{LogEntry, Snapshot, StoreError};

pub(super) const GROUPS: TableDefinition<u128, &[u8]> = TableDefinition::new("groups");

pub(super) const LOG: TableDefinition<(u128, u64), &[u8]> = TableDefinition::new("log");

pub(super) const LOG_HEADS: TableDefinition<u128, u64> = TableDefinition::new("log_heads");

pub(super) const ENDED_MEETINGS: TableDefinition<(u64, u128), ()> =
    TableDefinition::new("ended_meetings");

pub(super) const MEETING_ENDED_AT: TableDefinition<u128, u64> =
    TableDefinition::new("meeting_ended_at");

pub(super) const GROUP_MEETINGS: TableDefinition<(u128, u128), ()> =
    TableDefinition::new("group_meetings");

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Group id -> (its last activity in Unix ms, whether someone ever joined it).
pub(super) const GROUP_ACTIVITY: TableDefinition<u128, (u64, bool)> =
    TableDefinition::new("group_activity");

/// (joined, last activity in Unix ms, group id) -> nothing: the groups by last activity.
pub(super) const GROUPS_BY_ACTIVITY: TableDefinition<(bool, u64, u128), ()> =
    TableDefinition::new("groups_by_activity");

/// The `meta` key set to 1 once `group_meetings` indexes the meeting of every group's snapshot
/// (files written before that table existed get it on open).
pub(super) const GROUP_MEETINGS_INDEXED: &str = "group_meetings_indexed";

/// The `meta` key of the number of the last journal record applied to the redb file.
pub(super) const LAST_JOURNAL_BATCH: &str = "last_journal_batch";

/// Opens (or creates) the redb file at `path` with a page cache of `cache_bytes`, and creates
/// the tables up front so that read transactions always find them.
pub(super) fn open_database(path: &Path, cache_bytes: usize) -> Result<Database, StoreError> {
    let db = Database::builder()
        .set_cache_size(cache_bytes)
        .create(path)
        .map_err(|error| {
            StoreError::Unavailable(format!("cannot open {}: {error}", path.display()))
        })?;
    let txn = db.begin_write().map_err(unavailable)?;
    txn.open_table(GROUPS).map_err(unavailable)?;
    txn.open_table(LOG).map_err(unavailable)?;
    txn.open_table(LOG_HEADS).map_err(unavailable)?;
    txn.open_table(ENDED_MEETINGS).map_err(unavailable)?;
    txn.open_table(MEETING_ENDED_AT).map_err(unavailable)?;
    txn.open_table(GROUP_MEETINGS).map_err(unavailable)?;
    txn.open_table(GROUP_ACTIVITY).map_err(unavailable)?;
    txn.open_table(GROUPS_BY_ACTIVITY).map_err(unavailable)?;
    txn.open_table(META).map_err(unavailable)?;
    index_snapshot_meetings(&txn)?;
    txn.commit().map_err(unavailable)?;
    Ok(db)
}

/// Once per file: indexes the meeting of every group's snapshot in `group_meetings`, for a file
/// written before the index existed. (The logs of such a group's earlier meetings are not
/// indexed: they go when their retention trims them, not with the group.)
fn index_snapshot_meetings(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META).map_err(unavailable)?;
    if meta
        .get(GROUP_MEETINGS_INDEXED)
        .map_err(unavailable)?
        .is_some()
    {
        return Ok(());
    }
    let groups = txn.open_table(GROUPS).map_err(unavailable)?;
    let mut index = txn.open_table(GROUP_MEETINGS).map_err(unavailable)?;
    for item in groups.iter().map_err(unavailable)? {
        let (group, snapshot) = item.map_err(unavailable)?;
        let meeting = decode_snapshot(snapshot.value())?.meeting_id.as_u128();
        index
            .insert((group.value(), meeting), ())
            .map_err(unavailable)?;
    }
    meta.insert(GROUP_MEETINGS_INDEXED, 1)
        .map_err(unavailable)?;
    Ok(())
}

pub(super) fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

pub(super) fn encode_snapshot(snapshot: &Snapshot) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(24 + snapshot.bytes.len());
    bytes.extend_from_slice(&snapshot.meeting_id.as_u128().to_be_bytes());
    bytes.extend_from_slice(&snapshot.seq.to_be_bytes());
    bytes.extend_from_slice(&snapshot.bytes);
    bytes
}

pub(super) fn decode_snapshot(bytes: &[u8]) -> Result<Snapshot, StoreError> {
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

pub(super) fn last_journal_batch(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let meta = txn.open_table(META).map_err(unavailable)?;
    Ok(meta
        .get(LAST_JOURNAL_BATCH)
        .map_err(unavailable)?
        .map_or(0, |value| value.value()))
}

pub(super) fn set_last_journal_batch(txn: &WriteTransaction, batch: u64) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META).map_err(unavailable)?;
    meta.insert(LAST_JOURNAL_BATCH, batch)
        .map_err(unavailable)?;
    Ok(())
}

/// Writes group creations and appends that [`HeadCache::check`] accepted, in order, opening each
/// table they need once (the heads they move are [`HeadCache`]'s to store).
pub(super) fn write_checked_all(txn: &WriteTransaction, ops: &[Op]) -> Result<(), StoreError> {
    let mut groups = None;
    let mut log = None;
    let mut index = None;
    for op in ops {
        match op {
            Op::CreateGroup { group_id, snapshot } => {
                open_once(&mut groups, txn, GROUPS)?
                    .insert(group_id.as_u128(), encode_snapshot(snapshot).as_slice())
                    .map_err(unavailable)?;
                open_once(&mut index, txn, GROUP_MEETINGS)?
                    .insert((group_id.as_u128(), snapshot.meeting_id.as_u128()), ())
                    .map_err(unavailable)?;
            }
            Op::Append {
                group_id,
                meeting_id,
                entries,
                snapshot,
            } => {
                // A meeting is indexed under its group when its log starts and when a snapshot
                // of it is stored (every meeting's first write is one of them).
                if snapshot.is_some() || entries.first().is_some_and(|first| first.seq == 1) {
                    open_once(&mut index, txn, GROUP_MEETINGS)?
                        .insert((group_id.as_u128(), meeting_id.as_u128()), ())
                        .map_err(unavailable)?;
                }
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
            Op::Trim { .. }
            | Op::EndMeeting { .. }
            | Op::TrimEnded { .. }
            | Op::DeleteGroup { .. }
            | Op::GroupActivity { .. } => {
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
pub(super) fn open_once<'s, 'txn, K: redb::Key + 'static, V: redb::Value + 'static>(
    slot: &'s mut Option<redb::Table<'txn, K, V>>,
    txn: &'txn WriteTransaction,
    definition: TableDefinition<'static, K, V>,
) -> Result<&'s mut redb::Table<'txn, K, V>, StoreError> {
    if slot.is_none() {
        *slot = Some(txn.open_table(definition).map_err(unavailable)?);
    }
    Ok(slot.as_mut().expect("opened above"))
}

/// Applies one op in `txn`, checked by `head_cache` (which notes its effect). Answers the count of
/// meetings trimmed for [`Op::TrimEnded`], 1 for [`Op::DeleteGroup`] of a group that existed,
/// 0 otherwise.
pub(super) fn apply_op(
    txn: &WriteTransaction,
    head_cache: &mut HeadCache,
    op: &Op,
) -> Result<usize, StoreError> {
    match op {
        Op::CreateGroup { .. } | Op::Append { .. } => {
            head_cache.check(txn, op)?;
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
        Op::DeleteGroup { group_id } => delete_group(txn, head_cache, group_id.as_u128()),
        Op::GroupActivity {
            group_id,
            at_ms,
            joined,
        } => {
            if !head_cache.group_exists(txn, group_id.as_u128())? {
                return Err(StoreError::NotFound(format!("group {group_id}")));
            }
            record_activity(txn, group_id.as_u128(), *at_ms, *joined)?;
            Ok(0)
        }
    }
}

/// Moves the group's activity record forward to `at_ms` (and to joined).
fn record_activity(
    txn: &WriteTransaction,
    group: u128,
    at_ms: UnixMs,
    joined: bool,
) -> Result<(), StoreError> {
    let mut activity = txn.open_table(GROUP_ACTIVITY).map_err(unavailable)?;
    let mut by_activity = txn.open_table(GROUPS_BY_ACTIVITY).map_err(unavailable)?;
    let before = activity
        .get(group)
        .map_err(unavailable)?
        .map(|value| value.value());
    let (at_ms, joined) = match before {
        Some((before_ms, before_joined)) => {
            by_activity
                .remove((before_joined, before_ms, group))
                .map_err(unavailable)?;
            (before_ms.max(at_ms), before_joined || joined)
        }
        None => (at_ms, joined),
    };
    activity
        .insert(group, (at_ms, joined))
        .map_err(unavailable)?;
    by_activity
        .insert((joined, at_ms, group), ())
        .map_err(unavailable)?;
    Ok(())
}

/// The groups [`Store::abandoned_groups`](crate::store::Store::abandoned_groups) answers.
pub(super) fn abandoned_groups(
    db: &Database,
    unjoined_through_ms: UnixMs,
    joined_through_ms: Option<UnixMs>,
    max: usize,
) -> Result<Vec<u128>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let by_activity = txn.open_table(GROUPS_BY_ACTIVITY).map_err(unavailable)?;
    let mut due = Vec::new();
    let ranges = [
        (false, Some(unjoined_through_ms)),
        (true, joined_through_ms),
    ];
    for (joined, through_ms) in ranges {
        let Some(through_ms) = through_ms else {
            continue;
        };
        for item in by_activity
            .range((joined, 0, 0)..=(joined, through_ms, u128::MAX))
            .map_err(unavailable)?
            .take(max - due.len())
        {
            let (key, _) = item.map_err(unavailable)?;
            due.push(key.value().2);
        }
    }
    Ok(due)
}

/// Removes every row of a group: its snapshot, and for each meeting indexed under it, the log,
/// the head and the end records, then the index rows. Answers 1 if the group existed, else 0.
pub(super) fn delete_group(
    txn: &WriteTransaction,
    head_cache: &mut HeadCache,
    group: u128,
) -> Result<usize, StoreError> {
    let mut index = txn.open_table(GROUP_MEETINGS).map_err(unavailable)?;
    let mut meetings = Vec::new();
    for item in index
        .range((group, 0)..=(group, u128::MAX))
        .map_err(unavailable)?
    {
        let (key, _) = item.map_err(unavailable)?;
        meetings.push(key.value().1);
    }
    index
        .retain_in((group, 0)..=(group, u128::MAX), |_, ()| false)
        .map_err(unavailable)?;
    let mut log = txn.open_table(LOG).map_err(unavailable)?;
    let mut heads = txn.open_table(LOG_HEADS).map_err(unavailable)?;
    let mut ended = txn.open_table(ENDED_MEETINGS).map_err(unavailable)?;
    let mut ended_at = txn.open_table(MEETING_ENDED_AT).map_err(unavailable)?;
    for &meeting in &meetings {
        log.retain_in((meeting, 0)..=(meeting, u64::MAX), |_, _| false)
            .map_err(unavailable)?;
        heads.remove(meeting).map_err(unavailable)?;
        if let Some(at_ms) = ended_at.remove(meeting).map_err(unavailable)? {
            ended
                .remove((at_ms.value(), meeting))
                .map_err(unavailable)?;
        }
    }
    let mut activity = txn.open_table(GROUP_ACTIVITY).map_err(unavailable)?;
    if let Some(record) = activity.remove(group).map_err(unavailable)? {
        let (at_ms, joined) = record.value();
        txn.open_table(GROUPS_BY_ACTIVITY)
            .map_err(unavailable)?
            .remove((joined, at_ms, group))
            .map_err(unavailable)?;
    }
    let existed = txn
        .open_table(GROUPS)
        .map_err(unavailable)?
        .remove(group)
        .map_err(unavailable)?
        .is_some();
    head_cache.forget_group(group, &meetings);
    Ok(usize::from(existed))
}

/// Trims the logs of up to `meetings_max` meetings ended at or before `ended_through_ms`.
pub(super) fn trim_ended(
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

pub(super) fn read_entries(
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
