//! Tests of slots derived from pseudonym keys: one slot per token and role play, and random
//! scoring sessions with restarts and several pages per member, where every scorer is counted
//! once, every page of theirs knows it, and nothing stored ties a member to a slot.

use std::collections::BTreeMap;

use proptest::prelude::*;
use roundtable_protocol::{
    Criterion, GroupId, MeetingId, MemberId, Role, RolePlayId, RolePlayRequest, Rubric,
};

use super::*;
use crate::command::test_support::role_play_command;
use crate::limits::RoomLimits;
use crate::roleplay::{Fresh, decide, decide_submission};
use crate::secret::{PseudonymKey, hash_secret};
use crate::state::{Group, RoomEvent, RoomState, StoredEvent};

/// The member token of scorer `index` in [`scoring_room`].
fn token(index: usize) -> String {
    format!("{index:02x}").repeat(32)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn a_key_finds_one_slot_per_role_play_shaped_like_a_random_one() {
    let (one, two) = (RolePlayId::random(), RolePlayId::random());
    let ann = PseudonymKey::of_token(&token(1));
    let slot = slot_of(&ann, one);
    assert_eq!(
        slot,
        slot_of(&PseudonymKey::of_token(&token(1)), one),
        "the same token, the same slot"
    );
    assert_ne!(
        slot,
        slot_of(&PseudonymKey::of_token(&token(2)), one),
        "another token, another slot"
    );
    assert_ne!(slot, slot_of(&ann, two), "another role play, another slot");
    assert_eq!(
        slot.0.get_version_num(),
        4,
        "a version 4 UUID, like a random one"
    );
    assert_eq!(slot.0.get_variant(), uuid::Variant::RFC4122);
    // The slot is the key's derivation for the role play, cut to 128 bits with the UUID's
    // version and variant bits set: neither the token nor its stored hash appear in it.
    let derived = ann.derive(SLOT_PURPOSE, one.0.as_bytes());
    let bytes = slot.0.as_bytes();
    assert_eq!(bytes[..6], derived[..6]);
    assert_eq!(bytes[6] & 0x0f, derived[6] & 0x0f);
    assert_eq!(bytes[9..16], derived[9..16]);
    let text = hex(bytes);
    assert!(!hex(&hash_secret(&token(1)).0).contains(&text[..8]));
    assert!(!token(1).contains(&text[..8]));
}

/// The derivation is part of what stored data means: a bag stored while scoring was open is
/// searched with the same derivation after an upgrade, so it must never change. Pinned here.
#[test]
fn the_slot_derivation_never_changes() {
    let role_play_id =
        RolePlayId(uuid::Uuid::parse_str("5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d").unwrap());
    let slot = slot_of(&PseudonymKey::of_token("a member token"), role_play_id);
    assert_eq!(slot.0.to_string(), PINNED_SLOT);
}

/// A room with a facilitator (the seller) and `scorers` members, scoring open.
/// Member `index` joined with the token `token(index)`.
fn scoring_room(scorers: usize) -> (RoomState, MemberId, Vec<MemberId>, RolePlayId) {
    let mut state = RoomState::new_group(
        Group {
            id: GroupId::random(),
            name: "Peers".into(),
            facilitator_secret_hash: hash_secret("f"),
            invite_secret_hash: hash_secret("i"),
            created_at_ms: 1_000,
            time_zone: None,
            call_url: None,
        },
        MeetingId::random(),
        1_000,
    );
    let apply = |state: &mut RoomState, events: &[RoomEvent]| {
        for event in events {
            let seq = state.seq + 1;
            state.apply(seq, 5_000, event);
        }
    };
    let add = |state: &mut RoomState, role: Role, name: String, token: &str| {
        let member_id = MemberId::random();
        let added = RoomEvent::MemberAdded {
            member_id,
            display_name: name,
            role,
            token_hash: hash_secret(token),
        };
        apply(state, &[added]);
        member_id
    };
    let facilitator = add(
        &mut state,
        Role::Facilitator,
        "Fran".into(),
        "facilitator token",
    );
    let members: Vec<MemberId> = (0..scorers)
        .map(|index| {
            add(
                &mut state,
                Role::Member,
                format!("Member {index}"),
                &token(index),
            )
        })
        .collect();
    let role_play_id = RolePlayId::random();
    let rubric = Rubric {
        name: "Call".into(),
        criteria: vec![Criterion {
            name: "Close".into(),
            description: "Asked for the next step".into(),
            scale_min: 1,
            scale_max: 10,
            weight: 1,
        }],
        one_thing_differently: false,
    };
    for request in [
        RolePlayRequest::SetUp {
            seller: facilitator,
            buyer: None,
            scenario: "A call".into(),
            buyer_brief: None,
            rubric,
            reveal_threshold: None,
        },
        RolePlayRequest::OpenScoring { role_play_id },
    ] {
        let fresh = Fresh {
            role_play_id,
            shuffle_seed: 1,
        };
        let events = decide(
            &state,
            facilitator,
            &role_play_command(&request),
            fresh,
            9_000,
            &RoomLimits::default(),
        )
        .unwrap();
        apply(&mut state, &events);
    }
    (state, facilitator, members, role_play_id)
}

#[derive(Debug, Clone)]
enum Step {
    /// Scorer `scorer` submits from one of their pages (all hold the same token).
    Submit { scorer: usize, score: u32 },
    /// The server restarts: the room comes back from its stored snapshot; the keys of the
    /// connections that come back are computed again from their tokens.
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0usize..4, 1u32..=10).prop_map(|(scorer, score)| Step::Submit { scorer, score }),
        1 => Just(Step::Restart),
    ]
}

proptest! {
    /// Over random sessions with restarts: each scorer fills exactly one slot however often they
    /// submit, their last scores are in it, every page of theirs (and only theirs) is told they
    /// submitted, and neither the stored snapshot nor any stored event holds a member id, a
    /// name, a token, a token hash or a key next to the scores.
    #[test]
    fn scorers_are_counted_once_across_restarts_and_nothing_stored_names_them(
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let (mut state, facilitator, scorers, role_play_id) = scoring_room(4);
        let mut last_score = BTreeMap::new();
        let mut stored_events = Vec::new();
        for step in steps {
            match step {
                Step::Restart => {
                    let stored = crate::stored::encode_snapshot(&state);
                    state = crate::stored::decode_snapshot(&stored).unwrap();
                }
                Step::Submit { scorer, score } => {
                    let by = scorers[scorer];
                    // A page's key comes from its token alone: any page of theirs, any process.
                    let key = PseudonymKey::of_token(&token(scorer));
                    let decision = decide_submission(
                        &state, by, role_play_id, &[score], "a comment", None,
                        slot_of(&key, role_play_id), &RoomLimits::default(),
                    )
                    .unwrap();
                    prop_assert_eq!(decision.replaced, last_score.contains_key(&scorer));
                    state.put_submission(decision.slot, decision.submission);
                    for event in decision.count_event.iter() {
                        let seq = state.seq + 1;
                        state.apply(seq, 5_000, event);
                        stored_events.push(crate::stored::encode_event(&StoredEvent {
                            at_ms: 5_000,
                            event: event.clone(),
                        }));
                    }
                    last_score.insert(scorer, score);
                }
            }
            let current = state.role_play.current.as_ref().unwrap();
            prop_assert_eq!(current.submissions.len(), last_score.len(), "one slot per scorer");
            prop_assert_eq!(current.info.submission_count as usize, last_score.len());
            // Each scorer's last scores are in the bag (as a multiset).
            let mut in_bag = BTreeMap::new();
            for submission in current.submissions.values() {
                *in_bag.entry(submission.scores[0]).or_insert(0usize) += 1;
            }
            let mut expected = BTreeMap::new();
            for score in last_score.values() {
                *expected.entry(*score).or_insert(0usize) += 1;
            }
            prop_assert_eq!(in_bag, expected);
            // Each page's snapshot says whether its own member submitted, and nobody else's.
            for (index, member) in scorers.iter().enumerate() {
                let key = PseudonymKey::of_token(&token(index));
                let snapshot = state.to_wire_snapshot_with_key(*member, &key);
                prop_assert_eq!(snapshot.role_play.you_submitted, last_score.contains_key(&index));
            }
            let seller = PseudonymKey::of_token("facilitator token");
            prop_assert!(!state.to_wire_snapshot_with_key(facilitator, &seller).role_play.you_submitted);

            // Nothing stored names a scorer or holds what finds their slot.
            let stored = crate::stored::encode_snapshot(&state);
            let stored_text = String::from_utf8_lossy(&stored).into_owned();
            for (index, member) in state.members.iter().enumerate() {
                let bag: serde_json::Value = serde_json::from_slice(&stored).unwrap();
                let bag = find_key(&bag, "submissions").expect("the bag is stored").to_string();
                prop_assert!(!bag.contains(&member.id.to_string()));
                prop_assert!(!bag.contains(&member.display_name));
                prop_assert!(!bag.contains(&hex(&member.token_hash.0)));
                if index < scorers.len() {
                    let key = PseudonymKey::of_token(&token(index));
                    prop_assert!(!stored_text.contains(&token(index)), "a token is stored");
                    // A key, as hex or as the bytes it is made of, is nowhere.
                    let derived = hex(&key.derive(b"probe", b""));
                    prop_assert!(!stored_text.contains(&derived));
                }
            }
            for event in &stored_events {
                let text = String::from_utf8_lossy(event);
                for member in &state.members {
                    prop_assert!(!text.contains(&member.id.to_string()), "{}", text);
                }
                for index in 0..scorers.len() {
                    prop_assert!(!text.contains(&token(index)));
                }
            }
        }
    }
}

/// The first value under `key` anywhere in `value`.
fn find_key<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map
            .get(key)
            .or_else(|| map.values().find_map(|inner| find_key(inner, key))),
        serde_json::Value::Array(items) => items.iter().find_map(|inner| find_key(inner, key)),
        _ => None,
    }
}

/// What the design trades: a member who comes back with a new token (every session of theirs
/// was revoked) has a new key, so a new slot: their first submission stays and counts, and the
/// page with the new token is not told of it. The bag cannot tell, by design.
#[test]
fn a_new_token_finds_a_new_slot() {
    let (mut state, _, scorers, role_play_id) = scoring_room(3);
    let mut submit = |token: &str| {
        let key = PseudonymKey::of_token(token);
        let decision = decide_submission(
            &state,
            scorers[0],
            role_play_id,
            &[5],
            "",
            None,
            slot_of(&key, role_play_id),
            &RoomLimits::default(),
        )
        .unwrap();
        state.put_submission(decision.slot, decision.submission);
        (
            decision.replaced,
            state
                .to_wire_snapshot_with_key(scorers[0], &key)
                .role_play
                .you_submitted,
        )
    };
    assert_eq!(submit(&token(0)), (false, true));
    assert_eq!(submit(&token(0)), (true, true), "the same token revises");
    assert_eq!(submit("a token issued after a revocation"), (false, true));
    let current = state.role_play.current.as_ref().unwrap();
    assert_eq!(current.submissions.len(), 2);
}

/// [`slot_of`] of the key of the token "a member token" for role play
/// 5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d, computed apart from this code (Python's hashlib:
/// key = SHA-256("roundtable pseudonym key\0" ‖ token), then SHA-256("roundtable
/// pseudonym\0" ‖ len ‖ "role play slot" ‖ len ‖ role play id's 16 bytes ‖ key), lengths as
/// 64-bit big-endian, first 16 bytes with the UUID version 4 and RFC 4122 variant bits set).
const PINNED_SLOT: &str = "f1de571d-3fcf-4885-9312-a2860d9344d3";
