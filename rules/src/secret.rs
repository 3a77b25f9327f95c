//! Secrets as the rules keep them: only their SHA-256, never the secret itself.
//!
//! The secrets are random (drawn by the server, see `roundtable_server::secrets`), not chosen by
//! people, so a fast hash is right: there is nothing to brute-force offline.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The SHA-256 of a secret, as stored. Printed only as `SecretHash(..)` so it never reaches logs
/// by accident either.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SecretHash(#[serde(with = "hex_bytes")] pub [u8; 32]);

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// The stored form of a secret presented by a client.
pub fn hash_secret(secret: &str) -> SecretHash {
    SecretHash(Sha256::digest(secret.as_bytes()).into())
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 64];
        for (pair, byte) in text.chunks_exact_mut(2).zip(bytes) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        serializer.serialize_str(std::str::from_utf8(&text).expect("hex digits are ASCII"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.len() != 64 {
            return Err(serde::de::Error::custom("a secret hash has 64 hex digits"));
        }
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16)
                .map_err(serde::de::Error::custom)?;
        }
        Ok(bytes)
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
    fn hashes_round_trip_through_json_and_never_print() {
        let hash = hash_secret("a secret");
        let json = serde_json::to_string(&hash).expect("serialize");
        let back: SecretHash = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, hash);
        assert_eq!(format!("{hash:?}"), "SecretHash(..)");
        let mut known = [0u8; 32];
        known[..4].copy_from_slice(&[0x00, 0x0f, 0xa5, 0xff]);
        let json = serde_json::to_string(&SecretHash(known)).expect("serialize");
        assert_eq!(json, format!("\"000fa5ff{}\"", "0".repeat(56)));
    }
}
