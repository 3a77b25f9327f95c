//! Fault injection by named fail points (the `fail` crate), for tests, unit and integration
//! alike. A fail point is compiled in only where the `fail` crate's `failpoints` feature is on:
//! the server's dev-dependency on `fail` turns it on for test builds, so a release build has
//! none (each check is then a plain `false`).
//!
//! A fail point fails one store only: a test sets it with `fail::cfg(NAME, "return(DIR)")`,
//! `DIR` being the data directory of the store it means, so that tests running side by side in
//! one process do not disturb each other's stores; tests that set fail points run one at a time
//! inside a `fail::FailScenario`.

use std::path::Path;

/// Appending a record to the journal fails, before anything is written.
pub const JOURNAL_WRITE: &str = "store::journal::write";

/// Where the writer can be held (see [`hold`]) before it appends a record to the journal: a
/// disk that stalls, as one does while another process fills the page cache.
pub const JOURNAL_WRITE_STALL: &str = "store::journal::write_stall";

/// The fdatasync of a journal record fails (with
/// [`JournalSync::Always`](super::JournalSync::Always), where the writer syncs before answering).
pub const JOURNAL_SYNC: &str = "store::journal::sync";

/// A commit of the writer's redb transaction fails: in place, on the `store-commit` thread, or a
/// checkpoint's (not the one that ends a recovery).
pub const COMMIT: &str = "store::commit";

/// A visible commit is due now, whatever the writer's timers say (once the writer task looks:
/// after a write or a command, or when woken).
pub const COMMIT_DUE: &str = "store::commit_due";

/// A checkpoint is due now, as [`COMMIT_DUE`] a commit.
pub const CHECKPOINT_DUE: &str = "store::checkpoint_due";

/// Where the `store-commit` thread can be held (see [`hold`]): before a background commit.
pub const BEFORE_BACKGROUND_COMMIT: &str = "store::before_background_commit";

/// Where the `store-commit` thread can be held (see [`hold`]): after a background commit, once it
/// applied the window's writes so far to a new transaction, before it answers the writer.
pub const AFTER_WINDOW_APPLIED: &str = "store::after_window_applied";

/// Holds the calling thread at the fail point `name`, when it is set to fail the store in
/// `dir`, for as long as the fail point `{name}::held` says (a test sets it to a callback that
/// waits, or to `pause`).
pub(super) fn hold(name: &str, dir: &Path) {
    if fails(name, dir) {
        fail::fail_point!(&format!("{name}::held"));
    }
}

/// Whether the fail point `name` is set to fail the store in `data_dir`.
pub(super) fn fails(name: &str, data_dir: &Path) -> bool {
    fail::fail_point!(name, |dir: Option<String>| dir
        .is_some_and(|dir| Path::new(&dir) == data_dir));
    let _ = (name, data_dir);
    false
}

/// The error an injected failure gives, as the I/O it stands for would.
pub(super) fn injected(name: &str) -> std::io::Error {
    std::io::Error::other(format!("injected failure at the fail point {name}"))
}
