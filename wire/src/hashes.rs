//! BEP 52 merkle hash messages: `hash request`, `hashes` and `hash reject`,
//! which share one 48-byte header ([`HashRequest`]).

use bytes::{Buf, BufMut, BytesMut};

/// Most hashes one `hashes` message may carry: 8192 from the base layer
/// (libtorrent's largest accepted request, a 128 MiB piece's blocks) plus 30
/// uncles (the proof up to the root of a tree of 2^30 leaves, the largest
/// file a torrent may hold). A message at this limit, 49 + 8222 × 32 =
/// 263,153 bytes, fits [`DEFAULT_MAX_FRAME`](crate::DEFAULT_MAX_FRAME).
pub const MAX_HASHES: usize = 8192 + 30;

/// Length of the shared header: pieces root, base layer, index, length and
/// proof layers.
pub const HASH_HEADER_LEN: usize = 32 + 4 * 4;

/// The body of a BEP 52 `hash request` and `hash reject`, and the header of
/// `hashes`.
///
/// BEP 52: "pieces root: the root hash of a file; base layer: the lowest
/// requested layer of the tree (0 = the leaf layer); index: the offset in
/// hashes of the first requested hash in the base layer; length: the number
/// of hashes to include from the base layer; proof layers: the number of
/// ancestor layers to include." The codec checks only the sizes; whether a
/// request fits the file's tree is the caller's business (see
/// `monsoon_storage::merkle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashRequest {
    /// The root of the file's merkle tree (its `pieces root`).
    pub pieces_root: [u8; 32],
    /// The lowest layer asked for (0 = the 16 KiB block hashes).
    pub base_layer: u32,
    /// Offset of the first hash asked for in the base layer.
    pub index: u32,
    /// Number of base-layer hashes asked for.
    pub length: u32,
    /// Number of ancestor layers whose uncle hashes to include.
    pub proof_layers: u32,
}

impl HashRequest {
    /// Reads the header from the front of `buf` (at least
    /// [`HASH_HEADER_LEN`] bytes, checked by the caller).
    pub(crate) fn decode(buf: &mut BytesMut) -> HashRequest {
        let mut pieces_root = [0u8; 32];
        buf.copy_to_slice(&mut pieces_root);
        HashRequest {
            pieces_root,
            base_layer: buf.get_u32(),
            index: buf.get_u32(),
            length: buf.get_u32(),
            proof_layers: buf.get_u32(),
        }
    }

    /// Appends the header to `dst` (which has room for it).
    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(&self.pieces_root);
        dst.put_u32(self.base_layer);
        dst.put_u32(self.index);
        dst.put_u32(self.length);
        dst.put_u32(self.proof_layers);
    }
}

/// Whether a `hashes` frame of `len` bytes (id included) holds a whole
/// number of 32-byte hashes, at most [`MAX_HASHES`].
pub(crate) fn hashes_len_ok(len: usize) -> bool {
    len.checked_sub(1 + HASH_HEADER_LEN)
        .is_some_and(|body| body % 32 == 0 && body / 32 <= MAX_HASHES)
}
