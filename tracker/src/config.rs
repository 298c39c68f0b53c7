//! Client settings shared by the HTTP and UDP clients.

use std::time::Duration;

/// Default limit on an HTTP tracker response body (2 MiB).
pub const DEFAULT_MAX_BODY: usize = 2 << 20;
/// Default number of HTTP redirects followed.
pub const DEFAULT_MAX_REDIRECTS: usize = 5;
/// BEP 15's base retransmission interval (the *n*-th try waits 15 · 2ⁿ s).
pub const UDP_BASE_TIMEOUT: Duration = Duration::from_secs(15);

/// Settings of the tracker clients. Start from [`ClientConfig::default`]
/// and change fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Whole-request timeout of an HTTP announce or scrape (default 30 s).
    pub timeout: Duration,
    /// Base UDP retransmission interval: the *n*-th try waits
    /// `udp_base_timeout · 2ⁿ` (default 15 s, as BEP 15 says; tests use
    /// milliseconds).
    pub udp_base_timeout: Duration,
    /// Retransmissions after the first UDP try before giving up with
    /// [`TrackerError::Timeout`](crate::TrackerError::Timeout). BEP 15
    /// allows up to 8 (over an hour); the default 2 gives up after
    /// 15 + 30 + 60 s so a dead tracker does not hold back the next tier.
    pub udp_max_retries: u32,
    /// Largest accepted HTTP response body (after gzip decoding), default
    /// [`DEFAULT_MAX_BODY`].
    pub max_body: usize,
    /// HTTP redirects followed before giving up (default 5).
    pub max_redirects: usize,
    /// The HTTP `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            udp_base_timeout: UDP_BASE_TIMEOUT,
            udp_max_retries: 2,
            max_body: DEFAULT_MAX_BODY,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            user_agent: concat!("monsoon/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl ClientConfig {
    /// How long the `n`-th UDP try (from 0) waits: `udp_base_timeout · 2ⁿ`,
    /// saturating.
    pub fn udp_timeout(&self, n: u32) -> Duration {
        self.udp_base_timeout
            .saturating_mul(2u32.checked_pow(n).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bep15_schedule() {
        let c = ClientConfig::default();
        let secs: Vec<u64> = (0..=8).map(|n| c.udp_timeout(n).as_secs()).collect();
        assert_eq!(secs, [15, 30, 60, 120, 240, 480, 960, 1920, 3840]);
        assert!(c.udp_timeout(200) >= c.udp_timeout(31));
    }
}
