//! Deleting a group: its keys, named by its hash tag, and its meetings' keys outside it.

use roundtable_protocol::{GroupId, MeetingId};

use super::RedisStore;
#[cfg(doc)]
use crate::store::Store;
use crate::store::StoreError;

/// Keys asked for per `SCAN` step, for a group stored before its set of meetings existed.
const SCAN_COUNT: usize = 1000;

impl RedisStore {
    /// [`Store::delete_group`], unbounded in time.
    ///
    /// The group's meetings are those of its set of meetings and the one of its snapshot (for a
    /// group stored before the set existed: those named by its keys, found by `SCAN`). Their keys
    /// outside the group's hash slot go first (their entry in `ended_meetings` and their index
    /// key, then the group's activity record), the group's own keys last, in one `DEL` with the
    /// snapshot: should the deletion be cut short, the group still exists and deleting it again
    /// finds every meeting again. On a Redis Cluster the index keys lie in many slots: their
    /// `DEL` is split by the cluster connection into one per node, and a failure part-way
    /// leaves some of them, which the next deletion of the still existing group removes. The
    /// last `DEL` names only keys with the group's tag, so it is one command on one node.
    pub(super) async fn delete_group_unbounded(
        &self,
        group_id: GroupId,
    ) -> Result<bool, StoreError> {
        let snapshot_key = self.snapshot_key(group_id);
        let meetings_key = self.meetings_key(group_id);
        let mut command = redis::cmd("HGET");
        command.arg(&snapshot_key).arg("meeting");
        let snapshot_meeting: Option<String> = self.query(&command).await?;
        let existed = snapshot_meeting.is_some();
        let mut command = redis::cmd("SMEMBERS");
        command.arg(&meetings_key);
        let members: Vec<String> = self.query(&command).await?;
        let mut meetings: Vec<MeetingId> = members
            .iter()
            .chain(&snapshot_meeting)
            .filter_map(|meeting| meeting.parse().ok())
            .collect();
        if existed && members.is_empty() {
            meetings.extend(self.meetings_by_scan(group_id).await?);
        }
        meetings.sort_unstable();
        meetings.dedup();
        if !meetings.is_empty() {
            let mut command = redis::cmd("ZREM");
            command.arg(self.ended_meetings_key());
            for meeting in &meetings {
                command.arg(meeting.to_string());
            }
            self.query::<i64>(&command).await?;
            let mut command = redis::cmd("DEL");
            for &meeting in &meetings {
                command.arg(self.meeting_index_key(meeting));
            }
            self.query::<i64>(&command).await?;
            self.forget_meetings(&meetings);
        }
        self.forget_activity(group_id).await?;
        let mut command = redis::cmd("DEL");
        command
            .arg(&snapshot_key)
            .arg(&meetings_key)
            .arg(self.lease_key(group_id))
            .arg(self.lease_record_key(group_id))
            .arg(self.epoch_key(group_id))
            .arg(self.log_epochs_key(group_id));
        for &meeting in &meetings {
            command
                .arg(self.log_key(group_id, meeting))
                .arg(self.head_key(group_id, meeting));
        }
        self.query::<i64>(&command).await?;
        Ok(existed)
    }

    /// The meetings named by the group's keys (`{g:<group>}:m:<meeting>:...`), found by `SCAN`
    /// on the server holding them: on a cluster, the master of the group's hash slot (all
    /// those keys share the group's tag, so no other master can hold one). A failover in the
    /// middle of the scan makes the cursor meaningless on the new master, which can end the
    /// scan early; the group then still exists (its keys go last), and deleting it again scans
    /// again.
    async fn meetings_by_scan(&self, group_id: GroupId) -> Result<Vec<MeetingId>, StoreError> {
        let prefix = format!("{}:m:", self.group_tag(group_id));
        let pattern = format!("{}*", glob_escape(&prefix));
        let mut meetings = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let mut command = redis::cmd("SCAN");
            command
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            // `SCAN` names no key; on a cluster it goes to the master of the group's slot,
            // which holds every key with the group's tag.
            let (next, keys): (u64, Vec<String>) = self
                .call(|mut connection| {
                    let (prefix, command) = (&prefix, &command);
                    async move { connection.scan_near(prefix, command).await }
                })
                .await?;
            meetings.extend(keys.iter().filter_map(|key| {
                key.strip_prefix(&prefix)?
                    .split(':')
                    .next()?
                    .parse::<MeetingId>()
                    .ok()
            }));
            cursor = next;
            if cursor == 0 {
                return Ok(meetings);
            }
        }
    }
}

/// `text` with the characters special to a `SCAN MATCH` pattern escaped.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}
