//! Stored format 2: format 1 with dot votes. The meeting flow's state keeps who put a dot on
//! which suggestion (`FlowState::votes`), and the flow has two more events,
//! `suggestion_vote_set` and `suggestion_votes_counted`. Every other stored type is format 1's
//! own (taken with `pub use`, since format 1's types never change); the five that hold the
//! change are defined here, each with its conversion forward from format 1's.
//!
//! Once a release has written format 2, these types never change again (see [`super`]).

mod flow;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::v1;
use crate::state;

pub use flow::*;
pub use v1::{
    Activity, CommitmentBoard, CurrentRolePlay, Group, Library, Meeting, Member, Minutes,
    PresenceReason, Role, RolePlayEvent, RolePlayState, SecretHash,
};
// Format 1's types inside the records below, by name.
use v1::{
    BenchmarkView, Commitment, MemberAccountability, Metric, Practice, PracticeComment, Sharing,
};

/// The format these types are.
pub const FORMAT: u32 = 2;

/// A room's snapshot (`RoomState`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub group: Group,
    pub meeting: Meeting,
    pub members: Vec<Member>,
    pub online: BTreeSet<Uuid>,
    pub hands: Vec<Uuid>,
    pub commitments: CommitmentBoard,
    #[serde(rename = "benchmarks")]
    pub activity: Activity,
    pub practices: Library,
    pub past_meetings: Vec<Minutes>,
    pub role_play: RolePlayState,
    pub seq: u64,
    pub flow: FlowState,
}

mirror_struct!(Snapshot <=> state::RoomState {
    group, meeting, members, online, hands, commitments, activity, practices, past_meetings,
    role_play, seq, flow,
});

type V1Snapshot = v1::Snapshot;
forward_struct!(V1Snapshot => Snapshot {
    group, meeting, members, online, hands, commitments, activity, practices, past_meetings,
    role_play, seq, flow,
});

/// One event of a meeting's log (`StoredEvent`): the event and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: u64,
    pub event: RoomEvent,
}

mirror_struct!(Event <=> state::StoredEvent { at_ms, event });

type V1Event = v1::Event;
forward_struct!(V1Event => Event { at_ms, event });

/// A change to the room (`RoomEvent`): format 1's, with format 2's flow events.
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
        commitment: Commitment,
        owner_accountability: MemberAccountability,
    },
    CommitmentUpdated {
        commitment: Commitment,
        owner_accountability: MemberAccountability,
    },
    NumbersSubmitted {
        member_id: Uuid,
        values: std::collections::BTreeMap<String, f64>,
        sharing: Sharing,
        view: BenchmarkView,
    },
    MetricsSet {
        metrics: Vec<Metric>,
        view: BenchmarkView,
    },
    PracticePosted {
        practice: Practice,
    },
    PracticeUpvoted {
        practice_id: u32,
        member_id: Uuid,
        up: bool,
    },
    PracticeCommented {
        practice_id: u32,
        comment: PracticeComment,
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
}

/// The variants of `RoomEvent`, for the conversions both ways and forward from format 1.
macro_rules! room_event_variants {
    ($macro:ident!($($head:tt)*)) => {
        $macro!($($head)* {
            MemberAdded { member_id, display_name, role, token_hash },
            PresenceChanged { member_id, online, reason },
            GroupRenamed { name },
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
        });
    };
}

room_event_variants!(mirror_enum!(RoomEvent <=> state::RoomEvent));

type V1RoomEvent = v1::RoomEvent;
room_event_variants!(forward_enum!(V1RoomEvent => RoomEvent));
