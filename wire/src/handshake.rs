//! The BEP 3 handshake: protocol string, reserved bits, info-hash, peer id, and its codec.

use std::fmt;

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::WireError;

/// Length of a handshake on the wire: 1 + 19 + 8 + 20 + 20 bytes.
pub const HANDSHAKE_LEN: usize = 68;

/// The protocol string with its length byte, which every handshake starts with.
pub const PROTOCOL: &[u8; 20] = b"\x13BitTorrent protocol";

/// The 8 reserved handshake bytes, where peers advertise extensions.
///
/// ```
/// use monsoon_wire::Reserved;
/// let r = Reserved::default().with_extension_protocol().with_fast();
/// assert!(r.extension_protocol() && r.fast() && !r.dht() && !r.v2());
/// assert_eq!(r.0, [0, 0, 0, 0, 0, 0x10, 0, 0x04]);
/// assert_eq!(r.with_v2().0, [0, 0, 0, 0, 0, 0x10, 0, 0x14]);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Reserved(pub [u8; 8]);

impl Reserved {
    /// BEP 10 extension protocol: byte 5, bit `0x10`.
    pub const fn extension_protocol(&self) -> bool {
        self.0[5] & 0x10 != 0
    }

    /// BEP 6 fast extension: byte 7, bit `0x04`.
    pub const fn fast(&self) -> bool {
        self.0[7] & 0x04 != 0
    }

    /// BEP 5 DHT (the peer accepts `port` messages): byte 7, bit `0x01`.
    pub const fn dht(&self) -> bool {
        self.0[7] & 0x01 != 0
    }

    /// BEP 52 BitTorrent v2: byte 7, bit `0x10` ("the fourth most
    /// significant bit in the last byte of the reserved bitfield").
    pub const fn v2(&self) -> bool {
        self.0[7] & 0x10 != 0
    }

    /// A copy with the extension-protocol bit set.
    pub const fn with_extension_protocol(mut self) -> Self {
        self.0[5] |= 0x10;
        self
    }

    /// A copy with the fast-extension bit set.
    pub const fn with_fast(mut self) -> Self {
        self.0[7] |= 0x04;
        self
    }

    /// A copy with the DHT bit set.
    pub const fn with_dht(mut self) -> Self {
        self.0[7] |= 0x01;
        self
    }

    /// A copy with the BEP 52 v2 bit set.
    pub const fn with_v2(mut self) -> Self {
        self.0[7] |= 0x10;
        self
    }
}

impl fmt::Debug for Reserved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reserved(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(
            f,
            "; ext={} fast={} dht={} v2={})",
            self.extension_protocol(),
            self.fast(),
            self.dht(),
            self.v2()
        )
    }
}

/// A BEP 3 handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handshake {
    /// Extension bits.
    pub reserved: Reserved,
    /// SHA-1 of the torrent's info dictionary.
    pub info_hash: [u8; 20],
    /// The sender's peer id.
    pub peer_id: [u8; 20],
}

impl Handshake {
    /// A handshake advertising the extension protocol (BEP 10) and the fast
    /// extension (BEP 6), which this crate's [`Message`](crate::Message) speaks.
    pub fn new(info_hash: [u8; 20], peer_id: [u8; 20]) -> Self {
        Self {
            reserved: Reserved::default().with_extension_protocol().with_fast(),
            info_hash,
            peer_id,
        }
    }

    /// Appends the 68 handshake bytes to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(HANDSHAKE_LEN);
        dst.put_slice(PROTOCOL);
        dst.put_slice(&self.reserved.0);
        dst.put_slice(&self.info_hash);
        dst.put_slice(&self.peer_id);
    }

    /// The 68 handshake bytes.
    pub fn to_bytes(&self) -> [u8; HANDSHAKE_LEN] {
        let mut out = [0; HANDSHAKE_LEN];
        out[..20].copy_from_slice(PROTOCOL);
        out[20..28].copy_from_slice(&self.reserved.0);
        out[28..48].copy_from_slice(&self.info_hash);
        out[48..].copy_from_slice(&self.peer_id);
        out
    }

    /// Decodes a handshake from the first 68 bytes of `src` (bytes after
    /// them are ignored).
    ///
    /// BEP 3: the handshake "starts with character nineteen (decimal)
    /// followed by the string 'BitTorrent protocol'"; anything else is
    /// [`WireError::BadProtocol`]. A shorter slice is [`WireError::Truncated`]
    /// (unless the bytes it has are already wrong).
    pub fn decode(src: &[u8]) -> Result<Handshake, WireError> {
        check_prefix(src)?;
        if src.len() < HANDSHAKE_LEN {
            return Err(WireError::Truncated {
                needed: HANDSHAKE_LEN,
                got: src.len(),
            });
        }
        let mut reserved = [0; 8];
        reserved.copy_from_slice(&src[20..28]);
        let mut info_hash = [0; 20];
        info_hash.copy_from_slice(&src[28..48]);
        let mut peer_id = [0; 20];
        peer_id.copy_from_slice(&src[48..68]);
        Ok(Handshake {
            reserved: Reserved(reserved),
            info_hash,
            peer_id,
        })
    }
}

/// Checks the protocol string as far as `src` goes, so a wrong peer is
/// rejected from its first byte rather than after 68.
fn check_prefix(src: &[u8]) -> Result<(), WireError> {
    let n = src.len().min(PROTOCOL.len());
    if src[..n] == PROTOCOL[..n] {
        Ok(())
    } else {
        Err(WireError::BadProtocol)
    }
}

/// A codec for the handshake alone: decode one, then switch the `Framed` to
/// [`PeerCodec`](crate::PeerCodec) with `Framed::map_codec`, which keeps any
/// bytes already read after the handshake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandshakeCodec;

impl Decoder for HandshakeCodec {
    type Item = Handshake;
    type Error = WireError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Handshake>, WireError> {
        check_prefix(src)?;
        if src.len() < HANDSHAKE_LEN {
            src.reserve(HANDSHAKE_LEN - src.len());
            return Ok(None);
        }
        let hs = Handshake::decode(src)?;
        src.advance(HANDSHAKE_LEN);
        Ok(Some(hs))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Handshake>, WireError> {
        match self.decode(src)? {
            Some(hs) => Ok(Some(hs)),
            None if src.is_empty() => Ok(None),
            None => Err(WireError::Truncated {
                needed: HANDSHAKE_LEN,
                got: src.len(),
            }),
        }
    }
}

impl Encoder<Handshake> for HandshakeCodec {
    type Error = WireError;

    fn encode(&mut self, hs: Handshake, dst: &mut BytesMut) -> Result<(), WireError> {
        hs.encode(dst);
        Ok(())
    }
}
