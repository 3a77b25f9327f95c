use std::time::Duration;

use roundtable_protocol::{GroupId, MeetingId};
use roundtable_rules::room::Group;
use roundtable_rules::secret::hash_secret;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::clock::{Clock, SystemClock};
use crate::config::Limits;
use crate::room::fleet::Fleet;
use crate::store::{EmbeddedOptions, Snapshot, Store, fixtures};

/// A registry on an embedded store in `dir`, with leases of `lease_ms`, and one group.
async fn registry_with_group(dir: &std::path::Path, lease_ms: u64) -> (Registry, GroupId) {
    let store: Arc<dyn Store> =
        Arc::new(fixtures::open_embedded(dir, EmbeddedOptions::default()).await);
    let group_id = GroupId::random();
    let meeting_id = MeetingId::random();
    let now_ms = SystemClock.now_ms();
    let snapshot = Snapshot::of_new_group(
        Group {
            id: group_id,
            name: "Registry test".into(),
            facilitator_secret_hash: hash_secret("facilitator"),
            invite_secret_hash: hash_secret("invite"),
            created_at_ms: now_ms,
            time_zone: None,
            call_url: None,
        },
        meeting_id,
        now_ms,
    );
    store
        .create_group(group_id, &snapshot)
        .await
        .expect("create the group");
    let limits = Limits {
        room_lease_ms: lease_ms,
        lease_wait_margin_ms: 5_000,
        ..Limits::default()
    };
    let registry = Registry::new(RoomContext {
        store,
        fleet: Fleet::new(&limits),
        limits,
        clock: Arc::new(SystemClock),
        shutdown: CancellationToken::new(),
        lease_owner: Arc::from("this-process"),
        public_base: Arc::from("http://127.0.0.1"),
    });
    (registry, group_id)
}

/// A reader that gives up while the room loads (an HTTP client that left) does not take
/// the load with it: the room still loads, takes and renews its lease, and the next reader
/// finds it live without a second load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_dropped_while_the_room_loads_leaves_the_load_to_finish() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (registry, group_id) = registry_with_group(dir.path(), 1_000).await;
    let store = Arc::clone(&registry.context.store);
    // Another process holds the lease, so the load waits for it to run out (for at most
    // the lease plus a margin of 5 s, which a busy machine cannot use up).
    assert!(
        store
            .take_lease(group_id, "another-process", 1_000)
            .await
            .expect("take the lease"),
        "the other process takes the lease first"
    );
    let gave_up =
        tokio::time::timeout(Duration::from_millis(100), registry.inspect(group_id)).await;
    assert!(
        gave_up.is_err(),
        "the reader waits for the lease, then gives up"
    );
    assert_eq!(registry.live_rooms(), 1, "the group's slot is in the map");

    // Nobody waits for the room now; its load goes on by itself and takes the lease once
    // the other process's runs out.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while registry.fleet().renewals.is_empty() {
        assert_eq!(
            registry.live_rooms(),
            1,
            "the load failed (its slot left the map) instead of waiting for the lease"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "the room did not load within 9 s of the lease running out: its load went \
             with the reader that gave up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !store
            .take_lease(group_id, "another-process", 1_000)
            .await
            .expect("try the lease"),
        "the loaded room's process holds the lease"
    );
    let state = tokio::time::timeout(Duration::from_secs(2), registry.inspect(group_id))
        .await
        .expect("the live room answers at once")
        .expect("the room's state");
    assert_eq!(state.group.id, group_id);
    assert_eq!(registry.live_rooms(), 1, "one room, loaded once");
    assert_eq!(registry.fleet().renewals.len(), 1, "one lease renewed");
}
