//! Torrents made in memory for the simulation: metainfo (v1, v2 or
//! hybrid), content, and storages holding some of it.

use std::collections::BTreeMap;
use std::sync::Arc;

use monsoon_bencode::OwnedValue;
use monsoon_engine::{MetaVersion, Metainfo};
use monsoon_storage::merkle::{self, Hash256};
use monsoon_storage::{Layout, MemoryStorage, Storage};
use sha1::{Digest, Sha1};

use super::net::Have;
use crate::support::bytes;

/// A torrent and its content.
#[derive(Clone)]
pub(crate) struct SimTorrent {
    pub(crate) meta: Arc<Metainfo>,
    pub(crate) data: Arc<Vec<u8>>,
    pub(crate) layout: Layout,
}

impl SimTorrent {
    /// A torrent of `files` (path, length) with pieces of `piece_len`;
    /// content is pseudo-random from `seed`.
    pub(crate) fn new(files: &[(&str, usize)], piece_len: u32, seed: u64) -> Self {
        let total: usize = files.iter().map(|f| f.1).sum();
        let data = bytes(total, seed);
        let pieces: Vec<u8> = data
            .chunks(piece_len as usize)
            .flat_map(|c| Sha1::digest(c).to_vec())
            .collect();
        let mut info = OwnedValue::dict()
            .insert("name", OwnedValue::bytes("sim"))
            .insert("piece length", OwnedValue::Int(i64::from(piece_len)))
            .insert("pieces", OwnedValue::Bytes(pieces));
        if files.len() == 1 {
            info = info.insert("length", OwnedValue::Int(total as i64));
        } else {
            let list = files
                .iter()
                .map(|(path, len)| {
                    let parts = path.split('/').map(OwnedValue::bytes).collect();
                    OwnedValue::dict()
                        .insert("length", OwnedValue::Int(*len as i64))
                        .insert("path", OwnedValue::List(parts))
                })
                .collect();
            info = info.insert("files", OwnedValue::List(list));
        }
        let torrent = OwnedValue::dict().insert("info", info).encode();
        Self::from_torrent(&torrent, data)
    }

    /// The torrent `torrent` whose content (padding included) is `data`.
    fn from_torrent(torrent: &[u8], data: Vec<u8>) -> Self {
        let meta = Metainfo::from_bytes(torrent).expect("a valid torrent");
        let layout = Layout::from_table(meta.files.clone(), meta.piece_length).expect("layout");
        Self {
            meta: Arc::new(meta),
            data: Arc::new(data),
            layout,
        }
    }

    /// A BitTorrent v2 (`MetaVersion::V2`) or hybrid torrent of `files`
    /// (path, length; in `file tree` order, none empty), laid out as
    /// libtorrent 2.0.8 does: each file padded to a piece boundary (a
    /// hybrid's v1 `files` list has the pad files). Its `piece layers`
    /// are in the metainfo. `bad_sha1`: a hybrid's v1 hash of this piece is
    /// made from other bytes (its halves disagree there).
    pub(crate) fn versioned(
        files: &[(&str, usize)],
        piece_len: u32,
        seed: u64,
        version: MetaVersion,
        bad_sha1: Option<u32>,
    ) -> Self {
        assert!(files.windows(2).all(|w| w[0].0 < w[1].0), "tree order");
        let pl = piece_len as usize;
        let total: usize = files.iter().map(|f| f.1).sum();
        let content = bytes(total, seed);
        let mut data = Vec::new();
        let mut tree = BTreeMap::new();
        let mut layers = OwnedValue::dict();
        let mut v1_files = Vec::new();
        let mut at = 0;
        for (path, len) in files {
            let file = &content[at..at + len];
            at += len;
            data.extend_from_slice(file);
            let leaves: Vec<Hash256> = file
                .chunks(merkle::BLOCK_SIZE as usize)
                .map(merkle::block_hash)
                .collect();
            let root = merkle::root_from_leaves(&leaves);
            if *len > pl {
                let layer = merkle::piece_layer(&leaves, pl / merkle::BLOCK_SIZE as usize);
                layers = layers.insert(root, OwnedValue::Bytes(layer.concat()));
            }
            let leaf = OwnedValue::dict().insert(
                "",
                OwnedValue::dict()
                    .insert("length", OwnedValue::Int(*len as i64))
                    .insert("pieces root", OwnedValue::bytes(root)),
            );
            insert_path(&mut tree, path, leaf);
            let parts = path.split('/').map(OwnedValue::bytes).collect();
            v1_files.push(
                OwnedValue::dict()
                    .insert("length", OwnedValue::Int(*len as i64))
                    .insert("path", OwnedValue::List(parts)),
            );
            // libtorrent pads the last file too (a single-file hybrid
            // cannot: its v1 half has no files list).
            let single_hybrid = files.len() == 1 && version == MetaVersion::Hybrid;
            let pad = (pl - len % pl) % pl;
            if !single_hybrid && pad > 0 {
                data.resize(data.len() + pad, 0);
                let path = [".pad", &pad.to_string()].map(OwnedValue::bytes).to_vec();
                v1_files.push(
                    OwnedValue::dict()
                        .insert("attr", OwnedValue::bytes("p"))
                        .insert("length", OwnedValue::Int(pad as i64))
                        .insert("path", OwnedValue::List(path)),
                );
            }
        }
        let mut info = OwnedValue::dict()
            .insert("file tree", OwnedValue::Dict(tree))
            .insert("meta version", OwnedValue::Int(2))
            .insert("name", OwnedValue::bytes("sim"))
            .insert("piece length", OwnedValue::Int(i64::from(piece_len)));
        if version == MetaVersion::Hybrid {
            let pieces: Vec<u8> = data
                .chunks(pl)
                .enumerate()
                .flat_map(|(i, c)| {
                    let mut c = c.to_vec();
                    if bad_sha1 == Some(i as u32) {
                        c[0] ^= 1;
                    }
                    Sha1::digest(&c).to_vec()
                })
                .collect();
            info = info.insert("pieces", OwnedValue::Bytes(pieces));
            info = if files.len() == 1 {
                info.insert("length", OwnedValue::Int(total as i64))
            } else {
                info.insert("files", OwnedValue::List(v1_files))
            };
        }
        let torrent = OwnedValue::dict()
            .insert("info", info)
            .insert("piece layers", layers)
            .encode();
        let t = Self::from_torrent(&torrent, data);
        assert_eq!(t.meta.version, version);
        assert!(t.meta.has_piece_layers());
        t
    }

    /// One file of `len` bytes.
    pub(crate) fn single(len: usize, piece_len: u32, seed: u64) -> Self {
        Self::new(&[("file.bin", len)], piece_len, seed)
    }

    /// A storage holding the pieces `have` says.
    pub(crate) fn storage(&self, have: &Have) -> MemoryStorage {
        match have {
            Have::All => {
                MemoryStorage::from_bytes(self.layout.clone(), &self.data).expect("storage")
            }
            Have::Nothing => MemoryStorage::new(self.layout.clone()),
            Have::Pieces(pieces) => {
                let s = MemoryStorage::new(self.layout.clone());
                for &p in pieces {
                    let range = self.layout.piece_range(p);
                    let block = bytes::Bytes::copy_from_slice(
                        &self.data[range.start as usize..range.end as usize],
                    );
                    s.write_piece(p, &[block]).expect("write");
                }
                s
            }
        }
    }

    /// Whether `storage` holds exactly the torrent's content in `pieces`.
    pub(crate) fn holds(
        &self,
        storage: &MemoryStorage,
        pieces: impl IntoIterator<Item = u32>,
    ) -> bool {
        pieces.into_iter().all(|p| {
            let range = self.layout.piece_range(p);
            let len = (range.end - range.start) as u32;
            storage
                .read(p, 0, len)
                .is_ok_and(|b| b[..] == self.data[range.start as usize..range.end as usize])
        })
    }
}

/// Puts `leaf` at `path` (`/`-separated) in a v2 `file tree`.
fn insert_path(tree: &mut BTreeMap<Vec<u8>, OwnedValue>, path: &str, leaf: OwnedValue) {
    match path.split_once('/') {
        None => {
            tree.insert(path.as_bytes().to_vec(), leaf);
        }
        Some((dir, rest)) => {
            let node = tree
                .entry(dir.as_bytes().to_vec())
                .or_insert_with(OwnedValue::dict);
            if let OwnedValue::Dict(sub) = node {
                insert_path(sub, rest, leaf);
            }
        }
    }
}
