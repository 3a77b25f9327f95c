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
use std::sync::atomic::Ordering;

use roundtable_protocol::{PracticeOutcome, Reply, Request};
use roundtable_server::Limits;
use roundtable_server::store::{EmbeddedOptions, fixtures};
use support::counting::CountingStore;
use support::{TestClient, TestServer, create_group};

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
    let counting = Arc::new(CountingStore::over(Arc::new(embedded)));
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
