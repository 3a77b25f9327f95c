//! How the flow's rules are run: the context a rule sees, `time_up` caught up before a
//! request, the timer's wake-up, and what a member's removal ends.

use super::*;

/// Everything a flow rule needs to know about one request: the flow, who is in the room, and
/// who asks when.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub flow: &'a FlowState,
    pub roster: Roster<'a>,
    /// The speaker queue, first raised first.
    pub hands: &'a [MemberId],
    pub by: MemberId,
    /// The role of `by`, who is a member.
    pub role: Role,
    pub now_ms: UnixMs,
    pub limits: &'a FlowLimits,
    /// A value that differs from one request to the next, mixed into a shuffle's seed.
    pub salt: u64,
}

impl Ctx<'_> {
    pub fn require_facilitator(&self) -> Result<(), RoomError> {
        require_facilitator(self.role)
    }

    /// Refuses what runs a meeting once a facilitator ended it.
    pub fn require_meeting_on(&self) -> Result<(), RoomError> {
        if self.flow.ended_at_ms.is_some() {
            return Err(conflict(
                "this meeting has ended; a facilitator starts the next one",
            ));
        }
        Ok(())
    }

    pub fn require_participant(&self) -> Result<(), RoomError> {
        if self.role == Role::Observer {
            Err(RoomError::new(
                ErrorCode::Forbidden,
                "observers watch; they do not take part",
            ))
        } else {
            Ok(())
        }
    }

    pub fn time_box_ms(&self, what: &str, time_box_ms: u64) -> Result<u64, RoomError> {
        let max_ms = self.limits.time_box_seconds_max.saturating_mul(1_000);
        if time_box_ms == 0 || time_box_ms > max_ms {
            return Err(RoomError::new(
                ErrorCode::Invalid,
                format!("{what} must be between 1 ms and {max_ms} ms, not {time_box_ms} ms"),
            ));
        }
        Ok(time_box_ms)
    }

    /// Events that end the turn of the current round speaker or called speaker, if any,
    /// recording their talk time. Does not touch the timer.
    pub fn end_current_turn(&self, events: &mut Vec<FlowEvent>) {
        let flow = self.flow;
        if let Some(member_id) = flow.round_speaker() {
            let round = flow.round.as_ref().expect("a round speaker is in a round");
            let subject = TimerSubject::RoundSpeaker { member_id };
            let talk_ms = turn_talk_ms(flow, subject, self.now_ms, 0);
            events.push(FlowEvent::round_turn_ended(round, member_id, talk_ms));
        }
        if let Some(floor) = flow.floor {
            let subject = TimerSubject::CalledSpeaker {
                member_id: floor.member_id,
            };
            let talk_ms = turn_talk_ms(flow, subject, self.now_ms, floor.since_ms);
            events.push(FlowEvent::floor_turn_ended(&floor, talk_ms));
        }
    }
}

impl FlowEvent {
    /// The end of round speaker `member_id`'s turn, after `talk_ms` of talk.
    pub(crate) fn round_turn_ended(round: &RoundInfo, member_id: MemberId, talk_ms: u64) -> Self {
        FlowEvent::TurnEnded {
            member_id,
            talk_ms,
            time_box_ms: Some(round.speaker_time_box_ms),
            in_round: true,
        }
    }

    /// The end of the called speaker's turn, after `talk_ms` of talk.
    pub(crate) fn floor_turn_ended(floor: &FloorInfo, talk_ms: u64) -> Self {
        FlowEvent::TurnEnded {
            member_id: floor.member_id,
            talk_ms,
            time_box_ms: floor.time_box_ms,
            in_round: false,
        }
    }
}

/// The talk time of the turn timed as `subject`: from the timer when it times them (paused
/// time excluded), otherwise the time since `since_ms`.
pub(crate) fn turn_talk_ms(
    flow: &FlowState,
    subject: TimerSubject,
    now_ms: UnixMs,
    since_ms: UnixMs,
) -> u64 {
    match flow.timer {
        Some(timer) if timer.subject == subject => timer.talk_ms(now_ms),
        _ => now_ms.saturating_sub(since_ms),
    }
}

/// Decides a meeting flow request with `rule`, which sees the flow with any `time_up` that is
/// due applied.
///
/// When the timer's deadline has passed and the room has not sent `time_up` for it yet (the
/// request arrived just before the actor's wake-up), `time_up` comes first, so it is sent once
/// per deadline whatever the order.
pub fn decide<E: From<FlowEvent>>(
    ctx: Ctx,
    rule: impl FnOnce(&Ctx) -> Result<Vec<E>, RoomError>,
) -> Result<Vec<E>, RoomError> {
    let caught_up = catch_up_time_up(ctx.flow, ctx.now_ms);
    let decided = match &caught_up {
        Some((flow, _)) => rule(&Ctx { flow, ..ctx })?,
        None => rule(&ctx)?,
    };
    if decided.is_empty() {
        // A no-op request stays a no-op; the due time_up is the actor's to send.
        return Ok(decided);
    }
    let mut all: Vec<E> = caught_up.map(|(_, due)| E::from(due)).into_iter().collect();
    all.extend(decided);
    Ok(all)
}

/// The `time_up` event due at `now_ms`, and the flow with it applied.
fn catch_up_time_up(flow: &FlowState, now_ms: UnixMs) -> Option<(FlowState, FlowEvent)> {
    let timer = flow.timer?;
    let deadline_ms = timer.pending_deadline_ms()?;
    if deadline_ms > now_ms {
        return None;
    }
    let event = FlowEvent::TimeUp {
        subject: timer.subject,
        deadline_ms,
    };
    let mut caught_up = flow.clone();
    caught_up.apply(now_ms, &event);
    Some((caught_up, event))
}

/// What happens at `now_ms` without anyone acting: `time_up` when the running timer's deadline
/// has passed (once per deadline), and with auto-advance the round's next speaker. The actor
/// calls this when it wakes at [`FlowState::next_deadline_ms`], and right after loading a room,
/// so a deadline that passed while the server was down fires at once.
pub fn decide_tick(flow: &FlowState, now_ms: UnixMs) -> Vec<FlowEvent> {
    let Some((caught_up, time_up)) = catch_up_time_up(flow, now_ms) else {
        return Vec::new();
    };
    let mut events = vec![time_up];
    if let (Some(TimerSubject::RoundSpeaker { .. }), Some(round), Some(timer)) = (
        caught_up.timer.map(|timer| timer.subject),
        &caught_up.round,
        flow.timer,
    ) && round.auto_advance
    {
        // The turn ended at its deadline, even when the room wakes late (after a restart, for
        // instance): that is when the speaker was meant to stop.
        let ended_at_ms = timer.pending_deadline_ms().unwrap_or(now_ms).min(now_ms);
        events.extend(round::advance(
            &caught_up,
            now_ms,
            ended_at_ms,
            SpeakerStatus::Done,
        ));
    }
    events
}

/// Flow events that go with removing `member_id` from the group: their round turn or floor
/// ends, they leave the round's waiting speakers, and their open proposals are declined.
pub fn on_member_removed(flow: &FlowState, member_id: MemberId, now_ms: UnixMs) -> Vec<FlowEvent> {
    let mut events = Vec::new();
    if let Some(round) = &flow.round
        && let Some(speaker) = round.speakers.iter().find(|s| s.member_id == member_id)
    {
        match speaker.status {
            SpeakerStatus::Speaking => {
                let subject = TimerSubject::RoundSpeaker { member_id };
                let talk_ms = turn_talk_ms(flow, subject, now_ms, 0);
                events.push(FlowEvent::round_turn_ended(round, member_id, talk_ms));
                events.push(FlowEvent::RoundSpeakerChanged {
                    member_id,
                    status: SpeakerStatus::Skipped,
                });
                events.push(FlowEvent::TimerSet { timer: None });
            }
            SpeakerStatus::Waiting => events.push(FlowEvent::RoundSpeakerChanged {
                member_id,
                status: SpeakerStatus::Skipped,
            }),
            SpeakerStatus::Done | SpeakerStatus::Skipped => {}
        }
    }
    if let Some(floor) = flow.floor
        && floor.member_id == member_id
    {
        let subject = TimerSubject::CalledSpeaker { member_id };
        let talk_ms = turn_talk_ms(flow, subject, now_ms, floor.since_ms);
        events.push(FlowEvent::floor_turn_ended(&floor, talk_ms));
        events.push(FlowEvent::FloorGiven { floor: None });
        if flow.timer.is_some_and(|timer| timer.subject == subject) {
            events.push(FlowEvent::TimerSet { timer: None });
        }
    }
    for proposal in &flow.proposals {
        if proposal.proposed_by == member_id {
            events.push(FlowEvent::ProposalClosed {
                proposal_id: proposal.proposal_id,
                accepted: false,
            });
        }
    }
    events
}

/// Refuses unless `order` lists every one of `current` exactly once (`what` names one of them).
pub(crate) fn require_permutation<T: Ord + Copy>(
    order: &[T],
    current: &[T],
    what: &str,
) -> Result<(), RoomError> {
    let wanted: BTreeSet<T> = order.iter().copied().collect();
    if order.len() != current.len()
        || wanted.len() != order.len()
        || !current.iter().all(|id| wanted.contains(id))
    {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            format!("the order must list every {what} exactly once"),
        ));
    }
    Ok(())
}

pub(crate) fn not_found(what: impl Into<String>) -> RoomError {
    RoomError::new(ErrorCode::NotFound, what)
}

pub(crate) fn conflict(what: impl Into<String>) -> RoomError {
    RoomError::new(ErrorCode::Conflict, what)
}
