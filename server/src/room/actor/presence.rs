//! Presence: who is online follows who is connected, at once, with one exception. A member
//! whose last connection dropped without a close (`connection_lost`) is still shown online for
//! `--presence-grace-ms`: one who is back within it (a network blip, the node they came
//! through killed) was never shown gone, and the others get no `presence` frame
//! for the drop or the return. A clean close, a removal and a revoked session show at once
//! (see PROTOCOL.md, "Presence"). The room keeps the grace: it spares the frames when the room
//! lives on (a member's network, or the node they came through going down), not when the room
//! itself is loaded anew (its owner killed), where everyone arrives in an empty room.

use super::*;

impl RoomActor {
    /// Brings presence in line with who is connected now: each member who came or went is
    /// online or not, and every connection gets a `presence` frame for it. A member whose last
    /// connection was lost (`reason`) stays online until their grace ends
    /// ([`RoomActor::end_graces`]). Nothing is stored.
    pub(super) async fn reconcile_presence(&mut self, reason: PresenceReason) {
        self.reconcile(reason, true).await;
    }

    /// As [`RoomActor::reconcile_presence`], but a member who went just now gets no grace: the
    /// session a facilitator revoked is not coming back. (A grace already running runs on.)
    pub(super) async fn reconcile_presence_now(&mut self, reason: PresenceReason) {
        self.reconcile(reason, false).await;
    }

    async fn reconcile(&mut self, reason: PresenceReason, grace_allowed: bool) {
        let connected: std::collections::BTreeSet<MemberId> = self
            .subscribers
            .values()
            .map(|subscriber| subscriber.member_id)
            .collect();
        let grace = self.context.limits.presence_grace();
        let members: Vec<MemberId> = self.state.members.iter().map(|member| member.id).collect();
        for member_id in members {
            let online = connected.contains(&member_id);
            if online {
                self.going.remove(&member_id);
            } else if self.going.contains_key(&member_id) {
                // Lost already, and still within the grace: their own drop's reason holds.
                continue;
            } else if grace_allowed
                && reason == PresenceReason::ConnectionLost
                && !grace.is_zero()
                && self.state.roster().is_online(member_id)
            {
                self.going
                    .insert(member_id, tokio::time::Instant::now() + grace);
                continue;
            }
            if self.state.set_online(member_id, online) {
                self.send_presence(Some(PresenceChange {
                    member_id,
                    online,
                    reason,
                }))
                .await;
            }
        }
    }

    /// When the next grace of a lost connection ends, if one runs.
    pub(super) fn next_grace_end(&self) -> Option<tokio::time::Instant> {
        self.going.values().min().copied()
    }

    /// Shows gone, with `connection_lost`, each member whose grace has ended and who is not
    /// back.
    pub(super) async fn end_graces(&mut self) {
        let now = tokio::time::Instant::now();
        let ended: Vec<MemberId> = self
            .going
            .iter()
            .filter(|(_, end)| **end <= now)
            .map(|(member_id, _)| *member_id)
            .collect();
        for member_id in ended {
            self.going.remove(&member_id);
            let back = self
                .subscribers
                .values()
                .any(|subscriber| subscriber.member_id == member_id);
            if !back && self.state.set_online(member_id, false) {
                self.send_presence(Some(PresenceChange {
                    member_id,
                    online: false,
                    reason: PresenceReason::ConnectionLost,
                }))
                .await;
            }
        }
    }

    /// The `presence` frame: who is online now, with the change it announces, if any.
    pub(super) fn presence_frame(&self, change: Option<PresenceChange>) -> WireFrame {
        encode(&ServerMessage::Presence(wire::PresenceFrame {
            online: self.state.online_members(),
            change,
        }))
    }

    /// Sends who is online now, and `change`, to every connection in the room: like a reaction,
    /// at once and without `seq`, with what can wait a few milliseconds for company (see
    /// [`Flushes`]). A connection that cannot keep up is dropped, and presence follows.
    pub(super) async fn send_presence(&mut self, change: Option<PresenceChange>) {
        let frame = self.presence_frame(change);
        let mut slow = Vec::new();
        for (connection_id, subscriber) in &self.subscribers {
            if self
                .flushes
                .queue(&subscriber.outbox, frame.clone(), Urgency::Soon)
                == Err(QueueError::Full)
            {
                slow.push(*connection_id);
            }
        }
        if !slow.is_empty() {
            Box::pin(self.drop_slow(slow)).await;
        }
    }
}
