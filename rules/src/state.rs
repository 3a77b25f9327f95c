//! The room's rules as a pure state machine: no I/O, no clock, no randomness.
//!
//! A room is event-sourced. [`decide`] (and [`decide_join`], [`decide_attendance`]) look at the
//! state and a command and return the events the command causes, or a [`RoomError`] and no
//! events. [`RoomState::apply`] folds one event into the state. The state after a command is
//! therefore exactly the fold of its events, which is what makes a room loadable from a
//! snapshot plus the log tail, and resumable by replaying events. Time and random values come
//! in as arguments, so tests drive the machine with a fake clock and fixed ids.
//!
//! This module is the top of the crate's rules: it dispatches each request to the feature
//! that decides it, handing the feature what it needs (the [`Roster`], its own state, its
//! limits), and folds every feature's events into the room. The room's types are defined
//! below it and named here too, so callers have one path for the machine and its types.

use std::collections::BTreeSet;

use roundtable_protocol as wire;
use roundtable_protocol::{MeetingId, MemberId, Role, Seq, UnixMs};

use crate::activity::{self, Me, Place, Submission};
use crate::command::{Change, Command, Erasure, ProblemCommand, Query};
use crate::commitments::{self, NewCommitment};
use crate::flow::{self, FlowEvent};
use crate::history;
use crate::limits::RoomLimits;
use crate::meeting_life;
use crate::membership;
use crate::minutes;
use crate::practices;
use crate::prep;
use crate::roleplay::{Submission as ScoreForm, SubmissionSlot};
use crate::schedule;
use crate::secret::PseudonymKey;

pub use crate::error::RoomError;
pub use crate::event::{RoomEvent, StoredEvent};
pub use crate::membership::{
    FreshMember, JoinDecision, decide_attendance, decide_attendance_of_everyone_online,
    decide_join, member_by_token, session_by_token,
};
pub use crate::room::{Group, RoomState};
pub use crate::roster::{Audience, Meeting, Member, Roster, require_facilitator};

impl RoomState {
    fn member_mut(&mut self, member_id: MemberId) -> Option<&mut Member> {
        self.members
            .iter_mut()
            .find(|member| member.id == member_id)
    }

    /// Folds one event into the state. Events were decided against this state, so they always
    /// fit; one that does not (a bug, or a damaged log) is ignored field by field rather than
    /// panicking, and the invariant checks in tests catch it.
    pub fn apply(&mut self, seq: Seq, at_ms: UnixMs, event: &RoomEvent) {
        debug_assert!(seq > self.seq, "events apply in seq order");
        self.seq = seq;
        match event {
            RoomEvent::MemberAdded {
                member_id,
                display_name,
                role,
                token_hash,
            } => {
                if self.member(*member_id).is_none() {
                    self.members.push(Member {
                        id: *member_id,
                        display_name: display_name.clone(),
                        role: *role,
                        token_hash: *token_hash,
                        joined_at_ms: at_ms,
                    });
                    // The member's first session, numbered from its token as the join numbered it.
                    let session_id = crate::access::session_id_of(*token_hash);
                    self.access
                        .begin(*member_id, session_id, *token_hash, at_ms);
                }
            }
            // Format 1-3 logs only: presence no longer goes into the log. What it says of who
            // was online is kept apart from who is online now, and its arrivals attended.
            RoomEvent::PresenceChanged {
                member_id, online, ..
            } => self.apply_logged_presence(*member_id, *online),
            RoomEvent::GroupRenamed { name } => self.group.name = name.clone(),
            RoomEvent::TimeZoneSet { time_zone } => self.group.time_zone = Some(time_zone.clone()),
            RoomEvent::CallLinkSet { url } => self.group.call_url = url.clone(),
            RoomEvent::MemberRemoved { member_id } => self.remove_member(*member_id),
            RoomEvent::RoleChanged { member_id, role } => {
                if let Some(member) = self.member_mut(*member_id) {
                    member.role = *role;
                }
            }
            RoomEvent::HandRaised { member_id } => {
                if !self.hands.contains(member_id) {
                    self.hands.push(*member_id);
                }
            }
            RoomEvent::HandLowered { member_id } => self.hands.retain(|id| id != member_id),
            RoomEvent::CommitmentAdded { commitment, .. }
            | RoomEvent::CommitmentUpdated { commitment, .. } => {
                self.commitments.upsert(commitment);
                // A report back held on a commitment that is closed now is dropped (its
                // author is told by the `ReportBackHeld` that follows).
                if commitment.status != wire::CommitmentStatus::Open {
                    self.prep
                        .save_report_back(commitment.owner, commitment.commitment_id, &None);
                }
            }
            RoomEvent::NumbersSubmitted {
                member_id,
                values,
                sharing,
                ..
            } => {
                // The member's one submission of this meeting is replaced; a record from
                // before places may hold anonymous numbers, which go to their legacy place.
                let legacy = Place::legacy(self.meeting.id, *member_id);
                self.activity.remove_member(*member_id);
                self.activity.withdraw_anonymous(legacy);
                match sharing {
                    wire::Sharing::Named => self.activity.submit(
                        *member_id,
                        Submission {
                            values: values.clone(),
                            sharing: *sharing,
                        },
                    ),
                    wire::Sharing::Anonymous => {
                        self.activity.submit_anonymous(legacy, values.clone());
                    }
                }
            }
            RoomEvent::AnonymousNumbersSubmitted { place, values, .. } => {
                self.activity.submit_anonymous(*place, values.clone());
            }
            RoomEvent::NumbersWithdrawn { member_id, .. } => {
                self.activity.remove_member(*member_id);
            }
            RoomEvent::AnonymousNumbersWithdrawn { place, .. } => {
                self.activity.withdraw_anonymous(*place);
            }
            RoomEvent::PastAnonymousNumbersRemoved { places, .. } => {
                self.activity.remove_past_places(places);
            }
            RoomEvent::MetricsSet { metrics, .. } => self.activity.set_metrics(metrics.clone()),
            RoomEvent::PracticePosted { practice } => self.practices.add(practice),
            RoomEvent::PracticeUpvoted {
                practice_id,
                member_id,
                up,
            } => self.practices.upvote(*practice_id, *member_id, *up),
            RoomEvent::PracticeCommented {
                practice_id,
                comment,
            } => self.practices.comment(*practice_id, comment),
            RoomEvent::NextMeetingStarted { meeting_id, number } => {
                self.end_meeting(*meeting_id, *number, at_ms);
                self.start_meeting(at_ms);
                // A format 1-3 log: who its presence events left online attended the new
                // meeting from its start.
                self.meeting.attended = self.logged_online.iter().copied().collect();
            }
            RoomEvent::MeetingStarted => self.start_meeting(at_ms),
            RoomEvent::NextMeetingOpened { meeting_id, number } => {
                self.end_meeting(*meeting_id, *number, at_ms);
            }
            RoomEvent::RolePlay { change } => self.role_play.apply(change),
            RoomEvent::Flow { event } => self.flow.apply(at_ms, event),
            RoomEvent::LinkRotated {
                link,
                version,
                secret_hash,
            } => {
                match link {
                    wire::LinkKind::Invite => self.group.invite_secret_hash = *secret_hash,
                    wire::LinkKind::Facilitator => {
                        self.group.facilitator_secret_hash = *secret_hash;
                    }
                }
                self.access.rotated(*link, *version);
            }
            RoomEvent::SessionRevoked {
                member_id,
                session_id,
            } => self.access.revoke(*member_id, *session_id),
            RoomEvent::SessionStarted {
                member_id,
                session_id,
                token_hash,
            } => {
                if self.member(*member_id).is_some() {
                    self.access
                        .begin(*member_id, *session_id, *token_hash, at_ms);
                }
            }
            RoomEvent::MemberErased { member_id, erasure } => {
                self.erase_member(*member_id, *erasure);
            }
            RoomEvent::ScheduleSet { schedule } => self.schedule = schedule.clone(),
            RoomEvent::CalendarFeedRenewed {
                member_id,
                secret_hash,
            } => {
                if self.member(*member_id).is_some() {
                    self.calendar_feeds.insert(*member_id, *secret_hash);
                }
            }
            RoomEvent::CalendarFeedRevoked { member_id } => {
                self.calendar_feeds.remove(member_id);
            }
            RoomEvent::CheckInSaved {
                member_id,
                check_in,
            } => {
                if self.member(*member_id).is_some() {
                    self.prep.save_check_in(*member_id, check_in);
                }
            }
            RoomEvent::HotSeatSaved {
                member_id,
                hot_seat,
            } => {
                if self.member(*member_id).is_some() {
                    self.prep.save_hot_seat(*member_id, hot_seat);
                }
            }
            // The count is the prep's own; the event tells the others.
            RoomEvent::PreparedCountChanged { .. } => {}
            RoomEvent::PrepRevealed { .. } => self.prep.revealed = true,
            RoomEvent::MemberAttended { member_id } => self.attend(*member_id),
            RoomEvent::ReportBackHeld {
                member_id,
                commitment_id,
                report_back,
            } => {
                if self.member(*member_id).is_some() {
                    self.prep
                        .save_report_back(*member_id, *commitment_id, report_back);
                }
            }
        }
    }

    /// Notes that a member is online now (at least one of their connections is in the room)
    /// or no longer is. Not an event: who is online is not history, and a room loaded again has
    /// nobody online. Returns whether it changed anything; a stranger is never online.
    pub fn set_online(&mut self, member_id: MemberId, online: bool) -> bool {
        if online {
            self.member(member_id).is_some() && self.online.insert(member_id)
        } else {
            self.online.remove(&member_id)
        }
    }

    /// The room as a snapshot of it reads back: nobody online (presence is not stored).
    #[cfg(test)]
    pub(crate) fn as_loaded(&self) -> RoomState {
        let mut room = self.clone();
        room.online.clear();
        room.logged_online.clear();
        room
    }

    /// The members online now, in the order they joined the group (as the `presence` frame
    /// lists them).
    pub fn online_members(&self) -> Vec<MemberId> {
        self.members
            .iter()
            .filter(|member| self.online.contains(&member.id))
            .map(|member| member.id)
            .collect()
    }

    fn attend(&mut self, member_id: MemberId) {
        if self.member(member_id).is_some() && !self.meeting.attended.contains(&member_id) {
            self.meeting.attended.push(member_id);
        }
    }

    /// Takes a member who left out of the room and erases what names them: their name from
    /// the past meetings' minutes, and what they chose to remove. Their anonymous numbers and
    /// role play scores stay as they are (taking them out would change aggregates others have
    /// seen, which could tell which values were theirs); what they chose to anonymize stays
    /// under their id, which names nobody any more.
    fn erase_member(&mut self, member_id: MemberId, erasure: Erasure) {
        self.members.retain(|member| member.id != member_id);
        self.online.remove(&member_id);
        self.logged_online.remove(&member_id);
        self.hands.retain(|id| *id != member_id);
        self.role_play.forget_member(member_id);
        self.access.remove_member(member_id);
        self.calendar_feeds.remove(&member_id);
        self.prep.forget_member(member_id);
        self.former_members.insert(member_id);
        let remove = |choice: wire::ErasureChoice| choice == wire::ErasureChoice::Remove;
        if remove(erasure.commitments) {
            self.commitments.remove_owner(member_id);
        }
        if remove(erasure.numbers) {
            self.activity.remove_named(member_id);
        }
        if remove(erasure.practices) {
            self.practices.remove_author(member_id);
        }
        for past in &mut self.past_meetings {
            minutes::erase_member(past, member_id, erasure);
        }
    }

    /// A `presence_changed` event of a format 1-3 log: as those logs were folded then, into
    /// [`RoomState::logged_online`] (never into who is online now).
    fn apply_logged_presence(&mut self, member_id: MemberId, online: bool) {
        if online {
            self.logged_online.insert(member_id);
            if self.meeting.phase == wire::MeetingPhase::Live
                && !self.meeting.attended.contains(&member_id)
            {
                self.meeting.attended.push(member_id);
            }
        } else {
            self.logged_online.remove(&member_id);
        }
    }

    /// Removes a member and everything that is theirs alone in the room.
    fn remove_member(&mut self, member_id: MemberId) {
        self.members.retain(|member| member.id != member_id);
        self.online.remove(&member_id);
        self.logged_online.remove(&member_id);
        self.hands.retain(|id| *id != member_id);
        self.commitments.remove_owner(member_id);
        self.activity.remove_member(member_id);
        self.role_play.forget_member(member_id);
        self.access.remove_member(member_id);
        self.calendar_feeds.remove(&member_id);
        self.prep.forget_member(member_id);
    }

    /// Makes the upcoming meeting live at `at_ms`. Who is here then attends it: the start's
    /// `member_attended` events say so ([`decide_start_meeting`]), since who is online is not
    /// stored and a replay must find the same attendance.
    fn start_meeting(&mut self, at_ms: UnixMs) {
        // The held report backs: the start's `commitment_updated` events apply them.
        self.prep.clear_report_backs();
        self.meeting.phase = wire::MeetingPhase::Live;
        self.meeting.started_at_ms = at_ms;
        self.meeting.attended = Vec::new();
    }

    /// Ends the current meeting at `at_ms` (its minutes are kept); the next one is upcoming.
    fn end_meeting(&mut self, meeting_id: MeetingId, number: u32, at_ms: UnixMs) {
        let ended = minutes::build(self, Some(at_ms));
        self.past_meetings.push(ended);
        if self.past_meetings.len() > minutes::PAST_MEETINGS_KEPT {
            self.past_meetings.remove(0);
        }
        self.activity
            .close_meeting(self.meeting.number, self.meeting.id);
        self.hands.clear();
        // Prep starts anew for the new meeting.
        self.prep = crate::prep::PrepState::default();
        // The agenda starts from the template, with unfinished items carried over.
        self.flow = self.flow.next_meeting();
        self.meeting = Meeting {
            id: meeting_id,
            number,
            started_at_ms: at_ms,
            // Nobody attends before it starts; see `start_meeting`.
            attended: Vec::new(),
            phase: wire::MeetingPhase::Upcoming,
        };
        // The new meeting's log starts from nothing.
        self.seq = 0;
    }

    /// Checks every invariant of the state; tests call this after every step.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut ids = BTreeSet::new();
        let mut tokens = std::collections::HashSet::new();
        for member in &self.members {
            if !ids.insert(member.id) {
                return Err(format!("member {} appears twice", member.id));
            }
            if !tokens.insert(member.token_hash) {
                return Err(format!("member {} shares a token hash", member.id));
            }
        }
        if let Some(back) = self.former_members.iter().find(|id| ids.contains(id)) {
            return Err(format!("former member {back} is a member again"));
        }
        if let Some(ghost) = self.calendar_feeds.keys().find(|id| !ids.contains(id)) {
            return Err(format!("calendar feed of {ghost} who is not a member"));
        }
        if let Some(ghost) = self
            .online
            .iter()
            .chain(&self.logged_online)
            .find(|id| !ids.contains(id))
        {
            return Err(format!("online member {ghost} is not a member"));
        }

        let mut raised = BTreeSet::new();
        for id in &self.hands {
            if !ids.contains(id) {
                return Err(format!("raised hand of {id} who is not a member"));
            }
            if !raised.insert(*id) {
                return Err(format!("hand of {id} is raised twice"));
            }
        }
        // What former members chose to keep anonymized stays under their ids.
        let ids: BTreeSet<MemberId> = ids.union(&self.former_members).copied().collect();
        let mut commitment_ids = BTreeSet::new();
        for commitment in &self.commitments.commitments {
            if !ids.contains(&commitment.owner) {
                return Err(format!(
                    "commitment {} of a non-member",
                    commitment.commitment_id
                ));
            }
            if !commitment_ids.insert(commitment.commitment_id) {
                return Err(format!("commitment id {} twice", commitment.commitment_id));
            }
            if commitment.commitment_id > self.commitments.next_id {
                return Err("a commitment id is past the next id".into());
            }
        }
        if let Some(stranger) = self.activity.current.keys().find(|id| !ids.contains(id)) {
            return Err(format!("numbers of {stranger} who is not a member"));
        }
        if let Some((id, _)) = self
            .activity
            .current
            .iter()
            .find(|(_, submission)| submission.sharing != wire::Sharing::Named)
        {
            return Err(format!("anonymous numbers kept under the id of {id}"));
        }
        self.flow.check_invariants()?;
        self.flow.votes.check_invariants(&self.flow)?;
        self.access
            .check_invariants(|member_id| ids.contains(&member_id))?;
        self.prep.check_invariants(
            |member_id| self.member(member_id).is_some(),
            &self.commitments,
        )?;
        self.role_play.check_invariants()
    }
}

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
fn withhold_benchmarks_before_start(
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

impl RoomState {
    /// Notes that a connection of a member's session joined or left at `at_ms`
    /// ([`crate::access::Session::last_seen_ms`]): with the scorers' bag below, the only
    /// changes to a room that are not events.
    pub fn session_seen(
        &mut self,
        member_id: MemberId,
        session_id: wire::SessionId,
        at_ms: UnixMs,
    ) {
        self.access.seen(member_id, session_id, at_ms);
    }

    /// Puts a scorer's form into the role play's bag ([`crate::roleplay::RolePlayState::put_submission`]):
    /// the one change to a room that is not an event.
    pub fn put_submission(&mut self, slot: SubmissionSlot, submission: ScoreForm) {
        self.role_play.put_submission(slot, submission);
    }
}

/// A key for member `member_id` in tests, as if their token were "the token of" their id.
#[cfg(test)]
pub(crate) fn test_key(member_id: MemberId) -> Option<PseudonymKey> {
    Some(PseudonymKey::of_token(&format!("the token of {member_id}")))
}

/// Answers a request that only reads (it causes no event), for the asking member alone, where
/// no connection's pseudonym key is at hand: their anonymous numbers are not found (see
/// [`answer_keyed`]).
pub fn answer(state: &RoomState, by: MemberId, query: &Query) -> wire::Reply {
    answer_keyed(state, by, None, query)
}

/// Answers a request that only reads (it causes no event), for the asking member alone, on a
/// connection whose pseudonym key is `key`: their own anonymous numbers are found by it.
pub fn answer_keyed(
    state: &RoomState,
    by: MemberId,
    key: Option<PseudonymKey>,
    query: &Query,
) -> wire::Reply {
    match query {
        Query::GetMyBenchmarks => {
            let mut mine = state
                .activity
                .mine(&Me { member_id: by, key }, state.meeting.id);
            // Before the start, a member's place among the others' prep numbers would show
            // what the others submitted; their own numbers and trend stay.
            if state.prep_open() {
                mine.percentile_by_metric.clear();
            }
            wire::Reply::MyBenchmarks(mine)
        }
        Query::SearchPractices { text, tag } => {
            let (practices, total_matches) = state.practices.search(text, tag.as_deref());
            wire::Reply::Practices {
                practices,
                total_matches,
            }
        }
        Query::GetMyHistory => {
            wire::Reply::MyHistory(history::build(state, &Me { member_id: by, key }))
        }
    }
}

/// The ack for a request that caused `events`: the id of what it created, if anything.
pub fn reply_for(events: &[RoomEvent]) -> wire::Reply {
    for event in events {
        match event {
            RoomEvent::CommitmentAdded { commitment, .. } => {
                return wire::Reply::Created {
                    id: commitment.commitment_id,
                };
            }
            RoomEvent::PracticePosted { practice } => {
                return wire::Reply::Created {
                    id: practice.practice_id,
                };
            }
            _ => {}
        }
    }
    wire::Reply::Done
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
