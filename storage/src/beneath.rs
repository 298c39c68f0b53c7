//! Opening a torrent's files beneath the download root without ever
//! following a symlink, so no write (or read) can land outside the root
//! whatever was planted in it.
//!
//! Every file is opened relative to a descriptor of the root:
//!
//! - on Linux 5.6 and later with one `openat2(2)` call resolving the whole
//!   relative path with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//!   RESOLVE_NO_MAGICLINKS`: the kernel refuses any symlink and any step
//!   out of the root, atomically;
//! - otherwise (another Unix, an older kernel answering `ENOSYS`, a
//!   sandbox answering `EPERM`), and to create missing folders or to name
//!   the offending component in an error, by a walk that opens one
//!   component at a time with `openat(2)` and `O_NOFOLLOW`, each relative
//!   to the folder opened before it.
//!
//! **Symlinks under the root are never followed, wherever they point**,
//! including a symlink inside the root that points inside the root. A
//! torrent never asks for one (its paths are plain names, checked before
//! they get here), so a symlink in the way was put there by someone else;
//! following only those that stay inside would need a second resolver in
//! the walk that agrees with the kernel's in every case, for a use nobody
//! needs. Such a path is [`StorageError::Symlink`], naming the link and its
//! target. The root itself, and the folders above it, are the user's
//! choice and may be or contain symlinks.
//!
//! What is opened must be a regular file ([`StorageError::NotAFile`]
//! otherwise); files are opened with `O_NONBLOCK`, so a FIFO planted in
//! place of a file is refused instead of blocking the open.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
#[cfg(target_os = "linux")]
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{StorageError, sys};

/// How a file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Read only; the file must exist.
    Read,
    /// Read and write; the file must exist. Never truncates.
    ReadWrite,
    /// Read and write a file that must not exist yet, creating it and the
    /// folders above it.
    CreateNew,
    /// Write, creating the file and the folders above it if missing. Never
    /// truncates.
    Create,
}

impl Mode {
    fn flags(self) -> libc::c_int {
        let common = libc::O_CLOEXEC | libc::O_NOCTTY;
        common
            | match self {
                Mode::Read => libc::O_RDONLY | libc::O_NONBLOCK,
                Mode::ReadWrite => libc::O_RDWR | libc::O_NONBLOCK,
                // O_EXCL: fails on any existing name, a symlink included.
                Mode::CreateNew => libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
                Mode::Create => libc::O_WRONLY | libc::O_CREAT | libc::O_NONBLOCK,
            }
    }

    fn creates(self) -> bool {
        matches!(self, Mode::CreateNew | Mode::Create)
    }
}

/// Which way paths are resolved (tests force the walk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolver {
    /// `openat2` where the kernel has it, else the walk.
    Auto,
    /// The component-by-component walk only.
    #[cfg_attr(not(test), expect(dead_code, reason = "only tests force the walk"))]
    Walk,
}

/// Set once `openat2` answered `ENOSYS`: the walk is used from then on.
#[cfg(target_os = "linux")]
static OPENAT2_MISSING: AtomicBool = AtomicBool::new(false);

/// Flags for opening a folder on the way down: never through a symlink.
/// `O_PATH` (Linux) needs no read permission on the folder.
#[cfg(target_os = "linux")]
const DIR_FLAGS: libc::c_int =
    libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
#[cfg(not(target_os = "linux"))]
const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Mode bits for new files and folders (the umask applies).
const FILE_MODE: libc::mode_t = 0o666;
const DIR_MODE: libc::mode_t = 0o777;

/// An open download root: every file is opened relative to it.
#[derive(Debug)]
pub(crate) struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

impl Root {
    /// Opens the folder at `path` (following symlinks: the root is the
    /// user's choice), creating it first when `create` is set. A missing
    /// root is [`StorageError::NotFound`].
    pub(crate) fn open(path: &Path, create: bool) -> Result<Root, StorageError> {
        if create {
            fs::create_dir_all(path).map_err(|e| StorageError::io(path, e))?;
        }
        #[cfg(target_os = "linux")]
        let flags = libc::O_DIRECTORY | libc::O_PATH;
        #[cfg(not(target_os = "linux"))]
        let flags = libc::O_DIRECTORY;
        let dir = OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path)
            .map_err(|e| StorageError::io(path, e))?;
        Ok(Root {
            fd: dir.into(),
            path: path.to_path_buf(),
        })
    }

    /// Opens the file at the plain components `rel` beneath the root.
    pub(crate) fn open_file<S: AsRef<str>>(
        &self,
        rel: &[S],
        mode: Mode,
    ) -> Result<File, StorageError> {
        self.open_with(rel, mode, Resolver::Auto)
    }

    /// [`Root::open_file`] with a chosen resolver.
    pub(crate) fn open_with<S: AsRef<str>>(
        &self,
        rel: &[S],
        mode: Mode,
        resolver: Resolver,
    ) -> Result<File, StorageError> {
        let shown = || {
            rel.iter()
                .fold(self.path.clone(), |p, c| p.join(c.as_ref()))
        };
        if rel.is_empty() {
            return Err(StorageError::PathEscapesRoot(PathBuf::new()));
        }
        #[cfg(target_os = "linux")]
        if resolver == Resolver::Auto && !OPENAT2_MISSING.load(Ordering::Relaxed) {
            let mut joined = String::new();
            for (i, c) in rel.iter().enumerate() {
                if i > 0 {
                    joined.push('/');
                }
                joined.push_str(c.as_ref());
            }
            let joined = cstring(&joined, &shown())?;
            let resolve =
                libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
            // openat2 wants a zero mode unless it creates.
            let perm = if mode.creates() { FILE_MODE } else { 0 };
            match sys::openat2(self.fd.as_fd(), &joined, mode.flags(), perm, resolve) {
                Ok(fd) => return regular(fd, &shown()),
                Err(e) => match e.raw_os_error() {
                    Some(libc::ENOSYS) => OPENAT2_MISSING.store(true, Ordering::Relaxed),
                    // A symlink (ELOOP), a step out (EXDEV), a file in a
                    // folder's place (ENOTDIR), a sandbox refusing the
                    // call (EPERM), a rename race (EAGAIN): the walk
                    // names the component, or opens it safely after all.
                    Some(
                        libc::ELOOP | libc::EXDEV | libc::ENOTDIR | libc::EPERM | libc::EAGAIN,
                    ) => {}
                    // Missing folders: the walk creates them. An existing
                    // name: the walk says whether it is a symlink.
                    Some(libc::ENOENT | libc::EEXIST) if mode.creates() => {}
                    _ => return Err(StorageError::io(shown(), e)),
                },
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = resolver;
        self.walk(rel, mode)
    }

    /// Opens `rel` one component at a time, each relative to the folder
    /// opened before it and never through a symlink; creates missing
    /// folders when `mode` creates.
    fn walk<S: AsRef<str>>(&self, rel: &[S], mode: Mode) -> Result<File, StorageError> {
        let Some((name, dirs)) = rel.split_last() else {
            return Err(StorageError::PathEscapesRoot(PathBuf::new()));
        };
        let mut shown = self.path.clone();
        let mut current: Option<OwnedFd> = None;
        for c in dirs {
            let c = c.as_ref();
            shown.push(c);
            let dir = current.as_ref().map_or(self.fd.as_fd(), AsFd::as_fd);
            let next = step_into(dir, c, mode.creates(), &shown)?;
            current = Some(next);
        }
        let name = name.as_ref();
        shown.push(name);
        let dir = current.as_ref().map_or(self.fd.as_fd(), AsFd::as_fd);
        let cname = cstring(name, &shown)?;
        match sys::openat(dir, &cname, mode.flags() | libc::O_NOFOLLOW, FILE_MODE) {
            Ok(fd) => regular(fd, &shown),
            Err(e) => Err(explain(dir, &cname, &shown, e)),
        }
    }
}

/// Opens the folder `name` in `dir` without following a symlink, making it
/// first if it is missing and `create` is set.
fn step_into(
    dir: BorrowedFd<'_>,
    name: &str,
    create: bool,
    shown: &Path,
) -> Result<OwnedFd, StorageError> {
    let cname = cstring(name, shown)?;
    let mut made = false;
    loop {
        match sys::openat(dir, &cname, DIR_FLAGS, 0) {
            Ok(fd) => return Ok(fd),
            Err(e) if e.kind() == io::ErrorKind::NotFound && create && !made => {
                made = true;
                match sys::mkdirat(dir, &cname, DIR_MODE) {
                    Ok(()) => {}
                    // Another thread made it in between.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(StorageError::io(shown, e)),
                }
            }
            Err(e) => return Err(explain(dir, &cname, shown, e)),
        }
    }
}

/// Turns an open failure on `name` in `dir` into [`StorageError::Symlink`]
/// when `name` is a symlink (`O_NOFOLLOW` answers ELOOP on Linux, EMLINK
/// on FreeBSD, ENOTDIR with `O_DIRECTORY`, EEXIST with `O_EXCL`), else into
/// an I/O error on `shown`.
fn explain(dir: BorrowedFd<'_>, name: &CString, shown: &Path, err: io::Error) -> StorageError {
    let maybe_link = matches!(
        err.raw_os_error(),
        Some(libc::ELOOP | libc::EMLINK | libc::ENOTDIR | libc::EEXIST)
    );
    if maybe_link {
        if let Ok(target) = sys::readlinkat(dir, name) {
            return StorageError::Symlink {
                path: shown.to_path_buf(),
                target,
            };
        }
    }
    StorageError::io(shown, err)
}

/// The opened descriptor as a `File`, if it is a regular file.
fn regular(fd: OwnedFd, shown: &Path) -> Result<File, StorageError> {
    let file = File::from(fd);
    let meta = file.metadata().map_err(|e| StorageError::io(shown, e))?;
    if !meta.is_file() {
        return Err(StorageError::NotAFile {
            path: shown.to_path_buf(),
        });
    }
    Ok(file)
}

/// `s` as a C string (the path checks reject NUL, so this cannot fail for
/// a layout's paths).
fn cstring(s: &str, shown: &Path) -> Result<CString, StorageError> {
    CString::new(s).map_err(|_| StorageError::PathEscapesRoot(shown.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    struct Dir(PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!(
            "monsoon-beneath-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(p.join("root")).unwrap();
        fs::create_dir_all(p.join("outside")).unwrap();
        Dir(p)
    }

    fn rel(path: &str) -> Vec<String> {
        path.split('/').map(str::to_owned).collect()
    }

    /// Both resolvers give the same answers on the same tree.
    #[test]
    fn both_resolvers_refuse_links_and_open_plain_paths() {
        for resolver in [Resolver::Auto, Resolver::Walk] {
            let d = scratch(&format!("{resolver:?}"));
            let root_path = d.0.join("root");
            fs::write(d.0.join("outside/victim"), b"keep").unwrap();
            symlink("../outside/victim", root_path.join("file-link")).unwrap();
            symlink("../outside", root_path.join("dir-link")).unwrap();
            fs::create_dir(root_path.join("real")).unwrap();
            symlink("real", root_path.join("inside-link")).unwrap();
            let root = Root::open(&root_path, false).unwrap();

            for (path, link) in [
                ("file-link", "file-link"),
                ("dir-link/victim", "dir-link"),
                ("dir-link/new/deeper", "dir-link"),
                ("inside-link/x", "inside-link"),
            ] {
                for mode in [Mode::Read, Mode::ReadWrite, Mode::CreateNew, Mode::Create] {
                    match root.open_with(&rel(path), mode, resolver) {
                        Err(StorageError::Symlink { path: p, .. }) => {
                            assert_eq!(p, root_path.join(link), "{resolver:?} {path} {mode:?}");
                        }
                        other => panic!("{resolver:?} {path} {mode:?}: {other:?}"),
                    }
                }
            }
            // Plain paths: created with their folders, then reopened.
            let f = root
                .open_with(&rel("real/a/b/c"), Mode::CreateNew, resolver)
                .unwrap();
            drop(f);
            root.open_with(&rel("real/a/b/c"), Mode::ReadWrite, resolver)
                .unwrap();
            assert!(matches!(
                root.open_with(&rel("real/a/b/c"), Mode::CreateNew, resolver),
                Err(StorageError::Io { ref source, .. }) if source.kind() == io::ErrorKind::AlreadyExists
            ));
            assert!(matches!(
                root.open_with(&rel("real/missing"), Mode::Read, resolver),
                Err(StorageError::NotFound { .. })
            ));
            // A folder where a file should be is not a file.
            assert!(matches!(
                root.open_with(&rel("real/a"), Mode::Read, resolver),
                Err(StorageError::NotAFile { .. })
            ));
            assert_eq!(fs::read(d.0.join("outside/victim")).unwrap(), b"keep");
            assert_eq!(fs::read_dir(d.0.join("outside")).unwrap().count(), 1);
        }
    }
}
