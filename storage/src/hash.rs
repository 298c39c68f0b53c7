//! SHA-1 of pieces: hashing blocks in memory, checking a stored piece, and
//! rechecking a whole torrent on several threads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use bytes::Bytes;
use sha1::{Digest, Sha1};

use crate::{Storage, StorageError};

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
    let layout = storage.layout();
    let count = layout.piece_count();
    if hashes.len() != count as usize {
        return Err(StorageError::HashCountMismatch {
            expected: count,
            actual: hashes.len(),
        });
    }
    let exists: Vec<bool> = layout
        .files()
        .iter()
        .enumerate()
        .map(|(i, f)| f.padding || f.length == 0 || storage.file_exists(i))
        .collect();
    let threads = match threads {
        0 => thread::available_parallelism().map_or(1, usize::from),
        n => n,
    }
    .clamp(1, (count as usize).max(1));

    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let valid: Vec<AtomicBool> = (0..count).map(|_| AtomicBool::new(false)).collect();
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
            let size = layout.piece_size(piece);
            if !layout.spans_iter(piece, 0, size).all(|s| exists[s.file]) {
                progress(piece, false);
                continue;
            }
            match check_into(storage, piece, &hashes[piece as usize], &mut buf) {
                Ok(ok) => {
                    valid[piece as usize].store(ok, Ordering::Relaxed);
                    progress(piece, ok);
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
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
    })?;
    Ok(valid.into_iter().map(AtomicBool::into_inner).collect())
}
