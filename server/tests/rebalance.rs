//! The rebalance (see ARCHITECTURE.md, "Rebalance"): two real server processes on one Redis
//! (started by the test on loopback). Rooms run on the first node alone; once a second node
//! joins and has been live for `--node-live-ms`, the first hands it each room placement gives
//! it, as in a drain, while the rooms' members stay connected where they are: each is joined
//! again in place, and nothing is lost or duplicated. Rooms placement leaves on the first node
//! are not touched, nothing moves before the newcomer is settled, and nothing moves back.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use roundtable_protocol::{GroupId, Reply, Request, ServerMessage};
use roundtable_server::fleet::rendezvous;
use roundtable_server::store::{RedisStore, Store};
use support::redis::{MANY_CLIENTS, TestRedis, options, start_fleet_node, unique_prefix};
use support::{TestClient, create_group};

const SECRET: &str = "the rebalance test's fleet secret";

/// Rooms the test runs on the first node.
const ROOMS: usize = 12;

/// A node's registry id, once its entry is there.
async fn node_id(store: &RedisStore, addr: SocketAddr) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let nodes = store
            .live_nodes(2_000, 100)
            .await
            .expect("read the registry");
        if let Some(node) = nodes
            .iter()
            .find(|node| node.client_url == format!("http://{addr}"))
        {
            return node.id.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the node is in the registry within 10 s: {nodes:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Who holds each group's lease now.
async fn holders(store: &RedisStore, groups: &[GroupId]) -> Vec<Option<String>> {
    let mut holders = Vec::new();
    for &group_id in groups {
        holders.push(store.lease_holder(group_id).await.expect("read a lease"));
    }
    holders
}

/// The join acks a client got on its connection: the first, and one more each time its room
/// was joined again in place.
fn joins_acked(client: &TestClient) -> usize {
    client
        .received
        .iter()
        .filter(|message| {
            matches!(
                message,
                ServerMessage::Ack {
                    result: Reply::Joined(_),
                    ..
                }
            )
        })
        .count()
}

/// The rooms a node counts as yet to move.
async fn misplaced(admin: SocketAddr) -> f64 {
    let (status, metrics) = support::http_get(admin, "/metrics", None).await;
    assert_eq!(status, 200, "{metrics}");
    support::metric_value(&metrics, "roundtable_rooms_misplaced")
}

/// The live nodes a node counts in `state` (settled, settling, draining).
async fn nodes_counted(admin: SocketAddr, state: &str) -> f64 {
    let (status, metrics) = support::http_get(admin, "/metrics", None).await;
    assert_eq!(status, 200, "{metrics}");
    support::metric_value(
        &metrics,
        &format!("roundtable_fleet_nodes{{state=\"{state}\"}}"),
    )
}

/// A room of the test: its group, its facilitator and member (both on the first node), and
/// the seq both read through after the member's hand went up.
struct Room {
    group_id: GroupId,
    facilitator: TestClient,
    member: TestClient,
    from: u64,
}

#[tokio::test]
async fn a_node_that_joins_is_handed_the_rooms_placement_gives_it_while_their_members_stay() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-rebalance");
    let store = RedisStore::connect(redis.url(), options(&prefix))
        .await
        .expect("connect to redis");
    // A node counts as settled once live for 3 s: time to see that nothing moves before.
    let mut args = MANY_CLIENTS.to_vec();
    args.extend(["--node-live-ms", "3000"]);
    let (_first, first_addr, first_admin) =
        start_fleet_node(redis.url(), &prefix, "127.0.0.1:0", SECRET, &args).await;
    let first_id = node_id(&store, first_addr).await;

    let mut rooms = Vec::new();
    for index in 0..ROOMS {
        let group = create_group(first_addr, &format!("Peers {index}")).await;
        let mut facilitator = TestClient::connect(first_addr).await;
        facilitator.join_as_facilitator(&group, "Fran").await;
        facilitator.start_meeting().await;
        let mut member = TestClient::connect(first_addr).await;
        member.join_as_member(&group, "Mo").await;
        member.ok(Request::RaiseHand).await;
        let from = member.last_seq;
        while facilitator.last_seq < from {
            facilitator.recv().await;
        }
        rooms.push(Room {
            group_id: group.group_id,
            facilitator,
            member,
            from,
        });
    }
    let groups: Vec<GroupId> = rooms.iter().map(|room| room.group_id).collect();
    assert!(
        holders(&store, &groups)
            .await
            .iter()
            .all(|holder| holder.as_deref() == Some(first_id.as_str())),
        "the first node runs every room"
    );

    // The second node: started again (a new id) in the rare case placement over the two gives
    // it none of the rooms, or all of them, so that both cases are seen.
    let (mut second, second_id, seen_at, second_admin) = {
        let mut tries = 0;
        loop {
            tries += 1;
            // The first node cannot know the second before it starts.
            let seen_at = Instant::now();
            let (child, addr, admin) =
                start_fleet_node(redis.url(), &prefix, "127.0.0.1:0", SECRET, &args).await;
            let id = node_id(&store, addr).await;
            let to_second = groups
                .iter()
                .filter(|&&group_id| {
                    rendezvous(group_id, [first_id.as_str(), id.as_str()]) == Some(id.as_str())
                })
                .count();
            if (1..ROOMS).contains(&to_second) || tries == 5 {
                break (child, id, seen_at, admin);
            }
            let mut child = child;
            child.kill().await.expect("stop the second node");
        }
    };
    let placed: Vec<&str> = groups
        .iter()
        .map(|&group_id| {
            rendezvous(group_id, [first_id.as_str(), second_id.as_str()]).expect("a node")
        })
        .collect();
    let moving = placed.iter().filter(|&&node| node == second_id).count();
    assert!(
        (1..ROOMS).contains(&moving),
        "placement gives the second node some rooms, not all: {moving}"
    );

    // Not settled yet: nothing moves, but the first node counts the rooms it is to move.
    tokio::time::sleep_until((seen_at + Duration::from_secs(2)).into()).await;
    assert_eq!(
        misplaced(first_admin).await,
        moving as f64,
        "the rooms yet to move are counted"
    );
    assert_eq!(
        (
            nodes_counted(first_admin, "settled").await,
            nodes_counted(first_admin, "settling").await
        ),
        (1.0, 1.0),
        "the first node counts itself settled and the newcomer settling"
    );
    assert!(
        holders(&store, &groups)
            .await
            .iter()
            .all(|holder| holder.as_deref() == Some(first_id.as_str())),
        "no room moves before the new node has been live for --node-live-ms"
    );

    // Then each room goes where placement puts it.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = holders(&store, &groups).await;
        if now
            .iter()
            .zip(&placed)
            .all(|(holder, placed)| holder.as_deref() == Some(*placed))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "every room runs where placement puts it within 15 s: {now:?}, placed {placed:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    for (room, placed) in rooms.iter_mut().zip(&placed) {
        let moved = *placed == second_id;
        // Members act once more; each event comes once, right after the last before the move.
        room.member.ok(Request::LowerHand).await;
        let lowered = room.from + 1;
        assert_eq!(room.member.last_seq, lowered, "one event after the move");
        while room.facilitator.last_seq < lowered {
            room.facilitator.recv().await;
        }
        for client in [&room.facilitator, &room.member] {
            let seqs: Vec<u64> = client
                .events()
                .iter()
                .map(|frame| frame.seq)
                .filter(|&seq| seq > room.from)
                .collect();
            assert_eq!(seqs, [lowered], "nothing lost or duplicated");
            assert_eq!(
                joins_acked(client),
                if moved { 2 } else { 1 },
                "a moved room's members are joined again in place; the others are untouched"
            );
        }
    }

    let (status, metrics) = support::http_get(first_admin, "/metrics", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        support::metric_value(&metrics, "roundtable_rooms_moved_total"),
        moving as f64,
        "the first node counts each room it moved"
    );
    assert_eq!(
        support::metric_value(&metrics, "roundtable_handover_seconds_count"),
        moving as f64,
        "and times each handover, from the room's stop to its clients' close"
    );
    // Both members of each moved room were joined again in place by the first node (their
    // connections are there): each gap measured once, from the handover to the answer.
    assert_eq!(
        support::metric_value(
            &metrics,
            "roundtable_edge_reattach_seconds_count{cause=\"handed_over\"}"
        ),
        2.0 * moving as f64
    );
    // Nothing moves back: the second node finds its rooms placed on it, and neither node
    // counts a room yet to move.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for admin in [first_admin, second_admin] {
        assert_eq!(misplaced(admin).await, 0.0, "nothing left to move");
        assert_eq!(
            nodes_counted(admin, "settled").await,
            2.0,
            "each node counts both settled"
        );
        assert_eq!(nodes_counted(admin, "settling").await, 0.0);
    }
    let after = holders(&store, &groups).await;
    assert!(
        after
            .iter()
            .zip(&placed)
            .all(|(holder, placed)| holder.as_deref() == Some(*placed)),
        "the rooms stay where placement put them: {after:?}"
    );
    second.kill().await.expect("stop the second node");
}
