//! [`FileStorage`]: torrent data in files under a download root, with
//! positioned I/O and a bounded cache of open file handles.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::beneath::{Mode, Root};
use crate::path::check_paths;
use crate::storage::{FileStamp, buf_len, check_blocks, for_each_block_slice};
use crate::vectored::write_all_vectored_at;
use crate::{Layout, Storage, StorageError};

/// Default bound on open file handles; see [`FileStorage::with_max_open_files`].
/// A caller that knows its descriptor budget sizes the cache from it instead
/// (the engine's `SessionConfig::fit_fd_limit`).
pub const DEFAULT_MAX_OPEN_FILES: usize = 128;

/// A [`Storage`] backed by files under a download root.
///
/// - Reads use `pread`, writes `pwritev` (one call per 64 KiB of a file
///   span), so threads never share a file cursor and need no lock around I/O.
/// - Open handles are kept in a bounded LRU cache (default
///   [`DEFAULT_MAX_OPEN_FILES`], set by the caller with
///   [`FileStorage::with_max_open_files`] from its descriptor budget), so
///   a torrent with thousands of files does not run out of descriptors.
///   Should an open still fail for want of descriptors (`EMFILE`, or
///   `ENFILE` system-wide), every cached handle is closed, the cache's
///   bound is halved (to what was cached then, halved; at least 1), and
///   the open is tried once more before the error is returned.
/// - A file is created on the first write that touches it, with its parent
///   directories, and sized to its full length (sparse); an existing file
///   is never truncated or resized. Reads never create files: reading from
///   a missing file is [`StorageError::NotFound`].
/// - Padding files (BEP 47) are never created; they read as zeros.
/// - Every path is joined under the root from its components, and
///   [`FileStorage::new`] rejects any component that could leave the root
///   ([`StorageError::PathEscapesRoot`]), as a second line of defence
///   behind the metainfo parser.
/// - Padding files and symbolic links (BEP 47) are not regular files on
///   disk ([`FileRef::on_disk`](crate::FileRef::on_disk)): never created,
///   opened or deleted.
/// - It keeps nothing per file but the layout's [`FileTable`](crate::FileTable):
///   a file's full path is made when it is opened.
/// - Every file is opened, created or read relative to an open descriptor
///   of the root, never through a symlink under it (`openat2` with
///   `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` on Linux, a walk with
///   `O_NOFOLLOW` per component elsewhere): a symlink planted in the root,
///   as a file or as a folder on the way, wherever it points (inside the
///   root included), is [`StorageError::Symlink`]; a FIFO, device or
///   folder where a file should be is [`StorageError::NotAFile`]. Such a
///   file does not [exist](Storage::file_exists) for the recheck. The root
///   itself may be a symlink.
///
/// ```
/// use bytes::Bytes;
/// use monsoon_storage::{FileEntry, FileStorage, Layout, Storage};
///
/// let root = std::env::temp_dir().join(format!("monsoon-doc-{}", std::process::id()));
/// let layout = Layout::new(vec![FileEntry::new(["dir", "a.txt"], 6)], 4).unwrap();
/// let storage = FileStorage::new(&root, layout).unwrap();
/// storage.write_piece(1, &[Bytes::from_static(b"ef")]).unwrap();
/// storage.write_piece(0, &[Bytes::from_static(b"abcd")]).unwrap();
/// storage.flush().unwrap();
/// assert_eq!(std::fs::read(root.join("dir/a.txt")).unwrap(), b"abcdef");
/// assert_eq!(storage.read(0, 1, 3).unwrap(), &b"bcd"[..]);
/// assert_eq!(storage.read(1, 0, 2).unwrap(), &b"ef"[..]);
///
/// let bad = Layout::new(vec![FileEntry::new(["..", "evil"], 1)], 4).unwrap();
/// assert!(FileStorage::new(&root, bad).is_err());
/// # std::fs::remove_dir_all(&root).unwrap();
/// ```
#[derive(Debug)]
pub struct FileStorage {
    root: PathBuf,
    layout: Layout,
    state: Mutex<State>,
}

/// What the mutex protects: open handles and files written since the last
/// flush.
#[derive(Debug)]
struct State {
    /// The root, once opened (by the first write, or a read once it exists).
    root: Option<Arc<Root>>,
    max_open: usize,
    tick: u64,
    open: HashMap<usize, Handle>,
    dirty: HashSet<usize>,
}

#[derive(Debug)]
struct Handle {
    file: Arc<File>,
    writable: bool,
    last_used: u64,
}

/// Why a handle is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Read; never creates the file; read-only is good enough.
    Read,
    /// Write; creates the file (sparse, full length) if missing.
    Write,
}

impl FileStorage {
    /// A storage for `layout` under `root`. Checks every file's path; does
    /// not touch the disk (the root is created on the first write).
    pub fn new(root: impl Into<PathBuf>, layout: Layout) -> Result<Self, StorageError> {
        let root = root.into();
        check_paths(layout.files())?;
        Ok(FileStorage {
            root,
            layout,
            state: Mutex::new(State {
                root: None,
                max_open: DEFAULT_MAX_OPEN_FILES,
                tick: 0,
                open: HashMap::new(),
                dirty: HashSet::new(),
            }),
        })
    }

    /// Keeps at most `n` files open at once (at least 1). Handles in use by
    /// a read or write in progress stay open until it finishes.
    pub fn with_max_open_files(self, n: usize) -> Self {
        self.lock().max_open = n.max(1);
        self
    }

    /// The current bound on cached handles: the one set, or less once the
    /// process ran out of descriptors.
    pub fn max_open_files(&self) -> usize {
        self.lock().max_open
    }

    /// The download root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `file` lives on disk (`None` for a padding file, a symbolic
    /// link or an index past the end).
    pub fn path(&self, file: usize) -> Option<PathBuf> {
        let entry = self.layout.files().get(file)?;
        entry.on_disk().then(|| self.disk_path(file))
    }

    /// `file`'s path under the root (checked safe by [`FileStorage::new`]).
    fn disk_path(&self, file: usize) -> PathBuf {
        self.root
            .join(self.layout.files().file(file).path().to_path_buf())
    }

    /// `file`'s path components, to open it beneath the root.
    fn components(&self, file: usize) -> Vec<&str> {
        self.layout.files().file(file).path().components().collect()
    }

    /// Number of file handles currently cached.
    pub fn open_files(&self) -> usize {
        self.lock().open.len()
    }

    /// Creates the zero-length files of the torrent (writes never touch
    /// them, having no bytes to write); call when the download completes.
    pub fn create_empty_files(&self) -> Result<(), StorageError> {
        for f in self.layout.files() {
            if f.length() == 0 && f.on_disk() {
                let rel = self.components(f.index());
                self.retry_out_of_fds(|| self.root_dir(true)?.open_file(&rel, Mode::Create))?;
            }
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `open`; when the process is out of file descriptors, closes
    /// every cached handle, lowers the cache's bound, and runs it once more.
    fn retry_out_of_fds<T>(
        &self,
        open: impl Fn() -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        match open() {
            Err(e) if e.is_out_of_fds() => {
                self.shed_handles();
                open()
            }
            result => result,
        }
    }

    /// Closes every cached handle (one in use by a read or write closes
    /// when that ends) and halves the bound to what was cached, so the
    /// cache stays below the limit the process just hit.
    fn shed_handles(&self) {
        let mut state = self.lock();
        let cached = state.open.len();
        state.open.clear();
        if cached > 0 {
            state.max_open = (cached / 2).clamp(1, state.max_open);
        }
    }

    /// The open root, opened on first use (and created first if `create`).
    fn root_dir(&self, create: bool) -> Result<Arc<Root>, StorageError> {
        if let Some(root) = &self.lock().root {
            return Ok(Arc::clone(root));
        }
        let root = Arc::new(Root::open(&self.root, create)?);
        Ok(Arc::clone(self.lock().root.get_or_insert(root)))
    }

    /// A handle on `file`, from the cache or freshly opened (and then
    /// cached, evicting the least recently used handle if full).
    fn handle(&self, file: usize, access: Access) -> Result<Arc<File>, StorageError> {
        {
            let mut state = self.lock();
            state.tick += 1;
            let tick = state.tick;
            if let Some(h) = state.open.get_mut(&file) {
                if h.writable || access == Access::Read {
                    h.last_used = tick;
                    return Ok(Arc::clone(&h.file));
                }
            }
        }
        // Open without holding the lock: opening may create directories.
        let (file_handle, writable) = self.retry_out_of_fds(|| self.open(file, access))?;
        let file_handle = Arc::new(file_handle);
        let mut state = self.lock();
        state.tick += 1;
        let last_used = state.tick;
        state.open.insert(
            file,
            Handle {
                file: Arc::clone(&file_handle),
                writable,
                last_used,
            },
        );
        while state.open.len() > state.max_open {
            let Some(oldest) = state
                .open
                .iter()
                .min_by_key(|(_, h)| h.last_used)
                .map(|(&i, _)| i)
            else {
                break;
            };
            state.open.remove(&oldest);
        }
        Ok(file_handle)
    }

    fn open(&self, file: usize, access: Access) -> Result<(File, bool), StorageError> {
        let rel = &self.components(file);
        let root = self.root_dir(access == Access::Write)?;
        let err = match root.open_file(rel, Mode::ReadWrite) {
            Ok(f) => return Ok((f, true)),
            Err(e) => e,
        };
        match (access, err.io_kind()) {
            (
                Access::Read,
                Some(io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem),
            ) => {
                // Seeding from read-only files.
                Ok((root.open_file(rel, Mode::Read)?, false))
            }
            (Access::Write, Some(io::ErrorKind::NotFound)) => {
                match root.open_file(rel, Mode::CreateNew) {
                    Ok(f) => {
                        // Only a file created here is sized: sparse, full
                        // length, so a later recheck reads zeros, not EOF.
                        f.set_len(self.layout.files().file(file).length())
                            .map_err(|e| StorageError::io(self.disk_path(file), e))?;
                        Ok((f, true))
                    }
                    // Another thread created it in between.
                    Err(e) if e.io_kind() == Some(io::ErrorKind::AlreadyExists) => {
                        Ok((root.open_file(rel, Mode::ReadWrite)?, true))
                    }
                    Err(e) => Err(e),
                }
            }
            _ => Err(err),
        }
    }
}

impl Storage for FileStorage {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn write_piece(&self, piece: u32, blocks: &[Bytes]) -> Result<(), StorageError> {
        check_blocks(&self.layout, piece, blocks)?;
        for_each_block_slice(&self.layout, piece, blocks, |span, slices| {
            if span.padding {
                return Ok(());
            }
            let file = self.handle(span.file, Access::Write)?;
            write_all_vectored_at(&file, slices, span.file_offset)
                .map_err(|e| StorageError::io(self.disk_path(span.file), e))?;
            self.lock().dirty.insert(span.file);
            Ok(())
        })
    }

    fn read_into(&self, piece: u32, begin: u32, buf: &mut [u8]) -> Result<(), StorageError> {
        let len = buf_len(&self.layout, piece, begin, buf)?;
        for span in self.layout.spans_iter(piece, begin, len) {
            let out = &mut buf[(span.piece_offset - begin) as usize..][..span.len as usize];
            if span.padding {
                out.fill(0);
                continue;
            }
            let file = self.handle(span.file, Access::Read)?;
            file.read_exact_at(out, span.file_offset)
                .map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => StorageError::ShortRead {
                        path: self.disk_path(span.file),
                        offset: span.file_offset,
                        needed: u64::from(span.len),
                    },
                    _ => StorageError::io(self.disk_path(span.file), e),
                })?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StorageError> {
        let dirty: Vec<usize> = self.lock().dirty.drain().collect();
        for (n, &file) in dirty.iter().enumerate() {
            let result = self.handle(file, Access::Read).and_then(|f| {
                f.sync_data()
                    .map_err(|e| StorageError::io(self.disk_path(file), e))
            });
            if let Err(e) = result {
                // Keep what was not synced for the next flush.
                self.lock().dirty.extend(&dirty[n..]);
                return Err(e);
            }
        }
        Ok(())
    }

    fn file_stamp(&self, file: usize) -> Option<FileStamp> {
        use std::os::unix::fs::MetadataExt;
        self.layout.files().get(file)?;
        let rel = self.components(file);
        // Opened as every other access is: beneath the root, no symlinks.
        let opened = self
            .retry_out_of_fds(|| self.root_dir(false)?.open_file(&rel, Mode::Read))
            .ok()?;
        let meta = opened.metadata().ok()?;
        if !meta.is_file() {
            return None;
        }
        Some(FileStamp {
            len: meta.len(),
            mtime_secs: meta.mtime(),
            mtime_nanos: u32::try_from(meta.mtime_nsec()).unwrap_or(0),
        })
    }

    fn delete_files(&self) -> Result<(), StorageError> {
        // Cached handles go first.
        self.lock().open.clear();
        let mut folders = std::collections::BTreeSet::new();
        for f in self.layout.files().iter().filter(|f| f.on_disk()) {
            let mut at = self.root.clone();
            let mut safe = true;
            let path = f.path();
            let depth = path.len();
            for (i, c) in path.components().enumerate() {
                at.push(c);
                match fs::symlink_metadata(&at) {
                    Ok(m) if m.file_type().is_symlink() => {
                        return Err(StorageError::Symlink {
                            path: at.clone(),
                            target: fs::read_link(&at).unwrap_or_default(),
                        });
                    }
                    Ok(m) if i + 1 < depth && m.is_dir() => {
                        folders.insert(at.clone());
                    }
                    Ok(m) if i + 1 == depth && m.is_file() => {}
                    // Missing, or not what the torrent says: leave it.
                    _ => {
                        safe = false;
                        break;
                    }
                }
            }
            if safe {
                fs::remove_file(&at).map_err(|e| StorageError::io(&at, e))?;
            }
        }
        // Deepest first; a folder still holding anything stays.
        for dir in folders.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
        Ok(())
    }

    fn file_exists(&self, file: usize) -> bool {
        match self.layout.files().get(file) {
            Some(f) if !f.on_disk() => true,
            Some(_) => {
                let rel = self.components(file);
                self.retry_out_of_fds(|| self.root_dir(false)?.open_file(&rel, Mode::Read))
                    .is_ok()
            }
            None => false,
        }
    }
}
