//! Joins: a connection enters the room, catches up (a replay of what it missed, or a snapshot,
//! per viewer), and the member comes online (see `presence`).
//!
//! Presence is not an event (issue 19): who is online is not the meeting's history, so a
//! member coming or going is sent to the room at once as a `presence` frame and never waits
//! for the store. A member coming back (their token, the usual join) therefore joins a live
//! room without touching the store, even while the disk stalls. What a join must make durable
//! is written before it is answered: a new member, a new session (with the member's attendance
//! of the meeting, in the same write). A returning member's first arrival in a meeting is
//! recorded after the join is answered (`member_attended`, for the meeting's minutes).

use super::*;

/// How often a live room records joins as its group's activity: the retention of abandoned
/// groups counts in days.
const ACTIVITY_RECORD_INTERVAL_MS: UnixMs = 60 * 60 * 1000;

/// What a joining connection gets to catch up.
pub(super) enum CatchUpFrames {
    Replay(Vec<WireFrame>),
    Snapshot(WireFrame),
}

/// The pseudonym key of the member a join admitted: from the token the server just issued them,
/// or the one they came back with.
fn pseudonym_key(credential: &Credential, issued_token: Option<&str>) -> PseudonymKey {
    let token = issued_token.or(match credential {
        Credential::MemberToken { token } => Some(token.as_str()),
        Credential::Facilitator { member_token, .. } => member_token.as_deref(),
        Credential::Invite { .. } => None,
    });
    // Every admitted join either was issued a token or presented one; a join without either
    // was refused before this point.
    PseudonymKey::of_token(token.unwrap_or_default())
}

impl RoomActor {
    /// A connection joins: the member is added (durably) or comes back, comes online (the
    /// others get a `presence` frame), then gets the ack and what they missed, in one flush.
    pub(super) async fn join(
        &mut self,
        connection_id: ConnectionId,
        request_id: RequestId,
        credential: &Credential,
        resume: Option<ResumePoint>,
        outbox: Outbox,
    ) -> Result<Admitted, RoomError> {
        if self.subscribers.len() >= self.context.limits.connections_per_room_max {
            return Err(RoomError::new(
                ErrorCode::RoomFull,
                "the room has as many connections as it may; close another tab or try later",
            ));
        }
        let decision = self.decide_join(credential)?;
        let member_id = decision.member_id;
        let session_id = decision.session_id;
        let pseudonym = pseudonym_key(credential, decision.issued_token.as_deref());
        self.check_member_connections(member_id)?;
        if decision.issued_token.is_some() {
            self.admit_new_member()?;
        }
        // Nothing to write for a member coming back: no wait for the store.
        self.record(decision.events).await?;
        // Online at once, and the others are told; the joining connection's catch-up says it.
        // A member back within the grace of a dropped connection was never shown gone.
        self.going.remove(&member_id);
        if self.state.set_online(member_id, true) {
            self.send_presence(Some(PresenceChange {
                member_id,
                online: true,
                reason: PresenceReason::Joined,
            }))
            .await;
        }

        let role = self
            .state
            .role_of(member_id)
            .expect("a member who just joined is a member");
        let resuming = resume.is_some();
        let other_epoch = resume.is_some_and(|resume| !self.lineage.holds(&resume));
        let earlier_epoch = resume.is_some_and(|resume| self.lineage.is_earlier(&resume));
        let catch_up = self.catch_up(resume, member_id, &pseudonym).await;
        if resuming {
            crate::metrics::resumed(match &catch_up {
                CatchUpFrames::Replay(frames) if earlier_epoch => {
                    crate::metrics::Resumed::ReplayEarlierEpoch(frames.len())
                }
                CatchUpFrames::Replay(frames) => crate::metrics::Resumed::Replay(frames.len()),
                CatchUpFrames::Snapshot(_) if other_epoch => crate::metrics::Resumed::OtherEpoch,
                CatchUpFrames::Snapshot(_) => crate::metrics::Resumed::Snapshot,
            });
        }
        let joined = ServerMessage::Ack {
            id: request_id,
            result: Reply::Joined(wire::Joined {
                member_id,
                role,
                meeting_id: self.state.meeting.id,
                member_token: decision.issued_token.clone(),
                catch_up: match catch_up {
                    CatchUpFrames::Replay(_) => CatchUp::Replay,
                    CatchUpFrames::Snapshot(_) => CatchUp::Snapshot,
                },
                log_epoch: self.lineage.current,
            }),
        };
        let mut queued = self.flushes.queue(&outbox, encode(&joined), Urgency::Now);
        match catch_up {
            CatchUpFrames::Replay(frames) => {
                // The replay ends with who is online now, which no event says.
                let presence = self.presence_frame(None);
                for frame in frames.into_iter().chain(std::iter::once(presence)) {
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
                pseudonym,
                outbox,
            },
        );
        self.seen(member_id, session_id);
        info!(group = %self.group_id(), member = %member_id, connection = connection_id, "joined");
        self.record_activity();
        Ok(Admitted {
            member_id,
            issued_token: decision.issued_token,
        })
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

    /// The join's decision. A join that writes anyway (a new member, a new session) writes the
    /// member's attendance of the meeting with it, decided on the state after the join's own
    /// events (a new member exists only then). A member coming back, the usual join, has no
    /// events: no copy of the room, and nothing to write before the answer.
    fn decide_join(&self, credential: &Credential) -> Result<state::JoinDecision, RoomError> {
        let (token, token_hash) = new_secret();
        let fresh = FreshMember {
            member_id: MemberId::random(),
            token,
            token_hash,
        };
        let mut decision = state::decide_join(&self.state, credential, fresh, &self.rule_limits)?;
        if !decision.events.is_empty() {
            let mut preview = self.state.clone();
            for event in &decision.events {
                preview.apply(preview.seq + 1, 0, event);
            }
            let attended = state::decide_attendance(&preview, decision.member_id);
            decision.events.extend(attended);
        }
        Ok(decision)
    }

    /// Records the attendance of the meeting of everyone online who has none yet: a member
    /// who came back for the first time in this meeting, once their join is answered (so it
    /// never holds the join up). A failed write is retried later ([`WRITE_RETRY`]), so the
    /// minutes are eventually right even across a storage outage.
    pub(super) async fn record_attendance(&mut self) {
        let events = state::decide_attendance_of_everyone_online(&self.state);
        if events.is_empty() {
            self.attendance_out_of_date = false;
            return;
        }
        // What the step queued (the join's ack and catch-up) goes out before the write.
        self.flushes.flush_now();
        self.now_ms = self.context.clock.now_ms();
        self.attendance_out_of_date = self.record(events).await.is_err();
    }

    /// The frames that bring a joining connection of `viewer`, whose pseudonym key is `key`,
    /// up to date: only what is meant for them.
    pub(super) async fn catch_up(
        &self,
        resume: Option<ResumePoint>,
        viewer: MemberId,
        key: &PseudonymKey,
    ) -> CatchUpFrames {
        let snapshot = || {
            CatchUpFrames::Snapshot(encode(&ServerMessage::Snapshot(
                self.wire_snapshot_for(viewer, key),
            )))
        };
        let Some(resume) = resume else {
            return snapshot();
        };
        // Seqs of another log epoch (another incarnation of the room, before a restart, a
        // takeover or a store that lost writes) may name another history: replayed only when
        // the store recorded that epoch as this log's, and only up to where it wrote.
        if !self.lineage.holds(&resume) {
            return snapshot();
        }
        // A scorer's page that was away may not know they submitted (from another page, or
        // before a restart): no event says so, their own snapshot does.
        if self.state.role_play.submitted_with(key) {
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
