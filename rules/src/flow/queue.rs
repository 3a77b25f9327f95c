//! The facilitator's side of the speaker queue: call the next raised hand (optionally with a
//! time box, run by the meeting's timer), end their turn, clear the queue, lower someone's
//! hand; and members raising and lowering their own.

use roundtable_protocol::MemberId;
use roundtable_protocol::{FloorInfo, TimerSubject};

use super::{Ctx, FlowEvent, Timer, conflict, not_found};
use crate::command::QueueCommand;
use crate::error::RoomError;

/// What the speaker queue's rules decide: a hand raised or lowered (the queue itself is the
/// room's), or a change to the flow (the floor, the timer, a turn's talk time).
#[derive(Debug, Clone, PartialEq)]
pub enum QueueEvent {
    HandRaised { member_id: MemberId },
    HandLowered { member_id: MemberId },
    Flow(FlowEvent),
}

impl From<FlowEvent> for QueueEvent {
    fn from(event: FlowEvent) -> Self {
        QueueEvent::Flow(event)
    }
}

/// Decides one QueueCommand into events.
pub(crate) fn decide(ctx: &Ctx, command: &QueueCommand) -> Result<Vec<QueueEvent>, RoomError> {
    match command {
        QueueCommand::RaiseHand => Ok(raise_hand(ctx)),
        QueueCommand::LowerHand => Ok(lower_hand(ctx)),
        QueueCommand::CallNextSpeaker {
            time_box_ms,
            member_id,
        } => call_next_speaker(ctx, time_box_ms, member_id),
        QueueCommand::EndTurn => end_turn(ctx),
        QueueCommand::ClearHands => clear_hands(ctx),
        QueueCommand::LowerHandOf { member_id } => lower_hand_of(ctx, member_id),
    }
}

/// A member joins the speaker queue; raising a raised hand is a no-op.
fn raise_hand(ctx: &Ctx) -> Vec<QueueEvent> {
    if ctx.hands.contains(&ctx.by) {
        return Vec::new();
    }
    vec![QueueEvent::HandRaised { member_id: ctx.by }]
}

/// A member leaves the speaker queue; lowering a lowered hand is a no-op.
fn lower_hand(ctx: &Ctx) -> Vec<QueueEvent> {
    if !ctx.hands.contains(&ctx.by) {
        return Vec::new();
    }
    vec![QueueEvent::HandLowered { member_id: ctx.by }]
}

/// Gives the floor to `member_id`'s raised hand, or to the first one.
fn call_next_speaker(
    ctx: &Ctx,
    time_box_ms: &Option<u64>,
    member_id: &Option<MemberId>,
) -> Result<Vec<QueueEvent>, RoomError> {
    ctx.require_facilitator()?;
    ctx.require_meeting_on()?;
    let time_box_ms = time_box_ms
        .map(|time_box_ms| ctx.time_box_ms("a called speaker's time box", time_box_ms))
        .transpose()?;
    if let Some(speaker) = ctx.flow.round_speaker() {
        return Err(conflict(format!(
            "round speaker {speaker} has the floor; move the round on or end it first"
        )));
    }
    let next = match member_id {
        Some(member_id) if ctx.hands.contains(member_id) => *member_id,
        Some(member_id) => {
            let name = ctx
                .roster
                .member(*member_id)
                .map(|member| member.display_name.clone())
                .ok_or_else(|| not_found(format!("no member {member_id} in this group")))?;
            return Err(conflict(format!("{name} has not raised their hand")));
        }
        None => ctx
            .hands
            .first()
            .copied()
            .ok_or_else(|| conflict("nobody has raised their hand"))?,
    };
    let mut flow_events = Vec::new();
    ctx.end_current_turn(&mut flow_events);
    let mut events: Vec<QueueEvent> = flow_events.into_iter().map(QueueEvent::from).collect();
    events.push(QueueEvent::HandLowered { member_id: next });
    events.push(
        FlowEvent::FloorGiven {
            floor: Some(FloorInfo {
                member_id: next,
                since_ms: ctx.now_ms,
                time_box_ms,
            }),
        }
        .into(),
    );
    let subject = TimerSubject::CalledSpeaker { member_id: next };
    match time_box_ms {
        Some(time_box_ms) => events.push(
            FlowEvent::TimerSet {
                timer: Some(Timer::start(subject, time_box_ms, ctx.now_ms)),
            }
            .into(),
        ),
        None => {
            if let Some(TimerSubject::CalledSpeaker { .. }) =
                ctx.flow.timer.map(|timer| timer.subject)
            {
                events.push(FlowEvent::TimerSet { timer: None }.into());
            }
        }
    }
    Ok(events)
}

fn end_turn(ctx: &Ctx) -> Result<Vec<QueueEvent>, RoomError> {
    ctx.require_facilitator()?;
    if ctx.flow.floor.is_none() {
        return Err(conflict(
            "nobody called from the speaker queue has the floor",
        ));
    }
    let mut events = Vec::new();
    ctx.end_current_turn(&mut events);
    events.push(FlowEvent::FloorGiven { floor: None });
    if let Some(TimerSubject::CalledSpeaker { .. }) = ctx.flow.timer.map(|timer| timer.subject) {
        events.push(FlowEvent::TimerSet { timer: None });
    }
    Ok(events.into_iter().map(QueueEvent::from).collect())
}

fn clear_hands(ctx: &Ctx) -> Result<Vec<QueueEvent>, RoomError> {
    ctx.require_facilitator()?;
    Ok(ctx
        .hands
        .iter()
        .map(|member_id| QueueEvent::HandLowered {
            member_id: *member_id,
        })
        .collect())
}

fn lower_hand_of(ctx: &Ctx, member_id: &MemberId) -> Result<Vec<QueueEvent>, RoomError> {
    ctx.require_facilitator()?;
    if ctx.roster.member(*member_id).is_none() {
        return Err(not_found(format!("no member {member_id} in this group")));
    }
    if !ctx.hands.contains(member_id) {
        return Ok(Vec::new());
    }
    Ok(vec![QueueEvent::HandLowered {
        member_id: *member_id,
    }])
}
