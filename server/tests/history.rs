//! Each member's own history over real WebSockets: two members through three meetings with
//! commitments, numbers (named and anonymous) and a revealed role play each ask for their
//! history and find only theirs; exports stay facilitator-only.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use roundtable_protocol::{
    CommitmentStatus, Criterion, Event, MemberId, MyHistory, Reply, Request, RolePlayEvent,
    RolePlayRequest, Rubric, ServerMessage, Sharing,
};
use serde_json::Value;
use support::{TestClient, TestServer, create_group, http_get, numbers_in};

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

async fn numbers(client: &mut TestClient, calls: f64, sharing: Sharing) {
    client
        .ok(Request::SubmitNumbers {
            values: BTreeMap::from([("calls".to_string(), calls)]),
            sharing,
        })
        .await;
}

/// Ends the meeting, waits until `others` all have the next one's snapshot, and starts it.
async fn next_meeting(fran: &mut TestClient, others: &mut [&mut TestClient], number: u32) {
    fran.ok(Request::StartNextMeeting).await;
    for client in others.iter_mut() {
        loop {
            match client.recv().await {
                ServerMessage::Snapshot(snapshot) if snapshot.meeting.number == number => break,
                _ => continue,
            }
        }
    }
    fran.start_meeting().await;
}

/// Asks for the client's history; returns it and the ack as it came (as JSON).
async fn history(client: &mut TestClient) -> (MyHistory, Value) {
    let id = client.send(Request::GetMyHistory).await;
    let reply = client.answer(id).await.expect("history answered");
    let json = serde_json::to_value(&reply).unwrap();
    match reply {
        Reply::MyHistory(history) => (history, json),
        other => panic!("get_my_history answered with {other:?}"),
    }
}

fn rubric() -> Rubric {
    let criterion = |name: &str| Criterion {
        name: name.into(),
        description: String::new(),
        scale_min: 1,
        scale_max: 5,
        weight: 1,
    };
    Rubric {
        name: "Discovery call".into(),
        criteria: vec![criterion("Questions"), criterion("Next step")],
        one_thing_differently: false,
    }
}

/// A role play with `seller`, scored by `scorers` with the scores given, revealed.
async fn role_play(
    fran: &mut TestClient,
    seller: MemberId,
    scorers: &mut [(&mut TestClient, [u32; 2], &str)],
) {
    fran.ok(Request::RolePlay {
        action: RolePlayRequest::SetUp {
            seller,
            buyer: None,
            scenario: "Renewal with a CFO".into(),
            buyer_brief: None,
            rubric: rubric(),
            reveal_threshold: None,
        },
    })
    .await;
    // The set-up event came before the ack, so it is among the events already read.
    let info = fran
        .events()
        .into_iter()
        .rev()
        .find_map(|frame| match frame.event {
            Event::RolePlay {
                change: RolePlayEvent::SetUp { role_play },
            } => Some(role_play),
            _ => None,
        })
        .expect("the role play was set up");
    let role_play_id = info.role_play_id;
    fran.ok(Request::RolePlay {
        action: RolePlayRequest::OpenScoring { role_play_id },
    })
    .await;
    for (scorer, scores, comment) in scorers.iter_mut() {
        scorer
            .ok(Request::RolePlay {
                action: RolePlayRequest::Submit {
                    role_play_id,
                    scores: scores.to_vec(),
                    comment: (*comment).into(),
                    one_thing_differently: None,
                },
            })
            .await;
    }
    fran.ok(Request::RolePlay {
        action: RolePlayRequest::Reveal { role_play_id },
    })
    .await;
}

#[tokio::test]
async fn each_member_reads_their_own_history_and_exports_stay_with_facilitators() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let mut bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    let mut cleo = TestClient::joined_as_member(server.addr, &group, "Cleo").await;
    let mut dan = TestClient::joined_as_member(server.addr, &group, "Dan").await;
    let (ann_id, bob_id) = (ann.member_id.unwrap(), bob.member_id.unwrap());
    fran.start_meeting().await;

    // Meeting 1: Ann commits twice, Bob once; everyone shares calls anonymously (each value
    // its own, with a fraction no aggregate over ranges can make); Ann sells in a role play.
    let ann_first = commit(&mut ann, "Call ten lapsed customers").await;
    let ann_second = commit(&mut ann, "Send the new pricing page").await;
    let bob_first = commit(&mut bob, "Book two demos").await;
    numbers(&mut ann, 41.37, Sharing::Anonymous).await;
    numbers(&mut bob, 57.29, Sharing::Anonymous).await;
    numbers(&mut cleo, 33.53, Sharing::Anonymous).await;
    numbers(&mut fran, 25.0, Sharing::Named).await;
    role_play(
        &mut fran,
        ann_id,
        &mut [
            (&mut bob, [4, 3], "Good pause before the price"),
            (&mut cleo, [5, 3], ""),
            (&mut dan, [3, 2], "Name the next step"),
        ],
    )
    .await;
    next_meeting(&mut fran, &mut [&mut ann, &mut bob, &mut cleo, &mut dan], 2).await;

    // Meeting 2: Ann reports one done and keeps one open; Bob misses his; new numbers.
    ann.ok(Request::UpdateCommitment {
        commitment_id: ann_first,
        status: CommitmentStatus::Done,
        note: None,
    })
    .await;
    bob.ok(Request::UpdateCommitment {
        commitment_id: bob_first,
        status: CommitmentStatus::Missed,
        note: None,
    })
    .await;
    numbers(&mut ann, 60.0, Sharing::Named).await;
    numbers(&mut bob, 12.71, Sharing::Anonymous).await;
    numbers(&mut cleo, 77.13, Sharing::Anonymous).await;
    numbers(&mut fran, 44.79, Sharing::Anonymous).await;
    next_meeting(&mut fran, &mut [&mut ann, &mut bob, &mut cleo, &mut dan], 3).await;

    let (mine, ann_json) = history(&mut ann).await;
    assert_eq!(mine.member_id, ann_id);
    let meetings: Vec<u32> = mine.meetings.iter().map(|m| m.meeting_number).collect();
    assert_eq!(meetings, [2, 1], "the kept minutes, newest first");
    assert_eq!(mine.summary.meetings_attended, 3);
    assert_eq!(mine.summary.completion_rate_percent, Some(100));
    let rows = &mine.commitments.per_meeting;
    assert_eq!(
        rows.iter()
            .map(|row| row.meeting_number)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(rows[0].made, 2);
    assert_eq!(
        (rows[1].done, rows[1].carried),
        (1, 1),
        "one done, one carried"
    );
    let listed: Vec<u32> = mine
        .commitments
        .commitments
        .iter()
        .map(|c| c.commitment_id)
        .collect();
    assert!(listed.contains(&ann_first) && listed.contains(&ann_second));
    assert!(!listed.contains(&bob_first), "only Ann's own commitments");
    let calls = mine.benchmarks.iter().find(|m| m.key == "calls").unwrap();
    let own: Vec<Option<f64>> = calls.points.iter().map(|p| p.mine).collect();
    assert_eq!(
        own,
        [Some(41.37), Some(60.0)],
        "her anonymous and her named number"
    );
    assert!(calls.points.iter().all(|p| p.group_median.is_some()));
    assert_eq!(mine.role_plays.len(), 1);
    let scores = &mine.role_plays[0];
    // The scores as the reveal gave them: aggregates only, no scorer.
    assert_eq!(scores.submission_count, 3);
    assert_eq!(scores.criteria[0].mean, 4.0);
    assert_eq!(scores.criteria[1].distribution, [0, 1, 2, 0, 0]);

    let mut found = Vec::new();
    numbers_in(&ann_json, &mut found);
    for others in [57.29, 33.53, 12.71, 77.13, 44.79] {
        assert!(
            !found.contains(&others),
            "another member's anonymous {others} in Ann's history"
        );
    }
    let text = ann_json.to_string();
    let role_plays = serde_json::to_string(&mine.role_plays).unwrap();
    for scorer in [bob_id, cleo.member_id.unwrap(), dan.member_id.unwrap()] {
        assert!(
            !role_plays.contains(&scorer.to_string()),
            "a scorer in {role_plays}"
        );
    }
    assert!(
        text.contains("Good pause before the price"),
        "the revealed comment is in the minutes"
    );

    // Bob's history is his: his numbers, his missed commitment, no role play of his own.
    let (his, bob_json) = history(&mut bob).await;
    assert_eq!(his.member_id, bob_id);
    assert!(his.role_plays.is_empty());
    assert_eq!(his.summary.completion_rate_percent, Some(0));
    let calls = his.benchmarks.iter().find(|m| m.key == "calls").unwrap();
    let own: Vec<Option<f64>> = calls.points.iter().map(|p| p.mine).collect();
    assert_eq!(own, [Some(57.29), Some(12.71)]);
    let mut found = Vec::new();
    numbers_in(&bob_json, &mut found);
    for others in [41.37, 33.53, 77.13, 44.79] {
        assert!(
            !found.contains(&others),
            "another member's anonymous {others} in Bob's history"
        );
    }
    // Nobody else received either answer: everything Cleo was sent (the meeting's own events
    // included) is read, and none of it is a history.
    while let Ok(Some(_)) = cleo.try_recv(Duration::from_millis(300)).await {}
    for message in &cleo.received {
        if let ServerMessage::Ack { result, .. } = message {
            assert!(!matches!(result, Reply::MyHistory(_)));
        }
    }

    // Exports stay facilitator-only: a member's token is refused, a facilitator's works.
    let bob_token = bob.member_token.clone().unwrap();
    let base = format!("/api/groups/{}", group.group_id);
    for path in [
        format!("{base}/minutes"),
        format!("{base}/minutes?format=md"),
        format!("{base}/meetings"),
        format!("{base}/commitments.csv"),
        format!("{base}/benchmarks.csv"),
    ] {
        let (status, _) = http_get(server.addr, &path, Some(&bob_token)).await;
        assert_eq!(status, 403, "{path} for a member");
        let fran_token = fran.member_token.clone().unwrap();
        let (status, _) = http_get(server.addr, &path, Some(&fran_token)).await;
        assert_eq!(status, 200, "{path} for a facilitator");
    }
    server.stop().await;
}
