//! The room's rules as a pure state machine: no I/O, no clock, no randomness.
//!
//! A room is event-sourced. [`decide`] (and [`decide_join`], [`decide_presence`]) look at the
//! state and a command and return the events the command causes, or a [`RoomError`] and no
//! events. [`RoomState::apply`] folds one event into the state. The state after a command is
//! therefore exactly the fold of its events, which is what makes a room loadable from a
//! snapshot plus the log tail, and resumable by replaying events. Time and random values come
//! in as arguments, so tests drive the machine with a fake clock and fixed ids.

use std::collections::BTreeSet;

use roundtable_protocol as wire;
use roundtable_protocol::{ErrorCode, GroupId, MeetingId, MemberId, Role, Seq, UnixMs};

use crate::activity::{self, Activity, Submission};
use crate::command::{Change, Query};
use crate::commitments::{self, CommitmentBoard, NewCommitment};
use crate::flow::{self, FlowEvent, FlowState};
use crate::limits::RoomLimits;
use crate::membership;
use crate::minutes;
use crate::practices::{self, Library};
use crate::roleplay::RolePlayState;
use crate::secret::SecretHash;

/// The whole state of one group's live room: the group, its members and the current meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomState {
    pub group: Group,
    pub meeting: Meeting,
    /// Current members, in the order they joined.
    pub members: Vec<Member>,
    /// Members with at least one open connection. Rebuilt from events; after a restart the
    /// room marks everyone offline with `server_restart` events.
    pub online: BTreeSet<MemberId>,
    /// The speaker queue, first raised first.
    pub hands: Vec<MemberId>,
    /// The group's commitment board (kept across meetings).
    pub commitments: CommitmentBoard,
    /// The group's metrics, this meeting's numbers and past meetings' results.
    pub activity: Activity,
    /// The group's best-practice library (kept across meetings).
    pub practices: Library,
    /// Minutes of the group's last [`minutes::PAST_MEETINGS_KEPT`] meetings, oldest first.
    pub past_meetings: Vec<wire::Minutes>,
    /// Role play and scoring (`room/roleplay`).
    pub role_play: RolePlayState,
    /// The seq of the last event applied; 0 before any.
    pub seq: Seq,
    /// The meeting flow: agenda, template, timer, round, floor, problems (`flow` module).
    pub flow: FlowState,
}

/// A peer group and its credentials (as hashes only).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub facilitator_secret_hash: SecretHash,
    pub invite_secret_hash: SecretHash,
    pub created_at_ms: UnixMs,
}

/// The group's current meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct Meeting {
    pub id: MeetingId,
    pub number: u32,
    pub started_at_ms: UnixMs,
    /// Members who were online at some point of this meeting, in the order they first came.
    pub attended: Vec<MemberId>,
}

/// A member of the group.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: MemberId,
    pub display_name: String,
    pub role: Role,
    pub token_hash: SecretHash,
    pub joined_at_ms: UnixMs,
}

/// A change to the room, as stored in the meeting's event log. Wire events are derived from
/// these by [`RoomEvent::to_wire`]; stored events may carry what never crosses the wire (a
/// token hash).
#[derive(Debug, Clone, PartialEq)]
pub enum RoomEvent {
    MemberAdded {
        member_id: MemberId,
        display_name: String,
        role: Role,
        token_hash: SecretHash,
    },
    PresenceChanged {
        member_id: MemberId,
        online: bool,
        reason: wire::PresenceReason,
    },
    GroupRenamed {
        name: String,
    },
    MemberRemoved {
        member_id: MemberId,
    },
    RoleChanged {
        member_id: MemberId,
        role: Role,
    },
    HandRaised {
        member_id: MemberId,
    },
    HandLowered {
        member_id: MemberId,
    },
    CommitmentAdded {
        commitment: wire::Commitment,
        owner_accountability: wire::MemberAccountability,
    },
    CommitmentUpdated {
        commitment: wire::Commitment,
        owner_accountability: wire::MemberAccountability,
    },
    /// Stored with the member and their values; on the wire only the resulting view.
    NumbersSubmitted {
        member_id: MemberId,
        values: std::collections::BTreeMap<String, f64>,
        sharing: wire::Sharing,
        view: wire::BenchmarkView,
    },
    MetricsSet {
        metrics: Vec<wire::Metric>,
        view: wire::BenchmarkView,
    },
    PracticePosted {
        practice: wire::Practice,
    },
    PracticeUpvoted {
        practice_id: wire::PracticeId,
        member_id: MemberId,
        up: bool,
    },
    PracticeCommented {
        practice_id: wire::PracticeId,
        comment: wire::PracticeComment,
    },
    /// The current meeting ended and the next began at the event's time. The last event of
    /// the ended meeting's log; the new meeting's log starts empty.
    NextMeetingStarted {
        meeting_id: MeetingId,
        number: u32,
    },
    /// Role play and scoring; stored as on the wire (`room/roleplay`).
    RolePlay {
        change: wire::RolePlayEvent,
    },
    /// A change to the meeting flow.
    Flow {
        event: FlowEvent,
    },
}

/// One event as stored in the meeting's log: the event and when it happened.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub at_ms: UnixMs,
    pub event: RoomEvent,
}

/// Who receives an event. Most go to everyone and are serialized once for all; a few are
/// private (the buyer brief), and the others see a gap in `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    Only(MemberId),
}

impl Audience {
    pub fn includes(self, viewer: MemberId) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Only(member_id) => member_id == viewer,
        }
    }
}

/// Why a command was refused. Maps one to one onto a wire error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct RoomError {
    pub code: ErrorCode,
    pub message: String,
}

impl RoomError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RoomError {
            code,
            message: message.into(),
        }
    }
}

/// The values a join needs if it creates a member, made by the caller so the machine stays
/// pure.
#[derive(Debug, Clone)]
pub struct FreshMember {
    pub member_id: MemberId,
    pub token: String,
    pub token_hash: SecretHash,
}

/// The outcome of an accepted join.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinDecision {
    pub member_id: MemberId,
    /// The new member token, when the join created a member.
    pub issued_token: Option<String>,
    pub events: Vec<RoomEvent>,
}

impl RoomState {
    /// A new group with its first meeting and no members.
    pub fn new_group(group: Group, meeting_id: MeetingId, now_ms: UnixMs) -> RoomState {
        RoomState {
            group,
            meeting: Meeting {
                id: meeting_id,
                number: 1,
                started_at_ms: now_ms,
                attended: Vec::new(),
            },
            members: Vec::new(),
            online: BTreeSet::new(),
            hands: Vec::new(),
            commitments: CommitmentBoard::default(),
            activity: Activity::default(),
            practices: Library::default(),
            past_meetings: Vec::new(),
            role_play: RolePlayState::default(),
            seq: 0,
            // The first meeting starts from the default template.
            flow: FlowState::default(),
        }
    }

    pub fn member(&self, member_id: MemberId) -> Option<&Member> {
        self.members.iter().find(|member| member.id == member_id)
    }

    fn member_mut(&mut self, member_id: MemberId) -> Option<&mut Member> {
        self.members
            .iter_mut()
            .find(|member| member.id == member_id)
    }

    pub fn role_of(&self, member_id: MemberId) -> Option<Role> {
        self.member(member_id).map(|member| member.role)
    }

    /// Members with the facilitator role. Once a group has one it always keeps at least one:
    /// the last facilitator can be neither demoted nor removed.
    pub fn facilitator_count(&self) -> usize {
        self.members
            .iter()
            .filter(|member| member.role == Role::Facilitator)
            .count()
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
                }
            }
            RoomEvent::PresenceChanged {
                member_id, online, ..
            } => {
                if *online {
                    self.online.insert(*member_id);
                    if !self.meeting.attended.contains(member_id) {
                        self.meeting.attended.push(*member_id);
                    }
                } else {
                    self.online.remove(member_id);
                }
            }
            RoomEvent::GroupRenamed { name } => self.group.name = name.clone(),
            RoomEvent::MemberRemoved { member_id } => {
                self.members.retain(|member| member.id != *member_id);
                self.online.remove(member_id);
                self.hands.retain(|id| id != member_id);
                self.commitments.remove_owner(*member_id);
                self.activity.remove_member(*member_id);
                self.role_play.forget_member(*member_id);
            }
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
                    id: *meeting_id,
                    number: *number,
                    started_at_ms: at_ms,
                    // Who is here when the meeting starts attends it.
                    attended: self.online.iter().copied().collect(),
                };
                // The new meeting's log starts from nothing.
                self.seq = 0;
            }
            RoomEvent::RolePlay { change } => self.role_play.apply(change),
            RoomEvent::Flow { event } => self.flow.apply(event),
        }
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
        if let Some(ghost) = self.online.iter().find(|id| !ids.contains(id)) {
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
        self.role_play.check_invariants()
    }
}

/// The role of `by`, who must still be a member.
pub fn require_member_role(state: &RoomState, by: MemberId) -> Result<Role, RoomError> {
    state.role_of(by).ok_or_else(|| {
        RoomError::new(
            ErrorCode::Forbidden,
            "you are no longer a member of this group",
        )
    })
}

/// Refuses unless `role` is the facilitator's: the one check of "only a facilitator may".
pub fn require_facilitator(role: Role) -> Result<(), RoomError> {
    if role == Role::Facilitator {
        Ok(())
    } else {
        Err(RoomError::new(
            ErrorCode::Forbidden,
            "only a facilitator may do this",
        ))
    }
}

/// The member `member_id` of the group, or `not_found`.
pub fn require_member(state: &RoomState, member_id: MemberId) -> Result<&Member, RoomError> {
    state.member(member_id).ok_or_else(|| {
        RoomError::new(
            ErrorCode::NotFound,
            format!("no member {member_id} in this group"),
        )
    })
}

/// Decides a change a joined member asks for into the events it causes.
pub fn decide(
    state: &RoomState,
    by: MemberId,
    change: &Change,
    limits: &RoomLimits,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    let role = require_member_role(state, by)?;
    match change {
        Change::Membership(command) => {
            membership::decide_membership(state, by, role, command, limits, now_ms)
        }
        Change::Queue(command) => flow::decide(state, by, now_ms, limits, |ctx| {
            flow::queue::decide(ctx, command)
        }),
        Change::Agenda(command) => flow::decide(state, by, now_ms, limits, |ctx| {
            flow::agenda::decide(ctx, command).map(flow::into_room_events)
        }),
        Change::Round(command) => flow::decide(state, by, now_ms, limits, |ctx| {
            flow::round::decide(ctx, command).map(flow::into_room_events)
        }),
        Change::Problem(command) => {
            let mut events = flow::decide(state, by, now_ms, limits, |ctx| {
                flow::problem::decide(ctx, command).map(flow::into_room_events)
            })?;
            events.extend(commitments_from_chosen_suggestions(state, &events, now_ms)?);
            Ok(events)
        }
        Change::Commitments(command) => commitments::decide(state, by, command, now_ms),
        Change::Activity(command) => activity::decide(state, by, role, command),
        Change::Practices(command) => practices::decide(state, by, command, now_ms),
    }
}

/// Decides ending the current meeting and starting the next one, with a fresh id from the
/// caller.
pub fn decide_next_meeting(
    state: &RoomState,
    by: MemberId,
    next_meeting_id: MeetingId,
) -> Result<Vec<RoomEvent>, RoomError> {
    require_facilitator(require_member_role(state, by)?)?;
    Ok(vec![RoomEvent::NextMeetingStarted {
        meeting_id: next_meeting_id,
        number: state.meeting.number + 1,
    }])
}

/// The decide phase of a bring-a-problem item turns the presenter's chosen suggestions into a
/// commitment for the presenter, due at the next meeting.
fn commitments_from_chosen_suggestions(
    state: &RoomState,
    events: &[RoomEvent],
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    let mut added = Vec::new();
    for event in events {
        let RoomEvent::Flow {
            event:
                FlowEvent::SuggestionsChosen {
                    item_id,
                    suggestion_ids,
                },
        } = event
        else {
            continue;
        };
        let Some(problem) = state
            .flow
            .agenda
            .iter()
            .find(|item| item.item_id == *item_id)
            .and_then(|item| item.problem.as_ref())
        else {
            continue;
        };
        let chosen: Vec<&str> = suggestion_ids
            .iter()
            .filter_map(|id| {
                problem
                    .suggestions
                    .iter()
                    .find(|suggestion| suggestion.suggestion_id == *id)
                    .map(|suggestion| suggestion.text.as_str())
            })
            .collect();
        if chosen.is_empty() {
            continue;
        }
        let text: String = chosen
            .join("; ")
            .chars()
            .take(commitments::COMMITMENT_TEXT_CHARS_MAX)
            .collect();
        added.extend(commitments::decide_add(
            state,
            NewCommitment {
                by: problem.presenter,
                owner: None,
                text: &text,
                due_meeting: None,
                due_date: None,
                source: wire::CommitmentSource::Problem,
            },
            now_ms,
        )?);
    }
    Ok(added)
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

pub use crate::membership::{decide_join, decide_presence, member_by_token};

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
