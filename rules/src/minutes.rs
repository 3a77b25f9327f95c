//! Meeting minutes: what a meeting decided and produced, built from the room's state, and their
//! Markdown and CSV forms for export. Pure functions; the HTTP layer only serves them.

use std::fmt::Write as _;

use roundtable_protocol::{Attendee, CommitmentStatus, ErasureChoice, MemberId, Minutes, UnixMs};

use crate::command::Erasure;
use crate::practices;

use crate::room::RoomState;

/// Past meetings whose minutes a group keeps.
pub const PAST_MEETINGS_KEPT: usize = 26;

/// The minutes of the state's current meeting; they end when a facilitator ended it, or at
/// `ended_at_ms` when it is ending now (the next meeting starts without an End meeting first).
pub fn build(state: &RoomState, ended_at_ms: Option<UnixMs>) -> Minutes {
    let number = state.meeting.number;
    let attendees = state
        .meeting
        .attended
        .iter()
        .map(|member_id| Attendee {
            member_id: *member_id,
            display_name: display_name(state, *member_id),
        })
        .collect();
    let commitments_made = state
        .commitments
        .commitments
        .iter()
        .filter(|commitment| commitment.made_in_meeting == number)
        .cloned()
        .collect();
    let commitments_reported = state
        .commitments
        .commitments
        .iter()
        .filter(|commitment| commitment.due_meeting == number)
        .cloned()
        .collect();
    let practices = state
        .practices
        .practices
        .iter()
        .filter(|practice| practice.meeting_id == state.meeting.id)
        .cloned()
        .collect();
    let flow = state.flow.to_wire();
    let role_plays = state
        .role_play
        .revealed
        .iter()
        .filter(|results| results.meeting_number == number)
        .cloned()
        .collect();
    Minutes {
        group_name: state.group.name.clone(),
        meeting_id: state.meeting.id,
        meeting_number: number,
        started_at_ms: state.meeting.started_at_ms,
        ended_at_ms: state.flow.ended_at_ms.or(ended_at_ms),
        time_zone: state.group.time_zone.clone(),
        attendees,
        agenda: flow.agenda,
        talk_times: flow.talk_times,
        role_plays,
        commitments_made,
        commitments_reported,
        benchmarks: state.activity.view(),
        practices,
    }
}

/// A member's current name, or a stand-in for someone who has left the group.
pub fn display_name(state: &RoomState, member_id: MemberId) -> String {
    state
        .member(member_id)
        .map(|member| member.display_name.clone())
        .unwrap_or_else(|| FORMER_MEMBER.to_string())
}

/// How the minutes name someone who is not in the group any more.
pub const FORMER_MEMBER: &str = "a former member";

/// Erases a member who left from one meeting's minutes: their name always (they attended as
/// "a former member"), and what they chose to remove: their commitments, their numbers shared
/// by name (the aggregates stay as the group saw them), their practices with their comments
/// and upvotes. Their id stays where what they kept is, naming nobody.
pub fn erase_member(minutes: &mut Minutes, member_id: MemberId, erasure: Erasure) {
    for attendee in &mut minutes.attendees {
        if attendee.member_id == member_id {
            attendee.display_name = FORMER_MEMBER.to_string();
        }
    }
    if erasure.commitments == ErasureChoice::Remove {
        minutes
            .commitments_made
            .retain(|commitment| commitment.owner != member_id);
        minutes
            .commitments_reported
            .retain(|commitment| commitment.owner != member_id);
    }
    if erasure.numbers == ErasureChoice::Remove {
        for metric in &mut minutes.benchmarks.per_metric {
            metric.named.retain(|named| named.member_id != member_id);
        }
    }
    if erasure.practices == ErasureChoice::Remove {
        practices::remove_author(&mut minutes.practices, member_id);
    }
}

/// How the minutes name a moment: in a time zone, whose offset from UTC at each moment comes
/// from whoever holds a time zone database (the server); the rules only do the arithmetic.
pub trait LocalTime {
    /// The zone's name as the minutes print it ("UTC", "Europe/Berlin").
    fn zone_name(&self) -> &str;
    /// The zone's offset from UTC at `ms`, in seconds (east positive).
    fn offset_seconds(&self, ms: UnixMs) -> i32;
}

/// Coordinated Universal Time: the minutes' zone when a group has none.
#[derive(Debug, Clone, Copy)]
pub struct Utc;

impl LocalTime for Utc {
    fn zone_name(&self) -> &str {
        "UTC"
    }
    fn offset_seconds(&self, _ms: UnixMs) -> i32 {
        0
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_minute(ms: UnixMs) -> String {
    local_minute(ms, &Utc)
}

/// Milliseconds since the epoch as the wall clock in `zone`, named:
/// `2026-12-05 10:30 Europe/Berlin (UTC+01:00)`, or `2026-12-05 09:30 UTC`.
pub fn local_minute(ms: UnixMs, zone: &dyn LocalTime) -> String {
    let offset = zone.offset_seconds(ms);
    let seconds = (ms / 1000) as i64 + i64::from(offset);
    let (year, month, day) = civil_date(seconds.div_euclid(86_400));
    let minute_of_day = seconds.rem_euclid(86_400) / 60;
    let wall = format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        minute_of_day / 60,
        minute_of_day % 60
    );
    if zone.zone_name() == "UTC" && offset == 0 {
        return format!("{wall} UTC");
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.unsigned_abs() / 60;
    format!(
        "{wall} {} (UTC{sign}{:02}:{:02})",
        zone.zone_name(),
        offset / 60,
        offset % 60
    )
}

/// The civil date of a day counted from 1970-01-01, in the proleptic Gregorian calendar.
fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

fn status_word(status: CommitmentStatus) -> &'static str {
    match status {
        CommitmentStatus::Open => "open",
        CommitmentStatus::Done => "done",
        CommitmentStatus::Partial => "partial",
        CommitmentStatus::Missed => "missed",
        CommitmentStatus::Dropped => "dropped",
    }
}

/// Escapes text for a Markdown table cell or list item.
fn md(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// The minutes as a Markdown document, with times in `zone` (the minutes' own time zone, which
/// the caller looks up).
pub fn to_markdown(minutes: &Minutes, state: &RoomState, zone: &dyn LocalTime) -> String {
    let name = |member_id: MemberId| md(&display_name(state, member_id));
    let mut out = String::new();
    write_header(&mut out, minutes, zone);
    write_agenda(&mut out, minutes, &name);
    write_talk_times(&mut out, minutes, &name);
    write_role_plays(&mut out, minutes, &name);
    write_commitments_reported(&mut out, minutes, &name);
    write_commitments_made(&mut out, minutes, &name);
    write_benchmarks(&mut out, minutes);
    write_practices(&mut out, minutes, &name);
    out
}

/// The title and when the meeting ran, and who attended.
fn write_header(out: &mut String, minutes: &Minutes, zone: &dyn LocalTime) {
    let _ = writeln!(
        out,
        "# {} — meeting {}\n",
        md(&minutes.group_name),
        minutes.meeting_number
    );
    let _ = writeln!(
        out,
        "- Started: {}",
        local_minute(minutes.started_at_ms, zone)
    );
    match minutes.ended_at_ms {
        Some(ended) => {
            let _ = writeln!(out, "- Ended: {}", local_minute(ended, zone));
        }
        None => {
            let _ = writeln!(out, "- Still in progress");
        }
    }
    let attendees: Vec<String> = minutes
        .attendees
        .iter()
        .map(|attendee| md(&attendee.display_name))
        .collect();
    let _ = writeln!(out, "- Attended: {}\n", list_or_none(&attendees));
}

/// The agenda with each item's outcome, and a problem's suggestions.
fn write_agenda(out: &mut String, minutes: &Minutes, name: &dyn Fn(MemberId) -> String) {
    let _ = writeln!(out, "## Agenda\n");
    if minutes.agenda.is_empty() {
        let _ = writeln!(out, "No agenda.\n");
    } else {
        for item in &minutes.agenda {
            let status = serde_json::to_value(item.status)
                .ok()
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = writeln!(out, "- {} ({status})", md(&item.title));
            if let Some(problem) = &item.problem {
                let _ = writeln!(out, "  - Presented by {}", name(problem.presenter));
                for suggestion in &problem.suggestions {
                    let mark = if problem.chosen.contains(&suggestion.suggestion_id) {
                        "chosen: "
                    } else {
                        "suggested: "
                    };
                    let _ = writeln!(out, "  - {mark}{}", md(&suggestion.text));
                }
            }
        }
        out.push('\n');
    }
}

/// Each member's turns and talk time.
fn write_talk_times(out: &mut String, minutes: &Minutes, name: &dyn Fn(MemberId) -> String) {
    if !minutes.talk_times.is_empty() {
        let _ = writeln!(out, "## Talk times\n");
        let _ = writeln!(
            out,
            "| Member | Turns | Talked | Over time |\n| --- | --- | --- | --- |"
        );
        for talk in &minutes.talk_times {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                name(talk.member_id),
                talk.turns,
                minutes_seconds(talk.talk_ms),
                minutes_seconds(talk.overrun_ms)
            );
        }
        out.push('\n');
    }
}

/// The revealed role plays: aggregates, comments and "one thing to do differently".
fn write_role_plays(out: &mut String, minutes: &Minutes, name: &dyn Fn(MemberId) -> String) {
    if !minutes.role_plays.is_empty() {
        let _ = writeln!(out, "## Role plays\n");
        for results in &minutes.role_plays {
            let _ = writeln!(
                out,
                "### {} as seller: {} ({} scorers, overall {:.0} %)\n",
                name(results.seller),
                md(&results.rubric_name),
                results.submission_count,
                results.overall_percent
            );
            let _ = writeln!(
                out,
                "| Criterion | Mean | Median | Min | Max |\n| --- | --- | --- | --- | --- |"
            );
            for criterion in &results.criteria {
                let _ = writeln!(
                    out,
                    "| {} | {:.1} | {} | {} | {} |",
                    md(&criterion.name),
                    criterion.mean,
                    number(criterion.median),
                    criterion.min,
                    criterion.max
                );
            }
            out.push('\n');
            write_revealed_texts(out, "Comments", &results.comments);
            write_revealed_texts(
                out,
                "One thing to do differently",
                &results.one_thing_differently,
            );
        }
    }
}

/// The texts of a role play as they were revealed to the room (in the revealed, shuffled
/// order, and nothing else: no scorer was ever linked to them), as a list under a heading.
fn write_revealed_texts(out: &mut String, heading: &str, texts: &[String]) {
    if texts.is_empty() {
        return;
    }
    let _ = writeln!(out, "{heading}:\n");
    for text in texts {
        let _ = writeln!(out, "- {}", md(text));
    }
    out.push('\n');
}

/// Last meeting's commitments as they were reported back.
fn write_commitments_reported(
    out: &mut String,
    minutes: &Minutes,
    name: &dyn Fn(MemberId) -> String,
) {
    let _ = writeln!(out, "## Commitments reported back\n");
    if minutes.commitments_reported.is_empty() {
        let _ = writeln!(out, "None were due at this meeting.\n");
    } else {
        let _ = writeln!(
            out,
            "| Member | Commitment | Status | Note |\n| --- | --- | --- | --- |"
        );
        for commitment in &minutes.commitments_reported {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                name(commitment.owner),
                md(&commitment.text),
                status_word(commitment.status),
                md(&commitment.note)
            );
        }
        out.push('\n');
    }
}

/// The commitments made at this meeting.
fn write_commitments_made(out: &mut String, minutes: &Minutes, name: &dyn Fn(MemberId) -> String) {
    let _ = writeln!(out, "## New commitments\n");
    if minutes.commitments_made.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        for commitment in &minutes.commitments_made {
            let due = match &commitment.due_date {
                Some(date) => format!("meeting {} ({date})", commitment.due_meeting),
                None => format!("meeting {}", commitment.due_meeting),
            };
            let _ = writeln!(
                out,
                "- {}: {} — due {due}",
                name(commitment.owner),
                md(&commitment.text)
            );
        }
        out.push('\n');
    }
}

/// The activity aggregates (never a member's anonymous number).
fn write_benchmarks(out: &mut String, minutes: &Minutes) {
    let _ = writeln!(out, "## Benchmarks\n");
    let view = &minutes.benchmarks;
    let _ = writeln!(out, "{} members submitted numbers.\n", view.submitted_count);
    if view.aggregates_shown {
        let _ = writeln!(
            out,
            "| Metric | Members | Q1 | Median | Q3 |\n| --- | --- | --- | --- | --- |"
        );
        for metric in &view.metrics {
            let Some(metric_view) = view.per_metric.iter().find(|m| m.key == metric.key) else {
                continue;
            };
            match &metric_view.quartiles {
                Some(q) => {
                    let _ = writeln!(
                        out,
                        "| {} ({}) | {} | {} | {} | {} |",
                        md(&metric.name),
                        md(&metric.unit),
                        metric_view.count,
                        number(q.q1),
                        number(q.median),
                        number(q.q3)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "| {} ({}) | {} | – | – | – |",
                        md(&metric.name),
                        md(&metric.unit),
                        metric_view.count
                    );
                }
            }
        }
        out.push('\n');
    } else {
        let _ = writeln!(out, "Too few submissions to show aggregates.\n");
    }
}

/// The practices shared at this meeting.
fn write_practices(out: &mut String, minutes: &Minutes, name: &dyn Fn(MemberId) -> String) {
    let _ = writeln!(out, "## Practices shared\n");
    if minutes.practices.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        for practice in &minutes.practices {
            let outcome = match practice.outcome {
                roundtable_protocol::PracticeOutcome::Worked => "worked",
                roundtable_protocol::PracticeOutcome::DidNotWork => "did not work",
            };
            let _ = writeln!(
                out,
                "- **{}** ({outcome}, by {}): {}",
                md(&practice.title),
                name(practice.author),
                md(&practice.description)
            );
        }
    }
}

/// Milliseconds as `m:ss`.
fn minutes_seconds(ms: u64) -> String {
    let seconds = ms / 1000;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "nobody".to_string()
    } else {
        items.join(", ")
    }
}

/// A number without a needless fraction.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// One CSV field, quoted when it needs to be. A leading `=`, `+`, `-` or `@` is prefixed with
/// an apostrophe so that spreadsheets do not run it as a formula.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Every commitment on the board as CSV, with times in `zone` (the group's).
pub fn commitments_csv(state: &RoomState, zone: &dyn LocalTime) -> String {
    let mut out = String::from(
        "commitment_id,owner,text,made_in_meeting,due_meeting,due_date,status,note,updated_at\n",
    );
    for commitment in &state.commitments.commitments {
        let fields = [
            commitment.commitment_id.to_string(),
            csv_field(&display_name(state, commitment.owner)),
            csv_field(&commitment.text),
            commitment.made_in_meeting.to_string(),
            commitment.due_meeting.to_string(),
            commitment.due_date.clone().unwrap_or_default(),
            status_word(commitment.status).to_string(),
            csv_field(&commitment.note),
            local_minute(commitment.updated_at_ms, zone),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Benchmarks as CSV: the current meeting's aggregates and named values, and the group medians
/// of past meetings. Anonymous values never appear.
pub fn benchmarks_csv(state: &RoomState) -> String {
    let mut out = String::from("meeting_number,metric,unit,member,value,count,q1,median,q3\n");
    let unit_of = |key: &str| {
        state
            .activity
            .metrics
            .iter()
            .find(|metric| metric.key == key)
            .map(|metric| metric.unit.clone())
            .unwrap_or_default()
    };
    for past in &state.activity.history {
        for (key, median) in &past.group_median {
            let _ = writeln!(
                out,
                "{},{},{},(group median),,,,{},",
                past.meeting_number,
                csv_field(key),
                csv_field(&unit_of(key)),
                median
            );
        }
    }
    let view = state.activity.view();
    for metric in &view.per_metric {
        let unit = csv_field(&unit_of(&metric.key));
        if let Some(q) = &metric.quartiles {
            let _ = writeln!(
                out,
                "{},{},{unit},(group),,{},{},{},{}",
                state.meeting.number,
                csv_field(&metric.key),
                metric.count,
                q.q1,
                q.median,
                q.q3
            );
        }
        for named in &metric.named {
            let _ = writeln!(
                out,
                "{},{},{unit},{},{},,,,",
                state.meeting.number,
                csv_field(&metric.key),
                csv_field(&display_name(state, named.member_id)),
                named.value
            );
        }
    }
    out
}

#[cfg(test)]
#[path = "minutes_tests.rs"]
mod tests;
