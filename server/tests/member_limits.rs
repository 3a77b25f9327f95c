//! Limits per member and per room against a real server: connections per member, new members
//! per minute, writes per member over all their connections, and the bytes of a room's state.

mod support;

use std::time::{Duration, Instant};

use roundtable_protocol::{Credential, ErrorCode, PracticeOutcome, Request};
use roundtable_server::Limits;
use support::{TestClient, TestServer, create_group};

fn practice(title: &str, description: &str) -> Request {
    Request::PostPractice {
        title: title.into(),
        description: description.into(),
        tags: Vec::new(),
        outcome: PracticeOutcome::Worked,
    }
}

#[tokio::test]
async fn a_fifth_connection_of_one_member_is_refused_while_others_still_join() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let first = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let token = first.token_credential();
    let mut more = Vec::new();
    for _ in 0..3 {
        let mut client = TestClient::connect(server.addr).await;
        client
            .join(group.group_id, token.clone(), None)
            .await
            .expect("connections two to four join");
        more.push(client);
    }
    let mut fifth = TestClient::connect(server.addr).await;
    let (code, message) = fifth
        .join(group.group_id, token.clone(), None)
        .await
        .expect_err("a fifth connection is refused");
    assert_eq!(code, ErrorCode::LimitReached, "{message}");
    assert!(message.contains("4 times"), "{message}");
    // Another member is not affected.
    let _ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    // Once one connection closes, the member connects again.
    more.pop().expect("a connection").close().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = TestClient::connect(server.addr).await;
        match again.join(group.group_id, token.clone(), None).await {
            Ok(_) => break,
            Err((ErrorCode::LimitReached, _)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("the member joins again after closing one: {error:?}"),
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn joins_through_one_invite_are_cut_after_the_new_members_per_minute() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(
        dir.path(),
        Limits {
            members_per_room_max: 100,
            joins_per_address_per_minute: 1000,
            ..Limits::default()
        },
    )
    .await;
    let group = create_group(server.addr, "Peers").await;
    let _fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let started = Instant::now();
    let mut joined = Vec::new();
    let mut refused = 0;
    // Fran's own join created a member too: 19 more pass this minute.
    for index in 0..60 {
        let mut client = TestClient::connect(server.addr).await;
        let credential = Credential::Invite {
            secret: group.invite_secret.clone(),
            display_name: format!("Member {index}"),
            observer: false,
        };
        match client.join(group.group_id, credential, None).await {
            Ok(_) => joined.push(client),
            Err((code, message)) => {
                assert_eq!(code, ErrorCode::RateLimited, "{message}");
                refused += 1;
            }
        }
    }
    let elapsed = started.elapsed();
    // One more token every three seconds.
    let refills = (elapsed.as_secs_f64() / 3.0).floor() as usize;
    assert!(
        joined.len() >= 19 && joined.len() <= 19 + refills,
        "{} joined in {elapsed:?}",
        joined.len()
    );
    assert_eq!(joined.len() + refused, 60);
    // Existing members still come back through their tokens.
    let token = joined[0].token_credential();
    drop(joined);
    let mut back = TestClient::connect(server.addr).await;
    back.join(group.group_id, token, None)
        .await
        .expect("a member's token is not a new member");
    server.stop().await;
}

#[tokio::test]
async fn a_member_writing_on_ten_connections_is_held_to_the_per_member_rate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(
        dir.path(),
        Limits {
            connections_per_member_max: 10,
            writes_per_member_per_second: 5,
            ..Limits::default()
        },
    )
    .await;
    let group = create_group(server.addr, "Peers").await;
    let first = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let token = first.token_credential();
    let mut clients = vec![first];
    for _ in 1..10 {
        let mut client = TestClient::connect(server.addr).await;
        client
            .join(group.group_id, token.clone(), None)
            .await
            .expect("join");
        clients.push(client);
    }
    let started = Instant::now();
    // Each connection sends 4 renames at once (well within its own 20 a second): 40 together.
    let mut sent = Vec::new();
    for (index, client) in clients.iter_mut().enumerate() {
        for round in 0..4 {
            let id = client
                .send(Request::RenameGroup {
                    name: format!("Peers {index}-{round}"),
                })
                .await;
            sent.push((index, id));
        }
    }
    let (mut accepted, mut limited) = (0, 0);
    for (index, id) in sent {
        match clients[index].answer(id).await {
            Ok(_) => accepted += 1,
            Err((ErrorCode::RateLimited, message)) => {
                assert!(message.contains("per member"), "{message}");
                limited += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // A burst of 10, then 5 a second.
    let allowed = 10 + (elapsed * 5.0).ceil() as usize;
    assert!(
        accepted >= 10 && accepted <= allowed,
        "{accepted} accepted in {elapsed:.2} s"
    );
    assert_eq!(accepted + limited, 40);
    // Reads are not counted.
    clients[0]
        .ok(Request::SearchPractices {
            text: String::new(),
            tag: None,
        })
        .await;
    server.stop().await;
}

#[tokio::test]
async fn past_the_room_s_byte_bound_a_growing_change_gets_limit_reached_and_nothing_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(
        dir.path(),
        Limits {
            room_state_bytes_max: 16 * 1024,
            ..Limits::default()
        },
    )
    .await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let description = "x".repeat(1500);
    let mut posted = 0;
    let message = loop {
        assert!(
            posted < 20,
            "16 KiB holds fewer than 20 practices of 1.5 KB"
        );
        let id = fran
            .send(practice(&format!("Practice {posted}"), &description))
            .await;
        match fran.answer(id).await {
            Ok(_) => posted += 1,
            Err((code, message)) => {
                assert_eq!(code, ErrorCode::LimitReached, "{message}");
                break message;
            }
        }
        // Slower than the per-member write rate.
        tokio::time::sleep(Duration::from_millis(60)).await;
    };
    assert!(posted >= 5, "{posted} practices fit");
    assert!(message.contains("16384 bytes"), "{message}");
    // Nothing changed: Ann saw the accepted practices and then nothing.
    let deadline = Instant::now() + Duration::from_secs(5);
    while ann
        .events()
        .iter()
        .filter(|frame| format!("{:?}", frame.event).contains("PracticePosted"))
        .count()
        < posted
    {
        assert!(
            Instant::now() < deadline,
            "Ann sees every accepted practice"
        );
        let _ = ann.try_recv(Duration::from_millis(100)).await;
    }
    ann.expect_silence(Duration::from_millis(300)).await;
    let mut again = TestClient::connect(server.addr).await;
    let snapshot = again
        .join(group.group_id, fran.token_credential(), None)
        .await
        .expect("join")
        .expect("a snapshot");
    assert_eq!(snapshot.practices.len(), posted);
    // What does not grow the room still passes.
    fran.ok(Request::RenameGroup {
        name: "Peers again".into(),
    })
    .await;
    server.stop().await;
}
