//! How a piece is checked: the SHA-1 of a v1 torrent, the BEP 52 merkle
//! hash of a v2 one, or both for a hybrid.
//!
//! A v2 piece holds the bytes of one file only, from the piece's first
//! byte (each file is padded to a piece boundary). Its hash is the root of
//! the merkle subtree over its 16 KiB blocks (SHA-256 each, the last one as
//! long as the data, missing leaves zero): an entry of the file's piece
//! layer, or, for a file of one piece or less, the file's `pieces root`
//! itself. The padding after the data is not hashed.
//!
//! A hybrid torrent's pieces are checked both ways when both hashes are
//! known, as libtorrent does: a piece passes when both pass, and a piece
//! whose two hashes disagree ([`Verdict::Disagree`]) means the torrent's
//! halves describe different data (or someone found a SHA-1 collision),
//! which stops the torrent. Until a hybrid's piece layers are known (a
//! magnet link whose v2 peers have not sent them yet), its pieces are
//! checked with SHA-1 alone.

use std::sync::Arc;

use bytes::Bytes;
use monsoon_storage::merkle::{self, Hash256};
use monsoon_storage::{Storage, StorageError};
use sha2::{Digest, Sha256};

use crate::metainfo::Metainfo;

/// What a v2 piece must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MerklePiece {
    /// The piece's entry in its file's piece layer, or the file's `pieces
    /// root` for a file of at most one piece.
    pub hash: Hash256,
    /// Bytes of file data at the start of the piece (the rest is padding).
    pub data_len: u32,
    /// The length of the piece's file (which of the two `hash` is).
    pub file_len: u64,
    /// 16 KiB blocks per piece (a power of two).
    pub blocks_per_piece: u32,
}

/// The hashes one piece must match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PieceCheck {
    /// Its SHA-1 (v1 and hybrid torrents).
    pub sha1: Option<[u8; 20]>,
    /// Its merkle hash (v2 and hybrid torrents, once known).
    pub merkle: Option<MerklePiece>,
}

/// The outcome of checking a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Every known hash matches.
    Match,
    /// A hash does not match (or no hash is known: nothing can be trusted).
    Mismatch,
    /// A hybrid's SHA-1 matches and its merkle hash does not, or the
    /// reverse: the torrent's two halves disagree about this piece.
    Disagree,
}

impl PieceCheck {
    /// Checks a piece given as its blocks in order.
    pub fn check_blocks(&self, blocks: &[Bytes]) -> Verdict {
        let sha1 = self.sha1.map(|h| monsoon_storage::hash_blocks(blocks) == h);
        let merkle = self
            .merkle
            .map(|m| merkle_hash(m, blocks.iter().map(|b| &b[..])) == m.hash);
        verdict(sha1, merkle)
    }

    /// Checks a piece given as one buffer.
    pub fn check_data(&self, data: &[u8]) -> Verdict {
        let sha1 = self.sha1.map(|h| monsoon_storage::hash_bytes(data) == h);
        let merkle = self
            .merkle
            .map(|m| merkle_hash(m, std::iter::once(data)) == m.hash);
        verdict(sha1, merkle)
    }
}

fn verdict(sha1: Option<bool>, merkle: Option<bool>) -> Verdict {
    match (sha1, merkle) {
        (Some(true), Some(false)) | (Some(false), Some(true)) => Verdict::Disagree,
        (Some(true), _) | (None, Some(true)) => Verdict::Match,
        _ => Verdict::Mismatch,
    }
}

/// The merkle hash of a piece whose bytes are the concatenation of `parts`
/// (only the first `data_len` bytes count), hashed in 16 KiB leaves
/// whatever the parts' sizes.
fn merkle_hash<'a>(m: MerklePiece, parts: impl Iterator<Item = &'a [u8]>) -> Hash256 {
    let block = merkle::BLOCK_SIZE as usize;
    let mut left = m.data_len as usize;
    let mut leaves = Vec::with_capacity(left.div_ceil(block));
    let mut hasher = Sha256::new();
    let mut in_leaf = 0usize;
    for mut part in parts {
        part = &part[..part.len().min(left)];
        left -= part.len();
        while !part.is_empty() {
            let take = (block - in_leaf).min(part.len());
            hasher.update(&part[..take]);
            in_leaf += take;
            part = &part[take..];
            if in_leaf == block {
                leaves.push(<Hash256>::from(hasher.finalize_reset()));
                in_leaf = 0;
            }
        }
    }
    if in_leaf > 0 {
        leaves.push(hasher.finalize().into());
    }
    merkle::piece_hash(&leaves, m.blocks_per_piece, m.file_len)
}

/// The SHA-1s of a torrent's pieces: the metainfo's own, shared (a copy
/// was 20 bytes a piece, 40 MiB for 2 Mi pieces), or given.
#[derive(Debug, Clone)]
enum Sha1s {
    Meta(Arc<Metainfo>),
    Given(Vec<[u8; 20]>),
}

impl Sha1s {
    fn as_slice(&self) -> &[[u8; 20]] {
        match self {
            Sha1s::Meta(meta) => &meta.pieces,
            Sha1s::Given(hashes) => hashes,
        }
    }
}

impl Default for Sha1s {
    fn default() -> Self {
        Sha1s::Given(Vec::new())
    }
}

impl PartialEq for Sha1s {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Sha1s {}

/// How every piece of a torrent is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verifier {
    /// SHA-1 per piece (empty for a v2-only torrent).
    sha1: Sha1s,
    /// Merkle hash per piece (empty for a v1 torrent; `None` while the
    /// piece layer of its file is not known).
    merkle: Vec<Option<MerklePiece>>,
    pieces: u32,
}

impl Verifier {
    /// The checks of `meta`'s pieces: its SHA-1s, and its merkle hashes
    /// from each file's `pieces root` or piece layer (a file whose layer
    /// the metainfo lacks has none yet).
    pub fn new(meta: &Arc<Metainfo>) -> Verifier {
        let pieces = meta.piece_count();
        let sha1 = if meta.version.has_v1() {
            Sha1s::Meta(meta.clone())
        } else {
            Sha1s::default()
        };
        let mut merkle = Vec::new();
        if meta.version.has_v2() {
            merkle = vec![None; pieces as usize];
            let pl = u64::from(meta.piece_length);
            let blocks_per_piece = meta.piece_length / merkle::BLOCK_SIZE;
            for (i, f) in meta.files.iter().enumerate() {
                if f.is_padding() || f.length() == 0 || f.pieces_root().is_none() {
                    continue;
                }
                let Some(layer) = meta.piece_layer(i) else {
                    continue;
                };
                let first = f.offset() / pl;
                for (k, hash) in layer.iter().enumerate() {
                    let at = k as u64 * pl;
                    let Some(slot) = merkle.get_mut((first + k as u64) as usize) else {
                        break;
                    };
                    if at >= f.length() {
                        break;
                    }
                    *slot = Some(MerklePiece {
                        hash: *hash,
                        data_len: (f.length() - at).min(pl) as u32,
                        file_len: f.length(),
                        blocks_per_piece,
                    });
                }
            }
        }
        Verifier {
            sha1,
            merkle,
            pieces,
        }
    }

    /// SHA-1 checks only (a v1 torrent whose piece hashes are `sha1`).
    pub fn v1(sha1: Vec<[u8; 20]>) -> Verifier {
        let pieces = sha1.len() as u32;
        Verifier {
            sha1: Sha1s::Given(sha1),
            merkle: Vec::new(),
            pieces,
        }
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        self.pieces
    }

    /// What piece `piece` must hash to.
    pub fn piece(&self, piece: u32) -> PieceCheck {
        PieceCheck {
            sha1: self.sha1.as_slice().get(piece as usize).copied(),
            merkle: self.merkle.get(piece as usize).copied().flatten(),
        }
    }

    /// Whether every piece has a hash to be checked against (a v2 torrent
    /// whose piece layers are all known, any v1 or hybrid torrent).
    pub fn complete(&self) -> bool {
        !self.sha1.as_slice().is_empty() || self.merkle.iter().all(Option::is_some)
    }

    /// Hashes every piece of `storage` on `threads` threads (0: one per
    /// core) and returns which are valid; pieces of missing files are
    /// invalid without being read. A piece whose hybrid hashes disagree is
    /// invalid.
    pub fn recheck(
        &self,
        storage: &dyn Storage,
        threads: usize,
    ) -> Result<Vec<bool>, StorageError> {
        let count = storage.layout().piece_count();
        if count != self.pieces {
            return Err(StorageError::HashCountMismatch {
                expected: count,
                actual: self.pieces as usize,
            });
        }
        monsoon_storage::recheck_by(storage, threads, &|_, _| {}, &|piece, data| {
            self.piece(piece).check_data(data) == Verdict::Match
        })
    }
}
