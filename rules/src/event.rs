//! The changes to a room as its meeting's log keeps them: [`RoomEvent`] and [`StoredEvent`].
//! The rules of each feature decide these; the room's state folds them in
//! ([`crate::state`]); the stored and wire forms are derived from them.

use std::collections::BTreeMap;

use roundtable_protocol::{self as wire, MeetingId, MemberId, Role, UnixMs};

use crate::command::Erasure;
use crate::flow::{FlowEvent, QueueEvent};
use crate::secret::SecretHash;

/// A change to the room, as stored in the meeting's event log. Wire events are derived from
/// these by [`RoomEvent::to_wire`]; stored events may carry what never crosses the wire (a
/// token hash).
#[derive(Debug, Clone, PartialEq)]
pub enum RoomEvent {
    MemberAdded {
        member_id: MemberId,
        display_name: String,
        role: Role,
        token_hash: SecretHash,
    },
    /// Obsolete: in format 1-3 logs only. Who is online is not history, so no server decides
    /// or writes this any more; folding an old log applies it to
    /// [`crate::state::RoomState::logged_online`] and the meeting's attendance, as then.
    PresenceChanged {
        member_id: MemberId,
        online: bool,
        reason: wire::PresenceReason,
    },
    GroupRenamed {
        name: String,
    },
    TimeZoneSet {
        time_zone: String,
    },
    CallLinkSet {
        url: Option<String>,
    },
    MemberRemoved {
        member_id: MemberId,
    },
    RoleChanged {
        member_id: MemberId,
        role: Role,
    },
    HandRaised {
        member_id: MemberId,
    },
    HandLowered {
        member_id: MemberId,
    },
    CommitmentAdded {
        commitment: wire::Commitment,
        owner_accountability: wire::MemberAccountability,
    },
    CommitmentUpdated {
        commitment: wire::Commitment,
        owner_accountability: wire::MemberAccountability,
    },
    /// Stored with the member and their values; on the wire only the resulting view.
    NumbersSubmitted {
        member_id: MemberId,
        values: BTreeMap<String, f64>,
        sharing: wire::Sharing,
        view: wire::BenchmarkView,
    },
    MetricsSet {
        metrics: Vec<wire::Metric>,
        view: wire::BenchmarkView,
    },
    PracticePosted {
        practice: wire::Practice,
    },
    PracticeUpvoted {
        practice_id: wire::PracticeId,
        member_id: MemberId,
        up: bool,
    },
    PracticeCommented {
        practice_id: wire::PracticeId,
        comment: wire::PracticeComment,
    },
    /// The current meeting ended and the next began at the event's time. The last event of
    /// the ended meeting's log; the new meeting's log starts empty.
    NextMeetingStarted {
        meeting_id: MeetingId,
        number: u32,
    },
    /// Role play and scoring; stored as on the wire (`room/roleplay`).
    RolePlay {
        change: wire::RolePlayEvent,
    },
    /// A change to the meeting flow.
    Flow {
        event: FlowEvent,
    },
    /// A facilitator made `link` anew: its secret is now the one hashing to `secret_hash`
    /// (`crate::access`). On the wire without the hash.
    LinkRotated {
        link: wire::LinkKind,
        version: u32,
        secret_hash: SecretHash,
    },
    /// A facilitator ended a member's session: its token no longer admits them.
    SessionRevoked {
        member_id: MemberId,
        session_id: wire::SessionId,
    },
    /// A member with no session left came back through a link: a new session, a new token.
    SessionStarted {
        member_id: MemberId,
        session_id: wire::SessionId,
        token_hash: SecretHash,
    },
    /// The member left and erased their data as `erasure` says: they are no member any more,
    /// their name is gone from the past meetings' minutes, and what they chose to remove is
    /// gone ([`crate::state`] folds it).
    MemberErased {
        member_id: MemberId,
        erasure: Erasure,
    },
    /// The member came to this meeting for the first time (format 4): the meeting's
    /// attendance, which its minutes list. Recorded when a member first comes online in a
    /// meeting, after their join is answered, and for everyone online as a meeting starts.
    MemberAttended {
        member_id: MemberId,
    },
}

/// One event as stored in the meeting's log: the event and when it happened.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub at_ms: UnixMs,
    pub event: RoomEvent,
}

impl From<FlowEvent> for RoomEvent {
    fn from(event: FlowEvent) -> RoomEvent {
        RoomEvent::Flow { event }
    }
}

impl From<QueueEvent> for RoomEvent {
    fn from(event: QueueEvent) -> RoomEvent {
        match event {
            QueueEvent::HandRaised { member_id } => RoomEvent::HandRaised { member_id },
            QueueEvent::HandLowered { member_id } => RoomEvent::HandLowered { member_id },
            QueueEvent::Flow(event) => RoomEvent::Flow { event },
        }
    }
}
