//! The store conformance suite against the embedded store, and its durability across reopen.

use roundtable_server::store::{
    EmbeddedOptions, EmbeddedStore, JournalSync, conformance, fixtures,
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
    let (group_id, meeting_id) = {
        let store = EmbeddedStore::open(dir.path()).expect("open store");
        let (group_id, meeting_id) = fixtures::create_group(&store, "start").await;
        fixtures::append(&store, group_id, meeting_id, &[fixtures::entry(1)], None)
            .await
            .expect("append");
        (group_id, meeting_id)
    };
    // The first store's writer thread lets go of the file once its last handle is dropped.
    let reopened = fixtures::open_embedded(dir.path(), EmbeddedOptions::default()).await;
    let loaded = fixtures::load(&reopened, group_id).await;
    assert_eq!(loaded.snapshot, fixtures::snapshot(meeting_id, 0, "start"));
    assert_eq!(loaded.tail, vec![fixtures::entry(1)]);
}
