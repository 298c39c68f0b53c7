//! The crate's error type, [`StorageError`].

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while laying out, reading, writing or
/// checking torrent data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// An operating-system I/O error on `path` (open, read, write, sync,
    /// creating directories).
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A read touched a file that does not exist on disk (yet). Reads never
    /// create files, so a recheck reports such pieces as missing.
    #[error("file not found: {}", path.display())]
    NotFound {
        /// The file that does not exist.
        path: PathBuf,
    },
    /// A file on disk is shorter than the layout says, so a read could not
    /// be satisfied.
    #[error("file {} is shorter than expected: needed {needed} bytes at offset {offset}", path.display())]
    ShortRead {
        /// The file that is too short.
        path: PathBuf,
        /// Offset of the read within the file.
        offset: u64,
        /// Number of bytes the read needed.
        needed: u64,
    },
    /// A piece index or a `(begin, len)` range lies outside the torrent.
    #[error("out of range: piece {piece}, begin {begin}, length {len}")]
    OutOfRange {
        /// The piece index asked for.
        piece: u32,
        /// Offset within the piece.
        begin: u32,
        /// Length asked for.
        len: u32,
    },
    /// The blocks given to [`Storage::write_piece`](crate::Storage::write_piece)
    /// do not add up to the piece's size.
    #[error("piece {piece} is {expected} bytes, but the blocks hold {actual}")]
    WrongPieceLength {
        /// The piece index.
        piece: u32,
        /// The piece's size according to the layout.
        expected: u32,
        /// The total length of the blocks given.
        actual: u64,
    },
    /// A file path would resolve outside the download root: an empty, `.`,
    /// `..` or absolute component, a separator or NUL inside a component.
    #[error("path escapes the download root: {}", .0.display())]
    PathEscapesRoot(PathBuf),
    /// A symlink sits under the download root where the torrent has a file
    /// or a folder. Storage never opens anything through a symlink under
    /// the root, wherever it points (see [`FileStorage`](crate::FileStorage)).
    #[error(
        "{} is a symlink (to {}): files are never written or read through symlinks in the download folder",
        path.display(),
        target.display()
    )]
    Symlink {
        /// The symlink: the file's path, or the folder on its way that is
        /// a symlink.
        path: PathBuf,
        /// Where it points.
        target: PathBuf,
    },
    /// Something other than a regular file (a folder, a FIFO, a device)
    /// sits where the torrent has a file.
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The path of the torrent's file.
        path: PathBuf,
    },
    /// The piece length is zero.
    #[error("piece length must not be zero")]
    ZeroPieceLength,
    /// The total length of the files overflows `u64`, or the torrent would
    /// have more than `u32::MAX` pieces.
    #[error("torrent too large: total length or piece count overflows")]
    TooLarge,
    /// A file index is not in the layout.
    #[error("no file with index {0}")]
    NoSuchFile(usize),
    /// [`recheck`](crate::recheck) was given a number of hashes that differs
    /// from the layout's piece count.
    #[error("expected {expected} piece hashes, got {actual}")]
    HashCountMismatch {
        /// The layout's piece count.
        expected: u32,
        /// The number of hashes given.
        actual: usize,
    },
    /// [`hash_pieces`](crate::hash_pieces) was asked for merkle (v2) hashes
    /// of a layout where this piece does not hold the start of exactly one
    /// non-padding file (files must be padded to piece boundaries), or whose
    /// piece length is not a power of two of at least 16 KiB.
    #[error("piece {piece} is not aligned to one file, as v2 hashing needs")]
    NotPieceAligned {
        /// The piece index.
        piece: u32,
    },
    /// Data given to build a storage does not match the layout's length.
    #[error("expected {expected} bytes of data, got {actual}")]
    DataLengthMismatch {
        /// The layout's total length.
        expected: u64,
        /// The length given.
        actual: u64,
    },
}

impl StorageError {
    /// Wraps an I/O error with the path it happened on, turning "not found"
    /// into [`StorageError::NotFound`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        if source.kind() == io::ErrorKind::NotFound {
            StorageError::NotFound { path }
        } else {
            StorageError::Io { path, source }
        }
    }

    /// The kind of the underlying I/O error, if this is one.
    pub(crate) fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            StorageError::NotFound { .. } => Some(io::ErrorKind::NotFound),
            StorageError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }

    /// Whether the process (EMFILE) or the system (ENFILE) ran out of file
    /// descriptors.
    pub(crate) fn is_out_of_fds(&self) -> bool {
        matches!(
            self,
            StorageError::Io { source, .. }
                if matches!(source.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
        )
    }

    /// Whether this error means "the data is not there" (a missing or short
    /// file) rather than a failure of the disk: a recheck counts such a
    /// piece as missing instead of failing.
    pub fn is_missing_data(&self) -> bool {
        matches!(
            self,
            StorageError::NotFound { .. } | StorageError::ShortRead { .. }
        )
    }
}
