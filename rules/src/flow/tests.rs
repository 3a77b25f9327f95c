//! Unit and property tests of the meeting flow, with a made-up clock: every time below is an
//! exact millisecond value passed in, so remaining times are checked to the millisecond.

use proptest::prelude::*;
use roundtable_protocol::{
    AgendaItemDraft, AgendaItemKind, AgendaItemOrigin, AgendaItemStatus, Credential, ErrorCode,
    GroupId, MeetingId, MemberId, ProblemPhase, Request, SpeakerStatus, SuggestionChoice,
    TimerSubject,
};

use super::agenda::{default_template, next_meeting_agenda};
use super::*;
use crate::command::test_support::decide;
use crate::limits::{FlowLimits, RoomLimits};
use crate::secret::{hash_secret, new_secret};
use crate::state::{FreshMember, Group, RoomEvent, RoomState, decide_attendance, decide_join};

const T0: UnixMs = 1_764_165_600_000;
const MINUTE: u64 = 60_000;

/// A room with a facilitator (Fran), three members (Ann, Bob, Cat) and an observer (Olga),
/// everyone online.
struct Room {
    state: RoomState,
    log: Vec<(UnixMs, RoomEvent)>,
    fran: MemberId,
    ann: MemberId,
    bob: MemberId,
    cat: MemberId,
    olga: MemberId,
}

impl Room {
    fn new() -> Room {
        let mut state = RoomState::new_group(
            Group {
                id: GroupId::random(),
                name: "Peers".into(),
                facilitator_secret_hash: hash_secret("f"),
                invite_secret_hash: hash_secret("i"),
                created_at_ms: T0,
                time_zone: None,
                call_url: None,
            },
            MeetingId::random(),
            T0,
        )
        .live();
        let mut log = Vec::new();
        let mut add = |state: &mut RoomState, credential: Credential| {
            let (token, token_hash) = new_secret();
            let fresh = FreshMember {
                member_id: MemberId::random(),
                token,
                token_hash,
            };
            let decision = decide_join(state, &credential, fresh, &RoomLimits::default()).unwrap();
            for event in decision.events {
                state.apply(state.seq + 1, T0, &event);
                log.push((T0, event));
            }
            state.set_online(decision.member_id, true);
            if let Some(event) = decide_attendance(state, decision.member_id) {
                state.apply(state.seq + 1, T0, &event);
                log.push((T0, event));
            }
            decision.member_id
        };
        let invite = |name: &str, observer| Credential::Invite {
            secret: "i".into(),
            display_name: name.into(),
            observer,
        };
        let fran = add(
            &mut state,
            Credential::Facilitator {
                secret: "f".into(),
                display_name: "Fran".into(),
                member_token: None,
            },
        );
        let ann = add(&mut state, invite("Ann", false));
        let bob = add(&mut state, invite("Bob", false));
        let cat = add(&mut state, invite("Cat", false));
        let olga = add(&mut state, invite("Olga", true));
        Room {
            state,
            log,
            fran,
            ann,
            bob,
            cat,
            olga,
        }
    }

    fn try_act(
        &mut self,
        by: MemberId,
        request: Request,
        now_ms: UnixMs,
    ) -> Result<Vec<RoomEvent>, ErrorCode> {
        let before = self.state.clone();
        match decide(&self.state, by, &request, &RoomLimits::default(), now_ms) {
            Ok(events) => {
                self.apply(&events, now_ms);
                Ok(events)
            }
            Err(error) => {
                assert_eq!(self.state, before, "a refused request changes nothing");
                Err(error.code)
            }
        }
    }

    fn act(&mut self, by: MemberId, request: Request, now_ms: UnixMs) -> Vec<RoomEvent> {
        let debug = format!("{request:?}");
        self.try_act(by, request, now_ms)
            .unwrap_or_else(|code| panic!("{debug} refused with {code:?}"))
    }

    /// What the room decides at `now_ms` without anyone acting; the flow's part of it.
    fn tick(&mut self, now_ms: UnixMs) -> Vec<FlowEvent> {
        let events = crate::state::decide_tick(&self.state, now_ms);
        self.apply(&events, now_ms);
        events
            .into_iter()
            .filter_map(|event| match event {
                RoomEvent::Flow { event } => Some(event),
                _ => None,
            })
            .collect()
    }

    fn apply(&mut self, events: &[RoomEvent], now_ms: UnixMs) {
        for event in events {
            self.state.apply(self.state.seq + 1, now_ms, event);
            self.log.push((now_ms, event.clone()));
        }
        self.state.check_invariants().unwrap();
    }

    fn flow(&self) -> &FlowState {
        &self.state.flow
    }

    fn timer(&self) -> Timer {
        self.flow().timer.expect("a timer")
    }

    fn speaker_status(&self, member_id: MemberId) -> SpeakerStatus {
        self.flow()
            .round
            .as_ref()
            .unwrap()
            .speakers
            .iter()
            .find(|speaker| speaker.member_id == member_id)
            .unwrap()
            .status
    }
}

fn start_round(time_box_ms: u64, auto_advance: bool) -> Request {
    Request::StartRound {
        speaker_time_box_ms: time_box_ms,
        auto_advance,
        speakers: None,
        item_id: None,
    }
}

fn draft(title: &str, kind: AgendaItemKind) -> AgendaItemDraft {
    AgendaItemDraft {
        title: title.into(),
        kind,
        time_box_ms: 10 * MINUTE,
        owner: None,
        notes: String::new(),
    }
}

#[test]
fn pause_resume_extend_give_exact_remaining_times() {
    let mut room = Room::new();
    let fran = room.fran;
    room.act(fran, start_round(4 * MINUTE, false), T0);
    assert_eq!(room.timer().remaining_ms(T0 + 1_000), 239_000);

    // Paused 90 s in: 150 s remain however long the pause lasts.
    room.act(fran, Request::PauseTimer, T0 + 90_000);
    assert_eq!(room.timer().remaining_ms(T0 + 90_000), 150_000);
    assert_eq!(room.timer().remaining_ms(T0 + 500_000), 150_000);
    assert_eq!(
        room.timer().to_wire().state,
        wire::TimerState::Paused {
            remaining_ms: 150_000
        }
    );
    // Pausing twice is a no-op.
    assert!(room.act(fran, Request::PauseTimer, T0 + 100_000).is_empty());
    // Extending while paused adds to what remains.
    room.act(
        fran,
        Request::ExtendTimer { delta_ms: 60_000 },
        T0 + 200_000,
    );
    assert_eq!(room.timer().remaining_ms(T0 + 300_000), 210_000);

    // Resumed at 400 s: the deadline is 210 s later.
    room.act(fran, Request::ResumeTimer, T0 + 400_000);
    assert_eq!(
        room.timer().to_wire().state,
        wire::TimerState::Running {
            deadline_ms: T0 + 610_000
        }
    );
    // Taking 30 s away moves the deadline.
    room.act(
        fran,
        Request::ExtendTimer { delta_ms: -30_000 },
        T0 + 450_000,
    );
    assert_eq!(room.timer().remaining_ms(T0 + 450_000), 130_000);
    // Talk time excludes the pause: 90 s before it and 50 s since.
    assert_eq!(room.timer().talk_ms(T0 + 450_000), 140_000);

    // Overrun shows as negative remaining time.
    assert_eq!(room.timer().remaining_ms(T0 + 590_000), -10_000);

    // An extension beyond the limit is refused.
    let too_much = (FlowLimits::TIMER_EXTEND_SECONDS_MAX * 1_000 + 1) as i64;
    assert_eq!(
        room.try_act(
            fran,
            Request::ExtendTimer { delta_ms: too_much },
            T0 + 460_000
        ),
        Err(ErrorCode::Invalid)
    );
}

#[test]
fn time_up_fires_once_per_deadline() {
    let mut room = Room::new();
    let fran = room.fran;
    room.act(fran, start_round(60_000, false), T0);
    assert_eq!(room.flow().next_deadline_ms(), Some(T0 + 60_000));
    assert!(room.tick(T0 + 59_999).is_empty(), "not before the deadline");
    let fired = room.tick(T0 + 60_000);
    assert_eq!(
        fired,
        vec![FlowEvent::TimeUp {
            subject: TimerSubject::RoundSpeaker {
                member_id: room.fran
            },
            deadline_ms: T0 + 60_000
        }]
    );
    assert_eq!(
        room.flow().next_deadline_ms(),
        None,
        "nothing more to wake for"
    );
    assert!(room.tick(T0 + 70_000).is_empty(), "once per deadline");

    // Pausing and resuming in overrun does not fire again: the time is still up.
    room.act(fran, Request::PauseTimer, T0 + 75_000);
    assert!(room.timer().time_up_sent);
    room.act(fran, Request::ResumeTimer, T0 + 80_000);
    assert!(room.tick(T0 + 81_000).is_empty());

    // Resumed at 80 s with 15 s of overrun, the deadline is 65 s; 30 s more at 90 s puts it
    // in the future again (95 s), and that new deadline fires once again.
    room.act(fran, Request::ExtendTimer { delta_ms: 30_000 }, T0 + 90_000);
    assert_eq!(room.flow().next_deadline_ms(), Some(T0 + 95_000));
    assert!(room.tick(T0 + 94_999).is_empty());
    assert_eq!(room.tick(T0 + 95_500).len(), 1);
    assert!(room.tick(T0 + 120_000).is_empty());
}

#[test]
fn a_request_after_a_missed_deadline_sends_time_up_first() {
    let mut room = Room::new();
    let fran = room.fran;
    room.act(fran, start_round(60_000, false), T0);
    // The pause arrives after the deadline, before the actor woke up.
    let events = room.act(fran, Request::PauseTimer, T0 + 61_000);
    assert!(matches!(
        events[0],
        RoomEvent::Flow {
            event: FlowEvent::TimeUp { deadline_ms, .. }
        } if deadline_ms == T0 + 60_000
    ));
    assert_eq!(room.timer().remaining_ms(T0 + 61_000), -1_000);
    assert!(
        room.tick(T0 + 62_000).is_empty(),
        "time_up was sent already"
    );
}

#[test]
fn a_round_goes_through_next_skip_back_and_end_recording_talk_time() {
    let mut room = Room::new();
    let (fran, ann, bob, cat, olga) = (room.fran, room.ann, room.bob, room.cat, room.olga);
    room.act(fran, start_round(4 * MINUTE, false), T0);
    let round = room.flow().round.clone().unwrap();
    let order: Vec<MemberId> = round.speakers.iter().map(|s| s.member_id).collect();
    assert_eq!(
        order,
        vec![fran, ann, bob, cat],
        "present members, observers excluded"
    );
    assert!(!order.contains(&olga));
    assert_eq!(room.speaker_status(fran), SpeakerStatus::Speaking);

    // Reorder the waiting speakers: Cat before Ann and Bob.
    room.act(
        fran,
        Request::ReorderSpeakers {
            order: vec![cat, ann, bob],
        },
        T0 + 1_000,
    );
    assert_eq!(
        room.try_act(
            fran,
            Request::ReorderSpeakers {
                order: vec![cat, ann]
            },
            T0 + 1_000
        ),
        Err(ErrorCode::Invalid),
        "the order must list every waiting speaker"
    );

    // Fran talks 3 minutes, then Cat 5 minutes (1 minute over).
    room.act(fran, Request::NextSpeaker, T0 + 3 * MINUTE);
    assert_eq!(room.speaker_status(fran), SpeakerStatus::Done);
    assert_eq!(room.speaker_status(cat), SpeakerStatus::Speaking);
    room.act(fran, Request::NextSpeaker, T0 + 8 * MINUTE);
    // Ann is absent: skipped without a turn.
    room.act(
        fran,
        Request::SkipSpeaker { member_id: None },
        T0 + 8 * MINUTE,
    );
    assert_eq!(room.speaker_status(ann), SpeakerStatus::Skipped);
    assert_eq!(room.speaker_status(bob), SpeakerStatus::Speaking);
    // Back: Ann arrived after all. Bob (who spoke 10 s) waits again, Ann speaks.
    room.act(fran, Request::PreviousSpeaker, T0 + 8 * MINUTE + 10_000);
    assert_eq!(room.speaker_status(ann), SpeakerStatus::Speaking);
    assert_eq!(room.speaker_status(bob), SpeakerStatus::Waiting);
    assert_eq!(
        room.timer().remaining_ms(T0 + 8 * MINUTE + 10_000),
        (4 * MINUTE) as i64,
        "a fresh time box"
    );
    room.act(fran, Request::NextSpeaker, T0 + 10 * MINUTE);
    assert_eq!(room.speaker_status(bob), SpeakerStatus::Speaking);
    room.act(fran, Request::NextSpeaker, T0 + 12 * MINUTE);
    assert!(
        room.flow().timer.is_none(),
        "nobody is left: the timer stops"
    );
    assert_eq!(
        room.try_act(fran, Request::NextSpeaker, T0 + 12 * MINUTE),
        Err(ErrorCode::Conflict)
    );

    let talk = |member_id: MemberId| {
        let round = room.flow().round.as_ref().unwrap();
        round
            .speakers
            .iter()
            .find(|s| s.member_id == member_id)
            .unwrap()
            .talk_ms
    };
    assert_eq!(talk(fran), 3 * MINUTE);
    assert_eq!(talk(cat), 5 * MINUTE);
    assert_eq!(talk(ann), 2 * MINUTE - 10_000);
    assert_eq!(talk(bob), 10_000 + 2 * MINUTE);
    let cat_total = room
        .flow()
        .talk_times
        .iter()
        .find(|t| t.member_id == cat)
        .copied()
        .unwrap();
    assert_eq!(
        (cat_total.talk_ms, cat_total.turns, cat_total.overrun_ms),
        (5 * MINUTE, 1, MINUTE)
    );

    room.act(fran, Request::EndRound, T0 + 13 * MINUTE);
    assert!(room.flow().round.is_none());
    assert_eq!(
        room.flow().talk_times.len(),
        4,
        "talk times outlive the round"
    );
}

#[test]
fn auto_advance_moves_on_at_time_up_and_counts_talk_to_the_deadline() {
    let mut room = Room::new();
    let (fran, ann) = (room.fran, room.ann);
    room.act(fran, start_round(2 * MINUTE, true), T0);
    // The room wakes 3 s late (a restart, say): the turn still ended at the deadline.
    let events = room.tick(T0 + 2 * MINUTE + 3_000);
    assert!(matches!(events[0], FlowEvent::TimeUp { .. }));
    assert_eq!(room.speaker_status(fran), SpeakerStatus::Done);
    assert_eq!(room.speaker_status(ann), SpeakerStatus::Speaking);
    assert_eq!(room.flow().talk_times[0].talk_ms, 2 * MINUTE);
    assert_eq!(
        room.flow().next_deadline_ms(),
        Some(T0 + 4 * MINUTE + 3_000)
    );

    // Turning auto-advance off leaves the next speaker in overrun.
    room.act(
        fran,
        Request::SetAutoAdvance {
            auto_advance: false,
        },
        T0 + 3 * MINUTE,
    );
    room.tick(T0 + 5 * MINUTE);
    assert_eq!(room.speaker_status(ann), SpeakerStatus::Speaking);
    assert!(room.timer().time_up_sent);
}

#[test]
fn only_facilitators_run_the_clock_the_round_and_the_agenda() {
    let mut room = Room::new();
    let (fran, ann) = (room.fran, room.ann);
    let facilitator_only = [
        start_round(MINUTE, false),
        Request::AddAgendaItem {
            item: draft("Pipeline review", AgendaItemKind::Discussion),
            position: None,
        },
        Request::RemoveAgendaItem { item_id: 1 },
        Request::SetCurrentAgendaItem { item_id: 1 },
        Request::MarkAgendaItemDone { item_id: 1 },
        Request::SaveAgendaAsTemplate,
        Request::ClearHands,
        Request::CallNextSpeaker {
            time_box_ms: None,
            member_id: None,
        },
        Request::StartProblemPhase {
            item_id: 3,
            phase: ProblemPhase::Present,
            time_box_ms: None,
        },
    ];
    for request in facilitator_only {
        assert_eq!(
            room.try_act(ann, request.clone(), T0),
            Err(ErrorCode::Forbidden),
            "{request:?}"
        );
    }
    room.act(fran, start_round(MINUTE, false), T0);
    for request in [
        Request::PauseTimer,
        Request::ResumeTimer,
        Request::ExtendTimer { delta_ms: 1_000 },
        Request::NextSpeaker,
        Request::SkipSpeaker { member_id: None },
        Request::PreviousSpeaker,
        Request::ShuffleSpeakers,
        Request::EndRound,
    ] {
        assert_eq!(
            room.try_act(ann, request.clone(), T0 + 1_000),
            Err(ErrorCode::Forbidden),
            "{request:?}"
        );
    }
}

#[test]
fn members_proposals_need_acceptance() {
    let mut room = Room::new();
    let (fran, ann, olga) = (room.fran, room.ann, room.olga);
    let items_before = room.flow().agenda.len();
    room.act(
        ann,
        Request::ProposeAgendaItem {
            item: draft("Pricing objections", AgendaItemKind::Discussion),
        },
        T0,
    );
    assert_eq!(
        room.flow().agenda.len(),
        items_before,
        "a proposal is not an item"
    );
    assert_eq!(room.flow().proposals.len(), 1);
    assert_eq!(
        room.try_act(
            olga,
            Request::ProposeAgendaItem {
                item: draft("Watching", AgendaItemKind::Discussion)
            },
            T0
        ),
        Err(ErrorCode::Forbidden)
    );
    let proposal_id = room.flow().proposals[0].proposal_id;
    assert_eq!(
        room.try_act(
            ann,
            Request::AcceptProposal {
                proposal_id,
                position: None
            },
            T0
        ),
        Err(ErrorCode::Forbidden)
    );
    room.act(
        fran,
        Request::AcceptProposal {
            proposal_id,
            position: Some(0),
        },
        T0,
    );
    let first = &room.flow().agenda[0];
    assert_eq!(first.title, "Pricing objections");
    assert_eq!(first.origin, AgendaItemOrigin::Proposed);
    assert!(room.flow().proposals.is_empty());

    room.act(
        ann,
        Request::ProposeAgendaItem {
            item: draft("Golf", AgendaItemKind::Discussion),
        },
        T0,
    );
    let proposal_id = room.flow().proposals[0].proposal_id;
    room.act(fran, Request::DeclineProposal { proposal_id }, T0);
    assert!(room.flow().proposals.is_empty());
    assert_eq!(room.flow().agenda.len(), items_before + 1);
    assert_eq!(
        room.try_act(fran, Request::DeclineProposal { proposal_id }, T0),
        Err(ErrorCode::NotFound)
    );
}

#[test]
fn agenda_edits_check_their_input_and_limits() {
    let mut room = Room::new();
    let fran = room.fran;
    let add = |title: &str| Request::AddAgendaItem {
        item: draft(title, AgendaItemKind::Discussion),
        position: None,
    };
    assert_eq!(room.try_act(fran, add("  "), T0), Err(ErrorCode::Invalid));
    assert_eq!(
        room.try_act(
            fran,
            add(&"x".repeat(FlowLimits::AGENDA_TITLE_CHARS_MAX + 1)),
            T0
        ),
        Err(ErrorCode::Invalid)
    );
    let mut zero = draft("Zero", AgendaItemKind::Discussion);
    zero.time_box_ms = 0;
    assert_eq!(
        room.try_act(
            fran,
            Request::AddAgendaItem {
                item: zero,
                position: None
            },
            T0
        ),
        Err(ErrorCode::Invalid)
    );
    let mut stranger = draft("Stranger's item", AgendaItemKind::Discussion);
    stranger.owner = Some(MemberId::random());
    assert_eq!(
        room.try_act(
            fran,
            Request::AddAgendaItem {
                item: stranger,
                position: None
            },
            T0
        ),
        Err(ErrorCode::NotFound)
    );
    assert_eq!(
        room.try_act(
            fran,
            Request::AddAgendaItem {
                item: draft("Far", AgendaItemKind::Discussion),
                position: Some(99)
            },
            T0
        ),
        Err(ErrorCode::Invalid)
    );
    while room.flow().agenda.len() < FlowLimits::AGENDA_ITEMS_MAX {
        room.act(fran, add("Filler"), T0);
    }
    assert_eq!(
        room.try_act(fran, add("One too many"), T0),
        Err(ErrorCode::LimitReached)
    );

    // Reorder needs every item once; current and done move items along.
    let mut order: Vec<u32> = room.flow().agenda.iter().map(|item| item.item_id).collect();
    order.reverse();
    room.act(
        fran,
        Request::ReorderAgenda {
            order: order.clone(),
        },
        T0,
    );
    assert_eq!(room.flow().agenda[0].item_id, order[0]);
    order.pop();
    assert_eq!(
        room.try_act(fran, Request::ReorderAgenda { order }, T0),
        Err(ErrorCode::Invalid)
    );
    room.act(fran, Request::SetCurrentAgendaItem { item_id: 1 }, T0);
    room.act(fran, Request::SetCurrentAgendaItem { item_id: 2 }, T0);
    assert_eq!(
        room.flow().item(1).unwrap().status,
        AgendaItemStatus::Pending
    );
    assert_eq!(
        room.flow().item(2).unwrap().status,
        AgendaItemStatus::Current
    );
    room.act(fran, Request::MarkAgendaItemDone { item_id: 2 }, T0);
    assert_eq!(room.flow().item(2).unwrap().status, AgendaItemStatus::Done);
    room.act(fran, Request::RemoveAgendaItem { item_id: 2 }, T0);
    assert!(room.flow().item(2).is_none());
    assert_eq!(
        room.try_act(fran, Request::RemoveAgendaItem { item_id: 2 }, T0),
        Err(ErrorCode::NotFound)
    );
}

#[test]
fn a_new_group_starts_from_the_default_template_and_can_save_its_own() {
    let mut room = Room::new();
    let fran = room.fran;
    let kinds: Vec<AgendaItemKind> = room.flow().agenda.iter().map(|item| item.kind).collect();
    assert_eq!(
        kinds,
        vec![
            AgendaItemKind::Round,
            AgendaItemKind::ReportBack,
            AgendaItemKind::Problem,
            AgendaItemKind::RolePlay,
            AgendaItemKind::Benchmarks,
            AgendaItemKind::BestPractices,
            AgendaItemKind::Commitments,
        ]
    );
    assert_eq!(room.flow().template, default_template());
    assert!(
        room.flow()
            .agenda
            .iter()
            .all(|item| item.origin == AgendaItemOrigin::Template)
    );
    room.act(fran, Request::RemoveAgendaItem { item_id: 4 }, T0);
    room.act(
        fran,
        Request::AddAgendaItem {
            item: draft("Quarter planning", AgendaItemKind::Discussion),
            position: Some(0),
        },
        T0,
    );
    room.act(fran, Request::SaveAgendaAsTemplate, T0);
    assert_eq!(room.flow().template.len(), 7);
    assert_eq!(room.flow().template[0].title, "Quarter planning");
    assert!(
        room.flow()
            .template
            .iter()
            .all(|item| item.kind != AgendaItemKind::RolePlay)
    );
    assert!(
        room.act(fran, Request::SaveAgendaAsTemplate, T0).is_empty(),
        "same template"
    );
}

#[test]
fn the_next_meeting_starts_from_the_template_with_unfinished_items_carried_over() {
    let template = default_template();
    let mut previous = next_meeting_agenda(&template, &[], 40).items;
    let owner = MemberId::random();
    let extra = |item_id, title: &str, status| AgendaItem {
        item_id,
        title: title.into(),
        kind: AgendaItemKind::Problem,
        time_box_ms: 20 * MINUTE,
        owner: Some(owner),
        notes: "Deal with Acme".into(),
        status,
        spent_ms: 5 * MINUTE,
        current_since_ms: (status == AgendaItemStatus::Current).then_some(T0),
        origin: AgendaItemOrigin::Added,
        problem: Some(wire::ProblemInfo {
            presenter: owner,
            phase: ProblemPhase::Clarify,
            suggestions: Vec::new(),
            chosen: Vec::new(),
        }),
    };
    previous.push(extra(8, "Acme stuck", AgendaItemStatus::Current));
    previous.push(extra(9, "Finished", AgendaItemStatus::Done));
    // An unfinished template item is not carried: the template brings it back.
    previous[0].status = AgendaItemStatus::Current;

    let next = next_meeting_agenda(&template, &previous, 40);
    assert_eq!(next.dropped, 0);
    let titles: Vec<&str> = next.items.iter().map(|item| item.title.as_str()).collect();
    assert_eq!(
        titles,
        vec![
            "Check-in round",
            "Report back",
            "Bring a problem",
            "Role play",
            "Benchmarks",
            "Best practices",
            "Acme stuck",
            "New commitments"
        ],
        "carried items go before the closing commitments"
    );
    let carried = &next.items[6];
    assert_eq!(carried.origin, AgendaItemOrigin::Carried);
    assert_eq!(carried.status, AgendaItemStatus::Pending);
    assert_eq!(carried.owner, Some(owner));
    assert_eq!(carried.problem, None, "the protocol starts over");
    assert_eq!(
        (carried.spent_ms, carried.current_since_ms),
        (0, None),
        "and so does its clock"
    );
    let ids: Vec<u32> = next.items.iter().map(|item| item.item_id).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<u32>>());
    assert!(
        next.items
            .iter()
            .all(|item| item.status == AgendaItemStatus::Pending)
    );

    // The limit holds; what did not fit is counted, not lost silently.
    let small = next_meeting_agenda(&template, &previous, 7);
    assert_eq!(small.items.len(), 7);
    assert_eq!(small.dropped, 1);
    let tiny = next_meeting_agenda(&template, &previous, 3);
    assert_eq!(tiny.items.len(), 3);
    assert_eq!(tiny.dropped, 1);

    // Carried items stay carried the week after.
    let week_after = next_meeting_agenda(&template, &next.items, 40);
    assert_eq!(week_after.items.len(), 8);
}

#[test]
fn the_bring_a_problem_protocol_runs_its_phases() {
    let mut room = Room::new();
    let (fran, ann, bob, cat, olga) = (room.fran, room.ann, room.bob, room.cat, room.olga);
    let problem_id = 3;
    let phase = |phase, time_box_ms| Request::StartProblemPhase {
        item_id: problem_id,
        phase,
        time_box_ms,
    };
    assert_eq!(
        room.try_act(fran, phase(ProblemPhase::Present, None), T0),
        Err(ErrorCode::Conflict),
        "no presenter yet"
    );
    assert_eq!(
        room.try_act(
            fran,
            Request::StartProblemPhase {
                item_id: 1,
                phase: ProblemPhase::Present,
                time_box_ms: None
            },
            T0
        ),
        Err(ErrorCode::Conflict),
        "item 1 is a round, not a problem"
    );
    let mut item = draft("Acme renewal", AgendaItemKind::Problem);
    item.owner = Some(ann);
    room.act(
        fran,
        Request::EditAgendaItem {
            item_id: problem_id,
            item,
        },
        T0,
    );

    room.act(fran, phase(ProblemPhase::Present, Some(3 * MINUTE)), T0);
    assert_eq!(
        room.flow().item(problem_id).unwrap().status,
        AgendaItemStatus::Current
    );
    assert_eq!(
        room.timer().subject,
        TimerSubject::ProblemPhase {
            item_id: problem_id,
            phase: ProblemPhase::Present
        }
    );
    assert_eq!(room.timer().remaining_ms(T0), (3 * MINUTE) as i64);
    let suggest = |text: &str| Request::AddSuggestion {
        item_id: problem_id,
        text: text.into(),
    };
    assert_eq!(
        room.try_act(bob, suggest("Call the CFO"), T0),
        Err(ErrorCode::Conflict)
    );

    room.act(fran, phase(ProblemPhase::Clarify, None), T0 + 3 * MINUTE);
    assert_eq!(
        room.timer().remaining_ms(T0 + 3 * MINUTE),
        super::problem::default_phase_time_box_ms(ProblemPhase::Clarify) as i64
    );
    room.act(fran, phase(ProblemPhase::Suggest, None), T0 + 8 * MINUTE);
    room.act(bob, suggest("Call the CFO"), T0 + 9 * MINUTE);
    room.act(bob, suggest("Offer a pilot"), T0 + 9 * MINUTE);
    room.act(
        cat,
        suggest("  Ask for the decision criteria \n"),
        T0 + 9 * MINUTE,
    );
    assert_eq!(
        room.try_act(ann, suggest("Me"), T0),
        Err(ErrorCode::Conflict),
        "presenter"
    );
    assert_eq!(
        room.try_act(olga, suggest("Hm"), T0),
        Err(ErrorCode::Forbidden),
        "observer"
    );
    assert_eq!(
        room.try_act(bob, suggest("   "), T0),
        Err(ErrorCode::Invalid)
    );
    assert_eq!(
        room.try_act(
            bob,
            suggest(&"x".repeat(FlowLimits::SUGGESTION_CHARS_MAX + 1)),
            T0
        ),
        Err(ErrorCode::Invalid)
    );
    let problem = room
        .flow()
        .item(problem_id)
        .unwrap()
        .problem
        .clone()
        .unwrap();
    assert_eq!(problem.presenter, ann);
    assert_eq!(problem.suggestions.len(), 3);
    assert_eq!(problem.suggestions[2].text, "Ask for the decision criteria");

    let choose = |ids: Vec<u32>| Request::ChooseSuggestions {
        item_id: problem_id,
        choices: None,
        suggestion_ids: Some(ids),
    };
    let ids: Vec<u32> = problem
        .suggestions
        .iter()
        .map(|s| s.suggestion_id)
        .collect();
    assert_eq!(
        room.try_act(ann, choose(vec![ids[0]]), T0),
        Err(ErrorCode::Conflict),
        "not yet"
    );
    room.act(fran, phase(ProblemPhase::Decide, None), T0 + 18 * MINUTE);
    assert_eq!(
        room.try_act(fran, choose(vec![ids[0]]), T0),
        Err(ErrorCode::Forbidden)
    );
    assert_eq!(
        room.try_act(ann, choose(vec![999]), T0),
        Err(ErrorCode::NotFound)
    );
    assert_eq!(
        room.try_act(ann, choose(vec![ids[0], ids[0]]), T0),
        Err(ErrorCode::Invalid)
    );
    room.act(ann, choose(vec![ids[2], ids[0]]), T0 + 19 * MINUTE);
    let problem = room
        .flow()
        .item(problem_id)
        .unwrap()
        .problem
        .clone()
        .unwrap();
    assert_eq!(problem.chosen, vec![ids[2], ids[0]]);

    // Done with the item: its phase timer stops.
    room.act(
        fran,
        Request::MarkAgendaItemDone {
            item_id: problem_id,
        },
        T0 + 20 * MINUTE,
    );
    assert!(room.flow().timer.is_none());
}

#[test]
fn the_facilitator_calls_raised_hands_with_an_optional_time_box() {
    let mut room = Room::new();
    let (fran, ann, bob, cat) = (room.fran, room.ann, room.bob, room.cat);
    assert_eq!(
        room.try_act(
            fran,
            Request::CallNextSpeaker {
                time_box_ms: None,
                member_id: None
            },
            T0
        ),
        Err(ErrorCode::Conflict),
        "nobody raised a hand"
    );
    for member in [bob, ann, cat] {
        room.act(member, Request::RaiseHand, T0);
    }
    room.act(
        fran,
        Request::CallNextSpeaker {
            time_box_ms: Some(2 * MINUTE),
            member_id: None,
        },
        T0 + 1_000,
    );
    assert_eq!(room.state.hands, vec![ann, cat]);
    assert_eq!(room.flow().floor.unwrap().member_id, bob);
    assert_eq!(
        room.timer().subject,
        TimerSubject::CalledSpeaker { member_id: bob }
    );
    assert_eq!(room.timer().remaining_ms(T0 + 1_000), (2 * MINUTE) as i64);
    // A round cannot start over a called speaker.
    assert_eq!(
        room.try_act(fran, start_round(MINUTE, false), T0 + 2_000),
        Err(ErrorCode::Conflict)
    );
    // Next without a time box: Bob's turn ends after 90 s, Ann speaks untimed.
    room.act(
        fran,
        Request::CallNextSpeaker {
            time_box_ms: None,
            member_id: None,
        },
        T0 + 91_000,
    );
    assert_eq!(room.flow().floor.unwrap().member_id, ann);
    assert!(room.flow().timer.is_none());
    assert_eq!(room.flow().talk_times[0].talk_ms, 90_000);
    room.act(fran, Request::LowerHandOf { member_id: cat }, T0 + 92_000);
    assert!(room.state.hands.is_empty());
    room.act(fran, Request::EndTurn, T0 + 151_000);
    assert!(room.flow().floor.is_none());
    let ann_talk = room
        .flow()
        .talk_times
        .iter()
        .find(|t| t.member_id == ann)
        .unwrap();
    assert_eq!(ann_talk.talk_ms, 60_000);
    room.act(bob, Request::RaiseHand, T0);
    room.act(cat, Request::RaiseHand, T0);
    room.act(fran, Request::ClearHands, T0);
    assert!(room.state.hands.is_empty());
    assert_eq!(
        room.try_act(fran, Request::EndTurn, T0),
        Err(ErrorCode::Conflict)
    );
}

#[test]
fn the_facilitator_calls_on_any_raised_hand_and_only_a_raised_one() {
    let mut room = Room::new();
    let (fran, ann, bob, cat) = (room.fran, room.ann, room.bob, room.cat);
    for member in [bob, ann] {
        room.act(member, Request::RaiseHand, T0);
    }
    let call = |member_id| Request::CallNextSpeaker {
        time_box_ms: None,
        member_id: Some(member_id),
    };
    assert_eq!(
        room.try_act(fran, call(cat), T0),
        Err(ErrorCode::Conflict),
        "Cat has not raised a hand"
    );
    assert_eq!(
        room.try_act(fran, call(MemberId::random()), T0),
        Err(ErrorCode::NotFound)
    );
    assert_eq!(
        room.try_act(ann, call(ann), T0),
        Err(ErrorCode::Forbidden),
        "only the facilitator calls on hands"
    );
    // Ann is second in the queue; the facilitator calls on her first.
    room.act(fran, call(ann), T0 + 1_000);
    assert_eq!(room.flow().floor.unwrap().member_id, ann);
    assert_eq!(room.state.hands, vec![bob]);
}

#[test]
fn a_raised_hand_lowers_itself_when_its_owner_speaks_in_a_round() {
    let mut room = Room::new();
    let (fran, ann, bob, cat) = (room.fran, room.ann, room.bob, room.cat);
    for member in [ann, bob, cat] {
        room.act(member, Request::RaiseHand, T0);
    }
    // The round's first speaker (Fran, who joined first) had no hand up; Ann, next, has.
    room.act(fran, start_round(MINUTE, true), T0);
    assert_eq!(room.state.hands, vec![ann, bob, cat]);
    let events = room.act(fran, Request::NextSpeaker, T0 + 10_000);
    assert_eq!(room.flow().round_speaker(), Some(ann));
    assert!(events.contains(&RoomEvent::HandLowered { member_id: ann }));
    assert_eq!(room.state.hands, vec![bob, cat]);
    // Auto-advance gives Bob the floor at Ann's deadline: his hand lowers with it.
    room.tick(T0 + 10_000 + MINUTE);
    assert_eq!(room.flow().round_speaker(), Some(bob));
    assert_eq!(room.state.hands, vec![cat]);
    // Back to Ann (her hand is down): nothing more to lower.
    let events = room.act(fran, Request::PreviousSpeaker, T0 + 80_000);
    assert!(
        !events
            .iter()
            .any(|event| matches!(event, RoomEvent::HandLowered { .. }))
    );
    assert_eq!(room.state.hands, vec![cat]);
}

#[test]
fn removing_the_speaker_ends_their_turn() {
    let mut room = Room::new();
    let (fran, ann) = (room.fran, room.ann);
    room.act(fran, start_round(MINUTE, false), T0);
    room.act(fran, Request::NextSpeaker, T0 + 30_000);
    room.act(fran, Request::RemoveMember { member_id: ann }, T0 + 40_000);
    assert_eq!(room.speaker_status(ann), SpeakerStatus::Skipped);
    assert!(room.flow().timer.is_none());
    assert_eq!(
        room.flow()
            .talk_times
            .iter()
            .find(|t| t.member_id == ann)
            .unwrap()
            .talk_ms,
        10_000
    );
    room.act(fran, Request::NextSpeaker, T0 + 41_000);
    assert_eq!(room.flow().round_speaker(), Some(room.bob));
}

#[test]
fn events_round_trip_through_the_log_format() {
    let mut room = Room::new();
    let fran = room.fran;
    room.act(fran, start_round(MINUTE, true), T0);
    room.tick(T0 + MINUTE);
    for (at_ms, event) in &room.log {
        let stored = crate::state::StoredEvent {
            at_ms: *at_ms,
            event: event.clone(),
        };
        let back = crate::stored::decode_event(&crate::stored::encode_event(&stored)).unwrap();
        assert_eq!((back.at_ms, &back.event), (*at_ms, event));
    }
    let state_bytes = crate::stored::encode_snapshot(&room.state);
    let back = crate::stored::decode_snapshot(&state_bytes).unwrap();
    assert_eq!(back, room.state.as_loaded());
}

// ---------------------------------------------------------------------------------------------
// Property test: random facilitator and member commands with time passing.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Command {
    Start { time_box_s: u64, auto: bool },
    Next,
    Skip { of: Option<usize> },
    Back,
    End,
    Pause,
    Resume,
    Extend { delta_s: i64 },
    Auto(bool),
    Shuffle,
    Raise(usize),
    Call { time_box_s: Option<u64> },
    CallOn(usize),
    LowerOf(usize),
    ClearHands,
    EndTurn,
    Problem(ProblemPhase),
    Suggest(usize),
    Choose,
    AddItem { at: Option<u32> },
    RemoveItem(usize),
    CurrentItem(usize),
    DoneItem(usize),
    RotateAgenda,
    Propose(usize),
    Accept,
    Restore(usize),
    Wait { ms: u64 },
}

fn command() -> impl Strategy<Value = Command> {
    let phase = prop_oneof![
        Just(ProblemPhase::Present),
        Just(ProblemPhase::Clarify),
        Just(ProblemPhase::Suggest),
        Just(ProblemPhase::Decide)
    ];
    prop_oneof![
        (1u64..120, any::<bool>())
            .prop_map(|(time_box_s, auto)| Command::Start { time_box_s, auto }),
        Just(Command::Next),
        prop::option::of(0usize..5).prop_map(|of| Command::Skip { of }),
        Just(Command::Back),
        Just(Command::End),
        Just(Command::Pause),
        Just(Command::Resume),
        (-200i64..200).prop_map(|delta_s| Command::Extend { delta_s }),
        any::<bool>().prop_map(Command::Auto),
        Just(Command::Shuffle),
        (0usize..5).prop_map(Command::Raise),
        prop::option::of(1u64..120).prop_map(|time_box_s| Command::Call { time_box_s }),
        (0usize..5).prop_map(Command::CallOn),
        (0usize..5).prop_map(Command::LowerOf),
        Just(Command::ClearHands),
        Just(Command::EndTurn),
        phase.prop_map(Command::Problem),
        (0usize..5).prop_map(Command::Suggest),
        Just(Command::Choose),
        prop::option::of(0u32..12).prop_map(|at| Command::AddItem { at }),
        (0usize..12).prop_map(Command::RemoveItem),
        (0usize..12).prop_map(Command::CurrentItem),
        (0usize..12).prop_map(Command::DoneItem),
        Just(Command::RotateAgenda),
        (0usize..5).prop_map(Command::Propose),
        Just(Command::Accept),
        (0usize..5).prop_map(Command::Restore),
        (0u64..150_000).prop_map(|ms| Command::Wait { ms }),
        (0u64..150_000).prop_map(|ms| Command::Wait { ms }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random sessions with time passing and the actor's wake-ups: every invariant holds after
    /// every step; refused commands change nothing; remaining time is negative only as an
    /// overrun that `time_up` has announced; while the timer runs for a round exactly one
    /// speaker is speaking; each member speaks at most once per round unless sent back; time
    /// up fires once per deadline; whoever is given the floor (called on from the queue, or a
    /// round's speaker) has no hand up; and folding the log rebuilds the state.
    #[test]
    fn random_meeting_flows_keep_every_invariant(commands in prop::collection::vec(command(), 1..80)) {
        let mut room = Room::new();
        // Give the problem item a presenter.
        let mut item = draft("Acme", AgendaItemKind::Problem);
        item.owner = Some(room.ann);
        room.act(room.fran, Request::EditAgendaItem { item_id: 3, item }, T0);
        let initial = {
            let mut replay_from = room.state.clone();
            replay_from.seq = 0;
            replay_from
        };
        let log_start = room.log.len();
        let people = [room.fran, room.ann, room.bob, room.cat, room.olga];
        let mut now = T0;
        // Per round: how often each member was given the floor, and sent back to.
        let mut speaking_turns: std::collections::BTreeMap<MemberId, u32> = Default::default();
        let mut sent_back: std::collections::BTreeMap<MemberId, u32> = Default::default();
        for command in commands {
            let fran = room.fran;
            let request = match command {
                Command::Wait { ms } => {
                    // The actor wakes at each deadline on the way.
                    let until = now + ms;
                    while let Some(deadline) = room.flow().next_deadline_ms().filter(|d| *d <= until) {
                        now = now.max(deadline);
                        let events = room.tick(now);
                        prop_assert!(!events.is_empty(), "a due deadline yields time_up");
                        for event in &events {
                            if let FlowEvent::RoundSpeakerChanged { member_id, status: SpeakerStatus::Speaking } = event {
                                *speaking_turns.entry(*member_id).or_default() += 1;
                            }
                        }
                    }
                    now = until;
                    None
                }
                Command::Start { time_box_s, auto } => Some((fran, start_round(time_box_s * 1_000, auto))),
                Command::Next => Some((fran, Request::NextSpeaker)),
                Command::Skip { of } => Some((fran, Request::SkipSpeaker { member_id: of.map(|i| people[i]) })),
                Command::Back => Some((fran, Request::PreviousSpeaker)),
                Command::Restore(of) => Some((fran, Request::RestoreSpeaker { member_id: people[of] })),
                Command::End => Some((fran, Request::EndRound)),
                Command::Pause => Some((fran, Request::PauseTimer)),
                Command::Resume => Some((fran, Request::ResumeTimer)),
                Command::Extend { delta_s } => Some((fran, Request::ExtendTimer { delta_ms: delta_s * 1_000 })),
                Command::Auto(on) => Some((fran, Request::SetAutoAdvance { auto_advance: on })),
                Command::Shuffle => Some((fran, Request::ShuffleSpeakers)),
                Command::Raise(of) => Some((people[of], Request::RaiseHand)),
                Command::Call { time_box_s } => Some((fran, Request::CallNextSpeaker { time_box_ms: time_box_s.map(|s| s * 1_000), member_id: None })),
                Command::CallOn(of) => Some((fran, Request::CallNextSpeaker { time_box_ms: None, member_id: Some(people[of]) })),
                Command::LowerOf(of) => Some((fran, Request::LowerHandOf { member_id: people[of] })),
                Command::ClearHands => Some((fran, Request::ClearHands)),
                Command::EndTurn => Some((fran, Request::EndTurn)),
                Command::Problem(phase) => Some((fran, Request::StartProblemPhase { item_id: 3, phase, time_box_ms: Some(60_000) })),
                Command::Suggest(of) => Some((people[of], Request::AddSuggestion { item_id: 3, text: "Try this".into() })),
                Command::Choose => {
                    let first = room.flow().item(3).and_then(|item| item.problem.as_ref()).and_then(|p| p.suggestions.first()).map(|s| s.suggestion_id);
                    let choices = first.map(|suggestion_id| vec![SuggestionChoice { suggestion_id, text: Some("Try this, edited".into()) }]);
                    Some((room.ann, Request::ChooseSuggestions { item_id: 3, choices, suggestion_ids: None }))
                }
                Command::AddItem { at } => Some((fran, Request::AddAgendaItem { item: draft("Extra", AgendaItemKind::Discussion), position: at })),
                Command::RemoveItem(index) | Command::CurrentItem(index) | Command::DoneItem(index) => {
                    let agenda = &room.flow().agenda;
                    let item_id = agenda.get(index % agenda.len().max(1)).map_or(999, |item| item.item_id);
                    Some((fran, match command {
                        Command::RemoveItem(_) => Request::RemoveAgendaItem { item_id },
                        Command::CurrentItem(_) => Request::SetCurrentAgendaItem { item_id },
                        _ => Request::MarkAgendaItemDone { item_id },
                    }))
                }
                Command::RotateAgenda => {
                    let mut order: Vec<u32> = room.flow().agenda.iter().map(|item| item.item_id).collect();
                    if !order.is_empty() {
                        order.rotate_left(1);
                    }
                    Some((fran, Request::ReorderAgenda { order }))
                }
                Command::Propose(of) => Some((people[of], Request::ProposeAgendaItem { item: draft("Idea", AgendaItemKind::Discussion) })),
                Command::Accept => {
                    let first = room.flow().proposals.first().map_or(999, |p| p.proposal_id);
                    Some((fran, Request::AcceptProposal { proposal_id: first, position: None }))
                }
            };
            let Some((by, request)) = request else { continue };
            // Putting a skipped speaker back lets them speak again, as "back" does.
            let is_back = matches!(request, Request::PreviousSpeaker | Request::RestoreSpeaker { .. });
            let gives_floor = matches!(request, Request::CallNextSpeaker { .. } | Request::NextSpeaker | Request::StartRound { .. });
            let is_start = matches!(request, Request::StartRound { .. });
            let Ok(events) = room.try_act(by, request, now) else { continue };
            if is_start {
                speaking_turns.clear();
                sent_back.clear();
            }
            for event in &events {
                if let RoomEvent::Flow { event: FlowEvent::RoundSpeakerChanged { member_id, status } } = event {
                    if *status == SpeakerStatus::Speaking {
                        *speaking_turns.entry(*member_id).or_default() += 1;
                    }
                    // "Back" sends two speakers back: the previous one gets the floor again,
                    // and the interrupted one waits to speak again.
                    if is_back && matches!(status, SpeakerStatus::Speaking | SpeakerStatus::Waiting) {
                        *sent_back.entry(*member_id).or_default() += 1;
                    }
                }
            }
            let flow = room.flow();
            // A hand lowers itself when its owner gets the floor, from the queue or in a round.
            if gives_floor {
                let speaker = flow.floor.map(|floor| floor.member_id).or(flow.round_speaker());
                if let Some(speaker) = speaker {
                    prop_assert!(!room.state.hands.contains(&speaker), "{} has the floor with a hand up", speaker);
                }
            }
            if let Some(timer) = flow.timer {
                if timer.remaining_ms(now) < 0 && timer.is_running() {
                    prop_assert!(timer.time_up_sent || timer.pending_deadline_ms().is_some_and(|d| d <= now),
                        "negative remaining time is an overrun");
                }
                if let TimerRun::Paused { remaining_ms } = timer.run {
                    prop_assert!(remaining_ms >= 0 || timer.time_up_sent, "paused below zero only in overrun");
                }
                if let TimerSubject::RoundSpeaker { member_id } = timer.subject {
                    prop_assert_eq!(flow.round_speaker(), Some(member_id), "exactly one current speaker while timed");
                }
            }
            for (member_id, turns) in &speaking_turns {
                let backs = sent_back.get(member_id).copied().unwrap_or(0);
                prop_assert!(*turns <= 1 + backs, "{} spoke {} times with {} backs", member_id, turns, backs);
            }
        }
        // Let everything run out: each deadline fires exactly once.
        while let Some(deadline) = room.flow().next_deadline_ms() {
            now = now.max(deadline);
            room.tick(now);
        }
        for event in &room.log[log_start..] {
            if let (at, RoomEvent::Flow { event: FlowEvent::TimeUp { deadline_ms, .. } }) = event {
                prop_assert!(*deadline_ms <= *at, "time_up never comes early");
            }
        }
        let mut replayed = initial;
        for (index, (at_ms, event)) in room.log[log_start..].iter().enumerate() {
            replayed.apply(index as u64 + 1, *at_ms, event);
        }
        replayed.seq = room.state.seq;
        prop_assert_eq!(replayed, room.state, "folding the log rebuilds the state");
    }
}

#[test]
fn the_next_meeting_starts_from_the_template_and_carries_this_meetings_unfinished_items() {
    let mut room = Room::new();
    let (fran, ann) = (room.fran, room.ann);
    room.act(
        fran,
        Request::AddAgendaItem {
            item: draft("Pipeline review", AgendaItemKind::Discussion),
            position: Some(0),
        },
        T0,
    );
    room.act(
        fran,
        Request::AddAgendaItem {
            item: draft("Done already", AgendaItemKind::Discussion),
            position: None,
        },
        T0,
    );
    let done_id = room.flow().agenda.last().unwrap().item_id;
    room.act(fran, Request::MarkAgendaItemDone { item_id: done_id }, T0);
    room.act(
        ann,
        Request::ProposeAgendaItem {
            item: draft("Golf", AgendaItemKind::Discussion),
        },
        T0,
    );
    room.act(fran, start_round(MINUTE, false), T0);
    room.act(fran, Request::NextSpeaker, T0 + 30_000);

    let events = crate::state::decide_next_meeting(&room.state, fran, MeetingId::random()).unwrap();
    room.apply(&events, T0 + MINUTE);
    let flow = room.flow();
    let titles: Vec<&str> = flow.agenda.iter().map(|item| item.title.as_str()).collect();
    assert_eq!(titles.len(), 8);
    assert_eq!(
        titles[6], "Pipeline review",
        "carried before the commitments"
    );
    assert_eq!(flow.agenda[6].origin, AgendaItemOrigin::Carried);
    assert!(!titles.contains(&"Done already"));
    assert!(
        flow.agenda
            .iter()
            .all(|item| item.status == AgendaItemStatus::Pending)
    );
    assert_eq!(flow.next_item_id, 9);
    assert!(flow.round.is_none() && flow.timer.is_none() && flow.floor.is_none());
    assert!(flow.talk_times.is_empty());
    assert_eq!(
        flow.proposals.len(),
        1,
        "open proposals wait for the next meeting"
    );
    assert_eq!(flow.template, default_template());
}

#[path = "progress_tests.rs"]
mod progress_tests;

#[path = "restore_choose_tests.rs"]
mod restore_choose;
