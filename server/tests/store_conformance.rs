//! The store conformance suite against the embedded store, and its durability across reopen.

use roundtable_protocol::{GroupId, MeetingId};
use roundtable_server::store::{
    AppendBatch, EmbeddedOptions, EmbeddedStore, JournalSync, LogEntry, Snapshot, Store,
    conformance,
};

#[tokio::test]
async fn embedded_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn embedded_store_syncing_every_write_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = EmbeddedOptions {
        sync: JournalSync::Always,
        ..EmbeddedOptions::default()
    };
    let store = EmbeddedStore::open_with(dir.path(), options).expect("open store");
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn embedded_store_keeps_acknowledged_writes_across_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let group_id = GroupId::random();
    let meeting_id = MeetingId::random();
    {
        let store = EmbeddedStore::open(dir.path()).expect("open store");
        let snapshot = Snapshot {
            meeting_id,
            seq: 0,
            bytes: b"start".to_vec(),
        };
        store
            .create_group(group_id, &snapshot)
            .await
            .expect("create");
        let entries = vec![LogEntry {
            seq: 1,
            bytes: b"one".to_vec(),
        }];
        store
            .append(AppendBatch {
                group_id,
                meeting_id,
                entries: &entries,
                snapshot: None,
            })
            .await
            .expect("append");
    }
    // The first store's writer thread lets go of the file once its last handle is dropped.
    let mut reopened = None;
    for _ in 0..100 {
        match EmbeddedStore::open(dir.path()) {
            Ok(store) => {
                reopened = Some(store);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    let reopened = reopened.expect("the store file reopens within 2 s");
    let loaded = reopened
        .load_room(group_id)
        .await
        .expect("load")
        .expect("group exists");
    assert_eq!(loaded.snapshot.bytes, b"start");
    assert_eq!(
        loaded.tail,
        vec![LogEntry {
            seq: 1,
            bytes: b"one".to_vec()
        }]
    );
}
