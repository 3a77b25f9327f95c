//! The role play's rules: setting one up and running it (a facilitator's commands), a scorer's
//! submission, and the results computed at the reveal.

use super::*;
use crate::command::SetUpRolePlay;

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
pub fn decide<'a>(
    room: impl Into<Context<'a>>,
    by: MemberId,
    action: &RolePlayCommand,
    fresh: Fresh,
    now_ms: UnixMs,
    limits: &RoomLimits,
) -> Result<Vec<RoomEvent>, RoomError> {
    let room = room.into();
    require_facilitator(room.roster.require_member_role(by)?)?;
    match action {
        RolePlayCommand::SetUp(setup) => set_up(room, setup, fresh, limits),
        RolePlayCommand::OpenScoring { role_play_id } => open_scoring(room, role_play_id),
        RolePlayCommand::CloseScoring { role_play_id } => close_scoring(room, role_play_id),
        RolePlayCommand::Reveal { role_play_id } => reveal(room, role_play_id, fresh, now_ms),
        RolePlayCommand::Cancel { role_play_id } => cancel(room, role_play_id),
        RolePlayCommand::SaveTemplate { rubric } => save_template(room, rubric),
        RolePlayCommand::DeleteTemplate { name } => delete_template(room, name),
    }
}

/// A role play change as a room event.
fn wrap(change: RolePlayEvent) -> RoomEvent {
    RoomEvent::RolePlay { change }
}

fn set_up(
    room: Context<'_>,
    setup: &SetUpRolePlay,
    fresh: Fresh,
    limits: &RoomLimits,
) -> Result<Vec<RoomEvent>, RoomError> {
    let SetUpRolePlay {
        seller,
        buyer,
        scenario,
        buyer_brief,
        rubric,
        reveal_threshold,
    } = setup;
    if let Some(current) = &room.role_play.current
        && matches!(
            current.info.phase,
            RolePlayPhase::Scoring | RolePlayPhase::Closed
        )
    {
        return Err(conflict(
            "the current role play is being scored; reveal or cancel it first",
        ));
    }
    require_players(room, *seller, *buyer)?;
    let brief = buyer_brief
        .as_deref()
        .map(|brief| valid_brief(brief, *buyer))
        .transpose()?
        .flatten();
    let scenario = text::required_block("the scenario", scenario, SCENARIO_CHARS_MAX)?;
    let rubric = valid_rubric(rubric)?;
    let threshold = valid_threshold(*reveal_threshold, limits)?;
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

/// Refuses unless the seller is a member who is not an observer, and the buyer, if any, another
/// member.
fn require_players(
    room: Context<'_>,
    seller: MemberId,
    buyer: Option<MemberId>,
) -> Result<(), RoomError> {
    if room.roster.require_member(seller)?.role == Role::Observer {
        return Err(invalid("an observer cannot play the seller"));
    }
    if let Some(buyer) = buyer {
        room.roster.require_member(buyer)?;
        if buyer == seller {
            return Err(invalid(
                "the buyer and the seller must be different members",
            ));
        }
    }
    Ok(())
}

/// The buyer brief as typed, or none when it is empty; a brief needs a buyer.
fn valid_brief(brief: &str, buyer: Option<MemberId>) -> Result<Option<String>, RoomError> {
    let brief = text::block("the buyer brief", brief, BUYER_BRIEF_CHARS_MAX)?;
    if buyer.is_none() && !brief.is_empty() {
        return Err(invalid("a buyer brief needs a buyer"));
    }
    Ok(Some(brief).filter(|brief| !brief.is_empty()))
}

/// The reveal threshold asked for (or the default), between the lowest and the group's size.
fn valid_threshold(threshold: Option<u32>, limits: &RoomLimits) -> Result<u32, RoomError> {
    let threshold = threshold.unwrap_or(REVEAL_THRESHOLD_DEFAULT);
    let threshold_max = limits.members_per_room_max as u32;
    if !(REVEAL_THRESHOLD_MIN..=threshold_max).contains(&threshold) {
        return Err(invalid(format!(
            "the reveal threshold must be from {REVEAL_THRESHOLD_MIN} to {threshold_max}"
        )));
    }
    Ok(threshold)
}

fn open_scoring(room: Context<'_>, role_play_id: &RolePlayId) -> Result<Vec<RoomEvent>, RoomError> {
    let role_play = room.role_play;
    let current = role_play.require_current(*role_play_id)?;
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

fn close_scoring(
    room: Context<'_>,
    role_play_id: &RolePlayId,
) -> Result<Vec<RoomEvent>, RoomError> {
    let role_play = room.role_play;
    let current = role_play.require_current(*role_play_id)?;
    match current.info.phase {
        RolePlayPhase::Scoring => Ok(vec![wrap(RolePlayEvent::ScoringClosed {
            role_play_id: *role_play_id,
        })]),
        RolePlayPhase::Closed => Ok(Vec::new()),
        RolePlayPhase::Setup => Err(conflict("scoring has not been opened yet")),
        RolePlayPhase::Revealed => Err(conflict("the results are out already")),
    }
}

fn reveal(
    room: Context<'_>,
    role_play_id: &RolePlayId,
    fresh: Fresh,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    let role_play = room.role_play;
    let current = role_play.require_current(*role_play_id)?;
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
    let results = results_of(current, room.meeting_number, now_ms, fresh.shuffle_seed);
    events.push(wrap(RolePlayEvent::Revealed { results }));
    Ok(events)
}

fn cancel(room: Context<'_>, role_play_id: &RolePlayId) -> Result<Vec<RoomEvent>, RoomError> {
    let role_play = room.role_play;
    role_play.require_current(*role_play_id)?;
    Ok(vec![wrap(RolePlayEvent::Cancelled {
        role_play_id: *role_play_id,
    })])
}

fn save_template(room: Context<'_>, rubric: &Rubric) -> Result<Vec<RoomEvent>, RoomError> {
    let role_play = room.role_play;
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

fn delete_template(room: Context<'_>, name: &str) -> Result<Vec<RoomEvent>, RoomError> {
    let role_play = room.role_play;
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

/// Decides a submission into `slot`, the scorer's place in this role play's bag
/// ([`super::slot::slot_of`] of their pseudonym key): a revision if the slot is filled, else a
/// new submission that counts.
#[allow(clippy::too_many_arguments)]
pub fn decide_submission<'a>(
    room: impl Into<Context<'a>>,
    by: MemberId,
    role_play_id: RolePlayId,
    scores: &[u32],
    comment: &str,
    one_thing_differently: Option<&str>,
    slot: SubmissionSlot,
    limits: &RoomLimits,
) -> Result<SubmissionDecision, RoomError> {
    let room = room.into();
    let role = room.roster.require_member_role(by)?;
    let current = room.role_play.require_current(role_play_id)?;
    let info = &current.info;
    require_scorer(info, by, role)?;
    require_scores(info, scores)?;
    let comment = text::block("the comment", comment, COMMENT_CHARS_MAX)?;
    let one_thing = one_thing_differently
        .map(|answer| valid_one_thing(info, answer))
        .transpose()?
        .flatten();
    let replaced = current.submissions.contains_key(&slot);
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
        slot,
        submission: Submission {
            scores: scores.to_vec(),
            comment,
            one_thing_differently: one_thing,
        },
        replaced,
        count_event,
    })
}

/// Refuses unless `by` may score this role play now: not an observer, not the seller, and
/// scoring open.
fn require_scorer(info: &RolePlayInfo, by: MemberId, role: Role) -> Result<(), RoomError> {
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
    Ok(())
}

/// Refuses unless there is one score per criterion, in order, each on its criterion's scale.
fn require_scores(info: &RolePlayInfo, scores: &[u32]) -> Result<(), RoomError> {
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
    Ok(())
}

/// The answer to "one thing to do differently", or none when it is empty; only a rubric that
/// asks for it takes one.
fn valid_one_thing(info: &RolePlayInfo, answer: &str) -> Result<Option<String>, RoomError> {
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
    Ok(Some(text).filter(|text| !text.is_empty()))
}
