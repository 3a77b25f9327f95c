//! The room's limits per member and on its size: connections per member, new members per
//! minute, writes per member over all their connections, and the bytes of the room's state.

use std::time::Instant;

use super::*;
use crate::admission::buckets::{Bucket, KeyedBuckets, Rate};

/// The room's buckets.
#[derive(Debug)]
pub(super) struct RoomBuckets {
    /// Requests that change the room, per member.
    writes: KeyedBuckets<MemberId>,
    /// Members added through the group's links.
    new_members: Bucket,
}

impl RoomBuckets {
    pub(super) fn new(limits: &Limits) -> Self {
        let per_second = limits.writes_per_member_per_second.max(1);
        let writes = Rate {
            burst: per_second.saturating_mul(2),
            refill: Duration::from_secs(1) / per_second,
        };
        let per_minute = limits.new_members_per_minute;
        RoomBuckets {
            // Members past the room's limit cannot join, so this holds every member's bucket.
            writes: KeyedBuckets::new(writes, limits.members_per_room_max.saturating_add(1)),
            new_members: Rate::per_minute(per_minute, per_minute).full(Instant::now()),
        }
    }
}

/// A request's kind, for the write limit: reads and reactions (which have their own limit)
/// are not writes.
pub(super) fn is_write(command: &Command) -> bool {
    !matches!(
        command,
        Command::Query(_)
            | Command::React(_)
            | Command::Calendar(roundtable_rules::command::CalendarCommand::GetNextMeeting)
    )
}

impl RoomActor {
    /// Refuses a further connection of a member who has as many as they may.
    pub(super) fn check_member_connections(&self, member_id: MemberId) -> Result<(), RoomError> {
        let max = self.context.limits.connections_per_member_max;
        let open = self
            .subscribers
            .values()
            .filter(|subscriber| subscriber.member_id == member_id)
            .count();
        if open >= max {
            return Err(RoomError::new(
                ErrorCode::LimitReached,
                format!(
                    "you are connected to this room {open} times already, the most one member \
                     may be; close another tab or device and try again"
                ),
            ));
        }
        Ok(())
    }

    /// Counts a join that adds a member, or refuses it.
    pub(super) fn admit_new_member(&mut self) -> Result<(), RoomError> {
        self.buckets
            .new_members
            .take(Instant::now())
            .map_err(|retry_after| {
                RoomError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "{} new members joined this group in the last minute, the most it takes; \
                         try again in {} s",
                        self.context.limits.new_members_per_minute,
                        retry_after.as_secs().max(1)
                    ),
                )
            })
    }

    /// Counts a member's request that changes the room, or refuses it.
    pub(super) fn admit_write(&mut self, member_id: MemberId) -> Result<(), RoomError> {
        self.buckets
            .writes
            .take(member_id, Instant::now())
            .map_err(|_| {
                RoomError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "too many changes at once: at most {} a second per member, over all \
                         your connections; slow down",
                        self.context.limits.writes_per_member_per_second
                    ),
                )
            })
    }

    /// Checks that `events` do not grow the room's state past `--room-state-bytes-max`. The
    /// size is estimated cheaply (the last known size plus the bytes of the events logged since);
    /// only near the bound is the state after the events serialized to know.
    pub(super) fn check_state_bytes(&mut self, events: &[RoomEvent]) -> Result<(), RoomError> {
        let max = self.context.limits.room_state_bytes_max;
        let added: usize = events
            .iter()
            .map(|event| {
                stored::encode_event(&StoredEvent {
                    at_ms: self.now_ms,
                    event: event.clone(),
                })
                .len()
            })
            .sum();
        if self.state_bytes.saturating_add(added) <= max {
            return Ok(());
        }
        let before = stored::encode_snapshot(&self.state).len();
        self.state_bytes = before;
        let mut after = self.state.clone();
        for (seq, event) in (after.seq + 1..).zip(events) {
            after.apply(seq, self.now_ms, event);
        }
        let after = stored::encode_snapshot(&after).len();
        if after > max && after > before {
            return Err(RoomError::new(
                ErrorCode::LimitReached,
                format!(
                    "the room holds as much as it may ({max} bytes); remove something first \
                     (old practices, comments or agenda items)"
                ),
            ));
        }
        Ok(())
    }
}
