//! The crate's only `unsafe`: thin wrappers over the system calls std does
//! not offer — `openat2(2)`, `openat(2)`, `mkdirat(2)`, `readlinkat(2)` for
//! opening files beneath the download root ([`crate::beneath`]), and
//! `pwritev(2)` for vectored positioned writes ([`crate::vectored`]).
//!
//! Each wrapper takes borrowed descriptors and C strings, so the pointers
//! it hands the kernel are valid for the whole call, and returns owned
//! descriptors or `io::Error`; nothing else in the crate calls `libc`
//! functions.
#![allow(unsafe_code)]

use std::ffi::{CStr, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Retries `f` while it fails with `EINTR` (opening a FIFO or a file on a
/// network file system may be interrupted by a signal).
fn retry_eintr(mut f: impl FnMut() -> libc::c_int) -> io::Result<libc::c_int> {
    loop {
        let r = f();
        if r >= 0 {
            return Ok(r);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Takes ownership of a descriptor the kernel just returned.
fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: `fd` is a fresh descriptor returned by a successful open
    // call; nothing else owns it, so `OwnedFd` may close it on drop.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// `openat(dir, name, flags, mode)`.
pub(crate) fn openat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    let fd = retry_eintr(|| {
        // SAFETY: `name` is a NUL-terminated string borrowed for the call;
        // `dir` is a descriptor borrowed for the call. The mode is passed
        // as the variadic argument the C prototype expects (an int).
        unsafe {
            libc::openat(
                dir.as_raw_fd(),
                name.as_ptr(),
                flags,
                libc::c_uint::from(mode),
            )
        }
    })?;
    Ok(owned(fd))
}

/// `struct open_how` of `<linux/openat2.h>` (libc's is non-exhaustive, so
/// it cannot be built field by field outside libc).
#[cfg(target_os = "linux")]
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// `openat2(dir, path, {flags, mode, resolve})` (Linux 5.6 and later;
/// older kernels fail with `ENOSYS`).
#[cfg(target_os = "linux")]
pub(crate) fn openat2(
    dir: BorrowedFd<'_>,
    path: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let how = OpenHow {
        // Open flags are a non-negative bit set.
        flags: flags as u32 as u64,
        mode: u64::from(mode),
        resolve,
    };
    let fd = retry_eintr(|| {
        // SAFETY: `path` is NUL-terminated and `how` is a `#[repr(C)]`
        // `struct open_how` of the size passed, both borrowed for the
        // call; `dir` is a descriptor borrowed for the call. The syscall
        // returns a descriptor (an int) or -1 with errno set.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const OpenHow,
                size_of::<OpenHow>(),
            )
        };
        // A descriptor or -1: fits in an int.
        r as libc::c_int
    })?;
    Ok(owned(fd))
}

/// `mkdirat(dir, name, mode)`.
pub(crate) fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    retry_eintr(|| {
        // SAFETY: `name` is NUL-terminated and `dir` is a descriptor, both
        // borrowed for the call.
        unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) }
    })?;
    Ok(())
}

/// `readlinkat(dir, name)`: where the symlink `name` points (truncated at
/// 4 KiB; only used to name the target in an error).
pub(crate) fn readlinkat(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<PathBuf> {
    let mut buf = [0u8; 4096];
    // SAFETY: `name` is NUL-terminated and `dir` a descriptor, both
    // borrowed for the call; the kernel writes at most `buf.len()` bytes
    // into `buf`, which lives on this stack frame.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast::<libc::c_char>(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // Non-negative and at most buf.len().
    Ok(PathBuf::from(OsStr::from_bytes(&buf[..n as usize])))
}

/// One `pwritev(fd, bufs, offset)` call: the number of bytes written.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub(crate) fn pwritev(
    fd: BorrowedFd<'_>,
    bufs: &[io::IoSlice<'_>],
    offset: u64,
) -> io::Result<usize> {
    let off = libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
    let count = libc::c_int::try_from(bufs.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many buffers"))?;
    // SAFETY: `IoSlice` is guaranteed ABI-compatible with `struct iovec`
    // on Unix (std documents it); the pointer and `count` describe the
    // live elements of `bufs`, which outlive the call; `fd` is borrowed for
    // the whole call. The kernel only reads the buffers.
    let written = unsafe {
        libc::pwritev(
            fd.as_raw_fd(),
            bufs.as_ptr().cast::<libc::iovec>(),
            count,
            off,
        )
    };
    if written < 0 {
        return Err(io::Error::last_os_error());
    }
    // Non-negative and at most the sum of the buffers' lengths.
    Ok(written as usize)
}
