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
    }
}
