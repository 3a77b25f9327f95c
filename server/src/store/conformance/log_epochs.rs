//! The conformance check of the log epochs a group's room was served under
//! ([`Store::begin_log_epoch`]): recorded in order, each with the last write its own appends
//! noted (never one of a room the record does not name), bounded, fenced like a write, and gone
//! with the group.

use roundtable_protocol::{GroupId, LogEpoch, MeetingId, Seq};

use super::new_group;
use crate::store::fixtures::{entries, snapshot};
use crate::store::{AppendBatch, EARLIER_LOG_EPOCHS_MAX, EarlierEpoch, Fence, Store, StoreError};

/// A room of the check: its lease's epoch, and the log epoch it serves.
struct Room {
    owner: &'static str,
    lease_epoch: u64,
    log_epoch: LogEpoch,
}

impl Room {
    fn fence(&self) -> Fence<'_> {
        Fence {
            owner: self.owner,
            epoch: self.lease_epoch,
        }
    }
}

/// Takes the group's lease for `owner`: a room that serves a fresh log epoch.
async fn take(store: &dyn Store, group_id: GroupId, owner: &'static str) -> Room {
    let take = store
        .take_lease_reporting(group_id, owner, 60_000)
        .await
        .expect("take_lease_reporting succeeds");
    assert!(take.held, "{owner} takes the lease");
    Room {
        owner,
        lease_epoch: take.epoch,
        log_epoch: LogEpoch::random(),
    }
}

/// Begins `room`'s epoch, loaded up to `head` of `meeting_id`: the earlier epochs.
async fn begin(
    store: &dyn Store,
    group_id: GroupId,
    room: &Room,
    meeting_id: MeetingId,
    head: Seq,
) -> Vec<EarlierEpoch> {
    store
        .begin_log_epoch(group_id, room.fence(), room.log_epoch, meeting_id, head)
        .await
        .expect("begin_log_epoch succeeds under the room's own fence")
}

/// Appends `seqs` as `room` writes them, serving `log_epoch`.
async fn append(
    store: &dyn Store,
    group_id: GroupId,
    meeting_id: MeetingId,
    room: &Room,
    log_epoch: LogEpoch,
    seqs: std::ops::RangeInclusive<Seq>,
) {
    store
        .append(AppendBatch {
            group_id,
            meeting_id,
            entries: &entries(seqs),
            snapshot: None,
            fence: Some(room.fence()),
            log_epoch: Some(log_epoch),
        })
        .await
        .expect("a fenced append succeeds");
}

async fn release(store: &dyn Store, group_id: GroupId, room: &Room) {
    store
        .release_lease(group_id, room.owner, room.lease_epoch)
        .await
        .expect("release_lease succeeds");
}

fn earlier(room: &Room, meeting_id: MeetingId, through_seq: Seq) -> EarlierEpoch {
    EarlierEpoch {
        log_epoch: room.log_epoch,
        meeting_id,
        through_seq,
    }
}

pub(super) async fn log_epochs_are_recorded_in_order_fenced_and_deleted(store: &dyn Store) {
    let (group_id, meeting) = new_group(store).await;
    let first = take(store, group_id, "owner-a").await;
    assert!(
        begin(store, group_id, &first, meeting, 0).await.is_empty(),
        "a group's first room has no earlier epoch"
    );
    append(store, group_id, meeting, &first, first.log_epoch, 1..=3).await;
    release(store, group_id, &first).await;
    if !store.shared() {
        // A store of one process keeps no record: every room is the first.
        let second = take(store, group_id, "owner-a").await;
        assert!(
            begin(store, group_id, &second, meeting, 3).await.is_empty(),
            "a store that keeps no record answers none"
        );
        release(store, group_id, &second).await;
        return;
    }
    // The next room finds the first with its last write.
    let second = take(store, group_id, "owner-b").await;
    assert_eq!(
        begin(store, group_id, &second, meeting, 3).await,
        [earlier(&first, meeting, 3)]
    );
    append(store, group_id, meeting, &second, second.log_epoch, 4..=5).await;
    release(store, group_id, &second).await;
    // A room the record does not name (its call to begin failed, or was lost) writes: its
    // writes are no one's in the record, not the second's, nor the first's it names.
    let unrecorded = take(store, group_id, "owner-c").await;
    append(
        store,
        group_id,
        meeting,
        &unrecorded,
        unrecorded.log_epoch,
        6..=7,
    )
    .await;
    append(
        store,
        group_id,
        meeting,
        &unrecorded,
        first.log_epoch,
        8..=8,
    )
    .await;
    release(store, group_id, &unrecorded).await;
    let third = take(store, group_id, "owner-a").await;
    assert_eq!(
        begin(store, group_id, &third, meeting, 8).await,
        [earlier(&second, meeting, 5), earlier(&first, meeting, 3)],
        "each earlier epoch with its own last write, newest first, not the head loaded"
    );
    // A room that writes nothing keeps the log it loaded as its last write; a snapshot of a
    // new meeting is a write in that meeting. At most EARLIER_LOG_EPOCHS_MAX are kept.
    release(store, group_id, &third).await;
    let next_meeting = MeetingId::random();
    let mut rooms = vec![third];
    let mut expected = vec![earlier(&rooms[0], meeting, 8)];
    for (index, owner) in ["owner-b", "owner-a", "owner-b"].into_iter().enumerate() {
        let room = take(store, group_id, owner).await;
        let found = begin(store, group_id, &room, meeting, 8).await;
        let mut want = expected.clone();
        want.extend([earlier(&second, meeting, 5), earlier(&first, meeting, 3)]);
        want.truncate(EARLIER_LOG_EPOCHS_MAX);
        assert_eq!(found, want, "room {index} after the third");
        if index == 0 {
            store
                .append(AppendBatch {
                    group_id,
                    meeting_id: next_meeting,
                    entries: &[],
                    snapshot: Some(&snapshot(next_meeting, 0, "the next meeting")),
                    fence: Some(room.fence()),
                    log_epoch: Some(room.log_epoch),
                })
                .await
                .expect("the next meeting's first snapshot");
            expected.insert(0, earlier(&room, next_meeting, 0));
        } else {
            expected.insert(0, earlier(&room, meeting, 8));
        }
        release(store, group_id, &room).await;
        rooms.push(room);
    }

    // A room whose lease was taken since is fenced out, and records nothing; so is one whose
    // fence names another owner than the holder.
    let holder = take(store, group_id, "owner-d").await;
    for (stale, what) in [
        (rooms[0].fence(), "a stale fence"),
        (
            Fence {
                owner: "owner-a",
                epoch: holder.lease_epoch,
            },
            "a fence naming another owner than the holder",
        ),
    ] {
        let refused = store
            .begin_log_epoch(group_id, stale, LogEpoch::random(), meeting, 1_000)
            .await;
        assert!(
            matches!(refused, Err(StoreError::Fenced(_))),
            "{what} is refused: {refused:?}"
        );
    }
    let last = rooms.last().expect("rooms");
    assert_eq!(
        begin(store, group_id, &holder, meeting, 8).await.first(),
        Some(&earlier(last, meeting, 8)),
        "the refused calls recorded nothing"
    );
    release(store, group_id, &holder).await;

    // The record goes with the group.
    assert!(store.delete_group(group_id).await.expect("delete_group"));
    store
        .create_group(group_id, &snapshot(MeetingId::random(), 0, "again"))
        .await
        .expect("a deleted group's id may be created again");
    let again = take(store, group_id, "owner-a").await;
    assert!(
        begin(store, group_id, &again, meeting, 0).await.is_empty(),
        "a group created again has no earlier epoch"
    );
    release(store, group_id, &again).await;
}
