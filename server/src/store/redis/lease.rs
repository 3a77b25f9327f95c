//! Room ownership leases.
//!
//! [`Store::take_lease`] runs one script on the lease key: when the key is missing (never
//! taken, released, or expired) or holds the caller's own id, it sets the key to the caller's
//! id with a fresh expiry (`SET ... PX`), raises the group's epoch (`{g:<group>}:epoch`,
//! `INCR`) and answers that the caller holds it, at that epoch; otherwise it changes nothing.
//! [`Store::renew_lease`] is the same script given the epoch of the caller's take: it is granted
//! only while the epoch is still that one (nobody took the lease since, the caller's own process
//! included), and keeps it; so a renewal after the lease expired succeeds only if nobody else
//! took it meanwhile. The lease key's value stays the bare owner id. [`Store::release_lease`] deletes
//! the key and raises the epoch only while the epoch is still the caller's take's and the key
//! holds the caller's id or nothing, so a renewal under way at the released epoch is refused
//! once it arrives. The expiry runs on Redis's clock, so the
//! processes' clocks need not agree.
//!
//! Beside the lease, the same scripts keep its *record* (`{g:<group>}:lease_record`): the last
//! holder and when its lease runs out, kept for a while after the lease has gone. A take that
//! finds the lease gone and the record naming another owner is a takeover, and
//! [`Store::take_lease_reporting`] tells how long after the expiry it came (the metrics'
//! `lease_takeover_delay_seconds`). A release deletes the record too; [`Store::break_lease`],
//! which ends the lease of an owner known to be gone, keeps it (run out at once), so the take
//! after it is a takeover.

use roundtable_protocol::GroupId;

use super::connection::Connection;
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
        self.run_take_lease(group_id, owner, duration_ms, None)
            .await
    }

    pub(super) async fn renew_lease_unbounded(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
        epoch: u64,
    ) -> Result<LeaseTake, StoreError> {
        self.run_take_lease(group_id, owner, duration_ms, Some(epoch))
            .await
    }

    async fn run_take_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
        renewing: Option<u64>,
    ) -> Result<LeaseTake, StoreError> {
        let invocation = scripts::take_lease(
            self.lease_key(group_id),
            self.lease_record_key(group_id),
            self.epoch_key(group_id),
            owner,
            duration_ms,
            renewing,
        );
        let (held, gap_ms, epoch): (i64, i64, String) = self.run_script(&invocation).await?;
        let epoch = epoch.parse().map_err(|_| {
            StoreError::Corrupt(format!(
                "group {group_id}'s lease epoch holds {epoch:?}, not a number"
            ))
        })?;
        Ok(LeaseTake {
            held: held == 1,
            took_over_after_ms: u64::try_from(gap_ms).ok(),
            epoch,
        })
    }

    /// [`Store::renew_leases`]: the take script, renewing at each lease's epoch, for every
    /// group. On one Redis the invocations go as one pipeline, so a process's renewals cost one
    /// round trip per batch. On a cluster the groups' keys live on several masters and a
    /// pipeline goes to one, so there each renewal is its own call, all of them under way at
    /// once.
    pub(super) async fn renew_leases_unbounded(
        &self,
        leases: &[(GroupId, u64)],
        owner: &str,
        duration_ms: u64,
    ) -> Result<Vec<bool>, StoreError> {
        let Some(&(first, first_epoch)) = leases.first() else {
            return Ok(Vec::new());
        };
        if matches!(self.connection, Connection::Cluster(_)) {
            let renewals = leases.iter().map(|&(group_id, epoch)| {
                self.run_take_lease(group_id, owner, duration_ms, Some(epoch))
            });
            return futures_util::future::join_all(renewals)
                .await
                .into_iter()
                .map(|renewed| renewed.map(|take| take.held))
                .collect();
        }
        let invocation = |group_id: GroupId, epoch: u64| {
            scripts::take_lease(
                self.lease_key(group_id),
                self.lease_record_key(group_id),
                self.epoch_key(group_id),
                owner,
                duration_ms,
                Some(epoch),
            )
        };
        let invocations: Vec<_> = leases
            .iter()
            .map(|&(group_id, epoch)| invocation(group_id, epoch))
            .collect();
        let mut pipeline = redis::pipe();
        for invocation in &invocations {
            pipeline.invoke_script(invocation);
        }
        let run = |mut connection: Connection| {
            let pipeline = &pipeline;
            async move {
                pipeline
                    .query_async::<Vec<(i64, i64, String)>>(&mut connection)
                    .await
            }
        };
        let answers = match self.call(run).await {
            Ok(answers) => answers,
            // Redis may not have the script (it restarted, or was flushed): any one invocation
            // loads it, since all share it, and the batch runs again. Another failure is the
            // answer.
            Err(_) => {
                let load = invocation(first, first_epoch);
                self.call(|mut connection| {
                    let load = &load;
                    async move { load.load_async(&mut connection).await }
                })
                .await?;
                self.call(run).await?
            }
        };
        if answers.len() != leases.len() {
            return Err(StoreError::Corrupt(format!(
                "renewing {} leases answered {} times",
                leases.len(),
                answers.len()
            )));
        }
        Ok(answers.into_iter().map(|(held, ..)| held == 1).collect())
    }

    pub(super) async fn release_lease_unbounded(
        &self,
        group_id: GroupId,
        owner: &str,
        epoch: u64,
    ) -> Result<(), StoreError> {
        let invocation = scripts::release_lease(
            self.lease_key(group_id),
            self.lease_record_key(group_id),
            self.epoch_key(group_id),
            owner,
            epoch,
        );
        self.run_script::<i64>(&invocation).await?;
        Ok(())
    }

    pub(super) async fn break_lease_unbounded(
        &self,
        group_id: GroupId,
        holder: &str,
    ) -> Result<bool, StoreError> {
        let invocation = scripts::break_lease(
            self.lease_key(group_id),
            self.lease_record_key(group_id),
            holder,
        );
        Ok(self.run_script::<i64>(&invocation).await? == 1)
    }
}
