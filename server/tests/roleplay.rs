//! Role play with anonymous live scoring, over real WebSockets against a real server, with the
//! embedded store and with the Redis store.
//!
//! The anonymity tests record everything an attacker could read: every frame sent to every
//! client (the facilitator included), all log output at TRACE level (through the server's own
//! log filter), and every stored byte (the redb file, while running and after a graceful stop,
//! and every Redis key). They then check that nothing links a submission to its author and that
//! no score or comment leaves the server before the reveal. Scores and comments are chosen so
//! that they cannot appear by accident (scores on a 1-100 scale that no seq, count or limit
//! reaches in this test; comments with made-up words).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use roundtable_protocol::{
    Credential, Criterion, ErrorCode, Event, EventFrame, MemberId, Reply, Request, RolePlayEvent,
    RolePlayId, RolePlayPhase, RolePlayRequest, RolePlayResults, Rubric, ServerMessage,
};
use roundtable_server::store::{RedisStore, Store};
use roundtable_server::{Limits, logging};
use serde_json::Value;
use support::redis::{TestRedis, elements_of, options, raw_connection, scan_keys, unique_prefix};
use support::{TestClient, TestGroup, TestServer, create_group, enclosing, find_all, numbers_in};

// ---------------------------------------------------------------------------------------------
// Log capture
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per test binary) a subscriber that writes every log line at TRACE, through
/// the server's own filter, into a buffer, including lines from the `log` crate (tungstenite,
/// redis) and every span's fields (the connection span names the member).
fn captured_logs() -> LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer(Arc::new(Mutex::new(Vec::new())));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_env_filter(logging::env_filter("trace"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("the test binary installs its log capture once");
        buffer
    })
    .clone()
}

fn log_text(buffer: &LogBuffer) -> String {
    String::from_utf8_lossy(&buffer.0.lock().unwrap()).to_string()
}

// ---------------------------------------------------------------------------------------------
// The cast and the script
// ---------------------------------------------------------------------------------------------

/// One scorer's distinctive submission.
struct Scoring {
    scores: [u32; 2],
    comment: &'static str,
    one_thing: &'static str,
}

const CLEO: Scoring = Scoring {
    scores: [73, 91],
    comment: "COMMENT cleo velvet-heron asked about the renewal date",
    one_thing: "ONETHING cleo quartz-lantern slow down",
};
const DAN: Scoring = Scoring {
    scores: [86, 77],
    comment: "COMMENT dan marble-otter strong pain questions",
    one_thing: "ONETHING dan cobalt-fennel ask for budget",
};
const EVE_DRAFT: Scoring = Scoring {
    scores: [58, 64],
    comment: "COMMENT eve draft saffron-walrus",
    one_thing: "ONETHING eve draft juniper-comet",
};
const EVE: Scoring = Scoring {
    scores: [94, 97],
    comment: "COMMENT eve final topaz-badger great close",
    one_thing: "ONETHING eve final walnut-meteor summarize more",
};
const FRAN: Scoring = Scoring {
    scores: [79, 83],
    comment: "COMMENT fran ivory-pelican rapport was real",
    one_thing: "ONETHING fran amber-gecko name the next step",
};

const BRIEF: &str = "BRIEF mango-tundra: you already signed with a competitor last week";
const SCENARIO: &str = "Discovery call with the head of operations of a logistics firm";

fn rubric() -> Rubric {
    Rubric {
        name: "Anonymity drill".into(),
        criteria: vec![
            Criterion {
                name: "Discovery".into(),
                description: "Uncovered pain and its cost".into(),
                scale_min: 1,
                scale_max: 100,
                weight: 3,
            },
            Criterion {
                name: "Closing".into(),
                description: "Agreed a concrete next step".into(),
                scale_min: 1,
                scale_max: 100,
                weight: 1,
            },
        ],
        one_thing_differently: true,
    }
}

fn all_scorings() -> [&'static Scoring; 5] {
    [&CLEO, &DAN, &EVE_DRAFT, &EVE, &FRAN]
}

fn secret_texts() -> Vec<&'static str> {
    all_scorings()
        .iter()
        .flat_map(|scoring| [scoring.comment, scoring.one_thing])
        .collect()
}

fn secret_scores() -> BTreeSet<u64> {
    all_scorings()
        .iter()
        .flat_map(|scoring| scoring.scores)
        .map(u64::from)
        .collect()
}

fn role_play(action: RolePlayRequest) -> Request {
    Request::RolePlay { action }
}

fn submit(role_play_id: RolePlayId, scoring: &Scoring) -> Request {
    role_play(RolePlayRequest::Submit {
        role_play_id,
        scores: scoring.scores.to_vec(),
        comment: scoring.comment.into(),
        one_thing_differently: Some(scoring.one_thing.into()),
    })
}

/// Who someone is, in every form that could identify them.
#[derive(Debug, Clone)]
struct Identity {
    member_id: MemberId,
    display_name: String,
    token: String,
    /// The stored form of the token (hex SHA-256).
    token_hash: String,
}

impl Identity {
    fn of(client: &TestClient, display_name: &str) -> Identity {
        let token = client.member_token.clone().expect("a token");
        let hash = roundtable_server::secrets::hash_secret(&token);
        let token_hash = hash.0.iter().map(|byte| format!("{byte:02x}")).collect();
        Identity {
            member_id: client.member_id.expect("joined"),
            display_name: display_name.into(),
            token,
            token_hash,
        }
    }

    fn marks(&self) -> Vec<String> {
        vec![
            self.member_id.to_string(),
            self.member_id.0.simple().to_string(),
            self.display_name.clone(),
            self.token.clone(),
            self.token_hash.clone(),
        ]
    }
}

/// Every frame one client received, with whose client it was.
struct Recording {
    owner: &'static str,
    frames: Vec<ServerMessage>,
}

/// The first event matching `wanted`, among those received already or the next ones.
async fn event_seen(
    client: &mut TestClient,
    mut wanted: impl FnMut(&EventFrame) -> bool,
) -> EventFrame {
    if let Some(frame) = client.events().into_iter().find(|frame| wanted(frame)) {
        return frame;
    }
    client.event_where(wanted).await
}

/// Reads whatever else arrives until the connection is quiet.
async fn drain(client: &mut TestClient) {
    while let Ok(Some(_)) = client.try_recv(Duration::from_millis(300)).await {}
}

fn is_role_play(frame: &EventFrame) -> Option<&RolePlayEvent> {
    match &frame.event {
        Event::RolePlay { change } => Some(change),
        _ => None,
    }
}

fn wait_count(count: u32) -> impl FnMut(&EventFrame) -> bool {
    move |frame| matches!(is_role_play(frame), Some(RolePlayEvent::SubmissionCount { count: seen, .. }) if *seen == count)
}

/// Checks that no scorer's identity appears within three JSON containers of any submission
/// text in `blob`. Returns how many submission texts were found (so callers can insist that
/// the check was not vacuous).
fn assert_no_identity_beside_submissions(blob: &[u8], scorers: &[Identity], label: &str) -> usize {
    let mut found = 0;
    for text in secret_texts() {
        for at in find_all(blob, text.as_bytes()) {
            found += 1;
            let range = enclosing(blob, at, 3);
            let context = &blob[range];
            for scorer in scorers {
                for mark in scorer.marks() {
                    assert!(
                        find_all(context, mark.as_bytes()).is_empty(),
                        "{label}: {mark:?} (of {}) sits beside the submission text {text:?}: {}",
                        scorer.display_name,
                        String::from_utf8_lossy(context)
                    );
                }
            }
        }
    }
    found
}

fn redb_bytes(data_dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(data_dir).expect("data dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            bytes.extend(std::fs::read(&path).expect("read store file"));
        }
    }
    assert!(!bytes.is_empty(), "the embedded store wrote its file");
    bytes
}

/// Every value of every key under `prefix`, read by type, each as its own record.
async fn redis_values(url: &str, prefix: &str) -> Vec<Vec<u8>> {
    let mut raw = raw_connection(url).await;
    let keys = scan_keys(&mut raw, &format!("{prefix}*")).await;
    assert!(
        !keys.is_empty(),
        "the Redis store wrote keys under {prefix}"
    );
    let mut records = Vec::new();
    for key in keys {
        records.push(key.clone().into_bytes());
        records.extend(elements_of(&mut raw, &key).await);
    }
    records
}

/// What a test reads from the store, whichever it is.
enum StoreProbe {
    Embedded(std::path::PathBuf),
    Redis { url: String, prefix: String },
}

impl StoreProbe {
    async fn records(&self) -> Vec<Vec<u8>> {
        match self {
            StoreProbe::Embedded(dir) => vec![redb_bytes(dir)],
            StoreProbe::Redis { url, prefix } => redis_values(url, prefix).await,
        }
    }
}

/// Scans the store and returns every submission slot id found in a stored snapshot's bag.
async fn check_store(
    probe: &StoreProbe,
    scorers: &[Identity],
    label: &str,
) -> (usize, Vec<String>) {
    let mut found = 0;
    let mut slots = Vec::new();
    for record in probe.records().await {
        found += assert_no_identity_beside_submissions(&record, scorers, label);
        // Nor the scorers' tokens, nor their pseudonym keys' derivations (the slots are
        // one-way, from keys that exist only in the server's memory).
        for scorer in scorers {
            assert!(
                find_all(&record, scorer.token.as_bytes()).is_empty(),
                "{label}: a scorer's token is stored"
            );
        }
        // Who submitted is known only in memory while scoring is open: the per-viewer flag of
        // a snapshot is never stored.
        assert!(
            find_all(&record, b"you_submitted").is_empty(),
            "{label}: a stored record holds you_submitted"
        );
        // Every stored JSON record that holds a bag: its submissions name nobody, and their
        // keys are random slots, not members.
        for at in find_all(&record, b"\"submissions\":{") {
            let range = enclosing(&record, at + b"\"submissions\":".len() + 1, 1);
            let Ok(bag) = serde_json::from_slice::<BTreeMap<String, Value>>(&record[range]) else {
                continue;
            };
            for (slot, submission) in bag {
                let fields: BTreeSet<&str> = submission
                    .as_object()
                    .expect("a submission is an object")
                    .keys()
                    .map(String::as_str)
                    .collect();
                assert!(
                    fields.is_subset(&BTreeSet::from([
                        "scores",
                        "comment",
                        "one_thing_differently"
                    ])),
                    "{label}: a stored submission has fields {fields:?}"
                );
                assert!(
                    scorers
                        .iter()
                        .all(|scorer| scorer.member_id.to_string() != slot),
                    "{label}: a slot is a member id"
                );
                slots.push(slot);
            }
        }
    }
    (found, slots)
}

// ---------------------------------------------------------------------------------------------
// The full role play
// ---------------------------------------------------------------------------------------------

async fn join_member(server: &TestServer, group: &TestGroup, name: &str) -> TestClient {
    TestClient::joined_as_member(server.addr, group, name).await
}

/// Runs a full role play with seven people against `server` and checks every channel.
async fn full_role_play(server: TestServer, probe: StoreProbe) {
    let logs = captured_logs();
    let group = create_group(server.addr, "Anonymity Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran Facilitator").await;
    fran.start_meeting().await;
    let mut ann = join_member(&server, &group, "Ann Seller").await;
    let mut bob = join_member(&server, &group, "Bob Buyer").await;
    let mut cleo = join_member(&server, &group, "Cleo Quill").await;
    let mut dan = join_member(&server, &group, "Dan Dorsey").await;
    let mut eve = join_member(&server, &group, "Eve Ember").await;
    let mut olga = TestClient::connect(server.addr).await;
    olga.join(
        group.group_id,
        Credential::Invite {
            secret: group.invite_secret.clone(),
            display_name: "Olga Observer".into(),
            observer: true,
        },
        None,
    )
    .await
    .expect("observer join");

    let scorers = vec![
        Identity::of(&cleo, "Cleo Quill"),
        Identity::of(&dan, "Dan Dorsey"),
        Identity::of(&eve, "Eve Ember"),
        Identity::of(&fran, "Fran Facilitator"),
    ];
    let seller = ann.member_id.unwrap();
    let buyer = bob.member_id.unwrap();
    let mut archive: Vec<Recording> = Vec::new();

    // Cleo drops before the setup and resumes after it: her replay must skip the brief.
    let cleo_resume = cleo.resume_point();
    let cleo_token = cleo.token_credential();
    archive.push(Recording {
        owner: "cleo (first connection)",
        frames: std::mem::take(&mut cleo.received),
    });
    cleo.close().await;

    fran.ok(role_play(RolePlayRequest::SetUp {
        seller,
        buyer: Some(buyer),
        scenario: SCENARIO.into(),
        buyer_brief: Some(BRIEF.into()),
        rubric: rubric(),
        reveal_threshold: Some(3),
    }))
    .await;
    let set_up = event_seen(&mut bob, |frame| {
        matches!(is_role_play(frame), Some(RolePlayEvent::BuyerBrief { .. }))
    })
    .await;
    let Some(RolePlayEvent::BuyerBrief {
        role_play_id,
        brief,
        ..
    }) = is_role_play(&set_up).cloned()
    else {
        unreachable!()
    };
    assert_eq!(brief, BRIEF);

    let mut cleo = TestClient::connect(server.addr).await;
    cleo.join(group.group_id, cleo_token, Some(cleo_resume))
        .await
        .expect("cleo resumes");
    event_seen(&mut cleo, |frame| frame.seq == fran.last_seq).await;
    assert!(
        cleo.events()
            .iter()
            .any(|frame| matches!(is_role_play(frame), Some(RolePlayEvent::SetUp { .. }))),
        "the replay carries the setup"
    );
    // Bob's fresh snapshot has the brief; Ann's has none.
    let mut bob_again = TestClient::connect(server.addr).await;
    let snapshot = bob_again
        .join(group.group_id, bob.token_credential(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.role_play.buyer_brief.as_deref(), Some(BRIEF));
    let mut ann_again = TestClient::connect(server.addr).await;
    let snapshot = ann_again
        .join(group.group_id, ann.token_credential(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.role_play.buyer_brief, None);
    let current = snapshot.role_play.current.expect("a current role play");
    assert_eq!(current.phase, RolePlayPhase::Setup);
    assert_eq!(current.scenario, SCENARIO);
    assert_eq!(
        snapshot
            .role_play
            .templates
            .iter()
            .filter(|t| t.built_in)
            .count(),
        4
    );

    // Only the facilitator opens, closes and reveals.
    for action in [
        RolePlayRequest::OpenScoring { role_play_id },
        RolePlayRequest::CloseScoring { role_play_id },
        RolePlayRequest::Reveal { role_play_id },
    ] {
        cleo.fails(role_play(action.clone()), ErrorCode::Forbidden)
            .await;
        ann.fails(role_play(action), ErrorCode::Forbidden).await;
    }
    // Scoring is not open yet.
    cleo.fails(submit(role_play_id, &CLEO), ErrorCode::Conflict)
        .await;
    fran.ok(role_play(RolePlayRequest::OpenScoring { role_play_id }))
        .await;

    // The seller and the observer cannot score.
    ann.fails(submit(role_play_id, &CLEO), ErrorCode::Forbidden)
        .await;
    olga.fails(submit(role_play_id, &CLEO), ErrorCode::Forbidden)
        .await;

    cleo.ok(submit(role_play_id, &CLEO)).await;
    event_seen(&mut fran, wait_count(1)).await;
    eve.ok(submit(role_play_id, &EVE_DRAFT)).await;
    event_seen(&mut fran, wait_count(2)).await;
    // Two submissions, a threshold of three: refused, nothing changes.
    fran.fails(
        role_play(RolePlayRequest::Reveal { role_play_id }),
        ErrorCode::Conflict,
    )
    .await;
    dan.ok(submit(role_play_id, &DAN)).await;
    event_seen(&mut fran, wait_count(3)).await;
    // Eve revises: her submission is replaced, the count stays at three.
    eve.ok(submit(role_play_id, &EVE)).await;
    fran.ok(submit(role_play_id, &FRAN)).await;
    event_seen(&mut fran, wait_count(4)).await;

    // While scoring is open, the store holds the bag and nothing that links it to anyone.
    let (found_open, slots) = check_store(&probe, &scorers, "store while scoring").await;
    // The bag's slots are the four scorers' places, derived from their tokens' pseudonym keys
    // (Eve's revision kept her slot), so a submission after a restart finds its slot again.
    let from_tokens: BTreeSet<String> = scorers
        .iter()
        .map(|scorer| {
            let key = roundtable_rules::secret::PseudonymKey::of_token(&scorer.token);
            roundtable_rules::roleplay::slot::slot_of(&key, role_play_id)
                .0
                .to_string()
        })
        .collect();
    assert_eq!(
        slots.iter().cloned().collect::<BTreeSet<String>>(),
        from_tokens
    );
    assert!(
        found_open > 0,
        "the open bag is in the store (the check is not vacuous)"
    );
    assert!(
        slots.len() >= 4,
        "the stored bag has the four submissions: {slots:?}"
    );

    // Cleo reloads her page while scoring is open: her own snapshot, and only hers, says she
    // submitted (check_frames checks every other frame anyone received).
    let mut cleo_reload = TestClient::connect(server.addr).await;
    let snapshot = cleo_reload
        .join(
            group.group_id,
            Credential::MemberToken {
                token: scorers[0].token.clone(),
            },
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(snapshot.role_play.you_submitted);
    // Bob (the buyer, who did not score) reloads too: his says he did not.
    let mut bob_reload = TestClient::connect(server.addr).await;
    let snapshot = bob_reload
        .join(group.group_id, bob.token_credential(), None)
        .await
        .unwrap()
        .unwrap();
    assert!(!snapshot.role_play.you_submitted);

    fran.ok(role_play(RolePlayRequest::Reveal { role_play_id }))
        .await;
    let revealed = event_seen(&mut ann, |frame| {
        matches!(is_role_play(frame), Some(RolePlayEvent::Revealed { .. }))
    })
    .await;
    let Some(RolePlayEvent::Revealed { results }) = is_role_play(&revealed).cloned() else {
        unreachable!()
    };
    check_results(&results, seller, buyer);

    // Everyone reads to the end.
    let mut live = vec![
        ("fran", fran),
        ("ann", ann),
        ("bob", bob),
        ("cleo", cleo),
        ("dan", dan),
        ("eve", eve),
        ("olga", olga),
        ("bob again", bob_again),
        ("ann again", ann_again),
        ("cleo reload", cleo_reload),
        ("bob reload", bob_reload),
    ];
    for (_, client) in &mut live {
        drain(client).await;
    }
    let mut recordings = archive;
    for (owner, client) in &live {
        recordings.push(Recording {
            owner,
            frames: client.received.clone(),
        });
    }
    check_frames(&recordings, &scorers, buyer, &slots);

    // The seller's trend has this role play; everyone sees it in a fresh snapshot.
    let mut late = TestClient::connect(server.addr).await;
    let snapshot = late.join_as_member(&group, "Late Larry").await;
    let trend = snapshot
        .role_play
        .seller_trends
        .iter()
        .find(|trend| trend.seller == seller)
        .expect("the seller's trend");
    assert_eq!(trend.points.len(), 1);
    assert_eq!(trend.points[0].overall_percent, results.overall_percent);
    assert_eq!(snapshot.role_play.revealed, vec![results.clone()]);

    // The facilitator's minutes carry the role play's aggregates, exactly the revealed
    // results, and nothing per scorer: individual scores are never kept, so never exported.
    let (status, body) = support::http_get(
        server.addr,
        &format!("/api/groups/{}/minutes", group.group_id),
        Some(&group.facilitator_secret),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let minutes: roundtable_protocol::Minutes =
        serde_json::from_str(body.trim()).expect("minutes json");
    assert_eq!(minutes.role_plays, vec![results.clone()]);
    let exported = serde_json::to_string(&minutes.role_plays).unwrap();
    for scorer in &scorers {
        assert!(
            !exported.contains(&scorer.member_id.to_string()),
            "a scorer is named in the export"
        );
    }
    // The Markdown minutes list the revealed comments and "one thing to do differently"
    // answers, and name no scorer anywhere in the role play's section.
    let (status, markdown) = support::http_get(
        server.addr,
        &format!("/api/groups/{}/minutes?format=md", group.group_id),
        Some(&group.facilitator_secret),
    )
    .await;
    assert_eq!(status, 200, "{markdown}");
    let section = &markdown[markdown
        .find("## Role plays")
        .expect("a role plays section")..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3)];
    for text in results
        .comments
        .iter()
        .chain(&results.one_thing_differently)
    {
        assert!(
            section.contains(&format!("- {text}\n")),
            "{text} in {section}"
        );
    }
    assert!(!results.one_thing_differently.is_empty());
    for scorer in &scorers {
        for mark in scorer.marks() {
            assert!(!section.contains(&mark), "{mark} in {section}");
        }
    }

    // After the reveal, and again after a graceful stop: the store links nothing to anyone,
    // and the bag is gone.
    let (found_after, _) = check_store(&probe, &scorers, "store after the reveal").await;
    assert!(
        found_after > 0,
        "the results are stored (the check is not vacuous)"
    );
    for (_, client) in live {
        client.close().await;
    }
    late.close().await;
    server.stop().await;
    let (found_stopped, _) = check_store(&probe, &scorers, "store after a graceful stop").await;
    assert!(found_stopped > 0);
    if let StoreProbe::Redis { .. } = probe {
        // Redis holds only what is live: no submission slot survives the reveal.
        for record in probe.records().await {
            for slot in &slots {
                assert!(
                    find_all(&record, slot.as_bytes()).is_empty(),
                    "slot {slot} is still stored after the reveal"
                );
            }
        }
    }
    check_logs(&logs, &slots);
}

fn check_results(results: &RolePlayResults, seller: MemberId, buyer: MemberId) {
    assert_eq!(results.seller, seller);
    assert_eq!(results.buyer, Some(buyer));
    assert_eq!(results.submission_count, 4);
    let discovery = &results.criteria[0];
    // Discovery: 73, 86, 94 (Eve's revision, not 58), 79.
    assert_eq!(discovery.mean, 83.0);
    assert_eq!(discovery.median, 82.5);
    assert_eq!((discovery.min, discovery.max), (73, 94));
    assert_eq!(discovery.distribution.len(), 100);
    for value in [73usize, 79, 86, 94] {
        assert_eq!(discovery.distribution[value - 1], 1);
    }
    assert_eq!(discovery.distribution.iter().sum::<u32>(), 4);
    let closing = &results.criteria[1];
    // Closing: 91, 77, 97, 83.
    assert_eq!(closing.mean, 87.0);
    assert_eq!(closing.median, 87.0);
    assert_eq!((closing.min, closing.max), (77, 97));
    let expected = (3.0 * (83.0 - 1.0) / 99.0 + (87.0 - 1.0) / 99.0) / 4.0 * 100.0;
    assert!((results.overall_percent - expected).abs() < 1e-9);
    let comments: BTreeSet<&str> = results.comments.iter().map(String::as_str).collect();
    assert_eq!(
        comments,
        BTreeSet::from([CLEO.comment, DAN.comment, EVE.comment, FRAN.comment]),
        "the final comments, the draft replaced"
    );
    let one_things: BTreeSet<&str> = results
        .one_thing_differently
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(
        one_things,
        BTreeSet::from([CLEO.one_thing, DAN.one_thing, EVE.one_thing, FRAN.one_thing])
    );
}

fn check_frames(recordings: &[Recording], scorers: &[Identity], buyer: MemberId, slots: &[String]) {
    let scores = secret_scores();
    let mut count_frames: BTreeMap<u64, String> = BTreeMap::new();
    for recording in recordings {
        let mut revealed = false;
        let mut scoring_open = false;
        for message in &recording.frames {
            let text = serde_json::to_string(message).unwrap();
            let value: Value = serde_json::from_str(&text).unwrap();
            if let ServerMessage::Event(frame) = message
                && matches!(is_role_play(frame), Some(RolePlayEvent::Revealed { .. }))
            {
                revealed = true;
            }
            if !revealed {
                // Nothing about any submission leaves the server before the reveal.
                let mut numbers = Vec::new();
                numbers_in(&value, &mut numbers);
                for number in numbers {
                    assert!(
                        !scores.iter().any(|score| *score as f64 == number),
                        "{}: score {number} sent before the reveal: {text}",
                        recording.owner
                    );
                }
                for secret in secret_texts() {
                    assert!(
                        !text.contains(secret),
                        "{}: {secret:?} sent before the reveal",
                        recording.owner
                    );
                }
            }
            for slot in slots {
                assert!(
                    !text.contains(slot.as_str()),
                    "{}: a slot id was sent",
                    recording.owner
                );
            }
            // The brief reaches the buyer only.
            if text.contains(BRIEF) {
                assert!(
                    recording.owner.starts_with("bob"),
                    "{} received the buyer brief",
                    recording.owner
                );
            }
            if let ServerMessage::Event(frame) = message {
                match is_role_play(frame) {
                    Some(RolePlayEvent::ScoringOpened { .. }) => scoring_open = true,
                    Some(RolePlayEvent::ScoringClosed { .. }) => scoring_open = false,
                    Some(RolePlayEvent::Revealed { .. }) => {
                        // The results name the seller and the buyer (public roles), never a
                        // scorer.
                        for scorer in scorers {
                            for mark in scorer.marks() {
                                assert!(
                                    !text.contains(&mark),
                                    "{}: results name a scorer",
                                    recording.owner
                                );
                            }
                        }
                    }
                    Some(RolePlayEvent::SubmissionCount { .. }) => {
                        // The same bytes for everyone: nothing per author.
                        let previous = count_frames.insert(frame.seq, text.clone());
                        if let Some(previous) = previous {
                            assert_eq!(previous, text, "a count event differs between clients");
                        }
                        let object = value["event"]["change"].as_object().unwrap();
                        let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
                        assert_eq!(keys, BTreeSet::from(["kind", "role_play_id", "count"]));
                    }
                    Some(RolePlayEvent::BuyerBrief { buyer: to, .. }) => {
                        assert_eq!(*to, buyer);
                    }
                    Some(other) if scoring_open => {
                        panic!(
                            "{}: only counts change while scoring: {other:?}",
                            recording.owner
                        )
                    }
                    _ => {}
                }
            }
            // "You submitted" reaches the submitter's own snapshot only (Cleo's reload here);
            // everyone else's snapshots say false (Bob's reload among them, while scoring).
            if let ServerMessage::Snapshot(snapshot) = message {
                assert_eq!(
                    snapshot.role_play.you_submitted,
                    recording.owner == "cleo reload",
                    "{}: a snapshot's you_submitted",
                    recording.owner
                );
            }
            // Acks to scorers carry nothing either.
            if let ServerMessage::Ack { result, .. } = message {
                assert!(matches!(
                    result,
                    Reply::Done | Reply::Joined(_) | Reply::Pong { .. }
                ));
            }
        }
    }
    let counts: Vec<u64> = count_frames
        .values()
        .map(|text| {
            let value: Value = serde_json::from_str(text).unwrap();
            value["event"]["change"]["count"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(
        counts,
        vec![1, 2, 3, 4],
        "one count event per first submission, none per revision"
    );
}

fn check_logs(logs: &LogBuffer, slots: &[String]) {
    let text = log_text(logs);
    assert!(
        text.contains("joined"),
        "the log capture works: {} bytes",
        text.len()
    );
    for secret in secret_texts() {
        assert!(
            !text.contains(secret),
            "a log line holds submission text {secret:?}"
        );
    }
    assert!(
        !text.contains("\"scores\""),
        "a log line holds a submission"
    );
    assert!(
        !text.contains("you_submitted"),
        "a log line holds who submitted"
    );
    assert!(
        !text.contains("submit"),
        "a log line mentions a submission request"
    );
    for slot in slots {
        assert!(
            !text.contains(slot.as_str()),
            "a log line names a submission slot"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_role_play_links_no_score_to_its_author_with_the_embedded_store() {
    captured_logs();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    full_role_play(server, StoreProbe::Embedded(dir.path().to_path_buf())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_role_play_links_no_score_to_its_author_with_the_redis_store() {
    captured_logs();
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-roleplay");
    let store = RedisStore::connect(redis.url(), options(&prefix))
        .await
        .expect("connect to redis");
    let store: Arc<dyn Store> = Arc::new(store);
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with_store(dir.path(), Limits::default(), store).await;
    full_role_play(
        server,
        StoreProbe::Redis {
            url: redis.url().to_string(),
            prefix,
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Restart while scoring is open
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn submissions_survive_a_restart_and_scoring_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Restart Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let ann = join_member(&server, &group, "Ann").await;
    let mut cleo = join_member(&server, &group, "Cleo").await;
    let mut dan = join_member(&server, &group, "Dan").await;
    let seller = ann.member_id.unwrap();
    fran.ok(role_play(RolePlayRequest::SetUp {
        seller,
        buyer: None,
        scenario: SCENARIO.into(),
        buyer_brief: None,
        rubric: rubric(),
        reveal_threshold: None,
    }))
    .await;
    let frame = event_seen(&mut fran, |frame| {
        matches!(is_role_play(frame), Some(RolePlayEvent::SetUp { .. }))
    })
    .await;
    let Some(RolePlayEvent::SetUp { role_play: info }) = is_role_play(&frame).cloned() else {
        unreachable!()
    };
    let role_play_id = info.role_play_id;
    assert_eq!(info.reveal_threshold, 3, "the default threshold");
    fran.ok(role_play(RolePlayRequest::OpenScoring { role_play_id }))
        .await;
    cleo.ok(submit(role_play_id, &CLEO)).await;
    dan.ok(submit(role_play_id, &DAN)).await;
    let tokens = [
        fran.token_credential(),
        cleo.token_credential(),
        dan.token_credential(),
    ];
    for client in [fran, ann, cleo, dan] {
        client.close().await;
    }
    server.stop().await;

    let server = TestServer::start(dir.path()).await;
    let [fran_token, cleo_token, dan_token] = tokens;
    let mut fran = TestClient::connect(server.addr).await;
    let snapshot = fran
        .join(group.group_id, fran_token, None)
        .await
        .unwrap()
        .unwrap();
    let current = snapshot.role_play.current.expect("the role play survived");
    assert_eq!(current.phase, RolePlayPhase::Scoring, "scoring stays open");
    assert_eq!(
        current.submission_count, 2,
        "acknowledged submissions survive"
    );
    // Cleo and Dan submit again from new connections with their tokens: each finds the slot of
    // their first submission (derived from the token, not from anything the old process
    // kept), so these are revisions and the count stays at two (`tests/roleplay_restart.rs`
    // checks the same with the real binary, a second device and the stored bytes).
    let mut cleo = TestClient::connect(server.addr).await;
    let snapshot = cleo
        .join(group.group_id, cleo_token, None)
        .await
        .unwrap()
        .unwrap();
    assert!(
        snapshot.role_play.you_submitted,
        "Cleo's slot is found again"
    );
    cleo.ok(submit(role_play_id, &EVE)).await;
    let mut dan = TestClient::connect(server.addr).await;
    dan.join(group.group_id, dan_token, None).await.unwrap();
    dan.ok(submit(role_play_id, &FRAN)).await;
    dan.ok(submit(role_play_id, &EVE_DRAFT)).await;
    // Fran's is the third.
    fran.ok(submit(role_play_id, &DAN)).await;
    event_seen(&mut fran, wait_count(3)).await;
    fran.ok(role_play(RolePlayRequest::Reveal { role_play_id }))
        .await;
    let frame = event_seen(&mut fran, |frame| {
        matches!(is_role_play(frame), Some(RolePlayEvent::Revealed { .. }))
    })
    .await;
    let Some(RolePlayEvent::Revealed { results }) = is_role_play(&frame).cloned() else {
        unreachable!()
    };
    assert_eq!(results.submission_count, 3, "Cleo, Dan and Fran, once each");
    let comments: BTreeSet<&str> = results.comments.iter().map(String::as_str).collect();
    assert_eq!(
        comments,
        BTreeSet::from([EVE.comment, EVE_DRAFT.comment, DAN.comment])
    );
    server.stop().await;
}

#[tokio::test]
async fn the_facilitator_saves_an_edited_rubric_as_a_group_template() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Template Peers").await;
    let mut fran = TestClient::connect(server.addr).await;
    let snapshot = fran.join_as_facilitator(&group, "Fran").await;
    fran.start_meeting().await;
    let mut ann = join_member(&server, &group, "Ann").await;
    let mut edited = snapshot.role_play.templates[0].rubric.clone();
    edited.name = "Our discovery call".into();
    edited.criteria[0].weight = 5;
    ann.fails(
        role_play(RolePlayRequest::SaveTemplate {
            rubric: edited.clone(),
        }),
        ErrorCode::Forbidden,
    )
    .await;
    fran.ok(role_play(RolePlayRequest::SaveTemplate {
        rubric: edited.clone(),
    }))
    .await;
    let saved = event_seen(&mut ann, |frame| {
        matches!(
            is_role_play(frame),
            Some(RolePlayEvent::TemplateSaved { .. })
        )
    })
    .await;
    assert!(
        matches!(is_role_play(&saved), Some(RolePlayEvent::TemplateSaved { rubric }) if *rubric == edited)
    );
    let mut built_in = edited.clone();
    built_in.name = "Closing".into();
    fran.fails(
        role_play(RolePlayRequest::SaveTemplate { rubric: built_in }),
        ErrorCode::Conflict,
    )
    .await;
    // The template is part of the group: it survives a restart.
    let token = fran.token_credential();
    fran.close().await;
    ann.close().await;
    server.stop().await;
    let server = TestServer::start(dir.path()).await;
    let mut fran = TestClient::connect(server.addr).await;
    let snapshot = fran
        .join(group.group_id, token, None)
        .await
        .unwrap()
        .unwrap();
    let group_templates: Vec<&Rubric> = snapshot
        .role_play
        .templates
        .iter()
        .filter(|template| !template.built_in)
        .map(|template| &template.rubric)
        .collect();
    assert_eq!(group_templates, vec![&edited]);
    server.stop().await;
}

/// Replays served from the store's log (not the in-memory ring) filter private events too.
#[tokio::test]
async fn the_buyer_brief_reaches_only_the_buyer_in_replays_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        recent_events_max: 1,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits).await;
    let group = create_group(server.addr, "Replay Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let ann = join_member(&server, &group, "Ann").await;
    let bob = join_member(&server, &group, "Bob").await;
    let cleo = join_member(&server, &group, "Cleo").await;
    let (seller, buyer) = (ann.member_id.unwrap(), bob.member_id.unwrap());
    let resumes = [
        ("bob", bob.resume_point(), bob.token_credential()),
        ("cleo", cleo.resume_point(), cleo.token_credential()),
    ];
    bob.close().await;
    cleo.close().await;
    fran.ok(role_play(RolePlayRequest::SetUp {
        seller,
        buyer: Some(buyer),
        scenario: SCENARIO.into(),
        buyer_brief: Some(BRIEF.into()),
        rubric: rubric(),
        reveal_threshold: None,
    }))
    .await;
    // More events after the brief, so that the one-event ring cannot serve the resume.
    fran.ok(Request::RaiseHand).await;
    fran.ok(Request::LowerHand).await;
    for (name, resume, token) in resumes {
        let mut client = TestClient::connect(server.addr).await;
        let snapshot = client
            .join(group.group_id, token, Some(resume))
            .await
            .expect("resume");
        assert!(snapshot.is_none(), "{name} gets a replay, not a snapshot");
        event_seen(&mut client, |frame| {
            matches!(frame.event, Event::HandLowered { .. })
        })
        .await;
        let briefs = client
            .events()
            .iter()
            .filter(|frame| matches!(is_role_play(frame), Some(RolePlayEvent::BuyerBrief { .. })))
            .count();
        let set_ups = client
            .events()
            .iter()
            .filter(|frame| matches!(is_role_play(frame), Some(RolePlayEvent::SetUp { .. })))
            .count();
        assert_eq!(set_ups, 1, "{name} replays the setup");
        assert_eq!(briefs, usize::from(name == "bob"), "{name} and the brief");
        client.close().await;
    }
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// "You submitted", in the submitter's own snapshot only
// ---------------------------------------------------------------------------------------------

/// Joins again with the client's token and no resume point (a page reload): a fresh snapshot.
async fn reload(server: &TestServer, group: &TestGroup, client: &TestClient) -> (TestClient, bool) {
    let mut again = TestClient::connect(server.addr).await;
    let snapshot = again
        .join(group.group_id, client.token_credential(), None)
        .await
        .expect("join again")
        .expect("a join without a resume point gets a snapshot");
    let submitted = snapshot.role_play.you_submitted;
    (again, submitted)
}

/// Every snapshot a client received says `you_submitted` as `expected`.
fn snapshots_say(client: &TestClient, expected: bool) -> usize {
    let mut seen = 0;
    for message in &client.received {
        if let ServerMessage::Snapshot(snapshot) = message {
            assert_eq!(
                snapshot.role_play.you_submitted, expected,
                "a snapshot says you_submitted = {}",
                snapshot.role_play.you_submitted
            );
            seen += 1;
        }
    }
    seen
}

#[tokio::test]
async fn a_scorer_who_reloads_is_told_they_submitted_and_nobody_else_is() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Reload Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let ann = join_member(&server, &group, "Ann").await;
    let cleo = join_member(&server, &group, "Cleo").await;
    let dan = join_member(&server, &group, "Dan").await;
    fran.ok(role_play(RolePlayRequest::SetUp {
        seller: ann.member_id.unwrap(),
        buyer: None,
        scenario: SCENARIO.into(),
        buyer_brief: None,
        rubric: rubric(),
        reveal_threshold: Some(3),
    }))
    .await;
    let frame = event_seen(&mut fran, |frame| {
        matches!(is_role_play(frame), Some(RolePlayEvent::SetUp { .. }))
    })
    .await;
    let Some(RolePlayEvent::SetUp { role_play: info }) = is_role_play(&frame).cloned() else {
        unreachable!()
    };
    let role_play_id = info.role_play_id;
    fran.ok(role_play(RolePlayRequest::OpenScoring { role_play_id }))
        .await;
    // Before anyone scores, nobody has submitted.
    let (cleo_before, submitted) = reload(&server, &group, &cleo).await;
    assert!(!submitted, "Cleo has not submitted yet");

    let mut cleo = cleo;
    cleo.ok(submit(role_play_id, &CLEO)).await;
    event_seen(&mut fran, wait_count(1)).await;

    // Cleo reloads: her snapshot says she submitted. Nobody else's does.
    let (mut cleo_again, submitted) = reload(&server, &group, &cleo).await;
    assert!(submitted, "Cleo's own snapshot says she submitted");
    let (dan_again, submitted) = reload(&server, &group, &dan).await;
    assert!(!submitted, "Dan has not submitted");
    let (fran_again, submitted) = reload(&server, &group, &fran).await;
    assert!(!submitted, "the facilitator has not submitted");
    let (ann_again, submitted) = reload(&server, &group, &ann).await;
    assert!(!submitted, "the seller never submits");

    // From the reloaded page, a second submission is still a revision: no new count.
    cleo_again.ok(submit(role_play_id, &EVE_DRAFT)).await;
    let mut dan = dan;
    dan.ok(submit(role_play_id, &DAN)).await;
    event_seen(&mut fran, wait_count(2)).await;
    let counts: Vec<u32> = fran
        .events()
        .iter()
        .filter_map(|frame| match is_role_play(frame) {
            Some(RolePlayEvent::SubmissionCount { count, .. }) => Some(*count),
            _ => None,
        })
        .collect();
    assert_eq!(
        counts,
        vec![1, 2],
        "Cleo's resubmission after the reload was a revision"
    );
    let (dan_after, submitted) = reload(&server, &group, &dan).await;
    assert!(submitted, "Dan's own snapshot now says he submitted");

    // The next meeting sends everyone a snapshot while scoring stays open: per viewer again.
    fran.ok(Request::StartNextMeeting).await;
    let mut live = vec![
        ("fran", fran, false),
        ("ann", ann, false),
        ("cleo", cleo, true),
        ("cleo again", cleo_again, true),
        ("cleo before", cleo_before, true),
        ("dan", dan, true),
        ("dan again", dan_again, true),
        ("dan after", dan_after, true),
        ("fran again", fran_again, false),
        ("ann again", ann_again, false),
    ];
    for (name, client, submitted) in &mut live {
        let is_next = |message: &ServerMessage| matches!(message, ServerMessage::Snapshot(snapshot) if snapshot.meeting.number == 2);
        let mut message = client
            .received
            .iter()
            .find(|message| is_next(message))
            .cloned();
        while message.is_none() {
            message = Some(client.recv().await).filter(is_next);
        }
        let Some(ServerMessage::Snapshot(snapshot)) = message else {
            unreachable!()
        };
        assert_eq!(
            snapshot.role_play.you_submitted, *submitted,
            "{name}'s next-meeting snapshot"
        );
    }
    // Nothing else anyone received said otherwise: Cleo's and Dan's flags reached only their
    // own connections (each client's first snapshots were taken before its member scored).
    for (name, client, submitted) in &live {
        if !*submitted {
            assert!(
                snapshots_say(client, false) > 0,
                "{name} received snapshots"
            );
        }
    }

    // Once scoring closes, nobody is linked to a submission any more, not even for themselves.
    let (_, mut fran, _) = live.remove(0);
    fran.start_meeting().await;
    fran.ok(role_play(RolePlayRequest::CloseScoring { role_play_id }))
        .await;
    let (_, cleo, _) = live
        .iter()
        .position(|(name, _, _)| *name == "cleo")
        .map(|index| live.remove(index))
        .unwrap();
    let (_, submitted) = reload(&server, &group, &cleo).await;
    assert!(!submitted, "after scoring closed the flag is gone");

    // The flag was never stored: the store holds the (unrevealed) bag, and no flag beside it.
    fran.close().await;
    cleo.close().await;
    for (_, client, _) in live {
        client.close().await;
    }
    server.stop().await;
    let stored = redb_bytes(dir.path());
    assert!(
        !find_all(&stored, DAN.comment.as_bytes()).is_empty(),
        "the bag is in the store (the check is not vacuous)"
    );
    assert!(
        find_all(&stored, b"you_submitted").is_empty(),
        "the flag is never stored"
    );
}

#[tokio::test]
async fn a_scorers_other_pages_are_told_they_submitted_and_nobody_elses_are_even_resuming() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let group = create_group(server.addr, "Two Tabs Peers").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let ann = join_member(&server, &group, "Ann").await;
    let mut cleo = join_member(&server, &group, "Cleo").await;
    let mut dan = join_member(&server, &group, "Dan").await;
    // Cleo has the room open in a second tab too.
    let (mut cleo_tab, _) = reload(&server, &group, &cleo).await;
    fran.ok(role_play(RolePlayRequest::SetUp {
        seller: ann.member_id.unwrap(),
        buyer: None,
        scenario: SCENARIO.into(),
        buyer_brief: None,
        rubric: rubric(),
        reveal_threshold: Some(3),
    }))
    .await;
    let frame = event_seen(&mut fran, |frame| {
        matches!(is_role_play(frame), Some(RolePlayEvent::SetUp { .. }))
    })
    .await;
    let Some(RolePlayEvent::SetUp { role_play: info }) = is_role_play(&frame).cloned() else {
        unreachable!()
    };
    let role_play_id = info.role_play_id;
    fran.ok(role_play(RolePlayRequest::OpenScoring { role_play_id }))
        .await;
    event_seen(&mut cleo_tab, |frame| {
        matches!(
            is_role_play(frame),
            Some(RolePlayEvent::ScoringOpened { .. })
        )
    })
    .await;
    let snapshots_before = |client: &TestClient| {
        client
            .received
            .iter()
            .filter(|message| matches!(message, ServerMessage::Snapshot(_)))
            .count()
    };
    let (dan_before, tab_before) = (snapshots_before(&dan), snapshots_before(&cleo_tab));

    cleo.ok(submit(role_play_id, &CLEO)).await;
    // The other tab hears it: a snapshot of its own that says she submitted, after the count.
    let snapshot = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let ServerMessage::Snapshot(snapshot) = cleo_tab.recv().await {
                return snapshot;
            }
        }
    })
    .await
    .expect("Cleo's other tab gets a snapshot");
    assert!(snapshot.role_play.you_submitted, "it says she submitted");
    assert_eq!(snapshot.role_play.current.unwrap().submission_count, 1);
    assert_eq!(snapshots_before(&cleo_tab), tab_before + 1);
    // The tab she submitted from has the ack; nobody else gets anything but the count.
    drain(&mut cleo).await;
    drain(&mut dan).await;
    assert_eq!(snapshots_before(&dan), dan_before, "Dan gets no snapshot");
    assert_eq!(
        snapshots_say(&cleo, false),
        1,
        "the submitting tab has only its first snapshot"
    );

    // A revision from the other tab tells the first one, the same way.
    cleo_tab.ok(submit(role_play_id, &EVE_DRAFT)).await;
    let snapshot = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let ServerMessage::Snapshot(snapshot) = cleo.recv().await {
                return snapshot;
            }
        }
    })
    .await
    .expect("the first tab gets a snapshot");
    assert!(snapshot.role_play.you_submitted);
    assert_eq!(
        snapshot.role_play.current.unwrap().submission_count,
        1,
        "a revision, not a second submission"
    );
    // A page of hers that was away when she submitted and resumes gets a snapshot that says
    // so, not a replay of events that cannot.
    let mut away = TestClient::connect(server.addr).await;
    away.join(group.group_id, cleo.token_credential(), None)
        .await
        .expect("join");
    let resume = away.resume_point();
    away.close().await;
    cleo.ok(submit(role_play_id, &CLEO)).await;
    let mut back = TestClient::connect(server.addr).await;
    let snapshot = back
        .join(group.group_id, cleo.token_credential(), Some(resume))
        .await
        .expect("join again")
        .expect("a snapshot, not a replay");
    assert!(snapshot.role_play.you_submitted);
    // Dan, who has not scored, resumes with a replay as usual.
    let resume = dan.resume_point();
    let mut dan_back = TestClient::connect(server.addr).await;
    let caught_up = dan_back
        .join(group.group_id, dan.token_credential(), Some(resume))
        .await
        .expect("join again");
    assert!(caught_up.is_none(), "Dan resumes with a replay");
    for client in [fran, ann, cleo, cleo_tab, dan, back, dan_back] {
        client.close().await;
    }
    server.stop().await;
}
