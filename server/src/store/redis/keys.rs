//! The Redis key layout, and the index from a meeting to its group.
//!
//! Every key starts with a configurable prefix, `rt:` by default ([`RedisOptions::key_prefix`]),
//! so that several deployments or test runs can share one Redis without seeing each other's
//! data. Below, `<group>` and `<meeting>` are ids in their hyphenated UUID form.
//!
//! - `rt:{g:<group>}:snapshot` is a hash holding the group's latest snapshot in three fields:
//!   `meeting` (the snapshot's meeting id), `seq` (the seq it was taken at, in decimal) and
//!   `data` (the snapshot's opaque bytes). Its existence is what makes the group exist.
//! - `rt:{g:<group>}:meetings` is a set of the group's meeting ids, added to by the scripts that
//!   create the group and append to a meeting's log, so that [`Store::delete_group`] finds every
//!   meeting's keys. (A group stored before this set existed lacks it; its deletion finds its
//!   meetings by scanning for its keys instead.)
//! - `rt:{g:<group>}:m:<meeting>:log` is a Redis Stream holding the meeting's event log. Each
//!   entry has the explicit stream id `<seq>-0` (the event's seq as the id's first part, zero as
//!   its second) and one field, `e`, holding the event's bytes. Because the stream id orders like
//!   the seq, `XRANGE key <after+1> + COUNT <limit>` reads the entries after a seq in order, and
//!   `XTRIM key MINID <through+1>` removes the entries up to a seq. Seq 0 is never logged (a log
//!   starts at 1), so the id `0-0`, which streams refuse, is never needed; with the seq in the
//!   id's first part, a bare seq is itself a valid range bound, which `0-<seq>` would not give.
//!   A stream refuses an id not greater than its last one, so a repeated seq could never be
//!   stored twice even without the head check.
//! - `rt:{g:<group>}:m:<meeting>:head` is a string holding, in decimal, the last seq ever
//!   appended to the meeting's log. It is kept when the log is trimmed, so that the log goes on
//!   where it was rather than where its oldest remaining entry is; a missing head means 0.
//! - `rt:meeting:<meeting>` is a string holding the id of the group the meeting belongs to. It
//!   is an index for [`Store::read_log`] and [`Store::trim_log`], which are given only a
//!   meeting id, while the meeting's keys are named by its group.
//!
//! - `rt:{g:<group>}:lease` is a string holding the random owner id of the server process
//!   whose live room runs the group's meeting, with an expiry (`PX`). See [`lease`](super::lease).
//! - `rt:{g:<group>}:lease_record` is a string `<owner> <expiry in Unix ms>` naming the lease's
//!   last holder and when its lease runs out (Redis's clock), kept at least ten minutes after
//!   the last renewal, so that a takeover after an expiry is noticed and timed.
//! - `rt:{g:<group>}:epoch` is a string holding, in decimal, the group's *lease epoch*: a counter
//!   that every take of the lease raises (`INCR`, in the take's script) and a renewal keeps. It
//!   has no expiry and outlives the lease, so that a room whose lease was taken by another (or
//!   by a newer room of the same process) holds an epoch below it for good. The append script
//!   refuses a batch whose fence names another epoch ([`StoreError::Fenced`]). A missing key
//!   means 0, which no take answers. It goes with the group's other keys on deletion.
//! - `rt:{g:<group>}:log_epochs` is a hash naming the log epochs the group's room was served
//!   under: the current one with its last write, which its appends note, and up to four
//!   earlier ones with theirs (format 1; see [`lineage`](super::lineage)). It goes with the
//!   group's other keys on deletion.
//! - `rt:ended_meetings` is a sorted set of the ended meetings whose logs are still kept: the
//!   member is the meeting id, the score the time it ended in Unix milliseconds. The retention
//!   pass reads it oldest first (`ZRANGEBYSCORE ... LIMIT`), deletes each due meeting's log
//!   stream, then removes the member. The meeting's head and index keys stay (they are small,
//!   and the head keeps seqs from repeating).
//! - `rt:{activity}:unjoined` and `rt:{activity}:joined` are sorted sets of group ids scored by
//!   the group's last activity in Unix ms: those nobody joined yet, and the others (see
//!   [`activity`](super::activity)). They share a hash tag, so that moving a group from one to
//!   the other is one script.
//!
//! - `rt:canary:<writer>` is a string holding the time in Unix ms of the last canary write
//!   ([`Store::write_canary`]) by the server process whose random id is `<writer>`, with an
//!   expiry of a minute. It is the health check's, and no group's.
//!
//! - `rt:{fleet}:nodes` is a sorted set of the fleet's node ids scored by their last heartbeat
//!   in Unix ms (Redis's clock), and `rt:{fleet}:node:<id>` a hash of one node's entry:
//!   `client` (its public URL), `internal` (its internal listener's address), `rooms`,
//!   `connections`, `draining` (`1` or `0`) and `heartbeat`, expiring a few heartbeat windows
//!   after the last one. See [`fleet`](super::fleet). They are no group's, and not a stored
//!   format: a node rewrites its entry every heartbeat.
//!
//! A group is deleted ([`Store::delete_group`]) by reading its set of meetings, removing them from
//! `rt:ended_meetings` and their index keys, and last the group's own keys in one `DEL`.
//!
//! The part in braces is a Redis Cluster hash tag: a cluster places a key by the hash of the tag
//! alone, so all keys of one group, its meetings' logs and heads included, live on the same node.
//! This matters because one append writes the group's snapshot, the meeting's log and the
//! meeting's head together, atomically, and Redis runs a script or transaction only over keys of
//! one hash slot. That is also why a meeting's keys carry its group's tag rather than a tag of
//! their own. The index key `rt:meeting:<meeting>` has no tag and may live on another node, so
//! it is written by its own command, never inside the append script: when a group is created
//! (for its first snapshot's meeting), and before the first append to a meeting that this
//! process makes (remembered in a bounded in-memory map, so later appends skip it). Writing it
//! before the log entries means that a log is never without its index; a meeting's group never
//! changes, so writing it twice is harmless. Reading a log costs one extra `GET` for the index,
//! also remembered in memory.
//!
//! On a Redis Cluster (`--redis-cluster`, [`RedisStore::connect_cluster`]) the layout is the
//! same, key for key; what each command touches is:
//!
//! - Every script touches keys of one hash slot: creating a group and appending (the group's
//!   tag), taking and releasing a lease (the group's tag), recording activity (the `{activity}`
//!   tag). Everything a script must do atomically is therefore on one master.
//! - The commands on one key (`GET`/`SET` of an index key or a canary, `HMGET` of a snapshot,
//!   `XRANGE`, `XTRIM`, `ZADD`/`ZREM`/`ZRANGEBYSCORE` of `ended_meetings` or an activity set,
//!   `DEL` of one log) go to the master of that key's slot.
//! - Deleting a group: its own keys go in one `DEL` that names only keys with its tag, so one
//!   slot; the index keys of its meetings lie in many slots, and their `DEL` is split by the
//!   cluster connection into one per node (not atomic over the whole, which the deletion's order
//!   does not need). The fallback `SCAN` for a group stored before its set of meetings existed
//!   goes to the master of the group's slot, the only one that can hold keys with its tag.
//! - `rt:ended_meetings` has no tag: it is one key, and so on one master; each retention pass
//!   reads it and then deletes each due log with a command of its own, as on one server.
//! - The canary key has no tag either: a canary write shows that this process reaches the
//!   cluster and that the master of that one key takes writes. A master that is down affects
//!   only the groups in its slots, and takes down the canary only if it is that key's master;
//!   the groups' own writes tell their rooms (`storage_unavailable`).

use roundtable_protocol::{GroupId, MeetingId};

#[cfg(doc)]
use super::RedisOptions;
use super::RedisStore;
#[cfg(doc)]
use crate::store::Store;
use crate::store::StoreError;

/// The most meeting-to-group mappings remembered in memory; the memory is cleared when full.
const KNOWN_MEETINGS_MAX: usize = 65_536;

impl RedisStore {
    pub(super) fn group_tag(&self, group_id: GroupId) -> String {
        format!("{}{{g:{group_id}}}", self.options.key_prefix)
    }

    pub(super) fn snapshot_key(&self, group_id: GroupId) -> String {
        format!("{}:snapshot", self.group_tag(group_id))
    }

    pub(super) fn meetings_key(&self, group_id: GroupId) -> String {
        format!("{}:meetings", self.group_tag(group_id))
    }

    pub(super) fn head_key(&self, group_id: GroupId, meeting_id: MeetingId) -> String {
        format!("{}:m:{meeting_id}:head", self.group_tag(group_id))
    }

    pub(super) fn log_key(&self, group_id: GroupId, meeting_id: MeetingId) -> String {
        format!("{}:m:{meeting_id}:log", self.group_tag(group_id))
    }

    pub(super) fn lease_key(&self, group_id: GroupId) -> String {
        format!("{}:lease", self.group_tag(group_id))
    }

    pub(super) fn epoch_key(&self, group_id: GroupId) -> String {
        format!("{}:epoch", self.group_tag(group_id))
    }

    pub(super) fn log_epochs_key(&self, group_id: GroupId) -> String {
        format!("{}:log_epochs", self.group_tag(group_id))
    }

    pub(super) fn lease_record_key(&self, group_id: GroupId) -> String {
        format!("{}:lease_record", self.group_tag(group_id))
    }

    pub(super) fn canary_key(&self, writer: &str) -> String {
        format!("{}canary:{writer}", self.options.key_prefix)
    }

    pub(super) fn ended_meetings_key(&self) -> String {
        format!("{}ended_meetings", self.options.key_prefix)
    }

    pub(super) fn meeting_index_key(&self, meeting_id: MeetingId) -> String {
        format!("{}meeting:{meeting_id}", self.options.key_prefix)
    }

    fn remember_meeting(&self, meeting_id: MeetingId, group_id: GroupId) {
        let mut known = self.known_meetings.lock().expect("known meetings lock");
        if known.len() >= KNOWN_MEETINGS_MAX {
            known.clear();
        }
        known.insert(meeting_id, group_id);
    }

    /// Forgets the groups of deleted meetings.
    pub(super) fn forget_meetings(&self, meetings: &[MeetingId]) {
        let mut known = self.known_meetings.lock().expect("known meetings lock");
        for meeting in meetings {
            known.remove(meeting);
        }
    }

    fn known_group(&self, meeting_id: MeetingId) -> Option<GroupId> {
        let known = self.known_meetings.lock().expect("known meetings lock");
        known.get(&meeting_id).copied()
    }

    /// Writes the meeting's index key unless this process has already.
    pub(super) async fn ensure_meeting_index(
        &self,
        meeting_id: MeetingId,
        group_id: GroupId,
    ) -> Result<(), StoreError> {
        if self.known_group(meeting_id) == Some(group_id) {
            return Ok(());
        }
        self.write_meeting_index(meeting_id, group_id).await
    }

    pub(super) async fn write_meeting_index(
        &self,
        meeting_id: MeetingId,
        group_id: GroupId,
    ) -> Result<(), StoreError> {
        let key = self.meeting_index_key(meeting_id);
        let value = group_id.to_string();
        let mut command = redis::cmd("SET");
        command.arg(&key).arg(&value);
        self.query::<()>(&command).await?;
        self.remember_meeting(meeting_id, group_id);
        Ok(())
    }

    /// The group a meeting belongs to, from memory or the index key; `None` if never indexed.
    pub(super) async fn meeting_group(
        &self,
        meeting_id: MeetingId,
    ) -> Result<Option<GroupId>, StoreError> {
        if let Some(group_id) = self.known_group(meeting_id) {
            return Ok(Some(group_id));
        }
        let key = self.meeting_index_key(meeting_id);
        let mut command = redis::cmd("GET");
        command.arg(&key);
        let value: Option<String> = self.query(&command).await?;
        let Some(value) = value else {
            return Ok(None);
        };
        let group_id: GroupId = value.parse().map_err(|_| {
            StoreError::Corrupt(format!(
                "meeting index {key} holds {value:?}, not a group id"
            ))
        })?;
        self.remember_meeting(meeting_id, group_id);
        Ok(Some(group_id))
    }
}
