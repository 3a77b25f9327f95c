//! How a connection ends: why ([`Ending`]), and the close itself, on a WebSocket of its own
//! ([`close_gracefully`]) or on a link's stream to the edge ([`close_forwarded`]).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use roundtable_protocol::{CloseReason, PresenceReason, ServerMessage};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tracing::info;

use super::{Connection, Session, Wire};
use crate::fleet::link::ForwardedStream;
use crate::room::actor::RoomCommand;
use crate::transport::frame::encode;
use crate::transport::outbox::{CloseRequest, Outbox, OutboxItem};
use crate::transport::socket::{self, Socket};

/// The longest a closing connection spends on its last frames and the closing handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How a connection's loop ended: what to tell the room, and the close to send when the server
/// chose to close.
pub(super) struct Ending {
    pub(super) presence: PresenceReason,
    pub(super) closing: Option<CloseRequest>,
    /// The close frame's code and reason text, when they are not the closing reason's own: a
    /// frame that broke the WebSocket protocol itself (see [`Ending::broken_frame`]).
    pub(super) wire: Option<(CloseCode, &'static str)>,
    /// The peer stopped taking what is written: nothing more is tried, the connection is reset.
    pub(super) abort: bool,
}

impl Ending {
    /// The connection broke, or its client went without a close frame.
    pub(super) fn lost() -> Ending {
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
    pub(super) fn broken_frame(error: &tungstenite::Error, hard_max: usize) -> Option<Ending> {
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
    pub(super) fn write_failed(error: &std::io::Error) -> Ending {
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
    pub(super) fn metric_reason(&self) -> &'static str {
        match (&self.closing, self.presence) {
            (Some((reason, _)), _) => reason.as_str(),
            (None, PresenceReason::Left) => "client_closed",
            (None, _) => "connection_lost",
        }
    }

    /// The server closes the connection, for `reason`.
    pub(super) fn closing(reason: CloseReason, message: String) -> Ending {
        Ending {
            presence: PresenceReason::ConnectionLost,
            closing: Some((reason, message)),
            wire: None,
            abort: false,
        }
    }
}

impl Connection {
    /// Ends the connection: tells the room the member left, and closes (see
    /// [`close_gracefully`]). From here on the connection's task alone writes (the close, and
    /// what comes before it), so the room's frames only queue.
    pub(super) async fn finish(
        &self,
        wire: &mut Wire,
        outbox: &Outbox,
        session: &Session,
        ending: Ending,
    ) {
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

/// Writes a frame the outbox gave, with what is queued behind it; `Some` when the connection
/// ends: its close was requested, or the socket broke. What a close keeps (a drain's place,
/// see `Outbox::close_keeping`) is let go at once: a connection closing here does not follow
/// its room, and it is not for its closing handshake to hold.
pub(super) async fn write_queued(
    wire: &mut Wire,
    outbox: &Outbox,
    item: OutboxItem,
    stall: Duration,
) -> Option<Ending> {
    match item {
        OutboxItem::Close((reason, message)) => {
            drop(outbox.take_keep());
            Some(Ending::closing(reason, message))
        }
        OutboxItem::Frame(frame) => {
            if let Err(error) = wire.write_frames(frame, outbox, stall).await {
                return Some(Ending::write_failed(&error));
            }
            outbox.release();
            None
        }
    }
}
