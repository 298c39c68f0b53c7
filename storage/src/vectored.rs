//! Vectored positioned writes: `pwritev(2)` (through [`crate::sys`]) where
//! available, a loop of `write_all_at` elsewhere.

use std::fs::File;
use std::io::{self, IoSlice};

/// At most this many buffers per `pwritev` call (Linux's `IOV_MAX`).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
const IOV_MAX: usize = 1024;

/// Bytes per `pwritev` call, at most (one buffer larger than this still goes
/// in one call). Larger buffered writes make the kernel allocate large
/// page-cache folios, which on the 2-core VMs this project is measured on
/// cost several times the system time of small ones, and varied run to run:
/// 1 GiB written after a large free took 0.64-1.87 s of system time in 1 MiB
/// calls, 0.9 s in 128-256 KiB calls and 0.24-0.48 s in 64 KiB calls.
const MAX_WRITE_BYTES: usize = 64 * 1024;

/// Writes all of `bufs` to `file` at `offset`: one `pwritev` per 64 KiB
/// (four 16 KiB blocks), see [`MAX_WRITE_BYTES`].
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub(crate) fn write_all_vectored_at(
    file: &File,
    mut bufs: &mut [IoSlice<'_>],
    mut offset: u64,
) -> io::Result<()> {
    use std::os::fd::AsFd;

    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        let mut count = 0;
        let mut total = 0;
        for b in bufs.iter().take(IOV_MAX) {
            if count > 0 && total + b.len() > MAX_WRITE_BYTES {
                break;
            }
            total += b.len();
            count += 1;
        }
        let written = match crate::sys::pwritev(file.as_fd(), &bufs[..count], offset) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
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
