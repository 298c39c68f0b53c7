//! `Bitfield`: one bit per piece in wire order (BEP 3: high bit of byte 0 is piece 0).

use crate::PieceError;

/// A fixed-length set of piece indices, stored in the wire format.
///
/// Bit `i` is bit `7 - i % 8` of byte `i / 8`, as in the BEP 3 `bitfield`
/// message; spare bits in the last byte are always zero. The number of set
/// bits is kept, so [`count_ones`](Self::count_ones) and [`all`](Self::all)
/// are O(1).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Bitfield {
    bytes: Vec<u8>,
    len: u32,
    ones: u32,
}

impl std::fmt::Debug for Bitfield {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bitfield")
            .field("len", &self.len)
            .field("ones", &self.ones)
            .finish()
    }
}

fn byte_len(len: u32) -> usize {
    (len as usize).div_ceil(8)
}

/// The mask of the bits that are used in the last byte.
fn last_mask(len: u32) -> u8 {
    match len % 8 {
        0 => 0xff,
        r => 0xffu8 << (8 - r),
    }
}

impl Bitfield {
    /// A bitfield of `len` bits, all clear.
    pub fn new(len: u32) -> Self {
        Self {
            bytes: vec![0; byte_len(len)],
            len,
            ones: 0,
        }
    }

    /// A bitfield of `len` bits, all set.
    pub fn full(len: u32) -> Self {
        let mut bytes = vec![0xff; byte_len(len)];
        if let Some(last) = bytes.last_mut() {
            *last = last_mask(len);
        }
        Self {
            bytes,
            len,
            ones: len,
        }
    }

    /// Parses a wire bitfield for `len` pieces.
    ///
    /// # Errors
    /// [`PieceError::BitfieldLength`] if `bytes` is not `ceil(len / 8)` long,
    /// [`PieceError::SpareBits`] if a bit past `len` is set.
    pub fn from_bytes(bytes: &[u8], len: u32) -> Result<Self, PieceError> {
        let expected = byte_len(len);
        if bytes.len() != expected {
            return Err(PieceError::BitfieldLength {
                expected,
                got: bytes.len(),
            });
        }
        if let Some(&last) = bytes.last() {
            if last & !last_mask(len) != 0 {
                return Err(PieceError::SpareBits { len });
            }
        }
        let ones = bytes.iter().map(|b| b.count_ones()).sum();
        Ok(Self {
            bytes: bytes.to_vec(),
            len,
            ones,
        })
    }

    /// The wire bytes (a copy).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The wire bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The number of bits (pieces).
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the bitfield has zero bits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether bit `i` is set; `false` past the end.
    #[inline]
    pub fn get(&self, i: u32) -> bool {
        i < self.len && self.bytes[(i / 8) as usize] & (0x80 >> (i % 8)) != 0
    }

    /// Sets bit `i` to `v`.
    ///
    /// # Panics
    /// If `i >= len()`, like a slice index.
    pub fn set(&mut self, i: u32, v: bool) {
        assert!(
            i < self.len,
            "bit {i} out of range for bitfield of {}",
            self.len
        );
        let byte = &mut self.bytes[(i / 8) as usize];
        let mask = 0x80 >> (i % 8);
        let was = *byte & mask != 0;
        if v && !was {
            *byte |= mask;
            self.ones += 1;
        } else if !v && was {
            *byte &= !mask;
            self.ones -= 1;
        }
    }

    /// The number of set bits (O(1)).
    pub fn count_ones(&self) -> u32 {
        self.ones
    }

    /// Whether every bit is set (O(1)); true for an empty bitfield.
    pub fn all(&self) -> bool {
        self.ones == self.len
    }

    /// Whether no bit is set (O(1)).
    pub fn none(&self) -> bool {
        self.ones == 0
    }

    /// The indices of the set bits, ascending. Skips zero bytes eight at a
    /// time, so a sparse bitfield costs O(len / 64 + ones).
    pub fn iter_ones(&self) -> impl Iterator<Item = u32> + '_ {
        self.iter_ones_from(0)
    }

    /// The indices of the set bits at or after `from`, ascending.
    pub fn iter_ones_from(&self, from: u32) -> impl Iterator<Item = u32> + '_ {
        let mut next = from;
        std::iter::from_fn(move || {
            let found = self.next_one(next)?;
            next = found + 1;
            Some(found)
        })
    }

    /// The first set bit at or after `from`, if any.
    pub fn next_one(&self, from: u32) -> Option<u32> {
        if from >= self.len {
            return None;
        }
        let mut byte = (from / 8) as usize;
        // The first byte, with the bits before `from` masked off.
        let first = self.bytes[byte] & (0xffu8 >> (from % 8));
        if first != 0 {
            return Some(byte as u32 * 8 + first.leading_zeros());
        }
        byte += 1;
        // Align to 8 bytes, then skip zero words.
        while byte % 8 != 0 && byte < self.bytes.len() {
            if self.bytes[byte] != 0 {
                return Some(byte as u32 * 8 + self.bytes[byte].leading_zeros());
            }
            byte += 1;
        }
        while byte + 8 <= self.bytes.len() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&self.bytes[byte..byte + 8]);
            let w = u64::from_be_bytes(word);
            if w != 0 {
                return Some(byte as u32 * 8 + w.leading_zeros());
            }
            byte += 8;
        }
        while byte < self.bytes.len() {
            if self.bytes[byte] != 0 {
                return Some(byte as u32 * 8 + self.bytes[byte].leading_zeros());
            }
            byte += 1;
        }
        None
    }
}
