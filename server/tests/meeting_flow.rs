//! The meeting flow over real WebSockets against a real server on 127.0.0.1: agenda and
//! proposals, the server's timer seen identically by every client, `time_up` without anyone
//! acting, a running timer across a server restart, the speaker queue and a problem.

mod support;

use std::time::Duration;

use roundtable_protocol::{
    AgendaItemDraft, AgendaItemKind, AgendaItemOrigin, ErrorCode, Event, EventFrame, ProblemPhase,
    Request, ServerMessage, SpeakerStatus, SuggestionChoice, TimerInfo, TimerState, TimerSubject,
};
use support::{TestClient, TestServer, create_group};

fn draft(title: &str) -> AgendaItemDraft {
    AgendaItemDraft {
        title: title.into(),
        kind: AgendaItemKind::Discussion,
        time_box_ms: 600_000,
        owner: None,
        notes: String::new(),
    }
}

/// The first event after `seen` that matches, whether it already arrived (read on the way to
/// an ack) or is still to come; moves `seen` past it so events are taken in order.
async fn take(
    client: &mut TestClient,
    seen: &mut u64,
    wanted: impl Fn(&EventFrame) -> bool,
) -> EventFrame {
    let after = *seen;
    let frame = match client
        .events()
        .into_iter()
        .find(|frame| frame.seq > after && wanted(frame))
    {
        Some(frame) => frame,
        None => {
            client
                .event_where(|frame| frame.seq > after && wanted(frame))
                .await
        }
    };
    *seen = frame.seq;
    frame
}

fn timer_set(frame: &EventFrame) -> Option<Option<TimerInfo>> {
    match &frame.event {
        Event::TimerSet { timer } => Some(timer.clone()),
        _ => None,
    }
}

fn is_timer_set(frame: &EventFrame) -> bool {
    timer_set(frame).is_some()
}

fn is_time_up(frame: &EventFrame) -> bool {
    matches!(frame.event, Event::TimeUp { .. })
}

fn deadline_of(timer: &TimerInfo) -> u64 {
    match timer.state {
        TimerState::Running { deadline_ms } => deadline_ms,
        TimerState::Paused { .. } => panic!("the timer runs"),
    }
}

#[tokio::test]
async fn only_the_facilitator_runs_the_agenda_and_the_clock_and_proposals_need_acceptance() {
    let mut fran_seen = 0;
    let mut ann_seen = 0;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::connect(server.addr).await;
    let snapshot = fran.join_as_facilitator(&group, "Fran").await;
    fran.start_meeting().await;
    // The first meeting starts from the default template.
    assert_eq!(snapshot.flow.agenda.len(), 7);
    assert_eq!(snapshot.flow.agenda[0].kind, AgendaItemKind::Round);
    assert_eq!(snapshot.flow.agenda_template.len(), 7);
    assert!(snapshot.flow.timer.is_none());
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;

    for request in [
        Request::AddAgendaItem {
            item: draft("Mine"),
            position: None,
        },
        Request::RemoveAgendaItem { item_id: 1 },
        Request::SetCurrentAgendaItem { item_id: 1 },
        Request::SaveAgendaAsTemplate,
        Request::StartRound {
            speaker_time_box_ms: 60_000,
            auto_advance: false,
            speakers: None,
            item_id: None,
        },
        Request::PauseTimer,
        Request::ExtendTimer { delta_ms: 60_000 },
        Request::ClearHands,
    ] {
        ann.fails(request, ErrorCode::Forbidden).await;
    }

    // Ann proposes; the agenda does not change until Fran accepts.
    ann.ok(Request::ProposeAgendaItem {
        item: draft("Pricing objections"),
    })
    .await;
    let proposed = take(&mut fran, &mut fran_seen, |frame| {
        matches!(frame.event, Event::AgendaItemProposed { .. })
    })
    .await;
    let Event::AgendaItemProposed { proposal } = proposed.event else {
        unreachable!()
    };
    assert_eq!(Some(proposal.proposed_by), ann.member_id);
    ann.fails(
        Request::AcceptProposal {
            proposal_id: proposal.proposal_id,
            position: None,
        },
        ErrorCode::Forbidden,
    )
    .await;
    fran.ok(Request::AcceptProposal {
        proposal_id: proposal.proposal_id,
        position: Some(1),
    })
    .await;
    let added = take(&mut ann, &mut ann_seen, |frame| {
        matches!(frame.event, Event::AgendaItemAdded { .. })
    })
    .await;
    let Event::AgendaItemAdded { item, position } = added.event else {
        unreachable!()
    };
    assert_eq!((item.title.as_str(), position), ("Pricing objections", 1));
    assert_eq!(item.origin, AgendaItemOrigin::Proposed);

    fran.ok(Request::SetCurrentAgendaItem {
        item_id: item.item_id,
    })
    .await;
    take(&mut ann, &mut ann_seen, |frame| {
        matches!(frame.event, Event::AgendaItemStatusChanged { .. })
    })
    .await;
    fran.ok(Request::SaveAgendaAsTemplate).await;
    take(
        &mut ann,
        &mut ann_seen,
        |frame| matches!(&frame.event, Event::AgendaTemplateSaved { items } if items.len() == 8),
    )
    .await;
    // Bad input gets a typed error and changes nothing.
    fran.fails(
        Request::AddAgendaItem {
            item: draft(""),
            position: None,
        },
        ErrorCode::Invalid,
    )
    .await;
    fran.fails(Request::PauseTimer, ErrorCode::Conflict).await;
    server.stop().await;
}

#[tokio::test]
async fn two_clients_see_the_same_timer_and_time_up_arrives_without_anyone_acting() {
    let mut fran_seen = 0;
    let mut ann_seen = 0;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let (fran_id, ann_id) = (fran.member_id.unwrap(), ann.member_id.unwrap());

    fran.ok(Request::StartRound {
        speaker_time_box_ms: 1_500,
        auto_advance: true,
        speakers: None,
        item_id: Some(1),
    })
    .await;
    let fran_start = take(&mut fran, &mut fran_seen, is_timer_set).await;
    let ann_start = take(&mut ann, &mut ann_seen, is_timer_set).await;
    assert_eq!(
        fran_start, ann_start,
        "both clients get the very same timer event"
    );
    let timer = timer_set(&fran_start).unwrap().unwrap();
    assert_eq!(
        timer.subject,
        TimerSubject::RoundSpeaker { member_id: fran_id }
    );
    assert_eq!(
        deadline_of(&timer),
        fran_start.at_ms + 1_500,
        "the deadline is the server's time plus the time box"
    );

    // Nobody acts: time_up comes at the deadline, and auto-advance gives Ann the floor.
    let time_up = take(&mut ann, &mut ann_seen, is_time_up).await;
    assert!(
        time_up.at_ms >= deadline_of(&timer),
        "time_up never comes early"
    );
    assert!(
        time_up.at_ms < deadline_of(&timer) + 1_000,
        "time_up comes at the deadline, not much later"
    );
    let Event::TimeUp {
        subject,
        deadline_ms,
    } = time_up.event
    else {
        unreachable!()
    };
    assert_eq!(subject, TimerSubject::RoundSpeaker { member_id: fran_id });
    assert_eq!(deadline_ms, deadline_of(&timer));
    take(&mut fran, &mut fran_seen, is_time_up).await;
    take(&mut ann, &mut ann_seen, |frame| matches!(frame.event, Event::RoundSpeakerChanged { member_id, status: SpeakerStatus::Speaking } if member_id == ann_id))
        .await;
    let next = take(&mut ann, &mut ann_seen, is_timer_set).await;
    let next_timer = timer_set(&next).unwrap().unwrap();
    // Fran saw the same events; later reads of his start after them.
    fran_seen = next.seq;
    assert_eq!(
        next_timer.subject,
        TimerSubject::RoundSpeaker { member_id: ann_id }
    );

    // Pause: both see the same remaining time, and it stays put.
    fran.ok(Request::PauseTimer).await;
    let fran_paused = take(&mut fran, &mut fran_seen, is_timer_set).await;
    let ann_paused = take(&mut ann, &mut ann_seen, is_timer_set).await;
    assert_eq!(fran_paused, ann_paused);
    let TimerState::Paused { remaining_ms } = timer_set(&ann_paused).unwrap().unwrap().state else {
        panic!("paused")
    };
    assert_eq!(
        remaining_ms,
        deadline_of(&next_timer) as i64 - ann_paused.at_ms as i64,
        "remaining time is the deadline minus the time of the pause"
    );
    // A paused timer sends nothing: no ticks, no time_up.
    ann.expect_silence(Duration::from_millis(2_000)).await;
    // Extend and resume: the deadline is exactly the remaining time after the resume.
    fran.ok(Request::ExtendTimer { delta_ms: 10_000 }).await;
    fran.ok(Request::ResumeTimer).await;
    take(&mut ann, &mut ann_seen, is_timer_set).await;
    let resumed = take(&mut ann, &mut ann_seen, is_timer_set).await;
    let resumed_timer = timer_set(&resumed).unwrap().unwrap();
    assert_eq!(
        deadline_of(&resumed_timer),
        resumed.at_ms + (remaining_ms + 10_000) as u64
    );
    assert!(!resumed_timer.time_up);

    // A client that refreshes gets the same timer in its snapshot.
    let mut ann_again = TestClient::connect(server.addr).await;
    let snapshot = ann_again
        .join(group.group_id, ann.token_credential(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.flow.timer, Some(resumed_timer));
    server.stop().await;
}

#[tokio::test]
async fn a_restart_mid_round_keeps_the_deadline_and_time_up_still_arrives() {
    let mut fran_seen = 0;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let ann_id = ann.member_id.unwrap();
    fran.presence_change(ann_id, true).await;

    fran.ok(Request::StartRound {
        speaker_time_box_ms: 3_000,
        auto_advance: false,
        speakers: None,
        item_id: None,
    })
    .await;
    let started = take(&mut fran, &mut fran_seen, is_timer_set).await;
    let timer = timer_set(&started).unwrap().unwrap();
    let deadline_ms = deadline_of(&timer);

    // Graceful stop and restart on the same data directory.
    let credential = fran.token_credential();
    let resume = fran.resume_point();
    server.stop().await;
    let server = TestServer::start(dir.path()).await;
    let mut fran = TestClient::connect(server.addr).await;
    fran.join(group.group_id, credential.clone(), Some(resume))
        .await
        .unwrap();
    let mut fran_tab = TestClient::connect(server.addr).await;
    let snapshot = fran_tab
        .join(group.group_id, credential.clone(), None)
        .await
        .unwrap()
        .unwrap();
    let reloaded = snapshot.flow.timer.expect("the timer survived the restart");
    assert_eq!(reloaded.subject, timer.subject);
    assert_eq!(
        deadline_of(&reloaded),
        deadline_ms,
        "exactly the same deadline"
    );

    // Nobody acts: the restarted room still sends time_up at that deadline.
    let time_up = take(&mut fran, &mut fran_seen, is_time_up).await;
    let Event::TimeUp {
        deadline_ms: fired_for,
        ..
    } = time_up.event
    else {
        unreachable!()
    };
    assert_eq!(fired_for, deadline_ms);
    assert!(time_up.at_ms >= deadline_ms);

    // A deadline that passes while the server is down fires as soon as the room loads.
    fran.ok(Request::NextSpeaker).await;
    let next = take(&mut fran, &mut fran_seen, is_timer_set).await;
    let next_deadline_ms = deadline_of(&timer_set(&next).unwrap().unwrap());
    server.stop().await;
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    let server = TestServer::start(dir.path()).await;
    let mut fran = TestClient::connect(server.addr).await;
    let snapshot = fran
        .join(group.group_id, credential, None)
        .await
        .unwrap()
        .unwrap();
    let timer = snapshot.flow.timer.expect("the timer survived");
    assert_eq!(deadline_of(&timer), next_deadline_ms);
    if !timer.time_up {
        let time_up = take(&mut fran, &mut fran_seen, is_time_up).await;
        assert!(
            matches!(time_up.event, Event::TimeUp { deadline_ms, .. } if deadline_ms == next_deadline_ms)
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn the_speaker_queue_and_a_problem_run_over_websocket() {
    let mut ann_seen = 0;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let mut bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    let (ann_id, bob_id) = (ann.member_id.unwrap(), bob.member_id.unwrap());

    // The queue: Bob then Ann raise hands; Fran calls Bob with a 2-minute time box.
    bob.ok(Request::RaiseHand).await;
    ann.ok(Request::RaiseHand).await;
    fran.ok(Request::CallNextSpeaker {
        time_box_ms: Some(120_000),
        member_id: None,
    })
    .await;
    let floor = take(&mut ann, &mut ann_seen, |frame| {
        matches!(frame.event, Event::FloorGiven { floor: Some(_) })
    })
    .await;
    assert!(
        matches!(floor.event, Event::FloorGiven { floor: Some(floor) } if floor.member_id == bob_id)
    );
    let timer = timer_set(&take(&mut ann, &mut ann_seen, is_timer_set).await)
        .unwrap()
        .unwrap();
    assert_eq!(
        timer.subject,
        TimerSubject::CalledSpeaker { member_id: bob_id }
    );
    fran.ok(Request::EndTurn).await;
    let turn = take(&mut ann, &mut ann_seen, |frame| {
        matches!(frame.event, Event::TurnEnded { .. })
    })
    .await;
    assert!(
        matches!(turn.event, Event::TurnEnded { member_id, in_round: false, .. } if member_id == bob_id)
    );
    fran.ok(Request::ClearHands).await;
    take(
        &mut ann,
        &mut ann_seen,
        |frame| matches!(frame.event, Event::HandLowered { member_id } if member_id == ann_id),
    )
    .await;

    // A problem presented by Ann: phases, Bob's suggestion, Ann's choice.
    let mut item = draft("Acme renewal");
    item.kind = AgendaItemKind::Problem;
    item.owner = Some(ann_id);
    fran.ok(Request::EditAgendaItem { item_id: 3, item }).await;
    for phase in [
        ProblemPhase::Present,
        ProblemPhase::Clarify,
        ProblemPhase::Suggest,
    ] {
        fran.ok(Request::StartProblemPhase {
            item_id: 3,
            phase,
            time_box_ms: Some(60_000),
        })
        .await;
    }
    for text in ["Call the CFO", "Offer a pilot"] {
        bob.ok(Request::AddSuggestion {
            item_id: 3,
            text: text.into(),
        })
        .await;
    }
    ann.fails(
        Request::AddSuggestion {
            item_id: 3,
            text: "Mine".into(),
        },
        ErrorCode::Conflict,
    )
    .await;
    let mut suggestions = Vec::new();
    for _ in 0..2 {
        let added = take(&mut ann, &mut ann_seen, |frame| {
            matches!(frame.event, Event::SuggestionAdded { .. })
        })
        .await;
        let Event::SuggestionAdded { suggestion, .. } = added.event else {
            unreachable!()
        };
        suggestions.push(suggestion);
    }
    fran.ok(Request::StartProblemPhase {
        item_id: 3,
        phase: ProblemPhase::Decide,
        time_box_ms: None,
    })
    .await;
    let choices = vec![
        SuggestionChoice {
            suggestion_id: suggestions[1].suggestion_id,
            text: Some("Offer Acme a three-month pilot".into()),
        },
        SuggestionChoice {
            suggestion_id: suggestions[0].suggestion_id,
            text: None,
        },
    ];
    let choose = |choices: Vec<SuggestionChoice>| Request::ChooseSuggestions {
        item_id: 3,
        choices: Some(choices),
        suggestion_ids: None,
    };
    fran.fails(choose(choices.clone()), ErrorCode::Forbidden)
        .await;
    let mut empty = choices.clone();
    empty[0].text = Some("  ".into());
    ann.fails(choose(empty), ErrorCode::Invalid).await;
    ann.ok(choose(choices)).await;
    let mut carol = TestClient::connect(server.addr).await;
    let snapshot = carol.join_as_member(&group, "Carol").await;
    let problem = snapshot.flow.agenda[2].problem.clone().unwrap();
    assert_eq!(problem.presenter, ann_id);
    assert_eq!(problem.phase, ProblemPhase::Decide);
    assert_eq!(
        problem.chosen,
        vec![suggestions[1].suggestion_id, suggestions[0].suggestion_id]
    );
    assert_eq!(snapshot.flow.talk_times.len(), 1);
    // Each chosen suggestion became its own commitment of the presenter's, due at the next
    // meeting, with the text she gave it.
    let from_problem: Vec<_> = snapshot
        .commitments
        .iter()
        .filter(|commitment| commitment.source == roundtable_protocol::CommitmentSource::Problem)
        .map(|commitment| {
            (
                commitment.owner,
                commitment.text.as_str(),
                commitment.due_meeting,
            )
        })
        .collect();
    assert_eq!(
        from_problem,
        vec![
            (ann_id, "Offer Acme a three-month pilot", 2),
            (ann_id, "Call the CFO", 2)
        ],
        "{:?}",
        snapshot.commitments
    );
    server.stop().await;
}

#[tokio::test]
async fn the_next_meeting_starts_from_the_template_with_unfinished_items_carried_over() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    fran.ok(Request::AddAgendaItem {
        item: draft("Pipeline review"),
        position: None,
    })
    .await;
    fran.ok(Request::StartRound {
        speaker_time_box_ms: 60_000,
        auto_advance: false,
        speakers: None,
        item_id: Some(1),
    })
    .await;
    fran.ok(Request::StartNextMeeting).await;
    let snapshot = fran
        .received
        .iter()
        .find_map(|message| match message {
            ServerMessage::Snapshot(snapshot) if snapshot.meeting.number == 2 => {
                Some(snapshot.clone())
            }
            _ => None,
        })
        .expect("a snapshot of the new meeting");
    let titles: Vec<&str> = snapshot
        .flow
        .agenda
        .iter()
        .map(|item| item.title.as_str())
        .collect();
    assert_eq!(
        titles,
        vec![
            "Check-in round",
            "Report back",
            "Bring a problem",
            "Role play",
            "Benchmarks",
            "Best practices",
            "Pipeline review",
            "New commitments"
        ]
    );
    assert_eq!(snapshot.flow.agenda[6].origin, AgendaItemOrigin::Carried);
    assert!(snapshot.flow.round.is_none() && snapshot.flow.timer.is_none());
    server.stop().await;
}
