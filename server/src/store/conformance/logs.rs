//! The conformance checks of groups' snapshots and meetings' logs: create and load, append
//! (in order, atomically, not to unknown groups), snapshots that replace the tail, a new
//! meeting's log, reading and trimming.

use roundtable_protocol::{GroupId, MeetingId};

use super::new_group;
use crate::store::fixtures::{append, entries, entry, load, snapshot};
use crate::store::{Store, StoreError};

pub(super) async fn create_then_load(store: &dyn Store) {
    let (group_id, meeting_id) = new_group(store).await;
    let loaded = load(store, group_id).await;
    assert_eq!(loaded.snapshot, snapshot(meeting_id, 0, "initial"));
    assert!(loaded.tail.is_empty(), "a new group has no log tail");
}

pub(super) async fn create_twice_conflicts(store: &dyn Store) {
    let (group_id, meeting_id) = new_group(store).await;
    let again = store
        .create_group(group_id, &snapshot(meeting_id, 0, "other"))
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "creating an existing group must conflict, got {again:?}"
    );
    assert_eq!(load(store, group_id).await.snapshot.bytes, b"initial");
}

pub(super) async fn unknown_group_is_none(store: &dyn Store) {
    let loaded = store.load_room(GroupId::random()).await.expect("load_room");
    assert!(loaded.is_none(), "an unknown group loads as None");
}

pub(super) async fn append_then_load_returns_tail(store: &dyn Store) {
    let (group_id, meeting_id) = new_group(store).await;
    append(store, group_id, meeting_id, &entries(1..=3), None)
        .await
        .expect("append 1..=3");
    append(store, group_id, meeting_id, &entries(4..=4), None)
        .await
        .expect("append 4");
    let loaded = load(store, group_id).await;
    assert_eq!(
        loaded.tail,
        entries(1..=4),
        "the tail holds every appended entry"
    );
}

pub(super) async fn append_refuses_gaps_and_repeats(store: &dyn Store) {
    let (group_id, meeting_id) = new_group(store).await;
    let starts_at_two = append(store, group_id, meeting_id, &entries(2..=2), None).await;
    assert!(
        matches!(starts_at_two, Err(StoreError::Conflict(_))),
        "a log must start at seq 1, got {starts_at_two:?}"
    );
    append(store, group_id, meeting_id, &entries(1..=2), None)
        .await
        .expect("append 1..=2");
    let repeat = append(store, group_id, meeting_id, &entries(2..=3), None).await;
    assert!(
        matches!(repeat, Err(StoreError::Conflict(_))),
        "a repeated seq must conflict, got {repeat:?}"
    );
    let gap = append(store, group_id, meeting_id, &entries(4..=4), None).await;
    assert!(
        matches!(gap, Err(StoreError::Conflict(_))),
        "a gap must conflict, got {gap:?}"
    );
    let not_consecutive = vec![entry(3), entry(5)];
    let shape = append(store, group_id, meeting_id, &not_consecutive, None).await;
    assert!(
        matches!(shape, Err(StoreError::Conflict(_))),
        "non-consecutive seqs in one batch must conflict, got {shape:?}"
    );
    assert_eq!(load(store, group_id).await.tail, entries(1..=2));
}

pub(super) async fn failed_append_writes_nothing(store: &dyn Store) {
    let (group_id, meeting_id) = new_group(store).await;
    append(store, group_id, meeting_id, &entries(1..=1), None)
        .await
        .expect("append 1");
    // A batch whose first entry repeats seq 1 carries a snapshot too: neither may be stored.
    let bad_snapshot = snapshot(meeting_id, 2, "must not be stored");
    let result = append(
        store,
        group_id,
        meeting_id,
        &entries(1..=2),
        Some(&bad_snapshot),
    )
    .await;
    assert!(matches!(result, Err(StoreError::Conflict(_))));
    let loaded = load(store, group_id).await;
    assert_eq!(
        loaded.snapshot.bytes, b"initial",
        "a failed batch stores no snapshot"
    );
    assert_eq!(
        loaded.tail,
        entries(1..=1),
        "a failed batch stores no entry"
    );
}

pub(super) async fn snapshot_replaces_tail(store: &dyn Store) {
    let (group_id, meeting_id) = new_group(store).await;
    append(store, group_id, meeting_id, &entries(1..=5), None)
        .await
        .expect("append 1..=5");
    let at_six = snapshot(meeting_id, 6, "state at 6");
    append(store, group_id, meeting_id, &entries(6..=6), Some(&at_six))
        .await
        .expect("append 6 with snapshot");
    append(store, group_id, meeting_id, &entries(7..=8), None)
        .await
        .expect("append 7..=8");
    let loaded = load(store, group_id).await;
    assert_eq!(loaded.snapshot, at_six);
    assert_eq!(
        loaded.tail,
        entries(7..=8),
        "the tail starts after the snapshot"
    );
    // The log itself still holds the entries before the snapshot, for resuming clients.
    let all = store.read_log(meeting_id, 0, 100).await.expect("read_log");
    assert_eq!(all, entries(1..=8));
    // A snapshot alone (no entries) is a valid batch.
    let at_eight = snapshot(meeting_id, 8, "state at 8");
    append(store, group_id, meeting_id, &[], Some(&at_eight))
        .await
        .expect("snapshot-only batch");
    let loaded = load(store, group_id).await;
    assert_eq!(loaded.snapshot, at_eight);
    assert!(loaded.tail.is_empty());
}

pub(super) async fn new_meeting_starts_a_new_log(store: &dyn Store) {
    let (group_id, first_meeting) = new_group(store).await;
    append(store, group_id, first_meeting, &entries(1..=3), None)
        .await
        .expect("append to the first meeting");
    let second_meeting = MeetingId::random();
    let start = snapshot(second_meeting, 0, "second meeting");
    append(store, group_id, second_meeting, &[], Some(&start))
        .await
        .expect("start the second meeting");
    append(store, group_id, second_meeting, &entries(1..=2), None)
        .await
        .expect("append to the second meeting");
    let loaded = load(store, group_id).await;
    assert_eq!(loaded.snapshot, start);
    assert_eq!(loaded.tail, entries(1..=2));
    let first_log = store
        .read_log(first_meeting, 0, 100)
        .await
        .expect("read_log");
    assert_eq!(first_log, entries(1..=3), "the past meeting's log is kept");
}

pub(super) async fn read_log_pages_in_order(store: &dyn Store) {
    let (group_id, meeting_id) = new_group(store).await;
    append(store, group_id, meeting_id, &entries(1..=20), None)
        .await
        .expect("append 1..=20");
    let page = store.read_log(meeting_id, 5, 4).await.expect("read_log");
    assert_eq!(page, entries(6..=9));
    let rest = store.read_log(meeting_id, 18, 100).await.expect("read_log");
    assert_eq!(rest, entries(19..=20));
    let none = store.read_log(meeting_id, 20, 100).await.expect("read_log");
    assert!(none.is_empty());
    let unknown = store
        .read_log(MeetingId::random(), 0, 100)
        .await
        .expect("read_log of an unknown meeting");
    assert!(unknown.is_empty());
}

pub(super) async fn trim_removes_old_entries_only(store: &dyn Store) {
    let (group_id, meeting_id) = new_group(store).await;
    append(store, group_id, meeting_id, &entries(1..=10), None)
        .await
        .expect("append 1..=10");
    store.trim_log(meeting_id, 6).await.expect("trim_log");
    let left = store.read_log(meeting_id, 0, 100).await.expect("read_log");
    assert_eq!(left, entries(7..=10));
    // The log continues where it was, not where the trimmed part began.
    append(store, group_id, meeting_id, &entries(11..=11), None)
        .await
        .expect("append after trim");
    let early = append(store, group_id, meeting_id, &entries(7..=7), None).await;
    assert!(matches!(early, Err(StoreError::Conflict(_))));
}

pub(super) async fn append_to_unknown_group_is_not_found(store: &dyn Store) {
    let result = append(
        store,
        GroupId::random(),
        MeetingId::random(),
        &entries(1..=1),
        None,
    )
    .await;
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "appending to an unknown group must be not found, got {result:?}"
    );
}

pub(super) async fn many_concurrent_appends_to_different_groups(store: &dyn Store) {
    let mut groups = Vec::new();
    for _ in 0..8 {
        groups.push(new_group(store).await);
    }
    let writes = groups.iter().map(|&(group_id, meeting_id)| async move {
        for seq in 1..=10 {
            append(store, group_id, meeting_id, &entries(seq..=seq), None)
                .await
                .expect("concurrent append");
        }
    });
    futures_util::future::join_all(writes).await;
    for (group_id, _) in groups {
        assert_eq!(load(store, group_id).await.tail, entries(1..=10));
    }
}
