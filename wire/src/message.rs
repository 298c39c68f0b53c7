//! The `Message` enum (BEP 3, 6, 10 and 52 messages), its ids, length rules and body encoding.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::WireError;
use crate::hashes::{HASH_HEADER_LEN, HashRequest, hashes_len_ok};

/// Message ids, as they appear in the byte after the length prefix.
pub mod id {
    /// BEP 3 `choke`.
    pub const CHOKE: u8 = 0;
    /// BEP 3 `unchoke`.
    pub const UNCHOKE: u8 = 1;
    /// BEP 3 `interested`.
    pub const INTERESTED: u8 = 2;
    /// BEP 3 `not interested`.
    pub const NOT_INTERESTED: u8 = 3;
    /// BEP 3 `have`.
    pub const HAVE: u8 = 4;
    /// BEP 3 `bitfield`.
    pub const BITFIELD: u8 = 5;
    /// BEP 3 `request`.
    pub const REQUEST: u8 = 6;
    /// BEP 3 `piece`.
    pub const PIECE: u8 = 7;
    /// BEP 3 `cancel`.
    pub const CANCEL: u8 = 8;
    /// BEP 5 `port`.
    pub const PORT: u8 = 9;
    /// BEP 6 `suggest piece`.
    pub const SUGGEST: u8 = 0x0D;
    /// BEP 6 `have all`.
    pub const HAVE_ALL: u8 = 0x0E;
    /// BEP 6 `have none`.
    pub const HAVE_NONE: u8 = 0x0F;
    /// BEP 6 `reject request`.
    pub const REJECT: u8 = 0x10;
    /// BEP 6 `allowed fast`.
    pub const ALLOWED_FAST: u8 = 0x11;
    /// BEP 10 `extended`.
    pub const EXTENDED: u8 = 20;
    /// BEP 52 `hash request`.
    pub const HASH_REQUEST: u8 = 21;
    /// BEP 52 `hashes`.
    pub const HASHES: u8 = 22;
    /// BEP 52 `hash reject`.
    pub const HASH_REJECT: u8 = 23;
}

/// A block of a piece: the body of `request`, `cancel` and `reject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockRef {
    /// Piece index.
    pub index: u32,
    /// Byte offset within the piece.
    pub begin: u32,
    /// Block length in bytes.
    pub length: u32,
}

/// One peer wire message.
///
/// Frame lengths are enforced by the decoder: `have`, `suggest` and
/// `allowed fast` are exactly 5 bytes, `request`, `cancel` and `reject`
/// exactly 13, `port` exactly 3, the payload-free messages exactly 1,
/// `piece` at least 9, `extended` at least 2, `bitfield` at least 1,
/// `hash request` and `hash reject` exactly 49, `hashes` 49 plus a whole
/// number of 32-byte hashes, at most [`MAX_HASHES`](crate::MAX_HASHES).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Message {
    /// A zero-length frame, sent to keep the connection open.
    KeepAlive,
    /// The sender will not serve requests.
    Choke,
    /// The sender will serve requests.
    Unchoke,
    /// The sender wants data from the receiver.
    Interested,
    /// The sender does not want data from the receiver.
    NotInterested,
    /// The sender has verified this piece.
    Have(u32),
    /// The pieces the sender has, high bit of the first byte = piece 0. The
    /// codec does not know the piece count: the caller checks the length and
    /// the spare bits.
    Bitfield(Bytes),
    /// Asks for a block.
    Request(BlockRef),
    /// A block of data; `data` is a slice of the read buffer, not a copy.
    Piece {
        /// Piece index.
        index: u32,
        /// Byte offset within the piece.
        begin: u32,
        /// The block.
        data: Bytes,
    },
    /// Withdraws a request.
    Cancel(BlockRef),
    /// BEP 5: the sender's DHT port.
    Port(u16),
    /// BEP 6: the sender suggests downloading this piece.
    Suggest(u32),
    /// BEP 6: the sender has every piece (instead of a bitfield).
    HaveAll,
    /// BEP 6: the sender has no piece (instead of a bitfield).
    HaveNone,
    /// BEP 6: the sender will not serve this request.
    Reject(BlockRef),
    /// BEP 6: the receiver may request this piece while choked.
    AllowedFast(u32),
    /// BEP 10: an extension message; `id` 0 is the extension handshake,
    /// other ids are those the receiver announced in its handshake's `m`.
    Extended {
        /// Extended message id.
        id: u8,
        /// The extension's payload (after the extended id byte).
        payload: Bytes,
    },
    /// BEP 52: asks for hashes of a file's merkle tree.
    HashRequest(HashRequest),
    /// BEP 52: the hashes asked for: `request.length` hashes of the base
    /// layer, then the uncle hashes of the proof, lowest layer first.
    Hashes {
        /// The request being answered.
        request: HashRequest,
        /// The hashes, 32 bytes each, concatenated (a slice of the read
        /// buffer, not a copy).
        hashes: Bytes,
    },
    /// BEP 52: the sender will not answer this `hash request`.
    HashReject(HashRequest),
    /// A message id this crate does not know, kept for forward compatibility.
    Unknown {
        /// The message id.
        id: u8,
        /// Everything after the id.
        payload: Bytes,
    },
}

impl Message {
    /// The message id, or `None` for a keep-alive.
    pub fn id(&self) -> Option<u8> {
        Some(match self {
            Self::KeepAlive => return None,
            Self::Choke => id::CHOKE,
            Self::Unchoke => id::UNCHOKE,
            Self::Interested => id::INTERESTED,
            Self::NotInterested => id::NOT_INTERESTED,
            Self::Have(_) => id::HAVE,
            Self::Bitfield(_) => id::BITFIELD,
            Self::Request(_) => id::REQUEST,
            Self::Piece { .. } => id::PIECE,
            Self::Cancel(_) => id::CANCEL,
            Self::Port(_) => id::PORT,
            Self::Suggest(_) => id::SUGGEST,
            Self::HaveAll => id::HAVE_ALL,
            Self::HaveNone => id::HAVE_NONE,
            Self::Reject(_) => id::REJECT,
            Self::AllowedFast(_) => id::ALLOWED_FAST,
            Self::Extended { .. } => id::EXTENDED,
            Self::HashRequest(_) => id::HASH_REQUEST,
            Self::Hashes { .. } => id::HASHES,
            Self::HashReject(_) => id::HASH_REJECT,
            Self::Unknown { id, .. } => *id,
        })
    }

    /// The frame length this message encodes to, without the 4-byte prefix.
    pub fn frame_len(&self) -> usize {
        match self {
            Self::KeepAlive => 0,
            Self::Choke
            | Self::Unchoke
            | Self::Interested
            | Self::NotInterested
            | Self::HaveAll
            | Self::HaveNone => 1,
            Self::Have(_) | Self::Suggest(_) | Self::AllowedFast(_) => 5,
            Self::Request(_) | Self::Cancel(_) | Self::Reject(_) => 13,
            Self::Port(_) => 3,
            Self::Bitfield(b) => 1 + b.len(),
            Self::Piece { data, .. } => 9 + data.len(),
            Self::Extended { payload, .. } => 2 + payload.len(),
            Self::HashRequest(_) | Self::HashReject(_) => 1 + HASH_HEADER_LEN,
            Self::Hashes { hashes, .. } => 1 + HASH_HEADER_LEN + hashes.len(),
            Self::Unknown { payload, .. } => 1 + payload.len(),
        }
    }

    /// The number of bytes this message takes on the wire, prefix included.
    pub fn encoded_len(&self) -> usize {
        4 + self.frame_len()
    }

    /// Appends the length prefix and the message to `dst` (reserving first).
    ///
    /// Fails with [`WireError::FrameTooLarge`] only if the frame cannot be
    /// described by a 32-bit length prefix.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), WireError> {
        let len = self.frame_len();
        let prefix = u32::try_from(len).map_err(|_| WireError::FrameTooLarge {
            len,
            max: u32::MAX as usize,
        })?;
        dst.reserve(4 + len);
        dst.put_u32(prefix);
        let Some(msg_id) = self.id() else {
            return Ok(());
        };
        dst.put_u8(msg_id);
        match self {
            Self::KeepAlive
            | Self::Choke
            | Self::Unchoke
            | Self::Interested
            | Self::NotInterested
            | Self::HaveAll
            | Self::HaveNone => {}
            Self::Have(i) | Self::Suggest(i) | Self::AllowedFast(i) => dst.put_u32(*i),
            Self::Request(b) | Self::Cancel(b) | Self::Reject(b) => put_block(b, dst),
            Self::Port(p) => dst.put_u16(*p),
            Self::Bitfield(b) => dst.put_slice(b),
            Self::Piece { index, begin, data } => {
                dst.put_u32(*index);
                dst.put_u32(*begin);
                dst.put_slice(data);
            }
            Self::Extended { id, payload } => {
                dst.put_u8(*id);
                dst.put_slice(payload);
            }
            Self::HashRequest(r) | Self::HashReject(r) => r.encode(dst),
            Self::Hashes { request, hashes } => {
                request.encode(dst);
                dst.put_slice(hashes);
            }
            Self::Unknown { payload, .. } => dst.put_slice(payload),
        }
        Ok(())
    }
}

fn put_block(b: &BlockRef, dst: &mut BytesMut) {
    dst.put_u32(b.index);
    dst.put_u32(b.begin);
    dst.put_u32(b.length);
}

/// The 13-byte header of a `piece` message carrying `len` bytes of data:
/// length prefix, id, index, begin. Write it followed by the block itself
/// (for example with a vectored write) to send a block without copying it.
///
/// Returns `None` if `len` is too large for a 32-bit frame length.
pub fn piece_header(index: u32, begin: u32, len: usize) -> Option<[u8; 13]> {
    let frame = u32::try_from(len.checked_add(9)?).ok()?;
    let mut h = [0; 13];
    h[..4].copy_from_slice(&frame.to_be_bytes());
    h[4] = id::PIECE;
    h[5..9].copy_from_slice(&index.to_be_bytes());
    h[9..].copy_from_slice(&begin.to_be_bytes());
    Some(h)
}

/// Checks a frame's length against the rule for its id.
///
/// BEP 3: "'choke', 'unchoke', 'interested', and 'not interested' have no
/// payload"; "'have' messages have a payload of a single number, the index";
/// "'request' messages contain an index, begin, and length"; "'piece'
/// messages contain an index, begin, and piece"; "'cancel' messages have the
/// same payload as request messages". BEP 6 gives `have all`/`have none` no
/// payload, `suggest`/`allowed fast` a piece index, `reject` the payload of
/// a request. BEP 5: the `port` payload is a 2-byte port. BEP 10: an
/// extended message carries at least its extended id byte. BEP 52: `hash
/// request` and `hash reject` carry a pieces root and four integers;
/// `hashes` carries the same and then the hashes, 32 bytes each — bounded
/// here so that one message cannot be arbitrarily large.
pub(crate) fn check_len(msg_id: u8, len: usize) -> Result<(), WireError> {
    let ok = match msg_id {
        id::CHOKE
        | id::UNCHOKE
        | id::INTERESTED
        | id::NOT_INTERESTED
        | id::HAVE_ALL
        | id::HAVE_NONE => len == 1,
        id::HAVE | id::SUGGEST | id::ALLOWED_FAST => len == 5,
        id::REQUEST | id::CANCEL | id::REJECT => len == 13,
        id::PORT => len == 3,
        id::PIECE => len >= 9,
        id::EXTENDED => len >= 2,
        id::HASH_REQUEST | id::HASH_REJECT => len == 1 + HASH_HEADER_LEN,
        id::HASHES => hashes_len_ok(len),
        _ => len >= 1,
    };
    if ok {
        Ok(())
    } else {
        Err(WireError::BadLength { id: msg_id, len })
    }
}

/// Decodes a complete frame (id and body, prefix already removed) whose
/// length has passed [`check_len`]. Payloads are split off `frame`, not copied.
pub(crate) fn decode_frame(mut frame: BytesMut) -> Message {
    let msg_id = frame.get_u8();
    match msg_id {
        id::CHOKE => Message::Choke,
        id::UNCHOKE => Message::Unchoke,
        id::INTERESTED => Message::Interested,
        id::NOT_INTERESTED => Message::NotInterested,
        id::HAVE => Message::Have(frame.get_u32()),
        id::BITFIELD => Message::Bitfield(frame.freeze()),
        id::REQUEST => Message::Request(get_block(&mut frame)),
        id::PIECE => {
            let index = frame.get_u32();
            let begin = frame.get_u32();
            Message::Piece {
                index,
                begin,
                data: frame.freeze(),
            }
        }
        id::CANCEL => Message::Cancel(get_block(&mut frame)),
        id::PORT => Message::Port(frame.get_u16()),
        id::SUGGEST => Message::Suggest(frame.get_u32()),
        id::HAVE_ALL => Message::HaveAll,
        id::HAVE_NONE => Message::HaveNone,
        id::REJECT => Message::Reject(get_block(&mut frame)),
        id::ALLOWED_FAST => Message::AllowedFast(frame.get_u32()),
        id::EXTENDED => {
            let ext = frame.get_u8();
            Message::Extended {
                id: ext,
                payload: frame.freeze(),
            }
        }
        id::HASH_REQUEST => Message::HashRequest(HashRequest::decode(&mut frame)),
        id::HASH_REJECT => Message::HashReject(HashRequest::decode(&mut frame)),
        id::HASHES => Message::Hashes {
            request: HashRequest::decode(&mut frame),
            hashes: frame.freeze(),
        },
        other => Message::Unknown {
            id: other,
            payload: frame.freeze(),
        },
    }
}

fn get_block(frame: &mut BytesMut) -> BlockRef {
    BlockRef {
        index: frame.get_u32(),
        begin: frame.get_u32(),
        length: frame.get_u32(),
    }
}
