//! Torrents made in memory for the simulation: metainfo, content, and
//! storages holding some of it.

use std::sync::Arc;

use monsoon_bencode::OwnedValue;
use monsoon_engine::Metainfo;
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
        let meta = Metainfo::from_bytes(&torrent).expect("a valid torrent");
        let layout = Layout::from_table(meta.files.clone(), piece_len).expect("layout");
        Self {
            meta: Arc::new(meta),
            data: Arc::new(data),
            layout,
        }
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
