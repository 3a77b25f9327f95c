//! A disk stall reaches only the writes that wait for it (issue 19, point 13): while the embedded
//! store's journal `write` is held for two seconds (the fail point
//! `store::journal::write_stall`, as a disk does while another process fills the page cache),
//! a member of another room gets its pings and its reads answered at once; the stalled room's
//! write is acknowledged only once it is in the journal.
//!
//! Presence is not stored either: in a live room, a member coming back joins, gets their
//! catch-up, and is seen online by the others while the journal is held; only a change that
//! is acknowledged once durable (a rename) waits for it.
//!
//! The test's runtime is a single thread, as a loaded server's runtime threads are all busy:
//! when the journal was written on the rooms' thread, the stall froze every room and every ping.

mod support;

use std::time::{Duration, Instant};

use roundtable_protocol::{Reply, Request, ServerMessage};
use roundtable_server::store::embedded::fail_points;
use support::{TestClient, TestServer, create_group};

/// How long each journal write is held.
const STALL: Duration = Duration::from_secs(2);

/// The most a ping or a read in the other room may take while the stall lasts.
const ANSWER_MAX: Duration = Duration::from_millis(250);

/// Holds every journal write of the store in `dir` for [`STALL`], until [`release_stall`].
fn hold_journal_writes(dir: &std::path::Path) {
    fail::cfg(
        fail_points::JOURNAL_WRITE_STALL,
        &format!("return({})", dir.display()),
    )
    .expect("set the stall");
    fail::cfg(
        format!("{}::held", fail_points::JOURNAL_WRITE_STALL),
        &format!("sleep({})", STALL.as_millis()),
    )
    .expect("set its length");
}

fn release_stall() {
    fail::remove(format!("{}::held", fail_points::JOURNAL_WRITE_STALL));
    fail::remove(fail_points::JOURNAL_WRITE_STALL);
}

#[tokio::test]
async fn pings_and_reads_of_another_room_are_answered_while_the_journal_stalls() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path()).await;
    let stalled_group = create_group(server.addr, "Stalled").await;
    let other_group = create_group(server.addr, "Other").await;
    let mut writer = TestClient::joined_as_facilitator(server.addr, &stalled_group, "Wes").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &other_group, "Fran").await;

    hold_journal_writes(dir.path());

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
    release_stall();
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

#[tokio::test]
async fn a_member_comes_back_to_a_live_room_and_is_seen_online_while_the_journal_stalls() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Live").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let fran_id = fran.member_id.unwrap();
    let ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let ann_id = ann.member_id.unwrap();
    fran.presence_change(ann_id, true).await;
    // Ann's network drops; the room stays live with Fran in it.
    let credential = ann.token_credential();
    let resume = ann.resume_point();
    ann.drop_connection();
    fran.presence_change(ann_id, false).await;

    hold_journal_writes(dir.path());
    let stalled_at = Instant::now();
    // Ann comes back: her ack and catch-up (nothing missed, then who is online) in time.
    let mut ann = TestClient::connect(server.addr).await;
    let sent = Instant::now();
    let catch_up = ann
        .join(group.group_id, credential, Some(resume))
        .await
        .expect("Ann comes back during the stall");
    assert!(catch_up.is_none(), "nothing missed: a replay");
    let acked = sent.elapsed();
    let ServerMessage::Presence(presence) = ann.recv().await else {
        panic!("the catch-up ends with who is online: {:?}", ann.received);
    };
    let caught_up = sent.elapsed();
    assert!(
        acked < ANSWER_MAX && caught_up < ANSWER_MAX,
        "the join's ack took {acked:?} and its catch-up {caught_up:?} into the stall"
    );
    assert_eq!(presence.online, vec![fran_id, ann_id]);
    // Fran sees her come online in time too.
    let change = fran.presence_change(ann_id, true).await;
    let seen = sent.elapsed();
    assert!(
        seen < ANSWER_MAX,
        "Fran saw Ann come back {seen:?} after she joined"
    );
    assert_eq!(change.reason, roundtable_protocol::PresenceReason::Joined);
    assert!(
        stalled_at.elapsed() < STALL / 2,
        "all that happened within the stall"
    );

    // A change that is acknowledged once durable waits for the disk.
    let rename = fran
        .send(Request::RenameGroup {
            name: "Renamed in the stall".into(),
        })
        .await;
    let renamed = fran.answer(rename).await;
    let waited = stalled_at.elapsed();
    release_stall();
    assert!(matches!(renamed, Ok(Reply::Done)), "{renamed:?}");
    assert!(
        waited >= STALL - Duration::from_millis(100),
        "the rename was acknowledged after {waited:?}, before its journal write ended"
    );
    // Ann got the rename as an event, after her catch-up; her coming back wrote nothing.
    let event = ann
        .event_where(|frame| matches!(frame.event, roundtable_protocol::Event::GroupRenamed { .. }))
        .await;
    assert_eq!(
        event.seq,
        resume.seq + 1,
        "no event between her leaving and the rename"
    );
    server.stop().await;
    scenario.teardown();
}
