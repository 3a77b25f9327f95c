//! Stored format 3: format 2 with
//! - the group's video call link (`Group::call_url`, the `call_link_set` event);
//! - links that can be made anew and members' sessions that can be revoked: the snapshot's
//!   `access` (each link's version, every session with its token's hash and when it was last
//!   seen), and the events `link_rotated` (the new secret's hash, never the secret),
//!   `session_revoked` and `session_started`. A format 2 room's members get one session each,
//!   with the token they have;
//! - members who leave and erase their data: the `member_erased` event (with what they chose
//!   for each kind of their contributions, [`Erasure`]) and the snapshot's `former_members`,
//!   the ids under which what they chose to anonymize stays.
//!
//! Every other stored type is format 2's own (taken with a glob `pub use`, which the types
//! defined here shadow, since format 2's types never change); the types that hold a change are
//! defined here, each with its conversion forward from format 2's.
//!
//! Once a release has written format 3, these types never change again (see [`super`]);
//! `golden/stored-v3/` holds what it wrote.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{v1, v2};
use crate::state;

pub use v2::*;

/// The format these types are.
pub const FORMAT: u32 = 3;

/// A room's snapshot (`RoomState`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub group: Group,
    pub meeting: Meeting,
    pub members: Vec<Member>,
    pub online: BTreeSet<Uuid>,
    pub hands: Vec<Uuid>,
    pub commitments: CommitmentBoard,
    #[serde(rename = "benchmarks")]
    pub activity: Activity,
    pub practices: Library,
    pub past_meetings: Vec<Minutes>,
    pub role_play: RolePlayState,
    pub seq: u64,
    pub flow: FlowState,
    pub access: Access,
    /// Members who left and erased their data, by id.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub former_members: BTreeSet<Uuid>,
}

type V2Snapshot = v2::Snapshot;
impl From<V2Snapshot> for Snapshot {
    fn from(old: V2Snapshot) -> Snapshot {
        // Each member has the one token they were given: one session each, numbered from the
        // token as today's rules number them.
        let sessions: Vec<Session> = old
            .members
            .iter()
            .map(|member| Session {
                member_id: member.id,
                session_id: crate::access::session_id_of(crate::secret::SecretHash(
                    member.token_hash.0,
                )),
                token_hash: member.token_hash,
                started_at_ms: member.joined_at_ms,
                last_seen_ms: member.joined_at_ms,
            })
            .collect();
        let access = Access {
            links: LinkVersions::default(),
            sessions,
        };
        Snapshot {
            group: old.group.into(),
            meeting: old.meeting,
            members: old.members,
            online: old.online,
            hands: old.hands,
            commitments: old.commitments,
            activity: old.activity,
            practices: old.practices,
            past_meetings: old.past_meetings,
            role_play: old.role_play,
            seq: old.seq,
            flow: old.flow,
            access,
            former_members: BTreeSet::new(),
        }
    }
}

/// The links' versions and the members' sessions (`access::Access`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Access {
    pub links: LinkVersions,
    pub sessions: Vec<Session>,
}

mirror_struct!(Access <=> crate::access::Access { links, sessions });

/// How many times each link was made anew.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkVersions {
    pub invite: u32,
    pub facilitator: u32,
}

mirror_struct!(LinkVersions <=> roundtable_protocol::LinkVersions { invite, facilitator });

/// One member token the server issued (`access::Session`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub member_id: Uuid,
    pub session_id: u32,
    pub token_hash: SecretHash,
    pub started_at_ms: u64,
    pub last_seen_ms: u64,
}

mirror_struct!(Session <=> crate::access::Session {
    member_id, session_id, token_hash, started_at_ms, last_seen_ms,
});

/// The group: format 2's, with its video call link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub facilitator_secret_hash: SecretHash,
    pub invite_secret_hash: SecretHash,
    pub created_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_url: Option<String>,
}

mirror_struct!(Group <=> state::Group {
    id, name, facilitator_secret_hash, invite_secret_hash, created_at_ms, time_zone, call_url,
});

type V2Group = v2::Group;
forward_struct!(V2Group => Group {
    id, name, facilitator_secret_hash, invite_secret_hash, created_at_ms, time_zone,
} added { call_url: None });

/// One of the group's two links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Invite,
    Facilitator,
}

mirror_enum!(LinkKind <=> roundtable_protocol::LinkKind { Invite, Facilitator });

/// One event of a meeting's log (`StoredEvent`): the event and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: u64,
    pub event: RoomEvent,
}

type V2Event = v2::Event;
forward_struct!(V2Event => Event { at_ms, event });

/// A change to the room (`RoomEvent`): format 2's, with format 3's events at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoomEvent {
    MemberAdded {
        member_id: Uuid,
        display_name: String,
        role: Role,
        token_hash: SecretHash,
    },
    PresenceChanged {
        member_id: Uuid,
        online: bool,
        reason: PresenceReason,
    },
    GroupRenamed {
        name: String,
    },
    TimeZoneSet {
        time_zone: String,
    },
    MemberRemoved {
        member_id: Uuid,
    },
    RoleChanged {
        member_id: Uuid,
        role: Role,
    },
    HandRaised {
        member_id: Uuid,
    },
    HandLowered {
        member_id: Uuid,
    },
    CommitmentAdded {
        commitment: v1::Commitment,
        owner_accountability: v1::MemberAccountability,
    },
    CommitmentUpdated {
        commitment: v1::Commitment,
        owner_accountability: v1::MemberAccountability,
    },
    NumbersSubmitted {
        member_id: Uuid,
        values: std::collections::BTreeMap<String, f64>,
        sharing: v1::Sharing,
        view: v1::BenchmarkView,
    },
    MetricsSet {
        metrics: Vec<v1::Metric>,
        view: v1::BenchmarkView,
    },
    PracticePosted {
        practice: v1::Practice,
    },
    PracticeUpvoted {
        practice_id: u32,
        member_id: Uuid,
        up: bool,
    },
    PracticeCommented {
        practice_id: u32,
        comment: v1::PracticeComment,
    },
    NextMeetingStarted {
        meeting_id: Uuid,
        number: u32,
    },
    RolePlay {
        change: RolePlayEvent,
    },
    Flow {
        event: FlowEvent,
    },
    // Format 3's events.
    CallLinkSet {
        url: Option<String>,
    },
    LinkRotated {
        link: LinkKind,
        version: u32,
        secret_hash: SecretHash,
    },
    SessionRevoked {
        member_id: Uuid,
        session_id: u32,
    },
    SessionStarted {
        member_id: Uuid,
        session_id: u32,
        token_hash: SecretHash,
    },
    MemberErased {
        member_id: Uuid,
        erasure: Erasure,
    },
}

/// What a member who left chose for each kind of their contributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    pub commitments: ErasureChoice,
    pub numbers: ErasureChoice,
    pub practices: ErasureChoice,
}

mirror_struct!(Erasure <=> crate::command::Erasure { commitments, numbers, practices });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureChoice {
    Remove,
    Anonymize,
}

mirror_enum!(ErasureChoice <=> roundtable_protocol::ErasureChoice { Remove, Anonymize });

/// The variants `RoomEvent` shares with format 2's, for the conversion forward from it.
macro_rules! room_event_variants_v2 {
    ($macro:ident!($($head:tt)*) $({ $($more:tt)* })?) => {
        $macro!($($head)* {
            MemberAdded { member_id, display_name, role, token_hash },
            PresenceChanged { member_id, online, reason },
            GroupRenamed { name },
            TimeZoneSet { time_zone },
            MemberRemoved { member_id },
            RoleChanged { member_id, role },
            HandRaised { member_id },
            HandLowered { member_id },
            CommitmentAdded { commitment, owner_accountability },
            CommitmentUpdated { commitment, owner_accountability },
            NumbersSubmitted { member_id, values, sharing, view },
            MetricsSet { metrics, view },
            PracticePosted { practice },
            PracticeUpvoted { practice_id, member_id, up },
            PracticeCommented { practice_id, comment },
            NextMeetingStarted { meeting_id, number },
            RolePlay { change },
            Flow { event },
            $($($more)*)?
        });
    };
}

type V2RoomEvent = v2::RoomEvent;
room_event_variants_v2!(forward_enum!(V2RoomEvent => RoomEvent));
