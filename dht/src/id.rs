//! Node ids and info-hashes: 160-bit keys, the XOR metric, and node ids
//! derived from the external address (BEP 42).

use std::fmt;
use std::net::IpAddr;

use crate::rng::Rng;

/// A 160-bit DHT key: a node id, or an info-hash used as a lookup target.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NodeId(pub [u8; 20]);

/// The XOR distance between two keys; compares as a 160-bit big-endian number.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Distance(pub [u8; 20]);

impl NodeId {
    /// The id with every bit zero.
    pub const ZERO: NodeId = NodeId([0; 20]);
    /// The id with every bit one.
    pub const MAX: NodeId = NodeId([0xff; 20]);

    /// The XOR distance to `other`.
    pub fn distance(&self, other: &NodeId) -> Distance {
        // Three words at a time: this runs on every sort comparison.
        let word = |id: &NodeId, i: usize| {
            let mut w = [0u8; 8];
            let n = (20 - i).min(8);
            w[..n].copy_from_slice(&id.0[i..i + n]);
            u64::from_be_bytes(w)
        };
        let mut d = [0u8; 20];
        for i in [0, 8, 16] {
            let x = (word(self, i) ^ word(other, i)).to_be_bytes();
            let n = (20 - i).min(8);
            d[i..i + n].copy_from_slice(&x[..n]);
        }
        Distance(d)
    }

    /// Bit `i` counted from the most significant (0..160).
    pub fn bit(&self, i: usize) -> bool {
        self.0[i / 8] & (0x80 >> (i % 8)) != 0
    }

    /// The number of leading bits `self` and `other` share (160 when equal).
    pub fn common_prefix_len(&self, other: &NodeId) -> usize {
        for (i, (a, b)) in self.0.iter().zip(&other.0).enumerate() {
            let x = a ^ b;
            if x != 0 {
                return i * 8 + x.leading_zeros() as usize;
            }
        }
        160
    }

    /// `self` with bit `i` flipped.
    pub fn with_bit_flipped(mut self, i: usize) -> NodeId {
        self.0[i / 8] ^= 0x80 >> (i % 8);
        self
    }

    /// Whether the first `len` bits of `self` and `prefix` are equal.
    pub fn has_prefix(&self, prefix: &NodeId, len: usize) -> bool {
        self.common_prefix_len(prefix) >= len
    }

    /// A random id whose first `len` bits are those of `prefix`.
    pub(crate) fn random_with_prefix(prefix: &NodeId, len: usize, rng: &mut Rng) -> NodeId {
        let mut id = NodeId(rng.bytes20());
        for i in 0..len.min(160) {
            if id.bit(i) != prefix.bit(i) {
                id = id.with_bit_flipped(i);
            }
        }
        id
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 40 hex digits.
    pub fn from_hex(s: &str) -> Option<NodeId> {
        let s = s.as_bytes();
        if s.len() != 40 {
            return None;
        }
        let mut out = [0u8; 20];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Some(NodeId(out))
    }
}

impl From<[u8; 20]> for NodeId {
    fn from(b: [u8; 20]) -> Self {
        NodeId(b)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.to_hex())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// CRC-32C (Castagnoli), bit by bit: BEP 42 hashes at most 8 bytes.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82f6_3b78 & mask);
        }
    }
    !crc
}

/// The BEP 42 hash of an address: CRC-32C of its masked first 4 (IPv4) or
/// 8 (IPv6) octets with `r` (0..8) in the top three bits.
fn bep42_crc(ip: IpAddr, r: u8) -> u32 {
    const V4_MASK: [u8; 4] = [0x03, 0x0f, 0x3f, 0xff];
    const V6_MASK: [u8; 8] = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];
    let mut buf = [0u8; 8];
    let n = match ip {
        IpAddr::V4(a) => {
            for (i, o) in a.octets().iter().enumerate() {
                buf[i] = o & V4_MASK[i];
            }
            4
        }
        IpAddr::V6(a) => {
            for (i, o) in a.octets()[..8].iter().enumerate() {
                buf[i] = o & V6_MASK[i];
            }
            8
        }
    };
    buf[0] |= (r & 7) << 5;
    crc32c(&buf[..n])
}

/// A node id for external address `ip` per BEP 42: the first 21 bits come
/// from the address's hash, the last byte is `rand`, the rest is random.
pub fn bep42_id(ip: IpAddr, rand: u8, fill: [u8; 20]) -> NodeId {
    let crc = bep42_crc(ip, rand & 7);
    let mut id = fill;
    id[0] = (crc >> 24) as u8;
    id[1] = (crc >> 16) as u8;
    id[2] = ((crc >> 8) as u8 & 0xf8) | (fill[2] & 0x07);
    id[19] = rand;
    NodeId(id)
}

/// Whether `id` is a valid BEP 42 id for a node at `ip`. Addresses BEP 42
/// exempts (private, loopback, link-local) accept any id.
pub fn bep42_valid(id: &NodeId, ip: IpAddr) -> bool {
    if bep42_exempt(ip) {
        return true;
    }
    let crc = bep42_crc(ip, id.0[19] & 7);
    id.0[0] == (crc >> 24) as u8
        && id.0[1] == (crc >> 16) as u8
        && (id.0[2] & 0xf8) == ((crc >> 8) as u8 & 0xf8)
}

/// Local addresses BEP 42 does not apply to (10/8, 172.16/12, 192.168/16,
/// 169.254/16, 127/8; IPv6 loopback, link-local and unique-local).
pub fn bep42_exempt(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_private() || a.is_loopback() || a.is_link_local(),
        IpAddr::V6(a) => {
            let seg = a.segments()[0];
            a.is_loopback() || (seg & 0xffc0) == 0xfe80 || (seg & 0xfe00) == 0xfc00
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    /// The examples table of BEP 42: address, `rand`, the id's first three bytes.
    #[test]
    fn bep42_examples() {
        let cases: [(&str, u8, [u8; 3]); 5] = [
            ("124.31.75.21", 1, [0x5f, 0xbf, 0xbf]),
            ("21.75.31.124", 86, [0x5a, 0x3c, 0xe9]),
            ("65.23.51.170", 22, [0xa5, 0xd4, 0x32]),
            ("84.124.73.14", 65, [0x1b, 0x03, 0x21]),
            ("43.213.53.83", 90, [0xe5, 0x6f, 0x6c]),
        ];
        for (ip, rand, head) in cases {
            let ip: IpAddr = ip.parse().unwrap();
            let id = bep42_id(ip, rand, [0; 20]);
            assert_eq!(&id.0[..2], &head[..2], "{ip}");
            assert_eq!(id.0[2] & 0xf8, head[2] & 0xf8, "{ip}");
            assert_eq!(id.0[19], rand);
            // The published id (random low bits included) validates.
            let mut published = id;
            published.0[2] = head[2];
            assert!(bep42_valid(&published, ip));
            // One bit off in the hashed prefix does not.
            assert!(!bep42_valid(&published.with_bit_flipped(5), ip));
        }
    }

    #[test]
    fn local_addresses_are_exempt() {
        for ip in ["10.1.2.3", "192.168.0.9", "127.0.0.1", "::1", "fe80::1"] {
            assert!(bep42_valid(&NodeId::MAX, ip.parse().unwrap()), "{ip}");
        }
        assert!(!bep42_valid(&NodeId::MAX, "8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn prefix_and_distance() {
        let a = NodeId([0; 20]);
        let b = a.with_bit_flipped(9);
        assert_eq!(a.common_prefix_len(&b), 9);
        assert_eq!(a.common_prefix_len(&a), 160);
        assert!(a.distance(&b) > a.distance(&a.with_bit_flipped(10)));
        let mut rng = Rng::new(7);
        let r = NodeId::random_with_prefix(&b, 12, &mut rng);
        assert!(r.has_prefix(&b, 12));
        assert_eq!(NodeId::from_hex(&b.to_hex()), Some(b));
    }
}
