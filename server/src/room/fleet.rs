//! What the live rooms of one process share about running among several processes (see
//! ARCHITECTURE.md, "Several server nodes"):
//!
//! - [`LeaseRenewals`]: every live room's ownership lease, renewed together by one task of the
//!   process ([`renew_leases_periodically`]) in pipelined batches
//!   ([`crate::store::Store::renew_leases`]), so that a short lease costs one store round trip
//!   per batch and tick instead of one per room, and nothing of it runs on a room's own task.
//!   A renewal that finds a lease held by another process tells that room, which stops.
//! - The drain ([`Fleet::drain`]): the process hands its rooms to the others. Each room then
//!   writes its final snapshot, gives its lease up, asks the node that is to run it next to
//!   load it at once ([`Reach::hand_over`]) and closes its connections with `draining`; at
//!   most `drain_concurrency` rooms do so at a time. In a fleet a client connected here is
//!   not closed then: its connection joins it again where the room went, through a link, as
//!   an edge does for the clients it forwards.
//! - The pace of a drain ([`Fleet::hold_turn`]): a room that handed itself over keeps its
//!   place among the `drain_concurrency` until its members connected here have the answer to
//!   the join made again where it went (at most [`HANDOVER_HOLD_MAX`]). The next room stops
//!   only once the nodes taking the rooms keep up, so each room's members wait for their own
//!   room's load and joins, not behind those of every room stopped before theirs: a drain
//!   that stopped rooms as fast as it could piled them up at the nodes taking them (at 1,000
//!   rooms a join made again waited 0.75 to 1.5 s at p99, a handover at most 0.25 s). The
//!   pace ends once as many holds as places ran out, and [`PACED_FOR`] into the drain.
//! - A move ([`Fleet::moving_away`]): a room the process hands to another node while it runs
//!   on (a rebalance, see [`crate::fleet::rebalance`]) stops as in a drain; for a while after,
//!   a join for it is not loaded here again while placement names another node, but sent
//!   there.
//! - The release ([`Fleet::finish_handover`]): once the rooms are handed over, the process
//!   lets its clients go, each at its own moment of a window of `clients /
//!   drain_release_per_second` (at most [`RELEASE_WINDOW_MAX`]): closed with `draining`
//!   (1012), they reconnect to another node and resume, a few at a time instead of all at
//!   once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use roundtable_protocol::{GroupId, ResumePoint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::config::Limits;
use crate::store::Store;
use crate::transport::outbox::Keep;

/// The longest a drained process takes to let its clients go (see the module's "release").
pub const RELEASE_WINDOW_MAX: Duration = Duration::from_secs(10);

/// The longest a room that handed itself over in a drain keeps its place among the
/// handovers for its members' joins made again (see the module's "pace").
pub const HANDOVER_HOLD_MAX: Duration = Duration::from_millis(500);

/// How long into a drain its rooms hold their places (see the module's "pace"): half the 10 s
/// a drained process waits for its rooms to be handed over, so that a drain its pace slows
/// still hands every room over in that time.
pub const PACED_FOR: Duration = Duration::from_secs(5);

/// How long after a room moved away a join for it is sent where placement names rather than
/// loaded here again (see the module's "move"): long enough for the node it went to to take
/// it, short enough that a room whose new node failed comes back soon.
pub const MOVED_AWAY_FOR: Duration = Duration::from_secs(5);

/// What the live rooms of one process share: the lease renewals and the drain.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub renewals: Arc<LeaseRenewals>,
    /// Cancelled when the process starts to drain.
    draining: CancellationToken,
    /// Cancelled when a drain has handed every room over (or gave up waiting): the
    /// connections this process forwards to rooms on other nodes are let go from then on,
    /// over the release window.
    handed_over: CancellationToken,
    /// Rooms handing over at the same time during a drain.
    handovers: Arc<Semaphore>,
    /// The rooms' holds on their places among the handovers that ran out of time; once as
    /// many as there are places have, the rest of the drain holds none (see
    /// [`Fleet::hold_turn`]).
    holds_run_out: Arc<AtomicUsize>,
    /// The places among the handovers (`drain_concurrency`).
    places: usize,
    /// When the drain began.
    drain_started: Arc<std::sync::OnceLock<tokio::time::Instant>>,
    /// Once the handover ended: when the release of the clients began, and over how long.
    release: Arc<std::sync::OnceLock<(tokio::time::Instant, Duration)>>,
    release_per_second: u32,
    /// The rooms moved away from here in the last [`MOVED_AWAY_FOR`], and when (bounded by
    /// the moves of that long: older marks go at each new one).
    moved_away: Arc<Mutex<HashMap<GroupId, std::time::Instant>>>,
    /// The node's part in a fleet of nodes, when it runs in one (set once at start; shared
    /// by every clone).
    pub nodes: Arc<std::sync::OnceLock<Arc<dyn Reach>>>,
}

/// What a room that handed itself over gives the clients here that follow it (see
/// [`Fleet::hold_turn`]): when it stopped taking requests, where they stand in its history,
/// and, while a drain paces itself, its place among the drain's handovers, freed when the last
/// of them drops this, or when its time runs out.
#[derive(Debug)]
pub struct TurnHold {
    permit: Mutex<Option<OwnedSemaphorePermit>>,
    since: std::time::Instant,
    stopped_at: std::time::Instant,
    resume: Option<ResumePoint>,
}

impl TurnHold {
    /// When the room stopped taking requests: where the gap of its members joined again
    /// begins.
    pub fn stopped_at(&self) -> std::time::Instant {
        self.stopped_at
    }

    /// The room's log epoch, meeting and last seq as it stopped: every member it closed has
    /// every frame it sent, so this is where each of them resumes from.
    pub fn resume_point(&self) -> Option<ResumePoint> {
        self.resume
    }

    /// Frees the place, if it still was held.
    fn free(&self) -> Option<OwnedSemaphorePermit> {
        self.permit.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Drop for TurnHold {
    fn drop(&mut self) {
        if self.free().is_some() {
            crate::metrics::forwarding::handover_hold("followed", self.since.elapsed());
        }
    }
}

/// What the rooms ask of the fleet of nodes (`crate::fleet::Fleet`, a layer above them, which
/// implements it).
#[async_trait::async_trait]
pub trait Reach: std::fmt::Debug + Send + Sync {
    /// Whether `node_id` is another live node that this node can reach over a link now.
    fn reaches(&self, node_id: &str) -> bool;

    /// Whether the process of `node_id`, a lease's holder, is known to be gone (nothing
    /// listens at its internal address any more), so that its lease may be ended at once
    /// ([`crate::store::Store::break_lease`]). May try a connect to find out.
    async fn holder_gone(&self, node_id: &str) -> bool;

    /// `node_id`, found gone, holds a lease again after it was ended (it renewed: it lives):
    /// forget that it was found gone.
    fn holder_alive(&self, node_id: &str);

    /// `group_id`'s room has given its lease up (this process drains, or moves it away):
    /// asks the node that is to run it next to load it now, while its members reconnect.
    /// Returns at once.
    fn hand_over(self: Arc<Self>, group_id: GroupId);

    /// Whether placement names another live node for `group_id` now.
    fn placed_elsewhere(&self, group_id: GroupId) -> bool;
}

impl Fleet {
    pub fn new(limits: &Limits) -> Fleet {
        Fleet {
            renewals: Arc::new(LeaseRenewals::default()),
            draining: CancellationToken::new(),
            handed_over: CancellationToken::new(),
            handovers: Arc::new(Semaphore::new(limits.drain_concurrency.max(1))),
            holds_run_out: Arc::default(),
            places: limits.drain_concurrency.max(1),
            drain_started: Arc::default(),
            release: Arc::new(std::sync::OnceLock::new()),
            release_per_second: limits.drain_release_per_second.max(1),
            moved_away: Arc::default(),
            nodes: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// Notes that `group_id`'s room is moving away from here (see the module's "move").
    pub fn moving_away(&self, group_id: GroupId) {
        let now = std::time::Instant::now();
        let mut moved = self.moved_away.lock().unwrap_or_else(|p| p.into_inner());
        moved.retain(|_, at| now.saturating_duration_since(*at) < MOVED_AWAY_FOR);
        moved.insert(group_id, now);
    }

    /// Whether `group_id`'s room moved away from here (or is moving) in the last
    /// [`MOVED_AWAY_FOR`].
    pub fn moved_recently(&self, group_id: GroupId) -> bool {
        self.moved_away
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&group_id)
            .is_some_and(|at| at.elapsed() < MOVED_AWAY_FOR)
    }

    /// Whether a join for `group_id` is to be sent elsewhere rather than load its room here:
    /// the room moved away from here in the last [`MOVED_AWAY_FOR`], and placement still
    /// names another node for it.
    pub fn moved_away(&self, group_id: GroupId) -> bool {
        self.moved_recently(group_id)
            && self
                .nodes
                .get()
                .is_some_and(|nodes| nodes.placed_elsewhere(group_id))
    }

    /// Starts the drain: from now on this process loads no room, and every live room hands
    /// itself over (see the module documentation). Draining twice changes nothing.
    pub fn drain(&self) {
        let _ = self.drain_started.set(tokio::time::Instant::now());
        self.draining.cancel();
    }

    /// Whether the process drains.
    pub fn is_draining(&self) -> bool {
        self.draining.is_cancelled()
    }

    /// Completes when the process drains and one of the `drain_concurrency` handover places is
    /// free; the room holds the permit while it hands over.
    pub async fn handover_turn(&self) -> Option<OwnedSemaphorePermit> {
        self.draining.cancelled().await;
        Arc::clone(&self.handovers).acquire_owned().await.ok()
    }

    /// What a room that handed itself over, having stopped taking requests at `stopped_at`,
    /// gives each client here that follows it to its new node, with its close
    /// ([`crate::transport::outbox::Outbox::close_keeping`]); `None` outside a fleet of nodes,
    /// where the clients are closed to reconnect. It says when the room stopped, where those
    /// clients' gap begins, and where they stand in its history (`resume`), which their join
    /// made again resumes from. In a drain (`permit`), it also keeps the room's place among the
    /// handovers until those clients have the answer to their join there (see the module's
    /// "pace"): the place frees when the last of them drops it, or after
    /// [`HANDOVER_HOLD_MAX`]. The place frees at once [`PACED_FOR`] into the drain, and once as
    /// many holds of this drain as there are places have run out of time: the nodes taking the
    /// rooms do not keep up, or fail, and waiting on them would only slow the drain down (one
    /// slow answer alone does not end the pace).
    pub fn hold_turn(
        &self,
        permit: Option<OwnedSemaphorePermit>,
        stopped_at: std::time::Instant,
        resume: Option<ResumePoint>,
    ) -> Option<Keep> {
        self.nodes.get()?;
        let paced = permit.filter(|_| self.paces());
        let held = paced.is_some();
        let hold = Arc::new(TurnHold {
            permit: Mutex::new(paced),
            since: std::time::Instant::now(),
            stopped_at,
            resume,
        });
        if held {
            let held = Arc::downgrade(&hold);
            let run_out = Arc::clone(&self.holds_run_out);
            let places = self.places;
            tokio::spawn(async move {
                tokio::time::sleep(HANDOVER_HOLD_MAX).await;
                let Some(hold) = held.upgrade() else {
                    return;
                };
                if hold.free().is_some() {
                    crate::metrics::forwarding::handover_hold("ran_out", hold.since.elapsed());
                    if run_out.fetch_add(1, Ordering::Relaxed) + 1 == places {
                        warn!(
                            "{places} rooms handed over were not joined again within \
                             {HANDOVER_HOLD_MAX:?}; the rest of the drain stops its rooms \
                             without waiting"
                        );
                    }
                }
            });
        }
        Some(hold)
    }

    /// Whether the drain still paces itself (see [`Fleet::hold_turn`]).
    fn paces(&self) -> bool {
        self.holds_run_out.load(Ordering::Relaxed) < self.places
            && self
                .drain_started
                .get()
                .is_some_and(|started| started.elapsed() < PACED_FOR)
    }

    /// Completes when the process starts to drain.
    pub async fn drained(&self) {
        self.draining.cancelled().await;
    }

    /// Completes when a drain has handed this process's rooms over and the moment comes to
    /// let the client of connection `connection_id`, forwarded from here since `since`, go
    /// ([`Fleet::release_moment`]); answers that moment.
    pub async fn release_turn(
        &self,
        connection_id: u64,
        since: Option<tokio::time::Instant>,
    ) -> tokio::time::Instant {
        self.handed_over.cancelled().await;
        let moment = self
            .release_moment(connection_id, since)
            .unwrap_or_else(tokio::time::Instant::now);
        tokio::time::sleep_until(moment).await;
        moment
    }

    /// Once the release began, the moment the client of connection `connection_id` is let
    /// go: a moment of the window that depends on the id alone, spread evenly over the window
    /// across connections. A client forwarded from here only `since` the release began (its
    /// room was handed over late, after the wait for the handover ran out) is spread over a
    /// window as long from then, rather than let go at once with the other late ones.
    pub fn release_moment(
        &self,
        connection_id: u64,
        since: Option<tokio::time::Instant>,
    ) -> Option<tokio::time::Instant> {
        let &(start, window) = self.release.get()?;
        let from = since.map_or(start, |since| since.max(start));
        Some(from + window.mul_f64(spread(connection_id)))
    }

    /// Notes that the drain's handover is over (every room handed over, or the wait for it
    /// ran out), and starts the release of the process's `clients` connections. Answers
    /// when the window for letting them go ends. Without a fleet of nodes there is nothing to
    /// release (each room's handover closed its clients) and the window is empty.
    pub fn finish_handover(&self, clients: usize) -> tokio::time::Instant {
        let window = if self.nodes.get().is_some() {
            Duration::from_secs_f64(clients as f64 / f64::from(self.release_per_second))
                .min(RELEASE_WINDOW_MAX)
        } else {
            Duration::ZERO
        };
        let &(start, window) = self
            .release
            .get_or_init(|| (tokio::time::Instant::now(), window));
        self.handed_over.cancel();
        start + window
    }
}

/// Where in the release window the connection `connection_id` is let go, in [0, 1): the
/// id's Fibonacci hash, which spreads consecutive ids evenly.
fn spread(connection_id: u64) -> f64 {
    let hashed = connection_id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (hashed >> 11) as f64 / (1u64 << 53) as f64
}

/// The leases this process renews: one entry per live room.
#[derive(Debug, Default)]
pub struct LeaseRenewals {
    rooms: Mutex<HashMap<GroupId, Renewing>>,
    next_id: AtomicU64,
}

#[derive(Debug)]
struct Renewing {
    /// Tells the one room this entry belongs to (a room loaded again gets another id).
    id: u64,
    /// The lease epoch of the room's take: a renewal keeps it, and is refused once another
    /// take moved the epoch on.
    epoch: u64,
    lost: CancellationToken,
}

/// A room's place in the renewals; [`RenewedLease::stop`] takes it out.
#[derive(Debug)]
pub struct RenewedLease {
    renewals: Arc<LeaseRenewals>,
    group_id: GroupId,
    id: u64,
    /// Cancelled when a renewal finds the lease held by another process.
    pub lost: CancellationToken,
}

impl LeaseRenewals {
    /// Renews `group_id`'s lease, taken at `epoch`, from now on, whose room the caller runs.
    pub fn start(self: &Arc<Self>, group_id: GroupId, epoch: u64) -> RenewedLease {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let lost = CancellationToken::new();
        self.lock().insert(
            group_id,
            Renewing {
                id,
                epoch,
                lost: lost.clone(),
            },
        );
        RenewedLease {
            renewals: Arc::clone(self),
            group_id,
            id,
            lost,
        }
    }

    /// Leases renewed now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no lease is renewed now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GroupId, Renewing>> {
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Renews every lease once, in batches of `batch_max`, and tells each room whose lease
    /// another process holds. A store error renews none of the batch's leases for sure and
    /// tells nobody: the leases may still be valid, and if not, the seq check refuses the
    /// rooms' next writes.
    pub async fn renew_all(
        &self,
        store: &dyn Store,
        owner: &str,
        duration_ms: u64,
        batch_max: usize,
    ) {
        let rooms: Vec<(GroupId, u64, u64, CancellationToken)> = self
            .lock()
            .iter()
            .map(|(group_id, renewing)| {
                (
                    *group_id,
                    renewing.id,
                    renewing.epoch,
                    renewing.lost.clone(),
                )
            })
            .collect();
        for batch in rooms.chunks(batch_max.max(1)) {
            let leases: Vec<(GroupId, u64)> = batch
                .iter()
                .map(|(group_id, _, epoch, _)| (*group_id, *epoch))
                .collect();
            match store.renew_leases(&leases, owner, duration_ms).await {
                Ok(held) => {
                    for ((group_id, id, _, lost), held) in batch.iter().zip(held) {
                        // A room that stopped meanwhile is told nothing: its release refuses
                        // the renewal when it comes after it, which is no lost lease.
                        let current = self.lock().get(group_id).is_some_and(|r| r.id == *id);
                        if held {
                            crate::metrics::lease_renewal("renewed");
                        } else if current {
                            crate::metrics::lease_renewal("held_elsewhere");
                            lost.cancel();
                        } else {
                            crate::metrics::lease_renewal("stopped");
                        }
                    }
                }
                Err(error) => {
                    for _ in batch {
                        crate::metrics::lease_renewal("store_error");
                    }
                    warn!(%error, leases = batch.len(), "could not renew the rooms' leases");
                }
            }
        }
    }
}

impl RenewedLease {
    /// Stops renewing the lease: no pass renews it from now on. A pass already under way may
    /// still send its renewal; the release that follows raises the lease's epoch
    /// ([`crate::store::Store::release_lease`]), so that renewal cannot take the released lease
    /// back whenever it arrives, and the room need not wait for it.
    pub fn stop(self) {
        drop(self);
    }
}

/// A room that ends without [`RenewedLease::stop`] (its task panicked) is not renewed any more
/// either: its lease then expires by itself.
impl Drop for RenewedLease {
    fn drop(&mut self) {
        let mut rooms = self.renewals.lock();
        if rooms.get(&self.group_id).is_some_and(|r| r.id == self.id) {
            rooms.remove(&self.group_id);
        }
    }
}

/// Renews the live rooms' leases every third of `room_lease_ms` until `stop`. The server runs
/// it until every room has stopped, final snapshots included.
pub async fn renew_leases_periodically(
    renewals: Arc<LeaseRenewals>,
    store: Arc<dyn Store>,
    owner: Arc<str>,
    limits: Limits,
    stop: CancellationToken,
) {
    let every: Duration = limits.room_lease_renewal();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        renewals
            .renew_all(
                store.as_ref(),
                &owner,
                limits.room_lease_ms,
                limits.lease_renewal_batch_max,
            )
            .await;
    }
}

#[cfg(test)]
mod tests;
