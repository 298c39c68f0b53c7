//! Piece and block geometry: how a torrent's bytes split into pieces and 16 KiB blocks.

use crate::PieceError;

/// The length of a block (a request's unit): 16 KiB, as every client uses.
/// The last block of a piece may be shorter.
pub const BLOCK_LEN: u32 = 16 * 1024;

/// The shape of a torrent: total length, nominal piece length, piece count.
///
/// Every piece has `piece_len` bytes except the last, which holds the rest.
/// All arithmetic is checked when the geometry is built, so the accessors
/// cannot overflow for any piece index below [`piece_count`](Self::piece_count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    total_len: u64,
    piece_len: u32,
    piece_count: u32,
    last_piece_len: u32,
}

/// One block of one piece: what a `request`, `piece` or `cancel` message names.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct Block {
    /// The piece index.
    pub piece: u32,
    /// Byte offset inside the piece (a multiple of [`BLOCK_LEN`]).
    pub begin: u32,
    /// Length in bytes: [`BLOCK_LEN`], or less for the last block of a piece.
    pub length: u32,
}

impl Block {
    /// The block's index inside its piece (`begin / BLOCK_LEN`).
    pub fn index_in_piece(&self) -> u32 {
        self.begin / BLOCK_LEN
    }
}

impl Geometry {
    /// The geometry of a torrent of `total_len` bytes cut into `piece_len`-byte pieces.
    ///
    /// # Errors
    /// [`PieceError::ZeroPieceLength`], [`PieceError::EmptyTorrent`], or
    /// [`PieceError::TooManyPieces`] when the piece count does not fit in a `u32`.
    pub fn new(total_len: u64, piece_len: u32) -> Result<Geometry, PieceError> {
        if piece_len == 0 {
            return Err(PieceError::ZeroPieceLength);
        }
        if total_len == 0 {
            return Err(PieceError::EmptyTorrent);
        }
        let count = total_len.div_ceil(u64::from(piece_len));
        let piece_count = u32::try_from(count).map_err(|_| PieceError::TooManyPieces { count })?;
        // The remainder is in 1..=piece_len, so it fits a u32.
        let last_piece_len = (total_len - u64::from(piece_count - 1) * u64::from(piece_len)) as u32;
        Ok(Geometry {
            total_len,
            piece_len,
            piece_count,
            last_piece_len,
        })
    }

    /// Total length of the torrent's content in bytes.
    pub fn total_len(&self) -> u64 {
        self.total_len
    }

    /// The nominal piece length (every piece but the last).
    pub fn piece_len(&self) -> u32 {
        self.piece_len
    }

    /// The number of pieces (at least 1).
    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// The length of `piece`: [`piece_len`](Self::piece_len), or less for the
    /// last piece. Zero for an index past the end.
    pub fn piece_size(&self, piece: u32) -> u32 {
        if piece + 1 < self.piece_count {
            self.piece_len
        } else if piece + 1 == self.piece_count {
            self.last_piece_len
        } else {
            0
        }
    }

    /// The byte offset of `piece` in the torrent's content.
    pub fn piece_offset(&self, piece: u32) -> u64 {
        u64::from(piece) * u64::from(self.piece_len)
    }

    /// The number of blocks in `piece` (zero for an index past the end).
    pub fn blocks_in_piece(&self, piece: u32) -> u32 {
        self.piece_size(piece).div_ceil(BLOCK_LEN)
    }

    /// Block number `block_index` of `piece`; the last block of a piece is shorter.
    ///
    /// The caller passes indices below [`blocks_in_piece`](Self::blocks_in_piece);
    /// past the end the result has length 0 (use [`block_at`](Self::block_at)
    /// to validate what a peer sends).
    pub fn block(&self, piece: u32, block_index: u32) -> Block {
        let size = self.piece_size(piece);
        let begin = block_index.saturating_mul(BLOCK_LEN);
        Block {
            piece,
            begin,
            length: size.saturating_sub(begin).min(BLOCK_LEN),
        }
    }

    /// Validates a `(piece, begin, length)` triple from the wire: `Some` exactly
    /// when it names one of this torrent's blocks (aligned `begin`, exact length).
    pub fn block_at(&self, piece: u32, begin: u32, length: u32) -> Option<Block> {
        if piece >= self.piece_count || begin % BLOCK_LEN != 0 {
            return None;
        }
        let size = self.piece_size(piece);
        if begin >= size || length != (size - begin).min(BLOCK_LEN) {
            return None;
        }
        Some(Block {
            piece,
            begin,
            length,
        })
    }
}
