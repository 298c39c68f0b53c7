//! [`FileTableBuilder`]: adding files to a [`FileTable`] one at a time,
//! storing each folder once.

use std::collections::HashMap;
use std::sync::Arc;

use crate::StorageError;
use crate::merkle::Hash256;
use crate::table::{Dir, EXECUTABLE, FileTable, HIDDEN, Inner, NO_DIR, PADDING, Row};

/// The BEP 47 attributes of a file added with [`FileTableBuilder::push`]
/// (symbolic links are set with [`FileTableBuilder::set_symlink`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FileAttrs {
    /// `p`: a padding file (zeros, never written).
    pub padding: bool,
    /// `x`: executable.
    pub executable: bool,
    /// `h`: hidden.
    pub hidden: bool,
}

impl FileAttrs {
    fn flags(self) -> u8 {
        let mut flags = 0;
        for (set, flag) in [
            (self.padding, PADDING),
            (self.executable, EXECUTABLE),
            (self.hidden, HIDDEN),
        ] {
            if set {
                flags |= flag;
            }
        }
        flags
    }
}

/// Builds a [`FileTable`]: files are added in torrent order, each at the
/// end of the ones before it.
///
/// A folder is stored once however many files it holds. Files that share
/// the previous file's folder (the usual order) cost no lookup; others
/// cost one hash lookup per folder of their path.
#[derive(Debug, Default)]
pub struct FileTableBuilder {
    inner: Inner,
    /// The folders seen so far: by parent, then name.
    dir_ids: HashMap<u32, HashMap<Box<str>, u32>>,
    /// The folders of the last path added, outermost first.
    last: Vec<u32>,
}

impl FileTableBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder with room for `files` files.
    pub fn with_capacity(files: usize) -> Self {
        let mut b = Self::default();
        b.inner.rows.reserve_exact(files);
        b
    }

    /// Number of files added so far.
    pub fn len(&self) -> usize {
        self.inner.rows.len()
    }

    /// Whether no file was added yet.
    pub fn is_empty(&self) -> bool {
        self.inner.rows.is_empty()
    }

    /// Sum of the lengths added so far.
    pub fn total_length(&self) -> u64 {
        self.inner.total
    }

    /// Adds a file of `length` bytes at `path` (components from the
    /// download folder, the last one the file's name) after the others,
    /// and returns its index. The components are stored as given: checking
    /// that they are safe names is for whoever joins them to a folder
    /// ([`FileStorage`](crate::FileStorage) does). An empty path is kept
    /// as a single empty name.
    ///
    /// # Errors
    /// [`StorageError::TooLarge`] if the total length overflows `u64`, the
    /// string pool would pass 4 GiB, or there would be 2^32 − 1 files or
    /// folders.
    pub fn push<S: AsRef<str>>(
        &mut self,
        path: &[S],
        length: u64,
        attrs: FileAttrs,
    ) -> Result<usize, StorageError> {
        let index = self.inner.rows.len();
        if index >= NO_DIR as usize {
            return Err(StorageError::TooLarge);
        }
        let end = self
            .inner
            .total
            .checked_add(length)
            .ok_or(StorageError::TooLarge)?;
        let (name, dirs) = match path.split_last() {
            Some((name, dirs)) => (name.as_ref(), dirs),
            None => ("", &[][..]),
        };
        let dir = self.folder(dirs)?;
        let name = self.inner.add_name(name)?;
        self.inner.rows.push(Row {
            offset: self.inner.total,
            name,
            dir,
            flags: attrs.flags(),
        });
        self.inner.total = end;
        Ok(index)
    }

    /// Makes file `index` a symbolic link to `target` (components, as a
    /// path is given to [`FileTableBuilder::push`]).
    ///
    /// # Errors
    /// [`StorageError::TooLarge`] if the string pool would pass 4 GiB.
    ///
    /// # Panics
    /// If `index` is not a file added before.
    pub fn set_symlink<S: AsRef<str>>(
        &mut self,
        index: usize,
        target: &[S],
    ) -> Result<(), StorageError> {
        assert!(index < self.len(), "file index {index} out of range");
        self.inner.set_link(index, Some(target))
    }

    /// Sets the root of file `index`'s BEP 52 merkle tree.
    ///
    /// # Panics
    /// If `index` is not a file added before.
    pub fn set_pieces_root(&mut self, index: usize, root: Hash256) {
        assert!(index < self.len(), "file index {index} out of range");
        // Cannot fail: the index fits in u32 (push checked it).
        let _ = self.inner.set_root(index, root);
    }

    /// The table, without spare capacity.
    pub fn build(mut self) -> FileTable {
        self.inner.shrink();
        FileTable(Arc::new(self.inner))
    }

    /// The folder at `dirs` (created as needed), [`NO_DIR`] if empty.
    fn folder<S: AsRef<str>>(&mut self, dirs: &[S]) -> Result<u32, StorageError> {
        let mut parent = NO_DIR;
        for (depth, c) in dirs.iter().enumerate() {
            let c = c.as_ref();
            // Most files are in the folder of the file before them.
            if let Some(&d) = self.last.get(depth) {
                let dir = self.inner.dirs[d as usize];
                if dir.parent == parent && self.inner.name(dir.name) == c {
                    parent = d;
                    continue;
                }
            }
            self.last.truncate(depth);
            let known = self.dir_ids.get(&parent).and_then(|m| m.get(c)).copied();
            let d = match known {
                Some(d) => d,
                None => {
                    let d = u32::try_from(self.inner.dirs.len())
                        .ok()
                        .filter(|&d| d < NO_DIR)
                        .ok_or(StorageError::TooLarge)?;
                    let name = self.inner.add_name(c)?;
                    self.inner.dirs.push(Dir { parent, name });
                    self.dir_ids.entry(parent).or_default().insert(c.into(), d);
                    d
                }
            };
            self.last.push(d);
            parent = d;
        }
        self.last.truncate(dirs.len());
        Ok(parent)
    }
}
