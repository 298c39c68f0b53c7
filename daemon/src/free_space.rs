//! Free and total bytes of the file system holding a folder (`statvfs`),
//! for Transmission's `free-space`. std has no `statvfs`, hence the one
//! `unsafe` call.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// (free bytes for unprivileged users, total bytes) of the file system
/// holding `path`.
#[allow(unsafe_code)]
pub(crate) fn free_space(path: &Path) -> std::io::Result<(u64, u64)> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("a NUL byte in the path"))?;
    // SAFETY: an all-zero `statvfs` is a valid value of this plain C
    // struct; it is only written by the call below.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated string that outlives the call and
    // `st` a valid, writable `statvfs` on this frame.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    #[allow(clippy::useless_conversion)]
    let frsize = u64::from(st.f_frsize);
    #[allow(clippy::useless_conversion)]
    let (avail, blocks) = (u64::from(st.f_bavail), u64::from(st.f_blocks));
    Ok((avail.saturating_mul(frsize), blocks.saturating_mul(frsize)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tmp_has_a_size_and_a_missing_folder_is_an_error() {
        let (free, total) = super::free_space(&std::env::temp_dir()).unwrap();
        assert!(total > 0 && free <= total, "{free} {total}");
        assert!(super::free_space(std::path::Path::new("/no/such/folder/here")).is_err());
    }
}
