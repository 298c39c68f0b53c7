//! Magnet URIs (BEP 9, with BEP 53 `so` file selection).

use std::ops::RangeInclusive;

use crate::error::MagnetError;
use crate::hex;
use crate::parse::MetaVersion;

/// A parsed magnet link.
///
/// ```
/// use monsoon_metainfo::{Magnet, MetaVersion};
/// let m = Magnet::parse(
///     "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=a+b&tr=udp%3A%2F%2Ft%3A1",
/// )
/// .unwrap();
/// assert_eq!(m.display_name.as_deref(), Some("a b"));
/// assert_eq!(m.trackers, ["udp://t:1"]);
/// assert_eq!(m.version(), MetaVersion::V1);
///
/// // BEP 52: a v2 info-hash is a SHA-256 multihash (`1220` + 64 hex digits).
/// let v2 = format!("magnet:?xt=urn:btmh:1220{}", "ab".repeat(32));
/// let m = Magnet::parse(&v2).unwrap();
/// assert_eq!((m.version(), m.info_hash_v2), (MetaVersion::V2, Some([0xab; 32])));
/// assert_eq!(m.info_hash, [0xab; 20]); // truncated, for trackers and the DHT
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    /// The 20-byte info-hash used with trackers, the DHT and in the
    /// handshake: the v1 info-hash (`xt=urn:btih:`, hex or base32), or for a
    /// v2-only link the v2 one truncated to 20 bytes.
    pub info_hash: [u8; 20],
    /// The v2 info-hash (`xt=urn:btmh:1220…`), for v2 and hybrid torrents.
    pub info_hash_v2: Option<[u8; 32]>,
    /// Whether a v1 info-hash (`btih`) was given.
    pub has_v1: bool,
    /// `dn`, the suggested name.
    pub display_name: Option<String>,
    /// Every `tr` (and `tr.N`), in order, deduplicated.
    pub trackers: Vec<String>,
    /// Every `x.pe` peer address (`host:port`), in order.
    pub peers: Vec<String>,
    /// BEP 53 `so`: the file indices to download (empty = all).
    pub select_only: Vec<RangeInclusive<u32>>,
}

impl Magnet {
    /// Parses a `magnet:?` URI. Unknown parameters are ignored; a hybrid
    /// torrent's link carries both `xt`s.
    pub fn parse(uri: &str) -> Result<Magnet, MagnetError> {
        let uri = uri.trim();
        let query = uri
            .get(..8)
            .filter(|p| p.eq_ignore_ascii_case("magnet:?"))
            .map(|_| &uri[8..])
            .ok_or(MagnetError::NotMagnet)?;

        let mut v1: Option<[u8; 20]> = None;
        let mut v2: Option<[u8; 32]> = None;
        let mut display_name = None;
        let mut trackers: Vec<String> = Vec::new();
        let mut peers = Vec::new();
        let mut select_only = Vec::new();

        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(raw)?;
            match key {
                "xt" => {
                    if let Some(h) = strip_prefix_ci(&value, "urn:btih:") {
                        set_once(&mut v1, parse_btih(h)?)?;
                    } else if let Some(h) = strip_prefix_ci(&value, "urn:btmh:") {
                        set_once(&mut v2, parse_btmh(h)?)?;
                    }
                }
                "dn" => display_name = Some(value),
                "x.pe" => peers.push(value),
                "so" => select_only.extend(parse_select_only(&value)?),
                k if (k == "tr" || k.starts_with("tr."))
                    && !value.is_empty()
                    && !trackers.contains(&value) =>
                {
                    trackers.push(value);
                }
                _ => {}
            }
        }
        let info_hash = match (v1, v2) {
            (Some(h), _) => h,
            (None, Some(h)) => h[..20].try_into().expect("20 of 32 bytes"),
            (None, None) => return Err(MagnetError::MissingInfoHash),
        };
        Ok(Magnet {
            info_hash,
            info_hash_v2: v2,
            has_v1: v1.is_some(),
            display_name,
            trackers,
            peers,
            select_only,
        })
    }

    /// v1 (`btih` only), v2 (`btmh` only) or hybrid (both).
    pub fn version(&self) -> MetaVersion {
        match (self.has_v1, self.info_hash_v2.is_some()) {
            (true, true) => MetaVersion::Hybrid,
            (false, true) => MetaVersion::V2,
            _ => MetaVersion::V1,
        }
    }

    /// The info-hash as 40 lower-case hex digits.
    pub fn info_hash_hex(&self) -> String {
        hex::encode(&self.info_hash)
    }

    /// The v2 info-hash as 64 lower-case hex digits.
    pub fn info_hash_v2_hex(&self) -> Option<String> {
        self.info_hash_v2.map(|h| hex::encode(&h))
    }
}

/// Sets `slot` to `h`, unless it already holds a different hash.
fn set_once<const N: usize>(slot: &mut Option<[u8; N]>, h: [u8; N]) -> Result<(), MagnetError> {
    if slot.is_some_and(|prev| prev != h) {
        return Err(MagnetError::ConflictingInfoHash);
    }
    *slot = Some(h);
    Ok(())
}

/// A BEP 52 `btmh` value: the multihash of a SHA-256 (`12` = sha2-256,
/// `20` = 32 bytes) in hex.
fn parse_btmh(s: &str) -> Result<[u8; 32], MagnetError> {
    let bad = || MagnetError::InvalidInfoHashV2(s.to_owned());
    let digits = s
        .get(..4)
        .filter(|p| *p == "1220")
        .and_then(|_| s.get(4..))
        .ok_or_else(bad)?;
    hex::decode32(digits.as_bytes()).ok_or_else(bad)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .map(|_| &s[prefix.len()..])
}

/// Decodes `%XX` escapes and `+` (a space in query strings); invalid UTF-8
/// after decoding is replaced with U+FFFD.
fn percent_decode(s: &str) -> Result<String, MagnetError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hi = b.get(i + 1).copied().and_then(hex::digit);
                let lo = b.get(i + 2).copied().and_then(hex::digit);
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(MagnetError::InvalidEscape(s.to_owned())),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// 40 hex digits or 32 base32 characters (RFC 4648, either case).
fn parse_btih(s: &str) -> Result<[u8; 20], MagnetError> {
    let bad = || MagnetError::InvalidInfoHash(s.to_owned());
    match s.len() {
        40 => hex::decode20(s.as_bytes()).ok_or_else(bad),
        32 => base32_decode20(s.as_bytes()).ok_or_else(bad),
        _ => Err(bad()),
    }
}

fn base32_decode20(s: &[u8]) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    let mut acc: u64 = 0;
    let mut bits = 0;
    let mut n = 0;
    for &c in s {
        let v = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = acc << 5 | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out[n] = (acc >> bits) as u8;
            n += 1;
        }
    }
    (n == 20).then_some(out)
}

/// `so=0,2,4-6`: indices and inclusive ranges, comma-separated.
fn parse_select_only(s: &str) -> Result<Vec<RangeInclusive<u32>>, MagnetError> {
    let bad = || MagnetError::InvalidSelectOnly(s.to_owned());
    let num = |t: &str| -> Result<u32, MagnetError> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse().map_err(|_| bad())
    };
    s.split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(bad());
                }
                Ok(a..=b)
            }
            None => num(part).map(|i| i..=i),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_hex() {
        // "c12fe1c06bba254a9dc9f519b335aa7c1367a88a" in base32.
        let h = hex::decode20(b"c12fe1c06bba254a9dc9f519b335aa7c1367a88a").unwrap();
        assert_eq!(
            base32_decode20(b"YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK"),
            Some(h)
        );
        assert_eq!(base32_decode20(b"YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKE1"), None);
    }

    #[test]
    fn btmh() {
        let h = "1220".to_owned() + &"0f".repeat(32);
        assert_eq!(parse_btmh(&h), Ok([0x0f; 32]));
        assert!(parse_btmh(&h[..67]).is_err());
        assert!(parse_btmh(&("1114".to_owned() + &"0f".repeat(20))).is_err());
        assert!(parse_btmh(&("1220".to_owned() + &"0g".repeat(32))).is_err());
    }

    #[test]
    fn select_only() {
        assert_eq!(parse_select_only("0,2,4-6").unwrap(), [0..=0, 2..=2, 4..=6]);
        assert!(parse_select_only("6-4").is_err());
        assert!(parse_select_only("").is_err());
        assert!(parse_select_only("1,,2").is_err());
        assert!(parse_select_only("+1").is_err());
    }
}
