//! Hex encoding and decoding of info-hashes (a few lines, no crate needed).

/// Lower-case hex of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// The value of one hex digit (either case).
pub(crate) fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes exactly 40 hex digits into 20 bytes.
pub(crate) fn decode20(s: &[u8]) -> Option<[u8; 20]> {
    decode(s)
}

/// Decodes exactly 64 hex digits into 32 bytes.
pub(crate) fn decode32(s: &[u8]) -> Option<[u8; 32]> {
    decode(s)
}

fn decode<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        *o = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let b: [u8; 20] = std::array::from_fn(|i| (i * 13) as u8);
        assert_eq!(decode20(encode(&b).as_bytes()), Some(b));
        assert_eq!(decode20(encode(&b).to_uppercase().as_bytes()), Some(b));
        assert_eq!(decode20(b"zz"), None);
    }
}
