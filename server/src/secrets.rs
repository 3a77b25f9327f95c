//! Secrets and tokens: random, long enough to be unguessable, stored only as hashes
//! ([`roundtable_rules::secret`]).
//!
//! Every secret is 32 random bytes (256 bits) from the operating system, written as unpadded
//! base64url.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use roundtable_rules::secret::{SecretHash, hash_secret};

/// Bytes of randomness in every secret and token.
const SECRET_BYTES: usize = 32;

/// A fresh random secret and its hash.
pub fn new_secret() -> (String, SecretHash) {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_secret(&secret);
    (secret, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_distinct_and_hash_consistently() {
        let (first, first_hash) = new_secret();
        let (second, _) = new_secret();
        assert_eq!(first.len(), 43, "32 bytes are 43 base64url characters");
        assert_ne!(first, second);
        assert_eq!(hash_secret(&first), first_hash);
        assert_ne!(hash_secret(&second), first_hash);
    }
}
