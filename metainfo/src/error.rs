//! Errors of metainfo parsing, magnet parsing and torrent creation.

use std::path::PathBuf;

/// Why a .torrent file was rejected.
///
/// Each validation the parser performs has its own variant, so callers (and
/// tests) can tell exactly what was wrong with a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetainfoError {
    /// The bytes are not valid bencode (the error carries the byte offset).
    #[error("invalid bencode: {0}")]
    Bencode(#[from] monsoon_bencode::Error),
    /// The top-level value is not a dictionary.
    #[error("the top-level value is not a dictionary")]
    NotADict,
    /// There is no `info` key.
    #[error("missing `info` dictionary")]
    MissingInfo,
    /// `info` is present but is not a dictionary.
    #[error("`info` is not a dictionary")]
    InvalidInfo,
    /// The info dictionary has no `name`.
    #[error("missing `name` in the info dictionary")]
    MissingName,
    /// `name` is not a byte string.
    #[error("`name` is not a byte string")]
    InvalidName,
    /// The info dictionary has no `piece length`, or it is not an integer.
    #[error("missing or non-integer `piece length`")]
    MissingPieceLength,
    /// `piece length` is zero or negative.
    #[error("invalid `piece length` {0}: must be a positive integer")]
    InvalidPieceLength(i64),
    /// `piece length` is above [`MAX_PIECE_LENGTH`](crate::MAX_PIECE_LENGTH).
    #[error("`piece length` {0} is larger than the maximum {max}", max = crate::MAX_PIECE_LENGTH)]
    PieceLengthTooLarge(i64),
    /// The info dictionary has no `pieces` byte string.
    #[error("missing or invalid `pieces` (must be a byte string)")]
    MissingPieces,
    /// The `pieces` string is not a whole number of 20-byte SHA-1 hashes.
    #[error("`pieces` is {0} bytes long, not a multiple of 20")]
    PiecesNotMultipleOf20(usize),
    /// The number of hashes in `pieces` does not match the total length.
    #[error("`pieces` holds {actual} hashes but the total length needs {expected}")]
    PieceCountMismatch {
        /// Pieces needed for the total length and piece length.
        expected: u64,
        /// Hashes present in `pieces`.
        actual: usize,
    },
    /// More pieces than [`MAX_PIECES`](crate::MAX_PIECES).
    #[error("{0} pieces is more than the maximum {max}", max = crate::MAX_PIECES)]
    TooManyPieces(u64),
    /// Neither `length` (single file) nor `files` (multi-file) is present.
    #[error("the info dictionary has neither `length` nor `files`")]
    MissingLength,
    /// A file length is negative or not an integer (`file` is its index;
    /// 0 for a single-file torrent).
    #[error("file {file}: `length` is missing, negative or not an integer")]
    InvalidLength {
        /// Index of the file in the `files` list.
        file: usize,
    },
    /// The sum of the file lengths overflows a `u64`.
    #[error("the total length overflows")]
    LengthOverflow,
    /// All files together are 0 bytes long.
    #[error("the total length is 0")]
    ZeroTotalLength,
    /// `files` is not a list, or is an empty list.
    #[error("`files` is empty or not a list")]
    EmptyFileList,
    /// An entry of `files` is not a dictionary.
    #[error("file {file}: entry is not a dictionary")]
    InvalidFileEntry {
        /// Index of the file in the `files` list.
        file: usize,
    },
    /// A file's `path` is missing, not a list, or holds something other than
    /// byte strings.
    #[error("file {file}: `path` is missing or not a list of byte strings")]
    InvalidPath {
        /// Index of the file in the `files` list.
        file: usize,
    },
    /// A file's path has more components than [`MAX_PATH_DEPTH`](crate::MAX_PATH_DEPTH).
    #[error("file {file}: path has {depth} components, more than the maximum {max}", max = crate::MAX_PATH_DEPTH)]
    PathTooDeep {
        /// Index of the file in the `files` list.
        file: usize,
        /// Number of components of its path.
        depth: usize,
    },
    /// A BitTorrent v2-only torrent (`meta version` 2 without the v1 fields).
    #[error("v2-only torrents are not supported")]
    V2Only,
    /// A `meta version` other than 1 or 2.
    #[error("unsupported `meta version` {0}")]
    UnsupportedVersion(i64),
}

/// Why a magnet URI was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MagnetError {
    /// The text does not start with `magnet:?`.
    #[error("not a magnet URI (must start with `magnet:?`)")]
    NotMagnet,
    /// There is no `xt=urn:btih:` parameter.
    #[error("missing `xt=urn:btih:` info-hash")]
    MissingInfoHash,
    /// Only a v2 (`urn:btmh:`) info-hash is given.
    #[error("v2-only magnet links are not supported")]
    V2Only,
    /// The `btih` value is neither 40 hex digits nor 32 base32 characters.
    #[error("invalid info-hash {0:?}: expected 40 hex digits or 32 base32 characters")]
    InvalidInfoHash(String),
    /// Two `btih` parameters name different torrents.
    #[error("conflicting `xt=urn:btih:` info-hashes")]
    ConflictingInfoHash,
    /// A `%` escape is not followed by two hex digits.
    #[error("invalid percent-escape in {0:?}")]
    InvalidEscape(String),
    /// The `so` (select only) parameter is not a list of indices and ranges.
    #[error("invalid `so` (select only) value {0:?}")]
    InvalidSelectOnly(String),
}

/// Why a torrent could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// Reading a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file name is not valid UTF-8 (torrent paths are UTF-8 strings).
    #[error("{}: file name is not valid UTF-8", .0.display())]
    NonUtf8Name(PathBuf),
    /// Something that is neither a regular file nor a directory (socket,
    /// FIFO, device) is in the tree: it cannot be shared and is not skipped
    /// silently.
    #[error("{}: not a regular file or directory", .0.display())]
    NotAFile(PathBuf),
    /// A directory tree nested deeper than [`MAX_PATH_DEPTH`](crate::MAX_PATH_DEPTH)
    /// (also catches symlink loops).
    #[error("{}: nested more than {max} levels deep", .0.display(), max = crate::MAX_PATH_DEPTH)]
    TooDeep(PathBuf),
    /// A symbolic link points to a folder that contains it.
    #[error("{}: symbolic link loop", .0.display())]
    Loop(PathBuf),
    /// The files hold no data at all.
    #[error("{}: nothing to share (total size is 0)", .0.display())]
    Empty(PathBuf),
    /// The piece length is not a power of two between 16 KiB and
    /// [`MAX_PIECE_LENGTH`](crate::MAX_PIECE_LENGTH).
    #[error("invalid piece length {0}: must be a power of two from 16 KiB to {max}", max = crate::MAX_PIECE_LENGTH)]
    InvalidPieceLength(u64),
    /// The data needs more than [`MAX_PIECES`](crate::MAX_PIECES) pieces at this piece length.
    #[error("{0} pieces is more than the maximum {max}; use a larger piece length", max = crate::MAX_PIECES)]
    TooManyPieces(u64),
    /// A file got shorter while it was being hashed.
    #[error("{}: file changed while hashing", .0.display())]
    FileChanged(PathBuf),
}
