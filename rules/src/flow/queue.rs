//! The facilitator's side of the speaker queue: call the next raised hand (optionally with a
//! time box, run by the meeting's timer), end their turn, clear the queue, lower someone's
//! hand. Members raise and lower their own hands through the room's core rules.

use roundtable_protocol::{FloorInfo, Request, TimerSubject};

use super::{Ctx, FlowEvent, Timer, conflict, not_found};
use crate::state::{RoomError, RoomEvent};

/// Decides a speaker queue request, or `None` when `request` is not one.
pub(crate) fn decide(ctx: &Ctx, request: &Request) -> Option<Result<Vec<RoomEvent>, RoomError>> {
    let result = match request {
        Request::CallNextSpeaker { time_box_ms } => (|| {
            ctx.require_facilitator()?;
            let time_box_ms = time_box_ms
                .map(|time_box_ms| ctx.time_box_ms("a called speaker's time box", time_box_ms))
                .transpose()?;
            if let Some(speaker) = ctx.flow().round_speaker() {
                return Err(conflict(format!(
                    "round speaker {speaker} has the floor; move the round on or end it first"
                )));
            }
            let Some(next) = ctx.state.hands.first().copied() else {
                return Err(conflict("nobody has raised their hand"));
            };
            let mut flow_events = Vec::new();
            ctx.end_current_turn(&mut flow_events);
            let mut events: Vec<RoomEvent> = flow_events.into_iter().map(RoomEvent::from).collect();
            events.push(RoomEvent::HandLowered { member_id: next });
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
                        ctx.flow().timer.map(|timer| timer.subject)
                    {
                        events.push(FlowEvent::TimerSet { timer: None }.into());
                    }
                }
            }
            Ok(events)
        })(),
        Request::EndTurn => (|| {
            ctx.require_facilitator()?;
            if ctx.flow().floor.is_none() {
                return Err(conflict(
                    "nobody called from the speaker queue has the floor",
                ));
            }
            let mut events = Vec::new();
            ctx.end_current_turn(&mut events);
            events.push(FlowEvent::FloorGiven { floor: None });
            if let Some(TimerSubject::CalledSpeaker { .. }) =
                ctx.flow().timer.map(|timer| timer.subject)
            {
                events.push(FlowEvent::TimerSet { timer: None });
            }
            Ok(events.into_iter().map(RoomEvent::from).collect())
        })(),
        Request::ClearHands => (|| {
            ctx.require_facilitator()?;
            Ok(ctx
                .state
                .hands
                .iter()
                .map(|member_id| RoomEvent::HandLowered {
                    member_id: *member_id,
                })
                .collect())
        })(),
        Request::LowerHandOf { member_id } => (|| {
            ctx.require_facilitator()?;
            if ctx.state.member(*member_id).is_none() {
                return Err(not_found(format!("no member {member_id} in this group")));
            }
            if !ctx.state.hands.contains(member_id) {
                return Ok(Vec::new());
            }
            Ok(vec![RoomEvent::HandLowered {
                member_id: *member_id,
            }])
        })(),
        _ => return None,
    };
    Some(result)
}
