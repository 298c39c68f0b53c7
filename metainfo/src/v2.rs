//! BEP 52: the v2 `file tree` (with the padding it implies), the check that
//! a hybrid torrent's v1 and v2 halves agree, and `piece layers`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use monsoon_bencode::Dict;
use monsoon_storage::merkle::{self, Hash256};
use monsoon_storage::{FileAttrs, FileRef, FileTable, FileTableBuilder};

use crate::error::MetainfoError;
use crate::parse::MAX_PATH_DEPTH;
use crate::paths::sanitize_component;
use crate::v1::{Attr, length, symlink_target, too_large};

/// The files of a `file tree`, in tree order, each non-empty file followed
/// by the padding up to the next piece boundary (as libtorrent lays out a v2
/// torrent), and whether the torrent is multi-file. `has_files`: the info
/// dictionary also has a v1 `files` list (then even one file is in a folder).
pub(crate) fn files(
    tree: &Dict<'_>,
    dir_name: &str,
    has_files: bool,
    piece_length: u32,
) -> Result<(FileTable, bool), MetainfoError> {
    // A single file: one top-level entry that is a file, and no v1 `files`.
    let single = !has_files && tree.len() == 1 && is_leaf(&tree.entries()[0].1);
    let mut walk = Walk {
        files: FileTableBuilder::new(),
        piece_length: u64::from(piece_length),
        pad_dir: (!single).then_some(dir_name),
        path: Vec::new(),
    };
    if !single {
        walk.path.push(Cow::Borrowed(dir_name));
    }
    walk.dir(tree, 0)?;
    if walk.files.is_empty() {
        return Err(MetainfoError::EmptyFileList);
    }
    Ok((walk.files.build(), !single))
}

/// Whether a tree node is a file: a dictionary whose only key is empty.
fn is_leaf(node: &monsoon_bencode::Value<'_>) -> bool {
    node.as_dict()
        .is_some_and(|d| d.len() == 1 && d.entries()[0].0.is_empty())
}

struct Walk<'a> {
    files: FileTableBuilder,
    piece_length: u64,
    /// The torrent's folder (`None` for a single file), where padding goes.
    pad_dir: Option<&'a str>,
    /// The path of the node being walked.
    path: Vec<Cow<'a, str>>,
}

impl<'a> Walk<'a> {
    fn dir(&mut self, dir: &Dict<'a>, depth: usize) -> Result<(), MetainfoError> {
        let file = self.files.len();
        if depth >= MAX_PATH_DEPTH {
            return Err(MetainfoError::PathTooDeep {
                file,
                depth: depth + 1,
            });
        }
        for (key, node) in dir.entries() {
            let file = self.files.len();
            let bad = MetainfoError::InvalidFileTree { file };
            let node = node.as_dict().ok_or(bad.clone())?;
            if key.is_empty() {
                return Err(bad);
            }
            let name = sanitize_component(key);
            let named = name.is_some();
            self.path.extend(name);
            if node.len() == 1 && node.entries()[0].0.is_empty() {
                let leaf = node.entries()[0].1.as_dict().ok_or(bad)?;
                if self.path.is_empty() {
                    return Err(MetainfoError::UnusableName);
                }
                self.file(leaf)?;
            } else {
                self.dir(node, depth + 1)?;
            }
            if named {
                self.path.pop();
            }
        }
        Ok(())
    }

    /// One file at `self.path` (`extract_single_file2`), then its tail
    /// padding.
    fn file(&mut self, d: &Dict<'a>) -> Result<(), MetainfoError> {
        let index = self.files.len();
        let attr = Attr::of(d);
        if attr.padding {
            return Err(MetainfoError::PadFileInTree { file: index });
        }
        let length = if attr.symlink { 0 } else { length(d, index)? };
        let symlink = match d.get_list(b"symlink path") {
            Some(t) if attr.symlink => Some(symlink_target(t, index)?),
            _ => None,
        }
        .filter(|t| !t.is_empty());
        let mut pieces_root = None;
        if symlink.is_none() && length > 0 {
            let root = d
                .get_bytes(b"pieces root")
                .and_then(|r| <[u8; 32]>::try_from(r).ok())
                .filter(|r| *r != [0; 32])
                .ok_or(MetainfoError::MissingPiecesRoot { file: index })?;
            pieces_root = Some(root);
        }
        let attrs = FileAttrs {
            executable: attr.executable,
            hidden: attr.hidden,
            ..FileAttrs::default()
        };
        self.files
            .push(&self.path, length, attrs)
            .map_err(too_large)?;
        if let Some(target) = symlink {
            self.files.set_symlink(index, &target).map_err(too_large)?;
        }
        if let Some(root) = pieces_root {
            self.files.set_pieces_root(index, root);
        }
        let rest = self.files.total_length() % self.piece_length;
        if pieces_root.is_some() && rest != 0 {
            let pad = self.piece_length - rest;
            let pad_name = pad.to_string();
            let mut path: Vec<&str> = self.pad_dir.into_iter().collect();
            path.extend([".pad", pad_name.as_str()]);
            let attrs = FileAttrs {
                padding: true,
                ..FileAttrs::default()
            };
            self.files.push(&path, pad, attrs).map_err(too_large)?;
        }
        Ok(())
    }
}

/// Checks that the v1 files of a hybrid torrent describe the same data as
/// its file tree (libtorrent's `files_compatible`): same count, and every
/// file with data has the same path, length and offset at the same index.
/// Hybrids made before libtorrent 2.0.8 have no padding after the last
/// file: the v2 list drops its own then, and is the one kept.
pub(crate) fn check_hybrid(v2: &mut FileTable, v1: &FileTable) -> Result<(), MetainfoError> {
    if v2.len() == v1.len() + 1 {
        remove_tail_padding(v2);
    }
    let data = |f: &FileRef<'_>| !f.is_padding() && f.length() > 0;
    for i in 0..v1.len().max(v2.len()) {
        let same = match (v1.get(i), v2.get(i)) {
            (Some(a), Some(b)) => {
                data(&a) == data(&b)
                    && (!data(&a)
                        || (a.length() == b.length()
                            && a.offset() == b.offset()
                            && a.path() == b.path()))
            }
            _ => false,
        };
        if !same {
            return Err(MetainfoError::HybridMismatch { file: i });
        }
    }
    if v1.total_length() != v2.total_length() {
        return Err(MetainfoError::HybridMismatch { file: v1.len() });
    }
    Ok(())
}

/// Drops the padding after the last file with data (empty files after it
/// stay).
fn remove_tail_padding(files: &mut FileTable) {
    if let Some(last) = files.iter().rposition(|f| f.length() > 0) {
        if files.file(last).is_padding() {
            files.remove(last);
        }
    }
}

/// The piece layers of the files larger than one piece, checked against
/// their roots. Malformed entries are errors; layers for roots that are not
/// in the torrent are ignored, and a missing layer is not an error (the
/// hashes can come from peers), as in libtorrent.
pub(crate) fn piece_layers(
    layers: &Dict<'_>,
    files: &FileTable,
    piece_length: u32,
) -> Result<BTreeMap<usize, Vec<Hash256>>, MetainfoError> {
    let mut by_root: HashMap<&[u8], &[u8]> = HashMap::with_capacity(layers.len());
    for (key, value) in layers.entries() {
        let hashes = value.as_bytes().ok_or(MetainfoError::InvalidPieceLayers)?;
        if key.len() != 32 || hashes.len() % 32 != 0 {
            return Err(MetainfoError::InvalidPieceLayers);
        }
        by_root.insert(key, hashes);
    }
    let blocks_per_piece = piece_length / merkle::BLOCK_SIZE;
    let mut out = BTreeMap::new();
    for f in files {
        let file = f.index();
        let Some(root) = f.pieces_root() else {
            continue;
        };
        if f.length() <= u64::from(piece_length) {
            continue;
        }
        let Some(raw) = by_root.get(root.as_slice()) else {
            continue;
        };
        let expected = f.length().div_ceil(u64::from(piece_length)) * 32;
        if raw.len() as u64 != expected {
            return Err(MetainfoError::PieceLayerLength {
                file,
                expected,
                actual: raw.len(),
            });
        }
        let layer: Vec<Hash256> = raw
            .chunks_exact(32)
            .map(|c| c.try_into().expect("chunks_exact(32) yields 32 bytes"))
            .collect();
        if merkle::root_from_piece_layer(&layer, blocks_per_piece) != *root {
            return Err(MetainfoError::PieceLayerMismatch { file });
        }
        out.insert(file, layer);
    }
    Ok(out)
}
