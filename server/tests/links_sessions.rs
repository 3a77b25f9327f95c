//! Links made anew and sessions revoked (issue 19, point 4), over real WebSockets: the attacks
//! of the issue (a removed co-facilitator back with the old facilitator link removes the owner;
//! a removed member back at once with the invite link; a lost laptop's token) work before a
//! facilitator acts and fail after.

mod support;

use roundtable_protocol::{
    CloseReason, Credential, ErrorCode, Event, LinkKind, MemberId, Reply, Request, ServerMessage,
    SessionInfo,
};
use support::{Closed, TestClient, TestServer, create_group, http_get};

/// Asks for a link anew and returns the new link's secret and version.
async fn rotate(client: &mut TestClient, link: LinkKind) -> (String, u32) {
    let id = client.send(Request::RotateLink { link }).await;
    match client.answer(id).await {
        Ok(Reply::LinkRotated {
            link: rotated,
            version,
            url,
        }) => {
            assert_eq!(rotated, link);
            let key = match link {
                LinkKind::Invite => "#invite=",
                LinkKind::Facilitator => "#facilitator=",
            };
            let (_, secret) = url.split_once(key).expect("the link carries its secret");
            assert_eq!(secret.len(), 43, "a fresh 256-bit secret");
            (secret.to_string(), version)
        }
        other => panic!("rotate_link answered {other:?}"),
    }
}

async fn sessions(client: &mut TestClient) -> Vec<SessionInfo> {
    let id = client.send(Request::ListSessions).await;
    match client.answer(id).await {
        Ok(Reply::Sessions { sessions }) => sessions,
        other => panic!("list_sessions answered {other:?}"),
    }
}

fn facilitator_link(secret: &str, name: &str) -> Credential {
    Credential::Facilitator {
        secret: secret.into(),
        display_name: name.into(),
        member_token: None,
    }
}

fn invite_link(secret: &str, name: &str) -> Credential {
    Credential::Invite {
        secret: secret.into(),
        display_name: name.into(),
        observer: false,
    }
}

/// Every text the client received, as JSON, to look for a secret in.
fn everything_received(client: &TestClient) -> String {
    client
        .received
        .iter()
        .map(|message| serde_json::to_string(message).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn remove(by: &mut TestClient, member_id: MemberId) {
    by.ok(Request::RemoveMember { member_id }).await;
}

#[tokio::test]
async fn a_removed_co_facilitator_is_refused_with_the_old_facilitator_link_once_it_is_made_anew() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut owner = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let owner_id = owner.member_id.unwrap();

    // The attack as the issue found it: removed, Gus is back at once with the old link, as a
    // facilitator, and removes the owner.
    let gus = TestClient::joined_as_facilitator(server.addr, &group, "Gus").await;
    remove(&mut owner, gus.member_id.unwrap()).await;
    let mut gus = TestClient::connect(server.addr).await;
    gus.join(
        group.group_id,
        facilitator_link(&group.facilitator_secret, "Gus"),
        None,
    )
    .await
    .expect("before a new link, the old one still works");
    assert_eq!(gus.role, Some(roundtable_protocol::Role::Facilitator));
    let gus_id = gus.member_id.unwrap();

    // This time the owner removes Gus and makes a new facilitator link.
    remove(&mut owner, gus_id).await;
    let (new_secret, version) = rotate(&mut owner, LinkKind::Facilitator).await;
    assert_eq!(version, 1);
    let mut gus = TestClient::connect(server.addr).await;
    let (code, message) = gus
        .join(
            group.group_id,
            facilitator_link(&group.facilitator_secret, "Gus"),
            None,
        )
        .await
        .expect_err("the old facilitator link is refused");
    assert_eq!(code, ErrorCode::Unauthorized);
    assert!(message.contains("no longer works"), "{message}");
    // So the owner stays: Gus has no way in to remove them.
    assert!(owner.member_id == Some(owner_id));

    // Members see that a link changed, never its secret; a member may not make one.
    let event = ann
        .event_where(|frame| matches!(frame.event, Event::LinkRotated { .. }))
        .await;
    assert!(matches!(
        event.event,
        Event::LinkRotated {
            link: LinkKind::Facilitator,
            version: 1
        }
    ));
    assert!(!everything_received(&ann).contains(&new_secret));
    ann.fails(
        Request::RotateLink {
            link: LinkKind::Invite,
        },
        ErrorCode::Forbidden,
    )
    .await;
    ann.fails(Request::ListSessions, ErrorCode::Forbidden).await;

    // The new link works, and members who had joined keep their own tokens.
    let mut hal = TestClient::connect(server.addr).await;
    hal.join(group.group_id, facilitator_link(&new_secret, "Hal"), None)
        .await
        .expect("the new facilitator link works");
    let mut ann_again = TestClient::connect(server.addr).await;
    let ann_token = ann.token_credential();
    ann_again
        .join(group.group_id, ann_token, None)
        .await
        .expect("a member's own token still works");
    assert!(!everything_received(&hal).contains(&new_secret));
    server.stop().await;
}

#[tokio::test]
async fn a_removed_member_is_refused_with_the_old_invite_link_once_it_is_made_anew() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut owner = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    remove(&mut owner, bob.member_id.unwrap()).await;
    // Before: back at once.
    let bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    remove(&mut owner, bob.member_id.unwrap()).await;

    let (new_secret, version) = rotate(&mut owner, LinkKind::Invite).await;
    assert_eq!(version, 1);
    let mut bob = TestClient::connect(server.addr).await;
    let (code, _) = bob
        .join(
            group.group_id,
            invite_link(&group.invite_secret, "Bob"),
            None,
        )
        .await
        .expect_err("the old invite link is refused");
    assert_eq!(code, ErrorCode::Unauthorized);
    let mut cy = TestClient::connect(server.addr).await;
    let snapshot = cy
        .join(group.group_id, invite_link(&new_secret, "Cy"), None)
        .await
        .expect("the new invite link works")
        .expect("a snapshot");
    assert_eq!(
        snapshot.group.links.invite, 1,
        "pages see the link's version"
    );
    assert!(!everything_received(&cy).contains(&new_secret));
    server.stop().await;
}

#[tokio::test]
async fn a_revoked_session_is_closed_at_once_and_its_token_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut owner = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let mut laptop = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let ann = laptop.member_id.unwrap();
    let ann_token = laptop.token_credential();
    // A second tab of the same browser: the same session.
    let mut tab = TestClient::connect(server.addr).await;
    tab.join(group.group_id, ann_token.clone(), None)
        .await
        .unwrap();

    let listed = sessions(&mut owner).await;
    assert_eq!(listed.len(), 2);
    let anns = listed.iter().find(|s| s.member_id == ann).unwrap().clone();
    assert_eq!(anns.connections, 2);
    // The owner cannot shut the door on the session they use.
    let own = listed.iter().find(|s| s.member_id != ann).unwrap();
    owner
        .fails(
            Request::RevokeSession {
                member_id: own.member_id,
                session_id: own.session_id,
            },
            ErrorCode::Conflict,
        )
        .await;

    owner
        .ok(Request::RevokeSession {
            member_id: ann,
            session_id: anns.session_id,
        })
        .await;
    for connection in [&mut laptop, &mut tab] {
        match connection.until_closed().await {
            Closed::Frame(code, reason) => {
                assert_eq!((code, reason.as_str()), (1008, "session_revoked"));
            }
            Closed::Ended => panic!("closed without a close frame"),
        }
        assert!(connection.received.iter().any(|message| matches!(
            message,
            ServerMessage::Closing {
                reason: CloseReason::SessionRevoked,
                ..
            }
        )));
    }
    // Ann went offline with her session, before the ack of the revoke.
    assert!(owner.presence_frames().iter().any(|frame| {
        frame
            .change
            .is_some_and(|change| change.member_id == ann && !change.online)
            && !frame.online.contains(&ann)
    }));
    assert!(owner.events().iter().any(|frame| {
        matches!(frame.event, Event::SessionRevoked { member_id, session_id } if member_id == ann && session_id == anns.session_id)
    }));

    // The token is refused from now on; Ann is still a member.
    let mut thief = TestClient::connect(server.addr).await;
    let (code, _) = thief
        .join(group.group_id, ann_token, None)
        .await
        .expect_err("a revoked token is refused");
    assert_eq!(code, ErrorCode::Unauthorized);
    let listed = sessions(&mut owner).await;
    assert!(listed.iter().all(|s| s.member_id != ann));

    // A revoked facilitator's token no longer opens the exports either.
    let gus = TestClient::joined_as_facilitator(server.addr, &group, "Gus").await;
    let gus_token = gus.member_token.clone().unwrap();
    let minutes = format!("/api/groups/{}/minutes?format=json", group.group_id);
    let (status, _) = http_get(server.addr, &minutes, Some(&gus_token)).await;
    assert_eq!(status, 200, "before, Gus's token exports");
    let gus_session = sessions(&mut owner)
        .await
        .into_iter()
        .find(|s| Some(s.member_id) == gus.member_id)
        .unwrap();
    owner
        .ok(Request::RevokeSession {
            member_id: gus_session.member_id,
            session_id: gus_session.session_id,
        })
        .await;
    let (status, body) = http_get(server.addr, &minutes, Some(&gus_token)).await;
    assert_eq!(status, 401, "after, refused: {body}");

    // Ann comes back through the invite link under her name: the same member, a new session.
    let mut phone = TestClient::connect(server.addr).await;
    phone
        .join(
            group.group_id,
            invite_link(&group.invite_secret, "Ann"),
            None,
        )
        .await
        .expect("Ann comes back");
    assert_eq!(phone.member_id, Some(ann));
    let listed = sessions(&mut owner).await;
    let new_session = listed.iter().find(|s| s.member_id == ann).unwrap();
    assert_ne!(new_session.session_id, anns.session_id);
    assert_eq!(new_session.connections, 1);
    server.stop().await;
}

#[tokio::test]
async fn sessions_remember_when_they_were_last_seen_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut owner = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let ann_id = ann.member_id.unwrap();
    let owner_token = owner.token_credential();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    ann.close().await;
    owner.presence_change(ann_id, false).await;
    let before = sessions(&mut owner).await;
    let seen = before.iter().find(|s| s.member_id == ann_id).unwrap();
    assert_eq!(seen.connections, 0);
    assert!(
        seen.last_seen_ms >= seen.started_at_ms + 50,
        "last seen when she left: {seen:?}"
    );
    owner.close().await;
    server.stop().await;

    let server = TestServer::start(dir.path()).await;
    let mut owner = TestClient::connect(server.addr).await;
    owner.join(group.group_id, owner_token, None).await.unwrap();
    let after = sessions(&mut owner).await;
    let again = after.iter().find(|s| s.member_id == ann_id).unwrap();
    assert_eq!(again.last_seen_ms, seen.last_seen_ms);
    server.stop().await;
}
