//! [`Metainfo`]: parsing and validating a .torrent file (v1, v2 or hybrid),
//! and the top-level fields (trackers, web seeds, comment).

use std::collections::{BTreeMap, HashSet};

use monsoon_bencode::{DecodeOptions, Dict, Value};
use monsoon_storage::FileTable;
use monsoon_storage::merkle::Hash256;
use sha1::{Digest, Sha1};
use sha2::Sha256;

use crate::conflicts::resolve_conflicts;
use crate::error::MetainfoError;
use crate::hex;
use crate::paths::decode_utf8;
use crate::symlinks::resolve_symlinks;
use crate::{v1, v2};

/// Largest accepted `piece length`: 64 MiB.
///
/// The engine assembles a whole piece in memory before hashing it, so this
/// bounds the memory one in-flight piece can take. Real torrents rarely use
/// more than 16 MiB. (libtorrent accepts up to 1 GiB: a deliberate
/// difference.)
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
/// rejected: no real torrent comes close, and it bounds path lengths and
/// the recursion over a v2 file tree.
pub const MAX_PATH_DEPTH: usize = 64;

/// Largest accepted file: just under 2^30 blocks of 16 KiB (about 16 TiB),
/// libtorrent's limit (it indexes a file's merkle tree with an `int`).
pub const MAX_FILE_LENGTH: u64 = (i32::MAX as u64 / 2) * 16384 - 1;

/// Largest accepted total length (padding included): 2^48 − 1 bytes,
/// libtorrent's limit.
pub const MAX_TOTAL_LENGTH: u64 = (1 << 48) - 1;

/// Which BitTorrent protocol versions a torrent supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MetaVersion {
    /// BitTorrent v1 (BEP 3): SHA-1 piece hashes, files end to end.
    #[default]
    V1,
    /// BitTorrent v2 only (BEP 52): per-file SHA-256 merkle trees.
    V2,
    /// Both: a v1 `pieces` list and a v2 `file tree` describing the same
    /// data, with each file padded to a piece boundary.
    Hybrid,
}

impl MetaVersion {
    /// Whether v1 peers can download it (v1 or hybrid).
    pub fn has_v1(self) -> bool {
        self != MetaVersion::V2
    }

    /// Whether it carries v2 data (v2 or hybrid).
    pub fn has_v2(self) -> bool {
        self != MetaVersion::V1
    }
}

/// A parsed and validated torrent: BEP 3 with BEP 12 tiers, BEP 19 web
/// seeds, BEP 27 private flag, BEP 47 file attributes, and BEP 52 v2 and
/// hybrid torrents.
///
/// The v1 view (`info_hash`, `pieces`, `files` laid end to end) means the
/// same for v1 and hybrid torrents. For a v2 torrent `files` also includes
/// the padding v2 implies after each file (so every file starts on a piece
/// boundary) and `pieces` is empty; [`Metainfo::version`] tells them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metainfo {
    /// The 20-byte info-hash used with trackers, the DHT and in the
    /// handshake: the SHA-1 of the raw `info` dictionary (exactly as it
    /// appears in the file) for v1 and hybrid torrents; for a v2-only
    /// torrent, the SHA-256 truncated to 20 bytes, as BEP 52 says.
    pub info_hash: [u8; 20],
    /// The v2 info-hash, SHA-256 of the raw `info` dictionary (v2 and
    /// hybrid torrents).
    pub info_hash_v2: Option<[u8; 32]>,
    /// v1, v2 or hybrid.
    pub version: MetaVersion,
    /// The torrent's name (sanitised: a single safe path component).
    pub name: String,
    /// Bytes per piece (the last piece may be shorter).
    pub piece_length: u32,
    /// SHA-1 of every piece (empty for a v2-only torrent).
    pub pieces: Vec<[u8; 20]>,
    /// The files in torrent order: full sanitised paths, lengths, offsets,
    /// BEP 47 attributes and v2 merkle roots, in a compact table (see
    /// [`FileTable`]; a clone shares it, so a storage
    /// [`Layout`](monsoon_storage::Layout) built from it costs nothing per
    /// file).
    ///
    /// Paths are `[name]` for a single-file torrent, `[name, dir, ...,
    /// file]` for a multi-file one. Every component is sanitised (see the
    /// crate docs): joined under any folder, the path stays inside it. No
    /// two files share a path, and no file's path is the folder of another
    /// (conflicts are renamed as libtorrent does: `dir/a.txt` becomes
    /// `dir/a.1.txt`). A symbolic link's target ([`FileRef::symlink`]) is
    /// given like a path, from the download folder, and always names a file
    /// or folder of this torrent (a link whose target is not in the torrent
    /// points to itself, as in libtorrent); a link has no data: create it
    /// (inside the download folder only) instead of writing a file.
    ///
    /// [`FileRef::symlink`]: monsoon_storage::FileRef::symlink
    pub files: FileTable,
    /// Sum of all file lengths (padding included).
    pub total_length: u64,
    /// Whether the torrent's files live in a folder named
    /// [`Metainfo::name`] (a `files` list, or a v2 `file tree` that is not
    /// a single file).
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
    /// BEP 52 piece layers, by file index: for each file larger than one
    /// piece whose layer the .torrent carries, one SHA-256 per piece of the
    /// file, checked against the file's
    /// [`FileRef::pieces_root`](monsoon_storage::FileRef::pieces_root). A file
    /// missing here needs its layer from peers (`hash request`).
    pub piece_layers: BTreeMap<usize, Vec<Hash256>>,
}

impl Metainfo {
    /// Parses and validates a .torrent file.
    ///
    /// It accepts what libtorrent accepts and rejects what it rejects (see
    /// the crate docs for the rules and the few deliberate differences).
    /// Decoding is lenient about key order in v1 torrents (real torrents have
    /// unsorted keys), and the info-hashes are taken over the raw `info`
    /// bytes, so such a torrent keeps its true hash. Bytes after the
    /// top-level dictionary are ignored. Malformed optional fields
    /// (`announce-list` entries that are not strings, a non-integer
    /// `creation date`, …) are ignored, as other clients do; malformed
    /// required fields are errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Metainfo, MetainfoError> {
        let opts = DecodeOptions::new()
            .lenient()
            .max_string(MAX_PIECES as usize * 20);
        let (value, _trailing) = opts.decode_prefix(bytes)?;
        let top = value.as_dict().ok_or(MetainfoError::NotADict)?;
        let info = top
            .get(b"info")
            .ok_or(MetainfoError::MissingInfo)?
            .as_dict()
            .ok_or(MetainfoError::InvalidInfo)?;
        let sha1: [u8; 20] = Sha1::digest(info.raw()).into();

        let meta_version = info.get_int(b"meta version");
        if let Some(v) = meta_version.filter(|&v| v > 0) {
            if v > 2 {
                return Err(MetainfoError::UnsupportedVersion(v));
            }
            DecodeOptions::new()
                .max_string(MAX_PIECES as usize * 20)
                .decode(info.raw())
                .map_err(MetainfoError::NotCanonical)?;
        }
        let v2_declared = meta_version == Some(2);
        let tree = info.get_dict(b"file tree");
        match (v2_declared, tree) {
            (true, None) => return Err(MetainfoError::MissingFileTree),
            (false, Some(_)) => return Err(MetainfoError::FileTreeWithoutVersion),
            _ => {}
        }

        let piece_length = piece_length(info, v2_declared)?;
        let name_raw = match info.get(b"name.utf-8").filter(|v| v.as_bytes().is_some()) {
            Some(v) => v,
            None => info.get(b"name").ok_or(MetainfoError::MissingName)?,
        }
        .as_bytes()
        .ok_or(MetainfoError::InvalidName)?;
        let files_list = info.get_list(b"files");
        // A v2 torrent is hybrid when it also has the v1 file fields.
        let version = match tree {
            None => MetaVersion::V1,
            Some(_) if files_list.is_some() || info.get(b"length").is_some() => MetaVersion::Hybrid,
            Some(_) => MetaVersion::V2,
        };
        // A name that sanitises to nothing ("", ".", "..") becomes the
        // SHA-1 info-hash in hex, as libtorrent does.
        let dir_name = crate::paths::sanitize_component(name_raw)
            .map_or_else(|| hex::encode(&sha1), Into::into);

        let v1_files = match version {
            MetaVersion::V2 => None,
            _ => Some(v1::files(info, files_list, name_raw, &dir_name)?),
        };
        let (mut files, multi_file) = match tree {
            Some(tree) => {
                let (mut files, multi) =
                    v2::files(tree, &dir_name, files_list.is_some(), piece_length)?;
                if let Some((v1_files, _)) = &v1_files {
                    v2::check_hybrid(&mut files, v1_files)?;
                }
                (files, multi)
            }
            None => v1_files.expect("v1 when there is no file tree"),
        };
        let total_length = files.total_length();
        if total_length > MAX_TOTAL_LENGTH {
            return Err(MetainfoError::LengthOverflow);
        }
        let piece_count = total_length.div_ceil(u64::from(piece_length));
        if piece_count > u64::from(MAX_PIECES) {
            return Err(MetainfoError::TooManyPieces(piece_count));
        }
        let pieces = match info.get_bytes(b"pieces") {
            None if version.has_v1() => return Err(MetainfoError::MissingPieces),
            None => Vec::new(),
            Some(raw) => {
                let pieces = pieces(raw, piece_count)?;
                if version.has_v1() { pieces } else { Vec::new() }
            }
        };
        if total_length == 0 {
            return Err(MetainfoError::ZeroTotalLength);
        }

        let info_hash_v2: Option<[u8; 32]> =
            version.has_v2().then(|| Sha256::digest(info.raw()).into());
        let info_hash = match info_hash_v2 {
            Some(h) if !version.has_v1() => h[..20].try_into().expect("20 of 32 bytes"),
            _ => sha1,
        };
        let name = if multi_file {
            dir_name
        } else {
            files.file(0).name().to_owned()
        };
        let piece_layers = match (version.has_v2(), top.get_dict(b"piece layers")) {
            (true, Some(layers)) => v2::piece_layers(layers, &files, piece_length)?,
            _ => BTreeMap::new(),
        };
        let mut meta = Metainfo {
            info_hash,
            info_hash_v2,
            version,
            name,
            piece_length,
            pieces,
            files: FileTable::default(),
            total_length,
            multi_file,
            trackers: trackers(top),
            url_list: url_list(top),
            private: info.get_int(b"private").is_some_and(|p| p != 0),
            creation_date: top.get_int(b"creation date").filter(|&d| d >= 0),
            comment: text(top, b"comment", b"comment.utf-8"),
            created_by: text(top, b"created by", b"created by.utf-8"),
            info_bytes: Vec::new(),
            piece_layers,
        };
        let info_raw = info.raw();
        // The decoded tree (hundreds of bytes a file) is not needed any
        // more: freed before the copy of the info dictionary and the path
        // checks, so that it never adds to their memory.
        drop(value);
        if multi_file {
            resolve_symlinks(&mut files);
        }
        resolve_conflicts(&mut files, multi_file.then_some(meta.name.as_str()));
        meta.files = files;
        meta.info_bytes = info_raw.to_vec();
        Ok(meta)
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        // Bounded by MAX_PIECES at parse time.
        self.total_length.div_ceil(u64::from(self.piece_length)) as u32
    }

    /// Length of piece `index` (the last one may be short); 0 if out of range.
    pub fn piece_size(&self, index: u32) -> u32 {
        if index >= self.piece_count() {
            return 0;
        }
        let start = u64::from(index) * u64::from(self.piece_length);
        let len = (self.total_length - start).min(u64::from(self.piece_length));
        len as u32
    }

    /// The info-hash as 40 lower-case hex digits.
    pub fn info_hash_hex(&self) -> String {
        hex::encode(&self.info_hash)
    }

    /// The v2 info-hash as 64 lower-case hex digits.
    pub fn info_hash_v2_hex(&self) -> Option<String> {
        self.info_hash_v2.map(|h| hex::encode(&h))
    }

    /// The v2 hashes of file `file`'s pieces: its piece layer for a file
    /// larger than a piece (if the .torrent carries it), its `pieces root`
    /// for a file of one piece; `None` for padding, empty files, v1
    /// torrents and a missing layer.
    pub fn piece_layer(&self, file: usize) -> Option<&[Hash256]> {
        let f = self.files.get(file)?;
        let root = f.pieces_root()?;
        if f.length() <= u64::from(self.piece_length) {
            return Some(std::slice::from_ref(root));
        }
        self.piece_layers.get(&file).map(Vec::as_slice)
    }

    /// Whether every file's v2 piece hashes are known (always true for a
    /// v1-only torrent): a torrent loaded from a magnet link or a .torrent
    /// without `piece layers` must fetch them from peers first.
    pub fn has_piece_layers(&self) -> bool {
        self.files
            .iter()
            .all(|f| f.pieces_root().is_none() || self.piece_layer(f.index()).is_some())
    }
}

fn piece_length(info: &Dict<'_>, v2: bool) -> Result<u32, MetainfoError> {
    let pl = info
        .get_int(b"piece length")
        .ok_or(MetainfoError::MissingPieceLength)?;
    if pl <= 0 {
        return Err(MetainfoError::InvalidPieceLength(pl));
    }
    if pl > i64::from(MAX_PIECE_LENGTH) {
        return Err(MetainfoError::PieceLengthTooLarge(pl));
    }
    if v2 && (pl < 16384 || pl & (pl - 1) != 0) {
        return Err(MetainfoError::PieceLengthNotPowerOfTwo(pl));
    }
    Ok(pl as u32)
}

fn pieces(raw: &[u8], expected: u64) -> Result<Vec<[u8; 20]>, MetainfoError> {
    if raw.len() % 20 != 0 {
        return Err(MetainfoError::PiecesNotMultipleOf20(raw.len()));
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

/// A text field: the `.utf-8` variant when it is a non-empty string, else
/// the plain one; invalid UTF-8 sequences become `_` (as libtorrent does).
fn text(d: &Dict<'_>, key: &[u8], utf8_key: &[u8]) -> Option<String> {
    d.get_bytes(utf8_key)
        .filter(|t| !t.is_empty())
        .or_else(|| d.get_bytes(key))
        .map(decode_utf8)
}
