//! The conformance suite every [`Store`] implementation must pass, written once against the
//! trait. Tests call [`run_all`] with a fresh, empty store of each implementation.
//!
//! Each check panics with a message naming what the store got wrong.

use roundtable_protocol::{GroupId, MeetingId};

use super::fixtures::{append, append_fenced, create_group, entries, entry, load, snapshot};
use super::{Fence, LeaseTake, Store, StoreError};

/// Runs every check against `store`, which must be empty.
pub async fn run_all(store: &dyn Store) {
    create_then_load(store).await;
    create_twice_conflicts(store).await;
    unknown_group_is_none(store).await;
    append_then_load_returns_tail(store).await;
    append_refuses_gaps_and_repeats(store).await;
    failed_append_writes_nothing(store).await;
    snapshot_replaces_tail(store).await;
    new_meeting_starts_a_new_log(store).await;
    read_log_pages_in_order(store).await;
    trim_removes_old_entries_only(store).await;
    append_to_unknown_group_is_not_found(store).await;
    many_concurrent_appends_to_different_groups(store).await;
    leases_exclude_other_owners(store).await;
    leases_expire_unless_renewed(store).await;
    stale_epochs_are_fenced_and_write_nothing(store).await;
    takes_raise_the_epoch_and_renewals_keep_it(store).await;
    leases_are_renewed_in_batches(store).await;
    // Before the retention check, which would count an end record the deletion left behind.
    deleted_group_is_gone_and_others_stay(store).await;
    abandoned_groups_are_found_by_their_activity(store).await;
    ended_meetings_logs_are_trimmed_after_retention(store).await;
    canary_writes_touch_no_group(store).await;
}

/// The health check's canary is written again and again, by several processes, and is no
/// group: no group appears, none is due for retention, and groups stay as they were.
async fn canary_writes_touch_no_group(store: &dyn Store) {
    let (group_id, meeting_id) = new_group(store).await;
    let due_before = store
        .abandoned_groups(u64::MAX, Some(u64::MAX), 1000)
        .await
        .expect("abandoned_groups");
    for at_ms in 1..=3 {
        store
            .write_canary("node-a", at_ms)
            .await
            .expect("the canary is written");
        store
            .write_canary("node-b", at_ms)
            .await
            .expect("another process's canary is written");
    }
    assert_eq!(
        load(store, group_id).await.snapshot,
        snapshot(meeting_id, 0, "initial")
    );
    let due_after = store
        .abandoned_groups(u64::MAX, Some(u64::MAX), 1000)
        .await
        .expect("abandoned_groups");
    assert_eq!(due_before, due_after, "a canary is no group's activity");
}

/// A new group whose first snapshot's bytes are `initial`.
async fn new_group(store: &dyn Store) -> (GroupId, MeetingId) {
    create_group(store, "initial").await
}

async fn create_then_load(store: &dyn Store) {
    let (group_id, meeting_id) = new_group(store).await;
    let loaded = load(store, group_id).await;
    assert_eq!(loaded.snapshot, snapshot(meeting_id, 0, "initial"));
    assert!(loaded.tail.is_empty(), "a new group has no log tail");
}

async fn create_twice_conflicts(store: &dyn Store) {
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

async fn unknown_group_is_none(store: &dyn Store) {
    let loaded = store.load_room(GroupId::random()).await.expect("load_room");
    assert!(loaded.is_none(), "an unknown group loads as None");
}

async fn append_then_load_returns_tail(store: &dyn Store) {
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

async fn append_refuses_gaps_and_repeats(store: &dyn Store) {
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

async fn failed_append_writes_nothing(store: &dyn Store) {
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

async fn snapshot_replaces_tail(store: &dyn Store) {
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

async fn new_meeting_starts_a_new_log(store: &dyn Store) {
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

async fn read_log_pages_in_order(store: &dyn Store) {
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

async fn trim_removes_old_entries_only(store: &dyn Store) {
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

async fn append_to_unknown_group_is_not_found(store: &dyn Store) {
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

async fn many_concurrent_appends_to_different_groups(store: &dyn Store) {
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

async fn take(store: &dyn Store, group_id: GroupId, owner: &str, duration_ms: u64) -> bool {
    store
        .take_lease(group_id, owner, duration_ms)
        .await
        .expect("take_lease succeeds")
}

async fn leases_exclude_other_owners(store: &dyn Store) {
    let group_id = GroupId::random();
    let other_group = GroupId::random();
    assert!(
        take(store, group_id, "owner-a", 60_000).await,
        "a free lease is granted"
    );
    assert!(
        !take(store, group_id, "owner-b", 60_000).await,
        "a lease held by another owner is refused"
    );
    assert!(
        take(store, group_id, "owner-a", 60_000).await,
        "the holder renews its own lease"
    );
    assert!(
        take(store, other_group, "owner-b", 60_000).await,
        "leases of different groups are independent"
    );
    store
        .release_lease(group_id, "owner-b")
        .await
        .expect("release_lease");
    assert!(
        !take(store, group_id, "owner-b", 60_000).await,
        "releasing someone else's lease frees nothing"
    );
    store
        .release_lease(group_id, "owner-a")
        .await
        .expect("release_lease");
    assert!(
        take(store, group_id, "owner-b", 60_000).await,
        "a released lease is free for another owner"
    );
    assert!(!take(store, group_id, "owner-a", 60_000).await);
    // A late release by the former holder must not free the new holder's lease.
    store
        .release_lease(group_id, "owner-a")
        .await
        .expect("release_lease");
    assert!(!take(store, group_id, "owner-a", 60_000).await);
    store
        .release_lease(group_id, "owner-b")
        .await
        .expect("release_lease");
    store
        .release_lease(other_group, "owner-b")
        .await
        .expect("release_lease");
}

async fn leases_expire_unless_renewed(store: &dyn Store) {
    use std::time::Duration;
    const LEASE_MS: u64 = 1_000;
    let renewed = GroupId::random();
    let abandoned = GroupId::random();
    assert!(take(store, renewed, "owner-a", LEASE_MS).await);
    assert!(take(store, abandoned, "owner-a", LEASE_MS).await);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        take(store, renewed, "owner-a", LEASE_MS).await,
        "renewing before expiry"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    // 1.4 s after the first take: the abandoned lease has expired, the renewed one has not.
    assert!(
        take(store, abandoned, "owner-b", LEASE_MS).await,
        "an expired lease is free for another owner"
    );
    assert!(
        !take(store, renewed, "owner-b", LEASE_MS).await,
        "a renewal moves the expiry"
    );
    assert!(
        !take(store, abandoned, "owner-a", LEASE_MS).await,
        "the former holder cannot renew a lease another owner took after it expired"
    );
}

async fn take_epoch(store: &dyn Store, group_id: GroupId, owner: &str, duration_ms: u64) -> u64 {
    let take = store
        .take_lease_reporting(group_id, owner, duration_ms)
        .await
        .expect("take_lease_reporting succeeds");
    assert!(take.held, "{owner} takes a free lease");
    assert!(take.epoch > 0, "a take answers an epoch above 0");
    take.epoch
}

async fn renew(
    store: &dyn Store,
    group_id: GroupId,
    owner: &str,
    duration_ms: u64,
    epoch: u64,
) -> LeaseTake {
    store
        .renew_lease(group_id, owner, duration_ms, epoch)
        .await
        .expect("renew_lease succeeds")
}

fn is_fenced(result: Result<(), StoreError>) -> bool {
    matches!(result, Err(StoreError::Fenced(_)))
}

/// A write fenced with an epoch that a later take moved past, or by an owner who does not hold
/// the lease, is refused with `Fenced` and writes nothing: no entry, no head, no snapshot.
async fn stale_epochs_are_fenced_and_write_nothing(store: &dyn Store) {
    let (group_id, meeting_id) = new_group(store).await;
    let first = take_epoch(store, group_id, "owner-a", 60_000).await;
    let a_first = Fence {
        owner: "owner-a",
        epoch: first,
    };
    append_fenced(store, group_id, meeting_id, &entries(1..=2), None, a_first)
        .await
        .expect("the holder's fenced append succeeds");

    // The same process loads the room again: its new take fences out the earlier room.
    let second = take_epoch(store, group_id, "owner-a", 60_000).await;
    assert!(second > first, "a take by the holder raises the epoch");
    let stale_snapshot = snapshot(meeting_id, 3, "stale");
    assert!(
        is_fenced(
            append_fenced(
                store,
                group_id,
                meeting_id,
                &[entry(3)],
                Some(&stale_snapshot),
                a_first
            )
            .await
        ),
        "an append under the epoch before the last take is fenced"
    );
    let loaded = load(store, group_id).await;
    assert_eq!(loaded.tail, entries(1..=2), "a fenced append logs nothing");
    assert_eq!(loaded.snapshot.seq, 0, "a fenced append stores no snapshot");
    let a_second = Fence {
        owner: "owner-a",
        epoch: second,
    };
    append_fenced(store, group_id, meeting_id, &[entry(3)], None, a_second)
        .await
        .expect("the seq the fenced append wanted is still free");

    // Another owner takes the released lease: the former holder's epoch is fenced out.
    store
        .release_lease(group_id, "owner-a")
        .await
        .expect("release_lease");
    append_fenced(store, group_id, meeting_id, &[entry(4)], None, a_second)
        .await
        .expect("a released lease nobody took since still fences its last holder in");
    let third = take_epoch(store, group_id, "owner-b", 60_000).await;
    assert!(third > second, "a take by another owner raises the epoch");
    let final_snapshot = snapshot(meeting_id, 4, "stale final");
    assert!(
        is_fenced(
            append_fenced(
                store,
                group_id,
                meeting_id,
                &[],
                Some(&final_snapshot),
                a_second
            )
            .await
        ),
        "a snapshot under the former holder's epoch is fenced"
    );
    assert!(
        is_fenced(
            append_fenced(
                store,
                group_id,
                meeting_id,
                &[entry(5)],
                None,
                Fence {
                    owner: "owner-a",
                    epoch: third
                }
            )
            .await
        ),
        "the current epoch with an owner who does not hold the lease is fenced"
    );
    let loaded = load(store, group_id).await;
    assert_eq!(loaded.tail, entries(1..=4), "fenced appends log nothing");
    assert_eq!(loaded.snapshot.seq, 0);
    let b = Fence {
        owner: "owner-b",
        epoch: third,
    };
    append_fenced(store, group_id, meeting_id, &[entry(5)], None, b)
        .await
        .expect("the new holder appends");
    // An unfenced write (a tool's, a test's) is checked by its seqs only.
    append(store, group_id, meeting_id, &[entry(6)], None)
        .await
        .expect("an unfenced append is not fenced");
    assert_eq!(load(store, group_id).await.tail, entries(1..=6));
    store
        .release_lease(group_id, "owner-b")
        .await
        .expect("release_lease");
}

/// Every take answers a higher epoch than the group had; a renewal keeps it, also after the
/// lease expired if nobody took it meanwhile, and is refused, changing nothing, once someone
/// did.
async fn takes_raise_the_epoch_and_renewals_keep_it(store: &dyn Store) {
    use std::time::Duration;
    const LEASE_MS: u64 = 300;
    let (group_id, meeting_id) = new_group(store).await;
    let first = take_epoch(store, group_id, "owner-a", LEASE_MS).await;
    let renewed = renew(store, group_id, "owner-a", LEASE_MS, first).await;
    assert!(renewed.held, "the holder renews at its epoch");
    assert_eq!(renewed.epoch, first, "a renewal keeps the epoch");
    let wrong = renew(store, group_id, "owner-a", LEASE_MS, first + 1).await;
    assert!(!wrong.held, "a renewal at another epoch is refused");
    assert_eq!(wrong.epoch, first, "a refused renewal changes nothing");
    let other = renew(store, group_id, "owner-b", LEASE_MS, first).await;
    assert!(!other.held, "another owner cannot renew the holder's lease");

    tokio::time::sleep(Duration::from_millis(LEASE_MS + 200)).await;
    // Expired, and nobody took it: the last holder's writes and renewal still go ahead.
    let a = Fence {
        owner: "owner-a",
        epoch: first,
    };
    append_fenced(store, group_id, meeting_id, &[entry(1)], None, a)
        .await
        .expect("an expired lease nobody took keeps its holder's epoch");
    let again = renew(store, group_id, "owner-a", LEASE_MS, first).await;
    assert!(
        again.held,
        "a renewal after an expiry nobody used takes the lease again"
    );
    assert_eq!(again.epoch, first);

    tokio::time::sleep(Duration::from_millis(LEASE_MS + 200)).await;
    let taken = take_epoch(store, group_id, "owner-b", 60_000).await;
    assert!(taken > first, "a take after the expiry raises the epoch");
    let late = renew(store, group_id, "owner-a", LEASE_MS, first).await;
    assert!(!late.held, "the former holder's renewal is refused");
    assert_eq!(
        late.epoch, taken,
        "a refused renewal answers the current epoch"
    );
    assert!(
        !take(store, group_id, "owner-a", LEASE_MS).await,
        "the refused renewal left the new holder's lease in place"
    );
    assert!(
        is_fenced(append_fenced(store, group_id, meeting_id, &[entry(2)], None, a).await),
        "the former holder's append is fenced"
    );
    assert_eq!(load(store, group_id).await.tail, entries(1..=1));
    let b_renewed = renew(store, group_id, "owner-b", 60_000, taken).await;
    assert!(b_renewed.held);
    assert_eq!(b_renewed.epoch, taken);
    store
        .release_lease(group_id, "owner-b")
        .await
        .expect("release_lease");
}

async fn leases_are_renewed_in_batches(store: &dyn Store) {
    use std::time::Duration;
    const LEASE_MS: u64 = 1_000;
    assert_eq!(
        store.renew_leases(&[], "owner-a", LEASE_MS).await,
        Ok(Vec::new()),
        "an empty batch renews nothing"
    );
    let ours = GroupId::random();
    let theirs = GroupId::random();
    let free = GroupId::random();
    let ours_epoch = take_epoch(store, ours, "owner-a", LEASE_MS).await;
    let theirs_epoch = take_epoch(store, theirs, "owner-b", 60_000).await;
    // `free` was ours, and we gave it up: nobody took it since, so a renewal at its epoch
    // takes it again.
    let free_epoch = take_epoch(store, free, "owner-a", LEASE_MS).await;
    store
        .release_lease(free, "owner-a")
        .await
        .expect("release_lease");
    // `moved` was ours, and another owner took it since: the renewal at our epoch is refused.
    let moved = GroupId::random();
    let moved_epoch = take_epoch(store, moved, "owner-a", LEASE_MS).await;
    store
        .release_lease(moved, "owner-a")
        .await
        .expect("release_lease");
    take_epoch(store, moved, "owner-b", 60_000).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let held = store
        .renew_leases(
            &[
                (ours, ours_epoch),
                (theirs, theirs_epoch),
                (free, free_epoch),
                (moved, moved_epoch),
            ],
            "owner-a",
            LEASE_MS,
        )
        .await
        .expect("renew_leases succeeds");
    assert_eq!(
        held,
        vec![true, false, true, false],
        "each answer in order: renewed, held by another owner, taken again while nobody \
         took it since, taken by another owner since"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    // 1.4 s after the first take: only the batch's renewal keeps the lease.
    assert!(
        !take(store, ours, "owner-b", LEASE_MS).await,
        "a batch renewal moves the expiry"
    );
    assert!(
        !take(store, theirs, "owner-a", LEASE_MS).await,
        "the batch left another owner's lease alone"
    );
    for (group_id, owner) in [
        (ours, "owner-a"),
        (theirs, "owner-b"),
        (free, "owner-a"),
        (moved, "owner-b"),
    ] {
        store
            .release_lease(group_id, owner)
            .await
            .expect("release_lease");
    }
}

/// A group with two meetings (the first ended, both logged), a snapshot and a lease, every
/// stored byte of it marked with `marker`.
async fn group_with_everything(store: &dyn Store, marker: &str) -> (GroupId, [MeetingId; 2]) {
    let (group_id, first) = create_group(store, &format!("{marker} initial")).await;
    let marked = |seqs: std::ops::RangeInclusive<u64>| -> Vec<super::LogEntry> {
        seqs.map(|seq| super::LogEntry {
            seq,
            bytes: format!("{marker} event {seq}").into_bytes(),
        })
        .collect()
    };
    append(store, group_id, first, &marked(1..=4), None)
        .await
        .expect("append to the first meeting");
    let second = MeetingId::random();
    let start = snapshot(second, 0, &format!("{marker} second meeting"));
    append(store, group_id, second, &[], Some(&start))
        .await
        .expect("start the second meeting");
    let at_two = snapshot(second, 2, &format!("{marker} at two"));
    append(store, group_id, second, &marked(1..=2), Some(&at_two))
        .await
        .expect("append to the second meeting");
    append(store, group_id, second, &marked(3..=3), None)
        .await
        .expect("append after the snapshot");
    store.end_meeting(first, 500).await.expect("end_meeting");
    store
        .record_group_activity(group_id, 50, true)
        .await
        .expect("record_group_activity");
    assert!(take(store, group_id, "owner-of-deleted", 60_000).await);
    (group_id, [first, second])
}

async fn deleted_group_is_gone_and_others_stay(store: &dyn Store) {
    let (kept, kept_meeting) = new_group(store).await;
    append(store, kept, kept_meeting, &entries(1..=2), None)
        .await
        .expect("append to the kept group");
    let (group_id, [first, second]) = group_with_everything(store, "to be deleted").await;

    assert!(
        store.delete_group(group_id).await.expect("delete_group"),
        "deleting a group that exists answers true"
    );
    let loaded = store.load_room(group_id).await.expect("load_room");
    assert!(loaded.is_none(), "a deleted group loads as None");
    for meeting in [first, second] {
        let log = store.read_log(meeting, 0, 100).await.expect("read_log");
        assert!(log.is_empty(), "a deleted group's meeting has no log");
    }
    let late = append(store, group_id, second, &entries(4..=4), None).await;
    assert!(
        matches!(late, Err(StoreError::NotFound(_))),
        "an append to a deleted group is not found, got {late:?}"
    );
    assert!(
        !store.delete_group(group_id).await.expect("delete again"),
        "deleting it again answers false"
    );
    assert!(
        take(store, group_id, "another owner", 60_000).await,
        "the deleted group's lease is gone with it"
    );
    store
        .release_lease(group_id, "another owner")
        .await
        .expect("release");
    let loaded = load(store, kept).await;
    assert_eq!(loaded.snapshot.bytes, b"initial", "another group is kept");
    assert_eq!(loaded.tail, entries(1..=2));

    // The id can be used again, from nothing: its meetings' logs start at 1 again.
    store
        .create_group(group_id, &snapshot(second, 0, "again"))
        .await
        .expect("create the deleted group's id again");
    append(store, group_id, second, &entries(1..=1), None)
        .await
        .expect("a log starts at 1 again");
    assert_eq!(load(store, group_id).await.tail, entries(1..=1));
    assert!(store.delete_group(group_id).await.expect("delete"));
}

async fn abandoned_groups_are_found_by_their_activity(store: &dyn Store) {
    let record = |group_id: GroupId, at_ms: u64, joined: bool| async move {
        store
            .record_group_activity(group_id, at_ms, joined)
            .await
            .expect("record_group_activity");
    };
    let due = |unjoined_through_ms: u64, joined_through_ms: Option<u64>, max: usize| async move {
        store
            .abandoned_groups(unjoined_through_ms, joined_through_ms, max)
            .await
            .expect("abandoned_groups")
    };
    let (created, _) = new_group(store).await;
    let (joined, _) = new_group(store).await;
    let (active, _) = new_group(store).await;
    let (untracked, _) = new_group(store).await;
    record(created, 1_000, false).await;
    record(joined, 1_000, false).await;
    record(joined, 3_000, true).await;
    record(active, 2_000, false).await;
    // Activity never goes back, and a joined group stays joined.
    record(active, 1_500, false).await;
    record(joined, 2_500, false).await;

    assert_eq!(due(999, None, 10).await, Vec::<GroupId>::new());
    assert_eq!(
        due(2_500, None, 10).await,
        vec![created, active],
        "never joined, oldest first; joined groups only with a joined bound"
    );
    assert_eq!(due(2_500, Some(2_999), 10).await, vec![created, active]);
    assert_eq!(
        due(2_500, Some(3_000), 10).await,
        vec![created, active, joined],
        "a joined group is due by its last activity"
    );
    assert_eq!(
        due(2_500, Some(3_000), 1).await,
        vec![created],
        "bounded by max"
    );
    assert_eq!(due(u64::MAX, Some(u64::MAX), 2).await.len(), 2);

    let unknown = store
        .record_group_activity(GroupId::random(), 5, true)
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(_))),
        "activity of a group that does not exist is not found, got {unknown:?}"
    );
    for group_id in [created, active, joined] {
        assert!(store.delete_group(group_id).await.expect("delete"));
    }
    assert_eq!(
        due(u64::MAX, Some(u64::MAX), 10).await,
        Vec::<GroupId>::new(),
        "deleted groups are no longer due; a group with no activity never is"
    );
    assert!(store.delete_group(untracked).await.expect("delete"));
}

/// A group made to be deleted by [`delete_a_marked_group`], and what must not be found of it.
#[derive(Debug)]
pub struct DeletedGroup {
    /// Every form in which a byte of the group could be stored: its id and its meetings' ids
    /// (as text, and as 16 bytes big and little endian), and the marker its data carries.
    needles: Vec<(String, Vec<u8>)>,
}

/// Makes a group with everything a group stores (two meetings, logs, snapshots, an ended
/// meeting, a lease), each stored byte marked, next to a group that is kept, and deletes it.
/// The caller then looks at everything the store holds with [`DeletedGroup::assert_absent`].
pub async fn delete_a_marked_group(store: &dyn Store) -> DeletedGroup {
    let marker = "MARKER-OF-THE-DELETED-GROUP";
    let (kept, kept_meeting) = create_group(store, "kept").await;
    append(store, kept, kept_meeting, &entries(1..=2), None)
        .await
        .expect("append to the kept group");
    let (group_id, meetings) = group_with_everything(store, marker).await;
    assert!(store.delete_group(group_id).await.expect("delete_group"));
    let mut needles = vec![("the marker".to_string(), marker.as_bytes().to_vec())];
    let ids = std::iter::once(("the group id", group_id.as_u128(), group_id.to_string())).chain(
        meetings
            .iter()
            .map(|meeting| ("a meeting id", meeting.as_u128(), meeting.to_string())),
    );
    for (what, number, text) in ids {
        needles.push((format!("{what} as text"), text.into_bytes()));
        needles.push((format!("{what} big endian"), number.to_be_bytes().to_vec()));
        needles.push((
            format!("{what} little endian"),
            number.to_le_bytes().to_vec(),
        ));
    }
    assert_eq!(load(store, kept).await.tail, entries(1..=2));
    DeletedGroup { needles }
}

impl DeletedGroup {
    /// Panics if any of `stored` (each a key, a value or a row, named by its first item)
    /// holds a byte sequence of the deleted group.
    pub fn assert_absent(&self, stored: &[(String, Vec<u8>)]) {
        for (name, bytes) in stored {
            for (what, needle) in &self.needles {
                assert!(
                    !bytes.windows(needle.len()).any(|window| window == needle),
                    "{name} still holds {what} of the deleted group"
                );
            }
        }
    }
}

async fn ended_meetings_logs_are_trimmed_after_retention(store: &dyn Store) {
    let (group_id, first_meeting) = new_group(store).await;
    append(store, group_id, first_meeting, &entries(1..=5), None)
        .await
        .expect("append to the first meeting");
    let second_meeting = MeetingId::random();
    let start = snapshot(second_meeting, 0, "second meeting");
    append(store, group_id, second_meeting, &[], Some(&start))
        .await
        .expect("start the second meeting");
    append(store, group_id, second_meeting, &entries(1..=3), None)
        .await
        .expect("append to the second meeting");
    let (other_group, other_meeting) = new_group(store).await;
    append(store, other_group, other_meeting, &entries(1..=2), None)
        .await
        .expect("append to another group's meeting");

    let ended = |meeting_id: MeetingId, at_ms: u64| async move {
        store
            .end_meeting(meeting_id, at_ms)
            .await
            .expect("end_meeting succeeds");
    };
    ended(first_meeting, 1_000).await;
    ended(first_meeting, 5_000).await; // The first end time is kept.
    ended(other_meeting, 2_000).await;
    let log = |meeting_id: MeetingId| async move {
        store.read_log(meeting_id, 0, 100).await.expect("read_log")
    };
    let trim = |through_ms: u64, meetings_max: usize| async move {
        store
            .trim_ended_logs(through_ms, meetings_max)
            .await
            .expect("trim_ended_logs succeeds")
    };

    assert_eq!(trim(999, 10).await, 0, "nothing ended at or before 999");
    assert_eq!(log(first_meeting).await, entries(1..=5));
    // Both are due at 2000; one per pass, the one that ended first.
    assert_eq!(
        trim(2_000, 1).await,
        1,
        "the pass is bounded by meetings_max"
    );
    assert!(
        log(first_meeting).await.is_empty(),
        "the ended meeting's log is gone"
    );
    assert_eq!(
        log(other_meeting).await,
        entries(1..=2),
        "the meeting that ended later is not trimmed yet"
    );
    assert_eq!(trim(2_000, 10).await, 1);
    assert!(log(other_meeting).await.is_empty());
    assert_eq!(
        trim(u64::MAX, 10).await,
        0,
        "a trimmed meeting is no longer due"
    );
    assert_eq!(
        log(second_meeting).await,
        entries(1..=3),
        "a meeting that has not ended keeps its log"
    );
    let loaded = load(store, group_id).await;
    assert_eq!(loaded.snapshot, start, "the group's snapshot is kept");
    assert_eq!(loaded.tail, entries(1..=3));
    assert_eq!(load(store, other_group).await.snapshot.bytes, b"initial");
    // The head is kept: the trimmed log would go on after 5, never start again at 1.
    let restart = append(store, group_id, first_meeting, &entries(1..=1), None).await;
    assert!(
        matches!(restart, Err(StoreError::Conflict(_))),
        "seqs of a trimmed log never repeat, got {restart:?}"
    );
}
