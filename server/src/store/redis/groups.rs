//! Creating a group, and loading its room.

use std::sync::Arc;

use roundtable_protocol::GroupId;

use super::RedisStore;
use super::decode::decode_snapshot;
use super::scripts::{CREATE_GROUP_SCRIPT, invoke};
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
        let keys = Arc::new(vec![self.snapshot_key(group_id)]);
        let args = Arc::new(vec![
            snapshot.meeting_id.to_string().into_bytes(),
            snapshot.seq.to_string().into_bytes(),
            snapshot.bytes.clone(),
        ]);
        let status = self
            .call(|connection| {
                invoke(
                    &CREATE_GROUP_SCRIPT,
                    Arc::clone(&keys),
                    Arc::clone(&args),
                    connection,
                )
            })
            .await?;
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
        let fields: Vec<Option<Vec<u8>>> = self
            .call(|mut connection| {
                let mut command = redis::cmd("HMGET");
                command.arg(&key).arg("meeting").arg("seq").arg("data");
                async move { command.query_async(&mut connection).await }
            })
            .await?;
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
