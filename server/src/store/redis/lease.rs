//! Room ownership leases.
//!
//! [`Store::take_lease`] runs one script on the lease key: when the key is missing (never
//! taken, released, or expired) or holds the caller's own id, it sets the key to the caller's
//! id with a fresh expiry (`SET ... PX`), and answers that the caller holds it; otherwise it
//! changes nothing. Taking and renewing are thus the same call, and a renewal after the lease
//! expired succeeds only if nobody else took it meanwhile. [`Store::release_lease`] deletes
//! the key only if it still holds the caller's id. The expiry runs on Redis's clock, so the
//! processes' clocks need not agree.
//!
//! Beside the lease, the same scripts keep its *record* (`{g:<group>}:lease_record`): the last
//! holder and when its lease runs out, kept for a while after the lease has gone. A take that
//! finds the lease gone and the record naming another owner is a takeover, and
//! [`Store::take_lease_reporting`] tells how long after the expiry it came (the metrics'
//! `lease_takeover_delay_seconds`). A release deletes the record too.

use roundtable_protocol::GroupId;

use super::{RedisStore, scripts};
#[cfg(doc)]
use crate::store::Store;
use crate::store::{LeaseTake, StoreError};

/// The store calls on leases, each unbounded in time; [`Store`] bounds them.
impl RedisStore {
    pub(super) async fn take_lease_unbounded(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
    ) -> Result<LeaseTake, StoreError> {
        let invocation = scripts::take_lease(
            self.lease_key(group_id),
            self.lease_record_key(group_id),
            owner,
            duration_ms,
        );
        let (held, gap_ms): (i64, i64) = self.run_script(&invocation).await?;
        Ok(LeaseTake {
            held: held == 1,
            took_over_after_ms: u64::try_from(gap_ms).ok(),
        })
    }

    pub(super) async fn release_lease_unbounded(
        &self,
        group_id: GroupId,
        owner: &str,
    ) -> Result<(), StoreError> {
        let invocation = scripts::release_lease(
            self.lease_key(group_id),
            self.lease_record_key(group_id),
            owner,
        );
        self.run_script::<i64>(&invocation).await?;
        Ok(())
    }
}
