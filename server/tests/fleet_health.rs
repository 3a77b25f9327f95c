//! Readiness includes forwarding: a node in a fleet answers 503 on its admin `/healthz`, with
//! `forwarding` among what failed, within 5 s of a live node becoming unreachable through its
//! internal listener, and is ready again once that node has left the registry. Two real server
//! processes on one Redis started by the test, on loopback. The broken node advertises an
//! internal address where nothing listens (a wrong `--internal-advertise`), so it is live in
//! the registry but cannot be reached: the other node's probe finds no link to it, and its own
//! probe finds its advertised listener silent.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::redis::{TestRedis, unique_prefix};

const SECRET: &str = "the health test's fleet secret";

/// A free loopback port (bound and let go).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Starts a node in the fleet with an admin listener; answers its process and admin address.
async fn start_node(
    url: &str,
    prefix: &str,
    advertise: Option<SocketAddr>,
) -> (tokio::process::Child, SocketAddr) {
    let advertise = advertise.map(|addr| addr.to_string());
    let extra: Vec<&str> = match &advertise {
        Some(advertise) => vec!["--internal-advertise", advertise],
        None => Vec::new(),
    };
    let (child, _, admin) =
        support::redis::start_fleet_node(url, prefix, "127.0.0.1:0", SECRET, &extra).await;
    (child, admin)
}

/// The admin `/healthz`: its status and body.
async fn health(admin: SocketAddr) -> (u16, serde_json::Value) {
    let (status, body) = support::http_get(admin, "/healthz", None).await;
    let body = serde_json::from_str(&body)
        .unwrap_or_else(|error| panic!("/healthz answers JSON ({error}): {body}"));
    (status, body)
}

/// Waits at most `within` for `/healthz` to satisfy `wanted`; answers the report that did and
/// when.
async fn health_where(
    admin: SocketAddr,
    within: Duration,
    what: &str,
    wanted: impl Fn(u16, &serde_json::Value) -> bool,
) -> (serde_json::Value, Duration) {
    let started = Instant::now();
    loop {
        let (status, report) = health(admin).await;
        if wanted(status, &report) {
            return (report, started.elapsed());
        }
        assert!(
            started.elapsed() < within,
            "{what} within {within:?}; the last report was {status} {report}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn failed_forwarding(status: u16, report: &serde_json::Value) -> bool {
    status == 503
        && report["failed"]
            .as_array()
            .is_some_and(|failed| failed.iter().any(|what| what == "forwarding"))
}

#[tokio::test]
async fn a_node_that_cannot_forward_to_a_live_node_is_not_ready_until_that_node_is_gone() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("fleet-health");
    let (mut healthy, healthy_admin) = start_node(redis.url(), &prefix, None).await;
    let (ready, _) = health_where(
        healthy_admin,
        Duration::from_secs(10),
        "ready",
        |status, _| status == 200,
    )
    .await;
    assert_eq!(ready["ready"], true, "{ready}");
    assert!(
        ready["forwarding"]["last_probe_ok_ms_ago"].is_u64(),
        "a node in a fleet reports its forwarding probe: {ready}"
    );

    // A second node whose advertised internal address has no listener behind it.
    let nowhere: SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("an address");
    let (mut broken, broken_admin) = start_node(redis.url(), &prefix, Some(nowhere)).await;
    let started = Instant::now();
    let (report, _) = health_where(
        healthy_admin,
        Duration::from_secs(8),
        "the healthy node notices it cannot reach the live node",
        failed_forwarding,
    )
    .await;
    let took = started.elapsed();
    let error = report["forwarding"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&nowhere.to_string()),
        "the report names the unreachable address: {report}"
    );
    assert!(
        took <= Duration::from_secs(6),
        "not ready within 5 s of the node's first heartbeat (and its start): {took:?}"
    );
    let (own, _) = health_where(
        broken_admin,
        Duration::from_secs(5),
        "the broken node finds its own listener silent",
        failed_forwarding,
    )
    .await;
    assert!(
        own["forwarding"]["error"]
            .as_str()
            .is_some_and(|error| error.contains("--internal-advertise")),
        "the broken node says which setting to look at: {own}"
    );
    assert_eq!(
        own["store"]["error"],
        serde_json::Value::Null,
        "its store is fine: only forwarding fails"
    );

    // Once the broken node is gone (its heartbeat goes stale), the healthy node is ready again.
    broken.kill().await.expect("kill the broken node");
    let (back, after) = health_where(
        healthy_admin,
        Duration::from_secs(10),
        "ready again once the unreachable node left the registry",
        |status, _| status == 200,
    )
    .await;
    assert_eq!(
        back["forwarding"]["error"],
        serde_json::Value::Null,
        "{back}"
    );
    eprintln!("not ready after {took:?}; ready again {after:?} after the kill");
    healthy.kill().await.expect("kill the healthy node");
}
