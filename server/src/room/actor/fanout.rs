//! Fan-out: what a step of the room's loop queued for each connection is flushed once at the
//! step's end ([`Flushes`]); a connection that cannot keep up is dropped.

use super::*;

/// The outboxes a room queued frames in and has yet to flush. What is urgent goes out at the
/// end of the room's step, so each connection gets what the step had for it in one write (see
/// [`Outbox`]). What can wait ([`Urgency::Soon`]: `presence` frames) goes out with the next
/// urgent frame to the same connection, or [`FLUSH_SOON_WITHIN`] after the first of them,
/// whichever comes first, and a newer one replaces it meanwhile: when a room's members come
/// back together (after a network blip, a restart or a kill), each member gets the others'
/// arrivals in a few frames and writes instead of one of each per arrival.
#[derive(Default)]
pub(super) struct Flushes {
    pub(super) now: Vec<Outbox>,
    pub(super) soon: Vec<Outbox>,
    /// When `soon` is due.
    pub(super) soon_at: Option<tokio::time::Instant>,
}

/// The longest a frame that can wait ([`Urgency::Soon`]) waits for company before it is
/// written: under what a person notices in someone else's presence dot, and long enough that
/// members coming back one by one after a kill share frames (at 10 ms, few did: BENCHMARKS.md,
/// "The allocator and presence in a kill's wave").
pub(super) const FLUSH_SOON_WITHIN: Duration = Duration::from_millis(100);

/// The most outboxes [`Flushes`] lists for a flush soon; past it, it flushes them at once.
pub(super) const FLUSH_SOON_OUTBOXES_MAX: usize = 1024;

impl Flushes {
    /// Queues `frame` in `outbox`, to be flushed within `urgency`.
    pub(super) fn queue(
        &mut self,
        outbox: &Outbox,
        frame: WireFrame,
        urgency: Urgency,
    ) -> Result<(), QueueError> {
        if outbox.push_later(frame, urgency)? {
            match urgency {
                Urgency::Now => self.now.push(outbox.clone()),
                Urgency::Soon => {
                    self.soon.push(outbox.clone());
                    self.soon_at
                        .get_or_insert_with(|| tokio::time::Instant::now() + FLUSH_SOON_WITHIN);
                    // An outbox is listed again after each flush now, so a busy room could
                    // list one many times before the deadline: bounded here.
                    if self.soon.len() >= FLUSH_SOON_OUTBOXES_MAX {
                        self.flush_all();
                    }
                }
            }
        }
        Ok(())
    }

    /// Ends a step of the room's loop: writes what is urgent.
    pub(super) fn flush_now(&mut self) {
        for outbox in self.now.drain(..) {
            outbox.flush();
        }
    }

    /// Writes everything queued (an outbox flushed since it was queued has nothing to write).
    pub(super) fn flush_all(&mut self) {
        self.flush_now();
        for outbox in self.soon.drain(..) {
            outbox.flush();
        }
        self.soon_at = None;
    }
}

impl RoomActor {
    /// Sends recorded events to the connections they are for, keeps them for resumes, and
    /// closes the connections of members the events removed.
    pub(super) async fn publish(&mut self, frames: Vec<RecentEvent>, events: &[RoomEvent]) {
        let mut slow = Vec::new();
        for recent in frames {
            for (connection_id, subscriber) in &self.subscribers {
                if !recent.audience.includes(subscriber.member_id) {
                    continue;
                }
                if self
                    .flushes
                    .queue(&subscriber.outbox, recent.frame.clone(), Urgency::Now)
                    == Err(QueueError::Full)
                {
                    slow.push(*connection_id);
                }
            }
            self.recent.push_back(recent);
            if self.recent.len() > self.context.limits.recent_events_max {
                self.recent.pop_front();
            }
        }
        self.close_removed(events);
        let revoked = self.close_revoked(events);
        if !slow.is_empty() {
            slow.sort_unstable();
            slow.dedup();
            Box::pin(self.drop_slow(slow)).await;
        } else if revoked {
            // A member whose only connections were the revoked session's goes offline, at once:
            // that session is not coming back.
            Box::pin(self.reconcile_presence_now(PresenceReason::ConnectionLost)).await;
        }
    }

    /// Closes the connections of members whom `events` removed from the group.
    fn close_removed(&mut self, events: &[RoomEvent]) {
        let removed: Vec<MemberId> = events
            .iter()
            .filter_map(|event| match event {
                RoomEvent::MemberRemoved { member_id } => Some(*member_id),
                _ => None,
            })
            .collect();
        if removed.is_empty() {
            return;
        }
        self.subscribers.retain(|_, subscriber| {
            let gone = removed.contains(&subscriber.member_id);
            if gone {
                subscriber.outbox.close(
                    CloseReason::Removed,
                    "the facilitator removed you from this group",
                );
            }
            !gone
        });
    }

    /// Closes connections that cannot keep up and records who went offline.
    pub(super) async fn drop_slow(&mut self, connection_ids: Vec<ConnectionId>) {
        for connection_id in connection_ids {
            if let Some(subscriber) = self.subscribers.remove(&connection_id) {
                self.seen(subscriber.member_id, subscriber.session_id);
                warn!(group = %self.group_id(), connection = connection_id, "slow consumer disconnected");
                subscriber.outbox.close(
                    CloseReason::SlowConsumer,
                    "you fell too far behind the room; reconnect to resume",
                );
            }
        }
        self.reconcile_presence(PresenceReason::ConnectionLost)
            .await;
    }

    pub(super) fn close_all(&mut self, reason: CloseReason, message: &str) {
        self.close_all_keeping(reason, message, None);
    }

    /// As [`RoomActor::close_all`], each connection keeping `keep` alive until it is done with
    /// the close (see [`Outbox::close_keeping`]).
    pub(super) fn close_all_keeping(
        &mut self,
        reason: CloseReason,
        message: &str,
        keep: Option<&Keep>,
    ) {
        let now_ms = self.context.clock.now_ms();
        for subscriber in self.subscribers.values() {
            subscriber
                .outbox
                .close_keeping(reason, message, keep.cloned());
            self.state
                .session_seen(subscriber.member_id, subscriber.session_id, now_ms);
        }
        self.seen_since_snapshot |= !self.subscribers.is_empty();
        self.subscribers.clear();
    }
}
