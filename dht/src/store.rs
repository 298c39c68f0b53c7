//! The peers other nodes announced to us (`announce_peer`), bounded per
//! info-hash and in total, each expiring unless announced again.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::id::NodeId;
use crate::rng::Rng;

/// Bounds of the peer store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Peers kept per info-hash; a new one beyond it replaces the oldest.
    pub per_info_hash: usize,
    /// Info-hashes kept; announces for new ones beyond it are refused.
    pub info_hashes: usize,
    /// Peers kept in all; announces beyond it are refused.
    pub peers: usize,
    /// How long an announce is kept (BEP 5 peers re-announce about every
    /// 15 minutes... or 30).
    pub ttl: Duration,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            per_info_hash: 200,
            info_hashes: 2000,
            peers: 20_000,
            ttl: Duration::from_secs(30 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Stored {
    addr: SocketAddr,
    expires: Instant,
}

/// Announced peers by info-hash.
#[derive(Debug, Clone)]
pub(crate) struct PeerStore {
    map: HashMap<NodeId, Vec<Stored>>,
    total: usize,
    limits: StoreLimits,
}

impl PeerStore {
    pub(crate) fn new(limits: StoreLimits) -> PeerStore {
        PeerStore {
            map: HashMap::new(),
            total: 0,
            limits,
        }
    }

    /// Info-hashes and peers held.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.map.len(), self.total)
    }

    /// Stores `addr` as a peer of `info_hash`; false when the store is full.
    pub(crate) fn insert(&mut self, info_hash: NodeId, addr: SocketAddr, now: Instant) -> bool {
        let expires = now + self.limits.ttl;
        if let Some(list) = self.map.get_mut(&info_hash) {
            if let Some(s) = list.iter_mut().find(|s| s.addr == addr) {
                s.expires = expires;
                return true;
            }
            if list.len() >= self.limits.per_info_hash {
                if let Some(oldest) = list.iter_mut().min_by_key(|s| s.expires) {
                    *oldest = Stored { addr, expires };
                }
                return true;
            }
        }
        if self.total >= self.limits.peers {
            self.expire(now);
            if self.total >= self.limits.peers {
                return false;
            }
        }
        if !self.map.contains_key(&info_hash) && self.map.len() >= self.limits.info_hashes {
            return false;
        }
        self.map
            .entry(info_hash)
            .or_default()
            .push(Stored { addr, expires });
        self.total += 1;
        true
    }

    /// Up to `max` live peers of `info_hash` of the families asked for,
    /// a random choice when there are more.
    pub(crate) fn get(
        &self,
        info_hash: &NodeId,
        (v4, v6): (bool, bool),
        max: usize,
        now: Instant,
        rng: &mut Rng,
    ) -> Vec<SocketAddr> {
        let Some(list) = self.map.get(info_hash) else {
            return Vec::new();
        };
        let mut out: Vec<SocketAddr> = list
            .iter()
            .filter(|s| s.expires > now)
            .map(|s| s.addr)
            .filter(|a| (a.is_ipv4() && v4) || (a.is_ipv6() && v6))
            .collect();
        if out.len() > max {
            // A partial Fisher-Yates shuffle picks `max` of them.
            for i in 0..max {
                let j = i + rng.below((out.len() - i) as u64) as usize;
                out.swap(i, j);
            }
            out.truncate(max);
        }
        out
    }

    /// Drops expired announces.
    pub(crate) fn expire(&mut self, now: Instant) {
        let mut total = 0;
        self.map.retain(|_, list| {
            list.retain(|s| s.expires > now);
            total += list.len();
            !list.is_empty()
        });
        self.total = total;
    }
}
