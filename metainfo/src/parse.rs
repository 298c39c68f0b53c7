//! Parsing and validating v1 .torrent files into [`Metainfo`].

use std::collections::HashSet;
use std::path::PathBuf;

use monsoon_bencode::{DecodeOptions, Dict, Value};
use sha1::{Digest, Sha1};

use crate::error::MetainfoError;
use crate::hex;
use crate::paths::{join, lossy, sanitize_component};

/// Largest accepted `piece length`: 64 MiB.
///
/// The engine assembles a whole piece in memory before hashing it, so this
/// bounds the memory one in-flight piece can take. Real torrents rarely use
/// more than 16 MiB; libtorrent's creator stops at 128 MiB only for v2.
pub const MAX_PIECE_LENGTH: u32 = 64 << 20;

/// Largest accepted number of pieces: 2^21 (2 097 152), libtorrent's default
/// `max_pieces` load limit.
///
/// It bounds the `pieces` string to 40 MiB and a bitfield to 256 KiB, while
/// still allowing 128 TiB torrents at the maximum piece length (or 32 GiB at
/// a 16 KiB piece length).
pub const MAX_PIECES: u32 = 1 << 21;

/// Largest accepted number of components in a file's path inside a
/// multi-file torrent (not counting the torrent's name). Deeper trees are
/// rejected: no real torrent comes close, and it bounds path lengths.
pub const MAX_PATH_DEPTH: usize = 64;

/// A parsed and validated v1 torrent (BEP 3, with BEP 12 tiers, BEP 19 web
/// seeds, BEP 27 private flag and BEP 47 padding files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metainfo {
    /// SHA-1 of the raw `info` dictionary, exactly as it appears in the file.
    pub info_hash: [u8; 20],
    /// The torrent's name (sanitised: a single safe path component).
    pub name: String,
    /// Bytes per piece (the last piece may be shorter).
    pub piece_length: u32,
    /// SHA-1 of every piece.
    pub pieces: Vec<[u8; 20]>,
    /// The files in torrent order, with full sanitised paths and offsets.
    pub files: Vec<FileInfo>,
    /// Sum of all file lengths (padding included).
    pub total_length: u64,
    /// Whether the torrent has a `files` list (its files live in a folder
    /// named [`Metainfo::name`]).
    pub multi_file: bool,
    /// Tracker tiers (BEP 12): `announce-list` when it holds any URL,
    /// deduplicated, else `announce` alone as one tier.
    pub trackers: Vec<Vec<String>>,
    /// Web seeds (BEP 19 `url-list`).
    pub url_list: Vec<String>,
    /// The BEP 27 private flag.
    pub private: bool,
    /// `creation date`, seconds since the Unix epoch.
    pub creation_date: Option<i64>,
    /// `comment`.
    pub comment: Option<String>,
    /// `created by`.
    pub created_by: Option<String>,
    /// The raw bytes of the `info` dictionary (served to peers by BEP 9).
    pub info_bytes: Vec<u8>,
}

/// One file of a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Full relative path under the download folder: `[name]` for a
    /// single-file torrent, `[name, dir, ..., file]` for a multi-file one.
    /// Every component is sanitised (see the module docs): joined under any
    /// folder, the path stays inside it.
    pub path: Vec<String>,
    /// Length in bytes.
    pub length: u64,
    /// A BEP 47 padding file (`attr` contains `p`): its bytes are zeros and
    /// need not be written to disk.
    pub padding: bool,
    /// Offset of the file's first byte in the torrent's byte stream.
    pub offset: u64,
}

impl FileInfo {
    /// The path as a relative [`PathBuf`] (only plain components).
    pub fn relative_path(&self) -> PathBuf {
        join(&self.path)
    }
}

impl Metainfo {
    /// Parses and validates a .torrent file.
    ///
    /// Decoding is lenient about key order (real torrents have unsorted
    /// keys), and the info-hash is taken over the raw `info` bytes, so such a
    /// torrent keeps its true hash. A hybrid v1/v2 torrent loads through its
    /// v1 fields; a v2-only torrent is rejected with [`MetainfoError::V2Only`].
    /// Malformed optional fields (`announce-list` entries that are not
    /// strings, a non-integer `creation date`, …) are ignored, as other
    /// clients do; malformed required fields are errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Metainfo, MetainfoError> {
        let opts = DecodeOptions::new()
            .lenient()
            .max_string(MAX_PIECES as usize * 20);
        let value = opts.decode(bytes)?;
        let top = value.as_dict().ok_or(MetainfoError::NotADict)?;
        let info = top
            .get(b"info")
            .ok_or(MetainfoError::MissingInfo)?
            .as_dict()
            .ok_or(MetainfoError::InvalidInfo)?;
        let info_hash: [u8; 20] = Sha1::digest(info.raw()).into();

        match info.get_int(b"meta version") {
            None | Some(1) => {}
            Some(2) if info.get(b"pieces").is_none() => return Err(MetainfoError::V2Only),
            Some(2) => {}
            Some(v) => return Err(MetainfoError::UnsupportedVersion(v)),
        }

        let name_raw = info
            .get(b"name")
            .ok_or(MetainfoError::MissingName)?
            .as_bytes()
            .ok_or(MetainfoError::InvalidName)?;
        let name = info
            .get_str(b"name.utf-8")
            .map(str::to_owned)
            .unwrap_or_else(|| lossy(name_raw));
        // A name that sanitises to nothing ("", ".", "..") becomes the
        // info-hash, as libtorrent does.
        let name = sanitize_component(&name).unwrap_or_else(|| hex::encode(&info_hash));

        let piece_length = piece_length(info)?;
        let (files, total_length, multi_file) = files(info, &name)?;
        let pieces = pieces(info, total_length, piece_length)?;

        Ok(Metainfo {
            info_hash,
            name,
            piece_length,
            pieces,
            files,
            total_length,
            multi_file,
            trackers: trackers(top),
            url_list: url_list(top),
            private: info.get_int(b"private") == Some(1),
            creation_date: top.get_int(b"creation date"),
            comment: text(top, b"comment", b"comment.utf-8"),
            created_by: text(top, b"created by", b"created by.utf-8"),
            info_bytes: info.raw().to_vec(),
        })
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        // Bounded by MAX_PIECES at parse time.
        self.pieces.len() as u32
    }

    /// Length of piece `index` (the last one may be short); 0 if out of range.
    pub fn piece_size(&self, index: u32) -> u32 {
        let start = u64::from(index) * u64::from(self.piece_length);
        if index >= self.piece_count() {
            return 0;
        }
        let len = (self.total_length - start).min(u64::from(self.piece_length));
        len as u32
    }

    /// The info-hash as 40 lower-case hex digits.
    pub fn info_hash_hex(&self) -> String {
        hex::encode(&self.info_hash)
    }
}

fn piece_length(info: &Dict<'_>) -> Result<u32, MetainfoError> {
    let pl = info
        .get_int(b"piece length")
        .ok_or(MetainfoError::MissingPieceLength)?;
    if pl <= 0 {
        return Err(MetainfoError::InvalidPieceLength(pl));
    }
    if pl > i64::from(MAX_PIECE_LENGTH) {
        return Err(MetainfoError::PieceLengthTooLarge(pl));
    }
    Ok(pl as u32)
}

fn length_of(d: &Dict<'_>, file: usize) -> Result<u64, MetainfoError> {
    d.get_int(b"length")
        .and_then(|l| u64::try_from(l).ok())
        .ok_or(MetainfoError::InvalidLength { file })
}

/// The files, the total length and whether the torrent is multi-file.
fn files(info: &Dict<'_>, name: &str) -> Result<(Vec<FileInfo>, u64, bool), MetainfoError> {
    let Some(list) = info.get(b"files") else {
        if info.get(b"length").is_none() {
            return Err(MetainfoError::MissingLength);
        }
        let length = length_of(info, 0)?;
        if length == 0 {
            return Err(MetainfoError::ZeroTotalLength);
        }
        let file = FileInfo {
            path: vec![name.to_owned()],
            length,
            padding: false,
            offset: 0,
        };
        return Ok((vec![file], length, false));
    };
    let list = match list.as_list() {
        Some(l) if !l.is_empty() => l,
        _ => return Err(MetainfoError::EmptyFileList),
    };
    let mut files = Vec::with_capacity(list.len());
    let mut seen: HashSet<Vec<String>> = HashSet::new();
    let mut offset = 0u64;
    for (i, entry) in list.iter().enumerate() {
        let d = entry
            .as_dict()
            .ok_or(MetainfoError::InvalidFileEntry { file: i })?;
        let length = length_of(d, i)?;
        let padding = d.get_bytes(b"attr").is_some_and(|a| a.contains(&b'p'));
        let raw = file_path(d, i)?;
        if raw.len() > MAX_PATH_DEPTH {
            return Err(MetainfoError::PathTooDeep {
                file: i,
                depth: raw.len(),
            });
        }
        let mut path = Vec::with_capacity(raw.len() + 1);
        path.push(name.to_owned());
        path.extend(raw.iter().filter_map(|c| sanitize_component(c)));
        if path.len() == 1 {
            path.push("_".to_owned());
        }
        if !padding {
            make_unique(&mut path, &mut seen);
        }
        files.push(FileInfo {
            path,
            length,
            padding,
            offset,
        });
        offset = offset
            .checked_add(length)
            .ok_or(MetainfoError::LengthOverflow)?;
    }
    if offset == 0 {
        return Err(MetainfoError::ZeroTotalLength);
    }
    Ok((files, offset, true))
}

/// The raw components of a file's path: `path.utf-8` when it is a list of
/// UTF-8 strings, else `path` decoded lossily.
fn file_path(d: &Dict<'_>, file: usize) -> Result<Vec<String>, MetainfoError> {
    if let Some(l) = d.get_list(b"path.utf-8") {
        let utf8: Option<Vec<String>> = l.iter().map(|c| c.as_str().map(str::to_owned)).collect();
        if let Some(p) = utf8 {
            return Ok(p);
        }
    }
    let l = d
        .get_list(b"path")
        .ok_or(MetainfoError::InvalidPath { file })?;
    l.iter()
        .map(|c| c.as_bytes().map(lossy))
        .collect::<Option<Vec<_>>>()
        .ok_or(MetainfoError::InvalidPath { file })
}

/// Two files must not share a path (sanitising can map different names to
/// the same one): later duplicates get `.1`, `.2`, … appended, as libtorrent
/// does.
fn make_unique(path: &mut [String], seen: &mut HashSet<Vec<String>>) {
    if seen.insert(path.to_vec()) {
        return;
    }
    let last = path.len() - 1;
    let base = path[last].clone();
    for n in 1u64.. {
        path[last] = format!("{base}.{n}");
        if seen.insert(path.to_vec()) {
            return;
        }
    }
}

fn pieces(info: &Dict<'_>, total: u64, piece_length: u32) -> Result<Vec<[u8; 20]>, MetainfoError> {
    let raw = info
        .get_bytes(b"pieces")
        .ok_or(MetainfoError::MissingPieces)?;
    if raw.len() % 20 != 0 {
        return Err(MetainfoError::PiecesNotMultipleOf20(raw.len()));
    }
    let expected = total.div_ceil(u64::from(piece_length));
    if expected > u64::from(MAX_PIECES) {
        return Err(MetainfoError::TooManyPieces(expected));
    }
    let actual = raw.len() / 20;
    if actual as u64 != expected {
        return Err(MetainfoError::PieceCountMismatch { expected, actual });
    }
    Ok(raw
        .chunks_exact(20)
        .map(|c| c.try_into().expect("chunks_exact(20) yields 20 bytes"))
        .collect())
}

fn trackers(top: &Dict<'_>) -> Vec<Vec<String>> {
    let mut seen = HashSet::new();
    let mut tiers = Vec::new();
    if let Some(list) = top.get_list(b"announce-list") {
        for tier in list.iter().filter_map(Value::as_list) {
            let urls: Vec<String> = tier
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|u| !u.is_empty() && seen.insert(u.to_string()))
                .map(str::to_owned)
                .collect();
            if !urls.is_empty() {
                tiers.push(urls);
            }
        }
    }
    if tiers.is_empty() {
        if let Some(a) = top.get_str(b"announce").map(str::trim) {
            if !a.is_empty() {
                tiers.push(vec![a.to_owned()]);
            }
        }
    }
    tiers
}

fn url_list(top: &Dict<'_>) -> Vec<String> {
    let urls: Vec<&str> = match top.get(b"url-list") {
        Some(Value::Bytes(_)) => top.get_str(b"url-list").into_iter().collect(),
        Some(Value::List(l)) => l.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut seen = HashSet::new();
    urls.into_iter()
        .map(str::trim)
        .filter(|u| !u.is_empty() && seen.insert(*u))
        .map(str::to_owned)
        .collect()
}

/// A text field: the `.utf-8` variant when valid, else the plain one decoded lossily.
fn text(d: &Dict<'_>, key: &[u8], utf8_key: &[u8]) -> Option<String> {
    d.get_str(utf8_key)
        .map(str::to_owned)
        .or_else(|| d.get_bytes(key).map(lossy))
}
