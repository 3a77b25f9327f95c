//! A connection at the edge of a fleet: its join forwarded to the node that runs the room,
//! and from then on its frames passed to that node verbatim (see [`crate::fleet`]).
//!
//! **Re-attach.** When the room goes away from the node the client is forwarded to (that node
//! closes the stream because it lost the room, shuts down or drains, or the link to it
//! breaks: it died), the edge joins the client again wherever the room runs now, over the
//! connection the client has, as the client's own reconnection would: with the member token
//! (the credential's, or the one the first join's ack issued) and the client's resume point as
//! the edge knows it from the frames it passed on (see `fleet::link::attachment`). The client
//! gets the join's ack again, under its join's id and with the new log epoch, then the events
//! it missed (the new room holds the log epoch it was in) or, when the point is not known or
//! not held, a snapshot; each request that was under way gets `connection_lost` (it may or may
//! not have been done: what follows says). The client's TCP connection, WebSocket and hello are kept, and a
//! browser shows no reconnection. The edge closes the client as before (1012, `room_moved` or
//! `draining`) when it cannot: the client's join was refused, or is still under way with an
//! invite or the facilitator secret (a join under way with only a member token, a
//! reconnection's resume, is sent again as it was: it creates nothing twice), the join made
//! again is refused, or the client's room moved
//! [`REATTACHES_MAX`] times within [`REATTACH_WINDOW`].
//!
//! **A drain's own clients.** In a fleet, a client joined to a room on this node is joined
//! again the same way when this node drains and hands the room over
//! ([`Connection::follow_room`]): the connection keeps the member token from its join for it.
//! A draining node's clients, forwarded by now, are let go later, a few at a time (see
//! `room::fleet`, "release").

use std::sync::Arc;
use std::time::{Duration, Instant};

use roundtable_protocol::{
    ClientFrame, CloseReason, Credential, ErrorCode, GroupId, RequestId, ServerMessage,
};
use roundtable_rules::Command;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{debug, field};

use super::closing::Ending;
use super::{Connection, JoinRequest, Next, Session};
use crate::fleet::Route;
use crate::fleet::link::{Attachment, JoinAgain};
use crate::room::ConnectionId;
use crate::room::actor::RoomCommand;
use crate::transport::outbox::Outbox;

/// The most times one client is joined again within [`REATTACH_WINDOW`]; past that its
/// room keeps moving, and the client is closed to reconnect (with its own backoff).
pub(super) const REATTACHES_MAX: u8 = 3;
pub(super) const REATTACH_WINDOW: Duration = Duration::from_secs(60);

/// What a connection joined to a room here keeps to join its client again elsewhere: the
/// group, its join's id and the member token (a credential: never logged).
pub(super) struct Rejoin {
    pub(super) group_id: GroupId,
    pub(super) join_id: RequestId,
    pub(super) token: Box<str>,
}

impl Connection {
    /// At the edge: when another node runs (or is to run) the group's room, opens a stream to
    /// it, sends it the join frame as the client sent it, and answers `Some`: from then on
    /// the client's frames go to that node verbatim and its frames come back to the client's
    /// outbox. `None` when the room is served here (it is live here, the fleet is off, or
    /// routing names this node). A forward that fails is routed once more, passing the node
    /// that failed over; `None` also when that fails too.
    pub(super) async fn forward_join(
        &mut self,
        join: &JoinRequest<'_>,
        outbox: &Outbox,
        session: &mut Session,
    ) -> Option<Next> {
        let group_id = join.group_id;
        if self.forwarded || !matches!(session, Session::Joining { .. }) {
            return None;
        }
        let fleet = self.context.fleet.get()?;
        if self.context.rooms.is_live(group_id) {
            return None;
        }
        // A join made again keeps what the edge knows of the client.
        let attachment = self.rejoining.clone().unwrap_or_else(|| {
            Arc::new(Attachment::new(
                group_id,
                join.id,
                &join.credential,
                join.resume,
            ))
        });
        let client = self.admitted.client;
        let mut failed: Option<String> = None;
        let stream = loop {
            let (node, placed) = match fleet.route(group_id).await {
                Route::Local => return None,
                Route::Remote(node) => (node, false),
                Route::Placed(node) => (node, true),
            };
            if failed.as_ref().is_some_and(|failed| *failed == node.id) {
                return None;
            }
            let opened = fleet
                .open_stream(
                    &node,
                    placed,
                    client,
                    outbox.clone(),
                    Arc::clone(&attachment),
                    join.text,
                )
                .await;
            match opened {
                Some(stream) => break stream,
                // The node could not be reached (or drains): the failure marked it, so a
                // second route passes it over. A holder killed a moment ago, which this node
                // had not yet found unreachable, is the usual case: its room then goes where
                // placement names it, not to this edge. Once only: a second failure, or the
                // same node named again, serves the room here.
                None if failed.is_none() => {
                    debug!(node = %node.id, group = %group_id, "a forward failed; routing the join again");
                    failed = Some(node.id);
                }
                None => return None,
            }
        };
        debug!(group = %group_id, "forwarding the connection to the room's node");
        tracing::Span::current().record("group", field::display(group_id));
        // The owner counts the client among its address's unjoined WebSockets now.
        self.admitted.unjoined = None;
        self.forwarded_since = Some(tokio::time::Instant::now());
        *session = Session::Forwarded { stream };
        Some(Next::Continue)
    }

    /// At the edge: passes one of the client's frames (`None`: a binary one) to the room's
    /// node.
    pub(super) async fn pass_on(&mut self, text: Option<&str>, session: &Session) -> Next {
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
            // The link broke under it: its reader tells the client's connection at once, which
            // joins the client again where the room goes; this frame's request is among those
            // under way, answered `connection_lost` then.
            Err(()) if stream.link_broken() => Next::Continue,
            Err(()) => Next::Close(
                CloseReason::RoomMoved,
                "the link to the meeting's server broke; reconnect to resume".into(),
            ),
        }
    }

    /// Forwards a command to the room the connection joined.
    pub(super) async fn forward(
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
            let rooms = &self.context.rooms;
            if rooms.is_draining() || rooms.fleet().moved_recently(room.group_id()) {
                // The room is handing itself over to another server (a drain, or a move):
                // once its lease is free it
                // says so with `draining`, and the client is joined again there (in a fleet)
                // or reconnects, and finds the meeting at once. Closing now, before that, would
                // send the client to a server that must still wait for the lease. Nothing of
                // the request was done.
                return self.push_or_close(
                    outbox,
                    &ServerMessage::Error {
                        id: Some(id),
                        code: ErrorCode::ShuttingDown,
                        message: "this server is handing the meeting to another; try again in \
                                  a moment"
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
}

impl Connection {
    /// At the edge: the room went away from the node the client is forwarded to. Joins the
    /// client again where the room runs now (see the module's "Re-attach"); `Some` when the
    /// client is closed instead.
    pub(super) async fn reattach(
        &mut self,
        outbox: &Outbox,
        session: &mut Session,
    ) -> Option<Ending> {
        let Session::Forwarded { stream } = session else {
            return None;
        };
        let attachment = Arc::clone(stream.attachment());
        let (reason, message) = attachment.take_moved()?;
        self.join_again(outbox, session, &attachment, reason, message)
            .await
    }

    /// In a drain: the room the client joined here was handed to another node and closes the
    /// client with `draining`. Joins the client again where the room went, as
    /// [`Connection::reattach`] does; `Some` when the client is closed instead.
    pub(super) async fn follow_room(
        &mut self,
        outbox: &Outbox,
        session: &mut Session,
        message: String,
    ) -> Option<Ending> {
        let Session::Joined {
            rejoin: Some(rejoin),
            ..
        } = session
        else {
            return Some(moved_ending(CloseReason::Draining, message));
        };
        // The room's place among a drain's handovers, held until this join made again is
        // answered (see `room::fleet`, "pace").
        let attachment = Arc::new(Attachment::joined(
            rejoin.group_id,
            rejoin.join_id,
            rejoin.token.to_string(),
            outbox.take_keep(),
        ));
        // The room's close is not acted on: a later one (the release's) must count.
        outbox.rearm_close();
        self.join_again(outbox, session, &attachment, CloseReason::Draining, message)
            .await
    }

    /// Joins the client, whose room went away for `reason`, again where the room runs now,
    /// with what `attachment` knows of it; `Some` when it is closed instead.
    async fn join_again(
        &mut self,
        outbox: &Outbox,
        session: &mut Session,
        attachment: &Arc<Attachment>,
        reason: CloseReason,
        message: String,
    ) -> Option<Ending> {
        let closing = || {
            crate::metrics::forwarding::reattached("closed");
            Some(moved_ending(reason, message.clone()))
        };
        if !self.may_reattach() {
            return closing();
        }
        let Some(JoinAgain {
            token,
            unanswered,
            resume,
        }) = attachment.rejoin()
        else {
            return closing();
        };
        for id in unanswered {
            let lost = ServerMessage::Error {
                id: Some(id),
                code: ErrorCode::ConnectionLost,
                message: "the meeting's server went away before answering; it may or may not \
                          have been done: the meeting as it is now follows"
                    .into(),
            };
            if let Next::Close(reason, message) = self.push_or_close(outbox, &lost) {
                return Some(Ending::closing(reason, message));
            }
        }
        let credential = Credential::MemberToken { token };
        let request = roundtable_protocol::Request::Join {
            group_id: attachment.group_id(),
            credential: credential.clone(),
            resume,
        };
        let text = ClientFrame::new(attachment.join_id(), request).to_json();
        let join = JoinRequest {
            id: attachment.join_id(),
            group_id: attachment.group_id(),
            credential,
            resume,
            text: &text,
        };
        debug!(group = %join.group_id, why = reason.as_str(), "the room moved; joining the client again");
        // The old stream goes now: its node hears that the client left it. (A room here has
        // closed the client already: it is counted among the connections joined no more.)
        if matches!(session, Session::Joined { .. }) {
            crate::metrics::connection_left_room();
        }
        *session = Session::Joining {
            deadline: tokio::time::Instant::now() + self.context.config.limits.join_timeout(),
        };
        self.rejoining = Some(Arc::clone(attachment));
        let next = Box::pin(self.join_here_or_there(join, outbox, session)).await;
        self.rejoining = None;
        match (next, &*session) {
            (Next::Close(reason, message), _) => Some(Ending::closing(reason, message)),
            (Next::Continue, Session::Joining { .. }) => {
                // Refused here (the refusal is not the client's answer, and is dropped): its
                // reconnection meets the refusal, or the room, wherever it is by then. The
                // close says why the room went (it moved, or its node drains).
                closing()
            }
            (Next::Continue, Session::Forwarded { .. }) => {
                crate::metrics::forwarding::reattached("forwarded");
                None
            }
            (Next::Continue, Session::Joined { .. }) => {
                crate::metrics::forwarding::reattached("here");
                attachment.rejoined_here();
                None
            }
        }
    }

    /// Whether the client may be joined again now: at most [`REATTACHES_MAX`] times within
    /// [`REATTACH_WINDOW`].
    fn may_reattach(&mut self) -> bool {
        let now = Instant::now();
        let (since, count) = match self.reattaches {
            Some((since, count)) if now.duration_since(since) < REATTACH_WINDOW => (since, count),
            _ => (now, 0),
        };
        if count >= REATTACHES_MAX {
            return false;
        }
        self.reattaches = Some((since, count + 1));
        true
    }
}

/// The close of a client whose room went away and that is not joined again: 1012 (service
/// restart), so that it reconnects at once.
fn moved_ending(reason: CloseReason, message: String) -> Ending {
    let mut ending = Ending::closing(reason, message);
    ending.wire = Some((CloseCode::Restart, reason.as_str()));
    ending
}

/// Waits until a drain lets the client of connection `id` go (see [`crate::room::fleet`],
/// "release"), and its join (one made again in the drain, say) has its answer, which the
/// client would otherwise miss: for the answer, at most [`SETTLE_WAIT`].
pub(super) async fn released(
    fleet: &crate::room::fleet::Fleet,
    id: ConnectionId,
    since: Option<tokio::time::Instant>,
    attachment: Option<&crate::fleet::link::Attachment>,
) {
    let moment = fleet.release_turn(id, since).await;
    let Some(attachment) = attachment else {
        return;
    };
    // From the moment, not from this call: the wait is made anew each time the
    // connection's loop turns, and a busy client must not put the release off.
    let deadline = moment + SETTLE_WAIT;
    while !attachment.settled() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The longest a client let go in a drain waits for the answer to its join.
const SETTLE_WAIT: Duration = Duration::from_secs(2);

/// Waits until the room of a forwarded client went away (never without one).
pub(super) async fn wait_moved(attachment: Option<&crate::fleet::link::Attachment>) {
    match attachment {
        Some(attachment) => attachment.wait_moved().await,
        None => std::future::pending().await,
    }
}
