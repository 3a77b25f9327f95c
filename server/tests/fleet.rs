//! A fleet: three real server processes on one Redis (started by the test on loopback), each
//! with its internal listener. Clients connect to any node; a node that does not run their
//! room forwards them over its link to the node that does (see ARCHITECTURE.md, "Several
//! server nodes"). Covers: members spread over all nodes sharing one room (every event once, in
//! seq order, the same as the owner's direct clients get), acks through the hop, the owner's
//! rate and frame limits through the hop, the link's secret, the edge joining its client again
//! where the room went when the owner loses it or dies (or closing it with 1012 when it
//! cannot), placement by rendezvous hashing (also for a join whose forward to a holder that
//! died a moment ago fails), the node registry itself (fresh, stale and
//! removed entries; the lease's holder), and members forwarded through edges back after
//! `kill -9` of the owner (within 2 s, without a reconnection) and after its drain (gap at most
//! 500 ms), with nothing lost.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use roundtable_protocol::{
    CatchUp, Credential, ErrorCode, EventFrame, GroupId, PresenceReason, Request, ServerMessage,
};
use roundtable_server::fleet::link::{Kind, LinkFrame, proof, read_frame};
use roundtable_server::fleet::rendezvous;
use roundtable_server::store::{NodeEntry, RedisStore, Store};
use support::redis::{MANY_CLIENTS, TestRedis, lease_key, options, raw_connection, unique_prefix};
use support::{Closed, TestClient, create_group};
use tokio::io::AsyncWriteExt;
use tokio::process::Child;

const SECRET: &str = "the fleet's shared test secret";

/// The tests that time members coming back run one at a time (each starts three nodes on a
/// shared 2-core machine; two at once would time each other's load).
static TIMED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One node of the fleet: its process, its client address and its registry entry.
struct Node {
    child: Child,
    addr: SocketAddr,
    /// The admin listener (`/metrics`).
    admin: Option<SocketAddr>,
    entry: NodeEntry,
}

/// Starts `count` nodes on the Redis at `url` under `prefix`, and waits until each is in the
/// node registry.
async fn start_fleet(
    url: &str,
    prefix: &str,
    count: usize,
    extra: &[&str],
) -> (Vec<Node>, RedisStore) {
    let store = RedisStore::connect(url, options(prefix))
        .await
        .expect("connect to redis");
    let mut started = Vec::new();
    for _ in 0..count {
        started.push(start_node(url, prefix, "127.0.0.1:0", extra).await);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let entries = store
            .live_nodes(2_000, 100)
            .await
            .expect("read the registry");
        let found: Vec<Option<NodeEntry>> = started
            .iter()
            .map(|(_, addr, _)| {
                entries
                    .iter()
                    .find(|entry| entry.client_url == format!("http://{addr}"))
                    .cloned()
            })
            .collect();
        if found.iter().all(Option::is_some) {
            // Each node reads the registry back at its heartbeat (every 500 ms): after two,
            // every node knows every other.
            tokio::time::sleep(Duration::from_millis(1_100)).await;
            let nodes = started
                .into_iter()
                .zip(found)
                .map(|((child, addr, admin), entry)| Node {
                    child,
                    addr,
                    admin,
                    entry: entry.expect("found"),
                })
                .collect();
            return (nodes, store);
        }
        assert!(
            Instant::now() < deadline,
            "every node is in the registry within 10 s; found {entries:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts one node on the Redis at `url` under `prefix`, its internal listener at
/// `internal`: its process, client address and admin address.
async fn start_node(
    url: &str,
    prefix: &str,
    internal: &str,
    extra: &[&str],
) -> (Child, SocketAddr, Option<SocketAddr>) {
    let (child, addr, admin) =
        support::redis::start_fleet_node(url, prefix, internal, SECRET, extra).await;
    (child, addr, Some(admin))
}

/// The group's lease holder, waiting a little for a room that is loading.
async fn holder(store: &RedisStore, group_id: GroupId) -> String {
    for _ in 0..100 {
        if let Some(holder) = store.lease_holder(group_id).await.expect("read the lease") {
            return holder;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("nobody took the group's lease");
}

/// Every one of `groups` has its room on another node than the drained `node`.
async fn no_room_left_on(store: &RedisStore, groups: &[GroupId], node: &Node) {
    for &group_id in groups {
        assert_ne!(
            holder(store, group_id).await,
            node.entry.id,
            "another node runs every room"
        );
    }
}

/// Reads until `client` has seen the event at `seq`.
async fn read_through(client: &mut TestClient, seq: u64) {
    while client.last_seq < seq {
        client.recv().await;
    }
}

/// The events a client received after seq `after`.
fn events_after(client: &TestClient, after: u64) -> Vec<EventFrame> {
    client
        .events()
        .into_iter()
        .filter(|frame| frame.seq > after)
        .collect()
}

#[tokio::test]
async fn members_spread_over_three_nodes_share_one_room_through_forwarding() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet");
    let (nodes, store) = start_fleet(redis.url(), &prefix, 3, &[]).await;
    let group = create_group(nodes[1].addr, "Peers across a fleet").await;

    // Nobody holds the group's lease: the first join lands where placement says, whichever
    // node it came to.
    let ids: Vec<&str> = nodes.iter().map(|node| node.entry.id.as_str()).collect();
    let placed = rendezvous(group.group_id, ids.iter().copied()).expect("a node");
    let owner_index = nodes
        .iter()
        .position(|node| node.entry.id == placed)
        .expect("placed on a node of the fleet");
    let edge_index = (owner_index + 1) % 3;
    let mut facilitator = TestClient::connect(nodes[edge_index].addr).await;
    facilitator.join_as_facilitator(&group, "Fran").await;
    assert_eq!(
        holder(&store, group.group_id).await,
        placed,
        "the room runs on the node placement names, not on the edge the client came to"
    );
    facilitator.start_meeting().await;

    // Eleven more members, spread over the three nodes.
    let mut members = Vec::new();
    for index in 0..11 {
        let node = &nodes[index % 3];
        let mut member = TestClient::connect(node.addr).await;
        member
            .join_as_member(&group, &format!("Member {index}"))
            .await;
        members.push((index % 3, member));
    }
    // Everyone has caught up to the last join.
    let joined_seq = members.last().expect("members").1.last_seq;
    read_through(&mut facilitator, joined_seq).await;
    for (_, member) in &mut members {
        read_through(member, joined_seq).await;
    }

    // Requests from every node, each acknowledged (through the hop for the forwarded ones).
    for round in 0..3 {
        for (_, member) in &mut members {
            member.ok(Request::RaiseHand).await;
        }
        facilitator
            .ok(Request::RenameGroup {
                name: format!("Round {round}"),
            })
            .await;
        for (_, member) in &mut members {
            member.ok(Request::LowerHand).await;
        }
    }
    let final_seq = facilitator.last_seq.max(
        members
            .iter()
            .map(|(_, member)| member.last_seq)
            .max()
            .expect("members"),
    );
    read_through(&mut facilitator, final_seq).await;
    for (_, member) in &mut members {
        read_through(member, final_seq).await;
    }
    assert_eq!(
        final_seq,
        joined_seq + 3 * 23,
        "one event per acknowledged request"
    );

    // Every member got every event once, in seq order (the client asserts strictly increasing
    // seqs as they arrive), and the same events as the members connected to the owner itself.
    let direct: Vec<&TestClient> = members
        .iter()
        .filter(|(node, _)| *node == owner_index)
        .map(|(_, member)| member)
        .collect();
    assert!(!direct.is_empty(), "some members are on the owner itself");
    let reference = events_after(direct[0], joined_seq);
    assert_eq!(reference.len() as u64, final_seq - joined_seq);
    for (index, frame) in reference.iter().enumerate() {
        assert_eq!(
            frame.seq,
            joined_seq + 1 + index as u64,
            "no gap, no duplicate"
        );
    }
    let mut forwarded = 0;
    for (node, member) in &members {
        assert_eq!(
            events_after(member, joined_seq),
            reference,
            "a member on node {node} got the same events as one on the owner"
        );
        forwarded += usize::from(*node != owner_index);
    }
    assert!(forwarded >= 6, "most members came through an edge");
    assert_eq!(events_after(&facilitator, joined_seq), reference);

    // The owner's limits hold through the hop: a frame over the size limit gets `too_large`,
    // and a burst past the rate limit gets `rate_limited`, from the owner.
    let (_, through_edge) = members
        .iter_mut()
        .find(|(node, _)| *node != owner_index)
        .expect("a forwarded member");
    let big = format!(
        r#"{{"v":1,"id":900,"type":"rename_group","name":"{}"}}"#,
        "x".repeat(20 * 1024)
    );
    through_edge.send_text(big).await;
    // Too large to be read for its id: the error has none.
    match through_edge.recv().await {
        ServerMessage::Error { id, code, .. } => {
            assert_eq!((id, code), (None, ErrorCode::TooLarge));
        }
        other => panic!("expected too_large, got {other:?}"),
    }
    let mut ids = Vec::new();
    for _ in 0..60 {
        ids.push(through_edge.send(Request::Ping { client_time_ms: 1 }).await);
    }
    let mut limited = 0;
    for id in ids {
        if let Err((code, _)) = through_edge.answer(id).await {
            assert_eq!(code, ErrorCode::RateLimited);
            limited += 1;
        }
    }
    assert!(
        limited > 0,
        "a burst of 60 pings passes the rate limit of 20/s (burst 40)"
    );

    // A forwarded member who leaves with a close frame is shown as left; one whose connection
    // is lost, as lost: the edge tells the owner which.
    let mut forwarded_members: Vec<TestClient> = Vec::new();
    let mut index = 0;
    while forwarded_members.len() < 2 {
        if members[index].0 != owner_index {
            forwarded_members.push(members.remove(index).1);
        } else {
            index += 1;
        }
    }
    let lost = forwarded_members.pop().expect("two");
    let left = forwarded_members.pop().expect("two");
    let (left_id, lost_id) = (
        left.member_id.expect("joined"),
        lost.member_id.expect("joined"),
    );
    left.close().await;
    let change = facilitator.presence_change(left_id, false).await;
    assert_eq!(change.reason, PresenceReason::Left);
    lost.drop_connection();
    let change = facilitator.presence_change(lost_id, false).await;
    assert_eq!(change.reason, PresenceReason::ConnectionLost);

    // The metrics count forwarded frames both ways and streams on both sides, and the edges'
    // pings time the hop; no label names a node, group or member.
    let edge_metrics = metrics_of(&nodes[edge_index]).await;
    for wanted in [
        "roundtable_forwarded_frames_total{direction=\"to_owner\"}",
        "roundtable_forwarded_frames_total{direction=\"to_client\"}",
        "roundtable_forwarded_streams{side=\"edge\"}",
        "roundtable_link_hop_seconds_count",
        "roundtable_link_connects_total{outcome=\"connected\"}",
    ] {
        let value = support::metric_value(&edge_metrics, wanted);
        assert!(
            value > 0.0,
            "{wanted} is {value} on an edge:\n{edge_metrics}"
        );
    }
    let owner_metrics = metrics_of(&nodes[owner_index]).await;
    assert!(
        support::metric_value(
            &owner_metrics,
            "roundtable_forwarded_streams{side=\"owner\"}"
        ) >= 3.0
    );
    assert!(
        support::metric_value(
            &owner_metrics,
            "roundtable_link_connects_total{outcome=\"accepted\"}"
        ) >= 2.0,
        "both other nodes opened a link to the owner"
    );
    for id in [group.group_id.to_string(), placed.to_string()] {
        assert!(!edge_metrics.contains(&id) && !owner_metrics.contains(&id));
    }
}

/// A free loopback port (bound and let go: the node binds it right after).
/// The node's `/metrics`, from its admin listener.
async fn metrics_of(node: &Node) -> String {
    let admin = node.admin.expect("started with an admin listener");
    let (status, body) = support::http_get(admin, "/metrics", None).await;
    assert_eq!(status, 200);
    body
}

#[tokio::test]
async fn the_internal_link_refuses_a_wrong_secret_and_welcomes_the_right_one() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-secret");
    let (nodes, _store) = start_fleet(redis.url(), &prefix, 1, &[]).await;
    let internal = nodes[0].entry.internal_addr.clone();

    for (secret, welcomed) in [("not the secret", false), (SECRET, true)] {
        let tcp = tokio::net::TcpStream::connect(&internal)
            .await
            .expect("connect to the internal listener");
        let (mut reader, mut writer) = tcp.into_split();
        // At most 64 bytes: what an edge of an earlier build reads (a rolling deploy).
        let challenge = read_frame(&mut reader, 64).await.expect("a challenge");
        assert_eq!(challenge.kind, Kind::Challenge);
        let (random, named) = challenge.payload.split_at(32);
        assert_ne!(random, &[0; 32][..], "32 random bytes");
        assert_eq!(
            named,
            nodes[0].entry.id.as_bytes(),
            "then the owner's node id"
        );
        let mut hello = proof(secret.as_bytes(), &challenge.payload, "a-test-node").to_vec();
        hello.extend_from_slice(b"a-test-node");
        let mut bytes = Vec::new();
        LinkFrame::new(Kind::Hello, 0, hello).encode_into(&mut bytes);
        writer.write_all(&bytes).await.expect("send hello");
        let answer = read_frame(&mut reader, 64).await.expect("an answer");
        if welcomed {
            assert_eq!(answer.kind, Kind::Welcome, "the right secret is welcome");
        } else {
            assert_eq!(answer.kind, Kind::Refused, "a wrong secret is refused");
            // And nothing more is read or answered: the link is closed.
            let mut open = Vec::new();
            LinkFrame::new(Kind::Open, 1, "127.0.0.1").encode_into(&mut open);
            let _ = writer.write_all(&open).await;
            let after = tokio::time::timeout(Duration::from_secs(2), read_frame(&mut reader, 64))
                .await
                .expect("the owner closes the link at once");
            assert!(after.is_err(), "no frame after a refusal: {after:?}");
        }
    }

    // A replayed proof for another challenge does not pass either.
    let tcp = tokio::net::TcpStream::connect(&internal)
        .await
        .expect("connect");
    let (mut reader, mut writer) = tcp.into_split();
    let _challenge = read_frame(&mut reader, 256).await.expect("a challenge");
    let mut hello = proof(SECRET.as_bytes(), &[0; 32], "a-test-node").to_vec();
    hello.extend_from_slice(b"a-test-node");
    let mut bytes = Vec::new();
    LinkFrame::new(Kind::Hello, 0, hello).encode_into(&mut bytes);
    writer.write_all(&bytes).await.expect("send hello");
    let answer = read_frame(&mut reader, 64).await.expect("an answer");
    assert_eq!(
        answer.kind,
        Kind::Refused,
        "a proof for another challenge is refused"
    );
}

/// A link to the node whose internal listener is at `internal`, proven with the fleet's
/// secret as the node `a-test-node`: its two halves, the welcome read.
async fn proven_link(
    internal: &str,
) -> (
    tokio::net::tcp::OwnedReadHalf,
    tokio::net::tcp::OwnedWriteHalf,
) {
    let tcp = tokio::net::TcpStream::connect(internal)
        .await
        .expect("connect to the internal listener");
    let (mut reader, mut writer) = tcp.into_split();
    let challenge = read_frame(&mut reader, 256).await.expect("a challenge");
    let mut hello = proof(SECRET.as_bytes(), &challenge.payload, "a-test-node").to_vec();
    hello.extend_from_slice(b"a-test-node");
    let mut bytes = Vec::new();
    LinkFrame::new(Kind::Hello, 0, hello).encode_into(&mut bytes);
    writer.write_all(&bytes).await.expect("send hello");
    let answer = read_frame(&mut reader, 64).await.expect("an answer");
    assert_eq!(answer.kind, Kind::Welcome, "the fleet's secret is welcome");
    (reader, writer)
}

/// A take (a room another node handed over) makes the node load the group's room at once,
/// with no member joining; a take that is not a group's id, or names no group, loads nothing
/// and leaves the link working.
#[tokio::test]
async fn a_take_over_the_link_loads_the_handed_room_and_nothing_else() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-take");
    let (nodes, store) = start_fleet(redis.url(), &prefix, 1, &[]).await;
    let group = create_group(nodes[0].addr, "Peers handed over").await;
    assert_eq!(
        store.lease_holder(group.group_id).await.expect("read"),
        None,
        "a new group's room is not live before anyone joins"
    );
    let (mut reader, mut writer) = proven_link(&nodes[0].entry.internal_addr).await;
    let mut bytes = Vec::new();
    LinkFrame::new(Kind::Take, 0, "not a group").encode_into(&mut bytes);
    LinkFrame::new(Kind::Take, 0, GroupId::random().to_string()).encode_into(&mut bytes);
    LinkFrame::new(Kind::Take, 0, group.group_id.to_string()).encode_into(&mut bytes);
    LinkFrame::new(Kind::Ping, 0, "still here?").encode_into(&mut bytes);
    writer.write_all(&bytes).await.expect("send the takes");
    let pong = read_frame(&mut reader, 64)
        .await
        .expect("the link works on");
    assert_eq!(
        (pong.kind, &pong.payload[..]),
        (Kind::Pong, &b"still here?"[..])
    );
    assert_eq!(
        holder(&store, group.group_id).await,
        nodes[0].entry.id,
        "the node loaded the handed room"
    );
    let count = |outcome: &str, metrics: &str| {
        support::metric_value(
            metrics,
            &format!("roundtable_handover_takes_total{{outcome=\"{outcome}\"}}"),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let metrics = loop {
        let metrics = metrics_of(&nodes[0]).await;
        if count("loaded", &metrics) + count("not_loaded", &metrics) >= 2.0
            || Instant::now() > deadline
        {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(count("malformed", &metrics), 1.0, "{metrics}");
    assert_eq!(
        count("not_loaded", &metrics),
        1.0,
        "no such group: {metrics}"
    );
    assert_eq!(count("loaded", &metrics), 1.0, "{metrics}");
}

/// A drained owner asks, for each room it gives up, the node placement names next to load it:
/// every room is live on that node before any of its members comes back. Here none does:
/// every client has left before the drain (the rooms stay live, idle), so no member's join
/// can load a room first, and each room was loaded by its take. Without the take the next
/// node would load a room only when the first member's join reached it.
#[tokio::test]
async fn a_drained_owner_hands_each_room_to_the_next_node_before_any_member_returns() {
    let _alone = TIMED.lock().await;
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-handover");
    let (nodes, store) = start_fleet(redis.url(), &prefix, 3, &MANY_CLIENTS).await;
    let owner_index = 1;
    let rooms = rooms_on(&nodes, owner_index, 4, 2, true).await;
    let others: Vec<&Node> = nodes
        .iter()
        .enumerate()
        .filter(|(index, _)| *index != owner_index)
        .map(|(_, node)| node)
        .collect();
    let groups: Vec<GroupId> = rooms.iter().map(|room| room.group_id).collect();
    // Every member leaves (a drained node joins its own clients again where their rooms go,
    // and the edges theirs: such a join reaching the next node before the take would load
    // the room itself).
    for room in rooms {
        for (_, client) in room.members {
            client.close().await;
        }
    }
    let owner_metrics = || async { metrics_of(&nodes[owner_index]).await };
    let deadline = Instant::now() + Duration::from_secs(5);
    while support::metric_value(
        &owner_metrics().await,
        "roundtable_connections{state=\"joined\"}",
    ) > 0.0
    {
        assert!(
            Instant::now() < deadline,
            "the owner saw every client leave within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let admin = nodes[owner_index].admin.expect("an admin listener");
    let (status, body) = support::http_request(admin, "POST", "/admin/drain", "").await;
    assert_eq!(status, 200, "the drain finished: {body}");
    for group_id in &groups {
        let next = rendezvous(*group_id, others.iter().map(|node| node.entry.id.as_str()))
            .expect("a node");
        assert_eq!(
            holder(&store, *group_id).await,
            next,
            "the node placement names runs the room, and no member is back"
        );
    }
    // The lease is taken before the load finishes and is counted: wait for the count.
    let takes = |outcome: &str, metrics: &str| {
        support::metric_value(
            metrics,
            &format!("roundtable_handover_takes_total{{outcome=\"{outcome}\"}}"),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (mut loaded, mut other) = (0.0, 0.0);
        for node in &others {
            let metrics = metrics_of(node).await;
            loaded += takes("loaded", &metrics);
            other += ["live_already", "busy", "not_loaded", "malformed"]
                .iter()
                .map(|outcome| takes(outcome, &metrics))
                .sum::<f64>();
        }
        assert_eq!(other, 0.0, "no take found its room loaded, or failed");
        if loaded == groups.len() as f64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "one take loaded each room: {loaded} of {} counted",
            groups.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A draining node keeps the clients it forwards to rooms on other nodes until its own rooms
/// are handed over, then closes them with 1012 `draining`. Here the handover is held up
/// (Redis takes no write for 600 ms, so the rooms' final snapshots wait), and those clients
/// stay meanwhile. Closed at the drain's start, their reconnections slowed the handover that
/// the members of the node's own rooms wait for.
#[tokio::test]
async fn a_draining_node_keeps_its_forwarded_clients_until_its_own_rooms_are_handed_over() {
    let _alone = TIMED.lock().await;
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-drain-order");
    let (nodes, _store) = start_fleet(redis.url(), &prefix, 3, &MANY_CLIENTS).await;
    let drained_index = 1;
    // A room on the drained node, and one on node 0 whose facilitator and a member come
    // through the drained node.
    let own = rooms_on(&nodes, drained_index, 1, 2, false).await;
    let room = rooms_on(&nodes, 0, 1, 2, false)
        .await
        .pop()
        .expect("a room on node 0")
        .members;
    let forwarded: Vec<TestClient> = room
        .into_iter()
        .filter(|(edge, _)| *edge == drained_index)
        .map(|(_, client)| client)
        .collect();
    assert_eq!(
        forwarded.len(),
        2,
        "two clients come through the drained node"
    );

    let mut raw = raw_connection(redis.url()).await;
    let () = ::redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(600)
        .arg("WRITE")
        .query_async(&mut raw)
        .await
        .expect("pause Redis's writes");
    let admin = nodes[drained_index].admin.expect("an admin listener");
    let drain =
        tokio::spawn(async move { support::http_request(admin, "POST", "/admin/drain", "").await });
    let started = Instant::now();
    for mut client in forwarded {
        let closed = client.until_closed().await;
        let after = started.elapsed();
        assert!(
            matches!(&closed, Closed::Frame(1012, reason) if reason == "draining"),
            "closed with 1012 draining: {closed:?}"
        );
        assert!(
            after >= Duration::from_millis(400),
            "kept until the node's own room was handed over: closed after {after:?}"
        );
    }
    let (status, body) = drain.await.expect("the drain request");
    assert_eq!(status, 200, "the drain finished: {body}");
    drop(own);
}

/// Waits for the close of a forwarded client and checks it is 1012 with `room_moved`.
async fn expect_restart_close(client: &mut TestClient, why: &str) {
    match client.until_closed().await {
        Closed::Frame(code, reason) => {
            assert_eq!(code, 1012, "{why}: close code 1012 (service restart)");
            assert_eq!(reason, "room_moved", "{why}");
        }
        Closed::Ended => panic!("{why}: the edge closes with a close frame"),
    }
    let closing = client
        .received
        .iter()
        .rev()
        .find_map(|message| match message {
            ServerMessage::Closing { reason, .. } => Some(*reason),
            _ => None,
        });
    assert_eq!(
        closing,
        Some(roundtable_protocol::CloseReason::RoomMoved),
        "{why}: a closing message says why first"
    );
}

/// When the room a client is forwarded to goes away from its node, the edge joins the client
/// again where the room runs now, over the connection it has. Here the owner dies (SIGKILL)
/// while a request of the client's waits on it (Redis pauses writes): the client is not
/// closed; the request gets `connection_lost`, the join's ack comes again under the join's id
/// with another log epoch, then a snapshot, and the edge (the only node left) runs the room.
/// When the room cannot be joined again (a holder that is no live node keeps its lease: the
/// join made again goes to the node placement names, which cannot take the lease and refuses
/// it), the client is closed with 1012 `room_moved` instead, to reconnect.
#[tokio::test]
async fn an_edge_joins_its_client_again_where_the_room_went_or_closes_it_with_1012() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-reattach");
    // A short lease, renewed every 500 ms, so that a stolen lease is noticed soon.
    let (mut nodes, store) =
        start_fleet(redis.url(), &prefix, 2, &["--room-lease-ms", "1500"]).await;
    let group = create_group(nodes[0].addr, "Moving peers").await;
    let ids: Vec<&str> = nodes.iter().map(|node| node.entry.id.as_str()).collect();
    let placed = rendezvous(group.group_id, ids.iter().copied())
        .expect("a node")
        .to_string();
    let owner_index = nodes
        .iter()
        .position(|node| node.entry.id == placed)
        .expect("a node");
    let edge_index = 1 - owner_index;
    let edge = nodes[edge_index].addr;

    let mut fran = TestClient::connect(edge).await;
    fran.join_as_facilitator(&group, "Fran").await;
    fran.start_meeting().await;
    assert_eq!(holder(&store, group.group_id).await, placed);

    // The owner's room loses its lease (another writer took it) and closes its connections
    // with `room_moved`. The edge cannot join the client again while the intruder holds the
    // lease: it closes the client with 1012.
    let mut raw = raw_connection(redis.url()).await;
    let lease_key = lease_key(&prefix, group.group_id);
    let _: () = redis::cmd("SET")
        .arg(&lease_key)
        .arg("an-intruder")
        .query_async(&mut raw)
        .await
        .expect("SET lease");
    expect_restart_close(&mut fran, "the room cannot be joined again").await;
    let errors: Vec<&ServerMessage> = fran
        .received
        .iter()
        .filter(|message| matches!(message, ServerMessage::Error { .. }))
        .collect();
    assert!(
        errors.is_empty(),
        "the refusal of a join the client never asked for is not sent to it: {errors:?}"
    );

    // The lease is given back; the client reconnects through the edge and resumes.
    let _: () = redis::cmd("DEL")
        .arg(&lease_key)
        .query_async(&mut raw)
        .await
        .expect("DEL lease");
    let resume = fran.resume_point();
    let credential = fran.token_credential();
    let mut fran = TestClient::connect(edge).await;
    fran.join(group.group_id, credential, Some(resume))
        .await
        .expect("the resumed join passes");
    fran.ok(Request::RenameGroup {
        name: "Back again".into(),
    })
    .await;
    assert_eq!(holder(&store, group.group_id).await, placed);
    let epoch_before = fran.log_epoch;
    let join_id = fran
        .received
        .iter()
        .find_map(|message| match message {
            ServerMessage::Ack {
                id,
                result: roundtable_protocol::Reply::Joined(_),
            } => Some(*id),
            _ => None,
        })
        .expect("the join's ack");

    // A request the owner cannot answer (its write waits on Redis), then the owner dies.
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(10_000)
        .arg("WRITE")
        .query_async(&mut raw)
        .await
        .expect("pause Redis's writes");
    let waiting = fran
        .send(Request::RenameGroup {
            name: "Never answered".into(),
        })
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let kill_sent = Instant::now();
    let owner = &mut nodes[owner_index].child;
    owner.start_kill().expect("send SIGKILL");
    owner.wait().await.expect("the killed node exits");
    let killed = Instant::now();
    let () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query_async(&mut raw)
        .await
        .expect("unpause Redis");

    let lost = fran.answer(waiting).await;
    assert!(
        matches!(&lost, Err((ErrorCode::ConnectionLost, _))),
        "the request under way is answered connection_lost: {lost:?}"
    );
    let joined = loop {
        match fran.recv().await {
            ServerMessage::Ack {
                id,
                result: roundtable_protocol::Reply::Joined(joined),
            } => {
                assert_eq!(
                    id, join_id,
                    "the join's ack comes again under the join's id"
                );
                break joined;
            }
            ServerMessage::Closing { reason, .. } => panic!("closed: {reason:?}"),
            _ => {}
        }
    };
    assert_ne!(
        Some(joined.log_epoch),
        epoch_before,
        "the room was loaded anew"
    );
    // The edge knew where Fran stood, and the room loaded anew holds the killed room's log
    // epoch up to its last write: Fran is replayed what she missed (nothing), not sent a
    // snapshot, and the replay ends with who is online.
    assert_eq!(joined.catch_up, roundtable_protocol::CatchUp::Replay);
    let seq_before = fran.last_seq;
    loop {
        match fran.recv().await {
            ServerMessage::Presence(presence) if presence.change.is_none() => break,
            ServerMessage::Event(frame) => assert!(
                !matches!(&frame.event, roundtable_protocol::Event::GroupRenamed { name } if name == "Never answered"),
                "the request was never written"
            ),
            ServerMessage::Snapshot(_) => panic!("a replay has no snapshot"),
            _ => {}
        }
    }
    assert!(
        killed.elapsed() < Duration::from_secs(3),
        "joined again within moments of the kill ({:?})",
        killed.elapsed()
    );
    assert_eq!(
        fran.last_seq, seq_before,
        "nothing happened in the room while its owner died"
    );
    fran.ok(Request::RenameGroup {
        name: "Served by the edge".into(),
    })
    .await;
    assert_eq!(
        holder(&store, group.group_id).await,
        nodes[edge_index].entry.id,
        "the edge runs the room now"
    );
    let metrics = metrics_of(&nodes[edge_index]).await;
    assert_eq!(
        support::metric_value(
            &metrics,
            "roundtable_edge_reattaches_total{outcome=\"here\"}"
        ),
        1.0
    );
    // The first join made again went to the node placement names (the intruder is no live
    // node), which could not take the lease and refused it; the edge then closed its client.
    assert_eq!(
        support::metric_value(
            &metrics,
            "roundtable_edge_reattaches_total{outcome=\"forwarded\"}"
        ),
        1.0
    );
    // The join made again after the kill had its gap measured, from the broken link to its
    // answer here, within the time since the kill; the refused one before had none.
    let gap = support::metric_value(
        &metrics,
        "roundtable_edge_reattach_seconds_sum{cause=\"link_lost\"}",
    );
    assert_eq!(
        support::metric_value(
            &metrics,
            "roundtable_edge_reattach_seconds_count{cause=\"link_lost\"}"
        ),
        1.0
    );
    assert!(
        gap > 0.0 && gap < kill_sent.elapsed().as_secs_f64(),
        "{gap} s"
    );
    assert_eq!(
        support::metric_value(
            &metrics,
            "roundtable_edge_reattach_seconds_count{cause=\"handed_over\"}"
        ),
        0.0
    );
}

/// A reconnecting member's resume join that the owner has not answered yet when the owner dies
/// (the room waits there for its lease) is sent again by the edge where the room goes now: the
/// member's first answer is the ack of its own join, and no close comes. (Before, the edge
/// closed such a client with 1012 and it reconnected; after a kill, a thousand such joins
/// could be waiting on one link.)
#[tokio::test]
async fn a_resume_join_under_way_when_the_owner_dies_is_sent_again_not_closed() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-resend");
    // A stolen lease is noticed within 500 ms, and a join waits long for a lease held by
    // another writer: the resume join is still waiting at the owner when the owner dies.
    let extra = ["--room-lease-ms", "1500", "--lease-wait-margin-ms", "30000"];
    let (mut nodes, store) = start_fleet(redis.url(), &prefix, 2, &extra).await;
    let group = create_group(nodes[0].addr, "Resent peers").await;
    let ids: Vec<&str> = nodes.iter().map(|node| node.entry.id.as_str()).collect();
    let placed = rendezvous(group.group_id, ids.iter().copied())
        .expect("a node")
        .to_string();
    let owner_index = nodes
        .iter()
        .position(|node| node.entry.id == placed)
        .expect("a node");
    let edge_index = 1 - owner_index;
    let edge = nodes[edge_index].addr;

    let mut fran = TestClient::connect(edge).await;
    fran.join_as_facilitator(&group, "Fran").await;
    fran.start_meeting().await;
    fran.ok(Request::RenameGroup {
        name: "Before the kill".into(),
    })
    .await;
    assert_eq!(holder(&store, group.group_id).await, placed);
    let resume = fran.resume_point();
    let credential = fran.token_credential();
    fran.close().await;

    // Another writer takes the lease: the owner's room stops.
    let mut raw = raw_connection(redis.url()).await;
    let lease_key = lease_key(&prefix, group.group_id);
    let _: () = redis::cmd("SET")
        .arg(&lease_key)
        .arg("an-intruder")
        .query_async(&mut raw)
        .await
        .expect("SET lease");
    let owner_addr = nodes[owner_index].addr;
    let stopped = Instant::now() + Duration::from_secs(5);
    let live_rooms = async || {
        let body = support::http_get(owner_addr, "/healthz", None).await.1;
        let health: roundtable_protocol::Health = serde_json::from_str(&body).expect("health");
        health.live_rooms
    };
    while live_rooms().await > 0 {
        assert!(
            Instant::now() < stopped,
            "the owner's room stops once its lease is taken"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Fran comes back through the edge; her join is forwarded to the owner, and waits there.
    let mut fran = TestClient::connect(edge).await;
    let join_id = fran
        .send(Request::Join {
            group_id: group.group_id,
            credential,
            resume: Some(resume),
        })
        .await;
    let forwarded = "roundtable_forwarded_streams{side=\"edge\"}";
    let waiting = Instant::now() + Duration::from_secs(5);
    while support::metric_value(&metrics_of(&nodes[edge_index]).await, forwarded) < 1.0 {
        assert!(
            Instant::now() < waiting,
            "the edge forwards the join to the owner"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let owner = &mut nodes[owner_index].child;
    owner.start_kill().expect("send SIGKILL");
    owner.wait().await.expect("the killed node exits");
    // The edge sends the join again, to itself now (placement names the one live node), where
    // it waits for the lease in turn, until the other writer lets it go.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _: () = redis::cmd("DEL")
        .arg(&lease_key)
        .query_async(&mut raw)
        .await
        .expect("DEL lease");

    // Nothing comes before the answer to the join: no close, no other frame.
    let joined = match fran.try_recv(Duration::from_secs(10)).await {
        Ok(Some(ServerMessage::Ack {
            id,
            result: roundtable_protocol::Reply::Joined(joined),
        })) => {
            assert_eq!(id, join_id, "the answer is to Fran's own join");
            joined
        }
        Ok(Some(ServerMessage::Closing { reason, message })) => {
            panic!("the edge closed Fran instead of sending her join again: {reason:?}, {message}")
        }
        Ok(Some(other)) => panic!("nothing comes before the join's answer: {other:?}"),
        Ok(None) => panic!("no answer to the join within 10 s"),
        Err(closed) => panic!("closed: {closed:?}"),
    };
    // Sent again from the point Fran asked for: the room loaded on the edge holds the dead
    // room's log epoch up to its last write, so she is replayed what she missed (nothing).
    assert_eq!(joined.catch_up, CatchUp::Replay);
    loop {
        match fran.recv().await {
            ServerMessage::Presence(presence) if presence.change.is_none() => break,
            ServerMessage::Snapshot(_) => panic!("a replay has no snapshot"),
            _ => {}
        }
    }
    fran.ok(Request::RenameGroup {
        name: "After the kill".into(),
    })
    .await;
    assert_eq!(
        holder(&store, group.group_id).await,
        nodes[edge_index].entry.id,
        "the edge runs the room now"
    );
    let metrics = metrics_of(&nodes[edge_index]).await;
    assert_eq!(
        support::metric_value(
            &metrics,
            "roundtable_edge_reattaches_total{outcome=\"here\"}"
        ),
        1.0
    );
}

/// A join an edge makes again for its client after a kill is not the client's: the node the
/// room goes to counts it neither among the address's joins a minute nor its WebSockets
/// waiting to join, even when that address has spent both there (an office behind one
/// address). Its ordinary clients are still held to both.
#[tokio::test]
async fn a_join_made_again_through_a_link_is_outside_the_owners_limits_per_address() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-made-again");
    // The client that spends the limits stays unjoined throughout.
    let extra = [
        "--joins-per-address-per-minute",
        "2",
        "--unjoined-websockets-per-address-max",
        "1",
        "--join-timeout-seconds",
        "600",
    ];
    let (mut nodes, store) = start_fleet(redis.url(), &prefix, 3, &extra).await;
    let group = create_group(nodes[0].addr, "Peers behind one address").await;
    // The room's owner, the node placement names once the owner is gone, and the edge.
    let ids: Vec<&str> = nodes.iter().map(|node| node.entry.id.as_str()).collect();
    let owner = rendezvous(group.group_id, ids.iter().copied()).expect("a node");
    let next = rendezvous(
        group.group_id,
        ids.iter().copied().filter(|id| *id != owner),
    )
    .expect("a node");
    let index_of = |id: &str| {
        nodes
            .iter()
            .position(|node| node.entry.id == id)
            .expect("a node")
    };
    let (owner_index, next_index) = (index_of(owner), index_of(next));
    let next_id = next.to_string();
    let edge_index = 3 - owner_index - next_index;

    let mut fran = TestClient::connect(nodes[edge_index].addr).await;
    fran.join_as_facilitator(&group, "Fran").await;
    fran.start_meeting().await;
    assert_eq!(holder(&store, group.group_id).await, owner);

    // The address spends its joins on the next node (joins of a group that does not exist,
    // placed there, so joined there), and its one WebSocket waiting to join.
    let elsewhere = loop {
        let candidate = GroupId::random();
        if rendezvous(candidate, ids.iter().copied()) == Some(next) {
            break candidate;
        }
    };
    let next_addr = nodes[next_index].addr;
    let mut waiting = TestClient::connect(next_addr).await;
    let token = || Credential::MemberToken {
        token: "not a member's token".into(),
    };
    for _ in 0..2 {
        let refused = waiting.join(elsewhere, token(), None).await;
        assert!(
            matches!(&refused, Err((code, _)) if *code != ErrorCode::RateLimited),
            "{refused:?}"
        );
    }
    let spent = async |waiting: &mut TestClient| {
        let refused = waiting.join(elsewhere, token(), None).await;
        assert!(
            matches!(&refused, Err((ErrorCode::RateLimited, _))),
            "the address's joins a minute are spent on the next node: {refused:?}"
        );
    };
    spent(&mut waiting).await;
    let full = TestClient::try_connect(next_addr).await.err();
    assert!(
        full.as_deref().is_some_and(|why| why.contains("429")),
        "the address's WebSockets waiting to join are full on the next node: {full:?}"
    );

    // The owner dies; the edge joins Fran again where the room goes now, through the next
    // node's limits.
    let killed = &mut nodes[owner_index].child;
    killed.start_kill().expect("send SIGKILL");
    killed.wait().await.expect("the killed node exits");
    let rejoined = loop {
        match fran.try_recv(Duration::from_secs(10)).await {
            Ok(Some(ServerMessage::Ack {
                result: roundtable_protocol::Reply::Joined(joined),
                ..
            })) => break joined,
            Ok(Some(ServerMessage::Closing { reason, message })) => {
                panic!("the edge closed Fran instead of joining her again: {reason:?}, {message}")
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("Fran is not joined again within 10 s"),
            Err(closed) => panic!("closed: {closed:?}"),
        }
    };
    assert_eq!(rejoined.catch_up, CatchUp::Replay);
    fran.ok(Request::RenameGroup {
        name: "Still here".into(),
    })
    .await;
    assert_eq!(holder(&store, group.group_id).await, next_id);
    let metrics = metrics_of(&nodes[edge_index]).await;
    assert_eq!(
        support::metric_value(
            &metrics,
            "roundtable_edge_reattaches_total{outcome=\"forwarded\"}"
        ),
        1.0
    );
    // The address's ordinary clients are held to both limits on the next node all the same.
    spent(&mut waiting).await;
    let full = TestClient::try_connect(next_addr).await.err();
    assert!(
        full.as_deref().is_some_and(|why| why.contains("429")),
        "{full:?}"
    );
}

#[tokio::test]
async fn groups_without_a_running_owner_are_placed_by_rendezvous_consistently() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-place");
    let (nodes, store) = start_fleet(redis.url(), &prefix, 3, &[]).await;
    let ids: Vec<&str> = nodes.iter().map(|node| node.entry.id.as_str()).collect();
    let mut owners: HashMap<String, usize> = HashMap::new();
    for index in 0..6 {
        let group = create_group(nodes[index % 3].addr, &format!("Placed group {index}")).await;
        let placed = rendezvous(group.group_id, ids.iter().copied())
            .expect("a node")
            .to_string();
        // A client on every node: the first join places the room, the others follow it.
        let mut clients = Vec::new();
        for (offset, node) in nodes.iter().enumerate() {
            let mut client = TestClient::connect(node.addr).await;
            if offset == 0 {
                client.join_as_facilitator(&group, "Fran").await;
            } else {
                client
                    .join_as_member(&group, &format!("Member {offset}"))
                    .await;
            }
            clients.push(client);
            assert_eq!(
                holder(&store, group.group_id).await,
                placed,
                "group {index}: the lease holder is the node rendezvous hashing names"
            );
        }
        *owners.entry(placed).or_default() += 1;
        for client in clients {
            client.close().await;
        }
    }
    assert!(owners.values().sum::<usize>() == 6);
    // Every node computes the same placement: the registry read back agrees with the ids the
    // test placed by.
    let entries = store.live_nodes(2_000, 100).await.expect("registry");
    let mut live: Vec<&str> = entries.iter().map(|entry| entry.id.as_str()).collect();
    live.sort_unstable();
    let mut expected = ids.clone();
    expected.sort_unstable();
    assert_eq!(
        live, expected,
        "the registry lists exactly the running nodes"
    );
    for entry in &entries {
        assert!(!entry.draining);
        assert!(entry.heartbeat_age_ms <= 2_000);
        assert!(entry.internal_addr.starts_with("127.0.0.1:"));
    }
}

/// A join reaching an edge that has not yet found the room's holder gone: a node killed a
/// moment ago, whose registry entry still looks fresh (the test publishes it every 50 ms,
/// with nothing listening at its internal address). The edge's forward to it fails, and the
/// edge routes the join once more, passing the dead node over: to the node placement names
/// among the three that live, which ends the dead holder's lease and takes the room over.
/// Before, the edge served such a room itself, away from its place, and the rebalance moved
/// it again seconds later. Eight joins, 130 ms apart, so that some land while the edge's
/// probe has just marked the dead node (routed to placement at once) and most while the
/// entry's fresh heartbeat has cleared that mark again (the path under test).
#[tokio::test]
async fn a_join_whose_forward_to_a_dead_holder_fails_goes_where_placement_names_the_room() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-dead-holder");
    let (nodes, store) = start_fleet(redis.url(), &prefix, 3, &MANY_CLIENTS).await;
    let refusing = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let dead = NodeEntry {
        id: "killed-a-moment-ago".into(),
        client_url: format!("http://{refusing}"),
        internal_addr: refusing.to_string(),
        live_rooms: 8,
        connections: 96,
        draining: false,
        heartbeat_age_ms: 0,
    };
    let heartbeats = tokio::spawn({
        let (store, dead) = (store.clone(), dead.clone());
        async move {
            loop {
                store.publish_node(&dead, 10_000).await.expect("publish");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    // Every node reads the registry every 500 ms.
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    let ids: Vec<&str> = nodes.iter().map(|node| node.entry.id.as_str()).collect();
    let mut with_dead = ids.clone();
    with_dead.push(&dead.id);
    let mut joined = 0;
    for attempt in 0..40 {
        if joined == 8 {
            break;
        }
        let group = create_group(nodes[attempt % 3].addr, &format!("Group {attempt}")).await;
        let placed = rendezvous(group.group_id, ids.iter().copied()).expect("a node");
        // A group placement would put on the dead node itself is left out: its placing would
        // then depend on whether a node has marked that node yet.
        if rendezvous(group.group_id, with_dead.iter().copied()) != Some(placed) {
            continue;
        }
        assert!(
            store
                .take_lease(group.group_id, &dead.id, 30_000)
                .await
                .expect("take the lease for the dead node"),
            "the lease was free"
        );
        let edge = nodes
            .iter()
            .find(|node| node.entry.id != placed)
            .expect("another node");
        let mut facilitator = TestClient::connect(edge.addr).await;
        facilitator.join_as_facilitator(&group, "Fran").await;
        assert_eq!(
            holder(&store, group.group_id).await,
            placed,
            "join {joined}: the node placement names took the dead holder's room over, not the \
             edge the join reached"
        );
        facilitator.start_meeting().await;
        facilitator.close().await;
        joined += 1;
        tokio::time::sleep(Duration::from_millis(130)).await;
    }
    heartbeats.abort();
    assert_eq!(joined, 8, "eight groups placed away from the dead node");
}

#[tokio::test]
async fn the_node_registry_lists_fresh_nodes_and_leaves_out_stale_and_removed_ones() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-registry");
    let store = RedisStore::connect(redis.url(), options(&prefix))
        .await
        .expect("connect to redis");
    let entry = |id: &str, rooms: u64, draining: bool| NodeEntry {
        id: id.into(),
        client_url: format!("http://{id}.example:8080"),
        internal_addr: format!("{id}.example:7001"),
        live_rooms: rooms,
        connections: rooms * 12,
        draining,
        heartbeat_age_ms: 0,
    };
    store
        .publish_node(&entry("node-a", 3, false), 10_000)
        .await
        .expect("publish");
    store
        .publish_node(&entry("node-b", 5, true), 10_000)
        .await
        .expect("publish");
    let mut nodes = store.live_nodes(2_000, 10).await.expect("read");
    nodes.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(nodes.len(), 2);
    for node in &mut nodes {
        assert!(node.heartbeat_age_ms < 1_000, "{node:?}");
        node.heartbeat_age_ms = 0;
    }
    assert_eq!(nodes, [entry("node-a", 3, false), entry("node-b", 5, true)]);
    assert_eq!(
        store.live_nodes(2_000, 1).await.expect("read").len(),
        1,
        "at most max"
    );

    // A heartbeat older than the window counts as not live; a new one makes it live again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(store.live_nodes(200, 10).await.expect("read").is_empty());
    store
        .publish_node(&entry("node-a", 4, false), 10_000)
        .await
        .expect("publish");
    let fresh = store.live_nodes(200, 10).await.expect("read");
    assert_eq!(fresh.len(), 1);
    assert_eq!((fresh[0].id.as_str(), fresh[0].live_rooms), ("node-a", 4));

    // A clean shutdown removes the entry; the lease's holder reads as the owner id.
    store.remove_node("node-a").await.expect("remove");
    let left: Vec<String> = store
        .live_nodes(2_000, 10)
        .await
        .expect("read")
        .into_iter()
        .map(|node| node.id)
        .collect();
    assert_eq!(left, ["node-b"]);
    let group = GroupId::random();
    assert_eq!(store.lease_holder(group).await.expect("read"), None);
    assert!(
        store
            .take_lease(group, "node-b", 5_000)
            .await
            .expect("take")
    );
    assert_eq!(
        store.lease_holder(group).await.expect("read").as_deref(),
        Some("node-b")
    );
}

#[tokio::test]
async fn connections_that_have_not_proven_the_secret_are_bounded() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-handshakes");
    let (nodes, _store) =
        start_fleet(redis.url(), &prefix, 1, &["--link-handshakes-max", "1"]).await;
    let internal = nodes[0].entry.internal_addr.clone();
    // One connection sits in its handshake, saying nothing.
    let silent = tokio::net::TcpStream::connect(&internal)
        .await
        .expect("connect");
    let (mut silent_reader, mut silent_writer) = silent.into_split();
    let challenge = read_frame(&mut silent_reader, 256)
        .await
        .expect("a challenge");
    // A second one meanwhile is closed at once, without a challenge.
    let second = tokio::net::TcpStream::connect(&internal)
        .await
        .expect("connect");
    let (mut second_reader, _second_writer) = second.into_split();
    let refused = tokio::time::timeout(Duration::from_secs(2), read_frame(&mut second_reader, 64))
        .await
        .expect("closed at once");
    assert!(refused.is_err(), "no challenge past the limit: {refused:?}");
    // The first still gets its answer, and once it is through, the next one is served.
    let mut hello = proof(SECRET.as_bytes(), &challenge.payload, "a-test-node").to_vec();
    hello.extend_from_slice(b"a-test-node");
    let mut bytes = Vec::new();
    LinkFrame::new(Kind::Hello, 0, hello).encode_into(&mut bytes);
    silent_writer.write_all(&bytes).await.expect("send hello");
    let answer = read_frame(&mut silent_reader, 64).await.expect("an answer");
    assert_eq!(answer.kind, Kind::Welcome);
    let third = tokio::net::TcpStream::connect(&internal)
        .await
        .expect("connect");
    let (mut third_reader, _third_writer) = third.into_split();
    let challenge = read_frame(&mut third_reader, 64)
        .await
        .expect("a challenge");
    assert_eq!(challenge.kind, Kind::Challenge);
}

/// How a forwarded member's resume went: the client, back, or why not.
async fn try_resume(
    addr: SocketAddr,
    group_id: GroupId,
    credential: roundtable_protocol::Credential,
    point: roundtable_protocol::ResumePoint,
) -> Result<TestClient, String> {
    let mut client = TestClient::try_connect(addr)
        .await
        .map_err(|why| format!("not connected: {why}"))?;
    let id = client
        .send(Request::Join {
            group_id,
            credential,
            resume: Some(point),
        })
        .await;
    loop {
        match client.try_recv(Duration::from_secs(3)).await {
            Ok(Some(ServerMessage::Ack { id: acked, result })) if acked == id => {
                let roundtable_protocol::Reply::Joined(joined) = result else {
                    return Err(format!("join answered with {result:?}"));
                };
                if joined.catch_up == roundtable_protocol::CatchUp::Snapshot {
                    client.recv().await;
                }
                return Ok(client);
            }
            Ok(Some(ServerMessage::Error {
                id: Some(failed),
                code,
                ..
            })) if failed == id => return Err(format!("refused: {code:?}")),
            Ok(Some(_)) => {}
            Ok(None) => return Err("no answer within 3 s".into()),
            Err(closed) => return Err(format!("closed during the join: {closed:?}")),
        }
    }
}

/// One member of a failover test: what it received before its room moved, its connection
/// after, and its time back.
struct Away {
    /// The events it received before the move.
    before: Vec<EventFrame>,
    /// The last seq it saw before the move.
    last_before: u64,
    /// Its connection after the move: a new one, or the same one joined again by its edge.
    after: Option<TestClient>,
    /// Where in `after.received` the move's catch-up begins (0 on a new connection; the
    /// join's ack that came again on a connection joined again in place).
    after_from: usize,
    /// Its edge joined it again in place (no reconnection).
    in_place: bool,
    /// How the join made again in place caught it up.
    catch_up: Option<CatchUp>,
    back_after: Duration,
    /// The time it could not act: from its close to its resume's acknowledgement, or, joined
    /// again in place, from the last answer the old owner gave it to the join's ack that came
    /// again.
    gap: Duration,
    /// When the drained node it was connected to let it go, after the handover.
    released: Option<Instant>,
    failures: Vec<String>,
}

/// How often a member waiting for its room to move pings it, within the rate limit: the last
/// pong before the move tells when the old owner stopped serving it.
const WAITING_PING: Duration = Duration::from_millis(60);

/// A member connected to the drained node itself, which joined it again in place when its
/// room was handed over: the node lets it go (1012 `draining`) in the release after the
/// handover, and it resumes through the next node by replay, as a page does. Its two
/// connections' frames are checked as one (`after` holds both, from the join made again).
async fn resumed_after_release(
    mut away: Away,
    edges: &[SocketAddr],
    group_id: GroupId,
    since: Instant,
) -> Away {
    let mut first = away.after.take().expect("joined again in place");
    let closed = first.until_closed().await;
    let closed_at = Instant::now();
    assert!(
        matches!(&closed, Closed::Frame(1012, reason) if reason == "draining"),
        "the drained node lets its client go with 1012 draining: {closed:?}"
    );
    for attempt in 0.. {
        // The drained node is `edges[0]`; it takes no connection any more.
        let edge = edges[1 + attempt % (edges.len() - 1)];
        match try_resume(
            edge,
            group_id,
            first.token_credential(),
            first.resume_point(),
        )
        .await
        {
            Ok(mut second) => {
                let catch_up = second.received.iter().find_map(|message| match message {
                    ServerMessage::Ack {
                        result: roundtable_protocol::Reply::Joined(joined),
                        ..
                    } => Some(joined.catch_up),
                    _ => None,
                });
                assert_eq!(
                    catch_up,
                    Some(roundtable_protocol::CatchUp::Replay),
                    "a client let go after the handover resumes in the log epoch it was joined \
                     again in, by replay"
                );
                let mut received = first.received.split_off(away.after_from);
                received.append(&mut second.received);
                second.received = received;
                away.after = Some(second);
                away.after_from = 0;
                away.gap = away.gap.max(closed_at.elapsed());
                away.released = Some(closed_at);
                away.back_after = since.elapsed();
                return away;
            }
            Err(why) => away.failures.push(why),
        }
        assert!(
            since.elapsed() < Duration::from_secs(15),
            "the member let go resumes within 15 s: {:?}",
            away.failures
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    unreachable!("the loop returns or fails")
}

/// Every event in `messages`.
fn events_in(messages: &[ServerMessage]) -> Vec<EventFrame> {
    messages
        .iter()
        .filter_map(|message| match message {
            ServerMessage::Event(frame) => Some(frame.clone()),
            _ => None,
        })
        .collect()
}

/// Waits until `member`'s room moves: its edge joins it again in place (the join's ack comes
/// again, then a snapshot), or closes it, and then it resumes through `edges` in turn (the
/// first, then the next after each failure) until the join passes (at most 10 s), timing from
/// `since`. Pings meanwhile, to tell when it was served last.
async fn come_back(
    mut member: TestClient,
    edges: Vec<SocketAddr>,
    group_id: GroupId,
    since: Instant,
    let_go: bool,
) -> Away {
    let mut last_served = since;
    let mut pinged = Instant::now() - WAITING_PING;
    let closed = loop {
        if pinged.elapsed() >= WAITING_PING {
            pinged = Instant::now();
            let ping = Request::Ping { client_time_ms: 0 };
            if member.try_send(ping).await.is_none() {
                break Closed::Ended;
            }
        }
        match member.try_recv(Duration::from_millis(20)).await {
            Ok(Some(ServerMessage::Ack {
                result: roundtable_protocol::Reply::Pong { .. },
                ..
            })) => last_served = Instant::now(),
            Ok(Some(ServerMessage::Ack {
                result: roundtable_protocol::Reply::Joined(joined),
                ..
            })) => {
                let acked = Instant::now();
                let at = member.received.len() - 1;
                let before = events_in(&member.received[..at]);
                // Where it stood: its last event or snapshot, or, on a connection that was
                // replayed to nothing yet, what it carried over.
                let last_before = before
                    .last()
                    .map_or(0, |frame| frame.seq)
                    .max(member.last_seq);
                // The catch-up: a snapshot, or the replay that ends with who is online.
                loop {
                    match (joined.catch_up, member.recv().await) {
                        (CatchUp::Snapshot, ServerMessage::Snapshot(_)) => break,
                        (CatchUp::Replay, ServerMessage::Presence(presence))
                            if presence.change.is_none() =>
                        {
                            break;
                        }
                        _ => {}
                    }
                }
                let away = Away {
                    catch_up: Some(joined.catch_up),
                    before,
                    last_before: last_before.max(seq_before(&member.received[..at])),
                    back_after: since.elapsed(),
                    gap: acked.duration_since(last_served.max(since)),
                    after: Some(member),
                    after_from: at,
                    in_place: true,
                    released: None,
                    failures: Vec::new(),
                };
                if let_go {
                    return resumed_after_release(away, &edges, group_id, since).await;
                }
                return away;
            }
            Ok(_) => {}
            Err(closed) => break closed,
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "the member's room did not move within 10 s"
        );
    };
    let closed_at = Instant::now();
    assert!(
        !let_go,
        "a member connected to the drained node is joined again in place when its room is \
         handed over, not closed ({closed:?})"
    );
    let before = events_in(&member.received);
    let last_before = member.last_seq;
    let mut failures = vec![format!("closed: {closed:?}")];
    for attempt in 0.. {
        let point = member.resume_point();
        let edge = edges[attempt % edges.len()];
        match try_resume(edge, group_id, member.token_credential(), point).await {
            Ok(after) => {
                return Away {
                    before,
                    last_before,
                    after: Some(after),
                    after_from: 0,
                    in_place: false,
                    catch_up: None,
                    back_after: since.elapsed(),
                    gap: closed_at.elapsed(),
                    released: None,
                    failures,
                };
            }
            Err(why) => failures.push(why),
        }
        if since.elapsed() > Duration::from_secs(10) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Away {
        before,
        last_before,
        after: None,
        after_from: 0,
        in_place: false,
        catch_up: None,
        back_after: since.elapsed(),
        gap: closed_at.elapsed(),
        released: None,
        failures,
    }
}

/// The last seq `messages` brought: of an event or a snapshot.
fn seq_before(messages: &[ServerMessage]) -> u64 {
    messages
        .iter()
        .filter_map(|message| match message {
            ServerMessage::Event(frame) => Some(frame.seq),
            ServerMessage::Snapshot(snapshot) => Some(snapshot.seq),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// Every member caught up with the room's log from `from` on, once and in order: the events
/// it received before the move, then, when it was caught up with a snapshot, the snapshot,
/// which holds every event through its seq and never goes back, then the events after it,
/// with no gap and no duplicate. Whatever members received under one seq is the same event for
/// all of them. A member its edge joined again in place was replayed what it missed, not sent
/// a snapshot: the edge knew where it stood, and the room loaded anew holds the log epoch it
/// was in (ARCHITECTURE.md, "Log epochs").
fn check_nothing_lost(aways: &mut [Away], from: u64) {
    let mut by_seq: HashMap<u64, EventFrame> = HashMap::new();
    for away in aways.iter_mut() {
        if away.in_place {
            assert_eq!(
                away.catch_up,
                Some(CatchUp::Replay),
                "a member joined again in place is replayed what it missed ({:?})",
                away.failures
            );
        }
        let after = away.after.as_ref().expect("back");
        let tail = &after.received[away.after_from..];
        let last_before = away.last_before;
        let snapshot_seq = tail.iter().find_map(|message| match message {
            ServerMessage::Snapshot(snapshot) => Some(snapshot.seq),
            _ => None,
        });
        let resumed_at = snapshot_seq.unwrap_or(last_before);
        if away.catch_up == Some(CatchUp::Replay) {
            let again: Vec<u64> = events_in(tail)
                .iter()
                .map(|frame| frame.seq)
                .filter(|&seq| seq <= last_before)
                .collect();
            assert!(
                again.is_empty(),
                "a replay sends nothing the member had (seen through {last_before}): {again:?}"
            );
        }
        assert!(
            resumed_at >= last_before,
            "a resume's snapshot at {resumed_at} goes back from the {last_before} seen ({:?})",
            away.failures
        );
        let after_events: Vec<EventFrame> = events_in(tail)
            .into_iter()
            .filter(|frame| frame.seq > resumed_at)
            .collect();
        let before_events: Vec<EventFrame> = away
            .before
            .iter()
            .filter(|frame| frame.seq > from)
            .cloned()
            .collect();
        let parts = [(before_events, from), (after_events, resumed_at)];
        for (frames, start) in parts {
            for (index, frame) in frames.into_iter().enumerate() {
                assert_eq!(
                    frame.seq,
                    start + 1 + index as u64,
                    "no gap, no duplicate over the move (seen through {last_before}, resumed at \
                     {resumed_at}; {:?})",
                    away.failures
                );
                let first = by_seq.entry(frame.seq).or_insert_with(|| frame.clone());
                assert_eq!(
                    *first, frame,
                    "every member saw the same event at {}",
                    frame.seq
                );
            }
        }
    }
}

/// The room of a failover test: placement's node for `group` runs it, and a facilitator and
/// seven members are all forwarded through the two other nodes in turn, the meeting started,
/// and each member's hand raised once. Returns the owner's id and index, the members with the
/// node each came through, and the seq they all read through before their hands went up.
async fn forwarded_room(
    nodes: &[Node],
    store: &RedisStore,
    group: &support::TestGroup,
) -> (String, usize, Vec<(usize, TestClient)>, u64) {
    let ids: Vec<&str> = nodes.iter().map(|node| node.entry.id.as_str()).collect();
    let placed = rendezvous(group.group_id, ids.iter().copied())
        .expect("a node")
        .to_string();
    let owner_index = nodes
        .iter()
        .position(|node| node.entry.id == placed)
        .expect("a node");
    let edges = [(owner_index + 1) % 3, (owner_index + 2) % 3];

    let mut facilitator = TestClient::connect(nodes[edges[0]].addr).await;
    facilitator.join_as_facilitator(group, "Fran").await;
    facilitator.start_meeting().await;
    assert_eq!(holder(store, group.group_id).await, placed);
    let mut members = vec![(edges[0], facilitator)];
    for index in 0..7 {
        let edge = edges[index % 2];
        let mut member = TestClient::connect(nodes[edge].addr).await;
        member
            .join_as_member(group, &format!("Member {index}"))
            .await;
        members.push((edge, member));
    }
    let from = members.last().expect("members").1.last_seq;
    for (_, member) in &mut members {
        read_through(member, from).await;
    }
    for (_, member) in &mut members[1..] {
        member.ok(Request::RaiseHand).await;
    }
    (placed, owner_index, members, from)
}

/// After a move, every member but the facilitator lowers their hand, everyone reads through the
/// last event, and [`check_nothing_lost`] holds: one event per acknowledged request.
async fn everyone_acts_and_nothing_is_lost(aways: &mut [Away], from: u64) {
    for away in &mut aways[1..] {
        away.after
            .as_mut()
            .expect("back")
            .ok(Request::LowerHand)
            .await;
    }
    let last = aways
        .iter()
        .map(|away| away.after.as_ref().expect("back").last_seq)
        .max()
        .expect("members");
    for away in aways.iter_mut() {
        read_through(away.after.as_mut().expect("back"), last).await;
    }
    assert_eq!(last, from + 2 * 7, "one event per acknowledged request");
    check_nothing_lost(aways, from);
}

/// Kills (`kill -9`) the node that runs a room whose members are all forwarded through the two
/// other nodes, started with `extra`, and has each member resume through its own edge. Answers
/// the nodes, the members back (or not), the seq they read through before, who ran the
/// room before and after, and which of the two other nodes placement names for it.
async fn kill_the_owner_of_a_forwarded_room(
    name: &str,
    extra: &[&str],
    restart_in_place: bool,
) -> (TestRedis, Vec<Node>, Vec<Away>, u64, String, String, String) {
    let redis = TestRedis::start();
    let prefix = unique_prefix(name);
    let (mut nodes, store) = start_fleet(redis.url(), &prefix, 3, extra).await;
    let group = create_group(nodes[0].addr, "Peers who lose a server").await;
    let (placed, owner_index, members, from) = forwarded_room(&nodes, &store, &group).await;

    let owner = &mut nodes[owner_index].child;
    owner.start_kill().expect("send SIGKILL");
    owner.wait().await.expect("the killed node exits");
    let killed = Instant::now();
    if restart_in_place {
        // As a supervisor would: a new process (a new node id) at the dead one's addresses.
        let internal = nodes[owner_index].entry.internal_addr.clone();
        let (child, _, _) = start_node(redis.url(), &prefix, &internal, extra).await;
        nodes[owner_index].child = child;
    }
    let tasks: Vec<_> = members
        .into_iter()
        .map(|(edge, member)| {
            tokio::spawn(come_back(
                member,
                vec![nodes[edge].addr],
                group.group_id,
                killed,
                false,
            ))
        })
        .collect();
    let mut aways = Vec::new();
    for task in tasks {
        aways.push(task.await.expect("the member's task"));
    }
    let new_owner = holder(&store, group.group_id).await;
    let survivors = nodes
        .iter()
        .map(|node| node.entry.id.as_str())
        .filter(|id| *id != placed);
    let placed_now = rendezvous(group.group_id, survivors)
        .expect("a node")
        .to_string();
    (redis, nodes, aways, from, placed, new_owner, placed_now)
}

/// Every member is back within `bound` of the kill, each joined again in place by its edge
/// (all of them are forwarded: none had to reconnect).
fn assert_all_back_within(aways: &[Away], bound: Duration) {
    for away in aways {
        assert!(
            away.after.is_some() && away.back_after <= bound,
            "every member is back within {bound:?} of the kill: one after {:?} ({:?})",
            away.back_after,
            away.failures
        );
        assert!(
            away.in_place,
            "every forwarded member is joined again by its edge, without a reconnection ({:?})",
            away.failures
        );
    }
}

/// The members of a room, all forwarded through the two nodes that do not run it, after
/// `kill -9` of the node that does: each edge joins its clients again at once, where the room
/// goes (the edges do not forward to the dead owner, whose heartbeat is still fresh). The
/// room is taken over by the node placement names over the two that live, whichever edge a
/// member's join came through first (else the rebalance would move it again a moment later).
/// Every member is back within 2 s of the kill, and nothing is lost or duplicated.
#[tokio::test]
async fn after_kill_9_of_the_owner_forwarded_members_are_back_within_two_seconds() {
    let _alone = TIMED.lock().await;
    let (_redis, _nodes, mut aways, from, placed, new_owner, placed_now) =
        kill_the_owner_of_a_forwarded_room("rt-fleet-kill", &[], false).await;
    assert_all_back_within(&aways, Duration::from_secs(2));
    assert_ne!(new_owner, placed, "another node took the room over");
    assert_eq!(
        new_owner, placed_now,
        "the node placement names over the two that live took the room over"
    );
    everyone_acts_and_nothing_is_lost(&mut aways, from).await;
}

/// A killed owner's lease is not waited out: the edge that wants the room finds nothing
/// listening at the dead node's internal address (its connect is refused), ends the lease
/// (`Store::break_lease`) and takes the room over at once. With a 10 s lease, every member is
/// still back within 2 s of the kill (without the check they waited the lease out: 10 s), the
/// edges count the ended lease, and nothing is lost.
#[tokio::test]
async fn after_kill_9_of_the_owner_its_lease_is_ended_at_once_not_waited_out() {
    let _alone = TIMED.lock().await;
    let (_redis, nodes, mut aways, from, placed, new_owner, placed_now) =
        kill_the_owner_of_a_forwarded_room(
            "rt-fleet-kill-lease",
            &["--room-lease-ms", "10000"],
            false,
        )
        .await;
    assert_all_back_within(&aways, Duration::from_secs(2));
    assert_ne!(new_owner, placed, "another node took the room over");
    assert_eq!(
        new_owner, placed_now,
        "the node placement names over the two that live took the room over"
    );
    let mut ended = 0.0;
    let mut takeovers = 0.0;
    for node in nodes.iter().filter(|node| node.entry.id != placed) {
        let metrics = metrics_of(node).await;
        ended += support::metric_value(
            &metrics,
            "roundtable_lease_takes_total{outcome=\"ended_gone_holder\"}",
        );
        takeovers +=
            support::metric_value(&metrics, "roundtable_lease_takeover_delay_seconds_count");
    }
    assert_eq!(ended, 1.0, "one edge ended the dead owner's lease");
    assert_eq!(
        takeovers, 1.0,
        "and took the room over, a takeover by the lease's record"
    );
    everyone_acts_and_nothing_is_lost(&mut aways, from).await;
}

/// A killed owner restarted at once at its own internal address, under a new node id, as a
/// supervisor restarts a crashed process: the dead node's address now answers, but the
/// registry shows a newer node there, so the edges neither forward to the dead node's id (a
/// link to its address reaches the new process) nor wait for its lease: they end it and take
/// the room over. With a 10 s lease, every member is back within 3 s of the kill (without the
/// check the joins bounced between the edges and the new process until the lease ran out).
#[tokio::test]
async fn after_kill_9_a_node_restarted_at_the_same_address_does_not_hold_the_room_up() {
    let _alone = TIMED.lock().await;
    let (_redis, _nodes, mut aways, from, placed, new_owner, _) =
        kill_the_owner_of_a_forwarded_room(
            "rt-fleet-kill-restart",
            &["--room-lease-ms", "10000"],
            true,
        )
        .await;
    assert_all_back_within(&aways, Duration::from_secs(3));
    assert_ne!(new_owner, placed, "another node took the room over");
    everyone_acts_and_nothing_is_lost(&mut aways, from).await;
}

/// A planned drain (SIGTERM) of the node that runs a room whose members are all forwarded
/// through the two other nodes: the owner hands the room over, and each edge joins its
/// clients again where the room went, without a reconnection. No member is without the room
/// for more than 500 ms (from the last answer the old owner gave it to the join's ack that
/// came again), and nothing is lost or duplicated.
#[tokio::test]
async fn a_drain_of_the_owner_leaves_forwarded_members_a_gap_of_at_most_500_ms() {
    let _alone = TIMED.lock().await;
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-drain");
    let (mut nodes, store) = start_fleet(redis.url(), &prefix, 3, &[]).await;
    let group = create_group(nodes[0].addr, "Peers whose server is drained").await;
    let (placed, owner_index, members, from) = forwarded_room(&nodes, &store, &group).await;

    let drained = sigterm(&nodes[owner_index]);
    let tasks: Vec<_> = members
        .into_iter()
        .map(|(edge, member)| {
            tokio::spawn(come_back(
                member,
                vec![nodes[edge].addr],
                group.group_id,
                drained,
                false,
            ))
        })
        .collect();
    let mut aways = Vec::new();
    for task in tasks {
        aways.push(task.await.expect("the member's task"));
    }
    for away in &aways {
        assert!(
            away.after.is_some() && away.gap <= Duration::from_millis(500),
            "every member is back within 500 ms of its last answer from the old owner: one \
             after {:?} ({:?})",
            away.gap,
            away.failures
        );
        assert!(
            away.in_place,
            "every forwarded member is joined again by its edge, without a reconnection ({:?})",
            away.failures
        );
    }
    let owner = &mut nodes[owner_index].child;
    let exit = tokio::time::timeout(Duration::from_secs(10), owner.wait())
        .await
        .expect("the drained node exits within 10 s")
        .expect("wait for the drained node");
    assert!(exit.success(), "a drained node exits cleanly: {exit:?}");
    let new_owner = holder(&store, group.group_id).await;
    assert_ne!(new_owner, placed, "another node runs the room");

    everyone_acts_and_nothing_is_lost(&mut aways, from).await;
}

/// Sends SIGTERM to `node`'s process (a planned stop: it drains); answers when.
fn sigterm(node: &Node) -> Instant {
    support::sigterm(&node.child)
}

/// A room of a drain test.
struct Room {
    group_id: GroupId,
    facilitator_secret: String,
    /// The facilitator first, then the members, each with the node it came through.
    members: Vec<(usize, TestClient)>,
    /// The seq they all read through before their hands went up.
    from: u64,
}

/// `count` groups that placement puts on `owner` (created through another node), each with
/// its room loaded there: a facilitator and `members` members per room, all forwarded through
/// the two other nodes in turn (with `direct`, one more member on the owner itself), the
/// meeting started, and each member's hand raised once.
async fn rooms_on(
    nodes: &[Node],
    owner_index: usize,
    count: usize,
    members: usize,
    direct: bool,
) -> Vec<Room> {
    let ids: Vec<&str> = nodes.iter().map(|node| node.entry.id.as_str()).collect();
    let edges = [(owner_index + 1) % 3, (owner_index + 2) % 3];
    let mut rooms = Vec::new();
    for attempt in 0..20 * count {
        if rooms.len() == count {
            break;
        }
        let group = create_group(nodes[edges[0]].addr, &format!("Peers {attempt}")).await;
        let placed = rendezvous(group.group_id, ids.iter().copied()).expect("a node");
        if placed != nodes[owner_index].entry.id {
            continue;
        }
        let mut facilitator = TestClient::connect(nodes[edges[0]].addr).await;
        facilitator.join_as_facilitator(&group, "Fran").await;
        facilitator.start_meeting().await;
        let mut room = vec![(edges[0], facilitator)];
        for index in 0..members {
            let edge = edges[(index + 1) % 2];
            let mut member = TestClient::connect(nodes[edge].addr).await;
            member
                .join_as_member(&group, &format!("Member {index}"))
                .await;
            room.push((edge, member));
        }
        if direct {
            let mut member = TestClient::connect(nodes[owner_index].addr).await;
            member.join_as_member(&group, "On the owner").await;
            room.push((owner_index, member));
        }
        let from = room.last().expect("members").1.last_seq;
        for (_, member) in &mut room {
            read_through(member, from).await;
        }
        for (_, member) in &mut room[1..] {
            member.ok(Request::RaiseHand).await;
        }
        rooms.push(Room {
            group_id: group.group_id,
            facilitator_secret: group.facilitator_secret.clone(),
            members: room,
            from,
        });
    }
    assert_eq!(
        rooms.len(),
        count,
        "placement put {count} groups on the node"
    );
    rooms
}

/// Every member of every room comes back through its edge (or, should that fail, another
/// node) after the drain started at `drained`; then everyone acts once more, and per room nothing was lost, duplicated or
/// reordered. Answers every member's gap.
async fn all_come_back(
    nodes: &[Node],
    rooms: Vec<Room>,
    drained: Instant,
    drained_node: usize,
) -> (Vec<Duration>, Vec<Instant>) {
    let mut tasks = Vec::new();
    for Room {
        group_id,
        members: room,
        from,
        ..
    } in rooms
    {
        let members: Vec<_> = room
            .into_iter()
            .map(|(edge, member)| {
                // Its own node first, like a page reconnecting to the address it had; the
                // others after a failure, like a load balancer's next pick.
                let edges = (0..nodes.len())
                    .map(|step| nodes[(edge + step) % nodes.len()].addr)
                    .collect();
                let let_go = edge == drained_node;
                tokio::spawn(come_back(member, edges, group_id, drained, let_go))
            })
            .collect();
        tasks.push((members, from));
    }
    let mut gaps = Vec::new();
    let mut released = Vec::new();
    for (members, from) in tasks {
        let mut aways = Vec::new();
        for task in members {
            let away = task.await.expect("the member's task");
            assert!(
                away.after.is_some(),
                "every member is back within 10 s ({:?})",
                away.failures
            );
            gaps.push(away.gap);
            released.extend(away.released);
            aways.push(away);
        }
        let hands = aways.len() as u64 - 1;
        for away in &mut aways[1..] {
            away.after
                .as_mut()
                .expect("back")
                .ok(Request::LowerHand)
                .await;
        }
        // The facilitator (first in each room) is still the facilitator where the room went,
        // whether it reconnected or was joined again there with its member token.
        aways[0]
            .after
            .as_mut()
            .expect("back")
            .ok(Request::RenameGroup {
                name: "Renamed after the move".into(),
            })
            .await;
        let last = aways
            .iter()
            .map(|away| away.after.as_ref().expect("back").last_seq)
            .max()
            .expect("members");
        for away in &mut aways {
            read_through(away.after.as_mut().expect("back"), last).await;
        }
        assert_eq!(
            last,
            from + 2 * hands + 1,
            "one event per acknowledged request"
        );
        check_nothing_lost(&mut aways, from);
    }
    (gaps, released)
}

/// The p99 of `samples` (the nearest-rank value).
fn p99(samples: &mut [Duration]) -> Duration {
    samples.sort();
    let rank = (samples.len() * 99).div_ceil(100).max(1);
    samples[rank - 1]
}

/// A planned drain (SIGTERM) of the node that runs 20 rooms whose 100 members are all forwarded
/// through the two other nodes: the rooms hand themselves over (two at a time)
/// and the members come back through the same edges. The gap each member sees (from its
/// connection's close to its resume's acknowledgement) is at most 500 ms at p99, and nothing
/// is lost. Before the drain notice the edges kept placing the released rooms on the draining
/// node until its next heartbeat, and the resumes sent there were refused and closed.
#[tokio::test]
async fn a_drain_of_an_owner_of_twenty_rooms_leaves_forwarded_members_a_gap_of_at_most_500_ms_at_p99()
 {
    let _alone = TIMED.lock().await;
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-drain-many");
    // Two rooms at a time: the drain lasts several handovers, as a node's drain of many
    // rooms does, and the rooms handed over first are joined again while the node still runs.
    let mut args = MANY_CLIENTS.to_vec();
    args.extend(["--drain-concurrency", "2"]);
    let (mut nodes, store) = start_fleet(redis.url(), &prefix, 3, &args).await;
    let owner_index = 0;
    let rooms = rooms_on(&nodes, owner_index, 20, 4, false).await;
    let groups: Vec<GroupId> = rooms.iter().map(|room| room.group_id).collect();

    let drained = sigterm(&nodes[owner_index]);
    let (mut gaps, _) = all_come_back(&nodes, rooms, drained, owner_index).await;
    let members = gaps.len();
    let p99 = p99(&mut gaps);
    println!(
        "drain of 20 rooms, {members} members: gap p50 {:?}, p99 {p99:?}, max {:?}",
        gaps[members / 2],
        gaps[members - 1]
    );
    assert!(
        p99 <= Duration::from_millis(500),
        "the members' gap is at most 500 ms at p99: {p99:?} (sorted: {gaps:?})"
    );
    let owner = &mut nodes[owner_index].child;
    let exit = tokio::time::timeout(Duration::from_secs(10), owner.wait())
        .await
        .expect("the drained node exits within 10 s")
        .expect("wait for the drained node");
    assert!(exit.success(), "a drained node exits cleanly: {exit:?}");
    no_room_left_on(&store, &groups, &nodes[owner_index]).await;

    // Each client an edge joined again was measured once, from its room's handover to the
    // answer where the room went; none as if its link had broken.
    let (mut reattached, mut measured) = (0.0, 0.0);
    for node in &nodes[1..] {
        let metrics = metrics_of(node).await;
        let value = |series: &str| support::metric_value(&metrics, series);
        reattached += value("roundtable_edge_reattaches_total{outcome=\"forwarded\"}")
            + value("roundtable_edge_reattaches_total{outcome=\"here\"}");
        measured += value("roundtable_edge_reattach_seconds_count{cause=\"handed_over\"}");
        assert_eq!(
            value("roundtable_edge_reattach_seconds_count{cause=\"link_lost\"}"),
            0.0
        );
    }
    assert!(reattached > 0.0, "the edges joined the members again");
    assert_eq!(measured, reattached, "each gap measured once");
}

/// A drained node's own clients stay through the handover: each is joined again in place
/// where its room went, through the node it is connected to, and only then let go (1012
/// `draining`), spread over `clients / --drain-release-per-second` seconds, so that their
/// reconnections do not land on the other nodes all at once. Each resumes by replay, and
/// nothing is lost; the node exits once the last is let go. The clients on the drained node
/// joined with each kind of credential a follow must carry on: an invite (the token its join
/// issued), a member token, and the facilitator's (its member token), after which the
/// facilitator can still act as one where the room went.
#[tokio::test]
async fn a_drained_node_lets_its_own_clients_go_spread_over_the_release_window() {
    let _alone = TIMED.lock().await;
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-drain-release");
    let mut args = MANY_CLIENTS.to_vec();
    args.extend(["--drain-release-per-second", "10"]);
    let (mut nodes, store) = start_fleet(redis.url(), &prefix, 3, &args).await;
    let owner_index = 2;
    // Twelve rooms, each with a member connected to the owner itself, and three of them with
    // their facilitator there too (below): about 1.5 s of release.
    let mut rooms = rooms_on(&nodes, owner_index, 12, 1, true).await;
    let groups: Vec<GroupId> = rooms.iter().map(|room| room.group_id).collect();
    // In every other room the member on the owner came back with its member token (a page
    // reloaded), so that the token a follow joins with is the credential's as well as, in the
    // others, the one its invite's join issued.
    for (index, room) in rooms.iter_mut().enumerate() {
        let Room {
            group_id,
            facilitator_secret,
            members: room,
            ..
        } = room;
        if index % 2 == 0 {
            continue;
        }
        if index % 4 == 3 {
            // Here the facilitator came back on the owner itself, with the facilitator's
            // credential and the member token its first join issued: a follow must keep it
            // the facilitator (`all_come_back` has it rename the group afterwards).
            let (edge, facilitator) = &mut room[0];
            let credential = Credential::Facilitator {
                secret: facilitator_secret.clone(),
                display_name: "Fran".into(),
                member_token: facilitator.member_token.clone(),
            };
            let mut again = TestClient::connect(nodes[owner_index].addr).await;
            again
                .join(*group_id, credential, Some(facilitator.resume_point()))
                .await
                .expect("the facilitator joins again on the owner");
            again.last_seq = facilitator.last_seq;
            again.member_token = facilitator.member_token.take();
            *facilitator = again;
            *edge = owner_index;
        }
        // A member on the owner (the facilitator, first, may be there too now).
        let (_, member) = room[1..]
            .iter_mut()
            .find(|(edge, _)| *edge == owner_index)
            .expect("a member on the owner");
        let mut again = TestClient::connect(nodes[owner_index].addr).await;
        again
            .join(
                *group_id,
                member.token_credential(),
                Some(member.resume_point()),
            )
            .await
            .expect("the member joins again with its token");
        again.last_seq = member.last_seq;
        again.member_token = member.member_token.take();
        *member = again;
    }

    let drained = sigterm(&nodes[owner_index]);
    let (gaps, mut released) = all_come_back(&nodes, rooms, drained, owner_index).await;
    assert_eq!(
        released.len(),
        15,
        "every member and facilitator on the drained node was let go"
    );
    released.sort();
    let spread = released[14].duration_since(released[0]);
    // The window is about 1.5 s (fifteen clients, and any connection still closing then, at
    // 10 a second): fifteen moments spread evenly over it span most of it.
    assert!(
        spread >= Duration::from_millis(750) && spread <= Duration::from_millis(2_000),
        "fifteen clients let go at 10 a second are spread over the window of about 1.5 s, not \
         closed at once nor over a longer one: {spread:?} from the first to the last"
    );
    let exited = tokio::time::timeout(Duration::from_secs(15), nodes[owner_index].child.wait())
        .await
        .expect("the drained node exits within 15 s")
        .expect("wait for the drained node");
    assert!(exited.success(), "a drained node exits cleanly: {exited:?}");
    println!(
        "release of 15 clients: first let go {:?} after SIGTERM, spread {spread:?}; gaps {gaps:?}",
        released[0].duration_since(drained)
    );
    no_room_left_on(&store, &groups, &nodes[owner_index]).await;
}

/// After a node says over its links that it drains (`POST /admin/drain`, which leaves it up),
/// the edges forward no join to it for a room it no longer runs: none of the resumes of its
/// rooms' forwarded members reaches it to be refused with `room_elsewhere` (its own
/// `/metrics` count every such refusal), however soon after the drain they come, well before
/// its next registry heartbeat could tell. A member connected to the draining node itself
/// is sent elsewhere at once when it reconnects there: from the drain's start the node's
/// public port refuses connections (one it took would be cut when it exits), and the member
/// resumes through the next node. Every member is back, nothing lost. Each room, handed over
/// one at a time, held its place among the drain's handovers until its member on the node was
/// answered where it went (the node's `/metrics`).
#[tokio::test]
async fn after_a_drain_notice_the_edges_forward_no_join_to_the_draining_node() {
    let _alone = TIMED.lock().await;
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-drain-notice");
    // One room at a time: each waits for the place the one before it holds.
    let mut args = MANY_CLIENTS.to_vec();
    args.extend(["--drain-concurrency", "1"]);
    let (nodes, store) = start_fleet(redis.url(), &prefix, 3, &args).await;
    let owner_index = 1;
    let rooms = rooms_on(&nodes, owner_index, 8, 3, true).await;
    let groups: Vec<GroupId> = rooms.iter().map(|room| room.group_id).collect();
    let refused = |metrics: &str| {
        support::metric_value(
            metrics,
            "roundtable_rejected_frames_total{code=\"room_elsewhere\"}",
        )
    };
    let before = refused(&metrics_of(&nodes[owner_index]).await);

    let admin = nodes[owner_index].admin.expect("an admin listener");
    let drain =
        tokio::spawn(async move { support::http_request(admin, "POST", "/admin/drain", "").await });
    let drained = Instant::now();
    let draining = nodes[owner_index].addr;
    let refusal = tokio::spawn(async move {
        // Once the node drains, it takes no new connection on its public port.
        loop {
            match TestClient::try_connect(draining).await {
                Ok(taken) => drop(taken),
                Err(why) if why.contains("refused") => return why,
                // Taken just before the drain's start: refused at the upgrade; or waiting in
                // the accept queue when the listener closed: reset by the kernel.
                Err(why) => assert!(
                    why.contains("503") || why.contains("reset"),
                    "a WebSocket taken just before the drain's start is refused with 503 or \
                     reset: {why}"
                ),
            }
            assert!(
                drained.elapsed() < Duration::from_secs(5),
                "the draining node still takes connections 5 s after the drain's start"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let (gaps, released) = all_come_back(&nodes, rooms, drained, owner_index).await;
    assert_eq!(
        released.len(),
        8,
        "the member on the draining node of each room was let go"
    );
    let (status, body) = drain.await.expect("the drain request");
    assert_eq!(status, 200, "the drain finished: {body}");
    let why = refusal.await.expect("the refusal");
    assert!(why.contains("refused"), "{why}");
    // The node stays up (an admin drain), and keeps refusing.
    let again = TestClient::try_connect(draining).await.err();
    assert!(
        again.as_deref().is_some_and(|why| why.contains("refused")),
        "still refused after the drain: {again:?}"
    );
    let metrics = metrics_of(&nodes[owner_index]).await;
    // Its own clients followed their rooms and were let go: none is counted joined there any
    // more (a client that left its room without closing once stayed counted joined).
    let connections = |state: &str| {
        support::metric_value(
            &metrics,
            &format!("roundtable_connections{{state=\"{state}\"}}"),
        )
    };
    assert_eq!(
        connections("joined"),
        0.0,
        "no client is joined on the drained node"
    );
    assert!(
        connections("not_joined") >= 0.0,
        "the connections gauge never counts below zero: {}",
        connections("not_joined")
    );
    assert_eq!(
        refused(&metrics) - before,
        0.0,
        "no join reached the draining node to be refused ({} members came back, gaps {gaps:?})",
        gaps.len()
    );
    // Each room held its place among the drain's handovers until its member on the node was
    // joined again where it went: most of that member's gap, which the node measures from the
    // room's stop to the answer (the rest is the handover before the close). A place let go
    // once the room's closes were relayed, without waiting for the answer, is held for a
    // tenth of it.
    let holds = |series: &str, outcome: &str| {
        support::metric_value(
            &metrics,
            &format!("roundtable_handover_hold_seconds_{series}{{outcome=\"{outcome}\"}}"),
        )
    };
    let (followed, ran_out) = (holds("count", "followed"), holds("count", "ran_out"));
    assert_eq!(
        followed + ran_out,
        8.0,
        "each of the 8 rooms held its place"
    );
    assert!(
        followed > 0.0,
        "the places were freed by the joins' answers"
    );
    let gaps = |series: &str| {
        support::metric_value(
            &metrics,
            &format!("roundtable_edge_reattach_seconds_{series}{{cause=\"handed_over\"}}"),
        )
    };
    assert_eq!(
        gaps("count"),
        8.0,
        "each member on the node was joined again"
    );
    let (held, gap) = (holds("sum", "followed"), gaps("sum"));
    assert!(
        held >= gap / 2.0,
        "a place is held until the member's join is answered where the room went, not let \
         go at the close: {:.3} ms held on average, against gaps of {:.3} ms",
        held / followed * 1000.0,
        gap / 8.0 * 1000.0
    );
    no_room_left_on(&store, &groups, &nodes[owner_index]).await;
}

/// A drained node (SIGTERM) exits soon after its handover even when a client never answers
/// its close: every client has been told to reconnect elsewhere, so the node waits at most
/// 300 ms for the closing handshakes (it waited up to 2 s for each, 3 s in all, while the
/// reconnections of its meetings' members could still reach it).
#[tokio::test]
async fn a_drained_node_exits_without_waiting_for_a_client_that_never_answers_its_close() {
    let _alone = TIMED.lock().await;
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-drain-exit");
    let (mut nodes, _store) = start_fleet(redis.url(), &prefix, 2, &MANY_CLIENTS).await;
    // Reads nothing, so it never answers a close frame.
    let (silent, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", nodes[0].addr))
        .await
        .expect("WebSocket connects");
    let sent = sigterm(&nodes[0]);
    let exited = tokio::time::timeout(Duration::from_secs(20), nodes[0].child.wait())
        .await
        .expect("the node exits")
        .expect("its status");
    let took = sent.elapsed();
    assert!(exited.success(), "a clean exit: {exited:?}");
    assert!(
        took < Duration::from_millis(1500),
        "exited {took:?} after SIGTERM, not after a 2 s closing handshake"
    );
    drop(silent);
}

/// A node that drains closes the clients it forwards to rooms on other nodes with 1012
/// `draining` as soon as its own rooms are handed over (here it runs none, so at once; with
/// `POST /admin/drain`, which leaves the node up, they used not to be closed at all). Their
/// rooms stay where they are: each resumes through another node, by replay (the room was
/// never loaded again), and nothing is lost.
#[tokio::test]
async fn a_draining_node_closes_the_clients_it_forwards_elsewhere_once_its_rooms_are_handed_over() {
    let _alone = TIMED.lock().await;
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fleet-drain-edge");
    let (nodes, store) = start_fleet(redis.url(), &prefix, 3, &[]).await;
    let group = create_group(nodes[0].addr, "Peers whose edge is drained").await;
    let (placed, owner_index, members, from) = forwarded_room(&nodes, &store, &group).await;
    let drained_index = (owner_index + 1) % 3;
    let other_edge = nodes[(owner_index + 2) % 3].addr;

    let admin = nodes[drained_index].admin.expect("an admin listener");
    let drain =
        tokio::spawn(async move { support::http_request(admin, "POST", "/admin/drain", "").await });
    let drained = Instant::now();
    let mut tasks = Vec::new();
    let mut stayed = Vec::new();
    for (edge, mut member) in members {
        if edge != drained_index {
            stayed.push(member);
            continue;
        }
        tasks.push(tokio::spawn(async move {
            let closed = member.until_closed().await;
            let closed_after = drained.elapsed();
            match closed {
                Closed::Frame(code, reason) => {
                    assert_eq!(code, 1012, "closed with 1012 (service restart)");
                    assert_eq!(reason, "draining");
                }
                Closed::Ended => panic!("the draining node closes with a close frame"),
            }
            let point = member.resume_point();
            let after = try_resume(other_edge, group.group_id, member.token_credential(), point)
                .await
                .expect("the member resumes through another node");
            (member, after, closed_after)
        }));
    }
    assert_eq!(
        tasks.len(),
        5,
        "the facilitator and four members came through the drained node"
    );
    let (status, body) = drain.await.expect("the drain request");
    assert_eq!(status, 200, "the drain finished: {body}");
    let mut moved = Vec::new();
    for task in tasks {
        let (before, after, closed_after) = task.await.expect("the member's task");
        assert!(
            closed_after < Duration::from_secs(1),
            "closed once the node's own (no) rooms were handed over: after {closed_after:?}"
        );
        assert!(
            !after
                .received
                .iter()
                .any(|message| matches!(message, ServerMessage::Snapshot(_))),
            "resumed by replay: the room never moved"
        );
        moved.push(Away {
            before: events_in(&before.received),
            last_before: before.last_seq,
            after: Some(after),
            after_from: 0,
            in_place: false,
            catch_up: None,
            back_after: closed_after,
            gap: closed_after,
            released: None,
            failures: Vec::new(),
        });
    }
    assert_eq!(
        holder(&store, group.group_id).await,
        placed,
        "the room stayed on its node"
    );

    // Every member but the facilitator (the first to come) lowers their hand.
    for away in &mut moved[1..] {
        away.after
            .as_mut()
            .expect("back")
            .ok(Request::LowerHand)
            .await;
    }
    for member in &mut stayed {
        member.ok(Request::LowerHand).await;
    }
    let last = from + 2 * 7;
    for away in &mut moved {
        read_through(away.after.as_mut().expect("back"), last).await;
    }
    for member in &mut stayed {
        read_through(member, last).await;
        let seqs: Vec<u64> = events_after(member, from).iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (from + 1..=last).collect::<Vec<_>>(),
            "a member who stayed saw it all"
        );
    }
    check_nothing_lost(&mut moved, from);
}
