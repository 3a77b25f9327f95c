//! The Redis store against a real Redis Cluster (three masters, three replicas, started by
//! `support/redis_cluster.rs` and shared by these tests, each under a key prefix of its own):
//! the conformance suite, every group's keys in one hash slot with groups spread over every
//! master, and deletion finding a group's keys wherever they are, its fallback scan included.

mod support;

use std::collections::BTreeSet;

use roundtable_protocol::{GroupId, MeetingId};
use roundtable_server::store::fixtures::{self, entries};
use roundtable_server::store::{RedisOptions, RedisStore, Store, StoreError, conformance};
use support::redis::{name_and_value, raw_connection, unique_prefix};
use support::redis_cluster::{self, TestCluster};

#[tokio::test]
async fn the_redis_store_passes_the_conformance_suite_on_a_cluster() {
    let cluster = TestCluster::shared();
    let store = redis_cluster::store(cluster, &unique_prefix("rt-cluster")).await;
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn one_seed_node_is_enough_to_find_the_whole_cluster() {
    let cluster = TestCluster::shared();
    let prefix = unique_prefix("rt-cluster");
    // A replica as the only seed: the store still writes to every master.
    let masters = cluster.master_ports();
    let seed_port = cluster.replica_of(masters[0]);
    let store = RedisStore::connect_cluster(
        &[format!("redis://127.0.0.1:{seed_port}")],
        support::redis::options(&prefix),
    )
    .await
    .expect("connect through one seed");
    let mut used_masters = BTreeSet::new();
    for _ in 0..200 {
        let (group_id, meeting_id) = fixtures::create_group(&store, "start").await;
        fixtures::append(&store, group_id, meeting_id, &entries(1..=3), None)
            .await
            .expect("append");
        used_masters.insert(cluster.master_of_key(&format!("{prefix}{{g:{group_id}}}")));
        if used_masters.len() == masters.len() {
            return;
        }
    }
    panic!("200 groups used only the masters {used_masters:?} of {masters:?}");
}

#[tokio::test]
async fn each_group_lives_in_one_slot_and_the_groups_spread_over_every_master() {
    let cluster = TestCluster::shared();
    let prefix = unique_prefix("rt-cluster");
    let store = redis_cluster::store(cluster, &prefix).await;
    let mut groups = Vec::new();
    let mut masters_used = BTreeSet::new();
    // Groups until every master holds some (with random ids, a few are enough).
    for round in 0..200 {
        if round >= 6 && masters_used.len() == 3 {
            break;
        }
        let (group_id, meeting_id) = fixtures::create_group(&store, "start").await;
        fixtures::append(&store, group_id, meeting_id, &entries(1..=2), None)
            .await
            .expect("append");
        let next = MeetingId::random();
        fixtures::append(
            &store,
            group_id,
            next,
            &entries(1..=1),
            Some(&fixtures::snapshot(next, 1, &format!("next {round}"))),
        )
        .await
        .expect("the next meeting");
        store.end_meeting(meeting_id, 1_000).await.expect("end");
        store
            .record_group_activity(group_id, 2_000, round % 2 == 0)
            .await
            .expect("activity");
        assert!(
            store
                .take_lease(group_id, "owner", 60_000)
                .await
                .expect("lease")
        );
        groups.push((group_id, [meeting_id, next]));
        masters_used.insert(cluster.master_of_key(&format!("{prefix}{{g:{group_id}}}")));
    }
    assert_eq!(
        masters_used.len(),
        3,
        "the groups are spread over all three masters"
    );
    let keys = cluster.keys_on_every_master(&prefix);
    let mut masters_holding = BTreeSet::new();
    for (group_id, meetings) in &groups {
        let tag = format!("{prefix}{{g:{group_id}}}");
        let own: Vec<&(u16, String)> = keys
            .iter()
            .filter(|(_, key)| key.starts_with(&tag))
            .collect();
        // snapshot, meetings, lease, lease record, lease epoch, and a log and a head per
        // meeting.
        assert_eq!(own.len(), 9, "every key of group {group_id}: {own:?}");
        let slots: BTreeSet<u16> = own.iter().map(|(_, key)| cluster.slot(key)).collect();
        assert_eq!(slots.len(), 1, "group {group_id}'s keys are in one slot");
        let ports: BTreeSet<u16> = own.iter().map(|(port, _)| *port).collect();
        assert_eq!(ports.len(), 1);
        masters_holding.extend(ports);
        // The index keys have no tag: they are wherever their own hash puts them.
        for meeting in meetings {
            let index = format!("{prefix}meeting:{meeting}");
            assert!(
                keys.iter().any(|(_, key)| *key == index),
                "the index of meeting {meeting} is stored"
            );
            assert_eq!(
                store
                    .read_log(*meeting, 0, 10)
                    .await
                    .expect("read_log through the index")
                    .len(),
                if *meeting == meetings[0] { 2 } else { 1 }
            );
        }
    }
    assert_eq!(
        masters_holding, masters_used,
        "each group's keys are on its slot's master"
    );
    // The keys outside any group: the activity sets (one tag, so one slot) and ended meetings.
    let unjoined = format!("{prefix}{{activity}}:unjoined");
    let joined = format!("{prefix}{{activity}}:joined");
    assert_eq!(cluster.slot(&unjoined), cluster.slot(&joined));
    let abandoned = store
        .abandoned_groups(3_000, Some(3_000), 1_000)
        .await
        .expect("abandoned groups");
    assert_eq!(abandoned.len(), groups.len());
    assert_eq!(
        store.trim_ended_logs(2_000, 1_000).await.expect("trim"),
        groups.len()
    );
    for (_, meetings) in &groups {
        assert!(store.read_log(meetings[0], 0, 10).await.unwrap().is_empty());
    }
}

/// Every key of `prefix` on every master, with every byte it holds, for
/// [`conformance::DeletedGroup::assert_absent`].
async fn everything_stored(cluster: &TestCluster, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let mut stored = Vec::new();
    for (port, key) in cluster.keys_on_every_master(prefix) {
        let mut raw = raw_connection(&format!("redis://127.0.0.1:{port}")).await;
        stored.extend(name_and_value(&mut raw, &key).await);
    }
    stored
}

#[tokio::test]
async fn deleting_a_group_removes_its_keys_from_every_master() {
    let cluster = TestCluster::shared();
    let prefix = unique_prefix("rt-cluster");
    let store = redis_cluster::store(cluster, &prefix).await;
    let deleted = conformance::delete_a_marked_group(&store).await;
    let stored = everything_stored(cluster, &prefix).await;
    assert!(
        stored
            .iter()
            .any(|(name, _)| name.ends_with(":snapshot") && name.starts_with("the name")),
        "the kept group is still there, so the search reads keys"
    );
    deleted.assert_absent(&stored);
}

#[tokio::test]
async fn a_group_stored_before_its_set_of_meetings_is_deleted_whole_on_a_cluster_too() {
    let cluster = TestCluster::shared();
    let prefix = unique_prefix("rt-cluster");
    let store = redis_cluster::store(cluster, &prefix).await;
    // Groups on every master, so that the scan must go to the right one to find the keys.
    let mut on_master = std::collections::BTreeMap::new();
    while on_master.len() < 3 {
        let (group_id, first) = fixtures::create_group(&store, "start").await;
        on_master
            .entry(cluster.master_of_key(&format!("{prefix}{{g:{group_id}}}")))
            .or_insert((group_id, first));
    }
    for (&master, &(group_id, first)) in &on_master {
        append(&store, group_id, first, &entries(1..=2)).await;
        let second = MeetingId::random();
        fixtures::append(
            &store,
            group_id,
            second,
            &entries(1..=1),
            Some(&fixtures::snapshot(second, 1, "second")),
        )
        .await
        .expect("the second meeting");
        // As a store from before the set wrote it: no set of meetings.
        let mut connection = cluster.connection(master);
        let _: i64 = redis::cmd("DEL")
            .arg(format!("{prefix}{{g:{group_id}}}:meetings"))
            .query(&mut connection)
            .expect("DEL");
        assert!(store.delete_group(group_id).await.expect("delete"));
        let left: Vec<(u16, String)> = cluster
            .keys_on_every_master(&prefix)
            .into_iter()
            .filter(|(_, key)| {
                key.contains(&group_id.to_string())
                    || key.contains(&first.to_string())
                    || key.contains(&second.to_string())
            })
            .collect();
        assert!(
            left.is_empty(),
            "both meetings of the group on master {master} were found by their keys: {left:?}"
        );
    }
}

#[tokio::test]
async fn a_cluster_that_is_not_there_is_unavailable_within_the_timeout() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let timeout = std::time::Duration::from_millis(500);
    let started = std::time::Instant::now();
    let result = RedisStore::connect_cluster(
        &[format!("redis://127.0.0.1:{port}")],
        RedisOptions {
            timeout,
            ..support::redis::options(&unique_prefix("rt-cluster"))
        },
    )
    .await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < timeout + std::time::Duration::from_secs(1));
    let none = RedisStore::connect_cluster(&[], support::redis::options("rt:")).await;
    assert!(matches!(none, Err(StoreError::Unavailable(_))), "{none:?}");
}

async fn append(
    store: &RedisStore,
    group_id: GroupId,
    meeting_id: MeetingId,
    entries: &[roundtable_server::store::LogEntry],
) {
    fixtures::append(store, group_id, meeting_id, entries, None)
        .await
        .expect("append");
}

#[tokio::test]
async fn the_configured_cluster_seeds_choose_the_store() {
    let cluster = TestCluster::shared();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = roundtable_server::Config::for_tests(
        "127.0.0.1:0".parse().expect("address"),
        dir.path().to_path_buf(),
    );
    // An empty `ROUNDTABLE_REDIS_CLUSTER=` names no seed: the embedded store, as if unset.
    config.redis_cluster = vec![String::new()];
    let store = roundtable_server::server::open_store(&config)
        .await
        .expect("open the embedded store");
    assert_eq!(store.kind(), "embedded");
    drop(store);
    // Seeds: the cluster, under the configured prefix.
    let prefix = unique_prefix("rt-cluster");
    config.redis_cluster = cluster.seeds();
    config.redis_prefix = prefix.clone();
    let store = roundtable_server::server::open_store(&config)
        .await
        .expect("open the cluster store");
    assert_eq!(store.kind(), "redis");
    let (group_id, _) = fixtures::create_group(store.as_ref(), "start").await;
    let snapshot_key = format!("{prefix}{{g:{group_id}}}:snapshot");
    assert!(
        cluster.keys_on_every_master(&prefix).iter().any(
            |(port, key)| *key == snapshot_key && *port == cluster.master_of_key(&snapshot_key)
        ),
        "the group is stored on its slot's master"
    );
}

#[tokio::test]
async fn a_cluster_node_given_as_a_single_redis_is_reported_as_a_cluster() {
    let cluster = TestCluster::shared();
    let port = cluster.master_ports()[0];
    let store = RedisStore::connect(
        &format!("redis://127.0.0.1:{port}/"),
        support::redis::options(&unique_prefix("rt-cluster")),
    )
    .await
    .expect("a cluster node answers a single connection");
    // Some group lands on another master; its creation is refused with a hint.
    for _ in 0..100 {
        let snapshot = fixtures::snapshot(MeetingId::random(), 0, "start");
        match store.create_group(GroupId::random(), &snapshot).await {
            Ok(()) => continue,
            Err(StoreError::Unavailable(message)) => {
                assert!(
                    message.contains("Moved") && message.contains("--redis-cluster"),
                    "{message}"
                );
                return;
            }
            Err(other) => panic!("a group on another master: {other:?}"),
        }
    }
    panic!("100 groups all landed on the one master");
}
