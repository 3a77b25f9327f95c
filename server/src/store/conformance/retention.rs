//! The conformance checks of what a store forgets, and when: a group deleted with everything
//! it stored, groups abandoned long enough to be deleted (found by their activity), the logs
//! of meetings that ended longer ago than the retention, and the health check's canary, which
//! touches no group.

use roundtable_protocol::{GroupId, LogEpoch, MeetingId};

use super::new_group;
use crate::store::fixtures::{append, create_group, entries, load, snapshot};
use crate::store::{Fence, LogEntry, Store, StoreError};

/// The health check's canary is written again and again, by several processes, and is no
/// group: no group appears, none is due for retention, and groups stay as they were.
pub(super) async fn canary_writes_touch_no_group(store: &dyn Store) {
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

/// A group with two meetings (the first ended, both logged), a snapshot and a lease, every
/// stored byte of it marked with `marker`.
/// A group with every kind of record: two meetings' logs, snapshots, an ended meeting, its
/// activity, its lease and two rooms' log epochs.
async fn group_with_everything(
    store: &dyn Store,
    marker: &str,
) -> (GroupId, [MeetingId; 2], [LogEpoch; 2]) {
    let (group_id, first) = create_group(store, &format!("{marker} initial")).await;
    let marked = |seqs: std::ops::RangeInclusive<u64>| -> Vec<LogEntry> {
        seqs.map(|seq| LogEntry {
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
    let log_epochs = [LogEpoch::random(), LogEpoch::random()];
    for (index, log_epoch) in log_epochs.into_iter().enumerate() {
        let take = store
            .take_lease_reporting(group_id, "owner-of-deleted", 60_000)
            .await
            .expect("take_lease_reporting");
        assert!(take.held);
        let fence = Fence {
            owner: "owner-of-deleted",
            epoch: take.epoch,
        };
        store
            .begin_log_epoch(group_id, fence, log_epoch, second, 3)
            .await
            .expect("begin_log_epoch");
        if index == 0 {
            store
                .release_lease(group_id, "owner-of-deleted", take.epoch)
                .await
                .expect("release_lease");
        }
    }
    (group_id, [first, second], log_epochs)
}

pub(super) async fn deleted_group_is_gone_and_others_stay(store: &dyn Store) {
    let (kept, kept_meeting) = new_group(store).await;
    append(store, kept, kept_meeting, &entries(1..=2), None)
        .await
        .expect("append to the kept group");
    let (group_id, [first, second], _) = group_with_everything(store, "to be deleted").await;

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
    let retaken = store
        .take_lease_reporting(group_id, "another owner", 60_000)
        .await
        .expect("take_lease_reporting");
    assert!(retaken.held, "the deleted group's lease is gone with it");
    store
        .release_lease(group_id, "another owner", retaken.epoch)
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

pub(super) async fn abandoned_groups_are_found_by_their_activity(store: &dyn Store) {
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
    let (group_id, meetings, log_epochs) = group_with_everything(store, marker).await;
    assert!(store.delete_group(group_id).await.expect("delete_group"));
    let mut needles = vec![("the marker".to_string(), marker.as_bytes().to_vec())];
    let ids = std::iter::once(("the group id", group_id.as_u128(), group_id.to_string())).chain(
        meetings
            .iter()
            .map(|meeting| ("a meeting id", meeting.as_u128(), meeting.to_string()))
            .chain(
                log_epochs
                    .iter()
                    .map(|epoch| ("a log epoch", epoch.as_u128(), epoch.to_string())),
            ),
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

pub(super) async fn ended_meetings_logs_are_trimmed_after_retention(store: &dyn Store) {
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
