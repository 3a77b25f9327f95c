//! Reactions and dot votes over real WebSockets against a real server on 127.0.0.1:
//! reactions reach everyone at once, carry no seq, are rate-limited per member and are never
//! replayed; dot votes are counted for everyone, told to the voter alone, limited to three per
//! problem, and survive a restart.

mod support;

use std::time::Duration;

use roundtable_protocol::{
    AgendaItemDraft, AgendaItemKind, ErrorCode, Event, ProblemPhase, Reaction, ReactionFrame,
    Request, ServerMessage, SuggestionVotes,
};
use support::{TestClient, TestServer, create_group};

/// Reads until the next reaction frame (skipping acks and events).
async fn next_reaction(client: &mut TestClient) -> ReactionFrame {
    loop {
        if let ServerMessage::Reaction(frame) = client.recv().await {
            return frame;
        }
    }
}

fn reactions(client: &TestClient) -> Vec<ReactionFrame> {
    client
        .received
        .iter()
        .filter_map(|message| match message {
            ServerMessage::Reaction(frame) => Some(*frame),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn reactions_reach_everyone_at_once_are_rate_limited_and_never_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let mut bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    let ann_id = ann.member_id.unwrap();
    // Everyone has seen every presence change before the reactions start.
    fran.ok(Request::RaiseHand).await;
    for client in [&mut ann, &mut bob] {
        client
            .event_where(|frame| matches!(frame.event, Event::HandRaised { .. }))
            .await;
    }
    let seq_before = fran.last_seq;

    // A burst of three passes; everyone, Ann included, gets each one.
    for reaction in [Reaction::Applause, Reaction::PlusOne, Reaction::Laugh] {
        ann.ok(Request::React { reaction }).await;
        for client in [&mut fran, &mut bob] {
            let frame = next_reaction(client).await;
            assert_eq!((frame.member_id, frame.reaction), (ann_id, reaction));
        }
    }
    assert_eq!(reactions(&ann).len(), 3, "the sender sees their own");
    // The fourth at once is refused, and nobody receives anything.
    let message = ann
        .fails(
            Request::React {
                reaction: Reaction::Heart,
            },
            ErrorCode::RateLimited,
        )
        .await;
    assert!(message.contains("one a second"), "{message}");
    bob.expect_silence(Duration::from_millis(300)).await;
    // A second later one more passes.
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    bob.ok(Request::React {
        reaction: Reaction::Idea,
    })
    .await;
    assert_eq!(next_reaction(&mut ann).await.reaction, Reaction::Idea);
    // An unknown reaction is a typed error.
    ann.send_text(r#"{"v": 1, "id": 99, "type": "react", "reaction": "boo"}"#)
        .await;
    assert_eq!(ann.answer(99).await.unwrap_err().0, ErrorCode::Invalid);

    // No seq was used: the next event follows the last one before the reactions.
    fran.ok(Request::LowerHand).await;
    let lowered = fran
        .events()
        .into_iter()
        .find(|frame| matches!(frame.event, Event::HandLowered { .. }))
        .unwrap();
    assert_eq!(lowered.seq, seq_before + 1);

    // Bob drops and resumes: the replay holds the events he missed, never a reaction; a fresh
    // tab's snapshot has none either.
    let (credential, resume) = (bob.token_credential(), bob.resume_point());
    bob.drop_connection();
    ann.ok(Request::React {
        reaction: Reaction::Heart,
    })
    .await;
    let mut bob = TestClient::connect(server.addr).await;
    bob.join(group.group_id, credential.clone(), Some(resume))
        .await
        .unwrap();
    while let Ok(Some(_)) = bob.try_recv(Duration::from_millis(400)).await {}
    assert!(reactions(&bob).is_empty(), "{:?}", bob.received);
    assert!(
        bob.events()
            .iter()
            .any(|frame| matches!(frame.event, Event::HandLowered { .. }))
    );
    server.stop().await;
}

#[tokio::test]
async fn dot_votes_are_counted_for_everyone_told_to_the_voter_alone_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let mut bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    let (ann_id, bob_id) = (ann.member_id.unwrap(), bob.member_id.unwrap());

    // Bob presents item 3; four suggestions from Fran and Ann.
    let item = AgendaItemDraft {
        title: "Acme renewal".into(),
        kind: AgendaItemKind::Problem,
        time_box_ms: 600_000,
        owner: Some(bob_id),
        notes: String::new(),
    };
    fran.ok(Request::EditAgendaItem { item_id: 3, item }).await;
    fran.ok(Request::StartProblemPhase {
        item_id: 3,
        phase: ProblemPhase::Suggest,
        time_box_ms: None,
    })
    .await;
    for (by_ann, text) in [
        (false, "Call the CFO"),
        (true, "Offer a pilot"),
        (true, "Bring a reference"),
        (false, "Walk away"),
    ] {
        let client = if by_ann { &mut ann } else { &mut fran };
        client
            .ok(Request::AddSuggestion {
                item_id: 3,
                text: text.into(),
            })
            .await;
    }
    let vote = |suggestion_id, vote| Request::VoteSuggestion {
        item_id: 3,
        suggestion_id,
        vote,
    };
    ann.ok(vote(1, true)).await;
    ann.ok(vote(2, true)).await;
    fran.ok(vote(2, true)).await;
    // The presenter sees the counts.
    let counted = bob
        .event_where(|frame| {
            matches!(
                frame.event,
                Event::SuggestionVotesCounted {
                    suggestion_id: 2,
                    votes: 2,
                    ..
                }
            )
        })
        .await;
    // Nobody's frames name a voter but their own: Bob got no `your_vote_set` and no id of Ann's
    // or Fran's in a vote frame; Ann got hers only.
    assert!(
        !bob.events()
            .iter()
            .any(|f| matches!(f.event, Event::YourVoteSet { .. }))
    );
    let vote_frames: Vec<String> = bob
        .received
        .iter()
        .filter(|message| {
            matches!(message, ServerMessage::Event(frame) if matches!(frame.event, Event::SuggestionVotesCounted { .. }))
        })
        .map(|message| serde_json::to_string(message).unwrap())
        .collect();
    assert_eq!(vote_frames.len(), 3);
    assert!(
        vote_frames
            .iter()
            .all(|frame| !frame.contains(&ann_id.to_string()))
    );
    let yours: Vec<_> = ann
        .events()
        .into_iter()
        .filter_map(|frame| match frame.event {
            Event::YourVoteSet {
                suggestion_id,
                voted,
                ..
            } => Some((suggestion_id, voted)),
            _ => None,
        })
        .collect();
    assert_eq!(yours, vec![(1, true), (2, true)]);
    // The others see a gap where Ann's own frame was.
    let ann_seqs: Vec<u64> = ann.events().iter().map(|frame| frame.seq).collect();
    assert!(
        ann_seqs
            .iter()
            .any(|seq| *seq < counted.seq && !bob.events().iter().any(|f| f.seq == *seq))
    );

    // Three dots each; the presenter and a fourth dot are refused, and nothing changes.
    ann.ok(vote(3, true)).await;
    ann.fails(vote(4, true), ErrorCode::LimitReached).await;
    bob.fails(vote(4, true), ErrorCode::Conflict).await;
    ann.ok(vote(1, false)).await;
    ann.ok(vote(4, true)).await;

    // After a restart the counts and each member's own dots are in their snapshots.
    let (ann_credential, bob_credential) = (ann.token_credential(), bob.token_credential());
    server.stop().await;
    let server = TestServer::start(dir.path()).await;
    let mut ann = TestClient::connect(server.addr).await;
    let snapshot = ann
        .join(group.group_id, ann_credential, None)
        .await
        .unwrap()
        .unwrap();
    let votes = &snapshot.flow.votes[0];
    assert_eq!(votes.item_id, 3);
    let count = |suggestion_id, votes| SuggestionVotes {
        suggestion_id,
        votes,
    };
    assert_eq!(votes.counts, vec![count(2, 2), count(3, 1), count(4, 1)]);
    assert_eq!(votes.yours, vec![2, 3, 4]);
    let mut bob = TestClient::connect(server.addr).await;
    let snapshot = bob
        .join(group.group_id, bob_credential, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.flow.votes[0].counts, votes.counts);
    assert!(snapshot.flow.votes[0].yours.is_empty());
    ann.ok(vote(2, false)).await;
    bob.event_where(|frame| {
        matches!(
            frame.event,
            Event::SuggestionVotesCounted {
                suggestion_id: 2,
                votes: 1,
                ..
            }
        )
    })
    .await;
    server.stop().await;
}
