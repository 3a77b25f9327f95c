//! Role play with anonymous live scoring: its state, its rules and its events, as a pure part of
//! the room's state machine (no I/O, no clock, no randomness: all come in as arguments).
//!
//! # How anonymity is kept here
//!
//! Submissions are the one change to a room that is *not* an event. An event is logged in order
//! with a timestamp next to events that name members (attendance, hands), so a submission logged
//! as an event would be linkable by its position. Instead a submission goes into an unordered
//! bag, [`CurrentRolePlay::submissions`], keyed by a [`SubmissionSlot`] that looks random (a
//! place derived from the scorer's in-memory pseudonym key, see [`slot`]) and holding no member
//! id, name, token or connection id. The bag is made durable in the room's snapshot
//! (written in the same atomic batch as the only event a submission may cause,
//! [`RolePlayEvent::SubmissionCount`], which carries a number and nothing else). The room actor
//! applies a submission with [`RolePlayState::put_submission`] after that write succeeds.
//!
//! Which slot is whose can be computed only with the scorer's pseudonym key, which exists only
//! in the room actor's memory beside the scorer's own connections (see [`slot`]). Scores and
//! comments never go to any client before the reveal; the reveal publishes aggregates and
//! comments in random order and destroys the bag.

pub mod aggregate;
mod rules;
pub mod slot;
pub mod templates;

pub use rules::{decide, decide_submission, results_of, valid_rubric};

use std::collections::BTreeMap;

use roundtable_protocol::{
    self as wire, ErrorCode, MemberId, Role, RolePlayEvent, RolePlayId, RolePlayInfo,
    RolePlayPhase, Rubric, UnixMs,
};
use uuid::Uuid;

use crate::command::RolePlayCommand;
use crate::error::RoomError;
use crate::event::RoomEvent;
use crate::limits::RoomLimits;
use crate::roster::{Audience, Roster, require_facilitator};
use crate::secret::PseudonymKey;
use crate::text;

/// Criteria in one rubric.
pub const CRITERIA_MAX: usize = 12;
/// Longest rubric (and template) name, in characters.
pub const RUBRIC_NAME_CHARS_MAX: usize = 60;
/// Longest criterion name, in characters.
pub const CRITERION_NAME_CHARS_MAX: usize = 60;
/// Longest criterion description, in characters.
pub const CRITERION_DESCRIPTION_CHARS_MAX: usize = 300;
/// Most points on one criterion's scale (1-100 has 100).
pub const SCALE_POINTS_MAX: u32 = 100;
/// Highest criterion weight.
pub const WEIGHT_MAX: u32 = 100;
/// Longest scenario, in characters.
pub const SCENARIO_CHARS_MAX: usize = 2000;
/// Longest buyer brief, in characters.
pub const BUYER_BRIEF_CHARS_MAX: usize = 2000;
/// Longest comment, in characters.
pub const COMMENT_CHARS_MAX: usize = 1000;
/// Longest "one thing to do differently", in characters.
pub const ONE_THING_CHARS_MAX: usize = 300;
/// Templates a group may save (besides the built-in ones).
pub const GROUP_TEMPLATES_MAX: usize = 20;
/// Revealed results kept in the room's state (and snapshot); older ones stay in the log.
pub const REVEALED_KEPT_MAX: usize = 10;
/// Points kept in one seller's trend; the oldest go first.
pub const TREND_POINTS_PER_SELLER_MAX: usize = 50;
/// The reveal threshold when the facilitator names none.
pub const REVEAL_THRESHOLD_DEFAULT: u32 = 3;
/// The lowest reveal threshold. With one submission its author would be known; with two,
/// each of the two scorers could subtract their own scores from the results and read the
/// other's scores and comment.
pub const REVEAL_THRESHOLD_MIN: u32 = 3;

/// The name of one submission in the bag: 128 bits shaped as a random UUID, derived from the
/// scorer's pseudonym key ([`slot::slot_of`]). It says nothing about who submitted or when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubmissionSlot(pub Uuid);

impl SubmissionSlot {
    /// A random slot, for tests; the room actor draws its own.
    #[cfg(test)]
    pub fn random() -> Self {
        SubmissionSlot(Uuid::new_v4())
    }
}

/// One scorer's form, with nothing about the scorer.
#[derive(Clone, PartialEq)]
pub struct Submission {
    pub scores: Vec<u32>,
    pub comment: String,
    pub one_thing_differently: Option<String>,
}

impl std::fmt::Debug for Submission {
    /// Never prints the content, so that a stray `{:?}` cannot put a submission in a log line.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Submission(..)")
    }
}

/// What the role play rules read of the room: their state, the members, the current meeting.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub role_play: &'a RolePlayState,
    pub roster: Roster<'a>,
    pub meeting_number: u32,
}

/// The role play part of a room's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RolePlayState {
    pub current: Option<CurrentRolePlay>,
    /// The latest [`REVEALED_KEPT_MAX`] results, oldest first.
    pub revealed: Vec<wire::RolePlayResults>,
    /// The group's own templates.
    pub group_templates: Vec<Rubric>,
    /// Revealed overall scores per seller, oldest first.
    pub trends: BTreeMap<MemberId, Vec<wire::SellerTrendPoint>>,
}

/// The role play in progress (or the last one, once revealed).
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentRolePlay {
    pub info: RolePlayInfo,
    pub buyer_brief: Option<String>,
    /// The bag of submissions: no order, no authors. Emptied at the reveal.
    pub submissions: BTreeMap<SubmissionSlot, Submission>,
}

/// Values the rules need that the caller draws: a fresh id and randomness for the shuffle.
#[derive(Debug, Clone, Copy)]
pub struct Fresh {
    pub role_play_id: RolePlayId,
    pub shuffle_seed: u64,
}

/// An accepted submission, for the actor to store and apply.
#[derive(Debug, Clone)]
pub struct SubmissionDecision {
    /// Where it goes: the member's earlier slot (a revision) or a new random one.
    pub slot: SubmissionSlot,
    pub submission: Submission,
    pub replaced: bool,
    /// The count event, when the count changes (not for a revision).
    pub count_event: Option<RoomEvent>,
}

impl RolePlayState {
    /// The current role play if it is `role_play_id`; a stale click on an earlier one gets
    /// `not_found`.
    pub fn require_current(&self, role_play_id: RolePlayId) -> Result<&CurrentRolePlay, RoomError> {
        self.current
            .as_ref()
            .filter(|current| current.info.role_play_id == role_play_id)
            .ok_or_else(|| {
                RoomError::new(
                    ErrorCode::NotFound,
                    format!("role play {role_play_id} is not the current one"),
                )
            })
    }

    /// The id of the role play being scored, if scoring is open.
    pub fn scoring_open(&self) -> Option<RolePlayId> {
        self.current
            .as_ref()
            .filter(|current| current.info.phase == RolePlayPhase::Scoring)
            .map(|current| current.info.role_play_id)
    }

    /// Folds one role play event into the state.
    pub fn apply(&mut self, change: &RolePlayEvent) {
        match change {
            RolePlayEvent::SetUp { role_play } => {
                self.current = Some(CurrentRolePlay {
                    info: role_play.clone(),
                    buyer_brief: None,
                    submissions: BTreeMap::new(),
                });
            }
            RolePlayEvent::BuyerBrief {
                role_play_id,
                brief,
                ..
            } => {
                if let Some(current) = self.current_mut(*role_play_id) {
                    current.buyer_brief = Some(brief.clone());
                }
            }
            RolePlayEvent::ScoringOpened { role_play_id } => {
                if let Some(current) = self.current_mut(*role_play_id) {
                    current.info.phase = RolePlayPhase::Scoring;
                }
            }
            RolePlayEvent::SubmissionCount {
                role_play_id,
                count,
            } => {
                if let Some(current) = self.current_mut(*role_play_id) {
                    current.info.submission_count = *count;
                }
            }
            RolePlayEvent::ScoringClosed { role_play_id } => {
                if let Some(current) = self.current_mut(*role_play_id) {
                    current.info.phase = RolePlayPhase::Closed;
                }
            }
            RolePlayEvent::Revealed { results } => {
                if let Some(current) = self.current_mut(results.role_play_id) {
                    current.info.phase = RolePlayPhase::Revealed;
                    // The individual submissions are destroyed: only the aggregates and the
                    // shuffled comments in the results remain.
                    current.submissions.clear();
                }
                self.revealed.push(results.clone());
                if self.revealed.len() > REVEALED_KEPT_MAX {
                    self.revealed.remove(0);
                }
                let points = self.trends.entry(results.seller).or_default();
                points.push(wire::SellerTrendPoint {
                    role_play_id: results.role_play_id,
                    meeting_number: results.meeting_number,
                    revealed_at_ms: results.revealed_at_ms,
                    rubric_name: results.rubric_name.clone(),
                    overall_percent: results.overall_percent,
                });
                if points.len() > TREND_POINTS_PER_SELLER_MAX {
                    points.remove(0);
                }
            }
            RolePlayEvent::Cancelled { role_play_id } => {
                if self.current_mut(*role_play_id).is_some() {
                    self.current = None;
                }
            }
            RolePlayEvent::TemplateSaved { rubric } => {
                match self
                    .group_templates
                    .iter_mut()
                    .find(|template| same_name(&template.name, &rubric.name))
                {
                    Some(template) => *template = rubric.clone(),
                    None => self.group_templates.push(rubric.clone()),
                }
            }
            RolePlayEvent::TemplateDeleted { name } => self
                .group_templates
                .retain(|template| !same_name(&template.name, name)),
        }
    }

    fn current_mut(&mut self, role_play_id: RolePlayId) -> Option<&mut CurrentRolePlay> {
        self.current
            .as_mut()
            .filter(|current| current.info.role_play_id == role_play_id)
    }

    /// A member left the group: their trend goes with them.
    pub fn forget_member(&mut self, member_id: MemberId) {
        self.trends.remove(&member_id);
    }

    /// The role play as `viewer` sees it: the buyer brief only for the buyer.
    pub fn view_for(&self, viewer: MemberId, members: &[MemberId]) -> wire::RolePlayView {
        let current = self.current.as_ref();
        let buyer_brief = current
            .filter(|current| current.info.buyer == Some(viewer))
            .and_then(|current| current.buyer_brief.clone());
        let mut templates: Vec<wire::RubricTemplate> = templates::built_in()
            .into_iter()
            .map(|rubric| wire::RubricTemplate {
                rubric,
                built_in: true,
            })
            .collect();
        templates.extend(
            self.group_templates
                .iter()
                .map(|rubric| wire::RubricTemplate {
                    rubric: rubric.clone(),
                    built_in: false,
                }),
        );
        wire::RolePlayView {
            current: current.map(|current| current.info.clone()),
            buyer_brief,
            revealed: self.revealed.clone(),
            templates,
            seller_trends: members
                .iter()
                .filter_map(|member| {
                    self.trends.get(member).map(|points| wire::SellerTrend {
                        seller: *member,
                        points: points.clone(),
                    })
                })
                .collect(),
            // Only a connection's pseudonym key tells whether its member submitted; the
            // snapshot built for a connection sets it (`RoomState::to_wire_snapshot_with_key`).
            you_submitted: false,
        }
    }

    /// Checks the role play's invariants; tests call this after every step.
    pub fn check_invariants(&self) -> Result<(), String> {
        if let Some(current) = &self.current {
            let info = &current.info;
            if info.phase != RolePlayPhase::Revealed
                && info.submission_count as usize != current.submissions.len()
            {
                return Err(format!(
                    "role play counts {} submissions but holds {}",
                    info.submission_count,
                    current.submissions.len()
                ));
            }
            if matches!(info.phase, RolePlayPhase::Setup | RolePlayPhase::Revealed)
                && !current.submissions.is_empty()
            {
                return Err(format!("role play in {:?} holds submissions", info.phase));
            }
            for submission in current.submissions.values() {
                if submission.scores.len() != info.rubric.criteria.len() {
                    return Err("a submission does not fit the rubric".into());
                }
            }
        }
        if self.revealed.len() > REVEALED_KEPT_MAX {
            return Err("too many revealed results kept".into());
        }
        Ok(())
    }
}

impl RolePlayState {
    /// Whether the member whose pseudonym key is `key` has a submission in the bag of the role
    /// play being scored: whether the key's slot is there.
    pub fn submitted_with(&self, key: &PseudonymKey) -> bool {
        let (Some(open), Some(current)) = (self.scoring_open(), self.current.as_ref()) else {
            return false;
        };
        current.submissions.contains_key(&slot::slot_of(key, open))
    }

    /// Puts a submission into the bag (a revision replaces its slot). This is the one change to
    /// a room that is not an event; the actor calls it only after the snapshot holding the
    /// submission is durable. See the module documentation for why.
    pub fn put_submission(&mut self, slot: SubmissionSlot, submission: Submission) {
        if let Some(current) = self.current.as_mut() {
            current.submissions.insert(slot, submission);
            current.info.submission_count = current.submissions.len() as u32;
        }
    }
}

/// Who receives a role play event: the buyer brief goes to the buyer alone.
pub fn audience(change: &RolePlayEvent) -> Audience {
    match change {
        RolePlayEvent::BuyerBrief { buyer, .. } => Audience::Only(*buyer),
        _ => Audience::Everyone,
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

fn invalid(message: impl Into<String>) -> RoomError {
    RoomError::new(ErrorCode::Invalid, message)
}

fn conflict(message: impl Into<String>) -> RoomError {
    RoomError::new(ErrorCode::Conflict, message)
}

#[cfg(test)]
mod tests;
