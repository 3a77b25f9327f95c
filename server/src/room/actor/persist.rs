//! Recording: the events a command caused are written to the store (with a snapshot when one
//! is due), then applied and sent; a failed write changes nothing.

use super::*;

/// How many events (or bytes) earlier than `every` a room takes its first snapshot after
/// loading: a number below half of `every` drawn from the group's id. Rooms loaded together and busy at
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

/// Snapshots of rooms at least this large (the last one's size, in bytes) are serialized on
/// tokio's blocking pool rather than on the runtime's thread, where a room of megabytes would
/// hold every other room sharing the thread for milliseconds.
const ENCODE_ELSEWHERE_BYTES: u64 = 64 * 1024;

impl RoomActor {
    /// Persists `events`, then applies them and sends them to everyone in the room.
    pub(super) async fn record(&mut self, events: Vec<RoomEvent>) -> Result<(), RoomError> {
        self.record_from(None, events, false).await
    }

    /// Whether a snapshot goes with `events` more, `bytes` long: when the events logged since
    /// the last snapshot cost as much to write as a new snapshot (`--snapshot-cost-ratio` times
    /// the last one's size, and at least `--snapshot-bytes-min`), or there are
    /// `--snapshot-every-events` of them. The log a load replays is then at most a few times
    /// the snapshot's size and at most that many events, and what snapshots write stays within
    /// the ratio of what the log writes: a room whose state grows with what its members write
    /// takes snapshots ever more rarely, each the size of the state, instead of one every so
    /// many events, which rewrote the growing state over and over (issue 19).
    ///
    /// The first snapshot after loading comes early by a share of each threshold drawn from the
    /// group's id (see [`snapshot_head_start`]).
    fn snapshot_due(&self, events: u64, bytes: u64) -> bool {
        let limits = &self.context.limits;
        let due_bytes = limits.snapshot_due_bytes(self.snapshot_bytes);
        let bytes_head_start = if self.first_snapshot_since_load {
            snapshot_head_start(self.group_id(), due_bytes)
        } else {
            0
        };
        self.events_since_snapshot + self.snapshot_head_start + events
            >= limits.snapshot_every_events
            || self.bytes_since_snapshot + bytes_head_start + bytes >= due_bytes
    }

    /// Notes that `snapshot` is stored: the counts toward the next one start again.
    pub(super) fn snapshot_stored(&mut self, snapshot: &Snapshot) {
        self.events_since_snapshot = 0;
        self.bytes_since_snapshot = 0;
        self.snapshot_head_start = 0;
        self.first_snapshot_since_load = false;
        self.snapshot_bytes = snapshot.bytes.len() as u64;
    }

    /// Like [`Self::record`], from `base`, a copy of the state that may carry a change that is
    /// not an event (a submission), with a snapshot in the same write when `with_snapshot`.
    ///
    /// The copies of the state it holds across its waits are boxed, as is the snapshot's
    /// encoding: every command's future embeds this one, and the room's loop moves each
    /// command's future into a box of its own, so every byte of it is copied once per command
    /// (1.3 KiB per state held inline; see BENCHMARKS.md, "What the count gained since, and a
    /// copy taken out").
    pub(super) async fn record_from(
        &mut self,
        base: Option<Box<RoomState>>,
        events: Vec<RoomEvent>,
        with_snapshot: bool,
    ) -> Result<(), RoomError> {
        if events.is_empty() && !with_snapshot {
            return Ok(());
        }
        // The events are decided: the fan-out time runs from here to their last queueing.
        let decided = std::time::Instant::now();
        debug_assert!(
            !events.iter().any(|event| matches!(
                event,
                RoomEvent::NextMeetingStarted { .. } | RoomEvent::NextMeetingOpened { .. }
            )),
            "a meeting switch goes through start_next_meeting"
        );
        let first_seq = base.as_deref().unwrap_or(&self.state).seq + 1;
        let (entries, frames) = self.log_entries(first_seq, &events);
        let entry_bytes: u64 = entries.iter().map(|entry| entry.bytes.len() as u64).sum();
        let snapshot_due = with_snapshot || self.snapshot_due(entries.len() as u64, entry_bytes);
        // The state after the events is built ahead of the write only when it must be stored
        // with them (a snapshot) or the caller brought its own; otherwise the events are
        // applied to the state in place once they are stored, which spares a copy of the
        // whole room per action.
        let mut next = match base {
            Some(base) => Some(base),
            None if snapshot_due => Some(Box::new(self.state.clone())),
            None => None,
        };
        if let Some(next) = next.as_mut() {
            for (seq, event) in (first_seq..).zip(&events) {
                next.apply(seq, self.now_ms, event);
            }
        }
        let (next, snapshot) = match next {
            Some(next) if snapshot_due => {
                let (next, snapshot) = Box::pin(self.encode_snapshot(next)).await;
                (Some(next), Some(snapshot))
            }
            next => (next, None),
        };
        let meeting_id = next.as_deref().unwrap_or(&self.state).meeting.id;
        self.append(meeting_id, &entries, snapshot.as_ref()).await?;
        self.state_bytes = match &snapshot {
            Some(snapshot) => snapshot.bytes.len(),
            None => self.state_bytes + entries.iter().map(|entry| entry.bytes.len()).sum::<usize>(),
        };
        match &snapshot {
            Some(snapshot) => {
                self.snapshot_stored(snapshot);
                self.seen_since_snapshot = false;
            }
            None => {
                self.events_since_snapshot += entries.len() as u64;
                self.bytes_since_snapshot += entry_bytes;
            }
        }
        match next {
            Some(next) => self.state = *next,
            None => {
                for (seq, event) in (first_seq..).zip(&events) {
                    self.state.apply(seq, self.now_ms, event);
                }
            }
        }
        debug_assert_eq!(self.state.check_invariants(), Ok(()));
        self.publish(frames, &events).await;
        crate::metrics::metrics()
            .fanout_seconds
            .observe(decided.elapsed().as_secs_f64());
        Ok(())
    }

    /// The snapshot of `state`, serialized here when the room is small and on the blocking pool
    /// when its last snapshot was [`ENCODE_ELSEWHERE_BYTES`] or more; `state` comes back.
    async fn encode_snapshot(&self, state: Box<RoomState>) -> (Box<RoomState>, Snapshot) {
        if self.snapshot_bytes < ENCODE_ELSEWHERE_BYTES {
            let snapshot = snapshot_of(&state);
            return (state, snapshot);
        }
        let state: Arc<RoomState> = Arc::from(state);
        let shared = Arc::clone(&state);
        let encoded = tokio::task::spawn_blocking(move || snapshot_of(&shared)).await;
        // The closure, and its handle on the state, is gone once the task ended.
        let snapshot = match encoded {
            Ok(snapshot) => snapshot,
            // The runtime is shutting down: serialize here.
            Err(_) => snapshot_of(&state),
        };
        let state = Arc::try_unwrap(state).unwrap_or_else(|state| (*state).clone());
        (Box::new(state), snapshot)
    }

    /// The log entries and the frames of `events`, numbered from `first_seq`.
    pub(super) fn log_entries(
        &self,
        first_seq: Seq,
        events: &[RoomEvent],
    ) -> (Vec<LogEntry>, Vec<RecentEvent>) {
        let now_ms = self.now_ms;
        let mut entries = Vec::with_capacity(events.len());
        let mut frames = Vec::with_capacity(events.len());
        for (seq, event) in (first_seq..).zip(events) {
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
            fence: Some(self.lease.fence()),
            log_epoch: Some(self.lineage.current),
        };
        if let Err(error) = self.context.store.append(batch).await {
            warn!(group = %self.group_id(), %error, "could not persist events");
            match error {
                StoreError::Conflict(_) => self
                    .lose_ownership("the store refused this room's write: another process has it"),
                StoreError::Fenced(_) => self.lose_ownership(
                    "the store fenced this room's write: its lease was taken at a later epoch",
                ),
                _ => {}
            }
            return Err(storage_error(&error));
        }
        Ok(())
    }

    pub(super) fn snapshot_of(&self, state: &RoomState) -> Snapshot {
        snapshot_of(state)
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
            fence: Some(self.lease.fence()),
            log_epoch: Some(self.lineage.current),
        };
        match self.context.store.append(batch).await {
            Ok(()) => self.snapshot_stored(&snapshot),
            // The log holds every event, so the next load replays it; nothing is lost.
            Err(error) => warn!(group = %self.group_id(), %error, "final snapshot not written"),
        }
    }
}

/// The stored snapshot of `state`.
fn snapshot_of(state: &RoomState) -> Snapshot {
    Snapshot {
        meeting_id: state.meeting.id,
        seq: state.seq,
        bytes: stored::encode_snapshot(state),
    }
}
