//! The embedded store's ownership leases and their epochs, in memory (see the store's module
//! documentation for why memory is enough).
//!
//! Epochs come from one counter for the whole store rather than one per group: every take (and
//! every release, which moves its group past the released epoch) gets the next number, so a
//! group's epochs only ever grow, even after its entry was swept out and taken again. A renewal or a fenced write that finds no entry (swept out after it expired, or
//! the group deleted) is refused: with the entry gone, nothing tells whether someone took the
//! lease in between.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use roundtable_protocol::GroupId;

use crate::store::{Fence, LeaseTake, StoreError};

/// Leases held past which expired ones are swept out on the next take. Live leases are bounded
/// by the live rooms, which release theirs when they unload.
const SWEEP_AT: usize = 1024;

/// One group's lease: its last holder, when it runs out (released leases run out at once) and
/// the epoch of the take that gave it.
#[derive(Debug)]
struct Held {
    owner: String,
    expires: Instant,
    epoch: u64,
}

#[derive(Debug, Default)]
struct Table {
    leases: HashMap<GroupId, Held>,
    /// The last epoch a take answered.
    last_epoch: u64,
}

/// Group -> lease, and the epoch counter.
#[derive(Debug, Default)]
pub(super) struct Leases(Mutex<Table>);

impl Leases {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes `group_id`'s lease for `owner`, at a new epoch, when nobody else holds an unexpired
    /// one; or, with `renewing`, renews the lease taken at that epoch, when the group is still
    /// at it and nobody else holds it.
    pub(super) fn take(
        &self,
        group_id: GroupId,
        owner: &str,
        duration: Duration,
        renewing: Option<u64>,
    ) -> LeaseTake {
        let now = Instant::now();
        let mut table = self.lock();
        if table.leases.len() >= SWEEP_AT {
            table.leases.retain(|_, held| held.expires > now);
        }
        let current = table.leases.get(&group_id);
        let epoch = current.map_or(0, |held| held.epoch);
        let refused = LeaseTake {
            held: false,
            took_over_after_ms: None,
            epoch,
        };
        if let Some(held) = current
            && held.owner != owner
            && held.expires > now
        {
            return refused;
        }
        let epoch = match renewing {
            Some(renewed) if current.is_some() && renewed == epoch => epoch,
            Some(_) => return refused,
            None => {
                table.last_epoch += 1;
                table.last_epoch
            }
        };
        table.leases.insert(
            group_id,
            Held {
                owner: owner.to_string(),
                expires: now + duration,
                epoch,
            },
        );
        LeaseTake {
            held: true,
            took_over_after_ms: None,
            epoch,
        }
    }

    /// Whether a write under `fence` may go ahead: the group's lease is at the fence's epoch
    /// and held by the fence's owner or by nobody.
    pub(super) fn check(&self, group_id: GroupId, fence: Fence<'_>) -> Result<(), StoreError> {
        let now = Instant::now();
        let table = self.lock();
        match table.leases.get(&group_id) {
            Some(held)
                if held.epoch == fence.epoch
                    && (held.owner == fence.owner || held.expires <= now) =>
            {
                Ok(())
            }
            held => Err(StoreError::Fenced(format!(
                "group {group_id} is at lease epoch {}; the write's fence is {}",
                held.map_or(0, |held| held.epoch),
                fence.epoch
            ))),
        }
    }

    /// Gives up the lease `owner` took at `epoch`, when the group is still at it and nobody
    /// else holds an unexpired lease, and moves the group to a new epoch that no take answered:
    /// a renewal or a fenced write at the released epoch is refused from then on, as in Redis.
    pub(super) fn release(&self, group_id: GroupId, owner: &str, epoch: u64) {
        let now = Instant::now();
        let mut table = self.lock();
        let table = &mut *table;
        if let Some(held) = table.leases.get_mut(&group_id)
            && held.epoch == epoch
            && (held.owner == owner || held.expires <= now)
        {
            table.last_epoch += 1;
            held.epoch = table.last_epoch;
            held.expires = now;
        }
    }

    /// Ends `holder`'s lease, if it holds it, for another process that found it gone, and
    /// answers whether it did. Unlike a release, its epoch stays until a take: the holder, if
    /// it lives after all, may renew it (nobody took it since) and go on. (The embedded store
    /// keeps no lease record to report takeovers by.)
    pub(super) fn end(&self, group_id: GroupId, holder: &str) -> bool {
        let now = Instant::now();
        let mut table = self.lock();
        if let Some(held) = table.leases.get_mut(&group_id)
            && held.owner == holder
            && held.expires > now
        {
            held.expires = now;
            return true;
        }
        false
    }

    /// Drops `group_id`'s lease, whoever holds it (the group was deleted).
    pub(super) fn drop_group(&self, group_id: GroupId) {
        self.lock().leases.remove(&group_id);
    }
}
