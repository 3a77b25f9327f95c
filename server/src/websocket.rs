//! The WebSocket layer, kept lean on purpose: a joined connection is idle most of the time,
//! and at thousands of connections every byte and every system call it costs counts.
//!
//! - The upgrade is answered here (RFC 6455 section 4.2) rather than through a framework
//!   wrapper, and the TCP stream is taken back out of hyper, so the connection task owns a plain
//!   [`WebSocketStream`] over a [`TcpStream`], configured once in [`config`].
//! - Reading goes through tungstenite, into a buffer that starts at [`READ_BUFFER_BYTES`] and
//!   grows only for a larger frame.
//! - Writing does not: every server message is framed once, when it is serialized, as a
//!   [`WireFrame`] (the WebSocket header and the JSON text in one shared buffer), and the same
//!   bytes go to every recipient. Usually the room writes them to the socket itself (see
//!   [`crate::room::Outbox`]); what the socket does not take at once, [`write_frames`] writes
//!   from the connection's task, several frames in one system call when several wait.
//!   tungstenite writes only its own control frames (close, pong), so its output buffer never
//!   holds a large message.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker, ready};

use axum::http::{HeaderMap, HeaderValue, Method, header};
use futures_util::StreamExt;
use futures_util::task::AtomicWaker;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Bytes, Message};

/// A server-side WebSocket, straight on the TCP connection.
pub type Socket = WebSocketStream<SharedTcp>;

/// A TCP connection that the connection task reads and writes through tungstenite, and that its
/// [`crate::room::Outbox`] also writes frames to directly (see there), so it is shared. Reads
/// and writes wait for readiness and then try the socket, which is how tokio's own stream
/// works; nothing is buffered here.
#[derive(Debug, Clone)]
pub struct SharedTcp(Arc<TcpStream>);

impl SharedTcp {
    /// The stream, to hand to the outbox.
    pub fn stream(&self) -> &Arc<TcpStream> {
        &self.0
    }
}

/// Waits until `ready` says the socket is ready, then tries `attempt`; tries again after a
/// `WouldBlock` (which clears tokio's readiness, so the next wait is a real one).
fn poll_attempt<T>(
    cx: &mut Context<'_>,
    ready: impl Fn(&mut Context<'_>) -> Poll<std::io::Result<()>>,
    mut attempt: impl FnMut() -> std::io::Result<T>,
) -> Poll<std::io::Result<T>> {
    loop {
        ready!(ready(cx))?;
        match attempt() {
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            done => return Poll::Ready(done),
        }
    }
}

impl AsyncRead for SharedTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let read = ready!(poll_attempt(
            cx,
            |cx| self.0.poll_read_ready(cx),
            || self.0.try_read(buf.initialize_unfilled()),
        ))?;
        buf.advance(read);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for SharedTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        poll_attempt(
            cx,
            |cx| self.0.poll_write_ready(cx),
            || self.0.try_write(buf),
        )
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        poll_attempt(
            cx,
            |cx| self.0.poll_write_ready(cx),
            || self.0.try_write_vectored(bufs),
        )
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(
            rustix::net::shutdown(&*self.0, rustix::net::Shutdown::Write).map_err(Into::into),
        )
    }
}

/// The read buffer a connection starts with, and the most one read takes. Most client frames
/// are requests of well under 128 bytes (a hand raised: 56); the buffer grows for a larger
/// one, and keeps what it grew to. An idle connection's buffer ends at about twice this
/// (tungstenite reserves room for the next frame while the last one's bytes are still
/// shared): 256 bytes cost each idle connection about 0.2 KiB more (BENCHMARKS.md).
pub const READ_BUFFER_BYTES: usize = 128;

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

/// Takes the TCP connection back out of hyper's upgrade, with whatever the client sent after
/// its request, and wraps it as the server side of a WebSocket (see [`server_socket`]).
/// `None` when the upgraded connection is not a plain TCP stream served by
/// [`crate::server`], which does not happen.
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

/// Wraps a TCP connection whose upgrade was answered as the server side of a WebSocket, with
/// `read_ahead`, what the client sent after its request that was read already (boxed: the
/// connection task holds it for its whole life, and a box is moved around without copying its
/// few hundred bytes).
pub async fn server_socket(
    tcp: TcpStream,
    read_ahead: Vec<u8>,
    frame_bytes_hard_max: usize,
) -> Box<Socket> {
    let tcp = SharedTcp(Arc::new(tcp));
    let role = tokio_tungstenite::tungstenite::protocol::Role::Server;
    let config = Some(config(frame_bytes_hard_max));
    Box::new(if read_ahead.is_empty() {
        WebSocketStream::from_raw_socket(tcp, role, config).await
    } else {
        WebSocketStream::from_partially_read(tcp, read_ahead, role, config).await
    })
}

/// The WebSocket endpoint's path.
pub const PATH: &str = "/ws";

/// The longest request head [`parse_upgrade_head`] reads; a browser's upgrade request is well
/// under 1 KiB.
pub const UPGRADE_HEAD_BYTES_MAX: usize = 2048;

/// The most header lines [`parse_upgrade_head`] reads.
const UPGRADE_HEADERS_MAX: usize = 32;

/// Parses the start of what a client sent on a new connection, for a direct upgrade (see
/// [`crate::server`]): when it is a complete HTTP/1.1 request head for `GET /ws`, answers the
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

/// A complete server-to-client WebSocket text frame: header and payload, built once and shared
/// (cheap to clone) by every connection it is sent to. (Two other kinds of bytes for a socket
/// travel the same way: the rest of a frame the socket took part of, [`WireFrame::unwritten_part`],
/// and the response to a direct upgrade, [`switching_protocols`].)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame(Bytes);

impl WireFrame {
    /// Frames a text message as one final, unmasked text frame (RFC 6455 section 5.2).
    pub fn text(text: String) -> WireFrame {
        let payload = text.into_bytes();
        let len = payload.len();
        let mut frame = Vec::with_capacity(len + 10);
        frame.push(0x80 | 0x1); // FIN, text
        if len < 126 {
            frame.push(len as u8);
        } else if let Ok(len) = u16::try_from(len) {
            frame.push(126);
            frame.extend_from_slice(&len.to_be_bytes());
        } else {
            frame.push(127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
        frame.extend_from_slice(&payload);
        WireFrame(Bytes::from(frame))
    }

    /// The whole frame, as written to the socket.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// What is left to write of this frame after its first `written` bytes went out: not a
    /// frame of its own (it has no header), only for the socket it was partly written to.
    pub fn unwritten_part(&self, written: usize) -> WireFrame {
        WireFrame(self.0.slice(written..))
    }

    /// The message text the frame carries.
    pub fn text_payload(&self) -> &str {
        let start = match self.0[1] {
            126 => 4,
            127 => 10,
            _ => 2,
        };
        std::str::from_utf8(&self.0[start..]).expect("frames are built from strings")
    }
}

/// Remembers whether the socket woke its connection's task. The task also wakes for every frame
/// its room queues; with this it reads the socket only when there may be something to read,
/// rather than asking tungstenite (and the layers below it) on every wake-up.
#[derive(Debug)]
pub struct ReadWake {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl ReadWake {
    /// A new one, set: the first read goes ahead.
    pub fn new() -> Arc<ReadWake> {
        Arc::new(ReadWake {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        })
    }
}

impl Wake for ReadWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// The next message from the socket, read only when the socket has woken the task since it last
/// came up empty (or the previous read found a message: more may wait in tungstenite's buffer).
pub async fn next_message(
    socket: &mut Socket,
    wake: &Arc<ReadWake>,
) -> Option<Result<Message, tungstenite::Error>> {
    std::future::poll_fn(|cx| {
        wake.task.register(cx.waker());
        if !wake.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let waker = Waker::from(Arc::clone(wake));
        match socket.poll_next_unpin(&mut Context::from_waker(&waker)) {
            Poll::Ready(message) => {
                wake.woken.store(true, Ordering::Release);
                Poll::Ready(message)
            }
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// The most bytes gathered into one write when several frames wait.
pub const WRITE_BATCH_BYTES_MAX: usize = 64 * 1024;

/// Writes `first` and whatever else is queued behind it (up to [`WRITE_BATCH_BYTES_MAX`]) to
/// the socket, in one system call when it can. The caller makes sure tungstenite holds no bytes
/// of its own meanwhile (it flushes a pong as soon as it owes one), so frames never interleave.
pub async fn write_frames(
    socket: &mut Socket,
    first: WireFrame,
    mut more: impl FnMut() -> Option<WireFrame>,
) -> std::io::Result<()> {
    let io = socket.get_mut();
    match more() {
        None => io.write_all(first.as_bytes()).await?,
        Some(second) => {
            let mut batch = Vec::with_capacity(first.0.len() + second.0.len());
            batch.extend_from_slice(first.as_bytes());
            batch.extend_from_slice(second.as_bytes());
            while batch.len() < WRITE_BATCH_BYTES_MAX {
                match more() {
                    Some(frame) => batch.extend_from_slice(frame.as_bytes()),
                    None => break,
                }
            }
            io.write_all(&batch).await?;
        }
    }
    io.flush().await
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
    fn frames_carry_their_length_in_the_shortest_form() {
        for (len, header) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
            let frame = WireFrame::text("x".repeat(len));
            assert_eq!(frame.as_bytes()[0], 0x81, "FIN and text");
            assert_eq!(frame.as_bytes().len(), header + len);
            assert_eq!(frame.text_payload().len(), len);
            let parsed = tokio_tungstenite::tungstenite::protocol::frame::FrameHeader::parse(
                &mut std::io::Cursor::new(frame.as_bytes()),
            )
            .expect("a valid header")
            .expect("a complete header");
            assert_eq!(parsed.1, len as u64, "the length a WebSocket reader sees");
        }
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
