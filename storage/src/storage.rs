//! The [`Storage`] trait the engine drives, and helpers its implementations
//! share.

use std::io::IoSlice;

use bytes::Bytes;

use crate::{Layout, Span, StorageError};

/// Where a torrent's data lives: written a verified piece at a time, read a
/// block at a time.
///
/// Implementations are synchronous and meant to be called from blocking
/// threads (the engine runs them on its own disk threads, and the check of
/// existing data on tokio's blocking pool); they take `&self` so several
/// threads may read and write different pieces at once.
pub trait Storage: Send + Sync + 'static {
    /// The torrent's layout.
    fn layout(&self) -> &Layout;

    /// Writes a whole piece, given as its blocks in order (their
    /// concatenation is the piece). Padding spans are skipped.
    ///
    /// Errors: [`StorageError::OutOfRange`] for a piece past the end,
    /// [`StorageError::WrongPieceLength`] if the blocks do not add up to the
    /// piece's size, or an I/O error.
    fn write_piece(&self, piece: u32, blocks: &[Bytes]) -> Result<(), StorageError>;

    /// Reads `len` bytes at `begin` in `piece`. Padding reads as zeros.
    ///
    /// Errors: [`StorageError::OutOfRange`] if the range is not inside the
    /// piece, [`StorageError::NotFound`] if a file it touches does not
    /// exist, [`StorageError::ShortRead`] if a file is too short, or an I/O
    /// error.
    /// The default allocates a buffer and calls [`Storage::read_into`].
    fn read(&self, piece: u32, begin: u32, len: u32) -> Result<Bytes, StorageError> {
        self.layout().check_range(piece, begin, len)?;
        let mut buf = vec![0; len as usize];
        self.read_into(piece, begin, &mut buf)?;
        Ok(buf.into())
    }

    /// Like [`Storage::read`], into `buf` (whose length is the length to
    /// read), without allocating; the recheck uses it.
    fn read_into(&self, piece: u32, begin: u32, buf: &mut [u8]) -> Result<(), StorageError>;

    /// Makes written data durable (fsync for files).
    fn flush(&self) -> Result<(), StorageError>;

    /// Whether `file` exists in the storage. The recheck does not read
    /// pieces of files that do not exist. The default says every file does.
    fn file_exists(&self, file: usize) -> bool {
        let _ = file;
        true
    }
}

/// The length of `buf` as a `u32`, checked to lie inside `piece` at
/// `begin`.
pub(crate) fn buf_len(
    layout: &Layout,
    piece: u32,
    begin: u32,
    buf: &[u8],
) -> Result<u32, StorageError> {
    let len = u32::try_from(buf.len()).map_err(|_| StorageError::OutOfRange {
        piece,
        begin,
        len: u32::MAX,
    })?;
    layout.check_range(piece, begin, len)?;
    Ok(len)
}

/// Checks that `piece` exists and `blocks` add up to its size.
pub(crate) fn check_blocks(
    layout: &Layout,
    piece: u32,
    blocks: &[Bytes],
) -> Result<(), StorageError> {
    let size = layout.piece_size(piece);
    layout.check_range(piece, 0, size)?;
    let actual: u64 = blocks.iter().map(|b| b.len() as u64).sum();
    if actual != u64::from(size) {
        return Err(StorageError::WrongPieceLength {
            piece,
            expected: size,
            actual,
        });
    }
    Ok(())
}

/// Calls `f` once per span of `piece`, in order, with the parts of `blocks`
/// that fall in the span (empty for a padding span). `blocks` must have
/// passed [`check_blocks`].
pub(crate) fn for_each_block_slice<'a>(
    layout: &Layout,
    piece: u32,
    blocks: &'a [Bytes],
    mut f: impl FnMut(Span, &mut Vec<IoSlice<'a>>) -> Result<(), StorageError>,
) -> Result<(), StorageError> {
    let mut block = 0;
    let mut at = 0;
    let mut slices = Vec::new();
    for span in layout.spans_iter(piece, 0, layout.piece_size(piece)) {
        slices.clear();
        let mut need = span.len as usize;
        while need > 0 {
            let Some(b) = blocks.get(block) else { break };
            let avail = b.len() - at;
            if avail == 0 {
                block += 1;
                at = 0;
                continue;
            }
            let take = avail.min(need);
            if !span.padding {
                slices.push(IoSlice::new(&b[at..at + take]));
            }
            at += take;
            need -= take;
        }
        f(span, &mut slices)?;
    }
    Ok(())
}
