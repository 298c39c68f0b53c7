//! Integration tests of monsoon-wire, built as one binary.

mod extended;
mod framing;
mod handshake;
mod libtorrent;
mod limits;
mod props;
mod strategies;
