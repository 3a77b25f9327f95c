//! The WebSocket upgrade, both ways in: through hyper (the `/ws` route, see
//! [`crate::http`]), and directly, without hyper, for a new connection whose first request is an
//! upgrade that will be accepted ([`upgrade_directly`]). Both check a request with
//! [`check_upgrade`], so they accept exactly the same requests; the handshake (RFC 6455 section
//! 4.2) is answered here rather than through a framework wrapper.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, Method, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Bytes;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::frame::WireFrame;
use super::socket::{Socket, server_socket};
use crate::admission::address::Peer;
use crate::app::App;

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

/// Takes the TCP connection back out of hyper's upgrade, with whatever the client sent after
/// its request, and wraps it as the server side of a WebSocket (see [`server_socket`]).
/// `None` when the upgraded connection is not a plain TCP stream served by
/// [`super::listener`], which does not happen.
pub async fn from_upgraded(
    upgraded: hyper::upgrade::Upgraded,
    frame_bytes_hard_max: usize,
) -> Option<Box<Socket>> {
    let parts = upgraded.downcast::<TokioIo<TcpStream>>().ok()?;
    Some(
        server_socket(
            parts.io.into_inner(),
            parts.read_buf.to_vec(),
            frame_bytes_hard_max,
        )
        .await,
    )
}

/// The WebSocket endpoint's path.
pub const PATH: &str = "/ws";

/// The longest request head [`parse_upgrade_head`] reads; a browser's upgrade request is well
/// under 1 KiB.
pub const UPGRADE_HEAD_BYTES_MAX: usize = 2048;

/// The most header lines [`parse_upgrade_head`] reads.
const UPGRADE_HEADERS_MAX: usize = 32;

/// Parses the start of what a client sent on a new connection, for a direct upgrade (see
/// [`upgrade_directly`]): when it is a complete HTTP/1.1 request head for `GET /ws`, answers the
/// head's length and its headers. Anything else (another request, an incomplete or malformed
/// head, more than [`UPGRADE_HEADERS_MAX`] headers, a body announced) answers `None`, and the
/// connection goes to hyper, which serves it, or refuses it with the right status.
pub fn parse_upgrade_head(bytes: &[u8]) -> Option<(usize, HeaderMap)> {
    let mut lines = [httparse::EMPTY_HEADER; UPGRADE_HEADERS_MAX];
    let mut request = httparse::Request::new(&mut lines);
    let httparse::Status::Complete(len) = request.parse(bytes).ok()? else {
        return None;
    };
    if request.method != Some("GET") || request.path != Some(PATH) || request.version != Some(1) {
        return None;
    }
    let mut headers = HeaderMap::with_capacity(request.headers.len());
    for line in request.headers.iter() {
        if line.name.eq_ignore_ascii_case("content-length")
            || line.name.eq_ignore_ascii_case("transfer-encoding")
        {
            return None;
        }
        headers.append(
            header::HeaderName::from_bytes(line.name.as_bytes()).ok()?,
            HeaderValue::from_bytes(line.value).ok()?,
        );
    }
    Some((len, headers))
}

/// The response that accepts a WebSocket upgrade, with the `Sec-WebSocket-Accept` value from
/// [`accept_key`]. Sent as the first bytes of a connection upgraded directly, in one write
/// with the `hello` behind it.
pub fn switching_protocols(accept: &HeaderValue) -> WireFrame {
    let mut bytes = Vec::with_capacity(160);
    bytes.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-accept: ",
    );
    bytes.extend_from_slice(accept.as_bytes());
    bytes.extend_from_slice(b"\r\n\r\n");
    WireFrame(Bytes::from(bytes))
}

/// Why a WebSocket upgrade request is refused.
#[derive(Debug)]
pub enum UpgradeRefusal<'h> {
    /// A browser page from an origin that may not connect.
    ForeignOrigin(&'h str),
    ShuttingDown,
    /// The node hands its meetings to other nodes and is about to stop: a WebSocket taken now
    /// would be cut when it exits, so the client is sent to another node at once.
    Draining,
    /// Not an upgrade this server speaks; the sentence says what is wrong.
    NotAnUpgrade(&'static str),
}

/// Checks a WebSocket upgrade request as both ways in do (hyper's, through [`crate::http`], and
/// the direct one, [`upgrade_directly`]), so they accept exactly the same requests: a browser's
/// `Origin` (only browsers send one) must be allowed, the server must not be stopping nor
/// draining, and the request must be an upgrade this server speaks. Answers the `Sec-WebSocket-Accept` value.
pub fn check_upgrade<'h>(
    context: &App,
    method: &Method,
    headers: &'h HeaderMap,
) -> Result<HeaderValue, UpgradeRefusal<'h>> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
        if !context
            .allowed_origins
            .iter()
            .any(|allowed| allowed == origin)
        {
            return Err(UpgradeRefusal::ForeignOrigin(origin));
        }
    }
    if context.shutdown.is_cancelled() {
        return Err(UpgradeRefusal::ShuttingDown);
    }
    if context.rooms.is_draining() {
        return Err(UpgradeRefusal::Draining);
    }
    accept_key(method, headers).map_err(UpgradeRefusal::NotAnUpgrade)
}

/// Takes a new connection whose first request is a WebSocket upgrade that will be accepted
/// (`GET /ws`, complete in what has arrived, from an allowed origin, while the server runs),
/// without hyper: reads the request head, and starts the WebSocket connection's task, whose
/// first write carries the `101 Switching Protocols` response and the `hello` together. Every
/// other connection is handed back untouched (what arrived is only looked at, not read) for
/// hyper to serve, refusals of upgrades included; so is one whose head has not all arrived in
/// the first look. `None` when the connection was taken, or closed before sending anything.
///
/// When a whole server's clients reconnect at once, every one comes through here: skipping
/// hyper's machinery, and one system call and TCP segment per connection, saves about an
/// eighth of the server's work per reconnection (see BENCHMARKS.md, "Reconnect storm").
pub async fn upgrade_directly(mut tcp: TcpStream, context: &Arc<App>) -> Option<TcpStream> {
    let mut head = vec![0; UPGRADE_HEAD_BYTES_MAX];
    let seen = match tcp.peek(&mut head).await {
        Ok(0) => return None,
        Ok(seen) => seen,
        // hyper meets the same error and says so.
        Err(_) => return Some(tcp),
    };
    let Some((head_len, headers)) = parse_upgrade_head(&head[..seen]) else {
        return Some(tcp);
    };
    // A refusal is hyper's to answer (and log), with the right status.
    let Ok(accept) = check_upgrade(context, &axum::http::Method::GET, &headers) else {
        return Some(tcp);
    };
    let peer = tcp.peer_addr().ok().map(Peer);
    let Some(admitted) = context.admit_websocket(context.client_address(peer, &headers)) else {
        return Some(tcp);
    };
    // The head is in the socket's receive queue (it was just seen there): this read takes it
    // at once, and leaves whatever the client sent after it for the WebSocket.
    if tokio::io::AsyncReadExt::read_exact(&mut tcp, &mut head[..head_len])
        .await
        .is_err()
    {
        return None;
    }
    drop(head);
    let socket = server_socket(
        tcp,
        Vec::new(),
        context.config.limits.frame_bytes_hard_max(),
    )
    .await;
    let response = switching_protocols(&accept);
    tokio::spawn(super::connection::serve(
        socket,
        Arc::clone(context),
        Some(response),
        admitted,
    ));
    None
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

    const BROWSER_UPGRADE: &str = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: Upgrade\r\nPragma: no-cache\r\nUpgrade: websocket\r\nOrigin: http://127.0.0.1:8080\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

    #[test]
    fn a_complete_upgrade_head_is_parsed_and_what_follows_it_is_left() {
        let mut bytes = BROWSER_UPGRADE.as_bytes().to_vec();
        bytes.extend_from_slice(b"\x81\x85 a frame sent right behind the request");
        let (len, headers) = parse_upgrade_head(&bytes).expect("a complete upgrade head");
        assert_eq!(
            len,
            BROWSER_UPGRADE.len(),
            "the head ends at its blank line"
        );
        assert_eq!(headers["origin"], "http://127.0.0.1:8080");
        assert_eq!(
            accept_key(&Method::GET, &headers).expect("a valid upgrade"),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn anything_but_a_complete_plain_upgrade_head_is_left_to_hyper() {
        let head = BROWSER_UPGRADE;
        let cut_short = &head[..head.len() - 2];
        let other_path = head.replacen("/ws", "/ws?x=1", 1);
        let other_method = head.replacen("GET", "POST", 1);
        let old_http = head.replacen("HTTP/1.1", "HTTP/1.0", 1);
        let with_body = head.replacen("Pragma: no-cache", "Content-Length: 5", 1);
        let chunked = head.replacen("Pragma: no-cache", "Transfer-Encoding: chunked", 1);
        let many_headers = head.replacen(
            "Pragma: no-cache\r\n",
            &"X-Padding: x\r\n".repeat(UPGRADE_HEADERS_MAX),
            1,
        );
        for (what, bytes) in [
            ("an incomplete head", cut_short),
            ("another path", &other_path),
            ("another method", &other_method),
            ("HTTP/1.0", &old_http),
            ("a body", &with_body),
            ("a chunked body", &chunked),
            ("too many headers", &many_headers),
            ("not HTTP", "\x16\x03\x01 a TLS hello"),
        ] {
            assert!(
                parse_upgrade_head(bytes.as_bytes()).is_none(),
                "{what} goes to hyper"
            );
        }
    }

    #[test]
    fn the_direct_upgrade_response_is_a_complete_101() {
        let accept = HeaderValue::from_static("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let response = switching_protocols(&accept);
        let mut lines = [httparse::EMPTY_HEADER; 8];
        let mut parsed = httparse::Response::new(&mut lines);
        assert_eq!(
            parsed.parse(response.as_bytes()),
            Ok(httparse::Status::Complete(response.as_bytes().len()))
        );
        assert_eq!(parsed.code, Some(101));
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|line| line.name.eq_ignore_ascii_case(name))
                .map(|line| line.value)
        };
        assert_eq!(header("upgrade"), Some(&b"websocket"[..]));
        assert_eq!(header("connection"), Some(&b"upgrade"[..]));
        assert_eq!(header("sec-websocket-accept"), Some(accept.as_bytes()));
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
