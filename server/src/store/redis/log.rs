//! A meeting's event log: appending, reading and trimming.
//!
//! Each `XADD` caps the stream with `MAXLEN ~ <cap>` ([`LOG_ENTRIES_MAX`] by default), which lets
//! Redis drop the oldest entries, in whole internal nodes and so cheaply, once a meeting's log
//! grows past the cap. This is safe: the room's state is kept in the snapshot, and a client that
//! resumes from a seq whose entries are gone is sent a snapshot instead. A meeting whose log is
//! trimmed this way shows a gap at its start, like after [`Store::trim_log`].

use std::sync::Arc;

use roundtable_protocol::{MeetingId, Seq};

#[cfg(doc)]
use super::LOG_ENTRIES_MAX;
use super::RedisStore;
use super::decode::decode_entry;
use super::scripts::{APPEND_SCRIPT, invoke};
#[cfg(doc)]
use crate::store::Store;
use crate::store::{AppendBatch, LogEntry, StoreError, check_batch_shape};

/// The store calls on a meeting's log, each unbounded in time; [`Store`] bounds them.
impl RedisStore {
    pub(super) async fn append_unbounded(&self, batch: AppendBatch<'_>) -> Result<(), StoreError> {
        check_batch_shape(&batch)?;
        let AppendBatch {
            group_id,
            meeting_id,
            entries,
            snapshot,
        } = batch;
        let (required_head, new_head) = match (entries.first(), entries.last()) {
            (Some(first), Some(last)) => (
                // A first seq of 0 can follow no head; "-1" matches no stored head.
                first
                    .seq
                    .checked_sub(1)
                    .map_or_else(|| "-1".to_string(), |head| head.to_string()),
                last.seq.to_string(),
            ),
            _ => (String::new(), String::new()),
        };
        let mut args: Vec<Vec<u8>> = Vec::with_capacity(7 + 2 * entries.len());
        args.push(required_head.clone().into_bytes());
        args.push(new_head.into_bytes());
        args.push(self.options.log_entries_max.to_string().into_bytes());
        match snapshot {
            Some(snapshot) => {
                args.push(b"1".to_vec());
                args.push(snapshot.meeting_id.to_string().into_bytes());
                args.push(snapshot.seq.to_string().into_bytes());
                args.push(snapshot.bytes.clone());
            }
            None => {
                args.extend([b"0".to_vec(), Vec::new(), Vec::new(), Vec::new()]);
            }
        }
        for entry in entries {
            args.push(entry.seq.to_string().into_bytes());
            args.push(entry.bytes.clone());
        }
        let keys = Arc::new(vec![
            self.snapshot_key(group_id),
            self.head_key(group_id, meeting_id),
            self.log_key(group_id, meeting_id),
        ]);
        let args = Arc::new(args);

        // The index goes first so that a logged entry is never without it.
        if !entries.is_empty() {
            self.ensure_meeting_index(meeting_id, group_id).await?;
        }
        let status = self
            .call(|connection| {
                invoke(
                    &APPEND_SCRIPT,
                    Arc::clone(&keys),
                    Arc::clone(&args),
                    connection,
                )
            })
            .await?;
        match status.as_slice() {
            [ok] if ok == "ok" => Ok(()),
            [not_found] if not_found == "not_found" => {
                Err(StoreError::NotFound(format!("group {group_id}")))
            }
            [conflict, head] if conflict == "seq_conflict" => {
                let first = entries.first().map_or(0, |entry| entry.seq);
                Err(StoreError::Conflict(format!(
                    "meeting {meeting_id} log is at seq {head}; batch starts at {first}"
                )))
            }
            [conflict, head] if conflict == "snapshot_conflict" => {
                let seq = snapshot.map_or(0, |snapshot| snapshot.seq);
                Err(StoreError::Conflict(format!(
                    "snapshot at seq {seq} but the log will be at {head}"
                )))
            }
            _ => Err(StoreError::Corrupt(format!(
                "append script answered {status:?}"
            ))),
        }
    }

    pub(super) async fn read_log_unbounded(
        &self,
        meeting_id: MeetingId,
        after_seq: Seq,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let Some(group_id) = self.meeting_group(meeting_id).await? else {
            return Ok(Vec::new());
        };
        let key = self.log_key(group_id, meeting_id);
        self.read_entries(&key, after_seq, limit).await
    }

    pub(super) async fn trim_log_unbounded(
        &self,
        meeting_id: MeetingId,
        through_seq: Seq,
    ) -> Result<(), StoreError> {
        let Some(group_id) = self.meeting_group(meeting_id).await? else {
            return Ok(());
        };
        let key = self.log_key(group_id, meeting_id);
        self.call(|mut connection| {
            let mut command = redis::cmd("XTRIM");
            command.arg(&key);
            match through_seq.checked_add(1) {
                // Exact trimming: every entry with an id below `<through+1>-0` goes.
                Some(min_seq) => command.arg("MINID").arg("=").arg(min_seq),
                None => command.arg("MAXLEN").arg("=").arg(0),
            };
            async move { command.query_async::<u64>(&mut connection).await }
        })
        .await?;
        Ok(())
    }

    /// Up to `limit` entries of the stream `key` with seq greater than `after_seq`, in order.
    pub(super) async fn read_entries(
        &self,
        key: &str,
        after_seq: Seq,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let Some(first) = after_seq.checked_add(1) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let start = format!("{first}-0");
        let raw: Vec<(String, Vec<Vec<u8>>)> = self
            .call(|mut connection| {
                let mut command = redis::cmd("XRANGE");
                command.arg(key).arg(&start).arg("+");
                if limit != usize::MAX {
                    command.arg("COUNT").arg(limit);
                }
                async move { command.query_async(&mut connection).await }
            })
            .await?;
        raw.into_iter()
            .map(|(id, fields)| decode_entry(key, &id, fields))
            .collect()
    }
}
