//! [`FileTable`]: a torrent's files in a compact form, shared by the
//! metainfo and the storage layout, with [`FileRef`], the view of one file.
//!
//! A torrent may list millions of files, so a file is not a struct of owned
//! strings. As in libtorrent's `file_storage`, every name lives in one
//! string pool, each folder is stored once (its parent folder and its name),
//! and each file is a fixed-size row: its offset in the torrent, its name
//! in the pool, its folder and its flags (24 bytes). A file's length is the
//! distance to the next file's offset. The few things most files lack (a
//! symbolic link's target, a v2 merkle root) sit in side tables sorted by
//! file index.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::StorageError;
use crate::file_path::{FilePath, Repr};
use crate::merkle::Hash256;

/// No folder: the file (or folder) sits directly in the download root.
pub(crate) const NO_DIR: u32 = u32::MAX;

/// Row flags.
pub(crate) const PADDING: u8 = 1;
pub(crate) const EXECUTABLE: u8 = 2;
pub(crate) const HIDDEN: u8 = 4;
pub(crate) const SYMLINK: u8 = 8;

/// A name in the pool: `names[start..start + len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Name {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

/// A folder: its parent ([`NO_DIR`] at the top) and its name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dir {
    pub(crate) parent: u32,
    pub(crate) name: Name,
}

/// A file. 24 bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    /// Offset of the file's first byte in the torrent.
    pub(crate) offset: u64,
    pub(crate) name: Name,
    /// Its folder, or [`NO_DIR`].
    pub(crate) dir: u32,
    pub(crate) flags: u8,
}

/// A symbolic link's target: `parts[first..first + count]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Link {
    pub(crate) file: u32,
    pub(crate) first: u32,
    pub(crate) count: u32,
}

/// What a [`FileTable`] shares between its clones.
#[derive(Clone, Default)]
pub(crate) struct Inner {
    /// Every file, folder and link-target name, back to back.
    pub(crate) names: String,
    /// Folders, a parent always before its children.
    pub(crate) dirs: Vec<Dir>,
    /// Files, in torrent order.
    pub(crate) rows: Vec<Row>,
    /// Symbolic links, sorted by file.
    pub(crate) links: Vec<Link>,
    /// The components of the link targets.
    pub(crate) link_parts: Vec<Name>,
    /// v2 merkle roots, sorted by file.
    pub(crate) roots: Vec<(u32, Hash256)>,
    /// Sum of all lengths.
    pub(crate) total: u64,
}

impl Inner {
    pub(crate) fn name(&self, n: Name) -> &str {
        &self.names[n.start as usize..(n.start + n.len) as usize]
    }

    /// Appends `s` to the pool.
    pub(crate) fn add_name(&mut self, s: &str) -> Result<Name, StorageError> {
        let start = u32::try_from(self.names.len()).map_err(|_| StorageError::TooLarge)?;
        let len = u32::try_from(s.len()).map_err(|_| StorageError::TooLarge)?;
        start.checked_add(len).ok_or(StorageError::TooLarge)?;
        self.names.push_str(s);
        Ok(Name { start, len })
    }

    pub(crate) fn length(&self, file: usize) -> u64 {
        let end = self.rows.get(file + 1).map_or(self.total, |r| r.offset);
        end - self.rows[file].offset
    }

    fn link(&self, file: usize) -> Option<&Link> {
        let i = self
            .links
            .binary_search_by_key(&file, |l| l.file as usize)
            .ok()?;
        Some(&self.links[i])
    }

    /// Sets (or with `None` removes) the target of `file`'s link.
    pub(crate) fn set_link<S: AsRef<str>>(
        &mut self,
        file: usize,
        target: Option<&[S]>,
    ) -> Result<(), StorageError> {
        let key = u32::try_from(file).map_err(|_| StorageError::TooLarge)?;
        let at = self.links.binary_search_by_key(&key, |l| l.file);
        let Some(target) = target else {
            if let Ok(i) = at {
                self.links.remove(i);
            }
            self.rows[file].flags &= !SYMLINK;
            return Ok(());
        };
        let first = u32::try_from(self.link_parts.len()).map_err(|_| StorageError::TooLarge)?;
        let count = u32::try_from(target.len()).map_err(|_| StorageError::TooLarge)?;
        first.checked_add(count).ok_or(StorageError::TooLarge)?;
        for part in target {
            let name = self.add_name(part.as_ref())?;
            self.link_parts.push(name);
        }
        let link = Link {
            file: key,
            first,
            count,
        };
        match at {
            Ok(i) => self.links[i] = link,
            Err(i) => self.links.insert(i, link),
        }
        self.rows[file].flags |= SYMLINK;
        Ok(())
    }

    /// Sets `file`'s merkle root.
    pub(crate) fn set_root(&mut self, file: usize, root: Hash256) -> Result<(), StorageError> {
        let key = u32::try_from(file).map_err(|_| StorageError::TooLarge)?;
        match self.roots.binary_search_by_key(&key, |r| r.0) {
            Ok(i) => self.roots[i].1 = root,
            Err(i) => self.roots.insert(i, (key, root)),
        }
        Ok(())
    }

    /// Drops spare capacity, so that the table holds what it needs.
    pub(crate) fn shrink(&mut self) {
        self.names.shrink_to_fit();
        self.dirs.shrink_to_fit();
        self.rows.shrink_to_fit();
        self.links.shrink_to_fit();
        self.link_parts.shrink_to_fit();
        self.roots.shrink_to_fit();
    }
}

/// The files of a torrent, in torrent order, with their paths, lengths,
/// offsets, BEP 47 attributes (padding, executable, hidden, symbolic link)
/// and BEP 52 merkle roots.
///
/// Compact: one string pool holds every name, each folder is stored once
/// (its parent and its name), and a file takes a 24-byte row (offset, name,
/// folder, flags) plus its name; symbolic-link targets and merkle roots sit
/// in side tables sorted by file. A million files with 16-byte names take
/// 40 MB. [`FileTable::heap_size`] says how much a table holds.
///
/// Cheap to clone: clones share one allocation (as `Bytes` does), so the
/// metainfo and the [`Layout`](crate::Layout) built from it hold the table
/// once. The few methods that change it ([`FileTable::rename`],
/// [`FileTable::set_symlink`], [`FileTable::remove`]) copy it first if it
/// is shared.
///
/// Build one with [`FileTableBuilder`](crate::FileTableBuilder), or from
/// [`FileEntry`](crate::FileEntry)s with [`FileTable::from_entries`].
///
/// ```
/// use monsoon_storage::{FileAttrs, FileTable};
///
/// let mut b = FileTable::builder();
/// b.push(&["t", "a.txt"], 5, FileAttrs::default()).unwrap();
/// b.push(&["t", ".pad", "3"], 3, FileAttrs { padding: true, ..FileAttrs::default() }).unwrap();
/// b.push(&["t", "sub", "b.bin"], 10, FileAttrs::default()).unwrap();
/// let files = b.build();
/// assert_eq!((files.len(), files.total_length()), (3, 18));
/// let b = files.file(2);
/// assert_eq!((b.offset(), b.length(), b.name()), (8, 10, "b.bin"));
/// assert_eq!(b.path(), ["t", "sub", "b.bin"]);
/// assert_eq!(b.path().to_string(), "t/sub/b.bin");
/// assert!(files.file(1).is_padding());
/// ```
#[derive(Clone, Default)]
pub struct FileTable(pub(crate) Arc<Inner>);

impl FileTable {
    /// A builder, to add files one at a time.
    pub fn builder() -> crate::FileTableBuilder {
        crate::FileTableBuilder::new()
    }

    /// A table of `entries`, in order.
    ///
    /// # Errors
    /// [`StorageError::TooLarge`] if the total length overflows `u64` or
    /// the table outgrows its 32-bit indices (more than 4 GiB of names, or
    /// 2^32 − 1 files or folders).
    pub fn from_entries(entries: Vec<crate::FileEntry>) -> Result<FileTable, StorageError> {
        let mut b = crate::FileTableBuilder::with_capacity(entries.len());
        for e in &entries {
            let attrs = crate::FileAttrs {
                padding: e.padding,
                ..crate::FileAttrs::default()
            };
            b.push(&e.path, e.length, attrs)?;
        }
        Ok(b.build())
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.0.rows.len()
    }

    /// Whether there are no files.
    pub fn is_empty(&self) -> bool {
        self.0.rows.is_empty()
    }

    /// Sum of all lengths (padding included).
    pub fn total_length(&self) -> u64 {
        self.0.total
    }

    /// File `index`, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<FileRef<'_>> {
        (index < self.len()).then_some(FileRef {
            inner: &self.0,
            index,
        })
    }

    /// File `index`.
    ///
    /// # Panics
    /// If `index >= self.len()`, like slice indexing.
    pub fn file(&self, index: usize) -> FileRef<'_> {
        assert!(
            index < self.len(),
            "file index {index} out of range for a table of {} files",
            self.len()
        );
        FileRef {
            inner: &self.0,
            index,
        }
    }

    /// The files, in order.
    pub fn iter(&self) -> Files<'_> {
        Files {
            inner: &self.0,
            range: 0..self.len(),
        }
    }

    /// The index of the file holding byte `pos` of the torrent: the only
    /// file with `offset <= pos < offset + length`. `None` if `pos` is past
    /// the end. Zero-length files hold no byte. O(log files).
    pub fn file_at(&self, pos: u64) -> Option<usize> {
        if pos >= self.0.total {
            return None;
        }
        // The last file starting at or before `pos` holds it: a
        // zero-length file there is followed by one starting at the same
        // offset, so it is never the last.
        Some(self.0.rows.partition_point(|r| r.offset <= pos) - 1)
    }

    /// Number of distinct folders the files are in (at any depth).
    pub fn folder_count(&self) -> usize {
        self.0.dirs.len()
    }

    /// Folder `index`: its parent folder (`None` at the top) and its name.
    /// Folders are numbered in order of first appearance, each after its
    /// parent; [`FileRef::folder`] gives a file's.
    ///
    /// # Panics
    /// If `index >= self.folder_count()`.
    pub fn folder(&self, index: usize) -> (Option<usize>, &str) {
        let d = self.0.dirs[index];
        let parent = (d.parent != NO_DIR).then_some(d.parent as usize);
        (parent, self.0.name(d.name))
    }

    /// Bytes of heap the table holds (the shared allocation and what it
    /// points to), counted from capacities.
    pub fn heap_size(&self) -> usize {
        use std::mem::size_of;
        let i = &*self.0;
        // The Arc's allocation: two counters and the Inner.
        2 * size_of::<usize>()
            + size_of::<Inner>()
            + i.names.capacity()
            + i.dirs.capacity() * size_of::<Dir>()
            + i.rows.capacity() * size_of::<Row>()
            + i.links.capacity() * size_of::<Link>()
            + i.link_parts.capacity() * size_of::<Name>()
            + i.roots.capacity() * size_of::<(u32, Hash256)>()
    }

    /// Renames file `index` (its last path component) to `name`.
    ///
    /// # Errors
    /// [`StorageError::TooLarge`] if the string pool would pass 4 GiB.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn rename(&mut self, index: usize, name: &str) -> Result<(), StorageError> {
        assert!(index < self.len(), "file index {index} out of range");
        let inner = Arc::make_mut(&mut self.0);
        let name = inner.add_name(name)?;
        inner.rows[index].name = name;
        Ok(())
    }

    /// Makes file `index` a symbolic link to `target` (components, as a
    /// path is given), or with `None` a plain file again.
    ///
    /// # Errors
    /// [`StorageError::TooLarge`] if the string pool would pass 4 GiB.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn set_symlink<S: AsRef<str>>(
        &mut self,
        index: usize,
        target: Option<&[S]>,
    ) -> Result<(), StorageError> {
        assert!(index < self.len(), "file index {index} out of range");
        Arc::make_mut(&mut self.0).set_link(index, target)
    }

    /// Removes file `index`; the files after it move down one index and
    /// back by its length.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn remove(&mut self, index: usize) {
        assert!(index < self.len(), "file index {index} out of range");
        let inner = Arc::make_mut(&mut self.0);
        let length = inner.length(index);
        inner.rows.remove(index);
        for r in &mut inner.rows[index..] {
            r.offset -= length;
        }
        inner.total -= length;
        let key = index as u32;
        inner.links.retain(|l| l.file != key);
        for l in &mut inner.links {
            if l.file > key {
                l.file -= 1;
            }
        }
        inner.roots.retain(|r| r.0 != key);
        for r in &mut inner.roots {
            if r.0 > key {
                r.0 -= 1;
            }
        }
    }
}

impl fmt::Debug for FileTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Two tables are equal when they list the same files (paths, lengths,
/// attributes, link targets, roots), however they were built.
impl PartialEq for FileTable {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b))
    }
}

impl Eq for FileTable {}

impl<'a> IntoIterator for &'a FileTable {
    type Item = FileRef<'a>;
    type IntoIter = Files<'a>;

    fn into_iter(self) -> Files<'a> {
        self.iter()
    }
}

/// One file of a [`FileTable`].
#[derive(Clone, Copy)]
pub struct FileRef<'a> {
    inner: &'a Inner,
    index: usize,
}

impl<'a> FileRef<'a> {
    fn row(&self) -> &'a Row {
        &self.inner.rows[self.index]
    }

    /// Its index in the table.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Its path, from the download folder.
    pub fn path(&self) -> FilePath<'a> {
        let row = self.row();
        FilePath::new(
            &self.inner.names,
            Repr::Tree {
                dirs: &self.inner.dirs,
                dir: row.dir,
                name: row.name,
            },
        )
    }

    /// Its name: the last component of its path.
    pub fn name(&self) -> &'a str {
        self.inner.name(self.row().name)
    }

    /// The folder it is in (see [`FileTable::folder`]), `None` at the top.
    pub fn folder(&self) -> Option<usize> {
        let dir = self.row().dir;
        (dir != NO_DIR).then_some(dir as usize)
    }

    /// Length in bytes (0 for a symbolic link).
    pub fn length(&self) -> u64 {
        self.inner.length(self.index)
    }

    /// Offset of its first byte in the torrent.
    pub fn offset(&self) -> u64 {
        self.row().offset
    }

    /// The bytes of the torrent it holds.
    pub fn range(&self) -> Range<u64> {
        self.offset()..self.offset() + self.length()
    }

    /// A BEP 47 padding file: its bytes are zeros and are never written.
    pub fn is_padding(&self) -> bool {
        self.row().flags & PADDING != 0
    }

    /// BEP 47 `x`: executable.
    pub fn is_executable(&self) -> bool {
        self.row().flags & EXECUTABLE != 0
    }

    /// BEP 47 `h`: hidden.
    pub fn is_hidden(&self) -> bool {
        self.row().flags & HIDDEN != 0
    }

    /// BEP 47 `l`: a symbolic link (see [`FileRef::symlink`]).
    pub fn is_symlink(&self) -> bool {
        self.row().flags & SYMLINK != 0
    }

    /// Whether storage keeps it on disk as a regular file: every file but
    /// padding files and symbolic links (zero-length files included).
    pub fn on_disk(&self) -> bool {
        self.row().flags & (PADDING | SYMLINK) == 0
    }

    /// A symbolic link's target, given like [`FileRef::path`].
    pub fn symlink(&self) -> Option<FilePath<'a>> {
        if !self.is_symlink() {
            return None;
        }
        let link = self.inner.link(self.index)?;
        let parts = &self.inner.link_parts[link.first as usize..(link.first + link.count) as usize];
        Some(FilePath::new(&self.inner.names, Repr::Parts(parts)))
    }

    /// The root of its BEP 52 merkle tree (v2 torrents, files with data).
    pub fn pieces_root(&self) -> Option<&'a Hash256> {
        let roots = &self.inner.roots;
        let i = roots
            .binary_search_by_key(&self.index, |r| r.0 as usize)
            .ok()?;
        Some(&roots[i].1)
    }
}

impl fmt::Debug for FileRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("File");
        d.field("path", &self.path())
            .field("length", &self.length())
            .field("offset", &self.offset());
        for (set, name) in [
            (self.is_padding(), "padding"),
            (self.is_executable(), "executable"),
            (self.is_hidden(), "hidden"),
        ] {
            if set {
                d.field(name, &true);
            }
        }
        if let Some(t) = self.symlink() {
            d.field("symlink", &t);
        }
        if let Some(r) = self.pieces_root() {
            d.field("pieces_root", r);
        }
        d.finish()
    }
}

/// Equal when path, length, offset, attributes, link target and root are.
impl PartialEq for FileRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.row().flags == other.row().flags
            && self.offset() == other.offset()
            && self.length() == other.length()
            && self.path() == other.path()
            && self.symlink() == other.symlink()
            && self.pieces_root() == other.pieces_root()
    }
}

impl Eq for FileRef<'_> {}

/// Iterator over the files of a [`FileTable`]; see [`FileTable::iter`].
#[derive(Debug, Clone)]
pub struct Files<'a> {
    inner: &'a Inner,
    range: Range<usize>,
}

impl<'a> Iterator for Files<'a> {
    type Item = FileRef<'a>;

    fn next(&mut self) -> Option<FileRef<'a>> {
        let index = self.range.next()?;
        Some(FileRef {
            inner: self.inner,
            index,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }

    fn nth(&mut self, n: usize) -> Option<FileRef<'a>> {
        let index = self.range.nth(n)?;
        Some(FileRef {
            inner: self.inner,
            index,
        })
    }
}

impl DoubleEndedIterator for Files<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let index = self.range.next_back()?;
        Some(FileRef {
            inner: self.inner,
            index,
        })
    }
}

impl ExactSizeIterator for Files<'_> {}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the shape: FileTable's Debug lists the files.
        f.debug_struct("Inner")
            .field("files", &self.rows.len())
            .field("folders", &self.dirs.len())
            .finish_non_exhaustive()
    }
}
