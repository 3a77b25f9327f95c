//! Stored format 4: format 3 with these changes (each listed here as it lands, with the types
//! that hold it):
//!
//! - Presence is not stored (issue 19): the snapshot has no `online` (who was online when it
//!   was written means nothing to the room loaded from it), no log gets `presence_changed`
//!   any more, and a meeting's attendance, which presence events used to give, is the new
//!   event `member_attended`. Format 3's snapshots lose their `online` on the way forward;
//!   their logs' `presence_changed` events are still read (see `RoomState::logged_online`).
//!
//! Every other stored type is format 3's own (taken with a glob `pub use`, which the types
//! defined here shadow, since format 3's types never change); the types that hold a change are
//! defined here, each with its conversion forward from format 3's.
//!
//! Once a release has written format 4, these types never change again (see [`super`]);
//! `golden/stored-v4/` holds what it wrote.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{v1, v3};
use crate::state;

pub use v3::*;

/// The format these types are.
pub const FORMAT: u32 = 4;

/// A room's snapshot (`RoomState`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub group: Group,
    pub meeting: Meeting,
    pub members: Vec<Member>,
    pub hands: Vec<Uuid>,
    pub commitments: CommitmentBoard,
    #[serde(rename = "benchmarks")]
    pub activity: Activity,
    pub practices: Library,
    pub past_meetings: Vec<Minutes>,
    pub role_play: RolePlayState,
    pub seq: u64,
    pub flow: FlowState,
    pub access: Access,
    /// Members who left and erased their data, by id.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub former_members: BTreeSet<Uuid>,
}

mirror_struct!(Snapshot <=> state::RoomState {
    group, meeting, members, hands, commitments, activity, practices, past_meetings,
    role_play, seq, flow, access, former_members,
} memory_only {
    // A room loaded from a snapshot has nobody online.
    online: BTreeSet::new(),
    logged_online: BTreeSet::new(),
});

type V3Snapshot = v3::Snapshot;
// Format 3's `online` is left behind.
forward_struct!(V3Snapshot => Snapshot {
    group, meeting, members, hands, commitments, activity, practices, past_meetings,
    role_play, seq, flow, access, former_members,
});

/// One event of a meeting's log (`StoredEvent`): the event and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: u64,
    pub event: RoomEvent,
}

mirror_struct!(Event <=> state::StoredEvent { at_ms, event });

type V3Event = v3::Event;
forward_struct!(V3Event => Event { at_ms, event });

/// A change to the room (`RoomEvent`): format 3's, with format 4's events at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoomEvent {
    MemberAdded {
        member_id: Uuid,
        display_name: String,
        role: Role,
        token_hash: SecretHash,
    },
    PresenceChanged {
        member_id: Uuid,
        online: bool,
        reason: PresenceReason,
    },
    GroupRenamed {
        name: String,
    },
    TimeZoneSet {
        time_zone: String,
    },
    MemberRemoved {
        member_id: Uuid,
    },
    RoleChanged {
        member_id: Uuid,
        role: Role,
    },
    HandRaised {
        member_id: Uuid,
    },
    HandLowered {
        member_id: Uuid,
    },
    CommitmentAdded {
        commitment: v1::Commitment,
        owner_accountability: v1::MemberAccountability,
    },
    CommitmentUpdated {
        commitment: v1::Commitment,
        owner_accountability: v1::MemberAccountability,
    },
    NumbersSubmitted {
        member_id: Uuid,
        values: std::collections::BTreeMap<String, f64>,
        sharing: v1::Sharing,
        view: v1::BenchmarkView,
    },
    MetricsSet {
        metrics: Vec<v1::Metric>,
        view: v1::BenchmarkView,
    },
    PracticePosted {
        practice: v1::Practice,
    },
    PracticeUpvoted {
        practice_id: u32,
        member_id: Uuid,
        up: bool,
    },
    PracticeCommented {
        practice_id: u32,
        comment: v1::PracticeComment,
    },
    NextMeetingStarted {
        meeting_id: Uuid,
        number: u32,
    },
    RolePlay {
        change: RolePlayEvent,
    },
    Flow {
        event: FlowEvent,
    },
    CallLinkSet {
        url: Option<String>,
    },
    LinkRotated {
        link: LinkKind,
        version: u32,
        secret_hash: SecretHash,
    },
    SessionRevoked {
        member_id: Uuid,
        session_id: u32,
    },
    SessionStarted {
        member_id: Uuid,
        session_id: u32,
        token_hash: SecretHash,
    },
    MemberErased {
        member_id: Uuid,
        erasure: Erasure,
    },
    // Format 4's events.
    MemberAttended {
        member_id: Uuid,
    },
}

/// The variants `RoomEvent` shares with format 3's, for the conversion forward from it.
macro_rules! room_event_variants_v3 {
    ($macro:ident!($($head:tt)*) $({ $($more:tt)* })?) => {
        $macro!($($head)* {
            MemberAdded { member_id, display_name, role, token_hash },
            PresenceChanged { member_id, online, reason },
            GroupRenamed { name },
            TimeZoneSet { time_zone },
            MemberRemoved { member_id },
            RoleChanged { member_id, role },
            HandRaised { member_id },
            HandLowered { member_id },
            CommitmentAdded { commitment, owner_accountability },
            CommitmentUpdated { commitment, owner_accountability },
            NumbersSubmitted { member_id, values, sharing, view },
            MetricsSet { metrics, view },
            PracticePosted { practice },
            PracticeUpvoted { practice_id, member_id, up },
            PracticeCommented { practice_id, comment },
            NextMeetingStarted { meeting_id, number },
            RolePlay { change },
            Flow { event },
            CallLinkSet { url },
            LinkRotated { link, version, secret_hash },
            SessionRevoked { member_id, session_id },
            SessionStarted { member_id, session_id, token_hash },
            MemberErased { member_id, erasure },
            $($($more)*)?
        });
    };
}

room_event_variants_v3!(mirror_enum!(RoomEvent <=> state::RoomEvent) {
    MemberAttended { member_id },
});

type V3RoomEvent = v3::RoomEvent;
room_event_variants_v3!(forward_enum!(V3RoomEvent => RoomEvent));
