//! Taking deleted data out of the redb file, not only out of its tables.
//!
//! redb is copy-on-write and neither zeroes the pages it frees nor the slack of the pages it
//! rewrites: after a group is deleted (or a log trimmed, or a snapshot replaced) its bytes stay
//! in the file until the space happens to be reused, and `Database::compact` moves pages
//! without clearing what they held (measured with redb 4.6: of 200 deleted values 15 were
//! still in the file after deletion, filler writes and compaction). So when data was deleted
//! for good (a deleted group, a member's erasure), the store marks a *vacuum* due
//! ([`mark_due`]), and the next open rewrites the file ([`vacuum_if_due`]): every table's live
//! entries are copied into a new file, which is synced and renamed over the old one. A new
//! file holds nothing but what was copied into it. The journal needs no vacuum: it is emptied
//! at every checkpoint and at open.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

use super::tables::{
    ENDED_MEETINGS, GROUP_ACTIVITY, GROUP_MEETINGS, GROUPS, GROUPS_BY_ACTIVITY, LOG, LOG_HEADS,
    MEETING_ENDED_AT, META, open_database, unavailable,
};
use crate::store::StoreError;

/// The file whose presence in the data directory says that a vacuum is due.
pub(super) const VACUUM_DUE_FILE: &str = "roundtable.vacuum-due";

/// The new file while it is written.
const VACUUM_FILE: &str = "roundtable.redb.vacuum";

/// Marks a vacuum due at the next open, durably.
pub(super) fn mark_due(data_dir: &Path) -> Result<(), StoreError> {
    let path = data_dir.join(VACUUM_DUE_FILE);
    let file = std::fs::File::create(&path).map_err(|error| {
        StoreError::Unavailable(format!("cannot create {}: {error}", path.display()))
    })?;
    file.sync_all().map_err(unavailable)?;
    sync_dir(data_dir)
}

/// Rewrites the redb file at `db_file` with its live entries only, when a vacuum is due.
/// Returns whether it did. The store must not be open.
pub(super) fn vacuum_if_due(
    data_dir: &Path,
    db_file: &Path,
    cache_bytes: usize,
) -> Result<bool, StoreError> {
    let due = data_dir.join(VACUUM_DUE_FILE);
    if !due.exists() {
        return Ok(false);
    }
    let new_file = data_dir.join(VACUUM_FILE);
    // A vacuum cut short left its new file: it is started again from the old one.
    let _ = std::fs::remove_file(&new_file);
    {
        let old = open_database(db_file, cache_bytes)?;
        let new = open_database(&new_file, cache_bytes)?;
        copy_all(&old, &new)?;
    }
    std::fs::File::open(&new_file)
        .and_then(|file| file.sync_all())
        .map_err(unavailable)?;
    std::fs::rename(&new_file, db_file).map_err(|error| {
        StoreError::Unavailable(format!("cannot replace {}: {error}", db_file.display()))
    })?;
    sync_dir(data_dir)?;
    std::fs::remove_file(&due).map_err(unavailable)?;
    sync_dir(data_dir)?;
    Ok(true)
}

/// The tables [`copy_all`] copies; a table it does not know would be lost, so it refuses.
const TABLES: [&str; 9] = [
    "groups",
    "log",
    "log_heads",
    "ended_meetings",
    "meeting_ended_at",
    "group_meetings",
    "meta",
    "group_activity",
    "groups_by_activity",
];

fn copy_all(old: &Database, new: &Database) -> Result<(), StoreError> {
    let read = old.begin_read().map_err(unavailable)?;
    for table in read.list_tables().map_err(unavailable)? {
        if !TABLES.contains(&table.name()) {
            return Err(StoreError::Corrupt(format!(
                "the vacuum does not know the table {:?}; it would be lost",
                table.name()
            )));
        }
    }
    let write = new.begin_write().map_err(unavailable)?;
    copy_table(&read, &write, GROUPS)?;
    copy_table(&read, &write, LOG)?;
    copy_table(&read, &write, LOG_HEADS)?;
    copy_table(&read, &write, ENDED_MEETINGS)?;
    copy_table(&read, &write, MEETING_ENDED_AT)?;
    copy_table(&read, &write, GROUP_MEETINGS)?;
    copy_table(&read, &write, META)?;
    copy_table(&read, &write, GROUP_ACTIVITY)?;
    copy_table(&read, &write, GROUPS_BY_ACTIVITY)?;
    write.commit().map_err(unavailable)
}

fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    read: &redb::ReadTransaction,
    write: &redb::WriteTransaction,
    definition: TableDefinition<'static, K, V>,
) -> Result<(), StoreError> {
    // A file from before a table existed has none: nothing to copy.
    let from = match read.open_table(definition) {
        Ok(from) => from,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(error) => return Err(unavailable(error)),
    };
    let mut to = write.open_table(definition).map_err(unavailable)?;
    for entry in from.iter().map_err(unavailable)? {
        let (key, value) = entry.map_err(unavailable)?;
        to.insert(key.value(), value.value()).map_err(unavailable)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|error| StoreError::Unavailable(format!("cannot sync {}: {error}", dir.display())))
}
