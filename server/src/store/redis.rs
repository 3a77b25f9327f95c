//! The Redis store: groups, snapshots and event logs in a Redis server.
//!
//! # Redis key layout
//!
//! Every key starts with a configurable prefix, `rt:` by default ([`RedisOptions::key_prefix`]),
//! so that several deployments or test runs can share one Redis without seeing each other's
//! data. Below, `<group>` and `<meeting>` are ids in their hyphenated UUID form.
//!
//! - `rt:{g:<group>}:snapshot` is a hash holding the group's latest snapshot in three fields:
//!   `meeting` (the snapshot's meeting id), `seq` (the seq it was taken at, in decimal) and
//!   `data` (the snapshot's opaque bytes). Its existence is what makes the group exist.
//! - `rt:{g:<group>}:m:<meeting>:log` is a Redis Stream holding the meeting's event log. Each
//!   entry has the explicit stream id `<seq>-0` (the event's seq as the id's first part, zero as
//!   its second) and one field, `e`, holding the event's bytes. Because the stream id orders like
//!   the seq, `XRANGE key <after+1> + COUNT <limit>` reads the entries after a seq in order, and
//!   `XTRIM key MINID <through+1>` removes the entries up to a seq. Seq 0 is never logged (a log
//!   starts at 1), so the id `0-0`, which streams refuse, is never needed; with the seq in the
//!   id's first part, a bare seq is itself a valid range bound, which `0-<seq>` would not give.
//!   A stream refuses an id not greater than its last one, so a repeated seq could never be
//!   stored twice even without the head check.
//! - `rt:{g:<group>}:m:<meeting>:head` is a string holding, in decimal, the last seq ever
//!   appended to the meeting's log. It is kept when the log is trimmed, so that the log goes on
//!   where it was rather than where its oldest remaining entry is; a missing head means 0.
//! - `rt:meeting:<meeting>` is a string holding the id of the group the meeting belongs to. It
//!   is an index for [`Store::read_log`] and [`Store::trim_log`], which are given only a
//!   meeting id, while the meeting's keys are named by its group.
//!
//! - `rt:{g:<group>}:lease` is a string holding the random owner id of the server process
//!   whose live room runs the group's meeting, with an expiry (`PX`). See "Ownership" below.
//! - `rt:ended_meetings` is a sorted set of the ended meetings whose logs are still kept: the
//!   member is the meeting id, the score the time it ended in Unix milliseconds. The retention
//!   pass reads it oldest first (`ZRANGEBYSCORE ... LIMIT`), deletes each due meeting's log
//!   stream, then removes the member. The meeting's head and index keys stay (they are small,
//!   and the head keeps seqs from repeating).
//!
//! The part in braces is a Redis Cluster hash tag: a cluster places a key by the hash of the tag
//! alone, so all keys of one group, its meetings' logs and heads included, live on the same node.
//! This matters because one append writes the group's snapshot, the meeting's log and the
//! meeting's head together, atomically, and Redis runs a script or transaction only over keys of
//! one hash slot. That is also why a meeting's keys carry its group's tag rather than a tag of
//! their own. The index key `rt:meeting:<meeting>` has no tag and may live on another node, so
//! it is written by its own command, never inside the append script: when a group is created
//! (for its first snapshot's meeting), and before the first append to a meeting that this
//! process makes (remembered in a bounded in-memory map, so later appends skip it). Writing it
//! before the log entries means that a log is never without its index; a meeting's group never
//! changes, so writing it twice is harmless. Reading a log costs one extra `GET` for the index,
//! also remembered in memory.
//!
//! An append runs as one Lua script (sent by `EVALSHA`, loaded on demand), which Redis executes
//! atomically. Before writing anything the script checks, in the same order as the embedded
//! store, that the group's snapshot key exists (otherwise [`StoreError::NotFound`]); that the
//! batch's first seq is the stored head plus one (otherwise [`StoreError::Conflict`]); and that
//! a snapshot in the batch is at the seq the log will be at after the batch (otherwise
//! [`StoreError::Conflict`]). Only then does it `XADD` the entries, set the head and replace the
//! snapshot. (Redis does not roll a script back when a command in it fails, which is why every
//! check comes before the first write.) Seqs cross into Lua as decimal strings and are compared as strings, never as Lua
//! numbers, so they stay exact over the whole `u64` range. The batch's own shape (consecutive
//! seqs, matching snapshot meeting) is checked in Rust first, by [`check_batch_shape`], as in
//! every store. Creating a group is a script too: it writes the snapshot only if the key does
//! not exist yet.
//!
//! Each `XADD` caps the stream with `MAXLEN ~ <cap>` ([`LOG_ENTRIES_MAX`] by default), which lets
//! Redis drop the oldest entries, in whole internal nodes and so cheaply, once a meeting's log
//! grows past the cap. This is safe: the room's state is kept in the snapshot, and a client that
//! resumes from a seq whose entries are gone is sent a snapshot instead. A meeting whose log is
//! trimmed this way shows a gap at its start, like after [`Store::trim_log`].
//!
//! Every call is bounded by [`RedisOptions::timeout`]: an unreachable or stalled Redis gives
//! [`StoreError::Unavailable`] once it passes. The connection is a
//! [`redis::aio::ConnectionManager`], which reconnects by itself, so the same store works again
//! once Redis is back. A write that timed out may still have been carried out, if Redis got the
//! command and ran it late: a retry of it then fails with [`StoreError::Conflict`]. How durable
//! an acknowledged write is depends on the server's persistence settings: with `appendonly yes`
//! Redis writes its append-only file before it replies, so a crash of Redis loses nothing
//! acknowledged; a power loss loses at most the last second with `appendfsync everysec`, like
//! the embedded store's last ~100 ms, and nothing with `appendfsync always`.
//!
//! # Ownership
//!
//! [`Store::take_lease`] runs one script on the lease key: when the key is missing (never
//! taken, released, or expired) or holds the caller's own id, it sets the key to the caller's
//! id with a fresh expiry (`SET ... PX`), and answers that the caller holds it; otherwise it
//! changes nothing. Taking and renewing are thus the same call, and a renewal after the lease
//! expired succeeds only if nobody else took it meanwhile. [`Store::release_lease`] deletes
//! the key only if it still holds the caller's id. The expiry runs on Redis's clock, so the
//! processes' clocks need not agree.
//!
//! The layout is ready for Redis Cluster, but the connection is to one server (or a proxy);
//! talking to a cluster directly would need the `redis` crate's cluster connection instead.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, RedisResult, Script, ServerErrorKind};
use roundtable_protocol::{GroupId, MeetingId, Seq, UnixMs};

use super::{AppendBatch, LoadedRoom, LogEntry, Snapshot, Store, StoreError, check_batch_shape};

/// The default approximate cap on the entries kept in one meeting's log stream.
pub const LOG_ENTRIES_MAX: usize = 100_000;

/// The most meeting-to-group mappings remembered in memory; the memory is cleared when full.
const KNOWN_MEETINGS_MAX: usize = 65_536;

/// The stream field holding an entry's bytes.
const ENTRY_FIELD: &str = "e";

/// Creates a group: writes its snapshot unless the group exists.
///
/// KEYS[1]: the snapshot hash. ARGV: the snapshot's meeting id, seq and bytes.
const CREATE_GROUP_LUA: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'conflict'}
end
redis.call('HSET', KEYS[1], 'meeting', ARGV[1], 'seq', ARGV[2], 'data', ARGV[3])
return {'ok'}
";

/// Appends a batch after checking the group exists and the seqs continue the log.
///
/// KEYS[1]: the snapshot hash; KEYS[2]: the meeting's head; KEYS[3]: the meeting's log stream.
/// ARGV[1]: the head the batch requires, or '' when it has no entries; ARGV[2]: the head after
/// the batch, or '' when it has no entries; ARGV[3]: the stream's approximate length cap;
/// ARGV[4]: '1' when the batch carries a snapshot, then ARGV[5..7] its meeting id, seq and bytes;
/// ARGV[8..]: each entry as its seq then its bytes.
const APPEND_LUA: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'not_found'}
end
local head = redis.call('GET', KEYS[2]) or '0'
if ARGV[1] ~= '' and ARGV[1] ~= head then
  return {'seq_conflict', head}
end
local new_head = head
if ARGV[2] ~= '' then
  new_head = ARGV[2]
end
if ARGV[4] == '1' and ARGV[6] ~= new_head then
  return {'snapshot_conflict', new_head}
end
for i = 8, #ARGV, 2 do
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], ARGV[i] .. '-0', 'e', ARGV[i + 1])
end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[2])
end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'meeting', ARGV[5], 'seq', ARGV[6], 'data', ARGV[7])
end
return {'ok'}
";

/// Takes or renews a lease: sets it to the caller when free or already the caller's.
///
/// KEYS[1]: the lease key. ARGV[1]: the owner id; ARGV[2]: the lease's duration in ms.
const TAKE_LEASE_LUA: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// Releases a lease only if the caller holds it.
///
/// KEYS[1]: the lease key. ARGV[1]: the owner id.
const RELEASE_LEASE_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
";

static TAKE_LEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TAKE_LEASE_LUA));
static RELEASE_LEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE_LEASE_LUA));
static CREATE_GROUP_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(CREATE_GROUP_LUA));
static APPEND_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(APPEND_LUA));

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
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            key_prefix: "rt:".into(),
            timeout: Duration::from_secs(2),
            log_entries_max: LOG_ENTRIES_MAX,
        }
    }
}

/// A store in a Redis server. Cheap to clone; all clones share the connection.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    options: Arc<RedisOptions>,
    /// Meetings whose index key this process has written or read: meeting id -> group id.
    known_meetings: Arc<Mutex<HashMap<MeetingId, GroupId>>>,
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
        if options.key_prefix.contains(['{', '}']) {
            return Err(StoreError::Unavailable(format!(
                "redis key prefix {:?} must not contain braces",
                options.key_prefix
            )));
        }
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
        let connection = tokio::time::timeout(
            options.timeout,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| {
            StoreError::Unavailable(format!(
                "redis at {url} did not answer within {:?}",
                options.timeout
            ))
        })?
        .map_err(|error| map_error(&error))?;
        Ok(RedisStore {
            connection,
            options: Arc::new(options),
            known_meetings: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    fn group_tag(&self, group_id: GroupId) -> String {
        format!("{}{{g:{group_id}}}", self.options.key_prefix)
    }

    fn snapshot_key(&self, group_id: GroupId) -> String {
        format!("{}:snapshot", self.group_tag(group_id))
    }

    fn head_key(&self, group_id: GroupId, meeting_id: MeetingId) -> String {
        format!("{}:m:{meeting_id}:head", self.group_tag(group_id))
    }

    fn log_key(&self, group_id: GroupId, meeting_id: MeetingId) -> String {
        format!("{}:m:{meeting_id}:log", self.group_tag(group_id))
    }

    fn lease_key(&self, group_id: GroupId) -> String {
        format!("{}:lease", self.group_tag(group_id))
    }

    fn ended_meetings_key(&self) -> String {
        format!("{}ended_meetings", self.options.key_prefix)
    }

    fn meeting_index_key(&self, meeting_id: MeetingId) -> String {
        format!("{}meeting:{meeting_id}", self.options.key_prefix)
    }

    /// Runs one Redis operation. `operation` is called with a handle on the connection; it is
    /// called a second time only if the first attempt failed to connect at all (so the command
    /// was never sent), which happens once after Redis comes back.
    async fn call<T, F, Fut>(&self, operation: F) -> Result<T, StoreError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let result = match operation(self.connection.clone()).await {
            Err(error) if error.is_connection_refusal() => operation(self.connection.clone()).await,
            result => result,
        };
        result.map_err(|error| map_error(&error))
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

    fn remember_meeting(&self, meeting_id: MeetingId, group_id: GroupId) {
        let mut known = self.known_meetings.lock().expect("known meetings lock");
        if known.len() >= KNOWN_MEETINGS_MAX {
            known.clear();
        }
        known.insert(meeting_id, group_id);
    }

    fn known_group(&self, meeting_id: MeetingId) -> Option<GroupId> {
        let known = self.known_meetings.lock().expect("known meetings lock");
        known.get(&meeting_id).copied()
    }

    /// Writes the meeting's index key unless this process has already.
    async fn ensure_meeting_index(
        &self,
        meeting_id: MeetingId,
        group_id: GroupId,
    ) -> Result<(), StoreError> {
        if self.known_group(meeting_id) == Some(group_id) {
            return Ok(());
        }
        self.write_meeting_index(meeting_id, group_id).await
    }

    async fn write_meeting_index(
        &self,
        meeting_id: MeetingId,
        group_id: GroupId,
    ) -> Result<(), StoreError> {
        let key = self.meeting_index_key(meeting_id);
        let value = group_id.to_string();
        self.call(|mut connection| {
            let mut command = redis::cmd("SET");
            command.arg(&key).arg(&value);
            async move { command.query_async::<()>(&mut connection).await }
        })
        .await?;
        self.remember_meeting(meeting_id, group_id);
        Ok(())
    }

    /// The group a meeting belongs to, from memory or the index key; `None` if never indexed.
    async fn meeting_group(&self, meeting_id: MeetingId) -> Result<Option<GroupId>, StoreError> {
        if let Some(group_id) = self.known_group(meeting_id) {
            return Ok(Some(group_id));
        }
        let key = self.meeting_index_key(meeting_id);
        let value: Option<String> = self
            .call(|mut connection| {
                let mut command = redis::cmd("GET");
                command.arg(&key);
                async move { command.query_async(&mut connection).await }
            })
            .await?;
        let Some(value) = value else {
            return Ok(None);
        };
        let group_id: GroupId = value.parse().map_err(|_| {
            StoreError::Corrupt(format!(
                "meeting index {key} holds {value:?}, not a group id"
            ))
        })?;
        self.remember_meeting(meeting_id, group_id);
        Ok(Some(group_id))
    }

    /// Up to `limit` entries of the stream `key` with seq greater than `after_seq`, in order.
    async fn read_entries(
        &self,
        key: &str,
        after_seq: Seq,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let Some(first) = after_seq.checked_add(1) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let start = format!("{first}-0");
        let raw: Vec<(String, Vec<Vec<u8>>)> = self
            .call(|mut connection| {
                let mut command = redis::cmd("XRANGE");
                command.arg(key).arg(&start).arg("+");
                if limit != usize::MAX {
                    command.arg("COUNT").arg(limit);
                }
                async move { command.query_async(&mut connection).await }
            })
            .await?;
        raw.into_iter()
            .map(|(id, fields)| decode_entry(key, &id, fields))
            .collect()
    }
}

fn decode_entry(key: &str, id: &str, fields: Vec<Vec<u8>>) -> Result<LogEntry, StoreError> {
    let seq = id
        .strip_suffix("-0")
        .and_then(|seq| seq.parse::<Seq>().ok())
        .ok_or_else(|| {
            StoreError::Corrupt(format!("stream {key} has entry id {id}, not <seq>-0"))
        })?;
    let mut fields = fields.into_iter();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        if name == ENTRY_FIELD.as_bytes() {
            return Ok(LogEntry { seq, bytes: value });
        }
    }
    Err(StoreError::Corrupt(format!(
        "stream {key} entry {id} has no field {ENTRY_FIELD:?}"
    )))
}

fn decode_snapshot(
    key: &str,
    fields: Vec<Option<Vec<u8>>>,
) -> Result<Option<Snapshot>, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("snapshot {key}: {what}"));
    let [meeting, seq, data]: [Option<Vec<u8>>; 3] = fields
        .try_into()
        .map_err(|_| corrupt("HMGET did not return three fields"))?;
    let (meeting, seq, data) = match (meeting, seq, data) {
        (None, None, None) => return Ok(None),
        (Some(meeting), Some(seq), Some(data)) => (meeting, seq, data),
        _ => return Err(corrupt("some of the fields meeting, seq, data are missing")),
    };
    let meeting_id = std::str::from_utf8(&meeting)
        .ok()
        .and_then(|meeting| meeting.parse::<MeetingId>().ok())
        .ok_or_else(|| corrupt("field meeting is not a meeting id"))?;
    let seq = std::str::from_utf8(&seq)
        .ok()
        .and_then(|seq| seq.parse::<Seq>().ok())
        .ok_or_else(|| corrupt("field seq is not a number"))?;
    Ok(Some(Snapshot {
        meeting_id,
        seq,
        bytes: data,
    }))
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

/// Runs `script` with `keys` and `args` on `connection`.
async fn invoke(
    script: &Script,
    keys: Arc<Vec<String>>,
    args: Arc<Vec<Vec<u8>>>,
    mut connection: ConnectionManager,
) -> RedisResult<Vec<String>> {
    let mut invocation = script.prepare_invoke();
    for key in keys.iter() {
        invocation.key(key);
    }
    for arg in args.iter() {
        invocation.arg(arg.as_slice());
    }
    invocation.invoke_async(&mut connection).await
}

/// Runs a lease script with one key and string arguments, answering its integer result.
async fn invoke_lease(
    script: &Script,
    key: String,
    args: Vec<String>,
    mut connection: ConnectionManager,
) -> RedisResult<i64> {
    let mut invocation = script.prepare_invoke();
    invocation.key(key);
    for arg in args {
        invocation.arg(arg);
    }
    invocation.invoke_async(&mut connection).await
}

/// The store calls, each unbounded in time; [`Store`] bounds them.
impl RedisStore {
    async fn take_lease_unbounded(
        &self,
        group_id: GroupId,
        owner: &str,
        duration_ms: u64,
    ) -> Result<bool, StoreError> {
        let key = self.lease_key(group_id);
        // PX refuses 0; a lease of no time at all is a lease of one millisecond.
        let duration_ms = duration_ms.max(1).to_string();
        let held = self
            .call(|connection| {
                invoke_lease(
                    &TAKE_LEASE_SCRIPT,
                    key.clone(),
                    vec![owner.to_string(), duration_ms.clone()],
                    connection,
                )
            })
            .await?;
        Ok(held == 1)
    }

    async fn release_lease_unbounded(
        &self,
        group_id: GroupId,
        owner: &str,
    ) -> Result<(), StoreError> {
        let key = self.lease_key(group_id);
        self.call(|connection| {
            invoke_lease(
                &RELEASE_LEASE_SCRIPT,
                key.clone(),
                vec![owner.to_string()],
                connection,
            )
        })
        .await?;
        Ok(())
    }

    async fn end_meeting_unbounded(
        &self,
        meeting_id: MeetingId,
        ended_at_ms: UnixMs,
    ) -> Result<(), StoreError> {
        let key = self.ended_meetings_key();
        let member = meeting_id.to_string();
        self.call(|mut connection| {
            let mut command = redis::cmd("ZADD");
            // NX: a meeting recorded as ended keeps its first end time.
            command.arg(&key).arg("NX").arg(ended_at_ms).arg(&member);
            async move { command.query_async::<i64>(&mut connection).await }
        })
        .await?;
        Ok(())
    }

    async fn trim_ended_logs_unbounded(
        &self,
        ended_through_ms: UnixMs,
        meetings_max: usize,
    ) -> Result<usize, StoreError> {
        if meetings_max == 0 {
            return Ok(0);
        }
        let key = self.ended_meetings_key();
        let due: Vec<String> = self
            .call(|mut connection| {
                let mut command = redis::cmd("ZRANGEBYSCORE");
                command
                    .arg(&key)
                    .arg("-inf")
                    .arg(ended_through_ms)
                    .arg("LIMIT")
                    .arg(0)
                    .arg(meetings_max);
                async move { command.query_async(&mut connection).await }
            })
            .await?;
        for member in &due {
            let remove_due = || async {
                self.call(|mut connection| {
                    let mut command = redis::cmd("ZREM");
                    command.arg(&key).arg(member);
                    async move { command.query_async::<i64>(&mut connection).await }
                })
                .await
            };
            let Ok(meeting_id) = member.parse::<MeetingId>() else {
                // Dropped from the set, so that it does not block every later pass, and
                // reported once.
                remove_due().await?;
                return Err(StoreError::Corrupt(format!(
                    "{key} held {member:?}, not a meeting id; removed it"
                )));
            };
            // The log goes first and the due record last, so a pass cut short by an outage
            // leaves the meeting due and the next pass finishes it.
            if let Some(group_id) = self.meeting_group(meeting_id).await? {
                let log_key = self.log_key(group_id, meeting_id);
                self.call(|mut connection| {
                    let mut command = redis::cmd("DEL");
                    command.arg(&log_key);
                    async move { command.query_async::<i64>(&mut connection).await }
                })
                .await?;
            }
            remove_due().await?;
        }
        Ok(due.len())
    }

    async fn create_group_unbounded(
        &self,
        group_id: GroupId,
        snapshot: &Snapshot,
    ) -> Result<(), StoreError> {
        let keys = Arc::new(vec![self.snapshot_key(group_id)]);
        let args = Arc::new(vec![
            snapshot.meeting_id.to_string().into_bytes(),
            snapshot.seq.to_string().into_bytes(),
            snapshot.bytes.clone(),
        ]);
        let status = self
            .call(|connection| {
                invoke(
                    &CREATE_GROUP_SCRIPT,
                    Arc::clone(&keys),
                    Arc::clone(&args),
                    connection,
                )
            })
            .await?;
        match status.first().map(String::as_str) {
            Some("ok") => {}
            Some("conflict") => {
                return Err(StoreError::Conflict(format!("group {group_id} exists")));
            }
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "create_group script answered {status:?}"
                )));
            }
        }
        self.write_meeting_index(snapshot.meeting_id, group_id)
            .await
    }

    async fn load_room_unbounded(
        &self,
        group_id: GroupId,
    ) -> Result<Option<LoadedRoom>, StoreError> {
        let key = self.snapshot_key(group_id);
        let fields: Vec<Option<Vec<u8>>> = self
            .call(|mut connection| {
                let mut command = redis::cmd("HMGET");
                command.arg(&key).arg("meeting").arg("seq").arg("data");
                async move { command.query_async(&mut connection).await }
            })
            .await?;
        let Some(snapshot) = decode_snapshot(&key, fields)? else {
            return Ok(None);
        };
        // The snapshot and the log are written by one script, so reading the tail afterwards
        // can only find more entries, never fewer (unless they were trimmed meanwhile).
        let log_key = self.log_key(group_id, snapshot.meeting_id);
        let tail = self
            .read_entries(&log_key, snapshot.seq, usize::MAX)
            .await?;
        Ok(Some(LoadedRoom { snapshot, tail }))
    }

    async fn append_unbounded(&self, batch: AppendBatch<'_>) -> Result<(), StoreError> {
        check_batch_shape(&batch)?;
        let AppendBatch {
            group_id,
            meeting_id,
            entries,
            snapshot,
        } = batch;
        let (required_head, new_head) = match (entries.first(), entries.last()) {
            (Some(first), Some(last)) => (
                // A first seq of 0 can follow no head; "-1" matches no stored head.
                first
                    .seq
                    .checked_sub(1)
                    .map_or_else(|| "-1".to_string(), |head| head.to_string()),
                last.seq.to_string(),
            ),
            _ => (String::new(), String::new()),
        };
        let mut args: Vec<Vec<u8>> = Vec::with_capacity(7 + 2 * entries.len());
        args.push(required_head.clone().into_bytes());
        args.push(new_head.into_bytes());
        args.push(self.options.log_entries_max.to_string().into_bytes());
        match snapshot {
            Some(snapshot) => {
                args.push(b"1".to_vec());
                args.push(snapshot.meeting_id.to_string().into_bytes());
                args.push(snapshot.seq.to_string().into_bytes());
                args.push(snapshot.bytes.clone());
            }
            None => {
                args.extend([b"0".to_vec(), Vec::new(), Vec::new(), Vec::new()]);
            }
        }
        for entry in entries {
            args.push(entry.seq.to_string().into_bytes());
            args.push(entry.bytes.clone());
        }
        let keys = Arc::new(vec![
            self.snapshot_key(group_id),
            self.head_key(group_id, meeting_id),
            self.log_key(group_id, meeting_id),
        ]);
        let args = Arc::new(args);

        // The index goes first so that a logged entry is never without it.
        if !entries.is_empty() {
            self.ensure_meeting_index(meeting_id, group_id).await?;
        }
        let status = self
            .call(|connection| {
                invoke(
                    &APPEND_SCRIPT,
                    Arc::clone(&keys),
                    Arc::clone(&args),
                    connection,
                )
            })
            .await?;
        match status.as_slice() {
            [ok] if ok == "ok" => Ok(()),
            [not_found] if not_found == "not_found" => {
                Err(StoreError::NotFound(format!("group {group_id}")))
            }
            [conflict, head] if conflict == "seq_conflict" => {
                let first = entries.first().map_or(0, |entry| entry.seq);
                Err(StoreError::Conflict(format!(
                    "meeting {meeting_id} log is at seq {head}; batch starts at {first}"
                )))
            }
            [conflict, head] if conflict == "snapshot_conflict" => {
                let seq = snapshot.map_or(0, |snapshot| snapshot.seq);
                Err(StoreError::Conflict(format!(
                    "snapshot at seq {seq} but the log will be at {head}"
                )))
            }
            _ => Err(StoreError::Corrupt(format!(
                "append script answered {status:?}"
            ))),
        }
    }

    async fn read_log_unbounded(
        &self,
        meeting_id: MeetingId,
        after_seq: Seq,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let Some(group_id) = self.meeting_group(meeting_id).await? else {
            return Ok(Vec::new());
        };
        let key = self.log_key(group_id, meeting_id);
        self.read_entries(&key, after_seq, limit).await
    }

    async fn trim_log_unbounded(
        &self,
        meeting_id: MeetingId,
        through_seq: Seq,
    ) -> Result<(), StoreError> {
        let Some(group_id) = self.meeting_group(meeting_id).await? else {
            return Ok(());
        };
        let key = self.log_key(group_id, meeting_id);
        self.call(|mut connection| {
            let mut command = redis::cmd("XTRIM");
            command.arg(&key);
            match through_seq.checked_add(1) {
                // Exact trimming: every entry with an id below `<through+1>-0` goes.
                Some(min_seq) => command.arg("MINID").arg("=").arg(min_seq),
                None => command.arg("MAXLEN").arg("=").arg(0),
            };
            async move { command.query_async::<u64>(&mut connection).await }
        })
        .await?;
        Ok(())
    }
}

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
        self.bounded("append", self.append_unbounded(batch)).await
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
        self.bounded(
            "take_lease",
            self.take_lease_unbounded(group_id, owner, duration_ms),
        )
        .await
    }

    async fn release_lease(&self, group_id: GroupId, owner: &str) -> Result<(), StoreError> {
        self.bounded(
            "release_lease",
            self.release_lease_unbounded(group_id, owner),
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
