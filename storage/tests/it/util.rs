//! Test helpers: temporary directories and torrent content.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use monsoon_storage::{Layout, Storage, hash_bytes};

/// A directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("monsoon-storage-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Deterministic pseudo-random content of `len` bytes, zero where the
/// layout has padding.
pub(crate) fn content(layout: &Layout, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut data: Vec<u8> = (0..layout.total_len())
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    for (i, f) in layout.files().iter().enumerate() {
        if f.is_padding() {
            let start = layout.file_offset(i) as usize;
            data[start..start + f.length() as usize].fill(0);
        }
    }
    data
}

/// The bytes of `piece` in `data`.
pub(crate) fn piece_of<'a>(layout: &Layout, data: &'a [u8], piece: u32) -> &'a [u8] {
    let r = layout.piece_range(piece);
    &data[r.start as usize..r.end as usize]
}

/// `piece` of `data` cut into blocks of `block` bytes (the last shorter).
pub(crate) fn blocks(layout: &Layout, data: &[u8], piece: u32, block: usize) -> Vec<Bytes> {
    piece_of(layout, data, piece)
        .chunks(block)
        .map(Bytes::copy_from_slice)
        .collect()
}

/// The SHA-1 of every piece of `data`.
pub(crate) fn hashes(layout: &Layout, data: &[u8]) -> Vec<[u8; 20]> {
    (0..layout.piece_count())
        .map(|p| hash_bytes(piece_of(layout, data, p)))
        .collect()
}

/// Writes every piece of `data` to `storage` in 16 KiB blocks.
pub(crate) fn write_all(storage: &dyn Storage, data: &[u8]) {
    let layout = storage.layout().clone();
    for p in 0..layout.piece_count() {
        storage
            .write_piece(p, &blocks(&layout, data, p, 16 * 1024))
            .unwrap();
    }
}
