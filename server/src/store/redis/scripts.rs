//! The Lua scripts, and invoking them.
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

use std::sync::{Arc, LazyLock};

use redis::aio::ConnectionManager;
use redis::{RedisResult, Script};

#[cfg(doc)]
use crate::store::{StoreError, check_batch_shape};

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

pub(super) static TAKE_LEASE_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(TAKE_LEASE_LUA));
pub(super) static RELEASE_LEASE_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(RELEASE_LEASE_LUA));
pub(super) static CREATE_GROUP_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(CREATE_GROUP_LUA));
pub(super) static APPEND_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(APPEND_LUA));

/// Runs `script` with `keys` and `args` on `connection`.
pub(super) async fn invoke(
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
pub(super) async fn invoke_lease(
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
