//! The engine's error type.

use std::io;

/// Errors from the session and torrents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Binding the listen socket or another socket operation failed.
    #[error("network: {0}")]
    Io(#[from] io::Error),
    /// The storage layer failed (disk full, permissions, bad path).
    #[error("storage: {0}")]
    Storage(#[from] monsoon_storage::StorageError),
    /// The torrent's geometry is unusable.
    #[error("piece geometry: {0}")]
    Piece(#[from] monsoon_piece::PieceError),
    /// The torrent is already in this session.
    #[error("torrent {0} is already added")]
    Duplicate(String),
    /// The torrent task ended (removed, or the session shut down).
    #[error("the torrent was stopped")]
    Stopped,
    /// The torrent failed; the text says why.
    #[error("{0}")]
    Failed(String),
    /// A BitTorrent v2-only torrent: the engine downloads v1 and hybrid
    /// torrents (through their v1 half) only, for now.
    #[error("v2-only torrents cannot be downloaded yet (v1 and hybrid torrents can)")]
    V2OnlyUnsupported,
    /// A file priority list does not match the torrent's files.
    #[error("{given} file priorities given for a torrent with {files} files")]
    PriorityCount {
        /// Priorities given.
        given: usize,
        /// Files in the torrent.
        files: usize,
    },
}
