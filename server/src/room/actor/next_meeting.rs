//! Ending a live meeting and opening the next (upcoming) one: a new meeting log, made durable by
//! a snapshot of the state after the switch, then the ended meeting's last event.

use super::*;

impl RoomActor {
    /// Ends the live meeting and opens the next, upcoming. The new meeting's snapshot is written
    /// first: once it is durable the switch has happened, whatever comes after. Then the ended
    /// meeting's log gets its last event, for clients that resume into it.
    pub(super) async fn start_next_meeting(&mut self, by: MemberId) -> Result<(), RoomError> {
        let events = state::decide_next_meeting(&self.state, by, wire::MeetingId::random())?;
        let ended_meeting = self.state.meeting.id;
        let last_seq = self.state.seq + 1;
        let mut next = self.state.clone();
        for event in &events {
            next.apply(last_seq, self.now_ms, event);
        }
        // The new meeting is upcoming: nobody attends it before it starts (its start records
        // everyone here), so its log begins empty.
        let snapshot = self.snapshot_of(&next);
        self.append(next.meeting.id, &[], Some(&snapshot)).await?;
        self.close_ended_meeting(ended_meeting, last_seq, &events)
            .await;
        self.state = next;
        self.snapshot_stored(&snapshot);
        self.recent.clear();
        info!(group = %self.group_id(), meeting = %self.state.meeting.id, number = self.state.meeting.number, "meeting ended, next meeting upcoming");
        self.send_next_meeting(last_seq, &events).await;
        Ok(())
    }

    /// Logs the switch as the ended meeting's last event and records when it ended. The switch
    /// is durable already, so a failure here is only logged: a client resuming into the ended
    /// meeting gets a snapshot, and retention keeps a log whose end was not recorded.
    async fn close_ended_meeting(
        &mut self,
        ended_meeting: wire::MeetingId,
        last_seq: Seq,
        events: &[RoomEvent],
    ) {
        let now_ms = self.now_ms;
        let entries: Vec<LogEntry> = events
            .iter()
            .map(|event| LogEntry {
                seq: last_seq,
                bytes: stored::encode_event(&StoredEvent {
                    at_ms: now_ms,
                    event: event.clone(),
                }),
            })
            .collect();
        let last_event = AppendBatch {
            group_id: self.group_id(),
            meeting_id: ended_meeting,
            entries: &entries,
            snapshot: None,
            fence: Some(self.lease.fence()),
            // No client is replayed in the ended meeting (a resume there gets a snapshot): its
            // last entry is no last write of the epoch's (the new meeting's snapshot, stored
            // first, is).
            log_epoch: None,
        };
        if let Err(error) = self.context.store.append(last_event).await {
            warn!(group = %self.group_id(), %error, "ended meeting's last event not logged");
            if matches!(error, StoreError::Fenced(_)) {
                self.lose_ownership(
                    "the store fenced this room's write: its lease was taken at a later epoch",
                );
            }
        }
        // Not fenced: the end is a fact the fenced switch above stored, whoever owns the room
        // now, and refusing it would keep the ended log from retention for good.
        if let Err(error) = self.context.store.end_meeting(ended_meeting, now_ms).await {
            warn!(group = %self.group_id(), %error, "ended meeting not recorded for retention");
        }
    }

    /// Sends everyone the switch and then a snapshot of the new meeting. Snapshots are per
    /// viewer (a buyer brief is in the buyer's only): one serialization per member, shared by
    /// that member's connections.
    async fn send_next_meeting(&mut self, last_seq: Seq, events: &[RoomEvent]) {
        let frames: Vec<WireFrame> = events
            .iter()
            .map(|event| event_frame(last_seq, self.now_ms, event))
            .collect();
        // One serialization per member and answer to "submitted?" (a member's connections
        // with different tokens may answer it differently).
        let mut snapshots: HashMap<(MemberId, bool), WireFrame> = HashMap::new();
        let mut slow = Vec::new();
        for (connection_id, subscriber) in &self.subscribers {
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
            let queued = frames
                .iter()
                .chain(std::iter::once(&snapshot))
                .try_for_each(|frame| {
                    self.flushes
                        .queue(&subscriber.outbox, frame.clone(), Urgency::Now)
                });
            if queued == Err(QueueError::Full) {
                slow.push(*connection_id);
            }
        }
        if !slow.is_empty() {
            Box::pin(self.drop_slow(slow)).await;
        }
    }
}
