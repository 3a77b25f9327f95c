//! Wall-clock time in milliseconds since the Unix epoch. The server stores times as wall-clock
//! values because they must mean the same after a restart; the room's rules take time as an
//! argument, so tests use [`ManualClock`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use roundtable_protocol::UnixMs;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now_ms(&self) -> UnixMs;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> UnixMs {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as UnixMs)
            .unwrap_or(0)
    }
}

/// Sleeps until `deadline`, or forever without one. For a `select!` branch whose deadline may be
/// absent: unlike a disabled `sleep_until` branch, it reads no clock and builds no timer.
pub async fn sleep_until_or_never(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn new(now_ms: UnixMs) -> Self {
        ManualClock(AtomicU64::new(now_ms))
    }

    pub fn advance_ms(&self, delta_ms: u64) {
        self.0.fetch_add(delta_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> UnixMs {
        self.0.load(Ordering::SeqCst)
    }
}
