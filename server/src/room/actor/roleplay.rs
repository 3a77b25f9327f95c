//! The room actor's part of role play: fresh values for the rules, and the submission path,
//! which is the one change that is not an event.
//!
//! Nothing here logs. A log line written while a submission is handled would sit next to the
//! connection's span (which names the member) or, in the actor, at a time that matches the
//! member's request; see ARCHITECTURE.md, "Anonymity".

use roundtable_protocol::{MemberId, RolePlayId};
use roundtable_rules::command::{RolePlayCommand, ScoreSubmission};

use super::RoomActor;
use crate::transport::frame::encode;
use crate::transport::outbox::{QueueError, Urgency};
use roundtable_protocol::ServerMessage;
use roundtable_rules::roleplay::{self, Fresh};
use roundtable_rules::secret::PseudonymKey;
use roundtable_rules::state::RoomError;

/// 64 random bits from the operating system, for the comment shuffle.
fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    u64::from_le_bytes(bytes)
}

impl RoomActor {
    /// Decides, persists and applies a facilitator's role play request.
    pub(super) async fn role_play_request(
        &mut self,
        member_id: MemberId,
        action: &RolePlayCommand,
    ) -> Result<(), RoomError> {
        let fresh = Fresh {
            role_play_id: RolePlayId::random(),
            shuffle_seed: random_seed(),
        };
        let decided = roleplay::decide(
            &self.state,
            member_id,
            action,
            fresh,
            self.now_ms,
            &self.rule_limits,
        );
        match decided {
            Ok(events) => self.record(events).await,
            Err(error) => Err(error),
        }
    }

    /// Stores a submission from connection `from` of `member_id` in the bag, durably, in the
    /// slot of the connection's pseudonym key (`roleplay::slot`): the same slot from every page
    /// with the same member token, before and after a restart, so a second submission is a
    /// revision. Nothing links the slot to the member outside this process's memory, where
    /// only the connection's key finds it again.
    pub(super) async fn submit(
        &mut self,
        from: super::ConnectionId,
        member_id: MemberId,
        submission: &ScoreSubmission,
    ) -> Result<(), RoomError> {
        let Some(key) = self.subscribers.get(&from).map(|s| s.pseudonym) else {
            return Err(RoomError::new(
                roundtable_protocol::ErrorCode::Unauthorized,
                "this connection has not joined the room",
            ));
        };
        let role_play_id = submission.role_play_id;
        let decision = roleplay::decide_submission(
            &self.state,
            member_id,
            role_play_id,
            &submission.scores,
            &submission.comment,
            submission.one_thing_differently.as_deref(),
            roleplay::slot::slot_of(&key, role_play_id),
            &self.rule_limits,
        )?;
        let mut next = Box::new(self.state.clone());
        next.put_submission(decision.slot, decision.submission);
        // The bag is durable only in the snapshot, so the snapshot goes into the same atomic
        // write as the count event (or alone, for a revision, which changes no count).
        self.record_from(Some(next), decision.count_event.into_iter().collect(), true)
            .await
    }

    /// After a submission from connection `from`, the other connections with the same member
    /// token (another tab, another device) each get a fresh snapshot, whose `you_submitted`
    /// says so: every page of theirs then shows what a reload would. Nobody else gets anything.
    pub(super) async fn tell_other_pages_they_submitted(&mut self, from: super::ConnectionId) {
        let Some(sender) = self.subscribers.get(&from) else {
            return;
        };
        let (member_id, key) = (sender.member_id, sender.pseudonym);
        let others: Vec<super::ConnectionId> = self
            .subscribers
            .iter()
            .filter(|(id, subscriber)| **id != from && subscriber.pseudonym == key)
            .map(|(id, _)| *id)
            .collect();
        if others.is_empty() {
            return;
        }
        let frame = encode(&ServerMessage::Snapshot(
            self.wire_snapshot_for(member_id, &key),
        ));
        let mut slow = Vec::new();
        for id in others {
            let outbox = &self.subscribers[&id].outbox;
            if self.flushes.queue(outbox, frame.clone(), Urgency::Now) == Err(QueueError::Full) {
                slow.push(id);
            }
        }
        if !slow.is_empty() {
            Box::pin(self.drop_slow(slow)).await;
        }
    }

    /// The snapshot a connection of `viewer` that joined with the token whose pseudonym key is
    /// `key` receives: the state as they see it, plus whether that key's slot holds a
    /// submission in the role play being scored. It goes into this connection's snapshot and
    /// nowhere else: it is not part of the room's state, so no stored snapshot holds it, and
    /// nothing logs it.
    pub(super) fn wire_snapshot_for(
        &self,
        viewer: MemberId,
        key: &PseudonymKey,
    ) -> roundtable_protocol::Snapshot {
        self.state.to_wire_snapshot_with_key(viewer, key)
    }
}
