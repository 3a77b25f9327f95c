//! Format 1 of the accountability features: commitments, sales activity ("benchmarks"),
//! practices, and the minutes of past meetings.

use std::collections::BTreeMap;

use roundtable_protocol as wire;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AgendaItem, RolePlayResults, TalkTime};
use crate::{activity, commitments, practices};

/// The group's commitments (`CommitmentBoard`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommitmentBoard {
    pub commitments: Vec<Commitment>,
    pub next_id: u32,
}

mirror_struct!(CommitmentBoard <=> commitments::CommitmentBoard { commitments, next_id });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commitment {
    pub commitment_id: u32,
    pub owner: Uuid,
    pub text: String,
    pub due_meeting: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    pub status: CommitmentStatus,
    pub note: String,
    pub made_in_meeting: u32,
    pub source: CommitmentSource,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
}

mirror_struct!(Commitment <=> wire::Commitment {
    commitment_id, owner, text, due_meeting, due_date, status, note, made_in_meeting, source,
    created_at_ms, updated_at_ms,
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentStatus {
    Open,
    Done,
    Partial,
    Missed,
    Dropped,
}

mirror_enum!(CommitmentStatus <=> wire::CommitmentStatus { Open, Done, Partial, Missed, Dropped });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommitmentSource {
    Own,
    Facilitator { by: Uuid },
    Problem,
}

mirror_enum!(CommitmentSource <=> wire::CommitmentSource { Own, Facilitator { by }, Problem });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberAccountability {
    pub member_id: Uuid,
    pub completion_rate_percent: Option<u8>,
    pub resolved_count: u32,
    pub streak: u32,
    pub overdue_count: u32,
    pub meetings_counted: u32,
}

mirror_struct!(MemberAccountability <=> wire::MemberAccountability {
    member_id, completion_rate_percent, resolved_count, streak, overdue_count, meetings_counted,
});

/// The group's metrics and numbers (`Activity`; stored as `benchmarks`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub metrics: Vec<Metric>,
    pub current: BTreeMap<Uuid, ActivitySubmission>,
    pub history: Vec<PastBenchmarks>,
}

// Read forward into format 4's `Activity`, which keeps anonymous numbers by place.

/// One member's numbers for one meeting (`activity::Submission`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivitySubmission {
    pub values: BTreeMap<String, f64>,
    pub sharing: Sharing,
}

mirror_struct!(ActivitySubmission <=> activity::Submission { values, sharing });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastBenchmarks {
    pub meeting_number: u32,
    pub group_median: BTreeMap<String, f64>,
    pub values_by_member: BTreeMap<Uuid, BTreeMap<String, f64>>,
}

// Read forward into format 4's `PastBenchmarks`.

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metric {
    pub key: String,
    pub name: String,
    pub unit: String,
}

mirror_struct!(Metric <=> wire::Metric { key, name, unit });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    Named,
    Anonymous,
}

mirror_enum!(Sharing <=> wire::Sharing { Named, Anonymous });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkView {
    pub metrics: Vec<Metric>,
    pub submitted_count: u32,
    pub aggregates_shown: bool,
    pub per_metric: Vec<MetricView>,
    pub ratios: Vec<RatioView>,
}

mirror_struct!(BenchmarkView <=> wire::BenchmarkView {
    metrics, submitted_count, aggregates_shown, per_metric, ratios,
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricView {
    pub key: String,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quartiles: Option<Quartiles>,
    pub named: Vec<NamedValue>,
}

mirror_struct!(MetricView <=> wire::MetricView { key, count, quartiles, named });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quartiles {
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
}

mirror_struct!(Quartiles <=> wire::Quartiles { q1, median, q3 });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedValue {
    pub member_id: Uuid,
    pub value: f64,
}

mirror_struct!(NamedValue <=> wire::NamedValue { member_id, value });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioView {
    pub numerator: String,
    pub denominator: String,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<f64>,
}

mirror_struct!(RatioView <=> wire::RatioView { numerator, denominator, count, median });

/// The group's best-practice library (`Library`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Library {
    pub practices: Vec<Practice>,
}

mirror_struct!(Library <=> practices::Library { practices });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Practice {
    pub practice_id: u32,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub outcome: PracticeOutcome,
    pub author: Uuid,
    pub meeting_id: Uuid,
    pub meeting_number: u32,
    pub created_at_ms: u64,
    pub upvoters: Vec<Uuid>,
    pub comments: Vec<PracticeComment>,
}

mirror_struct!(Practice <=> wire::Practice {
    practice_id, title, description, tags, outcome, author, meeting_id, meeting_number,
    created_at_ms, upvoters, comments,
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PracticeOutcome {
    Worked,
    DidNotWork,
}

mirror_enum!(PracticeOutcome <=> wire::PracticeOutcome { Worked, DidNotWork });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PracticeComment {
    pub author: Uuid,
    pub text: String,
    pub at_ms: u64,
}

mirror_struct!(PracticeComment <=> wire::PracticeComment { author, text, at_ms });

/// A past meeting's minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Minutes {
    pub group_name: String,
    pub meeting_id: Uuid,
    pub meeting_number: u32,
    pub started_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<u64>,
    pub attendees: Vec<Attendee>,
    #[serde(default)]
    pub agenda: Vec<AgendaItem>,
    #[serde(default)]
    pub talk_times: Vec<TalkTime>,
    #[serde(default)]
    pub role_plays: Vec<RolePlayResults>,
    pub commitments_made: Vec<Commitment>,
    pub commitments_reported: Vec<Commitment>,
    pub benchmarks: BenchmarkView,
    pub practices: Vec<Practice>,
}

// Read forward into format 2's `Minutes`, whose agenda items have clocks.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attendee {
    pub member_id: Uuid,
    pub display_name: String,
}

mirror_struct!(Attendee <=> wire::Attendee { member_id, display_name });
