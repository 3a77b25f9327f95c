//! The per-connection request rate limit.

use std::time::Instant;

/// A token bucket: `rate` tokens per second, holding at most twice that.
#[derive(Debug)]
pub struct TokenBucket {
    rate_per_second: f64,
    capacity: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    pub fn new(requests_per_second: u32) -> Self {
        let rate_per_second = f64::from(requests_per_second.max(1));
        TokenBucket {
            rate_per_second,
            capacity: rate_per_second * 2.0,
            tokens: rate_per_second * 2.0,
            updated: Instant::now(),
        }
    }

    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.updated = now;
        self.tokens = (self.tokens + elapsed * self.rate_per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn token_bucket_allows_bursts_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10);
        bucket.updated = start;
        let burst = (0..100).filter(|_| bucket.take(start)).count();
        assert_eq!(burst, 20, "a burst of twice the rate passes");
        let later = start + Duration::from_millis(500);
        let refilled = (0..100).filter(|_| bucket.take(later)).count();
        assert_eq!(refilled, 5, "half a second refills half the rate");
    }
}
