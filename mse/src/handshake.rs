//! What both roles share: the crypto methods, the secret material a
//! handshake is made from, the [`Exchange`] interface and its result.

use crate::dh::PRIVATE_KEY_LEN;
use crate::error::{MseError, Pad, Stage};
use crate::keys::Cipher;

/// Most bytes of any padding (`PadA` to `PadD`).
pub const MAX_PAD: usize = 512;

/// The verification constant: eight zero bytes.
pub const VC: [u8; 8] = [0; 8];

/// One way to carry the payload after the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CryptoMethod {
    /// The payload goes in the clear (only the handshake was obfuscated).
    Plaintext,
    /// The payload is RC4-encrypted.
    Rc4,
}

impl CryptoMethod {
    /// Its bit in `crypto_provide` / `crypto_select`.
    pub const fn bit(self) -> u32 {
        match self {
            CryptoMethod::Plaintext => 0x01,
            CryptoMethod::Rc4 => 0x02,
        }
    }

    /// The method a `crypto_select` value names (exactly one known bit).
    pub const fn from_select(bits: u32) -> Option<Self> {
        match bits {
            0x01 => Some(CryptoMethod::Plaintext),
            0x02 => Some(CryptoMethod::Rc4),
            _ => None,
        }
    }
}

/// A set of [`CryptoMethod`]s: what an initiator offers
/// (`crypto_provide`) or a responder accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Methods(u32);

impl Methods {
    /// Plaintext only.
    pub const PLAINTEXT: Methods = Methods(0x01);
    /// RC4 only.
    pub const RC4: Methods = Methods(0x02);
    /// Both; RC4 is chosen when both sides allow it.
    pub const BOTH: Methods = Methods(0x03);

    /// The bits as sent on the wire.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// A set from wire bits; bits of unknown methods are dropped.
    pub const fn from_bits(bits: u32) -> Self {
        Methods(bits & Self::BOTH.0)
    }

    /// Whether `method` is in the set.
    pub const fn contains(self, method: CryptoMethod) -> bool {
        self.0 & method.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The method both sets contain, RC4 first.
    pub const fn choose(self, other: Methods) -> Option<CryptoMethod> {
        let common = Methods(self.0 & other.0);
        if common.contains(CryptoMethod::Rc4) {
            Some(CryptoMethod::Rc4)
        } else if common.contains(CryptoMethod::Plaintext) {
            Some(CryptoMethod::Plaintext)
        } else {
            None
        }
    }
}

/// The secret material of one handshake: our private key and the padding
/// sent after our public key. The state machines take it as an argument,
/// so they are deterministic; [`Entropy::random`] draws it from the system.
#[derive(Clone)]
pub struct Entropy {
    pub(crate) private_key: [u8; PRIVATE_KEY_LEN],
    pub(crate) padding: Vec<u8>,
}

impl Entropy {
    /// A private key and the padding to send after the public key.
    ///
    /// # Errors
    /// [`MseError::PadTooLong`] for padding longer than [`MAX_PAD`].
    pub fn new(private_key: [u8; PRIVATE_KEY_LEN], padding: Vec<u8>) -> Result<Self, MseError> {
        if padding.len() > MAX_PAD {
            return Err(MseError::PadTooLong {
                which: Pad::Key,
                len: padding.len(),
            });
        }
        Ok(Self {
            private_key,
            padding,
        })
    }

    /// A random private key and 0 to 512 random padding bytes, from the
    /// operating system.
    ///
    /// # Errors
    /// When the system has no randomness to give.
    #[cfg(feature = "getrandom")]
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut private_key = [0u8; PRIVATE_KEY_LEN];
        getrandom::fill(&mut private_key)?;
        let mut len = [0u8; 2];
        getrandom::fill(&mut len)?;
        let len = usize::from(u16::from_be_bytes(len)) % (MAX_PAD + 1);
        let mut padding = vec![0u8; len];
        getrandom::fill(&mut padding)?;
        Ok(Self {
            private_key,
            padding,
        })
    }
}

impl std::fmt::Debug for Entropy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entropy")
            .field("padding", &self.padding.len())
            .finish_non_exhaustive()
    }
}

/// The RC4 streams of an encrypted connection.
#[derive(Debug)]
pub struct Ciphers {
    /// Decrypts what the peer sends.
    pub read: Cipher,
    /// Encrypts what we send.
    pub write: Cipher,
}

/// A finished handshake.
#[derive(Debug)]
#[non_exhaustive]
pub struct Established {
    /// How the payload is carried from now on.
    pub method: CryptoMethod,
    /// The stream key: the torrent's info-hash (the one the responder
    /// found from the peer's `HASH('req2', SKEY)`).
    pub info_hash: [u8; 20],
    /// The initiator's initial payload (IA), decrypted: the start of its
    /// payload stream. Empty for an initiator.
    pub initial_payload: Vec<u8>,
    /// The RC4 streams, for [`CryptoMethod::Rc4`]; `None` for plaintext.
    pub ciphers: Option<Ciphers>,
}

/// A handshake in progress, either role: feed it what the peer sends, send
/// what it gives, until it is established.
///
/// Call order, in a loop: send [`take_output`](Self::take_output) (it may
/// have bytes before anything is received); if
/// [`take_established`](Self::take_established) gives the result, stop;
/// else read from the peer and hand the bytes to [`receive`](Self::receive).
/// `receive` consumes no byte past the end of the handshake: the bytes it
/// returns unconsumed are the peer's payload stream (to be decrypted with
/// [`Ciphers::read`] when the method is RC4). At the end of the stream,
/// [`truncated`](Self::truncated) is the error to report.
pub trait Exchange {
    /// Takes bytes the peer sent; returns how many were part of the
    /// handshake (all of them until it is established).
    ///
    /// # Errors
    /// Why the handshake failed; every later call returns the same error.
    fn receive(&mut self, input: &[u8]) -> Result<usize, MseError>;

    /// Bytes to send to the peer now (empty when there is nothing).
    fn take_output(&mut self) -> Vec<u8>;

    /// The result, once the handshake is established (given once).
    fn take_established(&mut self) -> Option<Established>;

    /// Where the handshake is.
    fn stage(&self) -> Stage;

    /// Bytes received from the peer so far.
    fn received(&self) -> usize;

    /// The error for a stream that ends now.
    fn truncated(&self) -> MseError {
        MseError::Truncated {
            stage: self.stage(),
            received: self.received(),
        }
    }
}

/// Moves up to `want - buf.len()` bytes of `input` into `buf`; returns how
/// many, and whether `buf` now holds `want` bytes.
pub(crate) fn fill(buf: &mut Vec<u8>, want: usize, input: &[u8]) -> (usize, bool) {
    let n = want.saturating_sub(buf.len()).min(input.len());
    buf.extend_from_slice(&input[..n]);
    (n, buf.len() >= want)
}

/// Scans `input` byte by byte for `pattern` at the end of `window`, which
/// may hold at most `limit` bytes. Returns the bytes consumed and
/// `Some(true)` when the pattern was found (it ends the window),
/// `Some(false)` when the window is full without it, `None` when more input
/// is needed.
pub(crate) fn scan(
    window: &mut Vec<u8>,
    pattern: &[u8],
    limit: usize,
    input: &[u8],
) -> (usize, Option<bool>) {
    for (i, &b) in input.iter().enumerate() {
        window.push(b);
        if window.ends_with(pattern) {
            return (i + 1, Some(true));
        }
        if window.len() >= limit {
            return (i + 1, Some(false));
        }
    }
    (input.len(), None)
}
