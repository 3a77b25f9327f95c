//! Readiness: whether this node can serve meetings now. A canary write to the store every
//! [`CANARY_INTERVAL`] ([`Store::write_canary`]) proves the write path; the node is ready while
//! the last one succeeded within [`CANARY_FRESH_WITHIN`] and it is not shutting down. The admin
//! listener's `/healthz` answers with what failed (see [`Health::report`]).
//!
//! With a canary every second, each bounded by [`CANARY_TIMEOUT`], a write path that breaks
//! (Redis stopped, a disk that stalls or is full) turns `/healthz` to 503 within
//! [`CANARY_FRESH_WITHIN`] of the last good write, so within about 4 s.
//!
//! A node in a fleet also probes forwarding once a second (`Fleet::probe`): its own internal
//! listener, and a link to every other live node. It is ready only while the last probe that
//! passed is at most [`CANARY_FRESH_WITHIN`] old, so a node that cannot forward turns 503
//! within about 4 s too.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::clock::Clock;
use crate::store::Store;

/// Time between two canary writes.
pub const CANARY_INTERVAL: Duration = Duration::from_secs(1);

/// The longest one canary write may take before it counts as failed.
pub const CANARY_TIMEOUT: Duration = Duration::from_secs(2);

/// How recent the last successful canary write must be for the node to be ready.
pub const CANARY_FRESH_WITHIN: Duration = Duration::from_secs(3);

/// The most characters of a store error kept for the report.
const ERROR_CHARS_MAX: usize = 300;

/// The canary's record: the last success and the last failure.
#[derive(Debug)]
pub struct Health {
    /// When this process started, the origin of the times below.
    started: Instant,
    /// Milliseconds after `started` of the last successful canary write, plus one; 0 for none.
    last_success: AtomicU64,
    /// Unix ms of the last successful canary write, for the report.
    last_success_unix_ms: AtomicU64,
    /// Why the last canary write failed, if it did (cleared by a success).
    last_error: Mutex<Option<String>>,
    /// Which store: `embedded` or `redis`.
    store_kind: &'static str,
    /// Forwarding's probes, when the node is in a fleet.
    forwarding: Probed,
}

/// The record of a repeated probe: whether it runs, its last success and its last failure.
#[derive(Debug, Default)]
struct Probed {
    on: std::sync::atomic::AtomicBool,
    /// Milliseconds after the process started of the last success, plus one; 0 for none.
    last_success: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// What the admin `/healthz` answers.
#[derive(Debug, Serialize)]
pub struct HealthReport {
    pub ready: bool,
    /// What makes the node not ready: `store` (the canary write), `shutting_down`.
    pub failed: Vec<&'static str>,
    pub store: StoreHealth,
    /// Forwarding's part, for a node in a fleet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<ForwardingHealth>,
    pub version: &'static str,
}

/// Forwarding's part of the report.
#[derive(Debug, Serialize)]
pub struct ForwardingHealth {
    /// Milliseconds since the last probe that passed, if any did.
    pub last_probe_ok_ms_ago: Option<u64>,
    /// What the last probe found broken, when it failed.
    pub error: Option<String>,
}

/// The store's part of the report.
#[derive(Debug, Serialize)]
pub struct StoreHealth {
    pub kind: &'static str,
    /// Unix ms of the last successful canary write, if any.
    pub last_canary_ok_at_ms: Option<u64>,
    /// Milliseconds since then.
    pub last_canary_ok_ms_ago: Option<u64>,
    /// Why the last canary write failed, when it did.
    pub error: Option<String>,
}

impl Health {
    pub fn new(store_kind: &'static str) -> Health {
        Health {
            started: Instant::now(),
            last_success: AtomicU64::new(0),
            last_success_unix_ms: AtomicU64::new(0),
            last_error: Mutex::new(None),
            store_kind,
            forwarding: Probed::default(),
        }
    }

    /// The node is in a fleet: its readiness includes forwarding's probes from now on.
    pub fn forwarding_on(&self) {
        self.forwarding.on.store(true, Ordering::Release);
    }

    /// Records one forwarding probe's outcome.
    pub fn forwarding_probed(&self, outcome: Result<(), String>) {
        let mut error = self
            .forwarding
            .last_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match outcome {
            Ok(()) => {
                let since_start = self.started.elapsed().as_millis() as u64;
                self.forwarding
                    .last_success
                    .store(since_start.saturating_add(1), Ordering::Release);
                *error = None;
            }
            Err(why) => *error = Some(why.chars().take(ERROR_CHARS_MAX).collect()),
        }
    }

    fn since_forwarding_ok(&self) -> Option<Duration> {
        match self.forwarding.last_success.load(Ordering::Acquire) {
            0 => None,
            at => {
                let at = self.started + Duration::from_millis(at - 1);
                Some(Instant::now().saturating_duration_since(at))
            }
        }
    }

    /// Whether forwarding passed a probe recently enough (or the node is in no fleet).
    pub fn forwarding_ok(&self) -> bool {
        !self.forwarding.on.load(Ordering::Acquire)
            || self
                .since_forwarding_ok()
                .is_some_and(|since| since <= CANARY_FRESH_WITHIN)
    }

    fn since_last_success(&self) -> Option<Duration> {
        match self.last_success.load(Ordering::Acquire) {
            0 => None,
            at => {
                let at = self.started + Duration::from_millis(at - 1);
                Some(Instant::now().saturating_duration_since(at))
            }
        }
    }

    fn succeeded(&self, at_unix_ms: u64) {
        let since_start = self.started.elapsed().as_millis() as u64;
        self.last_success
            .store(since_start.saturating_add(1), Ordering::Release);
        self.last_success_unix_ms
            .store(at_unix_ms, Ordering::Release);
        *self.lock_error() = None;
    }

    fn failed(&self, error: String) {
        let error: String = error.chars().take(ERROR_CHARS_MAX).collect();
        *self.lock_error() = Some(error);
    }

    fn lock_error(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.last_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the store took a write recently enough.
    pub fn store_ok(&self) -> bool {
        self.since_last_success()
            .is_some_and(|since| since <= CANARY_FRESH_WITHIN)
    }

    /// The report for the admin `/healthz`.
    pub fn report(&self, shutting_down: bool) -> HealthReport {
        let mut failed = Vec::new();
        if !self.store_ok() {
            failed.push("store");
        }
        if !self.forwarding_ok() {
            failed.push("forwarding");
        }
        if shutting_down {
            failed.push("shutting_down");
        }
        let since = self.since_last_success();
        let error = self.lock_error().clone();
        let error = match (error, self.store_ok(), since) {
            (Some(error), _, _) => Some(error),
            (None, false, None) => Some("no canary write has succeeded yet".to_string()),
            (None, false, Some(_)) => Some("the canary write has not finished in time".into()),
            (None, true, _) => None,
        };
        HealthReport {
            ready: failed.is_empty(),
            failed,
            store: StoreHealth {
                kind: self.store_kind,
                last_canary_ok_at_ms: since
                    .map(|_| self.last_success_unix_ms.load(Ordering::Acquire)),
                last_canary_ok_ms_ago: since.map(|since| since.as_millis() as u64),
                error,
            },
            forwarding: self
                .forwarding
                .on
                .load(Ordering::Acquire)
                .then(|| ForwardingHealth {
                    last_probe_ok_ms_ago: self
                        .since_forwarding_ok()
                        .map(|since| since.as_millis() as u64),
                    error: self
                        .forwarding
                        .last_error
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .clone(),
                }),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// Writes the canary every [`CANARY_INTERVAL`] until `stop`, recording each outcome in
/// `health` and the metrics.
pub async fn write_canaries(
    health: &Health,
    store: &dyn Store,
    writer: &str,
    clock: &dyn Clock,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(CANARY_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let at_ms = clock.now_ms();
        match tokio::time::timeout(CANARY_TIMEOUT, store.write_canary(writer, at_ms)).await {
            Ok(Ok(())) => {
                crate::metrics::canary_write("ok");
                health.succeeded(at_ms);
            }
            Ok(Err(error)) => {
                crate::metrics::canary_write("failed");
                if health.store_ok() {
                    warn!(%error, "the store's canary write failed");
                }
                health.failed(error.to_string());
            }
            Err(_) => {
                crate::metrics::canary_write("timed_out");
                if health.store_ok() {
                    warn!("the store's canary write did not finish in time");
                }
                health.failed(format!(
                    "the canary write did not finish within {} ms",
                    CANARY_TIMEOUT.as_millis()
                ));
            }
        }
    }
}
