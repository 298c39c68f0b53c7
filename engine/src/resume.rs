//! Fast resume: what a torrent had verified on disk, and how its files
//! looked then, so a restart trusts unchanged files instead of hashing
//! everything again.
//!
//! A resume file is bencoded: the info-hash, the verified-pieces bitfield,
//! each file's size and modification time, the totals uploaded and
//! downloaded, and the folder the files were in. It is written atomically
//! (a temporary file, fsync, rename, fsync of the folder) and only after
//! the torrent's files were flushed, so it never claims a piece that a
//! crash could lose: a restart after SIGKILL at any moment loses at most
//! the pieces completed since the last save. A file that fails to parse is
//! moved aside (`.corrupt`) and the torrent is checked in full. Data
//! recorded for another folder (the same torrent downloaded twice, or
//! seeded from one folder while downloaded to another, with one state
//! directory) is left alone and not used: its pieces are not in this
//! folder and its totals are another copy's.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use monsoon_bencode::{OwnedValue, decode};
use monsoon_piece::Bitfield;
use monsoon_storage::{FileStamp, Storage};

use crate::torrent::{Verdict, Verifier};

/// Largest resume file read (a 2^21-piece bitfield is 256 KiB; a million
/// files' stamps about 40 MiB).
pub(crate) const MAX_RESUME_FILE: u64 = 64 << 20;
/// Trusted pieces hashed anyway, per file, to catch a file replaced with
/// the same size and time (at most `SPOT_CHECKS_TOTAL` in all).
const SPOT_CHECKS_PER_FILE: usize = 2;
const SPOT_CHECKS_TOTAL: usize = 64;

/// Why a resume file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    /// Reading or writing it failed.
    #[error("resume file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// It is not a resume file of this torrent (bad bencode, a missing or
    /// mistyped key, another torrent, the wrong piece or file count).
    #[error("resume file {}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// What a resume file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeData {
    /// The torrent it belongs to.
    pub info_hash: [u8; 20],
    /// Pieces verified and written to disk (flushed) when it was saved.
    pub have: Bitfield,
    /// Each file's size and time then (`None`: it did not exist).
    pub files: Vec<Option<FileStamp>>,
    /// Payload bytes uploaded, all sessions together.
    pub uploaded: u64,
    /// Payload bytes downloaded, all sessions together.
    pub downloaded: u64,
    /// The folder the torrent's files were under ([`folder_key`]).
    pub root: PathBuf,
}

/// How a download folder is recorded and compared: canonical where it
/// exists (a symlinked path to the same folder is the same folder), else
/// absolute.
pub fn folder_key(root: &Path) -> PathBuf {
    fs::canonicalize(root)
        .or_else(|_| std::path::absolute(root))
        .unwrap_or_else(|_| root.to_owned())
}

#[cfg(unix)]
fn path_bytes(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(p: &Path) -> Vec<u8> {
    p.to_string_lossy().as_bytes().to_vec()
}

#[cfg(unix)]
fn bytes_path(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
fn bytes_path(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

impl ResumeData {
    /// Bencoded.
    pub fn encode(&self) -> Vec<u8> {
        let files = self
            .files
            .iter()
            .map(|f| match f {
                None => OwnedValue::dict(),
                Some(s) => OwnedValue::dict()
                    .insert("len", OwnedValue::Int(s.len as i64))
                    .insert("mtime", OwnedValue::Int(s.mtime_secs))
                    .insert("mtime_ns", OwnedValue::Int(i64::from(s.mtime_nanos))),
            })
            .collect();
        OwnedValue::dict()
            .insert("version", OwnedValue::Int(1))
            .insert("info_hash", OwnedValue::bytes(self.info_hash))
            .insert("pieces", OwnedValue::Int(i64::from(self.have.len())))
            .insert("have", OwnedValue::bytes(self.have.as_bytes()))
            .insert("files", OwnedValue::List(files))
            .insert("uploaded", OwnedValue::Int(clamp(self.uploaded)))
            .insert("downloaded", OwnedValue::Int(clamp(self.downloaded)))
            .insert("root", OwnedValue::bytes(path_bytes(&self.root)))
            .encode()
    }

    /// Parses `bytes` as the resume data of a torrent with `info_hash`,
    /// `pieces` pieces and `files` files (`path` names it in errors).
    pub fn decode(
        bytes: &[u8],
        path: &Path,
        info_hash: &[u8; 20],
        pieces: u32,
        files: usize,
    ) -> Result<Self, ResumeError> {
        let bad = |reason| ResumeError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let v = decode(bytes).map_err(|_| bad("not bencode"))?;
        let d = v.as_dict().ok_or_else(|| bad("not a dictionary"))?;
        if d.get_int(b"version") != Some(1) {
            return Err(bad("unknown version"));
        }
        if d.get_bytes(b"info_hash") != Some(&info_hash[..]) {
            return Err(bad("for another torrent"));
        }
        if d.get_int(b"pieces") != Some(i64::from(pieces)) {
            return Err(bad("wrong piece count"));
        }
        let have = d.get_bytes(b"have").ok_or_else(|| bad("no `have`"))?;
        let have = Bitfield::from_bytes(have, pieces).map_err(|_| bad("bad `have` bitfield"))?;
        let list = d.get_list(b"files").ok_or_else(|| bad("no `files`"))?;
        if list.len() != files {
            return Err(bad("wrong file count"));
        }
        let mut stamps = Vec::with_capacity(files);
        for f in list {
            let f = f
                .as_dict()
                .ok_or_else(|| bad("a file is not a dictionary"))?;
            if f.is_empty() {
                stamps.push(None);
                continue;
            }
            let (Some(len), Some(secs), Some(ns)) = (
                f.get_int(b"len"),
                f.get_int(b"mtime"),
                f.get_int(b"mtime_ns"),
            ) else {
                return Err(bad("a file lacks len, mtime or mtime_ns"));
            };
            stamps.push(Some(FileStamp {
                len: u64::try_from(len).map_err(|_| bad("negative length"))?,
                mtime_secs: secs,
                mtime_nanos: u32::try_from(ns).map_err(|_| bad("bad mtime_ns"))?,
            }));
        }
        let count = |key: &[u8]| {
            d.get_int(key)
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0)
        };
        Ok(Self {
            info_hash: *info_hash,
            have,
            files: stamps,
            uploaded: count(b"uploaded"),
            downloaded: count(b"downloaded"),
            root: bytes_path(
                d.get(b"root")
                    .ok_or_else(|| bad("no `root`"))?
                    .as_bytes()
                    .ok_or_else(|| bad("`root` is not a string"))?,
            ),
        })
    }

    /// Reads and parses the resume file at `path` for the torrent's files
    /// under `root`. `Ok(None)` when there is none, and when it was
    /// recorded for another folder (then it is left as it is); a file that
    /// cannot be used is moved aside to `PATH.corrupt` (so it is reported
    /// once and not read again) and its error returned.
    pub fn load(
        path: &Path,
        info_hash: &[u8; 20],
        pieces: u32,
        files: usize,
        root: &Path,
    ) -> Result<Option<Self>, ResumeError> {
        let io_err = |source| ResumeError::Io {
            path: path.to_owned(),
            source,
        };
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_RESUME_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
        let parsed = if bytes.len() as u64 > MAX_RESUME_FILE {
            Err(ResumeError::Invalid {
                path: path.to_owned(),
                reason: "too large",
            })
        } else {
            Self::decode(&bytes, path, info_hash, pieces, files)
        };
        match parsed {
            Ok(d) if d.root != folder_key(root) => {
                tracing::info!(
                    resume = %path.display(),
                    recorded = %d.root.display(),
                    folder = %root.display(),
                    "resume data is for another folder: not used"
                );
                Ok(None)
            }
            Ok(d) => Ok(Some(d)),
            Err(e) => {
                let _ = fs::rename(path, path.with_extension("resume.corrupt"));
                Err(e)
            }
        }
    }

    /// Writes `self` to `path` atomically: a temporary file beside it,
    /// fsync, rename over `path`, fsync of the folder.
    pub fn save(&self, path: &Path) -> Result<(), ResumeError> {
        let io_err = |source| ResumeError::Io {
            path: path.to_owned(),
            source,
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io_err)?;
        let tmp = path.with_extension("resume.tmp");
        let mut f = File::create(&tmp).map_err(io_err)?;
        f.write_all(&self.encode()).map_err(io_err)?;
        f.sync_all().map_err(io_err)?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err)?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(io_err)?;
        Ok(())
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The check of existing data with a resume file: pieces the resume file
/// claims whose files are unchanged (same size and time) are trusted, after
/// hashing a few random ones per file; the pieces of every changed, grown
/// or shrunk file are hashed; pieces with data in a file that is not there
/// are missing without a read; pieces of unchanged files that the resume
/// file does not claim are missing. Returns the valid pieces.
pub(crate) fn check_with_resume(
    storage: &dyn Storage,
    verifier: &Verifier,
    resume: &ResumeData,
) -> Result<Bitfield, monsoon_storage::StorageError> {
    let seed = random_seed();
    let layout = storage.layout();
    let n = layout.piece_count();
    let files = layout.files();
    let stamps: Vec<Option<Option<FileStamp>>> = files
        .iter()
        .map(|f| (!f.is_padding() && f.length() > 0).then(|| storage.file_stamp(f.index())))
        .collect();
    // Files that are not there (as the full check, which skips them): a
    // read of each of their pieces would only fail.
    let gone: Vec<bool> = stamps
        .iter()
        .enumerate()
        .map(|(i, s)| matches!(s, Some(None)) && !storage.file_exists(i))
        .collect();
    let mut changed: Vec<bool> = stamps
        .iter()
        .enumerate()
        .map(|(i, s)| match s {
            None => false,
            Some(now) => now.is_none() || *now != resume.files.get(i).copied().flatten(),
        })
        .collect();
    // Spot checks: a few claimed pieces of each unchanged file.
    let mut spots = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if changed[i] || f.is_padding() || f.length() == 0 || spots.len() >= SPOT_CHECKS_TOTAL {
            continue;
        }
        let range = layout.file_pieces(i);
        let claimed: Vec<u32> = range.filter(|&p| resume.have.get(p)).collect();
        if claimed.is_empty() {
            continue;
        }
        for p in spot_picks(&claimed, seed ^ i as u64, SPOT_CHECKS_PER_FILE) {
            spots.push((i, p));
        }
    }
    if verifier.piece_count() != n {
        return Err(monsoon_storage::StorageError::HashCountMismatch {
            expected: n,
            actual: verifier.piece_count() as usize,
        });
    }
    for (i, p) in spots {
        if !matches!(
            hash_pieces(storage, verifier, &[p]).as_deref(),
            Ok([(_, true)])
        ) {
            changed[i] = true;
        }
    }
    let mut have = Bitfield::new(n);
    let mut to_hash = Vec::new();
    for p in 0..n {
        if layout
            .spans_iter(p, 0, layout.piece_size(p))
            .any(|s| gone.get(s.file).copied().unwrap_or(false))
        {
            continue;
        }
        let touches_changed = layout
            .spans_iter(p, 0, layout.piece_size(p))
            .any(|s| changed.get(s.file).copied().unwrap_or(true));
        if touches_changed {
            to_hash.push(p);
        } else if resume.have.get(p) {
            have.set(p, true);
        }
    }
    for (p, ok) in hash_pieces(storage, verifier, &to_hash)? {
        have.set(p, ok);
    }
    Ok(have)
}

/// A different seed on every start, so that repeated restarts look at
/// different pieces of an unchanged file (as rqbit does).
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

/// Up to `n` distinct pieces of `claimed`, drawn at random from `seed`
/// (splitmix64).
fn spot_picks(claimed: &[u32], seed: u64, n: usize) -> Vec<u32> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut picks: Vec<u32> = Vec::with_capacity(n);
    // Bounded: at most 4n draws, duplicates skipped.
    for _ in 0..4 * n {
        if picks.len() == n.min(claimed.len()) {
            break;
        }
        let p = claimed[(next() % claimed.len() as u64) as usize];
        if !picks.contains(&p) {
            picks.push(p);
        }
    }
    picks
}

/// Hashes `pieces` on every core; a missing or short file counts as an
/// invalid piece, another error stops the check.
fn hash_pieces(
    storage: &dyn Storage,
    verifier: &Verifier,
    pieces: &[u32],
) -> Result<Vec<(u32, bool)>, monsoon_storage::StorageError> {
    let threads = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .max(1);
    let chunk = pieces.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let workers: Vec<_> = pieces
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut out = Vec::with_capacity(part.len());
                    let mut buf = Vec::new();
                    for &p in part {
                        let size = storage.layout().piece_size(p) as usize;
                        buf.resize(size, 0);
                        let ok = match storage.read_into(p, 0, &mut buf) {
                            Ok(()) => verifier.piece(p).check_data(&buf) == Verdict::Match,
                            Err(e) if e.is_missing_data() => false,
                            Err(e) => return Err(e),
                        };
                        out.push((p, ok));
                    }
                    Ok(out)
                })
            })
            .collect();
        let mut all = Vec::with_capacity(pieces.len());
        for w in workers {
            match w.join() {
                Ok(r) => all.extend(r?),
                Err(_) => {
                    return Err(monsoon_storage::StorageError::Io {
                        path: PathBuf::new(),
                        source: io::Error::other("a hashing thread panicked"),
                    });
                }
            }
        }
        Ok(all)
    })
}

#[cfg(test)]
mod tests {
    use super::spot_picks;

    #[test]
    fn spot_picks_are_distinct_claimed_pieces_that_vary_with_the_seed() {
        let claimed: Vec<u32> = (10..50).collect();
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let picks = spot_picks(&claimed, seed, 2);
            assert_eq!(picks.len(), 2);
            assert_ne!(picks[0], picks[1]);
            assert!(picks.iter().all(|p| claimed.contains(p)));
            assert_eq!(
                picks,
                spot_picks(&claimed, seed, 2),
                "same seed, same picks"
            );
            seen.extend(picks);
        }
        // Over many starts every piece gets looked at.
        assert_eq!(seen.len(), claimed.len());
        assert_eq!(spot_picks(&[7], 3, 2), [7]);
        assert!(spot_picks(&[], 3, 2).is_empty());
    }
}
