//! The BEP 9 (`ut_metadata`) message header, for fetching the info dictionary from peers.

use bytes::{BufMut, BytesMut};
use monsoon_bencode::{DecodeOptions, OwnedValue};

use crate::error::WireError;

/// The name of the metadata extension in the extension handshake's `m`.
pub const UT_METADATA: &str = "ut_metadata";

/// BEP 9: "The metadata is handled in blocks of 16KiB (16384 Bytes)."
pub const METADATA_PIECE_SIZE: usize = 16 * 1024;

/// The bencoded header of a `ut_metadata` message. For `Data`, the piece's
/// bytes follow the header in the same extended payload.
///
/// ```
/// use monsoon_wire::MetadataMessage;
///
/// let mut payload = MetadataMessage::Data { piece: 0, total_size: 3 }.encode().to_vec();
/// payload.extend_from_slice(b"abc");
/// let (msg, offset) = MetadataMessage::decode(&payload).unwrap();
/// assert_eq!(msg, MetadataMessage::Data { piece: 0, total_size: 3 });
/// assert_eq!(&payload[offset..], b"abc");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetadataMessage {
    /// `msg_type` 0: asks for a piece of the metadata.
    Request {
        /// Metadata piece index.
        piece: u32,
    },
    /// `msg_type` 1: a piece of the metadata follows the header.
    Data {
        /// Metadata piece index.
        piece: u32,
        /// Size of the whole info dictionary.
        total_size: u64,
    },
    /// `msg_type` 2: the sender will not send this piece.
    Reject {
        /// Metadata piece index.
        piece: u32,
    },
}

impl MetadataMessage {
    /// The metadata piece this message is about.
    pub fn piece(&self) -> u32 {
        match self {
            Self::Request { piece } | Self::Data { piece, .. } | Self::Reject { piece } => *piece,
        }
    }

    /// The bencoded header.
    pub fn encode(&self) -> BytesMut {
        let mut out = BytesMut::new();
        self.encode_to(&mut out);
        out
    }

    /// Appends the bencoded header to `dst`; for `Data`, append the piece after it.
    pub fn encode_to<B: BufMut>(&self, dst: &mut B) {
        let (msg_type, piece) = match *self {
            Self::Request { piece } => (0, piece),
            Self::Data { piece, .. } => (1, piece),
            Self::Reject { piece } => (2, piece),
        };
        let mut d = OwnedValue::dict()
            .insert("msg_type", OwnedValue::Int(msg_type))
            .insert("piece", i64::from(piece).into());
        if let Self::Data { total_size, .. } = *self {
            d = d.insert(
                "total_size",
                i64::try_from(total_size).unwrap_or(i64::MAX).into(),
            );
        }
        d.encode_to(dst);
    }

    /// Decodes the header at the start of an extended payload and returns it
    /// with the offset where the piece data starts (the payload's length for
    /// `Request` and `Reject`, which carry none).
    ///
    /// BEP 9: "If the piece is the last piece of the metadata, it may be
    /// less than 16kiB" — the size of the data is checked by the caller, who
    /// knows `total_size`. An unknown `msg_type` is
    /// [`WireError::BadField`]`("msg_type")`.
    pub fn decode(payload: &[u8]) -> Result<(MetadataMessage, usize), WireError> {
        let (value, used) = DecodeOptions::new().lenient().decode_prefix(payload)?;
        let dict = value.as_dict().ok_or(WireError::BadField("dictionary"))?;
        let piece = dict
            .get_int(b"piece")
            .and_then(|p| u32::try_from(p).ok())
            .ok_or(WireError::BadField("piece"))?;
        let msg = match dict.get_int(b"msg_type") {
            Some(0) => Self::Request { piece },
            Some(1) => Self::Data {
                piece,
                total_size: dict
                    .get_int(b"total_size")
                    .and_then(|s| u64::try_from(s).ok())
                    .ok_or(WireError::BadField("total_size"))?,
            },
            Some(2) => Self::Reject { piece },
            _ => return Err(WireError::BadField("msg_type")),
        };
        Ok((msg, used))
    }
}
