//! A meeting's life over real WebSockets: a new group's first meeting is upcoming (the lobby),
//! refuses what needs a live meeting and allows the rest; a facilitator starts it, everyone
//! sees it live; ending it opens the next one, upcoming; and the phase survives a restart.

mod support;

use roundtable_protocol::{
    AgendaItemDraft, AgendaItemKind, ErrorCode, Event, MeetingPhase, Reaction, Request,
    ServerMessage,
};
use support::{TestClient, TestServer, create_group};

#[tokio::test]
async fn a_meeting_is_upcoming_then_live_then_ended_and_the_next_one_is_upcoming() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Lobby peers").await;
    let mut fran = TestClient::connect(server.addr).await;
    let snapshot = fran.join_as_facilitator(&group, "Fran").await;
    assert_eq!(snapshot.meeting.phase, MeetingPhase::Upcoming);
    assert_eq!(snapshot.meeting.number, 1);
    let mut ann = TestClient::connect(server.addr).await;
    let snapshot = ann.join_as_member(&group, "Ann").await;
    assert_eq!(snapshot.meeting.phase, MeetingPhase::Upcoming);

    // The lobby refuses what runs a meeting, with the typed error, and changes nothing.
    let message = ann
        .fails(Request::RaiseHand, ErrorCode::MeetingNotLive)
        .await;
    assert!(message.contains("has not started yet"), "{message}");
    fran.fails(
        Request::StartRound {
            speaker_time_box_ms: 60_000,
            auto_advance: false,
            speakers: None,
            item_id: None,
        },
        ErrorCode::MeetingNotLive,
    )
    .await;
    fran.fails(
        Request::React {
            reaction: Reaction::Applause,
        },
        ErrorCode::MeetingNotLive,
    )
    .await;
    fran.fails(Request::StartNextMeeting, ErrorCode::MeetingNotLive)
        .await;
    ann.fails(Request::StartMeeting, ErrorCode::Forbidden).await;
    // Nothing was recorded: the next accepted change follows the last seq directly.
    fran.ok(Request::AddAgendaItem {
        item: AgendaItemDraft {
            title: "Pricing".into(),
            kind: AgendaItemKind::Discussion,
            time_box_ms: 300_000,
            owner: None,
            notes: String::new(),
        },
        position: None,
    })
    .await;
    ann.event_where(|frame| matches!(frame.event, Event::AgendaItemAdded { .. }))
        .await;
    // Nothing but the joins and the agenda item was recorded, with no gap between them.
    let events = ann.events();
    assert!(
        events.iter().all(|frame| matches!(
            frame.event,
            Event::MemberAdded { .. }
                | Event::PresenceChanged { .. }
                | Event::AgendaItemAdded { .. }
        )),
        "the refusals recorded nothing: {events:?}"
    );
    assert!(events.windows(2).all(|pair| pair[1].seq == pair[0].seq + 1));
    // Settings are fine before the meeting.
    fran.ok(Request::RenameGroup {
        name: "Lobby peers (West)".into(),
    })
    .await;

    // The facilitator starts it: everyone sees it live.
    fran.start_meeting().await;
    let started = ann
        .event_where(|frame| matches!(frame.event, Event::MeetingStarted { .. }))
        .await;
    let Event::MeetingStarted { started_at_ms } = started.event else {
        unreachable!()
    };
    assert_eq!(started_at_ms, started.at_ms);
    fran.fails(Request::StartMeeting, ErrorCode::Conflict).await;
    ann.ok(Request::RaiseHand).await;

    // A fresh page sees it live.
    let mut again = TestClient::connect(server.addr).await;
    let snapshot = again
        .join(group.group_id, ann.token_credential(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.meeting.phase, MeetingPhase::Live);
    assert_eq!(snapshot.meeting.started_at_ms, started_at_ms);
    again.close().await;

    // "End meeting": the next one is upcoming, and the minutes say when this one ran.
    fran.ok(Request::StartNextMeeting).await;
    let opened = ann
        .event_where(|frame| matches!(frame.event, Event::NextMeetingOpened { .. }))
        .await;
    let Event::NextMeetingOpened { meeting } = opened.event else {
        unreachable!()
    };
    assert_eq!(meeting.number, 2);
    assert_eq!(meeting.phase, MeetingPhase::Upcoming);
    let snapshot = match ann.recv().await {
        ServerMessage::Snapshot(snapshot) => snapshot,
        other => panic!("a snapshot of the new meeting follows, got {other:?}"),
    };
    assert_eq!(snapshot.meeting.phase, MeetingPhase::Upcoming);
    assert_eq!(snapshot.seq, 0);
    assert!(snapshot.hands.is_empty());
    ann.fails(Request::RaiseHand, ErrorCode::MeetingNotLive)
        .await;

    // The phase is stored: after a restart the second meeting is still upcoming.
    let fran_credential = fran.token_credential();
    fran.close().await;
    ann.close().await;
    server.stop().await;
    let server = TestServer::start(dir.path()).await;
    let mut fran = TestClient::connect(server.addr).await;
    let snapshot = fran
        .join(group.group_id, fran_credential.clone(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.meeting.number, 2);
    assert_eq!(snapshot.meeting.phase, MeetingPhase::Upcoming);
    let (status, body) = support::http_get(
        server.addr,
        &format!("/api/groups/{}/meetings", group.group_id),
        Some(&group.facilitator_secret),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let list: roundtable_protocol::MeetingList = serde_json::from_str(&body).unwrap();
    let first = list
        .meetings
        .iter()
        .find(|listed| listed.number == 1)
        .expect("meeting 1 is listed");
    assert_eq!(
        first.started_at_ms, started_at_ms,
        "started when it went live"
    );
    assert!(first.ended_at_ms.unwrap() >= started_at_ms);
    // And started again, it is live after another restart.
    fran.start_meeting().await;
    fran.close().await;
    server.stop().await;
    let server = TestServer::start(dir.path()).await;
    let mut fran = TestClient::connect(server.addr).await;
    let snapshot = fran
        .join(group.group_id, fran_credential, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.meeting.phase, MeetingPhase::Live);
    fran.close().await;
    server.stop().await;
}
