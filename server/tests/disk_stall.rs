//! A disk stall reaches only the writes that wait for it (issue 19, point 13): while the embedded
//! store's journal `write` is held for two seconds (the fail point
//! `store::journal::write_stall`, as a disk does while another process fills the page cache),
//! a member of another room gets its pings and its reads answered at once; the stalled room's
//! write is acknowledged only once it is in the journal.
//!
//! The test's runtime is a single thread, as a loaded server's runtime threads are all busy:
//! when the journal was written on the rooms' thread, the stall froze every room and every ping.

mod support;

use std::time::{Duration, Instant};

use roundtable_protocol::{Reply, Request};
use roundtable_server::store::embedded::fail_points;
use support::{TestClient, TestServer, create_group};

/// How long each journal write is held.
const STALL: Duration = Duration::from_secs(2);

/// The most a ping or a read in the other room may take while the stall lasts.
const ANSWER_MAX: Duration = Duration::from_millis(250);

#[tokio::test]
async fn pings_and_reads_of_another_room_are_answered_while_the_journal_stalls() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path()).await;
    let stalled_group = create_group(server.addr, "Stalled").await;
    let other_group = create_group(server.addr, "Other").await;
    let mut writer = TestClient::connect(server.addr).await;
    writer.join_as_facilitator(&stalled_group, "Wes").await;
    let mut fran = TestClient::connect(server.addr).await;
    fran.join_as_facilitator(&other_group, "Fran").await;

    fail::cfg(
        fail_points::JOURNAL_WRITE_STALL,
        &format!("return({})", dir.path().display()),
    )
    .expect("set the stall");
    fail::cfg(
        format!("{}::held", fail_points::JOURNAL_WRITE_STALL),
        &format!("sleep({})", STALL.as_millis()),
    )
    .expect("set its length");

    let stalled_at = Instant::now();
    let write = writer
        .send(Request::AddCommitment {
            text: "Call the champion".into(),
            owner: None,
            due_meeting: None,
            due_date: None,
        })
        .await;

    // Pings and reads of the other room, for most of the stall.
    let mut answered = 0;
    while stalled_at.elapsed() < STALL - Duration::from_millis(500) {
        let sent = Instant::now();
        let id = fran.send(Request::Ping { client_time_ms: 1 }).await;
        let pong = fran.answer(id).await;
        let took = sent.elapsed();
        assert!(
            matches!(pong, Ok(Reply::Pong { .. })) && took < ANSWER_MAX,
            "a ping {:?} into the stall took {took:?}: {pong:?}",
            sent - stalled_at
        );
        let sent = Instant::now();
        let id = fran
            .send(Request::SearchPractices {
                text: String::new(),
                tag: None,
            })
            .await;
        let found = fran.answer(id).await;
        let took = sent.elapsed();
        assert!(
            matches!(found, Ok(Reply::Practices { .. })) && took < ANSWER_MAX,
            "a read of the other room {:?} into the stall took {took:?}: {found:?}",
            sent - stalled_at
        );
        answered += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered >= 5, "only {answered} rounds fit in the stall");

    // The stalled write is acknowledged once its journal write went through, not before.
    let acked = writer.answer(write).await;
    let waited = stalled_at.elapsed();
    fail::remove(format!("{}::held", fail_points::JOURNAL_WRITE_STALL));
    fail::remove(fail_points::JOURNAL_WRITE_STALL);
    assert!(
        matches!(acked, Ok(Reply::Created { .. })),
        "the write succeeds: {acked:?}"
    );
    assert!(
        waited >= STALL - Duration::from_millis(100),
        "the write was acknowledged after {waited:?}, before its journal write ended"
    );
    server.stop().await;
    scenario.teardown();
}
