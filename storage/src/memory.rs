//! [`MemoryStorage`]: an in-memory [`Storage`] for tests and examples.

use std::sync::RwLock;

use bytes::Bytes;

use crate::storage::{buf_len, check_blocks, for_each_block_slice};
use crate::{Layout, Storage, StorageError};

/// A [`Storage`] that keeps every file in memory.
///
/// It behaves like [`FileStorage`](crate::FileStorage) as far as the engine
/// can tell: a file "exists" once a piece touching it has been written
/// (reading it before is [`StorageError::NotFound`]), unwritten parts of an
/// existing file read as zeros, and padding files are never stored.
///
/// ```
/// use bytes::Bytes;
/// use monsoon_storage::{FileEntry, Layout, MemoryStorage, Storage};
///
/// let layout = Layout::new(vec![FileEntry::new(["a"], 3), FileEntry::new(["b"], 3)], 4).unwrap();
/// let storage = MemoryStorage::new(layout);
/// storage.write_piece(0, &[Bytes::from_static(b"ab"), Bytes::from_static(b"cd")]).unwrap();
/// assert_eq!(storage.read(0, 1, 3).unwrap(), &b"bcd"[..]);
/// assert_eq!(storage.file_bytes(1), b"d\0\0");
/// ```
#[derive(Debug)]
pub struct MemoryStorage {
    layout: Layout,
    files: RwLock<Vec<Option<Vec<u8>>>>,
}

impl MemoryStorage {
    /// An empty storage: no file exists yet.
    pub fn new(layout: Layout) -> Self {
        let files = RwLock::new(vec![None; layout.files().len()]);
        MemoryStorage { layout, files }
    }

    /// A storage holding `data`, the whole torrent's content (padding
    /// included) laid end to end: handy for a seeder in tests.
    pub fn from_bytes(layout: Layout, data: &[u8]) -> Result<Self, StorageError> {
        if data.len() as u64 != layout.total_len() {
            return Err(StorageError::DataLengthMismatch {
                expected: layout.total_len(),
                actual: data.len() as u64,
            });
        }
        let files = layout
            .files()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let start = layout.file_offset(i) as usize;
                (!f.is_padding()).then(|| data[start..start + f.length() as usize].to_vec())
            })
            .collect();
        Ok(MemoryStorage {
            layout,
            files: RwLock::new(files),
        })
    }

    /// The current content of `file`: its full length, zeros where nothing
    /// was written (all zeros for a padding file or one never written).
    ///
    /// # Panics
    /// If `file` is not an index into [`Layout::files`].
    pub fn file_bytes(&self, file: usize) -> Vec<u8> {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        match &files[file] {
            Some(data) => data.clone(),
            None => vec![0; self.layout.files().file(file).length() as usize],
        }
    }
}

impl Storage for MemoryStorage {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn write_piece(&self, piece: u32, blocks: &[Bytes]) -> Result<(), StorageError> {
        check_blocks(&self.layout, piece, blocks)?;
        let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
        for_each_block_slice(&self.layout, piece, blocks, |span, slices| {
            if span.padding {
                return Ok(());
            }
            let len = self.layout.files().file(span.file).length() as usize;
            let data = files[span.file].get_or_insert_with(|| vec![0; len]);
            let mut at = span.file_offset as usize;
            for s in slices {
                data[at..at + s.len()].copy_from_slice(s);
                at += s.len();
            }
            Ok(())
        })
    }

    fn read_into(&self, piece: u32, begin: u32, buf: &mut [u8]) -> Result<(), StorageError> {
        let len = buf_len(&self.layout, piece, begin, buf)?;
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        for span in self.layout.spans_iter(piece, begin, len) {
            let out = &mut buf[(span.piece_offset - begin) as usize..][..span.len as usize];
            if span.padding {
                out.fill(0);
                continue;
            }
            let Some(data) = &files[span.file] else {
                return Err(StorageError::NotFound {
                    path: self.layout.files().file(span.file).path().to_path_buf(),
                });
            };
            let at = span.file_offset as usize;
            out.copy_from_slice(&data[at..at + span.len as usize]);
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }

    fn delete_files(&self) -> Result<(), StorageError> {
        let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
        files.iter_mut().for_each(|f| *f = None);
        Ok(())
    }

    fn file_exists(&self, file: usize) -> bool {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        files.get(file).is_some_and(Option::is_some)
    }
}
