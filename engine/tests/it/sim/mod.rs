//! Deterministic simulation: many torrent cores on an in-memory network
//! with a virtual clock (see `net.rs`), and the swarms run on it.
mod net;
mod props;
mod scenarios;
mod torrent;
