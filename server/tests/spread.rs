//! The spread of clients (see ARCHITECTURE.md, "Spread"): two real server processes on one
//! Redis (started by the test on loopback). Every client is connected to the first node; once a
//! second node joins and has been live for `--node-live-ms`, the first lets the clients it holds
//! over an even share go, each closed with 1012 `draining`. The test plays the load balancer:
//! each client let go reconnects to the second node and resumes by replay, and the rooms go on
//! with nothing lost or duplicated. Nothing is let go before the newcomer is settled, and once
//! the two hold a share each, nothing more.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use roundtable_protocol::{CloseReason, Credential, GroupId, Request, ServerMessage};
use roundtable_server::store::{RedisStore, Store};
use support::redis::{MANY_CLIENTS, TestRedis, options, start_fleet_node, unique_prefix};
use support::{Closed, TestClient, create_group};

const SECRET: &str = "the spread test's fleet secret";

/// Rooms of the test, and clients in each (a facilitator and members): 240 clients, so that
/// half of them are more than the least excess a node lets go (`spread::SLACK_MIN`).
const ROOMS: usize = 12;
const CLIENTS_PER_ROOM: usize = 20;

/// A node's metric.
async fn metric(admin: SocketAddr, series: &str) -> f64 {
    let (status, metrics) = support::http_get(admin, "/metrics", None).await;
    assert_eq!(status, 200, "{metrics}");
    support::metric_value(&metrics, series)
}

/// A client of the test: its group, what it joins with, and its connection.
struct Client {
    group_id: GroupId,
    credential: Credential,
    connection: TestClient,
}

/// Reads what reached `client` within a moment: how its connection closed, if it did.
async fn closed_meanwhile(client: &mut TestClient) -> Option<Closed> {
    loop {
        match client.try_recv(Duration::from_millis(500)).await {
            Ok(Some(_)) => continue,
            Ok(None) => return None,
            Err(closed) => return Some(closed),
        }
    }
}

/// `ROOMS` meetings under way, each with `CLIENTS_PER_ROOM` clients connected to `addr`.
async fn clients_on(addr: SocketAddr) -> Vec<Client> {
    let mut clients = Vec::new();
    for room in 0..ROOMS {
        let group = create_group(addr, &format!("Peers {room}")).await;
        let mut facilitator = TestClient::connect(addr).await;
        facilitator.join_as_facilitator(&group, "Fran").await;
        facilitator.start_meeting().await;
        clients.push(Client {
            group_id: group.group_id,
            credential: facilitator.token_credential(),
            connection: facilitator,
        });
        for member in 1..CLIENTS_PER_ROOM {
            let connection =
                TestClient::joined_as_member(addr, &group, &format!("Member {member}")).await;
            clients.push(Client {
                group_id: group.group_id,
                credential: connection.token_credential(),
                connection,
            });
        }
    }
    clients
}

/// `client`, closed, connected again to `addr` and resumed from where it was; answers
/// whether the resume needed a snapshot.
async fn resume_on(client: &mut Client, addr: SocketAddr) -> bool {
    let point = client.connection.resume_point();
    let mut again = TestClient::connect(addr).await;
    // It goes on from where it was: the replay, and what follows, comes after that.
    again.last_seq = point.seq;
    let snapshot = again
        .join(client.group_id, client.credential.clone(), Some(point))
        .await
        .expect("the resume is accepted");
    client.connection = again;
    snapshot.is_some()
}

/// Plays the load balancer for a moment: each client let go meanwhile (closed with 1012
/// `draining`; any other close fails the test) reconnects to `to` and resumes there. Answers
/// how many were let go.
async fn balance(clients: &mut [Client], to: SocketAddr) -> usize {
    let closes = futures_util::future::join_all(clients.iter_mut().map(|client| async {
        client
            .connection
            .try_recv(Duration::from_millis(100))
            .await
            .err()
    }))
    .await;
    let mut let_go = 0;
    for (index, closed) in closes.into_iter().enumerate() {
        match closed {
            None => {}
            Some(Closed::Frame(1012, reason)) if reason == "draining" => {
                resume_on(&mut clients[index], to).await;
                let_go += 1;
            }
            Some(other) => panic!("a client is closed only with 1012 draining: {other:?}"),
        }
    }
    let_go
}

/// The fleet's arguments: a node counts as settled once live for 3 s (time to see that nothing
/// is let go before), and rooms stay where they run (the rebalance of rooms has its own test),
/// so that a client let go resumes in the epoch it was in.
fn node_args() -> Vec<&'static str> {
    let mut args = MANY_CLIENTS.to_vec();
    args.extend([
        "--node-live-ms",
        "3000",
        "--rebalance-rooms-per-second",
        "0",
    ]);
    args
}

#[tokio::test]
async fn a_node_holding_more_than_its_share_lets_the_excess_go_to_reconnect_and_resume() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-spread");
    let store = RedisStore::connect(redis.url(), options(&prefix))
        .await
        .expect("connect to redis");
    let args = node_args();
    let (_first, first_addr, first_admin) =
        start_fleet_node(redis.url(), &prefix, "127.0.0.1:0", SECRET, &args).await;

    let mut clients = clients_on(first_addr).await;
    let total = ROOMS * CLIENTS_PER_ROOM;
    // Alone, a node holds its share whatever it holds.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        metric(first_admin, "roundtable_connections_released_total").await,
        0.0,
        "a node alone lets nobody go"
    );

    let seen_at = Instant::now();
    let (mut second, second_addr, second_admin) =
        start_fleet_node(redis.url(), &prefix, "127.0.0.1:0", SECRET, &args).await;
    // Not settled yet: nobody is let go.
    tokio::time::sleep_until((seen_at + Duration::from_secs(2)).into()).await;
    assert_eq!(
        metric(first_admin, "roundtable_connections_released_total").await,
        0.0,
        "nobody is let go before the new node has been live for --node-live-ms"
    );

    // Then the first node lets go what it holds over an even share: half of them.
    let expected = total / 2;
    let deadline = Instant::now() + Duration::from_secs(15);
    while metric(first_admin, "roundtable_connections_released_total").await < expected as f64 {
        assert!(
            Instant::now() < deadline,
            "the first node let {expected} clients go within 15 s: it let {} go, finds {} over \
             its share, and the registry says {:?}",
            metric(first_admin, "roundtable_connections_released_total").await,
            metric(first_admin, "roundtable_connections_over_share").await,
            store.live_nodes(3_000, 100).await.map(|nodes| nodes
                .iter()
                .map(|node| node.connections)
                .collect::<Vec<_>>())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let closes = futures_util::future::join_all(
        clients
            .iter_mut()
            .map(|client| closed_meanwhile(&mut client.connection)),
    )
    .await;
    let mut let_go = Vec::new();
    for (index, closed) in closes.into_iter().enumerate() {
        match closed {
            None => {}
            Some(Closed::Frame(1012, reason)) if reason == "draining" => let_go.push(index),
            Some(other) => panic!("a client let go is closed with 1012 draining, not {other:?}"),
        }
    }
    assert_eq!(let_go.len(), expected, "exactly the excess is let go");
    for &index in &let_go {
        let told = clients[index].connection.received.iter().any(|message| {
            matches!(
                message,
                ServerMessage::Closing {
                    reason: CloseReason::Draining,
                    ..
                }
            )
        });
        assert!(told, "a client let go is told why before the close");
    }

    // The load balancer sends each to the node with fewer clients: it resumes there by replay.
    for &index in &let_go {
        let snapshot = resume_on(&mut clients[index], second_addr).await;
        assert!(!snapshot, "a client let go resumes by replay");
    }

    // Each room goes on: every client read through what came before (the ones let go by
    // replay), one member acts, and every client of the room gets that event once, next.
    for room in 0..ROOMS {
        let first = room * CLIENTS_PER_ROOM;
        let room_clients = &mut clients[first..first + CLIENTS_PER_ROOM];
        let head = room_clients[0].connection.last_seq;
        assert!(
            room_clients
                .iter()
                .all(|client| client.connection.last_seq == head),
            "every client of room {room} is at seq {head}"
        );
        room_clients[1].connection.ok(Request::RaiseHand).await;
        let raised = room_clients[1].connection.last_seq;
        assert_eq!(raised, head + 1);
        for client in room_clients.iter_mut() {
            while client.connection.last_seq < raised {
                client.connection.recv().await;
            }
            let seqs: Vec<u64> = client
                .connection
                .events()
                .iter()
                .map(|frame| frame.seq)
                .filter(|&seq| seq > head)
                .collect();
            assert_eq!(seqs, [raised], "nothing lost or duplicated");
        }
    }

    // Both hold a share now, so nothing more moves: the registry counts them, and neither
    // node finds clients over its share.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let nodes = store
        .live_nodes(3_000, 100)
        .await
        .expect("read the registry");
    let mut held: Vec<u64> = nodes.iter().map(|node| node.connections).collect();
    held.sort_unstable();
    assert_eq!(
        held,
        [expected as u64, (total - expected) as u64],
        "{nodes:?}"
    );
    for admin in [first_admin, second_admin] {
        assert_eq!(
            metric(admin, "roundtable_connections_over_share").await,
            0.0,
            "no node holds clients over its share"
        );
    }
    assert_eq!(
        metric(first_admin, "roundtable_connections_released_total").await,
        expected as f64,
        "nobody else is let go"
    );
    assert_eq!(
        metric(second_admin, "roundtable_connections_released_total").await,
        0.0
    );
    second.kill().await.expect("stop the second node");
}

/// Behind a balancer that sends every client back where it was (sticky by address, say),
/// letting clients go evens nothing out: after a round that left the node as crowded as
/// before, the next waits, 2 s and then twice as long each time, so the clients are not made
/// to reconnect for nothing over and over.
#[tokio::test]
async fn clients_the_balancer_sends_back_are_let_go_again_ever_more_rarely() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-spread-sticky");
    let args = node_args();
    let (_first, first_addr, first_admin) =
        start_fleet_node(redis.url(), &prefix, "127.0.0.1:0", SECRET, &args).await;
    let mut clients = clients_on(first_addr).await;
    let (mut second, _, _) =
        start_fleet_node(redis.url(), &prefix, "127.0.0.1:0", SECRET, &args).await;
    let released = || metric(first_admin, "roundtable_connections_released_total");

    // The sticky balancer: every client let go reconnects to the first node.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut first_at = None;
    while first_at.is_none_or(|at: Instant| at.elapsed() < Duration::from_secs(10)) {
        assert!(
            Instant::now() < deadline,
            "the first node let clients go within 10 s"
        );
        if balance(&mut clients, first_addr).await > 0 {
            first_at.get_or_insert_with(Instant::now);
        }
    }
    // Over the 10 s from the first close: a round at once, one 2 s after it, one 4 s after
    // that; a spread letting go every round it could would have made five or more.
    let let_go = released().await;
    assert!(
        (240.0..=360.0).contains(&let_go),
        "two or three rounds of 120 in 10 s, not {let_go}"
    );
    second.kill().await.expect("stop the second node");
}

/// While the rebalance still has rooms here to move, the spread lets no client go (a client
/// let go before its room moved would need a snapshot), but it counts those it is to let go
/// once it may: `roundtable_connections_over_share` says what the node holds over its share
/// all along, so that a fleet is not taken for balanced while its rooms move. Once they have
/// moved, the excess is let go.
#[tokio::test]
async fn clients_over_the_share_are_counted_while_rooms_still_move_and_let_go_after() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-spread-held");
    // Rooms move one a second: several seconds with rooms still to move.
    let mut args = MANY_CLIENTS.to_vec();
    args.extend([
        "--node-live-ms",
        "1000",
        "--rebalance-rooms-per-second",
        "1",
    ]);
    let (_first, first_addr, first_admin) =
        start_fleet_node(redis.url(), &prefix, "127.0.0.1:0", SECRET, &args).await;
    let mut clients = clients_on(first_addr).await;
    let (mut second, second_addr, _) =
        start_fleet_node(redis.url(), &prefix, "127.0.0.1:0", SECRET, &args).await;
    let misplaced = || metric(first_admin, "roundtable_rooms_misplaced");
    let over = || metric(first_admin, "roundtable_connections_over_share");
    let released = || metric(first_admin, "roundtable_connections_released_total");
    let half = (ROOMS * CLIENTS_PER_ROOM / 2) as f64;

    // Both nodes settled, rooms to move: the excess is counted, and nobody is let go. (Two
    // rooms or more left to move, so the reads fall within the moves even at one a second.)
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = false;
    while !seen {
        assert!(
            Instant::now() < deadline,
            "within 15 s the first node counts the clients over its share while rooms move: \
             {} rooms to move, {} clients over",
            misplaced().await,
            over().await
        );
        let settled = metric(first_admin, "roundtable_fleet_nodes{state=\"settled\"}").await;
        let (before, counted, after) = (misplaced().await, over().await, misplaced().await);
        if settled == 2.0 && before >= 2.0 && after >= 1.0 && counted > 0.0 {
            assert_eq!(counted, half, "it holds every client, twice its share");
            assert_eq!(released().await, 0.0, "none is let go while rooms move");
            seen = true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Once the rooms have moved, the excess goes; the test plays the balancer, which sends
    // each client let go to the second node, where it resumes.
    let deadline = Instant::now() + Duration::from_secs(30);
    while released().await < half {
        assert!(
            Instant::now() < deadline,
            "the first node lets {half} clients go within 30 s once its rooms moved: {} let \
             go, {} rooms still to move",
            released().await,
            misplaced().await
        );
        balance(&mut clients, second_addr).await;
    }
    assert_eq!(misplaced().await, 0.0, "no room left to move");
    second.kill().await.expect("stop the second node");
}
