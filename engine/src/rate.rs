//! Rate limits: a token bucket (sans-IO, time as an argument) and the
//! shared async limiter the peer tasks draw payload bytes from.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket of payload bytes: `rate` bytes per second, up to `burst`
/// saved. Taking more than there is leaves a debt that the caller waits off,
/// so the long-run rate is exact whatever the block size.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    /// Bytes per second; 0 means unlimited.
    rate: u64,
    /// Tokens (bytes); negative is a debt.
    tokens: f64,
    last: Instant,
}

/// A tenth of a second of the rate may be saved up, and at least one
/// block's worth, so a limit below 16 KiB/s still lets blocks through.
fn burst(rate: u64) -> f64 {
    (rate as f64 / 10.0).max(16.0 * 1024.0)
}

impl TokenBucket {
    pub(crate) fn new(rate: u64, now: Instant) -> Self {
        // Empty at first: a fresh limit does not start with a burst.
        Self {
            rate,
            tokens: 0.0,
            last: now,
        }
    }

    pub(crate) fn rate(&self) -> u64 {
        self.rate
    }

    /// Changes the rate (0: unlimited); a debt is forgiven.
    pub(crate) fn set_rate(&mut self, rate: u64, now: Instant) {
        self.refill(now);
        self.rate = rate;
        self.tokens = self.tokens.clamp(0.0, burst(rate));
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate as f64).min(burst(self.rate));
    }

    /// Takes `bytes`; returns how long to wait before using them (zero when
    /// there were enough, or when unlimited).
    pub(crate) fn take(&mut self, bytes: u64, now: Instant) -> Duration {
        if self.rate == 0 {
            return Duration::ZERO;
        }
        self.refill(now);
        self.tokens -= bytes as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate as f64)
        }
    }
}

/// A token bucket shared by every peer task under one limit (a torrent's,
/// or the session's), changeable at runtime.
#[derive(Debug)]
pub(crate) struct Limiter(Mutex<TokenBucket>);

impl Limiter {
    pub(crate) fn new(rate: u64) -> Self {
        Self(Mutex::new(TokenBucket::new(rate, Instant::now())))
    }

    pub(crate) fn set_rate(&self, rate: u64) {
        if let Ok(mut b) = self.0.lock() {
            b.set_rate(rate, Instant::now());
        }
    }

    pub(crate) fn rate(&self) -> u64 {
        self.0.lock().map_or(0, |b| b.rate())
    }

    /// How long the caller must wait before sending (or having received)
    /// `bytes` of payload.
    pub(crate) fn take(&self, bytes: u64) -> Duration {
        self.0
            .lock()
            .map_or(Duration::ZERO, |mut b| b.take(bytes, Instant::now()))
    }
}

/// Waits until `bytes` may pass every limiter in `limits`.
pub(crate) async fn throttle(limits: &[&Limiter], bytes: u64) {
    let wait = limits
        .iter()
        .map(|l| l.take(bytes))
        .max()
        .unwrap_or_default();
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_run_rate_is_the_limit_whatever_the_block_size() {
        for (rate, block) in [
            (100_000u64, 16_384u64),
            (1_000_000, 16_384),
            (50_000, 131_072),
            (3_000, 16_384),
        ] {
            let t0 = Instant::now();
            let mut b = TokenBucket::new(rate, t0);
            let mut now = t0;
            let mut sent = 0u64;
            // Send as fast as allowed for 20 s of virtual time.
            while now < t0 + Duration::from_secs(20) {
                now += b.take(block, now);
                sent += block;
            }
            let secs = (now - t0).as_secs_f64();
            let got = sent as f64 / secs;
            let err = (got - rate as f64).abs() / rate as f64;
            assert!(err < 0.05, "{rate} B/s with {block} B blocks: {got:.0} B/s");
        }
    }

    #[test]
    fn unlimited_never_waits_and_a_new_rate_applies_at_once() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0, t0);
        assert_eq!(b.take(u64::MAX / 2, t0), Duration::ZERO);
        b.set_rate(10_000, t0);
        let wait = b.take(100_000, t0);
        // 100 kB at 10 kB/s: 10 s.
        assert_eq!(wait, Duration::from_secs(10));
        b.set_rate(0, t0);
        assert_eq!(b.take(1 << 30, t0), Duration::ZERO, "the debt is forgiven");
    }

    #[test]
    fn idle_time_saves_only_a_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100_000, t0);
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(b.take(16_384, later), Duration::ZERO);
        assert!(
            b.take(100_000, later) > Duration::from_millis(900),
            "an hour idle is not saved up"
        );
    }
}
