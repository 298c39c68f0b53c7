//! Reading a .torrent file for every command that takes one: a regular
//! file or stdin (`-`), never more than the parser's input limit plus one
//! byte, and never waiting on a FIFO or reading a device.

use std::fs::{FileType, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::units;

/// The largest .torrent read: the bencode decoder's input limit (64 MiB),
/// which the metainfo parser uses.
pub(crate) const MAX_TORRENT_BYTES: u64 = monsoon_bencode::DEFAULT_MAX_INPUT as u64;

/// The bytes of the .torrent at `path`, or of stdin when `path` is `-`.
///
/// A path must name a regular file (a folder, FIFO, device or socket is
/// refused before it is opened, so a FIFO cannot block us and a device is
/// never read) of at most [`MAX_TORRENT_BYTES`] (checked from its size,
/// before reading). Whatever the source, at most the limit plus one byte is
/// read, so a file that grows, or stdin fed from `/dev/zero`, costs at most
/// that much memory. Errors name the path.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    if path == Path::new("-") {
        return read_at_most(io::stdin().lock(), "stdin", None);
    }
    let shown = path.display();
    let meta = std::fs::metadata(path).with_context(|| format!("{shown}"))?;
    check(&meta, path)?;
    // O_NONBLOCK: should the path have become a FIFO since the check, the
    // open does not wait for a writer (the check below then refuses it).
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("{shown}"))?;
    let meta = file.metadata().with_context(|| format!("{shown}"))?;
    check(&meta, path)?;
    read_at_most(file, &shown.to_string(), Some(meta.len()))
}

/// Refuses anything but a regular file no larger than the limit.
fn check(meta: &Metadata, path: &Path) -> Result<()> {
    let shown = path.display();
    let kind = meta.file_type();
    if kind.is_dir() {
        bail!("{shown}: is a folder, not a .torrent file");
    }
    if !kind.is_file() {
        bail!(
            "{shown}: is {}, not a regular file (pass - to read a torrent from stdin)",
            describe(kind)
        );
    }
    if meta.len() > MAX_TORRENT_BYTES {
        bail!(
            "{shown}: {} is larger than the {} limit for a .torrent file",
            units::size(meta.len()),
            units::size(MAX_TORRENT_BYTES)
        );
    }
    Ok(())
}

fn describe(kind: FileType) -> &'static str {
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Reads `from` to its end, failing once more than the limit has come in
/// (`size` is the expected length, to allocate once).
fn read_at_most(from: impl Read, shown: &str, size: Option<u64>) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(size.map_or(0, |n| n.min(MAX_TORRENT_BYTES) as usize + 1));
    from.take(MAX_TORRENT_BYTES + 1)
        .read_to_end(&mut buf)
        .with_context(|| shown.to_owned())?;
    if buf.len() as u64 > MAX_TORRENT_BYTES {
        bail!(
            "{shown}: larger than the {} limit for a .torrent file",
            units::size(MAX_TORRENT_BYTES)
        );
    }
    Ok(buf)
}
