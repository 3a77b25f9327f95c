//! Tests of moving through the meeting (Next, Back, End meeting) and of each agenda item's
//! clock, with the made-up clock of the flow's tests.

use super::*;

fn status_of(room: &Room, item_id: AgendaItemId) -> AgendaItemStatus {
    room.flow().item(item_id).unwrap().status
}

fn current_id(room: &Room) -> Option<AgendaItemId> {
    room.flow()
        .agenda
        .iter()
        .find(|item| item.status == AgendaItemStatus::Current)
        .map(|item| item.item_id)
}

/// What is left of an item's time box at `now_ms`, as a client computes it from the wire.
fn item_left_ms(room: &Room, item_id: AgendaItemId, now_ms: UnixMs) -> i64 {
    let item = room.flow().item(item_id).unwrap();
    let running = item
        .current_since_ms
        .map_or(0, |since| now_ms.saturating_sub(since));
    item.time_box_ms as i64 - item.spent_ms as i64 - running as i64
}

#[test]
fn next_walks_the_agenda_and_each_item_keeps_its_own_clock() {
    let mut room = Room::new();
    let fran = room.fran;
    assert_eq!(current_id(&room), None);
    // With nothing current, Next starts the first item.
    room.act(fran, Request::NextAgendaItem, T0);
    assert_eq!(current_id(&room), Some(1));
    assert_eq!(item_left_ms(&room, 1, T0 + 10 * MINUTE), 20 * MINUTE as i64);

    room.act(fran, Request::NextAgendaItem, T0 + 12 * MINUTE);
    assert_eq!(status_of(&room, 1), AgendaItemStatus::Done);
    assert_eq!(current_id(&room), Some(2));
    let first = room.flow().item(1).unwrap();
    assert_eq!(
        (first.spent_ms, first.current_since_ms),
        (12 * MINUTE, None)
    );
    assert_eq!(item_left_ms(&room, 2, T0 + 15 * MINUTE), 7 * MINUTE as i64);

    // Back: item 2 waits again, item 1 is current with its 12 minutes spent.
    room.act(fran, Request::PreviousAgendaItem, T0 + 15 * MINUTE);
    assert_eq!(current_id(&room), Some(1));
    assert_eq!(status_of(&room, 2), AgendaItemStatus::Pending);
    assert_eq!(room.flow().item(2).unwrap().spent_ms, 3 * MINUTE);
    assert_eq!(
        item_left_ms(&room, 1, T0 + 16 * MINUTE),
        (30 - 12 - 1) * MINUTE as i64
    );

    // Next again: item 2 resumes its clock where it stopped.
    room.act(fran, Request::NextAgendaItem, T0 + 16 * MINUTE);
    assert_eq!(current_id(&room), Some(2));
    assert_eq!(
        item_left_ms(&room, 2, T0 + 17 * MINUTE),
        (10 - 3 - 1) * MINUTE as i64
    );
    // Overrun shows as a negative remainder.
    assert_eq!(
        item_left_ms(&room, 2, T0 + 30 * MINUTE),
        (10 - 3 - 14) * MINUTE as i64
    );
}

#[test]
fn next_skips_done_items_and_wraps_to_pending_ones_before() {
    let mut room = Room::new();
    let fran = room.fran;
    let last = room.flow().agenda.last().unwrap().item_id;
    room.act(fran, Request::MarkAgendaItemDone { item_id: 2 }, T0);
    room.act(fran, Request::SetCurrentAgendaItem { item_id: 1 }, T0);
    room.act(fran, Request::NextAgendaItem, T0);
    assert_eq!(current_id(&room), Some(3), "the done item is passed over");

    room.act(
        fran,
        Request::SetCurrentAgendaItem { item_id: last },
        T0 + MINUTE,
    );
    room.act(fran, Request::NextAgendaItem, T0 + 2 * MINUTE);
    assert_eq!(
        current_id(&room),
        Some(3),
        "after the last item, the first pending one before it"
    );

    // Finish everything: Next then leaves nothing current, and once more it says why.
    while current_id(&room).is_some() {
        room.act(fran, Request::NextAgendaItem, T0 + 3 * MINUTE);
    }
    assert!(
        room.flow()
            .agenda
            .iter()
            .all(|item| item.status == AgendaItemStatus::Done)
    );
    assert_eq!(
        room.try_act(fran, Request::NextAgendaItem, T0 + 4 * MINUTE),
        Err(ErrorCode::Conflict)
    );
    // Back from there reopens the last done item.
    room.act(fran, Request::PreviousAgendaItem, T0 + 5 * MINUTE);
    assert_eq!(current_id(&room), Some(last));
}

#[test]
fn back_from_the_first_item_and_members_moving_the_agenda_are_refused() {
    let mut room = Room::new();
    let (fran, ann) = (room.fran, room.ann);
    assert_eq!(
        room.try_act(fran, Request::PreviousAgendaItem, T0),
        Err(ErrorCode::Conflict),
        "nothing is done yet"
    );
    room.act(fran, Request::NextAgendaItem, T0);
    assert_eq!(
        room.try_act(fran, Request::PreviousAgendaItem, T0),
        Err(ErrorCode::Conflict),
        "the first item has nothing before it"
    );
    for request in [
        Request::NextAgendaItem,
        Request::PreviousAgendaItem,
        Request::EndMeeting,
    ] {
        assert_eq!(room.try_act(ann, request, T0), Err(ErrorCode::Forbidden));
    }
}

#[test]
fn next_ends_the_finished_items_round_and_counts_the_speakers_turn() {
    let mut room = Room::new();
    let fran = room.fran;
    room.act(fran, Request::NextAgendaItem, T0);
    room.act(
        fran,
        Request::StartRound {
            speaker_time_box_ms: 2 * MINUTE,
            auto_advance: false,
            speakers: None,
            item_id: Some(1),
        },
        T0,
    );
    let speaker = room.flow().round_speaker().unwrap();
    let events = room.act(fran, Request::NextAgendaItem, T0 + 90_000);
    assert!(room.flow().round.is_none(), "the round ended with its item");
    assert!(room.flow().timer.is_none());
    assert!(events.iter().any(|event| matches!(
        event,
        RoomEvent::Flow { event: FlowEvent::TurnEnded { member_id, talk_ms: 90_000, .. } }
            if *member_id == speaker
    )));
    assert_eq!(current_id(&room), Some(2));
}

#[test]
fn a_round_of_another_item_keeps_running_through_next() {
    let mut room = Room::new();
    let fran = room.fran;
    room.act(fran, Request::NextAgendaItem, T0);
    room.act(fran, start_round(MINUTE, false), T0);
    room.act(fran, Request::NextAgendaItem, T0 + 1_000);
    assert!(
        room.flow().round.is_some(),
        "a round that belongs to no item is not the finished item's"
    );
}

#[test]
fn ending_the_meeting_stops_everything_and_refuses_what_runs_a_meeting() {
    let mut room = Room::new();
    let (fran, ann, bob) = (room.fran, room.ann, room.bob);
    room.act(fran, Request::NextAgendaItem, T0);
    room.act(ann, Request::RaiseHand, T0);
    room.act(bob, Request::RaiseHand, T0);
    room.act(
        fran,
        Request::CallNextSpeaker {
            time_box_ms: Some(MINUTE),
            member_id: Some(bob),
        },
        T0,
    );
    let events = room.act(fran, Request::EndMeeting, T0 + 30_000);
    let flow = room.flow();
    assert_eq!(flow.ended_at_ms, Some(T0 + 30_000));
    assert!(flow.floor.is_none() && flow.timer.is_none() && flow.round.is_none());
    assert!(room.state.hands.is_empty(), "every hand is lowered");
    assert_eq!(
        status_of(&room, 1),
        AgendaItemStatus::Pending,
        "the unfinished item carries its clock"
    );
    assert_eq!(room.flow().item(1).unwrap().spent_ms, 30_000);
    assert!(events.iter().any(|event| matches!(
        event,
        RoomEvent::Flow { event: FlowEvent::TurnEnded { member_id, talk_ms: 30_000, .. } }
            if *member_id == bob
    )));
    assert_eq!(room.flow().to_wire().ended_at_ms, Some(T0 + 30_000));

    let later = T0 + MINUTE;
    for request in [
        Request::NextAgendaItem,
        Request::PreviousAgendaItem,
        Request::EndMeeting,
        Request::SetCurrentAgendaItem { item_id: 2 },
        start_round(MINUTE, false),
        Request::StartProblemPhase {
            item_id: 3,
            phase: ProblemPhase::Present,
            time_box_ms: None,
        },
        Request::AddSuggestion {
            item_id: 3,
            text: "One more idea".into(),
        },
    ] {
        let debug = format!("{request:?}");
        assert_eq!(
            room.try_act(fran, request, later),
            Err(ErrorCode::Conflict),
            "{debug}"
        );
    }
    // Preparing the next meeting still works.
    room.act(fran, Request::SaveAgendaAsTemplate, later);
    room.act(
        fran,
        Request::AddAgendaItem {
            item: draft("Pipeline review", AgendaItemKind::Discussion),
            position: None,
        },
        later,
    );

    // The next meeting starts afresh.
    let next = crate::state::decide_next_meeting(&room.state, fran, MeetingId::random()).unwrap();
    room.apply(&next, later);
    assert_eq!(room.flow().ended_at_ms, None);
    room.act(fran, Request::NextAgendaItem, later);
}

#[derive(Debug, Clone)]
enum Step {
    Next,
    Back,
    Current(usize),
    Done(usize),
    Remove(usize),
    Round,
    End,
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Next),
        Just(Step::Back),
        (0usize..8).prop_map(Step::Current),
        (0usize..8).prop_map(Step::Done),
        (0usize..8).prop_map(Step::Remove),
        Just(Step::Round),
        Just(Step::End),
        (0u64..600_000).prop_map(Step::Wait),
        (0u64..600_000).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// However the facilitator moves through the agenda, at most one item is current and only
    /// it has a running clock; the time the items' clocks add up to is the time that some item
    /// was current (counting removed items' time as the model does); and the log folds back into
    /// the same agenda clocks.
    #[test]
    fn item_clocks_add_up_to_the_time_an_item_was_current(steps in prop::collection::vec(step(), 1..60)) {
        let mut room = Room::new();
        let fran = room.fran;
        let mut initial = room.state.clone();
        initial.seq = 0;
        let log_start = room.log.len();
        let mut now = T0;
        let mut current_total = 0u64;
        let mut removed_spent = 0u64;
        for step in steps {
            let item_at = |room: &Room, index: usize| {
                let agenda = &room.flow().agenda;
                agenda.get(index % agenda.len().max(1)).map_or(999, |item| item.item_id)
            };
            let request = match step {
                Step::Wait(ms) => {
                    if current_id(&room).is_some() {
                        current_total += ms;
                    }
                    now += ms;
                    continue;
                }
                Step::Next => Request::NextAgendaItem,
                Step::Back => Request::PreviousAgendaItem,
                Step::Current(index) => Request::SetCurrentAgendaItem { item_id: item_at(&room, index) },
                Step::Done(index) => Request::MarkAgendaItemDone { item_id: item_at(&room, index) },
                Step::Remove(index) => Request::RemoveAgendaItem { item_id: item_at(&room, index) },
                // A round of the current item, which Next ends with it.
                Step::Round => Request::StartRound {
                    speaker_time_box_ms: MINUTE,
                    auto_advance: false,
                    speakers: None,
                    item_id: current_id(&room),
                },
                Step::End => Request::EndMeeting,
            };
            let removing = match request {
                Request::RemoveAgendaItem { item_id } => room.flow().item(item_id).map(|item| {
                    item.spent_ms + item.current_since_ms.map_or(0, |since| now - since)
                }),
                _ => None,
            };
            if room.try_act(fran, request, now).is_ok() {
                removed_spent += removing.unwrap_or(0);
            }
            let flow = room.flow();
            if flow.ended_at_ms.is_some() {
                prop_assert!(flow.round.is_none() && flow.timer.is_none() && flow.floor.is_none(), "nothing runs after the end");
            }
            let agenda = &room.flow().agenda;
            let current: Vec<_> = agenda.iter().filter(|item| item.status == AgendaItemStatus::Current).collect();
            prop_assert!(current.len() <= 1);
            for item in agenda {
                prop_assert_eq!(item.current_since_ms.is_some(), item.status == AgendaItemStatus::Current);
                prop_assert!(item.current_since_ms.is_none_or(|since| since <= now));
            }
            let clocks: u64 = agenda.iter().map(|item| {
                item.spent_ms + item.current_since_ms.map_or(0, |since| now - since)
            }).sum();
            prop_assert_eq!(clocks + removed_spent, current_total);
        }
        let mut replayed = initial;
        for (index, (at_ms, event)) in room.log[log_start..].iter().enumerate() {
            replayed.apply(index as u64 + 1, *at_ms, event);
        }
        prop_assert_eq!(&replayed.flow.agenda, &room.flow().agenda, "folding the log rebuilds the clocks");
    }
}
