//! [`Layout`]: where each file of a torrent sits in the piece stream, and the
//! mapping from `(piece, begin, len)` to file [`Span`]s.

use std::ops::Range;

use crate::{FileTable, StorageError};

/// One file of a torrent, in metainfo order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileEntry {
    /// Path components relative to the download root, already sanitised by
    /// the metainfo parser (storage checks them again before touching disk).
    /// For a single-file torrent this is just `[name]`.
    pub path: Vec<String>,
    /// Length in bytes; may be zero.
    pub length: u64,
    /// A BEP 47 padding file: part of the piece stream, all zeros, never
    /// written to disk.
    pub padding: bool,
}

impl FileEntry {
    /// A regular (non-padding) file.
    pub fn new<S: Into<String>>(path: impl IntoIterator<Item = S>, length: u64) -> Self {
        FileEntry {
            path: path.into_iter().map(Into::into).collect(),
            length,
            padding: false,
        }
    }

    /// A BEP 47 padding file of `length` zero bytes.
    pub fn padding(length: u64) -> Self {
        FileEntry {
            path: vec![".pad".to_owned(), length.to_string()],
            length,
            padding: true,
        }
    }
}

/// A contiguous part of a piece that lives in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// Index of the file in [`Layout::files`].
    pub file: usize,
    /// Offset of the span within the file.
    pub file_offset: u64,
    /// Length of the span in bytes (never zero).
    pub len: u32,
    /// Offset of the span within the piece.
    pub piece_offset: u32,
    /// Whether the file is a padding file (reads as zeros, never written).
    pub padding: bool,
}

/// The files of a torrent laid end to end and cut into pieces.
///
/// All arithmetic is checked when the layout is built, so the accessors
/// cannot overflow afterwards. Finding the spans of a range costs a binary
/// search over the files, O(log files), plus O(1) per span (O(log files)
/// when zero-length files sit between two spans).
///
/// The files are a [`FileTable`], shared with whoever else holds it (the
/// metainfo): a layout adds nothing per file.
///
/// ```
/// use monsoon_storage::{FileEntry, Layout, Span};
///
/// let layout = Layout::new(
///     vec![FileEntry::new(["a"], 5), FileEntry::new(["b"], 0), FileEntry::new(["c"], 10)],
///     4,
/// )
/// .unwrap();
/// assert_eq!((layout.total_len(), layout.piece_count(), layout.piece_size(3)), (15, 4, 3));
/// // Piece 1 covers bytes 4..8: the last byte of "a", then three of "c".
/// let spans = layout.spans(1, 0, 4);
/// assert_eq!(spans.len(), 2);
/// assert_eq!((spans[0].file, spans[0].file_offset, spans[0].len), (0, 4, 1));
/// assert_eq!((spans[1].file, spans[1].file_offset, spans[1].len, spans[1].piece_offset), (2, 0, 3, 1));
/// assert_eq!(layout.file_pieces(2), 1..4);
/// assert_eq!(layout.file_pieces(1), 1..1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    files: FileTable,
    piece_len: u32,
    total_len: u64,
    piece_count: u32,
}

impl Layout {
    /// Lays `files` out end to end and cuts them into pieces of `piece_len`
    /// bytes (the last piece may be shorter).
    ///
    /// Errors: [`StorageError::ZeroPieceLength`], and
    /// [`StorageError::TooLarge`] if the total length overflows `u64` or the
    /// piece count overflows `u32`. A torrent with no data has no pieces.
    pub fn new(files: Vec<FileEntry>, piece_len: u32) -> Result<Layout, StorageError> {
        Layout::from_table(FileTable::from_entries(files)?, piece_len)
    }

    /// Like [`Layout::new`], over a [`FileTable`] (shared, not copied).
    pub fn from_table(files: FileTable, piece_len: u32) -> Result<Layout, StorageError> {
        if piece_len == 0 {
            return Err(StorageError::ZeroPieceLength);
        }
        let total = files.total_length();
        let piece_count = total.div_ceil(u64::from(piece_len));
        let piece_count = u32::try_from(piece_count).map_err(|_| StorageError::TooLarge)?;
        Ok(Layout {
            files,
            piece_len,
            total_len: total,
            piece_count,
        })
    }

    /// Total length of all files, padding included.
    pub fn total_len(&self) -> u64 {
        self.total_len
    }

    /// The nominal piece length (every piece but the last has this size).
    pub fn piece_len(&self) -> u32 {
        self.piece_len
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// Size of `piece` in bytes: the piece length, less for the last piece,
    /// and 0 for an index past the end.
    pub fn piece_size(&self, piece: u32) -> u32 {
        if piece >= self.piece_count {
            return 0;
        }
        let start = u64::from(piece) * u64::from(self.piece_len);
        // At most piece_len, so the cast is lossless.
        (self.total_len - start).min(u64::from(self.piece_len)) as u32
    }

    /// Byte range of `piece` in the piece stream (empty past the end).
    pub fn piece_range(&self, piece: u32) -> Range<u64> {
        let start = (u64::from(piece) * u64::from(self.piece_len)).min(self.total_len);
        start..start + u64::from(self.piece_size(piece))
    }

    /// The files, in metainfo order.
    pub fn files(&self) -> &FileTable {
        &self.files
    }

    /// Offset of file `file` in the piece stream.
    ///
    /// # Panics
    /// If `file >= self.files().len()`, like slice indexing.
    pub fn file_offset(&self, file: usize) -> u64 {
        self.files.file(file).offset()
    }

    /// The pieces that hold at least one byte of `file` (empty for a
    /// zero-length file or an index past the end). Used to turn per-file
    /// priorities into per-piece ones.
    pub fn file_pieces(&self, file: usize) -> Range<u32> {
        let Some(entry) = self.files.get(file) else {
            return 0..0;
        };
        let (start, length) = (entry.offset(), entry.length());
        let pl = u64::from(self.piece_len);
        // Both bounded by piece_count, which fits in u32.
        let first = (start / pl) as u32;
        if length == 0 {
            return first..first;
        }
        let end = (start + length).div_ceil(pl) as u32;
        first..end
    }

    /// Whether `(piece, begin, len)` lies inside the torrent.
    pub fn contains(&self, piece: u32, begin: u32, len: u32) -> bool {
        piece < self.piece_count
            && u64::from(begin) + u64::from(len) <= u64::from(self.piece_size(piece))
    }

    /// Checks that `(piece, begin, len)` lies inside the torrent.
    pub fn check_range(&self, piece: u32, begin: u32, len: u32) -> Result<(), StorageError> {
        if self.contains(piece, begin, len) {
            Ok(())
        } else {
            Err(StorageError::OutOfRange { piece, begin, len })
        }
    }

    /// The file spans that make up bytes `begin..begin + len` of `piece`, in
    /// order. Zero-length files never produce a span. The part of the range
    /// outside the piece is ignored (see [`Layout::check_range`]).
    pub fn spans(&self, piece: u32, begin: u32, len: u32) -> Vec<Span> {
        self.spans_iter(piece, begin, len).collect()
    }

    /// Like [`Layout::spans`], without allocating.
    pub fn spans_iter(&self, piece: u32, begin: u32, len: u32) -> Spans<'_> {
        let range = self.piece_range(piece);
        let pos = range.start.saturating_add(u64::from(begin)).min(range.end);
        let end = pos.saturating_add(u64::from(len)).min(range.end);
        let idx = self.files.file_at(pos).unwrap_or(0);
        Spans {
            layout: self,
            pos,
            end,
            piece_start: range.start,
            idx,
        }
    }
}

/// Iterator over the [`Span`]s of a piece range; see [`Layout::spans_iter`].
#[derive(Debug, Clone)]
pub struct Spans<'a> {
    layout: &'a Layout,
    pos: u64,
    end: u64,
    piece_start: u64,
    idx: usize,
}

impl Iterator for Spans<'_> {
    type Item = Span;

    fn next(&mut self) -> Option<Span> {
        if self.pos >= self.end {
            return None;
        }
        let files = &self.layout.files;
        // Usually the file after the last span's; past zero-length files,
        // a binary search.
        let entry = match files.get(self.idx) {
            Some(e) if e.range().contains(&self.pos) => e,
            _ => {
                self.idx = files.file_at(self.pos)?;
                files.file(self.idx)
            }
        };
        let range = entry.range();
        let stop = self.end.min(range.end);
        let span = Span {
            file: self.idx,
            file_offset: self.pos - range.start,
            // Both bounded by the piece size, a u32.
            len: (stop - self.pos) as u32,
            piece_offset: (self.pos - self.piece_start) as u32,
            padding: entry.is_padding(),
        };
        self.pos = stop;
        if stop == range.end {
            self.idx += 1;
        }
        Some(span)
    }
}
