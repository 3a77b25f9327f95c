//! The shared agenda: items, members' proposals, the group's template, and the pure builder of
//! the next meeting's agenda (template plus carried-over unfinished items).

use roundtable_protocol::ProposalId;
use roundtable_protocol::{
    AgendaItem, AgendaItemDraft, AgendaItemId, AgendaItemKind, AgendaItemOrigin, AgendaItemStatus,
    ErrorCode, Proposal, TemplateItem, TimerSubject,
};

use super::{Ctx, FlowEvent, conflict, not_found, progress, require_permutation};
use crate::command::AgendaCommand;
use crate::error::RoomError;
use crate::text;

const MINUTE_MS: u64 = 60_000;

/// The template a new group starts with: a weekly sales peer meeting of 90 minutes.
pub fn default_template() -> Vec<TemplateItem> {
    let item = |title: &str, kind, minutes: u64, notes: &str| TemplateItem {
        title: title.into(),
        kind,
        time_box_ms: minutes * MINUTE_MS,
        notes: notes.into(),
    };
    vec![
        item(
            "Check-in round",
            AgendaItemKind::Round,
            30,
            "Every member reviews their week: wins, numbers, stuck deals.",
        ),
        item(
            "Report back",
            AgendaItemKind::ReportBack,
            10,
            "Each member reports on last week's commitments: done, partial or missed, and why.",
        ),
        item(
            "Bring a problem",
            AgendaItemKind::Problem,
            20,
            "One member presents a stuck opportunity; clarifying questions, suggestions, decision.",
        ),
        item(
            "Role play",
            AgendaItemKind::RolePlay,
            15,
            "A seller and a buyer play a call; the others score it.",
        ),
        item(
            "Benchmarks",
            AgendaItemKind::Benchmarks,
            5,
            "Weekly activity numbers against the group.",
        ),
        item(
            "Best practices",
            AgendaItemKind::BestPractices,
            5,
            "What worked this week, and what did not.",
        ),
        item(
            "New commitments",
            AgendaItemKind::Commitments,
            5,
            "Everyone commits to actions for next week.",
        ),
    ]
}

/// A next meeting's agenda, numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAgenda {
    pub items: Vec<AgendaItem>,
    /// Unfinished items that did not fit under `agenda_items_max` and were not carried over.
    pub dropped: usize,
}

/// Builds the agenda a group's next meeting starts with: the template's items, with the
/// previous meeting's unfinished items carried over. Carried are the items not done that did
/// not come from the template (the template brings those back anyway); they go before the
/// template's first `commitments` item, which closes a meeting, or at the end. Carried items
/// start fresh: pending, without problem-protocol state. The result has at most `items_max`
/// items; template items come first, and `dropped` counts carried items that did not fit.
pub fn next_meeting_agenda(
    template: &[TemplateItem],
    previous: &[AgendaItem],
    items_max: usize,
) -> NextAgenda {
    let mut items: Vec<AgendaItem> = template
        .iter()
        .take(items_max)
        .map(|item| AgendaItem {
            item_id: 0,
            title: item.title.clone(),
            kind: item.kind,
            time_box_ms: item.time_box_ms,
            owner: None,
            notes: item.notes.clone(),
            status: AgendaItemStatus::Pending,
            spent_ms: 0,
            current_since_ms: None,
            origin: AgendaItemOrigin::Template,
            problem: None,
        })
        .collect();
    let unfinished: Vec<AgendaItem> = previous
        .iter()
        .filter(|item| {
            item.status != AgendaItemStatus::Done && item.origin != AgendaItemOrigin::Template
        })
        .map(|item| AgendaItem {
            status: AgendaItemStatus::Pending,
            origin: AgendaItemOrigin::Carried,
            problem: None,
            spent_ms: 0,
            current_since_ms: None,
            ..item.clone()
        })
        .collect();
    let room = items_max.saturating_sub(items.len());
    let dropped = unfinished.len().saturating_sub(room);
    let at = items
        .iter()
        .position(|item| item.kind == AgendaItemKind::Commitments)
        .unwrap_or(items.len());
    items.splice(at..at, unfinished.into_iter().take(room));
    for (index, item) in items.iter_mut().enumerate() {
        item.item_id = index as AgendaItemId + 1;
    }
    NextAgenda { items, dropped }
}

/// Checks a draft item; returns it cleaned (trimmed title and notes).
fn valid_draft(ctx: &Ctx, draft: &AgendaItemDraft) -> Result<AgendaItemDraft, RoomError> {
    let title = text::line(
        "agenda item title",
        &draft.title,
        ctx.limits.agenda_title_chars_max,
    )?;
    let notes = text::block(
        "agenda item notes",
        &draft.notes,
        ctx.limits.agenda_notes_chars_max,
    )?;
    let time_box_ms = ctx.time_box_ms("an agenda item's time box", draft.time_box_ms)?;
    if let Some(owner) = draft.owner
        && ctx.roster.member(owner).is_none()
    {
        return Err(not_found(format!("no member {owner} in this group")));
    }
    Ok(AgendaItemDraft {
        title,
        kind: draft.kind,
        time_box_ms,
        owner: draft.owner,
        notes,
    })
}

fn require_item(ctx: &Ctx, item_id: AgendaItemId) -> Result<AgendaItem, RoomError> {
    ctx.flow
        .item(item_id)
        .cloned()
        .ok_or_else(|| not_found(format!("no agenda item {item_id} in this meeting")))
}

fn require_room_for_an_item(ctx: &Ctx) -> Result<(), RoomError> {
    let items = ctx.flow.agenda.len();
    if items >= ctx.limits.agenda_items_max {
        return Err(RoomError::new(
            ErrorCode::LimitReached,
            format!("the agenda has {items} items, the most it may have"),
        ));
    }
    Ok(())
}

fn position_or_end(ctx: &Ctx, position: Option<u32>) -> Result<u32, RoomError> {
    let len = ctx.flow.agenda.len() as u32;
    match position {
        None => Ok(len),
        Some(position) if position <= len => Ok(position),
        Some(position) => Err(RoomError::new(
            ErrorCode::Invalid,
            format!("position {position} is past the end of the agenda ({len} items)"),
        )),
    }
}

fn new_item(ctx: &Ctx, draft: AgendaItemDraft, origin: AgendaItemOrigin) -> AgendaItem {
    AgendaItem {
        item_id: ctx.flow.next_item_id,
        title: draft.title,
        kind: draft.kind,
        time_box_ms: draft.time_box_ms,
        owner: draft.owner,
        notes: draft.notes,
        status: AgendaItemStatus::Pending,
        spent_ms: 0,
        current_since_ms: None,
        origin,
        problem: None,
    }
}

/// Events that make `item_id` the current item (the previous current one goes back to
/// pending). Empty when it is current already.
pub(crate) fn make_current(ctx: &Ctx, item_id: AgendaItemId) -> Vec<FlowEvent> {
    let mut events = Vec::new();
    for item in &ctx.flow.agenda {
        if item.status == AgendaItemStatus::Current && item.item_id != item_id {
            events.push(FlowEvent::AgendaItemStatusChanged {
                item_id: item.item_id,
                status: AgendaItemStatus::Pending,
            });
        }
    }
    if ctx
        .flow
        .item(item_id)
        .is_some_and(|item| item.status != AgendaItemStatus::Current)
    {
        events.push(FlowEvent::AgendaItemStatusChanged {
            item_id,
            status: AgendaItemStatus::Current,
        });
    }
    events
}

/// The timer stops with the item whose problem phase it times.
pub(crate) fn stop_problem_timer(ctx: &Ctx, item_id: AgendaItemId, events: &mut Vec<FlowEvent>) {
    if let Some(TimerSubject::ProblemPhase { item_id: timed, .. }) =
        ctx.flow.timer.map(|timer| timer.subject)
        && timed == item_id
    {
        events.push(FlowEvent::TimerSet { timer: None });
    }
}

/// Decides one AgendaCommand into events.
pub(crate) fn decide(ctx: &Ctx, command: &AgendaCommand) -> Result<Vec<FlowEvent>, RoomError> {
    match command {
        AgendaCommand::AddAgendaItem { item, position } => add_agenda_item(ctx, item, position),
        AgendaCommand::EditAgendaItem { item_id, item } => edit_agenda_item(ctx, item_id, item),
        AgendaCommand::RemoveAgendaItem { item_id } => remove_agenda_item(ctx, item_id),
        AgendaCommand::ReorderAgenda { order } => reorder_agenda(ctx, order),
        AgendaCommand::SetCurrentAgendaItem { item_id } => set_current_agenda_item(ctx, item_id),
        AgendaCommand::MarkAgendaItemDone { item_id } => mark_agenda_item_done(ctx, item_id),
        AgendaCommand::NextAgendaItem => progress::next_agenda_item(ctx),
        AgendaCommand::PreviousAgendaItem => progress::previous_agenda_item(ctx),
        AgendaCommand::EndMeeting => progress::end_meeting(ctx),
        AgendaCommand::ProposeAgendaItem { item } => propose_agenda_item(ctx, item),
        AgendaCommand::AcceptProposal {
            proposal_id,
            position,
        } => accept_proposal(ctx, proposal_id, position),
        AgendaCommand::DeclineProposal { proposal_id } => decline_proposal(ctx, proposal_id),
        AgendaCommand::SaveAgendaAsTemplate => save_agenda_as_template(ctx),
    }
}

fn add_agenda_item(
    ctx: &Ctx,
    item: &AgendaItemDraft,
    position: &Option<u32>,
) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let draft = valid_draft(ctx, item)?;
    require_room_for_an_item(ctx)?;
    let position = position_or_end(ctx, *position)?;
    Ok(vec![FlowEvent::AgendaItemAdded {
        item: new_item(ctx, draft, AgendaItemOrigin::Added),
        position,
    }])
}

fn edit_agenda_item(
    ctx: &Ctx,
    item_id: &AgendaItemId,
    item: &AgendaItemDraft,
) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let existing = require_item(ctx, *item_id)?;
    let draft = valid_draft(ctx, item)?;
    if existing.problem.is_some() && draft.kind != AgendaItemKind::Problem {
        return Err(conflict(
            "this problem's protocol has started; it stays a problem",
        ));
    }
    let edited = AgendaItem {
        title: draft.title,
        kind: draft.kind,
        time_box_ms: draft.time_box_ms,
        owner: draft.owner,
        notes: draft.notes,
        ..existing.clone()
    };
    if edited == existing {
        return Ok(Vec::new());
    }
    Ok(vec![FlowEvent::AgendaItemEdited { item: edited }])
}

fn remove_agenda_item(ctx: &Ctx, item_id: &AgendaItemId) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    require_item(ctx, *item_id)?;
    if ctx
        .flow
        .round
        .as_ref()
        .is_some_and(|round| round.item_id == Some(*item_id))
    {
        return Err(conflict("a round of this item is running; end it first"));
    }
    let mut events = Vec::new();
    stop_problem_timer(ctx, *item_id, &mut events);
    events.push(FlowEvent::AgendaItemRemoved { item_id: *item_id });
    Ok(events)
}

fn reorder_agenda(ctx: &Ctx, order: &[AgendaItemId]) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let current: Vec<AgendaItemId> = ctx.flow.agenda.iter().map(|item| item.item_id).collect();
    require_permutation(order, &current, "agenda item")?;
    if *order == current {
        return Ok(Vec::new());
    }
    Ok(vec![FlowEvent::AgendaReordered {
        order: order.to_vec(),
    }])
}

fn set_current_agenda_item(ctx: &Ctx, item_id: &AgendaItemId) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    ctx.require_meeting_on()?;
    require_item(ctx, *item_id)?;
    Ok(make_current(ctx, *item_id))
}

fn mark_agenda_item_done(ctx: &Ctx, item_id: &AgendaItemId) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let item = require_item(ctx, *item_id)?;
    if item.status == AgendaItemStatus::Done {
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    stop_problem_timer(ctx, *item_id, &mut events);
    events.push(FlowEvent::AgendaItemStatusChanged {
        item_id: *item_id,
        status: AgendaItemStatus::Done,
    });
    Ok(events)
}

fn propose_agenda_item(ctx: &Ctx, item: &AgendaItemDraft) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_participant()?;
    let draft = valid_draft(ctx, item)?;
    let open = ctx.flow.proposals.len();
    if open >= ctx.limits.agenda_proposals_open_max {
        return Err(RoomError::new(
            ErrorCode::LimitReached,
            format!("{open} proposals are waiting already; wait for the facilitator"),
        ));
    }
    Ok(vec![FlowEvent::AgendaItemProposed {
        proposal: Proposal {
            proposal_id: ctx.flow.next_proposal_id,
            proposed_by: ctx.by,
            item: draft,
        },
    }])
}

fn accept_proposal(
    ctx: &Ctx,
    proposal_id: &ProposalId,
    position: &Option<u32>,
) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let proposal = require_proposal(ctx, *proposal_id)?;
    // The proposed owner may have left since; the item is still worth having.
    let mut draft = proposal.item.clone();
    if draft
        .owner
        .is_some_and(|owner| ctx.roster.member(owner).is_none())
    {
        draft.owner = None;
    }
    let draft = valid_draft(ctx, &draft)?;
    require_room_for_an_item(ctx)?;
    let position = position_or_end(ctx, *position)?;
    Ok(vec![
        FlowEvent::ProposalClosed {
            proposal_id: *proposal_id,
            accepted: true,
        },
        FlowEvent::AgendaItemAdded {
            item: new_item(ctx, draft, AgendaItemOrigin::Proposed),
            position,
        },
    ])
}

fn decline_proposal(ctx: &Ctx, proposal_id: &ProposalId) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    require_proposal(ctx, *proposal_id)?;
    Ok(vec![FlowEvent::ProposalClosed {
        proposal_id: *proposal_id,
        accepted: false,
    }])
}

fn save_agenda_as_template(ctx: &Ctx) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let items: Vec<TemplateItem> = ctx
        .flow
        .agenda
        .iter()
        .map(|item| TemplateItem {
            title: item.title.clone(),
            kind: item.kind,
            time_box_ms: item.time_box_ms,
            notes: item.notes.clone(),
        })
        .collect();
    if items == ctx.flow.template {
        return Ok(Vec::new());
    }
    Ok(vec![FlowEvent::AgendaTemplateSaved { items }])
}

fn require_proposal(ctx: &Ctx, proposal_id: u32) -> Result<Proposal, RoomError> {
    ctx.flow
        .proposals
        .iter()
        .find(|proposal| proposal.proposal_id == proposal_id)
        .cloned()
        .ok_or_else(|| not_found(format!("no open proposal {proposal_id}")))
}
