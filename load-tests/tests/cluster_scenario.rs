//! Runs the `cluster` scenario in a tiny configuration against the real Roundtable server on a
//! redis-server the scenario starts itself: every delivery arrives, every member is back after
//! a `kill -9` and a SIGTERM of the node, and no event is lost, duplicated or reordered.
//!
//! Needs the server binary of the same profile (`cargo build -p roundtable-server`; `cargo
//! test --workspace` builds it) and redis-server on the PATH; fails saying so otherwise.

use std::path::PathBuf;

use roundtable_load_tests::cluster::{self, Balancer, ClusterConfig, Placement, RedisMode};
use roundtable_load_tests::peer::PeerSetup;

fn setup() -> PeerSetup {
    let mut setup = PeerSetup::from_env();
    // The test runs from target/<profile>/deps; the server binary is one level up.
    let exe = std::env::current_exe().expect("test executable");
    let profile_dir: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .to_path_buf();
    setup.roundtable_bin = profile_dir.join("roundtable");
    assert!(
        setup.roundtable_bin.is_file(),
        "{} missing: run `cargo build -p roundtable-server` first",
        setup.roundtable_bin.display()
    );
    setup
}

fn config(nodes: usize) -> ClusterConfig {
    ClusterConfig {
        nodes,
        redis: RedisMode::Single,
        placement: Placement::Spread,
        balancer: Balancer::LeastConnections,
        rooms: 3,
        room_size: 4,
        rate: 6.0,
        duration_s: 1.5,
        drain_wait_s: 5.0,
        kills: 1,
        drains: 1,
        recover_timeout_s: 15.0,
        between_s: 0.3,
        rebalance_wait_s: 30.0,
        handshake_concurrency: 8,
        // A killed node's leases must expire well within the recovery timeout.
        node_args: vec!["--room-lease-ms=1000".into()],
        redis_args: Vec::new(),
        trace: None,
    }
}

#[tokio::test]
async fn one_node_kill_and_drain_lose_nothing() {
    let config = config(1);
    let result = cluster::cluster(&setup(), &config)
        .await
        .expect("the scenario runs");
    let summary = cluster::summary(&result);
    let delivery = &result.delivery;
    assert_eq!(delivery.sent, 9, "{summary}");
    assert_eq!(delivery.expected, 9 * 4, "{summary}");
    assert_eq!(delivery.delivered, delivery.expected, "{summary}");
    assert!(delivery.owners_known, "{summary}");
    let on_owner = delivery.receiver_on_owner.as_ref().expect("on the owner");
    assert_eq!(on_owner.deliveries, delivery.delivered, "{summary}");
    assert!(delivery.receiver_elsewhere.is_none(), "one node: {summary}");

    let failover = result.failover.as_ref().expect("a failover phase");
    assert_eq!(failover.not_caught_up, 0, "{summary}");
    let killed = &failover.time_to_caught_up["room_owner_killed"];
    assert_eq!(killed.count, 12, "every member timed: {summary}");
    assert!(killed.latency.max_ms > 0.0, "{summary}");

    let drain = result.drain.as_ref().expect("a drain phase");
    assert_eq!(drain.not_caught_up, 0, "{summary}");
    assert_eq!(
        drain.reconnect_gap.count, 12,
        "every member came back: {summary}"
    );

    let integrity = &result.integrity;
    assert!(integrity.hand_events >= 9, "{summary}");
    assert_eq!(
        (
            integrity.lost,
            integrity.duplicated,
            integrity.reordered,
            integrity.divergent,
            integrity.failed_members
        ),
        (0, 0, 0, 0, 0),
        "{summary}"
    );
    assert!(
        integrity.resumes_by_replay + integrity.resumes_by_snapshot >= 24,
        "{summary}"
    );
    assert!(result.passed, "{summary}");
}

#[tokio::test]
async fn one_node_on_a_redis_cluster_delivers_everything() {
    let config = ClusterConfig {
        redis: RedisMode::Cluster,
        kills: 0,
        drains: 0,
        ..config(1)
    };
    let result = cluster::cluster(&setup(), &config)
        .await
        .expect("the scenario runs on a Redis Cluster");
    let summary = cluster::summary(&result);
    assert_eq!(result.delivery.sent, 9, "{summary}");
    assert_eq!(
        result.delivery.delivered, result.delivery.expected,
        "{summary}"
    );
    assert!(result.failover.is_none() && result.drain.is_none());
    assert_eq!(result.integrity.lost, 0, "{summary}");
    assert!(result.passed, "{summary}");
}

#[tokio::test]
async fn three_nodes_with_sticky_rooms_take_over_after_a_kill_and_a_drain() {
    let config = ClusterConfig {
        placement: Placement::Sticky,
        balancer: Balancer::HomeFirst,
        kills: 2,
        drains: 1,
        node_args: Vec::new(),
        ..config(3)
    };
    let result = cluster::cluster(&setup(), &config)
        .await
        .expect("the scenario runs");
    let summary = cluster::summary(&result);
    assert_eq!(
        result.delivery.delivered, result.delivery.expected,
        "{summary}"
    );
    assert!(result.delivery.owners_known, "{summary}");
    let failover = result.failover.as_ref().expect("a failover phase");
    assert_eq!(failover.not_caught_up, 0, "{summary}");
    // Every member of a room the killed node owned is timed as such, every other as untouched
    // (which rooms a node owns depends on the server: where the room was started, or where
    // placement puts it).
    let owned: usize = failover
        .per_kill
        .iter()
        .map(|kill| kill.rooms_owned.expect("owners known"))
        .sum();
    let count = |class: &str| failover.time_to_caught_up.get(class).map_or(0, |d| d.count);
    assert_eq!(count("room_owner_killed"), 4 * owned as u64, "{summary}");
    assert_eq!(
        count("untouched") + count("own_node_killed"),
        24 - 4 * owned as u64,
        "{summary}"
    );
    let drain = result.drain.as_ref().expect("a drain phase");
    assert_eq!(drain.not_caught_up, 0, "{summary}");
    assert_eq!(drain.per_drain[0].node, 2, "{summary}");
    assert!(drain.per_drain[0].exit_ms.is_some(), "{summary}");
    assert_intact(&result, &summary);
}

#[tokio::test]
async fn three_nodes_forward_to_the_owner_and_take_over_after_a_kill_and_a_drain() {
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let trace_path = scratch.path().join("trace.jsonl");
    let config = ClusterConfig {
        kills: 1,
        drains: 1,
        node_args: Vec::new(),
        trace: Some(trace_path.clone()),
        ..config(3)
    };
    let result = cluster::cluster(&setup(), &config)
        .await
        .expect("the scenario runs");
    let summary = cluster::summary(&result);
    let delivery = &result.delivery;
    assert_eq!(delivery.delivered, delivery.expected, "{summary}");
    assert!(delivery.owners_known, "{summary}");
    // Members p of room r sit on node (r + p) % 3: each room has receivers on and off its owner,
    // one or two of its four on the owner (two when placement picked node r, as it may for every
    // room at once), so at least half of the deliveries cross a hop.
    let on = delivery.receiver_on_owner.as_ref().expect("on the owner");
    let off = delivery.receiver_elsewhere.as_ref().expect("elsewhere");
    assert_eq!(
        on.deliveries + off.deliveries,
        delivery.delivered,
        "{summary}"
    );
    assert!(on.deliveries > 0, "{summary}");
    assert!(off.deliveries >= on.deliveries, "{summary}");
    assert!(
        delivery.by_hops.iter().all(Option::is_some),
        "0, 1 and 2 hops: {summary}"
    );
    assert!(delivery.hop_added_p99_ms.is_some(), "{summary}");
    assert!(
        delivery
            .hop_metric
            .iter()
            .any(|metric| metric.name.contains("link_hop") && metric.observations > 0.0),
        "the servers' hop histogram: {:?}",
        delivery.hop_metric
    );
    let failover = result.failover.as_ref().expect("a failover phase");
    assert_eq!(failover.not_caught_up, 0, "{summary}");
    assert!(
        failover.time_to_caught_up.contains_key("affected"),
        "{summary}"
    );
    let drain = result.drain.as_ref().expect("a drain phase");
    assert_eq!(drain.not_caught_up, 0, "{summary}");
    // Once the node is back the others hand it its rooms (the rebalance), with the load on.
    for back in failover.per_kill.iter().chain(&drain.per_drain) {
        assert!(
            back.rebalance_ms.is_some() && back.rebalance_unfinished.is_none(),
            "the rebalance ended after node {} came back: {summary}",
            back.node
        );
    }
    // A killed node's exit is waited for as a drained one's is.
    assert!(failover.per_kill[0].exit_ms.is_some(), "{summary}");
    assert_trace(&trace_path, failover, drain, &summary);
    assert_intact(&result, &summary);
}

/// The trace has one line per disruption, in order, that accounts for every member and room
/// as the report does.
fn assert_trace(
    path: &std::path::Path,
    failover: &cluster::FailoverReport,
    drain: &cluster::DrainReport,
    summary: &str,
) {
    let text = std::fs::read_to_string(path).expect("the trace was written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "a kill and a drain: {text}");
    for (line, (kind, report)) in lines.iter().zip([
        ("kill", &failover.per_kill[0]),
        ("drain", &drain.per_drain[0]),
    ]) {
        assert_eq!(line["kind"], kind, "{summary}");
        assert_eq!(line["victim"], report.node, "{summary}");
        let rooms = line["rooms"].as_array().expect("rooms");
        assert_eq!(rooms.len(), 3, "{line}");
        let members = line["members"].as_array().expect("members");
        assert_eq!(members.len(), 12, "{line}");
        // Every member is back, no earlier than the signal and no later than the slowest.
        let slowest = report.slowest_ms.expect("a slowest member");
        for member in members {
            let back = member[2].as_f64().expect("back");
            assert!(back > 0.0 && back <= slowest + 0.01, "{member} {slowest}");
        }
        // The members of the rooms the victim owned are the report's.
        if let Some(owned) = report.rooms_owned {
            let of_owner = members.iter().filter(|m| m[1] == 0).count();
            assert_eq!(of_owner, 4 * owned, "{line}");
        }
        // The other nodes' rooms moved and misplaced were read from their metrics.
        assert!(
            line["rooms_moved"].is_u64() && line["rooms_misplaced"].is_u64(),
            "{line}"
        );
        // The CPU was sampled while the members came back.
        let cpu = line["cpu_pct"].as_array().expect("cpu_pct");
        assert!(
            !cpu.is_empty() && cpu.iter().all(|s| s[1].as_f64().is_some_and(|p| p >= 0.0)),
            "{line}"
        );
    }
}

/// Every member received every event once and in order, agreed with the others, and none gave
/// up; and the scenario passed its own checks.
fn assert_intact(result: &cluster::ClusterResult, summary: &str) {
    let integrity = &result.integrity;
    assert_eq!(
        (
            integrity.lost,
            integrity.duplicated,
            integrity.reordered,
            integrity.divergent,
            integrity.failed_members
        ),
        (0, 0, 0, 0, 0),
        "{summary}"
    );
    assert!(result.passed, "{summary}");
}
