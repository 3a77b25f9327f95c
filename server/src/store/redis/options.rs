//! How to reach and use a Redis server.

use std::time::Duration;

#[cfg(doc)]
use crate::store::StoreError;

/// The default approximate cap on the entries kept in one meeting's log stream.
pub const LOG_ENTRIES_MAX: usize = 100_000;

/// How to reach and use a Redis server.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Prepended to every key, so that several deployments or tests can share one server.
    /// It must not contain `{` or `}`, which would change the keys' Redis Cluster hash tags.
    pub key_prefix: String,
    /// The longest any one store call (or the initial connection) may take before it fails with
    /// [`StoreError::Unavailable`].
    pub timeout: Duration,
    /// The approximate cap on the entries kept in one meeting's log stream (`MAXLEN ~`).
    pub log_entries_max: usize,
    /// The most appends sent to Redis in one pipeline (one round trip); see
    /// [`pipeline`](super::pipeline).
    pub append_batch_max: usize,
    /// The most appends waiting to be sent; a room whose append finds the queue full waits
    /// within its time bound.
    pub append_queue_max: usize,
}

/// The default of [`RedisOptions::append_batch_max`].
pub const APPEND_BATCH_MAX: usize = 64;
/// The default of [`RedisOptions::append_queue_max`].
pub const APPEND_QUEUE_MAX: usize = 4096;

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            key_prefix: "rt:".into(),
            timeout: Duration::from_secs(2),
            log_entries_max: LOG_ENTRIES_MAX,
            append_batch_max: APPEND_BATCH_MAX,
            append_queue_max: APPEND_QUEUE_MAX,
        }
    }
}
