//! A connection at the edge of a fleet: its join forwarded to the node that runs the room,
//! and from then on its frames passed to that node verbatim (see [`crate::fleet`]).

use roundtable_protocol::{CloseReason, ErrorCode, GroupId, RequestId, ServerMessage};
use roundtable_rules::Command;
use tracing::{debug, field};

use super::{Connection, Next, Session};
use crate::fleet::Route;
use crate::room::actor::RoomCommand;
use crate::transport::outbox::Outbox;

impl Connection {
    /// At the edge: when another node runs (or is to run) the group's room, opens a stream to
    /// it, sends it the join frame as the client sent it, and answers `Some`: from then on
    /// the client's frames go to that node verbatim and its frames come back to the client's
    /// outbox. `None` when the room is served here (it is live here, the fleet is off, or the
    /// other node cannot be reached).
    pub(super) async fn forward_join(
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
}
