//! One WebSocket connection: reads frames, checks them (size, rate, shape), answers pings,
//! joins a room and forwards requests to it, and writes whatever is queued in its outbox.
//!
//! The task owns both halves of the socket. Queued frames are written before the next input
//! is read, so a client that does not read gets no more service, and a full outbox closes the
//! connection with `slow_consumer` instead of growing without bound. Every write the task
//! waits on (queued frames, a pong, the close) fails once the socket has taken no byte for
//! `--write-stall-seconds`: the connection is then reset and released, whatever it was doing.
//!
//! How a connection ends and closes is in [`closing`]; the edge's forwarding of a client to
//! the node that runs its room, in [`forward`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use roundtable_protocol::{
    ClientFrame, CloseReason, Credential, ErrorCode, GroupId, Hello, LimitsInfo, PROTOCOL_VERSION,
    PresenceReason, Reply, RequestId, ResumePoint, ServerMessage,
};
use roundtable_rules::{Command, SessionRequest};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, field, info_span};

use super::frame::WireFrame;
use super::outbox::{Outbox, OutboxItem, QueueError, Urgency};
use super::parse::{FrameError, parse_frame, peek_id};
use super::rate_limit::TokenBucket;
use super::socket::{self, Socket};
use crate::app::{AdmittedWebSocket, App};
use crate::clock::sleep_until_or_never;
use crate::fleet::link::{EdgeStream, ForwardedStream, Inbound};
use crate::fleet::spread::{ClientPlace, released};
use crate::room::ConnectionId;
use crate::room::registry::{JoinArgs, RoomHandle};

mod closing;
mod forward;

use closing::Ending;

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// Serves one upgraded WebSocket until it closes. `upgrade_response` is the response to a
/// direct upgrade (see [`super::upgrade::upgrade_directly`]), still to be written; `None` when hyper wrote it.
pub fn serve(
    socket: Box<Socket>,
    context: Arc<App>,
    upgrade_response: Option<WireFrame>,
    admitted: AdmittedWebSocket,
) -> impl Future<Output = ()> + Send {
    serve_wire(Wire::Direct(socket), context, upgrade_response, admitted)
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
    serve_wire(Wire::Forwarded(stream), context, None, admitted)
}

/// Serves a connection on `wire` until it ends.
///
/// Not an `async fn`: an async fn keeps its arguments twice for its whole life (as passed and
/// as moved into its body), in every idle connection's task. The set-up runs here, and the
/// future holds only what the connection needs from then on (BENCHMARKS.md, memory).
fn serve_wire(
    wire: Wire,
    context: Arc<App>,
    upgrade_response: Option<WireFrame>,
    admitted: AdmittedWebSocket,
) -> impl Future<Output = ()> + Send {
    let connection_id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
    let forwarded = matches!(wire, Wire::Forwarded(_));
    let span = info_span!(
        "connection",
        id = connection_id,
        forwarded = field::Empty,
        group = field::Empty,
        member = field::Empty
    );
    if forwarded {
        span.record("forwarded", true);
    }
    Connection::new(connection_id, context, admitted, forwarded)
        .run(wire, upgrade_response)
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
    /// Joined to a room. In a fleet it keeps what joining the client again takes, should
    /// its room be handed to another node while the client stays (see [`forward`]).
    Joined {
        room: RoomHandle,
        rejoin: Option<Box<forward::Rejoin>>,
    },
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
    /// At an edge, while it joins the client again: what it knows of the client.
    rejoining: Option<Arc<crate::fleet::link::Attachment>>,
    /// At an edge, since when and how often the client was joined again (see
    /// [`forward::REATTACHES_MAX`]).
    reattaches: Option<(Instant, u8)>,
    /// At an edge, since when the client is forwarded to its room's node (its join, or the
    /// last join made again): a drain's release spreads the clients forwarded late.
    forwarded_since: Option<tokio::time::Instant>,
}

/// A join the connection makes: the client's, or one an edge makes again for it.
struct JoinRequest<'a> {
    id: RequestId,
    group_id: GroupId,
    credential: Credential,
    resume: Option<ResumePoint>,
    /// The frame as it goes to another node.
    text: &'a str,
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
            rejoining: None,
            reattaches: None,
            forwarded_since: None,
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
        let own = (!self.forwarded).then(|| self.context.clients.token());
        // In a fleet, the spread may let a client of this node itself go.
        let place = self
            .context
            .fleet
            .get()
            .filter(|_| !self.forwarded)
            .map(|fleet| fleet.clients.enter(self.id));
        async move {
            crate::metrics::connection_opened();
            let mut ending = self
                .serve_frames(&mut wire, &outbox, &mut session, &shutdown, place.as_ref())
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
            drop(own);
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
        place: Option<&ClientPlace>,
    ) -> Ending {
        let read_wake = socket::ReadWake::new();
        let mut settled = false;
        loop {
            let join_deadline = match &session {
                Session::Joining { deadline } => Some(*deadline),
                Session::Joined { .. } | Session::Forwarded { .. } => None,
            };
            // In a room (or forwarded to one): from now on the spread may let it go.
            if !settled && join_deadline.is_none() {
                place.inspect(|place| place.settle());
                settled = true;
            }
            // A joined connection is closed by its room at shutdown; the others close here.
            let in_no_room = !matches!(session, Session::Joined { .. });
            // A client forwarded from here to a room on another node is let go once this
            // node's own rooms are handed over in a drain, at its moment of the release
            // window: its room stays where it is, so it misses nothing meanwhile, and its
            // reconnection competes neither with the handover, which is what everyone else
            // waits for, nor with the other clients' (see ARCHITECTURE.md, "Drain").
            let attachment = match &session {
                Session::Forwarded { stream } => Some(Arc::clone(stream.attachment())),
                _ => None,
            };
            let forwarded_from_here = attachment.is_some();
            // In a drain, a client joined here follows its room to the node it is handed to.
            let follows = matches!(
                session,
                Session::Joined {
                    rejoin: Some(_),
                    ..
                }
            );
            let ending = tokio::select! {
                biased;
                item = outbox.next() => match item {
                    OutboxItem::Close((CloseReason::Draining, message)) if follows => {
                        self.follow_room(outbox, session, message).await
                    }
                    item => closing::write_queued(wire, outbox, item, self.stall()).await,
                },
                // After what the old owner sent, which the outbox writes first.
                () = forward::wait_moved(attachment.as_deref()), if attachment.is_some() => {
                    self.reattach(outbox, session).await
                }
                () = forward::released(self.context.rooms.fleet(), self.id, self.forwarded_since, attachment.as_deref()), if forwarded_from_here => {
                    Some(Ending::closing(
                        CloseReason::Draining,
                        "this server is restarting; reconnect to resume".into(),
                    ))
                }
                // Once joined: the spread lets it go, to reconnect to a less loaded node.
                () = released(place, attachment.as_deref()), if place.is_some() && join_deadline.is_none() => {
                    Some(Ending::closing(
                        CloseReason::Draining,
                        "this server hands some of its clients to others; reconnect to resume".into(),
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
                let join = JoinRequest {
                    id,
                    group_id,
                    credential,
                    resume,
                    text,
                };
                let next = self.join_here_or_there(join, outbox, session).await;
                crate::metrics::request_answered(kind, arrived);
                next
            }
            Ok(command) => {
                let timer = crate::metrics::RequestTimer::start(kind, arrived);
                self.forward(id, command, outbox, session, timer).await
            }
        }
    }

    /// Joins the client to its room: forwarded to the node that runs it, or here.
    async fn join_here_or_there(
        &mut self,
        join: JoinRequest<'_>,
        outbox: &Outbox,
        session: &mut Session,
    ) -> Next {
        // At an edge, a local join that finds the room run by another node it reaches (it
        // took the lease over meanwhile) is routed once more, and forwarded there.
        let mut reroute = !self.forwarded && self.context.fleet.get().is_some();
        let mut admitted = false;
        loop {
            if let Some(next) = self.forward_join(&join, outbox, session).await {
                return next;
            }
            let args = JoinArgs {
                connection_id: self.id,
                request_id: join.id,
                credential: join.credential.clone(),
                resume: join.resume,
                outbox: outbox.clone(),
            };
            let joined = self
                .join(join.group_id, args, outbox, session, reroute, admitted)
                .await;
            match joined {
                Some(next) => return next,
                None => {
                    reroute = false;
                    admitted = true;
                }
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
        // A join an edge makes again for its client is not the client's: it is not counted
        // against the address's joins (its reconnection would have been). Made here, or sent
        // by the edge on a stream opened for it (only that stream's first join).
        let made_again =
            self.rejoining.is_some() || !std::mem::replace(&mut self.admitted.join_counts, true);
        if !admitted
            && !made_again
            && let Err(retry_after) = self.context.admit_join(self.admitted.key)
        {
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
        // In a fleet, the member token to join the client again with, should its room be
        // handed over while it stays: the credential's, or the one the join issues. (A client
        // forwarded here is its edge's to join again.)
        let fleet_token = if !self.forwarded && self.context.fleet.get().is_some() {
            Some(crate::fleet::link::member_token(&args.credential))
        } else {
            None
        };
        Some(match self.context.rooms.join(group_id, args).await {
            Ok((room, admitted)) => {
                let member_id = admitted.member_id;
                let rejoin = fleet_token.and_then(|token| {
                    let token = admitted.issued_token.or(token)?;
                    Some(Box::new(forward::Rejoin {
                        group_id,
                        join_id: id,
                        token: token.into_boxed_str(),
                    }))
                });
                self.admitted.unjoined = None;
                crate::metrics::connection_joined();
                let span = tracing::Span::current();
                span.record("group", field::display(group_id));
                span.record("member", field::display(member_id));
                *session = Session::Joined { room, rejoin };
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
            Err(error) if self.rejoining.is_some() => {
                // A join the edge made again: the client never asked for it, so the refusal
                // is not its answer; the client is closed to reconnect and meets it then.
                debug!(group = %group_id, code = error.code.as_str(), "a join made again refused");
                Next::Continue
            }
            Err(error) => {
                debug!(group = %group_id, code = error.code.as_str(), "join refused");
                self.reject(outbox, Some(id), error.code, error.message)
            }
        })
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
