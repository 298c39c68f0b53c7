//! BitTorrent tracker client: HTTP (BEP 3, 23, 7) and UDP (BEP 15)
//! announce and scrape, with multi-tracker tiers (BEP 12).
//!
//! - The protocol is pure functions with no I/O: [`announce_url`] builds an
//!   HTTP query (info-hash and peer id percent-encoded byte by byte, any
//!   query in the announce URL kept), [`parse_announce_response`] and
//!   [`parse_scrape_response`] read bencoded bodies (compact IPv4 and IPv6
//!   peers and the original dictionary list; a `failure reason` becomes
//!   [`TrackerError::Failure`]), [`scrape_url`] derives the scrape URL, the
//!   `encode_*`/`decode_*` functions are the UDP packets, [`Tiers`] is the
//!   BEP 12 state machine.
//! - The clients are thin async shells: [`HttpTracker`] (reqwest with
//!   rustls, gzip, bounded redirects, a body size limit), [`UdpTracker`]
//!   (tokio, retransmission every `udp_base_timeout · 2ⁿ`, connection id
//!   kept for a minute, IPv4 and IPv6), [`Tracker`] for either, and
//!   [`TrackerList`] over tiers.
//! - The engine talks to an [`Announcer`], so it can be tested with a fake.
//! - Local Service Discovery (BEP 14), the tracker of the local network:
//!   [`encode_lsd`]/[`parse_lsd`] and the sans-IO [`LsdCore`] (what to
//!   announce when, what to believe), run on multicast sockets by [`Lsd`].
//!
//! It does not re-announce on a timer (the engine does, from
//! [`AnnounceResponse::interval`]) and does not resolve DNS names found in
//! peer lists.
//!
//! ```
//! use monsoon_tracker::{AnnounceRequest, Event, TrackerError, announce_url, parse_announce_response};
//!
//! let mut req = AnnounceRequest::new([0x12; 20], *b"-MO0001-000000000000", 6881);
//! req.event = Event::Started;
//! req.left = 1000;
//! let url = announce_url("http://tracker.example/announce", &req);
//! assert!(url.contains("info_hash=%12%12"));
//!
//! let resp = parse_announce_response(b"d8:intervali1800e5:peers6:\x0a\x00\x00\x01\x1a\xe1e").unwrap();
//! assert_eq!(resp.peers[0].to_string(), "10.0.0.1:6881");
//!
//! let err = parse_announce_response(b"d14:failure reason7:go awaye").unwrap_err();
//! assert!(matches!(err, TrackerError::Failure(reason) if reason == "go away"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod error;
mod http;
mod list;
mod lsd;
mod lsd_socket;
mod request;
mod response;
mod tier;
mod udp;
mod udp_packet;

pub use config::{ClientConfig, DEFAULT_MAX_BODY, DEFAULT_MAX_REDIRECTS, UDP_BASE_TIMEOUT};
pub use error::TrackerError;
pub use http::HttpTracker;
pub use list::{AnnounceFuture, Announcer, Tracker, TrackerList, TrackerResult};
pub use lsd::{
    LSD_GROUP_V4, LSD_GROUP_V6, LSD_PORT, LsdAnnounce, LsdConfig, LsdCore, LsdError, LsdReceived,
    MAX_LSD_DATAGRAM, MAX_LSD_SOURCES, encode_lsd, parse_lsd,
};
pub use lsd_socket::{Lsd, LsdPeers, LsdSettings};
pub use request::{
    AnnounceRequest, Event, announce_url, percent_encode, percent_encode_into, scrape_query_url,
    scrape_url,
};
pub use response::{
    AnnounceResponse, ScrapeResponse, ScrapeStats, parse_announce_response, parse_compact_v4,
    parse_compact_v6, parse_scrape_response,
};
pub use tier::{SplitMix64, TierPos, Tiers};
pub use udp::UdpTracker;
pub use udp_packet::{
    ACTION_ANNOUNCE, ACTION_CONNECT, ACTION_ERROR, ACTION_SCRAPE, ANNOUNCE_REQUEST_LEN,
    CONNECTION_ID_LIFETIME, ConnectionId, MAX_SCRAPE_HASHES, PROTOCOL_ID, decode_announce,
    decode_connect, decode_error, decode_scrape, encode_announce, encode_connect, encode_scrape,
};
