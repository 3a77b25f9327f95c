//! The whole server on the Redis store, over real WebSockets: a SIGKILLed process and a new one
//! on the same Redis, a Redis outage and its return, two processes sharing one Redis (room
//! ownership leases), joins that wait together for one load, a room whose log moved on without
//! it, and the retention pass.
//!
//! Uses `ROUNDTABLE_TEST_REDIS_URL` when set, else starts its own `redis-server` (see
//! `support/redis.rs`); the outage test always starts its own, since it kills and restarts it.
//! Every test uses a key prefix of its own, so they can share one Redis.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use roundtable_protocol::{
    CloseReason, Credential, ErrorCode, Event, EventFrame, PresenceReason, Reply, Request,
    ResumePoint, ServerMessage,
};
use roundtable_rules::RoomEvent;
use roundtable_rules::StoredEvent;
use roundtable_server::Limits;
use roundtable_server::clock::{Clock, SystemClock};
use roundtable_server::store::{LogEntry, RedisStore, Store, fixtures};
use support::redis::{
    Persistence, TestRedis, lease_key, raw_connection, start_binary, start_server, unique_prefix,
};
use support::takeover::{assert_contiguous, count_panics, join_when_free};
use support::{Closed, TestClient, create_group, http_request};

/// Adds `frames` to `history`, asserting that a seq seen before is the very same event.
fn record(history: &mut BTreeMap<u64, EventFrame>, who: &str, frames: &[EventFrame]) {
    for frame in frames {
        if let Some(seen) = history.get(&frame.seq) {
            assert_eq!(
                seen, frame,
                "{who} got another event at seq {} than the others saw",
                frame.seq
            );
        } else {
            history.insert(frame.seq, frame.clone());
        }
    }
}

#[tokio::test]
async fn sigkill_with_redis_loses_no_acknowledged_action_and_clients_resume_exactly() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-srv");
    // A short lease, so that the new process can take the meeting over soon after the kill.
    let args = ["--room-lease-ms", "1500"];
    let (mut first, addr) = start_binary(redis.url(), &prefix, &args).await;
    let group = create_group(addr, "Crash-proof peers on Redis").await;
    let mut facilitator = TestClient::connect(addr).await;
    let start = facilitator.join_as_facilitator(&group, "Fran").await;
    facilitator.start_meeting().await;
    let mut ann = TestClient::joined_as_member(addr, &group, "Ann").await;
    let mut bob = TestClient::joined_as_member(addr, &group, "Bob").await;
    let (ann_id, bob_id) = (ann.member_id.unwrap(), bob.member_id.unwrap());

    // Acknowledged actions from everyone, interleaved.
    for round in 0..5 {
        ann.ok(Request::RaiseHand).await;
        bob.ok(Request::RaiseHand).await;
        facilitator
            .ok(Request::RenameGroup {
                name: format!("Round {round}"),
            })
            .await;
        ann.ok(Request::LowerHand).await;
        bob.ok(Request::LowerHand).await;
    }
    // A round is running when the process dies; its deadline must survive exactly.
    facilitator
        .ok(Request::StartRound {
            speaker_time_box_ms: 600_000,
            auto_advance: false,
            speakers: Some(vec![ann_id, bob_id]),
            item_id: None,
        })
        .await;
    let mut timer_watcher = TestClient::connect(addr).await;
    let timer_before = timer_watcher
        .join(group.group_id, facilitator.token_credential(), None)
        .await
        .expect("join")
        .expect("snapshot")
        .flow
        .timer
        .expect("the round's timer runs");
    timer_watcher.close().await;
    bob.ok(Request::RaiseHand).await;
    // Then requests still in flight when the process dies: they may or may not be stored, but
    // whatever is stored must replay the same way to everyone.
    bob.send(Request::LowerHand).await;
    facilitator
        .send(Request::RenameGroup {
            name: "Maybe stored".into(),
        })
        .await;
    first.start_kill().expect("send SIGKILL");
    first.wait().await.expect("the killed server exits");

    // Everything each client saw before the crash was acknowledged by the store first.
    let mut history = BTreeMap::new();
    let mut before: Vec<(&str, TestClient)> =
        vec![("facilitator", facilitator), ("ann", ann), ("bob", bob)];
    for (who, client) in &mut before {
        let who: &str = who;
        // Read what is left in the socket (frames sent just before the kill).
        while let Ok(Some(_)) = client.try_recv(Duration::from_millis(200)).await {}
        let frames = client.events();
        let first_seq = frames
            .first()
            .map_or(client.last_seq, |frame| frame.seq - 1);
        assert_contiguous(who, first_seq, &frames);
        record(&mut history, who, &frames);
    }
    let acknowledged_seq = history.keys().next_back().copied().unwrap();

    let (mut second, addr) = start_binary(redis.url(), &prefix, &args).await;
    let mut after = Vec::new();
    for (who, old) in before {
        let mut client = TestClient::connect(addr).await;
        let resume = old.resume_point();
        let credential = old.token_credential();
        let snapshot = join_when_free(
            &mut client,
            group.group_id,
            credential.clone(),
            Some(resume),
        )
        .await;
        // The restarted room is another log epoch, which found the killed room's in the record
        // with its last write: everything acknowledged is in it, so the client, which saw only
        // acknowledged events, is replayed what it missed rather than sent a snapshot.
        assert!(
            snapshot.is_none(),
            "{who}: a resume across a restart on Redis is replayed"
        );
        assert_ne!(client.log_epoch, resume.log_epoch, "{who}: a new log epoch");
        assert!(
            resume.seq <= acknowledged_seq,
            "{who}: it saw only acknowledged events"
        );
        let from = resume.seq;
        after.push((who, from, client, credential));
    }
    // One more action marks the end of what everyone must have received.
    let marker = "After the restart";
    after[0]
        .2
        .ok(Request::RenameGroup {
            name: marker.into(),
        })
        .await;
    for (who, from, client, _) in &mut after {
        let who: &str = who;
        let is_marker = |frame: &EventFrame| {
            frame.event
                == Event::GroupRenamed {
                    name: marker.into(),
                }
        };
        // The sender read its own event on the way to the ack.
        if !client.events().iter().any(is_marker) {
            client.event_where(is_marker).await;
        }
        let frames = client.events();
        assert_contiguous(who, *from, &frames);
        record(&mut history, who, &frames);
    }

    // A fresh replay of the whole meeting from the log equals what the clients saw live.
    // The auditor learns the room's log epoch first: a resume from it is replayed.
    let credential = after[0].3.clone();
    let mut learner = TestClient::connect(addr).await;
    learner
        .join(group.group_id, credential.clone(), None)
        .await
        .expect("join");
    let log_epoch = learner.log_epoch;
    learner.close().await;
    let mut auditor = TestClient::connect(addr).await;
    let caught_up = auditor
        .join(
            group.group_id,
            credential,
            Some(ResumePoint {
                meeting_id: group.meeting_id,
                seq: start.seq,
                log_epoch,
            }),
        )
        .await
        .expect("the auditor joins");
    assert!(
        caught_up.is_none(),
        "a resume from the room's log epoch is replayed"
    );
    let last = *history.keys().next_back().unwrap();
    auditor.event_where(|frame| frame.seq == last).await;
    let replayed = auditor.events();
    assert_contiguous("auditor", start.seq, &replayed);
    for frame in &replayed {
        if let Some(seen) = history.get(&frame.seq) {
            assert_eq!(seen, frame, "the log's event at seq {} differs", frame.seq);
        }
    }
    assert!(replayed.iter().any(|frame| frame.seq == acknowledged_seq));
    // The clients caught up across the restart by snapshot: the events stored while they were
    // away (the requests in flight at the kill) are known from the log's replay alone.
    record(&mut history, "auditor", &replayed);

    // And the state holds every acknowledged action.
    let mut checker = TestClient::connect(addr).await;
    let snapshot = checker
        .join(group.group_id, after[1].3.clone(), None)
        .await
        .expect("join")
        .expect("a join without resume point gets a snapshot");
    assert_eq!(snapshot.group.name, marker);
    assert_eq!(snapshot.members.len(), 3);
    assert_eq!(
        snapshot.flow.timer,
        Some(timer_before),
        "the running timer is exact after the crash: same deadline, same speaker"
    );
    for round in 0..5 {
        let renamed = Event::GroupRenamed {
            name: format!("Round {round}"),
        };
        assert!(
            history.values().any(|frame| frame.event == renamed),
            "the acknowledged rename of round {round} is in the log"
        );
    }
    let raised = |member_id| Event::HandRaised { member_id };
    let raises = |member_id| {
        history
            .values()
            .filter(|frame| frame.event == raised(member_id))
            .count()
    };
    assert_eq!(
        raises(ann_id),
        5,
        "each acknowledged raise is in the log once"
    );
    assert_eq!(raises(bob_id), 6);
    // Bob's last acknowledged action raised his hand; his lowering was in flight at the kill.
    let last_hand_event_of_bob = history.values().rev().find_map(|frame| match frame.event {
        Event::HandRaised { member_id } if member_id == bob_id => Some("raised"),
        Event::HandLowered { member_id } if member_id == bob_id => Some("lowered"),
        _ => None,
    });
    let in_flight_lowering_stored = last_hand_event_of_bob == Some("lowered");
    assert_eq!(
        snapshot.hands.contains(&bob_id),
        !in_flight_lowering_stored,
        "the state agrees with the log about bob's hand"
    );
    assert!(!snapshot.hands.contains(&ann_id), "ann lowered her hand");
    second.start_kill().expect("stop the second server");
    second.wait().await.expect("exit");
}

#[tokio::test]
async fn redis_outage_gives_typed_errors_and_the_server_recovers_by_itself() {
    let panics = count_panics();
    let mut redis = TestRedis::start_own(Persistence::AppendOnly);
    let prefix = unique_prefix("rt-srv");
    let server = start_server(redis.url(), &prefix, Limits::default()).await;
    let group = create_group(server.addr, "Outage peers").await;
    let idle_group = create_group(server.addr, "Not loaded yet").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    facilitator.start_meeting().await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let ann_id = ann.member_id.unwrap();
    facilitator
        .ok(Request::RenameGroup {
            name: "Before the outage".into(),
        })
        .await;
    ann.event_where(|frame| matches!(frame.event, Event::GroupRenamed { .. }))
        .await;
    let seq_before = facilitator.last_seq;

    redis.stop();
    // Requests that must be persisted get a typed error, and nothing changes.
    ann.fails(Request::RaiseHand, ErrorCode::StorageUnavailable)
        .await;
    facilitator
        .fails(
            Request::RenameGroup {
                name: "During the outage".into(),
            },
            ErrorCode::StorageUnavailable,
        )
        .await;
    // The connections stay up and the server keeps answering pings with its clock.
    for client in [&mut facilitator, &mut ann] {
        let id = client.send(Request::Ping { client_time_ms: 7 }).await;
        match client.answer(id).await {
            Ok(Reply::Pong { client_time_ms, .. }) => assert_eq!(client_time_ms, 7),
            other => panic!("a ping during the outage is answered, got {other:?}"),
        }
    }
    // A newcomer cannot join (joining is stored), neither the live room nor one to be loaded.
    let mut bob = TestClient::connect(server.addr).await;
    let invite = Credential::Invite {
        secret: group.invite_secret.clone(),
        display_name: "Bob".into(),
        observer: false,
    };
    let refused = bob.join(group.group_id, invite.clone(), None).await;
    assert_eq!(refused.unwrap_err().0, ErrorCode::StorageUnavailable);
    let mut idle_facilitator = TestClient::connect(server.addr).await;
    let idle_credential = Credential::Facilitator {
        secret: idle_group.facilitator_secret.clone(),
        display_name: "Ida".into(),
        member_token: None,
    };
    let refused = idle_facilitator
        .join(idle_group.group_id, idle_credential.clone(), None)
        .await;
    assert_eq!(refused.unwrap_err().0, ErrorCode::StorageUnavailable);
    // Nor can a group be created.
    let (status, body) = http_request(
        server.addr,
        "POST",
        "/api/groups",
        r#"{"name": "Made during the outage"}"#,
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("storage_unavailable"), "{body}");
    // Ann's connection drops; the room cannot store that she went offline yet.
    let ann_resume = ann.resume_point();
    let ann_credential = ann.token_credential();
    ann.drop_connection();
    // Presence is not stored: the others see her go once her grace ends, outage or not.
    let offline = facilitator.presence_change(ann_id, false).await;
    assert_eq!(offline.reason, PresenceReason::ConnectionLost);
    facilitator
        .expect_silence(Duration::from_millis(1500))
        .await;
    assert_eq!(
        facilitator.last_seq, seq_before,
        "no event while Redis is down"
    );

    // Redis comes back on the same port with its append-only file. The server was not
    // restarted: the request that failed succeeds when retried, with the next seq.
    redis.restart();
    let back_by = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let id = facilitator
            .send(Request::RenameGroup {
                name: "During the outage".into(),
            })
            .await;
        match facilitator.answer(id).await {
            Ok(_) => break,
            Err((ErrorCode::StorageUnavailable, _)) if std::time::Instant::now() < back_by => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("the retried rename fails: {error:?}"),
        }
    }
    assert_eq!(
        facilitator.events().last().map(|frame| frame.seq),
        Some(seq_before + 1),
        "failed writes used no seq: nothing was half-written"
    );
    // Ann resumes with exactly what she missed.
    let mut ann = TestClient::connect(server.addr).await;
    let catch_up = ann
        .join(group.group_id, ann_credential, Some(ann_resume))
        .await
        .expect("ann rejoins after the outage");
    assert!(catch_up.is_none(), "the gap is replayed");
    ann.ok(Request::RaiseHand).await;
    let frames = ann.events();
    assert_contiguous("ann", ann_resume.seq, &frames);
    let live: Vec<EventFrame> = facilitator
        .events()
        .into_iter()
        .filter(|frame| frame.seq > ann_resume.seq)
        .collect();
    assert_eq!(
        &frames[..live.len()],
        &live[..],
        "ann's replay equals what the facilitator saw live"
    );
    // Joins and group creation work again.
    bob.join(group.group_id, invite, None)
        .await
        .expect("bob joins after the outage");
    idle_facilitator
        .join(idle_group.group_id, idle_credential, None)
        .await
        .expect("a room loads after the outage");
    create_group(server.addr, "Made after the outage").await;
    // Only what was acknowledged is stored: ann's failed raise is not, her retried one is.
    let snapshot = bob
        .received
        .iter()
        .find_map(|message| match message {
            ServerMessage::Snapshot(snapshot) => Some(snapshot.clone()),
            _ => None,
        })
        .expect("bob got a snapshot");
    assert_eq!(snapshot.group.name, "During the outage");
    assert_eq!(snapshot.hands, vec![ann_id]);
    server.stop().await;
    assert_eq!(panics.load(Ordering::SeqCst), 0, "nothing panicked");
}

#[tokio::test]
async fn two_processes_on_one_redis_never_both_run_a_meeting() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-srv");
    let args = ["--room-lease-ms", "1500", "--room-idle-seconds", "1"];
    let (mut first, first_addr) = start_binary(redis.url(), &prefix, &args).await;
    let (mut second, second_addr) = start_binary(redis.url(), &prefix, &args).await;
    let group = create_group(first_addr, "Shared peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(first_addr, &group, "Fran").await;
    facilitator.start_meeting().await;
    facilitator
        .ok(Request::RenameGroup {
            name: "Run by the first".into(),
        })
        .await;

    // The second process refuses to load the meeting the first one runs, for as long as the
    // first one renews its lease (here twice the lease's duration).
    let mut bob = TestClient::connect(second_addr).await;
    let invite = Credential::Invite {
        secret: group.invite_secret.clone(),
        display_name: "Bob".into(),
        observer: false,
    };
    for _ in 0..3 {
        let refused = bob.join(group.group_id, invite.clone(), None).await;
        let (code, message) = refused.expect_err("the second process must not load the room");
        assert_eq!(code, ErrorCode::RoomElsewhere, "{message}");
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }

    // The facilitator leaves; the first process unloads the room and releases its lease; the
    // second one takes the meeting over with everything the first stored.
    let facilitator_credential = facilitator.token_credential();
    let resume = facilitator.resume_point();
    facilitator.close().await;
    let snapshot = join_when_free(&mut bob, group.group_id, invite, None).await;
    let snapshot = snapshot.expect("a first join gets a snapshot");
    assert_eq!(snapshot.group.name, "Run by the first");
    // Now the first process refuses.
    let mut facilitator = TestClient::connect(first_addr).await;
    let refused = facilitator
        .join(group.group_id, facilitator_credential.clone(), Some(resume))
        .await;
    assert_eq!(refused.unwrap_err().0, ErrorCode::RoomElsewhere);

    // Someone else takes the lease from under the second process (as if its lease had expired
    // in an outage and another node had taken over): the room notices at its next renewal,
    // stops and closes its connections with `room_moved`.
    let mut raw = raw_connection(redis.url()).await;
    let lease_key = lease_key(&prefix, group.group_id);
    let _: () = redis::cmd("SET")
        .arg(&lease_key)
        .arg("an-intruder")
        .query_async(&mut raw)
        .await
        .expect("SET lease");
    let bob_resume = bob.resume_point();
    let bob_credential = bob.token_credential();
    match bob.until_closed().await {
        Closed::Frame(code, reason) => {
            assert_eq!(reason, CloseReason::RoomMoved.as_str());
            assert_eq!(code, CloseReason::RoomMoved.close_code());
        }
        Closed::Ended => panic!("the room closes with a reason"),
    }
    assert!(
        bob.received.iter().any(|message| matches!(
            message,
            ServerMessage::Closing {
                reason: CloseReason::RoomMoved,
                ..
            }
        )),
        "a closing message says why"
    );
    // The intruder goes away; bob reconnects (to the first process) and resumes exactly.
    let _: () = redis::cmd("DEL")
        .arg(&lease_key)
        .query_async(&mut raw)
        .await
        .expect("DEL lease");
    // The first process loads the room anew, in a log epoch of its own that found the
    // second's in the record with its last write: bob's resume from the second's room is replayed what
    // he missed, and the events after it.
    let mut bob = TestClient::connect(first_addr).await;
    let catch_up = join_when_free(&mut bob, group.group_id, bob_credential, Some(bob_resume)).await;
    assert!(
        catch_up.is_none(),
        "a resume from the room before, recorded, is replayed"
    );
    assert_ne!(bob.log_epoch, bob_resume.log_epoch);
    bob.ok(Request::RaiseHand).await;
    assert_contiguous("bob", bob_resume.seq, &bob.events());
    first.start_kill().expect("stop the first server");
    second.start_kill().expect("stop the second server");
    first.wait().await.expect("exit");
    second.wait().await.expect("exit");
}

/// Two joins that arrive together for a room whose lease another process holds wait for one
/// load and share its refusal. Neither loads the room again after the other gave up: a
/// waiter that did so, once the lease came free, ran a room the process no longer listed,
/// and the next join loaded the meeting a second time at a later lease epoch, which fenced
/// the first room's writes out (its members' next actions failed with
/// `storage_unavailable`). Once the lease is free, joins load the room once, and everyone's
/// actions are stored.
#[tokio::test]
async fn joins_that_waited_for_one_load_share_its_refusal_and_the_room_loads_once() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-srv");
    // The first join's load waits 3 s for the lease, time enough for the second join to
    // queue behind it however busy the machine is.
    let limits = Limits {
        room_lease_ms: 800,
        lease_wait_margin_ms: 2_200,
        lease_wait_poll_ms: 50,
        ..Limits::default()
    };
    let server = start_server(redis.url(), &prefix, limits).await;
    let group = create_group(server.addr, "Waiting together").await;
    let mut raw = raw_connection(redis.url()).await;
    let lease_key = lease_key(&prefix, group.group_id);
    let epoch_key = format!("{prefix}{{g:{}}}:epoch", group.group_id);
    let _: () = redis::cmd("SET")
        .arg(&lease_key)
        .arg("another-process")
        .arg("PX")
        .arg(60_000)
        .query_async(&mut raw)
        .await
        .expect("SET lease");

    let (done, mut answers) = tokio::sync::mpsc::channel(2);
    let mut joins = Vec::new();
    for name in ["Ann", "Bob"] {
        let done = done.clone();
        let group = group.clone();
        let addr = server.addr;
        joins.push(tokio::spawn(async move {
            let mut client = TestClient::connect(addr).await;
            let invite = Credential::Invite {
                secret: group.invite_secret.clone(),
                display_name: name.into(),
                observer: false,
            };
            let answer = client.join(group.group_id, invite, None).await;
            done.send(answer.map(|_| ()))
                .await
                .expect("the test listens");
            client
        }));
    }
    let first = answers.recv().await.expect("a first answer");
    // The lease comes free the moment the first join is refused: a join still waiting now
    // would take it.
    let _: () = redis::cmd("DEL")
        .arg(&lease_key)
        .query_async(&mut raw)
        .await
        .expect("DEL lease");
    let second = answers.recv().await.expect("a second answer");
    for answer in [first, second] {
        assert_eq!(
            answer
                .expect_err("the joins share the refusal of their one load")
                .0,
            ErrorCode::RoomElsewhere
        );
    }
    let mut clients = Vec::new();
    for join in joins {
        clients.push(join.await.expect("the join's task"));
    }
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    for (client, name) in clients.iter_mut().zip(["Ann", "Bob"]) {
        let invite = Credential::Invite {
            secret: group.invite_secret.clone(),
            display_name: name.into(),
            observer: false,
        };
        client
            .join(group.group_id, invite, None)
            .await
            .expect("a join after the lease came free");
    }
    for client in &mut clients {
        client.ok(Request::RaiseHand).await;
    }
    let epoch: Option<u64> = redis::cmd("GET")
        .arg(&epoch_key)
        .query_async(&mut raw)
        .await
        .expect("GET epoch");
    assert_eq!(epoch, Some(1), "the process took the lease once");
    server.stop().await;
}

#[tokio::test]
async fn a_room_whose_log_moved_on_without_it_closes_and_clients_resume_from_the_store() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-srv");
    let server = start_server(redis.url(), &prefix, Limits::default()).await;
    let group = create_group(server.addr, "Double writer").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    facilitator.start_meeting().await;
    let resume = facilitator.resume_point();

    // Another writer that ignored the lease appends the next event behind the room's back.
    let intruder = RedisStore::connect(redis.url(), support::redis::options(&prefix))
        .await
        .expect("connect");
    let foreign = StoredEvent {
        at_ms: SystemClock.now_ms(),
        event: RoomEvent::GroupRenamed {
            name: "Renamed by another writer".into(),
        },
    };
    let entries = [LogEntry {
        seq: resume.seq + 1,
        bytes: roundtable_rules::stored::encode_event(&foreign),
    }];
    fixtures::append(&intruder, group.group_id, group.meeting_id, &entries, None)
        .await
        .expect("the foreign append");

    // The room's next write conflicts: the request fails, changes nothing, and the room
    // closes so that its clients reload the truth.
    facilitator
        .fails(Request::RaiseHand, ErrorCode::StorageUnavailable)
        .await;
    match facilitator.until_closed().await {
        Closed::Frame(_, reason) => assert_eq!(reason, CloseReason::RoomMoved.as_str()),
        Closed::Ended => panic!("the room closes with a reason"),
    }
    let credential = facilitator.token_credential();
    // The reloaded room is a new log epoch, which found the closed room's in the record with its
    // last write: the closed room served nothing past what it stored, so the resume from its epoch
    // is replayed the store's truth, the other writer's event first.
    let mut facilitator = TestClient::connect(server.addr).await;
    let catch_up = facilitator
        .join(group.group_id, credential.clone(), Some(resume))
        .await
        .expect("rejoin");
    assert!(
        catch_up.is_none(),
        "a resume from the closed room's log epoch is replayed"
    );
    facilitator.ok(Request::RaiseHand).await;
    let frames = facilitator.events();
    assert_contiguous("facilitator", resume.seq, &frames);
    assert_eq!(
        frames[0].event,
        Event::GroupRenamed {
            name: "Renamed by another writer".into()
        },
        "the reloaded room includes what the other writer stored"
    );
    // The log itself goes on from the other writer's event: a resume from before it, in the
    // reloaded room's epoch, replays it.
    let resume =
        TestClient::in_current_epoch(server.addr, group.group_id, credential.clone(), resume).await;
    let mut replayed = TestClient::connect(server.addr).await;
    let catch_up = replayed
        .join(group.group_id, credential, Some(resume))
        .await
        .expect("rejoin");
    assert!(catch_up.is_none(), "the gap is replayed");
    replayed
        .event_where(|frame| matches!(frame.event, Event::HandRaised { .. }))
        .await;
    let frames = replayed.events();
    assert_contiguous("facilitator", resume.seq, &frames);
    assert_eq!(
        frames[0].event,
        Event::GroupRenamed {
            name: "Renamed by another writer".into()
        },
        "the reloaded room's log includes what the other writer stored"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_server_trims_logs_of_meetings_ended_longer_ago_than_the_retention() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-srv");
    let store = RedisStore::connect(redis.url(), support::redis::options(&prefix))
        .await
        .expect("connect");
    let hour_ms = 60 * 60 * 1000;
    let now_ms = SystemClock.now_ms();
    let mut meetings = Vec::new();
    for ended_hours_ago in [3, 1] {
        let (group_id, meeting_id) = fixtures::create_group(&store, "{}").await;
        let entries = [LogEntry {
            seq: 1,
            bytes: b"{}".to_vec(),
        }];
        fixtures::append(&store, group_id, meeting_id, &entries, None)
            .await
            .unwrap();
        store
            .end_meeting(meeting_id, now_ms - ended_hours_ago * hour_ms)
            .await
            .unwrap();
        meetings.push(meeting_id);
    }
    // Retention of two hours: the meeting that ended three hours ago is due, the other not.
    let limits = Limits {
        log_retention_hours: 2,
        ..Limits::default()
    };
    let server = start_server(redis.url(), &prefix, limits).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !store.read_log(meetings[0], 0, 10).await.unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the first retention pass trims the due log"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        store.read_log(meetings[1], 0, 10).await.unwrap().len(),
        1,
        "a meeting that ended within the retention keeps its log"
    );
    server.stop().await;
}
