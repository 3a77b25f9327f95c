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

use crate::activity::{self, Submission};
use crate::command::{Change, Erasure, ProblemCommand, Query};
use crate::commitments::{self, NewCommitment};
use crate::flow::{self, FlowEvent};
use crate::limits::RoomLimits;
use crate::membership;
use crate::minutes;
use crate::practices;
use crate::roleplay::{Submission as ScoreForm, SubmissionSlot};

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
            }
            RoomEvent::NumbersSubmitted {
                member_id,
                values,
                sharing,
                ..
            } => self.activity.submit(
                *member_id,
                Submission {
                    values: values.clone(),
                    sharing: *sharing,
                },
            ),
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
                self.start_next_meeting(*meeting_id, *number, at_ms);
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
            RoomEvent::MemberAttended { member_id } => self.attend(*member_id),
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
            if !self.meeting.attended.contains(&member_id) {
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
    }

    /// Ends the current meeting (its minutes are kept) and starts the next at `at_ms`.
    fn start_next_meeting(&mut self, meeting_id: MeetingId, number: u32, at_ms: UnixMs) {
        let ended = minutes::build(self, Some(at_ms));
        self.past_meetings.push(ended);
        if self.past_meetings.len() > minutes::PAST_MEETINGS_KEPT {
            self.past_meetings.remove(0);
        }
        self.activity.close_meeting(self.meeting.number);
        self.hands.clear();
        // The agenda starts from the template, with unfinished items carried over.
        self.flow = self.flow.next_meeting();
        self.meeting = Meeting {
            id: meeting_id,
            number,
            started_at_ms: at_ms,
            // Who is here when the meeting starts attends it. A format 1-3 log said so with
            // its presence events; a server records it with a `member_attended` event for each
            // member online, the new meeting's first events (see `decide_attendance`).
            attended: self.logged_online.iter().copied().collect(),
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
        self.flow.check_invariants()?;
        self.flow.votes.check_invariants(&self.flow)?;
        self.access
            .check_invariants(|member_id| ids.contains(&member_id))?;
        self.role_play.check_invariants()
    }
}

/// Decides a change a joined member asks for into the events it causes.
pub fn decide(
    state: &RoomState,
    by: MemberId,
    change: &Change,
    limits: &RoomLimits,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    let role = state.roster().require_member_role(by)?;
    let flow = flow_ctx(state, by, role, now_ms, limits);
    match change {
        Change::Membership(command) => {
            membership::decide_membership(state, by, role, command, limits, now_ms)
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
        Change::Commitments(command) => commitments::decide(state.into(), by, command, now_ms),
        Change::Activity(command) => activity::decide(&state.activity, by, role, command),
        Change::Practices(command) => practices::decide(state.into(), by, command, now_ms),
        Change::Votes(command) => {
            flow::decide(flow, |ctx| flow::votes::decide(ctx, command)).map(room_events)
        }
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

/// A feature's events as room events.
fn room_events<E: Into<RoomEvent>>(events: Vec<E>) -> Vec<RoomEvent> {
    events.into_iter().map(Into::into).collect()
}

/// Decides ending the current meeting and starting the next one, with a fresh id from the
/// caller.
pub fn decide_next_meeting(
    state: &RoomState,
    by: MemberId,
    next_meeting_id: MeetingId,
) -> Result<Vec<RoomEvent>, RoomError> {
    require_facilitator(state.roster().require_member_role(by)?)?;
    Ok(vec![RoomEvent::NextMeetingStarted {
        meeting_id: next_meeting_id,
        number: state.meeting.number + 1,
    }])
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

/// Answers a request that only reads (it causes no event), for the asking member alone.
pub fn answer(state: &RoomState, by: MemberId, query: &Query) -> wire::Reply {
    match query {
        Query::GetMyBenchmarks => wire::Reply::MyBenchmarks(state.activity.mine(by)),
        Query::SearchPractices { text, tag } => {
            let (practices, total_matches) = state.practices.search(text, tag.as_deref());
            wire::Reply::Practices {
                practices,
                total_matches,
            }
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
