//! Typed identifiers. Each is a random UUID on the wire (a string), typed so that a member id
//! cannot be passed where a group id is meant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
        #[serde(transparent)]
        #[ts(type = "string")]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                $name(Uuid::new_v4())
            }

            /// The id as a 128-bit number, for compact storage keys.
            pub fn as_u128(self) -> u128 {
                self.0.as_u128()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name)
            }
        }
    };
}

id_type!(
    /// A peer group, which meets repeatedly.
    GroupId
);
id_type!(
    /// One meeting of a group.
    MeetingId
);
id_type!(
    /// A member of a group, stable across the group's meetings.
    MemberId
);
id_type!(
    /// One role play within a group.
    RolePlayId
);
id_type!(
    /// One incarnation of a group's live room, and so of the history it serves: a fresh random
    /// id each time the room is loaded. Seqs are comparable within one log epoch, and within the
    /// earlier ones the store recorded as the same history up to the last seq each wrote; a
    /// client resuming from any other (or none) gets a snapshot, never a replay (PROTOCOL.md,
    /// "Resume").
    LogEpoch
);
