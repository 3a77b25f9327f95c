//! The embedded store's ownership leases, in memory (see the store's module documentation for
//! why memory is enough).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use roundtable_protocol::GroupId;

/// Leases held past which expired ones are swept out on the next take. Live leases are bounded
/// by the live rooms, which release theirs when they unload.
const SWEEP_AT: usize = 1024;

/// Group -> (owner, expiry).
#[derive(Debug, Default)]
pub(super) struct Leases(Mutex<HashMap<GroupId, (String, Instant)>>);

impl Leases {
    fn lock(&self) -> MutexGuard<'_, HashMap<GroupId, (String, Instant)>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes or renews `group_id`'s lease for `owner`: granted when nobody else holds an
    /// unexpired one.
    pub(super) fn take(&self, group_id: GroupId, owner: &str, duration: Duration) -> bool {
        let now = Instant::now();
        let mut leases = self.lock();
        if leases.len() >= SWEEP_AT {
            leases.retain(|_, (_, expires)| *expires > now);
        }
        if let Some((holder, expires)) = leases.get(&group_id)
            && holder != owner
            && *expires > now
        {
            return false;
        }
        leases.insert(group_id, (owner.to_string(), now + duration));
        true
    }

    /// Gives up `group_id`'s lease if `owner` holds it.
    pub(super) fn release(&self, group_id: GroupId, owner: &str) {
        let mut leases = self.lock();
        if leases
            .get(&group_id)
            .is_some_and(|(holder, _)| holder == owner)
        {
            leases.remove(&group_id);
        }
    }

    /// Drops `group_id`'s lease, whoever holds it (the group was deleted).
    pub(super) fn drop_group(&self, group_id: GroupId) {
        self.lock().remove(&group_id);
    }
}
