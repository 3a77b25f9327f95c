//! Deleting a group and a member's leaving with the erasure of their data, over real WebSockets,
//! on both stores: what the clients see, and that the deleted bytes are gone from the store
//! (every file of the embedded store's data directory, read raw; every key of Redis and every
//! byte of its value).

mod support;

use std::sync::Arc;
use std::time::Duration;

use roundtable_protocol::{
    CloseReason, Credential, ErrorCode, GroupId, Request, ServerMessage, Snapshot,
};
use roundtable_server::Limits;
use roundtable_server::store::{EmbeddedOptions, RedisStore, Store, fixtures};
use serde_json::json;
use support::redis::{TestRedis, every_name_and_value, options, start_server, unique_prefix};
use support::{
    Closed, TestClient, TestGroup, TestServer, create_group, every_file, http_get, live_rooms,
};

/// How often the embedded store checkpoints in these tests.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// A group name nobody else uses, so that its bytes can be looked for.
const GROUP_NAME: &str = "Zeppelin Peers of Ostrava";
/// Text entered in the group (a commitment), looked for in the stored bytes.
const MARKER: &str = "Call the ostrich-farm account by Tuesday";
/// A member's name, looked for after she leaves.
const ANN: &str = "Annabelle Zephyrine";
/// What Ann entered, looked for when she chose to remove it.
const ANN_PRACTICE: &str = "The quokka opener";

fn request(value: serde_json::Value) -> Request {
    serde_json::from_value(value).expect("a valid request")
}

/// Where the test's data lives, and how to read all of it back as bytes.
enum Backend {
    Embedded(tempfile::TempDir),
    Redis { redis: TestRedis, prefix: String },
}

impl Backend {
    fn embedded() -> Backend {
        Backend::Embedded(tempfile::tempdir().expect("temp dir"))
    }

    fn redis() -> Backend {
        Backend::Redis {
            redis: TestRedis::start(),
            prefix: unique_prefix("deletion"),
        }
    }

    async fn start(&self) -> TestServer {
        match self {
            // Checkpoints often, so that the group's pages are in the redb file (not only in
            // the journal) when it is deleted, and the deletion frees them.
            Backend::Embedded(dir) => {
                let store = fixtures::open_embedded(
                    dir.path(),
                    EmbeddedOptions {
                        checkpoint_interval: CHECKPOINT_EVERY,
                        ..EmbeddedOptions::default()
                    },
                )
                .await;
                TestServer::start_with_store(dir.path(), Limits::default(), Arc::new(store)).await
            }
            Backend::Redis { redis, prefix } => {
                start_server(redis.url(), prefix, Limits::default()).await
            }
        }
    }

    /// Waits until what was written is in the store's files (the embedded store's redb file,
    /// past a checkpoint).
    async fn settle(&self) {
        if let Backend::Embedded(_) = self {
            tokio::time::sleep(CHECKPOINT_EVERY * 3).await;
        }
    }

    /// A second server process on the same store (Redis only: redb locks its file).
    async fn start_second(&self) -> Option<TestServer> {
        match self {
            Backend::Embedded(_) => None,
            Backend::Redis { redis, prefix } => {
                Some(start_server(redis.url(), prefix, Limits::default()).await)
            }
        }
    }

    /// A store on the same data, opened after the server stopped (for the embedded store, the
    /// open that rewrites its file when a vacuum is due).
    async fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Embedded(dir) => {
                Arc::new(fixtures::open_embedded(dir.path(), EmbeddedOptions::default()).await)
            }
            Backend::Redis { redis, prefix } => Arc::new(
                RedisStore::connect(redis.url(), options(prefix))
                    .await
                    .expect("connect"),
            ),
        }
    }

    /// Every byte the store holds, each with where it was: the embedded store's files read
    /// raw (not through redb), or every Redis key's name and value.
    async fn every_byte(&self) -> Vec<(String, Vec<u8>)> {
        match self {
            Backend::Embedded(dir) => every_file(dir.path()),
            Backend::Redis { redis, .. } => every_name_and_value(redis.url(), "*").await,
        }
    }
}

/// The ways a group id can be stored: as text (hyphenated or not) and as 16 bytes.
fn forms_of(group_id: GroupId) -> Vec<Vec<u8>> {
    let id = group_id.as_u128();
    vec![
        group_id.to_string().into_bytes(),
        uuid::Uuid::from_u128(id).simple().to_string().into_bytes(),
        id.to_be_bytes().to_vec(),
        id.to_le_bytes().to_vec(),
    ]
}

fn holds(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|window| window == needle)
}

/// Where any of `needles` is in `stored`.
fn places_of(stored: &[(String, Vec<u8>)], needles: &[Vec<u8>]) -> Vec<String> {
    stored
        .iter()
        .filter(|(_, bytes)| needles.iter().any(|needle| holds(bytes, needle)))
        .map(|(place, _)| place.clone())
        .collect()
}

/// A facilitator, Ann and Bob in a group with a marked commitment, through two meetings.
struct Room {
    group: TestGroup,
    fran: TestClient,
    ann: TestClient,
    bob: TestClient,
}

async fn room(server: &TestServer) -> Room {
    let group = create_group(server.addr, GROUP_NAME).await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, ANN).await;
    let mut bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;
    fran.ok(request(json!({"type": "set_metrics", "metrics": [
        {"key": "calls", "name": "Calls", "unit": "count"}]})))
        .await;
    for meeting in 1..=2 {
        ann.ok(request(json!({"type": "add_commitment", "text": MARKER})))
            .await;
        ann.ok(request(
            json!({"type": "submit_numbers", "values": {"calls": 41.0}, "sharing": "named"}),
        ))
        .await;
        bob.ok(request(
            json!({"type": "submit_numbers", "values": {"calls": 17.0}, "sharing": "anonymous"}),
        ))
        .await;
        ann.ok(request(
            json!({"type": "post_practice", "title": ANN_PRACTICE,
            "description": "Ask what they would do with a quokka", "outcome": "worked"}),
        ))
        .await;
        if meeting == 1 {
            fran.ok(Request::StartNextMeeting).await;
            fran.start_meeting().await;
        }
    }
    Room {
        group,
        fran,
        ann,
        bob,
    }
}

/// Reads until the server closes, and returns the `closing` message it sent and the close.
async fn closing_of(client: &mut TestClient) -> (CloseReason, String, Closed) {
    let closed = client.until_closed().await;
    let (reason, message) = client
        .received
        .iter()
        .rev()
        .find_map(|message| match message {
            ServerMessage::Closing { reason, message } => Some((*reason, message.clone())),
            _ => None,
        })
        .expect("a closing message before the close");
    (reason, message, closed)
}

async fn a_facilitator_deletes_the_group_and_nothing_of_it_is_left(backend: Backend) {
    let server = backend.start().await;
    // Another group stays, so the scans below read real data.
    let kept = create_group(server.addr, "Kept Group").await;
    let mut keeper = TestClient::joined_as_facilitator(server.addr, &kept, "Keeper").await;
    keeper.start_meeting().await;
    let Room {
        group,
        mut fran,
        mut ann,
        mut bob,
    } = room(&server).await;
    let ann_token = ann.member_token.clone().expect("token");
    let second = backend.start_second().await;
    if let Some(second) = &second {
        let mut elsewhere = TestClient::connect(second.addr).await;
        let refused = elsewhere
            .join(group.group_id, ann.token_credential(), None)
            .await
            .expect_err("the room is live on the first server");
        assert_eq!(refused.0, ErrorCode::RoomElsewhere);
    }
    backend.settle().await;
    let before = backend.every_byte().await;
    assert!(
        !places_of(&before, &[MARKER.as_bytes().to_vec()]).is_empty(),
        "the marker is in the store before the deletion, so the scan finds what is there"
    );

    // Only a facilitator, and only with the group's name typed as it is.
    let wrong = fran
        .fails(
            request(json!({"type": "delete_group", "confirm_name": "Zeppelin peers"})),
            ErrorCode::Invalid,
        )
        .await;
    assert!(wrong.contains("confirm_name"), "{wrong}");
    ann.fails(
        request(json!({"type": "delete_group", "confirm_name": GROUP_NAME})),
        ErrorCode::Forbidden,
    )
    .await;

    // Bob keeps acting while the facilitator deletes: nothing he does may write the group
    // again.
    for _ in 0..10 {
        bob.send(Request::RaiseHand).await;
        bob.send(Request::LowerHand).await;
    }
    assert_eq!(live_rooms(&server).await, 2);
    fran.ok(request(
        json!({"type": "delete_group", "confirm_name": GROUP_NAME}),
    ))
    .await;
    for client in [&mut fran, &mut ann, &mut bob] {
        let (reason, message, closed) = closing_of(client).await;
        assert_eq!(reason, CloseReason::GroupDeleted);
        assert_eq!(message, "The group was deleted by a facilitator");
        assert!(
            matches!(&closed, Closed::Frame(1000, reason) if reason == "group_deleted"),
            "{closed:?}"
        );
    }

    // The deleted group's room is unloaded; the kept group's is still live.
    let mut unloaded = false;
    for _ in 0..50 {
        if live_rooms(&server).await == 1 {
            unloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(unloaded, "the deleted group's room left the registry");

    // The links and tokens find nothing, on every server.
    let servers: Vec<&TestServer> = std::iter::once(&server).chain(&second).collect();
    for server in &servers {
        let credentials = [
            Credential::Invite {
                secret: group.invite_secret.clone(),
                display_name: "Late".into(),
                observer: false,
            },
            Credential::Facilitator {
                secret: group.facilitator_secret.clone(),
                display_name: "Late".into(),
                member_token: None,
            },
            Credential::MemberToken {
                token: ann_token.clone(),
            },
        ];
        for credential in credentials {
            let mut late = TestClient::connect(server.addr).await;
            let refused = late
                .join(group.group_id, credential, None)
                .await
                .expect_err("the group is gone");
            assert_eq!(refused.0, ErrorCode::NotFound, "{}", refused.1);
        }
        let path = format!("/api/groups/{}/meetings", group.group_id);
        let (status, _) = http_get(server.addr, &path, Some(&ann_token)).await;
        assert_eq!(status, 404);
    }
    // The kept group is untouched.
    keeper.ok(Request::RaiseHand).await;

    // Nothing of the group is left: wait past anything a stopping room might still write,
    // stop the servers, open the store again (the embedded store rewrites its file then), and
    // read every byte.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(keeper);
    if let Some(second) = second {
        second.stop().await;
    }
    server.stop().await;
    let store = backend.store().await;
    assert_eq!(store.load_room(group.group_id).await.expect("load"), None);
    assert!(
        store
            .load_room(kept.group_id)
            .await
            .expect("load")
            .is_some()
    );
    assert!(
        store
            .read_log(group.meeting_id, 0, 100)
            .await
            .expect("read")
            .is_empty()
    );
    drop(store);
    let after = backend.every_byte().await;
    let mut needles = forms_of(group.group_id);
    needles.push(MARKER.as_bytes().to_vec());
    needles.push(GROUP_NAME.as_bytes().to_vec());
    needles.push(ANN.as_bytes().to_vec());
    assert_eq!(places_of(&after, &needles), Vec::<String>::new());
    assert!(
        !places_of(&after, &forms_of(kept.group_id)).is_empty(),
        "the kept group is still found by the same scan"
    );
}

#[tokio::test]
async fn a_facilitator_deletes_the_group_and_nothing_of_it_is_left_in_the_embedded_store() {
    a_facilitator_deletes_the_group_and_nothing_of_it_is_left(Backend::embedded()).await;
}

#[tokio::test]
async fn a_facilitator_deletes_the_group_and_nothing_of_it_is_left_in_redis() {
    a_facilitator_deletes_the_group_and_nothing_of_it_is_left(Backend::redis()).await;
}

/// The next snapshot `client` receives.
async fn next_snapshot(client: &mut TestClient) -> Snapshot {
    loop {
        if let ServerMessage::Snapshot(snapshot) = client.recv().await {
            return snapshot;
        }
    }
}

async fn a_member_leaves_and_their_name_is_gone_from_the_store(backend: Backend) {
    let server = backend.start().await;
    let Room {
        group,
        mut fran,
        mut ann,
        mut bob,
    } = room(&server).await;
    let ann_id = ann.member_id.expect("joined");
    let ann_token = ann.token_credential();
    // Bob's second tab drops before Ann leaves and resumes after.
    let mut bob_tab = TestClient::connect(server.addr).await;
    bob_tab
        .join(group.group_id, bob.token_credential(), None)
        .await
        .expect("join");
    let resume_from = bob_tab.resume_point();
    bob_tab.drop_connection();

    // The group's only facilitator cannot leave.
    fran.fails(
        request(json!({"type": "leave_group", "commitments": "remove", "numbers": "remove", "practices": "remove"})),
        ErrorCode::Conflict,
    )
    .await;
    backend.settle().await;
    let before = backend.every_byte().await;
    assert!(
        !places_of(&before, &[ANN.as_bytes().to_vec()]).is_empty(),
        "her name is stored before she leaves"
    );

    ann.ok(request(json!({"type": "leave_group", "commitments": "remove", "numbers": "remove", "practices": "remove"})))
        .await;
    let (reason, _, closed) = closing_of(&mut ann).await;
    assert_eq!(reason, CloseReason::Left);
    assert!(matches!(closed, Closed::Frame(1000, _)), "{closed:?}");

    // Everyone else gets the event and then a snapshot equal to a fresh page's.
    for client in [&mut fran, &mut bob] {
        let erased = client
            .event_where(|frame| {
                matches!(&frame.event, roundtable_protocol::Event::MemberErased { member_id } if *member_id == ann_id)
            })
            .await;
        let snapshot = next_snapshot(client).await;
        assert_eq!(snapshot.seq, erased.seq);
        let mut fresh = TestClient::connect(server.addr).await;
        let fresh_snapshot = fresh
            .join(group.group_id, client.token_credential(), None)
            .await
            .expect("join")
            .expect("a snapshot");
        assert_eq!(snapshot, fresh_snapshot, "a live page equals a fresh one");
        let text = serde_json::to_string(&snapshot).unwrap();
        assert!(!text.contains(ANN) && !text.contains(ANN_PRACTICE));
        assert!(!text.contains(MARKER), "her commitments are removed");
        fresh.close().await;
    }
    // A tab that resumes from before the erasure gets a snapshot without her.
    let mut bob_tab = TestClient::connect(server.addr).await;
    let snapshot = bob_tab
        .join(group.group_id, bob.token_credential(), Some(resume_from))
        .await
        .expect("resume")
        .expect("a snapshot: the log before the erasure is gone");
    assert!(
        snapshot
            .members
            .iter()
            .all(|member| member.member_id != ann_id)
    );
    // Her token is refused.
    let mut again = TestClient::connect(server.addr).await;
    let refused = again
        .join(group.group_id, ann_token, None)
        .await
        .expect_err("her token is refused");
    assert_eq!(refused.0, ErrorCode::Unauthorized);

    // Her name is nowhere in the store; the others' are.
    drop((fran, bob, bob_tab, again));
    server.stop().await;
    drop(backend.store().await);
    let after = backend.every_byte().await;
    let gone = [ANN, ANN_PRACTICE, MARKER].map(|text| text.as_bytes().to_vec());
    assert_eq!(places_of(&after, &gone), Vec::<String>::new());
    assert!(
        !places_of(&after, &[b"Fran".to_vec()]).is_empty(),
        "the others' names are still found by the same scan"
    );
    let server = backend.start().await;
    let mut fran = TestClient::connect(server.addr).await;
    let snapshot = fran.join_as_facilitator(&group, "Frances").await;
    assert_eq!(snapshot.group.name, GROUP_NAME, "the group goes on");
    server.stop().await;
}

#[tokio::test]
async fn a_member_leaves_and_their_name_is_gone_from_the_embedded_store() {
    a_member_leaves_and_their_name_is_gone_from_the_store(Backend::embedded()).await;
}

#[tokio::test]
async fn a_member_leaves_and_their_name_is_gone_from_redis() {
    a_member_leaves_and_their_name_is_gone_from_the_store(Backend::redis()).await;
}

/// Anonymized contributions stay for the group under no name.
#[tokio::test]
async fn a_member_who_anonymizes_leaves_their_commitments_under_no_name() {
    let backend = Backend::embedded();
    let server = backend.start().await;
    let Room {
        group: _,
        mut fran,
        mut ann,
        bob: _,
    } = room(&server).await;
    let ann_id = ann.member_id.expect("joined");
    ann.ok(request(json!({"type": "leave_group", "commitments": "anonymize", "numbers": "anonymize", "practices": "anonymize"})))
        .await;
    let snapshot = next_snapshot(&mut fran).await;
    assert!(
        snapshot
            .members
            .iter()
            .all(|member| member.member_id != ann_id)
    );
    assert!(
        snapshot
            .commitments
            .iter()
            .any(|commitment| commitment.owner == ann_id && commitment.text == MARKER),
        "kept for the group"
    );
    assert!(
        snapshot
            .practices
            .iter()
            .any(|practice| practice.title == ANN_PRACTICE)
    );
    let text = serde_json::to_string(&snapshot).unwrap();
    assert!(!text.contains(ANN));
    server.stop().await;
    drop(backend.store().await);
    let after = backend.every_byte().await;
    assert_eq!(
        places_of(&after, &[ANN.as_bytes().to_vec()]),
        Vec::<String>::new()
    );
    assert!(!places_of(&after, &[MARKER.as_bytes().to_vec()]).is_empty());
}
