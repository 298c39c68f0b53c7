//! Magnet URIs (BEP 9, with BEP 53 `so` file selection).

use std::ops::RangeInclusive;

use crate::error::MagnetError;
use crate::hex;

/// A parsed magnet link.
///
/// ```
/// use monsoon_metainfo::Magnet;
/// let m = Magnet::parse(
///     "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=a+b&tr=udp%3A%2F%2Ft%3A1",
/// )
/// .unwrap();
/// assert_eq!(m.display_name.as_deref(), Some("a b"));
/// assert_eq!(m.trackers, ["udp://t:1"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    /// The v1 info-hash (`xt=urn:btih:`, hex or base32).
    pub info_hash: [u8; 20],
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
    /// Parses a `magnet:?` URI. Unknown parameters are ignored.
    pub fn parse(uri: &str) -> Result<Magnet, MagnetError> {
        let uri = uri.trim();
        let query = uri
            .get(..8)
            .filter(|p| p.eq_ignore_ascii_case("magnet:?"))
            .map(|_| &uri[8..])
            .ok_or(MagnetError::NotMagnet)?;

        let mut info_hash = None;
        let mut saw_btmh = false;
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
                        let h = parse_btih(h)?;
                        if info_hash.is_some_and(|prev| prev != h) {
                            return Err(MagnetError::ConflictingInfoHash);
                        }
                        info_hash = Some(h);
                    } else if strip_prefix_ci(&value, "urn:btmh:").is_some() {
                        saw_btmh = true;
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
        let info_hash = match info_hash {
            Some(h) => h,
            None if saw_btmh => return Err(MagnetError::V2Only),
            None => return Err(MagnetError::MissingInfoHash),
        };
        Ok(Magnet {
            info_hash,
            display_name,
            trackers,
            peers,
            select_only,
        })
    }

    /// The info-hash as 40 lower-case hex digits.
    pub fn info_hash_hex(&self) -> String {
        hex::encode(&self.info_hash)
    }
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
    fn select_only() {
        assert_eq!(parse_select_only("0,2,4-6").unwrap(), [0..=0, 2..=2, 4..=6]);
        assert!(parse_select_only("6-4").is_err());
        assert!(parse_select_only("").is_err());
        assert!(parse_select_only("1,,2").is_err());
        assert!(parse_select_only("+1").is_err());
    }
}
