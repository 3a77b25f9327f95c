//! Wire types of the group's schedule: when it meets (a cadence in the group's time zone, a
//! local start time and a planned duration), single meetings moved to another time, the next
//! meeting as the server computes it, and each member's calendar feed.
//!
//! Dates and times are local to the group's time zone and written as text: a date as
//! `YYYY-MM-DD`, a time as `HH:MM` (24-hour), a moment as `YYYY-MM-DDTHH:MM`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::UnixMs;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
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

/// How often the group meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "every", rename_all = "snake_case", deny_unknown_fields)]
pub enum Cadence {
    /// Every week on `weekday`.
    Week { weekday: Weekday },
    /// Every other week on `weekday`, counted from the schedule's first meeting.
    TwoWeeks { weekday: Weekday },
    /// Monthly on the `week`th `weekday` of the month: `week` 1 to 4 ("the 2nd Tuesday"), or
    /// -1 for the last one ("the last Friday").
    MonthWeekday { week: i8, weekday: Weekday },
    /// Monthly on day `day` of the month, 1 to 28 (so that every month has it).
    MonthDay { day: u8 },
}

/// The group's schedule, as the facilitator set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub cadence: Cadence,
    /// The first day the series may meet (`YYYY-MM-DD`, the group's zone): its first meeting
    /// is the first day on or after it that fits the cadence.
    pub starts_on: String,
    /// The local start time, `HH:MM`.
    pub start_time: String,
    /// The planned length of a meeting, 15 to 480 minutes.
    pub duration_minutes: u32,
    /// The group's time zone (an IANA name) the dates and times are in.
    pub time_zone: String,
    /// Single meetings moved away from their regular time, by date.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<MovedMeeting>,
}

/// One meeting of the series moved to another time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct MovedMeeting {
    /// The regular date of the moved meeting (`YYYY-MM-DD`).
    pub occurrence: String,
    /// Where it moved to: a local moment `YYYY-MM-DDTHH:MM` in the group's zone.
    pub to: String,
}

/// The next meeting of the schedule, as the server computed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NextMeeting {
    /// The regular date of this meeting in the series (its id for a move).
    pub occurrence: String,
    /// When it starts and ends.
    pub starts_at_ms: UnixMs,
    pub ends_at_ms: UnixMs,
    /// Its local start in the group's zone, `YYYY-MM-DDTHH:MM`.
    pub local_start: String,
    pub time_zone: String,
    /// Whether it was moved from its regular time.
    pub moved: bool,
}
