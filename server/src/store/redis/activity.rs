//! Groups' activity, for the retention of abandoned groups: two sorted sets of group ids
//! scored by last activity in Unix ms, `rt:{activity}:unjoined` (groups nobody joined yet) and
//! `rt:{activity}:joined` (see [`keys`](super::keys)).

use std::sync::LazyLock;

use redis::Script;
use roundtable_protocol::{GroupId, UnixMs};

use super::RedisStore;
#[cfg(doc)]
use crate::store::Store;
use crate::store::StoreError;

/// Moves a group's activity forward.
///
/// `KEYS[1]`: the unjoined set; `KEYS[2]`: the joined set. `ARGV[1]`: the time; `ARGV[2]`: '1'
/// when someone joined; `ARGV[3]`: the group id. A group joined leaves the unjoined set; its
/// score only grows (`GT`).
const RECORD_ACTIVITY_LUA: &str = r"
local joined = ARGV[2] == '1' or redis.call('ZSCORE', KEYS[2], ARGV[3])
if joined then
  local before = redis.call('ZSCORE', KEYS[1], ARGV[3])
  redis.call('ZREM', KEYS[1], ARGV[3])
  redis.call('ZADD', KEYS[2], 'GT', ARGV[1], ARGV[3])
  if before then
    redis.call('ZADD', KEYS[2], 'GT', before, ARGV[3])
  end
else
  redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[3])
end
return 0
";

static RECORD_ACTIVITY_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(RECORD_ACTIVITY_LUA));

impl RedisStore {
    pub(super) fn unjoined_key(&self) -> String {
        format!("{}{{activity}}:unjoined", self.options.key_prefix)
    }

    pub(super) fn joined_key(&self) -> String {
        format!("{}{{activity}}:joined", self.options.key_prefix)
    }

    /// [`Store::record_group_activity`], unbounded in time.
    pub(super) async fn record_group_activity_unbounded(
        &self,
        group_id: GroupId,
        at_ms: UnixMs,
        joined: bool,
    ) -> Result<(), StoreError> {
        let mut command = redis::cmd("EXISTS");
        command.arg(self.snapshot_key(group_id));
        if self.query::<i64>(&command).await? == 0 {
            return Err(StoreError::NotFound(format!("group {group_id}")));
        }
        let mut invocation = RECORD_ACTIVITY_SCRIPT.prepare_invoke();
        invocation
            .key(self.unjoined_key())
            .key(self.joined_key())
            .arg(at_ms.to_string())
            .arg(if joined { "1" } else { "0" })
            .arg(group_id.to_string());
        self.run_script::<i64>(&invocation).await?;
        Ok(())
    }

    /// [`Store::abandoned_groups`], unbounded in time.
    pub(super) async fn abandoned_groups_unbounded(
        &self,
        unjoined_through_ms: UnixMs,
        joined_through_ms: Option<UnixMs>,
        max: usize,
    ) -> Result<Vec<GroupId>, StoreError> {
        let mut due = Vec::new();
        let ranges = [
            (self.unjoined_key(), Some(unjoined_through_ms)),
            (self.joined_key(), joined_through_ms),
        ];
        for (key, through_ms) in ranges {
            let Some(through_ms) = through_ms else {
                continue;
            };
            if due.len() >= max {
                break;
            }
            let mut command = redis::cmd("ZRANGEBYSCORE");
            command
                .arg(&key)
                .arg("-inf")
                .arg(through_ms)
                .arg("LIMIT")
                .arg(0)
                .arg(max - due.len());
            let members: Vec<String> = self.query(&command).await?;
            for member in members {
                match member.parse::<GroupId>() {
                    Ok(group_id) => due.push(group_id),
                    Err(_) => {
                        let mut command = redis::cmd("ZREM");
                        command.arg(&key).arg(&member);
                        self.query::<i64>(&command).await?;
                        return Err(StoreError::Corrupt(format!(
                            "{key} held {member:?}, not a group id; removed it"
                        )));
                    }
                }
            }
        }
        Ok(due)
    }

    /// Removes the group's activity records (with the group).
    pub(super) async fn forget_activity(&self, group_id: GroupId) -> Result<(), StoreError> {
        for key in [self.unjoined_key(), self.joined_key()] {
            let mut command = redis::cmd("ZREM");
            command.arg(key).arg(group_id.to_string());
            self.query::<i64>(&command).await?;
        }
        Ok(())
    }
}
