//! A member's own history, computed for the member who asks and sent to them alone (the answer
//! to `get_my_history`): the minutes of the kept past meetings held since they joined, their
//! commitments meeting by meeting, their numbers against the group's medians, and the scores
//! the group gave the role plays where they were the seller.
//!
//! What it takes from the room, and why nothing private of anyone else is in it:
//! - The minutes are the ones facilitators read (`minutes.rs`): aggregates, numbers shared by
//!   name, revealed role play aggregates and comments; never a scorer or an anonymous number.
//! - Commitments are the asking member's own, from the board.
//! - Numbers come only through [`crate::activity::Activity::mine`], the one function that
//!   gives a member their own values (anonymous ones included) and the group's medians.
//! - Role play scores are the revealed results (aggregates, as everyone saw them at the
//!   reveal), kept in the room's revealed list and in the past meetings' minutes; the comments
//!   stay in the minutes, the history repeats only the numbers.
//!
//! Every part is bounded: the minutes by [`crate::minutes::PAST_MEETINGS_KEPT`], the rest by
//! the constants here.

use std::collections::BTreeSet;

use roundtable_protocol::{
    Commitment, CommitmentHistory, CommitmentMeeting, CommitmentStatus, HistorySummary, MemberId,
    MetricTrend, MetricTrendPoint, MyHistory, RolePlayResults, RolePlayScores, TrendDirection,
};

use crate::minutes::PAST_MEETINGS_KEPT;
use crate::room::RoomState;

/// The member's commitments listed in a history, newest first.
pub const COMMITMENTS_LISTED_MAX: usize = 100;
/// Role plays in a history, the latest.
pub const ROLE_PLAYS_MAX: usize = 50;
/// Meetings in a history's benchmark trends and commitment rows (the current one besides).
pub const MEETINGS_MAX: usize = PAST_MEETINGS_KEPT;

/// The history of `me`, for that member alone: their anonymous numbers are found with the
/// pseudonym key of the connection that asked (`crate::activity::Me`).
pub fn build(state: &RoomState, me: &crate::activity::Me) -> MyHistory {
    let member_id = me.member_id;
    // A member reads the minutes of meetings that ended after they joined: the ones they
    // belonged to the group for, attended or missed; not what the group said before them.
    let joined_at_ms = state
        .member(member_id)
        .map(|member| member.joined_at_ms)
        .unwrap_or(u64::MAX);
    let meetings: Vec<_> = state
        .past_meetings
        .iter()
        .rev()
        .filter(|past| past.ended_at_ms.unwrap_or(past.started_at_ms) >= joined_at_ms)
        .cloned()
        .collect();
    let current_held = !state.meeting.attended.is_empty();
    let meetings_held = meetings.len() as u32 + u32::from(current_held);
    let meetings_attended = meetings
        .iter()
        .filter(|past| past.attendees.iter().any(|a| a.member_id == member_id))
        .count() as u32
        + u32::from(state.meeting.attended.contains(&member_id));
    let mine: Vec<&Commitment> = state
        .commitments
        .commitments
        .iter()
        .filter(|commitment| commitment.owner == member_id)
        .collect();
    let summary = HistorySummary {
        meetings_held,
        meetings_attended,
        completion_rate_percent: completion_rate(&mine),
        recent: state
            .commitments
            .accountability(member_id, state.meeting.number),
    };
    MyHistory {
        member_id,
        summary,
        meetings,
        commitments: commitment_history(&mine, state.meeting.number),
        benchmarks: benchmark_trends(state, me),
        role_plays: role_plays(state, member_id),
    }
}

/// Done counts 1, partial one half, missed 0, over the resolved commitments; dropped and open
/// ones do not count. `None` before any is resolved.
pub fn completion_rate(commitments: &[&Commitment]) -> Option<u8> {
    let mut points_doubled = 0u64;
    let mut resolved = 0u64;
    for commitment in commitments {
        match commitment.status {
            CommitmentStatus::Done => points_doubled += 2,
            CommitmentStatus::Partial => points_doubled += 1,
            CommitmentStatus::Missed => {}
            CommitmentStatus::Open | CommitmentStatus::Dropped => continue,
        }
        resolved += 1;
    }
    (resolved > 0).then(|| {
        let percent = points_doubled as f64 * 50.0 / resolved as f64;
        percent.round().clamp(0.0, 100.0) as u8
    })
}

/// One row per meeting, from the member's first commitment (within the last
/// [`MEETINGS_MAX`] meetings) to the current one, and the list of their commitments.
fn commitment_history(mine: &[&Commitment], current: u32) -> CommitmentHistory {
    let oldest = current.saturating_sub(MEETINGS_MAX as u32).max(1);
    let first = mine
        .iter()
        .map(|commitment| commitment.made_in_meeting.min(commitment.due_meeting))
        .min()
        .map_or(current, |first| first.clamp(oldest, current));
    let per_meeting = (first..=current)
        .map(|meeting_number| {
            let mut row = CommitmentMeeting {
                meeting_number,
                made: 0,
                done: 0,
                partial: 0,
                missed: 0,
                dropped: 0,
                carried: 0,
            };
            for commitment in mine {
                if commitment.made_in_meeting == meeting_number {
                    row.made += 1;
                }
                if commitment.due_meeting != meeting_number {
                    continue;
                }
                match commitment.status {
                    CommitmentStatus::Done => row.done += 1,
                    CommitmentStatus::Partial => row.partial += 1,
                    CommitmentStatus::Missed => row.missed += 1,
                    CommitmentStatus::Dropped => row.dropped += 1,
                    CommitmentStatus::Open if meeting_number < current => row.carried += 1,
                    CommitmentStatus::Open => {}
                }
            }
            row
        })
        .collect();
    let mut listed: Vec<Commitment> = mine
        .iter()
        .map(|commitment| (*commitment).clone())
        .collect();
    listed.sort_by(|a, b| {
        (b.made_in_meeting, b.commitment_id).cmp(&(a.made_in_meeting, a.commitment_id))
    });
    listed.truncate(COMMITMENTS_LISTED_MAX);
    CommitmentHistory {
        per_meeting,
        commitments: listed,
    }
}

/// Per current metric, the member's own numbers and the group's medians over the last
/// [`MEETINGS_MAX`] kept meetings, as [`crate::activity::Activity::mine`] gives them.
fn benchmark_trends(state: &RoomState, me: &crate::activity::Me) -> Vec<MetricTrend> {
    let trend = state.activity.mine(me, state.meeting.id).trend;
    let recent = &trend[trend.len().saturating_sub(MEETINGS_MAX)..];
    state
        .activity
        .metrics
        .iter()
        .map(|metric| {
            let points: Vec<MetricTrendPoint> = recent
                .iter()
                .map(|point| MetricTrendPoint {
                    meeting_number: point.meeting_number,
                    mine: point.mine.get(&metric.key).copied(),
                    group_median: point.group_median.get(&metric.key).copied(),
                })
                .filter(|point| point.mine.is_some() || point.group_median.is_some())
                .collect();
            let own: Vec<f64> = points.iter().filter_map(|point| point.mine).collect();
            let direction = match own.as_slice() {
                [.., before, last] if last > before => Some(TrendDirection::Up),
                [.., before, last] if last < before => Some(TrendDirection::Down),
                [_, _, ..] => Some(TrendDirection::Flat),
                _ => None,
            };
            MetricTrend {
                key: metric.key.clone(),
                name: metric.name.clone(),
                unit: metric.unit.clone(),
                points,
                direction,
            }
        })
        .collect()
}

/// The revealed role plays where the member was the seller, oldest first: from the past
/// meetings' minutes and the room's revealed list (which holds the current meeting's), each
/// once.
fn role_plays(state: &RoomState, member_id: MemberId) -> Vec<RolePlayScores> {
    let mut seen = BTreeSet::new();
    let mut found: Vec<&RolePlayResults> = state
        .past_meetings
        .iter()
        .flat_map(|past| past.role_plays.iter())
        .chain(state.role_play.revealed.iter())
        .filter(|results| results.seller == member_id)
        .filter(|results| seen.insert(results.role_play_id))
        .collect();
    found.sort_by_key(|results| (results.revealed_at_ms, results.meeting_number));
    let skip = found.len().saturating_sub(ROLE_PLAYS_MAX);
    found
        .into_iter()
        .skip(skip)
        .map(|results| RolePlayScores {
            role_play_id: results.role_play_id,
            meeting_number: results.meeting_number,
            revealed_at_ms: results.revealed_at_ms,
            scenario: results.scenario.clone(),
            rubric_name: results.rubric_name.clone(),
            submission_count: results.submission_count,
            overall_percent: results.overall_percent,
            criteria: results.criteria.clone(),
        })
        .collect()
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
