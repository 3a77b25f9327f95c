//! For tests in which a room moves between server processes (a restart, a lease taken over, a
//! failover): joining once the room is free, checking that the events a client saw follow one
//! another with no gap, and counting the panics of the server running in the test's process.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use roundtable_protocol::{Credential, ErrorCode, EventFrame, GroupId, ResumePoint, Snapshot};

use super::TestClient;

/// How long a test waits for a lease to expire or a room to come back before failing.
pub const TAKEOVER_WAIT: Duration = Duration::from_secs(15);

/// Joins, retrying every 100 ms for up to [`TAKEOVER_WAIT`] while another process holds the
/// room's lease (`room_elsewhere`). Returns the catch-up snapshot, if one came.
pub async fn join_when_free(
    client: &mut TestClient,
    group_id: GroupId,
    credential: Credential,
    resume: Option<ResumePoint>,
) -> Option<Snapshot> {
    join_waiting_out(
        client,
        group_id,
        credential,
        resume,
        &[ErrorCode::RoomElsewhere],
    )
    .await
}

/// Joins like [`join_when_free`], also retrying while the room here is closing
/// (`shutting_down`): a node that lost its lease may answer so before its room closes.
pub async fn join_when_free_or_closing(
    client: &mut TestClient,
    group_id: GroupId,
    credential: Credential,
    resume: Option<ResumePoint>,
) -> Option<Snapshot> {
    join_waiting_out(
        client,
        group_id,
        credential,
        resume,
        &[ErrorCode::RoomElsewhere, ErrorCode::ShuttingDown],
    )
    .await
}

/// Joins, retrying every 100 ms for up to [`TAKEOVER_WAIT`] while the join is refused with one
/// of `passing`; any other refusal, or one after the wait, fails the test.
async fn join_waiting_out(
    client: &mut TestClient,
    group_id: GroupId,
    credential: Credential,
    resume: Option<ResumePoint>,
    passing: &[ErrorCode],
) -> Option<Snapshot> {
    let deadline = Instant::now() + TAKEOVER_WAIT;
    loop {
        match client.join(group_id, credential.clone(), resume).await {
            Ok(snapshot) => return snapshot,
            Err((code, _)) if passing.contains(&code) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("join failed: {error:?}"),
        }
    }
}

/// Asserts that `frames` have consecutive seqs starting right after `after_seq`.
pub fn assert_contiguous(who: &str, after_seq: u64, frames: &[EventFrame]) {
    for (offset, frame) in frames.iter().enumerate() {
        assert_eq!(
            frame.seq,
            after_seq + 1 + offset as u64,
            "{who}: events must follow seq {after_seq} with no gap and no duplicate, got {:?}",
            frames.iter().map(|frame| frame.seq).collect::<Vec<_>>()
        );
    }
}

/// Counts panics from now on on the calling thread. A `#[tokio::test]` runs its runtime, and so
/// the in-process server's tasks (rooms, connections), on the test's own thread; panics of
/// other tests, on their threads, are not counted.
pub fn count_panics() -> Arc<AtomicUsize> {
    let panics = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&panics);
    let test_thread = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == test_thread {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        previous(info);
    }));
    panics
}
