//! Deleting the group and a member's leaving with the erasure of their data: the two ways data
//! leaves the store for good (see ARCHITECTURE.md, "Deletion and erasure").

use super::*;

use roundtable_rules::command::Erasure;
use roundtable_rules::membership::{decide_delete_group, decide_leave};

/// What the closing message says to everyone when a facilitator deletes the group.
pub(crate) const GROUP_DELETED: &str = "The group was deleted by a facilitator";

/// What the closing message says to a member who left.
const LEFT: &str = "You left the group and your data was erased";

impl RoomActor {
    /// Deletes the group from the store, then ends the room: everyone's connections are closed
    /// with `group_deleted` and the room stops without writing anything more (no final
    /// snapshot, no presence), so nothing re-creates what was deleted. The deletion runs here,
    /// in the actor that alone writes the group while it holds the ownership lease, so no
    /// write of this room can follow it; the lease is released as the room stops, and a
    /// later load finds no group.
    pub(super) async fn delete_group(
        &mut self,
        by: MemberId,
        confirm_name: &str,
    ) -> Result<(), RoomError> {
        decide_delete_group(&self.state, by, confirm_name)?;
        // The deletion spans keys of several hash slots (the meetings' index keys), so it
        // cannot be one fenced script: an empty batch under the room's fence first checks that
        // this room still owns the group (a stale owner's deletion, decided on a state that
        // may be out of date, is refused and the room closes).
        let meeting_id = self.state.meeting.id;
        self.append(meeting_id, &[], None).await?;
        if let Err(error) = self.context.store.delete_group(self.group_id()).await {
            warn!(group = %self.group_id(), %error, "could not delete the group");
            return Err(storage_error(&error));
        }
        info!(group = %self.group_id(), "group deleted");
        self.forget_deleted().await;
        self.deleted = true;
        self.recent.clear();
        Ok(())
    }

    /// Closes every connection once the deletion's ack is queued.
    pub(super) fn close_deleted(&mut self) {
        self.flushes.flush_now();
        self.close_all(CloseReason::GroupDeleted, GROUP_DELETED);
    }

    /// A member leaves and erases their data; `key` is the pseudonym key of the connection they
    /// leave on, which finds their past anonymous numbers if they remove their numbers. The erasure is recorded with a snapshot of the
    /// room after it, in one atomic write; then the logs that still hold the member's name
    /// (their `member_added`) or what they chose to remove go: the current meeting's log up to
    /// that snapshot, and the logs of the past meetings the room keeps minutes of. Everyone
    /// gets the `member_erased` event and a fresh snapshot; a client resuming from before the
    /// erasure finds the log trimmed and gets a snapshot too.
    pub(super) async fn leave(
        &mut self,
        member_id: MemberId,
        key: PseudonymKey,
        erasure: Erasure,
    ) -> Result<(), RoomError> {
        let events = decide_leave(&self.state, member_id, Some(key), erasure, self.now_ms)?;
        self.record_from(None, events, true).await?;
        // The frames in memory name the member (their `member_added`).
        self.recent.clear();
        self.compact_logs().await;
        self.forget_deleted().await;
        let slow = self.send_snapshots();
        if !slow.is_empty() {
            Box::pin(self.drop_slow(slow)).await;
        }
        info!(group = %self.group_id(), "a member left and erased their data");
        Ok(())
    }

    /// Trims every log of the group this room knows down to the snapshot just written. A
    /// failure is logged and leaves the entries until the retention pass trims them.
    async fn compact_logs(&mut self) {
        let store = Arc::clone(&self.context.store);
        let current = (self.state.meeting.id, self.state.seq);
        let past = self
            .state
            .past_meetings
            .iter()
            .map(|minutes| (minutes.meeting_id, Seq::MAX));
        for (meeting_id, through_seq) in std::iter::once(current).chain(past) {
            if let Err(error) = store.trim_log(meeting_id, through_seq).await {
                warn!(group = %self.group_id(), %error, "could not trim a log after an erasure");
            }
        }
    }

    /// Has the store take deleted bytes out of its files too. A failure is logged: the data is
    /// gone from the store's tables either way.
    async fn forget_deleted(&self) {
        if let Err(error) = self.context.store.forget_deleted().await {
            warn!(group = %self.group_id(), %error, "the store could not schedule the removal of deleted bytes");
        }
    }

    /// Queues for every member's connection a snapshot of the room as it is now (per viewer);
    /// answers the connections whose queue was full.
    fn send_snapshots(&mut self) -> Vec<ConnectionId> {
        // One serialization per member and answer to "submitted?" (a member's connections
        // with different tokens may answer it differently).
        let mut snapshots: HashMap<(MemberId, bool), WireFrame> = HashMap::new();
        let mut slow = Vec::new();
        for (connection_id, subscriber) in &self.subscribers {
            if self.state.member(subscriber.member_id).is_none() {
                continue;
            }
            let submitted = self.state.role_play.submitted_with(&subscriber.pseudonym);
            let snapshot = snapshots
                .entry((subscriber.member_id, submitted))
                .or_insert_with(|| {
                    encode(&ServerMessage::Snapshot(self.wire_snapshot_for(
                        subscriber.member_id,
                        &subscriber.pseudonym,
                    )))
                })
                .clone();
            if self
                .flushes
                .queue(&subscriber.outbox, snapshot, Urgency::Now)
                == Err(QueueError::Full)
            {
                slow.push(*connection_id);
            }
        }
        slow
    }

    /// Closes the connections of a member who left, once their ack is queued.
    pub(super) fn close_left(&mut self, member_id: MemberId) {
        self.flushes.flush_now();
        self.subscribers.retain(|_, subscriber| {
            let gone = subscriber.member_id == member_id;
            if gone {
                subscriber.outbox.close(CloseReason::Left, LEFT);
            }
            !gone
        });
    }
}
