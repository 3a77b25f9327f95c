//! Wire types of quick reactions: a member's applause, +1 or laugh that everyone in the room
//! sees for a moment. Reactions are ephemeral: they carry no `seq`, are never stored and are
//! not replayed to a client that reconnects (PROTOCOL.md, "Reactions").

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{MemberId, UnixMs};

/// The reactions a member can send: a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Reaction {
    /// Clapping hands.
    Applause,
    /// Thumbs up: agreed.
    PlusOne,
    /// Laughing.
    Laugh,
    /// A light bulb: that gave me an idea.
    Idea,
    /// A heart: thank you, that matters.
    Heart,
}

/// A member's reaction, as everyone in the room receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReactionFrame {
    pub member_id: MemberId,
    pub reaction: Reaction,
    /// When the server received it, by its clock.
    pub at_ms: UnixMs,
}
