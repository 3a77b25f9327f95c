//! Tests of ballots: their slots, and random scoring sessions with restarts in between, where
//! every scorer is counted once and nothing stored or sent ties a member to scores.

use std::collections::BTreeSet;

use proptest::prelude::*;
use roundtable_protocol::{
    Criterion, GroupId, MeetingId, MemberId, Role, RolePlayId, RolePlayRequest, Rubric,
};

use super::*;
use crate::command::test_support::role_play_command;
use crate::limits::RoomLimits;
use crate::roleplay::dedupe::ScoringDedupe;
use crate::roleplay::{Fresh, decide, decide_submission};
use crate::secret::hash_secret;
use crate::state::{Group, RoomEvent, RoomState, StoredEvent};

fn ballot(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

#[test]
fn a_ballot_fills_one_slot_per_role_play_and_bad_ballots_are_refused() {
    let (one, two) = (RolePlayId::random(), RolePlayId::random());
    let slot = ballot_slot(one, &ballot(1)).unwrap();
    assert_eq!(
        slot,
        ballot_slot(one, &ballot(1)).unwrap(),
        "the same ballot, the same slot"
    );
    assert_ne!(slot, ballot_slot(one, &ballot(2)).unwrap());
    assert_ne!(
        slot,
        ballot_slot(two, &ballot(1)).unwrap(),
        "another role play, another slot"
    );
    assert_eq!(slot.0.get_version_num(), 4, "shaped like the random slots");
    for bad in [
        String::new(),
        "ab".repeat(31),
        "ab".repeat(33),
        "AB".repeat(32),
        "xy".repeat(32),
        format!("{}é", "a".repeat(62)),
    ] {
        let error = ballot_slot(one, &bad).unwrap_err();
        assert_eq!(error.code, roundtable_protocol::ErrorCode::Invalid);
        assert!(error.message.contains("ballot"), "{}", error.message);
    }
}

/// A room with a facilitator (the seller) and `scorers` members, scoring open.
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
    let add = |state: &mut RoomState, role: Role, name: String| {
        let member_id = MemberId::random();
        let added = RoomEvent::MemberAdded {
            member_id,
            display_name: name,
            role,
            token_hash: hash_secret("t"),
        };
        apply(state, &[added]);
        member_id
    };
    let facilitator = add(&mut state, Role::Facilitator, "Fran".into());
    let members: Vec<MemberId> = (0..scorers)
        .map(|index| add(&mut state, Role::Member, format!("Member {index}")))
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
    /// A scorer submits with their ballot.
    Submit { scorer: usize, score: u32 },
    /// The server restarts: the room comes back from its stored snapshot, the dedupe is gone.
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
    /// submit, their last scores are in it, and neither the stored snapshot nor any stored
    /// event holds a member id, a name or a ballot next to the scores.
    #[test]
    fn scorers_are_counted_once_across_restarts_and_nothing_stored_names_them(
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let (mut state, _, scorers, role_play_id) = scoring_room(4);
        let ballots: Vec<String> = (0..scorers.len()).map(|i| ballot(i as u8 + 0x10)).collect();
        let mut dedupe = ScoringDedupe::new(role_play_id);
        let mut last_score = std::collections::BTreeMap::new();
        let mut stored_events = Vec::new();
        for step in steps {
            match step {
                Step::Restart => {
                    let stored = crate::stored::encode_snapshot(&state);
                    state = crate::stored::decode_snapshot(&stored).unwrap();
                    dedupe = ScoringDedupe::new(role_play_id);
                }
                Step::Submit { scorer, score } => {
                    let by = scorers[scorer];
                    let (existing, fresh) = slots_for(
                        &state.role_play,
                        role_play_id,
                        Some(&ballots[scorer]),
                        dedupe.slot_of(by),
                        SubmissionSlot::random(),
                    )
                    .unwrap();
                    let decision = decide_submission(
                        &state, by, role_play_id, &[score], "a comment", None, existing, fresh,
                        &RoomLimits::default(),
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
                    dedupe.remember(by, decision.slot);
                    last_score.insert(scorer, score);
                }
            }
            let current = state.role_play.current.as_ref().unwrap();
            prop_assert_eq!(current.submissions.len(), last_score.len(), "one slot per scorer");
            prop_assert_eq!(current.info.submission_count as usize, last_score.len());
            let scores: BTreeSet<(u32, usize)> = {
                // Each scorer's last scores are in the bag (as a multiset).
                let mut counted = std::collections::BTreeMap::new();
                for submission in current.submissions.values() {
                    *counted.entry(submission.scores[0]).or_insert(0usize) += 1;
                }
                counted.into_iter().collect()
            };
            let expected: BTreeSet<(u32, usize)> = {
                let mut counted = std::collections::BTreeMap::new();
                for score in last_score.values() {
                    *counted.entry(*score).or_insert(0usize) += 1;
                }
                counted.into_iter().collect()
            };
            prop_assert_eq!(scores, expected);

            // The stored bag holds no member id, name, token hash or ballot; no stored event
            // holds a ballot, and the count events name nobody.
            let stored: serde_json::Value =
                serde_json::from_slice(&crate::stored::encode_snapshot(&state)).unwrap();
            let bag = find_key(&stored, "submissions").expect("the bag is stored");
            let bag = bag.to_string();
            let snapshot_text = stored.to_string();
            for (index, member) in state.members.iter().enumerate() {
                prop_assert!(!bag.contains(&member.id.to_string()));
                prop_assert!(!bag.contains(&member.display_name));
                let token_hash: String =
                    member.token_hash.0.iter().map(|byte| format!("{byte:02x}")).collect();
                prop_assert!(!bag.contains(&token_hash));
                if let Some(ballot) = ballots.get(index) {
                    prop_assert!(!snapshot_text.contains(ballot.as_str()));
                }
            }
            for event in &stored_events {
                let text = String::from_utf8_lossy(event);
                for member in &state.members {
                    prop_assert!(!text.contains(&member.id.to_string()), "{}", text);
                }
                for ballot in &ballots {
                    prop_assert!(!text.contains(ballot.as_str()));
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

/// Without ballots (an old page), a restart still forgets who submitted: the case ballots fix.
#[test]
fn without_a_ballot_a_restart_counts_a_scorer_again() {
    let (mut state, _, scorers, role_play_id) = scoring_room(3);
    let submit = |state: &mut RoomState, dedupe: &ScoringDedupe, ballot: Option<&str>| {
        let (existing, fresh) = slots_for(
            &state.role_play,
            role_play_id,
            ballot,
            dedupe.slot_of(scorers[0]),
            SubmissionSlot::random(),
        )
        .unwrap();
        let decision = decide_submission(
            &*state,
            scorers[0],
            role_play_id,
            &[5],
            "",
            None,
            existing,
            fresh,
            &RoomLimits::default(),
        )
        .unwrap();
        state.put_submission(decision.slot, decision.submission);
        decision.slot
    };
    let mut dedupe = ScoringDedupe::new(role_play_id);
    let slot = submit(&mut state, &dedupe, None);
    dedupe.remember(scorers[0], slot);
    assert_eq!(
        submit(&mut state, &dedupe, None),
        slot,
        "the dedupe, while it lives"
    );
    let dedupe = ScoringDedupe::new(role_play_id);
    submit(&mut state, &dedupe, None);
    assert_eq!(
        state.role_play.current.as_ref().unwrap().submissions.len(),
        2
    );
}
