//! The room's ownership lease: renewed while the room lives, given up when it stops, and
//! what the room does when it loses it (see ARCHITECTURE.md, "Several server nodes").

use super::*;

impl RoomActor {
    // --- Ownership ------------------------------------------------------------------------
    //
    // The registry took the group's lease before loading the room; the room renews it while
    // it is live and releases it when it stops. The store's seq check is the last line of
    // defence: if this process is not the only writer any more (its lease expired during an
    // outage and another process took the room, or a write that timed out was carried out
    // after all), its next append conflicts. Either way the state in memory is no longer the
    // stored truth, so the room stops: it closes every connection with `room_moved` (the
    // clients reconnect and resume from the store, on whichever process owns the room now),
    // writes no final snapshot, and releases the lease if it still holds it.

    /// Renews the lease. A refusal means another process holds it: this one stops. A store
    /// error leaves the room running: the lease may still be valid, and if it is not, the seq
    /// check refuses this room's next write.
    pub(super) async fn renew_lease(&mut self) {
        let renewed = self.lease.take().await;
        crate::metrics::lease_renewal(match renewed {
            Ok(true) => "renewed",
            Ok(false) => "held_elsewhere",
            Err(_) => "store_error",
        });
        match renewed {
            // `Lease::take` logged the error.
            Ok(true) | Err(_) => {}
            Ok(false) => self.lose_ownership("another process holds the room's lease"),
        }
    }

    pub(super) fn lose_ownership(&mut self, why: &str) {
        warn!(group = %self.group_id(), why, "this process no longer owns the room; closing it");
        if !self.ownership_lost {
            crate::metrics::metrics().lease_losses.inc();
        }
        self.ownership_lost = true;
    }
}
