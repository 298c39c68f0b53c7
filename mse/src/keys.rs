//! What MSE derives from the shared secret `S` and the stream key `SKEY`
//! (the torrent's info-hash): the synchronisation hashes and the RC4
//! streams.

use rc4::consts::U20;
use rc4::{KeyInit, Rc4, StreamCipher};
use sha1::{Digest, Sha1};

use crate::dh::KEY_LEN;

/// Keystream bytes thrown away before the first byte is used.
pub const DISCARD: usize = 1024;

/// `HASH('req1', S)`: the initiator's synchronisation point.
pub fn req1(s: &[u8; KEY_LEN]) -> [u8; 20] {
    hash(&[b"req1", s])
}

/// `HASH('req2', SKEY)`: names the torrent without sending its info-hash.
/// A responder with many torrents looks the torrent up by this value.
pub fn req2(skey: &[u8; 20]) -> [u8; 20] {
    hash(&[b"req2", skey])
}

/// `HASH('req3', S)`: what `req2` is xored with on the wire.
pub fn req3(s: &[u8; KEY_LEN]) -> [u8; 20] {
    hash(&[b"req3", s])
}

/// `HASH('keyA', S, SKEY)` or `HASH('keyB', S, SKEY)`: the RC4 key of one
/// direction (keyA: initiator to responder).
pub fn rc4_key(label: Direction, s: &[u8; KEY_LEN], skey: &[u8; 20]) -> [u8; 20] {
    let label: &[u8] = match label {
        Direction::InitiatorToResponder => b"keyA",
        Direction::ResponderToInitiator => b"keyB",
    };
    hash(&[label, s, skey])
}

/// One direction of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// What the initiator sends (keyA).
    InitiatorToResponder,
    /// What the responder sends (keyB).
    ResponderToInitiator,
}

fn hash(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The RC4 stream of one direction, its first [`DISCARD`] bytes dropped.
/// Encrypting and decrypting are the same operation: xor with the
/// keystream, in place.
pub struct Cipher(Rc4<U20>);

impl Cipher {
    /// The stream for `direction` of the connection with secret `s` and
    /// stream key `skey`, positioned after the discarded bytes.
    pub fn new(direction: Direction, s: &[u8; KEY_LEN], skey: &[u8; 20]) -> Self {
        Self::from_key(&rc4_key(direction, s, skey))
    }

    /// The stream of a raw 20-byte RC4 key, its first [`DISCARD`] bytes
    /// dropped.
    pub fn from_key(key: &[u8; 20]) -> Self {
        let mut rc4 = Rc4::<U20>::new(key.into());
        let mut discard = [0u8; DISCARD];
        rc4.apply_keystream(&mut discard);
        Self(rc4)
    }

    /// Xors `buf` with the next `buf.len()` keystream bytes.
    pub fn apply(&mut self, buf: &mut [u8]) {
        self.0.apply_keystream(buf);
    }
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(RC4)")
    }
}
