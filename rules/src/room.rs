//! The shape of a room's state: [`RoomState`] (the group, its members, the current meeting and
//! each feature's state) and [`Group`]. The rules that change it are elsewhere: the features
//! decide, and [`crate::state`] folds their events in.

use std::collections::{BTreeMap, BTreeSet};

use roundtable_protocol::{self as wire, GroupId, MeetingId, MemberId, Role, Seq, UnixMs};

use crate::access::Access;
use crate::activity::Activity;
use crate::commitments::{self, CommitmentBoard};
use crate::flow::FlowState;
use crate::practices::{self, Library};
use crate::prep::PrepState;
use crate::roleplay::{self, RolePlayState};
use crate::roster::{Meeting, Member, Roster};
use crate::secret::SecretHash;

/// The whole state of one group's live room: the group, its members and the current meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomState {
    pub group: Group,
    pub meeting: Meeting,
    /// Current members, in the order they joined.
    pub members: Vec<Member>,
    /// Members with at least one open connection to the room now. Not history: no event
    /// changes it and it is not stored; the room sets it as connections come and go
    /// ([`RoomState::set_online`]), and a loaded room has nobody online.
    pub online: BTreeSet<MemberId>,
    /// Who was online as a format 1-3 log tells it (its `presence_changed` events, which
    /// servers no longer write), so that folding such a log gives the meeting it started the
    /// attendance it had then. Not stored, and empty in a room a server runs.
    pub logged_online: BTreeSet<MemberId>,
    /// The speaker queue, first raised first.
    pub hands: Vec<MemberId>,
    /// The group's commitment board (kept across meetings).
    pub commitments: CommitmentBoard,
    /// The group's metrics, this meeting's numbers and past meetings' results.
    pub activity: Activity,
    /// The group's best-practice library (kept across meetings).
    pub practices: Library,
    /// Minutes of the group's last `minutes::PAST_MEETINGS_KEPT` meetings, oldest first.
    pub past_meetings: Vec<wire::Minutes>,
    /// Role play and scoring (`room/roleplay`).
    pub role_play: RolePlayState,
    /// The seq of the last event applied; 0 before any.
    pub seq: Seq,
    /// The meeting flow: agenda, template, timer, round, floor, problems (`flow` module).
    pub flow: FlowState,
    /// The links' versions and the members' sessions (`access` module).
    pub access: Access,
    /// Members who left and erased their data, by id only (no name is kept): what they chose
    /// to keep anonymized (commitments, numbers shared by name) stays under these ids, which
    /// clients show as "a former member".
    pub former_members: BTreeSet<MemberId>,
    /// When the group meets (`crate::schedule`); `None` until a facilitator sets it.
    pub schedule: Option<wire::Schedule>,
    /// Each member's calendar feed secret, as its hash (`crate::schedule`).
    pub calendar_feeds: BTreeMap<MemberId, SecretHash>,
    /// Prep for the current meeting: each member's check-in and hot-seat request, private to
    /// them until the meeting starts (`prep` module).
    pub prep: PrepState,
}

/// A peer group and its credentials (as hashes only).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub facilitator_secret_hash: SecretHash,
    pub invite_secret_hash: SecretHash,
    pub created_at_ms: UnixMs,
    /// The IANA time zone the minutes are written in; UTC when `None`.
    pub time_zone: Option<String>,
    /// The group's video call link (https), checked by [`crate::text::call_url`].
    pub call_url: Option<String>,
}

impl RoomState {
    /// A new group with its first meeting, upcoming, and no members.
    pub fn new_group(group: Group, meeting_id: MeetingId, now_ms: UnixMs) -> RoomState {
        RoomState {
            group,
            meeting: Meeting {
                id: meeting_id,
                number: 1,
                started_at_ms: now_ms,
                attended: Vec::new(),
                phase: wire::MeetingPhase::Upcoming,
            },
            members: Vec::new(),
            online: BTreeSet::new(),
            logged_online: BTreeSet::new(),
            hands: Vec::new(),
            commitments: CommitmentBoard::default(),
            activity: Activity::default(),
            practices: Library::default(),
            past_meetings: Vec::new(),
            role_play: RolePlayState::default(),
            seq: 0,
            // The first meeting starts from the default template.
            flow: FlowState::default(),
            access: Access::default(),
            former_members: BTreeSet::new(),
            schedule: None,
            calendar_feeds: BTreeMap::new(),
            prep: PrepState::default(),
        }
    }

    /// The members and who of them is online, as the features' rules see them.
    pub fn roster(&self) -> Roster<'_> {
        Roster {
            members: &self.members,
            online: &self.online,
        }
    }

    pub fn member(&self, member_id: MemberId) -> Option<&Member> {
        self.roster().member(member_id)
    }

    pub fn role_of(&self, member_id: MemberId) -> Option<Role> {
        self.roster().role_of(member_id)
    }

    /// Members with the facilitator role ([`Roster::facilitator_count`]).
    pub fn facilitator_count(&self) -> usize {
        self.roster().facilitator_count()
    }
}

/// What the commitment rules see of the room.
impl<'a> From<&'a RoomState> for commitments::Context<'a> {
    fn from(state: &'a RoomState) -> Self {
        commitments::Context {
            board: &state.commitments,
            roster: state.roster(),
            meeting_number: state.meeting.number,
        }
    }
}

/// What the library's rules see of the room.
impl<'a> From<&'a RoomState> for practices::Context<'a> {
    fn from(state: &'a RoomState) -> Self {
        practices::Context {
            library: &state.practices,
            roster: state.roster(),
            meeting: &state.meeting,
        }
    }
}

/// What the role play rules see of the room.
impl<'a> From<&'a RoomState> for roleplay::Context<'a> {
    fn from(state: &'a RoomState) -> Self {
        roleplay::Context {
            role_play: &state.role_play,
            roster: state.roster(),
            meeting_number: state.meeting.number,
        }
    }
}

#[cfg(test)]
impl RoomState {
    /// The room with its current meeting live from the start, as every room's was before
    /// meetings had an upcoming phase: for tests of what happens in a running meeting.
    pub(crate) fn live(mut self) -> RoomState {
        self.meeting.phase = wire::MeetingPhase::Live;
        self
    }
}
