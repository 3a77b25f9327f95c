//! A connection's first request head, from the accept to its blank line, must arrive within
//! one deadline (`--request-head-seconds`), however it trickles in: a client that sends
//! nothing and one that sends its first byte just before the deadline and then one byte at a
//! time are both closed at the deadline. A request that arrives in time is served, and so are
//! the next ones on its connection. Raw TCP clients against a real server on 127.0.0.1.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use roundtable_server::Limits;
use support::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The deadline of these tests' servers.
const HEAD: Duration = Duration::from_secs(2);

/// How late after the deadline a close may come on a loaded machine.
const MARGIN: Duration = Duration::from_millis(1_500);

async fn server(dir: &std::path::Path) -> TestServer {
    let limits = Limits {
        request_head_seconds: HEAD.as_secs(),
        ..Limits::default()
    };
    TestServer::start_with(dir, limits).await
}

/// Whether the server has closed `tcp`, looking for up to `wait`: its end of the stream, or a
/// reset. Fails if the server sends anything but an end.
async fn closed_within(tcp: &mut TcpStream, wait: Duration) -> bool {
    let mut byte = [0; 1];
    match tokio::time::timeout(wait, tcp.read(&mut byte)).await {
        Err(_) => false,
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(_)) => panic!("the server answered instead of closing at the deadline"),
    }
}

/// Sends `request` as a client that waits `first_after` and then sends one byte every `pace`,
/// until the server closes the connection; answers when it did, from the connect.
async fn trickle(
    addr: SocketAddr,
    request: &str,
    first_after: Duration,
    pace: Duration,
) -> Duration {
    let started = Instant::now();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    if closed_within(&mut tcp, first_after).await {
        return started.elapsed();
    }
    for byte in request.as_bytes() {
        if tcp.write_all(&[*byte]).await.is_err() || closed_within(&mut tcp, pace).await {
            return started.elapsed();
        }
    }
    panic!(
        "the whole request went out over {:?} and the server kept the connection open",
        started.elapsed()
    );
}

fn assert_closed_at_the_deadline(what: &str, closed_after: Duration) {
    assert!(
        closed_after + Duration::from_millis(100) >= HEAD && closed_after <= HEAD + MARGIN,
        "{what}: closed after {closed_after:?}, the deadline is {HEAD:?}"
    );
}

fn healthz(addr: SocketAddr) -> String {
    format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n")
}

fn upgrade(addr: SocketAddr) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_closed_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let started = Instant::now();
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    assert!(
        closed_within(&mut tcp, HEAD + MARGIN).await,
        "still open after {:?}",
        started.elapsed()
    );
    assert_closed_at_the_deadline("silent", started.elapsed());
    server.stop().await;
}

#[tokio::test]
async fn a_head_that_starts_just_before_the_deadline_and_trickles_is_closed_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let first_after = HEAD - Duration::from_millis(300);
    let pace = Duration::from_millis(100);
    // An HTTP request, and a WebSocket upgrade, each trickling in one byte every 100 ms from
    // 1.7 s on: at that pace each would take seconds more to complete.
    let (http, ws) = (healthz(server.addr), upgrade(server.addr));
    let (request, upgrade) = tokio::join!(
        trickle(server.addr, &http, first_after, pace),
        trickle(server.addr, &ws, first_after, pace),
    );
    assert_closed_at_the_deadline("a trickled request", request);
    assert_closed_at_the_deadline("a trickled upgrade", upgrade);
    server.stop().await;
}

/// Reads one HTTP response (head and a `content-length` body) from `tcp`; answers its status.
async fn read_response(tcp: &mut TcpStream) -> u16 {
    let mut received = Vec::new();
    loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse().unwrap());
            if received.len() >= end + 4 + length {
                return head[9..12].parse().unwrap();
            }
        }
        let mut chunk = [0; 4096];
        let read = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut chunk))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(read > 0, "the server closed before answering");
        received.extend_from_slice(&chunk[..read]);
    }
}

#[tokio::test]
async fn requests_that_arrive_in_time_are_served_and_their_connections_stay() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;

    // A request whose head comes in two pieces, the second 1.2 s after the accept, is served;
    // a second request on the same connection after the first's deadline is served too.
    let started = Instant::now();
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let request = healthz(server.addr);
    let (first, rest) = request.split_at(10);
    tcp.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    tcp.write_all(rest.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut tcp).await, 200);
    tokio::time::sleep_until((started + HEAD + Duration::from_millis(500)).into()).await;
    tcp.write_all(request.as_bytes()).await.unwrap();
    assert_eq!(
        read_response(&mut tcp).await,
        200,
        "the kept-alive connection is served"
    );

    // A WebSocket whose upgrade arrived in pieces (through hyper) outlives the deadline.
    let mut ws = TcpStream::connect(server.addr).await.unwrap();
    let request = upgrade(server.addr);
    let (first, rest) = request.split_at(10);
    ws.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    ws.write_all(rest.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let head_len = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0; 1024];
        let read = tokio::time::timeout(Duration::from_secs(5), ws.read(&mut chunk))
            .await
            .expect("the upgrade is answered in time")
            .unwrap();
        assert!(read > 0, "the server closed before answering the upgrade");
        received.extend_from_slice(&chunk[..read]);
    };
    assert!(received.starts_with(b"HTTP/1.1 101 "));
    let mut socket =
        WebSocketStream::from_partially_read(ws, received[head_len..].to_vec(), Role::Client, None)
            .await;
    tokio::time::sleep(HEAD + Duration::from_millis(500)).await;
    socket
        .send(Message::text(
            r#"{"v":1,"id":7,"type":"ping","client_time_ms":1}"#,
        ))
        .await
        .expect("the WebSocket is still open");
    let answered = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message
                && text.contains(r#""id":7"#)
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(answered, Ok(true), "the ping is answered past the deadline");
    server.stop().await;
}
