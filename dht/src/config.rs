//! The node's settings, with the defaults used on the public DHT.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::id::NodeId;
use crate::limit::RateLimit;
use crate::store::StoreLimits;

/// Settings of a [`Node`](crate::Node). Start from [`Config::default`] and
/// change fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Our node id; `None` picks one (BEP 42 from `external_ip` when it is
    /// known, else random). Pass the id of a saved state to keep it.
    pub id: Option<NodeId>,
    /// Our external address, when the caller knows it (BEP 42 ids).
    /// Otherwise the node learns it from the `ip` key of responses and
    /// takes a BEP 42 id once enough nodes agree (unless `id` is set).
    pub external_ip: Option<IpAddr>,
    /// Seed of the node's random choices (ids, transaction ids, token
    /// secrets). The default comes from the OS-seeded `RandomState`; tests
    /// fix it to replay exactly.
    pub seed: u64,
    /// Take part in the IPv4 DHT.
    pub ipv4: bool,
    /// Take part in the IPv6 DHT (BEP 32).
    pub ipv6: bool,
    /// Nodes to bootstrap from (the driver resolves host names into this).
    pub bootstrap: Vec<SocketAddr>,
    /// Queries in flight per lookup (Kademlia's α).
    pub alpha: usize,
    /// After this long without an answer a lookup stops waiting for a query
    /// and sends another one (the answer still counts if it comes).
    pub query_slow: Duration,
    /// After this long without an answer a query has failed.
    pub query_timeout: Duration,
    /// Queries in flight at most, over all lookups and pings.
    pub max_outstanding: usize,
    /// Lookups running at once at most.
    pub max_searches: usize,
    /// How often the `announce_peer` token secret changes (the previous
    /// secret stays valid one more period).
    pub token_rotation: Duration,
    /// Per-source limit on incoming queries.
    pub rate_limit: RateLimit,
    /// Bounds of the store of announced peers.
    pub store: StoreLimits,
    /// Peers in one `get_peers` answer at most.
    pub max_values_reply: usize,
    /// One routing table entry per IP address (a Sybil defence). Turn off
    /// for tests where every node runs on one machine.
    pub restrict_routing_ips: bool,
    /// Only add nodes whose id matches their address per BEP 42 (local
    /// addresses exempt). Off by default, as in libtorrent: many nodes on
    /// the public DHT still have ids that do not match.
    pub enforce_node_id: bool,
    /// Do not answer queries and ask others not to add us (BEP 43).
    pub read_only: bool,
    /// The `v` key sent in every message: client code and version.
    pub version: [u8; 4],
}

/// A seed from the standard library's per-process random keys.
fn os_seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x6d6f_6e73_6f6f_6e21);
    h.finish()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            id: None,
            external_ip: None,
            seed: os_seed(),
            ipv4: true,
            ipv6: true,
            bootstrap: Vec::new(),
            alpha: 3,
            query_slow: Duration::from_secs(1),
            query_timeout: Duration::from_secs(5),
            max_outstanding: 256,
            max_searches: 64,
            token_rotation: Duration::from_secs(5 * 60),
            rate_limit: RateLimit::default(),
            store: StoreLimits::default(),
            max_values_reply: 50,
            restrict_routing_ips: true,
            enforce_node_id: false,
            read_only: false,
            version: *b"MO\x00\x01",
        }
    }
}
