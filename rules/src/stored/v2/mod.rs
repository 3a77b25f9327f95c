//! Stored format 2: format 1 with
//! - dot votes: the meeting flow's state keeps who put a dot on which suggestion
//!   (`FlowState::votes`), and the flow has two more events, `suggestion_vote_set` and
//!   `suggestion_votes_counted`;
//! - each agenda item's clock (`spent_ms`, `current_since_ms`), in the flow's agenda, in its
//!   events and in the minutes' agenda;
//! - the meeting's end: `FlowState::ended_at_ms` and the flow's `meeting_ended` event;
//! - the group's time zone (`Group::time_zone`, the `time_zone_set` event), also kept with each
//!   meeting's minutes.
//!
//! Every other stored type is format 1's own (taken with `pub use`, since format 1's types never
//! change); the types that hold a change are defined here, each with its conversion forward
//! from format 1's (a format 1 item has no clock, a format 1 group no time zone).
//!
//! Once a release has written format 2, these types never change again (see [`super`]).

mod flow;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::v1;

pub use flow::*;
pub use v1::{
    Activity, CommitmentBoard, CurrentRolePlay, Library, Meeting, Member, PresenceReason, Role,
    RolePlayEvent, RolePlayState, SecretHash,
};
// Format 1's types inside the records below, by name.
use v1::{
    Attendee, BenchmarkView, Commitment, MemberAccountability, Metric, Practice, PracticeComment,
    RolePlayResults, Sharing, TalkTime,
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

type V1Snapshot = v1::Snapshot;
impl From<V1Snapshot> for Snapshot {
    fn from(old: V1Snapshot) -> Snapshot {
        Snapshot {
            group: old.group.into(),
            meeting: old.meeting,
            members: old.members,
            online: old.online,
            hands: old.hands,
            commitments: old.commitments,
            activity: old.activity,
            practices: old.practices,
            past_meetings: old.past_meetings.into_iter().map(Minutes::from).collect(),
            role_play: old.role_play,
            seq: old.seq,
            flow: old.flow.into(),
        }
    }
}

/// The group: format 1's, with its time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub facilitator_secret_hash: SecretHash,
    pub invite_secret_hash: SecretHash,
    pub created_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

type V1Group = v1::Group;
forward_struct!(V1Group => Group {
    id, name, facilitator_secret_hash, invite_secret_hash, created_at_ms,
} added { time_zone: None });

/// An ended meeting's minutes: format 1's, with format 2's agenda items (which have clocks)
/// and the time zone they were written in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Minutes {
    pub group_name: String,
    pub meeting_id: Uuid,
    pub meeting_number: u32,
    pub started_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<u64>,
    pub attendees: Vec<Attendee>,
    pub agenda: Vec<AgendaItem>,
    pub talk_times: Vec<TalkTime>,
    pub role_plays: Vec<RolePlayResults>,
    pub commitments_made: Vec<Commitment>,
    pub commitments_reported: Vec<Commitment>,
    pub benchmarks: BenchmarkView,
    pub practices: Vec<Practice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

mirror_struct!(Minutes <=> roundtable_protocol::Minutes {
    group_name, meeting_id, meeting_number, started_at_ms, ended_at_ms, attendees, agenda,
    talk_times, role_plays, commitments_made, commitments_reported, benchmarks, practices,
    time_zone,
});

impl From<v1::Minutes> for Minutes {
    fn from(old: v1::Minutes) -> Minutes {
        Minutes {
            group_name: old.group_name,
            meeting_id: old.meeting_id,
            meeting_number: old.meeting_number,
            started_at_ms: old.started_at_ms,
            ended_at_ms: old.ended_at_ms,
            attendees: old.attendees,
            agenda: old.agenda.into_iter().map(AgendaItem::from).collect(),
            talk_times: old.talk_times,
            role_plays: old.role_plays,
            commitments_made: old.commitments_made,
            commitments_reported: old.commitments_reported,
            benchmarks: old.benchmarks,
            practices: old.practices,
            time_zone: None,
        }
    }
}

/// One event of a meeting's log (`StoredEvent`): the event and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: u64,
    pub event: RoomEvent,
}

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

/// The variants of `RoomEvent` that format 1 has too, for the conversion forward from it.
macro_rules! room_event_variants {
    ($macro:ident!($($head:tt)*) $({ $($more:tt)* })?) => {
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
            $($($more)*)?
        });
    };
}

type V1RoomEvent = v1::RoomEvent;
room_event_variants!(forward_enum!(V1RoomEvent => RoomEvent));
