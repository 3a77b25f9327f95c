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
//!   load it at once ([`Reach::hand_over`]) and closes its connections with `draining`
//!   (1012), so that they reconnect to another process at once; at most `drain_concurrency`
//!   rooms do so at a time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use roundtable_protocol::GroupId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::config::Limits;
use crate::store::Store;

/// What the live rooms of one process share: the lease renewals and the drain.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub renewals: Arc<LeaseRenewals>,
    /// Cancelled when the process starts to drain.
    draining: CancellationToken,
    /// Cancelled when a drain has handed every room over (or gave up waiting): the
    /// connections this process forwards to rooms on other nodes close then.
    handed_over: CancellationToken,
    /// Rooms handing over at the same time during a drain.
    handovers: Arc<Semaphore>,
    /// The node's part in a fleet of nodes, when it runs in one (set once at start; shared
    /// by every clone).
    pub nodes: Arc<std::sync::OnceLock<Arc<dyn Reach>>>,
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

    /// This process drains and `group_id`'s room has given its lease up: asks the node that
    /// is to run it next to load it now, while its members reconnect. Returns at once.
    fn hand_over(self: Arc<Self>, group_id: GroupId);
}

impl Fleet {
    pub fn new(limits: &Limits) -> Fleet {
        Fleet {
            renewals: Arc::new(LeaseRenewals::default()),
            draining: CancellationToken::new(),
            handed_over: CancellationToken::new(),
            handovers: Arc::new(Semaphore::new(limits.drain_concurrency.max(1))),
            nodes: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// Starts the drain: from now on this process loads no room, and every live room hands
    /// itself over (see the module documentation). Draining twice changes nothing.
    pub fn drain(&self) {
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

    /// Completes when the process starts to drain.
    pub async fn drained(&self) {
        self.draining.cancelled().await;
    }

    /// Completes once a drain has handed this process's rooms over.
    pub async fn handed_over(&self) {
        self.handed_over.cancelled().await;
    }

    /// Notes that the drain's handover is over (every room handed over, or the wait for it
    /// ran out).
    pub fn finish_handover(&self) {
        self.handed_over.cancel();
    }
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
