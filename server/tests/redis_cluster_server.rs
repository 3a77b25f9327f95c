//! The whole server on a real Redis Cluster (three masters, three replicas; see
//! `support/redis_cluster.rs`), over real WebSockets: meetings of groups whose keys are on
//! different masters, through a restart of the server (the real binary, `--redis-cluster`);
//! and the failover of a master under a live meeting (a cluster of the test's own, since it
//! kills one of its masters).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use roundtable_protocol::{ErrorCode, Event, EventFrame, GroupId, Request, ResumePoint};
use roundtable_server::Limits;
use roundtable_server::store::RedisOptions;
use support::redis::unique_prefix;
use support::redis_cluster::{self, TestCluster, start_binary};
use support::takeover::{assert_contiguous, count_panics, join_when_free};
use support::{TestClient, TestGroup, create_group};

/// Creates groups until there is one on each of `masters_wanted` different masters; returns
/// them with their master's port.
async fn groups_on_different_masters(
    cluster: &TestCluster,
    addr: SocketAddr,
    prefix: &str,
    masters_wanted: usize,
) -> Vec<(u16, TestGroup)> {
    let mut by_master = BTreeMap::new();
    for attempt in 0..60 {
        let group = create_group(addr, &format!("Peers {attempt}")).await;
        let master = cluster.master_of_key(&format!("{prefix}{{g:{}}}", group.group_id));
        by_master.entry(master).or_insert(group);
        if by_master.len() == masters_wanted {
            return by_master.into_iter().collect();
        }
    }
    panic!("60 groups did not land on {masters_wanted} masters");
}

fn renamed(name: &str) -> impl Fn(&EventFrame) -> bool + '_ {
    move |frame| {
        frame.event
            == Event::GroupRenamed {
                name: name.to_string(),
            }
    }
}

/// One group's meeting in a test: a facilitator and a member, both joined.
struct Meeting {
    master: u16,
    group: TestGroup,
    start_seq: u64,
    facilitator: TestClient,
    member: TestClient,
}

async fn open_meeting(addr: SocketAddr, master: u16, group: TestGroup) -> Meeting {
    let mut facilitator = TestClient::connect(addr).await;
    let start = facilitator.join_as_facilitator(&group, "Fran").await;
    facilitator.start_meeting().await;
    let member = TestClient::joined_as_member(addr, &group, "Ann").await;
    Meeting {
        master,
        group,
        start_seq: start.seq,
        facilitator,
        member,
    }
}

#[tokio::test]
async fn meetings_on_every_master_survive_a_server_restart_and_clients_resume_exactly() {
    let cluster = TestCluster::shared();
    let prefix = unique_prefix("rt-cluster-srv");
    // A short lease, so that the new process can take the meetings over soon after the kill.
    let args = [
        "--room-lease-ms",
        "1500",
        "--group-creations-per-address-burst",
        "100",
    ];
    let (mut first, addr) = start_binary(cluster, &prefix, &args).await;
    let groups = groups_on_different_masters(cluster, addr, &prefix, 3).await;
    let mut meetings = Vec::new();
    for (master, group) in groups {
        meetings.push(open_meeting(addr, master, group).await);
    }
    let masters: BTreeSet<u16> = meetings.iter().map(|meeting| meeting.master).collect();
    assert_eq!(masters.len(), 3, "one meeting on each master");
    // Acknowledged actions in every meeting, interleaved.
    for round in 0..3 {
        for meeting in &mut meetings {
            meeting.member.ok(Request::RaiseHand).await;
            meeting
                .facilitator
                .ok(Request::RenameGroup {
                    name: format!("Round {round} on {}", meeting.master),
                })
                .await;
            meeting.member.ok(Request::LowerHand).await;
        }
    }
    first.start_kill().expect("send SIGKILL");
    first.wait().await.expect("the killed server exits");

    let (mut second, addr) = start_binary(cluster, &prefix, &args).await;
    for meeting in &mut meetings {
        let master = meeting.master;
        // What each client saw before the restart, read to the end of its socket.
        for client in [&mut meeting.facilitator, &mut meeting.member] {
            while let Ok(Some(_)) = client.try_recv(Duration::from_millis(100)).await {}
        }
        // Each saw its events in order, and the same event under a seq both saw (the kill can
        // cut off the last frames to one of them and not the other).
        let mut seen: BTreeMap<u64, EventFrame> = BTreeMap::new();
        for (who, client) in [
            ("facilitator", &meeting.facilitator),
            ("member", &meeting.member),
        ] {
            let frames = client.events();
            let first = frames.first().expect("events before the restart").seq;
            assert_contiguous(&format!("{who} on master {master}"), first - 1, &frames);
            for frame in frames {
                if let Some(other) = seen.get(&frame.seq) {
                    assert_eq!(other, &frame, "master {master}: one event per seq");
                } else {
                    seen.insert(frame.seq, frame);
                }
            }
        }
        let live: Vec<EventFrame> = seen.into_values().collect();
        let mut resumed = Vec::new();
        for old in [&meeting.facilitator, &meeting.member] {
            let mut client = TestClient::connect(addr).await;
            let resume = old.resume_point();
            let snapshot = join_when_free(
                &mut client,
                meeting.group.group_id,
                old.token_credential(),
                Some(resume),
            )
            .await;
            // The restarted room is another log epoch, which found the one before it in the record
            // with its last write: every acknowledged action is in it, so a resume from before
            // the restart is replayed (what happened since: nothing until the rename below).
            assert!(
                snapshot.is_none(),
                "master {master}: a resume across the restart is replayed, got a snapshot"
            );
            let last_live = live.last().expect("events").seq;
            assert!(
                resume.seq <= last_live,
                "master {master}: the client resumes from what it saw"
            );
            assert_ne!(client.log_epoch, resume.log_epoch, "a new log epoch");
            resumed.push((resume.seq, client));
        }
        let marker = format!("After the restart on {master}");
        resumed[0]
            .1
            .ok(Request::RenameGroup {
                name: marker.clone(),
            })
            .await;
        for (from, client) in &mut resumed {
            if !client.events().iter().any(renamed(&marker)) {
                client.event_where(renamed(&marker)).await;
            }
            assert_contiguous(&format!("master {master}"), *from, &client.events());
        }
        // A replay of the whole meeting from the store, in the new room's log epoch, equals
        // what was seen live.
        let from_start = TestClient::in_current_epoch(
            addr,
            meeting.group.group_id,
            meeting.member.token_credential(),
            ResumePoint {
                meeting_id: meeting.group.meeting_id,
                seq: meeting.start_seq,
                log_epoch: None,
            },
        )
        .await;
        let mut auditor = TestClient::connect(addr).await;
        let caught_up = auditor
            .join(
                meeting.group.group_id,
                meeting.member.token_credential(),
                Some(from_start),
            )
            .await
            .expect("the auditor joins");
        assert!(caught_up.is_none(), "master {master}: the log is replayed");
        auditor.event_where(renamed(&marker)).await;
        let replayed = auditor.events();
        assert_contiguous("auditor", meeting.start_seq, &replayed);
        let live_from_start: Vec<&EventFrame> = live
            .iter()
            .filter(|frame| frame.seq > meeting.start_seq)
            .collect();
        for frame in live_from_start {
            assert_eq!(
                replayed.get((frame.seq - meeting.start_seq - 1) as usize),
                Some(frame),
                "master {master}: the stored event at seq {} is the one seen live",
                frame.seq
            );
        }
        for round in 0..3 {
            assert!(
                replayed
                    .iter()
                    .any(renamed(&format!("Round {round} on {master}"))),
                "master {master}: the acknowledged rename of round {round} is stored"
            );
        }
    }
    second.start_kill().expect("stop the second server");
    second.wait().await.expect("exit");
}

/// What happened to one write during the failover.
#[derive(Debug)]
struct Attempt {
    sent_ms: u128,
    answered_ms: u128,
    outcome: Result<(), ErrorCode>,
}

#[tokio::test]
async fn a_master_failover_makes_its_rooms_writes_unavailable_briefly_and_keeps_one_history() {
    let panics = count_panics();
    let cluster = TestCluster::start();
    let prefix = unique_prefix("rt-failover");
    // A store timeout shorter than the failover, so that writes during it answer (with
    // `storage_unavailable`) rather than wait for it.
    let options = RedisOptions {
        timeout: Duration::from_millis(500),
        ..RedisOptions::default()
    };
    let limits = Limits {
        group_creations_per_address_burst: 100,
        ..Limits::default()
    };
    let server = redis_cluster::start_server(&cluster, &prefix, options, limits).await;
    let groups = groups_on_different_masters(&cluster, server.addr, &prefix, 2).await;
    let mut meetings = Vec::new();
    for (master, group) in groups {
        meetings.push(open_meeting(server.addr, master, group).await);
    }
    let (mut victim, mut other) = {
        let mut meetings = meetings.into_iter();
        (meetings.next().unwrap(), meetings.next().unwrap())
    };
    for round in 0..3 {
        for meeting in [&mut victim, &mut other] {
            meeting
                .facilitator
                .ok(Request::RenameGroup {
                    name: format!("Before the failover {round}"),
                })
                .await;
        }
    }
    let seq_before = victim.facilitator.last_seq;

    // Kill -9 the victim's master once its replica has everything, and time the replica's
    // promotion on another thread.
    let master = victim.master;
    let replica = cluster.replica_of(master);
    cluster.wait_replica_in_sync(master, replica);
    // The room's lease and its epoch (which fences every append), as the master has them.
    let tag = format!("{prefix}{{g:{}}}", victim.group.group_id);
    let lease_of = |port: u16| -> (Option<String>, Option<String>) {
        let mut connection = cluster.connection(port);
        let holder = redis::cmd("GET")
            .arg(format!("{tag}:lease"))
            .query(&mut connection)
            .expect("GET the lease");
        let epoch = redis::cmd("GET")
            .arg(format!("{tag}:epoch"))
            .query(&mut connection)
            .expect("GET the epoch");
        (holder, epoch)
    };
    let lease_before = lease_of(master);
    assert!(
        lease_before.0.is_some() && lease_before.1.is_some(),
        "the live room holds its lease at an epoch: {lease_before:?}"
    );
    let killed_at = Instant::now();
    cluster.kill_node(master);
    // The other group's master and its replica forget the store's scripts, as nodes that never
    // saw them do (a new version's scripts, a node replaced): loading them again must not need
    // the killed master, which the cluster still lists until it is declared failed.
    for port in [other.master, cluster.replica_of(other.master)] {
        let mut connection = cluster.connection(port);
        let _: () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query(&mut connection)
            .expect("SCRIPT FLUSH");
    }
    let promotion = std::thread::spawn(move || {
        let deadline = killed_at + Duration::from_secs(30);
        while Instant::now() < deadline {
            if redis::Client::open(format!("redis://127.0.0.1:{replica}/"))
                .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(1)))
                .and_then(|mut connection| redis::cmd("ROLE").query::<Vec<redis::Value>>(&mut connection))
                .is_ok_and(|role| {
                    matches!(role.first(), Some(redis::Value::BulkString(role)) if role == b"master")
                })
            {
                return Some(killed_at.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    });

    // A server starting now, with the killed master among its seeds, connects.
    let late = roundtable_server::store::RedisStore::connect_cluster(
        &cluster.seeds(),
        support::redis::options(&prefix),
    )
    .await;
    assert!(
        late.is_ok(),
        "a store connects while a master is failing over: {late:?}"
    );

    // Write to both rooms until the victim's room takes writes again.
    let mut victim_attempts = Vec::new();
    let mut other_latencies = Vec::new();
    let deadline = killed_at + Duration::from_secs(30);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let sent = Instant::now();
        let id = victim
            .facilitator
            .send(Request::RenameGroup {
                name: format!("During the failover {attempt}"),
            })
            .await;
        let outcome = match victim.facilitator.answer(id).await {
            Ok(_) => Ok(()),
            Err((ErrorCode::StorageUnavailable, _)) => Err(ErrorCode::StorageUnavailable),
            Err(error) => panic!("a write during the failover failed otherwise: {error:?}"),
        };
        victim_attempts.push(Attempt {
            sent_ms: (sent - killed_at).as_millis(),
            answered_ms: killed_at.elapsed().as_millis(),
            outcome,
        });
        if victim_attempts.last().unwrap().outcome.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the room's writes did not come back within 30 s: {victim_attempts:?}"
        );
        // The group on a master that did not fail keeps working meanwhile.
        let sent = Instant::now();
        other
            .facilitator
            .ok(Request::RenameGroup {
                name: format!("Elsewhere {attempt}"),
            })
            .await;
        other_latencies.push(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let back_after = killed_at.elapsed();
    let promoted_after = tokio::task::spawn_blocking(move || promotion.join())
        .await
        .expect("join the promotion timer")
        .expect("the promotion timer did not panic")
        .expect("the replica was promoted within 30 s");
    let unavailable = victim_attempts
        .iter()
        .filter(|attempt| attempt.outcome.is_err())
        .count();
    let last_unavailable_ms = victim_attempts
        .iter()
        .filter(|attempt| attempt.outcome.is_err())
        .map(|attempt| attempt.answered_ms)
        .max()
        .unwrap_or_default();
    let slowest_elsewhere = other_latencies.iter().max().copied().unwrap_or_default();
    println!(
        "failover: replica promoted {} ms after the kill; the room's writes were unavailable \
         for {} ms ({unavailable} storage_unavailable answers, the last at {last_unavailable_ms} ms, \
         the first ok sent at {} ms); the other \
         master's room took {} writes meanwhile, the slowest in {} ms",
        promoted_after.as_millis(),
        back_after.as_millis(),
        victim_attempts.last().unwrap().sent_ms,
        other_latencies.len(),
        slowest_elsewhere.as_millis()
    );
    assert!(
        unavailable >= 1,
        "a write during the failover answers storage_unavailable: {victim_attempts:?}"
    );
    assert!(
        back_after <= promoted_after + Duration::from_secs(2),
        "writes work again within the failover ({promoted_after:?}) plus 2 s, took \
         {back_after:?}: {victim_attempts:?}"
    );
    assert!(
        !other_latencies.is_empty(),
        "the other room was written to during the failover"
    );

    // The promoted replica has the room's lease at the same epoch: no other writer could have
    // been let in, and the room's fenced appends are accepted again. (The lease is short, 1.2 s
    // by default, so it may have run out while the failover made renewals fail; nobody took it
    // meanwhile, so the epoch did not move and the room's next renewal, at that epoch, holds it
    // again within a renewal period.)
    let renewed_by = Instant::now() + Duration::from_secs(2);
    let mut lease_after = lease_of(replica);
    while lease_after != lease_before && Instant::now() < renewed_by {
        assert_eq!(
            lease_after.1, lease_before.1,
            "the epoch survives the failover: nobody else took the lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        lease_after = lease_of(replica);
    }
    assert_eq!(
        lease_after, lease_before,
        "the room holds its lease again, at the same epoch, after the failover"
    );

    // One history: the failed writes used no seq, and everyone, live or replaying from the
    // store, sees the same events under the same seqs.
    let back_name = format!("During the failover {attempt}");
    let frames = victim.facilitator.events();
    let back = frames
        .iter()
        .find(|frame| renamed(&back_name)(frame))
        .expect("the facilitator saw the write that succeeded");
    assert_eq!(
        back.seq,
        seq_before + 1,
        "writes that failed during the failover used no seq"
    );
    victim.member.event_where(renamed(&back_name)).await;
    let live = victim.facilitator.events();
    let first_live = live.first().expect("events").seq;
    assert_contiguous("facilitator", first_live - 1, &live);
    assert!(
        live.ends_with(&victim.member.events()),
        "the member saw what the facilitator saw"
    );
    // The room was not reloaded: it is the same log epoch, so a resume from the meeting's start
    // in it is replayed from the log the promoted replica holds.
    assert_eq!(victim.member.log_epoch, victim.facilitator.log_epoch);
    let mut auditor = TestClient::connect(server.addr).await;
    let caught_up = auditor
        .join(
            victim.group.group_id,
            victim.member.token_credential(),
            Some(ResumePoint {
                meeting_id: victim.group.meeting_id,
                seq: victim.start_seq,
                log_epoch: victim.facilitator.log_epoch,
            }),
        )
        .await
        .expect("the auditor joins after the failover");
    assert!(
        caught_up.is_none(),
        "a resume in the room's log epoch is replayed after the failover"
    );
    assert_eq!(auditor.log_epoch, victim.facilitator.log_epoch);
    auditor.event_where(renamed(&back_name)).await;
    let replayed = auditor.events();
    assert_contiguous("auditor", victim.start_seq, &replayed);
    for frame in live.iter().filter(|frame| frame.seq > victim.start_seq) {
        assert_eq!(
            replayed.get((frame.seq - victim.start_seq - 1) as usize),
            Some(frame),
            "the stored event at seq {} is the one seen live",
            frame.seq
        );
    }
    // And the room goes on.
    victim
        .facilitator
        .ok(Request::RenameGroup {
            name: "After the failover".into(),
        })
        .await;
    other
        .facilitator
        .ok(Request::RenameGroup {
            name: "After the failover".into(),
        })
        .await;
    server.stop().await;
    assert_eq!(panics.load(Ordering::SeqCst), 0, "nothing panicked");
}

/// The lease key's remaining time to live on the master that holds it (`None`: no such key).
async fn lease_pttl(cluster: &TestCluster, prefix: &str, group_id: GroupId) -> Option<i64> {
    let key = format!("{prefix}{{g:{group_id}}}:lease");
    let master = cluster.master_of_key(&key);
    let client = redis::Client::open(format!("redis://127.0.0.1:{master}")).expect("client");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the lease's master");
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .expect("PTTL");
    (pttl >= 0).then_some(pttl)
}

/// A fleet of two nodes with forwarding on the Redis Cluster (`--internal-listen` with
/// `--redis-cluster`): both are in the node registry (whose keys share the `{fleet}` slot), a
/// member on each node shares one room (the one on the other node forwarded to the owner),
/// and while the room is live its lease key exists and its time to live is renewed.
#[tokio::test]
async fn two_nodes_with_forwarding_on_the_cluster_share_a_room_and_renew_its_lease() {
    let cluster = TestCluster::shared();
    let prefix = unique_prefix("rt-cluster-fleet");
    let args = [
        "--internal-listen",
        "127.0.0.1:0",
        "--fleet-secret",
        "a cluster fleet's test secret",
        "--room-lease-ms",
        "1500",
    ];
    let (_first, first_addr) = start_binary(cluster, &prefix, &args).await;
    let (_second, second_addr) = start_binary(cluster, &prefix, &args).await;
    let store = roundtable_server::store::RedisStore::connect_cluster(
        &cluster.seeds(),
        RedisOptions {
            key_prefix: prefix.clone(),
            ..RedisOptions::default()
        },
    )
    .await
    .expect("connect to the cluster");
    let deadline = Instant::now() + Duration::from_secs(10);
    let nodes = loop {
        use roundtable_server::store::Store;
        let nodes = store
            .live_nodes(2_000, 100)
            .await
            .expect("read the registry");
        if nodes.len() == 2 {
            break nodes;
        }
        assert!(
            Instant::now() < deadline,
            "both nodes are in the registry within 10 s: {nodes:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Each node reads the registry back every 500 ms: after two, each knows the other.
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    let group = create_group(first_addr, "Peers on a clustered fleet").await;
    let mut facilitator = TestClient::joined_as_facilitator(first_addr, &group, "Fran").await;
    facilitator.start_meeting().await;
    let mut member = TestClient::joined_as_member(second_addr, &group, "Mo").await;
    let holder = {
        use roundtable_server::store::Store;
        store
            .lease_holder(group.group_id)
            .await
            .expect("read the lease")
            .expect("the room's node holds its lease")
    };
    assert!(
        nodes.iter().any(|node| node.id == holder),
        "a node of the fleet runs the room"
    );
    // Both see each other's acknowledged actions, one of them through the hop.
    member.ok(Request::RaiseHand).await;
    facilitator
        .event_where(|frame| matches!(frame.event, Event::HandRaised { .. }))
        .await;
    facilitator
        .ok(Request::RenameGroup {
            name: "Renamed on the other node".into(),
        })
        .await;
    member
        .event_where(renamed("Renamed on the other node"))
        .await;

    // The lease is renewed while the room is live: its key is there for 3 s (twice the
    // lease), and its time to live goes back up.
    let mut lowest = i64::MAX;
    let mut renewed = 0;
    let mut previous = None;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let pttl = lease_pttl(cluster, &prefix, group.group_id)
            .await
            .expect("the lease key exists while its room is live");
        lowest = lowest.min(pttl);
        if previous.is_some_and(|previous| pttl > previous) {
            renewed += 1;
        }
        previous = Some(pttl);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(lowest > 0, "the lease never ran out");
    assert!(
        renewed >= 3,
        "the lease's time to live went up {renewed} times in 3 s"
    );
}
