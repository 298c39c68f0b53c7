//! Integration tests of monsoon-tracker (one test binary).
//!
//! - `opentracker`: a real tracker (Debian's opentracker) on 127.0.0.1 over
//!   HTTP and UDP: two clients see each other, scrape counts, `stopped`.
//! - `http`: an in-test HTTP server for what opentracker cannot produce
//!   (failure reason, warning, redirects, gzip, dictionary and IPv6 peers,
//!   body limit, status codes, timeouts).
//! - `udp`: an in-test UDP tracker (retransmission, stale transaction ids,
//!   connection id reuse, error packets, IPv6).
//! - `list`: BEP 12 fall-through, promotion, skipped schemes, the
//!   `Announcer` trait.
//! - `props`: property tests of the parsers and encoders.
//! - `lsd`: local service discovery's format (against libtorrent's), its
//!   errors and the core's timing and rate limits.

mod http;
mod list;
mod lsd;
mod opentracker;
mod props;
mod support;
mod udp;
