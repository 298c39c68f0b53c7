//! [`DaemonError`]: what can go wrong starting the daemon or carrying out a
//! request; each variant knows its HTTP status.

use std::net::SocketAddr;
use std::path::PathBuf;

use monsoon_engine::{EngineError, MetainfoError};

use crate::paths::PathError;

/// Errors of the daemon and of the requests it serves.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// No torrent has that id or info-hash.
    #[error("no torrent {0}")]
    NotFound(String),
    /// The bytes are not a usable .torrent.
    #[error("not a valid .torrent: {0}")]
    BadTorrent(#[from] MetainfoError),
    /// The torrent is in the daemon already.
    #[error("torrent {hash} is already added (id {id})")]
    Duplicate {
        /// Its id.
        id: u32,
        /// Its info-hash.
        hash: String,
    },
    /// A path outside the allowed folders, or with `..`.
    #[error(transparent)]
    Path(#[from] PathError),
    /// The request is malformed (says how).
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the current state (says how).
    #[error("{0}")]
    Conflict(String),
    /// A .torrent over 20 MiB.
    #[error("the .torrent is larger than the 20 MiB limit")]
    TooLarge,
    /// The engine refused or failed.
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
    /// The torrent's files cannot be set up.
    #[error("storage: {0}")]
    Storage(#[from] monsoon_storage::StorageError),
    /// Reading or writing the state directory failed.
    #[error("state directory {}: {source}", path.display())]
    State {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Binding anything but a loopback address without a password.
    #[error(
        "refusing to listen on {0} without a password: only 127.0.0.1 and ::1 are served \
         without one (give --password or --password-file)"
    )]
    PasswordRequired(SocketAddr),
    /// The HTTP or peer listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The daemon is shutting down.
    #[error("the daemon is shutting down")]
    ShuttingDown,
}

impl DaemonError {
    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            DaemonError::NotFound(_) => 404,
            DaemonError::BadTorrent(_) | DaemonError::BadRequest(_) => 400,
            DaemonError::Duplicate { .. } | DaemonError::Conflict(_) => 409,
            DaemonError::Path(_) => 403,
            DaemonError::TooLarge => 413,
            DaemonError::ShuttingDown => 503,
            DaemonError::Engine(EngineError::PriorityCount { .. }) => 400,
            DaemonError::Engine(EngineError::Duplicate(_)) => 409,
            DaemonError::Engine(_)
            | DaemonError::Storage(_)
            | DaemonError::State { .. }
            | DaemonError::PasswordRequired(_)
            | DaemonError::Bind { .. } => 500,
        }
    }

    /// A short machine-readable code (the `error` field of JSON errors).
    pub fn code(&self) -> &'static str {
        match self {
            DaemonError::NotFound(_) => "not_found",
            DaemonError::BadTorrent(_) => "bad_torrent",
            DaemonError::BadRequest(_) => "bad_request",
            DaemonError::Duplicate { .. } | DaemonError::Engine(EngineError::Duplicate(_)) => {
                "duplicate"
            }
            DaemonError::Conflict(_) => "conflict",
            DaemonError::Path(_) => "forbidden_path",
            DaemonError::TooLarge => "too_large",
            DaemonError::ShuttingDown => "shutting_down",
            DaemonError::Engine(EngineError::PriorityCount { .. }) => "bad_request",
            DaemonError::Engine(_) => "engine",
            DaemonError::Storage(_) => "storage",
            DaemonError::State { .. } => "state",
            DaemonError::PasswordRequired(_) | DaemonError::Bind { .. } => "startup",
        }
    }
}
