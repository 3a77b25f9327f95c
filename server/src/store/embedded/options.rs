//! The embedded store's options and limits.

use std::time::Duration;

/// The most write operations applied and journalled as one group: the writer thread takes
/// everything queued up to this, so that a group grows with a stall of the disk (the writes that
/// queued while one `write` to the journal waited go into the next record together). Bounds the
/// size of one journal record.
pub(super) const GROUP_OPS_MAX: usize = 1024;

/// The most write operations waiting for the writer; callers beyond wait for a slot. Also the
/// most operations held back until a running background commit ends.
pub(super) const WRITE_QUEUE_MAX: usize = 4096;

/// The most operations a background commit's [`CommitWindow`](super::background::CommitWindow)
/// takes; later ones wait for its end.
pub(super) const COMMIT_WINDOW_OPS_MAX: usize = 4096;

/// Default time answered writes wait at most in the writer's open redb transaction before it has
/// them committed (a read has them committed at once). They are in the journal already. Longer
/// saves redb's copying of pages changed again after a commit; shorter keeps each commit, and the
/// window of writes made during it, small (see ARCHITECTURE.md, "Persistence").
pub const COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// The most group creations and appends the open transaction holds unwritten (see
/// [`OpenTransaction::unwritten`](super::writer::OpenTransaction::unwritten)).
pub(super) const UNWRITTEN_MAX: usize = 16;

/// The operations the open redb transaction may hold before it commits, whatever its age (it
/// can exceed this by one group).
pub(super) const COMMIT_OPS_MAX: usize = 4096;

/// The least time between two attempts to repair the store after a failed transaction.
pub(super) const REPAIR_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// With [`JournalSync::Background`], how often the journal is fdatasynced when it grew: the
/// most recent writes a power loss (not a crash of the process) can lose.
pub const JOURNAL_SYNC_INTERVAL: Duration = Duration::from_millis(100);

/// Default time between two checkpoints while something is written.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(30);

/// Default journal size past which the writer checkpoints at once; bounds the journal (it can
/// exceed this by one group's record; should checkpoints keep failing, writes are refused
/// at twice this) and the work of a recovery.
pub const CHECKPOINT_JOURNAL_BYTES: u64 = 64 * 1024 * 1024;

/// Default memory for redb's own cache of the file's pages, on top of the kernel's page cache,
/// which holds the file anyway: a page redb does not keep costs a `pread` from memory when it
/// is needed again. At most half of it holds pages written since the last checkpoint; more are
/// written out to the file early (without an fsync: the journal keeps them safe), in bursts
/// during commits when the cache is too small for the pages a commit changes. redb's own
/// default is 1 GiB, which a server would fill with stored data it rarely reads again.
pub const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// When the journal is fdatasynced, that is, what a power loss or kernel crash can lose. A
/// crash of the process loses no answered write either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum JournalSync {
    /// Every 100 ms in a background thread, when the journal grew: a power loss loses at most
    /// the writes of the last ~100 ms.
    #[default]
    Background,
    /// Before answering the callers of each group of writes: a power loss loses no answered write,
    /// at the cost of an fdatasync in every write's latency.
    Always,
}

/// How an [`EmbeddedStore`](super::EmbeddedStore) syncs and checkpoints.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    pub sync: JournalSync,
    /// The longest answered writes wait in the open transaction before it is committed.
    pub commit_interval: Duration,
    /// Time between two checkpoints while something is written.
    pub checkpoint_interval: Duration,
    /// Journal size past which the writer checkpoints at once.
    pub checkpoint_journal_bytes: u64,
    /// Memory for redb's cache of the file's pages (see [`CACHE_BYTES`]).
    pub cache_bytes: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            sync: JournalSync::default(),
            commit_interval: COMMIT_INTERVAL,
            checkpoint_interval: CHECKPOINT_INTERVAL,
            checkpoint_journal_bytes: CHECKPOINT_JOURNAL_BYTES,
            cache_bytes: CACHE_BYTES,
        }
    }
}
