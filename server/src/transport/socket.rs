//! The WebSocket on the TCP stream, kept lean on purpose: a joined connection is idle most of
//! the time, and at thousands of connections every byte and every system call it costs counts.
//!
//! - The upgrade is answered by the server itself ([`super::upgrade`]) rather than through a
//!   framework wrapper, and the TCP stream is taken back out of hyper, so the connection task
//!   owns a plain [`WebSocketStream`] over a [`TcpStream`], configured once in [`config`].
//! - Reading goes through tungstenite, into a buffer that starts at [`READ_BUFFER_BYTES`] and
//!   grows only for a larger frame.
//! - Writing does not: every server message is framed once, when it is serialized, as a
//!   [`WireFrame`] ([`super::frame`]: the WebSocket header and the JSON text in one shared
//!   buffer), and the same bytes go to every recipient. Usually the room writes them to the socket itself (see
//!   [`super::outbox::Outbox`]); what the socket does not take at once, [`write_frames`] writes
//!   from the connection's task, several frames in one system call when several wait.
//!   tungstenite writes only its own control frames (close, pong), so its output buffer never
//!   holds a large message.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker, ready};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use super::frame::WireFrame;

/// A server-side WebSocket, straight on the TCP connection.
pub type Socket = WebSocketStream<SharedTcp>;

/// A TCP connection that the connection task reads and writes through tungstenite, and that its
/// [`super::outbox::Outbox`] also writes frames to directly (see there), so it is shared. Reads
/// and writes wait for readiness and then try the socket, which is how tokio's own stream
/// works; nothing is buffered here.
#[derive(Debug, Clone)]
pub struct SharedTcp(pub(super) Arc<TcpStream>);

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

/// What the kernel may hold unsent for one WebSocket, as asked for (Linux doubles it for its
/// own bookkeeping, so 256 KiB in all). Left to itself the kernel grows a send buffer to 4 MiB:
/// a client that stopped reading would hold that much, and the server would never wait on a
/// write to it, so no write deadline could tell that it stopped. 256 KiB is far more than a
/// meeting's frames need in flight (a snapshot rarely reaches it, and what does not fit waits
/// in the outbox).
pub const SEND_BUFFER_BYTES: usize = 128 * 1024;

/// Caps the kernel's send buffer of a WebSocket at [`SEND_BUFFER_BYTES`].
fn cap_send_buffer(tcp: &TcpStream) {
    if let Err(error) = rustix::net::sockopt::set_socket_send_buffer_size(tcp, SEND_BUFFER_BYTES) {
        tracing::debug!(%error, "could not cap the send buffer");
    }
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
    cap_send_buffer(&tcp);
    let tcp = SharedTcp(Arc::new(tcp));
    let role = tokio_tungstenite::tungstenite::protocol::Role::Server;
    let config = Some(config(frame_bytes_hard_max));
    Box::new(if read_ahead.is_empty() {
        WebSocketStream::from_raw_socket(tcp, role, config).await
    } else {
        WebSocketStream::from_partially_read(tcp, read_ahead, role, config).await
    })
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
/// Fails with [`std::io::ErrorKind::TimedOut`] when the socket takes not one byte for `stall`
/// (see [`write_all_or_stall`]).
pub async fn write_frames(
    socket: &mut Socket,
    first: WireFrame,
    mut more: impl FnMut() -> Option<WireFrame>,
    stall: Duration,
) -> std::io::Result<()> {
    let io = socket.get_mut();
    match more() {
        None => write_all_or_stall(io, first.as_bytes(), stall).await,
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
            write_all_or_stall(io, &batch, stall).await
        }
    }
}

/// Writes all of `bytes`, failing with [`std::io::ErrorKind::TimedOut`] as soon as the socket
/// has taken nothing for `stall`: a client that reads slowly keeps its connection, one that has
/// stopped reading loses it, however long the write would have been. The deadline is kept
/// here, around each write, because a task blocked in a write sees none of its other timers.
pub async fn write_all_or_stall(
    io: &mut SharedTcp,
    mut bytes: &[u8],
    stall: Duration,
) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match tokio::time::timeout(stall, io.write(bytes)).await {
            Err(_) => return Err(stalled()),
            Ok(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(Ok(written)) => bytes = &bytes[written..],
            Ok(Err(error)) => return Err(error),
        }
    }
    Ok(())
}

/// Flushes what tungstenite has written but not sent (a pong, a close), failing with
/// [`std::io::ErrorKind::TimedOut`] when the socket takes none of it for `stall`. Its frames are
/// small (a control frame's payload is at most 125 bytes), so a deadline on the whole flush is
/// one on progress.
pub async fn flush_or_stall(socket: &mut Socket, stall: Duration) -> std::io::Result<()> {
    match tokio::time::timeout(stall, SinkExt::<Message>::flush(socket)).await {
        Err(_) => Err(stalled()),
        Ok(Ok(())) => Ok(()),
        Ok(Err(tungstenite::Error::Io(error))) => Err(error),
        Ok(Err(error)) => Err(std::io::Error::other(error)),
    }
}

/// The error of a write that made no progress in time.
fn stalled() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the peer took no byte of a write in time",
    )
}

/// Whether a write failed for a stall (see [`write_all_or_stall`]).
pub fn is_stall(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::TimedOut
}

/// Closes the connection at once, dropping what the kernel still holds to send: used for a
/// peer that stopped reading, whose send buffer would otherwise outlive the connection (the
/// kernel keeps trying to deliver it for minutes after a plain close). The peer gets a reset.
pub fn abort_on_drop(socket: &Socket) {
    let _ =
        rustix::net::sockopt::set_socket_linger(&**socket.get_ref().stream(), Some(Duration::ZERO));
}
