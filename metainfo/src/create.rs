//! Creating v1 .torrent files from a file or a folder, hashing on every core.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use monsoon_bencode::OwnedValue;
use sha1::{Digest, Sha1};

use crate::error::CreateError;
use crate::parse::{MAX_PATH_DEPTH, MAX_PIECE_LENGTH, MAX_PIECES};

/// Smallest piece length [`create_torrent`] uses or accepts (16 KiB, one block).
pub const MIN_CREATE_PIECE_LENGTH: u32 = 16 << 10;

/// Largest piece length [`default_piece_length`] picks (16 MiB).
const MAX_DEFAULT_PIECE_LENGTH: u32 = 16 << 20;

/// Target piece count for [`default_piece_length`]: the smallest power of two
/// giving at most this many pieces.
const TARGET_PIECES: u64 = 2000;

/// Settings for [`create_torrent`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateOptions {
    /// Tracker tiers (BEP 12). The first URL becomes `announce`; when there
    /// is more than one URL, all tiers are written to `announce-list`.
    pub trackers: Vec<Vec<String>>,
    /// Web seeds (BEP 19 `url-list`).
    pub url_list: Vec<String>,
    /// Piece length in bytes: a power of two from 16 KiB to
    /// [`MAX_PIECE_LENGTH`]. `None` picks one with [`default_piece_length`].
    pub piece_length: Option<u32>,
    /// Sets the BEP 27 private flag.
    pub private: bool,
    /// `comment`.
    pub comment: Option<String>,
    /// `created by`.
    pub created_by: Option<String>,
    /// `creation date` (seconds since the Unix epoch); `None` leaves it out.
    pub creation_date: Option<i64>,
    /// Hashing threads; 0 means one per available core.
    pub threads: usize,
}

/// The piece length used when none is given: the smallest power of two from
/// 16 KiB to 16 MiB that yields at most about 2000 pieces.
pub fn default_piece_length(total_length: u64) -> u32 {
    let mut pl = MIN_CREATE_PIECE_LENGTH;
    while pl < MAX_DEFAULT_PIECE_LENGTH && total_length.div_ceil(u64::from(pl)) > TARGET_PIECES {
        pl *= 2;
    }
    pl
}

/// One source file: where it is on disk and its path inside the torrent.
struct Source {
    disk: PathBuf,
    path: Vec<String>,
    length: u64,
}

/// Makes a v1 .torrent (bencoded bytes) for the file or folder at `path`.
///
/// A folder's files are listed recursively in sorted order (byte order of
/// each name), so the same tree always gives the same torrent. Symbolic
/// links are followed; anything that is not a regular file or directory, a
/// non-UTF-8 name, or a tree deeper than [`MAX_PATH_DEPTH`] is an error —
/// nothing is skipped silently. Empty files are kept.
///
/// Pieces are hashed on [`CreateOptions::threads`] threads, each hashing a
/// contiguous range of pieces with positioned reads across file boundaries.
pub fn create_torrent(path: &Path, opts: &CreateOptions) -> Result<Vec<u8>, CreateError> {
    let io_err = |source| CreateError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = fs::metadata(path).map_err(io_err)?;
    let name = match path.file_name() {
        Some(n) => n.to_owned(),
        None => fs::canonicalize(path)
            .map_err(io_err)?
            .file_name()
            .map(ToOwned::to_owned)
            .ok_or_else(|| CreateError::NotAFile(path.to_owned()))?,
    };
    let name = name
        .into_string()
        .map_err(|_| CreateError::NonUtf8Name(path.to_owned()))?;

    let mut sources = Vec::new();
    let multi = if meta.is_dir() {
        walk(path, &mut Vec::new(), &mut Vec::new(), &mut sources)?;
        true
    } else if meta.is_file() {
        sources.push(Source {
            disk: path.to_owned(),
            path: Vec::new(),
            length: meta.len(),
        });
        false
    } else {
        return Err(CreateError::NotAFile(path.to_owned()));
    };

    let total: u64 = sources.iter().map(|s| s.length).sum();
    if total == 0 {
        return Err(CreateError::Empty(path.to_owned()));
    }
    let piece_length = match opts.piece_length {
        Some(pl) => {
            if !pl.is_power_of_two() || !(MIN_CREATE_PIECE_LENGTH..=MAX_PIECE_LENGTH).contains(&pl)
            {
                return Err(CreateError::InvalidPieceLength(u64::from(pl)));
            }
            pl
        }
        None => default_piece_length(total),
    };
    let piece_count = total.div_ceil(u64::from(piece_length));
    if piece_count > u64::from(MAX_PIECES) {
        return Err(CreateError::TooManyPieces(piece_count));
    }
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let pieces = hash_pieces(&sources, total, piece_length, piece_count as u32, threads)?;

    let mut info = OwnedValue::dict()
        .insert("name", name.as_str().into())
        .insert("piece length", i64::from(piece_length).into())
        .insert("pieces", pieces.into());
    if multi {
        let files = sources
            .iter()
            .map(|s| {
                OwnedValue::dict()
                    .insert("length", (s.length as i64).into())
                    .insert(
                        "path",
                        s.path
                            .iter()
                            .map(|c| OwnedValue::from(c.as_str()))
                            .collect::<Vec<_>>()
                            .into(),
                    )
            })
            .collect::<Vec<_>>();
        info = info.insert("files", files.into());
    } else {
        info = info.insert("length", (total as i64).into());
    }
    if opts.private {
        info = info.insert("private", 1.into());
    }

    let mut top = OwnedValue::dict().insert("info", info);
    let urls: Vec<&String> = opts.trackers.iter().flatten().collect();
    if let Some(first) = urls.first() {
        top = top.insert("announce", first.as_str().into());
    }
    if urls.len() > 1 {
        let tiers = opts
            .trackers
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| OwnedValue::List(t.iter().map(|u| u.as_str().into()).collect()))
            .collect::<Vec<_>>();
        top = top.insert("announce-list", tiers.into());
    }
    if !opts.url_list.is_empty() {
        let l: Vec<OwnedValue> = opts.url_list.iter().map(|u| u.as_str().into()).collect();
        top = top.insert("url-list", l.into());
    }
    if let Some(c) = &opts.comment {
        top = top.insert("comment", c.as_str().into());
    }
    if let Some(c) = &opts.created_by {
        top = top.insert("created by", c.as_str().into());
    }
    if let Some(d) = opts.creation_date {
        top = top.insert("creation date", d.into());
    }
    Ok(top.encode())
}

/// Appends the files under `dir` (recursively, sorted by name) to `out`.
/// `parents` holds the canonical paths of the folders above `dir`, to catch
/// symbolic link loops.
fn walk(
    dir: &Path,
    rel: &mut Vec<String>,
    parents: &mut Vec<PathBuf>,
    out: &mut Vec<Source>,
) -> Result<(), CreateError> {
    if rel.len() >= MAX_PATH_DEPTH {
        return Err(CreateError::TooDeep(dir.to_owned()));
    }
    let io_err = |source| CreateError::Io {
        path: dir.to_owned(),
        source,
    };
    let canonical = fs::canonicalize(dir).map_err(io_err)?;
    if parents.contains(&canonical) {
        return Err(CreateError::Loop(dir.to_owned()));
    }
    parents.push(canonical);
    let mut entries = fs::read_dir(dir)
        .map_err(io_err)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<Vec<_>>>()
        .map_err(io_err)?;
    entries.sort();
    for file_name in entries {
        let disk = dir.join(&file_name);
        let name = file_name
            .into_string()
            .map_err(|_| CreateError::NonUtf8Name(disk.clone()))?;
        let meta = fs::metadata(&disk).map_err(|source| CreateError::Io {
            path: disk.clone(),
            source,
        })?;
        rel.push(name);
        if meta.is_dir() {
            walk(&disk, rel, parents, out)?;
        } else if meta.is_file() {
            out.push(Source {
                disk,
                path: rel.clone(),
                length: meta.len(),
            });
        } else {
            return Err(CreateError::NotAFile(disk));
        }
        rel.pop();
    }
    parents.pop();
    Ok(())
}

/// Hashes every piece, splitting the pieces into `threads` contiguous ranges.
fn hash_pieces(
    sources: &[Source],
    total: u64,
    piece_length: u32,
    piece_count: u32,
    threads: usize,
) -> Result<Vec<u8>, CreateError> {
    let threads = threads.clamp(1, piece_count as usize) as u32;
    let per = piece_count.div_ceil(threads);
    let ranges: Vec<(u32, u32)> = (0..threads)
        .map(|t| (t * per, ((t + 1) * per).min(piece_count)))
        .filter(|(a, b)| a < b)
        .collect();
    // Offsets of each file's first byte.
    let mut starts = Vec::with_capacity(sources.len());
    let mut off = 0u64;
    for s in sources {
        starts.push(off);
        off += s.length;
    }
    let layout = Layout {
        sources,
        starts: &starts,
        total,
        piece_length,
    };
    let results: Vec<Result<Vec<u8>, CreateError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .iter()
            .map(|&(a, b)| {
                let layout = &layout;
                scope.spawn(move || layout.hash_range(a, b))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut pieces = Vec::with_capacity(piece_count as usize * 20);
    for r in results {
        pieces.extend_from_slice(&r?);
    }
    Ok(pieces)
}

struct Layout<'a> {
    sources: &'a [Source],
    starts: &'a [u64],
    total: u64,
    piece_length: u32,
}

impl Layout<'_> {
    /// SHA-1 of pieces `first..end`, concatenated.
    fn hash_range(&self, first: u32, end: u32) -> Result<Vec<u8>, CreateError> {
        let pl = u64::from(self.piece_length);
        let mut out = Vec::with_capacity((end - first) as usize * 20);
        let mut buf = vec![0u8; self.piece_length as usize];
        let mut open: Option<(usize, File)> = None;
        for piece in first..end {
            let start = u64::from(piece) * pl;
            let len = (self.total - start).min(pl) as usize;
            let buf = &mut buf[..len];
            // The first file holding byte `start` (skipping empty files).
            let mut idx = self.starts.partition_point(|&s| s <= start) - 1;
            let mut filled = 0usize;
            while filled < len {
                let src = &self.sources[idx];
                let pos = start + filled as u64 - self.starts[idx];
                if pos >= src.length {
                    idx += 1;
                    continue;
                }
                let n = ((src.length - pos) as usize).min(len - filled);
                if open.as_ref().is_none_or(|(i, _)| *i != idx) {
                    let f = File::open(&src.disk).map_err(|source| CreateError::Io {
                        path: src.disk.clone(),
                        source,
                    })?;
                    open = Some((idx, f));
                }
                let (_, file) = open.as_mut().expect("opened above");
                read_exact_at(file, &mut buf[filled..filled + n], pos).map_err(|e| {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        CreateError::FileChanged(src.disk.clone())
                    } else {
                        CreateError::Io {
                            path: src.disk.clone(),
                            source: e,
                        }
                    }
                })?;
                filled += n;
                idx += 1;
            }
            out.extend_from_slice(&Sha1::digest(&*buf));
        }
        Ok(out)
    }
}

#[cfg(unix)]
fn read_exact_at(file: &mut File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(file: &mut File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_piece_lengths() {
        assert_eq!(default_piece_length(1), 16 << 10);
        assert_eq!(default_piece_length(1 << 30), 1 << 20);
        assert_eq!(default_piece_length(u64::MAX / 2), 16 << 20);
        for total in [1u64, 1000, 1 << 25, 3 << 30, 1 << 40] {
            let pl = default_piece_length(total);
            assert!(pl.is_power_of_two());
            assert!(total.div_ceil(u64::from(pl)) <= TARGET_PIECES || pl == 16 << 20);
        }
    }
}
