//! A round's order over real WebSockets: a member who goes offline stays in the order, the
//! facilitator skips them and puts them back, a skip counts no turn, and after the round the
//! talk times list each speaker once.

mod support;

use roundtable_protocol::{ErrorCode, Event, EventFrame, MemberId, Request, SpeakerStatus};
use support::{TestClient, TestServer, create_group};

fn speaker_changed(frame: &EventFrame, member: MemberId, wanted: SpeakerStatus) -> bool {
    matches!(frame.event, Event::RoundSpeakerChanged { member_id, status }
        if member_id == member && status == wanted)
}

#[tokio::test]
async fn an_offline_speaker_stays_in_the_order_is_skipped_and_put_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    let mut cat = TestClient::joined_as_member(server.addr, &group, "Cat").await;
    let ids = [&fran, &ann, &bob, &cat].map(|client| client.member_id.unwrap());
    let [fran_id, ann_id, bob_id, cat_id] = ids;

    fran.ok(Request::StartRound {
        speaker_time_box_ms: 60_000,
        auto_advance: false,
        speakers: Some(ids.to_vec()),
        item_id: None,
    })
    .await;
    bob.close().await;
    ann.presence_change(bob_id, false).await;

    // Bob is away: skipped while waiting. Ann and then Cat speak; his place is passed.
    fran.ok(Request::SkipSpeaker {
        member_id: Some(bob_id),
    })
    .await;
    ann.event_where(|frame| speaker_changed(frame, bob_id, SpeakerStatus::Skipped))
        .await;
    fran.ok(Request::NextSpeaker).await;
    fran.ok(Request::NextSpeaker).await;
    ann.event_where(|frame| speaker_changed(frame, cat_id, SpeakerStatus::Speaking))
        .await;

    // Putting back: only a facilitator, only a skipped speaker.
    cat.fails(
        Request::RestoreSpeaker { member_id: bob_id },
        ErrorCode::Forbidden,
    )
    .await;
    fran.fails(
        Request::RestoreSpeaker { member_id: ann_id },
        ErrorCode::Conflict,
    )
    .await;
    fran.ok(Request::RestoreSpeaker { member_id: bob_id }).await;
    ann.event_where(|frame| speaker_changed(frame, bob_id, SpeakerStatus::Waiting))
        .await;

    // A late joiner sees the order as planned, Bob waiting in his place, offline.
    let mut dee = TestClient::connect(server.addr).await;
    let snapshot = dee.join_as_member(&group, "Dee").await;
    let round = snapshot.flow.round.clone().expect("the round runs");
    let order: Vec<(MemberId, SpeakerStatus)> = round
        .speakers
        .iter()
        .map(|speaker| (speaker.member_id, speaker.status))
        .collect();
    assert_eq!(
        order,
        vec![
            (fran_id, SpeakerStatus::Done),
            (ann_id, SpeakerStatus::Done),
            (bob_id, SpeakerStatus::Waiting),
            (cat_id, SpeakerStatus::Speaking),
        ]
    );
    let bob_member = snapshot.members.iter().find(|m| m.member_id == bob_id);
    assert!(!bob_member.unwrap().online);

    // Next: Bob's turn comes though his place passed; then the round ends.
    fran.ok(Request::NextSpeaker).await;
    ann.event_where(|frame| speaker_changed(frame, bob_id, SpeakerStatus::Speaking))
        .await;
    fran.ok(Request::EndRound).await;
    ann.event_where(|frame| matches!(frame.event, Event::RoundEnded))
        .await;
    let mut eve = TestClient::connect(server.addr).await;
    let snapshot = eve.join_as_member(&group, "Eve").await;
    assert!(snapshot.flow.round.is_none());
    let turns: Vec<(MemberId, u32)> = snapshot
        .flow
        .talk_times
        .iter()
        .map(|talk| (talk.member_id, talk.turns))
        .collect();
    assert_eq!(
        turns,
        vec![(fran_id, 1), (ann_id, 1), (cat_id, 1), (bob_id, 1)],
        "one turn each, in the order heard; Bob's skip counted none"
    );
    server.stop().await;
}
