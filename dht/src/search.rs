//! Searches: one user request (bootstrap, find_node, get_peers, announce)
//! running a lookup per address family, then for an announce the
//! `announce_peer` round, and the events they report.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Instant;

use crate::compact::NodeInfo;
use crate::id::NodeId;
use crate::krpc::{Method, Response};
use crate::lookup::Lookup;
use crate::node::{Node, Purpose, family, usable};
use crate::table::K;

/// Peers one search reports at most (duplicates are never reported).
pub const MAX_PEERS_PER_SEARCH: usize = 2000;

/// Names a search for its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SearchId(pub u64);

/// What a search does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SearchKind {
    /// `find_node` for our own id, from the bootstrap nodes.
    Bootstrap,
    /// `find_node` for a random id in a stale bucket (never reported).
    Refresh,
    /// `find_node` for a target.
    FindNode,
    /// `get_peers` for an info-hash.
    GetPeers,
    /// `get_peers`, then `announce_peer` with this port (`None`: implied).
    Announce {
        /// Our peer port, or `None` for `implied_port`.
        port: Option<u16>,
    },
}

/// How a search ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDone {
    /// Which search.
    pub id: SearchId,
    /// What it was.
    pub kind: SearchKind,
    /// Its target (our id, a node id or an info-hash).
    pub target: [u8; 20],
    /// Distinct peers reported in [`Event::Peers`].
    pub peers: usize,
    /// For `get_peers` and announces, the closest nodes (at most [`K`] per
    /// family) that answered with a token; for the others, the closest
    /// nodes that answered.
    pub closest: Vec<NodeInfo>,
    /// For announces, the nodes that accepted our `announce_peer`.
    pub announced: Vec<SocketAddr>,
}

/// What the node has to tell its user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// New peers of a `get_peers` or announce search, as they arrive.
    Peers {
        /// Which search.
        id: SearchId,
        /// The info-hash.
        info_hash: [u8; 20],
        /// Peers not reported before by this search.
        peers: Vec<SocketAddr>,
    },
    /// A search ended.
    Done(SearchDone),
}

#[derive(Debug, Clone)]
enum Phase {
    Lookup,
    /// Waiting for `waiting` answers to `announce_peer`.
    Announcing {
        waiting: usize,
    },
}

/// A running search.
#[derive(Debug, Clone)]
pub(crate) struct Search {
    pub(crate) kind: SearchKind,
    pub(crate) internal: bool,
    target: NodeId,
    lookups: [Option<Lookup>; 2],
    peers: HashSet<SocketAddr>,
    phase: Phase,
    closest: Vec<NodeInfo>,
    announced: Vec<SocketAddr>,
}

impl Search {
    pub(crate) fn new(kind: SearchKind, target: NodeId, internal: bool) -> Search {
        Search {
            kind,
            internal,
            target,
            lookups: [None, None],
            peers: HashSet::new(),
            phase: Phase::Lookup,
            closest: Vec::new(),
            announced: Vec::new(),
        }
    }

    /// The lookup of family `f`, created on first use.
    pub(crate) fn lookup(&mut self, f: usize) -> &mut Lookup {
        let target = self.target;
        self.lookups[f].get_or_insert_with(|| Lookup::new(target))
    }

    fn wants_peers(&self) -> bool {
        matches!(
            self.kind,
            SearchKind::GetPeers | SearchKind::Announce { .. }
        )
    }
}

impl Node {
    /// Sends what every search can send now and finishes those that are done.
    pub(crate) fn advance(&mut self, now: Instant) {
        let ids: Vec<SearchId> = self.searches.keys().copied().collect();
        for sid in ids {
            let Some(mut s) = self.searches.remove(&sid) else {
                continue;
            };
            if self.step(sid, &mut s, now) {
                self.finish(sid, s);
            } else {
                self.searches.insert(sid, s);
            }
        }
    }

    /// Moves one search on; true when it is over.
    fn step(&mut self, sid: SearchId, s: &mut Search, now: Instant) -> bool {
        if let Phase::Announcing { waiting } = s.phase {
            return waiting == 0;
        }
        let want = self.want();
        let method = if s.wants_peers() {
            Method::GetPeers {
                info_hash: s.target,
                want,
            }
        } else {
            Method::FindNode {
                target: s.target,
                want,
            }
        };
        let mut all_done = true;
        for f in 0..2 {
            let Some(l) = s.lookups[f].as_mut() else {
                continue;
            };
            while let Some(addr) = l.next(self.config.alpha, K) {
                let id = l.id_of(addr);
                if !self.send_query(now, addr, id, method.clone(), Purpose::Lookup(sid)) {
                    break; // too many queries in flight: try again later
                }
                l.sent(addr);
            }
            all_done &= l.done(K);
        }
        if !all_done {
            return false;
        }
        let lookups: Vec<&Lookup> = s.lookups.iter().flatten().collect();
        s.closest = match s.kind {
            SearchKind::GetPeers | SearchKind::Announce { .. } => lookups
                .iter()
                .flat_map(|l| l.with_tokens(K))
                .map(|(n, _)| n)
                .collect(),
            _ => lookups
                .iter()
                .flat_map(|l| l.closest_responded(K))
                .collect(),
        };
        let SearchKind::Announce { port } = s.kind else {
            return true;
        };
        let targets: Vec<(NodeInfo, Vec<u8>)> =
            lookups.iter().flat_map(|l| l.with_tokens(K)).collect();
        let mut waiting = 0;
        for (n, token) in &targets {
            let method = Method::AnnouncePeer {
                info_hash: s.target,
                port: port.unwrap_or(0),
                implied_port: port.is_none(),
                token,
            };
            if self.send_query(now, n.addr, Some(n.id), method, Purpose::Announce(sid)) {
                waiting += 1;
            }
        }
        s.phase = Phase::Announcing { waiting };
        waiting == 0
    }

    fn finish(&mut self, sid: SearchId, s: Search) {
        if s.internal {
            return;
        }
        self.events.push_back(Event::Done(SearchDone {
            id: sid,
            kind: s.kind,
            target: s.target.0,
            peers: s.peers.len(),
            closest: s.closest,
            announced: s.announced,
        }));
    }

    pub(crate) fn search_slow(&mut self, sid: SearchId, to: SocketAddr) {
        if let Some(l) = self
            .searches
            .get_mut(&sid)
            .and_then(|s| s.lookups[family(&to)].as_mut())
        {
            l.slow(to);
        }
    }

    pub(crate) fn search_failed(&mut self, sid: SearchId, to: SocketAddr) {
        if let Some(l) = self
            .searches
            .get_mut(&sid)
            .and_then(|s| s.lookups[family(&to)].as_mut())
        {
            l.failed(to);
        }
    }

    /// An `announce_peer` was answered (`Some(from)`: accepted) or failed.
    pub(crate) fn announce_answered(&mut self, sid: SearchId, from: Option<SocketAddr>) {
        let Some(s) = self.searches.get_mut(&sid) else {
            return;
        };
        if let Phase::Announcing { waiting } = &mut s.phase {
            *waiting = waiting.saturating_sub(1);
            s.announced.extend(from);
        }
    }

    /// A lookup query of search `sid` was answered.
    pub(crate) fn lookup_response(&mut self, sid: SearchId, from: SocketAddr, r: &Response<'_>) {
        let own = self.id;
        let enabled = [self.enabled(0), self.enabled(1)];
        let Some(s) = self.searches.get_mut(&sid) else {
            return;
        };
        if !matches!(s.phase, Phase::Lookup) {
            return;
        }
        let token = if s.wants_peers() { r.token } else { None };
        s.lookup(family(&from)).responded(from, r.id, token);
        for (f, list) in [(0, &r.nodes), (1, &r.nodes6)] {
            if !enabled[f] {
                continue;
            }
            for n in list.iter() {
                if n.id != own && usable(&n.addr) && family(&n.addr) == f {
                    s.lookup(f).add(Some(n.id), n.addr);
                }
            }
        }
        if !s.wants_peers() {
            return;
        }
        let mut fresh = Vec::new();
        for p in &r.values {
            if s.peers.len() >= MAX_PEERS_PER_SEARCH {
                break;
            }
            let p = crate::node::canonical(*p);
            if usable(&p) && s.peers.insert(p) {
                fresh.push(p);
            }
        }
        if !fresh.is_empty() {
            let info_hash = s.target.0;
            self.events.push_back(Event::Peers {
                id: sid,
                info_hash,
                peers: fresh,
            });
        }
    }
}
