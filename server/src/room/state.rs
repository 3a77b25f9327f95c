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

use super::benchmarks::{self, Benchmarks, Submission};
use super::commitments::{self, CommitmentBoard, NewCommitment};
use super::flow::{self, FlowEvent, FlowState};
use super::minutes;
use super::practices::{self, Library, NewPractice};
use super::roleplay::RolePlayState;
use crate::config::Limits;
use crate::secrets::{SecretHash, hash_secret};

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
    pub benchmarks: Benchmarks,
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
            benchmarks: Benchmarks::default(),
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
                self.benchmarks.remove_member(*member_id);
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
            } => self.benchmarks.submit(
                *member_id,
                Submission {
                    values: values.clone(),
                    sharing: *sharing,
                },
            ),
            RoomEvent::MetricsSet { metrics, .. } => self.benchmarks.set_metrics(metrics.clone()),
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
                self.benchmarks.close_meeting(self.meeting.number);
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
            benchmarks: self.benchmarks.view(),
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
        if let Some(stranger) = self.benchmarks.current.keys().find(|id| !ids.contains(id)) {
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
            RoomEvent::RolePlay { change } => super::roleplay::audience(change),
            _ => Audience::Everyone,
        }
    }
}

/// Checks a human-entered name: trimmed, not empty, at most `chars_max` characters, no control
/// characters. Returns the trimmed name.
pub fn valid_name(what: &str, name: &str, chars_max: usize) -> Result<String, RoomError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            format!("{what} must not be empty"),
        ));
    }
    let chars = trimmed.chars().count();
    if chars > chars_max {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            format!("{what} has {chars} characters; at most {chars_max} are allowed"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            format!("{what} must not contain control characters"),
        ));
    }
    Ok(trimmed.to_string())
}

/// Decides a join: checks the credential and returns the member who joins, with the events
/// that add or promote them. Presence is decided separately, by [`decide_presence`].
pub fn decide_join(
    state: &RoomState,
    credential: &Credential,
    fresh: FreshMember,
    limits: &Limits,
) -> Result<JoinDecision, RoomError> {
    let add_member = |display_name: &str, role: Role| -> Result<JoinDecision, RoomError> {
        let display_name = valid_name("display name", display_name, limits.display_name_chars_max)?;
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
            if hash_secret(secret) != state.group.facilitator_secret_hash {
                return Err(RoomError::new(
                    ErrorCode::Unauthorized,
                    "the facilitator secret is not this group's; check the facilitator link",
                ));
            }
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
            if hash_secret(secret) != state.group.invite_secret_hash {
                return Err(RoomError::new(
                    ErrorCode::Unauthorized,
                    "the invite secret is not this group's; ask the facilitator for a new link",
                ));
            }
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

/// The member whose token this is, if any (joins and the HTTP exports look members up here).
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

/// Decides a request from a member who has joined. Join and ping never reach the room's
/// state machine; they are answered by the connection and [`decide_join`]. Meeting flow
/// requests are decided by [`flow::decide`].
pub fn decide(
    state: &RoomState,
    by: MemberId,
    request: &wire::Request,
    limits: &Limits,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    let Some(role) = state.role_of(by) else {
        return Err(RoomError::new(
            ErrorCode::Forbidden,
            "you are no longer a member of this group",
        ));
    };
    let require_facilitator = || {
        if role == Role::Facilitator {
            Ok(())
        } else {
            Err(RoomError::new(
                ErrorCode::Forbidden,
                "only a facilitator may do this",
            ))
        }
    };
    let require_member = |member_id: MemberId| {
        state.member(member_id).ok_or_else(|| {
            RoomError::new(
                ErrorCode::NotFound,
                format!("no member {member_id} in this group"),
            )
        })
    };
    match request {
        wire::Request::Join { .. }
        | wire::Request::Ping { .. }
        | wire::Request::GetMyBenchmarks
        | wire::Request::SearchPractices { .. } => Err(RoomError::new(
            ErrorCode::Internal,
            "join, ping and queries are not room commands",
        )),
        // Decided by `roleplay::decide` and `roleplay::decide_submission`, which need fresh
        // values from the actor.
        wire::Request::RolePlay { .. } => Err(RoomError::new(
            ErrorCode::Internal,
            "role play requests are decided by the role play rules",
        )),
        flow::flow_request!() => {
            let mut events =
                flow::decide(state, by, request, now_ms, limits).unwrap_or_else(|| {
                    Err(RoomError::new(
                        ErrorCode::Internal,
                        "a meeting flow request found no rule",
                    ))
                })?;
            events.extend(commitments_from_chosen_suggestions(state, &events, now_ms)?);
            Ok(events)
        }
        wire::Request::RenameGroup { name } => {
            require_facilitator()?;
            let name = valid_name("group name", name, limits.group_name_chars_max)?;
            if name == state.group.name {
                return Ok(Vec::new());
            }
            Ok(vec![RoomEvent::GroupRenamed { name }])
        }
        wire::Request::RemoveMember { member_id } => {
            require_facilitator()?;
            require_member(*member_id)?;
            if *member_id == by {
                return Err(RoomError::new(
                    ErrorCode::Conflict,
                    "you cannot remove yourself; hand over the facilitator role first",
                ));
            }
            let mut events = Vec::new();
            if state.online.contains(member_id) {
                events.push(RoomEvent::PresenceChanged {
                    member_id: *member_id,
                    online: false,
                    reason: wire::PresenceReason::Removed,
                });
            }
            events.push(RoomEvent::MemberRemoved {
                member_id: *member_id,
            });
            events.extend(
                flow::on_member_removed(state, *member_id, now_ms)
                    .into_iter()
                    .map(RoomEvent::from),
            );
            Ok(events)
        }
        wire::Request::SetRole {
            member_id,
            role: new_role,
        } => {
            require_facilitator()?;
            let target = require_member(*member_id)?;
            if target.role == *new_role {
                return Ok(Vec::new());
            }
            if target.role == Role::Facilitator && state.facilitator_count() == 1 {
                return Err(RoomError::new(
                    ErrorCode::Conflict,
                    "the group's last facilitator cannot be demoted; hand over the role instead",
                ));
            }
            Ok(vec![RoomEvent::RoleChanged {
                member_id: *member_id,
                role: *new_role,
            }])
        }
        wire::Request::HandOverFacilitator { member_id } => {
            require_facilitator()?;
            let target = require_member(*member_id)?;
            if *member_id == by {
                return Err(RoomError::new(
                    ErrorCode::Conflict,
                    "you are the facilitator already; name another member",
                ));
            }
            let mut events = Vec::new();
            if target.role != Role::Facilitator {
                events.push(RoomEvent::RoleChanged {
                    member_id: *member_id,
                    role: Role::Facilitator,
                });
            }
            events.push(RoomEvent::RoleChanged {
                member_id: by,
                role: Role::Member,
            });
            Ok(events)
        }
        wire::Request::RaiseHand => {
            if state.hands.contains(&by) {
                return Ok(Vec::new());
            }
            Ok(vec![RoomEvent::HandRaised { member_id: by }])
        }
        wire::Request::LowerHand => {
            if !state.hands.contains(&by) {
                return Ok(Vec::new());
            }
            Ok(vec![RoomEvent::HandLowered { member_id: by }])
        }
        wire::Request::AddCommitment {
            text,
            owner,
            due_meeting,
            due_date,
        } => commitments::decide_add(
            state,
            NewCommitment {
                by,
                owner: *owner,
                text,
                due_meeting: *due_meeting,
                due_date: due_date.as_deref(),
                source: wire::CommitmentSource::Own,
            },
            now_ms,
        ),
        wire::Request::UpdateCommitment {
            commitment_id,
            status,
            note,
        } => {
            commitments::decide_update(state, by, *commitment_id, *status, note.as_deref(), now_ms)
        }
        wire::Request::SetMetrics { metrics } => {
            require_facilitator()?;
            benchmarks::decide_set_metrics(state, metrics)
        }
        wire::Request::SubmitNumbers { values, sharing } => {
            benchmarks::decide_submit(state, by, values, *sharing)
        }
        wire::Request::PostPractice {
            title,
            description,
            tags,
            outcome,
        } => practices::decide_post(
            state,
            by,
            NewPractice {
                title,
                description,
                tags,
                outcome: *outcome,
            },
            now_ms,
        ),
        wire::Request::UpvotePractice { practice_id, up } => {
            practices::decide_upvote(state, by, *practice_id, *up)
        }
        wire::Request::CommentOnPractice { practice_id, text } => {
            practices::decide_comment(state, by, *practice_id, text, now_ms)
        }
        wire::Request::StartNextMeeting => Err(RoomError::new(
            ErrorCode::Internal,
            "starting the next meeting needs a fresh meeting id; see decide_next_meeting",
        )),
    }
}

/// Decides ending the current meeting and starting the next one, with a fresh id from the
/// caller.
pub fn decide_next_meeting(
    state: &RoomState,
    by: MemberId,
    next_meeting_id: MeetingId,
) -> Result<Vec<RoomEvent>, RoomError> {
    if state.role_of(by) != Some(Role::Facilitator) {
        return Err(RoomError::new(
            ErrorCode::Forbidden,
            "only a facilitator may do this",
        ));
    }
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

/// Answers a request that only reads (it causes no event), or `None` if the request is not a
/// query. The answer is for the asking member alone.
pub fn answer_query(
    state: &RoomState,
    by: MemberId,
    request: &wire::Request,
) -> Option<Result<wire::Reply, RoomError>> {
    match request {
        wire::Request::GetMyBenchmarks => {
            Some(Ok(wire::Reply::MyBenchmarks(state.benchmarks.mine(by))))
        }
        wire::Request::SearchPractices { text, tag } => {
            let (practices, total_matches) = state.practices.search(text, tag.as_deref());
            Some(Ok(wire::Reply::Practices {
                practices,
                total_matches,
            }))
        }
        _ => None,
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
