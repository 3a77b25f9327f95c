//! Role play with anonymous live scoring: its state, its rules and its events, as a pure part of
//! the room's state machine (no I/O, no clock, no randomness: all come in as arguments).
//!
//! # How anonymity is kept here
//!
//! Submissions are the one change to a room that is *not* an event. An event is logged in order
//! with a timestamp next to events that name members (presence, hands), so a submission logged
//! as an event would be linkable by its position. Instead a submission goes into an unordered
//! bag, [`CurrentRolePlay::submissions`], keyed by a random [`SubmissionSlot`] and holding no
//! member id, name, token or connection id. The bag is made durable in the room's snapshot
//! (written in the same atomic batch as the only event a submission may cause,
//! [`RolePlayEvent::SubmissionCount`], which carries a number and nothing else). The room actor
//! applies a submission with [`RoomState::put_submission`] after that write succeeds.
//!
//! Who submitted which slot is known only to the room actor's memory, as a keyed hash of member
//! and role play (see [`dedupe`]), and only while scoring is open. Scores and comments never go
//! to any client before the reveal; the reveal publishes aggregates and comments in random order
//! and destroys the bag.

pub mod aggregate;
pub mod dedupe;
pub mod templates;

use std::collections::BTreeMap;

use roundtable_protocol::{
    self as wire, ErrorCode, MemberId, Role, RolePlayEvent, RolePlayId, RolePlayInfo,
    RolePlayPhase, Rubric, UnixMs,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::command::RolePlayCommand;
use crate::limits::RoomLimits;
use crate::state::{
    Audience, RoomError, RoomEvent, RoomState, require_facilitator, require_member_role,
};
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
/// The lowest reveal threshold: with one submission, its author would be known.
pub const REVEAL_THRESHOLD_MIN: u32 = 2;

/// A random name for one submission in the bag. It says nothing about who submitted or when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubmissionSlot(pub Uuid);

impl SubmissionSlot {
    /// A random slot, for tests; the room actor draws its own.
    #[cfg(test)]
    pub fn random() -> Self {
        SubmissionSlot(Uuid::new_v4())
    }
}

/// One scorer's form, with nothing about the scorer.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub scores: Vec<u32>,
    pub comment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_thing_differently: Option<String>,
}

impl std::fmt::Debug for Submission {
    /// Never prints the content, so that a stray `{:?}` cannot put a submission in a log line.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Submission(..)")
    }
}

/// The role play part of a room's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RolePlayState {
    pub current: Option<CurrentRolePlay>,
    /// The latest [`REVEALED_KEPT_MAX`] results, oldest first.
    #[serde(default)]
    pub revealed: Vec<wire::RolePlayResults>,
    /// The group's own templates.
    #[serde(default)]
    pub group_templates: Vec<Rubric>,
    /// Revealed overall scores per seller, oldest first.
    #[serde(default)]
    pub trends: BTreeMap<MemberId, Vec<wire::SellerTrendPoint>>,
}

/// The role play in progress (or the last one, once revealed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrentRolePlay {
    pub info: RolePlayInfo,
    pub buyer_brief: Option<String>,
    /// The bag of submissions: no order, no authors. Emptied at the reveal.
    #[serde(default)]
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
            // Only the room actor knows who submitted (in memory, see `dedupe`); it sets this
            // in the viewer's own snapshot (`RoomActor::wire_snapshot_for`).
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

impl RoomState {
    /// Puts a submission into the bag (a revision replaces its slot). This is the one change to
    /// a room that is not an event; the actor calls it only after the snapshot holding the
    /// submission is durable. See the module documentation for why.
    pub fn put_submission(&mut self, slot: SubmissionSlot, submission: Submission) {
        if let Some(current) = self.role_play.current.as_mut() {
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

/// Checks a rubric and returns it cleaned (names and descriptions trimmed).
pub fn valid_rubric(rubric: &Rubric) -> Result<Rubric, RoomError> {
    let name = text::required_block("the rubric name", &rubric.name, RUBRIC_NAME_CHARS_MAX)?;
    if rubric.criteria.is_empty() {
        return Err(invalid("a rubric needs at least one criterion"));
    }
    if rubric.criteria.len() > CRITERIA_MAX {
        return Err(invalid(format!(
            "a rubric has at most {CRITERIA_MAX} criteria; this one has {}",
            rubric.criteria.len()
        )));
    }
    let mut criteria = Vec::with_capacity(rubric.criteria.len());
    for (index, criterion) in rubric.criteria.iter().enumerate() {
        let number = index + 1;
        let criterion_name = text::required_block(
            &format!("the name of criterion {number}"),
            &criterion.name,
            CRITERION_NAME_CHARS_MAX,
        )?;
        if criteria
            .iter()
            .any(|other: &wire::Criterion| same_name(&other.name, &criterion_name))
        {
            return Err(invalid(format!(
                "two criteria are named \"{criterion_name}\""
            )));
        }
        let description = text::block(
            &format!("the description of criterion {number}"),
            &criterion.description,
            CRITERION_DESCRIPTION_CHARS_MAX,
        )?;
        if criterion.scale_min >= criterion.scale_max
            || criterion.scale_max - criterion.scale_min + 1 > SCALE_POINTS_MAX
        {
            return Err(invalid(format!(
                "criterion {number} needs a scale from a lower to a higher value with at most {SCALE_POINTS_MAX} points (like 1 to 5)"
            )));
        }
        if criterion.weight == 0 || criterion.weight > WEIGHT_MAX {
            return Err(invalid(format!(
                "criterion {number} needs a weight from 1 to {WEIGHT_MAX}"
            )));
        }
        criteria.push(wire::Criterion {
            name: criterion_name,
            description,
            scale_min: criterion.scale_min,
            scale_max: criterion.scale_max,
            weight: criterion.weight,
        });
    }
    Ok(Rubric {
        name,
        criteria,
        one_thing_differently: rubric.one_thing_differently,
    })
}

/// Decides a facilitator's role play request. A scorer's submission is not an event: see
/// [`decide_submission`].
pub fn decide(
    state: &RoomState,
    by: MemberId,
    action: &RolePlayCommand,
    fresh: Fresh,
    now_ms: UnixMs,
    limits: &RoomLimits,
) -> Result<Vec<RoomEvent>, RoomError> {
    require_facilitator(require_member_role(state, by)?)?;
    let role_play = &state.role_play;
    let current_with = |role_play_id: RolePlayId| role_play.require_current(role_play_id);
    let wrap = |change: RolePlayEvent| RoomEvent::RolePlay { change };
    match action {
        RolePlayCommand::SetUp {
            seller,
            buyer,
            scenario,
            buyer_brief,
            rubric,
            reveal_threshold,
        } => {
            if let Some(current) = &role_play.current
                && matches!(
                    current.info.phase,
                    RolePlayPhase::Scoring | RolePlayPhase::Closed
                )
            {
                return Err(conflict(
                    "the current role play is being scored; reveal or cancel it first",
                ));
            }
            let seller_role = state.role_of(*seller).ok_or_else(|| {
                RoomError::new(
                    ErrorCode::NotFound,
                    format!("no member {seller} in this group"),
                )
            })?;
            if seller_role == Role::Observer {
                return Err(invalid("an observer cannot play the seller"));
            }
            if let Some(buyer) = buyer {
                if state.member(*buyer).is_none() {
                    return Err(RoomError::new(
                        ErrorCode::NotFound,
                        format!("no member {buyer} in this group"),
                    ));
                }
                if buyer == seller {
                    return Err(invalid(
                        "the buyer and the seller must be different members",
                    ));
                }
            }
            let brief = match buyer_brief {
                Some(brief) => {
                    let brief = text::block("the buyer brief", brief, BUYER_BRIEF_CHARS_MAX)?;
                    if buyer.is_none() && !brief.is_empty() {
                        return Err(invalid("a buyer brief needs a buyer"));
                    }
                    Some(brief).filter(|brief| !brief.is_empty())
                }
                None => None,
            };
            let scenario = text::required_block("the scenario", scenario, SCENARIO_CHARS_MAX)?;
            let rubric = valid_rubric(rubric)?;
            let threshold = reveal_threshold.unwrap_or(REVEAL_THRESHOLD_DEFAULT);
            let threshold_max = limits.members_per_room_max as u32;
            if !(REVEAL_THRESHOLD_MIN..=threshold_max).contains(&threshold) {
                return Err(invalid(format!(
                    "the reveal threshold must be from {REVEAL_THRESHOLD_MIN} to {threshold_max}"
                )));
            }
            let mut events = vec![wrap(RolePlayEvent::SetUp {
                role_play: RolePlayInfo {
                    role_play_id: fresh.role_play_id,
                    seller: *seller,
                    buyer: *buyer,
                    scenario,
                    rubric,
                    reveal_threshold: threshold,
                    phase: RolePlayPhase::Setup,
                    submission_count: 0,
                },
            })];
            if let (Some(buyer), Some(brief)) = (buyer, brief) {
                events.push(wrap(RolePlayEvent::BuyerBrief {
                    role_play_id: fresh.role_play_id,
                    buyer: *buyer,
                    brief,
                }));
            }
            Ok(events)
        }
        RolePlayCommand::OpenScoring { role_play_id } => {
            let current = current_with(*role_play_id)?;
            match current.info.phase {
                RolePlayPhase::Setup => Ok(vec![wrap(RolePlayEvent::ScoringOpened {
                    role_play_id: *role_play_id,
                })]),
                RolePlayPhase::Scoring => Ok(Vec::new()),
                RolePlayPhase::Closed | RolePlayPhase::Revealed => Err(conflict(
                    "scoring of this role play has ended; set up a new role play",
                )),
            }
        }
        RolePlayCommand::CloseScoring { role_play_id } => {
            let current = current_with(*role_play_id)?;
            match current.info.phase {
                RolePlayPhase::Scoring => Ok(vec![wrap(RolePlayEvent::ScoringClosed {
                    role_play_id: *role_play_id,
                })]),
                RolePlayPhase::Closed => Ok(Vec::new()),
                RolePlayPhase::Setup => Err(conflict("scoring has not been opened yet")),
                RolePlayPhase::Revealed => Err(conflict("the results are out already")),
            }
        }
        RolePlayCommand::Reveal { role_play_id } => {
            let current = current_with(*role_play_id)?;
            match current.info.phase {
                RolePlayPhase::Scoring | RolePlayPhase::Closed => {}
                RolePlayPhase::Setup => return Err(conflict("scoring has not been opened yet")),
                RolePlayPhase::Revealed => return Err(conflict("the results are out already")),
            }
            let count = current.submissions.len() as u32;
            if count < current.info.reveal_threshold {
                return Err(conflict(format!(
                    "{count} submissions so far; the reveal needs at least {}",
                    current.info.reveal_threshold
                )));
            }
            let mut events = Vec::new();
            if current.info.phase == RolePlayPhase::Scoring {
                events.push(wrap(RolePlayEvent::ScoringClosed {
                    role_play_id: *role_play_id,
                }));
            }
            let results = results_of(current, state.meeting.number, now_ms, fresh.shuffle_seed);
            events.push(wrap(RolePlayEvent::Revealed { results }));
            Ok(events)
        }
        RolePlayCommand::Cancel { role_play_id } => {
            current_with(*role_play_id)?;
            Ok(vec![wrap(RolePlayEvent::Cancelled {
                role_play_id: *role_play_id,
            })])
        }
        RolePlayCommand::SaveTemplate { rubric } => {
            let rubric = valid_rubric(rubric)?;
            if templates::built_in()
                .iter()
                .any(|built_in| same_name(&built_in.name, &rubric.name))
            {
                return Err(conflict(format!(
                    "\"{}\" is a built-in template; save yours under another name",
                    rubric.name
                )));
            }
            let existing = role_play
                .group_templates
                .iter()
                .find(|template| same_name(&template.name, &rubric.name));
            if existing == Some(&rubric) {
                return Ok(Vec::new());
            }
            if existing.is_none() && role_play.group_templates.len() >= GROUP_TEMPLATES_MAX {
                return Err(conflict(format!(
                    "the group has {GROUP_TEMPLATES_MAX} templates, the most it may have; delete one first"
                )));
            }
            Ok(vec![wrap(RolePlayEvent::TemplateSaved { rubric })])
        }
        RolePlayCommand::DeleteTemplate { name } => {
            if !role_play
                .group_templates
                .iter()
                .any(|template| same_name(&template.name, name))
            {
                return Err(RoomError::new(
                    ErrorCode::NotFound,
                    "the group has no template of that name (built-in templates cannot be deleted)",
                ));
            }
            Ok(vec![wrap(RolePlayEvent::TemplateDeleted {
                name: name.trim().to_string(),
            })])
        }
    }
}

/// The results of the current role play, from its bag. Comments and "one thing" answers are
/// shuffled with `shuffle_seed` (the bag's own order is by random slot already; the shuffle
/// makes the order independent of anything stored).
pub fn results_of(
    current: &CurrentRolePlay,
    meeting_number: u32,
    now_ms: UnixMs,
    shuffle_seed: u64,
) -> wire::RolePlayResults {
    let info = &current.info;
    let criteria: Vec<wire::CriterionResult> = info
        .rubric
        .criteria
        .iter()
        .enumerate()
        .map(|(index, criterion)| {
            let scores: Vec<u32> = current
                .submissions
                .values()
                .filter_map(|submission| submission.scores.get(index).copied())
                .collect();
            aggregate::criterion_result(criterion, &scores)
        })
        .collect();
    let overall_percent = aggregate::overall_percent(&criteria);
    let mut comments: Vec<String> = current
        .submissions
        .values()
        .map(|submission| submission.comment.clone())
        .filter(|comment| !comment.is_empty())
        .collect();
    aggregate::shuffle(&mut comments, shuffle_seed);
    let mut one_thing_differently: Vec<String> = current
        .submissions
        .values()
        .filter_map(|submission| submission.one_thing_differently.clone())
        .filter(|answer| !answer.is_empty())
        .collect();
    aggregate::shuffle(&mut one_thing_differently, shuffle_seed.rotate_left(32));
    wire::RolePlayResults {
        role_play_id: info.role_play_id,
        seller: info.seller,
        buyer: info.buyer,
        scenario: info.scenario.clone(),
        rubric_name: info.rubric.name.clone(),
        meeting_number,
        revealed_at_ms: now_ms,
        submission_count: current.submissions.len() as u32,
        criteria,
        overall_percent,
        comments,
        one_thing_differently,
    }
}

/// Decides a submission. `existing_slot` is the slot the member filled before in this role play
/// (known only to the actor's in-memory dedupe); `fresh_slot` a new random slot.
#[allow(clippy::too_many_arguments)]
pub fn decide_submission(
    state: &RoomState,
    by: MemberId,
    role_play_id: RolePlayId,
    scores: &[u32],
    comment: &str,
    one_thing_differently: Option<&str>,
    existing_slot: Option<SubmissionSlot>,
    fresh_slot: SubmissionSlot,
    limits: &RoomLimits,
) -> Result<SubmissionDecision, RoomError> {
    let role = require_member_role(state, by)?;
    let current = state.role_play.require_current(role_play_id)?;
    let info = &current.info;
    if role == Role::Observer {
        return Err(RoomError::new(
            ErrorCode::Forbidden,
            "observers do not score role plays",
        ));
    }
    if info.seller == by {
        return Err(RoomError::new(
            ErrorCode::Forbidden,
            "the seller does not score their own role play",
        ));
    }
    if info.phase != RolePlayPhase::Scoring {
        return Err(conflict("scoring is not open"));
    }
    if scores.len() != info.rubric.criteria.len() {
        return Err(invalid(format!(
            "the rubric has {} criteria; send one score for each, in order",
            info.rubric.criteria.len()
        )));
    }
    for (index, (score, criterion)) in scores.iter().zip(&info.rubric.criteria).enumerate() {
        if !(criterion.scale_min..=criterion.scale_max).contains(score) {
            // The message names the criterion and its scale, never the value sent.
            return Err(invalid(format!(
                "the score for criterion {} must be from {} to {}",
                index + 1,
                criterion.scale_min,
                criterion.scale_max
            )));
        }
    }
    let comment = text::block("the comment", comment, COMMENT_CHARS_MAX)?;
    let one_thing = match one_thing_differently {
        Some(answer) => {
            let text = text::block(
                "\"one thing to do differently\"",
                answer,
                ONE_THING_CHARS_MAX,
            )?;
            if !info.rubric.one_thing_differently && !text.is_empty() {
                return Err(invalid(
                    "this rubric does not ask for \"one thing to do differently\"",
                ));
            }
            Some(text).filter(|text| !text.is_empty())
        }
        None => None,
    };
    // A revision keeps its slot only while that slot is still in the bag.
    let existing_slot = existing_slot.filter(|slot| current.submissions.contains_key(slot));
    let replaced = existing_slot.is_some();
    if !replaced && current.submissions.len() >= limits.members_per_room_max {
        return Err(RoomError::new(
            ErrorCode::RoomFull,
            "this role play has as many submissions as the group may have members",
        ));
    }
    let count_event = (!replaced).then(|| RoomEvent::RolePlay {
        change: RolePlayEvent::SubmissionCount {
            role_play_id,
            count: current.submissions.len() as u32 + 1,
        },
    });
    Ok(SubmissionDecision {
        slot: existing_slot.unwrap_or(fresh_slot),
        submission: Submission {
            scores: scores.to_vec(),
            comment,
            one_thing_differently: one_thing,
        },
        replaced,
        count_event,
    })
}

#[cfg(test)]
mod tests;
