//! Stored format 5: format 4 with these changes, each listed here as it lands, with the types
//! that hold it:
//! - report backs held as prep (issue 21): while a meeting is upcoming, a member's report back
//!   on their own open commitment is held until the start. Each member's prep
//!   ([`MemberPrep`]) keeps `report_backs`, by commitment id ([`ReportBack`]: the status and
//!   note the commitment gets at the start), and the log has the new event
//!   [`RoomEvent::ReportBackHeld`] (held, revised, or with none: withdrawn or dropped). The
//!   start applies them to the board with format 4's `commitment_updated`. A format 4 room has
//!   no held report backs: its prep reads forward with none.
//!
//! Every other stored type is format 4's own (taken with a glob `pub use`, which the types
//! defined here shadow, since format 4's types never change); the types that hold a change are
//! defined here, each with its conversion forward from format 4's. The conversions of today's
//! in-memory types to and from the records the code writes now (`mirror_struct!`,
//! `mirror_enum!`) are here for the types defined here; format 4 keeps its own types, read
//! and converted forward.
//!
//! Once a release has written format 5, these types never change again (see [`super`]);
//! `golden/stored-v5/` holds what it wrote.

use std::collections::{BTreeMap, BTreeSet};

use roundtable_protocol as wire;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{v1, v4};
use crate::{prep, state};

pub use v4::*;

/// The format these types are.
pub const FORMAT: u32 = 5;

/// A room's snapshot (`RoomState`): format 4's, with format 5's prep.
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
    /// When the group meets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Each member's calendar feed secret, as its hash.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calendar_feeds: BTreeMap<Uuid, SecretHash>,
    /// Prep for the current meeting, held report backs included (format 5).
    #[serde(default, skip_serializing_if = "PrepState::is_empty")]
    pub prep: PrepState,
}

mirror_struct!(Snapshot <=> state::RoomState {
    group, meeting, members, hands, commitments, activity, practices, past_meetings,
    role_play, seq, flow, access, former_members, schedule, calendar_feeds, prep,
} memory_only {
    // A room loaded from a snapshot has nobody online.
    online: BTreeSet::new(),
    logged_online: BTreeSet::new(),
});

type V4Snapshot = v4::Snapshot;
forward_struct!(V4Snapshot => Snapshot {
    group, meeting, members, hands, commitments, activity, practices, past_meetings,
    role_play, seq, flow, access, former_members, schedule, calendar_feeds, prep,
});

/// Prep for the current meeting (`PrepState`): format 4's, each member's with their held
/// report backs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PrepState {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_member: BTreeMap<Uuid, MemberPrep>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub revealed: bool,
}

impl PrepState {
    /// Nothing prepared and nothing revealed: a snapshot leaves it out.
    pub fn is_empty(&self) -> bool {
        self.by_member.is_empty() && !self.revealed
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

mirror_struct!(PrepState <=> prep::PrepState { by_member, revealed });

type V4PrepState = v4::PrepState;
impl From<V4PrepState> for PrepState {
    fn from(old: V4PrepState) -> PrepState {
        PrepState {
            by_member: old
                .by_member
                .into_iter()
                .map(|(member_id, prep)| (member_id, prep.into()))
                .collect(),
            revealed: old.revealed,
        }
    }
}

/// One member's prep (`MemberPrep`): format 4's, with the report backs held until the start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberPrep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_in: Option<CheckIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_seat: Option<RankedHotSeat>,
    /// The held report backs, by commitment id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub report_backs: BTreeMap<u32, ReportBack>,
}

mirror_struct!(MemberPrep <=> prep::MemberPrep { check_in, hot_seat, report_backs });

type V4MemberPrep = v4::MemberPrep;
// Format 4 held no report backs.
forward_struct!(V4MemberPrep => MemberPrep {
    check_in, hot_seat,
} added { report_backs: BTreeMap::new() });

/// A report back held until the start (`wire::ReportBack`): the status and note its
/// commitment gets then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportBack {
    pub status: v1::CommitmentStatus,
    pub note: String,
}

mirror_struct!(ReportBack <=> wire::ReportBack { status, note });

/// One event of a meeting's log (`StoredEvent`): the event and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: u64,
    pub event: RoomEvent,
}

mirror_struct!(Event <=> state::StoredEvent { at_ms, event });

type V4Event = v4::Event;
forward_struct!(V4Event => Event { at_ms, event });

/// A change to the room (`RoomEvent`): format 4's, with format 5's events at the end.
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
        values: BTreeMap<String, f64>,
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
    ScheduleSet {
        schedule: Option<Schedule>,
    },
    CalendarFeedRenewed {
        member_id: Uuid,
        secret_hash: SecretHash,
    },
    CalendarFeedRevoked {
        member_id: Uuid,
    },
    /// A facilitator started the upcoming meeting at the event's time.
    MeetingStarted,
    /// The live meeting ended at the event's time; the next, `number`, is upcoming.
    NextMeetingOpened {
        meeting_id: Uuid,
        number: u32,
    },
    CheckInSaved {
        member_id: Uuid,
        check_in: CheckIn,
    },
    HotSeatSaved {
        member_id: Uuid,
        hot_seat: Option<RankedHotSeat>,
    },
    PreparedCountChanged {
        prepared: u32,
    },
    PrepRevealed {
        check_ins: Vec<MemberCheckIn>,
        hot_seat: Vec<RankedHotSeat>,
        benchmarks: v1::BenchmarkView,
    },
    AnonymousNumbersSubmitted {
        place: Place,
        values: BTreeMap<String, f64>,
        view: v1::BenchmarkView,
    },
    NumbersWithdrawn {
        member_id: Uuid,
        view: v1::BenchmarkView,
    },
    AnonymousNumbersWithdrawn {
        place: Place,
        view: v1::BenchmarkView,
    },
    PastAnonymousNumbersRemoved {
        places: Vec<Place>,
        view: v1::BenchmarkView,
    },
    MemberAttended {
        member_id: Uuid,
    },
    // Format 5's events.
    ReportBackHeld {
        member_id: Uuid,
        commitment_id: u32,
        report_back: Option<ReportBack>,
    },
}

/// The variants `RoomEvent` shares with format 4's, for the conversion forward from it.
macro_rules! room_event_variants_v4 {
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

    ScheduleSet { schedule },
    CalendarFeedRenewed { member_id, secret_hash },
    CalendarFeedRevoked { member_id },
    MeetingStarted,
    NextMeetingOpened { meeting_id, number },
    CheckInSaved { member_id, check_in },
    HotSeatSaved { member_id, hot_seat },
    PreparedCountChanged { prepared },
    PrepRevealed { check_ins, hot_seat, benchmarks },
    AnonymousNumbersSubmitted { place, values, view },
    NumbersWithdrawn { member_id, view },
    AnonymousNumbersWithdrawn { place, view },
    PastAnonymousNumbersRemoved { places, view },
    MemberAttended { member_id },
            $($($more)*)?
        });
    };
}

room_event_variants_v4!(mirror_enum!(RoomEvent <=> state::RoomEvent) {
    ReportBackHeld { member_id, commitment_id, report_back },
});

type V4RoomEvent = v4::RoomEvent;
room_event_variants_v4!(forward_enum!(V4RoomEvent => RoomEvent));
