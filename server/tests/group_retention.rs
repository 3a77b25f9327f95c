//! The retention of abandoned groups against a real server: groups nobody joined within
//! `--unjoined-group-retention-days`, and groups nobody joined for
//! `--inactive-group-retention-days`, are deleted by the server's retention pass; creation and
//! joins are what count as activity.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use roundtable_protocol::GroupId;
use roundtable_server::Limits;
use roundtable_server::clock::{Clock, SystemClock};
use roundtable_server::store::{EmbeddedOptions, EmbeddedStore, Store, fixtures};
use support::{TestClient, TestServer, create_group};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

async fn exists(store: &EmbeddedStore, group_id: GroupId) -> bool {
    store.load_room(group_id).await.expect("load").is_some()
}

#[tokio::test]
async fn the_server_deletes_groups_abandoned_longer_than_their_retention() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = fixtures::open_embedded(dir.path(), EmbeddedOptions::default()).await;
    let now_ms = SystemClock.now_ms();
    let mut groups = Vec::new();
    // (days since the last activity, joined ever, kept by the default retention of 7 and 365)
    for (days, joined, kept) in [
        (8, false, false),
        (2, false, true),
        (400, true, false),
        (10, true, true),
    ] {
        let (group_id, _) = fixtures::create_group(&store, "{}").await;
        store
            .record_group_activity(group_id, now_ms - days * DAY_MS, joined)
            .await
            .expect("record activity");
        groups.push((group_id, kept));
    }
    // A group from before activity was recorded is never found abandoned.
    let (untracked, _) = fixtures::create_group(&store, "{}").await;
    // An abandoned group whose room another server has just loaded (it holds the lease) is
    // left alone.
    let (leased, _) = fixtures::create_group(&store, "{}").await;
    store
        .record_group_activity(leased, now_ms - 30 * DAY_MS, false)
        .await
        .expect("record activity");
    assert!(
        store
            .take_lease(leased, "another server", 60_000)
            .await
            .expect("lease")
    );

    let server =
        TestServer::start_with_store(dir.path(), Limits::default(), Arc::new(store.clone())).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    for &(group_id, kept) in &groups {
        if kept {
            continue;
        }
        while exists(&store, group_id).await {
            assert!(
                Instant::now() < deadline,
                "the first retention pass deletes the abandoned group"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for &(group_id, kept) in &groups {
        assert_eq!(exists(&store, group_id).await, kept, "{group_id}");
    }
    assert!(exists(&store, untracked).await);
    assert!(
        exists(&store, leased).await,
        "a group whose room is live elsewhere is kept"
    );
    server.stop().await;
}

#[tokio::test]
async fn creation_and_joins_are_recorded_as_activity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = fixtures::open_embedded(dir.path(), EmbeddedOptions::default()).await;
    let server =
        TestServer::start_with_store(dir.path(), Limits::default(), Arc::new(store.clone())).await;
    let group = create_group(server.addr, "Peers").await;
    let everything = |joined: bool| {
        let store = store.clone();
        async move {
            store
                .abandoned_groups(u64::MAX, joined.then_some(u64::MAX), 100)
                .await
                .expect("abandoned groups")
        }
    };
    assert_eq!(
        everything(false).await,
        vec![group.group_id],
        "a new group is recorded as nobody joined it"
    );
    let _fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !everything(false).await.is_empty() {
        assert!(Instant::now() < deadline, "the join is recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(everything(true).await, vec![group.group_id]);
    server.stop().await;
}
