//! Joins: a connection enters the room, catches up (a replay of what it missed, or a snapshot,
//! per viewer), and the members' presence follows who is connected.

use super::*;

/// How often a live room records joins as its group's activity: the retention of abandoned
/// groups counts in days.
const ACTIVITY_RECORD_INTERVAL_MS: UnixMs = 60 * 60 * 1000;

/// What a joining connection gets to catch up.
pub(super) enum CatchUpFrames {
    Replay(Vec<WireFrame>),
    Snapshot(WireFrame),
}

impl RoomActor {
    /// A connection joins: the member is added or comes online, then gets the ack and what
    /// they missed, in one flush.
    pub(super) async fn join(
        &mut self,
        connection_id: ConnectionId,
        request_id: RequestId,
        credential: &Credential,
        resume: Option<ResumePoint>,
        outbox: Outbox,
    ) -> Result<MemberId, RoomError> {
        if self.subscribers.len() >= self.context.limits.connections_per_room_max {
            return Err(RoomError::new(
                ErrorCode::RoomFull,
                "the room has as many connections as it may; close another tab or try later",
            ));
        }
        let decision = self.decide_join(credential)?;
        let member_id = decision.member_id;
        let session_id = decision.session_id;
        self.check_member_connections(member_id)?;
        if decision.issued_token.is_some() {
            self.admit_new_member()?;
        }
        self.record(decision.events).await?;

        let role = self
            .state
            .role_of(member_id)
            .expect("a member who just joined is a member");
        let resuming = resume.is_some();
        let catch_up = self.catch_up(resume, member_id).await;
        if resuming {
            crate::metrics::resumed(match &catch_up {
                CatchUpFrames::Replay(frames) => Some(frames.len()),
                CatchUpFrames::Snapshot(_) => None,
            });
        }
        let joined = ServerMessage::Ack {
            id: request_id,
            result: Reply::Joined(wire::Joined {
                member_id,
                role,
                meeting_id: self.state.meeting.id,
                member_token: decision.issued_token,
                catch_up: match catch_up {
                    CatchUpFrames::Replay(_) => CatchUp::Replay,
                    CatchUpFrames::Snapshot(_) => CatchUp::Snapshot,
                },
            }),
        };
        let mut queued = self.flushes.queue(&outbox, encode(&joined), Urgency::Now);
        match catch_up {
            CatchUpFrames::Replay(frames) => {
                for frame in frames {
                    if queued.is_err() {
                        break;
                    }
                    queued = self.flushes.queue(&outbox, frame, Urgency::Now);
                }
            }
            CatchUpFrames::Snapshot(frame) => {
                queued = queued.and_then(|()| self.flushes.queue(&outbox, frame, Urgency::Now));
            }
        }
        if queued == Err(QueueError::Full) {
            outbox.close(
                CloseReason::SlowConsumer,
                "too many missed events to send at once; resume again",
            );
        }
        self.subscribers.insert(
            connection_id,
            Subscriber {
                member_id,
                session_id,
                outbox,
            },
        );
        self.seen(member_id, session_id);
        info!(group = %self.group_id(), member = %member_id, connection = connection_id, "joined");
        self.record_activity();
        Ok(member_id)
    }

    /// Records the join as the group's activity, at most once per [`ACTIVITY_RECORD_INTERVAL_MS`]
    /// of a live room, in the background: a failure only delays the group's retention.
    fn record_activity(&mut self) {
        let now_ms = self.context.clock.now_ms();
        if self
            .activity_recorded_ms
            .is_some_and(|at_ms| now_ms.saturating_sub(at_ms) < ACTIVITY_RECORD_INTERVAL_MS)
        {
            return;
        }
        self.activity_recorded_ms = Some(now_ms);
        let store = Arc::clone(&self.context.store);
        let group_id = self.group_id();
        tokio::spawn(async move {
            if let Err(error) = store.record_group_activity(group_id, now_ms, true).await {
                warn!(group = %group_id, %error, "could not record the group's activity");
            }
        });
    }

    /// The join's decision, with its member coming online among its events. Presence is
    /// decided on the state after the join's own events (a new member exists only then). A
    /// member coming back, the usual join, has none: no copy of the room.
    fn decide_join(&self, credential: &Credential) -> Result<state::JoinDecision, RoomError> {
        let (token, token_hash) = new_secret();
        let fresh = FreshMember {
            member_id: MemberId::random(),
            token,
            token_hash,
        };
        let mut decision = state::decide_join(&self.state, credential, fresh, &self.rule_limits)?;
        let member_id = decision.member_id;
        let presence = if decision.events.is_empty() {
            state::decide_presence(&self.state, member_id, true, PresenceReason::Joined)
        } else {
            let mut preview = self.state.clone();
            for event in &decision.events {
                preview.apply(preview.seq + 1, 0, event);
            }
            state::decide_presence(&preview, member_id, true, PresenceReason::Joined)
        };
        decision.events.extend(presence);
        Ok(decision)
    }

    /// Brings the stored presence in line with who is connected now. A failed write is retried
    /// later, so presence is eventually right even across a storage outage.
    pub(super) async fn reconcile_presence(&mut self, reason: PresenceReason) {
        self.now_ms = self.context.clock.now_ms();
        let connected: std::collections::BTreeSet<MemberId> = self
            .subscribers
            .values()
            .map(|subscriber| subscriber.member_id)
            .collect();
        let mut events = Vec::new();
        for member in &self.state.members {
            let online = connected.contains(&member.id);
            if let Some(event) = state::decide_presence(&self.state, member.id, online, reason) {
                events.push(event);
            }
        }
        self.presence_out_of_date = match self.record(events).await {
            Ok(()) => false,
            Err(_) => true,
        };
    }

    /// The frames that bring a joining connection of `viewer` up to date: only what is meant
    /// for them.
    pub(super) async fn catch_up(
        &self,
        resume: Option<ResumePoint>,
        viewer: MemberId,
    ) -> CatchUpFrames {
        let snapshot = || {
            CatchUpFrames::Snapshot(encode(&ServerMessage::Snapshot(
                self.wire_snapshot_for(viewer),
            )))
        };
        let Some(resume) = resume else {
            return snapshot();
        };
        // A scorer's page that was away may not know they submitted (from another page):
        // no event says so, their own snapshot does.
        if self.has_submitted(viewer) {
            return snapshot();
        }
        let current = self.state.seq;
        if resume.meeting_id != self.state.meeting.id
            || resume.seq > current
            || current - resume.seq > self.context.limits.replay_events_max as u64
        {
            return snapshot();
        }
        if resume.seq == current {
            return CatchUpFrames::Replay(Vec::new());
        }
        // The recent events cover the gap: no I/O.
        if let Some(first) = self.recent.front()
            && first.seq <= resume.seq + 1
        {
            let frames = self
                .recent
                .iter()
                .filter(|recent| recent.seq > resume.seq && recent.audience.includes(viewer))
                .map(|recent| recent.frame.clone())
                .collect();
            return CatchUpFrames::Replay(frames);
        }
        // Otherwise read the log; any gap in it (trimmed entries) means a snapshot.
        let wanted = (current - resume.seq) as usize;
        match self
            .context
            .store
            .read_log(self.state.meeting.id, resume.seq, wanted)
            .await
        {
            Ok(entries) => {
                let mut frames = Vec::with_capacity(entries.len());
                for (offset, entry) in entries.iter().enumerate() {
                    let expected = resume.seq + 1 + offset as u64;
                    let Ok(stored) = stored::decode_event(&entry.bytes) else {
                        return snapshot();
                    };
                    if entry.seq != expected {
                        return snapshot();
                    }
                    if stored.event.audience().includes(viewer) {
                        frames.push(event_frame(entry.seq, stored.at_ms, &stored.event));
                    }
                }
                if entries.len() == wanted {
                    CatchUpFrames::Replay(frames)
                } else {
                    snapshot()
                }
            }
            Err(error) => {
                warn!(group = %self.group_id(), %error, "could not read the log for a resume; sending a snapshot");
                snapshot()
            }
        }
    }
}
