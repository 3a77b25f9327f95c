//! Role play with anonymous live scoring: the requests, events and views of one feature.
//!
//! A facilitator sets up a role play (a seller, an optional buyer with a private brief, a
//! scenario everyone sees, and a rubric), opens scoring, and reveals the results once enough
//! members have scored. Scores and comments never cross the wire before the reveal, not even
//! to the facilitator, and nothing on the wire ever names who scored: clients only see how many
//! submissions exist ([`RolePlayEvent::SubmissionCount`]).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{MemberId, RolePlayId, UnixMs};

/// One thing scorers rate, on a whole-number scale from `scale_min` to `scale_max`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub name: String,
    /// What a good score looks like, shown to scorers next to the scale.
    pub description: String,
    pub scale_min: u32,
    pub scale_max: u32,
    /// Relative weight in the overall score (1 to 100).
    pub weight: u32,
}

/// What scorers fill in: criteria, a free-text comment, and optionally "one thing to do
/// differently".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    pub name: String,
    pub criteria: Vec<Criterion>,
    /// Whether the form asks for "one thing to do differently".
    #[serde(default)]
    pub one_thing_differently: bool,
}

/// A rubric to start from: built into the server, or saved by the group's facilitator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RubricTemplate {
    pub rubric: Rubric,
    /// Built-in templates cannot be replaced or deleted.
    pub built_in: bool,
}

/// Where a role play stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RolePlayPhase {
    /// Set up; the call is being played. Nobody can score yet.
    Setup,
    /// Scorers may submit and revise.
    Scoring,
    /// Submissions are final; waiting for the reveal.
    Closed,
    /// The results are public.
    Revealed,
}

/// A role play as everyone sees it. The buyer brief is not part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RolePlayInfo {
    pub role_play_id: RolePlayId,
    pub seller: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<MemberId>,
    /// The situation, visible to everyone.
    pub scenario: String,
    pub rubric: Rubric,
    /// The reveal is refused below this many submissions (at least 3).
    pub reveal_threshold: u32,
    pub phase: RolePlayPhase,
    /// How many members have submitted; never who.
    pub submission_count: u32,
}

/// Facilitator and scorer actions, sent as `{"type": "role_play", "action": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RolePlayRequest {
    /// Facilitator: set up a new role play. Replaces one that is in `setup` or `revealed`;
    /// refused (`conflict`) while one is being scored or waits for its reveal.
    SetUp {
        seller: MemberId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        buyer: Option<MemberId>,
        scenario: String,
        /// Sent only to the buyer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        buyer_brief: Option<String>,
        rubric: Rubric,
        /// Default 3, never below 2.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reveal_threshold: Option<u32>,
    },
    /// Facilitator: scorers may submit from now on.
    OpenScoring { role_play_id: RolePlayId },
    /// Anyone but the seller and observers, while scoring is open: score the call. A second
    /// submission with the same member token (from any page or device, also after a server
    /// restart) replaces the first.
    Submit {
        role_play_id: RolePlayId,
        /// One score per criterion, in the rubric's order, each within its scale.
        scores: Vec<u32>,
        #[serde(default)]
        comment: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        one_thing_differently: Option<String>,
    },
    /// Facilitator: submissions become final.
    CloseScoring { role_play_id: RolePlayId },
    /// Facilitator: publish the results (closes scoring if it is open). Refused below the
    /// role play's reveal threshold.
    Reveal { role_play_id: RolePlayId },
    /// Facilitator: drop the role play and every submission to it, unrevealed.
    Cancel { role_play_id: RolePlayId },
    /// Facilitator: save a rubric as a group template (replacing the group's template of the
    /// same name).
    SaveTemplate { rubric: Rubric },
    /// Facilitator: delete a group template by name.
    DeleteTemplate { name: String },
}

/// Changes to the role play, carried in events as `{"kind": "role_play", "change": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RolePlayEvent {
    /// A new role play replaces the previous one.
    SetUp {
        role_play: RolePlayInfo,
    },
    /// The private buyer brief. Sent to the buyer only (other members see a gap in `seq`).
    BuyerBrief {
        role_play_id: RolePlayId,
        buyer: MemberId,
        brief: String,
    },
    ScoringOpened {
        role_play_id: RolePlayId,
    },
    /// The number of submissions changed. Nothing says whose.
    SubmissionCount {
        role_play_id: RolePlayId,
        count: u32,
    },
    ScoringClosed {
        role_play_id: RolePlayId,
    },
    /// The results, for everyone.
    Revealed {
        results: RolePlayResults,
    },
    /// The role play was dropped with its submissions.
    Cancelled {
        role_play_id: RolePlayId,
    },
    TemplateSaved {
        rubric: Rubric,
    },
    TemplateDeleted {
        name: String,
    },
}

/// The aggregate of one criterion's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CriterionResult {
    pub name: String,
    pub scale_min: u32,
    pub scale_max: u32,
    pub weight: u32,
    pub mean: f64,
    pub median: f64,
    pub min: u32,
    pub max: u32,
    /// How many scorers gave each value, from `scale_min` to `scale_max`.
    pub distribution: Vec<u32>,
}

/// The revealed results of a role play. Comments come in random order, never in the order
/// they were submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RolePlayResults {
    pub role_play_id: RolePlayId,
    pub seller: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<MemberId>,
    pub scenario: String,
    pub rubric_name: String,
    pub meeting_number: u32,
    pub revealed_at_ms: UnixMs,
    pub submission_count: u32,
    pub criteria: Vec<CriterionResult>,
    /// The weighted mean of each criterion's mean, each placed on its scale as 0 (lowest) to
    /// 100 (highest).
    pub overall_percent: f64,
    /// The non-empty comments, shuffled.
    pub comments: Vec<String>,
    /// The non-empty "one thing to do differently" answers, shuffled.
    pub one_thing_differently: Vec<String>,
}

/// One revealed role play in a seller's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SellerTrendPoint {
    pub role_play_id: RolePlayId,
    pub meeting_number: u32,
    pub revealed_at_ms: UnixMs,
    pub rubric_name: String,
    pub overall_percent: f64,
}

/// A seller's overall scores across role plays, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SellerTrend {
    pub seller: MemberId,
    pub points: Vec<SellerTrendPoint>,
}

/// The role play part of a snapshot, as one member sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct RolePlayView {
    /// The current role play, if one is set up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<RolePlayInfo>,
    /// Present only in the buyer's own snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_brief: Option<String>,
    /// Results revealed in this group, oldest first (the most recent ones).
    #[serde(default)]
    pub revealed: Vec<RolePlayResults>,
    /// Built-in templates first, then the group's own.
    #[serde(default)]
    pub templates: Vec<RubricTemplate>,
    /// Every current member's history as a seller, for members who have been one.
    #[serde(default)]
    pub seller_trends: Vec<SellerTrend>,
    /// Whether the member this snapshot is for has a submission in the role play being scored
    /// (so that after a reload their page says so instead of showing a blank form). Computed
    /// for each connection from the member token it joined with, sent only in that
    /// connection's own snapshot, never stored: `true` only while scoring is open, the same
    /// before and after a server restart (PROTOCOL.md, "Role play and anonymous scoring").
    #[serde(default)]
    pub you_submitted: bool,
}
