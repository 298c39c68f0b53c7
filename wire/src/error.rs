//! The crate's error type: every way a peer's bytes can be rejected.

use std::io;

/// Everything that can go wrong reading or writing the peer wire protocol.
///
/// A decoder error means the stream is corrupt or hostile: the connection
/// should be closed (tokio-util's `Framed` stops yielding frames after one).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The underlying transport failed (codecs need `From<io::Error>`).
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),

    /// The handshake does not start with `\x13BitTorrent protocol`.
    #[error("not a BitTorrent handshake (bad protocol string)")]
    BadProtocol,

    /// A length prefix larger than the configured maximum frame size; the
    /// frame is rejected before any memory is reserved for it.
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// The length the peer announced (or that an encoded frame would need).
        len: usize,
        /// The limit in force.
        max: usize,
    },

    /// A message whose length is wrong for its id (for example a `have` that
    /// is not exactly 5 bytes, or a `piece` shorter than 9).
    #[error("message id {id} with invalid length {len}")]
    BadLength {
        /// The message id.
        id: u8,
        /// The frame length (message id included, length prefix excluded).
        len: usize,
    },

    /// The stream or slice ended in the middle of a frame or handshake.
    #[error("truncated: {got} of {needed} bytes")]
    Truncated {
        /// Bytes the frame needs in total.
        needed: usize,
        /// Bytes that were available.
        got: usize,
    },

    /// An extension-protocol payload (BEP 10 handshake, BEP 9 header) is not
    /// valid bencode.
    #[error("invalid bencode in extension message: {0}")]
    Bencode(#[from] monsoon_bencode::Error),

    /// An extension-protocol payload is valid bencode but not the expected
    /// shape: not a dictionary, or a required key missing or mistyped.
    #[error("invalid extension message: bad or missing `{0}`")]
    BadField(&'static str),
}
