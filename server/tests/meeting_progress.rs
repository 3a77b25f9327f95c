//! Moving through a meeting over real WebSockets against a real server on 127.0.0.1: Next and
//! Back seen by every member with each item's clock, the clocks across a restart, and End
//! meeting (everything stops, what runs a meeting is refused, the minutes end then) before the
//! next meeting starts.

mod support;

use roundtable_protocol::{
    AgendaItem, AgendaItemStatus, ErrorCode, Event, EventFrame, MeetingList, Request, ServerMessage,
};
use support::{TestClient, TestServer, create_group, http_get};

fn status_change(frame: &EventFrame) -> Option<(u32, AgendaItemStatus)> {
    match frame.event {
        Event::AgendaItemStatusChanged { item_id, status } => Some((item_id, status)),
        _ => None,
    }
}

fn item(agenda: &[AgendaItem], item_id: u32) -> &AgendaItem {
    agenda.iter().find(|item| item.item_id == item_id).unwrap()
}

#[tokio::test]
async fn next_back_and_end_meeting_run_the_meeting_for_everyone_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;

    // Next with nothing current starts the first item; Ann sees it with its server time.
    fran.ok(Request::NextAgendaItem).await;
    let started = ann
        .event_where(|frame| status_change(frame) == Some((1, AgendaItemStatus::Current)))
        .await;
    // A member may not move the meeting.
    ann.fails(Request::NextAgendaItem, ErrorCode::Forbidden)
        .await;

    fran.ok(Request::NextAgendaItem).await;
    let done = ann
        .event_where(|frame| status_change(frame) == Some((1, AgendaItemStatus::Done)))
        .await;
    ann.event_where(|frame| status_change(frame) == Some((2, AgendaItemStatus::Current)))
        .await;
    fran.ok(Request::PreviousAgendaItem).await;
    let back = ann
        .event_where(|frame| status_change(frame) == Some((1, AgendaItemStatus::Current)))
        .await;

    // After a restart a new connection's snapshot has the same clocks as the frames implied.
    let credential = ann.token_credential();
    let fran_credential = fran.token_credential();
    server.stop().await;
    let server = TestServer::start(dir.path()).await;
    let mut ann = TestClient::connect(server.addr).await;
    let snapshot = ann
        .join(group.group_id, credential.clone(), None)
        .await
        .unwrap()
        .unwrap();
    let first = item(&snapshot.flow.agenda, 1);
    assert_eq!(first.status, AgendaItemStatus::Current);
    assert_eq!(first.spent_ms, done.at_ms - started.at_ms);
    assert_eq!(first.current_since_ms, Some(back.at_ms));
    let second = item(&snapshot.flow.agenda, 2);
    assert_eq!(second.status, AgendaItemStatus::Pending);
    assert_eq!(second.spent_ms, back.at_ms - done.at_ms);
    assert_eq!(second.current_since_ms, None);

    // End meeting: a hand is lowered, the item waits again, and Ann hears it.
    let mut fran = TestClient::connect(server.addr).await;
    fran.join(group.group_id, fran_credential.clone(), None)
        .await
        .unwrap();
    ann.ok(Request::RaiseHand).await;
    fran.ok(Request::StartRound {
        speaker_time_box_ms: 60_000,
        auto_advance: false,
        speakers: None,
        item_id: Some(1),
    })
    .await;
    fran.ok(Request::EndMeeting).await;
    let ended = ann
        .event_where(|frame| matches!(frame.event, Event::MeetingEnded))
        .await;
    let mut fran_tab = TestClient::connect(server.addr).await;
    let snapshot = fran_tab
        .join(group.group_id, fran_credential, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.flow.ended_at_ms, Some(ended.at_ms));
    assert!(snapshot.flow.round.is_none() && snapshot.flow.timer.is_none());
    assert!(snapshot.hands.is_empty(), "End meeting lowers every hand");
    assert_eq!(
        item(&snapshot.flow.agenda, 1).status,
        AgendaItemStatus::Pending
    );
    let refused = fran
        .fails(
            Request::StartRound {
                speaker_time_box_ms: 60_000,
                auto_advance: false,
                speakers: None,
                item_id: None,
            },
            ErrorCode::Conflict,
        )
        .await;
    assert!(refused.contains("ended"), "{refused}");
    fran.fails(Request::NextAgendaItem, ErrorCode::Conflict)
        .await;

    // The meeting list says when it ended, and so do the minutes once the next one starts.
    let meetings = format!("/api/groups/{}/meetings", group.group_id);
    let (status, body) = http_get(server.addr, &meetings, Some(&group.facilitator_secret)).await;
    assert_eq!(status, 200, "{body}");
    let list: MeetingList = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(list.meetings[0].ended_at_ms, Some(ended.at_ms));

    fran.ok(Request::StartNextMeeting).await;
    let next = fran
        .received
        .iter()
        .find_map(|message| match message {
            ServerMessage::Snapshot(snapshot) if snapshot.meeting.number == 2 => {
                Some(snapshot.clone())
            }
            _ => None,
        })
        .expect("a snapshot of the next meeting");
    assert_eq!(next.flow.ended_at_ms, None);
    let (_, body) = http_get(server.addr, &meetings, Some(&group.facilitator_secret)).await;
    let list: MeetingList = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(
        list.meetings
            .iter()
            .map(|meeting| (meeting.number, meeting.ended_at_ms))
            .collect::<Vec<_>>(),
        vec![(2, None), (1, Some(ended.at_ms))],
        "the first meeting ended when End meeting said, not when the next one started"
    );
    // The next meeting runs once it is started.
    fran.fails(Request::NextAgendaItem, ErrorCode::MeetingNotLive)
        .await;
    fran.start_meeting().await;
    fran.ok(Request::NextAgendaItem).await;
    server.stop().await;
}

#[tokio::test]
async fn the_minutes_give_times_in_the_groups_time_zone_and_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    // An unknown zone creates nothing.
    let body = serde_json::json!({"name": "Peers", "time_zone": "Mars/Olympus_Mons"}).to_string();
    let (status, answer) = support::http_request(server.addr, "POST", "/api/groups", &body).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.contains("not a time zone this server knows"),
        "{answer}"
    );

    let body = serde_json::json!({"name": "Peers", "time_zone": "America/Chicago"}).to_string();
    let (status, answer) = support::http_request(server.addr, "POST", "/api/groups", &body).await;
    assert_eq!(status, 201, "{answer}");
    let created: roundtable_protocol::CreateGroupResponse = serde_json::from_str(&answer).unwrap();
    let secret = created
        .facilitator_url
        .split_once("#facilitator=")
        .unwrap()
        .1
        .to_string();
    let mut fran = TestClient::connect(server.addr).await;
    let snapshot = fran
        .join(
            created.group_id,
            roundtable_protocol::Credential::Facilitator {
                secret: secret.clone(),
                display_name: "Fran".into(),
                member_token: None,
            },
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.group.time_zone.as_deref(), Some("America/Chicago"));
    let minutes = format!("/api/groups/{}/minutes?format=md", created.group_id);
    let (_, markdown) = http_get(server.addr, &minutes, Some(&secret)).await;
    assert!(
        markdown.contains("America/Chicago (UTC-06:00)")
            || markdown.contains("America/Chicago (UTC-05:00)"),
        "{markdown}"
    );

    // The facilitator moves the group to Berlin; a bad name changes nothing.
    for bad in ["Europe/Atlantis", "../../etc/passwd", ""] {
        fran.fails(
            Request::SetTimeZone {
                time_zone: bad.into(),
            },
            ErrorCode::Invalid,
        )
        .await;
    }
    fran.ok(Request::SetTimeZone {
        time_zone: "Europe/Berlin".into(),
    })
    .await;
    assert!(
        fran.events().iter().any(|frame| matches!(&frame.event,
            Event::TimeZoneSet { time_zone } if time_zone == "Europe/Berlin")),
        "the room says the zone changed"
    );
    fran.ok(Request::AddCommitment {
        text: "Call Acme".into(),
        due_meeting: None,
        due_date: None,
        owner: None,
    })
    .await;
    let (_, markdown) = http_get(server.addr, &minutes, Some(&secret)).await;
    assert!(
        markdown.contains("Europe/Berlin (UTC+01:00)")
            || markdown.contains("Europe/Berlin (UTC+02:00)"),
        "{markdown}"
    );
    let csv = format!("/api/groups/{}/commitments.csv", created.group_id);
    let (_, table) = http_get(server.addr, &csv, Some(&secret)).await;
    assert!(table.contains("Europe/Berlin (UTC+0"), "{table}");
    server.stop().await;
}

/// The group's video call link: a facilitator sets it, every member sees the event and finds
/// it in a new snapshot, also after a restart; a member cannot set it, and a link that is not
/// https is refused and changes nothing.
#[tokio::test]
async fn the_call_link_reaches_everyone_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Call Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let link = "https://meet.jit.si/CallPeers";
    let set = |url: Option<&str>| Request::SetCallLink {
        url: url.map(String::from),
    };

    ann.fails(set(Some(link)), ErrorCode::Forbidden).await;
    for bad in [
        "http://meet.jit.si/x",
        "javascript:alert(1)",
        "https://a:b@evil.example/",
    ] {
        let message = fran.fails(set(Some(bad)), ErrorCode::Invalid).await;
        assert!(message.starts_with("the call link "), "{message}");
    }
    fran.ok(set(Some(link))).await;
    let seen = ann
        .event_where(|frame| matches!(&frame.event, Event::CallLinkSet { .. }))
        .await;
    assert!(matches!(&seen.event, Event::CallLinkSet { url } if url.as_deref() == Some(link)));
    assert_eq!(
        ann.events()
            .iter()
            .filter(|frame| matches!(&frame.event, Event::CallLinkSet { .. }))
            .count(),
        1,
        "refusals sent nothing"
    );
    let (ann_token, fran_token) = (ann.token_credential(), fran.token_credential());
    server.stop().await;

    let server = TestServer::start(dir.path()).await;
    let mut ann = TestClient::connect(server.addr).await;
    let snapshot = ann
        .join(group.group_id, ann_token, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.group.call_url.as_deref(), Some(link));
    let mut fran = TestClient::connect(server.addr).await;
    fran.join(group.group_id, fran_token, None)
        .await
        .unwrap()
        .unwrap();
    fran.ok(set(None)).await;
    let removed = ann
        .event_where(|frame| matches!(&frame.event, Event::CallLinkSet { .. }))
        .await;
    assert!(matches!(&removed.event, Event::CallLinkSet { url: None }));
    server.stop().await;
}
