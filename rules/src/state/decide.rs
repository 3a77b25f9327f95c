//! Deciding a member's change: [`decide_keyed`] dispatches it to the feature that decides it,
//! handing the feature what it needs, and adds the events one feature's decision causes in
//! another. [`decide_tick`] decides what happens when nobody acts.

use roundtable_protocol as wire;
use roundtable_protocol::{MemberId, Role, UnixMs};

use super::meeting::withhold_benchmarks_before_start;
use super::{RoomError, RoomEvent, RoomState};
use crate::activity::{self, Me};
use crate::command::{Change, ProblemCommand};
use crate::commitments::{self, NewCommitment};
use crate::flow::{self, FlowEvent};
use crate::limits::RoomLimits;
use crate::membership;
use crate::practices;
use crate::prep;
use crate::schedule;
use crate::secret::PseudonymKey;

/// Decides a change a joined member asks for into the events it causes, where no connection's
/// pseudonym key is at hand: anonymous numbers are refused (see [`decide_keyed`]).
pub fn decide(
    state: &RoomState,
    by: MemberId,
    change: &Change,
    limits: &RoomLimits,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    decide_keyed(state, by, None, change, limits, now_ms)
}

/// Decides a change a joined member asks for on a connection whose pseudonym key is `key`
/// (from the token it joined with; the room keeps it only in memory), into the events it
/// causes. The key places the member's anonymous numbers ([`activity::Place`]).
pub fn decide_keyed(
    state: &RoomState,
    by: MemberId,
    key: Option<PseudonymKey>,
    change: &Change,
    limits: &RoomLimits,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    let role = state.roster().require_member_role(by)?;
    let flow = flow_ctx(state, by, role, now_ms, limits);
    match change {
        Change::Membership(command) => {
            let events = membership::decide_membership(state, by, role, command, limits, now_ms)?;
            // A removal sends the benchmarks without the member's numbers: withheld too.
            let events = withhold_benchmarks_before_start(state, events);
            Ok(recount_prep_after_removals(state, events))
        }
        Change::Queue(command) => {
            let decided = flow::decide(flow, |ctx| flow::queue::decide(ctx, command));
            Ok(lower_hands_given_the_floor(state, room_events(decided?)))
        }
        Change::Agenda(command) => {
            let decided = flow::decide(flow, |ctx| flow::agenda::decide(ctx, command));
            Ok(lower_hands_when_the_meeting_ends(
                state,
                room_events(decided?),
            ))
        }
        Change::Round(command) => {
            let decided = flow::decide(flow, |ctx| flow::round::decide(ctx, command));
            Ok(lower_hands_given_the_floor(state, room_events(decided?)))
        }
        Change::Problem(command) => {
            let decided = flow::decide(flow, |ctx| flow::problem::decide(ctx, command));
            let mut events = room_events(decided?);
            events.extend(commitments_from_chosen_suggestions(
                state, command, &events, now_ms,
            )?);
            Ok(events)
        }
        Change::Commitments(command) => {
            // While the meeting is upcoming, an owner's update of their own open commitment
            // is a report back, held as prep until the start (`crate::prep`).
            if let crate::command::CommitmentCommand::UpdateCommitment {
                commitment_id,
                status,
                note,
            } = command
                && prep::holds_report_back(
                    state.prep_open(),
                    &state.commitments,
                    by,
                    *commitment_id,
                )
            {
                return prep::decide_report_back(
                    &state.prep,
                    state.into(),
                    by,
                    *commitment_id,
                    *status,
                    note.as_deref(),
                    now_ms,
                );
            }
            let mut events = commitments::decide(state.into(), by, command, now_ms)?;
            let dropped = prep::drop_report_backs_on_closed(&state.prep, &events);
            events.extend(dropped);
            Ok(events)
        }
        Change::Activity(command) => {
            let events = activity::decide(
                &state.activity,
                state.meeting.id,
                &Me { member_id: by, key },
                role,
                command,
            )?;
            Ok(withhold_benchmarks_before_start(state, events))
        }
        Change::Prep(command) => {
            let context = prep::Context {
                prep: &state.prep,
                roster: state.roster(),
                open: state.prep_open(),
                limits: &limits.prep,
            };
            prep::decide(context, by, command, now_ms)
        }
        Change::Practices(command) => practices::decide(state.into(), by, command, now_ms),
        Change::Votes(command) => {
            flow::decide(flow, |ctx| flow::votes::decide(ctx, command)).map(room_events)
        }
        Change::Schedule(command) => schedule::decide(
            schedule::Context {
                schedule: state.schedule.as_ref(),
                group_time_zone: state.group.time_zone.as_deref(),
                feeds: &state.calendar_feeds,
                roster: state.roster(),
                moves_max: limits.schedule_moves_max,
            },
            by,
            role,
            command,
        ),
    }
}

/// What the meeting flow's rules see of a request by `by`, who has `role`.
fn flow_ctx<'a>(
    state: &'a RoomState,
    by: MemberId,
    role: Role,
    now_ms: UnixMs,
    limits: &'a RoomLimits,
) -> flow::Ctx<'a> {
    flow::Ctx {
        flow: &state.flow,
        roster: state.roster(),
        hands: &state.hands,
        by,
        role,
        now_ms,
        limits: &limits.flow,
        salt: state.seq.rotate_left(32) ^ state.meeting.id.as_u128() as u64,
    }
}

/// What happens at `now_ms` without anyone acting (see [`flow::decide_tick`]): `time_up`, and
/// with auto-advance the round's next speaker, whose raised hand lowers.
pub fn decide_tick(state: &RoomState, now_ms: UnixMs) -> Vec<RoomEvent> {
    let events = room_events(flow::decide_tick(&state.flow, now_ms));
    lower_hands_given_the_floor(state, events)
}

/// A raised hand lowers itself when its owner gets the floor, called from the queue or as the
/// round's speaker: `events` with a `HandLowered` added for each such owner whose hand is up
/// and not lowered by `events` already.
fn lower_hands_given_the_floor(state: &RoomState, mut events: Vec<RoomEvent>) -> Vec<RoomEvent> {
    let mut lowered: Vec<MemberId> = events
        .iter()
        .filter_map(|event| match event {
            RoomEvent::HandLowered { member_id } => Some(*member_id),
            _ => None,
        })
        .collect();
    let mut lowering = Vec::new();
    for event in &events {
        let RoomEvent::Flow { event } = event else {
            continue;
        };
        let speaker = match event {
            FlowEvent::RoundSpeakerChanged {
                member_id,
                status: wire::SpeakerStatus::Speaking,
            } => *member_id,
            FlowEvent::FloorGiven { floor: Some(floor) } => floor.member_id,
            _ => continue,
        };
        if state.hands.contains(&speaker) && !lowered.contains(&speaker) {
            lowered.push(speaker);
            lowering.push(RoomEvent::HandLowered { member_id: speaker });
        }
    }
    events.extend(lowering);
    events
}

/// Every raised hand lowers when the meeting ends.
fn lower_hands_when_the_meeting_ends(
    state: &RoomState,
    mut events: Vec<RoomEvent>,
) -> Vec<RoomEvent> {
    let ends = events.iter().any(|event| {
        matches!(
            event,
            RoomEvent::Flow {
                event: FlowEvent::MeetingEnded
            }
        )
    });
    if ends {
        let lowered = state.hands.iter().map(|member_id| RoomEvent::HandLowered {
            member_id: *member_id,
        });
        events.extend(lowered.collect::<Vec<_>>());
    }
    events
}

/// A removed member's prep is forgotten; when they had prepared, everyone is told the new count.
fn recount_prep_after_removals(state: &RoomState, mut events: Vec<RoomEvent>) -> Vec<RoomEvent> {
    let removed_prepared = events
        .iter()
        .filter(|event| {
            matches!(event, RoomEvent::MemberRemoved { member_id } if state.prep.has_prepared(*member_id))
        })
        .count() as u32;
    if removed_prepared > 0 {
        events.push(RoomEvent::PreparedCountChanged {
            prepared: state.prep.prepared() - removed_prepared,
        });
    }
    events
}

/// A feature's events as room events.
fn room_events<E: Into<RoomEvent>>(events: Vec<E>) -> Vec<RoomEvent> {
    events.into_iter().map(Into::into).collect()
}

/// The decide phase of a bring-a-problem item turns each suggestion the presenter chose into
/// a commitment of the presenter's, due at the next meeting, with the text they gave it.
/// Decided one after the other on the board with the earlier ones added, so the board's limits
/// hold for all of them together.
fn commitments_from_chosen_suggestions(
    state: &RoomState,
    command: &ProblemCommand,
    events: &[RoomEvent],
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    let chose = events.iter().any(|event| {
        matches!(
            event,
            RoomEvent::Flow {
                event: FlowEvent::SuggestionsChosen { .. }
            }
        )
    });
    let ProblemCommand::ChooseSuggestions {
        item_id,
        choices,
        suggestion_ids,
    } = command
    else {
        return Ok(Vec::new());
    };
    let Some(problem) = state
        .flow
        .item(*item_id)
        .and_then(|item| item.problem.as_ref())
        .filter(|_| chose)
    else {
        return Ok(Vec::new());
    };
    let choices = flow::problem::requested_choices(choices, suggestion_ids)?;
    let mut board = state.commitments.clone();
    let mut added = Vec::new();
    for text in
        flow::problem::commitment_texts(problem, &choices, commitments::COMMITMENT_TEXT_CHARS_MAX)?
    {
        let context = commitments::Context {
            board: &board,
            ..state.into()
        };
        let new = commitments::decide_add(
            context,
            NewCommitment {
                by: problem.presenter,
                owner: None,
                text: &text,
                due_meeting: None,
                due_date: None,
                source: wire::CommitmentSource::Problem,
            },
            now_ms,
        )?;
        for event in &new {
            if let RoomEvent::CommitmentAdded { commitment, .. } = event {
                board.upsert(commitment);
            }
        }
        added.extend(new);
    }
    Ok(added)
}
