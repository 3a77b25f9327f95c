//! The log epochs a group's room was served under ([`Store::begin_log_epoch`]).
//!
//! The record is the hash `rt:{g:<group>}:log_epochs`, format 1, with four fields:
//!
//! - `format`: `1`;
//! - `current`: the current log epoch (hyphenated UUID);
//! - `current_through`: `<meeting> <seq>`, the meeting and seq of the current epoch's last
//!   write: the log it loaded at first, then raised by each of its own appends (the append
//!   script notes it, in the same atomic step, when the batch names the current epoch);
//! - `earlier`: the earlier epochs, newest first, each `<epoch>:<meeting>:<seq>` with its last
//!   write, separated by single spaces (empty when there is none).
//!
//! ```text
//! format           1
//! current          9b1d3f57-0a2c-4e6b-8d1f-3a5c7e9b0d2f
//! current_through  6f1d2c3b-8a9e-4f70-b1c2-d3e4f5a6b7c8 44
//! earlier          5a7c0e12-94b3-4c1d-8e6f-2b3c4d5e6f70:6f1d2c3b-8a9e-4f70-b1c2-d3e4f5a6b7c8:41
//! ```
//!
//! One script, fenced like an append (the group's lease epoch is the fence's, and the lease is
//! the fence's owner's, or nobody's while its record names that owner), makes the current epoch the newest earlier one with its
//! last write, keeps at most [`EARLIER_LOG_EPOCHS_MAX`] earlier ones, writes the new epoch as
//! current with the log it loaded, and answers the earlier ones. A record of a format this code
//! does not know is left alone and answers no earlier epoch (a newer node wrote it; its rooms'
//! clients resume with a snapshot here). The record carries the group's hash tag, so it lives
//! in the group's slot with its log (see [`Store::begin_log_epoch`] for why it is sound). It
//! goes with the group on deletion.

use std::sync::LazyLock;

use redis::Script;
use roundtable_protocol::{GroupId, LogEpoch, MeetingId, Seq};

use super::RedisStore;
use super::scripts::taken_by_lua;
#[cfg(doc)]
use crate::store::Store;
use crate::store::{EARLIER_LOG_EPOCHS_MAX, EarlierEpoch, Fence, StoreError};

/// Begins a log epoch.
///
/// `KEYS[1]`: the record; `KEYS[2]`: the group's lease; `KEYS[3]`: the group's lease epoch;
/// `KEYS[4]`: the lease's record.
/// `ARGV[1]`, `ARGV[2]`: the fence's owner and epoch; `ARGV[3]`: the new log epoch; `ARGV[4]`:
/// the meeting and head the room loaded, `<meeting> <seq>`; `ARGV[5]`: how many earlier
/// epochs to keep. Answers `{'ok', earlier}`, `{'fenced', epoch}` or `{'unknown_format', ''}`.
const BEGIN_LUA: &str = concat!(
    taken_by_lua!(),
    r"
local epoch = redis.call('GET', KEYS[3]) or '0'
if epoch ~= ARGV[2] or not taken_by(KEYS[2], KEYS[4], ARGV[1]) then
  return {'fenced', epoch}
end
local kind = redis.call('TYPE', KEYS[1]).ok
local earlier = ''
if kind ~= 'none' then
  if kind ~= 'hash' then
    return {'unknown_format', ''}
  end
  local record = redis.call('HMGET', KEYS[1], 'format', 'current', 'current_through', 'earlier')
  if record[1] ~= '1' or not record[2] or not record[3] then
    return {'unknown_format', ''}
  end
  local meeting, seq = string.match(record[3], '^(%S+) (%d+)$')
  if not meeting then
    return {'unknown_format', ''}
  end
  earlier = record[2] .. ':' .. meeting .. ':' .. seq
  local kept = 1
  for item in string.gmatch(record[4] or '', '%S+') do
    if kept >= tonumber(ARGV[5]) then
      break
    end
    earlier = earlier .. ' ' .. item
    kept = kept + 1
  end
end
redis.call('HSET', KEYS[1], 'format', '1', 'current', ARGV[3], 'current_through', ARGV[4],
  'earlier', earlier)
return {'ok', earlier}
"
);

static BEGIN_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(BEGIN_LUA));

impl RedisStore {
    pub(super) async fn begin_log_epoch_unbounded(
        &self,
        group_id: GroupId,
        fence: Fence<'_>,
        log_epoch: LogEpoch,
        meeting_id: MeetingId,
        head: Seq,
    ) -> Result<Vec<EarlierEpoch>, StoreError> {
        let mut invocation = BEGIN_SCRIPT.prepare_invoke();
        invocation
            .key(self.log_epochs_key(group_id))
            .key(self.lease_key(group_id))
            .key(self.epoch_key(group_id))
            .key(self.lease_record_key(group_id))
            .arg(fence.owner)
            .arg(fence.epoch.to_string())
            .arg(log_epoch.to_string())
            .arg(format!("{meeting_id} {head}"))
            .arg(EARLIER_LOG_EPOCHS_MAX.to_string());
        let (outcome, value): (String, String) = self.run_script(&invocation).await?;
        match outcome.as_str() {
            "ok" => decode_earlier(&value).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "group {group_id}'s earlier log epochs hold {value:?}, not a list of \
                     <epoch>:<meeting>:<seq>"
                ))
            }),
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

/// The `earlier` field of a record of format 1, or `None` if it is not one.
pub(super) fn decode_earlier(earlier: &str) -> Option<Vec<EarlierEpoch>> {
    if earlier.is_empty() {
        return Some(Vec::new());
    }
    earlier
        .split(' ')
        .map(|item| {
            let mut parts = item.split(':');
            let earlier = EarlierEpoch {
                log_epoch: parts.next()?.parse().ok()?,
                meeting_id: parts.next()?.parse().ok()?,
                through_seq: parts.next()?.parse().ok()?,
            };
            parts.next().is_none().then_some(earlier)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `earlier` field of a record of format 1 as the script writes it, kept byte for
    /// byte: stored records must read the same for as long as they may be stored.
    const GOLDEN: &str = "5a7c0e12-94b3-4c1d-8e6f-2b3c4d5e6f70:6f1d2c3b-8a9e-4f70-b1c2-d3e4f5a6b7c8:41 \
                          0c8e5f7a-1b2c-4d3e-8f90-a1b2c3d4e5f6:1b0e7c52-3a54-4b0e-9a53-0f7f3c1f3a10:18446744073709551615";

    #[test]
    fn the_earlier_epochs_of_a_format_1_record_read_newest_first() {
        let earlier = decode_earlier(GOLDEN).expect("format 1");
        assert_eq!(
            earlier
                .iter()
                .map(|earlier| (
                    earlier.log_epoch.to_string(),
                    earlier.meeting_id.to_string(),
                    earlier.through_seq
                ))
                .collect::<Vec<_>>(),
            [
                (
                    "5a7c0e12-94b3-4c1d-8e6f-2b3c4d5e6f70".to_string(),
                    "6f1d2c3b-8a9e-4f70-b1c2-d3e4f5a6b7c8".to_string(),
                    41
                ),
                (
                    "0c8e5f7a-1b2c-4d3e-8f90-a1b2c3d4e5f6".to_string(),
                    "1b0e7c52-3a54-4b0e-9a53-0f7f3c1f3a10".to_string(),
                    u64::MAX
                ),
            ]
        );
        assert_eq!(decode_earlier(""), Some(Vec::new()));
    }

    #[test]
    fn a_damaged_list_of_earlier_epochs_does_not_read() {
        let epoch = "5a7c0e12-94b3-4c1d-8e6f-2b3c4d5e6f70";
        let meeting = "6f1d2c3b-8a9e-4f70-b1c2-d3e4f5a6b7c8";
        for earlier in [
            " ".to_string(),
            epoch.to_string(),
            format!("{epoch}:{meeting}"),
            format!("{epoch}:{meeting}:-1"),
            format!("{epoch}:{meeting}:4:5"),
            format!("{epoch}:not-a-meeting:4"),
            format!("{epoch}:{meeting}:4  {epoch}:{meeting}:5"),
        ] {
            assert_eq!(decode_earlier(&earlier), None, "{earlier:?}");
        }
    }
}
