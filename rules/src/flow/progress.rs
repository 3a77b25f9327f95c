//! Moving through the meeting: Next completes the current agenda item and makes the next one
//! current, Back returns to the item before, End meeting stops everything that runs.
//!
//! Each agenda item keeps its own clock (`spent_ms`, `current_since_ms`), folded from the times
//! of its status changes, so what is left of its time box survives a restart like the timer
//! does: nothing ticks.

use roundtable_protocol::{AgendaItemId, AgendaItemStatus, TimerSubject};

use super::agenda::{make_current, stop_problem_timer};
use super::{Ctx, FlowEvent, conflict};
use crate::error::RoomError;

/// Next: the current item is done, and the first pending item after it becomes current (or the
/// first pending item of the agenda, when none comes after it or none is current). A round of
/// the finished item ends with it, as does its problem phase's timer.
pub(crate) fn next_agenda_item(ctx: &Ctx) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    ctx.require_meeting_on()?;
    let agenda = &ctx.flow.agenda;
    let current = agenda
        .iter()
        .position(|item| item.status == AgendaItemStatus::Current);
    let after = current.map_or(0, |index| index + 1);
    let next = agenda[after..]
        .iter()
        .chain(&agenda[..after])
        .find(|item| item.status == AgendaItemStatus::Pending)
        .map(|item| item.item_id);
    let mut events = Vec::new();
    match current {
        Some(index) => finish_item(ctx, agenda[index].item_id, &mut events),
        None if next.is_none() => {
            return Err(conflict(
                "every agenda item is done; end the meeting or add an item",
            ));
        }
        None => {}
    }
    // The current item, if any, is done by now: only the next one changes.
    if let Some(next) = next {
        events.push(FlowEvent::AgendaItemStatusChanged {
            item_id: next,
            status: AgendaItemStatus::Current,
        });
    }
    Ok(events)
}

/// Back: the current item goes back to pending and the item before it becomes current again,
/// whatever its status; with no current item, the last done item does.
pub(crate) fn previous_agenda_item(ctx: &Ctx) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    ctx.require_meeting_on()?;
    let agenda = &ctx.flow.agenda;
    let previous = match agenda
        .iter()
        .position(|item| item.status == AgendaItemStatus::Current)
    {
        Some(0) => return Err(conflict("the current item is the agenda's first")),
        Some(index) => agenda[index - 1].item_id,
        None => agenda
            .iter()
            .rev()
            .find(|item| item.status == AgendaItemStatus::Done)
            .map(|item| item.item_id)
            .ok_or_else(|| conflict("no agenda item is done or current yet"))?,
    };
    Ok(make_current(ctx, previous))
}

/// End meeting: the speaker's turn, the round, the floor and the timer end (talk times
/// counted), the current item goes back to pending (unfinished: it carries over like any
/// other), and the meeting is marked ended. The room lowers every raised hand with it.
pub(crate) fn end_meeting(ctx: &Ctx) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    ctx.require_meeting_on()?;
    let flow = ctx.flow;
    let mut events = Vec::new();
    ctx.end_current_turn(&mut events);
    if flow.floor.is_some() {
        events.push(FlowEvent::FloorGiven { floor: None });
    }
    if flow.timer.is_some() {
        events.push(FlowEvent::TimerSet { timer: None });
    }
    if flow.round.is_some() {
        events.push(FlowEvent::RoundEnded);
    }
    for item in &flow.agenda {
        if item.status == AgendaItemStatus::Current {
            events.push(FlowEvent::AgendaItemStatusChanged {
                item_id: item.item_id,
                status: AgendaItemStatus::Pending,
            });
        }
    }
    events.push(FlowEvent::MeetingEnded);
    Ok(events)
}

/// Events that finish `item_id`: its round (with the speaker's turn counted) and its problem
/// phase's timer end, and it is done.
fn finish_item(ctx: &Ctx, item_id: AgendaItemId, events: &mut Vec<FlowEvent>) {
    let flow = ctx.flow;
    if flow
        .round
        .as_ref()
        .is_some_and(|round| round.item_id == Some(item_id))
    {
        // Nobody has the queue's floor while a round speaker speaks.
        if flow.round_speaker().is_some() {
            ctx.end_current_turn(events);
        }
        if let Some(TimerSubject::RoundSpeaker { .. }) = flow.timer.map(|timer| timer.subject) {
            events.push(FlowEvent::TimerSet { timer: None });
        }
        events.push(FlowEvent::RoundEnded);
    }
    stop_problem_timer(ctx, item_id, events);
    events.push(FlowEvent::AgendaItemStatusChanged {
        item_id,
        status: AgendaItemStatus::Done,
    });
}
