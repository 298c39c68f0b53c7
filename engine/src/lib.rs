//! monsoon-engine: composes the monsoon protocol crates into a BitTorrent client.
//!
//! A [`Session`] listens for peers and runs torrents. Each torrent is a
//! sans-IO core, [`torrent::TorrentCore`], that makes every decision (which
//! peers, which blocks, whom to upload to, the lifecycle) and performs no
//! I/O, and a tokio task that feeds it events and carries out its actions:
//! peer connections ([`monsoon_wire`]), the tracker client
//! ([`monsoon_tracker`]), and the disk threads ([`monsoon_storage`]). The
//! core uses the picker of [`monsoon_piece`]. [`Metainfo`] (from
//! [`monsoon_metainfo`], re-exported here) parses .torrent files.
//!
//! See [`Session`] for an example, and `ARCHITECTURE.md` in the repository
//! for how the parts fit.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod driver;
mod encryption;
mod error;
mod handle;
mod metainfo;
mod priorities;
mod rate;
mod resume;
mod session;
mod stats;
pub mod torrent;
mod transport;

pub use config::{DhtSettings, SessionConfig};
pub use driver::announce::TrackerStatus;
pub use encryption::{Encryption, PeerEncryption};
pub use error::{EngineError, TorrentError};
pub use handle::TorrentHandle;
pub use metainfo::{
    CreateError, CreateOptions, FilePath, FileRef, FileTable, MAX_PATH_DEPTH, MAX_PIECE_LENGTH,
    MAX_PIECES, MIN_CREATE_PIECE_LENGTH, Magnet, MagnetError, MetaVersion, Metainfo, MetainfoError,
    create_torrent, default_piece_length, is_contained,
};
pub use monsoon_tracker::LsdSettings;
pub use resume::{ResumeData, ResumeError, folder_key};
pub use session::{AddTorrentOptions, MAX_PENDING_HANDSHAKES, Session};
pub use stats::{Stats, TorrentState};
pub use torrent::{CloseCounts, CloseReason, ConnectError, PeerInfo, PeerSource, SeedLimits};
pub use transport::{BoxTransport, ConnectFuture, Connector, TcpConnector, Transport};
