//! What an edge has heard from the owner on a link, for its silence bound (see the parent
//! module, "Streams"): when any byte last came, and whether bytes wait unread in the socket.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncRead;

/// The edge's side of a link's socket as its reader reads it: every read that brings bytes
/// notes that the owner was heard (a large frame that comes slowly counts while it comes).
pub(super) struct Noting<R> {
    pub(super) inner: R,
    pub(super) heard: Arc<Heard>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Noting<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, std::task::Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.heard.note();
        }
        polled
    }
}

/// When an edge last heard from the owner on a link, any byte at all: in microseconds from
/// the link's start, the origin its pings' times are counted from too. And a descriptor of
/// the link's socket, to tell whether the owner sent what the reader has not read yet.
#[derive(Debug)]
pub(super) struct Heard {
    start: Instant,
    last_us: AtomicU64,
    socket: Option<OwnedFd>,
}

impl Heard {
    /// Heard at the start: the owner's welcome just came.
    pub(super) fn new(socket: Option<OwnedFd>) -> Heard {
        Heard {
            start: Instant::now(),
            last_us: AtomicU64::new(0),
            socket,
        }
    }

    pub(super) fn since_start_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Something came from the owner now.
    pub(super) fn note(&self) {
        self.last_us.store(self.since_start_us(), Ordering::Relaxed);
    }

    /// How long nothing has come.
    pub(super) fn silent_for(&self) -> Duration {
        let last = self.last_us.load(Ordering::Relaxed);
        Duration::from_micros(self.since_start_us().saturating_sub(last))
    }

    /// Whether bytes (or the owner's close) wait in the socket for the reader: the owner spoke,
    /// and this node has not got round to it. Looked at without taking anything.
    pub(super) fn unread(&self) -> bool {
        let Some(socket) = &self.socket else {
            return false;
        };
        let mut byte = [0u8; 1];
        let flags = rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT;
        rustix::net::recv(socket, &mut byte[..], flags).is_ok()
    }
}
