//! Turn-taking rounds and the timer controls.
//!
//! A round is a list of speakers in speaking order, which stays as planned: skipping a speaker
//! marks them skipped in their place, and putting them back makes them wait there again. The
//! next speaker is the first one waiting (a restored speaker whose place has passed is next);
//! "back" gives the floor to the nearest finished (done or skipped) speaker before the current
//! one. Being skipped is not a turn: a speaker skipped with no talk time counts no turn. Every speaking turn runs the timer with the round's time box and ends with a
//! `turn_ended` that records the actual talk time.

use std::collections::BTreeSet;

use roundtable_protocol::{
    ErrorCode, MemberId, Role, RoundInfo, RoundSpeaker, SpeakerStatus, TimerSubject, UnixMs,
};

use super::{
    Ctx, FlowEvent, FlowState, Timer, agenda, conflict, not_found, require_permutation,
    turn_talk_ms,
};
use crate::command::RoundCommand;
use crate::error::RoomError;

fn require_round(ctx: &Ctx) -> Result<RoundInfo, RoomError> {
    ctx.flow
        .round
        .clone()
        .ok_or_else(|| conflict("no round is running; start one first"))
}

fn require_no_floor(ctx: &Ctx) -> Result<(), RoomError> {
    match ctx.flow.floor {
        Some(floor) => Err(conflict(format!(
            "{} has the floor from the speaker queue; end their turn first",
            floor.member_id
        ))),
        None => Ok(()),
    }
}

/// Events that end the current round speaker's turn (if any) with `ending_status` at
/// `ended_at_ms`, and give the floor to the first waiting speaker with a fresh time box from
/// `now_ms`. When nobody is waiting, the timer stops and the round stays until it is ended.
pub fn advance(
    flow: &FlowState,
    now_ms: UnixMs,
    ended_at_ms: UnixMs,
    ending_status: SpeakerStatus,
) -> Vec<FlowEvent> {
    let Some(round) = &flow.round else {
        return Vec::new();
    };
    let mut events = Vec::new();
    if let Some(current) = flow.round_speaker() {
        let talk_ms = turn_talk_ms(
            flow,
            TimerSubject::RoundSpeaker { member_id: current },
            ended_at_ms,
            0,
        );
        // An absent speaker skipped before saying anything has had no turn.
        if ending_status == SpeakerStatus::Done || talk_ms > 0 {
            events.push(FlowEvent::round_turn_ended(round, current, talk_ms));
        }
        events.push(FlowEvent::RoundSpeakerChanged {
            member_id: current,
            status: ending_status,
        });
    }
    match round
        .speakers
        .iter()
        .find(|speaker| speaker.status == SpeakerStatus::Waiting)
    {
        Some(next) => {
            events.push(FlowEvent::RoundSpeakerChanged {
                member_id: next.member_id,
                status: SpeakerStatus::Speaking,
            });
            events.push(FlowEvent::TimerSet {
                timer: Some(Timer::start(
                    TimerSubject::RoundSpeaker {
                        member_id: next.member_id,
                    },
                    round.speaker_time_box_ms,
                    now_ms,
                )),
            });
        }
        None => {
            if let Some(TimerSubject::RoundSpeaker { .. }) = flow.timer.map(|t| t.subject) {
                events.push(FlowEvent::TimerSet { timer: None });
            }
        }
    }
    events
}

/// The round's speakers with the waiting ones put in `waiting_order`; the others keep their
/// places.
fn with_waiting_order(round: &RoundInfo, waiting_order: &[MemberId]) -> Vec<MemberId> {
    let mut waiting = waiting_order.iter();
    round
        .speakers
        .iter()
        .map(|speaker| {
            if speaker.status == SpeakerStatus::Waiting {
                *waiting.next().unwrap_or(&speaker.member_id)
            } else {
                speaker.member_id
            }
        })
        .collect()
}

fn waiting_speakers(round: &RoundInfo) -> Vec<MemberId> {
    round
        .speakers
        .iter()
        .filter(|speaker| speaker.status == SpeakerStatus::Waiting)
        .map(|speaker| speaker.member_id)
        .collect()
}

/// A deterministic shuffle: the seed comes from the request's time and the room's seq, so the
/// state machine stays pure (no random source) while two shuffles differ.
fn shuffled(mut members: Vec<MemberId>, seed: u64) -> Vec<MemberId> {
    let mut state = seed;
    let mut next = || {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for index in (1..members.len()).rev() {
        let other = (next() % (index as u64 + 1)) as usize;
        members.swap(index, other);
    }
    members
}

/// Decides one RoundCommand into events.
pub(crate) fn decide(ctx: &Ctx, command: &RoundCommand) -> Result<Vec<FlowEvent>, RoomError> {
    match command {
        RoundCommand::StartRound {
            speaker_time_box_ms,
            auto_advance,
            speakers,
            item_id,
        } => start_round(ctx, *speaker_time_box_ms, *auto_advance, speakers, *item_id),
        RoundCommand::ReorderSpeakers { order } => reorder_speakers(ctx, order),
        RoundCommand::ShuffleSpeakers => shuffle_speakers(ctx),
        RoundCommand::NextSpeaker => next_speaker(ctx),
        RoundCommand::SkipSpeaker { member_id } => skip_speaker(ctx, member_id),
        RoundCommand::PreviousSpeaker => previous_speaker(ctx),
        RoundCommand::RestoreSpeaker { member_id } => restore_speaker(ctx, *member_id),
        RoundCommand::EndRound => end_round(ctx),
        RoundCommand::SetAutoAdvance { auto_advance } => set_auto_advance(ctx, auto_advance),
        RoundCommand::PauseTimer => timer_change(ctx, |timer| Ok(timer.paused(ctx.now_ms))),
        RoundCommand::ResumeTimer => timer_change(ctx, |timer| Ok(timer.resumed(ctx.now_ms))),
        RoundCommand::ExtendTimer { delta_ms } => timer_change(ctx, |timer| {
            let max_ms = ctx.limits.timer_extend_seconds_max.saturating_mul(1_000);
            if delta_ms.unsigned_abs() > max_ms {
                return Err(RoomError::new(
                    ErrorCode::Invalid,
                    format!("an extension is at most {max_ms} ms either way, not {delta_ms} ms"),
                ));
            }
            Ok(timer.extended(*delta_ms, ctx.now_ms))
        }),
    }
}

fn reorder_speakers(ctx: &Ctx, order: &[MemberId]) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let round = require_round(ctx)?;
    let waiting = waiting_speakers(&round);
    require_permutation(order, &waiting, "waiting speaker")?;
    if *order == waiting {
        return Ok(Vec::new());
    }
    Ok(vec![FlowEvent::RoundSpeakersReordered {
        order: with_waiting_order(&round, order),
    }])
}

fn shuffle_speakers(ctx: &Ctx) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let round = require_round(ctx)?;
    let waiting = waiting_speakers(&round);
    let seed = ctx.now_ms ^ ctx.salt;
    let order = shuffled(waiting.clone(), seed);
    if order == waiting {
        return Ok(Vec::new());
    }
    Ok(vec![FlowEvent::RoundSpeakersReordered {
        order: with_waiting_order(&round, &order),
    }])
}

fn next_speaker(ctx: &Ctx) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let round = require_round(ctx)?;
    require_no_floor(ctx)?;
    if ctx.flow.round_speaker().is_none() && waiting_speakers(&round).is_empty() {
        return Err(conflict("every speaker has had their turn; end the round"));
    }
    Ok(advance(
        ctx.flow,
        ctx.now_ms,
        ctx.now_ms,
        SpeakerStatus::Done,
    ))
}

fn skip_speaker(ctx: &Ctx, member_id: &Option<MemberId>) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let round = require_round(ctx)?;
    let current = ctx.flow.round_speaker();
    let target = member_id
        .or(current)
        .ok_or_else(|| conflict("nobody is speaking; name the waiting speaker to skip"))?;
    let speaker = round
        .speakers
        .iter()
        .find(|speaker| speaker.member_id == target)
        .ok_or_else(|| not_found(format!("{target} is not a speaker of this round")))?;
    match speaker.status {
        SpeakerStatus::Speaking => Ok(advance(
            ctx.flow,
            ctx.now_ms,
            ctx.now_ms,
            SpeakerStatus::Skipped,
        )),
        SpeakerStatus::Waiting => Ok(vec![FlowEvent::RoundSpeakerChanged {
            member_id: target,
            status: SpeakerStatus::Skipped,
        }]),
        SpeakerStatus::Done | SpeakerStatus::Skipped => Err(conflict(format!(
            "{target} is not waiting to speak; use previous_speaker to give them the floor again"
        ))),
    }
}

/// Puts a skipped speaker back to waiting in their place: the next speaker is the first one
/// waiting in the order, so they speak when the order reaches them, or next when it is past.
/// A removed member stays skipped.
fn restore_speaker(ctx: &Ctx, member_id: MemberId) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let round = require_round(ctx)?;
    let speaker = round
        .speakers
        .iter()
        .find(|speaker| speaker.member_id == member_id)
        .ok_or_else(|| not_found(format!("{member_id} is not a speaker of this round")))?;
    if ctx.roster.member(member_id).is_none() {
        return Err(not_found(format!("{member_id} is no longer in the group")));
    }
    if speaker.status != SpeakerStatus::Skipped {
        return Err(conflict(format!(
            "{member_id} was not skipped; only a skipped speaker can be put back"
        )));
    }
    Ok(vec![FlowEvent::RoundSpeakerChanged {
        member_id,
        status: SpeakerStatus::Waiting,
    }])
}

fn previous_speaker(ctx: &Ctx) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let round = require_round(ctx)?;
    require_no_floor(ctx)?;
    let current = ctx.flow.round_speaker();
    let end = current
        .and_then(|id| round.speakers.iter().position(|s| s.member_id == id))
        .unwrap_or(round.speakers.len());
    let previous = round.speakers[..end]
        .iter()
        .rev()
        .find(|s| matches!(s.status, SpeakerStatus::Done | SpeakerStatus::Skipped))
        .ok_or_else(|| conflict("there is no previous speaker"))?
        .member_id;
    let mut events = Vec::new();
    if let Some(current) = current {
        let talk_ms = turn_talk_ms(
            ctx.flow,
            TimerSubject::RoundSpeaker { member_id: current },
            ctx.now_ms,
            0,
        );
        if talk_ms > 0 {
            events.push(FlowEvent::round_turn_ended(&round, current, talk_ms));
        }
        events.push(FlowEvent::RoundSpeakerChanged {
            member_id: current,
            status: SpeakerStatus::Waiting,
        });
    }
    events.push(FlowEvent::RoundSpeakerChanged {
        member_id: previous,
        status: SpeakerStatus::Speaking,
    });
    events.push(FlowEvent::TimerSet {
        timer: Some(Timer::start(
            TimerSubject::RoundSpeaker {
                member_id: previous,
            },
            round.speaker_time_box_ms,
            ctx.now_ms,
        )),
    });
    Ok(events)
}

fn end_round(ctx: &Ctx) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    require_round(ctx)?;
    let mut events = Vec::new();
    ctx.end_current_turn(&mut events);
    if let Some(TimerSubject::RoundSpeaker { .. }) = ctx.flow.timer.map(|t| t.subject) {
        events.push(FlowEvent::TimerSet { timer: None });
    }
    events.push(FlowEvent::RoundEnded);
    Ok(events)
}

fn set_auto_advance(ctx: &Ctx, auto_advance: &bool) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let round = require_round(ctx)?;
    if round.auto_advance == *auto_advance {
        return Ok(Vec::new());
    }
    Ok(vec![FlowEvent::RoundAutoAdvanceSet {
        auto_advance: *auto_advance,
    }])
}

/// A facilitator's change to the running or paused timer; a change that changes nothing is a
/// no-op.
fn timer_change(
    ctx: &Ctx,
    change: impl FnOnce(&Timer) -> Result<Timer, RoomError>,
) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    let timer = ctx
        .flow
        .timer
        .ok_or_else(|| conflict("no timer is running"))?;
    let changed = change(&timer)?;
    if changed == timer {
        return Ok(Vec::new());
    }
    let mut events = vec![FlowEvent::TimerSet {
        timer: Some(changed),
    }];
    // Taking time away from a paused timer can use it up. A paused timer has no deadline to
    // wake at, so its time is up now.
    if !changed.is_running() && !changed.time_up_sent && changed.remaining_ms(ctx.now_ms) <= 0 {
        events.push(FlowEvent::TimeUp {
            subject: changed.subject,
            deadline_ms: ctx.now_ms,
        });
    }
    Ok(events)
}

fn start_round(
    ctx: &Ctx,
    speaker_time_box_ms: u64,
    auto_advance: bool,
    speakers: &Option<Vec<MemberId>>,
    item_id: Option<u32>,
) -> Result<Vec<FlowEvent>, RoomError> {
    ctx.require_facilitator()?;
    ctx.require_meeting_on()?;
    let speaker_time_box_ms = ctx.time_box_ms("a speaker's time box", speaker_time_box_ms)?;
    if ctx.flow.round.is_some() {
        return Err(conflict("a round is running; end it first"));
    }
    require_no_floor(ctx)?;
    if let Some(item_id) = item_id
        && ctx.flow.item(item_id).is_none()
    {
        return Err(not_found(format!(
            "no agenda item {item_id} in this meeting"
        )));
    }
    let speakers = match speakers {
        Some(speakers) => named_speakers(ctx, speakers)?,
        None => present_speakers(ctx),
    };
    require_speaker_count(ctx, &speakers)?;
    let first = speakers[0];
    let round = RoundInfo {
        item_id,
        speaker_time_box_ms,
        auto_advance,
        speakers: speakers
            .into_iter()
            .map(|member_id| RoundSpeaker {
                member_id,
                status: SpeakerStatus::Waiting,
                talk_ms: 0,
            })
            .collect(),
    };
    let mut events = item_id.map_or_else(Vec::new, |item_id| agenda::make_current(ctx, item_id));
    events.extend([
        FlowEvent::RoundStarted { round },
        FlowEvent::RoundSpeakerChanged {
            member_id: first,
            status: SpeakerStatus::Speaking,
        },
        FlowEvent::TimerSet {
            timer: Some(Timer::start(
                TimerSubject::RoundSpeaker { member_id: first },
                speaker_time_box_ms,
                ctx.now_ms,
            )),
        },
    ]);
    Ok(events)
}

/// The speakers the facilitator named: members who are not observers, each once.
fn named_speakers(ctx: &Ctx, speakers: &[MemberId]) -> Result<Vec<MemberId>, RoomError> {
    let mut seen = BTreeSet::new();
    for member_id in speakers {
        match ctx.roster.role_of(*member_id) {
            None => return Err(not_found(format!("no member {member_id} in this group"))),
            Some(Role::Observer) => {
                return Err(RoomError::new(
                    ErrorCode::Invalid,
                    format!("{member_id} is an observer; observers do not speak in rounds"),
                ));
            }
            Some(_) => {}
        }
        if !seen.insert(*member_id) {
            return Err(RoomError::new(
                ErrorCode::Invalid,
                format!("{member_id} is listed twice"),
            ));
        }
    }
    Ok(speakers.to_vec())
}

/// The speakers when the facilitator names none: the members present who are not observers,
/// in the order they joined.
fn present_speakers(ctx: &Ctx) -> Vec<MemberId> {
    ctx.roster
        .members
        .iter()
        .filter(|member| member.role != Role::Observer && ctx.roster.is_online(member.id))
        .map(|member| member.id)
        .collect()
}

/// Refuses a round with nobody to speak or more speakers than a round may have.
fn require_speaker_count(ctx: &Ctx, speakers: &[MemberId]) -> Result<(), RoomError> {
    if speakers.is_empty() {
        return Err(conflict("nobody is present to speak"));
    }
    if speakers.len() > ctx.limits.speakers_per_round_max {
        return Err(RoomError::new(
            ErrorCode::LimitReached,
            format!(
                "{} speakers; a round has at most {}",
                speakers.len(),
                ctx.limits.speakers_per_round_max
            ),
        ));
    }
    Ok(())
}
