//! The embedded store's vacuum: after `forget_deleted`, the next open rewrites the redb file
//! with its live entries only, so deleted bytes leave the file (redb keeps them in freed pages
//! otherwise), and the store goes on as before.

use std::path::Path;

use roundtable_server::store::fixtures::{self, append, create_group, entries, load, snapshot};
use roundtable_server::store::{EmbeddedOptions, Store};

fn file_holds(dir: &Path, needle: &[u8]) -> bool {
    let bytes = std::fs::read(dir.join("roundtable.redb")).expect("read the redb file");
    bytes.windows(needle.len()).any(|window| window == needle)
}

/// A store whose redb file holds a deleted group's bytes in freed pages.
async fn a_file_with_a_deleted_group(
    dir: &Path,
    secret: &str,
) -> (roundtable_protocol::GroupId, roundtable_protocol::MeetingId) {
    let store = fixtures::open_embedded(dir, EmbeddedOptions::default()).await;
    let (kept, kept_meeting) = create_group(&store, "kept group").await;
    append(&store, kept, kept_meeting, &entries(1..=3), None)
        .await
        .expect("append");
    let (gone, gone_meeting) = create_group(&store, secret).await;
    for start in (1..=400).step_by(50) {
        let batch: Vec<_> = entries(start..=start + 49)
            .into_iter()
            .map(|mut entry| {
                entry.bytes = format!("{secret} {}", entry.seq).into_bytes();
                entry
            })
            .collect();
        append(&store, gone, gone_meeting, &batch, None)
            .await
            .expect("append");
    }
    // Into the redb file, then deleted there.
    store.flush().await.expect("checkpoint");
    assert!(
        file_holds(dir, secret.as_bytes()),
        "the group is in the file"
    );
    assert!(store.delete_group(gone).await.expect("delete"));
    store.flush().await.expect("checkpoint");
    assert!(
        file_holds(dir, secret.as_bytes()),
        "redb keeps the deleted bytes in its freed pages: the reason for the vacuum"
    );
    store.forget_deleted().await.expect("mark the vacuum due");
    drop(store);
    (kept, kept_meeting)
}

#[tokio::test]
async fn the_next_open_rewrites_the_file_without_the_deleted_bytes_and_the_store_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = "platypus-ledger-5521";
    let (kept, kept_meeting) = a_file_with_a_deleted_group(dir.path(), secret).await;

    let store = fixtures::open_embedded(dir.path(), EmbeddedOptions::default()).await;
    assert!(
        !file_holds(dir.path(), secret.as_bytes()),
        "the vacuum left no deleted byte"
    );
    assert!(
        !dir.path().join("roundtable.vacuum-due").exists(),
        "done once"
    );
    // The kept group is whole and its log goes on where it was.
    let room = load(&store, kept).await;
    assert_eq!(room.snapshot, snapshot(kept_meeting, 0, "kept group"));
    assert_eq!(room.tail, entries(1..=3));
    append(&store, kept, kept_meeting, &entries(4..=5), None)
        .await
        .expect("the log continues");
    let conflict = append(&store, kept, kept_meeting, &entries(4..=4), None).await;
    assert!(conflict.is_err(), "the log head came through the vacuum");
    drop(store);
    // And the journal's numbering too: a further open recovers what was written since.
    let store = fixtures::open_embedded(dir.path(), EmbeddedOptions::default()).await;
    assert_eq!(load(&store, kept).await.tail, entries(1..=5));
}

#[tokio::test]
async fn a_vacuum_cut_short_is_done_again_from_the_old_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = "wombat-quarry-9034";
    let (kept, _) = a_file_with_a_deleted_group(dir.path(), secret).await;
    // A crash while the new file was written leaves it half done.
    std::fs::write(dir.path().join("roundtable.redb.vacuum"), b"half a file").expect("write");

    let store = fixtures::open_embedded(dir.path(), EmbeddedOptions::default()).await;
    assert!(!file_holds(dir.path(), secret.as_bytes()));
    assert_eq!(load(&store, kept).await.tail, entries(1..=3));
    assert!(!dir.path().join("roundtable.redb.vacuum").exists());
}
