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
use roundtable_rules::roleplay::dedupe::ScoringDedupe;
use roundtable_rules::roleplay::{self, Fresh, SubmissionSlot};
use roundtable_rules::state::RoomError;

/// A fresh key for the scoring dedupe, from the operating system; it never leaves this
/// process's memory.
fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the operating system provides randomness");
    key
}

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
        let result = match decided {
            Ok(events) => self.record(events).await,
            Err(error) => Err(error),
        };
        self.sync_scoring_dedupe();
        result
    }

    /// Stores a submission in the bag, durably, with no link to `member_id` outside this
    /// process's memory.
    pub(super) async fn submit(
        &mut self,
        member_id: MemberId,
        submission: &ScoreSubmission,
    ) -> Result<(), RoomError> {
        let result = self.submit_in_bag(member_id, submission).await;
        self.sync_scoring_dedupe();
        result
    }

    async fn submit_in_bag(
        &mut self,
        member_id: MemberId,
        submission: &ScoreSubmission,
    ) -> Result<(), RoomError> {
        self.sync_scoring_dedupe();
        let role_play_id = submission.role_play_id;
        let remembered = self
            .scoring_dedupe
            .as_ref()
            .filter(|dedupe| dedupe.role_play_id() == role_play_id)
            .and_then(|dedupe| dedupe.slot_of(member_id));
        // The ballot's slot makes a submission after a restart (when the dedupe is new) a
        // revision of the one before it (`roleplay::ballot`).
        let (existing_slot, fresh_slot) = roleplay::ballot::slots_for(
            &self.state.role_play,
            role_play_id,
            submission.ballot.as_deref(),
            remembered,
            SubmissionSlot(uuid::Uuid::new_v4()),
        )?;
        let decision = roleplay::decide_submission(
            &self.state,
            member_id,
            role_play_id,
            &submission.scores,
            &submission.comment,
            submission.one_thing_differently.as_deref(),
            existing_slot,
            fresh_slot,
            &self.rule_limits,
        )?;
        let mut next = self.state.clone();
        next.put_submission(decision.slot, decision.submission);
        // The bag is durable only in the snapshot, so the snapshot goes into the same atomic
        // write as the count event (or alone, for a revision, which changes no count).
        self.record_from(Some(next), decision.count_event.into_iter().collect(), true)
            .await?;
        if let Some(dedupe) = self.scoring_dedupe.as_mut() {
            dedupe.remember(member_id, decision.slot);
        }
        Ok(())
    }

    /// After `member_id` submitted from connection `from`, their other connections (another
    /// tab, another device) each get a fresh snapshot of their own, whose `you_submitted` says
    /// so: every page of theirs then shows what a reload would. Nobody else gets anything.
    pub(super) async fn tell_other_pages_they_submitted(
        &mut self,
        from: super::ConnectionId,
        member_id: MemberId,
    ) {
        let others: Vec<super::ConnectionId> = self
            .subscribers
            .iter()
            .filter(|(id, subscriber)| **id != from && subscriber.member_id == member_id)
            .map(|(id, _)| *id)
            .collect();
        if others.is_empty() {
            return;
        }
        let frame = encode(&ServerMessage::Snapshot(self.wire_snapshot_for(member_id)));
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

    /// The snapshot `viewer` receives: the state as they see it, plus whether they have a
    /// submission in the role play being scored, which only this process's memory knows. It
    /// goes into this viewer's own snapshot and nowhere else: it is not part of the room's
    /// state, so no stored snapshot holds it, and nothing logs it.
    pub(super) fn wire_snapshot_for(&self, viewer: MemberId) -> roundtable_protocol::Snapshot {
        let mut snapshot = self.state.to_wire_snapshot_for(viewer);
        snapshot.role_play.you_submitted = self.has_submitted(viewer);
        snapshot
    }

    /// Whether `member_id` filled a slot that is still in the bag of the role play being
    /// scored, as far as this process knows (a restart forgets it, by design).
    pub(super) fn has_submitted(&self, member_id: MemberId) -> bool {
        let Some(open) = self.state.role_play.scoring_open() else {
            return false;
        };
        let Some(current) = self.state.role_play.current.as_ref() else {
            return false;
        };
        self.scoring_dedupe
            .as_ref()
            .filter(|dedupe| dedupe.role_play_id() == open)
            .and_then(|dedupe| dedupe.slot_of(member_id))
            .is_some_and(|slot| current.submissions.contains_key(&slot))
    }

    /// Keeps the dedupe in step with the state: one for the role play being scored, none when
    /// nothing is (which destroys the key and with it every link from a slot to a member).
    fn sync_scoring_dedupe(&mut self) {
        let open = self.state.role_play.scoring_open();
        let current = self
            .scoring_dedupe
            .as_ref()
            .map(ScoringDedupe::role_play_id);
        if open != current {
            self.scoring_dedupe =
                open.map(|role_play_id| ScoringDedupe::with_key(role_play_id, random_key()));
        }
    }
}
