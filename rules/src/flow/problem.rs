//! The bring-a-problem protocol of a `problem` agenda item: the presenter (the item's owner)
//! presents, the group asks clarifying questions, members add suggestions, and the presenter
//! chooses the suggestions they will act on. Each phase runs the meeting's timer.

use std::collections::BTreeSet;

use roundtable_protocol::{
    AgendaItem, AgendaItemId, AgendaItemKind, ErrorCode, ProblemPhase, Suggestion, SuggestionId,
    TimerSubject,
};

use super::{Ctx, FlowEvent, Timer, agenda, conflict, not_found};
use crate::command::ProblemCommand;
use crate::error::RoomError;
use crate::text;

const MINUTE_MS: u64 = 60_000;

/// A phase's time box when the facilitator gives none.
pub fn default_phase_time_box_ms(phase: ProblemPhase) -> u64 {
    match phase {
        ProblemPhase::Present => 5 * MINUTE_MS,
        ProblemPhase::Clarify => 5 * MINUTE_MS,
        ProblemPhase::Suggest => 8 * MINUTE_MS,
        ProblemPhase::Decide => 2 * MINUTE_MS,
    }
}

fn require_problem_item(ctx: &Ctx, item_id: u32) -> Result<AgendaItem, RoomError> {
    let item = ctx
        .flow
        .item(item_id)
        .cloned()
        .ok_or_else(|| not_found(format!("no agenda item {item_id} in this meeting")))?;
    if item.kind != AgendaItemKind::Problem {
        return Err(conflict(format!(
            "agenda item {item_id} is not a problem; only problems have the protocol"
        )));
    }
    Ok(item)
}

/// Decides one ProblemCommand into events.
pub(crate) fn decide(ctx: &Ctx, command: &ProblemCommand) -> Result<Vec<FlowEvent>, RoomError> {
    match command {
        ProblemCommand::StartProblemPhase {
            item_id,
            phase,
            time_box_ms,
        } => start_problem_phase(ctx, item_id, phase, time_box_ms),
        ProblemCommand::AddSuggestion { item_id, text } => add_suggestion(ctx, item_id, text),
        ProblemCommand::ChooseSuggestions {
            item_id,
            suggestion_ids,
        } => choose_suggestions(ctx, item_id, suggestion_ids),
    }
}

fn start_problem_phase(
    ctx: &Ctx,
    item_id: &AgendaItemId,
    phase: &ProblemPhase,
    time_box_ms: &Option<u64>,
) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    ctx.require_meeting_on()?;
    let item = require_problem_item(ctx, *item_id)?;
    let time_box_ms = ctx.time_box_ms(
        "a phase's time box",
        time_box_ms.unwrap_or_else(|| default_phase_time_box_ms(*phase)),
    )?;
    let presenter = match (&item.problem, item.owner) {
        (Some(problem), _) => problem.presenter,
        (None, Some(owner)) if ctx.roster.member(owner).is_some() => owner,
        (None, _) => {
            return Err(conflict(
                "the problem needs a presenter: set the item's owner to a member first",
            ));
        }
    };
    if let Some(speaker) = ctx.flow.round_speaker() {
        return Err(conflict(format!(
            "round speaker {speaker} has the floor; move the round on or end it first"
        )));
    }
    if ctx.flow.floor.is_some() {
        return Err(conflict(
            "a member called from the speaker queue has the floor; end their turn first",
        ));
    }
    let mut events = agenda::make_current(ctx, *item_id);
    events.push(FlowEvent::ProblemPhaseStarted {
        item_id: *item_id,
        presenter,
        phase: *phase,
    });
    events.push(FlowEvent::TimerSet {
        timer: Some(Timer::start(
            TimerSubject::ProblemPhase {
                item_id: *item_id,
                phase: *phase,
            },
            time_box_ms,
            ctx.now_ms,
        )),
    });
    Ok(events)
}

fn add_suggestion(
    ctx: &Ctx,
    item_id: &AgendaItemId,
    text: &str,
) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_participant()?;
    let item = require_problem_item(ctx, *item_id)?;
    let problem = item
        .problem
        .as_ref()
        .filter(|problem| problem.phase == ProblemPhase::Suggest)
        .ok_or_else(|| conflict("suggestions are taken in the suggest phase"))?;
    if problem.presenter == ctx.by {
        return Err(conflict(
            "the presenter listens; suggestions come from the others",
        ));
    }
    let text = text::required_block("a suggestion", text, ctx.limits.suggestion_chars_max)?;
    if text.is_empty() {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            "a suggestion must not be empty",
        ));
    }
    if problem.suggestions.len() >= ctx.limits.suggestions_per_problem_max {
        return Err(RoomError::new(
            ErrorCode::LimitReached,
            format!(
                "this problem has {} suggestions, the most it may have",
                problem.suggestions.len()
            ),
        ));
    }
    Ok(vec![FlowEvent::SuggestionAdded {
        item_id: *item_id,
        suggestion: Suggestion {
            suggestion_id: ctx.flow.next_suggestion_id,
            by: ctx.by,
            text,
        },
    }])
}

fn choose_suggestions(
    ctx: &Ctx,
    item_id: &AgendaItemId,
    suggestion_ids: &[SuggestionId],
) -> Result<Vec<FlowEvent>, RoomError> {
    let item = require_problem_item(ctx, *item_id)?;
    let Some(problem) = &item.problem else {
        return Err(conflict("this problem's protocol has not started"));
    };
    if problem.presenter != ctx.by {
        return Err(RoomError::new(
            ErrorCode::Forbidden,
            "only the presenter chooses what they will act on",
        ));
    }
    if problem.phase != ProblemPhase::Decide {
        return Err(conflict("the presenter chooses in the decide phase"));
    }
    let mut seen = BTreeSet::new();
    for id in suggestion_ids {
        if !problem.suggestions.iter().any(|s| s.suggestion_id == *id) {
            return Err(not_found(format!("no suggestion {id} on this problem")));
        }
        if !seen.insert(*id) {
            return Err(RoomError::new(
                ErrorCode::Invalid,
                format!("suggestion {id} is listed twice"),
            ));
        }
    }
    if problem.chosen == *suggestion_ids {
        return Ok(Vec::new());
    }
    Ok(vec![FlowEvent::SuggestionsChosen {
        item_id: *item_id,
        suggestion_ids: suggestion_ids.to_vec(),
    }])
}
