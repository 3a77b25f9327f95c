//! Token buckets, and a map of them per key whose size is capped.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How a bucket fills: it holds at most `burst` tokens and gains one every `refill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub refill: Duration,
}

impl Rate {
    /// `per_hour` tokens an hour, at most `burst` at once. `per_hour` 0 means no refill
    /// at all (only the burst, ever).
    pub fn per_hour(burst: u32, per_hour: u32) -> Rate {
        let refill = match per_hour {
            0 => Duration::MAX,
            per_hour => Duration::from_secs(3600) / per_hour,
        };
        Rate { burst, refill }
    }

    /// `per_minute` tokens a minute, at most `burst` at once.
    pub fn per_minute(burst: u32, per_minute: u32) -> Rate {
        let refill = match per_minute {
            0 => Duration::MAX,
            per_minute => Duration::from_secs(60) / per_minute,
        };
        Rate { burst, refill }
    }

    /// A bucket of this rate, full at `now`.
    pub fn full(self, now: Instant) -> Bucket {
        Bucket {
            rate: self,
            tokens: self.burst,
            updated: now,
        }
    }
}

/// A token bucket counted in whole tokens.
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: Rate,
    tokens: u32,
    /// When `tokens` was last right; the time since counts toward the next token.
    updated: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        if self.tokens >= self.rate.burst {
            self.updated = now;
            return;
        }
        let elapsed = now.saturating_duration_since(self.updated);
        let gained = elapsed.as_nanos() / self.rate.refill.as_nanos().max(1);
        let missing = self.rate.burst - self.tokens;
        if gained >= u128::from(missing) {
            self.tokens = self.rate.burst;
            self.updated = now;
        } else {
            let gained = u32::try_from(gained).expect("below missing");
            self.tokens += gained;
            self.updated += self.rate.refill * gained;
        }
    }

    /// Takes a token at `now`; if there is none, answers how long until there is one.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens > 0 {
            self.tokens -= 1;
            return Ok(());
        }
        Err(self.wait(now))
    }

    /// Gives back a token taken (the request it was for was refused by a later check).
    pub fn give_back(&mut self) {
        self.tokens = (self.tokens + 1).min(self.rate.burst);
    }

    /// How long from `now` until the next token.
    fn wait(&self, now: Instant) -> Duration {
        (self.updated + self.rate.refill).saturating_duration_since(now)
    }

    /// Whether the bucket is full at `now`: it then holds nothing a fresh one would not.
    pub fn is_full(&self, now: Instant) -> bool {
        let mut probe = self.clone();
        probe.refill(now);
        probe.tokens >= probe.rate.burst
    }
}

/// One bucket per key, at most `keys_max` of them. A key not seen gets a full bucket. When the
/// map is full, the buckets that filled up again are dropped (they know nothing a new one would
/// not); if none has, the one least recently used: an attacker with many addresses can then
/// make the server forget a key's bucket, but never grow its memory.
#[derive(Debug)]
pub struct KeyedBuckets<K> {
    rate: Rate,
    keys_max: usize,
    buckets: HashMap<K, (Bucket, Instant)>,
}

impl<K: Hash + Eq + Copy> KeyedBuckets<K> {
    pub fn new(rate: Rate, keys_max: usize) -> Self {
        KeyedBuckets {
            rate,
            keys_max: keys_max.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Takes a token of `key`'s bucket at `now`, or answers how long until it has one.
    pub fn take(&mut self, key: K, now: Instant) -> Result<(), Duration> {
        if !self.buckets.contains_key(&key) && self.buckets.len() >= self.keys_max {
            self.make_room(now);
        }
        let rate = self.rate;
        let (bucket, used) = self
            .buckets
            .entry(key)
            .or_insert_with(|| (rate.full(now), now));
        *used = now;
        bucket.take(now)
    }

    /// Gives back the token just taken of `key`'s bucket.
    pub fn give_back(&mut self, key: K) {
        if let Some((bucket, _)) = self.buckets.get_mut(&key) {
            bucket.give_back();
        }
    }

    fn make_room(&mut self, now: Instant) {
        self.buckets.retain(|_, (bucket, _)| !bucket.is_full(now));
        if self.buckets.len() < self.keys_max {
            return;
        }
        if let Some(oldest) = self
            .buckets
            .iter()
            .min_by_key(|(_, (_, used))| *used)
            .map(|(key, _)| *key)
        {
            self.buckets.remove(&oldest);
        }
    }

    /// Keys with a bucket now.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_one_per_refill() {
        let start = Instant::now();
        let mut bucket = Rate::per_hour(5, 10).full(start);
        for _ in 0..5 {
            bucket.take(start).expect("the burst passes");
        }
        let wait = bucket.take(start).expect_err("the sixth waits");
        assert_eq!(
            wait,
            Duration::from_secs(360),
            "ten an hour: one every six minutes"
        );
        let later = start + Duration::from_secs(359);
        assert_eq!(bucket.take(later), Err(Duration::from_secs(1)));
        let later = start + Duration::from_secs(360);
        bucket.take(later).expect("one token after six minutes");
        assert!(bucket.take(later).is_err());
        // Partial progress toward the next token is kept.
        let much_later = start + Duration::from_secs(360 * 100);
        for _ in 0..5 {
            bucket
                .take(much_later)
                .expect("refilled to the burst, no further");
        }
        assert!(bucket.take(much_later).is_err());
    }

    #[test]
    fn a_given_back_token_can_be_taken_again() {
        let start = Instant::now();
        let mut bucket = Rate::per_minute(1, 1).full(start);
        bucket.take(start).expect("one");
        bucket.give_back();
        bucket.take(start).expect("the same one again");
        assert!(bucket.take(start).is_err());
    }

    #[test]
    fn keys_have_their_own_buckets_and_the_map_stays_capped() {
        let start = Instant::now();
        let mut buckets = KeyedBuckets::new(Rate::per_hour(2, 1), 100);
        buckets.take(1, start).expect("first of 1");
        buckets.take(1, start).expect("second of 1");
        assert!(buckets.take(1, start).is_err());
        buckets.take(2, start).expect("2 has its own bucket");
        // Many keys, all with spent tokens: the map never holds more than its cap.
        for key in 3..10_000 {
            let now = start + Duration::from_millis(key);
            let _ = buckets.take(key, now);
            let _ = buckets.take(key, now);
            assert!(buckets.len() <= 100);
        }
        // The least recently used went first: a key just used is still limited.
        let now = start + Duration::from_millis(10_000);
        assert!(buckets.take(9_999, now).is_err());
    }

    #[test]
    fn full_buckets_are_dropped_before_used_ones() {
        let start = Instant::now();
        let mut buckets = KeyedBuckets::new(Rate::per_minute(2, 60), 3);
        buckets.take(1, start).expect("1");
        buckets.take(1, start).expect("1 again");
        let later = start + Duration::from_millis(100);
        buckets.take(2, later).expect("2");
        buckets.take(3, later).expect("3");
        // Two seconds on, 2 and 3 are full again; 1 (used first) is not yet... it is too:
        // one a second refills it. Take 1's tokens again so it stays spent.
        let now = start + Duration::from_secs(2);
        buckets.take(1, now).expect("1");
        buckets.take(1, now).expect("1");
        buckets.take(4, now).expect("4 makes room");
        assert!(buckets.take(1, now).is_err(), "the spent bucket was kept");
        assert!(buckets.len() <= 3);
    }
}
