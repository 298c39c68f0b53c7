//! A BitTorrent DHT node ([BEP 5]), with IPv6 ([BEP 32]) and node ids
//! derived from the external address ([BEP 42]).
//!
//! [BEP 5]: https://www.bittorrent.org/beps/bep_0005.html
//! [BEP 32]: https://www.bittorrent.org/beps/bep_0032.html
//! [BEP 42]: https://www.bittorrent.org/beps/bep_0042.html
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
