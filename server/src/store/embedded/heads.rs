//! The groups and log heads the writer knows ([`HeadCache`]), and where it reads the rest.

use std::collections::{HashMap, HashSet};

use redb::{Database, ReadOnlyTable, ReadableDatabase, ReadableTable, WriteTransaction};
use roundtable_protocol::{GroupId, MeetingId, Seq};

use super::journal::Op;
use super::tables::{GROUPS, LOG_HEADS, unavailable};
use crate::store::{LogEntry, Snapshot, StoreError};

/// The groups and log heads of one read transaction.
pub(super) struct ReadView {
    pub(super) groups: ReadOnlyTable<u128, &'static [u8]>,
    pub(super) heads: ReadOnlyTable<u128, u64>,
    /// Keeps the state the tables read alive (declared after them, so dropped after them).
    pub(super) _read: redb::ReadTransaction,
}

impl ReadView {
    pub(super) fn open(db: &Database) -> Result<Self, StoreError> {
        let read = db.begin_read().map_err(unavailable)?;
        Ok(ReadView {
            groups: read.open_table(GROUPS).map_err(unavailable)?,
            heads: read.open_table(LOG_HEADS).map_err(unavailable)?,
            _read: read,
        })
    }
}

/// Where [`HeadCache`] reads what it does not know yet.
pub(super) trait HeadSource {
    fn group_exists(&self, group: u128) -> Result<bool, StoreError>;
    /// The last seq logged for the meeting, 0 if none.
    fn head(&self, meeting: u128) -> Result<Seq, StoreError>;
}

impl HeadSource for ReadView {
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
/// [`HeadCache`]: the tables are opened for each lookup.)
impl HeadSource for WriteTransaction {
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

/// What the writer knows of the groups and log heads, so that checking a write reads no table in
/// the common case, and an append writes only its entries: the heads it moves are written to
/// `log_heads` when the transaction commits ([`HeadCache::store_heads`]). It knows everything
/// changed since its state was last committed durably: at the end of every checkpoint it forgets
/// all but what the checkpoint's window wrote (which bounds it by what was written since), and all
/// whenever a transaction fails.
#[derive(Debug, Default)]
pub(super) struct HeadCache {
    /// Groups known to exist.
    pub(super) groups: HashSet<u128>,
    /// Groups known to be deleted: a read transaction opened before the deletion committed
    /// still holds them ([`HeadCache::forget_group`]).
    pub(super) deleted: HashSet<u128>,
    /// Meeting id -> its last seq, and whether `log_heads` lacks it.
    pub(super) heads: HashMap<u128, (Seq, bool)>,
}

impl HeadCache {
    pub(super) fn group_exists(
        &mut self,
        lookup: &impl HeadSource,
        group: u128,
    ) -> Result<bool, StoreError> {
        if self.groups.contains(&group) {
            return Ok(true);
        }
        if self.deleted.contains(&group) {
            return Ok(false);
        }
        let exists = lookup.group_exists(group)?;
        if exists {
            self.groups.insert(group);
        }
        Ok(exists)
    }

    pub(super) fn head(
        &mut self,
        lookup: &impl HeadSource,
        meeting: u128,
    ) -> Result<Seq, StoreError> {
        if let Some(&(head, _)) = self.heads.get(&meeting) {
            return Ok(head);
        }
        let head = lookup.head(meeting)?;
        self.heads.insert(meeting, (head, false));
        Ok(head)
    }

    /// Checks a group's creation or an append as applying it would; on success notes its
    /// effect. Other ops have nothing to check here.
    pub(super) fn check(&mut self, lookup: &impl HeadSource, op: &Op) -> Result<(), StoreError> {
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
            Op::Trim { .. }
            | Op::EndMeeting { .. }
            | Op::TrimEnded { .. }
            | Op::DeleteGroup { .. }
            | Op::GroupActivity { .. } => {}
        }
        self.note(op);
        Ok(())
    }

    /// Notes the effect of a group's creation or an append that was checked: the group
    /// exists, the log's head moved (and `log_heads` lacks it).
    pub(super) fn note(&mut self, op: &Op) {
        match op {
            Op::CreateGroup { group_id, .. } => {
                self.deleted.remove(&group_id.as_u128());
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
            Op::Trim { .. }
            | Op::EndMeeting { .. }
            | Op::TrimEnded { .. }
            | Op::DeleteGroup { .. }
            | Op::GroupActivity { .. } => {}
        }
    }

    /// Notes that a group and its meetings' logs were deleted: the group does not exist and the
    /// logs are at 0, whatever an older read transaction says, and no head of theirs is stored
    /// again.
    pub(super) fn forget_group(&mut self, group: u128, meetings: &[u128]) {
        self.groups.remove(&group);
        self.deleted.insert(group);
        for &meeting in meetings {
            self.heads.insert(meeting, (0, false));
        }
    }

    /// Writes the heads `log_heads` lacks into `txn`.
    pub(super) fn store_heads(&mut self, txn: &WriteTransaction) -> Result<(), StoreError> {
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

    pub(super) fn forget(&mut self) {
        self.groups.clear();
        self.deleted.clear();
        self.heads.clear();
    }
}

/// Checks an append to the log of `meeting_id`, whose last seq is `head`, in group `group_id`:
/// the group exists, the entries continue the log, and the snapshot, if any, is at its end.
pub(super) fn check_append(
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
