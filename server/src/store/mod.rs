//! Persistence: one trait, [`Store`], and its implementations.
//!
//! The store knows nothing of the room's schema: it keeps opaque bytes. Per group it holds the
//! latest *snapshot* of the group's room (group, members, current meeting) tagged with the seq
//! it was taken at, and per meeting an append-only *event log* of `(seq, bytes)` entries. A room
//! is loaded as its snapshot plus the log entries after the snapshot's seq, which the room
//! replays. Writes are atomic: the entries of one [`AppendBatch`] and its optional snapshot are
//! stored together or not at all, and a call returns only once they are durable: they survive
//! a crash of the server process (even `kill -9`). How they survive a power loss depends on the
//! store: the embedded store fdatasyncs its journal within 100 ms, or before answering with
//! `--store-sync always` (see [`embedded`]); Redis as its `appendfsync` says.
//!
//! Besides the data, the store keeps two small records that several server processes need to
//! agree on: the *ownership lease* of each group's live room ([`Store::take_lease`]), so that
//! only one process runs a meeting at a time, with its *epoch*, which every take raises and
//! every room's write is fenced with ([`AppendBatch::fence`], [`StoreError::Fenced`]), so that a
//! process that lost the lease without knowing it cannot write; and when each meeting *ended*
//! ([`Store::end_meeting`]), so that a periodic pass can trim the logs of meetings that ended
//! longer ago than the retention ([`Store::trim_ended_logs`]). A group is deleted whole, with
//! every record of its meetings ([`Store::delete_group`]).
//!
//! Every implementation must pass [`conformance`], the suite written once against this trait.
//! The stores' tests make their data with [`fixtures`].

use async_trait::async_trait;
use roundtable_protocol::{GroupId, LogEpoch, MeetingId, Seq, UnixMs};

pub mod conformance;
pub mod embedded;
pub mod fixtures;
pub mod redis;

pub use self::redis::{RedisOptions, RedisStore};
pub use embedded::{EmbeddedOptions, EmbeddedStore, JournalSync};

/// How many earlier log epochs a group's lineage keeps ([`Store::begin_log_epoch`]): a client
/// last joined that many loads of its room ago or more resumes with a snapshot.
pub const EARLIER_LOG_EPOCHS_MAX: usize = 4;

/// An earlier incarnation of a group's room, as [`Store::begin_log_epoch`] answers it: the log
/// epoch it served, and the meeting and seq of its last write (or, if it wrote nothing, of the
/// log it loaded). Up to `through_seq` of that meeting, the seqs it served name the events the
/// store holds now; beyond it, it served nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlierEpoch {
    pub log_epoch: LogEpoch,
    pub meeting_id: MeetingId,
    pub through_seq: Seq,
}

/// One entry of a meeting's event log: the event's seq and its serialized bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub seq: Seq,
    pub bytes: Vec<u8>,
}

/// The serialized state of a group's room at `seq` of meeting `meeting_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub meeting_id: MeetingId,
    pub seq: Seq,
    pub bytes: Vec<u8>,
}

impl Snapshot {
    /// The first snapshot of a new group (seq 0): `group` with its first meeting,
    /// `meeting_id`, upcoming, as created at `now_ms`.
    pub fn of_new_group(
        group: roundtable_rules::room::Group,
        meeting_id: MeetingId,
        now_ms: UnixMs,
    ) -> Snapshot {
        let state = roundtable_rules::state::RoomState::new_group(group, meeting_id, now_ms);
        Snapshot {
            meeting_id,
            seq: 0,
            bytes: roundtable_rules::stored::encode_snapshot(&state),
        }
    }
}

/// What [`Store::load_room`] returns: the latest snapshot and the log entries after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedRoom {
    pub snapshot: Snapshot,
    /// Entries of the snapshot's meeting with seq greater than the snapshot's, in seq order.
    pub tail: Vec<LogEntry>,
}

/// One atomic write to a group: log entries for one meeting and, optionally, a new snapshot.
#[derive(Debug, Clone, Copy)]
pub struct AppendBatch<'a> {
    pub group_id: GroupId,
    pub meeting_id: MeetingId,
    /// Entries with consecutive seqs; the first must follow the meeting's last logged seq
    /// (or be 1 for a meeting with no log yet).
    pub entries: &'a [LogEntry],
    /// A snapshot to store in the same write; its `meeting_id` must equal the batch's.
    pub snapshot: Option<&'a Snapshot>,
    /// The writer's lease, checked in the same atomic step as the seqs: the batch is refused
    /// with [`StoreError::Fenced`] unless the group's lease epoch is the fence's and the lease
    /// is held by the fence's owner or by nobody (a store whose takes can be lost, Redis, also
    /// checks that the lease's last take was the fence owner's). A live room always fences its
    /// writes; `None`
    /// (no check) is for tools and tests that write without a room.
    pub fence: Option<Fence<'a>>,
    /// The log epoch the writer serves: a store that records log epochs
    /// ([`Store::begin_log_epoch`]) notes, in the same atomic step, the batch's meeting and last
    /// seq as that epoch's last write, while it is the group's current epoch. `None` for writes
    /// no client is served from (an ended meeting's last entry, tools, tests).
    pub log_epoch: Option<LogEpoch>,
}

/// A writer's claim to a group's lease: its owner id and the epoch its take of the lease
/// answered ([`LeaseTake::epoch`]). See [`AppendBatch::fence`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence<'a> {
    pub owner: &'a str,
    pub epoch: u64,
}

/// What [`Store::take_lease_reporting`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTake {
    /// The caller holds the lease now (what [`Store::take_lease`] answers).
    pub held: bool,
    /// When the caller took over a lease that another owner let expire: how long ago it
    /// expired, in ms. `None` for a free or own lease, or a store that cannot tell.
    pub took_over_after_ms: Option<u64>,
    /// The group's lease epoch after the call. A take that is not a renewal by the lease's
    /// current holder raises it by one (so every new holder, and every new room of the same
    /// holder, has an epoch of its own); a renewal keeps it. Meaningful when `held`.
    pub epoch: u64,
}

/// One node of a fleet as the node registry holds it (see [`Store::publish_node`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEntry {
    /// The node's random id: the owner id it takes leases with.
    pub id: String,
    /// Where browsers reach the node (its public URL).
    pub client_url: String,
    /// Where other nodes open their links to it (`host:port`).
    pub internal_addr: String,
    pub live_rooms: u64,
    /// Client WebSockets connected to the node itself (not the clients other nodes forward
    /// to it): what the spread evens out (`crate::fleet::spread`).
    pub connections: u64,
    /// The node is handing its rooms over and takes no new ones.
    pub draining: bool,
    /// How long ago its last heartbeat was, by the store's clock (0 when written).
    pub heartbeat_age_ms: u64,
}

/// Why a store call failed. A failed write stored nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backing store cannot be reached or cannot write now; retrying later may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The write does not fit what is stored: the group exists already, or the batch's seqs do
    /// not continue the log (another writer got there first).
    #[error("storage conflict: {0}")]
    Conflict(String),
    /// The write refers to a group that does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The write's fence is stale: another take of the group's lease raised its epoch, or
    /// another owner holds the lease. The writer is no longer the meeting's owner; nothing was
    /// written.
    #[error("fenced: {0}")]
    Fenced(String),
    /// The stored data cannot be read back. A bug or a damaged file.
    #[error("corrupt store: {0}")]
    Corrupt(String),
}

/// Where groups, their rooms' snapshots and their meetings' event logs live.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new group with its first snapshot. Fails with [`StoreError::Conflict`] if the
    /// group exists.
    async fn create_group(&self, group_id: GroupId, snapshot: &Snapshot) -> Result<(), StoreError>;

    /// The group's latest snapshot and the log entries after it, or `None` if no such group.
    async fn load_room(&self, group_id: GroupId) -> Result<Option<LoadedRoom>, StoreError>;

    /// Appends log entries and optionally replaces the snapshot, atomically and durably.
    async fn append(&self, batch: AppendBatch<'_>) -> Result<(), StoreError>;

    /// Up to `limit` log entries of a meeting with seq greater than `after_seq`, in order.
    /// Entries that were trimmed are missing; the caller detects the gap by their seqs.
    async fn read_log(
        &self,
        meeting_id: MeetingId,
        after_seq: Seq,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError>;

    /// Removes log entries of a meeting with seq up to and including `through_seq`.
    /// Snapshots are never trimmed.
    async fn trim_log(&self, meeting_id: MeetingId, through_seq: Seq) -> Result<(), StoreError>;

    /// Takes the ownership lease of a group's live room for `owner` (a random id of one server
    /// process), for `duration_ms` from now. Answers `true` if `owner` holds the lease now: it
    /// was free, expired, or held by `owner` already (then its expiry moves to `duration_ms`
    /// from now). Answers `false`, and changes nothing, while another owner holds an unexpired
    /// lease. The group need not exist. A take raises the group's lease epoch (see
    /// [`Store::take_lease_reporting`]); a live room renews with [`Store::renew_lease`].
    async fn take_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
    ) -> Result<bool, StoreError> {
        Ok(self
            .take_lease_reporting(group_id, owner, duration_ms)
            .await?
            .held)
    }

    /// Like [`Store::take_lease`], and answers the group's new lease epoch (one more than
    /// before: this is a new holder, or a new room of the same holder, whose writes must fence
    /// out any earlier room's) and whether the take was a takeover of a lease another owner let
    /// expire, and how long after its expiry (stores that cannot tell report none).
    async fn take_lease_reporting(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
    ) -> Result<LeaseTake, StoreError>;

    /// Renews the lease `owner` took at `epoch`, for `duration_ms` from now: granted, keeping
    /// the epoch, when the group's epoch is still `epoch` and the lease is held by `owner` or by
    /// nobody (it expired and nobody took it since, or the epoch would have moved). Otherwise
    /// answers `held: false` with the current epoch and changes nothing.
    async fn renew_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
        epoch: u64,
    ) -> Result<LeaseTake, StoreError>;

    /// Gives up the lease `owner` took at `epoch`: when the group is still at that epoch and the
    /// lease is held by `owner` or by nobody (it expired and nobody took it since), frees it and
    /// raises the epoch, so that a renewal or a fenced write at the released epoch is refused
    /// from then on (a renewal sent before the release and carried out after it cannot take the
    /// lease back, and a room that gave its lease up can write nothing more). Does nothing
    /// otherwise: a late release never frees the lease of a later take, another owner's or a
    /// newer room's of the same owner.
    async fn release_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        epoch: u64,
    ) -> Result<(), StoreError>;

    /// Ends `holder`'s lease of a group's room, if `holder` still holds it, for another
    /// process that knows `holder`'s process is gone (its node refused a connection): the
    /// room can be taken over at once instead of after the lease runs out. Unlike a release,
    /// the lease's record keeps naming `holder`, with its lease run out now, so the next take
    /// is a takeover. Answers whether a lease was ended. Safe when `holder` lives on after
    /// all: the next take raises the epoch, which fences its writes out, and its renewals
    /// fail from then on. Stores that serve one process answer `false` unless they keep
    /// leases (the embedded store does, and ends them too).
    async fn break_lease(&self, _group_id: GroupId, _holder: &str) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// Renews `owner`'s leases of several groups' rooms at once, each `(group, epoch)` as
    /// [`Store::renew_lease`] would, and answers for each, in order, whether `owner` holds it
    /// now. A process renews all its live rooms' leases with this, so the renewals cost one
    /// round trip per batch instead of one per room. A store error answers for none of them
    /// (some may have been renewed). The default renews them one by one.
    async fn renew_leases(
        &self,
        leases: &[(GroupId, u64)],
        owner: &str,
        duration_ms: u64,
    ) -> Result<Vec<bool>, StoreError> {
        let mut held = Vec::with_capacity(leases.len());
        for &(group_id, epoch) in leases {
            held.push(
                self.renew_lease(group_id, owner, duration_ms, epoch)
                    .await?
                    .held,
            );
        }
        Ok(held)
    }

    /// Records, fenced by the room's lease, that a room of the group loaded the log of
    /// `meeting_id` up to `head` and serves it under `log_epoch` from now on, and answers the
    /// earlier epochs the same log was served under, newest first, each with the meeting and
    /// seq of its last write (at most [`EARLIER_LOG_EPOCHS_MAX`]). A client whose resume point
    /// names one of them, in that meeting and at or below that seq, saw the events the store
    /// holds under those seqs, and can be replayed instead of sent a snapshot (ARCHITECTURE.md,
    /// "Log epochs").
    ///
    /// Each epoch's last write is noted by its own appends ([`AppendBatch::log_epoch`]), in
    /// the same atomic step as the write, and only while it is the group's current epoch. So
    /// the record says no more than the store holds: a store that loses writes (a failover, a
    /// backup restored) loses their notes with them; a room whose record was lost or never
    /// written (this call failed) is unknown to the next, which never credits its writes to the
    /// epoch before it; and the lease's fence means no earlier room writes once this one took
    /// the lease. After a failed call the record may or may not name `log_epoch`; the room then
    /// serves without earlier epochs, which is safe either way. Stores that serve one process
    /// keep no record and answer none (their rooms' clients resume after a restart with a
    /// snapshot).
    async fn begin_log_epoch(
        &self,
        _group_id: GroupId,
        _fence: Fence<'_>,
        _log_epoch: LogEpoch,
        _meeting_id: MeetingId,
        _head: Seq,
    ) -> Result<Vec<EarlierEpoch>, StoreError> {
        Ok(Vec::new())
    }

    /// Records that a meeting ended at `ended_at_ms`, which makes its log due for trimming
    /// once the retention has passed. Recording it again keeps the first time.
    async fn end_meeting(
        &self,
        meeting_id: MeetingId,
        ended_at_ms: UnixMs,
    ) -> Result<(), StoreError>;

    /// Removes the whole event log of up to `meetings_max` meetings that ended at or before
    /// `ended_through_ms`, oldest first, and forgets that they are due. Returns how many it
    /// trimmed; fewer than `meetings_max` means none is due any more. Snapshots, group data and
    /// the logs' heads (so seqs never repeat) are kept.
    async fn trim_ended_logs(
        &self,
        ended_through_ms: UnixMs,
        meetings_max: usize,
    ) -> Result<usize, StoreError>;

    /// Removes the group and every byte stored of it: its snapshot, each of its meetings' log,
    /// log head and end record, what indexes its meetings, its activity record and its lease. Answers whether the
    /// group existed; deleting a group that does not exist changes nothing. Afterwards the group
    /// loads as `None`, its meetings' logs read empty and appends to it are
    /// [`StoreError::NotFound`]; its id may be created again. The caller stops the group's live
    /// room first: a lease taken after the deletion is a new one.
    async fn delete_group(&self, group_id: GroupId) -> Result<bool, StoreError>;

    /// Records that the group was active at `at_ms`, and with `joined` that someone joined it.
    /// The group's last activity only moves forward, and once joined it stays joined. Retention
    /// finds abandoned groups by these records ([`Store::abandoned_groups`]); the server records
    /// a group's creation (not joined) and joins to it.
    async fn record_group_activity(
        &self,
        group_id: GroupId,
        at_ms: UnixMs,
        joined: bool,
    ) -> Result<(), StoreError>;

    /// Up to `max` groups due for deletion: never joined and last active at or before
    /// `unjoined_through_ms`, then (with `joined_through_ms`) joined and last active at or
    /// before it; oldest first within each kind. Groups with no activity recorded are never
    /// due.
    async fn abandoned_groups(
        &self,
        unjoined_through_ms: UnixMs,
        joined_through_ms: Option<UnixMs>,
        max: usize,
    ) -> Result<Vec<GroupId>, StoreError>;

    /// Writes the health check's canary: a small record of its own, never a group's, saying
    /// that `writer` (one server process's random id) could write at `at_ms`. It goes through
    /// the same write path as the rooms' writes (the embedded store's writer, Redis), so a
    /// failure or a hang here means the rooms cannot write either. `/healthz` reports the last
    /// success (see `health`).
    async fn write_canary(&self, writer: &str, at_ms: UnixMs) -> Result<(), StoreError>;

    /// The owner id holding the group's lease now, if any (see [`Store::take_lease`]). Stores
    /// that serve one process only answer `None`: nobody else can hold a lease there.
    async fn lease_holder(&self, _group_id: GroupId) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    /// Writes this node's entry in the node registry with a heartbeat at the store's now; the
    /// entry goes by itself `ttl_ms` after the last heartbeat. Stores that serve one process
    /// keep no registry.
    async fn publish_node(&self, _node: &NodeEntry, _ttl_ms: u64) -> Result<(), StoreError> {
        Ok(())
    }

    /// Up to `max` nodes whose last heartbeat is at most `live_ms` old, freshest first.
    async fn live_nodes(&self, _live_ms: u64, _max: usize) -> Result<Vec<NodeEntry>, StoreError> {
        Ok(Vec::new())
    }

    /// Removes a node's entry from the node registry (a clean shutdown).
    async fn remove_node(&self, _id: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// Which store this is, for `/healthz`: `embedded`, `redis`, or `other`.
    fn kind(&self) -> &'static str {
        "other"
    }

    /// Whether other server processes may use this store at the same time (and so run this
    /// process's meetings when it drains). The embedded store is one process's alone.
    fn shared(&self) -> bool {
        false
    }

    /// Makes every write answered so far durable against a power loss too, before returning.
    /// The server calls it once when it stops. Stores that do this on every write do nothing.
    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Makes the data deleted so far (deleted groups, trimmed log entries, replaced snapshots)
    /// leave the store's files, not only its tables, or arranges for it to. The embedded store
    /// rewrites its file at its next open (redb keeps freed bytes; see `embedded::vacuum`);
    /// Redis frees deleted keys at once (its own persistence files, AOF or RDB, keep them
    /// until Redis rewrites them).
    async fn forget_deleted(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Checks the batch's shape (not the stored state): consecutive seqs, matching snapshot.
/// Implementations call this first so that a malformed batch is refused the same way by all.
pub fn check_batch_shape(batch: &AppendBatch<'_>) -> Result<(), StoreError> {
    for pair in batch.entries.windows(2) {
        if pair[1].seq != pair[0].seq + 1 {
            return Err(StoreError::Conflict(format!(
                "batch seqs are not consecutive: {} then {}",
                pair[0].seq, pair[1].seq
            )));
        }
    }
    if let Some(snapshot) = batch.snapshot {
        if snapshot.meeting_id != batch.meeting_id {
            return Err(StoreError::Conflict(
                "snapshot belongs to another meeting than the batch".into(),
            ));
        }
        if let Some(last) = batch.entries.last()
            && snapshot.seq < last.seq
        {
            return Err(StoreError::Conflict(format!(
                "snapshot seq {} is older than the batch's last entry {}",
                snapshot.seq, last.seq
            )));
        }
    }
    Ok(())
}
