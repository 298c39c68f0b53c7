//! Tokens for `announce_peer` (BEP 5): the first bytes of SHA-1 over a
//! secret and the asking node's IP address. The secret changes every
//! rotation period and the previous one is still accepted, so a token
//! lives between one and two periods.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use sha1::{Digest, Sha1};

use crate::rng::Rng;

/// Bytes of the tokens we hand out.
pub const TOKEN_LEN: usize = 8;

/// The current and previous secret.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    current: [u8; 16],
    previous: [u8; 16],
    rotate_at: Instant,
    every: Duration,
}

fn token(secret: &[u8; 16], ip: IpAddr) -> [u8; TOKEN_LEN] {
    let mut h = Sha1::new();
    h.update(secret);
    match ip {
        IpAddr::V4(a) => h.update(a.octets()),
        IpAddr::V6(a) => h.update(a.octets()),
    }
    let digest = h.finalize();
    let mut out = [0u8; TOKEN_LEN];
    out.copy_from_slice(&digest[..TOKEN_LEN]);
    out
}

impl Tokens {
    pub(crate) fn new(rng: &mut Rng, now: Instant, every: Duration) -> Tokens {
        let mut current = [0u8; 16];
        let mut previous = [0u8; 16];
        rng.fill(&mut current);
        rng.fill(&mut previous);
        Tokens {
            current,
            previous,
            rotate_at: now + every,
            every,
        }
    }

    /// Rotates the secret when its period is over.
    pub(crate) fn tick(&mut self, rng: &mut Rng, now: Instant) {
        if now >= self.rotate_at {
            if now >= self.rotate_at + self.every {
                // Idle for two periods: the old current secret is too old too.
                rng.fill(&mut self.previous);
            } else {
                self.previous = self.current;
            }
            rng.fill(&mut self.current);
            self.rotate_at = now + self.every;
        }
    }

    /// When the secret changes next.
    pub(crate) fn deadline(&self) -> Instant {
        self.rotate_at
    }

    /// The token for a node at `ip`.
    pub(crate) fn issue(&self, ip: IpAddr) -> [u8; TOKEN_LEN] {
        token(&self.current, ip)
    }

    /// Whether `given` is a token we handed to `ip` under the current or
    /// the previous secret.
    pub(crate) fn verify(&self, given: &[u8], ip: IpAddr) -> bool {
        given == token(&self.current, ip) || given == token(&self.previous, ip)
    }
}
