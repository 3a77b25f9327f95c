//! Prep's rules: what each member receives before and after the start, the count, the ranking,
//! the checks of what is typed, and that resending is harmless. The property test runs random
//! sessions of prep, numbers, removals and a start, recording every frame and snapshot each
//! viewer receives as sent (JSON), the facilitator's included.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use roundtable_protocol::{
    CommitmentStatus, Credential, ErrorCode, GroupId, HotSeatPriority, MeetingId, MemberId,
    ReportBack, Request, Sharing,
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
    let id = added_id(&act(
        &mut state,
        ids[2],
        &add_commitment("Call Acme"),
        2_500,
    ));
    let mut events = act(&mut state, ids[1], &check_in("won"), 3_000);
    events.extend(act(
        &mut state,
        ids[2],
        &report_back(id, CommitmentStatus::Missed, Some("no time")),
        3_050,
    ));
    assert!(state.prep.report_back(ids[2], id).is_some());
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

fn add_commitment(text: &str) -> Request {
    Request::AddCommitment {
        text: text.into(),
        owner: None,
        due_meeting: None,
        due_date: None,
    }
}

fn report_back(commitment_id: u32, status: CommitmentStatus, note: Option<&str>) -> Request {
    Request::UpdateCommitment {
        commitment_id,
        status,
        note: note.map(str::to_string),
    }
}

/// The id of the commitment an add decided.
fn added_id(events: &[RoomEvent]) -> u32 {
    events
        .iter()
        .find_map(|event| match event {
            RoomEvent::CommitmentAdded { commitment, .. } => Some(commitment.commitment_id),
            _ => None,
        })
        .expect("a commitment was added")
}

#[test]
fn a_report_back_in_prep_is_held_for_its_author_alone_until_the_start_applies_it() {
    let (mut state, ids) = upcoming_room(2);
    let id = added_id(&act(
        &mut state,
        ids[1],
        &add_commitment("Call Acme"),
        2_500,
    ));

    // Held: the board does not change, only the author hears of it.
    let events = act(
        &mut state,
        ids[1],
        &report_back(id, CommitmentStatus::Partial, Some("secret-half")),
        3_000,
    );
    assert!(
        matches!(&events[..], [RoomEvent::ReportBackHeld { member_id, commitment_id, report_back: Some(_) }]
            if *member_id == ids[1] && *commitment_id == id),
        "{events:?}"
    );
    assert_eq!(
        state.commitments.get(id).unwrap().status,
        CommitmentStatus::Open
    );
    for other in [ids[0], ids[2]] {
        assert!(sent_to(other, &events, 3_000).is_empty());
        let snapshot = serde_json::to_string(&state.to_wire_snapshot_for(other)).unwrap();
        assert!(!snapshot.contains("secret-half"), "{snapshot}");
    }
    assert!(sent_to(ids[1], &events, 3_000)[0].contains("secret-half"));
    let mine = state.to_wire_snapshot_for(ids[1]).prep.mine.report_backs;
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].commitment_id, mine[0].status, mine[0].note.as_str()),
        (id, CommitmentStatus::Partial, "secret-half")
    );
    // A report back alone is not prepared.
    assert_eq!(state.prep.prepared(), 0);

    // Revised; the same again changes nothing; a status alone keeps the held note.
    let revised = report_back(id, CommitmentStatus::Done, Some("secret-done"));
    assert_eq!(act(&mut state, ids[1], &revised, 3_100).len(), 1);
    assert!(act(&mut state, ids[1], &revised, 3_200).is_empty());
    act(
        &mut state,
        ids[1],
        &report_back(id, CommitmentStatus::Missed, None),
        3_250,
    );
    assert_eq!(
        state.prep.report_back(ids[1], id),
        Some(&ReportBack {
            status: CommitmentStatus::Missed,
            note: "secret-done".into()
        })
    );
    // Withdrawn; withdrawing nothing changes nothing; held again.
    let withdraw = Request::WithdrawReportBack { commitment_id: id };
    let withdrawn = act(&mut state, ids[1], &withdraw, 3_300);
    assert!(matches!(
        &withdrawn[..],
        [RoomEvent::ReportBackHeld {
            report_back: None,
            ..
        }]
    ));
    assert!(state.prep.by_member.is_empty());
    assert!(act(&mut state, ids[1], &withdraw, 3_400).is_empty());
    act(&mut state, ids[1], &revised, 3_500);

    // The start applies it after `meeting_started`, as the live update would have been, to
    // everyone.
    let events = act(&mut state, ids[0], &start_request(), 4_000);
    let kinds: Vec<&str> = events
        .iter()
        .map(|event| match event {
            RoomEvent::MeetingStarted => "started",
            RoomEvent::PrepRevealed { .. } => "revealed",
            RoomEvent::CommitmentUpdated { .. } => "updated",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["started", "revealed", "updated"]);
    let RoomEvent::CommitmentUpdated { commitment, .. } = &events[2] else {
        unreachable!()
    };
    assert_eq!(
        (commitment.status, commitment.note.as_str()),
        (CommitmentStatus::Done, "secret-done")
    );
    assert_eq!(commitment.updated_at_ms, 4_000);
    assert!(events[2].audience().includes(ids[2]));
    assert_eq!(state.commitments.get(id).unwrap(), commitment);
    assert!(
        state
            .to_wire_snapshot_for(ids[1])
            .prep
            .mine
            .report_backs
            .is_empty()
    );

    // While live, an update goes to the board at once; withdrawing is prep, closed now.
    let live = act(
        &mut state,
        ids[1],
        &report_back(id, CommitmentStatus::Partial, None),
        5_000,
    );
    assert!(matches!(&live[..], [RoomEvent::CommitmentUpdated { .. }]));
    let closed = decide(&state, ids[1], &withdraw, &RoomLimits::default(), 5_100);
    assert_eq!(closed.unwrap_err().code, ErrorCode::Conflict);
}

#[test]
fn a_report_back_on_a_commitment_closed_meanwhile_is_dropped() {
    let (mut state, ids) = upcoming_room(2);
    let first = added_id(&act(
        &mut state,
        ids[1],
        &add_commitment("Call Acme"),
        2_100,
    ));
    let second = added_id(&act(
        &mut state,
        ids[1],
        &add_commitment("Call Beta"),
        2_200,
    ));
    act(
        &mut state,
        ids[1],
        &report_back(first, CommitmentStatus::Done, Some("did it")),
        3_000,
    );
    act(
        &mut state,
        ids[1],
        &report_back(second, CommitmentStatus::Partial, Some("half")),
        3_100,
    );
    // A facilitator's update of someone else's commitment goes to the board at once; closing
    // it drops the held report back, which its author is told.
    let events = act(
        &mut state,
        ids[0],
        &report_back(first, CommitmentStatus::Dropped, Some("not needed")),
        3_200,
    );
    assert!(
        matches!(&events[0], RoomEvent::CommitmentUpdated { commitment, .. }
        if commitment.status == CommitmentStatus::Dropped)
    );
    assert!(
        matches!(&events[1], RoomEvent::ReportBackHeld { member_id, commitment_id, report_back: None }
            if *member_id == ids[1] && *commitment_id == first)
    );
    assert_eq!(events[1].audience(), state::Audience::Only(ids[1]));
    assert!(state.prep.report_back(ids[1], first).is_none());
    // A facilitator's note on the other, still open, keeps the held one.
    act(
        &mut state,
        ids[0],
        &report_back(second, CommitmentStatus::Open, Some("checking in")),
        3_300,
    );
    assert!(state.prep.report_back(ids[1], second).is_some());
    // An owner's update of a closed commitment is no report back: it goes to the board.
    let reopened = act(
        &mut state,
        ids[1],
        &report_back(first, CommitmentStatus::Open, None),
        3_400,
    );
    assert!(matches!(
        &reopened[..],
        [RoomEvent::CommitmentUpdated { .. }]
    ));

    let events = act(&mut state, ids[0], &start_request(), 4_000);
    let updated: Vec<(u32, CommitmentStatus)> = events
        .iter()
        .filter_map(|event| match event {
            RoomEvent::CommitmentUpdated { commitment, .. } => {
                Some((commitment.commitment_id, commitment.status))
            }
            _ => None,
        })
        .collect();
    assert_eq!(updated, vec![(second, CommitmentStatus::Partial)]);
    assert_eq!(state.commitments.get(second).unwrap().note, "half");
    assert_eq!(
        state.commitments.get(first).unwrap().status,
        CommitmentStatus::Open
    );
}

#[test]
fn a_report_back_that_changes_nothing_is_no_report_back() {
    let (mut state, ids) = upcoming_room(1);
    let id = added_id(&act(
        &mut state,
        ids[1],
        &add_commitment("Call Acme"),
        2_100,
    ));
    let unchanged = report_back(id, CommitmentStatus::Open, None);
    assert!(act(&mut state, ids[1], &unchanged, 3_000).is_empty());
    act(
        &mut state,
        ids[1],
        &report_back(id, CommitmentStatus::Done, None),
        3_100,
    );
    // Back to what the board says: the held one is withdrawn.
    let events = act(&mut state, ids[1], &unchanged, 3_200);
    assert!(matches!(
        &events[..],
        [RoomEvent::ReportBackHeld {
            report_back: None,
            ..
        }]
    ));
    // Someone else's open commitment: a member is refused, as live, and nothing changes.
    let (mut state, ids) = upcoming_room(2);
    let id = added_id(&act(
        &mut state,
        ids[1],
        &add_commitment("Call Acme"),
        2_100,
    ));
    let refused = decide(
        &state,
        ids[2],
        &report_back(id, CommitmentStatus::Done, None),
        &RoomLimits::default(),
        3_000,
    );
    assert_eq!(refused.unwrap_err().code, ErrorCode::Forbidden);
    let long = "n".repeat(crate::commitments::COMMITMENT_NOTE_CHARS_MAX + 1);
    let refused = decide(
        &state,
        ids[1],
        &report_back(id, CommitmentStatus::Done, Some(&long)),
        &RoomLimits::default(),
        3_000,
    );
    assert_eq!(refused.unwrap_err().code, ErrorCode::Invalid);
    assert!(state.prep.by_member.is_empty());
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
    AddCommitment {
        who: usize,
    },
    ReportBack {
        who: usize,
        pick: usize,
        status: u8,
        version: u8,
        with_note: bool,
    },
    WithdrawReportBack {
        who: usize,
        pick: usize,
    },
    /// The facilitator sets the status of someone's commitment.
    Close {
        pick: usize,
        status: u8,
    },
    Start,
}

const STATUSES: [CommitmentStatus; 5] = [
    CommitmentStatus::Open,
    CommitmentStatus::Done,
    CommitmentStatus::Partial,
    CommitmentStatus::Missed,
    CommitmentStatus::Dropped,
];

/// The id of the board's `pick`th commitment (1 on an empty board: refused).
fn picked(state: &RoomState, pick: usize) -> u32 {
    let board = &state.commitments.commitments;
    if board.is_empty() {
        1
    } else {
        board[pick % board.len()].commitment_id
    }
}

/// The board as live updates would have made it: `before` (the room just before the start)
/// started with nothing held, then each held report back sent as a live `update_commitment` by
/// its author at the start's time, in the order of the commitments' ids.
fn board_with_live_updates(before: &RoomState, by: MemberId, at_ms: u64) -> RoomState {
    let mut twin = before.clone();
    let mut held: Vec<(u32, MemberId, ReportBack)> = Vec::new();
    for (member_id, prep) in &twin.prep.by_member {
        for (commitment_id, report_back) in &prep.report_backs {
            held.push((*commitment_id, *member_id, report_back.clone()));
        }
    }
    held.sort_by_key(|(commitment_id, member_id, _)| (*commitment_id, *member_id));
    twin.prep.clear_report_backs();
    let start = decide(&twin, by, &start_request(), &RoomLimits::default(), at_ms).unwrap();
    apply(&mut twin, &start, at_ms);
    for (commitment_id, member_id, report_back) in held {
        let live = report_back_request(commitment_id, &report_back);
        if let Ok(events) = decide(&twin, member_id, &live, &RoomLimits::default(), at_ms) {
            apply(&mut twin, &events, at_ms);
        }
    }
    twin
}

fn report_back_request(commitment_id: u32, report_back: &ReportBack) -> Request {
    Request::UpdateCommitment {
        commitment_id,
        status: report_back.status,
        note: Some(report_back.note.clone()),
    }
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
        2 => who.clone().prop_map(|who| Step::AddCommitment { who }),
        4 => (who.clone(), 0usize..8, 0u8..5, 0u8..3, any::<bool>()).prop_map(
            |(who, pick, status, version, with_note)| Step::ReportBack { who, pick, status, version, with_note }
        ),
        1 => (who.clone(), 0usize..8).prop_map(|(who, pick)| Step::WithdrawReportBack { who, pick }),
        1 => (0usize..8, 0u8..5).prop_map(|(pick, status)| Step::Close { pick, status }),
        1 => Just(Step::Start),
    ]
}

/// What a member typed, marked with its author: `prep-<author>-...`.
fn marker(ids: &[MemberId], who: usize) -> String {
    format!("prep-{}-", ids[who].as_u128() % 1_000_000_007)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Before the start, no viewer (the facilitator included) receives another member's check-in,
    /// hot-seat request or held report back in any frame or snapshot, nor any number submitted
    /// during prep; the count everyone sees is the number of members with a saved check-in.
    /// From the start, everyone has every check-in and the ranked requests, and the board is
    /// what the held report backs sent as live updates at the start would have made it.
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
                Step::AddCommitment { who } => (who % ids.len(), add_commitment("Call the stalled accounts")),
                Step::ReportBack { who, pick, status, version, with_note } => {
                    let who = who % ids.len();
                    let id = picked(&state, pick);
                    // Marked as the author's prep when it is a report back held as prep; an
                    // update of a closed commitment goes to the board at once, as live.
                    let held = crate::prep::holds_report_back(state.prep_open(), &state.commitments, ids[who], id);
                    let note = with_note.then(|| if held {
                        format!("{}note{version}", marker(&ids, who))
                    } else {
                        format!("public note {version}")
                    });
                    (who, report_back(id, STATUSES[status as usize], note.as_deref()))
                }
                Step::WithdrawReportBack { who, pick } => (
                    who % ids.len(),
                    Request::WithdrawReportBack { commitment_id: picked(&state, pick) },
                ),
                Step::Close { pick, status } => (
                    0,
                    report_back(picked(&state, pick), STATUSES[status as usize], Some("set by Fran")),
                ),
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
            let live_twin = matches!(request, Request::StartMeeting)
                .then(|| board_with_live_updates(&state, by, at_ms));
            apply(&mut state, &events, at_ms);
            if let Some(twin) = live_twin {
                prop_assert_eq!(&state.commitments, &twin.commitments);
                prop_assert!(state.prep.by_member.values().all(|prep| prep.report_backs.is_empty()));
            }
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
