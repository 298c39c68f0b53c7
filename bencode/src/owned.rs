//! Owned values for building messages, and the canonical encoder.

use std::collections::BTreeMap;

use bytes::BufMut;

/// An owned bencode value, for building messages to encode.
///
/// Dictionaries are `BTreeMap`s, so encoding always writes keys in the sorted
/// order BEP 3 requires.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum OwnedValue {
    /// An integer.
    Int(i64),
    /// A byte string.
    Bytes(Vec<u8>),
    /// A list.
    List(Vec<OwnedValue>),
    /// A dictionary with sorted keys.
    Dict(BTreeMap<Vec<u8>, OwnedValue>),
}

impl OwnedValue {
    /// A byte string value from anything byte-like.
    pub fn bytes(b: impl AsRef<[u8]>) -> Self {
        Self::Bytes(b.as_ref().to_vec())
    }

    /// An empty dictionary, to fill with [`OwnedValue::insert`].
    pub fn dict() -> Self {
        Self::Dict(BTreeMap::new())
    }

    /// Inserts `key => value` when `self` is a dictionary (otherwise does nothing);
    /// returns `self` for chaining.
    pub fn insert(mut self, key: impl AsRef<[u8]>, value: OwnedValue) -> Self {
        if let Self::Dict(d) = &mut self {
            d.insert(key.as_ref().to_vec(), value);
        }
        self
    }

    /// Canonical bencode of this value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_to(&mut out);
        out
    }

    /// Writes canonical bencode of this value into `buf`.
    pub fn encode_to<B: BufMut>(&self, buf: &mut B) {
        match self {
            Self::Int(i) => encode_int(*i, buf),
            Self::Bytes(b) => encode_bytes(b, buf),
            Self::List(l) => {
                buf.put_u8(b'l');
                for v in l {
                    v.encode_to(buf);
                }
                buf.put_u8(b'e');
            }
            Self::Dict(d) => {
                buf.put_u8(b'd');
                for (k, v) in d {
                    encode_bytes(k, buf);
                    v.encode_to(buf);
                }
                buf.put_u8(b'e');
            }
        }
    }

    /// The exact number of bytes [`OwnedValue::encode`] produces.
    pub fn encoded_len(&self) -> usize {
        match self {
            Self::Int(i) => 2 + int_len(*i),
            Self::Bytes(b) => bytes_len(b),
            Self::List(l) => 2 + l.iter().map(OwnedValue::encoded_len).sum::<usize>(),
            Self::Dict(d) => {
                2 + d
                    .iter()
                    .map(|(k, v)| bytes_len(k) + v.encoded_len())
                    .sum::<usize>()
            }
        }
    }
}

fn int_len(i: i64) -> usize {
    let mut n = i.unsigned_abs();
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits + usize::from(i < 0)
}

fn bytes_len(b: &[u8]) -> usize {
    int_len(b.len() as i64) + 1 + b.len()
}

/// Writes `i<n>e`.
pub fn encode_int<B: BufMut>(i: i64, buf: &mut B) {
    buf.put_u8(b'i');
    if i < 0 {
        buf.put_u8(b'-');
    }
    buf.put_slice(&itoa_buf(i.unsigned_abs()));
    buf.put_u8(b'e');
}

/// Writes `<len>:<bytes>`.
pub fn encode_bytes<B: BufMut>(b: &[u8], buf: &mut B) {
    buf.put_slice(&itoa_buf(b.len() as u64));
    buf.put_u8(b':');
    buf.put_slice(b);
}

/// Decimal digits of `n` without allocating.
fn itoa_buf(mut n: u64) -> Digits {
    let mut d = Digits {
        buf: [0; 20],
        start: 20,
    };
    loop {
        d.start -= 1;
        d.buf[d.start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return d;
        }
    }
}

struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl std::ops::Deref for Digits {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

impl From<i64> for OwnedValue {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

impl From<&str> for OwnedValue {
    fn from(s: &str) -> Self {
        Self::Bytes(s.as_bytes().to_vec())
    }
}

impl From<Vec<u8>> for OwnedValue {
    fn from(b: Vec<u8>) -> Self {
        Self::Bytes(b)
    }
}

impl From<Vec<OwnedValue>> for OwnedValue {
    fn from(l: Vec<OwnedValue>) -> Self {
        Self::List(l)
    }
}
