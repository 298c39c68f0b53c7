//! The engine's error types: [`EngineError`] for calls into the engine,
//! [`TorrentError`] for what puts a torrent into
//! [`TorrentState::Error`](crate::TorrentState::Error).

use std::io;
use std::sync::Arc;

use monsoon_storage::StorageError;

/// Errors from the session and torrents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Binding the listen socket or another socket operation failed.
    #[error("network: {0}")]
    Io(#[from] io::Error),
    /// The storage layer failed (disk full, permissions, bad path).
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// The torrent's geometry is unusable.
    #[error("piece geometry: {0}")]
    Piece(#[from] monsoon_piece::PieceError),
    /// The torrent is already in this session.
    #[error("torrent {0} is already added")]
    Duplicate(String),
    /// The torrent task ended (removed, or the session shut down).
    #[error("the torrent was stopped")]
    Stopped,
    /// The torrent failed.
    #[error(transparent)]
    Torrent(#[from] TorrentError),
    /// A file priority list does not match the torrent's files.
    #[error("{given} file priorities given for a torrent with {files} files")]
    PriorityCount {
        /// Priorities given.
        given: usize,
        /// Files in the torrent.
        files: usize,
    },
    /// A piece priority list does not match the torrent's pieces.
    #[error("{given} piece priorities given for a torrent with {pieces} pieces")]
    PiecePriorityCount {
        /// Priorities given.
        given: usize,
        /// Pieces in the torrent.
        pieces: u32,
    },
}

/// Why a torrent stopped working ([`TorrentState::Error`](crate::TorrentState::Error)).
///
/// Cheap to clone (it travels in every [`Stats`](crate::Stats) snapshot);
/// the storage error inside says which file and which OS error, so a caller
/// can tell a full disk from a permission problem:
///
/// ```
/// # use monsoon_engine::TorrentError;
/// # use monsoon_storage::StorageError;
/// fn disk_full(e: &TorrentError) -> bool {
///     matches!(e.storage(), Some(StorageError::Io { source, .. })
///         if source.kind() == std::io::ErrorKind::StorageFull)
/// }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TorrentError {
    /// The data on disk could not be checked.
    #[error("checking existing data: {0}")]
    Check(Arc<StorageError>),
    /// A verified piece could not be written.
    #[error("writing piece {piece}: {source}")]
    Write {
        /// The piece.
        piece: u32,
        /// What the storage said.
        source: Arc<StorageError>,
    },
    /// A block could not be read to serve a peer (a file went missing?).
    #[error("reading piece {piece}: {source}")]
    Read {
        /// The piece.
        piece: u32,
        /// What the storage said.
        source: Arc<StorageError>,
    },
    /// Written data could not be made durable.
    #[error("flushing files: {0}")]
    Flush(Arc<StorageError>),
    /// Metadata from peers hashed right but is not a usable torrent.
    #[error("metadata from peers: {0}")]
    Metadata(Arc<crate::MetainfoError>),
    /// Metadata from peers hashed right but its info-hashes are not the
    /// link's: a `btih` link whose info dictionary is v2-only (its SHA-1 is
    /// not the torrent's info-hash), or a hybrid's that names another v1
    /// half.
    #[error("metadata from peers hashes right but is another torrent's (v1 and v2 halves)")]
    MetadataMismatch,
    /// A hybrid torrent's piece matched its SHA-1 and not its merkle hash,
    /// or the reverse: its v1 and v2 halves describe different data (as
    /// libtorrent, the torrent stops rather than trust either).
    #[error("piece {piece} matches one of the torrent's hashes (v1 or v2) and not the other")]
    InconsistentHashes {
        /// The piece.
        piece: u32,
    },
    /// The torrent's files could not be set up once its metadata arrived.
    #[error("setting up the files: {0}")]
    Setup(Arc<StorageError>),
}

impl TorrentError {
    /// The storage error behind this one.
    pub fn storage(&self) -> Option<&StorageError> {
        match self {
            TorrentError::Check(e) | TorrentError::Flush(e) => Some(e),
            TorrentError::Write { source, .. } | TorrentError::Read { source, .. } => Some(source),
            TorrentError::Setup(e) => Some(e),
            TorrentError::Metadata(_)
            | TorrentError::MetadataMismatch
            | TorrentError::InconsistentHashes { .. } => None,
        }
    }
}
