//! Snapshots by cost (issue 19, point 12): a member who writes as much as the rules allow, large
//! practice comments into an ever larger library, makes the room store a snapshot only when the
//! events logged since the last one cost as much as a new one, so what the store writes is a small
//! multiple of the text entered. With a snapshot every 200 events the room rewrote its whole
//! growing state over and over. (What stays on disk is printed, not checked: redb keeps the pages
//! its commits replaced until the next checkpoint, so its file grows by what was written in up to
//! 30 s, in steps of its allocator; the load tool reports it, see BENCHMARKS.md.)

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use roundtable_protocol::{GroupId, MeetingId, PracticeOutcome, Reply, Request, Seq, UnixMs};
use roundtable_server::Limits;
use roundtable_server::store::{
    AppendBatch, EmbeddedOptions, LeaseTake, LoadedRoom, LogEntry, Snapshot, Store, StoreError,
    fixtures,
};
use support::{TestClient, TestServer, create_group};

/// A store that counts what the rooms write through it, then passes every call on.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn Store>,
    snapshots: AtomicU64,
    snapshot_bytes: AtomicU64,
    entry_bytes: AtomicU64,
}

#[async_trait]
impl Store for Counting {
    async fn write_canary(&self, writer: &str, at_ms: UnixMs) -> Result<(), StoreError> {
        self.inner.write_canary(writer, at_ms).await
    }

    async fn create_group(&self, group_id: GroupId, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.inner.create_group(group_id, snapshot).await
    }

    async fn load_room(&self, group_id: GroupId) -> Result<Option<LoadedRoom>, StoreError> {
        self.inner.load_room(group_id).await
    }

    async fn append(&self, batch: AppendBatch<'_>) -> Result<(), StoreError> {
        self.inner.append(batch).await?;
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
        self.inner.read_log(meeting_id, after_seq, limit).await
    }

    async fn trim_log(&self, meeting_id: MeetingId, through_seq: Seq) -> Result<(), StoreError> {
        self.inner.trim_log(meeting_id, through_seq).await
    }

    async fn take_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
    ) -> Result<bool, StoreError> {
        self.inner.take_lease(group_id, owner, duration_ms).await
    }

    async fn take_lease_reporting(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
    ) -> Result<LeaseTake, StoreError> {
        self.inner
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
        self.inner
            .renew_lease(group_id, owner, duration_ms, epoch)
            .await
    }

    async fn release_lease(&self, group_id: GroupId, owner: &str) -> Result<(), StoreError> {
        self.inner.release_lease(group_id, owner).await
    }

    async fn delete_group(&self, group_id: GroupId) -> Result<bool, StoreError> {
        self.inner.delete_group(group_id).await
    }

    async fn record_group_activity(
        &self,
        group_id: GroupId,
        at_ms: UnixMs,
        joined: bool,
    ) -> Result<(), StoreError> {
        self.inner
            .record_group_activity(group_id, at_ms, joined)
            .await
    }

    async fn abandoned_groups(
        &self,
        unjoined_through_ms: UnixMs,
        joined_through_ms: Option<UnixMs>,
        max: usize,
    ) -> Result<Vec<GroupId>, StoreError> {
        self.inner
            .abandoned_groups(unjoined_through_ms, joined_through_ms, max)
            .await
    }

    async fn forget_deleted(&self) -> Result<(), StoreError> {
        self.inner.forget_deleted().await
    }

    async fn end_meeting(
        &self,
        meeting_id: MeetingId,
        ended_at_ms: UnixMs,
    ) -> Result<(), StoreError> {
        self.inner.end_meeting(meeting_id, ended_at_ms).await
    }

    async fn trim_ended_logs(
        &self,
        ended_through_ms: UnixMs,
        meetings_max: usize,
    ) -> Result<usize, StoreError> {
        self.inner
            .trim_ended_logs(ended_through_ms, meetings_max)
            .await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush().await
    }
}

/// Bytes of the files in `dir` and below.
fn disk_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read the data dir")
        .map(|entry| {
            let entry = entry.expect("dir entry");
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                disk_bytes(&entry.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

/// Practices one member fills with the most comments the rules allow.
const PRACTICES: usize = 30;
const COMMENTS_PER_PRACTICE: usize = 100;
/// The longest comment the rules allow.
const COMMENT_CHARS: usize = 1000;

/// A comment of [`COMMENT_CHARS`] that differs from every other (no store compresses them).
fn comment(practice: usize, number: usize) -> String {
    let head = format!("Practice {practice}, comment {number}: ");
    let filler: String = (0..COMMENT_CHARS - head.len())
        .map(|i| char::from(b'a' + ((i * 7 + number * 13 + practice) % 26) as u8))
        .collect();
    head + &filler
}

#[tokio::test]
async fn a_member_writing_at_the_limits_makes_few_snapshots_and_writes_a_few_times_the_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let embedded = fixtures::open_embedded(dir.path(), EmbeddedOptions::default()).await;
    let counting = Arc::new(Counting {
        inner: Arc::new(embedded),
        snapshots: AtomicU64::new(0),
        snapshot_bytes: AtomicU64::new(0),
        entry_bytes: AtomicU64::new(0),
    });
    let server = TestServer::start_configured(dir.path(), counting.clone(), |config| {
        // The request rate is not what this test is about: it writes as fast as the room takes it.
        config.limits = Limits {
            requests_per_second: 1_000_000,
            writes_per_member_per_second: 1_000_000,
            ..Limits::default()
        };
    })
    .await;
    let group = create_group(server.addr, "Writers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;

    let mut text_bytes = 0usize;
    for practice in 0..PRACTICES {
        let title = format!("Practice number {practice}");
        let description = "Call the champion the day before the meeting.".to_string();
        text_bytes += title.len() + description.len();
        let id = fran
            .send(Request::PostPractice {
                title,
                description,
                tags: Vec::new(),
                outcome: PracticeOutcome::Worked,
            })
            .await;
        let Ok(Reply::Created { id: practice_id }) = fran.answer(id).await else {
            panic!("the practice is created");
        };
        for number in 0..COMMENTS_PER_PRACTICE {
            let text = comment(practice, number);
            text_bytes += text.len();
            fran.ok(Request::CommentOnPractice { practice_id, text })
                .await;
        }
        // Only what the test needs of what it received is kept.
        fran.received.clear();
    }
    server.stop().await;

    let snapshots = counting.snapshots.load(Ordering::Relaxed);
    let snapshot_bytes = counting.snapshot_bytes.load(Ordering::Relaxed);
    let entry_bytes = counting.entry_bytes.load(Ordering::Relaxed);
    drop(counting);
    let disk = disk_bytes(dir.path());

    let text = text_bytes as u64;
    eprintln!(
        "text {text} B; logged {entry_bytes} B; {snapshots} snapshots of {snapshot_bytes} B in all; \
         {disk} B on disk ({:.2} x the text)",
        disk as f64 / text as f64
    );
    let events = (PRACTICES * (COMMENTS_PER_PRACTICE + 1)) as u64;
    // Each snapshot comes once the log has grown by the size of the last one, which about
    // doubles the state between two: some log2(3 MB / 64 KiB) of them, and the stop's final one.
    // One every 200 events made 16, of 27.5 MB in all.
    assert!(snapshots <= 10, "{snapshots} snapshots for {events} events");
    // With the default ratio of 1, each snapshot but the last two (the last one taken by cost,
    // and the stop's final one, each at most the state's size) is at most the bytes logged
    // after it.
    assert!(
        snapshot_bytes <= 3 * entry_bytes,
        "snapshots wrote {snapshot_bytes} B for {entry_bytes} B of events"
    );
    // What the store was given to write (the journal writes all of it once, redb's pages and
    // Redis's append-only file likewise): a few times the text, where it was 10 times for this
    // test and grew with every 200 events as the library did.
    let written = entry_bytes + snapshot_bytes;
    assert!(
        written < 5 * text,
        "the store wrote {written} B for {text} B of text entered"
    );
}
