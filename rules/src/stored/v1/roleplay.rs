//! Format 1 of role play and anonymous scoring: the current role play with its bag of
//! submissions, revealed results, the group's templates, sellers' trends, and the events.

use std::collections::BTreeMap;

use roundtable_protocol as wire;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::roleplay;

/// The role play part of a room (`RolePlayState`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RolePlayState {
    pub current: Option<CurrentRolePlay>,
    #[serde(default)]
    pub revealed: Vec<RolePlayResults>,
    #[serde(default)]
    pub group_templates: Vec<Rubric>,
    #[serde(default)]
    pub trends: BTreeMap<Uuid, Vec<SellerTrendPoint>>,
}

mirror_struct!(RolePlayState <=> roleplay::RolePlayState {
    current, revealed, group_templates, trends,
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrentRolePlay {
    pub info: RolePlayInfo,
    pub buyer_brief: Option<String>,
    /// The bag: random slot ids, no authors.
    #[serde(default)]
    pub submissions: BTreeMap<Uuid, ScoringSubmission>,
}

mirror_struct!(CurrentRolePlay <=> roleplay::CurrentRolePlay { info, buyer_brief, submissions });

/// One scorer's form, with nothing about the scorer (`roleplay::Submission`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoringSubmission {
    pub scores: Vec<u32>,
    pub comment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_thing_differently: Option<String>,
}

impl std::fmt::Debug for ScoringSubmission {
    /// Never prints the content, as the in-memory submission.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ScoringSubmission(..)")
    }
}

mirror_struct!(ScoringSubmission <=> roleplay::Submission {
    scores, comment, one_thing_differently,
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolePlayInfo {
    pub role_play_id: Uuid,
    pub seller: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Uuid>,
    pub scenario: String,
    pub rubric: Rubric,
    pub reveal_threshold: u32,
    pub phase: RolePlayPhase,
    pub submission_count: u32,
}

mirror_struct!(RolePlayInfo <=> wire::RolePlayInfo {
    role_play_id, seller, buyer, scenario, rubric, reveal_threshold, phase, submission_count,
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    pub name: String,
    pub criteria: Vec<Criterion>,
    #[serde(default)]
    pub one_thing_differently: bool,
}

mirror_struct!(Rubric <=> wire::Rubric { name, criteria, one_thing_differently });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub name: String,
    pub description: String,
    pub scale_min: u32,
    pub scale_max: u32,
    pub weight: u32,
}

mirror_struct!(Criterion <=> wire::Criterion { name, description, scale_min, scale_max, weight });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolePlayPhase {
    Setup,
    Scoring,
    Closed,
    Revealed,
}

mirror_enum!(RolePlayPhase <=> wire::RolePlayPhase { Setup, Scoring, Closed, Revealed });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolePlayResults {
    pub role_play_id: Uuid,
    pub seller: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Uuid>,
    pub scenario: String,
    pub rubric_name: String,
    pub meeting_number: u32,
    pub revealed_at_ms: u64,
    pub submission_count: u32,
    pub criteria: Vec<CriterionResult>,
    pub overall_percent: f64,
    pub comments: Vec<String>,
    pub one_thing_differently: Vec<String>,
}

mirror_struct!(RolePlayResults <=> wire::RolePlayResults {
    role_play_id, seller, buyer, scenario, rubric_name, meeting_number, revealed_at_ms,
    submission_count, criteria, overall_percent, comments, one_thing_differently,
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionResult {
    pub name: String,
    pub scale_min: u32,
    pub scale_max: u32,
    pub weight: u32,
    pub mean: f64,
    pub median: f64,
    pub min: u32,
    pub max: u32,
    pub distribution: Vec<u32>,
}

mirror_struct!(CriterionResult <=> wire::CriterionResult {
    name, scale_min, scale_max, weight, mean, median, min, max, distribution,
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SellerTrendPoint {
    pub role_play_id: Uuid,
    pub meeting_number: u32,
    pub revealed_at_ms: u64,
    pub rubric_name: String,
    pub overall_percent: f64,
}

mirror_struct!(SellerTrendPoint <=> wire::SellerTrendPoint {
    role_play_id, meeting_number, revealed_at_ms, rubric_name, overall_percent,
});

/// A change to the role play (`RolePlayEvent`; the same JSON as on the wire in format 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RolePlayEvent {
    SetUp {
        role_play: RolePlayInfo,
    },
    BuyerBrief {
        role_play_id: Uuid,
        buyer: Uuid,
        brief: String,
    },
    ScoringOpened {
        role_play_id: Uuid,
    },
    SubmissionCount {
        role_play_id: Uuid,
        count: u32,
    },
    ScoringClosed {
        role_play_id: Uuid,
    },
    Revealed {
        results: RolePlayResults,
    },
    Cancelled {
        role_play_id: Uuid,
    },
    TemplateSaved {
        rubric: Rubric,
    },
    TemplateDeleted {
        name: String,
    },
}

mirror_enum!(RolePlayEvent <=> wire::RolePlayEvent {
    SetUp { role_play },
    BuyerBrief { role_play_id, buyer, brief },
    ScoringOpened { role_play_id },
    SubmissionCount { role_play_id, count },
    ScoringClosed { role_play_id },
    Revealed { results },
    Cancelled { role_play_id },
    TemplateSaved { rubric },
    TemplateDeleted { name },
});
