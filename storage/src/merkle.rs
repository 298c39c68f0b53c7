//! BEP 52 merkle trees: SHA-256 over 16 KiB blocks, zero-padded to a power
//! of two, with piece-layer subtree roots and proofs for `hashes` messages.
//!
//! A v2 torrent hashes each file on its own. The file is cut into 16 KiB
//! blocks (the last one may be shorter and is hashed as it is); the block
//! hashes are the leaves of a binary tree whose width is the next power of
//! two, the missing leaves being 32 zero bytes. The root of that tree is the
//! file's `pieces root`. For a file larger than one piece, the layer of the
//! tree whose nodes each cover one piece is the file's *piece layer*: the
//! hash of piece `i` of the file is the root of the subtree over its blocks
//! (zero leaves past the end of the file).
//!
//! ```
//! use monsoon_storage::merkle::{self, MerkleTree, BLOCK_SIZE};
//!
//! // A 40 KiB file with 32 KiB pieces: 3 blocks, 2 pieces.
//! let data: Vec<u8> = (0..40 * 1024).map(|i| i as u8).collect();
//! let leaves: Vec<_> = data.chunks(BLOCK_SIZE as usize).map(merkle::block_hash).collect();
//! let tree = MerkleTree::from_leaves(&leaves);
//! let layer = merkle::piece_layer(&leaves, 2);
//! assert_eq!(layer.len(), 2);
//! assert_eq!(merkle::root_from_piece_layer(&layer, 2), tree.root());
//! // Layer 1 (two blocks per node) is the piece layer. A proof for piece 1
//! // alone: its hash and its uncle (piece 0's hash) reach the root.
//! let (hashes, uncles) = tree.hashes(1, 1, 1, 1).unwrap();
//! assert_eq!((hashes[0], uncles[0]), (layer[1], layer[0]));
//! assert!(merkle::verify_hashes(&tree.root(), tree.leaf_count(), 1, 1, &hashes, &uncles));
//! assert!(!merkle::verify_hashes(&tree.root(), tree.leaf_count(), 1, 0, &hashes, &uncles));
//! ```

use sha2::{Digest, Sha256};

/// Size of a leaf block: 16 KiB.
pub const BLOCK_SIZE: u32 = 16 << 10;

/// A SHA-256 digest: a node of a merkle tree.
pub type Hash256 = [u8; 32];

/// SHA-256 of one block of data (a leaf).
pub fn block_hash(data: &[u8]) -> Hash256 {
    Sha256::digest(data).into()
}

/// The parent of two nodes: SHA-256 of their concatenation.
pub fn parent(left: &Hash256, right: &Hash256) -> Hash256 {
    let mut h = Sha256::new();
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of a subtree of `leaves` zero leaves (`leaves` a power of two;
/// 1 gives the zero hash itself). Piece layers are padded with
/// `pad_hash(blocks per piece)`.
pub fn pad_hash(leaves: u64) -> Hash256 {
    let mut h = [0u8; 32];
    let mut n = 1u64;
    while n < leaves {
        h = parent(&h, &h);
        n *= 2;
    }
    h
}

/// The root over `layer` padded to `width` nodes (a power of two, at least
/// `layer.len()`) with `pad`, the value of a missing node at that layer.
/// An empty layer gives `pad` widened to the root.
///
/// # Panics
/// If `width` is not a power of two or is smaller than `layer.len()`.
pub fn root_padded(layer: &[Hash256], width: usize, pad: Hash256) -> Hash256 {
    assert!(
        width.is_power_of_two() && width >= layer.len(),
        "width {width} for {} nodes",
        layer.len()
    );
    let mut pad = pad;
    let mut cur: Vec<Hash256> = layer.to_vec();
    let mut width = width;
    while width > 1 {
        let mut next = Vec::with_capacity(cur.len().div_ceil(2));
        for pair in cur.chunks(2) {
            let right = pair.get(1).unwrap_or(&pad);
            next.push(parent(&pair[0], right));
        }
        pad = parent(&pad, &pad);
        cur = next;
        width /= 2;
    }
    cur.first().copied().unwrap_or(pad)
}

/// The root over `leaves`, zero-padded to the next power of two: the
/// `pieces root` of a file whose block hashes are `leaves`.
pub fn root_from_leaves(leaves: &[Hash256]) -> Hash256 {
    root_padded(leaves, leaves.len().max(1).next_power_of_two(), [0; 32])
}

/// The piece layer of a file from its block hashes: one subtree root per
/// `blocks_per_piece` leaves (a power of two), the last zero-padded.
pub fn piece_layer(leaves: &[Hash256], blocks_per_piece: usize) -> Vec<Hash256> {
    leaves
        .chunks(blocks_per_piece.max(1))
        .map(|c| root_padded(c, blocks_per_piece.max(1).next_power_of_two(), [0; 32]))
        .collect()
}

/// The hash of one piece of a file from the block hashes of that piece.
///
/// For a file larger than a piece, the subtree over `blocks_per_piece`
/// leaves; for a file of at most one piece, the file's whole tree (leaves
/// padded to the next power of two only), whose root is the file's `pieces
/// root` — `file_len` tells the two apart.
pub fn piece_hash(leaves: &[Hash256], blocks_per_piece: u32, file_len: u64) -> Hash256 {
    let piece_len = u64::from(blocks_per_piece) * u64::from(BLOCK_SIZE);
    if file_len > piece_len {
        root_padded(leaves, blocks_per_piece as usize, [0; 32])
    } else {
        root_from_leaves(leaves)
    }
}

/// A file's `pieces root` from its piece layer (a file larger than one
/// piece): the layer padded with the root of an all-zero piece.
pub fn root_from_piece_layer(layer: &[Hash256], blocks_per_piece: u32) -> Hash256 {
    root_padded(
        layer,
        layer.len().max(1).next_power_of_two(),
        pad_hash(u64::from(blocks_per_piece)),
    )
}

/// Number of leaves of a file's tree: its block count rounded up to a power
/// of two (1 for an empty file).
pub fn leaf_count(file_len: u64) -> u64 {
    file_len
        .div_ceil(u64::from(BLOCK_SIZE))
        .max(1)
        .next_power_of_two()
}

/// Checks a BEP 52 `hashes` answer against a known root.
///
/// `hashes` are `hashes.len()` consecutive nodes (a power of two) of layer
/// `base` (0 = the leaves) of a tree with `leaf_count` leaves, starting at
/// `index` (a multiple of `hashes.len()`); `uncles` are the siblings on the
/// path from their subtree's root up to the root, lowest first. True when
/// they combine to `root` with exactly as many uncles as the path needs.
pub fn verify_hashes(
    root: &Hash256,
    leaf_count: u64,
    base: u32,
    index: u64,
    hashes: &[Hash256],
    uncles: &[Hash256],
) -> bool {
    let count = hashes.len() as u64;
    if !leaf_count.is_power_of_two() || !count.is_power_of_two() || base >= 64 {
        return false;
    }
    let layer_width = leaf_count >> base;
    if layer_width == 0 || index % count != 0 || index + count > layer_width {
        return false;
    }
    // Layers from the subtree root up to the root.
    let above = (layer_width / count).trailing_zeros() as usize;
    if uncles.len() != above {
        return false;
    }
    let mut node = root_padded(hashes, hashes.len(), [0; 32]);
    let mut pos = index / count;
    for uncle in uncles {
        node = if pos % 2 == 0 {
            parent(&node, uncle)
        } else {
            parent(uncle, &node)
        };
        pos /= 2;
    }
    node == *root
}

/// A file's merkle tree from some layer up to the root, every layer padded
/// to a power of two: enough to answer `hash request`s for that layer and
/// above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleTree {
    /// The layer number of `layers[0]` (0 = leaves).
    base: u32,
    /// `layers[0]` is the lowest layer kept, the last holds only the root.
    layers: Vec<Vec<Hash256>>,
}

impl MerkleTree {
    /// The whole tree over a file's block hashes (zero-padded leaves).
    pub fn from_leaves(leaves: &[Hash256]) -> MerkleTree {
        let width = leaves.len().max(1).next_power_of_two();
        Self::build(leaves, width, [0; 32], 0)
    }

    /// The tree from a file's piece layer up (for a file larger than one
    /// piece; `blocks_per_piece` a power of two).
    pub fn from_piece_layer(layer: &[Hash256], blocks_per_piece: u32) -> MerkleTree {
        let width = layer.len().max(1).next_power_of_two();
        let pad = pad_hash(u64::from(blocks_per_piece));
        Self::build(layer, width, pad, blocks_per_piece.trailing_zeros())
    }

    fn build(nodes: &[Hash256], width: usize, pad: Hash256, base: u32) -> MerkleTree {
        let mut layer = nodes.to_vec();
        layer.resize(width, pad);
        let mut layers = vec![layer];
        while let Some(last) = layers.last().filter(|l| l.len() > 1) {
            let next = last.chunks(2).map(|p| parent(&p[0], &p[1])).collect();
            layers.push(next);
        }
        MerkleTree { base, layers }
    }

    /// The root (the file's `pieces root`).
    pub fn root(&self) -> Hash256 {
        self.layers
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or([0; 32])
    }

    /// The number of leaves of the full tree (a power of two).
    pub fn leaf_count(&self) -> u64 {
        (self.layers[0].len() as u64) << self.base
    }

    /// Layer `n` (0 = leaves), padded, if this tree keeps it.
    pub fn layer(&self, n: u32) -> Option<&[Hash256]> {
        let i = n.checked_sub(self.base)?;
        self.layers.get(i as usize).map(Vec::as_slice)
    }

    /// The answer to a BEP 52 `hash request`: `count` nodes of layer `base`
    /// from `index`, and the uncles of their subtree for `proof_layers`
    /// layers above it (fewer if the root comes first). `None` when the
    /// request does not fit the tree (layer not kept, `count` not a power of
    /// two, `index` not a multiple of `count`, range past the layer).
    pub fn hashes(
        &self,
        base: u32,
        index: u32,
        count: u32,
        proof_layers: u32,
    ) -> Option<(Vec<Hash256>, Vec<Hash256>)> {
        let layer = self.layer(base)?;
        let (index, count) = (index as usize, count as usize);
        if !count.is_power_of_two() || index % count != 0 || index + count > layer.len() {
            return None;
        }
        let hashes = layer[index..index + count].to_vec();
        let mut uncles = Vec::new();
        let mut level = base + count.trailing_zeros();
        let mut pos = index / count;
        while uncles.len() < proof_layers as usize {
            let Some(l) = self.layer(level) else { break };
            if l.len() <= 1 {
                break;
            }
            uncles.push(l[pos ^ 1]);
            pos /= 2;
            level += 1;
        }
        Some((hashes, uncles))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_hash_is_the_root_of_zero_leaves() {
        assert_eq!(pad_hash(1), [0; 32]);
        assert_eq!(pad_hash(2), parent(&[0; 32], &[0; 32]));
        assert_eq!(pad_hash(8), root_padded(&[[0; 32]; 8], 8, [0; 32]));
        assert_eq!(pad_hash(8), root_padded(&[], 8, [0; 32]));
    }

    #[test]
    fn one_leaf_is_its_own_root() {
        let leaf = block_hash(b"x");
        assert_eq!(root_from_leaves(&[leaf]), leaf);
        assert_eq!(MerkleTree::from_leaves(&[leaf]).root(), leaf);
        assert_eq!(MerkleTree::from_leaves(&[leaf]).leaf_count(), 1);
    }

    #[test]
    fn odd_layers_are_padded_per_level() {
        let l: Vec<Hash256> = (0u8..3).map(|i| block_hash(&[i])).collect();
        let expected = parent(&parent(&l[0], &l[1]), &parent(&l[2], &[0; 32]));
        assert_eq!(root_from_leaves(&l), expected);
    }

    #[test]
    fn piece_layer_root_matches_leaf_root() {
        for blocks in 1..40usize {
            let leaves: Vec<Hash256> = (0..blocks).map(|i| block_hash(&i.to_le_bytes())).collect();
            for bpp in [1u32, 2, 4, 8] {
                if blocks <= bpp as usize {
                    continue;
                }
                let layer = piece_layer(&leaves, bpp as usize);
                assert_eq!(
                    root_from_piece_layer(&layer, bpp),
                    root_from_leaves(&leaves),
                    "{blocks} blocks, {bpp} per piece"
                );
                let tree = MerkleTree::from_piece_layer(&layer, bpp);
                assert_eq!(tree.root(), root_from_leaves(&leaves));
                assert_eq!(tree.leaf_count(), leaf_count(blocks as u64 * 16384));
            }
        }
    }

    #[test]
    fn proofs_verify_and_tampering_fails() {
        let leaves: Vec<Hash256> = (0u32..13).map(|i| block_hash(&i.to_le_bytes())).collect();
        let tree = MerkleTree::from_leaves(&leaves);
        let root = tree.root();
        let n = tree.leaf_count();
        for base in 0..4 {
            for count in [1u32, 2, 4] {
                let width = (n >> base) as u32;
                let mut index = 0;
                while index + count <= width {
                    let (h, u) = tree.hashes(base, index, count, 64).unwrap();
                    assert!(verify_hashes(&root, n, base, u64::from(index), &h, &u));
                    let mut bad = h.clone();
                    bad[0][0] ^= 1;
                    assert!(!verify_hashes(&root, n, base, u64::from(index), &bad, &u));
                    if let Some((_, short)) = u.split_last() {
                        assert!(!verify_hashes(&root, n, base, u64::from(index), &h, short));
                    }
                    index += count;
                }
            }
        }
        assert!(tree.hashes(0, 1, 2, 0).is_none());
        assert!(tree.hashes(0, 0, 3, 0).is_none());
        assert!(tree.hashes(0, 16, 1, 0).is_none());
        assert!(tree.hashes(9, 0, 1, 0).is_none());
    }
}
