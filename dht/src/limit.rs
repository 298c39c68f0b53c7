//! Rate limits for incoming queries: a token bucket per source IP address,
//! in a table of bounded size.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

/// Bounds of the per-source rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Queries per second each source may send on average.
    pub per_second: u32,
    /// Queries a source may send at once after a quiet period.
    pub burst: u32,
    /// Sources tracked at most; when the table is full of busy sources,
    /// queries from new sources are dropped until some go quiet.
    pub sources: usize,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 20,
            burst: 50,
            sources: 4096,
        }
    }
}

/// Allowance in thousandths of a query.
#[derive(Debug, Clone, Copy)]
struct Source {
    milli: u64,
    last: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    sources: HashMap<IpAddr, Source>,
    limit: RateLimit,
    /// When a full table was last swept (at most once a second).
    swept: Option<Instant>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            sources: HashMap::new(),
            limit,
            swept: None,
        }
    }

    fn full(&self) -> u64 {
        u64::from(self.limit.burst) * 1000
    }

    fn refill(&self, s: &Source, now: Instant) -> u64 {
        let ms = now.saturating_duration_since(s.last).as_millis();
        let gained = u64::try_from(ms)
            .unwrap_or(u64::MAX)
            .saturating_mul(u64::from(self.limit.per_second));
        s.milli.saturating_add(gained).min(self.full())
    }

    /// Whether a query from `ip` at `now` may be answered (and counts it).
    pub(crate) fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if let Some(s) = self.sources.get(&ip).copied() {
            let milli = self.refill(&s, now);
            let allowed = milli >= 1000;
            let left = if allowed { milli - 1000 } else { milli };
            self.sources.insert(
                ip,
                Source {
                    milli: left,
                    last: now,
                },
            );
            return allowed;
        }
        if self.limit.burst == 0 {
            return false;
        }
        if self.sources.len() >= self.limit.sources {
            if self
                .swept
                .is_some_and(|t| now.saturating_duration_since(t).as_secs() < 1)
            {
                return false;
            }
            self.swept = Some(now);
            // Sources whose bucket has refilled are the same as unknown ones.
            let full = self.full();
            let sources = std::mem::take(&mut self.sources);
            self.sources = sources
                .into_iter()
                .filter(|(_, s)| self.refill(s, now) < full)
                .collect();
            if self.sources.len() >= self.limit.sources {
                return false;
            }
        }
        self.sources.insert(
            ip,
            Source {
                milli: self.full() - 1000,
                last: now,
            },
        );
        true
    }

    /// Sources tracked.
    pub(crate) fn len(&self) -> usize {
        self.sources.len()
    }
}
