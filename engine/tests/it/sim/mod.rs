//! Deterministic simulation: many torrent cores on an in-memory network
//! with a virtual clock (see `net.rs`), and the swarms run on it.
pub(crate) mod net;
mod node;
mod props;
mod scenarios;
pub(crate) mod torrent;
mod uneven;
mod v2;
