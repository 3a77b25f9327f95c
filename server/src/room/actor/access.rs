//! Links and sessions, for facilitators: make a link anew (the room draws the new secret, and
//! only the asking facilitator's ack carries it; the log keeps its hash), list the members'
//! sessions with the connections each has open, and revoke a session (its connections close
//! with `session_revoked`, and its token is refused from then on). The room also notes when
//! each session was last seen, as its connections come and go.

use super::*;

use roundtable_protocol::{LinkKind, SessionId};
use roundtable_rules::AccessCommand;
use roundtable_rules::access;

impl RoomActor {
    /// A facilitator's request about the links or the sessions, from `connection_id`.
    pub(super) async fn access_request(
        &mut self,
        connection_id: ConnectionId,
        member_id: MemberId,
        command: AccessCommand,
    ) -> Result<Reply, RoomError> {
        let role = self.state.roster().require_member_role(member_id)?;
        match command {
            AccessCommand::RotateLink { link } => {
                let (secret, secret_hash) = new_secret();
                let events =
                    access::decide_rotate_link(&self.state.access, role, link, secret_hash)?;
                self.record(events).await?;
                let version = self.state.access.version(link);
                // Which link and its version only: never the secret.
                info!(group = %self.group_id(), member = %member_id, ?link, version, "link made anew");
                Ok(Reply::LinkRotated {
                    link,
                    version,
                    url: self.link_url(link, &secret),
                })
            }
            AccessCommand::ListSessions => {
                let sessions = access::sessions_view(
                    &self.state.access,
                    role,
                    |member, session| self.connections_of(member, session),
                    self.now_ms,
                )?;
                Ok(Reply::Sessions { sessions })
            }
            AccessCommand::RevokeSession {
                member_id: target,
                session_id,
            } => {
                let by_session = self
                    .subscribers
                    .get(&connection_id)
                    .map(|subscriber| subscriber.session_id)
                    .unwrap_or_default();
                let events = access::decide_revoke_session(
                    &self.state.access,
                    self.state.roster(),
                    role,
                    by_session,
                    target,
                    session_id,
                )?;
                self.record(events).await?;
                info!(group = %self.group_id(), member = %member_id, revoked_of = %target, session = session_id, "session revoked");
                Ok(Reply::Done)
            }
        }
    }

    /// The link a member opens: the group's page with the secret in the fragment, which
    /// browsers never send to a server.
    fn link_url(&self, link: LinkKind, secret: &str) -> String {
        let kind = match link {
            LinkKind::Invite => "invite",
            LinkKind::Facilitator => "facilitator",
        };
        format!(
            "{}/g/{}#{kind}={secret}",
            self.context.public_base,
            self.group_id()
        )
    }

    /// How many of the room's connections use the session.
    fn connections_of(&self, member_id: MemberId, session_id: SessionId) -> u32 {
        self.subscribers
            .values()
            .filter(|subscriber| {
                subscriber.member_id == member_id && subscriber.session_id == session_id
            })
            .count() as u32
    }

    /// Closes the connections of sessions that `events` revoked; true when it closed any.
    pub(super) fn close_revoked(&mut self, events: &[RoomEvent]) -> bool {
        let revoked: Vec<(MemberId, SessionId)> = events
            .iter()
            .filter_map(|event| match event {
                RoomEvent::SessionRevoked {
                    member_id,
                    session_id,
                } => Some((*member_id, *session_id)),
                _ => None,
            })
            .collect();
        if revoked.is_empty() {
            return false;
        }
        let before = self.subscribers.len();
        self.subscribers.retain(|_, subscriber| {
            let gone = revoked.contains(&(subscriber.member_id, subscriber.session_id));
            if gone {
                subscriber.outbox.close(
                    CloseReason::SessionRevoked,
                    "a facilitator ended this device's session; join again through the group's \
                     invite link",
                );
            }
            !gone
        });
        self.subscribers.len() != before
    }

    /// Notes that a connection of `subscriber`'s session joined or left now.
    pub(super) fn seen(&mut self, member_id: MemberId, session_id: SessionId) {
        self.state.session_seen(member_id, session_id, self.now_ms);
        self.seen_since_snapshot = true;
    }
}
