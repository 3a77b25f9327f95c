//! Secrets as the rules keep them: only their SHA-256, never the secret itself.
//!
//! The secrets are random (drawn by the server, see `roundtable_server::secrets`), not chosen by
//! people, so a fast hash is right: there is nothing to brute-force offline.

use sha2::{Digest, Sha256};

/// The SHA-256 of a secret, as stored. Printed only as `SecretHash(..)` so it never reaches logs
/// by accident either.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// The stored form of a secret presented by a client.
pub fn hash_secret(secret: &str) -> SecretHash {
    SecretHash(Sha256::digest(secret.as_bytes()).into())
}

/// A member's pseudonym key: a second digest of the token a connection joined with, under a
/// domain of its own, so it is neither the token nor its stored hash. The room keeps it only in
/// memory, beside the connection that presented the token, and derives from it the places
/// where that member's anonymous contributions are kept ([`PseudonymKey::derive`]). Whoever
/// reads the store holds only token hashes, from which no key and so no place can be computed;
/// the member's own connection finds their places again after any restart.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PseudonymKey([u8; 32]);

impl PseudonymKey {
    /// The key of the member whose token is `token`.
    pub fn of_token(token: &str) -> PseudonymKey {
        PseudonymKey(
            Sha256::new()
                .chain_update(b"roundtable pseudonym key\0")
                .chain_update(token.as_bytes())
                .finalize()
                .into(),
        )
    }

    /// The 256 bits this key gives for `purpose` (a constant naming the use, such as
    /// `b"role play slot"`) and `context` (what the place is in, such as a role play's id):
    /// different for every key, purpose and context, and unlinkable to the key without it.
    pub fn derive(&self, purpose: &[u8], context: &[u8]) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"roundtable pseudonym\0")
            .chain_update((purpose.len() as u64).to_be_bytes())
            .chain_update(purpose)
            .chain_update((context.len() as u64).to_be_bytes())
            .chain_update(context)
            .chain_update(self.0)
            .finalize()
            .into()
    }
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(..)")
    }
}

/// What a key derives a meeting's place of anonymous numbers for ([`PseudonymKey::derive`]).
const PLACE_PURPOSE: &[u8] = b"benchmark numbers";

/// Where one anonymous submission is kept: 256 bits derived from its member's pseudonym key and
/// the meeting's id ([`Place::of`]), or, for numbers stored before places existed, from what
/// those records held ([`Place::legacy`], [`Place::of_past_values`]). Printed only as
/// `Place(..)`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place(pub [u8; 32]);

impl std::fmt::Debug for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Place(..)")
    }
}

impl Place {
    /// The place of the anonymous numbers of the member whose key is `key` in meeting
    /// `meeting_id`.
    pub fn of(key: &PseudonymKey, meeting_id: roundtable_protocol::MeetingId) -> Place {
        Place(key.derive(PLACE_PURPOSE, meeting_id.0.as_bytes()))
    }

    /// The place of anonymous numbers a record written before places existed (stored formats 1
    /// to 3) held under the member's id, in the meeting that was current then. It is computed
    /// from the member's id, as those records named the member already: the member still finds
    /// this meeting's numbers (to change or withdraw them), and so can whoever reads the store.
    /// Only numbers submitted before the upgrade are kept here; see ARCHITECTURE.md,
    /// "Anonymity".
    pub fn legacy(
        meeting_id: roundtable_protocol::MeetingId,
        member_id: roundtable_protocol::MemberId,
    ) -> Place {
        Place(
            Sha256::new()
                .chain_update(b"roundtable legacy anonymous numbers\0")
                .chain_update(meeting_id.0.as_bytes())
                .chain_update(member_id.0.as_bytes())
                .finalize()
                .into(),
        )
    }

    /// The place a past meeting's numbers of a format 3 record are moved to when they may have
    /// been anonymous and the meeting is too old for its id to be known: computed from the
    /// meeting's number, the values themselves and their rank among equal values, and from no
    /// member's id (nobody's trend finds them).
    pub fn of_past_values(
        meeting_number: u32,
        values: &std::collections::BTreeMap<String, f64>,
        rank: u32,
    ) -> Place {
        let mut hash = Sha256::new()
            .chain_update(b"roundtable past anonymous numbers\0")
            .chain_update(meeting_number.to_be_bytes())
            .chain_update(rank.to_be_bytes());
        for (key, value) in values {
            hash.update((key.len() as u64).to_be_bytes());
            hash.update(key.as_bytes());
            hash.update(value.to_bits().to_be_bytes());
        }
        Place(hash.finalize().into())
    }
}

/// A random secret and its hash, for tests; the server draws its own
/// (`roundtable_server::secrets::new_secret`).
#[cfg(test)]
pub(crate) fn new_secret() -> (String, SecretHash) {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    let secret: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let hash = hash_secret(&secret);
    (secret, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_never_print() {
        let hash = hash_secret("a secret");
        assert_eq!(format!("{hash:?}"), "SecretHash(..)");
        let key = PseudonymKey::of_token("a secret");
        assert_eq!(format!("{key:?}"), "PseudonymKey(..)");
    }

    #[test]
    fn a_pseudonym_key_is_neither_the_token_nor_its_stored_hash() {
        let key = PseudonymKey::of_token("a token");
        assert_ne!(key.0, hash_secret("a token").0);
        assert_eq!(key, PseudonymKey::of_token("a token"));
        assert_ne!(key, PseudonymKey::of_token("another token"));
    }

    #[test]
    fn derived_places_differ_by_key_purpose_and_context() {
        let key = PseudonymKey::of_token("a token");
        let place = key.derive(b"purpose", b"context");
        assert_eq!(place, key.derive(b"purpose", b"context"));
        assert_ne!(place, key.derive(b"purpose", b"other context"));
        assert_ne!(place, key.derive(b"other purpose", b"context"));
        // Lengths are part of what is hashed: moving a byte between the two parts moves
        // the place.
        assert_ne!(key.derive(b"ab", b"c"), key.derive(b"a", b"bc"));
        assert_ne!(
            place,
            PseudonymKey::of_token("another token").derive(b"purpose", b"context")
        );
    }
}
