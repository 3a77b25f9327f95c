//! The group's schedule as iCalendar (RFC 5545): the feed a member subscribes to (one recurring
//! VEVENT with an RRULE, moved meetings as overrides with a RECURRENCE-ID) and the one-off file
//! of the next meeting, and the next meeting itself.
//!
//! Times are written in the schedule's zone (`DTSTART;TZID=Europe/Berlin:...`) with a
//! VTIMEZONE that lists the zone's changes from the server's time zone database, so calendar
//! apps keep every meeting at the same local time across daylight-saving changes. Lines are
//! folded at 75 octets and end with CRLF; text is escaped.

use jiff::Timestamp;
use jiff::tz::Offset;
use roundtable_protocol::{Cadence, NextMeeting, Schedule, UnixMs, Weekday};
use roundtable_rules::schedule::{self, LocalMoment, Plan};
use roundtable_rules::state::RoomState;

use crate::time_zone::Zone;

/// Longest line, in octets, before the CRLF (RFC 5545, 3.1).
const LINE_OCTETS_MAX: usize = 75;
/// The VTIMEZONE lists the zone's changes from a year before the series (or, for an old
/// series, before now) to this many years after now.
const ZONE_YEARS_AHEAD: i64 = 5;
/// At most this many changes of the zone are listed.
const ZONE_CHANGES_MAX: usize = 64;
const DAY_MS: i64 = 86_400_000;

/// The group's next meeting at `now_ms`: while the current meeting is upcoming, the schedule's
/// meeting it stands for (the first not over yet); once it is live, the first after its planned
/// end ([`schedule::next_meeting_after_ms`]).
pub fn next_meeting(state: &RoomState, now_ms: UnixMs) -> Option<NextMeeting> {
    let schedule = state.schedule.as_ref()?;
    let zone = Zone::named(Some(&schedule.time_zone));
    let after_ms = schedule::next_meeting_after_ms(Some(schedule), &state.meeting, now_ms);
    schedule::next_meeting(Some(schedule), &zone, after_ms)
}

/// What the files say besides the times.
#[derive(Debug)]
pub struct Details<'a> {
    /// The group's room, e.g. `https://meet.example.com/g/<id>`.
    pub room_url: &'a str,
    pub now_ms: UnixMs,
}

/// The feed: every meeting of the schedule (a calendar without events when the group has no
/// schedule).
pub fn feed(state: &RoomState, details: &Details<'_>) -> String {
    let mut ics = Ics::begin(&state.group.name);
    let Some(schedule) = state.schedule.as_ref() else {
        return ics.end();
    };
    let Ok(plan) = Plan::of(schedule) else {
        return ics.end();
    };
    let zone = Zone::named(Some(&schedule.time_zone));
    let first = LocalMoment {
        date: plan.first,
        hour: plan.hour,
        minute: plan.minute,
    };
    let first_ms = first.instant_ms(&zone);
    ics.time_zone(&zone, first_ms, details.now_ms);
    let uid = format!("schedule-{}@roundtable", state.group.id);
    ics.event_head(&uid, details.now_ms);
    ics.line(&format!("DTSTART;TZID={}", local_value(schedule, first)));
    ics.line(&format!("DURATION:PT{}M", plan.duration_minutes));
    ics.line(&format!("RRULE:{}", rrule(plan.cadence)));
    ics.event_body(state, details);
    ics.line("END:VEVENT");
    for (regular, to) in &plan.moves {
        let regular = LocalMoment {
            date: *regular,
            hour: plan.hour,
            minute: plan.minute,
        };
        ics.event_head(&uid, details.now_ms);
        ics.line(&format!(
            "RECURRENCE-ID;TZID={}",
            local_value(schedule, regular)
        ));
        ics.line(&format!("DTSTART;TZID={}", local_value(schedule, *to)));
        ics.line(&format!("DURATION:PT{}M", plan.duration_minutes));
        ics.event_body(state, details);
        ics.line("END:VEVENT");
    }
    ics.end()
}

/// The one-off file of one meeting (the next one).
pub fn single(state: &RoomState, next: &NextMeeting, details: &Details<'_>) -> String {
    let mut ics = Ics::begin(&state.group.name);
    let zone = Zone::named(Some(&next.time_zone));
    ics.time_zone(&zone, next.starts_at_ms, details.now_ms);
    ics.event_head(
        &format!("meeting-{}-{}@roundtable", state.group.id, next.occurrence),
        details.now_ms,
    );
    let start = next.local_start.replace(['-', ':'], "");
    ics.line(&format!("DTSTART;TZID={}:{start}00", next.time_zone));
    ics.line(&format!(
        "DURATION:PT{}M",
        next.ends_at_ms.saturating_sub(next.starts_at_ms) / 60_000
    ));
    ics.event_body(state, details);
    ics.line("END:VEVENT");
    ics.end()
}

/// `Europe/Berlin:20260106T090000`.
fn local_value(schedule: &Schedule, moment: LocalMoment) -> String {
    format!(
        "{}:{:04}{:02}{:02}T{:02}{:02}00",
        schedule.time_zone,
        moment.date.year,
        moment.date.month,
        moment.date.day,
        moment.hour,
        moment.minute
    )
}

fn rrule(cadence: Cadence) -> String {
    match cadence {
        Cadence::Week { weekday } => format!("FREQ=WEEKLY;BYDAY={}", day_code(weekday)),
        Cadence::TwoWeeks { weekday } => {
            format!("FREQ=WEEKLY;INTERVAL=2;BYDAY={}", day_code(weekday))
        }
        Cadence::MonthWeekday { week, weekday } => {
            format!("FREQ=MONTHLY;BYDAY={week}{}", day_code(weekday))
        }
        Cadence::MonthDay { day } => format!("FREQ=MONTHLY;BYMONTHDAY={day}"),
    }
}

fn day_code(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

/// A calendar being written.
struct Ics {
    out: String,
}

impl Ics {
    fn begin(name: &str) -> Ics {
        let mut ics = Ics { out: String::new() };
        ics.line("BEGIN:VCALENDAR");
        ics.line("VERSION:2.0");
        ics.line("PRODID:-//Roundtable//Group schedule//EN");
        ics.line("CALSCALE:GREGORIAN");
        ics.line("METHOD:PUBLISH");
        ics.line(&format!("X-WR-CALNAME:{}", escape(name)));
        ics
    }

    fn end(mut self) -> String {
        self.line("END:VCALENDAR");
        self.out
    }

    /// One content line, folded: no physical line exceeds 75 octets, and a fold never splits
    /// a character.
    fn line(&mut self, content: &str) {
        let mut octets = 0;
        for character in content.chars() {
            let width = character.len_utf8();
            if octets + width > LINE_OCTETS_MAX {
                self.out.push_str("\r\n ");
                octets = 1;
            }
            self.out.push(character);
            octets += width;
        }
        self.out.push_str("\r\n");
    }

    fn event_head(&mut self, uid: &str, now_ms: UnixMs) {
        self.line("BEGIN:VEVENT");
        self.line(&format!("UID:{uid}"));
        self.line(&format!("DTSTAMP:{}", utc_stamp(now_ms)));
    }

    /// The summary, the call link and the room.
    fn event_body(&mut self, state: &RoomState, details: &Details<'_>) {
        self.line(&format!("SUMMARY:{}", escape(&state.group.name)));
        let mut description = format!("Room: {}", details.room_url);
        if let Some(call_url) = &state.group.call_url {
            self.line(&format!("LOCATION:{}", escape(call_url)));
            self.line(&format!("URL:{call_url}"));
            description = format!("Join the call: {call_url}\n{description}");
        }
        self.line(&format!("DESCRIPTION:{}", escape(&description)));
    }

    /// The VTIMEZONE of `zone`: its offset before `from_ms` (a year before the earlier of
    /// `from_ms` and `now_ms`) and each change after it up to some years ahead.
    fn time_zone(&mut self, zone: &Zone, from_ms: UnixMs, now_ms: UnixMs) {
        let tz = zone.zone();
        let start_ms =
            (from_ms.min(now_ms) as i64).max(now_ms as i64 - 2 * 366 * DAY_MS) - 366 * DAY_MS;
        let until_ms = now_ms as i64 + ZONE_YEARS_AHEAD * 366 * DAY_MS;
        let (Ok(start), Ok(until)) = (
            Timestamp::from_millisecond(start_ms),
            Timestamp::from_millisecond(until_ms),
        ) else {
            return;
        };
        self.line("BEGIN:VTIMEZONE");
        self.line(&format!("TZID:{}", zone.name()));
        let info = tz.to_offset_info(start);
        let mut before = info.offset();
        self.observance(
            if info.dst().is_dst() {
                "DAYLIGHT"
            } else {
                "STANDARD"
            },
            "19700101T000000".into(),
            before,
            before,
            info.abbreviation(),
        );
        for change in tz
            .following(start)
            .take_while(|change| change.timestamp() < until)
            .take(ZONE_CHANGES_MAX)
        {
            let onset = before
                .to_datetime(change.timestamp())
                .strftime("%Y%m%dT%H%M%S")
                .to_string();
            self.observance(
                if change.dst().is_dst() {
                    "DAYLIGHT"
                } else {
                    "STANDARD"
                },
                onset,
                before,
                change.offset(),
                change.abbreviation(),
            );
            before = change.offset();
        }
        self.line("END:VTIMEZONE");
    }

    fn observance(&mut self, kind: &str, onset: String, from: Offset, to: Offset, name: &str) {
        self.line(&format!("BEGIN:{kind}"));
        self.line(&format!("DTSTART:{onset}"));
        self.line(&format!("TZOFFSETFROM:{}", offset_value(from)));
        self.line(&format!("TZOFFSETTO:{}", offset_value(to)));
        if !name.is_empty() {
            self.line(&format!("TZNAME:{}", escape(name)));
        }
        self.line(&format!("END:{kind}"));
    }
}

/// `+0100`, or `+053000` with seconds.
fn offset_value(offset: Offset) -> String {
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.unsigned_abs();
    let (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if rest == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{rest:02}")
    }
}

/// `20261205T093000Z`.
fn utc_stamp(ms: UnixMs) -> String {
    Timestamp::from_millisecond(ms.min(i64::MAX as u64) as i64)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// TEXT as RFC 5545 escapes it (3.3.11): backslash, semicolon, comma and newline; other
/// control characters are dropped.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\n' => escaped.push_str("\\n"),
            control if control.is_control() => {}
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fold_at_75_octets_without_splitting_a_character() {
        let mut ics = Ics { out: String::new() };
        let long = format!("DESCRIPTION:{}", "é".repeat(100));
        ics.line(&long);
        let physical: Vec<&str> = ics
            .out
            .split("\r\n")
            .filter(|line| !line.is_empty())
            .collect();
        assert!(physical.len() > 2);
        for line in &physical {
            assert!(
                line.len() <= LINE_OCTETS_MAX,
                "{} octets: {line}",
                line.len()
            );
        }
        for line in &physical[1..] {
            assert!(line.starts_with(' '));
        }
        let unfolded = ics.out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("{long}\r\n"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("Sales, Inc; a\\b\nnext\u{7}"),
            "Sales\\, Inc\\; a\\\\b\\nnext"
        );
    }

    #[test]
    fn offsets_are_written_with_sign_hours_and_minutes() {
        assert_eq!(offset_value(Offset::from_seconds(3600).unwrap()), "+0100");
        assert_eq!(offset_value(Offset::from_seconds(-18000).unwrap()), "-0500");
        assert_eq!(offset_value(Offset::from_seconds(19800).unwrap()), "+0530");
        assert_eq!(offset_value(Offset::from_seconds(-1).unwrap()), "-000001");
    }

    #[test]
    fn rules_name_the_cadence() {
        assert_eq!(
            rrule(Cadence::TwoWeeks {
                weekday: Weekday::Tuesday
            }),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
        );
        assert_eq!(
            rrule(Cadence::MonthWeekday {
                week: -1,
                weekday: Weekday::Friday
            }),
            "FREQ=MONTHLY;BYDAY=-1FR"
        );
        assert_eq!(
            rrule(Cadence::MonthDay { day: 15 }),
            "FREQ=MONTHLY;BYMONTHDAY=15"
        );
    }
}
