//! A connection whose client stops taking what the server writes is closed and released within
//! `--write-stall-seconds`, whatever it is doing: joined members who stop reading while the
//! room broadcasts, and an unjoined client that pings without reading. A client that reads
//! slowly, but reads, keeps its connection. Real server on 127.0.0.1; the stalled clients are
//! raw sockets with small receive buffers, so that the server's writes block quickly.

mod support;

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use roundtable_protocol::{
    ClientFrame, Credential, Event, MemberId, PresenceReason, Reply, Request, ServerMessage,
};
use roundtable_server::Limits;
use support::{TestClient, TestGroup, TestServer, create_group, http_request};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// The write stall limit of the servers of the tests that expect closes.
const STALL: Duration = Duration::from_secs(1);

/// The write stall limit of the server of the test that expects none: longer, so that a slow
/// reader is not mistaken for a stalled one on a loaded machine (the whole test, server and
/// clients, runs on one thread).
const SLOW_READER_STALL: Duration = Duration::from_secs(2);

/// How late after the limit a close may come (scheduling, the close itself).
const MARGIN: Duration = Duration::from_secs(3);

/// Limits for a quick test: a short stall limit; queues, rates and the join timeout far away,
/// so that only the stall limit can close a connection.
fn limits(stall: Duration) -> Limits {
    Limits {
        write_stall_seconds: stall.as_secs(),
        outbound_queue_max: 100_000,
        requests_per_second: 100_000,
        writes_per_member_per_second: 100_000,
        group_name_chars_max: 2_000,
        join_timeout_seconds: 600,
        // A member a stall dropped is shown gone at once, not after the grace for coming back
        // (which `rooms` tests): the tests time the stall alone.
        presence_grace_ms: 0,
        ..Limits::default()
    }
}

/// A TCP connection to the server whose receive (and send) buffers are small.
async fn small_buffer_tcp(addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    socket.connect(addr).await.unwrap()
}

/// The client side of a WebSocket over `stream`.
async fn websocket<S>(addr: SocketAddr, stream: S) -> WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (socket, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream)
        .await
        .expect("WebSocket handshake");
    socket
}

/// Joins `group` as a member named `name` on a raw WebSocket; answers the member's id.
async fn join<S>(socket: &mut WebSocketStream<S>, group: &TestGroup, name: &str) -> MemberId
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let join = ClientFrame::new(
        1,
        Request::Join {
            group_id: group.group_id,
            credential: Credential::Invite {
                secret: group.invite_secret.clone(),
                display_name: name.into(),
                observer: false,
            },
            resume: None,
        },
    );
    socket.send(Message::text(join.to_json())).await.unwrap();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("the join is answered in time")
            .expect("the socket is open")
            .expect("a frame");
        let Message::Text(text) = message else {
            continue;
        };
        match serde_json::from_str::<ServerMessage>(&text).unwrap() {
            ServerMessage::Ack {
                id: 1,
                result: Reply::Joined(joined),
            } => return joined.member_id,
            ServerMessage::Error { id: Some(1), .. } => panic!("join refused: {text}"),
            _ => {}
        }
    }
}

/// The number of open WebSocket connections, from `/healthz`.
async fn open_connections(addr: SocketAddr) -> u64 {
    let (status, body) = http_request(addr, "GET", "/healthz", "").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["connections"]
        .as_u64()
        .expect("healthz counts connections")
}

/// Waits until `/healthz` counts `expected` connections, failing at `deadline`.
async fn until_open_connections(addr: SocketAddr, expected: u64, deadline: Instant, why: &str) {
    loop {
        let open = open_connections(addr).await;
        if open == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{why}: {open} connections open, {expected} expected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads what is left on a socket the server should have closed: it must end (a reset, or the
/// end of the stream) within a few seconds, not wait for more.
async fn assert_closed<S>(socket: &mut WebSocketStream<S>, who: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "{who}'s TCP connection is still open");
}

/// Whether the kernel still has the server's end of the connection to `client_port`, from
/// `/proc/net/tcp` (whose ports are in hex). A connection the server released is gone from it,
/// and so is what its send buffer held.
fn server_holds(server_port: u16, client_port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    let port = |address: &str| {
        address
            .rsplit(':')
            .next()
            .and_then(|hex| u16::from_str_radix(hex, 16).ok())
    };
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.len() > 2
            && port(fields[1]) == Some(server_port)
            && port(fields[2]) == Some(client_port)
    })
}

/// A group name of about `bytes` bytes, different for each `index`.
fn long_name(index: usize, bytes: usize) -> String {
    format!("{index:05} {}", "x".repeat(bytes - 6))
}

#[tokio::test]
async fn members_who_stop_reading_are_closed_within_the_limit_and_go_offline() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), limits(STALL)).await;
    let group = create_group(server.addr, "Peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;

    // Three members join and then read nothing more.
    let mut sleepers = Vec::new();
    for name in ["Sleepy", "Dozy", "Nappy"] {
        let tcp = small_buffer_tcp(server.addr).await;
        let mut socket = websocket(server.addr, tcp).await;
        let member_id = join(&mut socket, &group, name).await;
        sleepers.push((name, socket, member_id));
    }
    assert_eq!(open_connections(server.addr).await, 4);

    // The room broadcasts far more than their sockets hold (300 renames of 2 KB each).
    let mut last = 0;
    for index in 0..300 {
        last = facilitator
            .send(Request::RenameGroup {
                name: long_name(index, 2_000),
            })
            .await;
    }
    facilitator
        .answer(last)
        .await
        .expect("the facilitator is served throughout");
    // From here nothing new is written to them; their writes have been stalled since their
    // buffers filled, earlier.
    let deadline = Instant::now() + STALL + MARGIN;

    // Everyone else sees them go offline (perhaps during the burst already), and their
    // connections are closed, in time. Who is online is the frame's list; its `change` is the
    // latest only (sleepers who go within one frame's wait share it), and every change that
    // names a sleeper going says the connection was lost.
    let ids: Vec<_> = sleepers
        .iter()
        .map(|(_, _, member_id)| *member_id)
        .collect();
    let none_online = |frame: &roundtable_protocol::PresenceFrame| {
        ids.iter()
            .all(|member_id| !frame.online.contains(member_id))
    };
    // Gone already: a frame came after the last that listed any of them.
    let frames = facilitator.presence_frames();
    let gone_already = frames
        .iter()
        .rposition(|frame| !none_online(frame))
        .is_some_and(|last_listed| last_listed + 1 < frames.len());
    if !gone_already {
        let wait = deadline.saturating_duration_since(Instant::now());
        tokio::time::timeout(wait, facilitator.presence_where(none_online))
            .await
            .unwrap_or_else(|_| panic!("the sleepers are not all offline within the limit"));
    }
    let changes: Vec<_> = facilitator
        .presence_frames()
        .into_iter()
        .filter_map(|frame| frame.change)
        .filter(|change| ids.contains(&change.member_id) && !change.online)
        .collect();
    assert!(!changes.is_empty(), "a change names a sleeper going");
    for change in changes {
        assert_eq!(change.reason, PresenceReason::ConnectionLost, "{change:?}");
    }
    until_open_connections(
        server.addr,
        1,
        deadline,
        "the stalled connections are released within the stall limit",
    )
    .await;
    for (name, socket, _) in &mut sleepers {
        let port = socket.get_ref().local_addr().unwrap().port();
        assert!(
            !server_holds(server.addr.port(), port),
            "the server's kernel still holds {name}'s connection"
        );
        assert_closed(socket, name).await;
    }
    // The facilitator is still served.
    facilitator
        .ok(Request::RenameGroup {
            name: "Awake".into(),
        })
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_member_who_stops_reading_in_a_quiet_room_is_released_by_the_kernel_backstop() {
    // The room writes a little (less than the kernel takes for the socket) and then nothing:
    // the server never waits on a write, so only the kernel's backstop, at a few limits, can
    // tell that the member stopped reading.
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), limits(STALL)).await;
    let group = create_group(server.addr, "Peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let tcp = small_buffer_tcp(server.addr).await;
    let mut socket = websocket(server.addr, tcp).await;
    let member_id = join(&mut socket, &group, "Sleepy").await;
    let mut last = 0;
    for index in 0..30 {
        last = facilitator
            .send(Request::RenameGroup {
                name: long_name(index, 2_000),
            })
            .await;
    }
    facilitator.answer(last).await.expect("renamed");
    let quiet_since = Instant::now();
    let backstop = STALL * roundtable_server::transport::listener::KERNEL_STALL_FACTOR;
    // (The facilitator's client fails a wait of more than 5 s for one frame: wait in steps.)
    let offline = loop {
        assert!(
            quiet_since.elapsed() < backstop + MARGIN,
            "the member is not offline within the backstop"
        );
        if let Ok(Some(ServerMessage::Presence(frame))) =
            facilitator.try_recv(Duration::from_secs(1)).await
            && frame
                .change
                .is_some_and(|change| change.member_id == member_id && !change.online)
        {
            break frame;
        }
    };
    assert_eq!(
        offline.change.map(|change| change.reason),
        Some(PresenceReason::ConnectionLost),
        "{offline:?}"
    );
    assert!(
        quiet_since.elapsed() + MARGIN > backstop,
        "not long before the backstop ({:?}): the server itself saw nothing to wait on",
        quiet_since.elapsed()
    );
    until_open_connections(
        server.addr,
        1,
        quiet_since + backstop + MARGIN,
        "the connection is released",
    )
    .await;
    let port = socket.get_ref().local_addr().unwrap().port();
    assert!(!server_holds(server.addr.port(), port));
    assert_closed(&mut socket, "Sleepy").await;
    server.stop().await;
}

#[tokio::test]
async fn an_unjoined_client_that_pings_without_reading_is_closed_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), limits(STALL)).await;
    let mut tcp = small_buffer_tcp(server.addr).await;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        server.addr
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    // A masked ping with the largest payload a control frame may carry (a zero mask key leaves
    // the payload as it is); each is answered with a pong of the same size. The client never
    // reads: not the upgrade's answer, not the hello, not one pong.
    let mut ping = vec![0x89, 0x80 | 125, 0, 0, 0, 0];
    ping.extend_from_slice(&[b'p'; 125]);

    let started = Instant::now();
    let mut offset = 0;
    let mut pings = 0u64;
    let mut blocked_since: Option<Instant> = None;
    let closed_at = loop {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server still reads after 30 s and {pings} pings"
        );
        // `write` is cancel-safe: on a timeout nothing was written, so frames stay whole.
        match tokio::time::timeout(Duration::from_millis(300), tcp.write(&ping[offset..])).await {
            Err(_) => {
                // The server has stopped reading: it is stuck writing pongs nobody takes.
                blocked_since.get_or_insert_with(Instant::now);
            }
            Ok(Ok(written)) => {
                offset += written;
                if offset == ping.len() {
                    offset = 0;
                    pings += 1;
                }
            }
            Ok(Err(_)) => break Instant::now(),
        }
    };
    // The client's small buffers fill with the first few dozen pongs; from then on the server
    // makes no progress, and must close within the limit.
    assert!(
        closed_at - started <= STALL + MARGIN,
        "closed {:?} after the first ping (limit {STALL:?})",
        closed_at - started
    );
    if let Some(blocked_since) = blocked_since {
        assert!(closed_at - blocked_since <= STALL + MARGIN);
    }
    assert!(pings > 20, "the client kept sending ({pings} pings)");
    until_open_connections(
        server.addr,
        0,
        Instant::now() + MARGIN,
        "the pinging connection is released",
    )
    .await;
    server.stop().await;
}

/// A stream whose reads take at most `chunk` bytes, one every `pause`: a client that reads,
/// slowly.
struct SlowReader {
    inner: TcpStream,
    chunk: usize,
    pause: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl AsyncRead for SlowReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if let Some(sleep) = &mut this.sleep {
            ready!(sleep.as_mut().poll(cx));
            this.sleep = None;
        }
        let mut bytes = vec![0; this.chunk.min(buf.remaining())];
        let mut limited = ReadBuf::new(&mut bytes);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut limited))?;
        buf.put_slice(limited.filled());
        this.sleep = Some(Box::pin(tokio::time::sleep(this.pause)));
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for SlowReader {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn a_client_that_reads_slowly_but_reads_keeps_its_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), limits(SLOW_READER_STALL)).await;
    let group = create_group(server.addr, "Peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;

    // About 20 KB a second: the 120 KB below take some 6 s to arrive, several times the stall
    // limit, and a write of 64 KB takes longer than the limit; but every fraction of a second
    // the socket takes a little more.
    let tcp = small_buffer_tcp(server.addr).await;
    let slow = SlowReader {
        inner: tcp,
        chunk: 1024,
        pause: Duration::from_millis(50),
        sleep: None,
    };
    let mut socket = websocket(server.addr, slow).await;
    let slow_id = join(&mut socket, &group, "Steady").await;

    let names: Vec<String> = (0..80).map(|index| long_name(index, 1_500)).collect();
    let mut last = 0;
    for name in &names {
        last = facilitator
            .send(Request::RenameGroup { name: name.clone() })
            .await;
    }
    facilitator.answer(last).await.expect("renamed");

    let started = Instant::now();
    let final_name = names.last().unwrap().clone();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let message = socket
                .next()
                .await
                .expect("the slow client's connection stays open")
                .expect("a frame");
            let Message::Text(text) = message else {
                continue;
            };
            if let ServerMessage::Event(frame) = serde_json::from_str(&text).unwrap()
                && matches!(&frame.event, Event::GroupRenamed { name } if *name == final_name)
            {
                return;
            }
        }
    })
    .await
    .expect("the slow client gets every event");
    assert!(
        started.elapsed() > SLOW_READER_STALL * 2,
        "the slow client took {:?}, so its writes lasted longer than the limit",
        started.elapsed()
    );
    assert!(
        !facilitator.presence_frames().iter().any(|frame| frame
            .change
            .is_some_and(|change| change.member_id == slow_id && !change.online)),
        "the slow client never went offline"
    );
    assert_eq!(open_connections(server.addr).await, 2);
    server.stop().await;
}
