//! The bring-a-problem protocol of a `problem` agenda item: the presenter (the item's owner)
//! presents, the group asks clarifying questions, members add suggestions, and the presenter
//! chooses the suggestions they will act on, each becoming one commitment of theirs (with its
//! text as they edited it). Each phase runs the meeting's timer.

use std::collections::BTreeSet;

use roundtable_protocol::{
    AgendaItem, AgendaItemId, AgendaItemKind, ErrorCode, ProblemInfo, ProblemPhase, Suggestion,
    SuggestionChoice, SuggestionId, TimerSubject,
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
            choices,
            suggestion_ids,
        } => choose_suggestions(ctx, item_id, &requested_choices(choices, suggestion_ids)?),
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
    ctx.require_meeting_on()?;
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

/// The presenter's choices, from either form of the request (exactly one of the two).
pub fn requested_choices(
    choices: &Option<Vec<SuggestionChoice>>,
    suggestion_ids: &Option<Vec<SuggestionId>>,
) -> Result<Vec<SuggestionChoice>, RoomError> {
    match (choices, suggestion_ids) {
        (Some(choices), None) => Ok(choices.clone()),
        (None, Some(ids)) => Ok(ids
            .iter()
            .map(|id| SuggestionChoice {
                suggestion_id: *id,
                text: None,
            })
            .collect()),
        _ => Err(RoomError::new(
            ErrorCode::Invalid,
            "give the chosen suggestions as either `choices` or `suggestion_ids`",
        )),
    }
}

/// Refuses an empty choice, and unknown or repeated suggestions.
fn require_known_once(
    problem: &ProblemInfo,
    choices: &[SuggestionChoice],
) -> Result<(), RoomError> {
    if choices.is_empty() {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            "choose at least one suggestion to act on",
        ));
    }
    let mut seen = BTreeSet::new();
    for choice in choices {
        let id = choice.suggestion_id;
        if !problem.suggestions.iter().any(|s| s.suggestion_id == id) {
            return Err(not_found(format!("no suggestion {id} on this problem")));
        }
        if !seen.insert(id) {
            return Err(RoomError::new(
                ErrorCode::Invalid,
                format!("suggestion {id} is listed twice"),
            ));
        }
    }
    Ok(())
}

/// The text of the commitment each choice becomes, in the order chosen: the presenter's edit
/// (one line of at most `chars_max` characters, as any commitment's text), or the suggestion's
/// own text on one line, shortened to `chars_max`. Refuses what `choose_suggestions` refuses,
/// and an edited text that is empty, too long or not one line.
pub fn commitment_texts(
    problem: &ProblemInfo,
    choices: &[SuggestionChoice],
    chars_max: usize,
) -> Result<Vec<String>, RoomError> {
    require_known_once(problem, choices)?;
    let mut texts = Vec::with_capacity(choices.len());
    for choice in choices {
        let id = choice.suggestion_id;
        let suggestion = problem
            .suggestions
            .iter()
            .find(|s| s.suggestion_id == id)
            .ok_or_else(|| not_found(format!("no suggestion {id} on this problem")))?;
        let text = match &choice.text {
            Some(edited) => text::line("a commitment", edited, chars_max)?,
            None => suggestion
                .text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(chars_max)
                .collect(),
        };
        if text.is_empty() {
            return Err(RoomError::new(
                ErrorCode::Invalid,
                format!("the commitment from suggestion {id} must not be empty"),
            ));
        }
        texts.push(text);
    }
    Ok(texts)
}

/// The presenter chooses once: each choice becomes a commitment of theirs (the room's rules
/// add them with the texts [`commitment_texts`] gives, refusing the whole choice when one
/// does not fit). Choosing the same suggestions again is a
/// no-op, so a resent request changes nothing; another choice is refused, because the first
/// one's commitments are on the board already.
fn choose_suggestions(
    ctx: &Ctx,
    item_id: &AgendaItemId,
    choices: &[SuggestionChoice],
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
    require_known_once(problem, choices)?;
    let suggestion_ids: Vec<SuggestionId> = choices.iter().map(|c| c.suggestion_id).collect();
    if problem.chosen == suggestion_ids {
        return Ok(Vec::new());
    }
    if !problem.chosen.is_empty() {
        return Err(conflict(
            "the presenter has chosen already; their commitments are on the board",
        ));
    }
    Ok(vec![FlowEvent::SuggestionsChosen {
        item_id: *item_id,
        suggestion_ids,
    }])
}
