//! The embedded store's failure branches, by its fail points
//! (`roundtable_server::store::embedded::fail_points`, on in test builds): a failing journal
//! write, journal fdatasync or redb commit gives a typed `StoreError` where the writer sees it
//! and loses nothing that was acknowledged, in the running store and after a reopen.

use std::path::Path;

use roundtable_protocol::{GroupId, MeetingId, Seq};
use roundtable_server::store::embedded::fail_points;
use roundtable_server::store::fixtures::{self, tail_seqs};
use roundtable_server::store::{EmbeddedOptions, EmbeddedStore, JournalSync, Store, StoreError};

fn options(sync: JournalSync) -> EmbeddedOptions {
    EmbeddedOptions {
        sync,
        ..EmbeddedOptions::default()
    }
}

/// Opens the store in `dir`, waiting for a dropped predecessor's writer to let go of it.
async fn open(dir: &Path, sync: JournalSync) -> EmbeddedStore {
    fixtures::open_embedded(dir, options(sync)).await
}

/// Sets the fail point `name` to fail the store in `dir` (and no other).
fn fail_at(name: &str, dir: &Path) {
    fail::cfg(name, &format!("return({})", dir.display())).expect("set the fail point");
}

async fn try_append(
    store: &EmbeddedStore,
    group_id: GroupId,
    meeting_id: MeetingId,
    seq: Seq,
) -> Result<(), StoreError> {
    fixtures::append(store, group_id, meeting_id, &[fixtures::entry(seq)], None).await
}

/// A store in a new directory with a group whose log holds the acknowledged seqs 1 and 2.
async fn store_with_two_appends(sync: JournalSync) -> (tempfile::TempDir, EmbeddedStore, GroupId) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path(), sync).await;
    let (group_id, meeting_id) = fixtures::create_group(&store, "start").await;
    for seq in 1..=2 {
        try_append(&store, group_id, meeting_id, seq)
            .await
            .expect("append");
    }
    (dir, store, group_id)
}

/// A write whose journal write (or, with `sync`, fdatasync) fails at the fail point `name` is
/// refused as unavailable and stores nothing; the writes acknowledged before it stay, the next
/// write succeeds, and all of them are there after a reopen.
async fn a_failing_journal_step_refuses_the_write_and_loses_nothing(name: &str, sync: JournalSync) {
    let (dir, store, group_id) = store_with_two_appends(sync).await;
    let meeting_id = fixtures::load(&store, group_id).await.snapshot.meeting_id;

    fail_at(name, dir.path());
    let refused = try_append(&store, group_id, meeting_id, 3).await;
    fail::remove(name);
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "a write whose journal step fails is refused as unavailable: {refused:?}"
    );

    assert_eq!(
        tail_seqs(&store, group_id).await,
        vec![1, 2],
        "the acknowledged writes stay, the refused one is not stored"
    );
    try_append(&store, group_id, meeting_id, 3)
        .await
        .expect("the next write succeeds");
    assert_eq!(tail_seqs(&store, group_id).await, vec![1, 2, 3]);
    drop(store);
    let reopened = open(dir.path(), sync).await;
    assert_eq!(tail_seqs(&reopened, group_id).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn a_failing_journal_write_refuses_the_write_and_loses_nothing_acknowledged() {
    let scenario = fail::FailScenario::setup();
    a_failing_journal_step_refuses_the_write_and_loses_nothing(
        fail_points::JOURNAL_WRITE,
        JournalSync::Background,
    )
    .await;
    scenario.teardown();
}

#[tokio::test]
async fn a_failing_journal_write_syncing_every_write_refuses_it_and_loses_nothing_acknowledged() {
    let scenario = fail::FailScenario::setup();
    a_failing_journal_step_refuses_the_write_and_loses_nothing(
        fail_points::JOURNAL_WRITE,
        JournalSync::Always,
    )
    .await;
    scenario.teardown();
}

#[tokio::test]
async fn a_failing_journal_fdatasync_refuses_the_write_and_loses_nothing_acknowledged() {
    let scenario = fail::FailScenario::setup();
    a_failing_journal_step_refuses_the_write_and_loses_nothing(
        fail_points::JOURNAL_SYNC,
        JournalSync::Always,
    )
    .await;
    scenario.teardown();
}

/// Reads and checkpoints go on while every redb commit of the store fails: the store applies
/// its journal again each time, so every acknowledged write stays readable, and is there after
/// a reopen. (That the writer gets a typed error from the failed commit is checked in
/// `store::embedded::tests`, which can reach the writer.)
#[tokio::test]
async fn failing_commits_lose_nothing_acknowledged() {
    let scenario = fail::FailScenario::setup();
    let (dir, store, group_id) = store_with_two_appends(JournalSync::Background).await;
    fail_at(fail_points::COMMIT, dir.path());
    assert_eq!(
        tail_seqs(&store, group_id).await,
        vec![1, 2],
        "a read, whose commit fails, finds the acknowledged writes applied again"
    );
    store
        .flush()
        .await
        .expect("a checkpoint whose commit fails ends in a repair");
    assert_eq!(tail_seqs(&store, group_id).await, vec![1, 2]);
    fail::remove(fail_points::COMMIT);
    drop(store);
    let reopened = open(dir.path(), JournalSync::Background).await;
    assert_eq!(tail_seqs(&reopened, group_id).await, vec![1, 2]);
    scenario.teardown();
}
