//! The crate's error type.

/// Everything that can go wrong building piece geometry or parsing a bitfield.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PieceError {
    /// The piece length is zero.
    #[error("piece length is zero")]
    ZeroPieceLength,
    /// The torrent's total length is zero: there is nothing to download.
    #[error("total length is zero")]
    EmptyTorrent,
    /// The torrent has more pieces than fit in a `u32` piece index.
    #[error("{count} pieces do not fit in a u32 piece index")]
    TooManyPieces {
        /// The number of pieces the lengths imply.
        count: u64,
    },
    /// A wire bitfield whose byte length does not match the piece count.
    #[error("bitfield is {got} bytes, expected {expected}")]
    BitfieldLength {
        /// `ceil(pieces / 8)`.
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// A wire bitfield with a bit set past the last piece.
    #[error("bitfield has spare bits set after bit {len}")]
    SpareBits {
        /// The number of pieces (the first bit that must be zero).
        len: u32,
    },
}
