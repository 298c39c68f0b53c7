//! `PeerCodec`: length-prefixed message framing with limits, as a tokio-util codec.

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::WireError;
use crate::message::{Message, check_len, decode_frame, piece_header};

/// The default maximum frame length (length-prefix value): 257 KiB.
///
/// Why this number: the largest frame a well-behaved peer sends is its
/// bitfield. monsoon's metainfo parser accepts at most 2^21 pieces
/// (libtorrent's default `max_pieces`), whose bitfield is 262,144 bytes + 1
/// id byte; 256 KiB plus 1 KiB of margin fits it. A `piece` message of the
/// standard 16 KiB block is 16,393 bytes, a BEP 9 metadata piece a little
/// more, and a few old clients send blocks of up to 128 KiB; all fit, while
/// what one hostile peer can make us buffer per connection stays small.
pub const DEFAULT_MAX_FRAME: usize = 257 * 1024;

/// Decode state: a frame header is parsed exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a 4-byte length prefix.
    Head,
    /// The prefix has been consumed; `len` bytes of frame follow. `checked`
    /// says whether the id byte has been checked against `len`.
    Body { len: usize, checked: bool },
}

/// The peer wire message codec (after the handshake).
///
/// Decoding checks the length prefix against the maximum before reserving
/// anything, checks the id's length rule as soon as the id byte arrives,
/// then reserves exactly the missing part of the frame. Payloads (`piece`
/// data, bitfields, extension payloads) are `Bytes` split off the read
/// buffer, never copied. Every error ends the stream.
///
/// Encoding reserves and writes the whole frame into the write buffer. With
/// `Framed` that is one copy of a piece's data, which cannot be avoided
/// because `Framed` owns a single contiguous write buffer; to send a block
/// without any copy, write [`piece_header`] and the block with a vectored
/// write on the raw stream instead.
#[derive(Debug, Clone)]
pub struct PeerCodec {
    max_frame: usize,
    state: State,
}

impl Default for PeerCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl PeerCodec {
    /// A codec with [`DEFAULT_MAX_FRAME`].
    pub fn new() -> Self {
        Self::with_max_frame(DEFAULT_MAX_FRAME)
    }

    /// A codec that rejects frames longer than `max` bytes (length-prefix
    /// value, so message id included).
    pub fn with_max_frame(max: usize) -> Self {
        Self {
            max_frame: max,
            state: State::Head,
        }
    }

    /// The maximum frame length in force.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }
}

impl Decoder for PeerCodec {
    type Item = Message;
    type Error = WireError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, WireError> {
        let (len, checked) = match self.state {
            State::Body { len, checked } => (len, checked),
            State::Head => {
                let Some(prefix) = src.first_chunk::<4>() else {
                    return Ok(None);
                };
                let len = u32::from_be_bytes(*prefix) as usize;
                // Checked before anything is reserved: a hostile length must
                // not allocate.
                if len > self.max_frame {
                    return Err(WireError::FrameTooLarge {
                        len,
                        max: self.max_frame,
                    });
                }
                src.advance(4);
                // BEP 3: "Messages of length zero are keepalives, and ignored."
                if len == 0 {
                    return Ok(Some(Message::KeepAlive));
                }
                (len, false)
            }
        };
        if !checked {
            // The id's length rule is checked as soon as the id arrives, so a
            // bad frame is rejected before its body is buffered.
            let Some(&msg_id) = src.first() else {
                self.state = State::Body { len, checked };
                return Ok(None);
            };
            check_len(msg_id, len)?;
        }
        if src.len() < len {
            self.state = State::Body { len, checked: true };
            src.reserve(len - src.len());
            return Ok(None);
        }
        self.state = State::Head;
        Ok(Some(decode_frame(src.split_to(len))))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, WireError> {
        if let Some(msg) = self.decode(src)? {
            return Ok(Some(msg));
        }
        match self.state {
            State::Head if src.is_empty() => Ok(None),
            State::Head => Err(WireError::Truncated {
                needed: 4,
                got: src.len(),
            }),
            State::Body { len, .. } => Err(WireError::Truncated {
                needed: 4 + len,
                got: 4 + src.len(),
            }),
        }
    }
}

impl Encoder<Message> for PeerCodec {
    type Error = WireError;

    fn encode(&mut self, msg: Message, dst: &mut BytesMut) -> Result<(), WireError> {
        msg.encode(dst)
    }
}

/// A `piece` message whose block is borrowed: [`PieceRef::encode`] writes the
/// header and the block straight into a buffer (such as `Framed`'s write
/// buffer, via `Framed::write_buffer_mut`), with no intermediate `Message`.
///
/// (It is not a second `Encoder` impl on [`PeerCodec`]: with two, calls like
/// `framed.flush()` could no longer infer the item type.)
///
/// ```
/// use bytes::BytesMut;
/// use monsoon_wire::PieceRef;
///
/// let block = vec![7u8; 16384];
/// let mut out = BytesMut::new();
/// PieceRef { index: 1, begin: 0, data: &block }.encode(&mut out).unwrap();
/// assert_eq!(out.len(), 13 + 16384);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceRef<'a> {
    /// Piece index.
    pub index: u32,
    /// Byte offset within the piece.
    pub begin: u32,
    /// The block.
    pub data: &'a [u8],
}

impl PieceRef<'_> {
    /// Appends the 13-byte header and the block to `dst` (reserving first).
    ///
    /// Fails with [`WireError::FrameTooLarge`] only if the block is too large
    /// for a 32-bit frame length.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), WireError> {
        let header = piece_header(self.index, self.begin, self.data.len()).ok_or(
            WireError::FrameTooLarge {
                len: self.data.len().saturating_add(9),
                max: u32::MAX as usize,
            },
        )?;
        dst.reserve(header.len() + self.data.len());
        dst.put_slice(&header);
        dst.put_slice(self.data);
        Ok(())
    }
}
