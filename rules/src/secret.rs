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
