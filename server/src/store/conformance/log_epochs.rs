//! The conformance check of the log epochs a group's room was served under
//! ([`Store::begin_log_epoch`]): recorded in order with the head each room loaded, bounded,
//! fenced like a write, and gone with the group.

use roundtable_protocol::{LogEpoch, MeetingId};

use super::new_group;
use crate::store::fixtures::snapshot;
use crate::store::{EARLIER_LOG_EPOCHS_MAX, EarlierEpoch, Fence, Store, StoreError};

pub(super) async fn log_epochs_are_recorded_in_order_fenced_and_deleted(store: &dyn Store) {
    let (group_id, _) = new_group(store).await;
    let begin = async |owner: &str, log_epoch: LogEpoch, head: u64| {
        let take = store
            .take_lease_reporting(group_id, owner, 60_000)
            .await
            .expect("take_lease_reporting succeeds");
        assert!(take.held, "{owner} takes the lease");
        let fence = Fence {
            owner,
            epoch: take.epoch,
        };
        let earlier = store
            .begin_log_epoch(group_id, fence, log_epoch, head)
            .await
            .expect("begin_log_epoch succeeds under the room's own fence");
        (take.epoch, earlier)
    };
    let epochs: Vec<LogEpoch> = (0..EARLIER_LOG_EPOCHS_MAX + 2)
        .map(|_| LogEpoch::random())
        .collect();
    let (first_fence, first) = begin("owner-a", epochs[0], 0).await;
    assert!(
        first.is_empty(),
        "a group's first room has no earlier epoch"
    );
    store
        .release_lease(group_id, "owner-a", first_fence)
        .await
        .expect("release_lease succeeds");
    if !store.shared() {
        // A store of one process keeps no record: every room is the first.
        let (_, second) = begin("owner-a", epochs[1], 7).await;
        assert!(
            second.is_empty(),
            "a store that keeps no record answers none"
        );
        return;
    }
    // Each later room (another owner's takeover, the same owner's room loaded again) finds
    // the ones before it, newest first, each with the head the room after it loaded.
    let mut expected: Vec<EarlierEpoch> = Vec::new();
    for (index, &log_epoch) in epochs.iter().enumerate().skip(1) {
        let owner = if index % 2 == 0 { "owner-a" } else { "owner-b" };
        let head = 10 * index as u64;
        expected.insert(
            0,
            EarlierEpoch {
                log_epoch: epochs[index - 1],
                through_seq: head,
            },
        );
        expected.truncate(EARLIER_LOG_EPOCHS_MAX);
        let (fence, earlier) = begin(owner, log_epoch, head).await;
        assert_eq!(
            earlier, expected,
            "room {index} finds the epochs before it, newest first, at most {EARLIER_LOG_EPOCHS_MAX}"
        );
        store
            .release_lease(group_id, owner, fence)
            .await
            .expect("release_lease succeeds");
    }
    // A room whose lease was taken since is fenced out, and records nothing.
    let stale = store
        .begin_log_epoch(
            group_id,
            Fence {
                owner: "owner-a",
                epoch: first_fence,
            },
            LogEpoch::random(),
            1_000,
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Fenced(_))),
        "a stale fence is refused: {stale:?}"
    );
    let holder = store
        .take_lease_reporting(group_id, "owner-c", 60_000)
        .await
        .expect("take_lease_reporting succeeds");
    let other_owner = store
        .begin_log_epoch(
            group_id,
            Fence {
                owner: "owner-a",
                epoch: holder.epoch,
            },
            LogEpoch::random(),
            1_000,
        )
        .await;
    assert!(
        matches!(other_owner, Err(StoreError::Fenced(_))),
        "a fence naming another owner than the holder is refused: {other_owner:?}"
    );
    let last = *epochs.last().expect("epochs");
    let after = store
        .begin_log_epoch(
            group_id,
            Fence {
                owner: "owner-c",
                epoch: holder.epoch,
            },
            LogEpoch::random(),
            99,
        )
        .await
        .expect("begin_log_epoch succeeds");
    assert_eq!(
        after.first(),
        Some(&EarlierEpoch {
            log_epoch: last,
            through_seq: 99
        }),
        "the refused calls recorded nothing"
    );
    store
        .release_lease(group_id, "owner-c", holder.epoch)
        .await
        .expect("release_lease succeeds");
    // The record goes with the group.
    assert!(store.delete_group(group_id).await.expect("delete_group"));
    store
        .create_group(group_id, &snapshot(MeetingId::random(), 0, "again"))
        .await
        .expect("a deleted group's id may be created again");
    let (_, fresh) = begin("owner-a", LogEpoch::random(), 0).await;
    assert!(
        fresh.is_empty(),
        "a group created again has no earlier epoch"
    );
}
