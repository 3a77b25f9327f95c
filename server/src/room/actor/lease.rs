//! The room's ownership lease: renewed while the room lives, given up when it stops, and
//! what the room does when it loses it (see ARCHITECTURE.md, "Several server nodes").

use super::*;

impl RoomActor {
    // --- Ownership ------------------------------------------------------------------------
    //
    // The registry took the group's lease before loading the room; the process renews it
    // while the room is live (`room/fleet.rs`, which tells the room when another process
    // holds it) and the room releases it when it stops. The store's seq check is the last line of
    // defence: if this process is not the only writer any more (its lease expired during an
    // outage and another process took the room, or a write that timed out was carried out
    // after all), its next append conflicts. Either way the state in memory is no longer the
    // stored truth, so the room stops: it closes every connection with `room_moved` (the
    // clients reconnect and resume from the store, on whichever process owns the room now),
    // writes no final snapshot, and releases the lease if it still holds it.

    pub(super) fn lose_ownership(&mut self, why: &str) {
        warn!(group = %self.group_id(), why, "this process no longer owns the room; closing it");
        if !self.ownership_lost {
            crate::metrics::metrics().lease_losses.inc();
        }
        self.ownership_lost = true;
    }
}
