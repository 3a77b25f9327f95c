//! The group's schedule and its members' calendar feeds.
//!
//! The schedule is group state: a cadence (every week, every two weeks, the nth weekday of the
//! month, or day N of the month), the first day it may meet, a local start time, a planned
//! duration and the IANA time zone all of these are in, plus single meetings moved to another
//! local time. The rules check it and decide its events; they also compute its meetings, on
//! the calendar (pure date arithmetic: a proleptic Gregorian calendar) and as instants through
//! a [`LocalTime`] the caller hands in (the server's is backed by its time zone database), so
//! that occurrences keep their local time across daylight-saving changes and tests can use any
//! zone and any "now".
//!
//! A calendar feed is a per-member secret, kept as its hash only ([`crate::secret`]), that
//! lets a calendar app (which cannot send headers) read the schedule. The member renews it
//! (the old one stops working) or turns it off; a facilitator may turn off anyone's; a removed
//! or erased member's feed goes with them.

use std::collections::BTreeMap;

use roundtable_protocol::{
    self as wire, Cadence, ErrorCode, MemberId, MovedMeeting, Role, Schedule, ScheduleDraft,
    UnixMs, Weekday,
};

use crate::command::ScheduleCommand;
use crate::error::RoomError;
use crate::event::RoomEvent;
use crate::roster::{Roster, require_facilitator};
use crate::secret::SecretHash;
use crate::text;

/// Shortest planned meeting, in minutes.
pub const DURATION_MINUTES_MIN: u32 = 15;
/// Longest planned meeting, in minutes (8 hours).
pub const DURATION_MINUTES_MAX: u32 = 480;
/// Earliest and latest year a schedule's dates may name.
pub const YEAR_MIN: i32 = 2000;
pub const YEAR_MAX: i32 = 2199;
/// How many regular meetings a search for the next one looks at, at most (more than eight
/// years of weekly meetings): a bound, never reached by a schedule that meets at all.
const SEARCH_STEPS_MAX: usize = 420;

/// A time zone as the schedule needs it: its offset from UTC at an instant. (The server's is
/// backed by its time zone database; tests may use any.)
pub trait Offsets {
    /// Seconds east of UTC at `ms`.
    fn offset_seconds(&self, ms: UnixMs) -> i32;
}

/// A calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

/// A local moment: a day and a minute of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalMoment {
    pub date: Date,
    pub hour: u8,
    pub minute: u8,
}

fn invalid(message: impl Into<String>) -> RoomError {
    RoomError::new(ErrorCode::Invalid, message)
}

impl Date {
    /// Days since 1970-01-01 (negative before).
    pub fn days(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5
            + i64::from(self.day)
            - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The day `days` after 1970-01-01.
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (year_of_era + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday.
        WEEKDAYS[(self.days() + 3).rem_euclid(7) as usize]
    }

    pub fn plus_days(self, days: i64) -> Date {
        Date::from_days(self.days() + days)
    }

    /// The first day of the month after this day's.
    fn next_month(self) -> Date {
        if self.month == 12 {
            Date {
                year: self.year + 1,
                month: 1,
                day: 1,
            }
        } else {
            Date {
                year: self.year,
                month: self.month + 1,
                day: 1,
            }
        }
    }

    /// `YYYY-MM-DD`, with a year from [`YEAR_MIN`] to [`YEAR_MAX`].
    pub fn parse(what: &str, text: &str) -> Result<Date, RoomError> {
        let wrong = || invalid(format!("{what} must be a date YYYY-MM-DD, not {text:?}"));
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(wrong());
        }
        let year = digits(&text[0..4]).ok_or_else(wrong)? as i32;
        let month = digits(&text[5..7]).ok_or_else(wrong)? as u8;
        let day = digits(&text[8..10]).ok_or_else(wrong)? as u8;
        if !(YEAR_MIN..=YEAR_MAX).contains(&year) {
            return Err(invalid(format!(
                "{what} must be in the years {YEAR_MIN} to {YEAR_MAX}, not {text:?}"
            )));
        }
        if !(1..=12).contains(&month) || day == 0 || day > month_length(year, month) {
            return Err(invalid(format!(
                "{what} {text:?} is not a day of the calendar"
            )));
        }
        Ok(Date { year, month, day })
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl LocalMoment {
    /// `YYYY-MM-DDTHH:MM`.
    pub fn parse(what: &str, text: &str) -> Result<LocalMoment, RoomError> {
        let Some((date, time)) = text.split_once('T') else {
            return Err(invalid(format!(
                "{what} must be a local moment YYYY-MM-DDTHH:MM, not {text:?}"
            )));
        };
        let date = Date::parse(what, date)?;
        let (hour, minute) = parse_time(what, time)?;
        Ok(LocalMoment { date, hour, minute })
    }

    /// Seconds since 1970-01-01T00:00 on the local clock.
    fn local_seconds(self) -> i64 {
        self.date.days() * 86_400 + i64::from(self.hour) * 3_600 + i64::from(self.minute) * 60
    }

    /// The instant this local moment is in `zone`. A moment that happens twice (the hour the
    /// clocks go back) is the first; one that never happens (the hour they skip) is read with
    /// the offset before the change, so it lands that much later, as RFC 5545 reads it.
    pub fn instant_ms(self, zone: &dyn Offsets) -> UnixMs {
        let local = self.local_seconds();
        let offset_at =
            |seconds: i64| i64::from(zone.offset_seconds(seconds.max(0) as u64 * 1_000));
        let before = local - offset_at(local - 86_400);
        let after = local - offset_at(local + 86_400);
        let mut candidates = [before.min(after), before.max(after)];
        candidates.sort_unstable();
        let seconds = candidates
            .into_iter()
            .find(|candidate| candidate + offset_at(*candidate) == local)
            .unwrap_or(before);
        seconds.max(0) as u64 * 1_000
    }
}

impl std::fmt::Display for LocalMoment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}T{:02}:{:02}", self.date, self.hour, self.minute)
    }
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// Monday 0 to Sunday 6.
pub fn weekday_index(weekday: Weekday) -> i64 {
    WEEKDAYS.iter().position(|day| *day == weekday).unwrap_or(0) as i64
}

fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

pub fn month_length(year: i32, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// `HH:MM`, 24-hour.
pub fn parse_time(what: &str, text: &str) -> Result<(u8, u8), RoomError> {
    let wrong = || {
        invalid(format!(
            "{what} must be a time HH:MM (24-hour), not {text:?}"
        ))
    };
    let (hour, minute) = text.split_once(':').ok_or_else(wrong)?;
    if hour.len() != 2 || minute.len() != 2 {
        return Err(wrong());
    }
    let hour = digits(hour).ok_or_else(wrong)?;
    let minute = digits(minute).ok_or_else(wrong)?;
    if hour > 23 || minute > 59 {
        return Err(wrong());
    }
    Ok((hour as u8, minute as u8))
}

/// A schedule read into dates and times. Every schedule the room holds reads (the rules
/// checked it); [`Plan::of`] still answers an error rather than trusting that.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub cadence: Cadence,
    /// The series' first regular day.
    pub first: Date,
    pub hour: u8,
    pub minute: u8,
    pub duration_minutes: u32,
    pub moves: BTreeMap<Date, LocalMoment>,
}

/// One meeting of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// Its regular day (what names it in a move).
    pub regular: Date,
    /// When it starts, local.
    pub start: LocalMoment,
    pub moved: bool,
}

impl Plan {
    pub fn of(schedule: &Schedule) -> Result<Plan, RoomError> {
        let draft = ScheduleDraft {
            cadence: schedule.cadence,
            starts_on: schedule.starts_on.clone(),
            start_time: schedule.start_time.clone(),
            duration_minutes: schedule.duration_minutes,
            time_zone: schedule.time_zone.clone(),
        };
        let mut plan = Plan::of_draft(&draft)?;
        for moved in &schedule.moves {
            let regular = Date::parse("the moved meeting's date", &moved.occurrence)?;
            let to = LocalMoment::parse("the new time", &moved.to)?;
            plan.moves.insert(regular, to);
        }
        Ok(plan)
    }

    fn of_draft(draft: &ScheduleDraft) -> Result<Plan, RoomError> {
        match draft.cadence {
            Cadence::MonthWeekday { week, .. } if !(week == -1 || (1..=4).contains(&week)) => {
                return Err(invalid(format!(
                    "the week of the month must be 1 to 4, or -1 for the last, not {week}"
                )));
            }
            Cadence::MonthDay { day } if !(1..=28).contains(&day) => {
                return Err(invalid(format!(
                    "the day of the month must be 1 to 28 (every month has it), not {day}"
                )));
            }
            _ => {}
        }
        if !(DURATION_MINUTES_MIN..=DURATION_MINUTES_MAX).contains(&draft.duration_minutes) {
            return Err(invalid(format!(
                "a meeting lasts {DURATION_MINUTES_MIN} to {DURATION_MINUTES_MAX} minutes, not {}",
                draft.duration_minutes
            )));
        }
        text::time_zone(&draft.time_zone)?;
        let starts_on = Date::parse("the first day", &draft.starts_on)?;
        let (hour, minute) = parse_time("the start time", &draft.start_time)?;
        let mut plan = Plan {
            cadence: draft.cadence,
            first: starts_on,
            hour,
            minute,
            duration_minutes: draft.duration_minutes,
            moves: BTreeMap::new(),
        };
        plan.first = plan.cadence_on_or_after(starts_on);
        Ok(plan)
    }

    /// The first day on or after `date` that fits the cadence (ignoring the series' start).
    fn cadence_on_or_after(&self, date: Date) -> Date {
        match self.cadence {
            Cadence::Week { weekday } | Cadence::TwoWeeks { weekday } => date
                .plus_days((weekday_index(weekday) - weekday_index(date.weekday())).rem_euclid(7)),
            Cadence::MonthWeekday { week, weekday } => {
                let this_month = nth_weekday(date.year, date.month, week, weekday);
                if this_month >= date {
                    this_month
                } else {
                    let next = date.next_month();
                    nth_weekday(next.year, next.month, week, weekday)
                }
            }
            Cadence::MonthDay { day } => {
                let this_month = Date { day, ..date };
                if this_month >= date {
                    this_month
                } else {
                    Date {
                        day,
                        ..date.next_month()
                    }
                }
            }
        }
    }

    /// The first regular day of the series on or after `date`.
    pub fn regular_on_or_after(&self, date: Date) -> Date {
        let date = date.max(self.first);
        match self.cadence {
            Cadence::TwoWeeks { .. } => {
                let behind = (date.days() - self.first.days()).rem_euclid(14);
                date.plus_days(if behind == 0 { 0 } else { 14 - behind })
            }
            _ => self.cadence_on_or_after(date),
        }
    }

    /// Whether `date` is a regular day of the series.
    pub fn is_regular(&self, date: Date) -> bool {
        date >= self.first && self.regular_on_or_after(date) == date
    }

    /// The regular meetings from `date` on (moved ones at their new time), in the order of
    /// their regular days, at most `count`.
    pub fn occurrences_from(&self, date: Date, count: usize) -> Vec<Occurrence> {
        let mut found = Vec::new();
        let mut day = self.regular_on_or_after(date);
        while found.len() < count && day.year <= YEAR_MAX {
            let moved = self.moves.get(&day);
            found.push(Occurrence {
                regular: day,
                start: moved.copied().unwrap_or(LocalMoment {
                    date: day,
                    hour: self.hour,
                    minute: self.minute,
                }),
                moved: moved.is_some(),
            });
            day = self.regular_on_or_after(day.plus_days(1));
        }
        found
    }

    /// The first meeting that starts after `after_ms`, in `zone`.
    pub fn next_after(&self, zone: &dyn Offsets, after_ms: UnixMs) -> Option<Occurrence> {
        let starts = |occurrence: &Occurrence| occurrence.start.instant_ms(zone);
        // Regular meetings from two days before `after_ms` (any zone's local day is within a
        // day of UTC's), the first unmoved one after it...
        let utc_day = Date::from_days((after_ms / 86_400_000) as i64);
        let regular = self
            .occurrences_from(utc_day.plus_days(-2), SEARCH_STEPS_MAX)
            .into_iter()
            .find(|occurrence| !occurrence.moved && starts(occurrence) > after_ms);
        // ...or a moved one before it.
        let moved = self.moves.iter().map(|(regular, start)| Occurrence {
            regular: *regular,
            start: *start,
            moved: true,
        });
        regular
            .into_iter()
            .chain(moved)
            .filter(|occurrence| starts(occurrence) > after_ms)
            .min_by_key(|occurrence| (starts(occurrence), occurrence.regular))
    }
}

/// The `week`th `weekday` of the month (-1: the last).
fn nth_weekday(year: i32, month: u8, week: i8, weekday: Weekday) -> Date {
    let first = Date {
        year,
        month,
        day: 1,
    };
    let first_fit =
        first.plus_days((weekday_index(weekday) - weekday_index(first.weekday())).rem_euclid(7));
    if week == -1 {
        let mut last = first_fit;
        while last.plus_days(7).month == month {
            last = last.plus_days(7);
        }
        last
    } else {
        first_fit.plus_days(7 * (i64::from(week.clamp(1, 4)) - 1))
    }
}

/// The next meeting of the room's schedule as clients see it: the first that starts after the
/// current meeting's planned end, and after `now_ms`. (`after_ms` is the moment the caller says
/// the current meeting ends or ended.)
pub fn next_meeting(
    schedule: Option<&Schedule>,
    zone: &dyn Offsets,
    after_ms: UnixMs,
) -> Option<wire::NextMeeting> {
    let schedule = schedule?;
    let plan = Plan::of(schedule).ok()?;
    let next = plan.next_after(zone, after_ms)?;
    let starts_at_ms = next.start.instant_ms(zone);
    Some(wire::NextMeeting {
        occurrence: next.regular.to_string(),
        starts_at_ms,
        ends_at_ms: starts_at_ms + u64::from(plan.duration_minutes) * 60_000,
        local_start: next.start.to_string(),
        time_zone: schedule.time_zone.clone(),
        moved: next.moved,
    })
}

/// From when the room's next meeting is looked for ([`next_meeting`] finds the first that
/// starts after it). While the current meeting is upcoming, it is the schedule's first meeting
/// that has not ended by now: the lobby of a meeting due at 09:00 still says 09:00 when the
/// facilitator starts at 09:05. Once it is live, the next is the first after its planned end
/// ([`current_meeting_ends_ms`]).
pub fn next_meeting_after_ms(
    schedule: Option<&Schedule>,
    meeting: &crate::roster::Meeting,
    now_ms: UnixMs,
) -> UnixMs {
    match meeting.phase {
        wire::MeetingPhase::Upcoming => {
            let duration_ms =
                schedule.map_or(0, |schedule| u64::from(schedule.duration_minutes) * 60_000);
            now_ms.saturating_sub(duration_ms)
        }
        wire::MeetingPhase::Live => {
            current_meeting_ends_ms(schedule, meeting.started_at_ms, now_ms)
        }
    }
}

/// When the room's current meeting is taken to end, for [`next_meeting`]: its start plus the
/// schedule's planned duration, or now when that is later. (A meeting that starts now is not
/// the next one.)
pub fn current_meeting_ends_ms(
    schedule: Option<&Schedule>,
    meeting_started_at_ms: UnixMs,
    now_ms: UnixMs,
) -> UnixMs {
    let duration_ms = schedule.map_or(0, |schedule| u64::from(schedule.duration_minutes) * 60_000);
    now_ms.max(meeting_started_at_ms.saturating_add(duration_ms))
}

/// What the schedule's rules see of the room.
#[derive(Debug)]
pub struct Context<'a> {
    pub schedule: Option<&'a Schedule>,
    pub group_time_zone: Option<&'a str>,
    pub feeds: &'a BTreeMap<MemberId, SecretHash>,
    pub roster: Roster<'a>,
    pub moves_max: usize,
}

/// Decides a change to the schedule or to a feed by `by`, who has `role`.
pub fn decide(
    ctx: Context<'_>,
    by: MemberId,
    role: Role,
    command: &ScheduleCommand,
) -> Result<Vec<RoomEvent>, RoomError> {
    match command {
        ScheduleCommand::Set { schedule } => {
            require_facilitator(role)?;
            let Some(draft) = schedule else {
                if ctx.schedule.is_none() {
                    return Ok(Vec::new());
                }
                return Ok(vec![RoomEvent::ScheduleSet { schedule: None }]);
            };
            Plan::of_draft(draft)?;
            let schedule = Schedule {
                cadence: draft.cadence,
                starts_on: draft.starts_on.clone(),
                start_time: draft.start_time.clone(),
                duration_minutes: draft.duration_minutes,
                time_zone: draft.time_zone.clone(),
                moves: Vec::new(),
            };
            if ctx.schedule == Some(&schedule) {
                return Ok(Vec::new());
            }
            let mut events = vec![RoomEvent::ScheduleSet {
                schedule: Some(schedule),
            }];
            // The group's minutes are written in the zone it meets in.
            if ctx.group_time_zone != Some(draft.time_zone.as_str()) {
                events.push(RoomEvent::TimeZoneSet {
                    time_zone: draft.time_zone.clone(),
                });
            }
            Ok(events)
        }
        ScheduleCommand::Move { occurrence, to } => {
            require_facilitator(role)?;
            let (schedule, plan) = scheduled(ctx.schedule)?;
            let regular = Date::parse("the meeting's date", occurrence)?;
            let to = LocalMoment::parse("the new time", to)?;
            if !plan.is_regular(regular) {
                return Err(invalid(format!(
                    "{regular} is not a day the group meets on; name a meeting by its regular date"
                )));
            }
            let mut moves: Vec<MovedMeeting> = schedule
                .moves
                .iter()
                .filter(|moved| moved.occurrence != regular.to_string())
                .cloned()
                .collect();
            let regular_start = LocalMoment {
                date: regular,
                hour: plan.hour,
                minute: plan.minute,
            };
            if to != regular_start {
                if moves.len() >= ctx.moves_max {
                    return Err(RoomError::new(
                        ErrorCode::LimitReached,
                        format!(
                            "the schedule holds {} moved meetings, the most it may; put one back first",
                            ctx.moves_max
                        ),
                    ));
                }
                moves.push(MovedMeeting {
                    occurrence: regular.to_string(),
                    to: to.to_string(),
                });
                moves.sort_by(|a, b| a.occurrence.cmp(&b.occurrence));
            }
            changed_moves(schedule, moves)
        }
        ScheduleCommand::ClearMove { occurrence } => {
            require_facilitator(role)?;
            let (schedule, _) = scheduled(ctx.schedule)?;
            let regular = Date::parse("the meeting's date", occurrence)?.to_string();
            if !schedule
                .moves
                .iter()
                .any(|moved| moved.occurrence == regular)
            {
                return Err(RoomError::new(
                    ErrorCode::NotFound,
                    format!("the meeting of {regular} is not moved"),
                ));
            }
            let moves = schedule
                .moves
                .iter()
                .filter(|moved| moved.occurrence != regular)
                .cloned()
                .collect();
            changed_moves(schedule, moves)
        }
        ScheduleCommand::RevokeFeed { member_id } => {
            let member_id = member_id.unwrap_or(by);
            if member_id != by {
                require_facilitator(role)?;
                ctx.roster.require_member(member_id)?;
            }
            if !ctx.feeds.contains_key(&member_id) {
                return Ok(Vec::new());
            }
            Ok(vec![RoomEvent::CalendarFeedRevoked { member_id }])
        }
    }
}

/// A member's new feed: its secret hashes to `secret_hash` (drawn by the caller, who hands the
/// secret to the member alone). Observers may subscribe too: everyone in the group meets.
pub fn decide_renew_feed(
    roster: Roster<'_>,
    by: MemberId,
    secret_hash: SecretHash,
) -> Result<Vec<RoomEvent>, RoomError> {
    roster.require_member(by)?;
    Ok(vec![RoomEvent::CalendarFeedRenewed {
        member_id: by,
        secret_hash,
    }])
}

/// The member whose feed secret hashes to `hash`.
pub fn feed_owner(feeds: &BTreeMap<MemberId, SecretHash>, hash: SecretHash) -> Option<MemberId> {
    feeds
        .iter()
        .find(|(_, feed)| **feed == hash)
        .map(|(member_id, _)| *member_id)
}

fn scheduled(schedule: Option<&Schedule>) -> Result<(&Schedule, Plan), RoomError> {
    let schedule = schedule.ok_or_else(|| {
        RoomError::new(
            ErrorCode::Conflict,
            "the group has no schedule; set one first",
        )
    })?;
    Ok((schedule, Plan::of(schedule)?))
}

fn changed_moves(
    schedule: &Schedule,
    moves: Vec<MovedMeeting>,
) -> Result<Vec<RoomEvent>, RoomError> {
    if moves == schedule.moves {
        return Ok(Vec::new());
    }
    Ok(vec![RoomEvent::ScheduleSet {
        schedule: Some(Schedule {
            moves,
            ..schedule.clone()
        }),
    }])
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
