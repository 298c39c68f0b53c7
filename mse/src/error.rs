//! Why a handshake failed: [`MseError`], and the [`Stage`] it was at.

use std::fmt;

use crate::handshake::MAX_PAD;

/// Where a handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Waiting for the peer's 96-byte public key.
    PublicKey,
    /// Scanning the peer's padding for the synchronisation point
    /// (`HASH('req1', S)` for a responder, the encrypted VC for an initiator).
    Sync,
    /// Reading the stream-key hash (responder) or the encrypted fields after
    /// the synchronisation point: VC, `crypto_provide` / `crypto_select`,
    /// a padding length.
    Header,
    /// Reading `PadC` (responder) or `PadD` (initiator).
    Padding,
    /// Reading the initial payload (responder).
    InitialPayload,
    /// Finished.
    Done,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::PublicKey => "the public key",
            Stage::Sync => "the synchronisation scan",
            Stage::Header => "the encrypted header",
            Stage::Padding => "the padding",
            Stage::InitialPayload => "the initial payload",
            Stage::Done => "the end of the handshake",
        })
    }
}

/// Which padding field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pad {
    /// `PadA` / `PadB`, after a public key (ours, when we make one).
    Key,
    /// `PadC`, sent by the initiator after `crypto_provide`.
    C,
    /// `PadD`, sent by the responder after `crypto_select`.
    D,
}

impl fmt::Display for Pad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pad::Key => "key",
            Pad::C => "PadC",
            Pad::D => "PadD",
        })
    }
}

/// Why a handshake failed. Each is final: the connection is to be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MseError {
    /// The peer's public key is 0, 1, `P - 1` or not below `P`.
    #[error("the peer's public key is out of range")]
    BadPublicKey,
    /// No `HASH('req1', S)` in the `scanned` bytes after the peer's key
    /// (it must start within 512 bytes of padding).
    #[error("no HASH('req1', S) within {scanned} bytes after the peer's key")]
    Req1NotFound {
        /// Bytes after the peer's public key that were searched.
        scanned: usize,
    },
    /// No encrypted verification constant in the `scanned` bytes after the
    /// peer's key (it must start within 512 bytes of padding).
    #[error("no encrypted VC within {scanned} bytes after the peer's key")]
    VcNotFound {
        /// Bytes after the peer's public key that were searched.
        scanned: usize,
    },
    /// `HASH('req2', SKEY)` names no torrent we have.
    #[error("no torrent has the stream key hash {}", Hex(req2))]
    UnknownTorrent {
        /// The hash the peer sent (after undoing the xor with `req3`).
        req2: [u8; 20],
    },
    /// The verification constant did not decrypt to eight zeros: the peer
    /// used another key.
    #[error("the verification constant decrypts to {}, not zeros", Hex(vc))]
    BadVc {
        /// What it decrypted to.
        vc: [u8; 8],
    },
    /// A padding longer than 512 bytes.
    #[error("{which} padding of {len} bytes (at most {MAX_PAD})")]
    PadTooLong {
        /// Which padding.
        which: Pad,
        /// Its length.
        len: usize,
    },
    /// The peer offers no method we allow.
    #[error("the peer offers crypto methods {provided:#x}; we allow {allowed:#x}")]
    NoCommonMethod {
        /// The peer's `crypto_provide`.
        provided: u32,
        /// The methods we allow.
        allowed: u32,
    },
    /// The peer selected something other than exactly one of the methods
    /// we offered.
    #[error("the peer selected crypto method {selected:#x}; we offered {offered:#x}")]
    NotOffered {
        /// The peer's `crypto_select`.
        selected: u32,
        /// Our `crypto_provide`.
        offered: u32,
    },
    /// An initial payload longer than the 16-bit length field holds.
    #[error("an initial payload of {len} bytes (at most 65535)")]
    PayloadTooLong {
        /// Its length.
        len: usize,
    },
    /// We were asked to offer or allow no method at all.
    #[error("no crypto method offered or allowed")]
    NoMethod,
    /// The stream ended before the handshake did.
    #[error("the stream ended during {stage} after {received} bytes")]
    Truncated {
        /// Where the handshake was.
        stage: Stage,
        /// Bytes received from the peer in all.
        received: usize,
    },
}

/// Lowercase hex of a byte string, for messages.
struct Hex<'a, const N: usize>(&'a [u8; N]);

impl<const N: usize> fmt::Display for Hex<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
