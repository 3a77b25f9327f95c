//! Who is in the room: the group's members, who is online, the current meeting, who receives
//! an event, and the checks every rule makes of the member who asks.
//!
//! [`Roster`] is a borrowed view of the members and the online set. A feature's rules take it
//! (with their own state and limits) instead of the whole room, so no feature depends on the
//! room's state.

use std::collections::BTreeSet;

use roundtable_protocol::{ErrorCode, MeetingId, MeetingPhase, MemberId, Role, UnixMs};

use crate::error::RoomError;
use crate::secret::SecretHash;

/// A member of the group.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: MemberId,
    pub display_name: String,
    pub role: Role,
    pub token_hash: SecretHash,
    pub joined_at_ms: UnixMs,
}

/// The group's current meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct Meeting {
    pub id: MeetingId,
    pub number: u32,
    /// When the meeting went live; while it is upcoming, when it became the current meeting
    /// (the group was created, or the previous meeting ended).
    pub started_at_ms: UnixMs,
    /// Members who were online at some point of this meeting while it was live, in the order
    /// they first came.
    pub attended: Vec<MemberId>,
    /// Upcoming until a facilitator starts it, then live ([`crate::meeting_life`]).
    pub phase: MeetingPhase,
}

/// Who receives an event. Most go to everyone and are serialized once for all; a few are
/// private (the buyer brief), and the others see a gap in `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    Only(MemberId),
}

impl Audience {
    pub fn includes(self, viewer: MemberId) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Only(member_id) => member_id == viewer,
        }
    }
}

/// The group's members (in the order they joined) and who of them is online.
#[derive(Debug, Clone, Copy)]
pub struct Roster<'a> {
    pub members: &'a [Member],
    pub online: &'a BTreeSet<MemberId>,
}

impl<'a> Roster<'a> {
    pub fn member(&self, member_id: MemberId) -> Option<&'a Member> {
        self.members.iter().find(|member| member.id == member_id)
    }

    pub fn role_of(&self, member_id: MemberId) -> Option<Role> {
        self.member(member_id).map(|member| member.role)
    }

    pub fn is_online(&self, member_id: MemberId) -> bool {
        self.online.contains(&member_id)
    }

    /// Members with the facilitator role. Once a group has one it always keeps at least one:
    /// the last facilitator can be neither demoted nor removed.
    pub fn facilitator_count(&self) -> usize {
        self.members
            .iter()
            .filter(|member| member.role == Role::Facilitator)
            .count()
    }

    /// The role of `by`, who must still be a member.
    pub fn require_member_role(&self, by: MemberId) -> Result<Role, RoomError> {
        self.role_of(by).ok_or_else(|| {
            RoomError::new(
                ErrorCode::Forbidden,
                "you are no longer a member of this group",
            )
        })
    }

    /// The member `member_id` of the group, or `not_found`.
    pub fn require_member(&self, member_id: MemberId) -> Result<&'a Member, RoomError> {
        self.member(member_id).ok_or_else(|| {
            RoomError::new(
                ErrorCode::NotFound,
                format!("no member {member_id} in this group"),
            )
        })
    }
}

/// Refuses unless `role` is the facilitator's: the one check of "only a facilitator may".
pub fn require_facilitator(role: Role) -> Result<(), RoomError> {
    if role == Role::Facilitator {
        Ok(())
    } else {
        Err(RoomError::new(
            ErrorCode::Forbidden,
            "only a facilitator may do this",
        ))
    }
}
