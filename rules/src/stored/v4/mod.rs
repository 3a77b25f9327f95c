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
//! - anonymous benchmark numbers kept by place, not by member: the snapshot's
//!   `benchmarks.anonymous` (this meeting's, by [`Place`]) and each past meeting's
//!   `values_by_place` with its `meeting_id`; the events `anonymous_numbers_submitted` (a place
//!   and values, no member), `numbers_withdrawn` and `anonymous_numbers_withdrawn` (a member's
//!   switch between named and anonymous, each side in a record of its own) and
//!   `past_anonymous_numbers_removed` (a leaving member's past places). `numbers_submitted` is
//!   written for named numbers only. A format 3 room's anonymous numbers of the current meeting
//!   move to their legacy place ([`crate::activity::Place::legacy`]); its past numbers that the
//!   minutes do not show as named move to places computed from the values alone
//!   ([`crate::activity::Place::of_past_values`]).
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
//! Format 5 changed the snapshot, the prep and the log's events: their conversions to today's
//! types moved to [`super::v5`], and this format's [`Snapshot`], [`Event`], [`RoomEvent`],
//! [`PrepState`] and [`MemberPrep`] are read and converted forward to format 5's.
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

type V3Snapshot = v3::Snapshot;
// Format 3's `online` is left behind.
impl From<V3Snapshot> for Snapshot {
    fn from(old: V3Snapshot) -> Snapshot {
        let activity = activity_from_v3(old.activity, &old.meeting, &old.past_meetings);
        Snapshot {
            group: old.group,
            meeting: old.meeting.into(),
            members: old.members,
            hands: old.hands,
            commitments: old.commitments,
            activity,
            practices: old.practices,
            past_meetings: old.past_meetings,
            role_play: old.role_play,
            seq: old.seq,
            flow: old.flow,
            access: old.access,
            former_members: old.former_members,
            schedule: None,
            calendar_feeds: BTreeMap::new(),
            prep: PrepState::default(),
        }
    }
}

/// Where one anonymous submission is kept (`activity::Place`): 64 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Place(pub [u8; 32]);

impl TryFrom<String> for Place {
    type Error = String;
    fn try_from(hex: String) -> Result<Place, String> {
        let invalid = || format!("a place is 64 lowercase hex digits, not {hex:?}");
        if hex.len() != 64 {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            let pair = hex.get(index * 2..index * 2 + 2).ok_or_else(invalid)?;
            if !pair
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
            {
                return Err(invalid());
            }
            *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
        }
        Ok(Place(bytes))
    }
}

impl From<Place> for String {
    fn from(place: Place) -> String {
        place.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

impl super::convert::Mirror for crate::activity::Place {
    type Stored = Place;
    fn to_stored(&self) -> Place {
        Place(self.0)
    }
    fn from_stored(stored: Place) -> Self {
        crate::activity::Place(stored.0)
    }
}

/// The group's metrics and numbers (`Activity`; stored as `benchmarks`): format 3's, with
/// this meeting's anonymous numbers by place instead of among the members' (`current` holds
/// named numbers only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub metrics: Vec<v1::Metric>,
    pub current: BTreeMap<Uuid, v1::ActivitySubmission>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub anonymous: BTreeMap<Place, BTreeMap<String, f64>>,
    pub history: Vec<PastBenchmarks>,
}

mirror_struct!(Activity <=> crate::activity::Activity { metrics, current, anonymous, history });

/// A past meeting's benchmarks (`activity::PastBenchmarks`): format 3's, with the meeting's id
/// and its anonymous numbers by place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastBenchmarks {
    pub meeting_number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_id: Option<Uuid>,
    pub group_median: BTreeMap<String, f64>,
    pub values_by_member: BTreeMap<Uuid, BTreeMap<String, f64>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values_by_place: BTreeMap<Place, BTreeMap<String, f64>>,
}

mirror_struct!(PastBenchmarks <=> crate::activity::PastBenchmarks {
    meeting_number, meeting_id, group_median, values_by_member, values_by_place,
});

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

/// A format 3 room's numbers moved to format 4: anonymous numbers to the legacy place of their
/// member in their meeting (who still finds them, to change them and in their trend; the
/// format 3 records named them already, and a replay of a format 3 log puts them there too).
/// Format 3 did not keep how past numbers were shared: a past meeting's numbers are named
/// when its minutes show them so, and anonymous otherwise.
fn activity_from_v3(old: v1::Activity, meeting: &v3::Meeting, minutes: &[Minutes]) -> Activity {
    use crate::activity::Place as Memory;
    let mut current = BTreeMap::new();
    let mut anonymous = BTreeMap::new();
    for (member_id, submission) in old.current {
        match submission.sharing {
            v1::Sharing::Named => {
                current.insert(member_id, submission);
            }
            v1::Sharing::Anonymous => {
                let place = Memory::legacy(
                    roundtable_protocol::MeetingId(meeting.id),
                    roundtable_protocol::MemberId(member_id),
                );
                anonymous.insert(Place(place.0), submission.values);
            }
        }
    }
    let history = old
        .history
        .into_iter()
        .map(|past| {
            let shown = minutes
                .iter()
                .find(|minutes| minutes.meeting_number == past.meeting_number);
            let named_in_minutes = |member_id: &Uuid, values: &BTreeMap<String, f64>| {
                shown.is_some_and(|minutes| {
                    values.iter().all(|(key, value)| {
                        minutes.benchmarks.per_metric.iter().any(|metric| {
                            metric.key == *key
                                && metric.named.iter().any(|named| {
                                    named.member_id == *member_id
                                        && named.value.to_bits() == value.to_bits()
                                })
                        })
                    })
                })
            };
            let mut values_by_member = BTreeMap::new();
            let mut values_by_place = BTreeMap::new();
            let mut ranks: Vec<(BTreeMap<String, f64>, u32)> = Vec::new();
            for (member_id, values) in past.values_by_member {
                if named_in_minutes(&member_id, &values) {
                    values_by_member.insert(member_id, values);
                    continue;
                }
                let place = match shown {
                    // The member finds these again in their trend, as the format 3 records
                    // named them already.
                    Some(minutes) => Memory::legacy(
                        roundtable_protocol::MeetingId(minutes.meeting_id),
                        roundtable_protocol::MemberId(member_id),
                    ),
                    // A meeting too old for minutes: nobody's trend finds them; a place from
                    // the values alone (and their rank among equal ones) ties them to nobody.
                    None => {
                        let rank = match ranks.iter_mut().find(|(seen, _)| *seen == values) {
                            Some((_, rank)) => {
                                *rank += 1;
                                *rank
                            }
                            None => {
                                ranks.push((values.clone(), 0));
                                0
                            }
                        };
                        Memory::of_past_values(past.meeting_number, &values, rank)
                    }
                };
                values_by_place.insert(Place(place.0), values);
            }
            PastBenchmarks {
                meeting_number: past.meeting_number,
                meeting_id: shown.map(|minutes| minutes.meeting_id),
                group_median: past.group_median,
                values_by_member,
                values_by_place,
            }
        })
        .collect();
    Activity {
        metrics: old.metrics,
        current,
        anonymous,
        history,
    }
}

/// One event of a meeting's log (`StoredEvent`): the event and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: u64,
    pub event: RoomEvent,
}

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
