//! Piece hashes: SHA-1 of blocks in memory, checking a stored piece,
//! rechecking a whole torrent and hashing every piece (SHA-1 and BEP 52
//! merkle) on several threads.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use bytes::Bytes;
use sha1::{Digest, Sha1};

use crate::{Layout, Storage, StorageError, merkle};

/// SHA-1 of the concatenation of `blocks` (a piece assembled from blocks),
/// without copying them together first.
///
/// ```
/// use bytes::Bytes;
/// use monsoon_storage::{hash_blocks, hash_bytes};
///
/// let blocks = [Bytes::from_static(b"hello "), Bytes::from_static(b"world")];
/// assert_eq!(hash_blocks(&blocks), hash_bytes(b"hello world"));
/// ```
pub fn hash_blocks(blocks: &[Bytes]) -> [u8; 20] {
    let mut h = Sha1::new();
    for b in blocks {
        h.update(b);
    }
    h.finalize().into()
}

/// SHA-1 of `data`.
pub fn hash_bytes(data: &[u8]) -> [u8; 20] {
    Sha1::digest(data).into()
}

/// Reads `piece` from `storage` and compares its SHA-1 with `expected`.
///
/// Data that is not there (a missing file, a file shorter than the layout
/// says) is `Ok(false)`; other I/O errors and an out-of-range piece are
/// errors.
pub fn check_piece(
    storage: &dyn Storage,
    piece: u32,
    expected: &[u8; 20],
) -> Result<bool, StorageError> {
    let mut buf = Vec::new();
    check_into(storage, piece, expected, &mut buf)
}

/// [`check_piece`] with a caller-owned buffer, reused across pieces.
fn check_into(
    storage: &dyn Storage,
    piece: u32,
    expected: &[u8; 20],
    buf: &mut Vec<u8>,
) -> Result<bool, StorageError> {
    let layout = storage.layout();
    let size = layout.piece_size(piece);
    layout.check_range(piece, 0, size)?;
    buf.resize(size as usize, 0);
    match storage.read_into(piece, 0, buf) {
        Ok(()) => Ok(hash_bytes(buf) == *expected),
        Err(e) if e.is_missing_data() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Hashes every piece whose files all exist and returns which pieces are
/// valid (the bitfield a resumed download starts from).
///
/// Work is spread over `threads` threads (`0` means one per available
/// core) with [`std::thread::scope`]. Pieces touching a file for which
/// [`Storage::file_exists`] is false are reported missing without reading;
/// a half-written (sparse) file's unwritten pieces read as zeros and fail
/// their hash. The first hard I/O error stops the recheck and is returned.
///
/// ```
/// use bytes::Bytes;
/// use monsoon_storage::{hash_bytes, recheck, FileEntry, Layout, MemoryStorage, Storage};
///
/// let layout = Layout::new(vec![FileEntry::new(["f"], 8)], 4).unwrap();
/// let hashes = [hash_bytes(b"abcd"), hash_bytes(b"efgh")];
/// let storage = MemoryStorage::new(layout);
/// assert_eq!(recheck(&storage, &hashes, 2).unwrap(), [false, false]);
/// storage.write_piece(1, &[Bytes::from_static(b"efgh")]).unwrap();
/// assert_eq!(recheck(&storage, &hashes, 2).unwrap(), [false, true]);
/// ```
pub fn recheck(
    storage: &dyn Storage,
    hashes: &[[u8; 20]],
    threads: usize,
) -> Result<Vec<bool>, StorageError> {
    recheck_with_progress(storage, hashes, threads, &|_, _| {})
}

/// [`recheck`], calling `progress(piece, valid)` once per piece as it is
/// decided (from the worker threads, in no particular order), so a caller
/// can show progress or start serving pieces early.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use monsoon_storage::{recheck_with_progress, FileEntry, Layout, MemoryStorage};
///
/// let layout = Layout::new(vec![FileEntry::new(["f"], 10)], 4).unwrap();
/// let done = AtomicU32::new(0);
/// let valid = recheck_with_progress(&MemoryStorage::new(layout), &[[0; 20]; 3], 0, &|_, _| {
///     done.fetch_add(1, Ordering::Relaxed);
/// })
/// .unwrap();
/// assert_eq!((valid, done.into_inner()), (vec![false; 3], 3));
/// ```
pub fn recheck_with_progress(
    storage: &dyn Storage,
    hashes: &[[u8; 20]],
    threads: usize,
    progress: &(dyn Fn(u32, bool) + Sync),
) -> Result<Vec<bool>, StorageError> {
    let count = storage.layout().piece_count();
    if hashes.len() != count as usize {
        return Err(StorageError::HashCountMismatch {
            expected: count,
            actual: hashes.len(),
        });
    }
    recheck_by(storage, threads, progress, &|piece, data| {
        hash_bytes(data) == hashes[piece as usize]
    })
}

/// [`recheck_with_progress`] with the check of a piece's bytes left to the
/// caller: `valid(piece, data)` says whether `data`, the whole piece as
/// read from `storage`, is right (a BitTorrent v2 merkle check, or both
/// digests of a hybrid torrent). Pieces of missing files are reported
/// invalid without reading, as [`recheck`] does.
///
/// ```
/// use monsoon_storage::{recheck_by, FileEntry, Layout, MemoryStorage};
///
/// let layout = Layout::new(vec![FileEntry::new(["f"], 8)], 4).unwrap();
/// let storage = MemoryStorage::from_bytes(layout, b"abcdefgh").unwrap();
/// let valid = recheck_by(&storage, 1, &|_, _| {}, &|piece, data| piece == 1 && data == b"efgh");
/// assert_eq!(valid.unwrap(), [false, true]);
/// ```
pub fn recheck_by(
    storage: &dyn Storage,
    threads: usize,
    progress: &(dyn Fn(u32, bool) + Sync),
    valid: &(dyn Fn(u32, &[u8]) -> bool + Sync),
) -> Result<Vec<bool>, StorageError> {
    let layout = storage.layout();
    let count = layout.piece_count();
    let exists: Vec<bool> = layout
        .files()
        .iter()
        .enumerate()
        .map(|(i, f)| f.is_padding() || f.length() == 0 || storage.file_exists(i))
        .collect();
    let verdicts: Vec<AtomicBool> = (0..count).map(|_| AtomicBool::new(false)).collect();
    for_each_piece(count, threads, |piece, buf| {
        let size = layout.piece_size(piece);
        if !layout.spans_iter(piece, 0, size).all(|s| exists[s.file]) {
            progress(piece, false);
            return Ok(());
        }
        buf.resize(size as usize, 0);
        let ok = match storage.read_into(piece, 0, buf) {
            Ok(()) => valid(piece, buf),
            Err(e) if e.is_missing_data() => false,
            Err(e) => return Err(e),
        };
        verdicts[piece as usize].store(ok, Ordering::Relaxed);
        progress(piece, ok);
        Ok(())
    })?;
    Ok(verdicts.into_iter().map(AtomicBool::into_inner).collect())
}

/// Which digests [`hash_pieces`] computes for every piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digests {
    /// SHA-1 of each whole piece, padding included (BitTorrent v1 `pieces`).
    pub sha1: bool,
    /// The BEP 52 merkle hash of each piece (see [`merkle::piece_hash`]):
    /// needs a layout where no piece holds data of two files.
    pub merkle: bool,
}

/// The digests of every piece, in piece order (a list is empty when its
/// digest was not asked for).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PieceHashes {
    /// SHA-1 of each piece.
    pub sha1: Vec<[u8; 20]>,
    /// The merkle hash of each piece: for a file larger than one piece, the
    /// root of the piece's subtree (an entry of the file's piece layer); for
    /// a file of at most one piece, the file's `pieces root`.
    pub merkle: Vec<merkle::Hash256>,
}

/// Reads every piece of `storage` once and hashes it, on `threads` threads
/// (`0` means one per available core): the hashing behind torrent creation.
///
/// For [`Digests::merkle`], every piece must hold bytes of at most one
/// non-padding file, starting at the piece's first byte (a v2 layout, where
/// each file is followed by padding up to a piece boundary); otherwise
/// [`StorageError::NotPieceAligned`]. Missing data is an error here (unlike
/// [`recheck`]); the first error stops the work and is returned.
///
/// ```
/// use monsoon_storage::{hash_bytes, hash_pieces, Digests, FileEntry, Layout, MemoryStorage};
///
/// let layout = Layout::new(vec![FileEntry::new(["f"], 6)], 4).unwrap();
/// let storage = MemoryStorage::from_bytes(layout, b"abcdef").unwrap();
/// let h = hash_pieces(&storage, Digests { sha1: true, merkle: false }, 0).unwrap();
/// assert_eq!(h.sha1, [hash_bytes(b"abcd"), hash_bytes(b"ef")]);
/// assert!(h.merkle.is_empty());
/// ```
pub fn hash_pieces(
    storage: &dyn Storage,
    digests: Digests,
    threads: usize,
) -> Result<PieceHashes, StorageError> {
    let layout = storage.layout();
    let count = layout.piece_count();
    let sha1: Vec<OnceLock<[u8; 20]>> = (0..count).map(|_| OnceLock::new()).collect();
    let tree: Vec<OnceLock<merkle::Hash256>> = (0..count).map(|_| OnceLock::new()).collect();
    for_each_piece(count, threads, |piece, buf| {
        let size = layout.piece_size(piece);
        buf.resize(size as usize, 0);
        storage.read_into(piece, 0, buf)?;
        if digests.sha1 {
            let _ = sha1[piece as usize].set(hash_bytes(buf));
        }
        if digests.merkle {
            let _ = tree[piece as usize].set(merkle_piece_hash(layout, piece, buf)?);
        }
        Ok(())
    })?;
    Ok(PieceHashes {
        sha1: sha1.into_iter().filter_map(OnceLock::into_inner).collect(),
        merkle: tree.into_iter().filter_map(OnceLock::into_inner).collect(),
    })
}

/// The merkle hash of `piece`, whose bytes are `data`.
fn merkle_piece_hash(
    layout: &Layout,
    piece: u32,
    data: &[u8],
) -> Result<merkle::Hash256, StorageError> {
    let piece_len = layout.piece_len();
    let mut spans = layout
        .spans_iter(piece, 0, layout.piece_size(piece))
        .filter(|s| !s.padding);
    let span = match (spans.next(), spans.next()) {
        (Some(span), None)
            if span.piece_offset == 0
                && piece_len.is_power_of_two()
                && piece_len >= merkle::BLOCK_SIZE =>
        {
            span
        }
        _ => return Err(StorageError::NotPieceAligned { piece }),
    };
    let leaves: Vec<merkle::Hash256> = data[..span.len as usize]
        .chunks(merkle::BLOCK_SIZE as usize)
        .map(merkle::block_hash)
        .collect();
    let file_len = layout.files().file(span.file).length();
    Ok(merkle::piece_hash(
        &leaves,
        piece_len / merkle::BLOCK_SIZE,
        file_len,
    ))
}

/// Runs `work(piece, buffer)` for every piece in `0..count` on `threads`
/// threads (`0`: one per core), each thread taking the next piece from a
/// shared counter and reusing its own buffer. The first error stops every
/// thread and is returned.
fn for_each_piece(
    count: u32,
    threads: usize,
    work: impl Fn(u32, &mut Vec<u8>) -> Result<(), StorageError> + Sync,
) -> Result<(), StorageError> {
    let threads = match threads {
        0 => thread::available_parallelism().map_or(1, usize::from),
        n => n,
    }
    .clamp(1, (count as usize).max(1));
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let worker = || -> Result<(), StorageError> {
        let mut buf = Vec::new();
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let Ok(piece) = u32::try_from(next.fetch_add(1, Ordering::Relaxed)) else {
                return Ok(());
            };
            if piece >= count {
                return Ok(());
            }
            if let Err(e) = work(piece, &mut buf) {
                stop.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
    };
    thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(worker)).collect();
        let mut first_err = None;
        for h in handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        first_err.map_or(Ok(()), Err)
    })
}
