//! Brute force of the benchmarks' promise: nothing a member receives lets them work out another
//! member's anonymous number exactly, even when they know every named number and their own.
//!
//! For small groups and small whole numbers, every sharing choice, every assignment of numbers
//! and every viewer, the test builds everything that viewer receives through the room's real
//! rules (the wire frames of a meeting where everyone submits one after the other, their own
//! `my_benchmarks` answer after each, the snapshot, the facilitator's CSV and minutes, the
//! frames and answers after the facilitator removes any one member, two further meetings where
//! everyone but one member submits the same numbers again (trends), and the viewer trying every
//! number and sharing of their own), serialized as sent. Then, for each other anonymous member
//! and each of their numbers, it looks for another value of that number alone that gives the
//! viewer exactly the same bytes. That is stronger than the promise (which lets every other
//! anonymous number change too) and it must exist for every member, metric and viewer.
//!
//! Groups of three go through every case; groups of four to six, and two metrics with their
//! ratio, through random cases with numbers up to 15 (7 with two metrics).
//!
//! The values 0..=max are whole brackets (`bracket`), as the numbers of a real group are, so no
//! value is alone at the edge of the test's range.

use proptest::prelude::*;
use roundtable_protocol::{self as wire, GroupId, MeetingId, MemberId, Request, Role, Sharing};
use sha2::{Digest, Sha256};

use super::*;
use crate::command::{Command, Query};
use crate::limits::RoomLimits;
use crate::minutes;
use crate::secret::hash_secret;
use crate::state::{
    Group, RoomEvent, RoomState, answer_keyed, decide_keyed, decide_next_meeting, test_key,
};

/// A small group: `members` people who submit, numbers from 0 to `max`, these metrics.
struct Setup {
    members: usize,
    max: u32,
    metrics: &'static [&'static str],
    /// The room with the members (and a facilitator who submits nothing) and the metrics.
    room: RoomState,
}

/// One member's choice: sharing and a number per metric.
type Choice = (Sharing, Vec<u32>);

fn member(index: usize) -> MemberId {
    MemberId(uuid::Uuid::from_u128(index as u128 + 1))
}

fn facilitator() -> MemberId {
    MemberId(uuid::Uuid::from_u128(1000))
}

const NOW_MS: u64 = 1_764_165_600_000;

impl Setup {
    fn new(members: usize, max: u32, metrics: &'static [&'static str]) -> Setup {
        assert_eq!(max % 2, 1, "the range is whole brackets");
        let mut room = RoomState::new_group(
            Group {
                id: GroupId(uuid::Uuid::from_u128(7)),
                name: "Peers".into(),
                facilitator_secret_hash: hash_secret("f"),
                invite_secret_hash: hash_secret("i"),
                created_at_ms: NOW_MS,
                time_zone: None,
                call_url: None,
            },
            MeetingId(uuid::Uuid::from_u128(8)),
            NOW_MS,
        )
        .live();
        let mut add = |member_id: MemberId, name: String, role: Role| {
            let event = RoomEvent::MemberAdded {
                member_id,
                display_name: name,
                role,
                token_hash: hash_secret("t"),
            };
            let seq = room.seq + 1;
            room.apply(seq, NOW_MS, &event);
        };
        add(facilitator(), "Fran".into(), Role::Facilitator);
        for index in 0..members {
            add(member(index), format!("M{index}"), Role::Member);
        }
        let mut setup = Setup {
            members,
            max,
            metrics,
            room,
        };
        let set = Request::SetMetrics {
            metrics: metrics
                .iter()
                .map(|key| wire::Metric {
                    key: key.to_string(),
                    name: key.to_string(),
                    unit: "u".into(),
                })
                .collect(),
        };
        let mut room = setup.room.clone();
        setup.act(&mut room, facilitator(), set, &mut Vec::new(), None);
        setup.room = room;
        setup
    }

    /// Decides and applies `request` by `by`; the frames go to `out` as `viewer` (if any)
    /// receives them, followed by the viewer's `my_benchmarks` answer, as the client asks it
    /// after every change.
    fn act(
        &self,
        room: &mut RoomState,
        by: MemberId,
        request: Request,
        out: &mut Vec<u8>,
        viewer: Option<MemberId>,
    ) {
        let events = match Command::try_from(request).unwrap() {
            Command::Change(change) => decide_keyed(
                room,
                by,
                test_key(by),
                &change,
                &RoomLimits::default(),
                NOW_MS,
            ),
            Command::StartNextMeeting => {
                let next = MeetingId(uuid::Uuid::from_u128(room.meeting.number as u128 + 100));
                decide_next_meeting(room, by, next)
            }
            Command::StartMeeting => crate::state::decide_start_meeting(room, by, NOW_MS),
            other => panic!("not used here: {other:?}"),
        }
        .expect("accepted");
        for event in &events {
            let seq = room.seq + 1;
            room.apply(seq, NOW_MS, event);
            if let Some(viewer) = viewer
                && event.audience().includes(viewer)
            {
                out.extend(serde_json::to_vec(&event.to_wire(NOW_MS)).unwrap());
            }
        }
        if let Some(viewer) = viewer {
            let reply = answer_keyed(room, viewer, test_key(viewer), &Query::GetMyBenchmarks);
            out.extend(serde_json::to_vec(&reply).unwrap());
        }
    }

    fn submit_request(&self, choice: &Choice) -> Request {
        Request::SubmitNumbers {
            values: self
                .metrics
                .iter()
                .zip(&choice.1)
                .map(|(key, value)| (key.to_string(), f64::from(*value)))
                .collect(),
            sharing: choice.0,
        }
    }

    /// The SHA-256 of everything `viewer` receives when the members make these choices.
    fn transcript(&self, choices: &[Choice], viewer: usize) -> [u8; 32] {
        let me = Some(member(viewer));
        let mut out = Vec::new();
        // Everyone submits, one after the other.
        let mut room = self.room.clone();
        for (index, choice) in choices.iter().enumerate() {
            self.act(
                &mut room,
                member(index),
                self.submit_request(choice),
                &mut out,
                me,
            );
        }
        // The snapshot's benchmarks (the rest of it does not depend on numbers), the CSV and the
        // minutes.
        let snapshot = room.to_wire_snapshot_for(member(viewer));
        out.extend(serde_json::to_vec(&snapshot.benchmarks).unwrap());
        out.extend(minutes::benchmarks_csv(&room).into_bytes());
        let minutes_now = minutes::build(&room, None);
        out.extend(minutes::to_markdown(&minutes_now, &room, &minutes::Utc).into_bytes());
        let submitted = room.clone();

        for other in (0..self.members).filter(|other| *other != viewer) {
            // The facilitator removes one member: the view without them.
            let mut removed = submitted.clone();
            let remove = Request::RemoveMember {
                member_id: member(other),
            };
            self.act(&mut removed, facilitator(), remove, &mut out, me);

            // Two more meetings: everyone but `other` submits the same again, then nobody
            // does. The viewer's trend holds each meeting's medians.
            let mut later = submitted.clone();
            self.act(
                &mut later,
                facilitator(),
                Request::StartNextMeeting,
                &mut out,
                me,
            );
            self.act(
                &mut later,
                facilitator(),
                Request::StartMeeting,
                &mut out,
                me,
            );
            for (index, choice) in choices.iter().enumerate().filter(|(i, _)| *i != other) {
                self.act(
                    &mut later,
                    member(index),
                    self.submit_request(choice),
                    &mut out,
                    me,
                );
            }
            self.act(
                &mut later,
                facilitator(),
                Request::StartNextMeeting,
                &mut out,
                me,
            );
            out.extend(minutes::benchmarks_csv(&later).into_bytes());
        }

        // The viewer tries every number of their own on each metric, both ways of sharing.
        for sharing in [Sharing::Named, Sharing::Anonymous] {
            for metric in 0..self.metrics.len() {
                for value in 0..=self.max {
                    let mut values = choices[viewer].1.clone();
                    values[metric] = value;
                    let mut probed = submitted.clone();
                    let request = self.submit_request(&(sharing, values));
                    self.act(&mut probed, member(viewer), request, &mut out, me);
                }
            }
        }
        Sha256::digest(&out).into()
    }

    /// Every list of numbers a member may submit, one per metric.
    fn all_values(&self) -> Vec<Vec<u32>> {
        let mut all = vec![Vec::new()];
        for _ in self.metrics {
            all = all
                .into_iter()
                .flat_map(|prefix| {
                    (0..=self.max).map(move |value| {
                        let mut next = prefix.clone();
                        next.push(value);
                        next
                    })
                })
                .collect();
        }
        all
    }

    /// Every choice of every member: sharing patterns times numbers.
    fn all_choices(&self) -> Vec<Vec<Choice>> {
        let values = self.all_values();
        let mut all: Vec<Vec<Choice>> = vec![Vec::new()];
        for _ in 0..self.members {
            all = all
                .into_iter()
                .flat_map(|prefix| {
                    let values = &values;
                    [Sharing::Named, Sharing::Anonymous]
                        .into_iter()
                        .flat_map(move |sharing| {
                            let prefix = prefix.clone();
                            values.iter().map(move |numbers| {
                                let mut next = prefix.clone();
                                next.push((sharing, numbers.clone()));
                                next
                            })
                        })
                })
                .collect();
        }
        all
    }
}

/// A number of one member that a viewer could work out exactly.
#[derive(Debug)]
#[allow(dead_code)] // Read through `Debug` in the failure message.
struct Exposed {
    choices: Vec<Choice>,
    viewer: usize,
    member: usize,
    metric: usize,
}

/// Checks every viewer and every other anonymous number of `choices`: some other value of that
/// number alone must give the viewer the same `transcript`.
fn first_exposed(
    setup: &Setup,
    choices: &[Choice],
    transcript: &dyn Fn(&[Choice], usize) -> [u8; 32],
) -> Option<Exposed> {
    for viewer in 0..setup.members {
        let seen = transcript(choices, viewer);
        for (other, choice) in choices.iter().enumerate() {
            if other == viewer || choice.0 != Sharing::Anonymous {
                continue;
            }
            for metric in 0..setup.metrics.len() {
                // Nearest values first: the search ends sooner, and any value will do.
                let actual = choice.1[metric];
                let mut others: Vec<u32> =
                    (0..=setup.max).filter(|value| *value != actual).collect();
                others.sort_by_key(|value| value.abs_diff(actual));
                let hidden = others.into_iter().any(|value| {
                    let mut alternative = choices.to_vec();
                    alternative[other].1[metric] = value;
                    transcript(&alternative, viewer) == seen
                });
                if !hidden {
                    return Some(Exposed {
                        choices: choices.to_vec(),
                        viewer,
                        member: other,
                        metric,
                    });
                }
            }
        }
    }
    None
}

fn check_every_case(setup: &Setup) {
    // Each transcript is needed for its own case and as an alternative of others: once each.
    let known = std::cell::RefCell::new(std::collections::HashMap::new());
    let transcript = |choices: &[Choice], viewer: usize| {
        let key: (Vec<(bool, Vec<u32>)>, usize) = (
            choices
                .iter()
                .map(|(sharing, values)| (*sharing == Sharing::Anonymous, values.clone()))
                .collect(),
            viewer,
        );
        if let Some(digest) = known.borrow().get(&key) {
            return *digest;
        }
        let digest = setup.transcript(choices, viewer);
        known.borrow_mut().insert(key, digest);
        digest
    };
    for choices in setup.all_choices() {
        if let Some(exposed) = first_exposed(setup, &choices, &transcript) {
            panic!("an anonymous number can be worked out exactly: {exposed:?}");
        }
    }
}

#[test]
fn no_anonymous_number_can_be_worked_out_in_groups_of_three() {
    // Every sharing choice and every assignment of 0 to 5 (three brackets) to three members.
    check_every_case(&Setup::new(3, 5, &["calls"]));
}

/// Sharing choices and numbers for `members` people, numbers 0 to `max` on each of `metrics`.
fn choices(
    members: std::ops::RangeInclusive<usize>,
    metrics: usize,
    max: u32,
) -> impl Strategy<Value = Vec<Choice>> {
    let choice = (
        prop_oneof![Just(Sharing::Named), Just(Sharing::Anonymous)],
        proptest::collection::vec(0u32..=max, metrics),
    );
    proptest::collection::vec(choice, members)
}

proptest! {
    // Larger groups and numbers than the exhaustive test can go through, drawn at random; each
    // case still checks every viewer and every other anonymous number against every value.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn no_anonymous_number_can_be_worked_out_in_groups_of_four_to_six(choices in choices(4..=6, 1, 15)) {
        let setup = Setup::new(choices.len(), 15, &["calls"]);
        let transcript = |choices: &[Choice], viewer: usize| setup.transcript(choices, viewer);
        let exposed = first_exposed(&setup, &choices, &transcript);
        prop_assert!(exposed.is_none(), "exposed: {:?}", exposed);
    }

    #[test]
    fn no_anonymous_number_or_ratio_can_be_worked_out(choices in choices(3..=5, 2, 7)) {
        // Meetings per call is a ratio the group sees.
        let setup = Setup::new(choices.len(), 7, &["calls", "meetings"]);
        let transcript = |choices: &[Choice], viewer: usize| setup.transcript(choices, viewer);
        let exposed = first_exposed(&setup, &choices, &transcript);
        prop_assert!(exposed.is_none(), "exposed: {:?}", exposed);
    }
}

/// The check finds what the old view gave away: three anonymous values 13, 42 and 77 gave
/// quartiles 27.5, 42 and 59.5, so 2·q1 − median = 13. A transcript of exact interpolated
/// quartiles over the same values (what the view sent before brackets) is caught at once.
#[test]
fn the_check_catches_exact_quartiles() {
    let setup = Setup::new(3, 79, &["calls"]);
    let exact = |choices: &[Choice], _viewer: usize| {
        let values = sorted(choices.iter().map(|(_, v)| f64::from(v[0])).collect());
        let q = quartiles(&values).unwrap();
        Sha256::digest(serde_json::to_vec(&q).unwrap()).into()
    };
    let choices: Vec<Choice> = [13, 42, 77]
        .into_iter()
        .map(|value| (Sharing::Anonymous, vec![value]))
        .collect();
    let exposed = first_exposed(&setup, &choices, &exact).expect("exact quartiles expose");
    assert_eq!(exposed.member, 1, "viewer 0 knows 13; the median is 42");
    // The real view of the same meeting exposes nobody.
    let real = |choices: &[Choice], viewer: usize| setup.transcript(choices, viewer);
    assert!(first_exposed(&setup, &choices, &real).is_none());
    let mut room = setup.room.clone();
    for (index, choice) in choices.iter().enumerate() {
        setup.act(
            &mut room,
            member(index),
            setup.submit_request(choice),
            &mut Vec::new(),
            None,
        );
    }
    let view = room.activity.view();
    assert_eq!(
        view.per_metric[0].quartiles,
        Some(wire::Quartiles {
            q1: 28.0,
            median: 43.0,
            q3: 60.0
        }),
        "13, 42 and 77 count as 13, 43 and 77"
    );
}

#[test]
fn brackets_hold_their_value_and_two_whole_numbers_at_least() {
    let mut value = 0.0;
    while value <= METRIC_VALUE_MAX {
        let middle = bracket(value);
        // Below 100 a bracket is 2 wide, then a tenth of the value's power of ten at most.
        let half_width = if value < 100.0 {
            1.0
        } else {
            10f64.powi(value.log10().floor() as i32 - 1) / 2.0
        };
        assert!(
            (middle - value).abs() <= half_width * (1.0 + 1e-9),
            "{value} -> {middle}"
        );
        // A neighbour one up or one down counts the same.
        let partner = if value + 1.0 <= METRIC_VALUE_MAX && bracket(value + 1.0) == middle {
            value + 1.0
        } else {
            value - 1.0
        };
        assert_eq!(bracket(partner), middle, "{value} is alone in its bracket");
        value = if value < 2000.0 {
            value + 1.0
        } else {
            (value * 1.37).floor()
        };
    }
    assert_eq!(bracket(0.0), 1.0);
    assert_eq!(bracket(1.0), 1.0);
    assert_eq!(bracket(0.25), 1.0);
    assert_eq!(bracket(42.0), 43.0);
    assert_eq!(bracket(43.0), 43.0);
    assert_eq!(bracket(99.5), 99.0);
    assert_eq!(bracket(100.0), 105.0);
    assert_eq!(bracket(4817.0), 4850.0);
    // The largest value accepted shares the bracket below it.
    assert_eq!(bracket(METRIC_VALUE_MAX), 9.95e11);
    assert_eq!(bracket(METRIC_VALUE_MAX - 5e9), 9.95e11);
}
