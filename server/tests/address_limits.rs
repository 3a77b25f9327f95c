//! Limits per client address on connections, against a real server: WebSockets that have not
//! joined, joins per minute, and connections that have not sent a whole request head.

mod support;

use std::time::Duration;

use roundtable_protocol::ErrorCode;
use roundtable_server::Limits;
use support::{TestClient, TestServer, create_group};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite;

#[tokio::test]
async fn an_address_holds_only_so_many_websockets_that_have_not_joined() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(
        dir.path(),
        Limits {
            unjoined_websockets_per_address_max: 3,
            ..Limits::default()
        },
    )
    .await;
    let group = create_group(server.addr, "Peers").await;
    let mut waiting = Vec::new();
    for _ in 0..3 {
        waiting.push(TestClient::connect(server.addr).await);
    }
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr)).await;
    match refused {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            assert_eq!(response.headers()["retry-after"], "1");
            let body =
                String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).to_string();
            assert!(body.contains("rate_limited"), "{body}");
        }
        other => panic!("a fourth unjoined WebSocket is refused, got {other:?}"),
    }
    // A WebSocket that joins gives its place back.
    waiting[0].join_as_facilitator(&group, "Fran").await;
    let _fourth = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    // So does one that closes.
    waiting.pop().expect("one").close().await;
    let mut again = None;
    for _ in 0..50 {
        match tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr)).await {
            Ok(socket) => {
                again = Some(socket);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(again.is_some(), "a closed WebSocket gives its place back");
    server.stop().await;
}

#[tokio::test]
async fn joins_from_one_address_are_limited_per_minute() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(
        dir.path(),
        Limits {
            joins_per_address_per_minute: 4,
            ..Limits::default()
        },
    )
    .await;
    let group = create_group(server.addr, "Peers").await;
    let fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let token = fran.token_credential();
    for _ in 0..3 {
        let mut client = TestClient::connect(server.addr).await;
        client
            .join(group.group_id, token.clone(), None)
            .await
            .expect("joins two to four");
    }
    // Every join counts, whatever its outcome; the fifth is refused, valid token or not.
    let mut fifth = TestClient::connect(server.addr).await;
    let (code, message) = fifth
        .join(group.group_id, token.clone(), None)
        .await
        .expect_err("a fifth join within the minute");
    assert_eq!(code, ErrorCode::RateLimited, "{message}");
    assert!(
        message.contains("joins a minute from this address"),
        "{message}"
    );
    // The refusal does not close the connection: it may try again later.
    fifth.expect_silence(Duration::from_millis(200)).await;
    server.stop().await;
}

/// Opens a connection and sends the start of a request head, never its end.
async fn unfinished(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    stream
}

/// Whether the server closed `stream` within a second, having sent nothing.
async fn closed_at_once(stream: &mut TcpStream) -> bool {
    let mut byte = [0; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn an_address_holds_only_so_many_connections_without_a_whole_request_head() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(
        dir.path(),
        Limits {
            unfinished_requests_per_address_max: 4,
            ..Limits::default()
        },
    )
    .await;
    let mut slow = Vec::new();
    for _ in 0..4 {
        slow.push(unfinished(server.addr).await);
    }
    let mut fifth = unfinished(server.addr).await;
    assert!(
        closed_at_once(&mut fifth).await,
        "the fifth is closed at once"
    );
    // The first four are still open.
    for stream in &mut slow {
        let mut byte = [0; 1];
        assert!(
            tokio::time::timeout(Duration::from_millis(100), stream.read(&mut byte))
                .await
                .is_err(),
            "an unfinished request waits"
        );
    }
    // One finishes its head: it is answered, and its place is free for another.
    let mut finished = slow.pop().expect("one");
    finished.write_all(b"\r\n").await.expect("finish the head");
    let mut response = [0; 12];
    finished.read_exact(&mut response).await.expect("an answer");
    assert_eq!(&response, b"HTTP/1.1 200");
    let mut next = unfinished(server.addr).await;
    let mut byte = [0; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), next.read(&mut byte))
            .await
            .is_err(),
        "a new connection is accepted once a head completed"
    );
    // A WebSocket that upgrades directly gives its place back as well.
    drop(next);
    let mut client = TestClient::connect(server.addr).await;
    client.expect_silence(Duration::from_millis(50)).await;
    server.stop().await;
}
