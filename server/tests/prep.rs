//! Prep before a meeting over real WebSockets: members prepare while the meeting is upcoming,
//! nobody but the author receives their check-in or hot-seat request (nor the numbers they
//! submitted) before the start, everyone sees the count, a resent draft counts once, prep
//! survives a restart, and the facilitator's start reveals it to everyone. A report back on a
//! commitment made during prep is held for its author alone and applied at the start.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use roundtable_protocol::{
    CommitmentStatus, ErrorCode, Event, HeldReportBack, HotSeatPriority, Reply, ReportBack,
    Request, Sharing,
};
use support::{TestClient, TestServer, create_group};

const ANN_WIN: &str = "Ann-win-7f3a: closed the Acme renewal";
const BOB_PROBLEM: &str = "Bob-problem-91c2: pilots never convert";
const CARL_PROBLEM: &str = "Carl-problem-5d10: pricing pushback";

/// Everything `client` received so far, as JSON.
fn frames(client: &TestClient) -> Vec<String> {
    client
        .received
        .iter()
        .map(|message| serde_json::to_string(message).unwrap())
        .collect()
}

fn received_text(client: &TestClient, text: &str) -> bool {
    frames(client).iter().any(|frame| frame.contains(text))
}

/// The first event `wanted` that `client` received, or the next one it receives (a request's
/// events come before its ack, which `ok` reads past).
async fn received_event(client: &mut TestClient, wanted: impl Fn(&Event) -> bool) -> Event {
    if let Some(frame) = client
        .events()
        .into_iter()
        .find(|frame| wanted(&frame.event))
    {
        return frame.event;
    }
    client.event_where(|frame| wanted(&frame.event)).await.event
}

/// The facilitator starts the upcoming meeting.
fn start_request() -> Request {
    Request::StartMeeting
}

#[tokio::test]
async fn prep_is_private_until_the_start_survives_a_restart_and_is_revealed_at_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::connect(server.addr).await;
    let snapshot = fran.join_as_facilitator(&group, "Fran").await;
    assert!(
        snapshot.prep.open,
        "a new group's first meeting is upcoming: prep is open"
    );
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let mut bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    let mut carl = TestClient::joined_as_member(server.addr, &group, "Carl").await;
    let (ann_id, bob_id, carl_id) = (
        ann.member_id.unwrap(),
        bob.member_id.unwrap(),
        carl.member_id.unwrap(),
    );

    let check_in = Request::SaveCheckIn {
        win: ANN_WIN.into(),
        challenge: "Two deals in legal".into(),
        ask: "An intro to Globex".into(),
    };
    ann.ok(check_in.clone()).await;
    let count = fran
        .event_where(|frame| matches!(frame.event, Event::PreparedCountChanged { .. }))
        .await;
    assert!(matches!(
        count.event,
        Event::PreparedCountChanged { prepared: 1 }
    ));
    let saved = received_event(&mut ann, |event| {
        matches!(event, Event::CheckInSaved { .. })
    })
    .await;
    assert!(matches!(saved, Event::CheckInSaved { member_id, .. } if member_id == ann_id));

    // The same check-in again (a page unsure whether its draft arrived) changes nothing.
    ann.ok(check_in.clone()).await;
    ann.expect_silence(Duration::from_millis(300)).await;
    fran.expect_silence(Duration::from_millis(100)).await;

    bob.ok(Request::RequestHotSeat {
        problem: BOB_PROBLEM.into(),
        priority: HotSeatPriority::B,
        minutes: 20,
    })
    .await;
    carl.ok(Request::RequestHotSeat {
        problem: CARL_PROBLEM.into(),
        priority: HotSeatPriority::A,
        minutes: 15,
    })
    .await;
    // Numbers during prep: one named, two anonymous.
    for (client, calls, sharing) in [
        (&mut ann, 1_234_001.0, Sharing::Named),
        (&mut bob, 1_234_002.0, Sharing::Anonymous),
        (&mut carl, 1_234_003.0, Sharing::Anonymous),
    ] {
        client
            .ok(Request::SubmitNumbers {
                values: BTreeMap::from([("calls".to_string(), calls)]),
                sharing,
            })
            .await;
    }
    // A member's own numbers come back to them, without a place among the others' yet.
    let id = ann.send(Request::GetMyBenchmarks).await;
    let Ok(Reply::MyBenchmarks(mine)) = ann.answer(id).await else {
        panic!("my benchmarks");
    };
    assert_eq!(mine.current.unwrap().values["calls"], 1_234_001.0);
    assert!(mine.percentile_by_metric.is_empty());

    // Bad input is refused and changes nothing.
    bob.fails(
        Request::SaveCheckIn {
            win: String::new(),
            challenge: " ".into(),
            ask: String::new(),
        },
        ErrorCode::Invalid,
    )
    .await;
    bob.fails(
        Request::RequestHotSeat {
            problem: "x".into(),
            priority: HotSeatPriority::C,
            minutes: 61,
        },
        ErrorCode::Invalid,
    )
    .await;
    fran.ok(Request::Ping { client_time_ms: 1 }).await;
    for client in [&mut ann, &mut bob, &mut carl] {
        client.ok(Request::Ping { client_time_ms: 1 }).await;
    }

    // Nobody but the author received their prep, nor anyone a number submitted during prep.
    for (client, own) in [
        (&fran, vec![]),
        (&ann, vec![ANN_WIN, "1234001"]),
        (&bob, vec![BOB_PROBLEM]),
        (&carl, vec![CARL_PROBLEM]),
    ] {
        for text in [
            ANN_WIN,
            BOB_PROBLEM,
            CARL_PROBLEM,
            "1234001",
            "1234002",
            "1234003",
        ] {
            assert_eq!(received_text(client, text), own.contains(&text), "{text}");
        }
    }

    // A restart keeps the prep; each member's new snapshot holds their own and the count.
    let credentials = [&fran, &ann, &bob, &carl].map(|client| client.token_credential());
    drop((fran, ann, bob, carl));
    server.stop().await;
    let server = TestServer::start(dir.path()).await;
    let mut clients = Vec::new();
    for credential in credentials {
        let mut client = TestClient::connect(server.addr).await;
        let snapshot = client
            .join(group.group_id, credential, None)
            .await
            .expect("join again")
            .expect("a snapshot");
        assert!(snapshot.prep.open);
        assert_eq!(snapshot.prep.prepared, 1);
        assert_eq!(
            snapshot.benchmarks.submitted_count, 0,
            "prep numbers are not shown yet"
        );
        clients.push((client, snapshot));
    }
    let [
        (mut fran, fran_snapshot),
        (mut ann, ann_snapshot),
        (mut bob, bob_snapshot),
        (mut carl, _),
    ] = <[_; 4]>::try_from(clients).ok().unwrap();
    assert_eq!(ann_snapshot.prep.mine.check_in.unwrap().win, ANN_WIN);
    assert_eq!(
        bob_snapshot.prep.mine.hot_seat.unwrap().request.problem,
        BOB_PROBLEM
    );
    assert_eq!(fran_snapshot.prep.mine, Default::default());
    for (client, own) in [
        (&fran, None),
        (&ann, Some(ANN_WIN)),
        (&bob, Some(BOB_PROBLEM)),
        (&carl, Some(CARL_PROBLEM)),
    ] {
        for text in [ANN_WIN, BOB_PROBLEM, CARL_PROBLEM] {
            assert_eq!(
                received_text(client, text),
                own == Some(text),
                "{text} after the restart"
            );
        }
    }

    // The start reveals it all, to everyone.
    fran.ok(start_request()).await;
    for client in [&mut fran, &mut ann, &mut bob, &mut carl] {
        let event =
            received_event(client, |event| matches!(event, Event::PrepRevealed { .. })).await;
        let Event::PrepRevealed {
            check_ins,
            hot_seat,
            benchmarks,
        } = event
        else {
            unreachable!()
        };
        assert_eq!(check_ins.len(), 1);
        assert_eq!(check_ins[0].member_id, ann_id);
        assert_eq!(check_ins[0].check_in.win, ANN_WIN);
        let ranked: Vec<_> = hot_seat.iter().map(|entry| entry.member_id).collect();
        assert_eq!(ranked, vec![carl_id, bob_id], "priority A before B");
        assert_eq!(
            benchmarks.submitted_count, 3,
            "the prep numbers count for this meeting"
        );
        let frames = frames(client);
        assert!(
            !frames
                .iter()
                .any(|frame| frame.contains("1234002") || frame.contains("1234003")),
            "anonymous numbers are never sent as they are"
        );
    }
    // Prep is closed now.
    bob.fails(
        Request::SaveCheckIn {
            win: "late".into(),
            challenge: String::new(),
            ask: String::new(),
        },
        ErrorCode::Conflict,
    )
    .await;
    server.stop().await;
}

const ANN_REPORT: &str = "Ann-report-4b8e: two of three accounts called";
const ANN_REVISED: &str = "Ann-report-revised-0c6d: all three called, one meeting booked";

/// The id of the commitment `client` adds for themselves.
async fn add_commitment(client: &mut TestClient, text: &str) -> u32 {
    let id = client
        .send(Request::AddCommitment {
            text: text.into(),
            owner: None,
            due_meeting: None,
            due_date: None,
        })
        .await;
    match client.answer(id).await {
        Ok(Reply::Created { id }) => id,
        other => panic!("add_commitment: {other:?}"),
    }
}

fn index_of(client: &TestClient, wanted: impl Fn(&Event) -> bool) -> Option<usize> {
    client
        .events()
        .iter()
        .position(|frame| wanted(&frame.event))
}

#[tokio::test]
async fn a_report_back_in_prep_reaches_only_its_author_until_the_start_applies_it_for_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let mut bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    let ann_id = ann.member_id.unwrap();
    let commitment = add_commitment(&mut ann, "Call the three stalled accounts").await;

    // Ann reports back while the meeting is upcoming: held for her alone.
    ann.ok(Request::UpdateCommitment {
        commitment_id: commitment,
        status: CommitmentStatus::Partial,
        note: Some(ANN_REPORT.into()),
    })
    .await;
    let held = received_event(&mut ann, |event| {
        matches!(event, Event::ReportBackHeld { .. })
    })
    .await;
    assert!(matches!(
        held,
        Event::ReportBackHeld { member_id, commitment_id, report_back: Some(ReportBack { status: CommitmentStatus::Partial, .. }) }
            if member_id == ann_id && commitment_id == commitment
    ));
    // Revised, and sent again (a page unsure it arrived): the second changes nothing.
    let revised = Request::UpdateCommitment {
        commitment_id: commitment,
        status: CommitmentStatus::Done,
        note: Some(ANN_REVISED.into()),
    };
    ann.ok(revised.clone()).await;
    ann.ok(revised).await;
    // Someone else's commitment is not theirs to report on, and bad input changes nothing.
    bob.fails(
        Request::UpdateCommitment {
            commitment_id: commitment,
            status: CommitmentStatus::Done,
            note: None,
        },
        ErrorCode::Forbidden,
    )
    .await;
    ann.fails(
        Request::UpdateCommitment {
            commitment_id: commitment,
            status: CommitmentStatus::Done,
            note: Some("n".repeat(501)),
        },
        ErrorCode::Invalid,
    )
    .await;
    for client in [&mut fran, &mut bob] {
        client.ok(Request::Ping { client_time_ms: 1 }).await;
    }
    for client in [&fran, &bob] {
        assert!(!received_text(client, ANN_REPORT));
        assert!(!received_text(client, ANN_REVISED));
        assert!(
            index_of(client, |event| matches!(
                event,
                Event::CommitmentUpdated { .. }
            ))
            .is_none()
        );
    }
    let held: Vec<_> = ann
        .events()
        .into_iter()
        .filter(|frame| matches!(frame.event, Event::ReportBackHeld { .. }))
        .collect();
    assert_eq!(held.len(), 2, "held, then revised once");

    // A restart keeps it held: Ann's snapshot has it, Bob's and Fran's do not.
    let credentials = [&fran, &ann, &bob].map(|client| client.token_credential());
    drop((fran, ann, bob));
    server.stop().await;
    let server = TestServer::start(dir.path()).await;
    let mut clients = Vec::new();
    for credential in credentials {
        let mut client = TestClient::connect(server.addr).await;
        let snapshot = client
            .join(group.group_id, credential, None)
            .await
            .expect("join again")
            .expect("a snapshot");
        let board = &snapshot.commitments;
        assert_eq!(
            board[0].status,
            CommitmentStatus::Open,
            "not on the board yet"
        );
        clients.push((client, snapshot));
    }
    let [
        (mut fran, fran_snapshot),
        (mut ann, ann_snapshot),
        (mut bob, bob_snapshot),
    ] = <[_; 3]>::try_from(clients).ok().unwrap();
    assert_eq!(
        ann_snapshot.prep.mine.report_backs,
        vec![HeldReportBack {
            commitment_id: commitment,
            status: CommitmentStatus::Done,
            note: ANN_REVISED.into(),
        }]
    );
    for snapshot in [&fran_snapshot, &bob_snapshot] {
        assert!(snapshot.prep.mine.report_backs.is_empty());
        assert!(
            !serde_json::to_string(snapshot)
                .unwrap()
                .contains(ANN_REVISED)
        );
    }
    assert_eq!(
        fran_snapshot.prep.prepared, 0,
        "a report back alone is not prepared"
    );

    // The start applies it, after `meeting_started`, for everyone.
    fran.ok(start_request()).await;
    for client in [&mut fran, &mut ann, &mut bob] {
        let updated = received_event(client, |event| {
            matches!(event, Event::CommitmentUpdated { .. })
        })
        .await;
        let Event::CommitmentUpdated {
            commitment: applied,
            owner_accountability,
        } = updated
        else {
            unreachable!()
        };
        assert_eq!(applied.commitment_id, commitment);
        assert_eq!(applied.status, CommitmentStatus::Done);
        assert_eq!(applied.note, ANN_REVISED);
        assert_eq!(owner_accountability.member_id, ann_id);
        let started = index_of(client, |event| {
            matches!(event, Event::MeetingStarted { .. })
        });
        let applied = index_of(client, |event| {
            matches!(event, Event::CommitmentUpdated { .. })
        });
        assert!(
            started.unwrap() < applied.unwrap(),
            "applied after meeting_started"
        );
    }
    // Live now: an update goes to the board at once, and nothing is held any more.
    ann.ok(Request::UpdateCommitment {
        commitment_id: commitment,
        status: CommitmentStatus::Partial,
        note: None,
    })
    .await;
    let live = bob
        .event_where(|frame| {
            matches!(&frame.event, Event::CommitmentUpdated { commitment, .. } if commitment.status == CommitmentStatus::Partial)
        })
        .await;
    assert!(matches!(live.event, Event::CommitmentUpdated { .. }));
    ann.fails(
        Request::WithdrawReportBack {
            commitment_id: commitment,
        },
        ErrorCode::Conflict,
    )
    .await;
    server.stop().await;
}
