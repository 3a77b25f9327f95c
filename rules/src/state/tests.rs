//! Unit and property tests of the room's state machine, with fixed times and ids.

use proptest::prelude::*;
use roundtable_protocol::{
    CommitmentStatus, Credential, ErrorCode, GroupId, MeetingId, MemberId, PracticeOutcome,
    PresenceReason, Request, Role, Sharing,
};

use super::*;
use crate::command::test_support::decide;
use crate::limits::RoomLimits;
use crate::secret::{hash_secret, new_secret};

const FACILITATOR_SECRET: &str = "facilitator-secret";
const INVITE_SECRET: &str = "invite-secret";

fn new_room() -> RoomState {
    RoomState::new_group(
        Group {
            id: GroupId::random(),
            name: "Peers".into(),
            facilitator_secret_hash: hash_secret(FACILITATOR_SECRET),
            invite_secret_hash: hash_secret(INVITE_SECRET),
            created_at_ms: 1_000,
            time_zone: None,
            call_url: None,
        },
        MeetingId::random(),
        1_000,
    )
}

fn fresh() -> FreshMember {
    let (token, token_hash) = new_secret();
    FreshMember {
        member_id: MemberId::random(),
        token,
        token_hash,
    }
}

/// Applies events with the next seqs, as the actor does.
fn apply_all(state: &mut RoomState, events: &[RoomEvent], at_ms: u64) {
    for event in events {
        let seq = state.seq + 1;
        state.apply(seq, at_ms, event);
    }
}

/// Decides a request and applies its events.
fn act(state: &mut RoomState, by: MemberId, request: Request) {
    let events =
        decide(state, by, &request, &RoomLimits::default(), 5_000).expect("request accepted");
    apply_all(state, &events, 5_000);
}

fn join(state: &mut RoomState, credential: Credential) -> Result<JoinDecision, RoomError> {
    let decision = decide_join(state, &credential, fresh(), &RoomLimits::default())?;
    apply_all(state, &decision.events, 2_000);
    Ok(decision)
}

fn invite(name: &str) -> Credential {
    Credential::Invite {
        secret: INVITE_SECRET.into(),
        display_name: name.into(),
        observer: false,
    }
}

fn facilitator(name: &str) -> Credential {
    Credential::Facilitator {
        secret: FACILITATOR_SECRET.into(),
        display_name: name.into(),
        member_token: None,
    }
}

#[test]
fn joins_create_members_with_roles_and_tokens() {
    let mut state = new_room();
    let fran = join(&mut state, facilitator("Fran")).unwrap();
    let ann = join(&mut state, invite("Ann")).unwrap();
    let watcher = join(
        &mut state,
        Credential::Invite {
            secret: INVITE_SECRET.into(),
            display_name: "Olga".into(),
            observer: true,
        },
    )
    .unwrap();
    assert_eq!(state.role_of(fran.member_id), Some(Role::Facilitator));
    assert_eq!(state.role_of(ann.member_id), Some(Role::Member));
    assert_eq!(state.role_of(watcher.member_id), Some(Role::Observer));
    assert_eq!(state.seq, 3, "one event per new member");
    assert_eq!(state.member(ann.member_id).unwrap().joined_at_ms, 2_000);

    // The token brings back the same member, with no event.
    let token = ann.issued_token.unwrap();
    let again = join(
        &mut state,
        Credential::MemberToken {
            token: token.clone(),
        },
    )
    .unwrap();
    assert_eq!(again.member_id, ann.member_id);
    assert!(again.events.is_empty() && again.issued_token.is_none());

    // The facilitator link with a member's token promotes that member instead of adding one.
    let promoted = join(
        &mut state,
        Credential::Facilitator {
            secret: FACILITATOR_SECRET.into(),
            display_name: "ignored".into(),
            member_token: Some(token),
        },
    )
    .unwrap();
    assert_eq!(promoted.member_id, ann.member_id);
    assert_eq!(state.role_of(ann.member_id), Some(Role::Facilitator));
    assert_eq!(state.members.len(), 3);
    state.check_invariants().unwrap();
}

#[test]
fn joins_check_secrets_names_and_room_size() {
    let mut state = new_room();
    let wrong = Credential::Invite {
        secret: FACILITATOR_SECRET.into(),
        display_name: "Eve".into(),
        observer: false,
    };
    assert_eq!(
        join(&mut state, wrong).unwrap_err().code,
        ErrorCode::Unauthorized
    );
    assert_eq!(
        join(&mut state, invite("   ")).unwrap_err().code,
        ErrorCode::Invalid
    );
    assert_eq!(
        join(&mut state, invite(&"a".repeat(41))).unwrap_err().code,
        ErrorCode::Invalid
    );
    assert_eq!(
        join(&mut state, invite("tab\there")).unwrap_err().code,
        ErrorCode::Invalid
    );
    assert!(
        join(&mut state, invite(&"é".repeat(40))).is_ok(),
        "limits count characters, not bytes"
    );
    let limits = RoomLimits {
        members_per_room_max: 1,
        ..RoomLimits::default()
    };
    let full = decide_join(&state, &invite("Late"), fresh(), &limits).unwrap_err();
    assert_eq!(full.code, ErrorCode::RoomFull);
    assert_eq!(state.members.len(), 1, "refused joins change nothing");
}

#[test]
fn nobody_joins_under_a_name_that_reads_like_a_members() {
    let mut state = new_room();
    join(&mut state, facilitator("Fran")).unwrap();
    for alike in [
        "fran",
        "FRAN",
        "Fr\u{200D}an",
        "\u{FF26}\u{FF52}\u{FF41}\u{FF4E}",
    ] {
        let refused = join(&mut state, invite(alike)).unwrap_err();
        assert_eq!(refused.code, ErrorCode::Conflict, "{alike:?}");
        assert!(
            refused.message.contains("called \"Fran\" already"),
            "{}",
            refused.message
        );
    }
    assert_eq!(
        join(&mut state, invite("Fran\u{200B}")).unwrap_err().code,
        ErrorCode::Invalid,
        "an invisible space is refused outright"
    );
    assert_eq!(state.members.len(), 1, "refused joins change nothing");
    join(&mut state, invite("Frank")).unwrap();
}

#[test]
fn presence_is_no_event_and_changes_only_on_transitions() {
    let mut state = new_room();
    let ann = join(&mut state, invite("Ann")).unwrap().member_id;
    let seq = state.seq;
    assert!(state.set_online(ann, true));
    assert!(state.online.contains(&ann));
    assert!(!state.set_online(ann, true), "online already");
    assert!(
        !state.set_online(MemberId::random(), true),
        "a stranger is never online"
    );
    assert_eq!(state.online_members(), vec![ann]);
    assert!(state.set_online(ann, false));
    assert!(!state.set_online(ann, false));
    assert!(state.online.is_empty());
    assert_eq!(state.seq, seq, "presence is no event");
}

#[test]
fn a_meeting_is_attended_once_per_member_by_event() {
    let mut state = new_room().live();
    let ann = join(&mut state, invite("Ann")).unwrap().member_id;
    let bob = join(&mut state, invite("Bob")).unwrap().member_id;
    assert_eq!(decide_attendance(&state, MemberId::random()), None);
    let attended = decide_attendance(&state, ann).unwrap();
    assert_eq!(attended, RoomEvent::MemberAttended { member_id: ann });
    apply_all(&mut state, &[attended], 3_000);
    assert_eq!(state.meeting.attended, vec![ann]);
    assert!(state.online.is_empty(), "attending is not being online");
    assert_eq!(decide_attendance(&state, ann), None, "once per meeting");

    // The next meeting is upcoming: nobody attends it before it starts, however long they
    // wait in its lobby. Its start attends whoever is here, by an event each, in the order
    // they joined the group.
    state.set_online(bob, true);
    state.set_online(ann, true);
    let fran = join(&mut state, facilitator("Fran")).unwrap().member_id;
    let next = decide_next_meeting(&state, fran, MeetingId::random()).unwrap();
    apply_all(&mut state, &next, 4_000);
    assert!(state.meeting.attended.is_empty());
    assert_eq!(
        decide_attendance(&state, ann),
        None,
        "nobody attends before the start"
    );
    assert!(decide_attendance_of_everyone_online(&state).is_empty());
    let start = crate::state::decide_start_meeting(&state, fran, 4_000).unwrap();
    assert_eq!(
        start,
        vec![
            RoomEvent::MeetingStarted,
            RoomEvent::MemberAttended { member_id: ann },
            RoomEvent::MemberAttended { member_id: bob },
        ]
    );
    apply_all(&mut state, &start, 4_001);
    assert_eq!(state.meeting.attended, vec![ann, bob]);
    assert_eq!(
        state.past_meetings[0].attendees.len(),
        1,
        "the first meeting's: Ann"
    );
}

#[test]
fn presence_events_of_old_logs_still_fold_into_attendance_and_not_into_who_is_online() {
    // An old log's meeting was running from the start.
    let mut state = new_room().live();
    let ann = join(&mut state, invite("Ann")).unwrap().member_id;
    join(&mut state, facilitator("Fran")).unwrap();
    let came = RoomEvent::PresenceChanged {
        member_id: ann,
        online: true,
        reason: PresenceReason::Joined,
    };
    apply_all(&mut state, &[came], 3_000);
    assert_eq!(state.meeting.attended, vec![ann], "she attended, as then");
    assert!(state.online.is_empty(), "nobody is online in a folded log");
    assert!(state.logged_online.contains(&ann));
    // A meeting started in such a log (`next_meeting_started`, which began the next meeting
    // at once) was attended by whoever the log had online then.
    let next = vec![RoomEvent::NextMeetingStarted {
        meeting_id: MeetingId::random(),
        number: state.meeting.number + 1,
    }];
    apply_all(&mut state, &next, 4_000);
    assert_eq!(state.meeting.attended, vec![ann]);
    let gone = RoomEvent::PresenceChanged {
        member_id: ann,
        online: false,
        reason: PresenceReason::Left,
    };
    apply_all(&mut state, &[gone], 5_000);
    assert!(state.logged_online.is_empty());
    state.check_invariants().unwrap();
}

#[test]
fn facilitator_rules_hold() {
    let mut state = new_room();
    let limits = RoomLimits::default();
    let fran = join(&mut state, facilitator("Fran")).unwrap().member_id;
    let ann = join(&mut state, invite("Ann")).unwrap().member_id;

    let forbidden = decide(
        &state,
        ann,
        &Request::RenameGroup {
            name: "Mine".into(),
        },
        &limits,
        7_000,
    );
    assert_eq!(forbidden.unwrap_err().code, ErrorCode::Forbidden);

    let demote_last = Request::SetRole {
        member_id: fran,
        role: Role::Member,
    };
    assert_eq!(
        decide(&state, fran, &demote_last, &limits, 7_000)
            .unwrap_err()
            .code,
        ErrorCode::Conflict
    );

    let remove_self = Request::RemoveMember { member_id: fran };
    assert_eq!(
        decide(&state, fran, &remove_self, &limits, 7_000)
            .unwrap_err()
            .code,
        ErrorCode::Conflict
    );

    let hand_over = decide(
        &state,
        fran,
        &Request::HandOverFacilitator { member_id: ann },
        &limits,
        7_000,
    )
    .unwrap();
    apply_all(&mut state, &hand_over, 5_000);
    assert_eq!(state.role_of(ann), Some(Role::Facilitator));
    assert_eq!(state.role_of(fran), Some(Role::Member));

    // Removing a member takes them out of presence and the speaker queue too.
    act(&mut state, fran, Request::RaiseHand);
    assert!(state.set_online(fran, true));
    let removal = decide(
        &state,
        ann,
        &Request::RemoveMember { member_id: fran },
        &limits,
        7_000,
    )
    .unwrap();
    assert!(matches!(removal[0], RoomEvent::MemberRemoved { .. }));
    apply_all(&mut state, &removal, 6_000);
    assert!(state.member(fran).is_none() && state.hands.is_empty() && state.online.is_empty());
    state.check_invariants().unwrap();
}

#[test]
fn facilitators_set_and_remove_the_call_link_and_everyone_sees_it() {
    let mut state = new_room();
    let limits = RoomLimits::default();
    let fran = join(&mut state, facilitator("Fran")).unwrap().member_id;
    let ann = join(&mut state, invite("Ann")).unwrap().member_id;
    let set = |url: Option<&str>| Request::SetCallLink {
        url: url.map(String::from),
    };
    let link = "https://meet.jit.si/FridaySalesPeers";

    let by_member = decide(&state, ann, &set(Some(link)), &limits, 7_000);
    assert_eq!(by_member.unwrap_err().code, ErrorCode::Forbidden);
    let not_https = decide(
        &state,
        fran,
        &set(Some("http://meet.jit.si/x")),
        &limits,
        7_000,
    );
    assert_eq!(not_https.unwrap_err().code, ErrorCode::Invalid);
    assert_eq!(state.group.call_url, None, "refusals change nothing");

    let events = decide(
        &state,
        fran,
        &set(Some(&format!(" {link} "))),
        &limits,
        7_000,
    )
    .unwrap();
    assert_eq!(
        events,
        vec![RoomEvent::CallLinkSet {
            url: Some(link.into())
        }],
        "the link is stored trimmed"
    );
    apply_all(&mut state, &events, 7_000);
    assert_eq!(
        state.to_wire_snapshot_for(ann).group.call_url.as_deref(),
        Some(link)
    );
    assert_eq!(
        decide(&state, fran, &set(Some(link)), &limits, 7_000).unwrap(),
        Vec::new(),
        "the same link again is no change"
    );
    let events = decide(&state, fran, &set(None), &limits, 8_000).unwrap();
    assert_eq!(events, vec![RoomEvent::CallLinkSet { url: None }]);
    apply_all(&mut state, &events, 8_000);
    assert_eq!(state.to_wire_snapshot_for(ann).group.call_url, None);
}

#[test]
fn hands_queue_in_order_and_repeat_requests_change_nothing() {
    let mut state = new_room();
    let limits = RoomLimits::default();
    let fran = join(&mut state, facilitator("Fran")).unwrap().member_id;
    let ann = join(&mut state, invite("Ann")).unwrap().member_id;
    for member in [ann, fran] {
        act(&mut state, member, Request::RaiseHand);
    }
    assert_eq!(state.hands, vec![ann, fran]);
    assert!(
        decide(&state, ann, &Request::RaiseHand, &limits, 7_000)
            .unwrap()
            .is_empty()
    );
    act(&mut state, ann, Request::LowerHand);
    assert_eq!(state.hands, vec![fran]);
    assert!(
        decide(&state, ann, &Request::LowerHand, &limits, 7_000)
            .unwrap()
            .is_empty()
    );
}

/// One step of a random session.
#[derive(Debug, Clone)]
enum Step {
    Invite {
        name: String,
        observer: bool,
        right_secret: bool,
    },
    Facilitator {
        name: String,
        token_of: Option<usize>,
    },
    Token {
        of: usize,
    },
    Presence {
        of: usize,
        online: bool,
    },
    Act {
        by: usize,
        action: Action,
    },
}

#[derive(Debug, Clone)]
enum Action {
    Rename(String),
    Remove(usize),
    SetRole(usize, Role),
    HandOver(usize),
    Raise,
    Lower,
    Commit(String, Option<usize>),
    UpdateCommitment(u32, CommitmentStatus),
    Submit(u32, bool),
    Post(String),
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::Facilitator),
        Just(Role::Member),
        Just(Role::Observer)
    ]
}

fn status() -> impl Strategy<Value = CommitmentStatus> {
    prop_oneof![
        Just(CommitmentStatus::Open),
        Just(CommitmentStatus::Done),
        Just(CommitmentStatus::Partial),
        Just(CommitmentStatus::Missed),
        Just(CommitmentStatus::Dropped),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z ]{0,12}",
        Just(String::new()),
        Just("x".repeat(90)),
        Just("bell\u{7}".to_string()),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (name(), any::<bool>(), prop::bool::weighted(0.85)).prop_map(
            |(name, observer, right_secret)| Step::Invite {
                name,
                observer,
                right_secret
            }
        ),
        (name(), prop::option::of(0usize..8))
            .prop_map(|(name, token_of)| Step::Facilitator { name, token_of }),
        (0usize..8).prop_map(|of| Step::Token { of }),
        (0usize..8, any::<bool>()).prop_map(|(of, online)| Step::Presence { of, online }),
        (
            0usize..8,
            prop_oneof![
                name().prop_map(Action::Rename),
                (0usize..8).prop_map(Action::Remove),
                (0usize..8, role()).prop_map(|(target, role)| Action::SetRole(target, role)),
                (0usize..8).prop_map(Action::HandOver),
                Just(Action::Raise),
                Just(Action::Lower),
                (name(), prop::option::of(0usize..8))
                    .prop_map(|(text, owner)| Action::Commit(text, owner)),
                (1u32..6, status()).prop_map(|(id, status)| Action::UpdateCommitment(id, status)),
                (0u32..100, any::<bool>())
                    .prop_map(|(calls, anonymous)| Action::Submit(calls, anonymous)),
                name().prop_map(Action::Post),
            ]
        )
            .prop_map(|(by, action)| Step::Act { by, action }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// After every step of a random session the invariants hold, refused commands change
    /// nothing, members other than facilitators can never do facilitator actions, and folding
    /// the log from the start rebuilds exactly the live state.
    #[test]
    fn random_sessions_keep_every_invariant(steps in prop::collection::vec(step(), 1..60)) {
        let limits = RoomLimits { members_per_room_max: 6, ..RoomLimits::default() };
        let initial = new_room();
        let mut state = initial.clone();
        let mut log: Vec<(u64, RoomEvent)> = Vec::new();
        // Everyone who ever joined, with their token, so steps can refer to them by index.
        let mut people: Vec<(MemberId, String)> = Vec::new();
        // Numbers submitted anonymously, with their member, and every number ever named.
        let mut anonymous_values: Vec<(MemberId, f64)> = Vec::new();
        let mut named_values = std::collections::HashSet::new();
        for (index, step) in steps.into_iter().enumerate() {
            let now = 10_000 + index as u64;
            let pick = |of: usize| people.get(of % people.len().max(1)).cloned();
            let before = state.clone();
            // Who asked for anonymous numbers in this step, and the number.
            let mut anonymous_submission: Option<(MemberId, f64)> = None;
            let outcome: Result<Vec<RoomEvent>, RoomError> = match step {
                Step::Invite { name, observer, right_secret } => {
                    let secret = if right_secret { INVITE_SECRET } else { "wrong" };
                    let credential = Credential::Invite { secret: secret.into(), display_name: name, observer };
                    decide_join(&state, &credential, fresh(), &limits).map(|decision| {
                        if let Some(token) = decision.issued_token.clone() {
                            people.push((decision.member_id, token));
                        }
                        decision.events
                    })
                }
                Step::Facilitator { name, token_of } => {
                    let member_token = token_of.and_then(pick).map(|(_, token)| token);
                    let credential = Credential::Facilitator { secret: FACILITATOR_SECRET.into(), display_name: name, member_token };
                    decide_join(&state, &credential, fresh(), &limits).map(|decision| {
                        if let Some(token) = decision.issued_token.clone() {
                            people.push((decision.member_id, token));
                        }
                        decision.events
                    })
                }
                Step::Token { of } => match pick(of) {
                    Some((member_id, token)) => {
                        let result = decide_join(&state, &Credential::MemberToken { token }, fresh(), &limits);
                        match &result {
                            Ok(decision) => prop_assert_eq!(decision.member_id, member_id),
                            Err(error) => {
                                prop_assert!(state.member(member_id).is_none());
                                prop_assert_eq!(error.code, ErrorCode::Unauthorized);
                            }
                        }
                        result.map(|decision| decision.events)
                    }
                    None => Ok(Vec::new()),
                },
                // Presence is no event; a member's first arrival in the meeting is one.
                Step::Presence { of, online } => match pick(of) {
                    Some((member_id, _)) => {
                        state.set_online(member_id, online);
                        Ok(decide_attendance(&state, member_id).filter(|_| online).into_iter().collect())
                    }
                    None => Ok(Vec::new()),
                },
                Step::Act { by, action } => match pick(by) {
                    Some((by, _)) => {
                        let target = |index: usize| pick(index).map(|(id, _)| id).unwrap_or_else(MemberId::random);
                        let request = match action {
                            Action::Rename(name) => Request::RenameGroup { name },
                            Action::Remove(index) => Request::RemoveMember { member_id: target(index) },
                            Action::SetRole(index, role) => Request::SetRole { member_id: target(index), role },
                            Action::HandOver(index) => Request::HandOverFacilitator { member_id: target(index) },
                            Action::Raise => Request::RaiseHand,
                            Action::Lower => Request::LowerHand,
                            Action::Commit(text, owner) => Request::AddCommitment {
                                text,
                                owner: owner.map(target),
                                due_meeting: None,
                                due_date: None,
                            },
                            Action::UpdateCommitment(commitment_id, status) => Request::UpdateCommitment {
                                commitment_id,
                                status,
                                note: None,
                            },
                            Action::Submit(calls, anonymous) => {
                                let value = f64::from(calls) + 0.125;
                                if anonymous {
                                    anonymous_submission = Some((by, value));
                                } else {
                                    named_values.insert(value.to_bits());
                                }
                                Request::SubmitNumbers {
                                    values: std::collections::BTreeMap::from([("calls".to_string(), value)]),
                                    sharing: if anonymous { Sharing::Anonymous } else { Sharing::Named },
                                }
                            }
                            Action::Post(title) => Request::PostPractice {
                                title,
                                description: "what we tried".into(),
                                tags: vec!["discovery".into()],
                                outcome: PracticeOutcome::Worked,
                            },
                        };
                        let facilitator_only = matches!(
                            request,
                            Request::RenameGroup { .. }
                                | Request::RemoveMember { .. }
                                | Request::SetRole { .. }
                                | Request::HandOverFacilitator { .. }
                        );
                        let result = decide(&state, by, &request, &limits, 7_000);
                        if facilitator_only && state.role_of(by) != Some(Role::Facilitator) {
                            prop_assert_eq!(result.as_ref().map_err(|e| e.code), Err(ErrorCode::Forbidden));
                        }
                        result
                    }
                    None => Ok(Vec::new()),
                },
            };
            if outcome.is_ok() {
                anonymous_values.extend(anonymous_submission);
            }
            match outcome {
                Ok(events) => {
                    for event in events {
                        // An anonymous member's numbers reach the wire only inside aggregates,
                        // and aggregates only over three or more values.
                        if let (RoomEvent::AnonymousNumbersSubmitted { .. }, Some((member_id, _))) = (&event, anonymous_submission) {
                            let wire = serde_json::to_string(&event.to_wire(0)).unwrap();
                            prop_assert!(!wire.contains(&member_id.to_string()), "anonymous submitter named on the wire");
                            if let roundtable_protocol::Event::BenchmarksChanged { view } = event.to_wire(0) {
                                for metric in &view.per_metric {
                                    prop_assert!(metric.named.iter().all(|named| named.member_id != member_id));
                                    prop_assert!(metric.count >= 3 || metric.quartiles.is_none(), "aggregates over fewer than three values");
                                }
                            }
                        }
                        prop_assert!(
                            !matches!(event, RoomEvent::NumbersSubmitted { sharing: Sharing::Anonymous, .. }),
                            "anonymous numbers decided under a member's id"
                        );
                        let seq = state.seq + 1;
                        state.apply(seq, now, &event);
                        log.push((now, event));
                    }
                }
                Err(_) => prop_assert_eq!(&state, &before, "a refused command changes nothing"),
            }
            if let Err(broken) = state.check_invariants() {
                prop_assert!(false, "invariant broken: {}", broken);
            }
            prop_assert!(state.members.len() <= limits.members_per_room_max);
            prop_assert!(
                before.facilitator_count() == 0 || state.facilitator_count() > 0,
                "the last facilitator was lost"
            );
        }
        let mut replayed = initial;
        for (index, (at_ms, event)) in log.iter().enumerate() {
            replayed.apply(index as u64 + 1, *at_ms, event);
        }
        // Except who is online now, which is no event.
        state.online.clear();
        prop_assert_eq!(&replayed, &state, "folding the log rebuilds the state");

        // Nothing stored ties an anonymous number to its member: in the decoded JSON of the
        // snapshot and of every log entry, no number submitted anonymously (and never named by
        // anyone) sits under its member's id, or in an object that names the member.
        let mut records = vec![crate::stored::encode_snapshot(&state)];
        records.extend(log.iter().map(|(at_ms, event)| {
            crate::stored::encode_event(&crate::state::StoredEvent { at_ms: *at_ms, event: event.clone() })
        }));
        for record in &records {
            let json: serde_json::Value = serde_json::from_slice(record).unwrap();
            for (member_id, value) in &anonymous_values {
                if named_values.contains(&value.to_bits()) {
                    continue;
                }
                prop_assert!(
                    !tied_to(&json, &member_id.to_string(), *value, false),
                    "anonymous {} of {} is stored with their id: {}",
                    value,
                    member_id,
                    String::from_utf8_lossy(record)
                );
            }
        }
    }
}

/// Whether `number` appears in `json` where `member` names it: under a key that is the
/// member's id, or inside an object one of whose fields is the member's id (`linked` says an
/// enclosing object already does).
fn tied_to(json: &serde_json::Value, member: &str, number: f64, linked: bool) -> bool {
    use serde_json::Value;
    match json {
        Value::Number(n) => linked && n.as_f64() == Some(number),
        Value::Array(items) => items
            .iter()
            .any(|item| tied_to(item, member, number, linked)),
        Value::Object(fields) => {
            let names = linked || fields.values().any(|field| field.as_str() == Some(member));
            fields
                .iter()
                .any(|(key, field)| tied_to(field, member, number, names || key == member))
        }
        _ => false,
    }
}
