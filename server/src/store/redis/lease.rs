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

    /// [`Store::renew_leases`]: the take script for every group, pipelined, so a process's
    /// renewals cost one round trip per batch.
    pub(super) async fn renew_leases_unbounded(
        &self,
        group_ids: &[GroupId],
        owner: &str,
        duration_ms: u64,
    ) -> Result<Vec<bool>, StoreError> {
        let Some(&first) = group_ids.first() else {
            return Ok(Vec::new());
        };
        let invocations: Vec<_> = group_ids
            .iter()
            .map(|&group_id| {
                scripts::take_lease(
                    self.lease_key(group_id),
                    self.lease_record_key(group_id),
                    owner,
                    duration_ms,
                )
            })
            .collect();
        let mut pipeline = redis::pipe();
        for invocation in &invocations {
            pipeline.invoke_script(invocation);
        }
        let run = |mut connection: super::connection::Connection| {
            let pipeline = &pipeline;
            async move {
                pipeline
                    .query_async::<Vec<(i64, i64)>>(&mut connection)
                    .await
            }
        };
        let answers = match self.call(run).await {
            Ok(answers) => answers,
            // Redis may not have the script (it restarted, or was flushed): any one invocation
            // loads it, since all share it, and the batch runs again. Another failure is the
            // answer.
            Err(_) => {
                let load = scripts::take_lease(
                    self.lease_key(first),
                    self.lease_record_key(first),
                    owner,
                    duration_ms,
                );
                self.call(|mut connection| {
                    let load = &load;
                    async move { load.load_async(&mut connection).await }
                })
                .await?;
                self.call(run).await?
            }
        };
        if answers.len() != group_ids.len() {
            return Err(StoreError::Corrupt(format!(
                "renewing {} leases answered {} times",
                group_ids.len(),
                answers.len()
            )));
        }
        Ok(answers.into_iter().map(|(held, _)| held == 1).collect())
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
