//! Every HTTP answer carries the security headers, the API's are never cached, and group
//! creation reads only JSON: raw HTTP against a real server on 127.0.0.1.

mod support;

use std::time::Duration;

use support::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` as it is; answers the status and the head's lines, lowercased.
async fn raw(addr: std::net::SocketAddr, request: String) -> (u16, Vec<String>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("an answer in time")
        .unwrap();
    let text = String::from_utf8_lossy(&answer).to_string();
    let head = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap();
    (status, head.lines().map(str::to_string).collect())
}

fn get(addr: std::net::SocketAddr, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
}

fn post(addr: std::net::SocketAddr, content_type: &str, body: &str) -> String {
    format!(
        "POST /api/groups HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_the_api_is_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let addr = server.addr;
    let body = r#"{"name": "Peers"}"#;
    let answers = [
        ("the page", raw(addr, get(addr, "/")).await),
        ("a script", raw(addr, get(addr, "/js/app.js")).await),
        (
            "a missing page",
            raw(addr, get(addr, "/nothing-here")).await,
        ),
        ("the health check", raw(addr, get(addr, "/healthz")).await),
        (
            "a new group",
            raw(addr, post(addr, "application/json", body)).await,
        ),
        (
            "an export without a credential",
            raw(
                addr,
                get(
                    addr,
                    "/api/groups/00000000-0000-4000-8000-000000000001/meetings",
                ),
            )
            .await,
        ),
    ];
    let statuses: Vec<u16> = answers.iter().map(|(_, (status, _))| *status).collect();
    assert_eq!(statuses, vec![200, 200, 404, 200, 201, 401]);
    for (what, (_, head)) in &answers {
        let policy = header(head, "content-security-policy")
            .unwrap_or_else(|| panic!("{what}: no CSP in {head:?}"));
        for part in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(policy.contains(part), "{what}: {policy} lacks {part}");
        }
        assert!(
            policy.contains(&format!("connect-src 'self' ws://{addr}")),
            "{what}: {policy}"
        );
        assert_eq!(
            header(head, "x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(
            header(head, "referrer-policy"),
            Some("no-referrer"),
            "{what}"
        );
        assert_eq!(
            header(head, "cross-origin-opener-policy"),
            Some("same-origin"),
            "{what}"
        );
        assert!(
            header(head, "permissions-policy").is_some_and(|policy| policy.contains("camera=()")),
            "{what}"
        );
    }
    let cached = |what: &str| {
        header(
            &answers.iter().find(|(name, _)| *name == what).unwrap().1.1,
            "cache-control",
        )
        .map(str::to_string)
    };
    assert_eq!(
        cached("a new group").as_deref(),
        Some("no-store"),
        "the answer holds the group's secrets"
    );
    assert_eq!(
        cached("an export without a credential").as_deref(),
        Some("no-store")
    );
    assert_eq!(
        header(&answers[1].1.1, "content-type"),
        Some("text/javascript"),
        "scripts are served as JavaScript"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_group_is_created_from_json_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let addr = server.addr;
    // What a form on another site could send, and a missing type: refused before reading.
    for content_type in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let (status, _) = raw(addr, post(addr, content_type, r#"{"name": "Peers"}"#)).await;
        assert_eq!(status, 415, "{content_type}");
    }
    let (status, _) = raw(
        addr,
        post(
            addr,
            "application/json; charset=utf-8",
            r#"{"name": "Peers"}"#,
        ),
    )
    .await;
    assert_eq!(status, 201);
    server.stop().await;
}
