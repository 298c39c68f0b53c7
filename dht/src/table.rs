//! The routing table of BEP 5: buckets of at most [`K`] nodes that split
//! only around our own id, good / questionable / bad nodes, replacement of
//! bad nodes from a per-bucket cache, and refresh of stale buckets.
//!
//! Bucket `i` (all but the last) holds the nodes whose id shares exactly
//! `i` leading bits with ours; the last bucket holds every id sharing at
//! least `len - 1` bits, ours among them, so it is the only one that can
//! split. Only nodes that answered one of our queries are inserted: a node
//! that merely sent us a query is pinged first (see the node), so a spoofed
//! source address never enters the table.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::compact::NodeInfo;
use crate::id::NodeId;

/// Nodes per bucket (BEP 5's k).
pub const K: usize = 8;
/// Failed queries in a row after which a node is bad.
pub const MAX_FAILURES: u8 = 2;
/// A node is good while it answered (or, having answered once, queried
/// us) within this long; questionable after (BEP 5: 15 minutes).
pub const FRESH: Duration = Duration::from_secs(15 * 60);
/// The most buckets a table can have (one per bit of the id).
pub const MAX_BUCKETS: usize = 160;
/// A questionable node is pinged at most this often.
pub const PING_EVERY: Duration = Duration::from_secs(60);

/// BEP 5's classification of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Answered within [`FRESH`], or answered once and queried us within it.
    Good,
    /// Not heard from for [`FRESH`].
    Questionable,
    /// Failed [`MAX_FAILURES`] queries in a row.
    Bad,
}

/// One node in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its id.
    pub id: NodeId,
    /// Its UDP address.
    pub addr: SocketAddr,
    /// When it last answered one of our queries.
    pub last_response: Instant,
    /// When it last sent us a query.
    pub last_query: Option<Instant>,
    /// When we last pinged it to check it is alive.
    pub pinged: Option<Instant>,
    /// Queries it failed to answer in a row.
    pub failures: u8,
}

impl Entry {
    /// Its status at `now`.
    pub fn status(&self, now: Instant) -> Status {
        if self.failures >= MAX_FAILURES {
            return Status::Bad;
        }
        let fresh = |t: Instant| now.saturating_duration_since(t) < FRESH;
        if fresh(self.last_response) || self.last_query.is_some_and(fresh) {
            Status::Good
        } else {
            Status::Questionable
        }
    }

    /// Its id and address.
    pub fn info(&self) -> NodeInfo {
        NodeInfo {
            id: self.id,
            addr: self.addr,
        }
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    nodes: Vec<Entry>,
    /// Nodes that answered us while the bucket was full, newest last.
    replacements: Vec<Entry>,
    last_changed: Instant,
}

impl Bucket {
    fn new(now: Instant) -> Bucket {
        Bucket {
            nodes: Vec::with_capacity(K),
            replacements: Vec::new(),
            last_changed: now,
        }
    }
}

/// What happened to a node offered to [`RoutingTable::insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Insert {
    /// It is new in the table.
    Added,
    /// It was already there; its times are updated.
    Updated,
    /// It took the place of a bad node.
    Replaced(NodeInfo),
    /// Its bucket is full of good or questionable nodes and cannot split:
    /// it waits in the replacement cache. If a questionable node should be
    /// pinged to find out whether it is still there, that node.
    Full(Option<NodeInfo>),
    /// Not stored, and why.
    Rejected(Reject),
}

/// Why a node is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reject {
    /// It has our own id.
    OwnId,
    /// Its id is in the table with another address that is not bad.
    AddressChanged,
    /// Another node with the same IP address is in the table (when
    /// restricted to one node per IP).
    SameIp,
}

/// A read-only view of one bucket.
#[derive(Debug, Clone, Copy)]
pub struct BucketView<'a> {
    /// The bits every id in the bucket starts with...
    pub prefix: NodeId,
    /// ...and how many of them.
    pub prefix_len: usize,
    /// Its nodes.
    pub nodes: &'a [Entry],
    /// Its replacement cache.
    pub replacements: &'a [Entry],
    /// When a node was last added to it or answered from it.
    pub last_changed: Instant,
}

impl BucketView<'_> {
    /// Whether `id` falls in this bucket's range.
    pub fn covers(&self, id: &NodeId) -> bool {
        id.has_prefix(&self.prefix, self.prefix_len)
    }
}

/// The routing table for one address family.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    own: NodeId,
    buckets: Vec<Bucket>,
    restrict_ips: bool,
}

impl RoutingTable {
    /// An empty table around `own`. With `restrict_ips`, at most one node
    /// per IP address is kept (a Sybil defence; tests on one machine turn
    /// it off).
    pub fn new(own: NodeId, now: Instant, restrict_ips: bool) -> RoutingTable {
        RoutingTable {
            own,
            buckets: vec![Bucket::new(now)],
            restrict_ips,
        }
    }

    /// Our id.
    pub fn own_id(&self) -> NodeId {
        self.own
    }

    /// Number of nodes (replacements not counted).
    pub fn len(&self) -> usize {
        self.buckets.iter().map(|b| b.nodes.len()).sum()
    }

    /// Whether it holds no node.
    pub fn is_empty(&self) -> bool {
        self.buckets.iter().all(|b| b.nodes.is_empty())
    }

    /// Number of buckets.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// Number of good nodes at `now`.
    pub fn good(&self, now: Instant) -> usize {
        self.entries()
            .filter(|e| e.status(now) == Status::Good)
            .count()
    }

    /// Every node.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.buckets.iter().flat_map(|b| b.nodes.iter())
    }

    /// Every bucket, nearest to us last.
    pub fn buckets(&self) -> impl Iterator<Item = BucketView<'_>> {
        (0..self.buckets.len()).map(|i| self.view(i))
    }

    fn view(&self, i: usize) -> BucketView<'_> {
        let (prefix, prefix_len) = self.range(i);
        let b = &self.buckets[i];
        BucketView {
            prefix,
            prefix_len,
            nodes: &b.nodes,
            replacements: &b.replacements,
            last_changed: b.last_changed,
        }
    }

    /// The prefix and prefix length of bucket `i`.
    fn range(&self, i: usize) -> (NodeId, usize) {
        if i + 1 == self.buckets.len() {
            (self.own, i)
        } else {
            (self.own.with_bit_flipped(i), i + 1)
        }
    }

    fn index(&self, id: &NodeId) -> usize {
        self.own.common_prefix_len(id).min(self.buckets.len() - 1)
    }

    /// The node with `id`, if present.
    pub fn get(&self, id: &NodeId) -> Option<&Entry> {
        self.buckets[self.index(id)]
            .nodes
            .iter()
            .find(|e| e.id == *id)
    }

    fn get_mut(&mut self, id: &NodeId) -> Option<&mut Entry> {
        let i = self.index(id);
        self.buckets[i].nodes.iter_mut().find(|e| e.id == *id)
    }

    fn ip_taken(&self, ip: IpAddr, except: &NodeId) -> bool {
        self.entries().any(|e| e.addr.ip() == ip && e.id != *except)
    }

    /// Records that the node `id` at `addr` answered one of our queries,
    /// adding it if there is room (splitting our own bucket if needed).
    pub fn insert(&mut self, id: NodeId, addr: SocketAddr, now: Instant) -> Insert {
        if id == self.own {
            return Insert::Rejected(Reject::OwnId);
        }
        let i = self.index(&id);
        if let Some(e) = self.buckets[i].nodes.iter_mut().find(|e| e.id == id) {
            if e.addr != addr && e.status(now) != Status::Bad {
                return Insert::Rejected(Reject::AddressChanged);
            }
            e.addr = addr;
            e.last_response = now;
            e.failures = 0;
            self.buckets[i].last_changed = now;
            return Insert::Updated;
        }
        // The same address under another id: the node restarted with a new
        // id (it answered from there, so it is no spoof). Forget the old one.
        let moved = self.entries().find(|e| e.addr == addr).map(|e| e.id);
        if let Some(old) = moved {
            self.remove(&old);
        }
        if self.restrict_ips && self.ip_taken(addr.ip(), &id) {
            return Insert::Rejected(Reject::SameIp);
        }
        let entry = Entry {
            id,
            addr,
            last_response: now,
            last_query: None,
            pinged: None,
            failures: 0,
        };
        self.place(entry, now)
    }

    /// Puts a new entry in its bucket: room, a bad node to replace, a split
    /// of our own bucket, or else the replacement cache.
    fn place(&mut self, entry: Entry, now: Instant) -> Insert {
        let id = entry.id;
        let addr = entry.addr;
        loop {
            let i = self.index(&id);
            let count = self.buckets.len();
            let b = &mut self.buckets[i];
            if b.nodes.len() < K {
                b.nodes.push(entry);
                b.last_changed = now;
                b.replacements.retain(|r| r.id != id);
                return Insert::Added;
            }
            if let Some(bad) = b.nodes.iter().position(|e| e.status(now) == Status::Bad) {
                let old = std::mem::replace(&mut b.nodes[bad], entry);
                b.last_changed = now;
                b.replacements.retain(|r| r.id != id);
                return Insert::Replaced(old.info());
            }
            if i + 1 == count && count < MAX_BUCKETS {
                self.split_last(now);
                continue;
            }
            b.replacements.retain(|r| r.id != id && r.addr != addr);
            if b.replacements.len() >= K {
                b.replacements.remove(0);
            }
            b.replacements.push(entry);
            let ping = b
                .nodes
                .iter_mut()
                .filter(|e| e.status(now) == Status::Questionable)
                .filter(|e| {
                    e.pinged
                        .is_none_or(|p| now.saturating_duration_since(p) >= PING_EVERY)
                })
                .min_by_key(|e| e.last_response);
            return Insert::Full(ping.map(|e| {
                e.pinged = Some(now);
                e.info()
            }));
        }
    }

    /// The same nodes around a new own id (after our external address
    /// changed and with it our BEP 42 id).
    pub fn with_own_id(&self, own: NodeId, now: Instant) -> RoutingTable {
        let mut t = RoutingTable::new(own, now, self.restrict_ips);
        for e in self.entries() {
            if e.id != own {
                t.place(e.clone(), now);
            }
        }
        t
    }

    /// Whether [`insert`](Self::insert) would store a new node `id` at
    /// `addr` now (room, a bad node to replace, or a split to make). The
    /// node uses it to decide whether a node that queried us is worth a
    /// ping.
    pub fn would_accept(&self, id: &NodeId, addr: SocketAddr, now: Instant) -> bool {
        if *id == self.own || self.get(id).is_some() {
            return false;
        }
        if self.restrict_ips && self.ip_taken(addr.ip(), id) {
            return false;
        }
        let i = self.index(id);
        let b = &self.buckets[i];
        b.nodes.len() < K
            || b.nodes.iter().any(|e| e.status(now) == Status::Bad)
            || (i + 1 == self.buckets.len() && self.buckets.len() < MAX_BUCKETS)
    }

    fn split_last(&mut self, now: Instant) {
        let n = self.buckets.len();
        let own = self.own;
        let last = self.buckets.last_mut().expect("a table has a bucket");
        let deeper = |e: &Entry| own.common_prefix_len(&e.id) >= n;
        let mut next = Bucket::new(now);
        next.nodes = last.nodes.iter().filter(|e| deeper(e)).cloned().collect();
        next.replacements = last
            .replacements
            .iter()
            .filter(|e| deeper(e))
            .cloned()
            .collect();
        last.nodes.retain(|e| !deeper(e));
        last.replacements.retain(|e| !deeper(e));
        self.buckets.push(next);
    }

    /// Records that `id` sent us a query (keeps a known node good).
    pub fn heard_query(&mut self, id: &NodeId, addr: SocketAddr, now: Instant) -> bool {
        match self.get_mut(id) {
            Some(e) if e.addr == addr => {
                e.last_query = Some(now);
                true
            }
            _ => false,
        }
    }

    /// Records that a query to `id` at `addr` went unanswered. A node that
    /// turns bad is replaced by the newest node of the replacement cache.
    pub fn failed(&mut self, id: &NodeId, addr: SocketAddr, now: Instant) {
        let i = self.index(id);
        let b = &mut self.buckets[i];
        let Some(pos) = b.nodes.iter().position(|e| e.id == *id && e.addr == addr) else {
            b.replacements.retain(|r| r.id != *id);
            return;
        };
        let e = &mut b.nodes[pos];
        e.failures = e.failures.saturating_add(1);
        if e.status(now) == Status::Bad {
            if let Some(fresh) = b.replacements.pop() {
                b.nodes[pos] = fresh;
                b.last_changed = now;
            }
        }
    }

    /// Removes the node with `id`.
    pub fn remove(&mut self, id: &NodeId) -> Option<Entry> {
        let i = self.index(id);
        let b = &mut self.buckets[i];
        let pos = b.nodes.iter().position(|e| e.id == *id)?;
        let e = b.nodes.remove(pos);
        if let Some(fresh) = b.replacements.pop() {
            b.nodes.push(fresh);
        }
        Some(e)
    }

    /// The `n` nodes closest to `target` that are not bad.
    pub fn closest(&self, target: &NodeId, n: usize, now: Instant) -> Vec<NodeInfo> {
        let mut all: Vec<(crate::id::Distance, NodeInfo)> = self
            .entries()
            .filter(|e| e.status(now) != Status::Bad)
            .map(|e| (e.id.distance(target), e.info()))
            .collect();
        all.sort_unstable_by_key(|(d, _)| *d);
        all.into_iter().take(n).map(|(_, info)| info).collect()
    }

    /// Buckets unchanged for [`FRESH`]: each one's prefix and length, to
    /// look up a random id in it. Marks them changed now, so each is
    /// reported once per period.
    pub fn take_stale(&mut self, now: Instant) -> Vec<(NodeId, usize)> {
        let mut out = Vec::new();
        for i in 0..self.buckets.len() {
            if now.saturating_duration_since(self.buckets[i].last_changed) >= FRESH {
                self.buckets[i].last_changed = now;
                out.push(self.range(i));
            }
        }
        out
    }

    /// Up to `max` questionable nodes not pinged within `every`, least
    /// recently heard first; marks them pinged.
    pub fn take_questionable(
        &mut self,
        now: Instant,
        every: Duration,
        max: usize,
    ) -> Vec<NodeInfo> {
        let mut found: Vec<(Instant, NodeId)> = self
            .entries()
            .filter(|e| e.status(now) == Status::Questionable)
            .filter(|e| {
                e.pinged
                    .is_none_or(|p| now.saturating_duration_since(p) >= every)
            })
            .map(|e| (e.last_response, e.id))
            .collect();
        found.sort();
        found.truncate(max);
        let mut out = Vec::with_capacity(found.len());
        for (_, id) in found {
            if let Some(e) = self.get_mut(&id) {
                e.pinged = Some(now);
                out.push(e.info());
            }
        }
        out
    }
}
