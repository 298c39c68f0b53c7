//! One iterative Kademlia lookup in one address family: the candidates
//! sorted by distance to the target, at most α queries in flight, done when
//! the k closest candidates that did not fail have all answered.

use std::net::SocketAddr;

use crate::compact::NodeInfo;
use crate::id::{Distance, NodeId};

/// Candidates kept per lookup; farther ones not yet queried are dropped.
pub(crate) const MAX_CANDIDATES: usize = 64;
/// Queries one lookup sends at most; then it ends with what it has (a
/// bound on the work hostile `nodes` lists can cause).
pub(crate) const MAX_QUERIES: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Fresh,
    /// Queried; `slow` once it has been out longer than the short timeout
    /// (then it no longer holds one of the α slots, but may still answer).
    InFlight {
        slow: bool,
    },
    Responded,
    Failed,
}

#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// Unknown for bootstrap addresses until they answer.
    pub(crate) id: Option<NodeId>,
    /// The sort key: distance to the target (unknown ids after all known).
    key: (bool, Distance),
    pub(crate) addr: SocketAddr,
    pub(crate) state: State,
    /// The `get_peers` token it gave us.
    pub(crate) token: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    target: NodeId,
    cands: Vec<Candidate>,
    queried: usize,
}

impl Lookup {
    pub(crate) fn new(target: NodeId) -> Lookup {
        Lookup {
            target,
            cands: Vec::new(),
            queried: 0,
        }
    }

    /// Sort key: known ids by distance, then unknown ids in arrival order.
    fn key(&self, id: Option<NodeId>) -> (bool, Distance) {
        match id {
            Some(id) => (false, id.distance(&self.target)),
            None => (true, Distance([0xff; 20])),
        }
    }

    /// Puts `c` at its place in the sorted list (after equal keys).
    fn insert_sorted(&mut self, c: Candidate) {
        let pos = self.cands.partition_point(|x| x.key <= c.key);
        self.cands.insert(pos, c);
    }

    /// Adds a candidate unless its address or id is already there.
    pub(crate) fn add(&mut self, id: Option<NodeId>, addr: SocketAddr) {
        if self
            .cands
            .iter()
            .any(|c| c.addr == addr || (id.is_some() && c.id == id))
        {
            return;
        }
        let key = self.key(id);
        self.insert_sorted(Candidate {
            id,
            key,
            addr,
            state: State::Fresh,
            token: None,
        });
        self.trim();
    }

    /// Drops the farthest candidates beyond the cap, except those in
    /// flight (their answers still count).
    fn trim(&mut self) {
        while self.cands.len() > MAX_CANDIDATES {
            let Some(pos) = self
                .cands
                .iter()
                .rposition(|c| !matches!(c.state, State::InFlight { .. }))
            else {
                return;
            };
            self.cands.remove(pos);
        }
    }

    /// The first `k` candidates that have not failed.
    fn top(&self, k: usize) -> impl Iterator<Item = &Candidate> {
        self.cands
            .iter()
            .filter(|c| c.state != State::Failed)
            .take(k)
    }

    /// The next candidate to query, if fewer than `alpha` queries hold a
    /// slot and a fresh candidate is among the `k` closest.
    pub(crate) fn next(&self, alpha: usize, k: usize) -> Option<SocketAddr> {
        let busy = self
            .cands
            .iter()
            .filter(|c| c.state == State::InFlight { slow: false })
            .count();
        if busy >= alpha || self.queried >= MAX_QUERIES {
            return None;
        }
        self.top(k)
            .find(|c| c.state == State::Fresh)
            .map(|c| c.addr)
    }

    fn find(&mut self, addr: SocketAddr) -> Option<&mut Candidate> {
        self.cands.iter_mut().find(|c| c.addr == addr)
    }

    /// The id of the candidate at `addr`, if known.
    pub(crate) fn id_of(&self, addr: SocketAddr) -> Option<NodeId> {
        self.cands
            .iter()
            .find(|c| c.addr == addr)
            .and_then(|c| c.id)
    }

    pub(crate) fn sent(&mut self, addr: SocketAddr) {
        if let Some(c) = self.find(addr) {
            c.state = State::InFlight { slow: false };
            self.queried += 1;
        }
    }

    /// The candidate at `addr` answered as `id` (with a token, for
    /// `get_peers`).
    pub(crate) fn responded(&mut self, addr: SocketAddr, id: NodeId, token: Option<&[u8]>) {
        let Some(pos) = self.cands.iter().position(|c| c.addr == addr) else {
            return;
        };
        let mut c = self.cands.remove(pos);
        c.state = State::Responded;
        c.token = token.map(<[u8]>::to_vec);
        if c.id != Some(id) {
            c.id = Some(id);
            c.key = self.key(c.id);
            // Another candidate under the same id (from a stale `nodes`
            // entry) is the same node: keep the one that answered.
            self.cands
                .retain(|x| x.id != Some(id) || x.state == State::Responded);
        }
        self.insert_sorted(c);
    }

    pub(crate) fn failed(&mut self, addr: SocketAddr) {
        if let Some(c) = self.find(addr) {
            c.state = State::Failed;
        }
    }

    pub(crate) fn slow(&mut self, addr: SocketAddr) {
        if let Some(c) = self.find(addr) {
            if c.state == (State::InFlight { slow: false }) {
                c.state = State::InFlight { slow: true };
            }
        }
    }

    /// Whether the `k` closest candidates that did not fail have all
    /// answered (also when no candidate is left at all).
    /// Past [`MAX_QUERIES`], done once nothing is in flight.
    pub(crate) fn done(&self, k: usize) -> bool {
        if self.queried >= MAX_QUERIES {
            return !self
                .cands
                .iter()
                .any(|c| matches!(c.state, State::InFlight { .. }));
        }
        self.top(k).all(|c| c.state == State::Responded)
    }

    /// Up to `k` nodes that answered with a token, closest first.
    pub(crate) fn with_tokens(&self, k: usize) -> Vec<(NodeInfo, Vec<u8>)> {
        self.cands
            .iter()
            .filter(|c| c.state == State::Responded)
            .filter_map(|c| {
                Some((
                    NodeInfo {
                        id: c.id?,
                        addr: c.addr,
                    },
                    c.token.clone()?,
                ))
            })
            .take(k)
            .collect()
    }

    /// Up to `k` nodes that answered, closest first.
    pub(crate) fn closest_responded(&self, k: usize) -> Vec<NodeInfo> {
        self.cands
            .iter()
            .filter(|c| c.state == State::Responded)
            .filter_map(|c| {
                Some(NodeInfo {
                    id: c.id?,
                    addr: c.addr,
                })
            })
            .take(k)
            .collect()
    }
}
