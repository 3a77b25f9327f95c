//! The current meeting's life: starting it, ending it, the check of its phase every request
//! passes ([`admit`]), and what an upcoming meeting withholds until it starts.

use roundtable_protocol as wire;
use roundtable_protocol::{MeetingId, MemberId, UnixMs};

use super::{RoomError, RoomEvent, RoomState, require_facilitator};
use crate::activity;
use crate::command::Command;
use crate::meeting_life;
use crate::prep;

impl RoomState {
    /// Whether members may prepare now: the meeting has not started and its prep has not been
    /// revealed.
    pub fn prep_open(&self) -> bool {
        self.meeting_upcoming() && !self.prep.revealed
    }

    /// Whether the current meeting is upcoming (scheduled, not started).
    pub fn meeting_upcoming(&self) -> bool {
        self.meeting.phase == wire::MeetingPhase::Upcoming
    }

    /// The benchmarks as everyone may see them now: while the meeting is upcoming, without
    /// this meeting's numbers (the metrics, the past meetings' results and nothing submitted
    /// during prep), so that nobody sees the group's prep numbers, or aggregates of them,
    /// before the start; from the start, as they are.
    pub fn benchmarks_view(&self) -> wire::BenchmarkView {
        if self.prep_open() {
            self.activity.view_before_start()
        } else {
            self.activity.view()
        }
    }
}

/// While the meeting is upcoming, a change to the benchmarks goes out with the view that
/// withholds this meeting's numbers ([`RoomState::benchmarks_view`]); the start reveals them.
pub(super) fn withhold_benchmarks_before_start(
    state: &RoomState,
    mut events: Vec<RoomEvent>,
) -> Vec<RoomEvent> {
    if state.prep_open() {
        for event in &mut events {
            match event {
                RoomEvent::NumbersSubmitted { view, .. }
                | RoomEvent::AnonymousNumbersSubmitted { view, .. }
                | RoomEvent::NumbersWithdrawn { view, .. }
                | RoomEvent::AnonymousNumbersWithdrawn { view, .. }
                | RoomEvent::PastAnonymousNumbersRemoved { view, .. } => {
                    *view = state.activity.view_before_start();
                }
                // New metrics (or the same, after a removal): the view of those.
                RoomEvent::MetricsSet { metrics, view } => {
                    *view = activity::Activity::view_of_metrics(metrics.clone());
                }
                _ => {}
            }
        }
    }
    events
}

/// Decides ending the current meeting, which must be live ("End meeting"); the next one, with
/// a fresh id from the caller, is upcoming.
pub fn decide_next_meeting(
    state: &RoomState,
    by: MemberId,
    next_meeting_id: MeetingId,
) -> Result<Vec<RoomEvent>, RoomError> {
    require_facilitator(state.roster().require_member_role(by)?)?;
    meeting_life::admit(&state.meeting, &Command::StartNextMeeting)?;
    Ok(vec![RoomEvent::NextMeetingOpened {
        meeting_id: next_meeting_id,
        number: state.meeting.number + 1,
    }])
}

/// Decides starting the upcoming meeting at `now_ms` (facilitators only): it becomes live.
/// Its events, in this order: `MeetingStarted`, the prep revealed, the held report backs
/// applied to the board ([`prep::report_backs_at_start`]), who is here attending.
pub fn decide_start_meeting(
    state: &RoomState,
    by: MemberId,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    require_facilitator(state.roster().require_member_role(by)?)?;
    meeting_life::admit(&state.meeting, &Command::StartMeeting)?;
    let mut events = vec![RoomEvent::MeetingStarted];
    // The members' prep goes to everyone now, with the numbers submitted during it.
    let members: Vec<MemberId> = state.members.iter().map(|member| member.id).collect();
    let numbers_submitted =
        !state.activity.current.is_empty() || !state.activity.anonymous.is_empty();
    events.extend(prep::reveal(
        &state.prep,
        &members,
        numbers_submitted,
        state.activity.view(),
    ));
    // The report backs held during prep go to the board, as live updates now.
    events.extend(prep::report_backs_at_start(
        &state.prep,
        state.into(),
        now_ms,
    ));
    // Who is here now attends the meeting (an event each: who is online is not stored).
    events.extend(
        state
            .online_members()
            .into_iter()
            .map(|member_id| RoomEvent::MemberAttended { member_id }),
    );
    Ok(events)
}

/// Refuses a request the current meeting's phase does not allow ([`meeting_life::needs`]):
/// the room checks every request with this before deciding it.
pub fn admit(state: &RoomState, command: &Command) -> Result<(), RoomError> {
    meeting_life::admit(&state.meeting, command)
}
