//! One WebSocket connection: reads frames, checks them (size, rate, shape), answers pings,
//! joins a room and forwards requests to it, and writes whatever is queued in its outbox.
//!
//! The task owns both halves of the socket. Queued frames are written before the next input
//! is read, so a client that does not read gets no more service, and a full outbox closes the
//! connection with `slow_consumer` instead of growing without bound. Every write the task
//! waits on (queued frames, a pong, the close) fails once the socket has taken no byte for
//! `--write-stall-seconds`: the connection is then reset and released, whatever it was doing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use roundtable_protocol::{
    ClientFrame, CloseReason, ErrorCode, GroupId, Hello, LimitsInfo, PROTOCOL_VERSION,
    PresenceReason, Reply, RequestId, ServerMessage,
};
use roundtable_rules::{Command, SessionRequest};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, field, info, info_span};

use super::frame::{WireFrame, encode};
use super::outbox::{CloseRequest, Outbox, OutboxItem, QueueError, Urgency};
use super::parse::{FrameError, parse_frame, peek_id};
use super::rate_limit::TokenBucket;
use super::socket::{self, Socket};
use crate::app::{AdmittedWebSocket, App};
use crate::clock::sleep_until_or_never;
use crate::fleet::Route;
use crate::fleet::link::{EdgeStream, ForwardedStream, Inbound};
use crate::room::ConnectionId;
use crate::room::actor::RoomCommand;
use crate::room::registry::{JoinArgs, RoomHandle};

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// The longest a closing connection spends on its last frames and the closing handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Serves one upgraded WebSocket until it closes. `upgrade_response` is the response to a
/// direct upgrade (see [`super::upgrade::upgrade_directly`]), still to be written; `None` when hyper wrote it.
///
/// Not an `async fn`: an async fn keeps its arguments twice for its whole life (as passed and
/// as moved into its body), in every idle connection's task. The set-up runs here, and the
/// future holds only what the connection needs from then on (BENCHMARKS.md, memory).
pub fn serve(
    socket: Box<Socket>,
    context: Arc<App>,
    upgrade_response: Option<WireFrame>,
    admitted: AdmittedWebSocket,
) -> impl Future<Output = ()> + Send {
    let connection_id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
    let span = info_span!(
        "connection",
        id = connection_id,
        group = field::Empty,
        member = field::Empty
    );
    Connection::new(connection_id, context, admitted, false)
        .run(Wire::Direct(socket), upgrade_response)
        .instrument(span)
}

/// Serves a client whose frames another node forwards over a link (see [`crate::fleet`]),
/// with the same logic as a direct one: its frames are checked, rate limited and answered
/// here, and its join joins this node's room. Only the WebSocket itself (pings, the close
/// handshake, its hard frame limit, the hello) is the edge's.
pub fn serve_forwarded(
    stream: Box<ForwardedStream>,
    context: Arc<App>,
    admitted: AdmittedWebSocket,
) -> impl Future<Output = ()> + Send {
    let connection_id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
    let span = info_span!(
        "connection",
        id = connection_id,
        forwarded = true,
        group = field::Empty,
        member = field::Empty
    );
    Connection::new(connection_id, context, admitted, true)
        .run(Wire::Forwarded(stream), None)
        .instrument(span)
}

/// What a connection's frames come from and go to: a WebSocket of its own, or a stream on a
/// link from the edge node the client is connected to.
enum Wire {
    Direct(Box<Socket>),
    Forwarded(Box<ForwardedStream>),
}

impl Wire {
    /// The client's next message, as the socket gives it.
    async fn next_message(
        &mut self,
        read_wake: &Arc<socket::ReadWake>,
    ) -> Option<Result<Message, tungstenite::Error>> {
        match self {
            Wire::Direct(socket) => socket::next_message(socket, read_wake).await,
            Wire::Forwarded(stream) => match stream.next().await? {
                Inbound::Text(text) => Some(Ok(Message::Text(text.into()))),
                Inbound::Binary => Some(Ok(Message::Binary(Default::default()))),
                Inbound::Close => Some(Ok(Message::Close(None))),
                Inbound::Lost => None,
            },
        }
    }

    /// Writes `first` and what is queued behind it.
    async fn write_frames(
        &mut self,
        first: WireFrame,
        outbox: &Outbox,
        stall: Duration,
    ) -> std::io::Result<()> {
        match self {
            Wire::Direct(socket) => {
                socket::write_frames(socket, first, || outbox.try_next(), stall).await
            }
            Wire::Forwarded(stream) => {
                stream.send(&first, stall).await?;
                while let Some(frame) = outbox.try_next() {
                    stream.send(&frame, stall).await?;
                }
                Ok(())
            }
        }
    }
}

/// Where a connection stands.
enum Session {
    /// Waiting for a join, until the deadline.
    Joining { deadline: tokio::time::Instant },
    /// Joined to a room.
    Joined { room: RoomHandle },
    /// Forwarded to the node that runs the room (this node is the edge).
    Forwarded { stream: EdgeStream },
}

struct Connection {
    id: ConnectionId,
    context: Arc<App>,
    rate: TokenBucket,
    /// Rejected frames since the last accepted one; too many closes the connection.
    errors_in_a_row: u32,
    /// Its client address's limits; its slot among the address's unjoined WebSockets is
    /// given back when it joins.
    admitted: AdmittedWebSocket,
    /// The client's frames come through a link from another node.
    forwarded: bool,
}

/// How a connection's loop ended: what to tell the room, and the close to send when the server
/// chose to close.
struct Ending {
    presence: PresenceReason,
    closing: Option<CloseRequest>,
    /// The close frame's code and reason text, when they are not the closing reason's own: a
    /// frame that broke the WebSocket protocol itself (see [`Ending::broken_frame`]).
    wire: Option<(CloseCode, &'static str)>,
    /// The peer stopped taking what is written: nothing more is tried, the connection is reset.
    abort: bool,
}

impl Ending {
    /// The connection broke, or its client went without a close frame.
    fn lost() -> Ending {
        Ending {
            presence: PresenceReason::ConnectionLost,
            closing: None,
            wire: None,
            abort: false,
        }
    }

    /// The client sent something the WebSocket layer refused (RFC 6455): the close says so
    /// with the matching code, 1009 for a frame too large, 1007 for text that is not UTF-8,
    /// 1002 for broken framing (reserved bits or opcodes, an unmasked or fragmented control
    /// frame, a close with a one-byte body, ...); `None` when the connection simply broke.
    fn broken_frame(error: &tungstenite::Error, hard_max: usize) -> Option<Ending> {
        use tungstenite::error::ProtocolError;
        let (code, text, message) = match error {
            tungstenite::Error::Capacity(_) => (
                CloseCode::Size,
                "too_large",
                format!("a frame exceeded the hard limit of {hard_max} bytes"),
            ),
            tungstenite::Error::Utf8(_) => (
                CloseCode::Invalid,
                "invalid_utf8",
                "a text frame (or a close reason) is not valid UTF-8".to_string(),
            ),
            tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                return None;
            }
            tungstenite::Error::Protocol(problem) => (
                CloseCode::Protocol,
                "protocol_error",
                format!("the frame breaks the WebSocket protocol: {problem}"),
            ),
            _ => return None,
        };
        Some(Ending {
            wire: Some((code, text)),
            ..Ending::closing(CloseReason::PolicyViolation, message)
        })
    }

    /// A write failed: the connection broke, or its peer took nothing for the write stall
    /// limit.
    fn write_failed(error: &std::io::Error) -> Ending {
        if socket::is_stall(error) {
            info!("the client took nothing written for too long; closing connection");
        }
        Ending {
            abort: socket::is_stall(error),
            ..Ending::lost()
        }
    }

    /// Why the connection ended, for the metrics: the close reason the server gave, else
    /// `client_closed` (the client's close frame) or `connection_lost`.
    fn metric_reason(&self) -> &'static str {
        match (&self.closing, self.presence) {
            (Some((reason, _)), _) => reason.as_str(),
            (None, PresenceReason::Left) => "client_closed",
            (None, _) => "connection_lost",
        }
    }

    /// The server closes the connection, for `reason`.
    fn closing(reason: CloseReason, message: String) -> Ending {
        Ending {
            presence: PresenceReason::ConnectionLost,
            closing: Some((reason, message)),
            wire: None,
            abort: false,
        }
    }
}

/// What reading one frame leads to.
enum Next {
    Continue,
    Close(CloseReason, String),
}

impl Connection {
    fn new(
        id: ConnectionId,
        context: Arc<App>,
        admitted: AdmittedWebSocket,
        forwarded: bool,
    ) -> Self {
        let limits = &context.config.limits;
        let rate = TokenBucket::new(limits.requests_per_second);
        Connection {
            id,
            context,
            rate,
            errors_in_a_row: 0,
            admitted,
            forwarded,
        }
    }

    /// The `hello` every connection gets first. Built outside [`Connection::run`] so that the
    /// message is not kept in the connection task for its whole life.
    fn hello(&self) -> ServerMessage {
        let limits = &self.context.config.limits;
        ServerMessage::Hello(Hello {
            v: PROTOCOL_VERSION,
            server_time_ms: self.context.clock.now_ms(),
            limits: LimitsInfo {
                frame_bytes_max: limits.frame_bytes_max as u32,
                requests_per_second: limits.requests_per_second,
                display_name_chars_max: limits.display_name_chars_max as u32,
                group_name_chars_max: limits.group_name_chars_max as u32,
            },
        })
    }

    /// Serves the connection until it closes. What lives across its awaits lives as long as the
    /// connection, so it keeps only what it needs: the socket is boxed to be held once, and the
    /// set-up runs before the future is made (see [`serve`]).
    fn run(
        mut self,
        mut wire: Wire,
        upgrade_response: Option<WireFrame>,
    ) -> impl Future<Output = ()> + Send {
        let frames_max = self.context.config.limits.outbound_queue_max;
        let outbox = match &wire {
            Wire::Direct(socket) => {
                Outbox::writing_to(frames_max, Arc::clone(socket.get_ref().stream()))
            }
            Wire::Forwarded(_) => Outbox::new(frames_max),
        };
        let shutdown = self.context.shutdown.clone();
        let mut session = Session::Joining {
            deadline: tokio::time::Instant::now() + self.context.config.limits.join_timeout(),
        };
        // A direct upgrade's response goes out in one write with the hello.
        if let Some(response) = upgrade_response {
            let _ = outbox.push_later(response, Urgency::Now);
        }
        // A forwarded client had its hello from the edge.
        if !self.forwarded {
            let _ = outbox.push_message(&self.hello());
        }
        let open = self.context.connections.token();
        async move {
            crate::metrics::connection_opened();
            let mut ending = self
                .serve_frames(&mut wire, &outbox, &mut session, &shutdown)
                .await;
            // The room moved away from the node this client is forwarded to (or the link to
            // it broke): close code 1012, so the client reconnects at once and resumes.
            if let (Session::Forwarded { .. }, Some((CloseReason::RoomMoved, _))) =
                (&session, &ending.closing)
            {
                ending.wire = Some((CloseCode::Restart, CloseReason::RoomMoved.as_str()));
            }
            crate::metrics::connection_closed(
                matches!(session, Session::Joined { .. }),
                ending.metric_reason(),
            );
            Box::pin(self.finish(&mut wire, &outbox, &session, ending)).await;
            drop(open);
        }
    }

    /// Serves frames both ways until the connection ends: writes what its outbox queued, reads
    /// and answers the client's frames, and until a join, watches the join's deadline and
    /// shutdown (a joined connection is closed by its room at shutdown).
    async fn serve_frames(
        &mut self,
        wire: &mut Wire,
        outbox: &Outbox,
        session: &mut Session,
        shutdown: &CancellationToken,
    ) -> Ending {
        let read_wake = socket::ReadWake::new();
        loop {
            let join_deadline = match &session {
                Session::Joining { deadline } => Some(*deadline),
                Session::Joined { .. } | Session::Forwarded { .. } => None,
            };
            // A joined connection is closed by its room at shutdown; the others close here.
            let in_no_room = !matches!(session, Session::Joined { .. });
            // A client forwarded from here to a room on another node is closed as soon as
            // this node starts to drain: its room stays where it is, so it can reconnect to
            // another node at once rather than wait for this node's own rooms to hand over.
            let forwarded_from_here = matches!(session, Session::Forwarded { .. });
            let ending = tokio::select! {
                biased;
                item = outbox.next() => write_queued(wire, outbox, item, self.stall()).await,
                () = self.context.rooms.fleet().drained(), if forwarded_from_here => {
                    Some(Ending::closing(
                        CloseReason::Draining,
                        "this server is restarting; reconnect to resume".into(),
                    ))
                }
                () = shutdown.cancelled(), if in_no_room => Some(Ending::closing(
                    CloseReason::ServerShutdown,
                    "the server is shutting down".into(),
                )),
                () = sleep_until_or_never(join_deadline), if join_deadline.is_some() => Some(
                    Ending::closing(CloseReason::JoinTimeout, "no join arrived in time".into()),
                ),
                message = wire.next_message(&read_wake) => {
                    self.on_message(message, wire, outbox, session).await
                }
            };
            if let Some(ending) = ending {
                return ending;
            }
        }
    }

    /// Handles what the socket gave; `Some` when the connection ends with it.
    async fn on_message(
        &mut self,
        message: Option<Result<Message, tungstenite::Error>>,
        wire: &mut Wire,
        outbox: &Outbox,
        session: &mut Session,
    ) -> Option<Ending> {
        let next = match message {
            Some(Ok(Message::Text(text))) => Box::pin(self.on_text(&text, outbox, session)).await,
            Some(Ok(Message::Binary(_))) if matches!(session, Session::Forwarded { .. }) => {
                self.pass_on(None, session).await
            }
            Some(Ok(Message::Binary(_))) => self.reject(
                outbox,
                None,
                ErrorCode::Invalid,
                "frames must be JSON text, not binary".into(),
            ),
            Some(Ok(Message::Ping(_))) if matches!(wire, Wire::Direct(_)) => {
                let Wire::Direct(socket) = wire else {
                    return None;
                };
                // tungstenite owes a pong: write it now, with pushes queueing meanwhile, so that
                // it never lands inside a frame (after the rest of one the room's direct write
                // left unfinished). It waits for the socket as a queued frame does, so a client
                // that pings without reading is closed just the same.
                outbox.hold();
                let stall = self.stall();
                if let Some(rest) = outbox.take_unfinished()
                    && let Err(error) = socket::write_frames(socket, rest, || None, stall).await
                {
                    return Some(Ending::write_failed(&error));
                }
                if let Err(error) = socket::flush_or_stall(socket, stall).await {
                    return Some(Ending::write_failed(&error));
                }
                outbox.release();
                Next::Continue
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Next::Continue,
            Some(Ok(Message::Close(_))) => {
                return Some(Ending {
                    presence: PresenceReason::Left,
                    ..Ending::lost()
                });
            }
            Some(Err(error)) => {
                debug!(%error, "read failed");
                let hard_max = self.context.config.limits.frame_bytes_hard_max();
                return Some(Ending::broken_frame(&error, hard_max).unwrap_or_else(Ending::lost));
            }
            None => return Some(Ending::lost()),
        };
        match next {
            Next::Continue => None,
            Next::Close(reason, message) => Some(Ending::closing(reason, message)),
        }
    }

    /// Ends the connection: tells the room the member left, and closes (see
    /// [`close_gracefully`]). From here on the connection's task alone writes (the close, and
    /// what comes before it), so the room's frames only queue.
    async fn finish(&self, wire: &mut Wire, outbox: &Outbox, session: &Session, ending: Ending) {
        outbox.hold();
        if let (Session::Forwarded { stream }, PresenceReason::Left) = (session, ending.presence) {
            stream.client_left();
        }
        if let Session::Joined { room, .. } = session {
            let _ = room
                .send(RoomCommand::Leave {
                    connection_id: self.id,
                    reason: ending.presence,
                })
                .await;
        }
        if let Some((reason, _)) = &ending.closing {
            info!(reason = reason.as_str(), "closing connection");
        }
        let socket = match wire {
            Wire::Direct(socket) => socket,
            Wire::Forwarded(stream) => {
                // The edge closes the client's WebSocket, with this reason if there is one.
                if !ending.abort {
                    let _ = tokio::time::timeout(
                        CLOSE_GRACE,
                        close_forwarded(stream, outbox, ending.closing),
                    )
                    .await;
                }
                outbox.shut();
                return;
            }
        };
        let closed = !ending.abort
            && tokio::time::timeout(
                CLOSE_GRACE,
                Box::pin(close_gracefully(
                    socket,
                    outbox,
                    ending.closing,
                    ending.wire,
                )),
            )
            .await
            .is_ok();
        if !closed {
            // Whatever the kernel still holds for this peer would outlive the connection.
            socket::abort_on_drop(socket);
        }
        outbox.shut();
    }

    /// The longest a write may wait without the socket taking a byte.
    fn stall(&self) -> Duration {
        self.context.config.limits.write_stall()
    }

    async fn on_text(&mut self, text: &str, outbox: &Outbox, session: &mut Session) -> Next {
        if matches!(session, Session::Forwarded { .. }) {
            return self.pass_on(Some(text), session).await;
        }
        let arrived = Instant::now();
        let frame = match self.check_frame(text, outbox) {
            Ok(frame) => frame,
            Err(next) => return next,
        };
        self.errors_in_a_row = 0;
        // Only a frame that parsed gets here, so the kind is one the protocol knows.
        let kind = crate::metrics::request_kind(text);
        let ClientFrame { id, request, .. } = frame;
        match Command::try_from(request) {
            Err(SessionRequest::Ping { client_time_ms }) => {
                let pong = ServerMessage::Ack {
                    id,
                    result: Reply::Pong {
                        client_time_ms,
                        server_time_ms: self.context.clock.now_ms(),
                    },
                };
                let next = self.push_or_close(outbox, &pong);
                crate::metrics::request_answered(kind, arrived);
                next
            }
            Err(SessionRequest::Join {
                group_id,
                credential,
                resume,
            }) => {
                // At an edge, a local join that finds the room run by another node it reaches
                // (it took the lease over meanwhile) is routed once more, and forwarded there.
                let mut reroute = !self.forwarded && self.context.fleet.get().is_some();
                let mut admitted = false;
                loop {
                    if let Some(next) = self.forward_join(group_id, text, outbox, session).await {
                        crate::metrics::request_answered(kind, arrived);
                        return next;
                    }
                    let args = JoinArgs {
                        connection_id: self.id,
                        request_id: id,
                        credential: credential.clone(),
                        resume,
                        outbox: outbox.clone(),
                    };
                    let joined = self
                        .join(group_id, args, outbox, session, reroute, admitted)
                        .await;
                    match joined {
                        Some(next) => {
                            crate::metrics::request_answered(kind, arrived);
                            return next;
                        }
                        None => {
                            reroute = false;
                            admitted = true;
                        }
                    }
                }
            }
            Ok(command) => {
                let timer = crate::metrics::RequestTimer::start(kind, arrived);
                self.forward(id, command, outbox, session, timer).await
            }
        }
    }

    /// Checks a text frame (its size, the rate, its shape) and parses it. A frame that fails is
    /// answered here, and the error says what to do next.
    fn check_frame(&mut self, text: &str, outbox: &Outbox) -> Result<ClientFrame, Next> {
        let limits = &self.context.config.limits;
        if text.len() > limits.frame_bytes_max {
            let message = format!(
                "the frame has {} bytes; at most {} are accepted",
                text.len(),
                limits.frame_bytes_max
            );
            return Err(self.reject(outbox, None, ErrorCode::TooLarge, message));
        }
        if !self.rate.take(Instant::now()) {
            let id = peek_id(text);
            let message = format!(
                "more than {} requests per second; slow down",
                limits.requests_per_second
            );
            // Not a bad frame, only too many: a burst must not count toward the close for bad
            // frames in a row, or a busy page would be locked out.
            crate::metrics::rate_limited("requests_per_second");
            return Err(self.push_or_close(
                outbox,
                &ServerMessage::Error {
                    id,
                    code: ErrorCode::RateLimited,
                    message,
                },
            ));
        }
        parse_frame(text).map_err(|FrameError { id, code, message }| {
            if code == ErrorCode::UnsupportedVersion {
                crate::metrics::rejected(code.as_str());
                let _ = outbox.push_message(&ServerMessage::Error {
                    id,
                    code,
                    message: message.clone(),
                });
                return Next::Close(CloseReason::UnsupportedVersion, message);
            }
            self.reject(outbox, id, code, message)
        })
    }

    /// Joins a room through the registry, once. With `reroute`, a join that finds the room
    /// elsewhere answers `None` (the caller routes it again) instead of refusing;
    /// `admitted`: the join passed the per-address admission already.
    async fn join(
        &mut self,
        group_id: GroupId,
        args: JoinArgs,
        outbox: &Outbox,
        session: &mut Session,
        reroute: bool,
        admitted: bool,
    ) -> Option<Next> {
        let id = args.request_id;
        if matches!(session, Session::Joined { .. }) {
            return Some(self.reject(
                outbox,
                Some(id),
                ErrorCode::AlreadyJoined,
                "this connection has joined already; open another to join elsewhere".into(),
            ));
        }
        if !admitted && let Err(retry_after) = self.context.admit_join(self.admitted.key) {
            let message = format!(
                "more than {} joins a minute from this address; try again in {} s",
                self.context.config.limits.joins_per_address_per_minute,
                retry_after.as_secs().max(1)
            );
            // Not a bad frame (see `check_frame`).
            crate::metrics::rate_limited("joins_per_address");
            return Some(self.push_or_close(
                outbox,
                &ServerMessage::Error {
                    id: Some(id),
                    code: ErrorCode::RateLimited,
                    message,
                },
            ));
        }
        Some(match self.context.rooms.join(group_id, args).await {
            Ok((room, member_id)) => {
                self.admitted.unjoined = None;
                crate::metrics::connection_joined();
                let span = tracing::Span::current();
                span.record("group", field::display(group_id));
                span.record("member", field::display(member_id));
                *session = Session::Joined { room };
                Next::Continue
            }
            Err(error) if self.forwarded && error.code == ErrorCode::RoomElsewhere => {
                // The room moved after the edge looked: the edge closes its client with 1012,
                // and the client's reconnection finds the room where it is now.
                debug!(group = %group_id, "a forwarded join found the room elsewhere");
                let _ = self.reject(outbox, Some(id), error.code, error.message);
                Next::Close(
                    CloseReason::RoomMoved,
                    "the meeting moved to another server; reconnect to resume".into(),
                )
            }
            Err(error) if reroute && error.code == ErrorCode::RoomElsewhere => {
                debug!(group = %group_id, "a join found the room on another node; routing again");
                return None;
            }
            Err(error) => {
                debug!(group = %group_id, code = error.code.as_str(), "join refused");
                self.reject(outbox, Some(id), error.code, error.message)
            }
        })
    }

    /// At the edge: when another node runs (or is to run) the group's room, opens a stream to
    /// it, sends it the join frame as the client sent it, and answers `Some`: from then on
    /// the client's frames go to that node verbatim and its frames come back to the client's
    /// outbox. `None` when the room is served here (it is live here, the fleet is off, or the
    /// other node cannot be reached).
    async fn forward_join(
        &mut self,
        group_id: GroupId,
        text: &str,
        outbox: &Outbox,
        session: &mut Session,
    ) -> Option<Next> {
        if self.forwarded || !matches!(session, Session::Joining { .. }) {
            return None;
        }
        let fleet = self.context.fleet.get()?;
        if self.context.rooms.is_live(group_id) {
            return None;
        }
        let (node, placed) = match fleet.route(group_id).await {
            Route::Local => return None,
            Route::Remote(node) => (node, false),
            Route::Placed(node) => (node, true),
        };
        let stream = fleet
            .open_stream(&node, placed, self.admitted.client, outbox.clone(), text)
            .await?;
        debug!(group = %group_id, "forwarding the connection to the room's node");
        tracing::Span::current().record("group", field::display(group_id));
        // The owner counts the client among its address's unjoined WebSockets now.
        self.admitted.unjoined = None;
        *session = Session::Forwarded { stream };
        Some(Next::Continue)
    }

    /// At the edge: passes one of the client's frames (`None`: a binary one) to the room's
    /// node.
    async fn pass_on(&mut self, text: Option<&str>, session: &Session) -> Next {
        let Session::Forwarded { stream } = session else {
            return Next::Continue;
        };
        let stall = self.stall();
        let sent = match text {
            Some(text) => stream.send_text(text, stall).await,
            None => stream.send_binary(stall).await,
        };
        match sent {
            Ok(()) => Next::Continue,
            Err(()) => Next::Close(
                CloseReason::RoomMoved,
                "the link to the meeting's server broke; reconnect to resume".into(),
            ),
        }
    }

    /// Forwards a command to the room the connection joined.
    async fn forward(
        &mut self,
        id: RequestId,
        command: Command,
        outbox: &Outbox,
        session: &Session,
        timer: crate::metrics::RequestTimer,
    ) -> Next {
        let Session::Joined { room, .. } = session else {
            return self.reject(
                outbox,
                Some(id),
                ErrorCode::NotJoined,
                "join a room first".into(),
            );
        };
        let command = RoomCommand::Request {
            connection_id: self.id,
            request_id: id,
            command: Box::new(crate::metrics::Timed {
                value: command,
                timer,
            }),
        };
        if let Err(error) = room.send(command).await {
            if self.context.rooms.is_draining() {
                // The room is handing itself over to another server: once its lease is free it
                // closes this connection with `draining`, so that the reconnect finds the
                // meeting at once. Closing now, before that, would send the client to a server
                // that must still wait for the lease. Nothing of the request was done.
                return self.push_or_close(
                    outbox,
                    &ServerMessage::Error {
                        id: Some(id),
                        code: ErrorCode::ShuttingDown,
                        message: "this server is handing the meeting to another; reconnecting"
                            .into(),
                    },
                );
            }
            let _ = self.reject(outbox, Some(id), error.code, error.message);
            // A room closes its connections before it stops taking commands, so its reason
            // (the meeting moved, the server shuts down) is waiting here and is the true one.
            if let Some((reason, message)) = outbox.take_close() {
                return Next::Close(reason, message);
            }
            return Next::Close(
                CloseReason::ServerShutdown,
                "the room has closed; reconnect to rejoin".into(),
            );
        }
        Next::Continue
    }

    /// Answers a bad frame with a typed error; too many in a row close the connection.
    fn reject(
        &mut self,
        outbox: &Outbox,
        id: Option<RequestId>,
        code: ErrorCode,
        message: String,
    ) -> Next {
        crate::metrics::rejected(code.as_str());
        self.errors_in_a_row += 1;
        let limit = self.context.config.limits.errors_in_a_row_max;
        if self.errors_in_a_row >= limit {
            return Next::Close(
                CloseReason::PolicyViolation,
                format!("{limit} rejected frames in a row"),
            );
        }
        self.push_or_close(outbox, &ServerMessage::Error { id, code, message })
    }

    fn push_or_close(&self, outbox: &Outbox, message: &ServerMessage) -> Next {
        match outbox.push_message(message) {
            Ok(()) | Err(QueueError::Closed) => Next::Continue,
            Err(QueueError::Full) => Next::Close(
                CloseReason::SlowConsumer,
                "you fell too far behind; reconnect to resume".into(),
            ),
        }
    }
}

/// Writes a frame the outbox gave, with what is queued behind it; `Some` when the connection
/// ends: its close was requested, or the socket broke.
async fn write_queued(
    wire: &mut Wire,
    outbox: &Outbox,
    item: OutboxItem,
    stall: Duration,
) -> Option<Ending> {
    match item {
        OutboxItem::Close((reason, message)) => Some(Ending::closing(reason, message)),
        OutboxItem::Frame(frame) => {
            if let Err(error) = wire.write_frames(frame, outbox, stall).await {
                return Some(Ending::write_failed(&error));
            }
            outbox.release();
            None
        }
    }
}

/// Ends a forwarded connection: when the server chose to close, passes on what is still
/// queued and then the close's reason, which the edge turns into the `closing` message and
/// the close frame; else only tells the edge the stream ended.
async fn close_forwarded(stream: &ForwardedStream, outbox: &Outbox, closing: Option<CloseRequest>) {
    match closing {
        Some((reason, message)) => {
            while let Some(frame) = outbox.try_next() {
                if stream.send(&frame, CLOSE_GRACE).await.is_err() {
                    return;
                }
            }
            stream.close(Some((reason, &message)), CLOSE_GRACE).await;
        }
        None => stream.close(None, CLOSE_GRACE).await,
    }
}

/// Ends a connection. When the server chose to close, it writes what is still queued, the
/// `closing` message saying why and a close frame with the reason's code (or `wire`'s, for a
/// frame that broke the protocol), then reads and drops whatever the client still sends until
/// it answers the close: dropping a socket with unread input would reset the connection, and
/// the reset can destroy the reason before the client reads it. When the client left or the
/// connection broke, it only finishes a frame the socket took part of (so that the close frame
/// does not land inside it) and answers the client's close frame (tungstenite has queued the
/// answer: the client's own code, or 1002 for a code no endpoint may send) or sends an empty
/// one; then the server closes the TCP connection, first, as RFC 6455 asks of a server.
async fn close_gracefully(
    socket: &mut Socket,
    outbox: &Outbox,
    closing: Option<CloseRequest>,
    wire: Option<(CloseCode, &'static str)>,
) {
    let Some((reason, message)) = closing else {
        if let Some(rest) = outbox.take_unfinished()
            && socket::write_frames(socket, rest, || None, CLOSE_GRACE)
                .await
                .is_err()
        {
            return;
        }
        let _ = SinkExt::<Message>::close(socket).await;
        return;
    };
    let mut closing_frame = Some(encode(&ServerMessage::Closing { reason, message }));
    while let Some(first) = outbox.try_next().or_else(|| closing_frame.take()) {
        let more = || outbox.try_next().or_else(|| closing_frame.take());
        if socket::write_frames(socket, first, more, CLOSE_GRACE)
            .await
            .is_err()
        {
            return;
        }
    }
    let (code, text) = wire.unwrap_or((CloseCode::from(reason.close_code()), reason.as_str()));
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(text),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    while let Some(Ok(_)) = socket.next().await {}
    if wire.is_some() {
        // After a frame that broke the protocol tungstenite reads no more: what the client
        // still sends is drained here, for the same reason, until it closes in turn.
        let io = socket.get_mut();
        let _ = tokio::io::AsyncWriteExt::shutdown(io).await;
        let mut drained = [0; 256];
        while let Ok(1..) = tokio::io::AsyncReadExt::read(io, &mut drained).await {}
    }
}
