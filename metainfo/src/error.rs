//! The crate's errors: [`MetainfoError`] (parsing), [`MagnetError`] and
//! [`CreateError`].

use std::path::PathBuf;

/// Why a .torrent file was rejected.
///
/// Each validation the parser performs has its own variant, so callers (and
/// tests) can tell exactly what was wrong with a file. `file` fields are
/// indices in the `files` list (v1) or in file-tree order (v2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetainfoError {
    /// The bytes are not valid bencode (the error carries the byte offset).
    #[error("invalid bencode: {0}")]
    Bencode(#[from] monsoon_bencode::Error),
    /// The info dictionary of a torrent with a `meta version` is not
    /// canonical bencode (keys out of order): BEP 52 requires it, because
    /// its SHA-256 is the v2 info-hash.
    #[error("the info dictionary is not canonical bencode: {0}")]
    NotCanonical(monsoon_bencode::Error),
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
    /// The single file of a single-file torrent has no usable name: `name`
    /// (or the file tree's only key) is empty or sanitises to nothing.
    #[error("the file of a single-file torrent has an empty or unusable name")]
    UnusableName,
    /// The info dictionary has no `piece length`, or it is not an integer.
    #[error("missing or non-integer `piece length`")]
    MissingPieceLength,
    /// `piece length` is zero or negative.
    #[error("invalid `piece length` {0}: must be a positive integer")]
    InvalidPieceLength(i64),
    /// `piece length` is above [`MAX_PIECE_LENGTH`](crate::MAX_PIECE_LENGTH).
    #[error("`piece length` {0} is larger than the maximum {max}", max = crate::MAX_PIECE_LENGTH)]
    PieceLengthTooLarge(i64),
    /// A v2 or hybrid torrent's `piece length` is not a power of two of at
    /// least 16 KiB (BEP 52: "It must be a power of two and at least 16KiB").
    #[error("`piece length` {0} of a v2 torrent is not a power of two of at least 16 KiB")]
    PieceLengthNotPowerOfTwo(i64),
    /// The info dictionary has no `pieces` byte string (v1 and hybrid).
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
    /// A file length is missing, negative or not an integer (`file` is its
    /// index; 0 for a single-file torrent).
    #[error("file {file}: `length` is missing, negative or not an integer")]
    InvalidLength {
        /// Index of the file.
        file: usize,
    },
    /// A file is longer than [`MAX_FILE_LENGTH`](crate::MAX_FILE_LENGTH).
    #[error("file {file}: length {length} is more than the maximum {max}", max = crate::MAX_FILE_LENGTH)]
    FileTooLarge {
        /// Index of the file.
        file: usize,
        /// Its length.
        length: u64,
    },
    /// The files (and the padding v2 adds) are longer together than
    /// [`MAX_TOTAL_LENGTH`](crate::MAX_TOTAL_LENGTH).
    #[error("the total length is more than the maximum {max}", max = crate::MAX_TOTAL_LENGTH)]
    LengthOverflow,
    /// All files together are 0 bytes long.
    #[error("the total length is 0")]
    ZeroTotalLength,
    /// The torrent has no file: `files` or `file tree` is empty.
    #[error("the torrent lists no file")]
    EmptyFileList,
    /// An entry of `files` is not a dictionary.
    #[error("file {file}: entry is not a dictionary")]
    InvalidFileEntry {
        /// Index of the file in the `files` list.
        file: usize,
    },
    /// A file's `path` is missing, empty (allowed for padding files only),
    /// or holds something other than byte strings.
    #[error("file {file}: `path` is missing, empty or not a list of byte strings")]
    InvalidPath {
        /// Index of the file in the `files` list.
        file: usize,
    },
    /// A symbolic link's `symlink path` holds something other than byte
    /// strings.
    #[error("file {file}: `symlink path` is not a list of byte strings")]
    InvalidSymlinkPath {
        /// Index of the file.
        file: usize,
    },
    /// A file's path has more components than [`MAX_PATH_DEPTH`](crate::MAX_PATH_DEPTH).
    #[error("file {file}: path has {depth} components, more than the maximum {max}", max = crate::MAX_PATH_DEPTH)]
    PathTooDeep {
        /// Index of the file.
        file: usize,
        /// Number of components of its path.
        depth: usize,
    },
    /// A `meta version` above 2.
    #[error("unsupported `meta version` {0}")]
    UnsupportedVersion(i64),
    /// `meta version` is 2 but there is no `file tree` dictionary.
    #[error("`meta version` 2 without a `file tree`")]
    MissingFileTree,
    /// A `file tree` without `meta version` 2.
    #[error("a `file tree` without `meta version` 2")]
    FileTreeWithoutVersion,
    /// A node of the `file tree` is not a dictionary, or has an empty name,
    /// or a file's entry (under the empty key) is not a dictionary.
    #[error("file {file}: malformed `file tree` entry")]
    InvalidFileTree {
        /// Index of the file being read.
        file: usize,
    },
    /// A file of the `file tree` is marked as padding: v2 has no padding
    /// files (the padding is implied).
    #[error("file {file}: padding file in the `file tree`")]
    PadFileInTree {
        /// Index of the file.
        file: usize,
    },
    /// A non-empty file of the `file tree` has no valid `pieces root` (32
    /// bytes, not all zero).
    #[error("file {file}: missing or invalid `pieces root`")]
    MissingPiecesRoot {
        /// Index of the file.
        file: usize,
    },
    /// The v1 `files` (or `length`) of a hybrid torrent do not describe the
    /// same files, sizes and offsets as its `file tree`.
    #[error("hybrid torrent: the v1 and v2 file lists differ (at file {file})")]
    HybridMismatch {
        /// The first index where they differ.
        file: usize,
    },
    /// `piece layers` has a key that is not 32 bytes, or a value that is not
    /// a whole number of 32-byte hashes.
    #[error("`piece layers` is malformed")]
    InvalidPieceLayers,
    /// A file's piece layer does not have one hash per piece of the file.
    #[error("file {file}: piece layer of {actual} bytes, expected {expected}")]
    PieceLayerLength {
        /// Index of the file.
        file: usize,
        /// Bytes expected: 32 per piece of the file.
        expected: u64,
        /// Bytes present.
        actual: usize,
    },
    /// A file's piece layer does not hash up to its `pieces root`.
    #[error("file {file}: piece layer does not match its `pieces root`")]
    PieceLayerMismatch {
        /// Index of the file.
        file: usize,
    },
}

/// Why a magnet URI was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MagnetError {
    /// The text does not start with `magnet:?`.
    #[error("not a magnet URI (must start with `magnet:?`)")]
    NotMagnet,
    /// There is neither an `xt=urn:btih:` nor an `xt=urn:btmh:` parameter.
    #[error("missing `xt=urn:btih:` or `xt=urn:btmh:` info-hash")]
    MissingInfoHash,
    /// The `btih` value is neither 40 hex digits nor 32 base32 characters.
    #[error("invalid info-hash {0:?}: expected 40 hex digits or 32 base32 characters")]
    InvalidInfoHash(String),
    /// The `btmh` value is not a hex SHA-256 multihash (`1220` and 64 hex
    /// digits), the only kind BEP 52 defines.
    #[error("invalid v2 info-hash {0:?}: expected `1220` and 64 hex digits")]
    InvalidInfoHashV2(String),
    /// Two `btih` (or two `btmh`) parameters name different torrents.
    #[error("conflicting `xt` info-hashes")]
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
    /// A file is longer than [`MAX_FILE_LENGTH`](crate::MAX_FILE_LENGTH), or
    /// all of them together longer than
    /// [`MAX_TOTAL_LENGTH`](crate::MAX_TOTAL_LENGTH): no client could load the
    /// torrent.
    #[error("{}: too large for a torrent", .0.display())]
    TooLarge(PathBuf),
    /// Hashing failed in the storage layer (for a reason other than a file
    /// that vanished or shrank, which are [`CreateError::Io`] and
    /// [`CreateError::FileChanged`]).
    #[error("hashing: {0}")]
    Storage(monsoon_storage::StorageError),
}
