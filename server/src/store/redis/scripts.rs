//! The Lua scripts, and invoking them.
//!
//! An append runs as one Lua script (sent by `EVALSHA`, loaded on demand), which Redis executes
//! atomically. Before writing anything the script checks, in the same order as the embedded
//! store, that the group's snapshot key exists (otherwise [`StoreError::NotFound`]); that the
//! batch's fence holds: the group's lease epoch is the fence's and the lease is held by the
//! fence's owner or by nobody while the lease's record names that owner (otherwise
//! [`StoreError::Fenced`]); that the batch's first seq is the stored head plus one (otherwise [`StoreError::Conflict`]); and that
//! a snapshot in the batch is at the seq the log will be at after the batch (otherwise
//! [`StoreError::Conflict`]). Only then does it `XADD` the entries, set the head and replace the
//! snapshot. (Redis does not roll a script back when a command in it fails, which is why every
//! check comes before the first write.) Seqs cross into Lua as decimal strings and are compared
//! as strings, never as Lua numbers, so they stay exact over the whole `u64` range. The batch's
//! own shape (consecutive seqs, matching snapshot meeting) is checked in Rust first, by
//! [`check_batch_shape`], as in every store. Creating a group is a script too: it writes the
//! snapshot only if the key does not exist yet. Taking and releasing a lease are scripts as
//! well (see [`lease`](super::lease)).
//!
//! Each script's keys and arguments are laid out next to it, by the function that prepares its
//! invocation; [`RedisStore::run_script`] sends a prepared invocation.

use std::sync::LazyLock;

use redis::{FromRedisValue, Script, ScriptInvocation};

use super::RedisStore;
#[cfg(doc)]
use crate::store::check_batch_shape;
use crate::store::{AppendBatch, Snapshot, StoreError};

/// The Lua function the fenced scripts share: whether a writer holding `owner`'s take of the
/// lease (at the epoch the caller checked already) may act. The lease must be `owner`'s, or
/// nobody's (it ran out, or was ended, and nobody took it since) while the lease's record
/// still names `owner` as its last taker. The record matters after a failover that lost a take
/// of the lease: another owner's take on the promoted replica can answer the same epoch number,
/// and once that owner's lease runs out, the epoch alone would let the first one back in. Every
/// take writes the record in the same script as its epoch, so the record names the take that
/// epoch number belongs to.
macro_rules! taken_by_lua {
    () => {
        r"
local function taken_by(lease_key, record_key, owner)
  local holder = redis.call('GET', lease_key)
  if holder ~= false then
    return holder == owner
  end
  local record = redis.call('GET', record_key)
  return record ~= false and string.sub(record, 1, #owner + 1) == owner .. ' '
end
"
    };
}
pub(super) use taken_by_lua;

/// Creates a group: writes its snapshot unless the group exists.
///
/// `KEYS[1]`: the snapshot hash; `KEYS[2]`: the group's set of meetings. ARGV: the snapshot's
/// meeting id, seq and bytes.
const CREATE_GROUP_LUA: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'conflict'}
end
redis.call('HSET', KEYS[1], 'meeting', ARGV[1], 'seq', ARGV[2], 'data', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
return {'ok'}
";

/// Appends a batch after checking the group exists, the writer's fence holds and the seqs
/// continue the log.
///
/// When the batch names the group's current log epoch (`ARGV[#ARGV - 2]`), it also notes its
/// meeting and the head after it as that epoch's last write, in the record of log epochs (see
/// [`lineage`](super::lineage)); a record of another type or format is left alone.
///
/// `KEYS[1]`: the snapshot hash; `KEYS[2]`: the meeting's head; `KEYS[3]`: the meeting's log
/// stream; `KEYS[4]`: the group's set of meetings; `KEYS[5]`: the group's lease; `KEYS[6]`: the
/// group's epoch; `KEYS[7]`: the group's record of log epochs; `KEYS[8]`: the lease's record. `ARGV[#ARGV - 2]`: the log
/// epoch the writer serves, or ''; `ARGV[#ARGV - 1]`, `ARGV[#ARGV]`: the fence's owner and
/// epoch, or '' and '' for an unfenced batch (they come last so that the entries' numbering
/// stays). `ARGV[1]`: the head the batch requires, or ''
/// when it has no entries; `ARGV[2]`: the head after the batch, or '' when it has no entries;
/// `ARGV[3]`: the stream's approximate length cap; `ARGV[4]`: '1' when the batch carries a
/// snapshot, then `ARGV[5..7]` its meeting id, seq and bytes; `ARGV[8]`: the meeting id;
/// `ARGV[9..#ARGV - 3]`: each entry as its seq then its bytes.
const APPEND_LUA: &str = concat!(
    taken_by_lua!(),
    r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'not_found'}
end
local log_epoch = ARGV[#ARGV - 2]
local fence_owner = ARGV[#ARGV - 1]
local fence_epoch = ARGV[#ARGV]
if fence_epoch ~= '' then
  local epoch = redis.call('GET', KEYS[6]) or '0'
  if epoch ~= fence_epoch then
    return {'fenced', epoch}
  end
  if not taken_by(KEYS[5], KEYS[8], fence_owner) then
    return {'fenced', epoch}
  end
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
local note = false
if log_epoch ~= '' and (ARGV[2] ~= '' or ARGV[4] == '1')
    and redis.call('TYPE', KEYS[7]).ok == 'hash' then
  local record = redis.call('HMGET', KEYS[7], 'format', 'current')
  note = record[1] == '1' and record[2] == log_epoch
end
redis.call('SADD', KEYS[4], ARGV[8])
for i = 9, #ARGV - 3, 2 do
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], ARGV[i] .. '-0', 'e', ARGV[i + 1])
end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[2])
end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'meeting', ARGV[5], 'seq', ARGV[6], 'data', ARGV[7])
end
if note then
  redis.call('HSET', KEYS[7], 'current_through', ARGV[8] .. ' ' .. new_head)
end
return {'ok'}
"
);

/// Takes or renews a lease: sets it to the caller when free or already the caller's, and notes
/// who holds it until when (Redis's clock) in the lease's record, which outlives the lease.
/// A take (no expected epoch) raises the group's epoch (`INCR`); a renewal (the epoch the
/// caller's take answered) is granted only while the epoch is still that one and the lease is
/// the caller's, or nobody's while its record names the caller (see [`taken_by_lua`]), and
/// keeps it.
/// Answers `{held, gap, epoch}`: `held` is 1 when the caller holds the lease now; `gap` is, when
/// the caller took a lease that another owner let expire (a takeover), the ms since it expired,
/// else -1; `epoch` the group's epoch after the call.
///
/// `KEYS[1]`: the lease key; `KEYS[2]`: the lease's record; `KEYS[3]`: the group's epoch.
/// `ARGV[1]`: the owner id; `ARGV[2]`: the lease's duration in ms; `ARGV[3]`: how long the
/// record is kept, in ms; `ARGV[4]`: the epoch being renewed, or '' for a take.
const TAKE_LEASE_LUA: &str = concat!(
    taken_by_lua!(),
    r"
local holder = redis.call('GET', KEYS[1])
local epoch = redis.call('GET', KEYS[3]) or '0'
if holder ~= false and holder ~= ARGV[1] then
  return {0, -1, epoch}
end
if ARGV[4] ~= '' and (ARGV[4] ~= epoch or not taken_by(KEYS[1], KEYS[2], ARGV[1])) then
  return {0, -1, epoch}
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local gap = -1
if holder == false then
  local record = redis.call('GET', KEYS[2])
  if record then
    local space = string.find(record, ' ', 1, true)
    if space and string.sub(record, 1, space - 1) ~= ARGV[1] then
      local expired = tonumber(string.sub(record, space + 1))
      if expired then
        gap = math.max(0, now - expired)
      end
    end
  end
end
if ARGV[4] == '' then
  epoch = tostring(redis.call('INCR', KEYS[3]))
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1] .. ' ' .. tostring(now + tonumber(ARGV[2])), 'PX', ARGV[3])
return {1, gap, epoch}
"
);

/// Releases the lease the caller took at an epoch, with its record (a lease given up is no
/// takeover for the next owner; a lease that had run out, or was ended, keeps its record, which
/// says when), and raises the group's epoch, so that nothing at the released epoch renews the
/// lease or writes again: only while the group is still at that epoch (never 0: no take
/// answered it) and the lease is the caller's or nobody's.
///
/// `KEYS[1]`: the lease key; `KEYS[2]`: the lease's record; `KEYS[3]`: the group's epoch.
/// `ARGV[1]`: the owner id; `ARGV[2]`: the epoch being released. Answers 1 when it released.
const RELEASE_LEASE_LUA: &str = r"
if ARGV[2] == '0' then
  return 0
end
local holder = redis.call('GET', KEYS[1])
if holder ~= false and holder ~= ARGV[1] then
  return 0
end
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[2] then
  return 0
end
if holder == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
end
redis.call('INCR', KEYS[3])
return 1
";

/// Ends a lease held by an owner known to be gone, keeping its record (now naming the lease as
/// run out at Redis's now), so the next take is a takeover, reported as coming at once.
///
/// `KEYS[1]`: the lease key; `KEYS[2]`: the lease's record. `ARGV[1]`: the gone holder's id.
/// Answers 1 when the lease was ended, 0 when `ARGV[1]` did not hold it.
const BREAK_LEASE_LUA: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1] .. ' ' .. tostring(now), 'KEEPTTL')
return 1
";

static CREATE_GROUP_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(CREATE_GROUP_LUA));
static APPEND_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(APPEND_LUA));
static TAKE_LEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TAKE_LEASE_LUA));
static RELEASE_LEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE_LEASE_LUA));
static BREAK_LEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(BREAK_LEASE_LUA));

/// The invocation of [`CREATE_GROUP_LUA`] writing `snapshot` to the hash `snapshot_key`.
pub(super) fn create_group(
    snapshot_key: String,
    meetings_key: String,
    snapshot: &Snapshot,
) -> ScriptInvocation<'static> {
    let mut invocation = CREATE_GROUP_SCRIPT.prepare_invoke();
    invocation
        .key(snapshot_key)
        .key(meetings_key)
        .arg(snapshot.meeting_id.to_string())
        .arg(snapshot.seq.to_string())
        .arg(snapshot.bytes.as_slice());
    invocation
}

/// The keys of [`APPEND_LUA`]: the group's snapshot hash, the meeting's head and its log, the
/// group's set of meetings, its lease, its lease epoch and its record of log epochs.
pub(super) struct AppendKeys {
    pub snapshot: String,
    pub head: String,
    pub log: String,
    pub meetings: String,
    pub lease: String,
    pub epoch: String,
    pub log_epochs: String,
    pub lease_record: String,
}

/// The invocation of [`APPEND_LUA`] writing `batch`, capping the log at about
/// `log_entries_max` entries.
pub(super) fn append(
    keys: AppendKeys,
    batch: &AppendBatch<'_>,
    log_entries_max: usize,
) -> ScriptInvocation<'static> {
    let mut invocation = APPEND_SCRIPT.prepare_invoke();
    invocation
        .key(keys.snapshot)
        .key(keys.head)
        .key(keys.log)
        .key(keys.meetings)
        .key(keys.lease)
        .key(keys.epoch)
        .key(keys.log_epochs)
        .key(keys.lease_record);
    let (required_head, new_head) = match (batch.entries.first(), batch.entries.last()) {
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
    invocation
        .arg(required_head)
        .arg(new_head)
        .arg(log_entries_max.to_string());
    match batch.snapshot {
        Some(snapshot) => invocation
            .arg("1")
            .arg(snapshot.meeting_id.to_string())
            .arg(snapshot.seq.to_string())
            .arg(snapshot.bytes.as_slice()),
        None => invocation.arg("0").arg("").arg("").arg(""),
    };
    invocation.arg(batch.meeting_id.to_string());
    for entry in batch.entries {
        invocation
            .arg(entry.seq.to_string())
            .arg(entry.bytes.as_slice());
    }
    invocation.arg(
        batch
            .log_epoch
            .map_or_else(String::new, |log_epoch| log_epoch.to_string()),
    );
    match batch.fence {
        Some(fence) => invocation.arg(fence.owner).arg(fence.epoch.to_string()),
        None => invocation.arg("").arg(""),
    };
    invocation
}

/// How long a lease's record outlives the lease's last renewal, at least: long enough to see a
/// takeover after a long outage, short enough that records of dead rooms go by themselves.
const LEASE_RECORD_MS_MIN: u64 = 10 * 60 * 1000;

/// The invocation of [`TAKE_LEASE_LUA`] on `lease_key`, `record_key` and `epoch_key` for
/// `owner`, for `duration_ms`: a take, or with `renewing` the renewal of that epoch.
pub(super) fn take_lease(
    lease_key: String,
    record_key: String,
    epoch_key: String,
    owner: &str,
    duration_ms: u64,
    renewing: Option<u64>,
) -> ScriptInvocation<'static> {
    let mut invocation = TAKE_LEASE_SCRIPT.prepare_invoke();
    // PX refuses 0; a lease of no time at all is a lease of one millisecond.
    let duration_ms = duration_ms.max(1);
    invocation
        .key(lease_key)
        .key(record_key)
        .key(epoch_key)
        .arg(owner)
        .arg(duration_ms.to_string())
        .arg(
            duration_ms
                .saturating_mul(4)
                .max(LEASE_RECORD_MS_MIN)
                .to_string(),
        )
        .arg(renewing.map_or_else(String::new, |epoch| epoch.to_string()));
    invocation
}

/// The invocation of [`RELEASE_LEASE_LUA`] on `lease_key` and `record_key` for `owner`.
pub(super) fn release_lease(
    lease_key: String,
    record_key: String,
    epoch_key: String,
    owner: &str,
    epoch: u64,
) -> ScriptInvocation<'static> {
    let mut invocation = RELEASE_LEASE_SCRIPT.prepare_invoke();
    invocation
        .key(lease_key)
        .key(record_key)
        .key(epoch_key)
        .arg(owner)
        .arg(epoch.to_string());
    invocation
}

/// The invocation of [`BREAK_LEASE_LUA`] on `lease_key` and `record_key` for the gone `holder`.
pub(super) fn break_lease(
    lease_key: String,
    record_key: String,
    holder: &str,
) -> ScriptInvocation<'static> {
    let mut invocation = BREAK_LEASE_SCRIPT.prepare_invoke();
    invocation.key(lease_key).key(record_key).arg(holder);
    invocation
}

impl RedisStore {
    /// Runs a prepared script invocation (by `EVALSHA`, loading the script when Redis does not
    /// have it) as one Redis operation (see [`RedisStore::call`]).
    pub(super) async fn run_script<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        self.call(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await
    }
}
