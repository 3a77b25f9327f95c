//! The store conformance suite against the embedded store, and its durability across reopen.

use roundtable_server::store::{
    EmbeddedOptions, EmbeddedStore, JournalSync, Store, conformance, fixtures,
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

#[tokio::test]
async fn embedded_store_deletes_every_row_of_a_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    let deleted = conformance::delete_a_marked_group(&store).await;
    // A checkpoint empties the journal, which held the group's writes (and its deletion).
    store.flush().await.expect("flush");
    let mut stored = Vec::new();
    for (table, key, value) in store.stored_rows().await.expect("stored rows") {
        stored.push((format!("a key of table {table}"), key));
        stored.push((format!("a value of table {table}"), value));
    }
    assert!(
        stored.iter().any(|(name, _)| name.contains("groups")),
        "the kept group is still there, so the scan reads rows"
    );
    for journal in ["roundtable.journal", "roundtable.journal.2"] {
        let bytes = std::fs::read(dir.path().join(journal)).expect("read the journal");
        stored.push((format!("the file {journal}"), bytes));
    }
    deleted.assert_absent(&stored);
}

#[tokio::test]
async fn embedded_store_deletes_a_group_across_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (group_id, meeting_id) = {
        let store = EmbeddedStore::open(dir.path()).expect("open store");
        let (group_id, meeting_id) = fixtures::create_group(&store, "start").await;
        fixtures::append(
            &store,
            group_id,
            meeting_id,
            &fixtures::entries(1..=3),
            None,
        )
        .await
        .expect("append");
        assert!(store.delete_group(group_id).await.expect("delete"));
        (group_id, meeting_id)
    };
    // The deletion is applied again from the journal on open.
    let reopened = fixtures::open_embedded(dir.path(), EmbeddedOptions::default()).await;
    assert!(reopened.load_room(group_id).await.expect("load").is_none());
    assert!(
        reopened
            .read_log(meeting_id, 0, 10)
            .await
            .expect("read")
            .is_empty()
    );
    let rows = reopened.stored_rows().await.expect("rows");
    assert!(
        rows.iter().all(|(table, _, _)| table == "meta"),
        "only the store's own records are left: {rows:?}"
    );
}
