//! The conformance suite every [`Store`] implementation must pass, written once against the
//! trait. Tests call [`run_all`] with a fresh, empty store of each implementation.
//!
//! Each check panics with a message naming what the store got wrong.
//!
//! The checks, by what they hold the store to:
//! - `logs.rs`: groups created and loaded, log entries appended (no gaps, no repeats, all or
//!   nothing), snapshots, a new meeting's log, reading and trimming a log;
//! - `leases.rs`: the ownership leases and their epochs: exclusion, expiry, renewal (one by
//!   one and in batches), a gone holder's lease ended early, and the fence that refuses a
//!   stale owner's writes;
//! - `log_epochs.rs`: the log epochs a group's room was served under, recorded in order,
//!   bounded, fenced and deleted with the group;
//! - `retention.rs`: what the store forgets: a deleted group (wholly, see
//!   [`delete_a_marked_group`]), abandoned groups found by their activity, ended meetings' logs
//!   trimmed after the retention, and the health check's canary, which is no group.

use roundtable_protocol::{GroupId, MeetingId};

use super::Store;
use super::fixtures::create_group;

mod leases;
mod log_epochs;
mod logs;
mod retention;

pub use retention::{DeletedGroup, delete_a_marked_group};

/// Runs every check against `store`, which must be empty.
pub async fn run_all(store: &dyn Store) {
    logs::create_then_load(store).await;
    logs::create_twice_conflicts(store).await;
    logs::unknown_group_is_none(store).await;
    logs::append_then_load_returns_tail(store).await;
    logs::append_refuses_gaps_and_repeats(store).await;
    logs::failed_append_writes_nothing(store).await;
    logs::snapshot_replaces_tail(store).await;
    logs::new_meeting_starts_a_new_log(store).await;
    logs::read_log_pages_in_order(store).await;
    logs::trim_removes_old_entries_only(store).await;
    logs::append_to_unknown_group_is_not_found(store).await;
    logs::many_concurrent_appends_to_different_groups(store).await;
    leases::leases_exclude_other_owners(store).await;
    leases::leases_expire_unless_renewed(store).await;
    leases::stale_epochs_are_fenced_and_write_nothing(store).await;
    leases::takes_raise_the_epoch_and_renewals_keep_it(store).await;
    leases::leases_are_renewed_in_batches(store).await;
    leases::a_gone_holders_lease_can_be_ended_early(store).await;
    leases::a_lease_run_out_or_ended_is_still_released_at_its_epoch(store).await;
    log_epochs::log_epochs_are_recorded_in_order_fenced_and_deleted(store).await;
    // Before the retention check, which would count an end record the deletion left behind.
    retention::deleted_group_is_gone_and_others_stay(store).await;
    retention::abandoned_groups_are_found_by_their_activity(store).await;
    retention::ended_meetings_logs_are_trimmed_after_retention(store).await;
    retention::canary_writes_touch_no_group(store).await;
}

/// A new group whose first snapshot's bytes are `initial`.
async fn new_group(store: &dyn Store) -> (GroupId, MeetingId) {
    create_group(store, "initial").await
}

async fn take(store: &dyn Store, group_id: GroupId, owner: &str, duration_ms: u64) -> bool {
    store
        .take_lease(group_id, owner, duration_ms)
        .await
        .expect("take_lease succeeds")
}
