//! Creating a group, and loading its room.

use roundtable_protocol::GroupId;

use super::decode::decode_snapshot;
use super::{RedisStore, scripts};
#[cfg(doc)]
use crate::store::Store;
use crate::store::{LoadedRoom, Snapshot, StoreError};

/// The store calls on a group, each unbounded in time; [`Store`] bounds them.
impl RedisStore {
    pub(super) async fn create_group_unbounded(
        &self,
        group_id: GroupId,
        snapshot: &Snapshot,
    ) -> Result<(), StoreError> {
        let invocation = scripts::create_group(
            self.snapshot_key(group_id),
            self.meetings_key(group_id),
            snapshot,
        );
        let status: Vec<String> = self.run_script(&invocation).await?;
        match status.first().map(String::as_str) {
            Some("ok") => {}
            Some("conflict") => {
                return Err(StoreError::Conflict(format!("group {group_id} exists")));
            }
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "create_group script answered {status:?}"
                )));
            }
        }
        self.write_meeting_index(snapshot.meeting_id, group_id)
            .await
    }

    pub(super) async fn load_room_unbounded(
        &self,
        group_id: GroupId,
    ) -> Result<Option<LoadedRoom>, StoreError> {
        let key = self.snapshot_key(group_id);
        let mut command = redis::cmd("HMGET");
        command.arg(&key).arg("meeting").arg("seq").arg("data");
        let fields: Vec<Option<Vec<u8>>> = self.query(&command).await?;
        let Some(snapshot) = decode_snapshot(&key, fields)? else {
            return Ok(None);
        };
        // The snapshot and the log are written by one script, so reading the tail afterwards
        // can only find more entries, never fewer (unless they were trimmed meanwhile).
        let log_key = self.log_key(group_id, snapshot.meeting_id);
        let tail = self
            .read_entries(&log_key, snapshot.seq, usize::MAX)
            .await?;
        Ok(Some(LoadedRoom { snapshot, tail }))
    }
}
