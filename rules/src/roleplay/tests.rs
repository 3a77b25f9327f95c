//! Unit and property tests of the role play rules, with fixed times, ids and seeds.

use proptest::prelude::*;
use roundtable_protocol::{
    Criterion, ErrorCode, GroupId, MeetingId, MemberId, Role, RolePlayEvent, RolePlayId,
    RolePlayPhase, RolePlayRequest, Rubric,
};

use super::*;
use crate::limits::RoomLimits;
use crate::secret::{PseudonymKey, hash_secret, new_secret};
use crate::state::{Group, RoomEvent, RoomState};

/// Decides a wire role play request, as the room sorts it (tests speak in wire requests).
fn decide(
    state: &RoomState,
    by: MemberId,
    action: &RolePlayRequest,
    fresh: Fresh,
    now_ms: UnixMs,
    limits: &RoomLimits,
) -> Result<Vec<RoomEvent>, RoomError> {
    super::decide(
        state,
        by,
        &crate::command::test_support::role_play_command(action),
        fresh,
        now_ms,
        limits,
    )
}

struct Room {
    state: RoomState,
    facilitator: MemberId,
    members: Vec<MemberId>,
    observer: MemberId,
}

fn apply_all(state: &mut RoomState, events: &[RoomEvent]) {
    for event in events {
        let seq = state.seq + 1;
        state.apply(seq, 5_000, event);
    }
}

/// A room with a facilitator, `members` members and one observer.
fn room(members: usize) -> Room {
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
    let mut add = |role: Role, name: String| {
        let member_id = MemberId::random();
        let (_, token_hash) = new_secret();
        apply_all(
            &mut state,
            &[RoomEvent::MemberAdded {
                member_id,
                display_name: name,
                role,
                token_hash,
            }],
        );
        member_id
    };
    let facilitator = add(Role::Facilitator, "Fran".into());
    let members = (0..members)
        .map(|index| add(Role::Member, format!("Member {index}")))
        .collect();
    let observer = add(Role::Observer, "Olga".into());
    Room {
        state,
        facilitator,
        members,
        observer,
    }
}

fn rubric() -> Rubric {
    Rubric {
        name: "Test call".into(),
        criteria: vec![
            Criterion {
                name: "Discovery".into(),
                description: "Asked good questions".into(),
                scale_min: 1,
                scale_max: 5,
                weight: 3,
            },
            Criterion {
                name: "Close".into(),
                description: "Asked for the next step".into(),
                scale_min: 1,
                scale_max: 10,
                weight: 1,
            },
        ],
        one_thing_differently: true,
    }
}

fn fresh(seed: u64) -> Fresh {
    Fresh {
        role_play_id: RolePlayId::random(),
        shuffle_seed: seed,
    }
}

fn act(room: &mut Room, by: MemberId, action: RolePlayRequest) -> Result<(), RoomError> {
    let events = decide(
        &room.state,
        by,
        &action,
        fresh(7),
        9_000,
        &RoomLimits::default(),
    )?;
    apply_all(&mut room.state, &events);
    room.state.check_invariants().expect("invariants hold");
    Ok(())
}

fn set_up(room: &mut Room, seller: MemberId, buyer: Option<MemberId>) -> RolePlayId {
    let facilitator = room.facilitator;
    act(
        room,
        facilitator,
        RolePlayRequest::SetUp {
            seller,
            buyer,
            scenario: "Cold call to a CFO".into(),
            buyer_brief: buyer.map(|_| "You have no budget until Q3".into()),
            rubric: rubric(),
            reveal_threshold: None,
        },
    )
    .expect("set up");
    room.state
        .role_play
        .current
        .as_ref()
        .unwrap()
        .info
        .role_play_id
}

/// The pseudonym key of `member`'s connections (as if from their member token).
fn key_of(member: MemberId) -> PseudonymKey {
    PseudonymKey::of_token(&format!("token of {member}"))
}

/// Submits as the actor does: into the slot of the scorer's key.
fn submit(
    room: &mut Room,
    role_play_id: RolePlayId,
    by: MemberId,
    scores: &[u32],
    comment: &str,
) -> Result<SubmissionDecision, RoomError> {
    let decision = decide_submission(
        &room.state,
        by,
        role_play_id,
        scores,
        comment,
        None,
        slot::slot_of(&key_of(by), role_play_id),
        &RoomLimits::default(),
    )?;
    room.state
        .put_submission(decision.slot, decision.submission.clone());
    if let Some(event) = &decision.count_event {
        apply_all(&mut room.state, std::slice::from_ref(event));
    }
    room.state.check_invariants().expect("invariants hold");
    Ok(decision)
}

fn code<T: std::fmt::Debug>(result: Result<T, RoomError>) -> ErrorCode {
    result.expect_err("refused").code
}

#[test]
fn only_the_facilitator_sets_up_opens_closes_reveals_and_cancels() {
    let mut room = room(4);
    let (obs, m) = (room.observer, room.members.clone());
    let ann = m[0];
    let seller = m[1];
    let forbidden = decide(
        &room.state,
        ann,
        &RolePlayRequest::SetUp {
            seller,
            buyer: None,
            scenario: "x".into(),
            buyer_brief: None,
            rubric: rubric(),
            reveal_threshold: None,
        },
        fresh(1),
        9_000,
        &RoomLimits::default(),
    );
    assert_eq!(code(forbidden), ErrorCode::Forbidden);
    let id = set_up(&mut room, seller, None);
    for action in [
        RolePlayRequest::OpenScoring { role_play_id: id },
        RolePlayRequest::CloseScoring { role_play_id: id },
        RolePlayRequest::Reveal { role_play_id: id },
        RolePlayRequest::Cancel { role_play_id: id },
        RolePlayRequest::SaveTemplate { rubric: rubric() },
    ] {
        assert_eq!(
            code(act(&mut room, ann, action.clone())),
            ErrorCode::Forbidden
        );
        assert_eq!(code(act(&mut room, obs, action)), ErrorCode::Forbidden);
    }
}

#[test]
fn a_full_role_play_reveals_correct_aggregates_and_destroys_the_bag() {
    let mut room = room(5);
    let (fac, obs, m) = (room.facilitator, room.observer, room.members.clone());
    let seller = m[0];
    let buyer = m[1];
    let id = set_up(&mut room, seller, Some(buyer));
    let current = room.state.role_play.current.as_ref().unwrap();
    assert_eq!(current.info.reveal_threshold, REVEAL_THRESHOLD_DEFAULT);
    assert_eq!(
        current.buyer_brief.as_deref(),
        Some("You have no budget until Q3")
    );
    // The brief is in the buyer's view only.
    let members: Vec<MemberId> = room.state.members.iter().map(|m| m.id).collect();
    assert!(
        room.state
            .role_play
            .view_for(buyer, &members)
            .buyer_brief
            .is_some()
    );
    assert!(
        room.state
            .role_play
            .view_for(seller, &members)
            .buyer_brief
            .is_none()
    );
    assert!(
        room.state
            .role_play
            .view_for(fac, &members)
            .buyer_brief
            .is_none()
    );
    assert_eq!(
        code(submit(&mut room, id, m[2], &[3, 5], "")),
        ErrorCode::Conflict,
        "scoring is not open yet"
    );
    act(
        &mut room,
        fac,
        RolePlayRequest::OpenScoring { role_play_id: id },
    )
    .unwrap();
    assert_eq!(room.state.role_play.scoring_open(), Some(id));

    assert_eq!(
        code(submit(&mut room, id, seller, &[5, 10], "")),
        ErrorCode::Forbidden,
        "the seller cannot score"
    );
    assert_eq!(
        code(submit(&mut room, id, obs, &[5, 10], "")),
        ErrorCode::Forbidden,
        "observers do not score"
    );
    assert_eq!(
        code(submit(&mut room, id, buyer, &[6, 10], "")),
        ErrorCode::Invalid,
        "a score above the scale"
    );
    assert_eq!(
        code(submit(&mut room, id, buyer, &[5], "")),
        ErrorCode::Invalid,
        "one score per criterion"
    );

    let first = submit(&mut room, id, buyer, &[1, 1], "first draft").unwrap();
    assert!(!first.replaced);
    // A revision replaces: the count stays 1 and no count event is made.
    let revision = submit(&mut room, id, buyer, &[4, 10], "great questions").unwrap();
    assert!(revision.replaced);
    assert!(revision.count_event.is_none());
    assert_eq!(revision.slot, first.slot);
    submit(&mut room, id, m[2], &[2, 1], "rushed the close").unwrap();
    // Below the threshold of 3, the reveal is refused and nothing changes.
    let before = room.state.clone();
    assert_eq!(
        code(act(
            &mut room,
            fac,
            RolePlayRequest::Reveal { role_play_id: id }
        )),
        ErrorCode::Conflict
    );
    assert_eq!(room.state, before);
    submit(&mut room, id, fac, &[5, 4], "").unwrap();
    submit(&mut room, id, m[3], &[4, 7], "strong opener").unwrap();
    assert_eq!(
        room.state
            .role_play
            .current
            .as_ref()
            .unwrap()
            .info
            .submission_count,
        4
    );

    act(&mut room, fac, RolePlayRequest::Reveal { role_play_id: id }).unwrap();
    let current = room.state.role_play.current.as_ref().unwrap();
    assert_eq!(current.info.phase, RolePlayPhase::Revealed);
    assert!(
        current.submissions.is_empty(),
        "the bag is destroyed at the reveal"
    );
    let results = room.state.role_play.revealed.last().unwrap();
    assert_eq!(results.submission_count, 4);
    // Discovery: 4, 2, 5, 4 -> mean 3.75, median 4, min 2, max 5.
    let discovery = &results.criteria[0];
    assert_eq!(discovery.mean, 3.75);
    assert_eq!(discovery.median, 4.0);
    assert_eq!((discovery.min, discovery.max), (2, 5));
    assert_eq!(discovery.distribution, vec![0, 1, 0, 2, 1]);
    // Close: 10, 1, 4, 7 -> mean 5.5, median 5.5.
    let close = &results.criteria[1];
    assert_eq!(close.mean, 5.5);
    assert_eq!(close.median, 5.5);
    // Overall: discovery (3.75-1)/4 = 68.75 % weight 3, close (5.5-1)/9 = 50 % weight 1.
    let expected = (68.75 * 3.0 + 50.0) / 4.0;
    assert!((results.overall_percent - expected).abs() < 1e-9);
    let mut comments = results.comments.clone();
    comments.sort();
    assert_eq!(
        comments,
        vec!["great questions", "rushed the close", "strong opener"],
        "empty comments are left out; the revision replaced the first draft"
    );
    // The seller's trend has the overall score.
    let trend = &room.state.role_play.trends[&seller];
    assert_eq!(trend.len(), 1);
    assert_eq!(trend[0].overall_percent, results.overall_percent);
    let view = room.state.role_play.view_for(seller, &members);
    assert_eq!(view.seller_trends.len(), 1);
    assert_eq!(view.seller_trends[0].seller, seller);
}

#[test]
fn reveal_threshold_is_at_least_three_and_refused_below_it() {
    let mut room = room(4);
    let (fac, m) = (room.facilitator, room.members.clone());
    let seller = m[0];
    let attempt = |state: &RoomState, threshold| {
        decide(
            state,
            fac,
            &RolePlayRequest::SetUp {
                seller,
                buyer: None,
                scenario: "s".into(),
                buyer_brief: None,
                rubric: rubric(),
                reveal_threshold: Some(threshold),
            },
            fresh(1),
            9_000,
            &RoomLimits::default(),
        )
    };
    // With two, each scorer could take their own scores out of the results.
    assert_eq!(code(attempt(&room.state, 2)), ErrorCode::Invalid);
    assert_eq!(code(attempt(&room.state, 1)), ErrorCode::Invalid);
    assert_eq!(code(attempt(&room.state, 0)), ErrorCode::Invalid);
    let events = attempt(&room.state, 3).expect("three is allowed");
    apply_all(&mut room.state, &events);
    let id = room
        .state
        .role_play
        .current
        .as_ref()
        .unwrap()
        .info
        .role_play_id;
    act(
        &mut room,
        fac,
        RolePlayRequest::OpenScoring { role_play_id: id },
    )
    .unwrap();
    submit(&mut room, id, m[1], &[3, 3], "").unwrap();
    assert_eq!(
        code(act(
            &mut room,
            fac,
            RolePlayRequest::Reveal { role_play_id: id }
        )),
        ErrorCode::Conflict
    );
    // Closing keeps the submissions; a closed form takes no more.
    act(
        &mut room,
        fac,
        RolePlayRequest::CloseScoring { role_play_id: id },
    )
    .unwrap();
    assert_eq!(
        code(submit(&mut room, id, m[2], &[3, 3], "")),
        ErrorCode::Conflict
    );
    assert_eq!(
        code(act(
            &mut room,
            fac,
            RolePlayRequest::Reveal { role_play_id: id }
        )),
        ErrorCode::Conflict
    );
    // A new role play is refused until this one is revealed or cancelled.
    assert_eq!(code(attempt(&room.state, 3)), ErrorCode::Conflict);
    act(&mut room, fac, RolePlayRequest::Cancel { role_play_id: id }).unwrap();
    assert!(room.state.role_play.current.is_none());
    assert!(attempt(&room.state, 3).is_ok());
}

#[test]
fn set_up_checks_members_and_rubric() {
    let room = room(2);
    let (fac, obs, m) = (room.facilitator, room.observer, room.members.clone());
    let seller = m[0];
    let try_set_up = |seller, buyer, rubric: Rubric, brief: Option<&str>| {
        decide(
            &room.state,
            fac,
            &RolePlayRequest::SetUp {
                seller,
                buyer,
                scenario: "s".into(),
                buyer_brief: brief.map(str::to_string),
                rubric,
                reveal_threshold: None,
            },
            fresh(1),
            9_000,
            &RoomLimits::default(),
        )
    };
    assert_eq!(
        code(try_set_up(MemberId::random(), None, rubric(), None)),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(try_set_up(obs, None, rubric(), None)),
        ErrorCode::Invalid
    );
    assert_eq!(
        code(try_set_up(seller, Some(seller), rubric(), None)),
        ErrorCode::Invalid
    );
    assert_eq!(
        code(try_set_up(seller, None, rubric(), Some("secret"))),
        ErrorCode::Invalid
    );
    let mut bad = rubric();
    bad.criteria[0].scale_max = bad.criteria[0].scale_min;
    assert_eq!(
        code(try_set_up(seller, None, bad, None)),
        ErrorCode::Invalid
    );
    let mut bad = rubric();
    bad.criteria[1].weight = 0;
    assert_eq!(
        code(try_set_up(seller, None, bad, None)),
        ErrorCode::Invalid
    );
    let mut bad = rubric();
    bad.criteria.clear();
    assert_eq!(
        code(try_set_up(seller, None, bad, None)),
        ErrorCode::Invalid
    );
    let mut bad = rubric();
    bad.criteria[1].name = " discovery ".into();
    assert_eq!(
        code(try_set_up(seller, None, bad, None)),
        ErrorCode::Invalid
    );
    let mut bad = rubric();
    bad.criteria = vec![bad.criteria[0].clone(); CRITERIA_MAX + 1];
    assert_eq!(
        code(try_set_up(seller, None, bad, None)),
        ErrorCode::Invalid
    );
    // The brief goes to the buyer alone.
    let events = try_set_up(seller, Some(m[1]), rubric(), Some("brief")).unwrap();
    assert_eq!(events[0].audience(), Audience::Everyone);
    assert_eq!(events[1].audience(), Audience::Only(m[1]));
}

#[test]
fn templates_are_saved_replaced_and_deleted_but_built_ins_are_reserved() {
    let mut room = room(1);
    let fac = room.facilitator;
    let facilitator = fac;
    let mut mine = rubric();
    mine.name = "Renewal call".into();
    act(
        &mut room,
        facilitator,
        RolePlayRequest::SaveTemplate {
            rubric: mine.clone(),
        },
    )
    .unwrap();
    mine.criteria[0].weight = 5;
    act(
        &mut room,
        facilitator,
        RolePlayRequest::SaveTemplate {
            rubric: mine.clone(),
        },
    )
    .unwrap();
    assert_eq!(room.state.role_play.group_templates, vec![mine.clone()]);
    let mut built_in = rubric();
    built_in.name = "discovery call".into();
    assert_eq!(
        code(act(
            &mut room,
            facilitator,
            RolePlayRequest::SaveTemplate { rubric: built_in }
        )),
        ErrorCode::Conflict
    );
    let view = room.state.role_play.view_for(facilitator, &[]);
    assert_eq!(view.templates.iter().filter(|t| t.built_in).count(), 4);
    assert_eq!(view.templates.last().unwrap().rubric, mine);
    act(
        &mut room,
        facilitator,
        RolePlayRequest::DeleteTemplate {
            name: "renewal call".into(),
        },
    )
    .unwrap();
    assert!(room.state.role_play.group_templates.is_empty());
    assert_eq!(
        code(act(
            &mut room,
            facilitator,
            RolePlayRequest::DeleteTemplate {
                name: "Closing".into()
            }
        )),
        ErrorCode::NotFound
    );
    for index in 0..GROUP_TEMPLATES_MAX {
        let mut template = rubric();
        template.name = format!("Template {index}");
        act(
            &mut room,
            facilitator,
            RolePlayRequest::SaveTemplate { rubric: template },
        )
        .unwrap();
    }
    let mut one_more = rubric();
    one_more.name = "One more".into();
    assert_eq!(
        code(act(
            &mut room,
            facilitator,
            RolePlayRequest::SaveTemplate { rubric: one_more }
        )),
        ErrorCode::Conflict
    );
}

#[test]
fn built_in_templates_are_valid_rubrics() {
    let built_in = templates::built_in();
    let names: Vec<&str> = built_in.iter().map(|rubric| rubric.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Discovery call",
            "Objection handling",
            "Closing",
            "Cold call opener"
        ]
    );
    for rubric in &built_in {
        assert_eq!(valid_rubric(rubric).as_ref(), Ok(rubric), "{}", rubric.name);
        assert!(rubric.criteria.iter().all(|c| !c.description.is_empty()));
    }
}

#[test]
fn the_stored_state_names_no_scorer() {
    let mut room = room(3);
    let (fac, m) = (room.facilitator, room.members.clone());
    let seller = m[0];
    let id = set_up(&mut room, seller, None);
    act(
        &mut room,
        fac,
        RolePlayRequest::OpenScoring { role_play_id: id },
    )
    .unwrap();
    let scorers = [m[1], m[2], fac];
    for scorer in scorers {
        submit(&mut room, id, scorer, &[3, 3], "fine").unwrap();
    }
    let current = room.state.role_play.current.as_ref();
    let stored = serde_json::to_string(&current.map(crate::stored::v1::CurrentRolePlay::from));
    let stored = stored.unwrap();
    for scorer in scorers {
        assert!(!stored.contains(&scorer.to_string()), "{stored}");
    }
    assert!(
        format!("{:?}", room.state.role_play).contains("Submission(..)"),
        "Debug never prints submission content"
    );
}

#[derive(Debug, Clone)]
enum Step {
    SetUp { seller: usize, threshold: u32 },
    Open,
    Submit { by: usize, score: u32 },
    Close,
    Reveal,
    Cancel,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0usize..6, 0u32..5).prop_map(|(seller, threshold)| Step::SetUp { seller, threshold }),
        Just(Step::Open),
        (0usize..6, 0u32..12).prop_map(|(by, score)| Step::Submit { by, score }),
        Just(Step::Close),
        Just(Step::Reveal),
        Just(Step::Cancel),
    ]
}

proptest! {
    /// Over random sessions: refusals change nothing, invariants hold, nobody holds more than one
    /// submission per role play, the count always equals the bag, and a reveal happens only at
    /// or above the threshold.
    #[test]
    fn role_play_invariants_hold_over_random_sessions(steps in prop::collection::vec(step(), 1..60)) {
        let mut room = room(4);
    let (fac, obs) = (room.facilitator, room.observer);
        let mut people = room.members.clone();
        people.push(fac);
        people.push(obs);
        let mut submitted: std::collections::BTreeSet<MemberId> = Default::default();
        for step in steps {
            let before = room.state.clone();
            let current_id = room.state.role_play.current.as_ref().map(|c| c.info.role_play_id);
            let outcome: Result<Vec<RoomEvent>, RoomError> = match step {
                Step::SetUp { seller, threshold } => decide(
                    &room.state, fac,
                    &RolePlayRequest::SetUp {
                        seller: people[seller], buyer: None, scenario: "s".into(), buyer_brief: None,
                        rubric: rubric(), reveal_threshold: Some(threshold),
                    },
                    fresh(3), 9_000, &RoomLimits::default()),
                Step::Open => match current_id {
                    Some(role_play_id) => decide(&room.state, fac, &RolePlayRequest::OpenScoring { role_play_id }, fresh(3), 9_000, &RoomLimits::default()),
                    None => Ok(Vec::new()),
                },
                Step::Close => match current_id {
                    Some(role_play_id) => decide(&room.state, fac, &RolePlayRequest::CloseScoring { role_play_id }, fresh(3), 9_000, &RoomLimits::default()),
                    None => Ok(Vec::new()),
                },
                Step::Cancel => match current_id {
                    Some(role_play_id) => decide(&room.state, fac, &RolePlayRequest::Cancel { role_play_id }, fresh(3), 9_000, &RoomLimits::default()),
                    None => Ok(Vec::new()),
                },
                Step::Reveal => match current_id {
                    Some(role_play_id) => {
                        let result = decide(&room.state, fac, &RolePlayRequest::Reveal { role_play_id }, fresh(3), 9_000, &RoomLimits::default());
                        if result.is_ok() {
                            let current = room.state.role_play.current.as_ref().unwrap();
                            prop_assert!(current.submissions.len() as u32 >= current.info.reveal_threshold);
                        }
                        result
                    }
                    None => Ok(Vec::new()),
                },
                Step::Submit { by, score } => match (current_id, room.state.role_play.scoring_open()) {
                    (Some(role_play_id), _) => {
                        // A new role play starts with an empty bag (the ids repeat here).
                        if room.state.role_play.current.as_ref().is_some_and(|c| c.submissions.is_empty()) {
                            submitted.clear();
                        }
                        let by = people[by];
                        let slot = slot::slot_of(&key_of(by), role_play_id);
                        let result = decide_submission(&room.state, by, role_play_id, &[score.clamp(1, 5), score.clamp(1, 10)], "c", None, slot, &RoomLimits::default());
                        if let Ok(decision) = &result {
                            prop_assert_eq!(decision.replaced, submitted.contains(&by), "one slot per member");
                            room.state.put_submission(decision.slot, decision.submission.clone());
                            submitted.insert(by);
                        }
                        result.map(|decision| decision.count_event.into_iter().collect())
                    }
                    (None, _) => Ok(Vec::new()),
                },
            };
            match outcome {
                Ok(events) => apply_all(&mut room.state, &events),
                Err(_) => prop_assert_eq!(&room.state, &before, "a refused command changes nothing"),
            }
            if let Err(broken) = room.state.check_invariants() {
                prop_assert!(false, "invariant broken: {}", broken);
            }
            if let Some(current) = &room.state.role_play.current {
                prop_assert!(current.submissions.len() <= 5, "at most one submission per eligible member");
                if current.info.phase == RolePlayPhase::Revealed {
                    prop_assert!(current.submissions.is_empty());
                }
            }
        }
    }
}

#[test]
fn the_revealed_event_round_trips_through_storage_json() {
    let mut room = room(3);
    let (fac, m) = (room.facilitator, room.members.clone());
    let id = set_up(&mut room, m[0], None);
    act(
        &mut room,
        fac,
        RolePlayRequest::OpenScoring { role_play_id: id },
    )
    .unwrap();
    for scorer in [m[1], m[2], fac] {
        submit(&mut room, id, scorer, &[2, 9], "ok").unwrap();
    }
    let events = decide(
        &room.state,
        fac,
        &RolePlayRequest::Reveal { role_play_id: id },
        fresh(11),
        9_000,
        &RoomLimits::default(),
    )
    .unwrap();
    assert!(matches!(
        &events[..],
        [
            RoomEvent::RolePlay {
                change: RolePlayEvent::ScoringClosed { .. }
            },
            RoomEvent::RolePlay {
                change: RolePlayEvent::Revealed { .. }
            }
        ]
    ));
    for event in &events {
        let stored = crate::state::StoredEvent {
            at_ms: 0,
            event: event.clone(),
        };
        let back = crate::stored::decode_event(&crate::stored::encode_event(&stored)).unwrap();
        assert_eq!(&back.event, event);
    }
    // A whole state with a bag survives the snapshot's JSON too.
    let json = crate::stored::encode_snapshot(&room.state);
    let back = crate::stored::decode_snapshot(&json).unwrap();
    assert_eq!(back, room.state);
}
