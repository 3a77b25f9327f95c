//! Limits on `POST /api/groups` against a real server: per client address (with the address
//! read from `X-Forwarded-For` only behind a trusted proxy) and server-wide, each answered with
//! a typed error and `Retry-After`.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use roundtable_server::store::{EmbeddedOptions, fixtures};
use roundtable_server::{Config, Limits};
use serde_json::Value;
use support::{FRAME_WAIT, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What `POST /api/groups` answered: the status, the `Retry-After` header and the body.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

/// `POST /api/groups` with `body`, and an `X-Forwarded-For` header when given.
async fn post_group(addr: SocketAddr, forwarded_for: Option<&str>, body: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let forwarded = forwarded_for
        .map(|address| format!("X-Forwarded-For: {address}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST /api/groups HTTP/1.1\r\nHost: {addr}\r\n{forwarded}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(FRAME_WAIT, stream.read_to_end(&mut response))
        .await
        .expect("answered in time")
        .expect("read");
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status");
    let retry_after = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("retry-after")
            .then(|| value.trim().parse().expect("Retry-After is whole seconds"))
    });
    Answer {
        status,
        retry_after,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

async fn create(addr: SocketAddr, forwarded_for: Option<&str>) -> Answer {
    post_group(addr, forwarded_for, r#"{"name": "Peers"}"#).await
}

async fn server(dir: &std::path::Path, configure: impl FnOnce(&mut Config)) -> TestServer {
    let store = fixtures::open_embedded(dir, EmbeddedOptions::default()).await;
    TestServer::start_configured(dir, Arc::new(store), configure).await
}

fn limits(burst: u32, per_address_per_hour: u32, server_per_hour: u32) -> Limits {
    Limits {
        group_creations_per_address_burst: burst,
        group_creations_per_address_per_hour: per_address_per_hour,
        group_creations_per_hour: server_per_hour,
        ..Limits::default()
    }
}

fn assert_refused(answer: &Answer, status: u16, code: &str, retry_after_max: u64) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.body["error"]["code"], code, "{answer:?}");
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "{answer:?}"
    );
    let retry_after = answer.retry_after.expect("a Retry-After header");
    assert!(
        (1..=retry_after_max).contains(&retry_after),
        "Retry-After {retry_after} within 1..={retry_after_max}"
    );
}

#[tokio::test]
async fn one_address_creates_its_burst_then_gets_429_with_retry_after() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server(dir.path(), |config| config.limits = limits(3, 10, 10_000)).await;
    // Requests that are refused for what they are cost nothing.
    for _ in 0..5 {
        let bad = post_group(server.addr, None, r#"{"nom": 1}"#).await;
        assert_eq!(bad.status, 400);
    }
    for _ in 0..3 {
        assert_eq!(create(server.addr, None).await.status, 201);
    }
    let refused = create(server.addr, None).await;
    // Ten an hour: the next one in at most six minutes.
    assert_refused(&refused, 429, "rate_limited", 360);
    // Without a trusted proxy, a forwarded address is not believed.
    let claimed = create(server.addr, Some("198.51.100.7")).await;
    assert_refused(&claimed, 429, "rate_limited", 360);
    server.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server(dir.path(), |config| {
        config.limits = limits(2, 1, 10_000);
        config.trusted_proxies = vec!["127.0.0.0/8".parse().expect("network")];
    })
    .await;
    let alice = "198.51.100.1";
    for _ in 0..2 {
        assert_eq!(create(server.addr, Some(alice)).await.status, 201);
    }
    assert_refused(
        &create(server.addr, Some(alice)).await,
        429,
        "rate_limited",
        3600,
    );
    // A client cannot escape its limit by prepending an address: the proxy appended the one it
    // saw, which is the right-most.
    let spoofed = format!("203.0.113.9, {alice}");
    assert_refused(
        &create(server.addr, Some(&spoofed)).await,
        429,
        "rate_limited",
        3600,
    );
    // Another client, and the proxy itself, still create.
    assert_eq!(create(server.addr, Some("198.51.100.2")).await.status, 201);
    assert_eq!(create(server.addr, None).await.status, 201);
    // An IPv6 client counts by its /64.
    assert_eq!(
        create(server.addr, Some("2001:db8:0:1::1")).await.status,
        201
    );
    assert_eq!(
        create(server.addr, Some("2001:db8:0:1::2")).await.status,
        201
    );
    assert_refused(
        &create(server.addr, Some("2001:db8:0:1::3")).await,
        429,
        "rate_limited",
        3600,
    );
    server.stop().await;
}

#[tokio::test]
async fn the_server_wide_limit_holds_whatever_the_addresses() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 30 an hour server-wide: a burst of 3, then one every two minutes.
    let server = server(dir.path(), |config| {
        config.limits = limits(5, 10, 30);
        config.trusted_proxies = vec!["127.0.0.1".parse().expect("network")];
    })
    .await;
    for client in 1..=3 {
        let address = format!("198.51.100.{client}");
        assert_eq!(create(server.addr, Some(&address)).await.status, 201);
    }
    for client in 4..=10 {
        let address = format!("198.51.100.{client}");
        assert_refused(
            &create(server.addr, Some(&address)).await,
            503,
            "server_busy",
            120,
        );
    }
    server.stop().await;
}
