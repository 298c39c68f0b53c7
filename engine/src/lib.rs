//! monsoon-engine: composes the monsoon protocol crates into a BitTorrent client.
//!
//! A [`Session`] listens for peers and runs torrents; each torrent is one
//! task that owns its piece bookkeeping ([`monsoon_piece`]), talks to peers
//! through one task per connection ([`monsoon_wire`]), to trackers through an
//! announce task ([`monsoon_tracker`]) and to the disk through blocking
//! threads ([`monsoon_storage`]). [`Metainfo`] (from [`monsoon_metainfo`],
//! re-exported here) parses .torrent files.
//!
//! See [`Session`] for an example.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod announce;
mod config;
mod disk;
mod error;
mod handle;
mod metainfo;
mod peer;
mod session;
mod stats;
mod torrent;

pub use config::SessionConfig;
pub use error::EngineError;
pub use handle::TorrentHandle;
pub use metainfo::{
    CreateError, CreateOptions, FileInfo, MAX_PATH_DEPTH, MAX_PIECE_LENGTH, MAX_PIECES,
    MIN_CREATE_PIECE_LENGTH, Magnet, MagnetError, MetaVersion, Metainfo, MetainfoError,
    create_torrent, default_piece_length, is_contained,
};
pub use peer::Transport;
pub use session::{AddTorrentOptions, Session};
pub use stats::{Stats, TorrentState};
