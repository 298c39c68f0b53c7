//! Vectored positioned writes: `pwritev(2)` where available, a loop of
//! `write_all_at` elsewhere. The only `unsafe` in the crate lives here.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, IoSlice};

/// At most this many buffers per `pwritev` call (Linux's `IOV_MAX`).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
const IOV_MAX: usize = 1024;

/// Writes all of `bufs` to `file` at `offset`, with as few syscalls as the
/// kernel allows (one for a span of up to 1024 blocks, unless the write is
/// cut short).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub(crate) fn write_all_vectored_at(
    file: &File,
    mut bufs: &mut [IoSlice<'_>],
    mut offset: u64,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;

    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        let count = bufs.len().min(IOV_MAX);
        let off = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
        // SAFETY: `IoSlice` is guaranteed ABI-compatible with `struct iovec`
        // on Unix (std documents it); the pointer and `count` describe
        // `count` live elements of `bufs`, which outlive the call; the file
        // descriptor is owned by `file`, borrowed for the whole call. The
        // kernel only reads the buffers.
        let written = unsafe {
            libc::pwritev(
                file.as_raw_fd(),
                bufs.as_ptr().cast::<libc::iovec>(),
                count as libc::c_int,
                off,
            )
        };
        if written < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        // Non-negative and at most the sum of the buffers' lengths.
        let written = written as usize;
        offset += written as u64;
        IoSlice::advance_slices(&mut bufs, written);
    }
    Ok(())
}

/// Portable fallback: one positioned write per buffer.
#[cfg(all(unix, not(all(target_os = "linux", target_pointer_width = "64"))))]
pub(crate) fn write_all_vectored_at(
    file: &File,
    bufs: &mut [IoSlice<'_>],
    mut offset: u64,
) -> io::Result<()> {
    use std::os::unix::fs::FileExt;

    for b in bufs.iter() {
        file.write_all_at(b, offset)?;
        offset += b.len() as u64;
    }
    Ok(())
}
