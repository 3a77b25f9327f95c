//! Quick reactions (applause, +1, laugh, ...): who may send one and how often.
//!
//! A reaction changes nothing in the room: it is not an event, has no `seq` and is never
//! stored or replayed. The room actor keeps a [`ReactionLimiter`] in memory and broadcasts what
//! [`ReactionLimiter::decide`] allows. Each member has a token bucket: [`REACTION_BURST`]
//! reactions at once, refilled at one per [`REACTION_INTERVAL_MS`]. Time comes in as an
//! argument, so tests drive it with a fake clock.

use std::collections::HashMap;

use roundtable_protocol::{ErrorCode, MemberId, Reaction, ReactionFrame, UnixMs};

use crate::error::RoomError;
use crate::roster::Roster;

/// Reactions a member may send at once, after a quiet moment.
pub const REACTION_BURST: u64 = 3;

/// A member's reactions refill at one per this many milliseconds (one a second, sustained).
pub const REACTION_INTERVAL_MS: u64 = 1_000;

/// Buckets kept at most; past it, buckets that are full again are forgotten (a forgotten
/// bucket is a full one), and if none is, the reaction is refused.
pub const REACTION_BUCKETS_MAX: usize = 256;

/// One member's bucket: `tokens` thousandths of a reaction, as of `at_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bucket {
    milli_tokens: u64,
    at_ms: UnixMs,
}

const FULL: u64 = REACTION_BURST * 1_000;

impl Bucket {
    /// The bucket at `now_ms`, refilled for the time since `at_ms`.
    fn refilled(self, now_ms: UnixMs) -> Bucket {
        let elapsed_ms = now_ms.saturating_sub(self.at_ms);
        let refill = elapsed_ms.saturating_mul(1_000) / REACTION_INTERVAL_MS;
        Bucket {
            milli_tokens: self.milli_tokens.saturating_add(refill).min(FULL),
            at_ms: now_ms.max(self.at_ms),
        }
    }
}

/// Each member's reaction budget, in memory only.
#[derive(Debug, Default)]
pub struct ReactionLimiter {
    buckets: HashMap<MemberId, Bucket>,
}

impl ReactionLimiter {
    /// Decides `by`'s reaction at `now_ms`: the frame to send everyone, or `rate_limited`
    /// (and nothing is sent). Any member may react, observers too.
    pub fn decide(
        &mut self,
        roster: Roster,
        by: MemberId,
        reaction: Reaction,
        now_ms: UnixMs,
    ) -> Result<ReactionFrame, RoomError> {
        roster.require_member_role(by)?;
        if !self.buckets.contains_key(&by) && self.buckets.len() >= REACTION_BUCKETS_MAX {
            self.buckets
                .retain(|_, bucket| bucket.refilled(now_ms).milli_tokens < FULL);
        }
        if !self.buckets.contains_key(&by) && self.buckets.len() >= REACTION_BUCKETS_MAX {
            return Err(too_fast());
        }
        let bucket = self.buckets.entry(by).or_insert(Bucket {
            milli_tokens: FULL,
            at_ms: now_ms,
        });
        let refilled = bucket.refilled(now_ms);
        if refilled.milli_tokens < 1_000 {
            *bucket = refilled;
            return Err(too_fast());
        }
        *bucket = Bucket {
            milli_tokens: refilled.milli_tokens - 1_000,
            ..refilled
        };
        Ok(ReactionFrame {
            member_id: by,
            reaction,
            at_ms: now_ms,
        })
    }

    /// Buckets kept now (for tests).
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

fn too_fast() -> RoomError {
    RoomError::new(
        ErrorCode::RateLimited,
        format!(
            "at most {REACTION_BURST} reactions at once and one a second after that; \
             this one was not sent"
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use roundtable_protocol::Role;

    use super::*;
    use crate::roster::Member;
    use crate::secret::hash_secret;

    fn members(count: usize) -> Vec<Member> {
        (0..count)
            .map(|index| Member {
                id: MemberId::random(),
                display_name: format!("M{index}"),
                role: if index == 0 {
                    Role::Observer
                } else {
                    Role::Member
                },
                token_hash: hash_secret(&format!("token-{index}")),
                joined_at_ms: 0,
            })
            .collect()
    }

    #[test]
    fn a_burst_passes_then_one_a_second() {
        let members = members(2);
        let online = BTreeSet::new();
        let roster = Roster {
            members: &members,
            online: &online,
        };
        let ann = members[1].id;
        let mut limiter = ReactionLimiter::default();
        for at in [0, 10, 20] {
            let frame = limiter.decide(roster, ann, Reaction::Applause, at).unwrap();
            assert_eq!((frame.member_id, frame.at_ms), (ann, at));
        }
        let refused = limiter
            .decide(roster, ann, Reaction::Laugh, 30)
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::RateLimited);
        // A refusal costs nothing: a second later exactly one more passes.
        assert!(limiter.decide(roster, ann, Reaction::Laugh, 999).is_err());
        assert!(limiter.decide(roster, ann, Reaction::Laugh, 1_000).is_ok());
        assert!(limiter.decide(roster, ann, Reaction::Laugh, 1_001).is_err());
        // After a quiet spell the burst is back, and no more than the burst.
        for at in [10_000, 10_001, 10_002] {
            assert!(limiter.decide(roster, ann, Reaction::Heart, at).is_ok());
        }
        assert!(
            limiter
                .decide(roster, ann, Reaction::Heart, 10_003)
                .is_err()
        );
    }

    #[test]
    fn each_member_has_their_own_budget_and_strangers_none() {
        let members = members(3);
        let online = BTreeSet::new();
        let roster = Roster {
            members: &members,
            online: &online,
        };
        let mut limiter = ReactionLimiter::default();
        for _ in 0..3 {
            limiter
                .decide(roster, members[1].id, Reaction::PlusOne, 5)
                .unwrap();
        }
        assert!(
            limiter
                .decide(roster, members[1].id, Reaction::PlusOne, 5)
                .is_err()
        );
        // An observer reacts too.
        assert!(
            limiter
                .decide(roster, members[0].id, Reaction::Idea, 5)
                .is_ok()
        );
        let stranger = limiter
            .decide(roster, MemberId::random(), Reaction::Idea, 5)
            .unwrap_err();
        assert_eq!(stranger.code, ErrorCode::Forbidden);
    }

    #[test]
    fn the_buckets_are_bounded() {
        let members = members(REACTION_BUCKETS_MAX + 1);
        let online = BTreeSet::new();
        let roster = Roster {
            members: &members,
            online: &online,
        };
        let mut limiter = ReactionLimiter::default();
        for member in &members[..REACTION_BUCKETS_MAX] {
            limiter
                .decide(roster, member.id, Reaction::Laugh, 0)
                .unwrap();
        }
        let last = members[REACTION_BUCKETS_MAX].id;
        // Every bucket is still refilling: no room for one more.
        let refused = limiter
            .decide(roster, last, Reaction::Laugh, 10)
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::RateLimited);
        assert_eq!(limiter.len(), REACTION_BUCKETS_MAX);
        // Once they are full again they are forgotten.
        assert!(limiter.decide(roster, last, Reaction::Laugh, 5_000).is_ok());
        assert_eq!(limiter.len(), 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Whatever the timing, over any stretch of time a member gets at most the burst plus one
        /// reaction per interval through, and each member's budget is their own.
        #[test]
        fn no_member_gets_more_than_the_burst_and_one_a_second(
            attempts in proptest::collection::vec((0usize..3, 0u64..400), 1..200),
        ) {
            let members = members(4);
            let online = BTreeSet::new();
            let roster = Roster { members: &members, online: &online };
            let mut limiter = ReactionLimiter::default();
            let mut now = 0;
            let mut passed: Vec<Vec<UnixMs>> = vec![Vec::new(); 3];
            for (who, gap) in attempts {
                now += gap;
                if limiter.decide(roster, members[who + 1].id, Reaction::PlusOne, now).is_ok() {
                    passed[who].push(now);
                }
            }
            for times in &passed {
                for (index, start) in times.iter().enumerate() {
                    for end in &times[index..] {
                        let within = times.iter().filter(|at| *at >= start && *at <= end).count() as u64;
                        let allowed = REACTION_BURST + (end - start) / REACTION_INTERVAL_MS;
                        proptest::prop_assert!(within <= allowed, "{} reactions from {} to {} ms", within, start, end);
                    }
                }
            }
        }
    }
}
