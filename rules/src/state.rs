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
use roundtable_protocol::{Credential, ErrorCode, GroupId, MeetingId, MemberId, Role, Seq, UnixMs};
use serde::{Deserialize, Serialize};

use crate::activity::{self, Activity, Submission};
use crate::command::{Change, MembershipCommand, Query};
use crate::commitments::{self, CommitmentBoard, NewCommitment};
use crate::flow::{self, FlowEvent, FlowState};
use crate::limits::RoomLimits;
use crate::minutes;
use crate::practices::{self, Library};
use crate::roleplay::RolePlayState;
use crate::secret::{SecretHash, hash_secret};
use crate::text;

/// The whole state of one group's live room: the group, its members and the current meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(default)]
    pub commitments: CommitmentBoard,
    /// The group's metrics, this meeting's numbers and past meetings' results.
    #[serde(default)]
    #[serde(rename = "benchmarks")]
    pub activity: Activity,
    /// The group's best-practice library (kept across meetings).
    #[serde(default)]
    pub practices: Library,
    /// Minutes of the group's last [`minutes::PAST_MEETINGS_KEPT`] meetings, oldest first.
    #[serde(default)]
    pub past_meetings: Vec<wire::Minutes>,
    /// Role play and scoring (`room/roleplay`).
    #[serde(default)]
    pub role_play: RolePlayState,
    /// The seq of the last event applied; 0 before any.
    pub seq: Seq,
    /// The meeting flow: agenda, template, timer, round, floor, problems (`flow` module).
    #[serde(default)]
    pub flow: FlowState,
}

/// A peer group and its credentials (as hashes only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub facilitator_secret_hash: SecretHash,
    pub invite_secret_hash: SecretHash,
    pub created_at_ms: UnixMs,
}

/// The group's current meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meeting {
    pub id: MeetingId,
    pub number: u32,
    pub started_at_ms: UnixMs,
    /// Members who were online at some point of this meeting, in the order they first came.
    #[serde(default)]
    pub attended: Vec<MemberId>,
}

/// A member of the group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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

    /// The state as `viewer` sees it (private parts only for whom they are meant).
    pub fn to_wire_snapshot_for(&self, viewer: MemberId) -> wire::Snapshot {
        wire::Snapshot {
            seq: self.seq,
            group: wire::GroupInfo {
                group_id: self.group.id,
                name: self.group.name.clone(),
            },
            meeting: wire::MeetingInfo {
                meeting_id: self.meeting.id,
                number: self.meeting.number,
                started_at_ms: self.meeting.started_at_ms,
            },
            members: self
                .members
                .iter()
                .map(|member| self.member_info(member))
                .collect(),
            hands: self.hands.clone(),
            commitments: self.commitments.commitments.clone(),
            accountability: self
                .members
                .iter()
                .map(|member| {
                    self.commitments
                        .accountability(member.id, self.meeting.number)
                })
                .collect(),
            benchmarks: self.activity.view(),
            practices: self.practices.newest(practices::PRACTICES_IN_SNAPSHOT),
            practice_count: self.practices.practices.len() as u32,
            role_play: Box::new(
                self.role_play.view_for(
                    viewer,
                    &self
                        .members
                        .iter()
                        .map(|member| member.id)
                        .collect::<Vec<_>>(),
                ),
            ),
            flow: self.flow.to_wire(),
        }
    }

    fn member_info(&self, member: &Member) -> wire::MemberInfo {
        wire::MemberInfo {
            member_id: member.id,
            display_name: member.display_name.clone(),
            role: member.role,
            online: self.online.contains(&member.id),
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

impl RoomEvent {
    /// The event as clients see it. Depends on the event and its time alone, so that events
    /// replayed from the log look exactly as they did live.
    pub fn to_wire(&self, at_ms: UnixMs) -> wire::Event {
        match self {
            RoomEvent::MemberAdded {
                member_id,
                display_name,
                role,
                ..
            } => wire::Event::MemberAdded {
                member: wire::MemberInfo {
                    member_id: *member_id,
                    display_name: display_name.clone(),
                    role: *role,
                    // A member is added first and comes online with the next event.
                    online: false,
                },
            },
            RoomEvent::PresenceChanged {
                member_id,
                online,
                reason,
            } => wire::Event::PresenceChanged {
                member_id: *member_id,
                online: *online,
                reason: *reason,
            },
            RoomEvent::GroupRenamed { name } => wire::Event::GroupRenamed { name: name.clone() },
            RoomEvent::MemberRemoved { member_id } => wire::Event::MemberRemoved {
                member_id: *member_id,
            },
            RoomEvent::RoleChanged { member_id, role } => wire::Event::RoleChanged {
                member_id: *member_id,
                role: *role,
            },
            RoomEvent::HandRaised { member_id } => wire::Event::HandRaised {
                member_id: *member_id,
            },
            RoomEvent::HandLowered { member_id } => wire::Event::HandLowered {
                member_id: *member_id,
            },
            RoomEvent::CommitmentAdded {
                commitment,
                owner_accountability,
            } => wire::Event::CommitmentAdded {
                commitment: commitment.clone(),
                owner_accountability: owner_accountability.clone(),
            },
            RoomEvent::CommitmentUpdated {
                commitment,
                owner_accountability,
            } => wire::Event::CommitmentUpdated {
                commitment: commitment.clone(),
                owner_accountability: owner_accountability.clone(),
            },
            // Who submitted, and what, stays on the server: anonymous numbers must never be
            // sent with their member, and named ones are in the view already.
            RoomEvent::NumbersSubmitted { view, .. } | RoomEvent::MetricsSet { view, .. } => {
                wire::Event::BenchmarksChanged { view: view.clone() }
            }
            RoomEvent::PracticePosted { practice } => wire::Event::PracticePosted {
                practice: practice.clone(),
            },
            RoomEvent::PracticeUpvoted {
                practice_id,
                member_id,
                up,
            } => wire::Event::PracticeUpvoted {
                practice_id: *practice_id,
                member_id: *member_id,
                up: *up,
            },
            RoomEvent::PracticeCommented {
                practice_id,
                comment,
            } => wire::Event::PracticeCommented {
                practice_id: *practice_id,
                comment: comment.clone(),
            },
            RoomEvent::NextMeetingStarted { meeting_id, number } => {
                wire::Event::NextMeetingStarted {
                    meeting: wire::MeetingInfo {
                        meeting_id: *meeting_id,
                        number: *number,
                        started_at_ms: at_ms,
                    },
                }
            }
            RoomEvent::Flow { event } => event.to_wire(),
            RoomEvent::RolePlay { change } => wire::Event::RolePlay {
                change: change.clone(),
            },
        }
    }

    /// Who receives the event, live and in replays.
    pub fn audience(&self) -> Audience {
        match self {
            RoomEvent::RolePlay { change } => crate::roleplay::audience(change),
            _ => Audience::Everyone,
        }
    }
}

/// Decides a join: checks the credential and returns the member who joins, with the events
/// that add or promote them. Presence is decided separately, by [`decide_presence`].
pub fn decide_join(
    state: &RoomState,
    credential: &Credential,
    fresh: FreshMember,
    limits: &RoomLimits,
) -> Result<JoinDecision, RoomError> {
    let add_member = |display_name: &str, role: Role| -> Result<JoinDecision, RoomError> {
        let display_name = text::line("display name", display_name, limits.display_name_chars_max)?;
        if state.members.len() >= limits.members_per_room_max {
            return Err(RoomError::new(
                ErrorCode::RoomFull,
                format!(
                    "the group has {} members, the most it may have",
                    state.members.len()
                ),
            ));
        }
        Ok(JoinDecision {
            member_id: fresh.member_id,
            issued_token: Some(fresh.token.clone()),
            events: vec![RoomEvent::MemberAdded {
                member_id: fresh.member_id,
                display_name,
                role,
                token_hash: fresh.token_hash,
            }],
        })
    };
    match credential {
        Credential::Facilitator {
            secret,
            display_name,
            member_token,
        } => {
            require_secret(
                secret,
                state.group.facilitator_secret_hash,
                "the facilitator secret is not this group's; check the facilitator link",
            )?;
            let existing = member_token
                .as_deref()
                .and_then(|token| member_by_token(state, token));
            match existing {
                Some(member) if member.role == Role::Facilitator => Ok(JoinDecision {
                    member_id: member.id,
                    issued_token: None,
                    events: Vec::new(),
                }),
                Some(member) => Ok(JoinDecision {
                    member_id: member.id,
                    issued_token: None,
                    events: vec![RoomEvent::RoleChanged {
                        member_id: member.id,
                        role: Role::Facilitator,
                    }],
                }),
                None => add_member(display_name, Role::Facilitator),
            }
        }
        Credential::Invite {
            secret,
            display_name,
            observer,
        } => {
            require_secret(
                secret,
                state.group.invite_secret_hash,
                "the invite secret is not this group's; ask the facilitator for a new link",
            )?;
            let role = if *observer {
                Role::Observer
            } else {
                Role::Member
            };
            add_member(display_name, role)
        }
        Credential::MemberToken { token } => match member_by_token(state, token) {
            Some(member) => Ok(JoinDecision {
                member_id: member.id,
                issued_token: None,
                events: Vec::new(),
            }),
            None => Err(RoomError::new(
                ErrorCode::Unauthorized,
                "this member token is not valid in this group (the member may have been removed)",
            )),
        },
    }
}

/// Refuses with `refusal` unless `secret` is the one whose hash is `stored`.
fn require_secret(secret: &str, stored: SecretHash, refusal: &str) -> Result<(), RoomError> {
    if hash_secret(secret) == stored {
        Ok(())
    } else {
        Err(RoomError::new(ErrorCode::Unauthorized, refusal))
    }
}

/// The member whose token this is: the one lookup of a member token, for joins and for the
/// HTTP exports.
pub fn member_by_token<'a>(state: &'a RoomState, token: &str) -> Option<&'a Member> {
    let hash = hash_secret(token);
    state
        .members
        .iter()
        .find(|member| member.token_hash == hash)
}

/// The presence event for a member going online or offline, if it changes anything.
pub fn decide_presence(
    state: &RoomState,
    member_id: MemberId,
    online: bool,
    reason: wire::PresenceReason,
) -> Option<RoomEvent> {
    if state.member(member_id).is_none() || state.online.contains(&member_id) == online {
        return None;
    }
    Some(RoomEvent::PresenceChanged {
        member_id,
        online,
        reason,
    })
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
        Change::Membership(command) => decide_membership(state, by, role, command, limits, now_ms),
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

/// Decides a change to the group and its members.
fn decide_membership(
    state: &RoomState,
    by: MemberId,
    role: Role,
    command: &MembershipCommand,
    limits: &RoomLimits,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    require_facilitator(role)?;
    match command {
        MembershipCommand::RenameGroup { name } => rename_group(state, name, limits),
        MembershipCommand::RemoveMember { member_id } => {
            remove_member(state, by, *member_id, now_ms)
        }
        MembershipCommand::SetRole { member_id, role } => set_role(state, *member_id, *role),
        MembershipCommand::HandOverFacilitator { member_id } => {
            hand_over_facilitator(state, by, *member_id)
        }
    }
}

fn rename_group(
    state: &RoomState,
    name: &str,
    limits: &RoomLimits,
) -> Result<Vec<RoomEvent>, RoomError> {
    let name = text::line("group name", name, limits.group_name_chars_max)?;
    if name == state.group.name {
        return Ok(Vec::new());
    }
    Ok(vec![RoomEvent::GroupRenamed { name }])
}

fn remove_member(
    state: &RoomState,
    by: MemberId,
    member_id: MemberId,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    require_member(state, member_id)?;
    if member_id == by {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            "you cannot remove yourself; hand over the facilitator role first",
        ));
    }
    let mut events = Vec::new();
    if state.online.contains(&member_id) {
        events.push(RoomEvent::PresenceChanged {
            member_id,
            online: false,
            reason: wire::PresenceReason::Removed,
        });
    }
    events.push(RoomEvent::MemberRemoved { member_id });
    events.extend(flow::into_room_events(flow::on_member_removed(
        state, member_id, now_ms,
    )));
    Ok(events)
}

fn set_role(
    state: &RoomState,
    member_id: MemberId,
    new_role: Role,
) -> Result<Vec<RoomEvent>, RoomError> {
    let target = require_member(state, member_id)?;
    if target.role == new_role {
        return Ok(Vec::new());
    }
    if target.role == Role::Facilitator && state.facilitator_count() == 1 {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            "the group's last facilitator cannot be demoted; hand over the role instead",
        ));
    }
    Ok(vec![RoomEvent::RoleChanged {
        member_id,
        role: new_role,
    }])
}

fn hand_over_facilitator(
    state: &RoomState,
    by: MemberId,
    member_id: MemberId,
) -> Result<Vec<RoomEvent>, RoomError> {
    let target = require_member(state, member_id)?;
    if member_id == by {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            "you are the facilitator already; name another member",
        ));
    }
    let mut events = Vec::new();
    if target.role != Role::Facilitator {
        events.push(RoomEvent::RoleChanged {
            member_id,
            role: Role::Facilitator,
        });
    }
    events.push(RoomEvent::RoleChanged {
        member_id: by,
        role: Role::Member,
    });
    Ok(events)
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

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
