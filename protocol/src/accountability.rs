//! Wire types of accountability across meetings: the commitment board, activity benchmarks and
//! the best-practice library.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{MeetingId, MemberId, UnixMs};

/// Numbers a commitment within its group, from 1.
pub type CommitmentId = u32;

/// Numbers a practice within its group's library, from 1.
pub type PracticeId = u32;

/// A member's promise to the group, followed up at a later meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Commitment {
    pub commitment_id: CommitmentId,
    /// Whose commitment it is.
    pub owner: MemberId,
    pub text: String,
    /// The meeting number at which it is due (the next meeting unless said otherwise).
    pub due_meeting: u32,
    /// An optional calendar date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    pub status: CommitmentStatus,
    /// Why it is partial, missed or dropped, or how it went.
    pub note: String,
    /// The meeting number it was made in.
    pub made_in_meeting: u32,
    pub source: CommitmentSource,
    pub created_at_ms: UnixMs,
    pub updated_at_ms: UnixMs,
}

/// Where a commitment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentStatus {
    Open,
    Done,
    Partial,
    Missed,
    /// Given up on purpose; not counted in completion rates.
    Dropped,
}

/// Who made a commitment, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommitmentSource {
    /// The owner added it.
    Own,
    /// A facilitator added it for the owner.
    Facilitator { by: MemberId },
    /// The owner chose it in the decide phase of a bring-a-problem item.
    Problem,
}

/// How well a member keeps their commitments, over the group's recent meetings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MemberAccountability {
    pub member_id: MemberId,
    /// Done counts 1, partial one half, missed 0, over commitments due in the last
    /// `meetings_counted` meetings and resolved; `None` before any such commitment.
    pub completion_rate_percent: Option<u8>,
    /// Resolved commitments counted in the rate.
    pub resolved_count: u32,
    /// Commitments done in a row, most recent first, up to the first partial or missed.
    pub streak: u32,
    /// Open commitments due at or before the current meeting.
    pub overdue_count: u32,
    pub meetings_counted: u32,
}

/// One activity metric the group compares, like calls made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Metric {
    /// A short stable key: lowercase letters, digits and underscores.
    pub key: String,
    pub name: String,
    /// What one unit is, e.g. "calls" or "USD".
    pub unit: String,
}

/// Whether the group sees a member's numbers with their name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    /// Shown with the member's name, and counted in the aggregates.
    Named,
    /// Counted in the aggregates only, by range (the middle of [0, 2), [2, 4), ... below 100,
    /// two significant digits from 100 on); never shown with the member's identity.
    Anonymous,
}

/// Median and quartiles of one metric over the members who submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Quartiles {
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
}

/// One member's value, shared by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct NamedValue {
    pub member_id: MemberId,
    pub value: f64,
}

/// The group's view of one metric this meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MetricView {
    pub key: String,
    /// Members who submitted a value for this metric.
    pub count: u32,
    /// Present once the aggregates may be shown (see [`BenchmarkView::aggregates_shown`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quartiles: Option<Quartiles>,
    /// Values of members who share by name.
    pub named: Vec<NamedValue>,
}

/// A ratio of two metrics, like meetings per call, over the members who reported both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RatioView {
    pub numerator: String,
    pub denominator: String,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<f64>,
}

/// What everyone sees of this meeting's benchmarks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BenchmarkView {
    pub metrics: Vec<Metric>,
    pub submitted_count: u32,
    /// Aggregates are shown once at least three members submitted and, if any of them shares
    /// anonymously, at least three do (one or two could be worked out).
    pub aggregates_shown: bool,
    pub per_metric: Vec<MetricView>,
    pub ratios: Vec<RatioView>,
}

/// One member's own benchmark numbers and their place in the group, for that member only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MyBenchmarks {
    /// This meeting's numbers, if submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<MySubmission>,
    /// Per metric key, the share of submitted values below the member's (0 to 100), when
    /// aggregates are shown; the others' anonymous values count by range.
    pub percentile_by_metric: BTreeMap<String, f64>,
    /// Past meetings, oldest first: the member's numbers (if any) and the group medians.
    pub trend: Vec<TrendPoint>,
}

/// A member's submission as they see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MySubmission {
    pub values: BTreeMap<String, f64>,
    pub sharing: Sharing,
}

/// One past meeting in a member's trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TrendPoint {
    pub meeting_number: u32,
    pub mine: BTreeMap<String, f64>,
    /// Group medians of the metrics whose aggregates were shown that meeting.
    pub group_median: BTreeMap<String, f64>,
}

/// Whether a practice helped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PracticeOutcome {
    Worked,
    DidNotWork,
}

/// An entry of the group's best-practice library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Practice {
    pub practice_id: PracticeId,
    pub title: String,
    pub description: String,
    /// Lowercase tags, e.g. "discovery", "lead-source".
    pub tags: Vec<String>,
    pub outcome: PracticeOutcome,
    pub author: MemberId,
    /// The meeting it was shared in.
    pub meeting_id: MeetingId,
    pub meeting_number: u32,
    pub created_at_ms: UnixMs,
    /// Members who upvoted it.
    pub upvoters: Vec<MemberId>,
    pub comments: Vec<PracticeComment>,
}

/// A comment on a practice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PracticeComment {
    pub author: MemberId,
    pub text: String,
    pub at_ms: UnixMs,
}
