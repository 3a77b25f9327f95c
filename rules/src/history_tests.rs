//! Tests of a member's history: what it holds for the member who asks, and that it holds
//! nothing private of anyone else (another member's anonymous numbers, who scored a role play).

use std::collections::BTreeMap;

use proptest::prelude::*;
use roundtable_protocol::{
    CommitmentStatus, Criterion, GroupId, MeetingId, MemberId, Request, Role, RolePlayId,
    RolePlayRequest, Rubric, Sharing,
};

use super::*;
use crate::command::test_support::{decide, role_play_command};
use crate::limits::RoomLimits;
use crate::membership::decide_attendance;
use crate::roleplay::{self, Fresh, SubmissionSlot, decide_submission};
use crate::secret::{hash_secret, new_secret};
use crate::state::{Group, RoomEvent, decide_next_meeting};

/// A room driven as the actor drives it, with a clock the test moves.
struct Room {
    state: RoomState,
    now: u64,
}

impl Room {
    fn new() -> Room {
        let state = RoomState::new_group(
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
        let mut room = Room { state, now: 1_000 };
        // The stories here are of meetings that were held: each starts as soon as it opens.
        room.start();
        room
    }

    /// The upcoming meeting starts, attended by everyone here, as the room records it.
    fn start(&mut self) {
        let mut events = vec![RoomEvent::MeetingStarted];
        events.extend(
            self.state
                .online_members()
                .into_iter()
                .map(|member_id| RoomEvent::MemberAttended { member_id }),
        );
        self.apply(&events);
    }

    fn apply(&mut self, events: &[RoomEvent]) {
        for event in events {
            self.now += 1_000;
            let seq = self.state.seq + 1;
            self.state.apply(seq, self.now, event);
        }
    }

    fn add(&mut self, name: &str, role: Role) -> MemberId {
        let member_id = MemberId::random();
        let (_, token_hash) = new_secret();
        self.apply(&[RoomEvent::MemberAdded {
            member_id,
            display_name: name.into(),
            role,
            token_hash,
        }]);
        self.online(member_id);
        member_id
    }

    /// The member comes online (no event) and, in a live meeting, attends it, as the room
    /// records it.
    fn online(&mut self, member_id: MemberId) {
        self.state.set_online(member_id, true);
        if let Some(event) = decide_attendance(&self.state, member_id) {
            self.apply(&[event]);
        }
    }

    fn offline(&mut self, member_id: MemberId) {
        self.state.set_online(member_id, false);
    }

    fn request(&mut self, by: MemberId, request: Request) -> bool {
        match decide(&self.state, by, &request, &RoomLimits::default(), self.now) {
            Ok(events) => {
                self.apply(&events);
                true
            }
            Err(_) => false,
        }
    }

    fn numbers(&mut self, by: MemberId, calls: f64, sharing: Sharing) -> bool {
        self.request(
            by,
            Request::SubmitNumbers {
                values: BTreeMap::from([("calls".to_string(), calls)]),
                sharing,
            },
        )
    }

    fn commit(&mut self, by: MemberId, text: &str) -> u32 {
        self.request(
            by,
            Request::AddCommitment {
                text: text.into(),
                owner: None,
                due_meeting: None,
                due_date: None,
            },
        );
        self.state.commitments.next_id
    }

    fn report(&mut self, by: MemberId, commitment_id: u32, status: CommitmentStatus) {
        assert!(self.request(
            by,
            Request::UpdateCommitment {
                commitment_id,
                status,
                note: None,
            },
        ));
    }

    fn facilitate(&mut self, by: MemberId, action: RolePlayRequest) -> bool {
        let fresh = Fresh {
            role_play_id: RolePlayId::random(),
            shuffle_seed: self.now,
        };
        match roleplay::decide(
            &self.state,
            by,
            &role_play_command(&action),
            fresh,
            self.now,
            &RoomLimits::default(),
        ) {
            Ok(events) => {
                self.apply(&events);
                true
            }
            Err(_) => false,
        }
    }

    fn score(&mut self, by: MemberId, scores: &[u32], comment: &str) -> bool {
        let Some(role_play_id) = self.state.role_play.scoring_open() else {
            return false;
        };
        match decide_submission(
            &self.state,
            by,
            role_play_id,
            scores,
            comment,
            None,
            SubmissionSlot::random(),
            &RoomLimits::default(),
        ) {
            Ok(decision) => {
                self.state
                    .put_submission(decision.slot, decision.submission);
                self.apply(decision.count_event.as_slice());
                true
            }
            Err(_) => false,
        }
    }

    /// A whole role play: set up with `seller`, scored by `scorers`, revealed.
    fn role_play(&mut self, by: MemberId, seller: MemberId, scorers: &[(MemberId, u32, &str)]) {
        assert!(self.facilitate(
            by,
            RolePlayRequest::SetUp {
                seller,
                buyer: None,
                scenario: "Renewal with a CFO".into(),
                buyer_brief: None,
                rubric: rubric(),
                reveal_threshold: None,
            },
        ));
        let role_play_id = self
            .state
            .role_play
            .current
            .as_ref()
            .unwrap()
            .info
            .role_play_id;
        assert!(self.facilitate(by, RolePlayRequest::OpenScoring { role_play_id }));
        for (scorer, score, comment) in scorers {
            assert!(self.score(*scorer, &[*score, 6 - *score], comment));
        }
        assert!(self.facilitate(by, RolePlayRequest::Reveal { role_play_id }));
    }

    fn next_meeting(&mut self, by: MemberId) -> bool {
        match decide_next_meeting(&self.state, by, MeetingId::random()) {
            Ok(events) => {
                self.apply(&events);
                self.start();
                true
            }
            Err(_) => false,
        }
    }
}

/// The member as their own connection asks: with the key of their token.
fn me(member_id: MemberId) -> crate::activity::Me {
    crate::activity::Me {
        member_id,
        key: crate::state::test_key(member_id),
    }
}

fn rubric() -> Rubric {
    let criterion = |name: &str| Criterion {
        name: name.into(),
        description: String::new(),
        scale_min: 1,
        scale_max: 5,
        weight: 1,
    };
    Rubric {
        name: "Discovery call".into(),
        criteria: vec![criterion("Questions"), criterion("Listening")],
        one_thing_differently: false,
    }
}

#[test]
fn a_members_history_holds_their_meetings_commitments_numbers_and_role_plays() {
    let mut room = Room::new();
    let fran = room.add("Fran", Role::Facilitator);
    let sam = room.add("Sam", Role::Member);
    let others = ["Xenia", "Yusuf", "Zora"].map(|name| room.add(name, Role::Member));

    // Meeting 1: Sam commits twice and shares 40 calls anonymously; the others by name.
    let first = room.commit(sam, "Call ten lapsed customers");
    let second = room.commit(sam, "Send the pricing page");
    assert!(room.numbers(sam, 40.0, Sharing::Anonymous));
    for (index, other) in others.iter().enumerate() {
        assert!(room.numbers(*other, 20.0 + 10.0 * index as f64, Sharing::Anonymous));
    }
    room.role_play(
        fran,
        sam,
        &[
            (others[0], 4, "Good pause"),
            (others[1], 3, ""),
            (others[2], 5, ""),
        ],
    );
    assert!(room.next_meeting(fran));

    // Meeting 2: one done, one still open (carried); 50 calls; a later member joins.
    room.online(sam);
    room.report(sam, first, CommitmentStatus::Done);
    assert!(room.numbers(sam, 50.0, Sharing::Named));
    for other in others {
        assert!(room.numbers(other, 10.0, Sharing::Anonymous));
    }
    let late = room.add("Lee", Role::Member);
    room.offline(sam);
    assert!(room.next_meeting(fran));
    // Meeting 3: the carried one is dropped; Sam is not in the room.
    room.report(sam, second, CommitmentStatus::Dropped);

    let history = build(&room.state, &me(sam));
    assert_eq!(history.member_id, sam);
    // Two kept meetings, newest first, plus the current one.
    let numbers: Vec<u32> = history.meetings.iter().map(|m| m.meeting_number).collect();
    assert_eq!(numbers, [2, 1]);
    assert_eq!(history.summary.meetings_held, 3);
    assert_eq!(history.summary.meetings_attended, 2);
    assert_eq!(history.summary.completion_rate_percent, Some(100));

    let rows = &history.commitments.per_meeting;
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0].meeting_number, rows[0].made), (1, 2));
    assert_eq!((rows[1].done, rows[1].dropped, rows[1].carried), (1, 1, 0));
    assert_eq!(rows[2].made, 0);
    assert_eq!(history.commitments.commitments.len(), 2);

    let calls = history
        .benchmarks
        .iter()
        .find(|metric| metric.key == "calls")
        .unwrap();
    let mine: Vec<Option<f64>> = calls.points.iter().map(|point| point.mine).collect();
    assert_eq!(mine, [Some(40.0), Some(50.0)]);
    assert!(
        calls
            .points
            .iter()
            .all(|point| point.group_median.is_some())
    );
    assert_eq!(calls.direction, Some(TrendDirection::Up));

    assert_eq!(history.role_plays.len(), 1);
    let scores = &history.role_plays[0];
    assert_eq!(scores.submission_count, 3);
    assert_eq!(scores.criteria.len(), 2);
    assert_eq!(scores.criteria[0].mean, 4.0);
    assert_eq!(scores.meeting_number, 1);

    // The member who joined later reads only the meeting they belonged to the group for, and
    // has no role play, commitment or number of their own.
    let later = build(&room.state, &me(late));
    let numbers: Vec<u32> = later.meetings.iter().map(|m| m.meeting_number).collect();
    assert_eq!(numbers, [2]);
    assert!(later.role_plays.is_empty());
    assert!(later.commitments.commitments.is_empty());
    assert!(
        later
            .benchmarks
            .iter()
            .all(|metric| metric.points.iter().all(|point| point.mine.is_none()))
    );
    // Nobody's history names who scored Sam.
    for viewer in [fran, sam, late, others[0]] {
        let json = serde_json::to_string(&build(&room.state, &me(viewer)).role_plays).unwrap();
        for scorer in others {
            assert!(!json.contains(&scorer.to_string()));
        }
    }
}

#[test]
fn the_current_meetings_reveal_is_in_the_history_once_and_not_before() {
    let mut room = Room::new();
    let fran = room.add("Fran", Role::Facilitator);
    let sam = room.add("Sam", Role::Member);
    let others = ["Xenia", "Yusuf", "Zora"].map(|name| room.add(name, Role::Member));
    assert!(room.facilitate(
        fran,
        RolePlayRequest::SetUp {
            seller: sam,
            buyer: None,
            scenario: "Cold call".into(),
            buyer_brief: None,
            rubric: rubric(),
            reveal_threshold: None,
        },
    ));
    let role_play_id = room
        .state
        .role_play
        .current
        .as_ref()
        .unwrap()
        .info
        .role_play_id;
    assert!(room.facilitate(fran, RolePlayRequest::OpenScoring { role_play_id }));
    for other in others {
        assert!(room.score(other, &[2, 3], "secret words"));
    }
    // Scored but not revealed: nothing of it anywhere in anyone's history.
    for viewer in [fran, sam, others[0]] {
        let json = serde_json::to_string(&build(&room.state, &me(viewer))).unwrap();
        assert!(!json.contains("secret words"));
        assert!(build(&room.state, &me(viewer)).role_plays.is_empty());
    }
    assert!(room.facilitate(fran, RolePlayRequest::Reveal { role_play_id }));
    assert_eq!(build(&room.state, &me(sam)).role_plays.len(), 1);
    // Filed in the minutes at the next meeting, and still once.
    assert!(room.next_meeting(fran));
    let history = build(&room.state, &me(sam));
    assert_eq!(history.role_plays.len(), 1);
    assert_eq!(history.role_plays[0].role_play_id, role_play_id);
}

#[test]
fn who_scored_changes_nothing_in_the_sellers_role_play_scores() {
    let run = |scorers: [usize; 3]| {
        let mut room = Room::new();
        let fran = room.add("Fran", Role::Facilitator);
        let sam = room.add("Sam", Role::Member);
        let others = ["A", "B", "C", "D"].map(|name| room.add(name, Role::Member));
        let given = [
            (others[scorers[0]], 4, ""),
            (others[scorers[1]], 2, ""),
            (others[scorers[2]], 5, ""),
        ];
        room.role_play(fran, sam, &given);
        let mut scores = build(&room.state, &me(sam)).role_plays;
        for entry in &mut scores {
            // Ids and times are fresh in each run; the numbers are what the test compares.
            entry.role_play_id = RolePlayId(uuid::Uuid::nil());
            entry.revealed_at_ms = 0;
        }
        scores
    };
    let one = run([0, 1, 2]);
    assert_eq!(one.len(), 1);
    assert_eq!(one, run([3, 2, 1]));
    assert_eq!(one, run([1, 3, 0]));
}

#[test]
fn commitment_rows_and_lists_are_bounded() {
    let mut room = Room::new();
    let fran = room.add("Fran", Role::Facilitator);
    for meeting in 0..(MEETINGS_MAX + 5) {
        for index in 0..5 {
            let id = room.commit(fran, &format!("Commitment {meeting}-{index}"));
            room.report(fran, id, CommitmentStatus::Missed);
        }
        assert!(room.next_meeting(fran));
    }
    let history = build(&room.state, &me(fran));
    assert_eq!(history.commitments.per_meeting.len(), MEETINGS_MAX + 1);
    assert_eq!(
        history.commitments.commitments.len(),
        COMMITMENTS_LISTED_MAX
    );
    assert_eq!(history.summary.completion_rate_percent, Some(0));
    assert!(history.meetings.len() <= crate::minutes::PAST_MEETINGS_KEPT);
    assert!(
        history
            .benchmarks
            .iter()
            .all(|metric| metric.points.len() <= MEETINGS_MAX)
    );
}

#[test]
fn a_history_goes_to_the_member_who_asks_as_the_answer_to_get_my_history() {
    let mut room = Room::new();
    let fran = room.add("Fran", Role::Facilitator);
    let command = crate::command::Command::try_from(Request::GetMyHistory).unwrap();
    let crate::command::Command::Query(query) = command else {
        panic!("get_my_history is a query");
    };
    match crate::state::answer(&room.state, fran, &query) {
        roundtable_protocol::Reply::MyHistory(history) => assert_eq!(history.member_id, fran),
        other => panic!("{other:?}"),
    }
}

/// Every number anywhere in a JSON value.
fn numbers_in(value: &serde_json::Value) -> Vec<f64> {
    match value {
        serde_json::Value::Number(number) => number.as_f64().into_iter().collect(),
        serde_json::Value::Array(items) => items.iter().flat_map(numbers_in).collect(),
        serde_json::Value::Object(fields) => fields.values().flat_map(numbers_in).collect(),
        _ => Vec::new(),
    }
}

/// One step of a random session.
#[derive(Debug, Clone)]
enum Step {
    Join,
    Numbers {
        by: usize,
        anonymous: bool,
    },
    Commit {
        by: usize,
    },
    Report {
        by: usize,
        nth: usize,
        status: CommitmentStatus,
    },
    RolePlay {
        seller: usize,
        scorers: Vec<usize>,
    },
    Next,
}

fn step() -> impl Strategy<Value = Step> {
    let status = prop_oneof![
        Just(CommitmentStatus::Done),
        Just(CommitmentStatus::Partial),
        Just(CommitmentStatus::Missed),
        Just(CommitmentStatus::Dropped),
    ];
    prop_oneof![
        1 => Just(Step::Join),
        4 => (0usize..8, any::<bool>()).prop_map(|(by, anonymous)| Step::Numbers { by, anonymous }),
        2 => (0usize..8).prop_map(|by| Step::Commit { by }),
        2 => (0usize..8, 0usize..4, status).prop_map(|(by, nth, status)| Step::Report { by, nth, status }),
        2 => (0usize..8, prop::collection::vec(0usize..8, 3..6))
            .prop_map(|(seller, scorers)| Step::RolePlay { seller, scorers }),
        1 => Just(Step::Next),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Over random sessions (joins, numbers named and anonymous, commitments, role plays,
    /// meetings), no member's history ever holds another member's anonymous number, the words
    /// of an unrevealed score, or a scorer's id next to a role play; and each member finds
    /// their own anonymous numbers in their own trend.
    #[test]
    fn a_history_never_holds_another_members_anonymous_number_or_a_scorer(
        steps in prop::collection::vec(step(), 1..40)
    ) {
        let mut room = Room::new();
        let fran = room.add("Fran", Role::Facilitator);
        let mut people = vec![fran];
        // Every anonymous number ever submitted, with its author: each one unique, with a
        // fraction of .371. Named numbers are whole and brackets count as whole or half
        // numbers, so no quartile, median or ratio of them can come out at .371 (a quartile
        // of named .371 numbers could: the middle of 120.371 and 140.371 is 130.371).
        let mut anonymous: Vec<(MemberId, f64)> = Vec::new();
        let mut scorers_of: Vec<MemberId> = Vec::new();
        let mut counter = 0u32;
        for step in steps {
            counter += 1;
            let pick = |index: usize| people[index % people.len()];
            match step {
                Step::Join => {
                    if people.len() < 8 {
                        let member = room.add(&format!("Member {counter}"), Role::Member);
                        people.push(member);
                    }
                }
                Step::Numbers { by, anonymous: is_anonymous } => {
                    let by = pick(by);
                    let fraction = if is_anonymous { 0.371 } else { 0.0 };
                    let value = f64::from(counter) * 10.0 + fraction;
                    let sharing = if is_anonymous { Sharing::Anonymous } else { Sharing::Named };
                    if room.numbers(by, value, sharing) && is_anonymous {
                        anonymous.push((by, value));
                    }
                }
                Step::Commit { by } => {
                    room.commit(pick(by), &format!("Promise {counter}"));
                }
                Step::Report { by, nth, status } => {
                    let by = pick(by);
                    let open: Vec<u32> = room.state.commitments.commitments.iter()
                        .filter(|c| c.owner == by && c.status == CommitmentStatus::Open)
                        .map(|c| c.commitment_id)
                        .collect();
                    if let Some(id) = open.get(nth % open.len().max(1)) {
                        room.report(by, *id, status);
                    }
                }
                Step::RolePlay { seller, scorers } => {
                    let seller = pick(seller);
                    if room.facilitate(fran, RolePlayRequest::SetUp {
                        seller, buyer: None, scenario: "Call".into(), buyer_brief: None,
                        rubric: rubric(), reveal_threshold: None,
                    }) {
                        let role_play_id = room.state.role_play.current.as_ref().unwrap().info.role_play_id;
                        let opened = room.facilitate(fran, RolePlayRequest::OpenScoring { role_play_id });
                        prop_assert!(opened);
                        for (index, scorer) in scorers.iter().enumerate() {
                            let scorer = pick(*scorer);
                            if room.score(scorer, &[1 + (index as u32 % 5), 3], &format!("unrevealed {counter}")) {
                                scorers_of.push(scorer);
                            }
                        }
                        // Before any reveal, the words are in nobody's history.
                        for viewer in &people {
                            let json = serde_json::to_string(&build(&room.state, &me(*viewer))).unwrap();
                            let words = format!("unrevealed {counter}\"");
                            prop_assert!(!json.contains(&words));
                        }
                        let _ = room.facilitate(fran, RolePlayRequest::Reveal { role_play_id });
                        if room.state.role_play.current.as_ref().is_some_and(|c| c.info.phase != roundtable_protocol::RolePlayPhase::Revealed) {
                            let cancelled = room.facilitate(fran, RolePlayRequest::Cancel { role_play_id });
                            prop_assert!(cancelled);
                        }
                    }
                }
                Step::Next => {
                    prop_assert!(room.next_meeting(fran));
                    for member in people.clone() {
                        room.online(member);
                    }
                }
            }
            for viewer in &people {
                let history = build(&room.state, &me(*viewer));
                let json = serde_json::to_string(&history).unwrap();
                let found = numbers_in(&serde_json::to_value(&history).unwrap());
                for (author, value) in &anonymous {
                    if author != viewer {
                        prop_assert!(!found.contains(value), "{} of another member in {}", value, json);
                    }
                }
                // The role play part names nobody at all.
                let role_plays = serde_json::to_string(&history.role_plays).unwrap();
                for member in &people {
                    prop_assert!(!role_plays.contains(&member.to_string()));
                }
                // A scorer is named in the minutes' role plays only as seller or buyer.
                for minutes in &history.meetings {
                    for results in &minutes.role_plays {
                        let text = serde_json::to_string(results).unwrap();
                        for scorer in &scorers_of {
                            if *scorer != results.seller {
                                prop_assert!(!text.contains(&scorer.to_string()));
                            }
                        }
                    }
                }
                // The viewer's own numbers of the kept closed meetings, anonymous ones
                // included, are in their trend.
                let shown: Vec<f64> = history.benchmarks.iter()
                    .flat_map(|metric| metric.points.iter().filter_map(|point| point.mine))
                    .collect();
                let kept = &room.state.activity.history;
                for past in &kept[kept.len().saturating_sub(MEETINGS_MAX)..] {
                    for value in past.values_by_member.get(viewer).into_iter().flat_map(|values| values.values()) {
                        prop_assert!(shown.contains(value), "own {} missing", value);
                    }
                }
            }
        }
    }
}
