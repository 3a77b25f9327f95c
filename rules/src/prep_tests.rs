//! Prep's rules: what each member receives before and after the start, the count, the ranking,
//! the checks of what is typed, and that resending is harmless. The property test runs random
//! sessions of prep, numbers, removals and a start, recording every frame and snapshot each
//! viewer receives as sent (JSON), the facilitator's included.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use roundtable_protocol::{
    Credential, ErrorCode, GroupId, HotSeatPriority, MeetingId, MemberId, Request, Sharing,
};

use crate::command::Command;
use crate::limits::{PrepLimits, RoomLimits};
use crate::secret::{hash_secret, new_secret};
use crate::state::{self, FreshMember, Group, RoomEvent, RoomState};

const FACILITATOR_SECRET: &str = "facilitator-secret";
const INVITE_SECRET: &str = "invite-secret";

/// A room with a facilitator and `members` more members, its meeting upcoming.
fn upcoming_room(members: usize) -> (RoomState, Vec<MemberId>) {
    let mut state = RoomState::new_group(
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
    );
    let mut ids = Vec::new();
    for n in 0..=members {
        let credential = if n == 0 {
            Credential::Facilitator {
                secret: FACILITATOR_SECRET.into(),
                display_name: "Fran".into(),
                member_token: None,
            }
        } else {
            Credential::Invite {
                secret: INVITE_SECRET.into(),
                display_name: format!("Member {n}"),
                observer: false,
            }
        };
        let (token, token_hash) = new_secret();
        let fresh = FreshMember {
            member_id: MemberId::random(),
            token,
            token_hash,
        };
        let decision =
            state::decide_join(&state, &credential, fresh, &RoomLimits::default()).unwrap();
        for event in &decision.events {
            let seq = state.seq + 1;
            state.apply(seq, 2_000, event);
        }
        ids.push(decision.member_id);
    }
    assert!(
        state.meeting_upcoming(),
        "a new group's meeting is upcoming"
    );
    (state, ids)
}

/// The requests that start the meeting, as the facilitator sends them.
fn start_request() -> Request {
    Request::StartMeeting
}

fn check_in(win: &str) -> Request {
    Request::SaveCheckIn {
        win: win.into(),
        challenge: String::new(),
        ask: format!("{win} ask"),
    }
}

fn hot_seat(problem: &str, priority: HotSeatPriority, minutes: u32) -> Request {
    Request::RequestHotSeat {
        problem: problem.into(),
        priority,
        minutes,
    }
}

/// Decides a request as the room does: the meeting's phase first, then the rules.
fn decide(
    state: &RoomState,
    by: MemberId,
    request: &Request,
    limits: &RoomLimits,
    now_ms: u64,
) -> Result<Vec<RoomEvent>, state::RoomError> {
    let command = Command::try_from(request.clone()).expect("a room's request");
    state::admit(state, &command)?;
    match command {
        Command::StartMeeting => state::decide_start_meeting(state, by, now_ms),
        Command::Change(change) => state::decide(state, by, &change, limits, now_ms),
        other => panic!("not used here: {other:?}"),
    }
}

/// Decides and applies a request, returning its events.
fn act(state: &mut RoomState, by: MemberId, request: &Request, at_ms: u64) -> Vec<RoomEvent> {
    let events = decide(state, by, request, &RoomLimits::default(), at_ms).expect("accepted");
    apply(state, &events, at_ms);
    events
}

fn apply(state: &mut RoomState, events: &[RoomEvent], at_ms: u64) {
    for event in events {
        let seq = state.seq + 1;
        state.apply(seq, at_ms, event);
        state.check_invariants().unwrap();
    }
}

fn sent_to(viewer: MemberId, events: &[RoomEvent], at_ms: u64) -> Vec<String> {
    events
        .iter()
        .filter(|event| event.audience().includes(viewer))
        .map(|event| serde_json::to_string(&event.to_wire(at_ms)).unwrap())
        .collect()
}

#[test]
fn a_check_in_goes_to_its_author_alone_and_the_count_to_everyone() {
    let (mut state, ids) = upcoming_room(2);
    let events = act(&mut state, ids[1], &check_in("closed Acme"), 3_000);
    assert_eq!(events.len(), 2, "{events:?}");
    let to_author = sent_to(ids[1], &events, 3_000);
    assert!(to_author.iter().any(|frame| frame.contains("closed Acme")));
    for other in [ids[0], ids[2]] {
        let frames = sent_to(other, &events, 3_000);
        assert_eq!(
            frames,
            vec![r#"{"kind":"prepared_count_changed","prepared":1}"#]
        );
        let snapshot = serde_json::to_string(&state.to_wire_snapshot_for(other)).unwrap();
        assert!(!snapshot.contains("closed Acme"), "{snapshot}");
        assert_eq!(state.to_wire_snapshot_for(other).prep.prepared, 1);
    }
    let mine = state.to_wire_snapshot_for(ids[1]).prep.mine;
    assert_eq!(mine.check_in.unwrap().win, "closed Acme");

    // Saving it again changes nothing; an edit is one private event and no count.
    assert!(act(&mut state, ids[1], &check_in("closed Acme"), 3_100).is_empty());
    let edited = act(&mut state, ids[1], &check_in("closed Acme and Beta"), 3_200);
    assert!(matches!(edited[..], [RoomEvent::CheckInSaved { .. }]));
}

#[test]
fn hot_seat_requests_rank_by_priority_then_time_and_an_edit_keeps_its_place() {
    let (mut state, ids) = upcoming_room(3);
    act(
        &mut state,
        ids[1],
        &hot_seat("pricing", HotSeatPriority::B, 20),
        3_000,
    );
    act(
        &mut state,
        ids[2],
        &hot_seat("hiring", HotSeatPriority::A, 15),
        4_000,
    );
    act(
        &mut state,
        ids[3],
        &hot_seat("churn", HotSeatPriority::B, 10),
        5_000,
    );
    // An edit keeps the first time; sending the same again is a no-op.
    act(
        &mut state,
        ids[1],
        &hot_seat("pricing, again", HotSeatPriority::B, 25),
        6_000,
    );
    let same = hot_seat("pricing, again", HotSeatPriority::B, 25);
    assert!(act(&mut state, ids[1], &same, 6_500).is_empty());
    let ranked: Vec<(MemberId, u64)> = state
        .prep
        .ranked_hot_seat()
        .iter()
        .map(|hot_seat| (hot_seat.member_id, hot_seat.requested_at_ms))
        .collect();
    assert_eq!(
        ranked,
        vec![(ids[2], 4_000), (ids[1], 3_000), (ids[3], 5_000)]
    );
    // Withdrawing and asking again goes to the back of its priority.
    act(&mut state, ids[1], &Request::WithdrawHotSeat, 7_000);
    assert!(act(&mut state, ids[1], &Request::WithdrawHotSeat, 7_100).is_empty());
    act(
        &mut state,
        ids[1],
        &hot_seat("pricing", HotSeatPriority::B, 20),
        8_000,
    );
    let order: Vec<MemberId> = state
        .prep
        .ranked_hot_seat()
        .iter()
        .map(|hot_seat| hot_seat.member_id)
        .collect();
    assert_eq!(order, vec![ids[2], ids[3], ids[1]]);
    // A hot-seat request alone is not prepared.
    assert_eq!(state.prep.prepared(), 0);
}

#[test]
fn what_is_typed_is_checked_and_a_refusal_changes_nothing() {
    let (state, ids) = upcoming_room(1);
    let refused = |request: Request| {
        decide(&state, ids[1], &request, &RoomLimits::default(), 3_000)
            .unwrap_err()
            .code
    };
    let empty = Request::SaveCheckIn {
        win: "  ".into(),
        challenge: String::new(),
        ask: String::new(),
    };
    assert_eq!(refused(empty), ErrorCode::Invalid);
    let long = "x".repeat(PrepLimits::CHECK_IN_FIELD_CHARS_MAX + 1);
    assert_eq!(refused(check_in(&long)), ErrorCode::Invalid);
    let control = Request::SaveCheckIn {
        win: "a\u{202E}b".into(),
        challenge: String::new(),
        ask: String::new(),
    };
    assert_eq!(refused(control), ErrorCode::Invalid);
    assert_eq!(
        refused(hot_seat("", HotSeatPriority::A, 10)),
        ErrorCode::Invalid
    );
    assert_eq!(
        refused(hot_seat("p", HotSeatPriority::A, 0)),
        ErrorCode::Invalid
    );
    let too_long = PrepLimits::HOT_SEAT_MINUTES_MAX + 1;
    assert_eq!(
        refused(hot_seat("p", HotSeatPriority::A, too_long)),
        ErrorCode::Invalid
    );
    let long_problem = "p".repeat(PrepLimits::HOT_SEAT_PROBLEM_CHARS_MAX + 1);
    assert_eq!(
        refused(hot_seat(&long_problem, HotSeatPriority::A, 5)),
        ErrorCode::Invalid
    );
    // The edges are accepted.
    let edge = "y".repeat(PrepLimits::CHECK_IN_FIELD_CHARS_MAX);
    assert!(decide(&state, ids[1], &check_in(&edge), &RoomLimits::default(), 1).is_err());
    let edge_win = Request::SaveCheckIn {
        win: edge,
        challenge: String::new(),
        ask: String::new(),
    };
    assert!(decide(&state, ids[1], &edge_win, &RoomLimits::default(), 1).is_ok());
}

#[test]
fn the_start_reveals_prep_to_everyone_and_closes_it() {
    let (mut state, ids) = upcoming_room(3);
    act(&mut state, ids[1], &check_in("won Acme"), 3_000);
    act(
        &mut state,
        ids[2],
        &hot_seat("stuck deal", HotSeatPriority::A, 15),
        3_500,
    );
    let numbers = Request::SubmitNumbers {
        values: BTreeMap::from([("calls".to_string(), 42.0)]),
        sharing: Sharing::Named,
    };
    act(&mut state, ids[3], &numbers, 3_600);
    assert_eq!(
        state
            .to_wire_snapshot_for(ids[0])
            .benchmarks
            .submitted_count,
        0
    );
    let events = act(&mut state, ids[0], &start_request(), 4_000);
    let revealed = events
        .iter()
        .find(|event| matches!(event, RoomEvent::PrepRevealed { .. }))
        .expect("the start reveals prep");
    assert!(revealed.audience().includes(ids[3]));
    for viewer in &ids {
        let snapshot = state.to_wire_snapshot_for(*viewer);
        assert_eq!(snapshot.prep.check_ins.len(), 1);
        assert_eq!(snapshot.prep.check_ins[0].member_id, ids[1]);
        assert_eq!(snapshot.prep.hot_seat[0].member_id, ids[2]);
        assert_eq!(snapshot.benchmarks.submitted_count, 1);
    }
    let closed = decide(
        &state,
        ids[1],
        &check_in("late"),
        &RoomLimits::default(),
        5_000,
    );
    assert_eq!(closed.unwrap_err().code, ErrorCode::Conflict);
}

#[test]
fn prep_survives_the_stored_snapshot_and_log() {
    let (mut state, ids) = upcoming_room(2);
    let mut events = act(&mut state, ids[1], &check_in("won"), 3_000);
    events.extend(act(
        &mut state,
        ids[2],
        &hot_seat("help", HotSeatPriority::C, 5),
        3_100,
    ));
    let loaded = crate::stored::decode_snapshot(&crate::stored::encode_snapshot(&state)).unwrap();
    assert_eq!(loaded.prep, state.prep);
    for event in events {
        let stored = state::StoredEvent {
            at_ms: 3_000,
            event,
        };
        let bytes = crate::stored::encode_event(&stored);
        assert_eq!(
            crate::stored::decode_event(&bytes).unwrap().event,
            stored.event
        );
    }
}

/// One step of a random session.
#[derive(Debug, Clone)]
enum Step {
    CheckIn {
        who: usize,
        version: u8,
    },
    HotSeat {
        who: usize,
        priority: u8,
        minutes: u32,
    },
    Withdraw {
        who: usize,
    },
    Numbers {
        who: usize,
        value: u32,
        anonymous: bool,
    },
    Remove {
        who: usize,
    },
    Start,
}

fn step(members: usize) -> impl Strategy<Value = Step> {
    let who = 0..=members;
    prop_oneof![
        4 => (who.clone(), 0u8..3).prop_map(|(who, version)| Step::CheckIn { who, version }),
        3 => (who.clone(), 0u8..3, 0u32..70)
            .prop_map(|(who, priority, minutes)| Step::HotSeat { who, priority, minutes }),
        1 => who.clone().prop_map(|who| Step::Withdraw { who }),
        2 => (who.clone(), 0u32..100, any::<bool>())
            .prop_map(|(who, value, anonymous)| Step::Numbers { who, value, anonymous }),
        1 => (1..=members).prop_map(|who| Step::Remove { who }),
        1 => Just(Step::Start),
    ]
}

/// What a member typed, marked with its author: `prep-<author>-...`.
fn marker(ids: &[MemberId], who: usize) -> String {
    format!("prep-{}-", ids[who].as_u128() % 1_000_000_007)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Before the start, no viewer (the facilitator included) receives another member's check-in
    /// or hot-seat request in any frame or snapshot, nor any number submitted during prep; the
    /// count everyone sees is the number of members with a saved check-in. From the start,
    /// everyone has every check-in and the ranked requests.
    #[test]
    fn prep_is_private_until_the_start_and_the_count_is_right(
        members in 2usize..6,
        steps in proptest::collection::vec(step(5), 1..40),
    ) {
        let (mut state, ids) = upcoming_room(members);
        let mut received: BTreeMap<MemberId, Vec<String>> =
            ids.iter().map(|id| (*id, Vec::new())).collect();
        let mut last_count: BTreeMap<MemberId, u32> = BTreeMap::new();
        let mut removed = BTreeSet::new();
        let mut started = false;
        for (n, step) in steps.into_iter().enumerate() {
            let at_ms = 3_000 + n as u64 * 100;
            let (by, request) = match step {
                Step::CheckIn { who, version } => {
                    let who = who % ids.len();
                    (who, check_in(&format!("{}win{version}", marker(&ids, who))))
                }
                Step::HotSeat { who, priority, minutes } => {
                    let who = who % ids.len();
                    let priority = [HotSeatPriority::A, HotSeatPriority::B, HotSeatPriority::C]
                        [priority as usize];
                    (who, hot_seat(&format!("{}problem", marker(&ids, who)), priority, minutes))
                }
                Step::Withdraw { who } => (who % ids.len(), Request::WithdrawHotSeat),
                Step::Numbers { who, value, anonymous } => {
                    let sharing = if anonymous { Sharing::Anonymous } else { Sharing::Named };
                    let values =
                        BTreeMap::from([("calls".to_string(), 1_000_000.0 + f64::from(value))]);
                    (who % ids.len(), Request::SubmitNumbers { values, sharing })
                }
                Step::Remove { who } => (0, Request::RemoveMember { member_id: ids[who % ids.len()] }),
                Step::Start => (0, start_request()),
            };
            let by = ids[by];
            if removed.contains(&by) {
                continue;
            }
            let Ok(events) = decide(&state, by, &request, &RoomLimits::default(), at_ms) else {
                continue;
            };
            if let Request::RemoveMember { member_id } = request {
                removed.insert(member_id);
            }
            apply(&mut state, &events, at_ms);
            started |= events.iter().any(|event| matches!(event, RoomEvent::MeetingStarted));
            for viewer in ids.iter().filter(|id| !removed.contains(id)) {
                for event in events.iter().filter(|event| event.audience().includes(*viewer)) {
                    if let RoomEvent::PreparedCountChanged { prepared } = event {
                        last_count.insert(*viewer, *prepared);
                    }
                    received.get_mut(viewer).unwrap().push(serde_json::to_string(&event.to_wire(at_ms)).unwrap());
                }
                let snapshot = state.to_wire_snapshot_for(*viewer);
                let expected = ids
                    .iter()
                    .filter(|id| state.member(**id).is_some())
                    .filter(|id| state.prep.by_member.get(id).is_some_and(|prep| prep.check_in.is_some()))
                    .count() as u32;
                prop_assert_eq!(snapshot.prep.prepared, expected);
                if !started {
                    prop_assert_eq!(last_count.get(viewer).copied().unwrap_or(0), expected);
                    prop_assert_eq!(snapshot.benchmarks.submitted_count, 0);
                    prop_assert!(snapshot.prep.check_ins.is_empty() && snapshot.prep.hot_seat.is_empty());
                    received.get_mut(viewer).unwrap().push(serde_json::to_string(&snapshot).unwrap());
                    let frames = &received[viewer];
                    for (who, other) in ids.iter().enumerate() {
                        if other == viewer {
                            continue;
                        }
                        let mark = marker(&ids, who);
                        prop_assert!(
                            frames.iter().all(|frame| !frame.contains(&mark)),
                            "viewer {} received prep of {}", viewer, other
                        );
                    }
                    prop_assert!(
                        frames.iter().all(|frame| !frame.contains("100000")),
                        "a prep number reached viewer {}", viewer
                    );
                } else {
                    let check_ins: Vec<MemberId> =
                        snapshot.prep.check_ins.iter().map(|entry| entry.member_id).collect();
                    let with_check_in: Vec<MemberId> = state
                        .members
                        .iter()
                        .map(|member| member.id)
                        .filter(|id| state.prep.has_prepared(*id))
                        .collect();
                    prop_assert_eq!(check_ins, with_check_in);
                    prop_assert_eq!(&snapshot.prep.hot_seat, &state.prep.ranked_hot_seat());
                    prop_assert_eq!(
                        snapshot.benchmarks.submitted_count as usize,
                        state.activity.current.len()
                    );
                }
            }
        }
    }
}
