//! Retention: recording when meetings ended, and deleting the logs of those ended long enough
//! ago (the sorted set `rt:ended_meetings`, see [`keys`](super::keys)).

use roundtable_protocol::{MeetingId, UnixMs};

use super::RedisStore;
#[cfg(doc)]
use crate::store::Store;
use crate::store::StoreError;

/// The store calls on ended meetings, each unbounded in time; [`Store`] bounds them.
impl RedisStore {
    pub(super) async fn end_meeting_unbounded(
        &self,
        meeting_id: MeetingId,
        ended_at_ms: UnixMs,
    ) -> Result<(), StoreError> {
        let key = self.ended_meetings_key();
        let member = meeting_id.to_string();
        let mut command = redis::cmd("ZADD");
        // NX: a meeting recorded as ended keeps its first end time.
        command.arg(&key).arg("NX").arg(ended_at_ms).arg(&member);
        self.query::<i64>(&command).await?;
        Ok(())
    }

    pub(super) async fn trim_ended_logs_unbounded(
        &self,
        ended_through_ms: UnixMs,
        meetings_max: usize,
    ) -> Result<usize, StoreError> {
        if meetings_max == 0 {
            return Ok(0);
        }
        let key = self.ended_meetings_key();
        let mut command = redis::cmd("ZRANGEBYSCORE");
        command
            .arg(&key)
            .arg("-inf")
            .arg(ended_through_ms)
            .arg("LIMIT")
            .arg(0)
            .arg(meetings_max);
        let due: Vec<String> = self.query(&command).await?;
        for member in &due {
            let remove_due = || async {
                let mut command = redis::cmd("ZREM");
                command.arg(&key).arg(member);
                self.query::<i64>(&command).await
            };
            let Ok(meeting_id) = member.parse::<MeetingId>() else {
                // Dropped from the set, so that it does not block every later pass, and
                // reported once.
                remove_due().await?;
                return Err(StoreError::Corrupt(format!(
                    "{key} held {member:?}, not a meeting id; removed it"
                )));
            };
            // The log goes first and the due record last, so a pass cut short by an outage
            // leaves the meeting due and the next pass finishes it.
            if let Some(group_id) = self.meeting_group(meeting_id).await? {
                let log_key = self.log_key(group_id, meeting_id);
                let mut command = redis::cmd("DEL");
                command.arg(&log_key);
                self.query::<i64>(&command).await?;
            }
            remove_due().await?;
        }
        Ok(due.len())
    }
}
