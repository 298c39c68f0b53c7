//! monsoon-mse: BitTorrent message stream encryption (MSE, also called
//! protocol encryption, PE), as a sans-IO handshake for both roles.
//!
//! What it does:
//! - the 768-bit Diffie–Hellman exchange with the specification's prime and
//!   G = 2 (96-byte keys), followed by 0 to 512 bytes of random padding;
//! - the [`Initiator`]: knows the torrent, sends `HASH('req1', S)`,
//!   `HASH('req2', SKEY) xor HASH('req3', S)`, offers methods
//!   (`crypto_provide`) and carries an initial payload (the BitTorrent
//!   handshake), then finds the responder's encrypted verification constant
//!   in at most 512 bytes of padding and checks its `crypto_select`;
//! - the [`Responder`]: finds `HASH('req1', S)` in at most 512 bytes of
//!   padding, learns the torrent from `HASH('req2', SKEY)` through a
//!   [`SkeyLookup`] over all its torrents, chooses a method among those it
//!   allows (RC4 first) and hands on the initial payload;
//! - the RC4 streams ([`Cipher`]): keys `SHA1('keyA' | S | SKEY)` and
//!   `SHA1('keyB' | S | SKEY)`, the first 1024 bytes discarded.
//!
//! Every failure is a typed [`MseError`] with its data; the scans are
//! bounded, and no field makes it allocate more than 64 KiB.
//!
//! What it does not do: it has no sockets, no tasks, no clock. The caller
//! moves bytes (see [`Exchange`] for the loop), applies the returned
//! [`Ciphers`] to the payload stream, and owns timeouts. Randomness comes
//! in as an [`Entropy`] argument, so tests are deterministic;
//! [`Entropy::random`] (feature `getrandom`, on by default) draws it from
//! the operating system. Big-number arithmetic is `crypto-bigint`
//! (constant time), RC4 is RustCrypto's `rc4`.
//!
//! # Example: both roles in memory
//!
//! ```
//! use monsoon_mse::{CryptoMethod, Entropy, Exchange, Initiator, Methods, Responder, req2};
//!
//! # fn main() -> Result<(), monsoon_mse::MseError> {
//! let info_hash = [7u8; 20];
//! let mut a = Initiator::new(info_hash, Methods::BOTH, b"hello", Entropy::new([1; 20], vec![0; 33])?)?;
//! // The responder serves many torrents; it finds this one by its req2 hash.
//! let lookup = |h: &[u8; 20]| (*h == req2(&info_hash)).then_some(info_hash);
//! let mut b = Responder::new(lookup, Methods::RC4, Entropy::new([2; 20], vec![0; 100])?)?;
//!
//! let (a_done, b_done) = loop {
//!     let to_b = a.take_output();
//!     b.receive(&to_b)?;
//!     let to_a = b.take_output();
//!     a.receive(&to_a)?;
//!     if let (Some(x), Some(y)) = (a.take_established(), b.take_established()) {
//!         break (x, y);
//!     }
//! };
//! assert_eq!(b_done.info_hash, info_hash);
//! assert_eq!(b_done.initial_payload, b"hello");
//! assert_eq!(a_done.method, CryptoMethod::Rc4);
//!
//! // The payload stream, encrypted one way and decrypted the other.
//! let mut msg = *b"payload";
//! a_done.ciphers.unwrap().write.apply(&mut msg);
//! b_done.ciphers.unwrap().read.apply(&mut msg);
//! assert_eq!(&msg, b"payload");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod dh;
mod error;
mod handshake;
mod initiator;
mod keys;
mod responder;

pub use dh::{KEY_LEN, PRIVATE_KEY_LEN, prime, public_key, shared_secret};
pub use error::{MseError, Pad, Stage};
pub use handshake::{Ciphers, CryptoMethod, Entropy, Established, Exchange, MAX_PAD, Methods, VC};
pub use initiator::Initiator;
pub use keys::{Cipher, DISCARD, Direction, rc4_key, req1, req2, req3};
pub use responder::{Responder, SkeyLookup};

/// The first 20 bytes of a plaintext BitTorrent handshake: a connection
/// that starts otherwise is an MSE one (or not BitTorrent at all).
pub const PLAINTEXT_PREFIX: &[u8; 20] = b"\x13BitTorrent protocol";

/// Whether a connection's first bytes (at least 20 of them, or all there
/// are) start a plaintext BitTorrent handshake rather than an MSE one.
pub fn is_plaintext_handshake(first: &[u8]) -> bool {
    let n = first.len().min(PLAINTEXT_PREFIX.len());
    n > 0 && first[..n] == PLAINTEXT_PREFIX[..n]
}
