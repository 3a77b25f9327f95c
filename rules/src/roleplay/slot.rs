//! Where a scorer's submission sits in the bag: a place derived from their pseudonym key.
//!
//! A member's [`PseudonymKey`] is a digest of the member token their connection joined with
//! (see [`crate::secret`]); the room actor keeps it in memory beside that connection and
//! nowhere else. The slot of their submission to a role play is 128 bits derived from the key
//! for that role play ([`slot_of`]), shaped as a version 4 UUID. So:
//!
//! - the same token finds the same slot from any page or device, before and after a server
//!   restart: a second submission is a revision, never a second count, and whether a
//!   connection's member has submitted is a look-up of its slot in the bag
//!   ([`super::RolePlayState::submitted_with`]), which a fresh snapshot, a resumed page and
//!   the member's other pages all answer the same way;
//! - the store holds the bag (slots and forms) and the token hashes, but no key: a key is a
//!   digest of the token itself, which the store never holds, so nothing on disk leads from a
//!   member to a slot or back;
//! - no member id goes in: the slot is the same for whatever member the token admits.
//!
//! There is no other record of who filled which slot, in memory or on disk. (Until issue 19,
//! the actor also kept an in-memory map from member to slot while scoring was open. With
//! slots from the token it would cover one case only: a member who, during scoring, lost every
//! session to revocation and came back with a new token, whose new key finds another slot. It
//! would cover it only until a restart, and it made a member's pages disagree with a fresh
//! snapshot after one, so it is gone; ARCHITECTURE.md, "Anonymity", states the trade.)

use roundtable_protocol::RolePlayId;

use super::SubmissionSlot;
use crate::secret::PseudonymKey;

/// The purpose a slot is derived under ([`PseudonymKey::derive`]).
pub const SLOT_PURPOSE: &[u8] = b"role play slot";

/// The slot of the member whose key is `key` in the bag of `role_play_id`: the first 128 bits
/// of the key's derivation for this role play, with the version and variant bits of a random
/// (version 4) UUID, so derived slots look like any other.
pub fn slot_of(key: &PseudonymKey, role_play_id: RolePlayId) -> SubmissionSlot {
    let derived = key.derive(SLOT_PURPOSE, role_play_id.0.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&derived[..16]);
    SubmissionSlot(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

#[cfg(test)]
#[path = "slot_tests.rs"]
mod tests;
