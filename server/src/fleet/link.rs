//! The internal link between two nodes: one TCP connection per pair (opened by the edge, the
//! node a client connected to, to the owner, the node that runs the client's room), carrying
//! many client streams.
//!
//! **Frames.** Length-prefixed binary frames over plain TCP: a 4-byte big-endian length (of
//! what follows it), a kind byte, an 8-byte big-endian stream id, and the payload. Plain
//! frames rather than a WebSocket: both ends are this server, so the link needs no HTTP
//! upgrade, no masking and no text/binary distinction, and a frame's header tells its stream
//! without parsing its payload. A frame longer than `--link-frame-bytes-max` breaks the link.
//! The wire format is in `wire`.
//!
//! **Handshake.** The owner speaks first with a [`Kind::Challenge`]: 32 random bytes, then its
//! own node id ([`CHALLENGE_RANDOM_BYTES`]; an owner of an earlier build sends the random bytes
//! alone). The edge answers [`Kind::Hello`] with its node id and [`proof`], an HMAC-SHA256
//! under the fleet secret of the whole challenge and its id; the owner answers
//! [`Kind::Welcome`], or [`Kind::Refused`] and closes. Nothing else is read before the
//! welcome, and a handshake that does not finish in [`HANDSHAKE_TIMEOUT`] is dropped. An edge
//! whose challenge names another node than the one it dialed has reached a process that took
//! that node's address (a supervisor restarted it under a new id): the node it dialed is gone,
//! as when nothing listens there ([`ConnectError::Gone`]), and its leases are ended at once
//! instead of waited out.
//!
//! **Streams.** [`Kind::Open`] (payload: the client's address, for the owner's per-address
//! limits) starts a stream; its id has [`MADE_AGAIN`] set when the edge opens it to join its
//! client again, which the owner's limits per address leave out; [`Kind::Text`] and [`Kind::Binary`] carry the client's frames to
//! the owner and [`Kind::Text`] the owner's frames back, verbatim; [`Kind::Close`] ends a
//! stream either way (payload from the owner: the close reason's name, a newline, and the
//! sentence for the person; from the edge `left` or `lost`, how the client went). [`Kind::Ping`] and [`Kind::Pong`]
//! measure the hop (`link_hop_seconds`) and keep an idle link heard from. The edge breaks a
//! link on which nothing came for [`SILENCE_MAX`]: no byte read (of a frame of any kind, or
//! of part of one), and none waiting in its socket unread. A pong waits behind every frame the owner queued before it,
//! or is dropped when that queue is full, and on a busy core the edge's own reader may not
//! run for a second or more, so a live owner can look silent for a while; a killed owner's
//! link closes at once, and a frozen or cut-off owner's rooms wait for its lease (15 s) all
//! the same, so the long bound costs little: this node routes around such an owner a few
//! seconds later. (A link broken for a late pong took every client
//! it carried with it: a kill's busiest seconds then had an extra thousand joins made again
//! and a thousand closed.) When the owner closes a stream because the room went away from
//! it (`room_moved`, `draining`, a shutdown), or the link
//! breaks, the edge does not close its client: it tells the client's connection through the
//! stream's [`Attachment`], and the connection joins the client again where the room runs now.
//!
//! **Drain notice.** An owner that starts to drain sends [`Kind::Draining`] (stream 0, no
//! payload) on every link it serves at once, before any of its rooms hands itself over (so on
//! each link it comes before the close of any stream whose room moves), and its welcome on a
//! link opened while it drains carries the payload [`DRAINING`]. The edge then leaves the
//! node out of placement at once rather than from the node's next registry heartbeat, so the
//! rooms the node gives up, and the clients it closes with `draining`, go elsewhere at once.
//! The edge still forwards to the draining node the clients of rooms it still holds (their
//! lease says so): they are served there until their room's turn to hand over.
//!
//! **Handover.** A draining node whose room has given its lease up sends [`Kind::Take`]
//! (stream 0, payload: the group id) to the node placement names for the group now, on its
//! own link to it: queued before it closes the room's clients when that link is open, else
//! as soon as it is (opened for this, at most [`HANDOVER_LINK_WAIT`] later). That node loads
//! the room at once, so the load runs while the clients reconnect instead of after the first
//! of them arrives, and their joins find the room live or loading. It is only a hint: the
//! lease stays the truth, a node that drains or holds no place for another load ignores it,
//! and a join loads the room wherever it is routed, as without it. At most
//! [`TAKES_IN_FLIGHT_MAX`] of a link's takes load at once; more are ignored. Takes go only to
//! an owner whose welcome said [`TAKES`]: a node of a build before them breaks a link that
//! carries a kind it does not know, which a rolling deploy must not cause.
//!
//! **Bounds.** Each side writes through one bounded queue (`--link-queue-frames-max`) drained
//! by a writer task. The edge hands each of the owner's frames to the client's own bounded
//! outbox without waiting, so one slow client never stalls the link: its outbox fills and it
//! alone is closed (`slow_consumer`). The owner queues each client's frames for its connection
//! task in a bounded queue (`--link-stream-inbound-max`) and closes a client that overfills it.
//! A link carries at most `--link-streams-max` streams.

use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use roundtable_protocol::{CloseReason, GroupId};
use tokio::io::{AsyncRead, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::transport::frame::WireFrame;
use crate::transport::outbox::{Outbox, QueueError, Urgency};

/// The longest an edge waits for a TCP connection to the owner.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How often an edge pings each link.
const PING_INTERVAL: Duration = Duration::from_millis(500);

/// The longest a link may be silent before the edge breaks it (see the module's comment).
const SILENCE_MAX: Duration = Duration::from_secs(5);

mod attachment;
mod heard;
mod wire;

pub use attachment::{Attachment, Gone, IN_FLIGHT_MAX, JoinAgain, Seen, member_token};
use heard::{Heard, Noting};
#[cfg(test)]
use wire::hmac_sha256;
pub use wire::{
    CHALLENGE_BYTES_MAX, CHALLENGE_RANDOM_BYTES, CLIENT_LEFT, CLIENT_LOST, DRAINING,
    HANDOVER_LINK_WAIT, HANDSHAKE_TIMEOUT, Kind, LINK_RECEIVE_BUFFER_BYTES, LinkFrame, MADE_AGAIN,
    READ_BUFFER_BYTES, TAKES, TAKES_IN_FLIGHT_MAX, close_payload, parse_close, proof, read_frame,
    same_proof, set_up_socket, whole_frame_buffered, write_frames,
};

/// The most clients' outboxes an edge's link reader queues frames in before it flushes them
/// (see [`Link::to_client`]).
const UNFLUSHED_OUTBOXES_MAX: usize = 256;

/// Writes what the clients' outboxes in `unflushed` queued, each once.
fn flush_all(unflushed: &mut Vec<Outbox>) {
    for outbox in unflushed.drain(..) {
        outbox.flush();
    }
}

/// An edge's link to one owner node.
#[derive(Debug)]
pub struct Link {
    /// The owner's node id.
    pub peer: String,
    queue: mpsc::Sender<LinkFrame>,
    /// Each client whose stream is open: the owner's frames go to its outbox.
    streams: Mutex<HashMap<u64, Client>>,
    next_stream: AtomicU64,
    streams_max: usize,
    dead: CancellationToken,
    /// Cancelled when the owner says it drains.
    peer_draining: CancellationToken,
    /// Whether the owner's welcome said it loads the rooms it is handed ([`TAKES`]).
    takes: bool,
}

/// A client on an edge's link: where the owner's frames go, and what the edge knows of its
/// session.
#[derive(Debug)]
struct Client {
    outbox: Outbox,
    attachment: Arc<Attachment>,
}

/// Why a link could not be opened.
#[derive(Debug)]
pub enum ConnectError {
    /// Nothing listens at the owner's address (its TCP connect was refused), or another node
    /// does (its challenge names another id: a process restarted there). The owner's process
    /// is gone (it died or exited), as far as this node can tell: a peer cut off by the
    /// network usually times out instead, but one behind a firewall that rejects, or
    /// advertising a wrong port, is refused too.
    Gone(String),
    /// TCP or the handshake failed otherwise.
    Failed(String),
    /// The owner refused this node's proof.
    Refused,
}

impl Link {
    /// Opens a link to the owner `peer` at `addr`, proving the fleet `secret` for `node_id`.
    pub async fn connect(
        peer: &str,
        addr: &str,
        node_id: &str,
        secret: &[u8],
        config: &crate::config::FleetConfig,
    ) -> Result<Arc<Link>, ConnectError> {
        let failed = |what: String| ConnectError::Failed(what);
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| failed(format!("no connection to {addr} in time")))?
            .map_err(|error| {
                let why = format!("cannot connect to {addr}: {error}");
                if error.kind() == std::io::ErrorKind::ConnectionRefused {
                    ConnectError::Gone(why)
                } else {
                    failed(why)
                }
            })?;
        set_up_socket(&tcp);
        // A second descriptor of the socket, to look for bytes the reader has not read yet.
        let unread = tcp.as_fd().try_clone_to_owned().ok();
        let (mut reader, mut writer) = tcp.into_split();
        let handshake = async {
            let challenge = read_frame(&mut reader, CHALLENGE_BYTES_MAX).await?;
            if challenge.kind != Kind::Challenge {
                return Err(std::io::Error::other(
                    "the owner did not open with a challenge",
                ));
            }
            if let Some(other) = challenge.payload.get(CHALLENGE_RANDOM_BYTES..)
                && !other.is_empty()
                && other != peer.as_bytes()
            {
                return Ok(Err(String::from_utf8_lossy(other).into_owned()));
            }
            let mut hello = proof(secret, &challenge.payload, node_id).to_vec();
            hello.extend_from_slice(node_id.as_bytes());
            let mut bytes = Vec::new();
            LinkFrame::new(Kind::Hello, 0, hello).encode_into(&mut bytes);
            writer.write_all(&bytes).await?;
            read_frame(&mut reader, 1024).await.map(Ok)
        };
        let answer = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
            .await
            .map_err(|_| failed(format!("no handshake with {addr} in time")))?
            .map_err(|error| failed(format!("handshake with {addr} failed: {error}")))?
            .map_err(|other| {
                ConnectError::Gone(format!(
                    "{addr} is node {other} now, not {peer}: {peer}'s process is gone"
                ))
            })?;
        match answer.kind {
            Kind::Welcome => {}
            Kind::Refused => return Err(ConnectError::Refused),
            other => return Err(failed(format!("unexpected {other:?} in the handshake"))),
        }
        let (queue, outgoing) = mpsc::channel(config.link_queue_frames_max.max(1));
        let link = Arc::new(Link {
            peer: peer.to_string(),
            queue,
            streams: Mutex::new(HashMap::new()),
            next_stream: AtomicU64::new(1),
            streams_max: config.link_streams_max,
            dead: CancellationToken::new(),
            peer_draining: CancellationToken::new(),
            takes: answer.payload[..] == *TAKES,
        });
        if answer.payload[..] == *DRAINING {
            link.peer_draining.cancel();
        }
        tokio::spawn(write_frames(writer, outgoing, link.dead.clone()));
        let heard = Arc::new(Heard::new(unread));
        // The handshake read exactly its two frames; from here on, one read takes every frame
        // that has arrived.
        let reader = Noting {
            inner: reader,
            heard: Arc::clone(&heard),
        };
        tokio::spawn(Arc::clone(&link).read_owner_frames(
            BufReader::with_capacity(READ_BUFFER_BYTES, reader),
            config.link_frame_bytes_max,
            Arc::clone(&heard),
        ));
        tokio::spawn(Arc::clone(&link).ping(heard));
        Ok(link)
    }

    /// Whether the link still works.
    pub fn is_alive(&self) -> bool {
        !self.dead.is_cancelled()
    }

    /// Cancelled when the link breaks, however it does.
    pub fn broken(&self) -> CancellationToken {
        self.dead.clone()
    }

    /// Cancelled when the owner says it drains (its welcome, or a [`Kind::Draining`] frame).
    pub fn peer_draining(&self) -> CancellationToken {
        self.peer_draining.clone()
    }

    /// Asks the owner to load `group_id`'s room now ([`Kind::Take`]); answers whether the
    /// frame was queued (not to an owner that does not take rooms or drains, and a full or
    /// dead link's is dropped: it is only a hint).
    pub fn take(&self, group_id: GroupId) -> bool {
        self.takes
            && self.is_alive()
            && !self.peer_draining.is_cancelled()
            && self
                .queue
                .try_send(LinkFrame::new(Kind::Take, 0, group_id.to_string()))
                .is_ok()
    }

    /// Breaks the link: every stream's client hears that its room went away (see
    /// [`Attachment::moved`]).
    pub fn break_link(&self) {
        self.dead.cancel();
    }

    fn lock_streams(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Client>> {
        self.streams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Opens a stream for a client at `client` whose frames from the owner go to `outbox`,
    /// and sends `first` (the client's join, verbatim, or one this edge makes again) on it.
    /// `None` when the link is dead or full.
    pub async fn open(
        self: &Arc<Link>,
        client: IpAddr,
        outbox: Outbox,
        attachment: Arc<Attachment>,
        first: &str,
    ) -> Option<EdgeStream> {
        let id = {
            let mut streams = self.lock_streams();
            if !self.is_alive() || streams.len() >= self.streams_max {
                return None;
            }
            let mut id = self.next_stream.fetch_add(1, Ordering::Relaxed);
            if attachment.joining_again() {
                id |= MADE_AGAIN;
            }
            let client = Client {
                outbox,
                attachment: Arc::clone(&attachment),
            };
            streams.insert(id, client);
            id
        };
        crate::metrics::forwarding::forwarded_stream("edge", 1);
        let stream = EdgeStream {
            link: Arc::clone(self),
            attachment,
            id,
            closed: AtomicBool::new(false),
            left: AtomicBool::new(false),
        };
        let opened = self
            .queue
            .send(LinkFrame::new(Kind::Open, id, client.to_string()))
            .await
            .is_ok();
        if !opened
            || stream
                .send_text(first, Duration::from_secs(2))
                .await
                .is_err()
        {
            return None;
        }
        Some(stream)
    }

    /// Reads the owner's frames until the link breaks, then tells every stream's client its
    /// room went away. The clients' frames are queued as they come and their outboxes flushed
    /// once every frame already read is handed out, before the reader waits for the socket:
    /// a client with several frames in what one read took (a join's ack and its snapshot, an
    /// event and a presence) gets them in one write, as from a room on this node.
    async fn read_owner_frames(
        self: Arc<Link>,
        mut reader: BufReader<impl AsyncRead + Unpin>,
        payload_max: usize,
        heard: Arc<Heard>,
    ) {
        let mut unflushed = Vec::new();
        loop {
            if !whole_frame_buffered(reader.buffer()) {
                flush_all(&mut unflushed);
            }
            let frame = tokio::select! {
                () = self.dead.cancelled() => break,
                frame = read_frame(&mut reader, payload_max) => frame,
            };
            let frame = match frame {
                Ok(frame) => frame,
                Err(error) => {
                    debug!(%error, peer = %self.peer, "a link to an owner ended");
                    break;
                }
            };
            if frame.kind != Kind::Text {
                // What came before a close (or anything else) goes out before it.
                flush_all(&mut unflushed);
            }
            match frame.kind {
                Kind::Text => {
                    if let Some(outbox) = self.to_client(frame.stream, frame.payload) {
                        unflushed.push(outbox);
                        if unflushed.len() >= UNFLUSHED_OUTBOXES_MAX {
                            flush_all(&mut unflushed);
                        }
                    }
                }
                Kind::Close => {
                    let client = self.lock_streams().remove(&frame.stream);
                    if let Some(client) = client {
                        let (reason, message) = match parse_close(&frame.payload) {
                            Some((CloseReason::ServerShutdown, _)) | None => (
                                CloseReason::RoomMoved,
                                "the meeting's server is moving it; reconnect to resume".into(),
                            ),
                            Some(close) => close,
                        };
                        // The room went away from the owner (its lease, a shutdown, a drain):
                        // the client's connection joins it again where it runs now. Any other
                        // close (removed, slow, a bad frame) is the client's own.
                        if matches!(reason, CloseReason::RoomMoved | CloseReason::Draining) {
                            client.attachment.moved(Gone::HandedOver, reason, message);
                        } else {
                            client.outbox.close(reason, message);
                        }
                    }
                }
                Kind::Draining => self.peer_draining.cancel(),
                Kind::Pong => {
                    if let Ok(sent) = <[u8; 8]>::try_from(&frame.payload[..]) {
                        let sent_us = u64::from_be_bytes(sent);
                        let now_us = heard.since_start_us();
                        crate::metrics::forwarding::link_hop(now_us.saturating_sub(sent_us));
                    }
                }
                _ => {
                    warn!(peer = %self.peer, kind = ?frame.kind, "unexpected link frame; breaking the link");
                    break;
                }
            }
        }
        flush_all(&mut unflushed);
        self.dead.cancel();
        let streams = std::mem::take(&mut *self.lock_streams());
        for client in streams.into_values() {
            client.attachment.moved(
                Gone::LinkLost,
                CloseReason::RoomMoved,
                "the link to the meeting's server broke; reconnect to resume".into(),
            );
        }
    }

    /// Queues one of the owner's frames in its client's outbox, without waiting. Answers the
    /// outbox when it is now due a flush, which the caller owes it before it waits.
    fn to_client(&self, stream: u64, payload: Bytes) -> Option<Outbox> {
        let (outbox, attachment) = self
            .lock_streams()
            .get(&stream)
            .map(|client| (client.outbox.clone(), Arc::clone(&client.attachment)))?;
        let text = String::from_utf8(Vec::from(payload)).ok()?;
        crate::metrics::forwarding::forwarded_frame("to_client");
        let (reason, message) = match attachment.seen(&text) {
            Seen::RejoinRefused => (
                CloseReason::RoomMoved,
                "the meeting moved to another server; reconnect to resume",
            ),
            Seen::Pass => match outbox.push_later(WireFrame::text(text), Urgency::Now) {
                Ok(sooner) => return sooner.then_some(outbox),
                Err(QueueError::Closed) => return None,
                Err(QueueError::Full) => (
                    CloseReason::SlowConsumer,
                    "you fell too far behind; reconnect to resume",
                ),
            },
        };
        self.lock_streams().remove(&stream);
        outbox.close(reason, message);
        let close = LinkFrame::new(Kind::Close, stream, Bytes::from_static(CLIENT_LOST));
        let _ = self.queue.try_send(close);
        None
    }

    /// Pings the owner every [`PING_INTERVAL`]; breaks the link once it was silent for
    /// [`SILENCE_MAX`].
    async fn ping(self: Arc<Link>, heard: Arc<Heard>) {
        let mut ticks = tokio::time::interval(PING_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = self.dead.cancelled() => return,
                _ = ticks.tick() => {}
            }
            if heard.silent_for() > SILENCE_MAX && !heard.unread() {
                warn!(peer = %self.peer, silent_for = ?heard.silent_for(), "nothing came on a link to an owner; breaking it");
                self.dead.cancel();
                return;
            }
            let now_us = heard.since_start_us();
            let ping = LinkFrame::new(Kind::Ping, 0, now_us.to_be_bytes().to_vec());
            if self.queue.try_send(ping).is_err() && self.queue.is_closed() {
                return;
            }
        }
    }
}

/// One client's stream on an edge's link, held by the client's connection; dropping it ends
/// the stream (the owner hears the client left).
#[derive(Debug)]
pub struct EdgeStream {
    link: Arc<Link>,
    attachment: Arc<Attachment>,
    id: u64,
    closed: AtomicBool,
    /// The client left with a close frame (else its connection was lost), as the owner's
    /// room shows it.
    left: AtomicBool,
}

impl EdgeStream {
    /// What the edge knows of the client's session.
    pub fn attachment(&self) -> &Arc<Attachment> {
        &self.attachment
    }

    /// Whether the link under the stream broke (its reader then tells the attachment).
    pub fn link_broken(&self) -> bool {
        !self.link.is_alive()
    }

    /// Notes that the client left with a close frame, for the close the stream ends with.
    pub fn client_left(&self) {
        self.left.store(true, Ordering::Relaxed);
    }

    /// Passes one of the client's text frames on, waiting at most `stall` for room on the
    /// link.
    pub async fn send_text(&self, text: &str, stall: Duration) -> Result<(), ()> {
        self.attachment.sent(text);
        self.send(Kind::Text, Bytes::copy_from_slice(text.as_bytes()), stall)
            .await
    }

    /// Passes on that the client sent a binary frame (the owner answers it as it would).
    pub async fn send_binary(&self, stall: Duration) -> Result<(), ()> {
        self.send(Kind::Binary, Bytes::new(), stall).await
    }

    async fn send(&self, kind: Kind, payload: Bytes, stall: Duration) -> Result<(), ()> {
        if !self.link.is_alive() {
            return Err(());
        }
        let frame = LinkFrame::new(kind, self.id, payload);
        match tokio::time::timeout(stall, self.link.queue.send(frame)).await {
            Ok(Ok(())) => {
                crate::metrics::forwarding::forwarded_frame("to_owner");
                Ok(())
            }
            _ => Err(()),
        }
    }
}

impl Drop for EdgeStream {
    fn drop(&mut self) {
        if self.closed.swap(true, Ordering::Relaxed) {
            return;
        }
        crate::metrics::forwarding::forwarded_stream("edge", -1);
        if self.link.lock_streams().remove(&self.id).is_some() && self.link.is_alive() {
            let how = if self.left.load(Ordering::Relaxed) {
                CLIENT_LEFT
            } else {
                CLIENT_LOST
            };
            let close = LinkFrame::new(Kind::Close, self.id, Bytes::from_static(how));
            if let Err(mpsc::error::TrySendError::Full(close)) = self.link.queue.try_send(close) {
                let queue = self.link.queue.clone();
                tokio::spawn(async move {
                    let _ = queue.send(close).await;
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The owner's side.

/// What the owner's connection task gets from its client through the link.
#[derive(Debug)]
pub enum Inbound {
    Text(String),
    Binary,
    /// The client left with a close frame.
    Close,
    /// The client's connection was lost.
    Lost,
}

/// A client whose frames come through a link: what the owner's connection task reads and
/// writes instead of a socket.
#[derive(Debug)]
pub struct ForwardedStream {
    id: u64,
    inbound: mpsc::Receiver<Inbound>,
    link: mpsc::Sender<LinkFrame>,
}

impl ForwardedStream {
    /// The stream `id` of a link whose writer takes frames from `link`; the client's frames
    /// come from `inbound`.
    pub fn new(id: u64, inbound: mpsc::Receiver<Inbound>, link: mpsc::Sender<LinkFrame>) -> Self {
        crate::metrics::forwarding::forwarded_stream("owner", 1);
        ForwardedStream { id, inbound, link }
    }

    /// The client's next frame; `None` when the link broke (or the client was cut off).
    pub async fn next(&mut self) -> Option<Inbound> {
        self.inbound.recv().await
    }

    /// Sends one server frame's text to the client, waiting at most `stall` for room on the
    /// link.
    pub async fn send(&self, frame: &WireFrame, stall: Duration) -> std::io::Result<()> {
        let payload = Bytes::copy_from_slice(frame.text_payload().as_bytes());
        self.send_frame(LinkFrame::new(Kind::Text, self.id, payload), stall)
            .await
    }

    /// Ends the stream: with `Some`, the edge closes its client for this reason.
    pub async fn close(&self, closing: Option<(CloseReason, &str)>, stall: Duration) {
        let payload = closing.map_or_else(Bytes::new, |(reason, message)| {
            close_payload(reason, message)
        });
        let _ = self
            .send_frame(LinkFrame::new(Kind::Close, self.id, payload), stall)
            .await;
    }

    async fn send_frame(&self, frame: LinkFrame, stall: Duration) -> std::io::Result<()> {
        match tokio::time::timeout(stall, self.link.send(frame)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(std::io::ErrorKind::BrokenPipe.into()),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the link took no frame in time",
            )),
        }
    }
}

impl Drop for ForwardedStream {
    fn drop(&mut self) {
        crate::metrics::forwarding::forwarded_stream("owner", -1);
    }
}

#[cfg(test)]
mod tests;
