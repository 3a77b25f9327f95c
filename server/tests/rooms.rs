//! Live rooms over real WebSockets against a real server on 127.0.0.1.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use roundtable_protocol::{
    Credential, ErrorCode, Event, GroupId, MemberId, PresenceReason, Request, Role, ServerMessage,
};
use roundtable_server::Limits;
use roundtable_server::store::{EmbeddedOptions, fixtures};
use support::counting::CountingStore;
use support::{Closed, TestClient, TestServer, create_group, http_request};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn facilitator_and_members_join_and_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Friday Sales Peers").await;
    assert!(
        group
            .response
            .facilitator_url
            .starts_with(&format!("http://{}/g/", server.addr))
    );
    assert!(group.response.invite_url.contains("#invite="));

    let mut facilitator = TestClient::connect(server.addr).await;
    let snapshot = facilitator.join_as_facilitator(&group, "Fran").await;
    assert_eq!(snapshot.group.name, "Friday Sales Peers");
    assert_eq!(snapshot.members.len(), 1);
    assert_eq!(snapshot.members[0].role, Role::Facilitator);
    assert!(snapshot.members[0].online);
    assert_eq!(facilitator.role, Some(Role::Facilitator));
    assert!(
        facilitator.member_token.is_some(),
        "a new member gets a token"
    );

    let mut ann = TestClient::connect(server.addr).await;
    let snapshot = ann.join_as_member(&group, "Ann").await;
    assert_eq!(snapshot.members.len(), 2);
    let ann_id = ann.member_id.unwrap();
    facilitator.presence_change(ann_id, true).await;

    let mut bob = TestClient::connect(server.addr).await;
    let snapshot = bob.join_as_member(&group, "  Bob  ").await;
    let bob_info = snapshot
        .members
        .iter()
        .find(|m| Some(m.member_id) == bob.member_id)
        .unwrap();
    assert_eq!(bob_info.display_name, "Bob", "names are trimmed");
    assert!(snapshot.members.iter().all(|member| member.online));
    let bob_id = bob.member_id.unwrap();
    facilitator.presence_change(bob_id, true).await;
    ann.presence_change(bob_id, true).await;

    // Bob leaves cleanly; the others see him go offline with reason "left".
    bob.close().await;
    let change = ann.presence_change(bob_id, false).await;
    assert_eq!(change.reason, PresenceReason::Left);
    facilitator.presence_change(bob_id, false).await;

    // Every event carries a strictly increasing seq, and both clients saw the same ones.
    let seqs = |client: &TestClient| client.events().iter().map(|e| e.seq).collect::<Vec<_>>();
    let ann_seqs = seqs(&ann);
    let facilitator_seqs = seqs(&facilitator);
    assert!(
        facilitator_seqs.ends_with(&ann_seqs),
        "{facilitator_seqs:?} vs {ann_seqs:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn members_cannot_do_facilitator_actions_and_bad_credentials_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    facilitator.start_meeting().await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let ann_id = ann.member_id.unwrap();
    facilitator.presence_change(ann_id, true).await;
    let facilitator_id = facilitator.member_id.unwrap();

    ann.fails(
        Request::RenameGroup {
            name: "Mine".into(),
        },
        ErrorCode::Forbidden,
    )
    .await;
    ann.fails(
        Request::RemoveMember {
            member_id: facilitator_id,
        },
        ErrorCode::Forbidden,
    )
    .await;
    ann.fails(
        Request::SetRole {
            member_id: ann_id,
            role: Role::Facilitator,
        },
        ErrorCode::Forbidden,
    )
    .await;
    ann.fails(
        Request::HandOverFacilitator { member_id: ann_id },
        ErrorCode::Forbidden,
    )
    .await;
    // Nothing changed: the facilitator saw no event.
    facilitator.expect_silence(Duration::from_millis(200)).await;

    // Wrong secrets and tokens get `unauthorized` and create nobody.
    let mut stranger = TestClient::connect(server.addr).await;
    let wrong_invite = Credential::Invite {
        secret: "guess".into(),
        display_name: "Eve".into(),
        observer: false,
    };
    let error = stranger
        .join(group.group_id, wrong_invite, None)
        .await
        .unwrap_err();
    assert_eq!(error.0, ErrorCode::Unauthorized);
    let wrong_token = Credential::MemberToken {
        token: "not-a-token".into(),
    };
    let error = stranger
        .join(group.group_id, wrong_token, None)
        .await
        .unwrap_err();
    assert_eq!(error.0, ErrorCode::Unauthorized);
    let wrong_facilitator = Credential::Facilitator {
        secret: group.invite_secret.clone(),
        display_name: "Eve".into(),
        member_token: None,
    };
    let error = stranger
        .join(group.group_id, wrong_facilitator, None)
        .await
        .unwrap_err();
    assert_eq!(error.0, ErrorCode::Unauthorized);
    let unknown_group = Credential::Invite {
        secret: group.invite_secret.clone(),
        display_name: "Eve".into(),
        observer: false,
    };
    let error = stranger
        .join(GroupId::random(), unknown_group, None)
        .await
        .unwrap_err();
    assert_eq!(error.0, ErrorCode::NotFound);
    // Requests before a join are refused.
    stranger
        .fails(Request::RaiseHand, ErrorCode::NotJoined)
        .await;
    facilitator.expect_silence(Duration::from_millis(200)).await;

    // The facilitator can do what the member could not.
    facilitator
        .ok(Request::RenameGroup {
            name: "Friday Peers".into(),
        })
        .await;
    let frame = ann
        .event_where(|f| matches!(f.event, Event::GroupRenamed { .. }))
        .await;
    assert_eq!(
        frame.event,
        Event::GroupRenamed {
            name: "Friday Peers".into()
        }
    );
    facilitator
        .fails(
            Request::RenameGroup { name: " ".into() },
            ErrorCode::Invalid,
        )
        .await;
    facilitator
        .fails(
            Request::RenameGroup {
                name: "x".repeat(81),
            },
            ErrorCode::Invalid,
        )
        .await;
    facilitator
        .fails(
            Request::SetRole {
                member_id: facilitator_id,
                role: Role::Member,
            },
            ErrorCode::Conflict,
        )
        .await;

    // Sharing, then handing over, the facilitator role.
    facilitator
        .ok(Request::SetRole {
            member_id: ann_id,
            role: Role::Facilitator,
        })
        .await;
    ann.event_where(|f| {
        matches!(
            f.event,
            Event::RoleChanged {
                role: Role::Facilitator,
                ..
            }
        )
    })
    .await;
    ann.ok(Request::SetRole {
        member_id: ann_id,
        role: Role::Member,
    })
    .await;
    facilitator
        .ok(Request::HandOverFacilitator { member_id: ann_id })
        .await;
    ann.ok(Request::RenameGroup {
        name: "Ann's group".into(),
    })
    .await;
    facilitator
        .fails(
            Request::RenameGroup {
                name: "Back".into(),
            },
            ErrorCode::Forbidden,
        )
        .await;

    // Removal closes the removed member's connection and voids their token.
    let fran_token = facilitator.token_credential();
    ann.ok(Request::RemoveMember {
        member_id: facilitator_id,
    })
    .await;
    match facilitator.until_closed().await {
        Closed::Frame(code, reason) => assert_eq!((code, reason.as_str()), (1008, "removed")),
        other => panic!("removed member's connection closes with a reason, got {other:?}"),
    }
    let mut again = TestClient::connect(server.addr).await;
    let error = again
        .join(group.group_id, fran_token, None)
        .await
        .unwrap_err();
    assert_eq!(error.0, ErrorCode::Unauthorized);
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_typed_errors_and_hurts_no_one_else() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        requests_per_second: 5,
        errors_in_a_row_max: 30,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits).await;
    let group = create_group(server.addr, "Peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    facilitator.start_meeting().await;
    let mut mallory = TestClient::joined_as_member(server.addr, &group, "Mallory").await;
    let mallory_id = mallory.member_id.unwrap();
    facilitator.presence_change(mallory_id, true).await;

    mallory.send_text("{this is not json").await;
    assert!(matches!(
        mallory.recv().await,
        ServerMessage::Error {
            id: None,
            code: ErrorCode::Invalid,
            ..
        }
    ));
    mallory
        .send_text(r#"{"v":1,"id":41,"type":"launch_missiles"}"#)
        .await;
    assert!(matches!(
        mallory.recv().await,
        ServerMessage::Error {
            id: Some(41),
            code: ErrorCode::UnknownType,
            ..
        }
    ));
    mallory
        .send_text(r#"{"v":1,"id":42,"type":"rename_group","name":7}"#)
        .await;
    assert!(matches!(
        mallory.recv().await,
        ServerMessage::Error {
            id: Some(42),
            code: ErrorCode::Invalid,
            ..
        }
    ));
    let oversized = format!(
        r#"{{"v":1,"id":43,"type":"rename_group","name":"{}"}}"#,
        "x".repeat(Limits::FRAME_BYTES_MAX)
    );
    mallory.send_text(oversized).await;
    assert!(matches!(
        mallory.recv().await,
        ServerMessage::Error {
            code: ErrorCode::TooLarge,
            ..
        }
    ));
    mallory
        .send_raw(tokio_tungstenite::tungstenite::Message::binary(vec![
            1, 2, 3,
        ]))
        .await;
    assert!(matches!(
        mallory.recv().await,
        ServerMessage::Error {
            code: ErrorCode::Invalid,
            ..
        }
    ));

    // A flood: past the burst, requests are refused with rate_limited; that is not a bad
    // frame, so it never closes the connection, which serves again once the rate allows.
    for _ in 0..60 {
        mallory
            .send_text(r#"{"v":1,"id":50,"type":"raise_hand"}"#)
            .await;
    }
    let mut rate_limited = 0;
    for _ in 0..60 {
        match mallory.try_recv(Duration::from_secs(5)).await {
            Ok(Some(ServerMessage::Error {
                code: ErrorCode::RateLimited,
                ..
            })) => rate_limited += 1,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the flood went unanswered"),
            Err(closed) => panic!("a flood closed the connection: {closed:?}"),
        }
    }
    assert!(
        rate_limited > 30,
        "a flood gets rate_limited errors ({rate_limited})"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    mallory.ok(Request::LowerHand).await;

    // The facilitator was not hurt: still connected, still served.
    facilitator
        .ok(Request::RenameGroup {
            name: "Still here".into(),
        })
        .await;
    let (status, body) = http_request(server.addr, "GET", "/healthz", "").await;
    assert_eq!(status, 200, "{body}");

    // A frame far past the limit is cut off by the WebSocket layer with a close.
    let mut huge = TestClient::connect(server.addr).await;
    huge.send_text("x".repeat(Limits::FRAME_BYTES_MAX * 5))
        .await;
    let closed = huge.until_closed().await;
    assert!(!matches!(closed, Closed::Frame(1000, _)), "{closed:?}");
    facilitator.ok(Request::RaiseHand).await;
    server.stop().await;
}

#[tokio::test]
async fn another_protocol_version_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut client = TestClient::connect(server.addr).await;
    client
        .send_text(r#"{"v":2,"id":1,"type":"ping","client_time_ms":5}"#)
        .await;
    match client.recv().await {
        ServerMessage::Error {
            id: Some(1),
            code: ErrorCode::UnsupportedVersion,
            message,
        } => {
            assert!(message.contains("version 1"), "{message}");
        }
        other => panic!("expected unsupported_version, got {other:?}"),
    }
    match client.until_closed().await {
        Closed::Frame(code, reason) => {
            assert_eq!((code, reason.as_str()), (1008, "unsupported_version"))
        }
        other => panic!("{other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn ping_reports_the_server_clock() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut client = TestClient::connect(server.addr).await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let id = client
        .send(Request::Ping {
            client_time_ms: 1234,
        })
        .await;
    let reply = client.answer(id).await.expect("pong");
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    match reply {
        roundtable_protocol::Reply::Pong {
            client_time_ms,
            server_time_ms,
        } => {
            assert_eq!(client_time_ms, 1234, "the client's time is echoed");
            assert!(
                (before..=after).contains(&server_time_ms),
                "{before} <= {server_time_ms} <= {after}"
            );
        }
        other => panic!("{other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn a_dropped_client_resumes_with_exactly_the_missed_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    facilitator.start_meeting().await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let mut bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    let bob_id = bob.member_id.unwrap();
    ann.presence_change(bob_id, true).await;

    // Ann's network drops.
    let ann_id = ann.member_id.unwrap();
    let resume = ann.resume_point();
    let ann_credential = ann.token_credential();
    ann.drop_connection();
    let change = facilitator.presence_change(ann_id, false).await;
    assert_eq!(change.reason, PresenceReason::ConnectionLost);

    // The room goes on without her.
    facilitator
        .ok(Request::RenameGroup {
            name: "Renamed while away".into(),
        })
        .await;
    bob.ok(Request::RaiseHand).await;
    facilitator.ok(Request::RaiseHand).await;
    // Events come before the ack of the request that caused them, so Bob has seen them all.
    bob.ok(Request::LowerHand).await;
    let missed: Vec<_> = bob
        .events()
        .into_iter()
        .filter(|e| e.seq > resume.seq)
        .collect();
    assert!(missed.len() >= 4);

    // She comes back with her last seq and gets exactly what she missed, in order, once.
    let mut ann = TestClient::connect(server.addr).await;
    let snapshot = ann
        .join(group.group_id, ann_credential, Some(resume))
        .await
        .expect("resume");
    assert!(
        snapshot.is_none(),
        "a recent gap is replayed, not snapshotted"
    );
    let mut replayed = Vec::new();
    // The replay ends with who is online now (presence is no event).
    let presence = loop {
        match ann.recv().await {
            ServerMessage::Event(frame) => replayed.push(frame),
            ServerMessage::Presence(presence) => break presence,
            other => panic!("only the replay and the presence follow the ack: {other:?}"),
        }
    };
    assert_eq!(
        replayed, missed,
        "the replay is exactly the missed events, in order"
    );
    assert_eq!(
        presence.change, None,
        "the catch-up's presence announces nothing"
    );
    let everyone = [facilitator.member_id.unwrap(), ann_id, bob_id];
    assert_eq!(
        presence.online, everyone,
        "everyone online, Ann too, in the order they came"
    );
    // She attended this meeting already: her coming back writes nothing, not even an event.
    ann.expect_silence(Duration::from_millis(200)).await;
    bob.ok(Request::RaiseHand).await;
    let next = bob.events().last().unwrap().seq;
    assert_eq!(next, missed.last().unwrap().seq + 1, "no event in between");
    server.stop().await;
}

/// A member whose connection drops without a close is still shown online for the grace
/// (`--presence-grace-ms`): back within it, nobody saw her go or come back; away past it, she
/// is shown gone with `connection_lost` when it ends, not before, and another member's clean
/// close meanwhile shows at once without taking her along.
#[tokio::test]
async fn a_dropped_member_back_within_the_grace_was_never_shown_gone() {
    const GRACE: Duration = Duration::from_millis(1_500);
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        presence_grace_ms: GRACE.as_millis() as u64,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits).await;
    let group = create_group(server.addr, "Peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    facilitator.start_meeting().await;
    let fran_id = facilitator.member_id.unwrap();
    let ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let ann_id = ann.member_id.unwrap();
    facilitator.presence_change(ann_id, true).await;
    let bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    let bob_id = bob.member_id.unwrap();
    facilitator.presence_change(bob_id, true).await;

    // Ann's network drops, and she is back a moment later: nobody sees a thing, then or after
    // the grace would have ended.
    let resume = ann.resume_point();
    let credential = ann.token_credential();
    ann.drop_connection();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ann = TestClient::connect(server.addr).await;
    ann.join(group.group_id, credential, Some(resume))
        .await
        .expect("resume");
    let presence = ann.presence_where(|frame| frame.change.is_none()).await;
    assert_eq!(presence.online, [fran_id, ann_id, bob_id]);
    facilitator
        .expect_silence(GRACE + Duration::from_millis(500))
        .await;

    // She drops again and stays away. Bob closes cleanly meanwhile: he is shown gone at once,
    // and she is still online in that frame.
    let dropped = std::time::Instant::now();
    ann.drop_connection();
    tokio::time::sleep(Duration::from_millis(200)).await;
    bob.close().await;
    let frame = facilitator
        .presence_where(|frame| frame.change.is_some_and(|change| !change.online))
        .await;
    let change = frame.change.expect("a change");
    assert_eq!(
        (change.member_id, change.reason),
        (bob_id, PresenceReason::Left)
    );
    assert_eq!(frame.online, [fran_id, ann_id], "Ann is within her grace");
    assert!(dropped.elapsed() < GRACE, "a clean close shows at once");
    // Her grace ends: shown gone, for her dropped connection.
    let change = facilitator.presence_change(ann_id, false).await;
    assert_eq!(change.reason, PresenceReason::ConnectionLost);
    assert!(
        dropped.elapsed() >= GRACE,
        "not before the grace ended: {:?}",
        dropped.elapsed()
    );
    server.stop().await;
}

#[tokio::test]
async fn a_gap_older_than_the_kept_events_gets_a_fresh_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        recent_events_max: 4,
        replay_events_max: 6,
        requests_per_second: 1000,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits).await;
    let group = create_group(server.addr, "Peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    facilitator.start_meeting().await;
    let ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let resume = ann.resume_point();
    let credential = ann.token_credential();
    ann.close().await;

    // Five events: beyond the in-memory window (4) but within the replay limit (6), so the
    // replay comes from the store's log.
    for _ in 0..2 {
        facilitator.ok(Request::RaiseHand).await;
        facilitator.ok(Request::LowerHand).await;
    }
    let mut ann = TestClient::connect(server.addr).await;
    let snapshot = ann
        .join(group.group_id, credential.clone(), Some(resume))
        .await
        .expect("resume");
    assert!(
        snapshot.is_none(),
        "a gap within the replay limit is replayed from the log"
    );
    let first = ann.event_where(|_| true).await;
    assert_eq!(
        first.seq,
        resume.seq + 1,
        "the replay starts right after the resume point"
    );
    ann.close().await;

    // Ten more: past the replay limit, so a snapshot comes instead.
    for _ in 0..5 {
        facilitator.ok(Request::RaiseHand).await;
        facilitator.ok(Request::LowerHand).await;
    }
    let mut ann = TestClient::connect(server.addr).await;
    let snapshot = ann
        .join(group.group_id, credential, Some(resume))
        .await
        .expect("resume");
    let snapshot = snapshot.expect("an old gap gets a snapshot");
    assert!(snapshot.seq > resume.seq + 10);
    assert!(snapshot.hands.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_graceful_restart_keeps_everything_and_clients_resume() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    facilitator.start_meeting().await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    facilitator
        .ok(Request::RenameGroup {
            name: "Before restart".into(),
        })
        .await;
    ann.ok(Request::RaiseHand).await;
    facilitator
        .event_where(|f| matches!(f.event, Event::HandRaised { .. }))
        .await;
    let facilitator_credential = facilitator.token_credential();
    let ann_credential = ann.token_credential();
    let ann_resume = ann.resume_point();

    let addr = server.addr;
    let stopping = tokio::spawn(server.stop());
    for client in [&mut facilitator, &mut ann] {
        match client.until_closed().await {
            Closed::Frame(code, reason) => {
                assert_eq!((code, reason.as_str()), (1001, "server_shutdown"))
            }
            other => panic!("shutdown closes sockets with a reason, got {other:?}"),
        }
        assert!(
            client
                .received
                .iter()
                .any(|m| matches!(m, ServerMessage::Closing { .. }))
        );
    }
    stopping.await.unwrap();

    let server = TestServer::start(dir.path()).await;
    assert_ne!(server.addr, addr);
    let mut ann = TestClient::connect(server.addr).await;
    let snapshot = ann
        .join(group.group_id, ann_credential, Some(ann_resume))
        .await
        .expect("rejoin");
    // The restarted room is a new log epoch: the resume gets a snapshot, never a replay of
    // seqs it cannot vouch for, and the snapshot holds everything from before the stop.
    let snapshot = snapshot.expect("a resume across a restart gets a snapshot");
    assert!(snapshot.seq >= ann_resume.seq);
    assert_eq!(snapshot.group.name, "Before restart");
    // Nobody is online after a restart until they come back (presence is not stored): the
    // snapshot has Ann online alone, and the facilitator offline.
    let online: Vec<MemberId> = snapshot
        .members
        .iter()
        .filter(|member| member.online)
        .map(|member| member.member_id)
        .collect();
    assert_eq!(online, vec![ann.member_id.unwrap()]);
    let mut facilitator = TestClient::connect(server.addr).await;
    let snapshot = facilitator
        .join(group.group_id, facilitator_credential, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.group.name, "Before restart");
    assert_eq!(snapshot.hands, vec![ann.member_id.unwrap()]);
    assert_eq!(snapshot.members.len(), 2);
    assert_eq!(facilitator.role, Some(Role::Facilitator));
    server.stop().await;
}

#[tokio::test]
async fn foreign_origins_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let request = |origin: &str| {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{}/ws", server.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
        request
    };
    let foreign = tokio_tungstenite::connect_async(request("https://evil.example")).await;
    match foreign {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("a foreign origin must be refused, got {other:?}"),
    }
    let own = tokio_tungstenite::connect_async(request(&format!("http://{}", server.addr))).await;
    assert!(own.is_ok(), "the server's own origin is allowed");
    server.stop().await;
}

/// Opens a TCP connection, sends `request` in the given `pieces` (with a pause between them,
/// so the server sees them arrive apart), reads the HTTP response head and answers it with the
/// client's end of the WebSocket.
async fn raw_upgrade(
    server: &TestServer,
    pieces: &[&[u8]],
) -> (String, WebSocketStream<tokio::net::TcpStream>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    for (index, piece) in pieces.iter().enumerate() {
        if index > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tcp.write_all(piece).await.unwrap();
    }
    let mut received = Vec::new();
    let head_len = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0; 1024];
        let read = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut chunk))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(read > 0, "the server closed before answering");
        received.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&received[..head_len]).into_owned();
    let socket = WebSocketStream::from_partially_read(
        tcp,
        received[head_len..].to_vec(),
        tokio_tungstenite::tungstenite::protocol::Role::Client,
        None,
    )
    .await;
    (head, socket)
}

/// The next text message's JSON.
async fn next_json(socket: &mut WebSocketStream<tokio::net::TcpStream>) -> serde_json::Value {
    use futures_util::StreamExt;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

fn upgrade_request(server: &TestServer) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        server.addr
    )
}

#[tokio::test]
async fn an_upgrade_request_that_arrives_in_pieces_is_answered_too() {
    // The server takes a WebSocket upgrade directly when its whole request head is there at
    // first look; one that arrives in pieces goes through hyper. Both must work.
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let request = upgrade_request(&server);
    let (first, rest) = request.as_bytes().split_at(40);
    for pieces in [vec![request.as_bytes()], vec![first, rest]] {
        let (head, mut socket) = raw_upgrade(&server, &pieces).await;
        assert!(
            head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{} piece(s): {head}",
            pieces.len()
        );
        // hyper dates its responses; the direct upgrade does not. So this tells that each
        // path was taken where it should be.
        assert_eq!(
            head.to_ascii_lowercase().contains("\r\ndate: "),
            pieces.len() > 1,
            "{head}"
        );
        let hello = next_json(&mut socket).await;
        assert_eq!(hello["type"], "hello", "{hello}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_frame_sent_right_behind_the_upgrade_request_is_read() {
    // A client may send its first frame without waiting for the 101 (it travels in the same
    // segment as the request): the direct upgrade must leave it for the WebSocket.
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut ping = Frame::message(
        r#"{"v": 1, "id": 7, "type": "ping", "client_time_ms": 1764165600500}"#,
        OpCode::Data(Data::Text),
        true,
    );
    ping.header_mut().mask = Some([0x5a, 0x17, 0xc3, 0x9e]);
    let mut bytes = upgrade_request(&server).into_bytes();
    ping.format(&mut bytes).unwrap();
    let (head, mut socket) = raw_upgrade(&server, &[&bytes]).await;
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert_eq!(next_json(&mut socket).await["type"], "hello");
    let pong = next_json(&mut socket).await;
    assert_eq!(
        (&pong["type"], &pong["id"]),
        (&"ack".into(), &7.into()),
        "{pong}"
    );
    assert_eq!(pong["result"]["kind"], "pong", "{pong}");
    assert_eq!(
        pong["result"]["client_time_ms"], 1764165600500_u64,
        "{pong}"
    );
    server.stop().await;
}

#[tokio::test]
async fn http_api_validates_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let (status, body) = http_request(server.addr, "POST", "/api/groups", "{").await;
    assert_eq!(status, 400);
    assert!(body.contains("\"invalid\""), "{body}");
    let (status, body) = http_request(server.addr, "POST", "/api/groups", r#"{"name":""}"#).await;
    assert_eq!(status, 400, "{body}");
    let long = serde_json::json!({ "name": "x".repeat(81) }).to_string();
    let (status, _) = http_request(server.addr, "POST", "/api/groups", &long).await;
    assert_eq!(status, 400);
    let huge = serde_json::json!({ "name": "x".repeat(20_000) }).to_string();
    let (status, body) = http_request(server.addr, "POST", "/api/groups", &huge).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("too_large"), "{body}");
    let (status, body) = http_request(server.addr, "GET", "/healthz", "").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    let (status, body) = http_request(server.addr, "GET", "/", "").await;
    assert_eq!(status, 200);
    assert!(body.contains("Roundtable"), "the web client is served at /");
    let (status, _) =
        http_request(server.addr, "GET", &format!("/g/{}", GroupId::random()), "").await;
    assert_eq!(status, 200, "group links open the web client");
    let (status, _) = http_request(server.addr, "GET", "/js/app.js", "").await;
    assert_eq!(status, 200, "the client's modules are served");
    for private in [
        "/package.json",
        "/tests/meeting.test.mjs",
        "/node_modules/.package-lock.json",
    ] {
        let (status, _) = http_request(server.addr, "GET", private, "").await;
        assert_eq!(status, 404, "{private} is not served");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_never_joins_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        join_timeout_seconds: 1,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits).await;
    let mut idle = TestClient::connect(server.addr).await;
    match idle.until_closed().await {
        Closed::Frame(code, reason) => assert_eq!((code, reason.as_str()), (1008, "join_timeout")),
        other => panic!("{other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn websocket_pings_are_answered_between_whole_frames_while_events_stream() {
    // The room writes events straight to its members' sockets, and a connection writes the
    // pong it owes for a ping itself: the two must never cut into each other's frames. The
    // client's WebSocket reader fails on a broken frame, and every event must arrive once.
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        requests_per_second: 10_000,
        writes_per_member_per_second: 10_000,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits).await;
    let group = create_group(server.addr, "Peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    facilitator.start_meeting().await;
    let mut member = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    let from_seq = member.last_seq;

    const ROUNDS: usize = 200;
    let flood = tokio::spawn(async move {
        for _ in 0..ROUNDS {
            facilitator.send(Request::RaiseHand).await;
            facilitator.send(Request::LowerHand).await;
        }
        facilitator
    });
    for _ in 0..ROUNDS {
        member
            .send_raw(tokio_tungstenite::tungstenite::Message::Ping(
                "are you there".into(),
            ))
            .await;
    }
    let mut facilitator = flood.await.unwrap();
    // The facilitator's last request is answered after its event went out.
    let last = facilitator.send(Request::RaiseHand).await;
    facilitator
        .answer(last)
        .await
        .expect("the last raise is accepted");
    let final_seq = facilitator.last_seq;
    member.event_where(|frame| frame.seq == final_seq).await;
    let hand_events = member
        .events()
        .iter()
        .filter(|frame| frame.seq > from_seq)
        .filter(|frame| {
            matches!(
                frame.event,
                Event::HandRaised { .. } | Event::HandLowered { .. }
            )
        })
        .count();
    // (The client checks on arrival that seqs only go up, so none came twice.)
    assert_eq!(hand_events, 2 * ROUNDS + 1, "every hand event arrived");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while member.pongs < ROUNDS {
        assert!(
            std::time::Instant::now() < deadline,
            "{} pongs of {ROUNDS} arrived",
            member.pongs
        );
        if let Err(closed) = member.try_recv(Duration::from_millis(100)).await {
            panic!("the connection closed: {closed:?}");
        }
    }
    assert_eq!(member.pongs, ROUNDS, "one pong per ping");
    server.stop().await;
}

#[tokio::test]
async fn a_burst_of_requests_is_rate_limited_but_never_closes_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        requests_per_second: 2,
        errors_in_a_row_max: 3,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits).await;
    let group = create_group(server.addr, "Peers").await;
    let mut ann = TestClient::joined_as_facilitator(server.addr, &group, "Ann").await;
    ann.start_meeting().await;
    // Twenty raise/lower requests at once: the bucket holds four; the rest are rate limited,
    // many more than the three bad frames in a row that close a connection.
    for index in 0..20u64 {
        let request = if index % 2 == 0 {
            "raise_hand"
        } else {
            "lower_hand"
        };
        ann.send_text(format!(
            r#"{{"v":1,"id":{},"type":"{request}"}}"#,
            100 + index
        ))
        .await;
    }
    let mut limited = 0;
    for _ in 0..20 {
        if let ServerMessage::Error {
            code: ErrorCode::RateLimited,
            ..
        } = ann.recv().await
        {
            limited += 1;
        }
    }
    assert!(limited >= 10, "{limited} rate limited");
    // The connection is still open, and a second later requests go through again.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    ann.ok(roundtable_protocol::Request::RaiseHand).await;
    server.stop().await;
}

#[tokio::test]
async fn wrong_credentials_load_no_room_and_hold_no_slot() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        live_rooms_max: 1,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits).await;
    let target = create_group(server.addr, "Target").await;
    let other = create_group(server.addr, "Other").await;
    let live_rooms = || async {
        let (_, body) = support::http_get(server.addr, "/healthz", None).await;
        serde_json::from_str::<roundtable_protocol::Health>(body.trim())
            .unwrap()
            .live_rooms
    };
    // Exports and joins with wrong secrets and tokens, many times over.
    let meetings = format!("/api/groups/{}/meetings", target.group_id);
    for _ in 0..12 {
        let (status, _) = support::http_get(server.addr, &meetings, Some("nope")).await;
        assert_eq!(status, 401);
    }
    for credential in [
        Credential::Facilitator {
            secret: "wrong".into(),
            display_name: "Mallory".into(),
            member_token: None,
        },
        Credential::Invite {
            secret: "wrong".into(),
            display_name: "Mallory".into(),
            observer: false,
        },
        Credential::MemberToken {
            token: "wrong".into(),
        },
    ] {
        for _ in 0..4 {
            let mut mallory = TestClient::connect(server.addr).await;
            let refused = mallory
                .join(target.group_id, credential.clone(), None)
                .await
                .unwrap_err();
            assert_eq!(refused.0, ErrorCode::Unauthorized);
        }
    }
    assert_eq!(live_rooms().await, 0, "no refused request loaded a room");
    // A facilitator's export reads the stored group without loading its room either.
    let (status, _) =
        support::http_get(server.addr, &meetings, Some(&target.facilitator_secret)).await;
    assert_eq!(status, 200);
    assert_eq!(live_rooms().await, 0);
    // The one slot is free for the group that meets.
    let _fran = TestClient::joined_as_facilitator(server.addr, &other, "Fran").await;
    assert_eq!(live_rooms().await, 1);
    server.stop().await;
}

/// Members who arrive together for a room that is not live share one read of the group as
/// stored for the check of their credentials, and then one load of the room: when a room
/// moves to another node all its members come back at once, and each reading and folding the
/// whole group for itself multiplied the store's work, and the node's, at the worst moment.
#[tokio::test]
async fn joins_arriving_together_for_a_room_not_live_share_one_read_of_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = fixtures::open_embedded(dir.path(), EmbeddedOptions::default()).await;
    // Each read waits a while first, so that every join comes while the first one's is on.
    let counting = Arc::new(
        CountingStore::over(Arc::new(embedded)).with_load_delay(Duration::from_millis(300)),
    );
    let server =
        TestServer::start_with_store(dir.path(), Limits::default(), counting.clone()).await;
    let group = create_group(server.addr, "Peers back at once").await;
    let mut clients = Vec::new();
    for _ in 0..10 {
        clients.push(TestClient::connect(server.addr).await);
    }
    let before = counting.loads.load(Ordering::Relaxed);
    let joins: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(index, mut client)| {
            let group = group.clone();
            tokio::spawn(async move {
                let snapshot = client
                    .join_as_member(&group, &format!("Member {index}"))
                    .await;
                (client, snapshot)
            })
        })
        .collect();
    let mut joined = Vec::new();
    for join in joins {
        joined.push(join.await.expect("the join's task"));
    }
    let reads = counting.loads.load(Ordering::Relaxed) - before;
    assert_eq!(
        reads, 2,
        "one read of the group for the ten joins' checks, and one load of the room"
    );
    // Every one of them is in, and the last to be let in sees all ten.
    let seen = joined
        .iter()
        .map(|(_, snapshot)| snapshot.members.len())
        .max();
    assert_eq!(seen, Some(10), "all ten members joined");
    server.stop().await;
}
