//! WebSocket conformance (RFC 6455): frames that break the protocol get a close frame with the
//! matching code (1002, 1007, 1009, 1008), a client's close is answered with a close frame,
//! odd close codes are answered with 1002, and a known request with a bad field value gets
//! `invalid` naming the field. Frames a WebSocket library would refuse to send are written by
//! hand, on a raw socket upgraded by hand, against a real server on 127.0.0.1.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use roundtable_protocol::{CloseReason, ErrorCode, ServerMessage};
use roundtable_server::Limits;
use support::{Closed, TestClient, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

/// A WebSocket upgraded by hand, whose frames the test may also write raw (see [`frame`]),
/// past the server's `hello`.
async fn raw_socket(addr: SocketAddr) -> WebSocketStream<TcpStream> {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let head_len = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0; 1024];
        let read = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut chunk))
            .await
            .expect("the upgrade is answered")
            .unwrap();
        assert!(read > 0, "the server closed before answering the upgrade");
        received.extend_from_slice(&chunk[..read]);
    };
    assert!(received.starts_with(b"HTTP/1.1 101 "));
    let mut socket = WebSocketStream::from_partially_read(
        tcp,
        received[head_len..].to_vec(),
        Role::Client,
        None,
    )
    .await;
    match next_message(&mut socket).await {
        Some(ServerMessage::Hello(_)) => socket,
        other => panic!("hello first, got {other:?}"),
    }
}

/// A client frame as written on the wire: `first` is the FIN/RSV/opcode byte; masked with a
/// zero key (which leaves the payload as it is) unless `masked` is false.
fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut bytes = vec![first, payload.len() as u8];
    if masked {
        bytes[1] |= 0x80;
        bytes.extend_from_slice(&[0, 0, 0, 0]);
    }
    bytes.extend_from_slice(payload);
    bytes
}

/// A close frame with this code and reason, written raw.
fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    frame(0x88, &payload, true)
}

async fn write_raw(socket: &mut WebSocketStream<TcpStream>, bytes: &[u8]) {
    socket.get_mut().write_all(bytes).await.unwrap();
}

/// The next server message, or `None` at a close frame or the end of the stream.
async fn next_message(socket: &mut WebSocketStream<TcpStream>) -> Option<ServerMessage> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame in time");
        match message {
            Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Reads until the server's close frame; answers its code and reason, with the `closing`
/// message's reason if one came before it. Fails if the connection ends without a close frame.
async fn server_close(
    socket: &mut WebSocketStream<TcpStream>,
) -> (u16, String, Option<CloseReason>) {
    let mut closing = None;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("the server closes in time");
        match message {
            Some(Ok(Message::Text(text))) => {
                if let ServerMessage::Closing { reason, .. } = serde_json::from_str(&text).unwrap()
                {
                    closing = Some(reason);
                }
            }
            Some(Ok(Message::Close(Some(frame)))) => {
                return (frame.code.into(), frame.reason.to_string(), closing);
            }
            Some(Ok(Message::Close(None))) => return (1005, String::new(), closing),
            Some(Ok(_)) => {}
            Some(Err(error)) => panic!("the connection broke without a close frame: {error}"),
            None => panic!("the connection ended without a close frame"),
        }
    }
}

/// After the close handshake the server closes the TCP connection.
async fn assert_tcp_ends(socket: &mut WebSocketStream<TcpStream>) {
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(
        Duration::from_secs(5),
        socket.get_mut().read_to_end(&mut rest),
    )
    .await;
    assert!(ended.is_ok(), "the server closes the TCP connection");
}

#[tokio::test]
async fn frames_that_break_the_protocol_get_the_matching_close_code() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let cases: [(&str, Vec<u8>, u16, &str); 7] = [
        (
            "a text frame that is not UTF-8",
            frame(0x81, &[b'{', 0xff, 0xfe, b'}'], true),
            1007,
            "invalid_utf8",
        ),
        (
            "a reserved bit set",
            frame(0x81 | 0x40, b"{}", true),
            1002,
            "protocol_error",
        ),
        (
            "an unmasked client frame",
            frame(0x81, b"{}", false),
            1002,
            "protocol_error",
        ),
        (
            "a reserved data opcode",
            frame(0x83, b"{}", true),
            1002,
            "protocol_error",
        ),
        (
            "a fragmented ping",
            frame(0x09, b"ping", true),
            1002,
            "protocol_error",
        ),
        (
            "a continuation with nothing to continue",
            frame(0x80, b"x", true),
            1002,
            "protocol_error",
        ),
        (
            "a close frame with a one-byte body",
            frame(0x88, &[3], true),
            1002,
            "protocol_error",
        ),
    ];
    for (what, bytes, code, reason) in cases {
        let mut socket = raw_socket(server.addr).await;
        write_raw(&mut socket, &bytes).await;
        let (got_code, got_reason, closing) = server_close(&mut socket).await;
        assert_eq!((got_code, got_reason.as_str()), (code, reason), "{what}");
        assert_eq!(closing, Some(CloseReason::PolicyViolation), "{what}");
        assert_tcp_ends(&mut socket).await;
    }

    // A message past the hard limit: 1009.
    let mut huge = TestClient::connect(server.addr).await;
    huge.send_text("x".repeat(Limits::FRAME_BYTES_MAX * 5))
        .await;
    match huge.until_closed().await {
        Closed::Frame(code, reason) => assert_eq!((code, reason.as_str()), (1009, "too_large")),
        other => panic!("a message too big gets 1009, got {other:?}"),
    }

    // Too many bad frames in a row: 1008.
    let mut sloppy = TestClient::connect(server.addr).await;
    for _ in 0..Limits::ERRORS_IN_A_ROW_MAX {
        sloppy.send_text("{not json").await;
    }
    match sloppy.until_closed().await {
        Closed::Frame(code, reason) => {
            assert_eq!((code, reason.as_str()), (1008, "policy_violation"))
        }
        other => panic!("bad frames in a row get 1008, got {other:?}"),
    }

    // Nothing panicked: the server still serves.
    let mut fine = TestClient::connect(server.addr).await;
    fine.ok(roundtable_protocol::Request::Ping { client_time_ms: 1 })
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_client_s_close_is_answered_with_a_close_frame() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;

    // Through a WebSocket library, as a browser closes: the close is echoed, then the server
    // closes the TCP connection.
    let mut socket = raw_socket(server.addr).await;
    socket
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        }))
        .await
        .unwrap();
    let (code, reason, _) = server_close(&mut socket).await;
    assert_eq!((code, reason.as_str()), (1000, "bye"));
    assert_tcp_ends(&mut socket).await;

    // Valid codes an application may use are echoed; a close without a code gets one without.
    for code in [1001, 3000, 4000, 4999] {
        let mut socket = raw_socket(server.addr).await;
        write_raw(&mut socket, &close_frame(code, b"")).await;
        assert_eq!(server_close(&mut socket).await.0, code, "{code} is echoed");
        assert_tcp_ends(&mut socket).await;
    }
    let mut socket = raw_socket(server.addr).await;
    write_raw(&mut socket, &frame(0x88, &[], true)).await;
    assert_eq!(server_close(&mut socket).await.0, 1005, "no code, no code");
    assert_tcp_ends(&mut socket).await;

    // Codes no endpoint may send (reserved for reports, unassigned, out of range): 1002.
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        let mut socket = raw_socket(server.addr).await;
        write_raw(&mut socket, &close_frame(code, b"odd")).await;
        assert_eq!(server_close(&mut socket).await.0, 1002, "close code {code}");
        assert_tcp_ends(&mut socket).await;
    }

    // A close reason that is not UTF-8: 1007.
    let mut socket = raw_socket(server.addr).await;
    write_raw(&mut socket, &close_frame(1000, &[0xc3, 0x28])).await;
    assert_eq!(server_close(&mut socket).await.0, 1007);
    assert_tcp_ends(&mut socket).await;

    let mut fine = TestClient::connect(server.addr).await;
    fine.ok(roundtable_protocol::Request::Ping { client_time_ms: 1 })
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_known_request_with_a_bad_value_gets_invalid_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut client = TestClient::connect(server.addr).await;
    client
        .send_text(r#"{"v":1,"id":3,"type":"extend_timer","delta_ms":"ten"}"#)
        .await;
    match client.recv().await {
        ServerMessage::Error {
            id: Some(3),
            code: ErrorCode::Invalid,
            message,
        } => assert!(message.contains("\"delta_ms\""), "{message}"),
        other => panic!("expected invalid naming delta_ms, got {other:?}"),
    }
    client
        .send_text(r#"{"v":1,"id":4,"type":"set_timer","seconds":"ten"}"#)
        .await;
    match client.recv().await {
        ServerMessage::Error {
            id: Some(4),
            code: ErrorCode::UnknownType,
            ..
        } => {}
        other => panic!("an unknown type is still unknown_type, got {other:?}"),
    }
    server.stop().await;
}

/// A close with a ping right behind it: the close is answered once, and the ping, sent after
/// the close, gets no pong.
#[tokio::test]
async fn the_close_is_answered_once_even_with_frames_behind_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut socket = raw_socket(server.addr).await;
    let mut bytes = close_frame(1000, b"");
    bytes.extend_from_slice(&frame(0x89, b"late", true));
    write_raw(&mut socket, &bytes).await;
    let mut rest = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(5),
        socket.get_mut().read_to_end(&mut rest),
    )
    .await
    .expect("the server closes the TCP connection")
    .ok();
    assert_eq!(
        rest,
        [0x88, 2, 0x03, 0xe8],
        "exactly one close frame (1000) comes back, and no pong"
    );
    server.stop().await;
}
