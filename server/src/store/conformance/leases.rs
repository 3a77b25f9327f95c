//! The conformance checks of the ownership leases: one owner at a time, expiry unless
//! renewed, epochs that every take and release raises, renewals one by one and in batches, the
//! lease of a holder known to be gone ended early, and the fence that refuses (and writes
//! nothing of) a write by an owner whose epoch is past.

use roundtable_protocol::GroupId;

use super::{new_group, take};
use crate::store::fixtures::{append, append_fenced, entries, entry, load, snapshot};
use crate::store::{Fence, LeaseTake, Store, StoreError};

pub(super) async fn leases_exclude_other_owners(store: &dyn Store) {
    let group_id = GroupId::random();
    let other_group = GroupId::random();
    let a_first = take_epoch(store, group_id, "owner-a", 60_000).await;
    assert!(
        !take(store, group_id, "owner-b", 60_000).await,
        "a lease held by another owner is refused"
    );
    // The holder's process loads the room again: the same owner takes it at a new epoch.
    let a_second = take_epoch(store, group_id, "owner-a", 60_000).await;
    assert!(a_second > a_first, "the holder's own take raises the epoch");
    let b_other = take_epoch(store, other_group, "owner-b", 60_000).await;
    release(store, group_id, "owner-b", a_second).await;
    assert!(
        !take(store, group_id, "owner-b", 60_000).await,
        "releasing someone else's lease frees nothing"
    );
    // The earlier room of the same process stops late: its release is at the epoch before.
    release(store, group_id, "owner-a", a_first).await;
    assert!(
        !take(store, group_id, "owner-b", 60_000).await,
        "a release at an epoch a later take moved past frees nothing, even the same owner's"
    );
    release(store, group_id, "owner-a", a_second).await;
    let b = take_epoch(store, group_id, "owner-b", 60_000).await;
    assert!(b > a_second, "a take after a release raises the epoch");
    assert!(!take(store, group_id, "owner-a", 60_000).await);
    // A late release by the former holder must not free the new holder's lease.
    release(store, group_id, "owner-a", a_second).await;
    assert!(!take(store, group_id, "owner-a", 60_000).await);
    release(store, group_id, "owner-b", b).await;
    release(store, other_group, "owner-b", b_other).await;
}

pub(super) async fn leases_expire_unless_renewed(store: &dyn Store) {
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

async fn release(store: &dyn Store, group_id: GroupId, owner: &str, epoch: u64) {
    store
        .release_lease(group_id, owner, epoch)
        .await
        .expect("release_lease succeeds");
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
pub(super) async fn stale_epochs_are_fenced_and_write_nothing(store: &dyn Store) {
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

    append_fenced(store, group_id, meeting_id, &[entry(4)], None, a_second)
        .await
        .expect("the holder appends at its epoch");
    // The holder gives the lease up: nothing at the released epoch writes again, before any
    // take as after it.
    release(store, group_id, "owner-a", second).await;
    assert!(
        is_fenced(append_fenced(store, group_id, meeting_id, &[entry(5)], None, a_second).await),
        "a released lease nobody took since fences its last holder out"
    );
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
    release(store, group_id, "owner-b", third).await;
}

/// Every take answers a higher epoch than the group had; a renewal keeps it, also after the
/// lease expired if nobody took it meanwhile, and is refused, changing nothing, once someone
/// did.
pub(super) async fn takes_raise_the_epoch_and_renewals_keep_it(store: &dyn Store) {
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
    // A renewal sent before the holder's release and carried out after it (the room stopped
    // while a pass was under way) must not take the released lease back.
    release(store, group_id, "owner-b", taken).await;
    let after_release = renew(store, group_id, "owner-b", 60_000, taken).await;
    assert!(
        !after_release.held,
        "a renewal at a released epoch is refused"
    );
    assert!(
        after_release.epoch > taken,
        "the release raised the epoch, to {}",
        after_release.epoch
    );
    let next = take_epoch(store, group_id, "owner-c", 60_000).await;
    assert!(next > after_release.epoch, "the next take raises it again");
    release(store, group_id, "owner-c", next).await;
}

pub(super) async fn leases_are_renewed_in_batches(store: &dyn Store) {
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
    // `free` was ours, and ran out before the batch: nobody took it since, so a renewal at
    // its epoch takes it again.
    let free_epoch = take_epoch(store, free, "owner-a", 200).await;
    // `released` was ours, and we gave it up: the renewal at its epoch is refused.
    let released = GroupId::random();
    let released_epoch = take_epoch(store, released, "owner-a", LEASE_MS).await;
    release(store, released, "owner-a", released_epoch).await;
    // `moved` was ours, and another owner took it since: the renewal at our epoch is refused.
    let moved = GroupId::random();
    let moved_epoch = take_epoch(store, moved, "owner-a", LEASE_MS).await;
    release(store, moved, "owner-a", moved_epoch).await;
    let moved_to_b = take_epoch(store, moved, "owner-b", 60_000).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let held = store
        .renew_leases(
            &[
                (ours, ours_epoch),
                (theirs, theirs_epoch),
                (free, free_epoch),
                (released, released_epoch),
                (moved, moved_epoch),
            ],
            "owner-a",
            LEASE_MS,
        )
        .await
        .expect("renew_leases succeeds");
    assert_eq!(
        held,
        vec![true, false, true, false, false],
        "each answer in order: renewed, held by another owner, taken again after it ran out \
         while nobody took it, given up, taken by another owner since"
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
    assert!(
        take(store, released, "owner-b", LEASE_MS).await,
        "the refused renewal left the given-up lease free"
    );
    for (group_id, owner, epoch) in [
        (ours, "owner-a", ours_epoch),
        (theirs, "owner-b", theirs_epoch),
        (free, "owner-a", free_epoch),
        (moved, "owner-b", moved_to_b),
    ] {
        release(store, group_id, owner, epoch).await;
    }
}

/// A lease whose holder is known to be gone can be ended by another process, but only while that
/// holder holds it; the take after it raises the epoch (and, where the store keeps lease records,
/// is a takeover that came at once), so the holder's writes are fenced out should it live on.
pub(super) async fn a_gone_holders_lease_can_be_ended_early(store: &dyn Store) {
    let (group_id, meeting_id) = new_group(store).await;
    let first = take_epoch(store, group_id, "owner-a", 60_000).await;
    let ended = |holder: &'static str| async move {
        store
            .break_lease(group_id, holder)
            .await
            .expect("break_lease succeeds")
    };
    assert!(
        !ended("owner-c").await,
        "a lease is not ended for an owner that does not hold it"
    );
    assert!(
        !take(store, group_id, "owner-b", 60_000).await,
        "a failed break leaves the lease with its holder"
    );
    assert!(ended("owner-a").await, "the holder's lease is ended");
    // A holder that lives after all may renew before anyone takes the lease: nobody loaded the
    // room elsewhere yet (no take, no new epoch), so nothing is lost by it.
    assert!(
        renew(store, group_id, "owner-a", 60_000, first).await.held,
        "the holder's renewal before any take is granted, at its epoch"
    );
    assert!(
        !take(store, group_id, "owner-b", 60_000).await,
        "a renewed lease is held again"
    );
    assert!(ended("owner-a").await, "and can be ended again");
    let taken = store
        .take_lease_reporting(group_id, "owner-b", 60_000)
        .await
        .expect("take_lease_reporting succeeds");
    assert!(
        taken.held,
        "an ended lease is free at once, long before it would run out"
    );
    assert!(
        taken.epoch > first,
        "the take after a break raises the epoch"
    );
    if store.shared() {
        assert!(
            taken.took_over_after_ms.is_some_and(|ms| ms < 5_000),
            "the take after a break is a takeover that came at once, not {:?}",
            taken.took_over_after_ms
        );
    }
    let stale = Fence {
        owner: "owner-a",
        epoch: first,
    };
    assert!(
        is_fenced(append_fenced(store, group_id, meeting_id, &[entry(1)], None, stale).await),
        "the former holder's writes are fenced out after the take"
    );
    assert!(
        !renew(store, group_id, "owner-a", 60_000, first).await.held,
        "the former holder's renewals fail after the take"
    );
    assert!(
        !ended("owner-a").await,
        "a lease taken since is not ended for its former holder"
    );
    assert!(
        !take(store, group_id, "owner-a", 60_000).await,
        "the new holder keeps the lease"
    );
    release(store, group_id, "owner-b", taken.epoch).await;
}

/// A lease that ran out (nobody took it since) or was ended as a gone holder's is still given
/// up by its holder at its epoch: the release raises the epoch, so the holder's renewals and
/// writes at it are refused from then on, and another owner takes the lease at once. A
/// release at epoch 0, which no take answers, changes nothing.
pub(super) async fn a_lease_run_out_or_ended_is_still_released_at_its_epoch(store: &dyn Store) {
    use std::time::Duration;
    let (group_id, meeting_id) = new_group(store).await;
    let first = take_epoch(store, group_id, "owner-a", 200).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    release(store, group_id, "owner-a", first).await;
    assert!(
        !renew(store, group_id, "owner-a", 60_000, first).await.held,
        "a lease that ran out and was then released is not taken back by its renewal"
    );
    let a = Fence {
        owner: "owner-a",
        epoch: first,
    };
    assert!(
        is_fenced(append_fenced(store, group_id, meeting_id, &[entry(1)], None, a).await),
        "nor written under its epoch"
    );

    let second = take_epoch(store, group_id, "owner-b", 60_000).await;
    assert!(second > first, "a take after the release raises the epoch");
    assert!(
        store
            .break_lease(group_id, "owner-b")
            .await
            .expect("break_lease succeeds"),
        "the lease is ended as a gone holder's"
    );
    release(store, group_id, "owner-b", second).await;
    assert!(
        !renew(store, group_id, "owner-b", 60_000, second).await.held,
        "an ended lease that its holder then released is not taken back by its renewal"
    );
    let third = take_epoch(store, group_id, "owner-c", 60_000).await;
    assert!(third > second, "the next take raises the epoch again");

    release(store, group_id, "owner-c", 0).await;
    assert!(
        renew(store, group_id, "owner-c", 60_000, third).await.held,
        "a release at epoch 0 left the holder's lease alone"
    );
    release(store, group_id, "owner-c", third).await;
}
