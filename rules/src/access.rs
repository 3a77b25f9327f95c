//! Who may come in: the version of each of the group's two links, and each member's sessions
//! (one member token each, a device that joined), with the facilitators' controls over them:
//! make a link anew (the old secret is refused from then on), list the sessions, revoke one (a
//! lost laptop).
//!
//! Secrets and tokens are kept as hashes only ([`crate::secret`]), so the room can check a link
//! or a token but never show one again: a new link's secret exists only in the answer to the
//! facilitator who asked for it. A member has one session per token the server issued them:
//! the one of their first join, and one more each time they come back through a link after
//! every session of theirs was revoked (see [`crate::membership`]). Revoking a session ends that
//! token only; the member and everything of theirs stay.

use roundtable_protocol::{self as wire, ErrorCode, LinkKind, MemberId, Role, SessionId, UnixMs};

use crate::error::RoomError;
use crate::event::RoomEvent;
use crate::roster::{Roster, require_facilitator};
use crate::secret::SecretHash;

/// One member token the server issued, and what the room knows of its use.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub member_id: MemberId,
    pub session_id: SessionId,
    pub token_hash: SecretHash,
    pub started_at_ms: UnixMs,
    /// When a connection of the session last joined or left this room. Not an event: the
    /// room sets it as connections come and go (`RoomState::session_seen`) and it is kept
    /// with the room's snapshots, so a crash may lose the last few.
    pub last_seen_ms: UnixMs,
}

/// The links' versions and the members' sessions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Access {
    /// How many times each link was made anew.
    pub links: wire::LinkVersions,
    /// Every session that admits its member, in the order they began.
    pub sessions: Vec<Session>,
}

/// A session's number: the first four bytes of its token's hash. It depends on the token alone,
/// so a room loaded from any snapshot and log numbers its sessions the same way, and a number
/// is as unlikely to come back as a token (a stale revoke cannot hit a newer session).
pub fn session_id_of(token_hash: SecretHash) -> SessionId {
    let [a, b, c, d, ..] = token_hash.0;
    u32::from_be_bytes([a, b, c, d])
}

impl Access {
    /// The session whose token hashes to `hash`.
    pub fn by_token(&self, hash: SecretHash) -> Option<&Session> {
        self.sessions
            .iter()
            .find(|session| session.token_hash == hash)
    }

    pub fn session(&self, member_id: MemberId, session_id: SessionId) -> Option<&Session> {
        self.sessions
            .iter()
            .find(|session| session.member_id == member_id && session.session_id == session_id)
    }

    /// Whether `member_id` has a session left.
    pub fn has_session(&self, member_id: MemberId) -> bool {
        self.sessions
            .iter()
            .any(|session| session.member_id == member_id)
    }

    /// The current version of `link`.
    pub fn version(&self, link: LinkKind) -> u32 {
        match link {
            LinkKind::Invite => self.links.invite,
            LinkKind::Facilitator => self.links.facilitator,
        }
    }

    /// Folds a session's beginning.
    pub(crate) fn begin(
        &mut self,
        member_id: MemberId,
        session_id: SessionId,
        token_hash: SecretHash,
        at_ms: UnixMs,
    ) {
        let taken = self
            .sessions
            .iter()
            .any(|session| session.token_hash == token_hash || session.session_id == session_id);
        if !taken {
            self.sessions.push(Session {
                member_id,
                session_id,
                token_hash,
                started_at_ms: at_ms,
                last_seen_ms: at_ms,
            });
        }
    }

    pub(crate) fn revoke(&mut self, member_id: MemberId, session_id: SessionId) {
        self.sessions.retain(|session| {
            !(session.member_id == member_id && session.session_id == session_id)
        });
    }

    pub(crate) fn remove_member(&mut self, member_id: MemberId) {
        self.sessions
            .retain(|session| session.member_id != member_id);
    }

    pub(crate) fn rotated(&mut self, link: LinkKind, version: u32) {
        match link {
            LinkKind::Invite => self.links.invite = version,
            LinkKind::Facilitator => self.links.facilitator = version,
        }
    }

    /// Checks that sessions belong to members (`is_member`), with distinct numbers and tokens.
    pub(crate) fn check_invariants(
        &self,
        is_member: impl Fn(MemberId) -> bool,
    ) -> Result<(), String> {
        let mut ids = std::collections::BTreeSet::new();
        let mut tokens = std::collections::HashSet::new();
        for session in &self.sessions {
            if !is_member(session.member_id) {
                return Err(format!(
                    "session {} of {} who is not a member",
                    session.session_id, session.member_id
                ));
            }
            if !ids.insert(session.session_id) {
                return Err(format!("session number {} twice", session.session_id));
            }
            if !tokens.insert(session.token_hash) {
                return Err(format!("session {} shares a token", session.session_id));
            }
        }
        Ok(())
    }
}

impl Access {
    /// Notes that a connection of the session joined or left at `at_ms` (see
    /// [`Session::last_seen_ms`]).
    pub(crate) fn seen(&mut self, member_id: MemberId, session_id: SessionId, at_ms: UnixMs) {
        if let Some(session) = self
            .sessions
            .iter_mut()
            .find(|session| session.member_id == member_id && session.session_id == session_id)
        {
            session.last_seen_ms = session.last_seen_ms.max(at_ms);
        }
    }
}

/// A facilitator makes `link` anew: its secret is now the one whose hash is `secret_hash`
/// (drawn by the caller, who hands the secret to the facilitator alone).
pub fn decide_rotate_link(
    access: &Access,
    role: Role,
    link: LinkKind,
    secret_hash: SecretHash,
) -> Result<Vec<RoomEvent>, RoomError> {
    require_facilitator(role)?;
    Ok(vec![RoomEvent::LinkRotated {
        link,
        version: access.version(link) + 1,
        secret_hash,
    }])
}

/// A facilitator ends one session of `member_id`. `by_session` is the session the facilitator
/// asks from: revoking it would shut the door on themselves, so it is refused.
pub fn decide_revoke_session(
    access: &Access,
    roster: Roster<'_>,
    role: Role,
    by_session: SessionId,
    member_id: MemberId,
    session_id: SessionId,
) -> Result<Vec<RoomEvent>, RoomError> {
    require_facilitator(role)?;
    roster.require_member(member_id)?;
    if access.session(member_id, session_id).is_none() {
        return Err(RoomError::new(
            ErrorCode::NotFound,
            format!("member {member_id} has no session {session_id} (it may be revoked already)"),
        ));
    }
    if session_id == by_session {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            "this is the session you are using; revoke it from another device",
        ));
    }
    Ok(vec![RoomEvent::SessionRevoked {
        member_id,
        session_id,
    }])
}

/// Every session, for a facilitator: `connections` says how many connections of a session are
/// open now, and a session with one is seen `now_ms`.
pub fn sessions_view(
    access: &Access,
    role: Role,
    connections: impl Fn(MemberId, SessionId) -> u32,
    now_ms: UnixMs,
) -> Result<Vec<wire::SessionInfo>, RoomError> {
    require_facilitator(role)?;
    Ok(access
        .sessions
        .iter()
        .map(|session| {
            let open = connections(session.member_id, session.session_id);
            wire::SessionInfo {
                member_id: session.member_id,
                session_id: session.session_id,
                started_at_ms: session.started_at_ms,
                last_seen_ms: if open > 0 {
                    now_ms
                } else {
                    session.last_seen_ms
                },
                connections: open,
            }
        })
        .collect())
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
