//! A token bucket per registry host.
//!
//! Docker Hub allows a fixed number of requests per time window; spending
//! them evenly (with a burst allowance) keeps us under its limit instead of
//! discovering it through 429s. A 429 empties the bucket, so every worker
//! sharing the host slows down at once instead of each finding out alone.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A rate: `per_minute` requests a minute on average, at most `burst` at
/// once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_minute: f64,
    pub burst: u32,
}

impl RateLimit {
    /// Docker Hub's default: 300 a minute, burst 300.
    pub const DOCKER_HUB: RateLimit = RateLimit {
        per_minute: 300.0,
        burst: 300,
    };
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    refilled_at: Instant,
}

/// The bucket of one host; shared by every thread talking to it.
#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    state: Mutex<BucketState>,
}

impl TokenBucket {
    pub fn new(limit: RateLimit) -> TokenBucket {
        TokenBucket {
            limit,
            state: Mutex::new(BucketState {
                tokens: f64::from(limit.burst.max(1)),
                refilled_at: Instant::now(),
            }),
        }
    }

    fn per_second(&self) -> f64 {
        (self.limit.per_minute / 60.0).max(f64::MIN_POSITIVE)
    }

    /// Takes one token, sleeping until one is available.
    pub fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                let elapsed = now.duration_since(state.refilled_at).as_secs_f64();
                state.tokens = (state.tokens + elapsed * self.per_second())
                    .min(f64::from(self.limit.burst.max(1)));
                state.refilled_at = now;
                if state.tokens >= 1.0 {
                    state.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - state.tokens) / self.per_second())
            };
            std::thread::sleep(wait.min(Duration::from_secs(60)));
        }
    }

    /// Empties the bucket (the registry said 429: we were going too fast).
    pub fn empty(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.tokens = 0.0;
        state.refilled_at = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_free_then_the_rate_applies() {
        let bucket = TokenBucket::new(RateLimit {
            per_minute: 600.0,
            burst: 3,
        });
        let start = Instant::now();
        for _ in 0..3 {
            bucket.acquire();
        }
        assert!(start.elapsed() < Duration::from_millis(50));
        bucket.acquire(); // one token at 10/s: about 100 ms
        assert!(start.elapsed() >= Duration::from_millis(80));
    }

    #[test]
    fn empty_makes_the_next_request_wait() {
        let bucket = TokenBucket::new(RateLimit {
            per_minute: 1200.0,
            burst: 100,
        });
        bucket.empty();
        let start = Instant::now();
        bucket.acquire(); // 20/s: about 50 ms
        assert!(start.elapsed() >= Duration::from_millis(40));
    }
}
