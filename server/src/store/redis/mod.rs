//! The Redis store: groups, snapshots and event logs in a Redis server.
//!
//! By responsibility: [`options`] (how to reach and use the server), [`keys`] (the key layout
//! and the meeting index), [`scripts`] (the Lua scripts and invoking them), [`pipeline`] (many
//! rooms' appends sent in one round trip), [`groups`] (creating
//! and loading a group), [`log`] (appending to, reading and trimming a meeting's log),
//! [`decode`] (entries and snapshots as Redis answers them), [`lease`] (room ownership),
//! [`lineage`] (the log epochs a group's room was served under) and [`retention`] (ended meetings and trimming their logs) and [`delete`] (deleting a group), [`activity`] (groups' activity, for their retention). This module holds the store itself:
//! connecting, running one Redis operation, and the [`Store`] impl, which bounds every call in
//! time and delegates it.
//!
//! Every call is bounded by [`RedisOptions::timeout`]: an unreachable or stalled Redis gives
//! [`StoreError::Unavailable`] once it passes. The connection ([`connection`]) is either a
//! [`redis::aio::ConnectionManager`] to one server ([`RedisStore::connect`]) or the `redis`
//! crate's cluster connection to a Redis Cluster ([`RedisStore::connect_cluster`]); both
//! reconnect by themselves, so the same store works again once Redis is back (or, on a
//! cluster, once a replica has taken over the slots of a failed master). A write that timed
//! out may still have been carried out, if Redis got the command and ran it late: a retry of it
//! then fails with [`StoreError::Conflict`]. How durable
//! an acknowledged write is depends on the server's persistence settings: with `appendonly yes`
//! Redis writes its append-only file before it replies, so a crash of Redis loses nothing
//! acknowledged; a power loss loses at most the last second with `appendfsync everysec`, like
//! the embedded store's last ~100 ms, and nothing with `appendfsync always`.
//!
//! On a cluster every script and every transaction-like step touches keys of one hash slot
//! only, as the key layout's hash tags arrange (see [`keys`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::{Cmd, ErrorKind, FromRedisValue, RedisError, RedisResult, ServerErrorKind};
use roundtable_protocol::{GroupId, LogEpoch, MeetingId, Seq, UnixMs};

use self::pipeline::AppendPipeline;
use super::{
    AppendBatch, EarlierEpoch, Fence, LeaseTake, LoadedRoom, LogEntry, NodeEntry, Snapshot, Store,
    StoreError,
};

mod activity;
mod connection;
mod decode;
mod delete;
mod fleet;
mod groups;
mod keys;
mod lease;
mod lineage;
mod log;
mod options;
mod pipeline;
mod retention;
mod scripts;

use self::connection::Connection;
pub use self::options::{APPEND_BATCH_MAX, APPEND_QUEUE_MAX, LOG_ENTRIES_MAX, RedisOptions};

/// A store in a Redis server. Cheap to clone; all clones share the connection.
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    options: Arc<RedisOptions>,
    /// Meetings whose index key this process has written or read: meeting id -> group id.
    known_meetings: Arc<Mutex<HashMap<MeetingId, GroupId>>>,
    /// Appends waiting to be sent, many rooms' in one round trip (on one Redis; none on a
    /// cluster).
    appends: Option<AppendPipeline>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url` (`redis://host:port/db`), waiting at most
    /// `options.timeout` for it to answer.
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        check_prefix(&options)?;
        let client = redis::Client::open(url)
            .map_err(|error| StoreError::Unavailable(format!("bad redis url: {error}")))?;
        // The connection manager retries a lost connection a few times with short backoff;
        // every call is bounded by the timeout anyway, so a long retry schedule would only
        // delay noticing that Redis is back.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(3)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let connect = |client: redis::Client| {
            let (config, timeout) = (config.clone(), options.timeout);
            async move {
                tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
                    .await
                    .map_err(|_| {
                        StoreError::Unavailable(format!(
                            "redis at {} did not answer within {timeout:?}",
                            without_credentials(url),
                        ))
                    })?
                    .map_err(|error| map_error(&error))
            }
        };
        let connection = connect(client.clone()).await?;
        // The rooms' appends get a connection of their own: on a shared one they would wait
        // behind whatever else is under way, such as a process's lease renewals (one pipeline
        // of up to `lease_renewal_batch_max` script calls, whose answers all come first). On
        // their own connection Redis serves them between parts of such a batch.
        let appends = connect(client).await?;
        let mut store = Self::with_connection(Connection::Single(connection), options);
        store.appends = Some(AppendPipeline::start(
            appends,
            store.options.append_batch_max,
            store.options.append_queue_max,
        ));
        Ok(store)
    }

    /// Connects to the Redis Cluster that the seed nodes `seeds` (`redis://host:port` each; one
    /// reachable node is enough) belong to, waiting at most `options.timeout` for it to answer.
    /// The cluster connection learns which master holds which hash slot, follows redirections
    /// and refreshes that map after a failover by itself.
    pub async fn connect_cluster(
        seeds: &[String],
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        check_prefix(&options)?;
        if seeds.is_empty() {
            return Err(StoreError::Unavailable(
                "a redis cluster needs at least one seed node URL".into(),
            ));
        }
        // Retries come quickly and stop soon: a call is bounded by the timeout anyway, and
        // during a failover the slot map must be asked again every few tens of milliseconds so
        // that the promoted replica is found as soon as it is a master. (The wait before the
        // n-th retry is about min(max_wait, factor * 2^n) ms.)
        let client = ClusterClientBuilder::new(seeds.iter().map(String::as_str))
            .connection_timeout(options.timeout)
            .response_timeout(options.timeout)
            .retries(CLUSTER_RETRIES)
            .min_retry_wait(CLUSTER_RETRY_WAIT_MIN_MS)
            .max_retry_wait(CLUSTER_RETRY_WAIT_MAX_MS)
            .retry_wait_formula(CLUSTER_RETRY_WAIT_FACTOR_MS, 2)
            .build()
            .map_err(|error| {
                StoreError::Unavailable(format!("bad redis cluster seed urls: {error}"))
            })?;
        let connection = tokio::time::timeout(options.timeout, client.get_async_connection())
            .await
            .map_err(|_| {
                // Not the seeds themselves: a URL may carry a password.
                StoreError::Unavailable(format!(
                    "the redis cluster ({} seed nodes) did not answer within {:?}",
                    seeds.len(),
                    options.timeout
                ))
            })?
            .map_err(|error| map_error(&error))?;
        let store = Self::with_connection(Connection::Cluster(connection), options);
        // The cluster connection connects lazily to some nodes: ask once, so that a cluster that
        // is not there (or not a cluster) is reported now rather than at the first write.
        store
            .bounded("connect", store.query::<String>(&redis::cmd("PING")))
            .await?;
        Ok(store)
    }

    /// The store on `connection`, without the append pipeline: a pipeline goes to one server
    /// (see [`RedisStore::connect`]); on a cluster the rooms' keys live on several masters, so
    /// there each append is its own call.
    fn with_connection(connection: Connection, options: RedisOptions) -> Self {
        RedisStore {
            appends: None,
            connection,
            options: Arc::new(options),
            known_meetings: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Runs one Redis operation. `operation` is called with a handle on the connection; it is
    /// called a second time only if the first attempt failed to connect at all (so the command
    /// was never sent), which happens once after Redis comes back.
    async fn call<T, F, Fut>(&self, operation: F) -> Result<T, StoreError>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let result = match operation(self.connection.clone()).await {
            Err(error) if error.is_connection_refusal() => operation(self.connection.clone()).await,
            result => result,
        };
        result.map_err(|error| match (&self.connection, error.kind()) {
            // A single connection to a node of a cluster works only for the keys of that node.
            (
                Connection::Single(_),
                ErrorKind::Server(ServerErrorKind::Moved | ServerErrorKind::Ask),
            ) => StoreError::Unavailable(format!(
                "redis: {error} (this Redis is a node of a Redis Cluster: give the cluster's \
                 nodes with --redis-cluster instead of --redis-url)"
            )),
            _ => map_error(&error),
        })
    }

    /// Runs one Redis command as one operation (see [`RedisStore::call`]).
    async fn query<T: FromRedisValue>(&self, command: &Cmd) -> Result<T, StoreError> {
        self.call(|mut connection| async move { command.query_async(&mut connection).await })
            .await
    }

    /// Runs one store call, of one or more Redis operations, under the timeout.
    async fn bounded<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.options.timeout, call)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!(
                    "redis did not answer {what} within {:?}",
                    self.options.timeout
                )))
            })
    }
}

/// How often the cluster connection retries a command that failed for a connection error or a
/// redirection, and how long it waits in between (see [`RedisStore::connect_cluster`]).
const CLUSTER_RETRIES: u32 = 20;
const CLUSTER_RETRY_WAIT_MIN_MS: u64 = 20;
const CLUSTER_RETRY_WAIT_MAX_MS: u64 = 200;
const CLUSTER_RETRY_WAIT_FACTOR_MS: u64 = 10;

/// Refuses a key prefix with braces, which would change the keys' hash tags.
fn check_prefix(options: &RedisOptions) -> Result<(), StoreError> {
    if options.key_prefix.contains(['{', '}']) {
        return Err(StoreError::Unavailable(format!(
            "redis key prefix {:?} must not contain braces",
            options.key_prefix
        )));
    }
    Ok(())
}

/// `url` with its user and password (`redis://user:password@host`) cut out, for messages and
/// logs, which must never carry a secret.
pub(crate) fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://<credentials>@{host}{path}"),
        None => url.to_string(),
    }
}

/// Maps a Redis error: data that cannot be read back is corrupt; anything else (connection
/// lost, refused or timed out, server loading, read-only replica, out of memory...) is
/// unavailable, since a later retry may succeed.
fn map_error(error: &RedisError) -> StoreError {
    let corrupt = matches!(
        error.kind(),
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType
    ) || (error.kind() == ErrorKind::Server(ServerErrorKind::ResponseError)
        && error.code() == Some("WRONGTYPE"));
    if corrupt {
        StoreError::Corrupt(format!("redis: {error}"))
    } else {
        StoreError::Unavailable(format!("redis: {error}"))
    }
}

/// How long a canary key outlives its last write: a stopped server's key goes by itself.
const CANARY_TTL_MS: u64 = 60_000;

#[async_trait]
impl Store for RedisStore {
    async fn create_group(&self, group_id: GroupId, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.bounded(
            "create_group",
            self.create_group_unbounded(group_id, snapshot),
        )
        .await
    }

    async fn load_room(&self, group_id: GroupId) -> Result<Option<LoadedRoom>, StoreError> {
        self.bounded("load_room", self.load_room_unbounded(group_id))
            .await
    }

    async fn append(&self, batch: AppendBatch<'_>) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let written = self.bounded("append", self.append_unbounded(batch)).await;
        crate::metrics::store_write("redis", batch.snapshot.is_some(), started, &written);
        written
    }

    async fn read_log(
        &self,
        meeting_id: MeetingId,
        after_seq: Seq,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        self.bounded(
            "read_log",
            self.read_log_unbounded(meeting_id, after_seq, limit),
        )
        .await
    }

    async fn trim_log(&self, meeting_id: MeetingId, through_seq: Seq) -> Result<(), StoreError> {
        self.bounded("trim_log", self.trim_log_unbounded(meeting_id, through_seq))
            .await
    }

    async fn take_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
    ) -> Result<bool, StoreError> {
        self.take_lease_reporting(group_id, owner, duration_ms)
            .await
            .map(|take| take.held)
    }

    async fn take_lease_reporting(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
    ) -> Result<LeaseTake, StoreError> {
        self.bounded(
            "take_lease",
            self.take_lease_unbounded(group_id, owner, duration_ms),
        )
        .await
    }

    async fn begin_log_epoch(
        &self,
        group_id: GroupId,
        fence: Fence<'_>,
        log_epoch: LogEpoch,
        meeting_id: MeetingId,
        head: Seq,
    ) -> Result<Vec<EarlierEpoch>, StoreError> {
        self.bounded(
            "begin_log_epoch",
            self.begin_log_epoch_unbounded(group_id, fence, log_epoch, meeting_id, head),
        )
        .await
    }

    async fn renew_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
        epoch: u64,
    ) -> Result<LeaseTake, StoreError> {
        self.bounded(
            "renew_lease",
            self.renew_lease_unbounded(group_id, owner, duration_ms, epoch),
        )
        .await
    }

    async fn release_lease(
        &self,
        group_id: GroupId,
        owner: &str,
        epoch: u64,
    ) -> Result<(), StoreError> {
        self.bounded(
            "release_lease",
            self.release_lease_unbounded(group_id, owner, epoch),
        )
        .await
    }

    async fn break_lease(&self, group_id: GroupId, holder: &str) -> Result<bool, StoreError> {
        self.bounded("break_lease", self.break_lease_unbounded(group_id, holder))
            .await
    }

    async fn renew_leases(
        &self,
        leases: &[(GroupId, u64)],
        owner: &str,
        duration_ms: u64,
    ) -> Result<Vec<bool>, StoreError> {
        self.bounded(
            "renew_leases",
            self.renew_leases_unbounded(leases, owner, duration_ms),
        )
        .await
    }

    async fn end_meeting(
        &self,
        meeting_id: MeetingId,
        ended_at_ms: UnixMs,
    ) -> Result<(), StoreError> {
        self.bounded(
            "end_meeting",
            self.end_meeting_unbounded(meeting_id, ended_at_ms),
        )
        .await
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn lease_holder(&self, group_id: GroupId) -> Result<Option<String>, StoreError> {
        self.bounded("lease_holder", self.lease_holder_unbounded(group_id))
            .await
    }

    async fn publish_node(&self, node: &NodeEntry, ttl_ms: u64) -> Result<(), StoreError> {
        self.bounded("publish_node", self.publish_node_unbounded(node, ttl_ms))
            .await
    }

    async fn live_nodes(&self, live_ms: u64, max: usize) -> Result<Vec<NodeEntry>, StoreError> {
        self.bounded("live_nodes", self.live_nodes_unbounded(live_ms, max))
            .await
    }

    async fn remove_node(&self, id: &str) -> Result<(), StoreError> {
        self.bounded("remove_node", self.remove_node_unbounded(id))
            .await
    }

    fn shared(&self) -> bool {
        true
    }

    async fn write_canary(&self, writer: &str, at_ms: UnixMs) -> Result<(), StoreError> {
        let mut command = redis::cmd("SET");
        command
            .arg(self.canary_key(writer))
            .arg(at_ms)
            .arg("PX")
            .arg(CANARY_TTL_MS);
        self.bounded("write_canary", self.query::<()>(&command))
            .await
    }

    async fn delete_group(&self, group_id: GroupId) -> Result<bool, StoreError> {
        self.bounded("delete_group", self.delete_group_unbounded(group_id))
            .await
    }

    async fn record_group_activity(
        &self,
        group_id: GroupId,
        at_ms: UnixMs,
        joined: bool,
    ) -> Result<(), StoreError> {
        self.bounded(
            "record_group_activity",
            self.record_group_activity_unbounded(group_id, at_ms, joined),
        )
        .await
    }

    async fn abandoned_groups(
        &self,
        unjoined_through_ms: UnixMs,
        joined_through_ms: Option<UnixMs>,
        max: usize,
    ) -> Result<Vec<GroupId>, StoreError> {
        self.bounded(
            "abandoned_groups",
            self.abandoned_groups_unbounded(unjoined_through_ms, joined_through_ms, max),
        )
        .await
    }

    async fn trim_ended_logs(
        &self,
        ended_through_ms: UnixMs,
        meetings_max: usize,
    ) -> Result<usize, StoreError> {
        self.bounded(
            "trim_ended_logs",
            self.trim_ended_logs_unbounded(ended_through_ms, meetings_max),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::without_credentials;

    #[test]
    fn a_url_loses_its_user_and_password_and_keeps_the_rest() {
        assert_eq!(
            without_credentials("redis://alice:hunter2@10.0.0.5:6380/3"),
            "redis://<credentials>@10.0.0.5:6380/3"
        );
        assert_eq!(
            without_credentials("rediss://:p@ss@host:6379"),
            "rediss://<credentials>@host:6379"
        );
        assert_eq!(
            without_credentials("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_eq!(without_credentials("not a url"), "not a url");
    }
}
