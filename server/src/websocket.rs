//! The WebSocket layer, kept lean on purpose: a joined connection is idle most of the time,
//! and at thousands of connections every byte it holds counts.
//!
//! - The upgrade is answered here (RFC 6455 section 4.2) rather than through a framework
//!   wrapper, so the connection task owns a plain [`WebSocketStream`] over hyper's upgraded
//!   I/O, configured once in [`config`].
//! - Buffers: tungstenite reads into a buffer that starts at [`READ_BUFFER_BYTES`] and grows only
//!   for a larger frame; it writes each frame into an output buffer that keeps the capacity of
//!   the largest frame it ever wrote. [`send_text`] therefore sends a large message as
//!   continuation frames of at most [`FRAGMENT_BYTES`], so that buffer stays small too (one
//!   snapshot would otherwise pin tens of KiB for the rest of the connection's life).

use axum::http::{HeaderMap, HeaderValue, Method, header};
use futures_util::SinkExt;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

/// A server-side WebSocket over hyper's upgraded connection.
pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// The read buffer a connection starts with. Client frames are requests of a few hundred
/// bytes; the buffer grows for a larger one.
pub const READ_BUFFER_BYTES: usize = 256;

/// The largest frame written in one piece; longer messages go out as continuation frames.
pub const FRAGMENT_BYTES: usize = 512;

/// Bytes a connection may hold unwritten before writes fail (the outbox in front of it is
/// bounded by frames too).
const WRITE_BUFFER_BYTES_MAX: usize = 1024 * 1024;

/// The WebSocket settings of every connection. `frame_bytes_hard_max` cuts off a frame (or a
/// message) past it at the WebSocket layer, which closes the connection.
pub fn config(frame_bytes_hard_max: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        // Write each frame as it comes: nothing waits in a buffer for a later flush.
        .write_buffer_size(0)
        .max_write_buffer_size(WRITE_BUFFER_BYTES_MAX)
        .max_message_size(Some(frame_bytes_hard_max))
        .max_frame_size(Some(frame_bytes_hard_max))
}

/// Checks that a request asks for a WebSocket upgrade this server speaks and returns the
/// `Sec-WebSocket-Accept` value to answer with, or a sentence saying what is wrong.
pub fn accept_key(method: &Method, headers: &HeaderMap) -> Result<HeaderValue, &'static str> {
    if method != Method::GET {
        return Err("a WebSocket upgrade must be a GET request");
    }
    if !header_has_token(headers, header::CONNECTION, "upgrade") {
        return Err(
            "this address speaks WebSocket only: the request needs \"Connection: upgrade\"",
        );
    }
    if !header_has_token(headers, header::UPGRADE, "websocket") {
        return Err("this address speaks WebSocket only: the request needs \"Upgrade: websocket\"");
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|version| version.as_bytes() != b"13")
    {
        return Err("only WebSocket version 13 is spoken (\"Sec-WebSocket-Version: 13\")");
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return Err("the upgrade request lacks \"Sec-WebSocket-Key\"");
    };
    HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
        .map_err(|_| "the WebSocket key cannot be answered")
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

/// Wraps upgraded I/O as the server side of a WebSocket (boxed: the connection task holds it for
/// its whole life, and a box is moved around without copying its few hundred bytes).
pub async fn from_upgraded(
    upgraded: hyper::upgrade::Upgraded,
    frame_bytes_hard_max: usize,
) -> Box<Socket> {
    Box::new(
        WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            tokio_tungstenite::tungstenite::protocol::Role::Server,
            Some(config(frame_bytes_hard_max)),
        )
        .await,
    )
}

/// Sends one text message, in pieces of at most [`FRAGMENT_BYTES`] when it is longer. A
/// message may be split anywhere, even inside a UTF-8 character: the receiver checks the
/// whole message, not its fragments.
pub async fn send_text(
    socket: &mut Socket,
    text: Utf8Bytes,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    if text.len() <= FRAGMENT_BYTES {
        return socket.send(Message::Text(text)).await;
    }
    let mut rest = Bytes::from(text);
    let mut opcode = OpCode::Data(Data::Text);
    while !rest.is_empty() {
        let piece = rest.split_to(FRAGMENT_BYTES.min(rest.len()));
        let last = rest.is_empty();
        socket
            .feed(Message::Frame(Frame::message(piece, opcode, last)))
            .await?;
        opcode = OpCode::Data(Data::Continue);
    }
    socket.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        headers.insert(
            header::SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        headers
    }

    #[test]
    fn answers_the_rfc_example_key() {
        let accept = accept_key(&Method::GET, &upgrade_headers()).expect("a valid upgrade");
        // The worked example of RFC 6455, section 1.3.
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn refuses_what_is_not_a_websocket_upgrade() {
        assert!(accept_key(&Method::POST, &upgrade_headers()).is_err());
        for missing in [
            header::CONNECTION,
            header::UPGRADE,
            header::SEC_WEBSOCKET_VERSION,
            header::SEC_WEBSOCKET_KEY,
        ] {
            let mut headers = upgrade_headers();
            headers.remove(&missing);
            let error = accept_key(&Method::GET, &headers).expect_err("incomplete upgrade");
            assert!(!error.is_empty());
        }
        let mut old = upgrade_headers();
        old.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
        assert!(accept_key(&Method::GET, &old).unwrap_err().contains("13"));
    }
}
