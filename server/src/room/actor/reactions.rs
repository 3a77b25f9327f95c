//! Reactions: sent to everyone in the room at once and forgotten. No event, no `seq`, no
//! store write, nothing kept for resumes; only the per-member rate limit is remembered, in
//! memory ([`ReactionLimiter`]).

use super::*;

impl RoomActor {
    /// Sends `member_id`'s reaction to every connection in the room (theirs included), or
    /// refuses it with `rate_limited` and sends nothing.
    pub(super) async fn react(
        &mut self,
        member_id: MemberId,
        reaction: wire::Reaction,
    ) -> Result<Reply, RoomError> {
        let frame = self
            .reactions
            .decide(self.state.roster(), member_id, reaction, self.now_ms)?;
        let frame = encode(&ServerMessage::Reaction(frame));
        let mut slow = Vec::new();
        for (connection_id, subscriber) in &self.subscribers {
            if self
                .flushes
                .queue(&subscriber.outbox, frame.clone(), Urgency::Now)
                == Err(QueueError::Full)
            {
                slow.push(*connection_id);
            }
        }
        if !slow.is_empty() {
            Box::pin(self.drop_slow(slow)).await;
        }
        Ok(Reply::Done)
    }
}
