//! A torrent's files, with a count of the bytes read from them: how much a
//! start-up check hashed (fast resume reads a few pieces, a full recheck
//! reads everything) and how much was served to peers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use monsoon_engine::Metainfo;
use monsoon_storage::{FileStamp, FileStorage, Layout, Storage, StorageError};

/// [`FileStorage`] that counts the bytes read through it.
pub(crate) struct CountingStorage {
    inner: FileStorage,
    read: Arc<AtomicU64>,
}

impl CountingStorage {
    /// The files of `meta` under `root` (zero-length ones created now),
    /// keeping at most `max_open` open; `read` counts what is read.
    pub(crate) fn open(
        root: &std::path::Path,
        meta: &Metainfo,
        max_open: usize,
        read: Arc<AtomicU64>,
    ) -> Result<Self, StorageError> {
        let layout = Layout::from_table(meta.files.clone(), meta.piece_length)?;
        let inner = FileStorage::new(root, layout)?.with_max_open_files(max_open);
        inner.create_empty_files()?;
        Ok(Self { inner, read })
    }
}

impl Storage for CountingStorage {
    fn layout(&self) -> &Layout {
        self.inner.layout()
    }

    fn write_piece(&self, piece: u32, blocks: &[Bytes]) -> Result<(), StorageError> {
        self.inner.write_piece(piece, blocks)
    }

    fn read(&self, piece: u32, begin: u32, len: u32) -> Result<Bytes, StorageError> {
        let out = self.inner.read(piece, begin, len)?;
        self.read.fetch_add(u64::from(len), Ordering::Relaxed);
        Ok(out)
    }

    fn read_into(&self, piece: u32, begin: u32, buf: &mut [u8]) -> Result<(), StorageError> {
        self.inner.read_into(piece, begin, buf)?;
        self.read.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.inner.flush()
    }

    fn file_stamp(&self, file: usize) -> Option<FileStamp> {
        self.inner.file_stamp(file)
    }

    fn delete_files(&self) -> Result<(), StorageError> {
        self.inner.delete_files()
    }

    fn file_exists(&self, file: usize) -> bool {
        self.inner.file_exists(file)
    }
}
