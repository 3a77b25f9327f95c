//! The embedded store's own tests: recovery from the journal (both files), checkpoints and the
//! writes made during them, repairs after a failed transaction, log heads. The conformance suite
//! (`tests/store_conformance.rs`) and the SIGKILL tests of the real binary
//! (`tests/crash_restart.rs`) cover the rest.

use std::path::PathBuf;

use super::background::CommitKind;
use super::journal::JOURNAL_FILES;
use super::options::UNWRITTEN_MAX;
use super::tables::{LAST_JOURNAL_BATCH, LOG, META};
use super::task::lock;
use super::*;
use crate::store::fixtures::{self, entry, open_embedded, tail_seqs};

/// Options under which the writer never checkpoints on its own while the test runs.
fn no_checkpoints() -> EmbeddedOptions {
    EmbeddedOptions {
        sync: JournalSync::Background,
        checkpoint_interval: Duration::from_secs(3600),
        checkpoint_journal_bytes: u64::MAX,
        ..EmbeddedOptions::default()
    }
}

/// Options under which the writer neither checkpoints nor commits on its own while the test
/// runs: a read commits, and a test begins a commit when it means to.
fn no_timed_commits() -> EmbeddedOptions {
    EmbeddedOptions {
        commit_interval: Duration::from_secs(3600),
        ..no_checkpoints()
    }
}

/// Opens the store in `dir`, waiting for a dropped predecessor's writer to let go of it.
async fn reopen(dir: &Path) -> EmbeddedStore {
    open_embedded(dir, no_checkpoints()).await
}

fn snapshot(meeting_id: MeetingId, seq: Seq) -> Snapshot {
    fixtures::snapshot(meeting_id, seq, &format!("state at {seq}"))
}

fn append_op(group_id: GroupId, meeting_id: MeetingId, seq: Seq) -> Op {
    Op::Append {
        group_id,
        meeting_id,
        entries: vec![entry(seq)],
        snapshot: None,
    }
}

/// Appends `entry`, without a snapshot, and answers how the store took it.
async fn try_append_entry(
    store: &EmbeddedStore,
    group_id: GroupId,
    meeting_id: MeetingId,
    entry: LogEntry,
) -> Result<(), StoreError> {
    fixtures::append(store, group_id, meeting_id, &[entry], None).await
}

/// Appends seq `seq` and answers how the store took it.
async fn try_append(
    store: &EmbeddedStore,
    group_id: GroupId,
    meeting_id: MeetingId,
    seq: Seq,
) -> Result<(), StoreError> {
    try_append_entry(store, group_id, meeting_id, entry(seq)).await
}

/// Appends seq `seq`, which must succeed.
async fn append(store: &EmbeddedStore, group_id: GroupId, meeting_id: MeetingId, seq: Seq) {
    try_append(store, group_id, meeting_id, seq)
        .await
        .expect("append");
}

/// Creates group `group_id` with meeting `meeting_id` and an empty log.
async fn create_empty_group(store: &EmbeddedStore, group_id: GroupId, meeting_id: MeetingId) {
    store
        .create_group(group_id, &snapshot(meeting_id, 0))
        .await
        .expect("create");
}

/// Whether `condition` holds within 2 s, looking every 10 ms.
async fn within_two_seconds(mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// The last journal batch the redb file holds, read as every read is (after the writer
/// committed what it answered).
async fn held_batch(store: &EmbeddedStore) -> u64 {
    store
        .read(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let meta = txn.open_table(META).map_err(unavailable)?;
            Ok(meta
                .get(LAST_JOURNAL_BATCH)
                .map_err(unavailable)?
                .map_or(0, |value| value.value()))
        })
        .await
        .expect("read")
}

/// Opens the store in `dir` after a crash or a tampered journal, and checks what recovery made
/// of it: the group's log tail holds `seqs`, redb holds journal batches through `batch`, and
/// the journal is empty.
async fn reopen_recovered(
    dir: &Path,
    group_id: GroupId,
    seqs: &[Seq],
    batch: u64,
) -> EmbeddedStore {
    let store = reopen(dir).await;
    assert_eq!(tail_seqs(&store, group_id).await, seqs);
    assert_eq!(held_batch(&store).await, batch);
    assert_eq!(journal_len(dir), 0, "recovery empties the journal");
    store
}

/// The bytes in both journal files.
fn journal_len(dir: &Path) -> u64 {
    JOURNAL_FILES
        .iter()
        .map(|name| {
            std::fs::metadata(dir.join(name))
                .expect("the journal file exists")
                .len()
        })
        .sum()
}

/// A store in `dir` holding group `group_id` (meeting `meeting_id`, empty log), checkpointed
/// and closed: its redb file holds journal batch 1 and its journal is empty.
async fn closed_store_with_group(dir: &Path, group_id: GroupId, meeting_id: MeetingId) {
    let store = reopen(dir).await;
    create_empty_group(&store, group_id, meeting_id).await;
    assert_eq!(held_batch(&store).await, 1);
    drop(store);
    let store = reopen(dir).await;
    assert_eq!(journal_len(dir), 0, "closing checkpointed");
    drop(store);
}

/// Writes `records` as the journal's first file; where each record ends.
fn write_journal(dir: &Path, records: &[(u64, Vec<Op>)]) -> Vec<usize> {
    write_journal_file(dir, 0, records)
}

fn write_journal_file(dir: &Path, file: usize, records: &[(u64, Vec<Op>)]) -> Vec<usize> {
    let mut bytes = Vec::new();
    let mut ends = Vec::new();
    for (batch, ops) in records {
        bytes.extend(journal::encode_record(*batch, ops.iter()));
        ends.push(bytes.len());
    }
    std::fs::write(dir.join(JOURNAL_FILES[file]), &bytes).expect("write the journal");
    ends
}

#[tokio::test]
async fn a_crash_before_any_checkpoint_is_recovered_from_the_journal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    let (old_group, old_meeting) = (GroupId::random(), MeetingId::random());
    let store = reopen(dir.path()).await;
    create_empty_group(&store, group_id, meeting_id).await;
    for seq in 1..=3 {
        append(&store, group_id, meeting_id, seq).await;
    }
    store
        .create_group(old_group, &snapshot(old_meeting, 0))
        .await
        .expect("create");
    append(&store, old_group, old_meeting, 1).await;
    store.end_meeting(old_meeting, 1_000).await.expect("end");
    assert_eq!(store.trim_ended_logs(2_000, 10).await.expect("trim"), 1);
    store.trim_log(meeting_id, 1).await.expect("trim");

    // Every write is answered, none is checkpointed: the files as they are now are what a
    // `kill -9` leaves behind. Copy them while the store runs.
    let crashed = tempfile::tempdir().expect("temp dir");
    let redb_only = tempfile::tempdir().expect("temp dir");
    for (file, into) in [
        (DB_FILE, crashed.path()),
        (JOURNAL_FILES[0], crashed.path()),
        (JOURNAL_FILES[1], crashed.path()),
        (DB_FILE, redb_only.path()),
    ] {
        std::fs::copy(dir.path().join(file), into.join(file)).expect("copy");
    }
    assert!(journal_len(crashed.path()) > 0);
    drop(store);

    // The redb file alone is behind: its last durable commit is from before the writes.
    let behind = reopen(redb_only.path()).await;
    assert_eq!(behind.load_room(group_id).await.expect("load"), None);
    drop(behind);

    let recovered = reopen(crashed.path()).await;
    assert_eq!(
        journal_len(crashed.path()),
        0,
        "recovery empties the journal"
    );
    assert_eq!(held_batch(&recovered).await, 9);
    assert_eq!(tail_seqs(&recovered, group_id).await, vec![2, 3]);
    assert_eq!(
        recovered.read_log(old_meeting, 0, 10).await.expect("read"),
        Vec::new(),
        "the retention pass is replayed"
    );
    assert_eq!(
        recovered.trim_ended_logs(2_000, 10).await.expect("trim"),
        0,
        "and so is its forgetting the meeting"
    );
    // The journal numbering goes on from the recovered batch.
    append(&recovered, group_id, meeting_id, 4).await;
    assert_eq!(held_batch(&recovered).await, 11);
    drop(recovered);
    let reopened = reopen(crashed.path()).await;
    assert_eq!(tail_seqs(&reopened, group_id).await, vec![2, 3, 4]);
}

#[tokio::test]
async fn a_store_many_times_its_cache_reads_back_every_write_also_after_a_crash() {
    // 16 pages of cache for about 5 MiB of pages of groups and logs: redb writes pages out of its
    // write buffer before any checkpoint, and reads most of them back from the file.
    let options = EmbeddedOptions {
        cache_bytes: 64 * 1024,
        ..no_checkpoints()
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_embedded(dir.path(), options.clone()).await;
    let padding = "x".repeat(2000);
    let groups: Vec<(GroupId, MeetingId)> = (0..300)
        .map(|_| (GroupId::random(), MeetingId::random()))
        .collect();
    for &(group_id, meeting_id) in &groups {
        let first = Snapshot {
            meeting_id,
            seq: 0,
            bytes: format!("{group_id} {padding}").into_bytes(),
        };
        store.create_group(group_id, &first).await.expect("create");
    }
    for seq in 1..=3 {
        for &(group_id, meeting_id) in &groups {
            let padded = LogEntry {
                seq,
                bytes: format!("{meeting_id} {seq} {padding}").into_bytes(),
            };
            try_append_entry(&store, group_id, meeting_id, padded)
                .await
                .expect("append");
        }
    }
    let cached = store.db.cache_stats().used_bytes();
    assert!(
        cached <= options.cache_bytes + 4096,
        "redb keeps {cached} bytes of pages, over the budget of {}",
        options.cache_bytes
    );

    // What a `kill -9` leaves now: the redb file with those early pages, and the journal.
    let crashed = copy_as_a_crash_leaves_it(dir.path());

    let check = |store: EmbeddedStore| {
        let groups = groups.clone();
        let padding = padding.clone();
        async move {
            for (group_id, meeting_id) in groups {
                let loaded = store
                    .load_room(group_id)
                    .await
                    .expect("load")
                    .expect("the group exists");
                assert_eq!(loaded.snapshot.meeting_id, meeting_id);
                assert_eq!(
                    loaded.snapshot.bytes,
                    format!("{group_id} {padding}").into_bytes()
                );
                let tail: Vec<(Seq, Vec<u8>)> = loaded
                    .tail
                    .into_iter()
                    .map(|entry| (entry.seq, entry.bytes))
                    .collect();
                let expected: Vec<(Seq, Vec<u8>)> = (1..=3)
                    .map(|seq| (seq, format!("{meeting_id} {seq} {padding}").into_bytes()))
                    .collect();
                assert_eq!(tail, expected, "group {group_id}");
            }
        }
    };
    check(store).await;
    check(open_embedded(crashed.path(), options).await).await;
}

/// A closed store holding one group (journal batch 1), and a journal behind it with three
/// appends (seqs 1 to 3, batches 2 to 4). Returns the ids and where each record ends.
async fn store_with_three_journalled_appends(dir: &Path) -> (GroupId, MeetingId, Vec<usize>) {
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    closed_store_with_group(dir, group_id, meeting_id).await;
    let ends = write_journal(
        dir,
        &[
            (2, vec![append_op(group_id, meeting_id, 1)]),
            (3, vec![append_op(group_id, meeting_id, 2)]),
            (4, vec![append_op(group_id, meeting_id, 3)]),
        ],
    );
    (group_id, meeting_id, ends)
}

#[tokio::test]
async fn a_torn_last_record_is_dropped_and_the_complete_ones_applied() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id, ends) = store_with_three_journalled_appends(dir.path()).await;
    let torn_at = (ends[1] + ends[2]) / 2;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join(JOURNAL_FILES[0]))
        .expect("open the journal");
    file.set_len(torn_at as u64).expect("tear the last record");
    drop(file);

    let store = reopen_recovered(dir.path(), group_id, &[1, 2], 3).await;
    // The torn write was never answered: its seq is free again.
    append(&store, group_id, meeting_id, 3).await;
    assert_eq!(tail_seqs(&store, group_id).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn a_record_with_a_wrong_crc_ends_the_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, _, ends) = store_with_three_journalled_appends(dir.path()).await;
    let path = dir.path().join(JOURNAL_FILES[0]);
    let mut bytes = std::fs::read(&path).expect("read the journal");
    // The last byte of the second record's body (its event text).
    bytes[ends[1] - 1] ^= 0x01;
    std::fs::write(&path, &bytes).expect("write the journal");

    reopen_recovered(dir.path(), group_id, &[1], 2).await;
}

#[tokio::test]
async fn records_the_redb_file_holds_already_are_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    closed_store_with_group(dir.path(), group_id, meeting_id).await;
    // Batch 1 is held already (the group's creation); applied again, this one would create
    // another group.
    let stale_group = GroupId::random();
    write_journal(
        dir.path(),
        &[
            (
                1,
                vec![Op::CreateGroup {
                    group_id: stale_group,
                    snapshot: snapshot(meeting_id, 0),
                }],
            ),
            (2, vec![append_op(group_id, meeting_id, 1)]),
        ],
    );

    let store = reopen(dir.path()).await;
    assert_eq!(store.load_room(stale_group).await.expect("load"), None);
    assert_eq!(tail_seqs(&store, group_id).await, vec![1]);
    assert_eq!(held_batch(&store).await, 2);
}

#[tokio::test]
async fn a_gap_in_the_batch_numbers_ends_the_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    closed_store_with_group(dir.path(), group_id, meeting_id).await;
    // Batch 4 would apply cleanly, but 3 is missing: it is not the journal's continuation.
    write_journal(
        dir.path(),
        &[
            (2, vec![append_op(group_id, meeting_id, 1)]),
            (4, vec![append_op(group_id, meeting_id, 2)]),
        ],
    );

    reopen_recovered(dir.path(), group_id, &[1], 2).await;
}

#[tokio::test]
async fn garbage_in_place_of_a_journal_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    closed_store_with_group(dir.path(), group_id, meeting_id).await;
    for garbage in [
        vec![0xff; 3],
        vec![0xff; 64],
        vec![0; 64],
        b"not a journal at all".to_vec(),
    ] {
        std::fs::write(dir.path().join(JOURNAL_FILES[0]), &garbage).expect("write");
        // Dropped at once: the next round reopens the same files.
        drop(reopen_recovered(dir.path(), group_id, &[], 1).await);
    }
}

#[tokio::test]
async fn checkpoints_empty_the_journal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    let store = reopen(dir.path()).await;
    create_empty_group(&store, group_id, meeting_id).await;
    append(&store, group_id, meeting_id, 1).await;
    assert!(journal_len(dir.path()) > 0);
    store.flush().await.expect("flush");
    assert_eq!(journal_len(dir.path()), 0, "a flush checkpoints");
    drop(store);

    // Past the size threshold, the writer checkpoints after the group commit.
    let options = EmbeddedOptions {
        checkpoint_journal_bytes: 1,
        ..no_checkpoints()
    };
    let store = open_embedded(dir.path(), options).await;
    append(&store, group_id, meeting_id, 2).await;
    // The checkpoint follows the answer; wait for it (through the writer).
    store.flush().await.expect("flush");
    assert_eq!(journal_len(dir.path()), 0);
    drop(store);

    // After the interval, too.
    let options = EmbeddedOptions {
        checkpoint_interval: Duration::from_millis(50),
        ..no_checkpoints()
    };
    let store = open_embedded(dir.path(), options).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    append(&store, group_id, meeting_id, 3).await;
    assert!(
        within_two_seconds(|| journal_len(dir.path()) == 0).await,
        "the timed checkpoint empties the journal within 2 s"
    );
    assert_eq!(tail_seqs(&store, group_id).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn answered_writes_are_committed_within_the_interval() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    let store = reopen(dir.path()).await;
    create_empty_group(&store, group_id, meeting_id).await;
    append(&store, group_id, meeting_id, 1).await;
    assert!(
        within_two_seconds(|| !store.uncommitted.load(Ordering::Acquire)).await,
        "the writer commits within 2 s without being asked"
    );
    // Read straight from redb, without asking the writer: the write is there.
    let txn = store.db.begin_read().expect("read");
    let log = txn.open_table(LOG).expect("log table");
    let stored = log.get((meeting_id.as_u128(), 1)).expect("get");
    assert_eq!(stored.expect("entry 1").value(), entry(1).bytes.as_slice());
}

/// Fails the commit of the store's open transaction (the fail point [`fail_points::COMMIT`]),
/// which drops the transaction: until the writer applies the journal again, redb lacks the
/// answered writes it held.
fn fail_the_open_transaction(store: &EmbeddedStore, dir: &Path) {
    fail::cfg(fail_points::COMMIT, &format!("return({})", dir.display()))
        .expect("set the fail point");
    let committed = lock(&store.writer).commit();
    fail::remove(fail_points::COMMIT);
    assert!(
        matches!(committed, Err(StoreError::Unavailable(_))),
        "the failed commit is a typed error: {committed:?}"
    );
}

#[tokio::test]
async fn a_failed_transaction_is_rebuilt_from_the_journal() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    let store = open_embedded(dir.path(), no_timed_commits()).await;
    create_empty_group(&store, group_id, meeting_id).await;
    store.flush().await.expect("checkpoint");
    for seq in 1..=3 {
        append(&store, group_id, meeting_id, seq).await;
    }
    // The three appends were answered; lose the transaction that holds them.
    fail_the_open_transaction(&store, dir.path());
    assert_eq!(
        tail_seqs(&store, group_id).await,
        vec![1, 2, 3],
        "a read after the failure finds the answered writes, applied again from the journal"
    );
    assert_eq!(
        journal_len(dir.path()),
        0,
        "the repair ends in a checkpoint"
    );

    // Lose a transaction again; this time the next write comes first and repairs.
    append(&store, group_id, meeting_id, 4).await;
    fail_the_open_transaction(&store, dir.path());
    append(&store, group_id, meeting_id, 5).await;
    assert_eq!(tail_seqs(&store, group_id).await, vec![1, 2, 3, 4, 5]);
    drop(store);
    let reopened = reopen(dir.path()).await;
    assert_eq!(tail_seqs(&reopened, group_id).await, vec![1, 2, 3, 4, 5]);
    scenario.teardown();
}

/// What a held background commit's thread does next (sent on its [`Held`]).
enum Gate {
    /// Go on as usual.
    Release,
    /// Fail the commit (the fail point [`fail_points::COMMIT`], set for the rest of the hold).
    Fail,
    /// Go on, and once the window's writes so far are applied, say so and wait for the
    /// [`Held`]'s end before answering the writer.
    ReleaseThenHoldApplied(oneshot::Sender<()>),
}

/// A background commit held by the fail points before its commit (and after it applied the
/// window, if asked): fail-point tests run one at a time while it lives, and its end releases
/// the commit thread.
struct Held {
    dir: PathBuf,
    release: std_mpsc::Sender<()>,
    /// Released when the hold ends.
    after_applied: Mutex<Option<std_mpsc::Sender<()>>>,
    /// Dropped last: the fail points are cleared once the thread is released.
    _scenario: fail::FailScenario<'static>,
}

impl Held {
    fn send(&self, gate: Gate) -> Result<(), std_mpsc::SendError<()>> {
        match gate {
            Gate::Release => {}
            Gate::Fail => fail_at(fail_points::COMMIT, &self.dir),
            Gate::ReleaseThenHoldApplied(holding) => {
                let (release, released) = std_mpsc::channel();
                hold_at(
                    fail_points::AFTER_WINDOW_APPLIED,
                    &self.dir,
                    released,
                    Some(holding),
                );
                *self
                    .after_applied
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(release);
            }
        }
        self.release.send(())
    }
}

/// Sets the fail point `name` to fail the store in `dir` (and no other).
fn fail_at(name: &str, dir: &Path) {
    fail::cfg(name, &format!("return({})", dir.display())).expect("set the fail point");
}

/// Holds the thread that reaches the hold point `name` (see [`fail_points::hold`]) for the
/// store in `dir`, once: it says so on `reached` and waits for a message on `released` (or its
/// sender's end).
fn hold_at(
    name: &str,
    dir: &Path,
    released: std_mpsc::Receiver<()>,
    reached: Option<oneshot::Sender<()>>,
) {
    fail_at(name, dir);
    let once = Mutex::new(Some((released, reached)));
    fail::cfg_callback(format!("{name}::held"), move || {
        let taken = once
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some((released, reached)) = taken {
            if let Some(reached) = reached {
                let _ = reached.send(());
            }
            let _ = released.recv();
        }
    })
    .expect("set the hold");
}

/// Begins a timed checkpoint whose durable commit waits for a message on the returned
/// [`Held`].
async fn begin_held_checkpoint(store: &EmbeddedStore) -> Held {
    begin_held(store, CommitKind::Checkpoint).await
}

/// Begins a background commit of `kind` (the fail point [`fail_points::CHECKPOINT_DUE`] or
/// [`fail_points::COMMIT_DUE`]) whose thread waits, before it commits, for what the returned
/// [`Held`] sends.
async fn begin_held(store: &EmbeddedStore, kind: CommitKind) -> Held {
    let scenario = fail::FailScenario::setup();
    let dir = lock(&store.writer).journal.dir.clone();
    let (release, released) = std_mpsc::channel();
    hold_at(fail_points::BEFORE_BACKGROUND_COMMIT, &dir, released, None);
    let due = match kind {
        CommitKind::Visible => fail_points::COMMIT_DUE,
        CommitKind::Checkpoint => fail_points::CHECKPOINT_DUE,
    };
    fail_at(due, &dir);
    store.attention.notify_one();
    let running = within_two_seconds(|| lock(&store.writer).commit_window.is_some()).await;
    fail::remove(due);
    assert!(running, "the {kind:?} commit runs with a window");
    Held {
        dir,
        release,
        after_applied: Mutex::new(None),
        _scenario: scenario,
    }
}

/// A copy of a running store's files: what a `kill -9` would leave now.
fn copy_as_a_crash_leaves_it(dir: &Path) -> tempfile::TempDir {
    let crashed = tempfile::tempdir().expect("temp dir");
    for file in [DB_FILE, JOURNAL_FILES[0], JOURNAL_FILES[1]] {
        std::fs::copy(dir.join(file), crashed.path().join(file)).expect("copy");
    }
    crashed
}

/// A store with a group whose log holds seq 1 and a second group not created yet, and a
/// timed checkpoint begun and held (see [`begin_held_checkpoint`]).
struct HeldCheckpoint {
    dir: tempfile::TempDir,
    store: EmbeddedStore,
    group: (GroupId, MeetingId),
    new_group: (GroupId, MeetingId),
    release: Held,
}

async fn store_with_a_held_checkpoint() -> HeldCheckpoint {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    let store = reopen(dir.path()).await;
    create_empty_group(&store, group_id, meeting_id).await;
    append(&store, group_id, meeting_id, 1).await;
    let release = begin_held_checkpoint(&store).await;
    HeldCheckpoint {
        dir,
        store,
        group: (group_id, meeting_id),
        new_group: (GroupId::random(), MeetingId::random()),
        release,
    }
}

/// `write` answered within 2 s, while a checkpoint is held: writes do not wait for it.
async fn within_a_held_checkpoint<T>(write: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(2), write)
        .await
        .expect("the write is answered while the checkpoint is held")
}

#[tokio::test]
async fn writes_go_on_while_a_checkpoint_runs_and_are_checked_as_usual() {
    let HeldCheckpoint {
        dir,
        store,
        group: (group_id, meeting_id),
        new_group: (new_group, new_meeting),
        release,
    } = store_with_a_held_checkpoint().await;

    within_a_held_checkpoint(append(&store, group_id, meeting_id, 2)).await;
    within_a_held_checkpoint(append(&store, group_id, meeting_id, 3)).await;
    within_a_held_checkpoint(create_empty_group(&store, new_group, new_meeting)).await;
    within_a_held_checkpoint(append(&store, new_group, new_meeting, 1)).await;
    let refused = [
        // Seq 3 is taken, by a write of the window.
        (
            Op::Append {
                group_id,
                meeting_id,
                entries: vec![entry(3)],
                snapshot: None,
            },
            "conflict",
        ),
        // Seq 1 was taken before the checkpoint.
        (append_op(group_id, meeting_id, 1), "conflict"),
        (append_op(GroupId::random(), meeting_id, 4), "not found"),
        (
            Op::CreateGroup {
                group_id: new_group,
                snapshot: snapshot(new_meeting, 0),
            },
            "conflict",
        ),
        (
            Op::CreateGroup {
                group_id,
                snapshot: snapshot(meeting_id, 0),
            },
            "conflict",
        ),
        (
            Op::Append {
                group_id,
                meeting_id,
                entries: vec![entry(4)],
                snapshot: Some(snapshot(meeting_id, 5)),
            },
            "conflict",
        ),
    ];
    for (op, expected) in refused {
        let outcome = within_a_held_checkpoint(store.write(op.clone())).await;
        let matches = matches!(
            (&outcome, expected),
            (Err(StoreError::Conflict(_)), "conflict")
                | (Err(StoreError::NotFound(_)), "not found")
        );
        assert!(
            matches,
            "{op:?} during a checkpoint: {outcome:?}, expected {expected}"
        );
    }

    // A read waits for the checkpoint's end, then sees every answered write.
    let read = tokio::spawn({
        let store = store.clone();
        async move { tail_seqs(&store, group_id).await }
    });
    // And so does a rarer write (it is ordered after the window's writes).
    let end = tokio::spawn({
        let store = store.clone();
        async move { store.end_meeting(new_meeting, 1_000).await }
    });
    release.send(Gate::Release).expect("release the checkpoint");
    assert_eq!(read.await.expect("read task"), vec![1, 2, 3]);
    end.await.expect("end task").expect("end meeting");
    assert_eq!(tail_seqs(&store, new_group).await, vec![1]);
    // The checkpoint emptied the older file; the window's writes are in the other.
    assert_eq!(
        std::fs::metadata(dir.path().join(JOURNAL_FILES[0]))
            .expect("file")
            .len(),
        0
    );
    assert!(
        std::fs::metadata(dir.path().join(JOURNAL_FILES[1]))
            .expect("file")
            .len()
            > 0
    );
    // The numbering goes on: 2 before the checkpoint, 4 in its window, the end after it.
    assert_eq!(held_batch(&store).await, 7);
    append(&store, group_id, meeting_id, 4).await;
    drop(store);

    let reopened = reopen(dir.path()).await;
    assert_eq!(tail_seqs(&reopened, group_id).await, vec![1, 2, 3, 4]);
    assert_eq!(tail_seqs(&reopened, new_group).await, vec![1]);
    assert_eq!(journal_len(dir.path()), 0);
}

#[tokio::test]
async fn writes_made_while_the_checkpoint_thread_applies_the_window_follow_its_writes() {
    let HeldCheckpoint {
        dir,
        store,
        group: (group_id, meeting_id),
        new_group: (new_group, new_meeting),
        release,
    } = store_with_a_held_checkpoint().await;
    within_a_held_checkpoint(append(&store, group_id, meeting_id, 2)).await;
    within_a_held_checkpoint(create_empty_group(&store, new_group, new_meeting)).await;

    // The durable commit is done and the thread has applied the two writes above to a new
    // transaction, which it holds.
    let (holding, held) = oneshot::channel();
    release
        .send(Gate::ReleaseThenHoldApplied(holding))
        .expect("release the checkpoint");
    held.await.expect("the commit thread applied the window");
    // Still the window: checked against it, answered at once, left for the writer to apply.
    within_a_held_checkpoint(append(&store, group_id, meeting_id, 3)).await;
    within_a_held_checkpoint(append(&store, new_group, new_meeting, 1)).await;
    let refused = within_a_held_checkpoint(store.write(append_op(group_id, meeting_id, 3))).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "seq 3 is taken by a write of the commit_window: {refused:?}"
    );
    // What a `kill -9` now leaves.
    let crashed = copy_as_a_crash_leaves_it(dir.path());

    let read = tokio::spawn({
        let store = store.clone();
        async move { tail_seqs(&store, group_id).await }
    });
    drop(release);
    assert_eq!(read.await.expect("read task"), vec![1, 2, 3]);
    assert_eq!(tail_seqs(&store, new_group).await, vec![1]);
    // The open transaction holds both parts: a commit keeps them, and the log goes on.
    append(&store, group_id, meeting_id, 4).await;
    assert_eq!(tail_seqs(&store, group_id).await, vec![1, 2, 3, 4]);
    drop(store);
    let reopened = reopen(dir.path()).await;
    assert_eq!(tail_seqs(&reopened, group_id).await, vec![1, 2, 3, 4]);
    assert_eq!(tail_seqs(&reopened, new_group).await, vec![1]);

    let recovered = reopen(crashed.path()).await;
    assert_eq!(tail_seqs(&recovered, group_id).await, vec![1, 2, 3]);
    assert_eq!(tail_seqs(&recovered, new_group).await, vec![1]);
}

#[tokio::test]
async fn a_crash_during_a_checkpoint_is_recovered_from_both_journal_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    let store = reopen(dir.path()).await;
    create_empty_group(&store, group_id, meeting_id).await;
    store.flush().await.expect("checkpoint");
    append(&store, group_id, meeting_id, 1).await;
    append(&store, group_id, meeting_id, 2).await;
    let release = begin_held_checkpoint(&store).await;
    within_a_held_checkpoint(append(&store, group_id, meeting_id, 3)).await;

    // What a `kill -9` now leaves: the redb file's durable state is from before seq 1,
    // the first journal file holds seqs 1 and 2, the second seq 3.
    let crashed = copy_as_a_crash_leaves_it(dir.path());
    release.send(Gate::Release).expect("release the checkpoint");
    drop(store);

    let recovered = reopen(crashed.path()).await;
    assert_eq!(tail_seqs(&recovered, group_id).await, vec![1, 2, 3]);
    assert_eq!(held_batch(&recovered).await, 4);
    assert_eq!(
        journal_len(crashed.path()),
        0,
        "recovery empties both files"
    );
    append(&recovered, group_id, meeting_id, 4).await;
    assert_eq!(held_batch(&recovered).await, 5);
}

#[tokio::test]
async fn a_failed_background_commit_is_repaired_with_its_window_s_writes() {
    for kind in [CommitKind::Visible, CommitKind::Checkpoint] {
        let dir = tempfile::tempdir().expect("temp dir");
        let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
        let store = open_embedded(dir.path(), no_timed_commits()).await;
        create_empty_group(&store, group_id, meeting_id).await;
        append(&store, group_id, meeting_id, 1).await;
        let release = begin_held(&store, kind).await;
        within_a_held_checkpoint(append(&store, group_id, meeting_id, 2)).await;
        release.send(Gate::Fail).expect("fail the commit");
        assert_eq!(
            tail_seqs(&store, group_id).await,
            vec![1, 2],
            "{kind:?}: the repair applies the journal's records"
        );
        assert_eq!(
            journal_len(dir.path()),
            0,
            "{kind:?}: the repair ends in a checkpoint"
        );
        append(&store, group_id, meeting_id, 3).await;
        drop(store);
        let reopened = reopen(dir.path()).await;
        assert_eq!(
            tail_seqs(&reopened, group_id).await,
            vec![1, 2, 3],
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn writes_go_on_while_the_open_transaction_commits_and_are_checked_against_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    let (new_group, new_meeting) = (GroupId::random(), MeetingId::random());
    let store = open_embedded(dir.path(), no_timed_commits()).await;
    create_empty_group(&store, group_id, meeting_id).await;
    store.flush().await.expect("checkpoint");
    // Written to the open transaction: the commit that begins now holds them, and the window
    // checks against the state before it.
    append(&store, group_id, meeting_id, 1).await;
    create_empty_group(&store, new_group, new_meeting).await;
    let release = begin_held(&store, CommitKind::Visible).await;

    within_a_held_checkpoint(append(&store, group_id, meeting_id, 2)).await;
    within_a_held_checkpoint(append(&store, new_group, new_meeting, 1)).await;
    let refused = [
        (
            append_op(group_id, meeting_id, 1),
            "seq 1 is in the committing transaction",
        ),
        (
            Op::CreateGroup {
                group_id: new_group,
                snapshot: snapshot(new_meeting, 0),
            },
            "the group is in the committing transaction",
        ),
    ];
    for (op, why) in refused {
        let outcome = within_a_held_checkpoint(store.write(op)).await;
        assert!(
            matches!(outcome, Err(StoreError::Conflict(_))),
            "{why}: {outcome:?}"
        );
    }
    let crashed = copy_as_a_crash_leaves_it(dir.path());
    let second_file = || {
        std::fs::metadata(dir.path().join(JOURNAL_FILES[1]))
            .expect("file")
            .len()
    };
    assert_eq!(second_file(), 0, "a commit does not switch the journal");

    // A read waits for the commit's end, then sees every answered write.
    let read = tokio::spawn({
        let store = store.clone();
        async move { tail_seqs(&store, group_id).await }
    });
    release.send(Gate::Release).expect("release the commit");
    assert_eq!(read.await.expect("read task"), vec![1, 2]);
    assert_eq!(tail_seqs(&store, new_group).await, vec![1]);
    assert_eq!(second_file(), 0);
    assert!(
        journal_len(dir.path()) > 0,
        "the journal holds every write since the checkpoint"
    );
    // The log goes on after the window's writes, also in a later commit.
    append(&store, group_id, meeting_id, 3).await;
    assert_eq!(tail_seqs(&store, group_id).await, vec![1, 2, 3]);
    drop(store);
    let reopened = reopen(dir.path()).await;
    assert_eq!(tail_seqs(&reopened, group_id).await, vec![1, 2, 3]);
    assert_eq!(tail_seqs(&reopened, new_group).await, vec![1]);

    let recovered = reopen(crashed.path()).await;
    assert_eq!(tail_seqs(&recovered, group_id).await, vec![1, 2]);
    assert_eq!(tail_seqs(&recovered, new_group).await, vec![1]);
}

#[tokio::test]
async fn appends_held_unwritten_are_written_in_order_before_a_trim_and_a_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    let store = open_embedded(dir.path(), no_timed_commits()).await;
    create_empty_group(&store, group_id, meeting_id).await;
    // In one open transaction: more appends than it holds unwritten at a time, a trim of all
    // but the last two (some of them still unwritten: the trim must come after them) and more
    // appends.
    let last = UNWRITTEN_MAX as Seq * 2 + 5;
    for seq in 1..=last {
        append(&store, group_id, meeting_id, seq).await;
    }
    store.trim_log(meeting_id, last - 2).await.expect("trim");
    append(&store, group_id, meeting_id, last + 1).await;
    append(&store, group_id, meeting_id, last + 2).await;
    let refused = store.write(append_op(group_id, meeting_id, last + 2)).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "an unwritten append still takes its seq: {refused:?}"
    );
    let crashed = copy_as_a_crash_leaves_it(dir.path());
    let kept: Vec<Seq> = (last - 1..=last + 2).collect();
    let read = store
        .read_log(meeting_id, 0, 1000)
        .await
        .expect("read the log");
    assert_eq!(read.iter().map(|entry| entry.seq).collect::<Vec<_>>(), kept);
    drop(store);
    let recovered = reopen(crashed.path()).await;
    let read = recovered
        .read_log(meeting_id, 0, 1000)
        .await
        .expect("read the log");
    assert_eq!(read.iter().map(|entry| entry.seq).collect::<Vec<_>>(), kept);
}

#[tokio::test]
async fn records_in_both_journal_files_are_applied_in_the_order_of_their_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    closed_store_with_group(dir.path(), group_id, meeting_id).await;
    // The second file holds the older records, as after a checkpoint that switched to the
    // first; seq 2 applied before seq 1 would be refused.
    write_journal_file(
        dir.path(),
        1,
        &[(2, vec![append_op(group_id, meeting_id, 1)])],
    );
    write_journal_file(
        dir.path(),
        0,
        &[(3, vec![append_op(group_id, meeting_id, 2)])],
    );
    reopen_recovered(dir.path(), group_id, &[1, 2], 3).await;
}

#[tokio::test]
async fn a_log_s_head_outlives_its_entries_commits_checkpoints_and_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    let store = reopen(dir.path()).await;
    create_empty_group(&store, group_id, meeting_id).await;
    for seq in 1..=3 {
        append(&store, group_id, meeting_id, seq).await;
    }
    store.trim_log(meeting_id, 3).await.expect("trim");
    let stale = |outcome: Result<(), StoreError>| matches!(outcome, Err(StoreError::Conflict(_)));
    assert!(stale(try_append(&store, group_id, meeting_id, 1).await));
    // Committed (a read commits), then checkpointed: the head is in redb, not only known.
    assert_eq!(tail_seqs(&store, group_id).await, Vec::<Seq>::new());
    assert!(stale(try_append(&store, group_id, meeting_id, 3).await));
    store.flush().await.expect("checkpoint");
    assert!(stale(try_append(&store, group_id, meeting_id, 2).await));
    append(&store, group_id, meeting_id, 4).await;
    drop(store);

    // Closed cleanly, and (below) crashed with the last append in the journal only.
    let store = reopen(dir.path()).await;
    assert!(stale(try_append(&store, group_id, meeting_id, 4).await));
    append(&store, group_id, meeting_id, 5).await;
    let crashed = copy_as_a_crash_leaves_it(dir.path());
    drop(store);
    for dir in [dir.path(), crashed.path()] {
        let store = reopen(dir).await;
        assert!(stale(try_append(&store, group_id, meeting_id, 5).await));
        append(&store, group_id, meeting_id, 6).await;
        assert_eq!(tail_seqs(&store, group_id).await, vec![4, 5, 6]);
    }
}

/// The scheduling policy of a thread, from its `stat` file in `/proc` (the 41st field;
/// `SCHED_OTHER` is 0, `SCHED_IDLE` 5); `None` if the thread has ended.
#[cfg(target_os = "linux")]
fn scheduling_policy(task: &Path) -> Option<u32> {
    let stat = std::fs::read_to_string(task.join("stat")).ok()?;
    // The fields after the thread's name (which ends at the last ')') start with the 3rd.
    let after_name = &stat[stat.rfind(')').expect("stat has a name") + 1..];
    let policy = after_name
        .split_whitespace()
        .nth(41 - 3)
        .expect("policy field");
    Some(policy.parse().expect("a number"))
}

/// The scheduling policies of this process's threads called `name`.
#[cfg(target_os = "linux")]
fn policies_of_threads_named(name: &str) -> Vec<u32> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .map(|task| task.expect("task").path())
        .filter(|task| {
            std::fs::read_to_string(task.join("comm")).is_ok_and(|comm| comm.trim_end() == name)
        })
        .filter_map(|task| scheduling_policy(&task))
        .collect()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_commit_thread_runs_on_left_over_cpu_time_only() {
    const SCHED_OTHER: u32 = 0;
    const SCHED_IDLE: u32 = 5;
    let dir = tempfile::tempdir().expect("temp dir");
    let _store = reopen(dir.path()).await;
    assert!(
        within_two_seconds(|| {
            let policies = policies_of_threads_named("store-commit");
            !policies.is_empty() && policies.iter().all(|&policy| policy == SCHED_IDLE)
        })
        .await,
        "the store's commit threads run with SCHED_IDLE: {:?}",
        policies_of_threads_named("store-commit")
    );
    // Only they: the test's own thread keeps the usual policy.
    assert_eq!(
        scheduling_policy(Path::new("/proc/thread-self")),
        Some(SCHED_OTHER)
    );
}

#[tokio::test]
async fn a_group_deleted_before_a_commit_stays_deleted_for_the_writes_made_while_it_commits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    let store = open_embedded(dir.path(), no_timed_commits()).await;
    create_empty_group(&store, group_id, meeting_id).await;
    append(&store, group_id, meeting_id, 1).await;
    store.flush().await.expect("checkpoint");
    // The deletion is in the open transaction; the commit that begins now holds it, and the
    // window's view (the state before it) still has the group.
    assert!(store.delete_group(group_id).await.expect("delete"));
    let release = begin_held(&store, CommitKind::Visible).await;
    let late = within_a_held_checkpoint(try_append(&store, group_id, meeting_id, 2)).await;
    assert!(
        matches!(late, Err(StoreError::NotFound(_))),
        "an append to the deleted group is refused in the window too: {late:?}"
    );
    release.send(Gate::Release).expect("release the commit");
    assert!(store.load_room(group_id).await.expect("load").is_none());
    drop(store);
    let reopened = reopen(dir.path()).await;
    assert!(reopened.load_room(group_id).await.expect("load").is_none());
    assert!(
        reopened
            .read_log(meeting_id, 0, 10)
            .await
            .expect("read")
            .is_empty()
    );
}

#[tokio::test]
async fn a_file_from_before_the_meeting_index_gets_its_groups_current_meetings_indexed() {
    use super::tables::{GROUPS, LOG_HEADS, encode_snapshot};
    use redb::Database;
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = (GroupId::random(), MeetingId::random());
    // A redb file as the store wrote it before `group_meetings` existed: a group and its
    // meeting's log, and no index.
    {
        let db = Database::create(dir.path().join(DB_FILE)).expect("create the file");
        let txn = db.begin_write().expect("write");
        txn.open_table(GROUPS)
            .expect("groups")
            .insert(
                group_id.as_u128(),
                encode_snapshot(&snapshot(meeting_id, 0)).as_slice(),
            )
            .expect("insert");
        let mut log = txn.open_table(LOG).expect("log");
        for seq in 1..=3 {
            log.insert((meeting_id.as_u128(), seq), b"old event".as_slice())
                .expect("insert");
        }
        drop(log);
        txn.open_table(LOG_HEADS)
            .expect("heads")
            .insert(meeting_id.as_u128(), 3)
            .expect("insert");
        txn.commit().expect("commit");
    }
    let store = open_embedded(dir.path(), EmbeddedOptions::default()).await;
    assert_eq!(tail_seqs(&store, group_id).await, vec![1, 2, 3]);
    assert!(store.delete_group(group_id).await.expect("delete"));
    let rows = store.stored_rows().await.expect("rows");
    assert!(
        rows.iter().all(|(table, _, _)| table == "meta"),
        "the old group's meeting was indexed on open and deleted with it: {rows:?}"
    );
}
