//! The sans-IO DHT node: its state, the calls that drive it, outgoing
//! queries and their timeouts, and periodic maintenance.
//!
//! Incoming datagrams are handled in `incoming.rs`, lookups in `search.rs`.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::compact::NodeInfo;
use crate::config::Config;
use crate::error::Error;
use crate::id::{NodeId, bep42_exempt, bep42_id, bep42_valid};
use crate::krpc::{Message, Method, Want};
use crate::limit::RateLimiter;
use crate::rng::Rng;
use crate::search::{Search, SearchId, SearchKind};
use crate::state::SavedState;
use crate::store::PeerStore;
use crate::table::{K, PING_EVERY, RoutingTable};
use crate::token::Tokens;

/// How often the node expires stored peers, pings questionable nodes,
/// refreshes stale buckets and checks whether it must bootstrap again.
pub const MAINTENANCE_EVERY: Duration = Duration::from_secs(5);
/// A node with fewer than [`K`] good nodes bootstraps again this often.
pub const REBOOTSTRAP_EVERY: Duration = Duration::from_secs(60);
/// Pings to nodes that queried us (to add them to the table) in flight at most.
const MAX_VERIFY_PINGS: usize = 16;
/// Questionable nodes pinged per maintenance round and family.
const PINGS_PER_ROUND: usize = 4;
/// Internal bucket-refresh lookups at once at most.
const MAX_REFRESHES: usize = 4;
/// Saved nodes kept for the next bootstrap.
const MAX_SEEDS: usize = 256;
/// Responders remembered for the external-address vote.
const MAX_VOTERS: usize = 16;
/// Agreeing responders needed before the node believes an external address.
const MIN_VOTES: usize = 4;

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub to: SocketAddr,
    /// The KRPC message.
    pub data: Vec<u8>,
}

/// What an outstanding query is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A liveness check (table maintenance, or a node that queried us).
    Ping,
    /// A `find_node` / `get_peers` of a search.
    Lookup(SearchId),
    /// An `announce_peer` of a search.
    Announce(SearchId),
}

/// A query waiting for its answer.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) to: SocketAddr,
    pub(crate) id: Option<NodeId>,
    pub(crate) sent: Instant,
    pub(crate) slow: bool,
    pub(crate) purpose: Purpose,
}

/// Counters and sizes, for the user and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Our node id.
    pub id: NodeId,
    /// Nodes in the IPv4 table.
    pub nodes_v4: usize,
    /// Nodes in the IPv6 table.
    pub nodes_v6: usize,
    /// Good nodes in the IPv4 table.
    pub good_v4: usize,
    /// Good nodes in the IPv6 table.
    pub good_v6: usize,
    /// Buckets of the IPv4 table.
    pub buckets_v4: usize,
    /// Buckets of the IPv6 table.
    pub buckets_v6: usize,
    /// Queries received and answered (after the rate limit).
    pub queries_in: u64,
    /// Queries sent.
    pub queries_out: u64,
    /// Responses received that matched a query of ours.
    pub responses_in: u64,
    /// Responses sent.
    pub responses_out: u64,
    /// Error messages received that matched a query of ours.
    pub errors_in: u64,
    /// Error messages sent.
    pub errors_out: u64,
    /// Queries of ours that went unanswered.
    pub timeouts: u64,
    /// Queries dropped by the per-source rate limit.
    pub rate_limited: u64,
    /// Datagrams that were not valid KRPC.
    pub decode_errors: u64,
    /// Responses and errors matching no query in flight (late, or forged).
    pub unmatched: u64,
    /// Queries not sent because too many were in flight.
    pub queries_skipped: u64,
    /// `announce_peer` queries with a token we did not issue (or expired).
    pub bad_tokens: u64,
    /// Announces stored.
    pub announces_in: u64,
    /// Responders whose id broke BEP 42 (with `enforce_node_id`) or was ours.
    pub invalid_ids: u64,
    /// Times our id changed to match a newly learnt external address.
    pub id_changes: u64,
    /// Queries in flight now.
    pub outstanding: usize,
    /// Searches running now (internal refreshes included).
    pub searches: usize,
    /// Info-hashes in the peer store.
    pub info_hashes: usize,
    /// Peers in the peer store.
    pub stored_peers: usize,
    /// Sources tracked by the rate limiter.
    pub rate_sources: usize,
    /// Our external address, when configured or agreed by responders.
    pub external_ip: Option<IpAddr>,
}

/// Index of the address family of `addr` (0: IPv4, 1: IPv6).
pub(crate) fn family(addr: &SocketAddr) -> usize {
    usize::from(addr.is_ipv6())
}

/// Whether an address someone gave us is worth sending to.
pub(crate) fn usable(addr: &SocketAddr) -> bool {
    let ip = addr.ip();
    addr.port() != 0
        && !ip.is_unspecified()
        && !ip.is_multicast()
        && !matches!(ip, IpAddr::V4(a) if a.is_broadcast())
}

/// An IPv4-mapped IPv6 address (from a dual-stack socket) as plain IPv4.
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// A BEP 5 DHT node with no I/O of its own.
///
/// Call order, as in quinn-proto: feed it every datagram received on its
/// socket with [`handle_packet`](Self::handle_packet), call
/// [`handle_timeout`](Self::handle_timeout) when the instant from
/// [`poll_timeout`](Self::poll_timeout) has passed, and after either (and
/// after every request such as [`get_peers`](Self::get_peers)) drain
/// [`poll_transmit`](Self::poll_transmit) into the socket and
/// [`poll_event`](Self::poll_event) to the user. Time only ever comes in as
/// the `now` argument; it must not go backwards.
#[derive(Debug)]
pub struct Node {
    pub(crate) config: Config,
    pub(crate) id: NodeId,
    pub(crate) tables: [Option<RoutingTable>; 2],
    pub(crate) pending: BTreeMap<u16, Pending>,
    pub(crate) searches: BTreeMap<SearchId, Search>,
    next_search: u64,
    pub(crate) tokens: Tokens,
    pub(crate) store: PeerStore,
    pub(crate) limiter: RateLimiter,
    pub(crate) rng: Rng,
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<crate::Event>,
    pub(crate) stats: Stats,
    next_maintenance: Instant,
    last_bootstrap: Option<Instant>,
    seeds: Vec<NodeInfo>,
    votes: VecDeque<(IpAddr, IpAddr)>,
    external: Option<IpAddr>,
}

impl Node {
    /// A node with an empty routing table. It bootstraps by itself at its
    /// first maintenance round (at `now`) unless
    /// [`bootstrap`](Self::bootstrap) is called first.
    pub fn new(config: Config, now: Instant) -> Node {
        let mut rng = Rng::new(config.seed);
        let id = match (config.id, config.external_ip) {
            (Some(id), _) => id,
            (None, Some(ip)) => bep42_id(ip, rng.next_u64() as u8, rng.bytes20()),
            (None, None) => NodeId(rng.bytes20()),
        };
        let table = |on: bool| on.then(|| RoutingTable::new(id, now, config.restrict_routing_ips));
        Node {
            tables: [table(config.ipv4), table(config.ipv6)],
            tokens: Tokens::new(&mut rng, now, config.token_rotation),
            store: PeerStore::new(config.store),
            limiter: RateLimiter::new(config.rate_limit),
            pending: BTreeMap::new(),
            searches: BTreeMap::new(),
            next_search: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            next_maintenance: now,
            last_bootstrap: None,
            seeds: Vec::new(),
            votes: VecDeque::new(),
            external: config.external_ip,
            id,
            rng,
            config,
        }
    }

    /// Our node id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The routing table of IPv4 nodes (when IPv4 is on).
    pub fn table_v4(&self) -> Option<&RoutingTable> {
        self.tables[0].as_ref()
    }

    /// The routing table of IPv6 nodes (when IPv6 is on).
    pub fn table_v6(&self) -> Option<&RoutingTable> {
        self.tables[1].as_ref()
    }

    pub(crate) fn enabled(&self, f: usize) -> bool {
        self.tables[f].is_some()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing to tell the user.
    pub fn poll_event(&mut self) -> Option<crate::Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Instant {
        let mut t = self.next_maintenance.min(self.tokens.deadline());
        for p in self.pending.values() {
            let at = if p.slow {
                p.sent + self.config.query_timeout
            } else {
                p.sent + self.config.query_slow
            };
            t = t.min(at);
        }
        t
    }

    /// Advances timers to `now`: queries that timed out fail, slow ones
    /// free their lookup slot, maintenance runs when due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tokens.tick(&mut self.rng, now);
        let mut slowed = Vec::new();
        let mut expired = Vec::new();
        for (tid, p) in &mut self.pending {
            if now >= p.sent + self.config.query_timeout {
                expired.push(*tid);
            } else if !p.slow && now >= p.sent + self.config.query_slow {
                p.slow = true;
                slowed.push((p.purpose, p.to));
            }
        }
        for (purpose, to) in slowed {
            if let Purpose::Lookup(sid) = purpose {
                self.search_slow(sid, to);
            }
        }
        for tid in expired {
            if let Some(p) = self.pending.remove(&tid) {
                self.stats.timeouts += 1;
                self.query_failed(p, now, true);
            }
        }
        if now >= self.next_maintenance {
            self.maintenance(now);
            self.next_maintenance = now + MAINTENANCE_EVERY;
        }
        self.advance(now);
    }

    /// A query that got no usable answer: tell the table (for timeouts)
    /// and whatever sent it.
    pub(crate) fn query_failed(&mut self, p: Pending, now: Instant, timed_out: bool) {
        if timed_out {
            if let (Some(id), Some(t)) = (p.id, self.tables[family(&p.to)].as_mut()) {
                t.failed(&id, p.to, now);
            }
        }
        match p.purpose {
            Purpose::Ping => {}
            Purpose::Lookup(sid) => self.search_failed(sid, p.to),
            Purpose::Announce(sid) => self.announce_answered(sid, None),
        }
    }

    /// The families to ask for in `want`: both when we run both.
    pub(crate) fn want(&self) -> Want {
        if self.enabled(0) && self.enabled(1) {
            Want { v4: true, v6: true }
        } else {
            Want::default()
        }
    }

    /// Sends a query; false when too many are in flight (or the family is off).
    pub(crate) fn send_query(
        &mut self,
        now: Instant,
        to: SocketAddr,
        id: Option<NodeId>,
        method: Method<'_>,
        purpose: Purpose,
    ) -> bool {
        if !self.enabled(family(&to)) {
            return false;
        }
        if self.pending.len() >= self.config.max_outstanding {
            self.stats.queries_skipped += 1;
            return false;
        }
        // Random transaction ids, so an off-path host cannot guess them.
        let tid = loop {
            let t = self.rng.next_u64() as u16;
            if !self.pending.contains_key(&t) {
                break t;
            }
        };
        let tid_bytes = tid.to_be_bytes();
        let mut msg = Message::query(&tid_bytes, self.id, method);
        msg.version = Some(&self.config.version);
        msg.read_only = self.config.read_only;
        self.transmits.push_back(Transmit {
            to,
            data: msg.encode(),
        });
        self.pending.insert(
            tid,
            Pending {
                to,
                id,
                sent: now,
                slow: false,
                purpose,
            },
        );
        self.stats.queries_out += 1;
        true
    }

    pub(crate) fn ping(&mut self, now: Instant, to: SocketAddr, id: Option<NodeId>) -> bool {
        self.send_query(now, to, id, Method::Ping, Purpose::Ping)
    }

    /// Pings `addr` (a node learnt elsewhere, such as a peer's BEP 5 `port`
    /// message); it joins the table if it answers.
    pub fn add_node(&mut self, now: Instant, addr: SocketAddr) {
        let addr = canonical(addr);
        if usable(&addr) {
            self.ping(now, addr, None);
        }
    }

    /// Adds a bootstrap node (the driver resolves host names into these);
    /// the next bootstrap uses it.
    pub fn add_bootstrap_node(&mut self, addr: SocketAddr) {
        let addr = canonical(addr);
        if usable(&addr)
            && !self.config.bootstrap.contains(&addr)
            && self.config.bootstrap.len() < MAX_SEEDS
        {
            self.config.bootstrap.push(addr);
        }
    }

    /// Nodes from a saved state, used by the next bootstraps (they join
    /// the table once they answer).
    pub fn restore(&mut self, state: &SavedState) {
        for n in &state.nodes {
            if self.seeds.len() < MAX_SEEDS && n.id != self.id && self.enabled(family(&n.addr)) {
                self.seeds.push(*n);
            }
        }
    }

    /// Good and questionable nodes of both tables, to restore at the next
    /// start, with our id.
    pub fn save(&self, now: Instant) -> SavedState {
        let nodes = self
            .tables
            .iter()
            .flatten()
            .flat_map(|t| t.entries())
            .filter(|e| e.status(now) != crate::Status::Bad)
            .map(|e| e.info())
            .collect();
        SavedState { id: self.id, nodes }
    }

    /// Counters and sizes at `now`.
    pub fn stats(&self, now: Instant) -> Stats {
        let mut s = self.stats.clone();
        s.id = self.id;
        if let Some(t) = &self.tables[0] {
            (s.nodes_v4, s.good_v4, s.buckets_v4) = (t.len(), t.good(now), t.bucket_count());
        }
        if let Some(t) = &self.tables[1] {
            (s.nodes_v6, s.good_v6, s.buckets_v6) = (t.len(), t.good(now), t.bucket_count());
        }
        s.outstanding = self.pending.len();
        s.searches = self.searches.len();
        (s.info_hashes, s.stored_peers) = self.store.counts();
        s.rate_sources = self.limiter.len();
        s.external_ip = self.external;
        s
    }

    fn next_search_id(&mut self) -> SearchId {
        self.next_search += 1;
        SearchId(self.next_search)
    }

    /// Starts a search; `families` says which tables it runs in.
    fn start(
        &mut self,
        now: Instant,
        kind: SearchKind,
        target: NodeId,
        internal: bool,
        families: [bool; 2],
    ) -> Result<SearchId, Error> {
        if self.searches.len() >= self.config.max_searches {
            return Err(Error::TooManySearches {
                max: self.config.max_searches,
            });
        }
        let sid = self.next_search_id();
        let mut s = Search::new(kind, target, internal);
        for (f, table) in self.tables.iter().enumerate() {
            let Some(t) = table.as_ref().filter(|_| families[f]) else {
                continue;
            };
            let lookup = s.lookup(f);
            for n in t.closest(&target, K, now) {
                lookup.add(Some(n.id), n.addr);
            }
            if kind == SearchKind::Bootstrap || t.len() < K {
                for n in self.seeds.iter().filter(|n| family(&n.addr) == f) {
                    lookup.add(Some(n.id), n.addr);
                }
                for a in self.config.bootstrap.iter().map(|a| canonical(*a)) {
                    if family(&a) == f && usable(&a) {
                        lookup.add(None, a);
                    }
                }
            }
        }
        if kind == SearchKind::Bootstrap {
            self.last_bootstrap = Some(now);
        }
        self.searches.insert(sid, s);
        self.advance(now);
        Ok(sid)
    }

    /// Looks up our own id from the table, saved nodes and the configured
    /// bootstrap nodes; reports [`Event::Done`](crate::Event::Done).
    pub fn bootstrap(&mut self, now: Instant) -> Result<SearchId, Error> {
        let id = self.id;
        self.start(now, SearchKind::Bootstrap, id, false, [true; 2])
    }

    /// Finds the nodes closest to `target`.
    pub fn find_node(&mut self, now: Instant, target: [u8; 20]) -> Result<SearchId, Error> {
        self.start(now, SearchKind::FindNode, NodeId(target), false, [true; 2])
    }

    /// Finds peers of `info_hash`: [`Event::Peers`](crate::Event::Peers) as
    /// they arrive, then [`Event::Done`](crate::Event::Done) with the
    /// closest nodes that gave a token.
    pub fn get_peers(&mut self, now: Instant, info_hash: [u8; 20]) -> Result<SearchId, Error> {
        self.start(
            now,
            SearchKind::GetPeers,
            NodeId(info_hash),
            false,
            [true; 2],
        )
    }

    /// [`get_peers`](Self::get_peers), then `announce_peer` to the
    /// [`K`] closest nodes that gave a token. `port` is our peer port;
    /// `None` asks them to use our UDP source port (`implied_port`).
    pub fn announce(
        &mut self,
        now: Instant,
        info_hash: [u8; 20],
        port: Option<u16>,
    ) -> Result<SearchId, Error> {
        let kind = SearchKind::Announce { port };
        self.start(now, kind, NodeId(info_hash), false, [true; 2])
    }

    /// Stops a search; no more events come for it.
    pub fn cancel(&mut self, search: SearchId) {
        self.searches.remove(&search);
    }

    fn maintenance(&mut self, now: Instant) {
        self.store.expire(now);
        let mut refresh = Vec::new();
        let mut pings = Vec::new();
        for f in 0..2 {
            let Some(t) = &mut self.tables[f] else {
                continue;
            };
            for (prefix, len) in t.take_stale(now) {
                refresh.push((f, prefix, len));
            }
            pings.extend(t.take_questionable(now, PING_EVERY, PINGS_PER_ROUND));
        }
        for n in pings {
            self.ping(now, n.addr, Some(n.id));
        }
        for (f, prefix, len) in refresh {
            let running = self.searches.values().filter(|s| s.internal).count();
            if running >= MAX_REFRESHES {
                break;
            }
            let target = NodeId::random_with_prefix(&prefix, len, &mut self.rng);
            let mut families = [false; 2];
            families[f] = true;
            let _ = self.start(now, SearchKind::Refresh, target, true, families);
        }
        let good: usize = self.tables.iter().flatten().map(|t| t.good(now)).sum();
        let bootstrapping = self
            .searches
            .values()
            .any(|s| s.kind == SearchKind::Bootstrap);
        let due = self
            .last_bootstrap
            .is_none_or(|t| now.saturating_duration_since(t) >= REBOOTSTRAP_EVERY);
        if good < K && !bootstrapping && due {
            let id = self.id;
            let _ = self.start(now, SearchKind::Bootstrap, id, true, [true; 2]);
        }
    }

    /// Pings a node that queried us when the table would take it.
    pub(crate) fn maybe_verify(&mut self, now: Instant, id: NodeId, from: SocketAddr) {
        let Some(t) = &self.tables[family(&from)] else {
            return;
        };
        if !t.would_accept(&id, from, now) {
            return;
        }
        let mut pings = 0;
        for p in self.pending.values() {
            if p.to == from {
                return;
            }
            if p.purpose == Purpose::Ping {
                pings += 1;
            }
        }
        if pings < MAX_VERIFY_PINGS {
            self.ping(now, from, Some(id));
        }
    }

    /// A responder at `voter` saw our address as `seen` (BEP 42 `ip`).
    pub(crate) fn vote(&mut self, voter: IpAddr, seen: SocketAddr, now: Instant) {
        let ip = seen.ip().to_canonical();
        self.votes.retain(|(v, _)| *v != voter);
        self.votes.push_back((voter, ip));
        if self.votes.len() > MAX_VOTERS {
            self.votes.pop_front();
        }
        // Only the address just voted for can have become the majority.
        let votes = self.votes.iter().filter(|(_, v)| *v == ip).count();
        if votes < MIN_VOTES || votes * 2 <= self.votes.len() {
            return;
        }
        let winner = ip;
        if self.external == Some(winner) || self.config.external_ip.is_some() {
            return;
        }
        self.external = Some(winner);
        let fixed = self.config.id.is_some();
        if !fixed && !bep42_exempt(winner) && !bep42_valid(&self.id, winner) {
            let new = bep42_id(winner, self.rng.next_u64() as u8, self.rng.bytes20());
            self.id = new;
            for t in self.tables.iter_mut().flatten() {
                *t = t.with_own_id(new, now);
            }
            self.stats.id_changes += 1;
        }
    }
}
