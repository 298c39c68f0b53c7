//! Integration tests of monsoon-dht (one test binary).
//!
//! - `sim`: 300 sans-IO nodes on a simulated network (fake clock, loss,
//!   nodes leaving): an announced peer is found.
//! - `krpc`: BEP 5 examples byte for byte, round trips, hostile input.
//! - `table`: routing table invariants (proptest), replacement, splits.
//! - `node`: one node and hand-made datagrams: every query, tokens, errors,
//!   rate limits, unmatched responses, bounds, BEP 42, saved state.
//! - `driver`: the tokio driver on 127.0.0.1 sockets.
//! - `libtorrent`: interop with libtorrent DHT sessions (python3-libtorrent).

#[cfg(feature = "tokio")]
mod driver;
mod krpc;
#[cfg(feature = "tokio")]
mod libtorrent;
mod node;
mod sim;
mod table;
