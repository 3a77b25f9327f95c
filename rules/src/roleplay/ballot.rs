//! Ballots: one submission per scorer across a server restart, with no stored link from a
//! submission to a member.
//!
//! A scorer's page draws 256 random bits once per role play (its *ballot*), keeps them in the
//! tab's storage and sends them with every submission. The submission's slot in the bag is a
//! hash of role play and ballot ([`ballot_slot`]), so the same ballot always fills the same
//! slot: a second submission with it is a revision, also after a restart, when the in-memory
//! [`super::dedupe`] has been forgotten. The ballot itself is never stored, logged or sent to
//! anyone; the slot (a hash, shaped like the random slots) says nothing about who holds the
//! ballot, and nothing stored beside it names the member. While the process lives, the dedupe
//! still ties a member to the slot they filled first, so a second ballot from the same member
//! revises it too.

use roundtable_protocol::{ErrorCode, RolePlayId};
use sha2::{Digest, Sha256};

use super::{RolePlayState, SubmissionSlot};
use crate::error::RoomError;

/// A ballot is 256 bits written as this many lowercase hex digits.
pub const BALLOT_HEX_DIGITS: usize = 64;

/// The slot a ballot fills in the bag of `role_play_id`: the first 128 bits of
/// SHA-256(domain ‖ role play ‖ ballot), shaped as a version 4 UUID like the random slots.
pub fn ballot_slot(role_play_id: RolePlayId, ballot: &str) -> Result<SubmissionSlot, RoomError> {
    let valid = ballot.len() == BALLOT_HEX_DIGITS
        && ballot
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
    if !valid {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            format!("ballot must be {BALLOT_HEX_DIGITS} lowercase hexadecimal digits"),
        ));
    }
    let digest = Sha256::new()
        .chain_update(b"roundtable ballot slot\0")
        .chain_update(role_play_id.0.as_bytes())
        .chain_update(ballot.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Ok(SubmissionSlot(
        uuid::Builder::from_random_bytes(bytes).into_uuid(),
    ))
}

/// Where a submission goes, as `(existing, fresh)` for
/// [`super::decide_submission`]: the slot this process remembers for the member if it is still
/// in the bag, else the ballot's slot (a revision if it is in the bag); a new submission fills
/// the ballot's slot, or `random` without a ballot.
pub fn slots_for(
    role_play: &RolePlayState,
    role_play_id: RolePlayId,
    ballot: Option<&str>,
    remembered: Option<SubmissionSlot>,
    random: SubmissionSlot,
) -> Result<(Option<SubmissionSlot>, SubmissionSlot), RoomError> {
    let from_ballot = ballot
        .map(|ballot| ballot_slot(role_play_id, ballot))
        .transpose()?;
    let in_bag = |slot: &SubmissionSlot| {
        role_play
            .current
            .as_ref()
            .is_some_and(|current| current.submissions.contains_key(slot))
    };
    let existing = remembered.filter(in_bag).or(from_ballot.filter(in_bag));
    Ok((existing, from_ballot.unwrap_or(random)))
}

#[cfg(test)]
#[path = "ballot_tests.rs"]
mod tests;
