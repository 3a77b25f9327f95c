//! A store for tests that counts the calls passed through it to another store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use roundtable_protocol::{GroupId, LogEpoch, MeetingId, Seq, UnixMs};
use roundtable_server::store::{
    AppendBatch, EarlierEpoch, Fence, LeaseTake, LoadedRoom, LogEntry, Snapshot, Store, StoreError,
};
use tokio::sync::watch;

/// A store that counts what the rooms read and write through it, then passes every call on
/// (a room load can be held back for a while first, so that tests can gather the calls that
/// come meanwhile; lease renewals can be held back until the test lets them go).
#[derive(Debug, Default)]
pub struct CountingStore {
    inner: Option<Arc<dyn Store>>,
    /// How long each `load_room` waits before it reads.
    load_delay: Duration,
    /// With [`CountingStore::with_renewals_held`]: whether `renew_leases` may go on.
    renewals_open: Option<watch::Sender<bool>>,
    /// `renew_leases` calls held back (or let go and not answered yet) now, and the leases in
    /// them.
    pub renewals_held: AtomicU64,
    pub leases_held: AtomicU64,
    /// `load_room` calls: a room load, or a read of a group as stored.
    pub loads: AtomicU64,
    /// Snapshots appended, and their bytes.
    pub snapshots: AtomicU64,
    pub snapshot_bytes: AtomicU64,
    /// Bytes of the log entries appended.
    pub entry_bytes: AtomicU64,
}

impl CountingStore {
    /// Counts the calls to `inner`.
    pub fn over(inner: Arc<dyn Store>) -> CountingStore {
        CountingStore {
            inner: Some(inner),
            ..CountingStore::default()
        }
    }

    /// The same, each `load_room` waiting `delay` before it reads.
    pub fn with_load_delay(self, delay: Duration) -> CountingStore {
        CountingStore {
            load_delay: delay,
            ..self
        }
    }

    /// The same, each `renew_leases` held back until [`CountingStore::open_renewals`].
    pub fn with_renewals_held(self) -> CountingStore {
        CountingStore {
            renewals_open: Some(watch::Sender::new(false)),
            ..self
        }
    }

    /// Lets the renewals held back, and all later ones, go on.
    pub fn open_renewals(&self) {
        if let Some(open) = &self.renewals_open {
            open.send_replace(true);
        }
    }

    fn inner(&self) -> &dyn Store {
        self.inner
            .as_deref()
            .expect("a store to count the calls to")
    }
}

#[async_trait]
impl Store for CountingStore {
    async fn write_canary(&self, writer: &str, at_ms: UnixMs) -> Result<(), StoreError> {
        self.inner().write_canary(writer, at_ms).await
    }

    async fn create_group(&self, group_id: GroupId, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.inner().create_group(group_id, snapshot).await
    }

    async fn load_room(&self, group_id: GroupId) -> Result<Option<LoadedRoom>, StoreError> {
        self.loads.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(self.load_delay).await;
        self.inner().load_room(group_id).await
    }

    async fn begin_log_epoch(
        &self,
        group_id: GroupId,
        fence: Fence<'_>,
        log_epoch: LogEpoch,
        meeting_id: MeetingId,
        head: Seq,
    ) -> Result<Vec<EarlierEpoch>, StoreError> {
        self.inner()
            .begin_log_epoch(group_id, fence, log_epoch, meeting_id, head)
            .await
    }

    async fn append(&self, batch: AppendBatch<'_>) -> Result<(), StoreError> {
        self.inner().append(batch).await?;
        let entry_bytes: usize = batch.entries.iter().map(|entry| entry.bytes.len()).sum();
        self.entry_bytes
            .fetch_add(entry_bytes as u64, Ordering::Relaxed);
        if let Some(snapshot) = batch.snapshot {
            self.snapshots.fetch_add(1, Ordering::Relaxed);
            self.snapshot_bytes
                .fetch_add(snapshot.bytes.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn read_log(
        &self,
        meeting_id: MeetingId,
        after_seq: Seq,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        self.inner().read_log(meeting_id, after_seq, limit).await
    }

    async fn trim_log(&self, meeting_id: MeetingId, through_seq: Seq) -> Result<(), StoreError> {
        self.inner().trim_log(meeting_id, through_seq).await
    }

    async fn take_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
    ) -> Result<bool, StoreError> {
        self.inner().take_lease(group_id, owner, duration_ms).await
    }

    async fn take_lease_reporting(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
    ) -> Result<LeaseTake, StoreError> {
        self.inner()
            .take_lease_reporting(group_id, owner, duration_ms)
            .await
    }

    async fn renew_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
        epoch: u64,
    ) -> Result<LeaseTake, StoreError> {
        self.inner()
            .renew_lease(group_id, owner, duration_ms, epoch)
            .await
    }

    async fn release_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        epoch: u64,
    ) -> Result<(), StoreError> {
        self.inner().release_lease(group_id, owner, epoch).await
    }

    async fn break_lease(&self, group_id: GroupId, holder: &str) -> Result<bool, StoreError> {
        self.inner().break_lease(group_id, holder).await
    }

    async fn renew_leases(
        &self,
        leases: &[(GroupId, u64)],
        owner: &str,
        duration_ms: u64,
    ) -> Result<Vec<bool>, StoreError> {
        let Some(open) = &self.renewals_open else {
            return self.inner().renew_leases(leases, owner, duration_ms).await;
        };
        let mut open = open.subscribe();
        self.renewals_held.fetch_add(1, Ordering::SeqCst);
        self.leases_held
            .fetch_add(leases.len() as u64, Ordering::SeqCst);
        let _ = open.wait_for(|open| *open).await;
        let held = self.inner().renew_leases(leases, owner, duration_ms).await;
        // Counted as held until answered, so that a test sees when the renewal is done.
        self.leases_held
            .fetch_sub(leases.len() as u64, Ordering::SeqCst);
        self.renewals_held.fetch_sub(1, Ordering::SeqCst);
        held
    }

    async fn lease_holder(&self, group_id: GroupId) -> Result<Option<String>, StoreError> {
        self.inner().lease_holder(group_id).await
    }

    fn kind(&self) -> &'static str {
        self.inner().kind()
    }

    fn shared(&self) -> bool {
        self.inner().shared()
    }

    async fn delete_group(&self, group_id: GroupId) -> Result<bool, StoreError> {
        self.inner().delete_group(group_id).await
    }

    async fn record_group_activity(
        &self,
        group_id: GroupId,
        at_ms: UnixMs,
        joined: bool,
    ) -> Result<(), StoreError> {
        self.inner()
            .record_group_activity(group_id, at_ms, joined)
            .await
    }

    async fn abandoned_groups(
        &self,
        unjoined_through_ms: UnixMs,
        joined_through_ms: Option<UnixMs>,
        max: usize,
    ) -> Result<Vec<GroupId>, StoreError> {
        self.inner()
            .abandoned_groups(unjoined_through_ms, joined_through_ms, max)
            .await
    }

    async fn forget_deleted(&self) -> Result<(), StoreError> {
        self.inner().forget_deleted().await
    }

    async fn end_meeting(
        &self,
        meeting_id: MeetingId,
        ended_at_ms: UnixMs,
    ) -> Result<(), StoreError> {
        self.inner().end_meeting(meeting_id, ended_at_ms).await
    }

    async fn trim_ended_logs(
        &self,
        ended_through_ms: UnixMs,
        meetings_max: usize,
    ) -> Result<usize, StoreError> {
        self.inner()
            .trim_ended_logs(ended_through_ms, meetings_max)
            .await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.inner().flush().await
    }
}
