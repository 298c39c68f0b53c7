//! Creating .torrent files (v1, v2 or hybrid) from a file or a folder, with
//! the storage crate's layout and parallel hashing.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use monsoon_bencode::OwnedValue;
use monsoon_storage::merkle::{self, Hash256};
use monsoon_storage::{Digests, FileEntry, Layout, Storage, StorageError, hash_pieces};

use crate::error::CreateError;
use crate::parse::{
    MAX_FILE_LENGTH, MAX_PATH_DEPTH, MAX_PIECE_LENGTH, MAX_PIECES, MAX_TOTAL_LENGTH, MetaVersion,
};

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
    /// Which kind of torrent to make: v1 (the default), v2 (BEP 52 only) or
    /// hybrid (both, loadable by v1-only and v2 clients, as libtorrent makes
    /// by default).
    pub version: MetaVersion,
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

/// Makes a .torrent (bencoded bytes) for the file or folder at `path`.
///
/// A folder's files are listed recursively in sorted order (byte order of
/// each name, which is also the order of a v2 `file tree`), so the same tree
/// always gives the same torrent. Symbolic links are followed; anything that
/// is not a regular file or directory, a non-UTF-8 name, or a tree deeper
/// than [`MAX_PATH_DEPTH`] is an error — nothing is skipped silently. Empty
/// files are kept.
///
/// v2 and hybrid torrents pad every file of a multi-file torrent to a piece
/// boundary (hybrids list the padding as BEP 47 `.pad` files, as libtorrent
/// does) and carry the `piece layers` of every file larger than a piece.
///
/// The data is laid out with `monsoon_storage::Layout` and hashed with
/// `monsoon_storage::hash_pieces` on [`CreateOptions::threads`] threads
/// (SHA-1 for v1, the merkle piece hashes for v2, one read for both).
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
    if let Some(s) = sources.iter().find(|s| s.length > MAX_FILE_LENGTH) {
        return Err(CreateError::TooLarge(s.disk.clone()));
    }
    let data: u64 = sources.iter().map(|s| s.length).sum();
    if data == 0 {
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
        None => default_piece_length(data),
    };
    let version = opts.version;
    let aligned = version.has_v2() && multi;
    let source = Sources::new(sources, piece_length, aligned)
        .map_err(|_| CreateError::TooLarge(path.to_owned()))?;
    let layout = source.layout();
    if layout.total_len() > MAX_TOTAL_LENGTH {
        return Err(CreateError::TooLarge(path.to_owned()));
    }
    let piece_count = u64::from(layout.piece_count());
    if piece_count > u64::from(MAX_PIECES) {
        return Err(CreateError::TooManyPieces(piece_count));
    }
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let digests = Digests {
        sha1: version.has_v1(),
        merkle: version.has_v2(),
    };
    let hashes = hash_pieces(&source, digests, threads).map_err(|e| source.error(e))?;

    let mut info = OwnedValue::dict()
        .insert("name", name.as_str().into())
        .insert("piece length", i64::from(piece_length).into());
    let mut piece_layers = OwnedValue::dict();
    if version.has_v2() {
        let (tree, layers) = v2_tree(&source, &name, multi, &hashes.merkle);
        info = info
            .insert("meta version", 2.into())
            .insert("file tree", tree);
        piece_layers = layers;
    }
    if version.has_v1() {
        let pieces: Vec<u8> = hashes.sha1.concat();
        info = info.insert("pieces", pieces.into());
        info = if multi {
            info.insert("files", v1_files(&source).into())
        } else {
            info.insert("length", (data as i64).into())
        };
    }
    if opts.private {
        info = info.insert("private", 1.into());
    }

    let mut top = OwnedValue::dict().insert("info", info);
    if version.has_v2() {
        top = top.insert("piece layers", piece_layers);
    }
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

/// The v1 `files` list, padding files included.
fn v1_files(source: &Sources) -> Vec<OwnedValue> {
    source
        .layout
        .files()
        .iter()
        .map(|f| {
            let path = f
                .path()
                .components()
                .map(OwnedValue::from)
                .collect::<Vec<_>>();
            let mut d = OwnedValue::dict()
                .insert("length", (f.length() as i64).into())
                .insert("path", path.into());
            if f.is_padding() {
                d = d.insert("attr", "p".into());
            }
            d
        })
        .collect()
}

/// The v2 `file tree` and `piece layers` from the merkle hash of each piece.
fn v2_tree(
    source: &Sources,
    name: &str,
    multi: bool,
    piece_hashes: &[Hash256],
) -> (OwnedValue, OwnedValue) {
    let layout = &source.layout;
    let bpp = layout.piece_len() / merkle::BLOCK_SIZE;
    let mut tree = Node::default();
    let mut layers = OwnedValue::dict();
    for (i, f) in layout.files().iter().enumerate() {
        if f.is_padding() {
            continue;
        }
        let mut leaf = OwnedValue::dict().insert("length", (f.length() as i64).into());
        if f.length() > 0 {
            let pieces = layout.file_pieces(i);
            let own = &piece_hashes[pieces.start as usize..pieces.end as usize];
            let root = if f.length() > u64::from(layout.piece_len()) {
                let root = merkle::root_from_piece_layer(own, bpp);
                layers = layers.insert(root, OwnedValue::bytes(own.concat()));
                root
            } else {
                own[0]
            };
            leaf = leaf.insert("pieces root", OwnedValue::bytes(root));
        }
        let path: Vec<&str> = if multi {
            f.path().components().collect()
        } else {
            vec![name]
        };
        tree.insert(&path, OwnedValue::dict().insert("", leaf));
    }
    (tree.into_value(), layers)
}

/// A folder of the file tree being built.
#[derive(Default)]
struct Node {
    children: BTreeMap<String, Child>,
}

enum Child {
    Dir(Node),
    File(OwnedValue),
}

impl Node {
    fn insert(&mut self, path: &[&str], leaf: OwnedValue) {
        match path {
            [] => {}
            [file] => {
                self.children.insert((*file).to_owned(), Child::File(leaf));
            }
            [dir, rest @ ..] => {
                let child = self
                    .children
                    .entry((*dir).to_owned())
                    .or_insert_with(|| Child::Dir(Node::default()));
                if let Child::Dir(node) = child {
                    node.insert(rest, leaf);
                }
            }
        }
    }

    fn into_value(self) -> OwnedValue {
        let mut d = OwnedValue::dict();
        for (k, child) in self.children {
            let v = match child {
                Child::Dir(n) => n.into_value(),
                Child::File(f) => f,
            };
            d = d.insert(k, v);
        }
        d
    }
}

/// The source files as a read-only [`Storage`], so the storage crate can
/// lay them out and hash them. Paths in the layout are the paths inside the
/// torrent; `disk[i]` is where file `i` is read from (none for padding).
struct Sources {
    layout: Layout,
    disk: Vec<Option<PathBuf>>,
}

impl Sources {
    /// Lays the files out; with `aligned`, each file with data is followed
    /// by padding up to the next piece boundary (v2 and hybrid).
    fn new(
        sources: Vec<Source>,
        piece_length: u32,
        aligned: bool,
    ) -> Result<Sources, StorageError> {
        let pl = u64::from(piece_length);
        let mut entries = Vec::with_capacity(sources.len() * if aligned { 2 } else { 1 });
        let mut disk = Vec::with_capacity(entries.capacity());
        for s in sources {
            let rest = s.length % pl;
            entries.push(FileEntry::new(s.path, s.length));
            disk.push(Some(s.disk));
            if aligned && rest != 0 {
                entries.push(FileEntry::padding(pl - rest));
                disk.push(None);
            }
        }
        let layout = Layout::new(entries, piece_length)?;
        Ok(Sources { layout, disk })
    }

    /// Turns a storage error into the creation error naming the file.
    fn error(&self, e: StorageError) -> CreateError {
        match e {
            StorageError::ShortRead { path, .. } => CreateError::FileChanged(path),
            StorageError::NotFound { path } => CreateError::Io {
                path,
                source: io::ErrorKind::NotFound.into(),
            },
            StorageError::Io { path, source } => CreateError::Io { path, source },
            other => CreateError::Storage(other),
        }
    }
}

impl Storage for Sources {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn write_piece(&self, _piece: u32, _blocks: &[Bytes]) -> Result<(), StorageError> {
        Err(StorageError::Io {
            path: PathBuf::new(),
            source: io::Error::new(io::ErrorKind::Unsupported, "torrent sources are read-only"),
        })
    }

    fn read_into(&self, piece: u32, begin: u32, buf: &mut [u8]) -> Result<(), StorageError> {
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        self.layout.check_range(piece, begin, len)?;
        let mut open: Option<(usize, File)> = None;
        for span in self.layout.spans_iter(piece, begin, len) {
            let start = (span.piece_offset - begin) as usize;
            let out = &mut buf[start..start + span.len as usize];
            let Some(path) = &self.disk[span.file] else {
                out.fill(0);
                continue;
            };
            if open.as_ref().is_none_or(|(i, _)| *i != span.file) {
                let f = File::open(path).map_err(|e| StorageError::Io {
                    path: path.clone(),
                    source: e,
                })?;
                open = Some((span.file, f));
            }
            let (_, file) = open.as_ref().expect("opened above");
            file.read_exact_at(out, span.file_offset).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    StorageError::ShortRead {
                        path: path.clone(),
                        offset: span.file_offset,
                        needed: u64::from(span.len),
                    }
                } else {
                    StorageError::Io {
                        path: path.clone(),
                        source: e,
                    }
                }
            })?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }
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
