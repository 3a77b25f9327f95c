//! How the flow's rules are run: the context a rule sees, `time_up` caught up before a
//! request, the timer's wake-up, and what a member's removal ends.

use super::*;

/// Everything a flow rule needs to know about one request.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub state: &'a RoomState,
    pub by: MemberId,
    pub role: Role,
    pub now_ms: UnixMs,
    pub limits: &'a RoomLimits,
}

impl Ctx<'_> {
    pub fn flow(&self) -> &FlowState {
        &self.state.flow
    }

    pub fn require_facilitator(&self) -> Result<(), RoomError> {
        crate::state::require_facilitator(self.role)
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
        let max_ms = self.limits.flow.time_box_seconds_max.saturating_mul(1_000);
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
        let flow = self.flow();
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

/// Decides a meeting flow request with `rule`, which sees the room with any `time_up` that is
/// due applied.
///
/// When the timer's deadline has passed and the room has not sent `time_up` for it yet (the
/// request arrived just before the actor's wake-up), `time_up` comes first, so it is sent once
/// per deadline whatever the order.
pub fn decide(
    state: &RoomState,
    by: MemberId,
    now_ms: UnixMs,
    limits: &RoomLimits,
    rule: impl FnOnce(&Ctx) -> Result<Vec<RoomEvent>, RoomError>,
) -> Result<Vec<RoomEvent>, RoomError> {
    let role = crate::state::require_member_role(state, by)?;
    let (caught_up, due) = catch_up_time_up(state, now_ms);
    let ctx = Ctx {
        state: caught_up.as_ref().unwrap_or(state),
        by,
        role,
        now_ms,
        limits,
    };
    let decided = rule(&ctx)?;
    if decided.is_empty() {
        // A no-op request stays a no-op; the due time_up is the actor's to send.
        return Ok(decided);
    }
    let mut all: Vec<RoomEvent> = due.into_iter().map(RoomEvent::from).collect();
    all.extend(decided);
    Ok(all)
}

/// Flow events as room events.
pub fn into_room_events(events: Vec<FlowEvent>) -> Vec<RoomEvent> {
    events.into_iter().map(RoomEvent::from).collect()
}

impl From<FlowEvent> for RoomEvent {
    fn from(event: FlowEvent) -> RoomEvent {
        RoomEvent::Flow { event }
    }
}

/// The `time_up` event due at `now_ms`, and the state with it applied.
fn catch_up_time_up(state: &RoomState, now_ms: UnixMs) -> (Option<RoomState>, Vec<FlowEvent>) {
    match state.flow.timer {
        Some(timer)
            if timer
                .pending_deadline_ms()
                .is_some_and(|deadline| deadline <= now_ms) =>
        {
            let event = time_up_event(&timer);
            let mut caught_up = state.clone();
            caught_up.flow.apply(&event);
            (Some(caught_up), vec![event])
        }
        _ => (None, Vec::new()),
    }
}

fn time_up_event(timer: &Timer) -> FlowEvent {
    FlowEvent::TimeUp {
        subject: timer.subject,
        deadline_ms: timer.pending_deadline_ms().unwrap_or_default(),
    }
}

/// What happens at `now_ms` without anyone acting: `time_up` when the running timer's deadline
/// has passed (once per deadline), and with auto-advance the round's next speaker. The actor
/// calls this when it wakes at [`FlowState::next_deadline_ms`], and right after loading a room,
/// so a deadline that passed while the server was down fires at once.
pub fn decide_tick(state: &RoomState, now_ms: UnixMs) -> Vec<FlowEvent> {
    let (Some(caught_up), mut events) = catch_up_time_up(state, now_ms) else {
        return Vec::new();
    };
    if let (Some(TimerSubject::RoundSpeaker { .. }), Some(round), Some(timer)) = (
        caught_up.flow.timer.map(|timer| timer.subject),
        &caught_up.flow.round,
        state.flow.timer,
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
pub fn on_member_removed(state: &RoomState, member_id: MemberId, now_ms: UnixMs) -> Vec<FlowEvent> {
    let flow = &state.flow;
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
