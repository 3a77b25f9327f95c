//! Tests of putting a skipped speaker back (and of what a skip counts), and of the presenter's
//! choice becoming one commitment per chosen suggestion. A child of `tests`, whose `Room`
//! (a facilitator Fran, members Ann, Bob and Cat, an observer Olga) and clock they use.

use super::*;
use roundtable_protocol::{CommitmentSource, CommitmentStatus, TalkTime};

fn skip(member_id: Option<MemberId>) -> Request {
    Request::SkipSpeaker { member_id }
}

fn restore(member_id: MemberId) -> Request {
    Request::RestoreSpeaker { member_id }
}

fn order(room: &Room) -> Vec<MemberId> {
    let round = room.flow().round.as_ref().expect("a round");
    round.speakers.iter().map(|s| s.member_id).collect()
}

fn talk_time(room: &Room, member_id: MemberId) -> Option<TalkTime> {
    room.flow()
        .talk_times
        .iter()
        .find(|talk| talk.member_id == member_id)
        .copied()
}

#[test]
fn a_skipped_waiting_speaker_put_back_speaks_in_their_planned_place() {
    let mut room = Room::new();
    let (fran, ann, bob, cat) = (room.fran, room.ann, room.bob, room.cat);
    room.act(fran, start_round(4 * MINUTE, false), T0);
    let planned = order(&room);
    assert_eq!(planned, vec![fran, ann, bob, cat]);

    room.act(fran, skip(Some(bob)), T0 + 1_000);
    assert_eq!(room.speaker_status(bob), SpeakerStatus::Skipped);
    let events = room.act(fran, restore(bob), T0 + 2_000);
    assert_eq!(
        events,
        vec![RoomEvent::Flow {
            event: FlowEvent::RoundSpeakerChanged {
                member_id: bob,
                status: SpeakerStatus::Waiting
            }
        }]
    );
    assert_eq!(order(&room), planned, "the order is as planned");

    room.act(fran, Request::NextSpeaker, T0 + MINUTE);
    assert_eq!(room.speaker_status(ann), SpeakerStatus::Speaking);
    room.act(fran, Request::NextSpeaker, T0 + 2 * MINUTE);
    assert_eq!(
        room.speaker_status(bob),
        SpeakerStatus::Speaking,
        "Bob speaks in his place, after Ann"
    );
    assert_eq!(talk_time(&room, bob), None, "being skipped was no turn");
}

#[test]
fn a_speaker_put_back_after_their_place_passed_speaks_next() {
    let mut room = Room::new();
    let (fran, ann, bob, cat) = (room.fran, room.ann, room.bob, room.cat);
    room.act(fran, start_round(4 * MINUTE, false), T0);
    room.act(fran, Request::NextSpeaker, T0 + MINUTE);
    // Ann is absent: skipped the moment she gets the floor, she has no turn.
    let events = room.act(fran, skip(None), T0 + MINUTE);
    assert!(
        !events.iter().any(|event| matches!(
            event,
            RoomEvent::Flow {
                event: FlowEvent::TurnEnded { member_id, .. }
            } if *member_id == ann
        )),
        "a skip before talking is not a turn"
    );
    assert_eq!(room.speaker_status(bob), SpeakerStatus::Speaking);
    assert_eq!(talk_time(&room, ann), None);

    // Ann arrives while Bob speaks: she is next, before Cat.
    room.act(fran, restore(ann), T0 + 2 * MINUTE);
    room.act(fran, Request::NextSpeaker, T0 + 3 * MINUTE);
    assert_eq!(room.speaker_status(ann), SpeakerStatus::Speaking);
    assert_eq!(room.speaker_status(cat), SpeakerStatus::Waiting);
    room.act(fran, Request::NextSpeaker, T0 + 5 * MINUTE);
    assert_eq!(room.speaker_status(cat), SpeakerStatus::Speaking);
    assert_eq!(order(&room), vec![fran, ann, bob, cat]);
    let ann_talk = talk_time(&room, ann).unwrap();
    assert_eq!((ann_talk.talk_ms, ann_talk.turns), (2 * MINUTE, 1));
}

#[test]
fn a_speaker_skipped_after_talking_keeps_their_talk_time() {
    let mut room = Room::new();
    let (fran, ann) = (room.fran, room.ann);
    room.act(fran, start_round(4 * MINUTE, false), T0);
    room.act(fran, Request::NextSpeaker, T0 + MINUTE);
    room.act(fran, skip(None), T0 + MINUTE + 30_000);
    assert_eq!(room.speaker_status(ann), SpeakerStatus::Skipped);
    let talk = talk_time(&room, ann).unwrap();
    assert_eq!(talk.talk_ms, 30_000);
    let speaker = room.flow().round.as_ref().unwrap().speakers[1].clone();
    assert_eq!(speaker.talk_ms, 30_000);

    // Put back and heard in full later: the round adds her second turn to the first.
    room.act(fran, restore(ann), T0 + 2 * MINUTE);
    room.act(fran, Request::NextSpeaker, T0 + 3 * MINUTE);
    assert_eq!(room.speaker_status(ann), SpeakerStatus::Speaking);
    room.act(fran, Request::NextSpeaker, T0 + 4 * MINUTE);
    let speaker = room.flow().round.as_ref().unwrap().speakers[1].clone();
    assert_eq!(speaker.talk_ms, 30_000 + MINUTE);
}

#[test]
fn offline_speakers_stay_in_the_order_and_can_be_skipped_and_put_back() {
    let mut room = Room::new();
    let (fran, bob) = (room.fran, room.bob);
    room.act(fran, start_round(4 * MINUTE, false), T0);
    let planned = order(&room);
    assert!(room.state.set_online(bob, false));
    assert!(!room.state.roster().is_online(bob));
    assert_eq!(order(&room), planned, "Bob stays in the order while away");
    assert_eq!(room.speaker_status(bob), SpeakerStatus::Waiting);
    room.act(fran, skip(Some(bob)), T0 + 2_000);
    room.act(fran, restore(bob), T0 + 3_000);
    assert_eq!(room.speaker_status(bob), SpeakerStatus::Waiting);
    assert_eq!(order(&room), planned);
}

#[test]
fn only_a_skipped_speaker_of_the_group_can_be_put_back() {
    let mut room = Room::new();
    let (fran, ann, bob, cat, olga) = (room.fran, room.ann, room.bob, room.cat, room.olga);
    assert_eq!(
        room.try_act(fran, restore(ann), T0),
        Err(ErrorCode::Conflict),
        "no round"
    );
    room.act(fran, start_round(4 * MINUTE, false), T0);
    assert_eq!(
        room.try_act(fran, restore(ann), T0),
        Err(ErrorCode::Conflict),
        "waiting"
    );
    assert_eq!(
        room.try_act(fran, restore(fran), T0),
        Err(ErrorCode::Conflict),
        "speaking"
    );
    assert_eq!(
        room.try_act(fran, restore(olga), T0),
        Err(ErrorCode::NotFound),
        "not in the round"
    );
    room.act(fran, skip(Some(ann)), T0);
    assert_eq!(
        room.try_act(bob, restore(ann), T0),
        Err(ErrorCode::Forbidden),
        "a member"
    );
    room.act(fran, Request::NextSpeaker, T0 + MINUTE);
    assert_eq!(
        room.try_act(fran, restore(fran), T0 + MINUTE),
        Err(ErrorCode::Conflict),
        "done"
    );
    // A member removed from the group is skipped for good.
    room.act(fran, Request::RemoveMember { member_id: cat }, T0 + MINUTE);
    assert_eq!(
        room.try_act(fran, restore(cat), T0 + MINUTE),
        Err(ErrorCode::NotFound)
    );
}

#[test]
fn ending_a_round_keeps_each_turn_once_in_the_order_heard() {
    let mut room = Room::new();
    let (fran, ann, bob, cat) = (room.fran, room.ann, room.bob, room.cat);
    room.act(
        fran,
        Request::StartRound {
            speaker_time_box_ms: 4 * MINUTE,
            auto_advance: false,
            speakers: Some(vec![cat, bob, ann, fran]),
            item_id: None,
        },
        T0,
    );
    room.act(fran, Request::NextSpeaker, T0 + MINUTE);
    room.act(fran, skip(None), T0 + MINUTE); // Bob, absent
    room.act(fran, Request::NextSpeaker, T0 + 2 * MINUTE); // Fran (Bob is skipped)
    room.act(fran, restore(bob), T0 + 2 * MINUTE);
    room.act(fran, Request::NextSpeaker, T0 + 3 * MINUTE); // Bob, back
    room.act(fran, Request::EndRound, T0 + 5 * MINUTE);
    assert_eq!(
        room.log.iter().rev().find_map(|(_, event)| match event {
            RoomEvent::Flow {
                event:
                    FlowEvent::TurnEnded {
                        member_id, talk_ms, ..
                    },
            } => Some((*member_id, *talk_ms)),
            _ => None,
        }),
        Some((bob, 2 * MINUTE)),
        "ending the round ends Bob's turn"
    );
    assert!(room.flow().round.is_none());
    let listed: Vec<(MemberId, u32)> = room
        .flow()
        .talk_times
        .iter()
        .map(|talk| (talk.member_id, talk.turns))
        .collect();
    assert_eq!(
        listed,
        vec![(cat, 1), (ann, 1), (fran, 1), (bob, 1)],
        "each spoke once, in the order they were heard; the skip counted nothing"
    );
}

#[derive(Debug, Clone)]
enum Step {
    Next,
    Skip(Option<usize>),
    Restore(usize),
    Back,
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Next),
        prop::option::of(0usize..4).prop_map(Step::Skip),
        (0usize..4).prop_map(Step::Restore),
        Just(Step::Back),
        (0u64..90_000).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the facilitator skips and puts back, the order stays as planned, a turn that
    /// ends in a skip counts only when the speaker talked, and a member never given the floor
    /// has no talk time.
    #[test]
    fn skips_and_restores_keep_the_order_and_count_no_empty_turns(
        steps in prop::collection::vec(step(), 1..40)
    ) {
        let mut room = Room::new();
        let fran = room.fran;
        let people = [room.fran, room.ann, room.bob, room.cat];
        room.act(fran, start_round(MINUTE, false), T0);
        let planned = order(&room);
        let mut now = T0;
        let mut given_the_floor = std::collections::BTreeSet::from([fran]);
        for step in steps {
            let request = match step {
                Step::Next => Request::NextSpeaker,
                Step::Skip(of) => skip(of.map(|i| people[i])),
                Step::Restore(of) => restore(people[of]),
                Step::Back => Request::PreviousSpeaker,
                Step::Wait(ms) => { now += ms; continue; }
            };
            let Ok(events) = room.try_act(fran, request, now) else { continue };
            let flow_events: Vec<&FlowEvent> = events.iter().filter_map(|event| match event {
                RoomEvent::Flow { event } => Some(event),
                _ => None,
            }).collect();
            for event in &flow_events {
                match event {
                    FlowEvent::RoundSpeakerChanged { member_id, status: SpeakerStatus::Speaking } => {
                        given_the_floor.insert(*member_id);
                    }
                    FlowEvent::TurnEnded { member_id, talk_ms, .. } => {
                        let skipped = flow_events.iter().any(|other| matches!(other,
                            FlowEvent::RoundSpeakerChanged { member_id: m, status: SpeakerStatus::Skipped } if m == member_id));
                        prop_assert!(!skipped || *talk_ms > 0, "a skip with no talk counted a turn");
                    }
                    _ => {}
                }
            }
            prop_assert_eq!(order(&room), planned.clone());
            for talk in &room.flow().talk_times {
                prop_assert!(given_the_floor.contains(&talk.member_id));
            }
        }
    }
}

// --- the presenter's choice ------------------------------------------------------------------

const PROBLEM: u32 = 3;

/// A room whose problem item (Ann presents) is in the decide phase with three suggestions, and
/// their ids.
fn deciding() -> (Room, Vec<u32>) {
    let mut room = Room::new();
    let (fran, ann, bob, cat) = (room.fran, room.ann, room.bob, room.cat);
    let mut item = draft("Acme renewal", AgendaItemKind::Problem);
    item.owner = Some(ann);
    room.act(
        fran,
        Request::EditAgendaItem {
            item_id: PROBLEM,
            item,
        },
        T0,
    );
    let phase = |phase| Request::StartProblemPhase {
        item_id: PROBLEM,
        phase,
        time_box_ms: None,
    };
    room.act(fran, phase(ProblemPhase::Suggest), T0);
    for (by, text) in [
        (bob, "Call the CFO"),
        (cat, "Offer a pilot\nwith a smaller team"),
        (bob, "Ask for the criteria"),
    ] {
        room.act(
            by,
            Request::AddSuggestion {
                item_id: PROBLEM,
                text: text.into(),
            },
            T0 + MINUTE,
        );
    }
    room.act(fran, phase(ProblemPhase::Decide), T0 + 2 * MINUTE);
    let ids = room
        .flow()
        .item(PROBLEM)
        .unwrap()
        .problem
        .as_ref()
        .unwrap()
        .suggestions
        .iter()
        .map(|s| s.suggestion_id)
        .collect();
    (room, ids)
}

fn choices(list: &[(u32, Option<&str>)]) -> Request {
    Request::ChooseSuggestions {
        item_id: PROBLEM,
        choices: Some(
            list.iter()
                .map(|(suggestion_id, text)| SuggestionChoice {
                    suggestion_id: *suggestion_id,
                    text: text.map(Into::into),
                })
                .collect(),
        ),
        suggestion_ids: None,
    }
}

fn presenter_commitments(room: &Room) -> Vec<(String, CommitmentSource, u32)> {
    room.state
        .commitments
        .commitments
        .iter()
        .filter(|c| c.owner == room.ann && c.status == CommitmentStatus::Open)
        .map(|c| (c.text.clone(), c.source.clone(), c.due_meeting))
        .collect()
}

#[test]
fn each_chosen_suggestion_becomes_its_own_commitment_with_the_edited_text() {
    let (mut room, ids) = deciding();
    let ann = room.ann;
    let events = room.act(
        ann,
        choices(&[
            (ids[2], Some("  Ask Acme for their decision criteria ")),
            (ids[0], None),
        ]),
        T0 + 3 * MINUTE,
    );
    assert_eq!(
        presenter_commitments(&room),
        vec![
            (
                "Ask Acme for their decision criteria".into(),
                CommitmentSource::Problem,
                2
            ),
            ("Call the CFO".into(), CommitmentSource::Problem, 2),
        ]
    );
    assert_eq!(
        crate::state::reply_for(&events),
        wire::Reply::Created { id: 1 },
        "the ack names the first commitment"
    );
    let problem = room.flow().item(PROBLEM).unwrap().problem.clone().unwrap();
    assert_eq!(problem.chosen, vec![ids[2], ids[0]]);

    // The same choice again (a resent request) changes nothing; another one is refused.
    let again = choices(&[
        (ids[2], Some("Ask Acme for their decision criteria")),
        (ids[0], None),
    ]);
    assert_eq!(room.try_act(ann, again, T0 + 3 * MINUTE), Ok(Vec::new()));
    assert_eq!(
        room.try_act(ann, choices(&[(ids[1], None)]), T0 + 3 * MINUTE),
        Err(ErrorCode::Conflict)
    );
    assert_eq!(presenter_commitments(&room).len(), 2);
}

#[test]
fn the_older_form_takes_each_suggestion_as_it_is_on_one_line() {
    let (mut room, ids) = deciding();
    let ann = room.ann;
    room.act(
        ann,
        Request::ChooseSuggestions {
            item_id: PROBLEM,
            choices: None,
            suggestion_ids: Some(vec![ids[1], ids[0]]),
        },
        T0 + 3 * MINUTE,
    );
    let texts: Vec<String> = presenter_commitments(&room)
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(
        texts,
        vec!["Offer a pilot with a smaller team", "Call the CFO"]
    );
}

#[test]
fn a_bad_choice_is_refused_and_changes_nothing() {
    let (mut room, ids) = deciding();
    let ann = room.ann;
    let too_long = "x".repeat(crate::commitments::COMMITMENT_TEXT_CHARS_MAX + 1);
    let both = Request::ChooseSuggestions {
        item_id: PROBLEM,
        choices: Some(vec![]),
        suggestion_ids: Some(vec![ids[0]]),
    };
    let neither = Request::ChooseSuggestions {
        item_id: PROBLEM,
        choices: None,
        suggestion_ids: None,
    };
    for (request, code) in [
        (choices(&[]), ErrorCode::Invalid),
        (choices(&[(ids[0], Some("   "))]), ErrorCode::Invalid),
        (
            choices(&[(ids[0], Some(too_long.as_str()))]),
            ErrorCode::Invalid,
        ),
        (choices(&[(ids[0], Some("two\nlines"))]), ErrorCode::Invalid),
        (
            choices(&[(ids[0], None), (ids[0], Some("again"))]),
            ErrorCode::Invalid,
        ),
        (choices(&[(999, None)]), ErrorCode::NotFound),
        (both, ErrorCode::Invalid),
        (neither, ErrorCode::Invalid),
    ] {
        let debug = format!("{request:?}");
        assert_eq!(
            room.try_act(ann, request, T0 + 3 * MINUTE),
            Err(code),
            "{debug}"
        );
    }
    assert_eq!(
        room.try_act(room.bob, choices(&[(ids[0], None)]), T0 + 3 * MINUTE),
        Err(ErrorCode::Forbidden)
    );
    assert!(presenter_commitments(&room).is_empty());
}

#[test]
fn the_choice_respects_the_open_commitments_limit_as_a_whole() {
    let (mut room, ids) = deciding();
    let ann = room.ann;
    for n in 0..crate::commitments::OPEN_COMMITMENTS_PER_MEMBER_MAX - 1 {
        room.act(
            ann,
            Request::AddCommitment {
                text: format!("Call lead {n}"),
                owner: None,
                due_meeting: None,
                due_date: None,
            },
            T0,
        );
    }
    // One more fits, two do not: the choice is refused whole.
    assert_eq!(
        room.try_act(
            ann,
            choices(&[(ids[0], None), (ids[1], None)]),
            T0 + 3 * MINUTE
        ),
        Err(ErrorCode::Conflict)
    );
    room.act(ann, choices(&[(ids[0], None)]), T0 + 3 * MINUTE);
}
