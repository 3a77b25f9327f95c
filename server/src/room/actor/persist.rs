//! Recording: the events a command caused are written to the store (with a snapshot when one
//! is due), then applied and sent; a failed write changes nothing.

use super::*;

/// How many events earlier than `every` a room takes its first snapshot after loading: a
/// number below half of `every` drawn from the group's id. Rooms loaded together and busy at
/// the same rate would otherwise take their snapshots at the same moments, each a
/// serialization of the whole room and a larger store write, and the rooms sharing the core
/// would all wait for the burst (BENCHMARKS.md). The log a load replays stays within `every`.
pub(super) fn snapshot_head_start(group: GroupId, every: u64) -> u64 {
    let half = every / 2;
    if half == 0 {
        return 0;
    }
    // The id's low bits are random (UUID v4).
    (group.as_u128() as u64) % half
}

impl RoomActor {
    /// Persists `events`, then applies them and sends them to everyone in the room.
    pub(super) async fn record(&mut self, events: Vec<RoomEvent>) -> Result<(), RoomError> {
        self.record_from(None, events, false).await
    }

    /// Like [`Self::record`], from `base`, a copy of the state that may carry a change that is
    /// not an event (a submission), with a snapshot in the same write when `with_snapshot`.
    pub(super) async fn record_from(
        &mut self,
        base: Option<RoomState>,
        events: Vec<RoomEvent>,
        with_snapshot: bool,
    ) -> Result<(), RoomError> {
        if events.is_empty() && !with_snapshot {
            return Ok(());
        }
        let snapshot_due = with_snapshot
            || self.events_since_snapshot + self.snapshot_head_start + events.len() as u64
                >= self.context.limits.snapshot_every_events;
        debug_assert!(
            !events
                .iter()
                .any(|event| matches!(event, RoomEvent::NextMeetingStarted { .. })),
            "a meeting switch goes through start_next_meeting"
        );
        // The state after the events is built ahead of the write only when it must be stored
        // with them (a snapshot) or the caller brought its own; otherwise the events are
        // applied to the state in place once they are stored, which spares a copy of the
        // whole room per action.
        let mut next = match base {
            Some(base) => Some(base),
            None if snapshot_due => Some(self.state.clone()),
            None => None,
        };
        let first_seq = next.as_ref().unwrap_or(&self.state).seq + 1;
        let (entries, frames) = self.log_entries(next.as_mut(), first_seq, &events);
        let snapshot = next
            .as_ref()
            .filter(|_| snapshot_due)
            .map(|next| self.snapshot_of(next));
        let meeting_id = next.as_ref().unwrap_or(&self.state).meeting.id;
        self.append(meeting_id, &entries, snapshot.as_ref()).await?;
        self.events_since_snapshot = if snapshot_due {
            self.snapshot_head_start = 0;
            self.seen_since_snapshot = false;
            0
        } else {
            self.events_since_snapshot + entries.len() as u64
        };
        match next {
            Some(next) => self.state = next,
            None => {
                for (seq, event) in (first_seq..).zip(&events) {
                    self.state.apply(seq, self.now_ms, event);
                }
            }
        }
        debug_assert_eq!(self.state.check_invariants(), Ok(()));
        self.publish(frames, &events).await;
        Ok(())
    }

    /// The log entries and the frames of `events`, numbered from `first_seq`, applied to
    /// `next` when the caller builds the state ahead of the write.
    fn log_entries(
        &self,
        mut next: Option<&mut RoomState>,
        first_seq: Seq,
        events: &[RoomEvent],
    ) -> (Vec<LogEntry>, Vec<RecentEvent>) {
        let now_ms = self.now_ms;
        let mut entries = Vec::with_capacity(events.len());
        let mut frames = Vec::with_capacity(events.len());
        for (seq, event) in (first_seq..).zip(events) {
            if let Some(next) = next.as_deref_mut() {
                next.apply(seq, now_ms, event);
            }
            let stored = StoredEvent {
                at_ms: now_ms,
                event: event.clone(),
            };
            entries.push(LogEntry {
                seq,
                bytes: stored::encode_event(&stored),
            });
            frames.push(RecentEvent {
                seq,
                frame: event_frame(seq, now_ms, event),
                audience: event.audience(),
            });
        }
        (entries, frames)
    }

    /// Writes log entries, and a snapshot with them, to the store in one atomic batch. A
    /// conflict means another process took the room over: this one gives it up.
    pub(super) async fn append(
        &mut self,
        meeting_id: wire::MeetingId,
        entries: &[LogEntry],
        snapshot: Option<&Snapshot>,
    ) -> Result<(), RoomError> {
        let batch = AppendBatch {
            group_id: self.group_id(),
            meeting_id,
            entries,
            snapshot,
        };
        if let Err(error) = self.context.store.append(batch).await {
            warn!(group = %self.group_id(), %error, "could not persist events");
            if matches!(error, StoreError::Conflict(_)) {
                self.lose_ownership("the store refused this room's write: another process has it");
            }
            return Err(storage_error(&error));
        }
        Ok(())
    }

    pub(super) fn snapshot_of(&self, state: &RoomState) -> Snapshot {
        Snapshot {
            meeting_id: state.meeting.id,
            seq: state.seq,
            bytes: stored::encode_snapshot(state),
        }
    }

    pub(super) async fn write_final_snapshot(&mut self) {
        if self.events_since_snapshot == 0 && !self.seen_since_snapshot {
            return;
        }
        let snapshot = self.snapshot_of(&self.state);
        let batch = AppendBatch {
            group_id: self.group_id(),
            meeting_id: self.state.meeting.id,
            entries: &[],
            snapshot: Some(&snapshot),
        };
        match self.context.store.append(batch).await {
            Ok(()) => self.events_since_snapshot = 0,
            // The log holds every event, so the next load replays it; nothing is lost.
            Err(error) => warn!(group = %self.group_id(), %error, "final snapshot not written"),
        }
    }
}
