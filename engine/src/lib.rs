//! monsoon-engine: composes the monsoon protocol crates into a BitTorrent client.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod metainfo;
