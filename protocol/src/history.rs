//! A member's own history across the group's kept meetings: the answer to
//! [`crate::Request::GetMyHistory`], computed for the asking member alone.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{
    Commitment, CriterionResult, MemberAccountability, MemberId, Minutes, RolePlayId, UnixMs,
};

/// One member's history: what they may read of past meetings, their commitments, their numbers
/// against the group's and the scores the group gave their role plays. Nothing in it names who
/// scored, and no other member's anonymous number is in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MyHistory {
    pub member_id: MemberId,
    pub summary: HistorySummary,
    /// The minutes of the kept past meetings held since the member joined, newest first (the
    /// same minutes facilitators read; the current meeting is not among them).
    pub meetings: Vec<Minutes>,
    /// The member's commitments meeting by meeting.
    pub commitments: CommitmentHistory,
    /// The member's numbers against the group's medians, one entry per current metric.
    pub benchmarks: Vec<MetricTrend>,
    /// The revealed role plays where the member was the seller, oldest first.
    pub role_plays: Vec<RolePlayScores>,
}

/// The top of the history page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct HistorySummary {
    /// Meetings held since the member joined among the kept ones (the current one included).
    pub meetings_held: u32,
    /// Of those, the meetings the member was in the room for.
    pub meetings_attended: u32,
    /// Done counts 1, partial one half, missed 0, over every resolved commitment of the member
    /// that the board still keeps; `None` before any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_rate_percent: Option<u8>,
    /// The rate, streak and overdue count as the board shows them (the recent meetings).
    pub recent: MemberAccountability,
}

/// The member's commitments over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CommitmentHistory {
    /// One row per meeting from the member's first commitment (or the oldest kept meeting) to
    /// the current one, oldest first.
    pub per_meeting: Vec<CommitmentMeeting>,
    /// The member's commitments, newest first, at most 100.
    pub commitments: Vec<Commitment>,
}

/// What happened to one member's commitments at one meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CommitmentMeeting {
    pub meeting_number: u32,
    /// Made in this meeting.
    pub made: u32,
    /// Due at this meeting and reported done.
    pub done: u32,
    /// Due at this meeting and reported partly done.
    pub partial: u32,
    /// Due at this meeting and reported missed.
    pub missed: u32,
    /// Due at this meeting and dropped on purpose.
    pub dropped: u32,
    /// Due at this (past) meeting and still open: carried on to later meetings.
    pub carried: u32,
}

/// One metric: the member's own number and the group's median, meeting by meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MetricTrend {
    pub key: String,
    pub name: String,
    pub unit: String,
    /// Kept past meetings, oldest first, where the member or the group has a value.
    pub points: Vec<MetricTrendPoint>,
    /// The member's last value against their one before; `None` with fewer than two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<TrendDirection>,
}

/// One past meeting of a [`MetricTrend`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct MetricTrendPoint {
    pub meeting_number: u32,
    /// The member's own number, whether shared by name or anonymously.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mine: Option<f64>,
    /// The group's median, when the benchmark rules showed aggregates that meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_median: Option<f64>,
}

/// Which way a member's number went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TrendDirection {
    Up,
    Down,
    Flat,
}

/// A revealed role play in its seller's history: the aggregates the group gave, as revealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RolePlayScores {
    pub role_play_id: RolePlayId,
    pub meeting_number: u32,
    pub revealed_at_ms: UnixMs,
    pub scenario: String,
    pub rubric_name: String,
    pub submission_count: u32,
    pub overall_percent: f64,
    pub criteria: Vec<CriterionResult>,
}
