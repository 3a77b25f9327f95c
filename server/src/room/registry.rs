//! Finds the live room of a group, loading it from the store on first use. Each group has at
//! most one live room in the process, and one load: the first join for a group that is not
//! live puts a slot in the map and starts the load as a task of its own; every join that
//! comes meanwhile waits for that task and shares its outcome. A load that fails fails every
//! join that waited for it, and its slot leaves the map, so the next join starts a new one.
//! Because the load is its own task, a join dropped while it waits (an HTTP request whose
//! client left) takes nothing with it: the load finishes, and the room is found by the next
//! join, or its failure clears the slot. (Were the load run by a waiter, a dropped waiter
//! would leave a slot with no load and perhaps a lease taken and not renewed; and were a
//! second waiter to load a failed slot again after it left the map, it would run a room
//! nobody finds, which the next join's load would fence out by taking the lease again at a
//! later epoch: two loads of one meeting in one process.)
//!
//! Before loading a room the registry takes the group's ownership lease in the store
//! ([`Lease::take`]), so that at most one process runs a meeting: when another process holds
//! it, the join waits for it to expire (a dead owner's) for at most the lease's duration plus
//! a margin, and is refused with `room_elsewhere` if it is still held; nothing is loaded.
//! While the process drains, no room loads: joins for rooms not live here get `room_elsewhere`;
//! so do joins for a room that moved away from here a moment ago (see `super::fleet`, "move"),
//! once it has let its lease go.
//! The process renews the lease from the take on (`super::fleet`); the room, which is handed
//! the [`Lease`], releases it when it stops.
//!
//! Nothing a client without a valid credential does loads a room or holds a slot of
//! `live_rooms_max`: a join to a room that is not live is first checked against the group as
//! stored ([`Registry::join`]), and exports read the stored group when its room is not live
//! ([`Registry::read`]). The joins that come for one group while its stored copy is being
//! read for such a check share that read, as they share a load: when a room moves, all of
//! its members arrive at once, and each reading the whole group for itself multiplied the
//! store's and the node's work at the worst moment. (A node that another node hands a room
//! over to loads it without a join: see [`Registry::load_now`].)

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use roundtable_protocol::{Credential, ErrorCode, GroupId, MemberId, RequestId, ResumePoint};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;
use tracing::warn;

use super::ConnectionId;
use super::actor::{self, Admitted, JoinCommand, RoomCommand, RoomContext};
use super::lease::Lease;
use crate::transport::outbox::Outbox;
use roundtable_rules::secret::hash_secret;
use roundtable_rules::state::{FreshMember, RoomError, RoomState, decide_join};

/// Commands waiting for one room; a sender waits when it is full.
const ROOM_QUEUE_MAX: usize = 1024;

/// Attempts to reach a room that stops (idle unload) while a join is on its way.
const JOIN_ATTEMPTS_MAX: usize = 3;

/// The longest a join for a room moving away from here waits for it to let its lease go (its
/// final snapshot is one store write; see [`Registry::wait_released`]).
const MOVE_RELEASE_WAIT: Duration = Duration::from_secs(1);

/// The way to a live room's actor.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    commands: mpsc::Sender<RoomCommand>,
    group_id: GroupId,
}

impl RoomHandle {
    /// The group whose room this is.
    pub fn group_id(&self) -> GroupId {
        self.group_id
    }

    /// Queues a command, waiting while the room's queue is full. Fails if the room stopped.
    pub async fn send(&self, command: RoomCommand) -> Result<(), RoomError> {
        self.commands.send(command).await.map_err(|_| {
            RoomError::new(
                ErrorCode::ShuttingDown,
                "the room has closed; reconnect to rejoin",
            )
        })
    }
}

/// A group's place in the map: the outcome of its one load, once the load's task has it.
/// `Arc::ptr_eq` tells one slot from a later one of the same group.
#[derive(Debug)]
struct Loading {
    outcome: watch::Receiver<Option<Result<RoomHandle, RoomError>>>,
}

type Slot = Arc<Loading>;

/// The outcome of one read of a group as stored, for the joins that wait for it.
type StoredRead = watch::Receiver<Option<Result<Arc<RoomState>, RoomError>>>;

/// All live rooms of the process. A clone is another handle to the same rooms (a load's task
/// holds one).
#[derive(Debug, Clone)]
pub struct Registry {
    rooms: Arc<DashMap<GroupId, Slot>>,
    /// The reads of groups as stored under way for the joins' credential checks, one per
    /// group (an entry leaves once its read is done; bounded by the joins in flight).
    reads: Arc<DashMap<GroupId, StoredRead>>,
    context: RoomContext,
    /// Every room holds a token of it until it has stopped; shutdown closes it (no room loads
    /// from then on) and waits for the rest.
    running: TaskTracker,
}

/// What a connection brings to a join.
#[derive(Debug)]
pub struct JoinArgs {
    pub connection_id: ConnectionId,
    pub request_id: RequestId,
    pub credential: Credential,
    pub resume: Option<ResumePoint>,
    pub outbox: Outbox,
}

impl Registry {
    pub fn new(context: RoomContext) -> Self {
        Registry {
            rooms: Arc::new(DashMap::new()),
            reads: Arc::new(DashMap::new()),
            context,
            running: TaskTracker::new(),
        }
    }

    /// Rooms live in memory now.
    pub fn live_rooms(&self) -> usize {
        self.rooms.len()
    }

    /// Whether the group's room is live (or loading) in this process.
    pub fn is_live(&self, group_id: GroupId) -> bool {
        self.rooms.contains_key(&group_id)
    }

    /// The groups whose rooms are live (or loading) in this process.
    pub fn live_groups(&self) -> Vec<GroupId> {
        self.rooms.iter().map(|slot| *slot.key()).collect()
    }

    /// Asks `group_id`'s live room to move to the node placement names for it (see
    /// [`crate::fleet::rebalance`]): it hands itself over as in a drain. `false` when the room
    /// is not running here (or still loading), or its queue is full (it is busy: another time).
    pub fn move_away(&self, group_id: GroupId) -> bool {
        let Some(slot) = self.rooms.get(&group_id).map(|slot| Arc::clone(&slot)) else {
            return false;
        };
        let room = slot.outcome.borrow();
        match &*room {
            Some(Ok(handle)) => handle.commands.try_send(RoomCommand::MoveAway).is_ok(),
            _ => false,
        }
    }

    /// Joins a connection to a group's room. On success the room has sent the ack and the
    /// catch-up frames to the connection's outbox, and says whom it admitted.
    pub async fn join(
        &self,
        group_id: GroupId,
        args: JoinArgs,
    ) -> Result<(RoomHandle, Admitted), RoomError> {
        if !self.rooms.contains_key(&group_id) {
            // The credential first, against the group as stored: a refused join loads nothing.
            // The room decides the join again once loaded.
            let state = self.stored_shared(group_id).await?;
            let fresh = FreshMember {
                member_id: MemberId::random(),
                token: String::new(),
                token_hash: hash_secret(""),
            };
            decide_join(
                &state,
                &args.credential,
                fresh,
                &self.context.limits.rules(),
            )?;
        }
        for _ in 0..JOIN_ATTEMPTS_MAX {
            let (slot, handle) = self.room(group_id).await?;
            let (reply, answer) = oneshot::channel();
            let command = RoomCommand::Join(Box::new(JoinCommand {
                connection_id: args.connection_id,
                request_id: args.request_id,
                credential: args.credential.clone(),
                resume: args.resume,
                outbox: args.outbox.clone(),
                reply,
            }));
            if handle.send(command).await.is_ok()
                && let Ok(result) = answer.await
            {
                return result.map(|admitted| (handle, admitted));
            }
            // The room stopped between lookup and send: forget it and load it again.
            self.rooms
                .remove_if(&group_id, |_, current| Arc::ptr_eq(current, &slot));
        }
        Err(RoomError::new(
            ErrorCode::ShuttingDown,
            "the room is closing; try again in a moment",
        ))
    }

    /// Loads a group's room here now, if it is not live already, without joining it: for a
    /// room another node has just handed over (see [`crate::fleet::link`], "Handover"). A
    /// room nobody joins unloads again after `--room-idle-seconds`.
    pub async fn load_now(&self, group_id: GroupId) -> Result<(), RoomError> {
        if self.is_draining() {
            return Err(draining_here());
        }
        self.room(group_id).await.map(|_| ())
    }

    /// A group's state for a reader who does not join (an export): the live room's when it is
    /// live, else the group as stored, without loading its room.
    pub async fn read(&self, group_id: GroupId) -> Result<Box<RoomState>, RoomError> {
        if self.rooms.contains_key(&group_id) {
            return self.inspect(group_id).await;
        }
        self.stored(group_id).await.map(Box::new)
    }

    /// The group as the store holds it, for a join's credential check: read once for all the
    /// joins that want it at the same time, by a task of its own (so a join dropped while it
    /// waits leaves the read to the others).
    async fn stored_shared(&self, group_id: GroupId) -> Result<Arc<RoomState>, RoomError> {
        let mut outcome = match self.reads.entry(group_id) {
            dashmap::Entry::Occupied(read) => read.get().clone(),
            dashmap::Entry::Vacant(place) => {
                let (tell, outcome) = watch::channel(None);
                place.insert(outcome.clone());
                let registry = self.clone();
                tokio::spawn(async move {
                    // Out of the map before the waiters hear (a join that comes later reads
                    // anew), and should the read panic.
                    let unlisted = Unread {
                        reads: &registry.reads,
                        group_id,
                    };
                    let read = registry.stored(group_id).await.map(Arc::new);
                    drop(unlisted);
                    tell.send_replace(Some(read));
                });
                outcome
            }
        };
        match outcome.wait_for(Option::is_some).await {
            Ok(done) => done.clone().unwrap_or_else(|| Err(load_lost())),
            Err(_) => Err(load_lost()),
        }
    }

    /// The group as the store holds it, read without a lease or a slot.
    async fn stored(&self, group_id: GroupId) -> Result<RoomState, RoomError> {
        match self.context.store.load_room(group_id).await {
            Ok(Some(loaded)) => actor::fold_stored(&loaded, |_, _| {}).map_err(|error| {
                warn!(group = %group_id, %error, "stored room is damaged");
                RoomError::new(
                    ErrorCode::Internal,
                    "the group's stored data could not be read",
                )
            }),
            Ok(None) => Err(RoomError::new(
                ErrorCode::NotFound,
                format!("no group {group_id}; check the link"),
            )),
            Err(error) => {
                warn!(group = %group_id, %error, "could not read a group");
                Err(RoomError::new(
                    ErrorCode::StorageUnavailable,
                    "the group could not be loaded; try again shortly",
                ))
            }
        }
    }

    /// A copy of a group's room state (loading the room if needed).
    pub async fn inspect(&self, group_id: GroupId) -> Result<Box<RoomState>, RoomError> {
        for _ in 0..JOIN_ATTEMPTS_MAX {
            let (slot, handle) = self.room(group_id).await?;
            let (reply, answer) = oneshot::channel();
            if handle.send(RoomCommand::Inspect { reply }).await.is_ok()
                && let Ok(state) = answer.await
            {
                return Ok(state);
            }
            self.rooms
                .remove_if(&group_id, |_, current| Arc::ptr_eq(current, &slot));
        }
        Err(RoomError::new(
            ErrorCode::ShuttingDown,
            "the room is closing; try again in a moment",
        ))
    }

    async fn room(&self, group_id: GroupId) -> Result<(Slot, RoomHandle), RoomError> {
        let slot = match self.rooms.get(&group_id) {
            Some(slot) => Arc::clone(&slot),
            None => {
                if self.rooms.len() >= self.context.limits.live_rooms_max {
                    return Err(RoomError::new(
                        ErrorCode::ServerBusy,
                        "the server holds as many live rooms as it may; try again later",
                    ));
                }
                Arc::clone(
                    self.rooms
                        .entry(group_id)
                        .or_insert_with(|| self.start_load(group_id))
                        .value(),
                )
            }
        };
        let mut outcome = slot.outcome.clone();
        let loaded = match outcome.wait_for(Option::is_some).await {
            Ok(done) => done.clone().unwrap_or_else(|| Err(load_lost())),
            // The load's task ended without an outcome: it panicked, or the runtime stops.
            Err(_) => Err(load_lost()),
        };
        match loaded {
            Ok(handle) => Ok((slot, handle)),
            Err(error) => {
                self.rooms
                    .remove_if(&group_id, |_, current| Arc::ptr_eq(current, &slot));
                Err(error)
            }
        }
    }

    /// A new slot for `group_id`, and the task that loads its room and tells the slot how it
    /// went. Called while the map's entry for the group is held, so there is one per slot.
    fn start_load(&self, group_id: GroupId) -> Slot {
        let (tell, outcome) = watch::channel(None);
        let slot = Arc::new(Loading { outcome });
        let registry = self.clone();
        let own_slot = Arc::clone(&slot);
        tokio::spawn(async move {
            // Takes the slot out of the map unless disarmed: on a failure, and should the load
            // panic, so that the next join loads anew.
            let mut unlisted = Unlist {
                rooms: &registry.rooms,
                group_id,
                slot: &own_slot,
                armed: true,
            };
            let loaded = registry.load(group_id, unlisted.slot).await;
            // Out of the map before anyone hears of a failure.
            unlisted.armed = loaded.is_err();
            drop(unlisted);
            tell.send_replace(Some(loaded));
        });
        slot
    }

    async fn load(&self, group_id: GroupId, slot: &Slot) -> Result<RoomHandle, RoomError> {
        // The token first: once it is taken, shutdown waits for it, however the check goes.
        let alive = self.running.token();
        if self.running.is_closed() {
            return Err(RoomError::new(
                ErrorCode::ShuttingDown,
                "the server is shutting down",
            ));
        }
        if self.context.fleet.is_draining() {
            return Err(draining_here());
        }
        if self.context.fleet.moved_away(group_id) {
            self.wait_released(group_id).await;
            return Err(RoomError::new(
                ErrorCode::RoomElsewhere,
                "this meeting moved to another server; reconnect to resume",
            ));
        }
        let mut lease = self.context.lease(group_id);
        self.take_or_wait(&mut lease).await?;
        // Renewed from now on, while the room loads; the room, once it runs, renews it under
        // an entry of its own.
        let renewed = self.context.fleet.renewals.start(group_id, lease.epoch());
        // A clone goes to the room; this one holds shutdown back until a failed load's lease
        // is released.
        let loaded = self.load_owned(&lease, slot, alive.clone()).await;
        if loaded.is_err() {
            renewed.stop();
            lease.release().await;
        }
        drop(alive);
        loaded
    }

    /// Takes the group's lease for this process. While another process holds it, tries again
    /// every `lease_wait_poll_ms`, for at most the longest the lease can still run plus
    /// `lease_wait_margin_ms` (see [`crate::config::Limits::lease_wait`]): a process that died
    /// holding it (kill -9) lets it expire within `room_lease_ms`, and the join then takes the
    /// meeting over at once instead of sending the client away. Answers `room_elsewhere` when
    /// the lease is still held after that (a live owner), or when this process starts to drain
    /// meanwhile. In a fleet, a holder that is another node this node reaches is not waited for
    /// (the client is forwarded there), nor is one whose process is gone: its lease is ended
    /// ([`crate::store::Store::break_lease`]) and taken at once, a few times at most.
    async fn take_or_wait(&self, lease: &mut Lease) -> Result<(), RoomError> {
        /// Leases ended for one join at most. A holder found gone whose lease is back at the
        /// next take (it renewed: it lives after all) is forgotten as gone and waited for like
        /// any other.
        const ENDED_MAX: u32 = 2;
        let limits = &self.context.limits;
        let deadline = tokio::time::Instant::now() + limits.lease_wait();
        let mut ended = 0;
        // The holder whose lease this join ended last, if any.
        let mut ended_holder: Option<String> = None;
        loop {
            let taken = lease.take_reporting().await;
            crate::metrics::lease_take(match taken {
                Ok(take) if take.held => "taken",
                Ok(_) => "held_elsewhere",
                Err(_) => "store_error",
            });
            if let Ok(crate::store::LeaseTake {
                took_over_after_ms: Some(after_ms),
                ..
            }) = taken
            {
                crate::metrics::takeover(after_ms);
            }
            match taken.map(|take| take.held) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(_) => {
                    return Err(RoomError::new(
                        ErrorCode::StorageUnavailable,
                        "the group could not be loaded; try again shortly",
                    ));
                }
            }
            // In a fleet, a holder that is another live node this node reaches runs the
            // room: the join is not kept waiting (nor the joins queued behind it on the same
            // slot, each of which would wait again); the caller forwards the client there.
            // Nor is a holder whose process is gone (killed: nothing listens at its address):
            // its lease is ended, and the next take takes the room over at a new epoch, which
            // fences the holder out should it live on after all. Only a holder out of reach,
            // or dead without anything telling so yet, is waited for.
            if let Some(nodes) = self.context.fleet.nodes.get()
                && let Ok(Some(holder)) = self.context.store.lease_holder(lease.group_id()).await
            {
                if ended_holder.as_deref() == Some(holder.as_str()) {
                    // It took its lease back (renewed) after this join ended it: it lives.
                    nodes.holder_alive(&holder);
                    ended = ENDED_MAX;
                }
                // Asked even of a holder this node thinks it reaches: one killed a moment ago
                // still looks live here until its broken link is read or its heartbeat goes
                // stale, and a join an edge routed here because it found that holder gone
                // would be sent away. For a holder that lives, the link the probe keeps to it
                // answers at once.
                let gone = ended < ENDED_MAX && nodes.holder_gone(&holder).await;
                if !gone && nodes.reaches(&holder) {
                    return Err(RoomError::new(
                        ErrorCode::RoomElsewhere,
                        "this meeting is live on another server; try again in a moment",
                    ));
                }
                if gone
                    && let Ok(true) = self
                        .context
                        .store
                        .break_lease(lease.group_id(), &holder)
                        .await
                {
                    crate::metrics::lease_take("ended_gone_holder");
                    ended += 1;
                    ended_holder = Some(holder);
                    continue;
                }
            }
            let next = tokio::time::Instant::now() + limits.lease_wait_poll();
            if next > deadline {
                return Err(RoomError::new(
                    ErrorCode::RoomElsewhere,
                    "this meeting is live on another server; try again in a moment",
                ));
            }
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = self.context.fleet.drained() => return Err(draining_here()),
                () = self.context.shutdown.cancelled() => {
                    return Err(RoomError::new(
                        ErrorCode::ShuttingDown,
                        "the server is shutting down",
                    ));
                }
            }
        }
    }

    /// A room moving away from here still holds its lease while it writes its final
    /// snapshot: waits (at most [`MOVE_RELEASE_WAIT`]) until it has let the lease go, so that
    /// the join refused here is routed to where the room goes, not back here.
    async fn wait_released(&self, group_id: GroupId) {
        let until = tokio::time::Instant::now() + MOVE_RELEASE_WAIT;
        while tokio::time::Instant::now() < until {
            match self.context.store.lease_holder(group_id).await {
                Ok(Some(holder)) if *holder == *self.context.lease_owner => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                _ => return,
            }
        }
    }

    /// Loads and starts a room whose lease this process holds.
    async fn load_owned(
        &self,
        lease: &Lease,
        slot: &Slot,
        alive: TaskTrackerToken,
    ) -> Result<RoomHandle, RoomError> {
        let group_id = lease.group_id();
        let loaded = match self.context.store.load_room(group_id).await {
            Ok(Some(loaded)) => loaded,
            Ok(None) => {
                return Err(RoomError::new(
                    ErrorCode::NotFound,
                    format!("no group {group_id}; check the link"),
                ));
            }
            Err(error) => {
                warn!(group = %group_id, %error, "could not load room");
                return Err(RoomError::new(
                    ErrorCode::StorageUnavailable,
                    "the group could not be loaded; try again shortly",
                ));
            }
        };
        // Nothing writes to the log after this process's take (it fences every earlier room
        // out), so what it loaded is where the room before it stopped.
        let head = loaded
            .tail
            .last()
            .map_or(loaded.snapshot.seq, |entry| entry.seq);
        let lineage = actor::LogLineage::begin(
            &*self.context.store,
            lease,
            loaded.snapshot.meeting_id,
            head,
        )
        .await;
        let (commands, receiver) = mpsc::channel(ROOM_QUEUE_MAX);
        let rooms = Arc::clone(&self.rooms);
        let own_slot = Arc::clone(slot);
        actor::spawn(
            self.context.clone(),
            lease.clone(),
            loaded,
            lineage,
            receiver,
            move || {
                rooms.remove_if(&group_id, |_, current| Arc::ptr_eq(current, &own_slot));
                drop(alive);
            },
        )
        .map_err(|error| {
            warn!(group = %group_id, %error, "stored room is damaged");
            RoomError::new(
                ErrorCode::Internal,
                "the group's stored data could not be read",
            )
        })?;
        Ok(RoomHandle { commands, group_id })
    }

    /// Starts the drain: every live room hands itself over to other processes, and no room
    /// loads here any more (see [`super::fleet`]).
    pub fn drain(&self) {
        self.context.fleet.drain();
    }

    /// The lease renewals and the drain of this process's rooms.
    pub fn fleet(&self) -> &super::fleet::Fleet {
        &self.context.fleet
    }

    /// Whether this process drains.
    pub fn is_draining(&self) -> bool {
        self.context.fleet.is_draining()
    }

    /// After the drain started: waits until no room is live here, at most `timeout`, then
    /// starts to let the process's `clients` connections go
    /// ([`super::fleet::Fleet::finish_handover`]). Answers whether no room is live here, and
    /// when the last client is let go.
    pub async fn wait_drained(
        &self,
        timeout: Duration,
        clients: impl Fn() -> usize,
    ) -> (bool, tokio::time::Instant) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.rooms.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let released = self.context.fleet.finish_handover(clients());
        (self.rooms.is_empty(), released)
    }

    /// After the shutdown signal: waits until every room has stopped and written its final
    /// snapshot, at most `timeout`.
    pub async fn wait_stopped(&self, timeout: Duration) -> bool {
        self.running.close();
        tokio::time::timeout(timeout, self.running.wait())
            .await
            .is_ok()
    }
}

/// Takes a slot out of the map when dropped armed (see [`Registry::start_load`]).
struct Unlist<'a> {
    rooms: &'a DashMap<GroupId, Slot>,
    group_id: GroupId,
    slot: &'a Slot,
    armed: bool,
}

impl Drop for Unlist<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.rooms
                .remove_if(&self.group_id, |_, current| Arc::ptr_eq(current, self.slot));
        }
    }
}

/// Takes a group's read out of the map of reads when dropped (see [`Registry::stored_shared`]).
/// Only the read's own task removes its entry, and a new one is put in only once it is gone,
/// so this never removes a later read's.
struct Unread<'a> {
    reads: &'a DashMap<GroupId, StoredRead>,
    group_id: GroupId,
}

impl Drop for Unread<'_> {
    fn drop(&mut self) {
        self.reads.remove(&self.group_id);
    }
}

/// The answer to the joins that waited for a load whose task ended without telling how it went.
fn load_lost() -> RoomError {
    RoomError::new(
        ErrorCode::Internal,
        "the room could not be loaded; try again",
    )
}

/// The answer to a join for a room that is not live here while this process drains: the client
/// goes to another process.
fn draining_here() -> RoomError {
    RoomError::new(
        ErrorCode::RoomElsewhere,
        "this server is handing its meetings to others; reconnect to another one",
    )
}

#[cfg(test)]
mod tests;
