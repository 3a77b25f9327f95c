//! A group as a series of meetings: the next meeting starts with the board carried over,
//! completion rates build up across meetings, and facilitators export minutes and CSV.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use roundtable_protocol::{
    AgendaItemKind, CommitmentStatus, ErrorCode, Event, MeetingList, Minutes, PracticeOutcome,
    Reply, Request, ServerMessage, Sharing,
};
use support::{TestClient, TestServer, create_group, http_get};

async fn commit(client: &mut TestClient, text: &str) -> u32 {
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
        other => panic!("{other:?}"),
    }
}

/// Starts the next meeting and waits until `others` all have its snapshot. The facilitator's
/// arrives before the ack of the request.
async fn next_meeting(fran: &mut TestClient, others: &mut [&mut TestClient], number: u32) {
    fran.ok(Request::StartNextMeeting).await;
    fran.start_meeting().await;
    assert!(fran.received.iter().any(
        |message| matches!(message, ServerMessage::Snapshot(s) if s.meeting.number == number)
    ));
    for client in others.iter_mut() {
        loop {
            match client.recv().await {
                ServerMessage::Snapshot(snapshot) if snapshot.meeting.number == number => break,
                _ => continue,
            }
        }
    }
}

#[tokio::test]
async fn meetings_follow_each_other_and_close_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Series peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let mut bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    let ann_id = ann.member_id.unwrap();
    let bob_id = bob.member_id.unwrap();
    let first_meeting = fran.meeting_id.unwrap();

    // Meeting 1: commitments, a practice, benchmarks.
    let ann_first = commit(&mut ann, "Book five discovery calls").await;
    let bob_first = commit(&mut bob, "Send the Acme proposal").await;
    ann.ok(Request::PostPractice {
        title: "Open with the last meeting's numbers".into(),
        description: "Keeps everyone honest.".into(),
        tags: vec!["meetings".into()],
        outcome: PracticeOutcome::Worked,
    })
    .await;
    for (client, calls) in [(&mut fran, 30.0), (&mut ann, 40.0), (&mut bob, 50.0)] {
        client
            .ok(Request::SubmitNumbers {
                values: BTreeMap::from([("calls".into(), calls)]),
                sharing: Sharing::Named,
            })
            .await;
    }
    ann.fails(Request::StartNextMeeting, ErrorCode::Forbidden)
        .await;

    // Bob drops before the switch and resumes into the ended meeting afterwards.
    let bob_resume = bob.resume_point();
    let bob_credential = bob.token_credential();
    bob.drop_connection();
    fran.presence_where(|frame| frame.change.is_some_and(|change| !change.online))
        .await;

    fran.ok(Request::StartNextMeeting).await;
    let switch = ann
        .event_where(|f| matches!(f.event, Event::NextMeetingOpened { .. }))
        .await;
    let Event::NextMeetingOpened { meeting } = switch.event else {
        unreachable!()
    };
    assert_eq!(meeting.number, 2);
    let snapshot = match ann.recv().await {
        ServerMessage::Snapshot(snapshot) => snapshot,
        other => panic!("a snapshot of the new meeting follows, got {other:?}"),
    };
    assert_eq!(snapshot.meeting.meeting_id, meeting.meeting_id);
    assert_eq!(
        snapshot.seq, 0,
        "the new meeting is upcoming: its log starts empty (its start records who attends)"
    );
    assert_eq!(snapshot.commitments.len(), 2, "open commitments carry over");
    assert_eq!(
        snapshot.benchmarks.submitted_count, 0,
        "numbers are per meeting"
    );
    assert_eq!(snapshot.practice_count, 1, "the library is the group's");
    assert_ne!(meeting.meeting_id, first_meeting);

    let mut bob = TestClient::connect(server.addr).await;
    let snapshot = bob
        .join(group.group_id, bob_credential, Some(bob_resume))
        .await
        .expect("rejoin")
        .expect("a resume point in an ended meeting gets a snapshot");
    assert_eq!(snapshot.meeting.number, 2);
    assert_eq!(
        snapshot.meeting.phase,
        roundtable_protocol::MeetingPhase::Upcoming
    );
    fran.start_meeting().await;

    // Meeting 2: the report-back round walks through the members in turn under the timer;
    // each marks the commitments that were due while it is their turn.
    let report_back = snapshot
        .flow
        .agenda
        .iter()
        .find(|item| item.kind == AgendaItemKind::ReportBack)
        .expect("the default template has a report-back item")
        .item_id;
    let due: Vec<_> = snapshot
        .commitments
        .iter()
        .filter(|commitment| {
            commitment.due_meeting == 2 && commitment.status == CommitmentStatus::Open
        })
        .map(|commitment| (commitment.owner, commitment.commitment_id))
        .collect();
    assert_eq!(
        due,
        vec![(ann_id, ann_first), (bob_id, bob_first)],
        "what each must report on"
    );
    fran.ok(Request::StartRound {
        speaker_time_box_ms: 120_000,
        auto_advance: false,
        speakers: Some(vec![ann_id, bob_id]),
        item_id: Some(report_back),
    })
    .await;
    ann.ok(Request::UpdateCommitment {
        commitment_id: ann_first,
        status: CommitmentStatus::Done,
        note: Some("six booked".into()),
    })
    .await;
    fran.ok(Request::NextSpeaker).await;
    bob.ok(Request::UpdateCommitment {
        commitment_id: bob_first,
        status: CommitmentStatus::Missed,
        note: Some("client on holiday".into()),
    })
    .await;
    fran.ok(Request::EndRound).await;
    let mut dana = TestClient::connect(server.addr).await;
    let after_round = dana.join_as_member(&group, "Dana").await;
    let talked: Vec<_> = after_round
        .flow
        .talk_times
        .iter()
        .map(|talk| talk.member_id)
        .collect();
    assert!(
        talked.contains(&ann_id) && talked.contains(&bob_id),
        "both had their turn: {talked:?}"
    );
    assert!(after_round.flow.round.is_none(), "the round ended");
    dana.close().await;
    let ann_second = commit(&mut ann, "Ask three clients for referrals").await;
    // The facilitator read past Bob's update while waiting for the round's acks.
    let frame = fran
        .events()
        .into_iter()
        .find(|f| matches!(&f.event, Event::CommitmentUpdated { commitment, .. } if commitment.commitment_id == bob_first))
        .expect("everyone sees Bob's report");
    let Event::CommitmentUpdated {
        owner_accountability,
        ..
    } = frame.event
    else {
        unreachable!()
    };
    assert_eq!(owner_accountability.completion_rate_percent, Some(0));

    next_meeting(&mut fran, &mut [&mut ann, &mut bob], 3).await;
    ann.ok(Request::UpdateCommitment {
        commitment_id: ann_second,
        status: CommitmentStatus::Partial,
        note: None,
    })
    .await;
    let mut carl = TestClient::connect(server.addr).await;
    let snapshot = carl.join_as_member(&group, "Carl").await;
    let ann_stats = snapshot
        .accountability
        .iter()
        .find(|a| a.member_id == ann_id)
        .unwrap();
    // Done (1) and partial (1/2) over two resolved commitments: 75 %.
    assert_eq!(
        (
            ann_stats.completion_rate_percent,
            ann_stats.resolved_count,
            ann_stats.streak
        ),
        (Some(75), 2, 0)
    );
    let bob_stats = snapshot
        .accountability
        .iter()
        .find(|a| a.member_id == bob_id)
        .unwrap();
    assert_eq!(bob_stats.completion_rate_percent, Some(0));

    // Exports, for facilitators only.
    let base = format!("/api/groups/{}", group.group_id);
    let (status, _) = http_get(server.addr, &format!("{base}/meetings"), None).await;
    assert_eq!(status, 401);
    let ann_token = ann.member_token.clone().unwrap();
    let (status, _) = http_get(server.addr, &format!("{base}/meetings"), Some(&ann_token)).await;
    assert_eq!(status, 403);
    let (status, body) = http_get(
        server.addr,
        &format!("{base}/meetings"),
        Some(&group.facilitator_secret),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let list: MeetingList = serde_json::from_str(body.trim()).expect("meeting list");
    assert_eq!(
        list.meetings.iter().map(|m| m.number).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );

    let fran_token = fran.member_token.clone().unwrap();
    let path = format!("{base}/minutes?meeting={first_meeting}");
    let (status, body) = http_get(server.addr, &path, Some(&fran_token)).await;
    assert_eq!(status, 200, "{body}");
    let minutes: Minutes = serde_json::from_str(body.trim()).expect("minutes json");
    assert_eq!(minutes.meeting_number, 1);
    assert!(minutes.ended_at_ms.is_some());
    assert_eq!(minutes.commitments_made.len(), 2);
    assert_eq!(minutes.practices.len(), 1);
    assert_eq!(minutes.benchmarks.submitted_count, 3);
    assert_eq!(minutes.attendees.len(), 3);
    // Meeting 2: Fran and Ann were here as it started (its first events), Bob came back after
    // (recorded once his join was answered), then Dana joined the group; each attended once,
    // in the order they came.
    let path = format!("{base}/minutes?meeting={}", list.meetings[1].meeting_id);
    let (status, body) = http_get(server.addr, &path, Some(&fran_token)).await;
    assert_eq!(status, 200, "{body}");
    let minutes: Minutes = serde_json::from_str(body.trim()).expect("minutes json");
    let names: Vec<&str> = minutes
        .attendees
        .iter()
        .map(|attendee| attendee.display_name.as_str())
        .collect();
    assert_eq!(names, ["Fran", "Ann", "Bob", "Dana"]);

    let path = format!(
        "{base}/minutes?meeting={}&format=md",
        list.meetings[1].meeting_id
    );
    let (status, markdown) = http_get(server.addr, &path, Some(&group.facilitator_secret)).await;
    assert_eq!(status, 200);
    assert!(
        markdown.contains("# Series peers — meeting 2"),
        "{markdown}"
    );
    assert!(markdown.contains("## Agenda"), "{markdown}");
    assert!(
        markdown.contains("- Check-in round (pending)"),
        "the template's agenda: {markdown}"
    );
    assert!(
        markdown.contains("| Ann | Book five discovery calls | done | six booked |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| Bob | Send the Acme proposal | missed | client on holiday |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("Ask three clients for referrals"),
        "{markdown}"
    );

    let (status, csv) = http_get(
        server.addr,
        &format!("{base}/commitments.csv"),
        Some(&group.facilitator_secret),
    )
    .await;
    assert_eq!(status, 200);
    assert!(csv.contains("commitment_id,owner,text"), "{csv}");
    assert!(
        csv.contains("Ann,Ask three clients for referrals,2,3,,partial"),
        "{csv}"
    );
    let (status, csv) = http_get(
        server.addr,
        &format!("{base}/benchmarks.csv"),
        Some(&group.facilitator_secret),
    )
    .await;
    assert_eq!(status, 200);
    assert!(csv.contains("1,calls,calls,(group median),,,,40,"), "{csv}");
    // Any other file beside them is not found, with or without the credential.
    for credential in [Some(group.facilitator_secret.as_str()), None] {
        let (status, body) =
            http_get(server.addr, &format!("{base}/secrets.csv"), credential).await;
        assert_eq!(status, 404, "{body}");
    }

    // The series survives a restart.
    server.stop().await;
    let server = TestServer::start(dir.path()).await;
    let mut fran_again = TestClient::connect(server.addr).await;
    let snapshot = fran_again
        .join(group.group_id, fran.token_credential(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.meeting.number, 3);
    let (status, body) = http_get(
        server.addr,
        &format!("/api/groups/{}/meetings", group.group_id),
        Some(&group.facilitator_secret),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    fran_again.expect_silence(Duration::from_millis(100)).await;
    server.stop().await;
}
