//! A group's ownership lease as this process holds it (see ARCHITECTURE.md, "Several server
//! nodes"): the registry takes it before loading the group's room, the process renews it with
//! all its rooms' leases while the room is live ([`super::fleet`]), and the room releases it
//! when it stops. Both use one [`Lease`], so this process's owner id,
//! the lease's duration and the logging of a failed store call are in one place.

use std::sync::Arc;

use roundtable_protocol::GroupId;
use tracing::warn;

use crate::store::{Fence, LeaseTake, Store, StoreError};

/// This process's lease of one group's room in the store.
#[derive(Debug, Clone)]
pub struct Lease {
    store: Arc<dyn Store>,
    group_id: GroupId,
    /// This process's random id as the holder of leases.
    owner: Arc<str>,
    duration_ms: u64,
    /// The epoch this process's take answered (0 before it took the lease): every write the
    /// room makes is fenced with it, and renewals keep it.
    epoch: u64,
}

impl Lease {
    /// The lease of `group_id`'s room for `owner`, taken for `duration_ms` at a time.
    pub fn new(
        store: Arc<dyn Store>,
        group_id: GroupId,
        owner: Arc<str>,
        duration_ms: u64,
    ) -> Self {
        Lease {
            store,
            group_id,
            owner,
            duration_ms,
            epoch: 0,
        }
    }

    /// The epoch of this process's take of the lease (see [`LeaseTake::epoch`]).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The fence of every write the room makes: this process's owner id and its epoch.
    pub fn fence(&self) -> Fence<'_> {
        Fence {
            owner: &self.owner,
            epoch: self.epoch,
        }
    }

    /// The group whose room the lease is of.
    pub fn group_id(&self) -> GroupId {
        self.group_id
    }

    /// Renews the lease this process took, at its epoch ([`Store::renew_lease`]). Answers
    /// whether this process holds it now: `false` means that the lease was taken since (by
    /// another process, or by a newer room of this one), and this room's writes are fenced out.
    /// A store error is logged and returned; the lease may then still be held, or not.
    pub async fn take(&self) -> Result<bool, StoreError> {
        let renewed = self
            .store
            .renew_lease(self.group_id, &self.owner, self.duration_ms, self.epoch)
            .await;
        if let Err(error) = &renewed {
            warn!(group = %self.group_id, %error, "could not renew the room's lease");
        }
        renewed.map(|take| take.held)
    }

    /// Takes the lease for a room about to load ([`Store::take_lease_reporting`]), at a new
    /// epoch, which it keeps; tells whether it was a takeover of another process's expired
    /// lease.
    pub async fn take_reporting(&mut self) -> Result<LeaseTake, StoreError> {
        let taken = self
            .store
            .take_lease_reporting(self.group_id, &self.owner, self.duration_ms)
            .await;
        match &taken {
            Ok(take) if take.held => self.epoch = take.epoch,
            Ok(_) => {}
            Err(error) => warn!(group = %self.group_id, %error, "could not take the room's lease"),
        }
        taken
    }

    /// Gives the lease up if this process still holds it at its take's epoch
    /// ([`Store::release_lease`]), which fences out any renewal of it still under way. A failure
    /// is logged and otherwise ignored: the lease expires by itself, so another process waits
    /// at most that long.
    pub async fn release(&self) {
        if let Err(error) = self
            .store
            .release_lease(self.group_id, &self.owner, self.epoch)
            .await
        {
            warn!(group = %self.group_id, %error, "could not release the room's lease");
        }
    }
}
