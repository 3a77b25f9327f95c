//! Scoring across a restart of the real `roundtable` binary (killed with scoring open, started
//! again from its data directory): a scorer who submits again, from a fresh page with nothing
//! stored in it or from a second device, revises their submission instead of adding one,
//! because the slot comes from their member token's pseudonym key
//! (`roundtable_rules::roleplay::slot`); their own snapshot says they submitted while another
//! scorer's says they did not; and nothing the server wrote to disk puts a member next to a
//! slot, or holds a token or a key (ARCHITECTURE.md, "Anonymity").

mod support;

use std::collections::BTreeSet;

use roundtable_protocol::{
    Credential, Criterion, Event, MemberId, Request, RolePlayEvent, RolePlayId, RolePlayPhase,
    RolePlayRequest, RolePlayResults, Rubric,
};
use roundtable_rules::roleplay::slot::slot_of;
use roundtable_rules::secret::PseudonymKey;
use sha2::{Digest, Sha256};
use support::{TestClient, create_group, enclosing, every_file, find_all};

fn role_play(action: RolePlayRequest) -> Request {
    Request::RolePlay { action }
}

fn submit(role_play_id: RolePlayId, score: u32, comment: &str) -> Request {
    role_play(RolePlayRequest::Submit {
        role_play_id,
        scores: vec![score],
        comment: comment.into(),
        one_thing_differently: None,
    })
}

fn role_play_event(frame: &roundtable_protocol::EventFrame) -> Option<&RolePlayEvent> {
    match &frame.event {
        Event::RolePlay { change } => Some(change),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Every byte of every file in the data directory (the embedded store), one after another.
fn stored_bytes(dir: &std::path::Path) -> Vec<u8> {
    let bytes: Vec<u8> = every_file(dir)
        .into_iter()
        .flat_map(|(_, bytes)| bytes)
        .collect();
    assert!(!bytes.is_empty(), "the server stored something");
    bytes
}

/// A scorer as the test knows them: what could identify them, and what finds their slot.
struct Scorer {
    name: &'static str,
    member_id: MemberId,
    token: String,
}

impl Scorer {
    fn of(client: &TestClient, name: &'static str) -> Scorer {
        Scorer {
            name,
            member_id: client.member_id.expect("joined"),
            token: client.member_token.clone().expect("a token"),
        }
    }

    fn credential(&self) -> Credential {
        Credential::MemberToken {
            token: self.token.clone(),
        }
    }

    /// What must never sit next to a slot: the member id (both spellings), the name, the
    /// token and its stored hash.
    fn marks(&self) -> Vec<String> {
        vec![
            self.member_id.to_string(),
            self.member_id.0.simple().to_string(),
            self.name.to_string(),
            self.token.clone(),
            hex(&Sha256::digest(self.token.as_bytes())),
        ]
    }

    /// The pseudonym key, as the server computes it in memory (`PseudonymKey::of_token`),
    /// computed here on its own: it must never be stored, raw or as hex.
    fn key_bytes(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"roundtable pseudonym key\0")
            .chain_update(self.token.as_bytes())
            .finalize()
            .into()
    }

    fn slot(&self, role_play_id: RolePlayId) -> String {
        slot_of(&PseudonymKey::of_token(&self.token), role_play_id)
            .0
            .to_string()
    }
}

#[tokio::test]
async fn a_scorer_who_submits_again_after_a_restart_is_counted_once_from_any_page() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--data-dir".as_ref(), dir.path().as_os_str()];
    let (mut first, addr) = support::start_binary(&args).await;
    let group = create_group(addr, "Restart Peers").await;
    let mut fran = TestClient::joined_as_facilitator(addr, &group, "Fran").await;
    fran.start_meeting().await;
    let mut people = Vec::new();
    for name in ["Ann", "Bob", "Cleo", "Dee", "Eli"] {
        let client = TestClient::joined_as_member(addr, &group, name).await;
        people.push(client);
    }
    let seller = people[0].member_id.unwrap();
    let [bob, cleo, dee, eli] = [
        Scorer::of(&people[1], "Bob"),
        Scorer::of(&people[2], "Cleo"),
        Scorer::of(&people[3], "Dee"),
        Scorer::of(&people[4], "Eli"),
    ];
    fran.ok(role_play(RolePlayRequest::SetUp {
        seller,
        buyer: None,
        scenario: "A renewal call".into(),
        buyer_brief: None,
        rubric: Rubric {
            name: "Renewal".into(),
            criteria: vec![Criterion {
                name: "Close".into(),
                description: "Asked for the renewal".into(),
                scale_min: 1,
                scale_max: 10,
                weight: 1,
            }],
            one_thing_differently: false,
        },
        reveal_threshold: None,
    }))
    .await;
    // Fran's ack follows the event; Bob reads it.
    let frame = people[1]
        .event_where(|frame| matches!(role_play_event(frame), Some(RolePlayEvent::SetUp { .. })))
        .await;
    let Some(RolePlayEvent::SetUp { role_play: info }) = role_play_event(&frame).cloned() else {
        unreachable!()
    };
    let role_play_id = info.role_play_id;
    fran.ok(role_play(RolePlayRequest::OpenScoring { role_play_id }))
        .await;

    // Bob, Cleo and Dee score; the acks mean each is durable.
    people[1]
        .ok(submit(role_play_id, 2, "First thoughts"))
        .await;
    people[2].ok(submit(role_play_id, 6, "Clear ask")).await;
    people[3]
        .ok(submit(role_play_id, 4, "An early draft"))
        .await;
    // Dee opens the room on her phone (her token, a second connection) while the server runs:
    // it is told she submitted, and her phone's submission revises the laptop's.
    let mut dee_phone = TestClient::connect(addr).await;
    let snapshot = dee_phone
        .join(group.group_id, dee.credential(), None)
        .await
        .unwrap()
        .expect("a fresh page gets a snapshot");
    assert!(
        snapshot.role_play.you_submitted,
        "Dee's phone knows she scored"
    );
    dee_phone.ok(submit(role_play_id, 5, "Good pace")).await;
    let fran_token = fran.token_credential();
    let snapshot = fresh_snapshot(addr, &group, fran_token.clone()).await;
    assert_eq!(
        snapshot.role_play.current.unwrap().submission_count,
        3,
        "Dee's phone revised; it did not add"
    );
    let dee_phone_resume = dee_phone.resume_point();

    // The server dies with scoring open, and starts again: every connection is gone.
    first.start_kill().expect("send SIGKILL");
    first.wait().await.expect("the killed server exits");
    drop(people);
    drop(dee_phone);
    drop(fran);
    let (mut second, addr) = support::start_binary(&args).await;
    let mut fran = TestClient::connect(addr).await;
    let snapshot = fran
        .join(group.group_id, fran_token.clone(), None)
        .await
        .unwrap()
        .expect("a snapshot");
    let current = snapshot.role_play.current.expect("the role play survived");
    assert_eq!(current.phase, RolePlayPhase::Scoring);
    assert_eq!(current.submission_count, 3);
    assert!(!snapshot.role_play.you_submitted, "Fran has not scored");

    // Bob opens a fresh page, with nothing kept from before (no resume point, no storage):
    // his own snapshot says he scored, and his new scores replace his first.
    let mut bob_page = TestClient::connect(addr).await;
    let snapshot = bob_page
        .join(group.group_id, bob.credential(), None)
        .await
        .unwrap()
        .expect("a fresh page gets a snapshot");
    assert!(
        snapshot.role_play.you_submitted,
        "Bob's fresh page knows he scored"
    );
    bob_page
        .ok(submit(role_play_id, 9, "Second thoughts"))
        .await;

    // Cleo scores again from a second device that never connected before.
    let mut cleo_phone = TestClient::connect(addr).await;
    let snapshot = cleo_phone
        .join(group.group_id, cleo.credential(), None)
        .await
        .unwrap()
        .expect("a fresh page gets a snapshot");
    assert!(
        snapshot.role_play.you_submitted,
        "Cleo's phone knows she scored"
    );
    cleo_phone
        .ok(submit(role_play_id, 7, "Clear ask, early"))
        .await;

    // Dee's phone resumes where it was: it is caught up with its own snapshot, which says so.
    let mut dee_phone = TestClient::connect(addr).await;
    let snapshot = dee_phone
        .join(group.group_id, dee.credential(), Some(dee_phone_resume))
        .await
        .unwrap()
        .expect("a scorer's resume gets a snapshot, which alone says they scored");
    assert!(snapshot.role_play.you_submitted);

    // A page from before this change, which still sends a ballot, is told the field is not
    // one, and nothing changes (the reveal below counts Cleo once, with her last scores).
    cleo_phone
        .send_text(format!(
            r#"{{"v": 1, "id": 900, "type": "role_play", "action": {{"kind": "submit", "role_play_id": "{role_play_id}", "scores": [1], "comment": "From an old page", "ballot": "{}"}}}}"#,
            "ab".repeat(32)
        ))
        .await;
    let (code, message) = cleo_phone.answer(900).await.expect_err("refused");
    assert_eq!(code, roundtable_protocol::ErrorCode::Invalid);
    assert!(
        message.contains("ballot"),
        "the error names the field: {message}"
    );

    // Eli, who has not scored, is told so, after the restart as before it.
    let mut eli_page = TestClient::connect(addr).await;
    let snapshot = eli_page
        .join(group.group_id, eli.credential(), None)
        .await
        .unwrap()
        .expect("a fresh page gets a snapshot");
    assert!(!snapshot.role_play.you_submitted, "Eli has not scored");
    assert_eq!(snapshot.role_play.current.unwrap().submission_count, 3);
    // Eli's submission is the only new one since the restart: the first count Fran sees.
    eli_page.ok(submit(role_play_id, 8, "Strong opener")).await;
    let frame = fran
        .event_where(|frame| {
            matches!(
                role_play_event(frame),
                Some(RolePlayEvent::SubmissionCount { .. })
            )
        })
        .await;
    let Some(RolePlayEvent::SubmissionCount { count, .. }) = role_play_event(&frame) else {
        unreachable!()
    };
    assert_eq!(
        *count, 4,
        "Bob's and Cleo's second submissions were no new ones"
    );
    let snapshot = fresh_snapshot(addr, &group, fran_token).await;
    assert_eq!(snapshot.role_play.current.unwrap().submission_count, 4);

    // Every stored byte: the bag holds the four scorers' slots, and nothing next to a slot
    // names a member; no token and no key is stored anywhere.
    let stored = stored_bytes(dir.path());
    let scorers = [&bob, &cleo, &dee, &eli];
    for scorer in scorers {
        assert!(
            find_all(&stored, scorer.token.as_bytes()).is_empty(),
            "{}'s token is stored",
            scorer.name
        );
        let key = scorer.key_bytes();
        assert!(
            find_all(&stored, &key).is_empty(),
            "{}'s key is stored",
            scorer.name
        );
        assert!(
            find_all(&stored, hex(&key).as_bytes()).is_empty(),
            "{}'s key is stored as hex",
            scorer.name
        );
    }
    let mut slots_seen = 0;
    for scorer in scorers {
        let slot = scorer.slot(role_play_id);
        let places = find_all(&stored, slot.as_bytes());
        assert!(
            !places.is_empty(),
            "{}'s slot is in the stored bag (the scan is not vacuous)",
            scorer.name
        );
        for at in places {
            slots_seen += 1;
            // The bag and the role play that holds it (whose seller is named there, as on
            // every page; the seller does not score).
            let context = &stored[enclosing(&stored, at, 2)];
            for other in scorers {
                for mark in other.marks() {
                    assert!(
                        find_all(context, mark.as_bytes()).is_empty(),
                        "{mark:?} (of {}) is stored next to a slot: {}",
                        other.name,
                        String::from_utf8_lossy(context)
                    );
                }
            }
        }
    }
    assert!(slots_seen >= 4);

    // The reveal counts each scorer once, with their last scores.
    fran.ok(role_play(RolePlayRequest::Reveal { role_play_id }))
        .await;
    let frame = bob_page
        .event_where(|frame| matches!(role_play_event(frame), Some(RolePlayEvent::Revealed { .. })))
        .await;
    let Some(RolePlayEvent::Revealed { results }) = role_play_event(&frame).cloned() else {
        unreachable!()
    };
    let RolePlayResults {
        submission_count,
        criteria,
        comments,
        ..
    } = results;
    assert_eq!(submission_count, 4, "Bob, Cleo, Dee and Eli, once each");
    assert_eq!(
        criteria[0].mean,
        (9.0 + 7.0 + 5.0 + 8.0) / 4.0,
        "each scorer's last scores count"
    );
    let comments: BTreeSet<String> = comments.into_iter().collect();
    assert_eq!(
        comments,
        BTreeSet::from(
            [
                "Second thoughts",
                "Clear ask, early",
                "Good pace",
                "Strong opener"
            ]
            .map(String::from)
        )
    );
    second.start_kill().expect("stop the second server");
    second.wait().await.expect("the server exits");
}

/// The snapshot a new page with `credential` gets now: what the room shows anyone who loads it.
async fn fresh_snapshot(
    addr: std::net::SocketAddr,
    group: &support::TestGroup,
    credential: Credential,
) -> roundtable_protocol::Snapshot {
    let mut page = TestClient::connect(addr).await;
    let snapshot = page
        .join(group.group_id, credential, None)
        .await
        .unwrap()
        .expect("a fresh page gets a snapshot");
    page.close().await;
    snapshot
}
