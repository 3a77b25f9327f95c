//! A scorer who submits before and again after the real `roundtable` binary is killed and
//! started again, during scoring, is counted once: their page's ballot gives the second
//! submission the slot of the first (ARCHITECTURE.md, "Anonymity").

mod support;

use std::collections::BTreeSet;

use roundtable_protocol::{
    Criterion, Event, Request, RolePlayEvent, RolePlayId, RolePlayPhase, RolePlayRequest,
    RolePlayResults, Rubric,
};
use support::{TestClient, create_group};

fn role_play(action: RolePlayRequest) -> Request {
    Request::RolePlay { action }
}

fn submit(role_play_id: RolePlayId, score: u32, comment: &str, ballot: Option<&str>) -> Request {
    role_play(RolePlayRequest::Submit {
        role_play_id,
        scores: vec![score],
        comment: comment.into(),
        one_thing_differently: None,
        ballot: ballot.map(str::to_string),
    })
}

fn role_play_event(frame: &roundtable_protocol::EventFrame) -> Option<&RolePlayEvent> {
    match &frame.event {
        Event::RolePlay { change } => Some(change),
        _ => None,
    }
}

#[tokio::test]
async fn a_scorer_who_submits_again_after_a_restart_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--data-dir".as_ref(), dir.path().as_os_str()];
    let (mut first, addr) = support::start_binary(&args).await;
    let group = create_group(addr, "Restart Peers").await;
    let mut fran = TestClient::connect(addr).await;
    fran.join_as_facilitator(&group, "Fran").await;
    fran.start_meeting().await;
    let mut people = Vec::new();
    for name in ["Ann", "Bob", "Cleo", "Dee"] {
        let mut client = TestClient::connect(addr).await;
        client.join_as_member(&group, name).await;
        people.push(client);
    }
    let seller = people[0].member_id.unwrap();
    fran.ok(role_play(RolePlayRequest::SetUp {
        seller,
        buyer: None,
        scenario: "A renewal call".into(),
        buyer_brief: None,
        rubric: Rubric {
            name: "Renewal".into(),
            criteria: vec![Criterion {
                name: "Close".into(),
                description: "Asked for the renewal".into(),
                scale_min: 1,
                scale_max: 10,
                weight: 1,
            }],
            one_thing_differently: false,
        },
        reveal_threshold: None,
    }))
    .await;
    // Fran's ack follows the event; Bob reads it.
    let frame = people[1]
        .event_where(|frame| matches!(role_play_event(frame), Some(RolePlayEvent::SetUp { .. })))
        .await;
    let Some(RolePlayEvent::SetUp { role_play: info }) = role_play_event(&frame).cloned() else {
        unreachable!()
    };
    let role_play_id = info.role_play_id;
    fran.ok(role_play(RolePlayRequest::OpenScoring { role_play_id }))
        .await;

    // Bob and Cleo score, each with the ballot their page drew; the acks mean it is durable.
    let bob_ballot = "b0".repeat(32);
    let cleo_ballot = "c1".repeat(32);
    people[1]
        .ok(submit(role_play_id, 2, "First thoughts", Some(&bob_ballot)))
        .await;
    people[2]
        .ok(submit(role_play_id, 6, "Clear ask", Some(&cleo_ballot)))
        .await;
    let (fran_token, bob_token) = (fran.token_credential(), people[1].token_credential());
    let dee_token = people[3].token_credential();

    // The server dies with scoring open, and starts again.
    first.start_kill().expect("send SIGKILL");
    first.wait().await.expect("the killed server exits");
    drop(people);
    drop(fran);
    let (mut second, addr) = support::start_binary(&args).await;
    let mut fran = TestClient::connect(addr).await;
    let snapshot = fran
        .join(group.group_id, fran_token, None)
        .await
        .unwrap()
        .expect("a snapshot");
    let current = snapshot.role_play.current.expect("the role play survived");
    assert_eq!(current.phase, RolePlayPhase::Scoring);
    assert_eq!(current.submission_count, 2);

    // Bob's page still has its ballot: his new scores replace his first, and the count stays.
    let mut bob = TestClient::connect(addr).await;
    bob.join(group.group_id, bob_token, None).await.unwrap();
    bob.ok(submit(
        role_play_id,
        9,
        "Second thoughts",
        Some(&bob_ballot),
    ))
    .await;
    // A badly formed ballot is refused.
    bob.fails(
        submit(role_play_id, 9, "x", Some("not a ballot")),
        roundtable_protocol::ErrorCode::Invalid,
    )
    .await;
    let mut dee = TestClient::connect(addr).await;
    dee.join(group.group_id, dee_token, None).await.unwrap();
    dee.ok(submit(role_play_id, 7, "Good pace", Some(&"d2".repeat(32))))
        .await;
    let counts: Vec<u32> = {
        let frame = fran
            .event_where(|frame| {
                matches!(
                    role_play_event(frame),
                    Some(RolePlayEvent::SubmissionCount { .. })
                )
            })
            .await;
        match role_play_event(&frame) {
            Some(RolePlayEvent::SubmissionCount { count, .. }) => vec![*count],
            _ => unreachable!(),
        }
    };
    assert_eq!(
        counts,
        vec![3],
        "Bob's second submission was no new one; Dee's was"
    );

    fran.ok(role_play(RolePlayRequest::Reveal { role_play_id }))
        .await;
    let frame = bob
        .event_where(|frame| matches!(role_play_event(frame), Some(RolePlayEvent::Revealed { .. })))
        .await;
    let Some(RolePlayEvent::Revealed { results }) = role_play_event(&frame).cloned() else {
        unreachable!()
    };
    let RolePlayResults {
        submission_count,
        criteria,
        comments,
        ..
    } = results;
    assert_eq!(submission_count, 3, "Bob, Cleo and Dee, once each");
    assert_eq!(
        criteria[0].mean,
        (9.0 + 6.0 + 7.0) / 3.0,
        "Bob's revised score counts"
    );
    let comments: BTreeSet<String> = comments.into_iter().collect();
    assert_eq!(
        comments,
        BTreeSet::from([
            "Second thoughts".to_string(),
            "Clear ask".to_string(),
            "Good pace".to_string()
        ])
    );
    second.start_kill().expect("stop the second server");
    second.wait().await.expect("the server exits");
}
