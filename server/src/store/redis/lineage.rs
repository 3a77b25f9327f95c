//! The log epochs a group's room was served under ([`Store::begin_log_epoch`]).
//!
//! The record is the string `rt:{g:<group>}:log_epochs`, format 1: the digit `1`, then the
//! current log epoch, then each earlier one as `<epoch>:<last seq>`, newest first, all
//! separated by single spaces, epochs in their hyphenated UUID form and seqs in decimal:
//!
//! ```text
//! 1 9b1d3f57-0a2c-4e6b-8d1f-3a5c7e9b0d2f 5a7c0e12-94b3-4c1d-8e6f-2b3c4d5e6f70:41
//! ```
//!
//! One script, fenced like an append (the group's lease epoch is the fence's, and the lease is
//! the fence's owner's or nobody's), reads it, makes the current epoch the newest earlier one
//! with the head the new room loaded, keeps at most [`EARLIER_LOG_EPOCHS_MAX`] earlier ones,
//! writes the new epoch as current and answers the new record. A record of a format this code
//! does not know is left alone and answers no earlier epoch (a newer node wrote it; its rooms'
//! clients resume with a snapshot here). The record carries the group's hash tag, so it lives
//! in the group's slot with its log, and a failover that loses the one's last writes loses the
//! other's with them (see [`Store::begin_log_epoch`]). It goes with the group on deletion.

use std::sync::LazyLock;

use redis::Script;
use roundtable_protocol::{GroupId, LogEpoch, Seq};

use super::RedisStore;
#[cfg(doc)]
use crate::store::Store;
use crate::store::{EARLIER_LOG_EPOCHS_MAX, EarlierEpoch, Fence, StoreError};

/// The format of the record this code writes and reads.
const FORMAT: &str = "1";

/// Begins a log epoch.
///
/// `KEYS[1]`: the record; `KEYS[2]`: the group's lease; `KEYS[3]`: the group's lease epoch.
/// `ARGV[1]`, `ARGV[2]`: the fence's owner and epoch; `ARGV[3]`: the new log epoch; `ARGV[4]`:
/// the head the room loaded; `ARGV[5]`: how many earlier epochs to keep. Answers
/// `{'ok', record}`, `{'fenced', epoch}` or `{'unknown_format', record}`.
const BEGIN_LUA: &str = r"
local epoch = redis.call('GET', KEYS[3]) or '0'
if epoch ~= ARGV[2] then
  return {'fenced', epoch}
end
local holder = redis.call('GET', KEYS[2])
if holder ~= false and holder ~= ARGV[1] then
  return {'fenced', epoch}
end
local record = '1 ' .. ARGV[3]
local old = redis.call('GET', KEYS[1])
if old then
  local format, current, rest = string.match(old, '^(%d+) (%S+)(.*)$')
  if format ~= '1' then
    return {'unknown_format', old}
  end
  record = record .. ' ' .. current .. ':' .. ARGV[4]
  local kept = 1
  for earlier in string.gmatch(rest, '%S+') do
    if kept >= tonumber(ARGV[5]) then
      break
    end
    record = record .. ' ' .. earlier
    kept = kept + 1
  end
end
redis.call('SET', KEYS[1], record)
return {'ok', record}
";

static BEGIN_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(BEGIN_LUA));

impl RedisStore {
    pub(super) fn log_epochs_key(&self, group_id: GroupId) -> String {
        format!("{}:log_epochs", self.group_tag(group_id))
    }

    pub(super) async fn begin_log_epoch_unbounded(
        &self,
        group_id: GroupId,
        fence: Fence<'_>,
        log_epoch: LogEpoch,
        head: Seq,
    ) -> Result<Vec<EarlierEpoch>, StoreError> {
        let mut invocation = BEGIN_SCRIPT.prepare_invoke();
        invocation
            .key(self.log_epochs_key(group_id))
            .key(self.lease_key(group_id))
            .key(self.epoch_key(group_id))
            .arg(fence.owner)
            .arg(fence.epoch.to_string())
            .arg(log_epoch.to_string())
            .arg(head.to_string())
            .arg(EARLIER_LOG_EPOCHS_MAX.to_string());
        let (outcome, value): (String, String) = self.run_script(&invocation).await?;
        match outcome.as_str() {
            "ok" => decode(&value)
                .map(|(_, earlier)| earlier)
                .ok_or_else(|| corrupt(group_id, &value)),
            "fenced" => Err(StoreError::Fenced(format!(
                "group {group_id}'s lease is at epoch {value}, not {}",
                fence.epoch
            ))),
            "unknown_format" => Ok(Vec::new()),
            other => Err(StoreError::Corrupt(format!(
                "the log epoch script answered {other:?}"
            ))),
        }
    }
}

fn corrupt(group_id: GroupId, record: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "group {group_id}'s log epochs hold {record:?}, not a record of format {FORMAT}"
    ))
}

/// A record of format 1: its current epoch and the earlier ones, or `None` if it is not one.
pub(super) fn decode(record: &str) -> Option<(LogEpoch, Vec<EarlierEpoch>)> {
    let mut parts = record.split(' ');
    if parts.next()? != FORMAT {
        return None;
    }
    let current = parts.next()?.parse().ok()?;
    let earlier = parts
        .map(|part| {
            let (epoch, seq) = part.split_once(':')?;
            Some(EarlierEpoch {
                log_epoch: epoch.parse().ok()?,
                through_seq: seq.parse().ok()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some((current, earlier))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record of format 1 as the script writes it, kept byte for byte: stored records must
    /// read the same for as long as they may be stored.
    const GOLDEN: &str = "1 9b1d3f57-0a2c-4e6b-8d1f-3a5c7e9b0d2f \
                          5a7c0e12-94b3-4c1d-8e6f-2b3c4d5e6f70:41 \
                          0c8e5f7a-1b2c-4d3e-8f90-a1b2c3d4e5f6:18446744073709551615";

    #[test]
    fn a_format_1_record_reads_as_its_current_and_earlier_epochs_newest_first() {
        let (current, earlier) = decode(GOLDEN).expect("format 1");
        assert_eq!(current.to_string(), "9b1d3f57-0a2c-4e6b-8d1f-3a5c7e9b0d2f");
        assert_eq!(
            earlier
                .iter()
                .map(|earlier| (earlier.log_epoch.to_string(), earlier.through_seq))
                .collect::<Vec<_>>(),
            [
                ("5a7c0e12-94b3-4c1d-8e6f-2b3c4d5e6f70".to_string(), 41),
                ("0c8e5f7a-1b2c-4d3e-8f90-a1b2c3d4e5f6".to_string(), u64::MAX),
            ]
        );
        let (_, none) = decode("1 9b1d3f57-0a2c-4e6b-8d1f-3a5c7e9b0d2f").expect("format 1");
        assert!(none.is_empty());
    }

    #[test]
    fn a_record_of_another_format_or_damaged_does_not_read() {
        for record in [
            "",
            "2 9b1d3f57-0a2c-4e6b-8d1f-3a5c7e9b0d2f",
            "1",
            "1 not-an-epoch",
            "1 9b1d3f57-0a2c-4e6b-8d1f-3a5c7e9b0d2f 5a7c0e12-94b3-4c1d-8e6f-2b3c4d5e6f70",
            "1 9b1d3f57-0a2c-4e6b-8d1f-3a5c7e9b0d2f 5a7c0e12-94b3-4c1d-8e6f-2b3c4d5e6f70:-1",
            "1 9b1d3f57-0a2c-4e6b-8d1f-3a5c7e9b0d2f  5a7c0e12-94b3-4c1d-8e6f-2b3c4d5e6f70:4",
        ] {
            assert_eq!(decode(record), None, "{record:?}");
        }
    }
}
