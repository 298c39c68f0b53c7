//! A BitTorrent DHT node ([BEP 5]), with IPv6 ([BEP 32]) and node ids
//! derived from the external address ([BEP 42]).
//!
//! Two layers, as in quinn-proto / quinn:
//!
//! - [`Node`], the sans-IO core: every decision of a DHT node and no I/O.
//!   Feed it datagrams ([`Node::handle_packet`]) and the time
//!   ([`Node::handle_timeout`] at [`Node::poll_timeout`]); take back
//!   datagrams to send ([`Node::poll_transmit`]) and results
//!   ([`Node::poll_event`]). It never reads a clock, opens a socket or
//!   spawns; with a fixed [`Config::seed`] it is fully deterministic, which
//!   is how a 300-node network is simulated in the tests.
//! - [`Dht`] (feature `tokio`, on by default), a thin driver: one task that
//!   owns a `Node` and its UDP sockets, and a cloneable handle with
//!   `get_peers`, `announce`, `add_node`, `stats`, `save`.
//!
//! What the node does:
//!
//! - KRPC ([`Message`]): `ping`, `find_node`, `get_peers`, `announce_peer`
//!   (with `implied_port`), answered and sent; errors 201-204 both ways;
//!   BEP 32 `nodes6` / `want`; BEP 42 `ip`. Decoding is zero-copy over
//!   `monsoon-bencode` with limits ([`MAX_PACKET_LEN`], [`MAX_NODES`],
//!   [`MAX_VALUES`], ...) and typed errors ([`Error`]).
//! - A [`RoutingTable`] per address family: buckets of [`K`] = 8 nodes that
//!   split only around our id; good / questionable / bad nodes (15 minutes,
//!   two failures); a replacement cache; questionable nodes pinged; stale
//!   buckets refreshed; only nodes that answered our queries are added.
//! - Iterative lookups (α = 3, the k closest, a slow query frees its slot
//!   after 1 s and fails after 5 s): bootstrap, refresh, `find_node`,
//!   `get_peers` (peers reported as they arrive, then the closest nodes that
//!   gave a token), announce (`get_peers`, then `announce_peer` to the 8
//!   closest with a token).
//! - Defences: tokens from secrets rotated every 5 minutes (the previous
//!   one accepted); a bounded peer store (per info-hash, info-hashes,
//!   total, expiry); a per-source rate limit on queries in a bounded
//!   table; random transaction ids matched with the sender's address (late,
//!   unknown or spoofed answers are ignored); at most 256 queries in
//!   flight; at most one node per IP in the table (configurable).
//! - BEP 42: our id is derived from our external address when it is
//!   configured or when responders agree on it. Checking other nodes' ids
//!   is optional ([`Config::enforce_node_id`], off by default as in
//!   libtorrent, because many public nodes still fail it).
//!
//! What it does not do: BEP 44 (`get` / `put` items), BEP 33 (scrapes),
//! BEP 51 (`sample_infohashes`); re-announcing every 15 minutes (the
//! caller repeats [`Node::announce`]); looking up its own peer store in its
//! own searches (a search asks the network); choosing where the saved
//! state lives ([`SavedState`] is bytes for the caller to store). One node
//! id serves both address families.
//!
//! Two nodes joined in memory: `b` bootstraps from `a` and announces
//! itself; `a` ends up storing `b` as a peer.
//!
//! ```
//! use std::time::Instant;
//! use monsoon_dht::{Config, Event, Node};
//!
//! let now = Instant::now();
//! let (a_addr, b_addr) = ("10.0.0.1:6881".parse().unwrap(), "10.0.0.2:6881".parse().unwrap());
//! let mut a = Node::new(Config::default(), now);
//! let mut config = Config::default();
//! config.bootstrap.push(a_addr);
//! let mut b = Node::new(config, now);
//!
//! let search = b.announce(now, [7; 20], Some(51413)).unwrap();
//! // Carry datagrams between the two until both are quiet.
//! for _ in 0..20 {
//!     let mut moved = false;
//!     while let Some(t) = b.poll_transmit() {
//!         assert_eq!(t.to, a_addr);
//!         a.handle_packet(now, b_addr, &t.data).unwrap();
//!         moved = true;
//!     }
//!     while let Some(t) = a.poll_transmit() {
//!         b.handle_packet(now, a_addr, &t.data).unwrap();
//!         moved = true;
//!     }
//!     if !moved {
//!         break;
//!     }
//! }
//! let Some(Event::Done(done)) = b.poll_event() else { panic!("the announce is over") };
//! assert_eq!((done.id, done.announced), (search, vec![a_addr]));
//! assert_eq!(a.stats(now).stored_peers, 1);
//! assert_eq!(a.table_v4().unwrap().len(), 1); // a pinged b back and added it
//! ```
//!
//! Features: `tokio` (default) adds [`Dht`] and depends on tokio and
//! tracing; without it the crate needs only `monsoon-bencode`, `sha1` and
//! `thiserror`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod compact;
mod config;
#[cfg(feature = "tokio")]
mod driver;
mod error;
mod id;
mod incoming;
mod krpc;
mod limit;
mod lookup;
mod node;
mod rng;
mod search;
mod state;
mod store;
mod table;
mod token;

pub use compact::{NODE_V4_LEN, NODE_V6_LEN, NodeInfo};
pub use config::Config;
#[cfg(feature = "tokio")]
pub use driver::{DEFAULT_BOOTSTRAP, Dht, DhtConfig, PEER_CHANNEL, PeerSearch};
pub use error::Error;
pub use id::{Distance, NodeId, bep42_exempt, bep42_id, bep42_valid};
pub use krpc::{
    Body, ErrorCode, ErrorMessage, MAX_DEPTH, MAX_NODES, MAX_PACKET_LEN, MAX_TID_LEN,
    MAX_TOKEN_LEN, MAX_VALUES, Message, Method, Query, Response, Want,
};
pub use limit::RateLimit;
pub use node::{MAINTENANCE_EVERY, Node, REBOOTSTRAP_EVERY, Stats, Transmit};
pub use search::{Event, MAX_PEERS_PER_SEARCH, SearchDone, SearchId, SearchKind};
pub use state::{MAX_SAVED_NODES, SavedState};
pub use store::StoreLimits;
pub use table::{
    BucketView, Entry, FRESH, Insert, K, MAX_BUCKETS, MAX_FAILURES, PING_EVERY, Reject,
    RoutingTable, Status,
};
pub use token::TOKEN_LEN;
