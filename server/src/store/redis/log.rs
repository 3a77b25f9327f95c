//! A meeting's event log: appending, reading and trimming.
//!
//! Each `XADD` caps the stream with `MAXLEN ~ <cap>` ([`LOG_ENTRIES_MAX`] by default), which lets
//! Redis drop the oldest entries, in whole internal nodes and so cheaply, once a meeting's log
//! grows past the cap. This is safe: the room's state is kept in the snapshot, and a client that
//! resumes from a seq whose entries are gone is sent a snapshot instead. A meeting whose log is
//! trimmed this way shows a gap at its start, like after [`Store::trim_log`].

use roundtable_protocol::{MeetingId, Seq};

#[cfg(doc)]
use super::LOG_ENTRIES_MAX;
use super::RedisStore;
use super::decode::decode_entry;
use super::scripts::{self, AppendKeys};
#[cfg(doc)]
use crate::store::Store;
use crate::store::{AppendBatch, LogEntry, StoreError, check_batch_shape};

/// The store calls on a meeting's log, each unbounded in time; [`Store`] bounds them.
impl RedisStore {
    pub(super) async fn append_unbounded(&self, batch: AppendBatch<'_>) -> Result<(), StoreError> {
        check_batch_shape(&batch)?;
        let (group_id, meeting_id) = (batch.group_id, batch.meeting_id);
        let keys = AppendKeys {
            snapshot: self.snapshot_key(group_id),
            head: self.head_key(group_id, meeting_id),
            log: self.log_key(group_id, meeting_id),
            meetings: self.meetings_key(group_id),
            lease: self.lease_key(group_id),
            epoch: self.epoch_key(group_id),
            log_epochs: self.log_epochs_key(group_id),
            lease_record: self.lease_record_key(group_id),
        };
        let invocation = scripts::append(keys, &batch, self.options.log_entries_max);
        // The index goes first so that a logged entry is never without it.
        if !batch.entries.is_empty() {
            self.ensure_meeting_index(meeting_id, group_id).await?;
        }
        // Sent with the other rooms' waiting appends, in one round trip (see `pipeline`).
        let status: Vec<String> = match &self.appends {
            Some(appends) => appends.run(invocation).await?,
            None => self.run_script(&invocation).await?,
        };
        append_outcome(&batch, &status)
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
        let mut command = redis::cmd("XTRIM");
        command.arg(&key);
        match through_seq.checked_add(1) {
            // Exact trimming: every entry with an id below `<through+1>-0` goes.
            Some(min_seq) => command.arg("MINID").arg("=").arg(min_seq),
            None => command.arg("MAXLEN").arg("=").arg(0),
        };
        self.query::<u64>(&command).await?;
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
        let mut command = redis::cmd("XRANGE");
        command.arg(key).arg(&start).arg("+");
        if limit != usize::MAX {
            command.arg("COUNT").arg(limit);
        }
        let raw: Vec<(String, Vec<Vec<u8>>)> = self.query(&command).await?;
        raw.into_iter()
            .map(|(id, fields)| decode_entry(key, &id, fields))
            .collect()
    }
}

/// What the append script's answer `status` means for `batch`.
fn append_outcome(batch: &AppendBatch<'_>, status: &[String]) -> Result<(), StoreError> {
    match status {
        [ok] if ok == "ok" => Ok(()),
        [not_found] if not_found == "not_found" => {
            Err(StoreError::NotFound(format!("group {}", batch.group_id)))
        }
        [conflict, head] if conflict == "seq_conflict" => {
            let first = batch.entries.first().map_or(0, |entry| entry.seq);
            Err(StoreError::Conflict(format!(
                "meeting {} log is at seq {head}; batch starts at {first}",
                batch.meeting_id
            )))
        }
        [fenced, epoch] if fenced == "fenced" => Err(StoreError::Fenced(format!(
            "group {} is at lease epoch {epoch}; the batch's fence is {}",
            batch.group_id,
            batch.fence.map_or(0, |fence| fence.epoch)
        ))),
        [conflict, head] if conflict == "snapshot_conflict" => {
            let seq = batch.snapshot.map_or(0, |snapshot| snapshot.seq);
            Err(StoreError::Conflict(format!(
                "snapshot at seq {seq} but the log will be at {head}"
            )))
        }
        _ => Err(StoreError::Corrupt(format!(
            "append script answered {status:?}"
        ))),
    }
}
