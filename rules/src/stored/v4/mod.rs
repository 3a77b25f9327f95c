//! Stored format 4: format 3 with these changes, each listed here as it lands, with the types
//! that hold it:
//! - the group's schedule and the members' calendar feeds (issue 21): the snapshot's
//!   `schedule` and `calendar_feeds` ([`Schedule`], feed secrets as hashes), and the events
//!   `schedule_set`, `calendar_feed_renewed` and `calendar_feed_revoked`.
//! - A meeting's life: the current [`Meeting`] has a [`MeetingPhase`] (upcoming, then live);
//!   a format 3 room's current meeting was running, so it reads forward as live, its
//!   `started_at_ms` when it started. New events: [`RoomEvent::MeetingStarted`] (a facilitator
//!   started the upcoming meeting) and [`RoomEvent::NextMeetingOpened`] (the live meeting ended
//!   and the next is upcoming), which today's rules decide instead of `NextMeetingStarted`
//!   (still read: the next meeting began live at once).
//!
//! Every other stored type is format 3's own (taken with a glob `pub use`, which the types
//! defined here shadow, since format 3's types never change); the types that hold a change are
//! defined here, each with its conversion forward from format 3's.
//!
//! Once a release has written format 4, these types never change again (see [`super`]);
//! `golden/stored-v4/` holds what it wrote.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{v1, v3};
use crate::state;

pub use v3::*;

mod prep;
pub use prep::*;

/// The format these types are.
pub const FORMAT: u32 = 4;

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
    /// Prep for the current meeting (format 4).
    #[serde(default, skip_serializing_if = "PrepState::is_empty")]
    pub prep: PrepState,
}

mirror_struct!(Snapshot <=> state::RoomState {
    group, meeting, members, online, hands, commitments, activity, practices, past_meetings,
    role_play, seq, flow, access, former_members, schedule, calendar_feeds, prep,
});

type V3Snapshot = v3::Snapshot;
forward_struct!(V3Snapshot => Snapshot {
    group, meeting, members, online, hands, commitments, activity, practices, past_meetings,
    role_play, seq, flow, access, former_members,
} added { schedule: None, calendar_feeds: BTreeMap::new(), prep: PrepState::default() });

/// The group's current meeting (`state::Meeting`): format 3's with its phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meeting {
    pub id: Uuid,
    pub number: u32,
    /// When it went live; while upcoming, when it became the current meeting.
    pub started_at_ms: u64,
    #[serde(default)]
    pub attended: Vec<Uuid>,
    pub phase: MeetingPhase,
}

mirror_struct!(Meeting <=> state::Meeting { id, number, started_at_ms, attended, phase });

type V3Meeting = v3::Meeting;
// Format 3's current meeting was running: it was started when it began.
forward_struct!(V3Meeting => Meeting {
    id, number, started_at_ms, attended,
} added { phase: MeetingPhase::Live });

/// Where the current meeting is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingPhase {
    Upcoming,
    Live,
}

mirror_enum!(MeetingPhase <=> roundtable_protocol::MeetingPhase { Upcoming, Live });

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
    ScheduleSet { schedule },
    CalendarFeedRenewed { member_id, secret_hash },
    CalendarFeedRevoked { member_id },
    MeetingStarted,
    NextMeetingOpened { meeting_id, number },
    CheckInSaved { member_id, check_in },
    HotSeatSaved { member_id, hot_seat },
    PreparedCountChanged { prepared },
    PrepRevealed { check_ins, hot_seat, benchmarks },
});

type V3RoomEvent = v3::RoomEvent;
room_event_variants_v3!(forward_enum!(V3RoomEvent => RoomEvent));

/// A day of the week (`wire::Weekday`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

mirror_enum!(Weekday <=> roundtable_protocol::Weekday {
    Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday,
});

/// How often the group meets (`wire::Cadence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "every", rename_all = "snake_case")]
pub enum Cadence {
    Week { weekday: Weekday },
    TwoWeeks { weekday: Weekday },
    MonthWeekday { week: i8, weekday: Weekday },
    MonthDay { day: u8 },
}

mirror_enum!(Cadence <=> roundtable_protocol::Cadence {
    Week { weekday },
    TwoWeeks { weekday },
    MonthWeekday { week, weekday },
    MonthDay { day },
});

/// The group's schedule (`wire::Schedule`): dates `YYYY-MM-DD`, times `HH:MM` and moments
/// `YYYY-MM-DDTHH:MM`, local to `time_zone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub cadence: Cadence,
    pub starts_on: String,
    pub start_time: String,
    pub duration_minutes: u32,
    pub time_zone: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<MovedMeeting>,
}

mirror_struct!(Schedule <=> roundtable_protocol::Schedule {
    cadence, starts_on, start_time, duration_minutes, time_zone, moves,
});

/// One meeting moved from its regular day `occurrence` to the local moment `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedMeeting {
    pub occurrence: String,
    pub to: String,
}

mirror_struct!(MovedMeeting <=> roundtable_protocol::MovedMeeting { occurrence, to });
