//! Stored format 1: a room's snapshot ([`Snapshot`]) and one event of a meeting's log
//! ([`Event`]), and every type inside them.
//!
//! These types are the format: their serde attributes say what the JSON is, field by field, and
//! nothing else does (no protocol type and no in-memory type is inside them). Format 1 is,
//! byte for byte, the JSON the code wrote before stored formats had numbers ("v0"), plus the
//! envelope's `format` field, so one set of types reads both. Once a release has written
//! format 1, these types never change again; a change is a new format (see [`super`]). Format
//! 2 ([`super::v2`]) takes most of them as they are; the records it changed are read here and
//! converted forward into format 2's.

mod accountability;
mod flow;
mod roleplay;

use std::collections::BTreeSet;

use roundtable_protocol as wire;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::convert;
use crate::state;

pub use accountability::*;
pub use flow::*;
pub use roleplay::*;

/// The format these types are.
pub const FORMAT: u32 = 1;

/// A room's snapshot (`RoomState`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub group: Group,
    pub meeting: Meeting,
    pub members: Vec<Member>,
    pub online: BTreeSet<Uuid>,
    pub hands: Vec<Uuid>,
    #[serde(default)]
    pub commitments: CommitmentBoard,
    /// Older snapshots lack the fields of later features: each reads as this format's own
    /// default ([`default_activity`], [`default_flow`], or empty), never an in-memory type's.
    #[serde(default = "default_activity", rename = "benchmarks")]
    pub activity: Activity,
    #[serde(default)]
    pub practices: Library,
    #[serde(default)]
    pub past_meetings: Vec<Minutes>,
    #[serde(default)]
    pub role_play: RolePlayState,
    pub seq: u64,
    #[serde(default = "default_flow")]
    pub flow: FlowState,
}

/// The benchmarks of a snapshot written before they existed: the metrics a new group had then,
/// and no numbers. Frozen here, so a change to a new group's metrics does not change how an
/// old snapshot reads.
pub fn default_activity() -> Activity {
    serde_json::from_str(include_str!("defaults/benchmarks.json"))
        .expect("the frozen benchmarks are format 1")
}

/// The flow of a snapshot written before the meeting flow existed: the template a new group
/// had then, and a first meeting's agenda from it. Frozen here, so a change to the default
/// template does not change how an old snapshot reads.
pub fn default_flow() -> FlowState {
    serde_json::from_str(include_str!("defaults/flow.json")).expect("the frozen flow is format 1")
}

// Read forward into format 2's `Snapshot`, which mirrors today's `RoomState`.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub facilitator_secret_hash: SecretHash,
    pub invite_secret_hash: SecretHash,
    pub created_at_ms: u64,
}

// Read forward into format 2's `Group`, which has a time zone.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meeting {
    pub id: Uuid,
    pub number: u32,
    pub started_at_ms: u64,
    #[serde(default)]
    pub attended: Vec<Uuid>,
}

// Read forward into format 4's `Meeting`, which has a phase.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: Uuid,
    pub display_name: String,
    pub role: Role,
    pub token_hash: SecretHash,
    pub joined_at_ms: u64,
}

mirror_struct!(Member <=> state::Member { id, display_name, role, token_hash, joined_at_ms });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Facilitator,
    Member,
    Observer,
}

mirror_enum!(Role <=> wire::Role { Facilitator, Member, Observer });

mirror_id!(
    wire::GroupId,
    wire::MeetingId,
    wire::MemberId,
    wire::RolePlayId,
    crate::roleplay::SubmissionSlot,
);

/// A secret's SHA-256, as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretHash(pub [u8; 32]);

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SecretHash(..)")
    }
}

impl Serialize for SecretHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 64];
        for (pair, byte) in text.chunks_exact_mut(2).zip(&self.0) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        serializer.serialize_str(std::str::from_utf8(&text).expect("hex digits are ASCII"))
    }
}

impl<'de> Deserialize<'de> for SecretHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.len() != 64 {
            return Err(serde::de::Error::custom("a secret hash has 64 hex digits"));
        }
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16)
                .map_err(serde::de::Error::custom)?;
        }
        Ok(SecretHash(bytes))
    }
}

impl convert::Mirror for crate::secret::SecretHash {
    type Stored = SecretHash;
    fn to_stored(&self) -> SecretHash {
        SecretHash(self.0)
    }
    fn from_stored(stored: SecretHash) -> Self {
        crate::secret::SecretHash(stored.0)
    }
}

/// One event of a meeting's log (`StoredEvent`): the event and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: u64,
    pub event: RoomEvent,
}

// Read forward into format 2's `Event`, which mirrors today's `StoredEvent`.

/// A change to the room (`RoomEvent`).
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
        commitment: Commitment,
        owner_accountability: MemberAccountability,
    },
    CommitmentUpdated {
        commitment: Commitment,
        owner_accountability: MemberAccountability,
    },
    NumbersSubmitted {
        member_id: Uuid,
        values: std::collections::BTreeMap<String, f64>,
        sharing: Sharing,
        view: BenchmarkView,
    },
    MetricsSet {
        metrics: Vec<Metric>,
        view: BenchmarkView,
    },
    PracticePosted {
        practice: Practice,
    },
    PracticeUpvoted {
        practice_id: u32,
        member_id: Uuid,
        up: bool,
    },
    PracticeCommented {
        practice_id: u32,
        comment: PracticeComment,
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
}

// Read forward into format 2's `RoomEvent`, which mirrors today's.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceReason {
    Joined,
    Left,
    ConnectionLost,
    Removed,
    ServerRestart,
}

mirror_enum!(PresenceReason <=> wire::PresenceReason {
    Joined, Left, ConnectionLost, Removed, ServerRestart,
});
