//! "One submission per member, revisable" without any stored link from a submission to a member.
//!
//! While scoring of a role play is open, the room actor holds a [`ScoringDedupe`]: a random
//! 256-bit key and a map from HMAC-SHA256(key, role play id ‖ member id) to the member's slot in
//! the bag. The map holds no member id, and the key exists only in this process's memory: it is
//! never stored, logged, printed (`Debug` shows neither) or sent. When scoring ends (close,
//! reveal, cancel, a new role play) the actor drops the whole structure, overwriting the key
//! first, and from then on nothing links a slot to anyone, not even with the full database.
//!
//! A restart while scoring is open loses the key by design (it was never written down): the
//! submissions made so far are kept and scoring stays open, but the new process starts an empty
//! map. A member's page therefore sends a ballot with each submission ([`super::ballot`]): the
//! same ballot fills the same slot, so a submission after the restart still revises the one
//! before it. Without a ballot it would count as another one. ARCHITECTURE.md ("Anonymity")
//! explains why this is preferred to storing the key.

use std::collections::HashMap;

use roundtable_protocol::{MemberId, RolePlayId};
use sha2::{Digest, Sha256};

use super::SubmissionSlot;

/// The in-memory dedupe of one role play's scoring.
pub struct ScoringDedupe {
    role_play_id: RolePlayId,
    key: [u8; 32],
    slots: HashMap<[u8; 32], SubmissionSlot>,
}

impl std::fmt::Debug for ScoringDedupe {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ScoringDedupe")
            .field("role_play_id", &self.role_play_id)
            .field("members", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl ScoringDedupe {
    /// A dedupe with a fresh key from the operating system (tests; the room actor draws its
    /// own key and calls [`ScoringDedupe::with_key`]).
    #[cfg(test)]
    pub fn new(role_play_id: RolePlayId) -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system provides randomness");
        Self::with_key(role_play_id, key)
    }

    /// A dedupe with a given key: random, drawn by the caller, and never written anywhere.
    pub fn with_key(role_play_id: RolePlayId, key: [u8; 32]) -> Self {
        ScoringDedupe {
            role_play_id,
            key,
            slots: HashMap::new(),
        }
    }

    pub fn role_play_id(&self) -> RolePlayId {
        self.role_play_id
    }

    /// The slot this member filled, if they submitted since this dedupe was made.
    pub fn slot_of(&self, member_id: MemberId) -> Option<SubmissionSlot> {
        self.slots.get(&self.tag(member_id)).copied()
    }

    /// Remembers the member's slot (as a keyed hash of the member, never the member id).
    pub fn remember(&mut self, member_id: MemberId, slot: SubmissionSlot) {
        let tag = self.tag(member_id);
        self.slots.insert(tag, slot);
    }

    /// HMAC-SHA256 of role play id and member id under the key.
    fn tag(&self, member_id: MemberId) -> [u8; 32] {
        hmac_sha256(
            &self.key,
            &[self.role_play_id.0.as_bytes(), member_id.0.as_bytes()],
        )
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts`, for keys of at most 64 bytes (ours are
/// 32).
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    debug_assert!(key.len() <= BLOCK, "longer keys would need hashing first");
    let mut inner_pad = [0x36u8; BLOCK];
    let mut outer_pad = [0x5cu8; BLOCK];
    for (index, byte) in key.iter().enumerate().take(BLOCK) {
        inner_pad[index] ^= byte;
        outer_pad[index] ^= byte;
    }
    let mut inner = Sha256::new().chain_update(inner_pad);
    for part in parts {
        inner.update(part);
    }
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner.finalize())
        .finalize()
        .into()
}

impl Drop for ScoringDedupe {
    /// Best effort: overwrite the key before the memory is freed, so that it does not linger in
    /// freed memory (a core dump, swap) after scoring closed.
    fn drop(&mut self) {
        self.key.fill(0);
        std::hint::black_box(&self.key);
        self.slots.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_member_finds_their_slot_and_others_do_not() {
        let role_play = RolePlayId::random();
        let (ann, bob) = (MemberId::random(), MemberId::random());
        let mut dedupe = ScoringDedupe::new(role_play);
        assert_eq!(dedupe.slot_of(ann), None);
        let slot = SubmissionSlot::random();
        dedupe.remember(ann, slot);
        assert_eq!(dedupe.slot_of(ann), Some(slot));
        assert_eq!(dedupe.slot_of(bob), None);
    }

    #[test]
    fn tags_depend_on_the_key_and_the_role_play_and_name_no_member() {
        let role_play = RolePlayId::random();
        let ann = MemberId::random();
        let one = ScoringDedupe::with_key(role_play, [1; 32]);
        let two = ScoringDedupe::with_key(role_play, [2; 32]);
        let other_role_play = ScoringDedupe::with_key(RolePlayId::random(), [1; 32]);
        assert_ne!(
            one.tag(ann),
            two.tag(ann),
            "a new key gives unlinkable tags"
        );
        assert_ne!(one.tag(ann), other_role_play.tag(ann));
        let tag = one.tag(ann);
        assert!(
            !tag.windows(16).any(|window| window == ann.0.as_bytes()),
            "the member id is not in the tag"
        );
        let printed = format!("{one:?}");
        assert!(!printed.contains(&ann.to_string()));
        assert!(
            !printed.contains("key"),
            "the key is never printed: {printed}"
        );
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        let hex = |bytes: [u8; 32]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        // Test case 1.
        assert_eq!(
            hex(hmac_sha256(&[0x0b; 20], &[b"Hi There"])),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 2, with the message split in two parts.
        assert_eq!(
            hex(hmac_sha256(
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
