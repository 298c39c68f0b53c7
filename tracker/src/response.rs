//! Announce and scrape responses, and the parsers of HTTP tracker bodies
//! (BEP 3 dictionaries, BEP 23 compact IPv4 and BEP 7 compact IPv6 peers).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use monsoon_bencode::{DecodeOptions, Dict, Value};

use crate::error::TrackerError;

/// What a tracker answered to an announce.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnnounceResponse {
    /// How long to wait before the next regular announce.
    pub interval: Duration,
    /// The tracker asks not to announce more often than this.
    pub min_interval: Option<Duration>,
    /// An id to send back in later announces.
    pub tracker_id: Option<String>,
    /// Number of seeders.
    pub complete: Option<u32>,
    /// Number of leechers.
    pub incomplete: Option<u32>,
    /// A warning to show the user (the announce still succeeded).
    pub warning: Option<String>,
    /// Peer addresses, IPv4 then IPv6, in the order the tracker gave them.
    pub peers: Vec<SocketAddr>,
}

/// Counts for one torrent in a scrape response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrapeStats {
    /// Number of seeders.
    pub complete: u32,
    /// Number of completed downloads ever reported.
    pub downloaded: u32,
    /// Number of leechers.
    pub incomplete: u32,
}

/// What a tracker answered to a scrape: counts per info-hash.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScrapeResponse {
    /// Each info-hash the tracker reported on, with its counts.
    pub files: Vec<([u8; 20], ScrapeStats)>,
}

impl ScrapeResponse {
    /// The counts for `info_hash`, if the tracker reported it.
    pub fn get(&self, info_hash: &[u8; 20]) -> Option<&ScrapeStats> {
        self.files
            .iter()
            .find(|(h, _)| h == info_hash)
            .map(|(_, s)| s)
    }
}

const fn bad(field: &'static str, problem: &'static str) -> TrackerError {
    TrackerError::InvalidField { field, problem }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A non-negative integer that fits a `u32` (larger values saturate).
fn count(d: &Dict<'_>, key: &'static str) -> Result<Option<u32>, TrackerError> {
    match d.get(key.as_bytes()) {
        None => Ok(None),
        Some(Value::Int(i)) if *i >= 0 => Ok(Some(u32::try_from(*i).unwrap_or(u32::MAX))),
        Some(Value::Int(_)) => Err(bad(key, "is negative")),
        Some(_) => Err(bad(key, "is not an integer")),
    }
}

fn seconds(d: &Dict<'_>, key: &'static str) -> Result<Option<Duration>, TrackerError> {
    match d.get(key.as_bytes()) {
        None => Ok(None),
        Some(Value::Int(i)) => u64::try_from(*i)
            .map(|s| Some(Duration::from_secs(s)))
            .map_err(|_| bad(key, "is negative")),
        Some(_) => Err(bad(key, "is not an integer")),
    }
}

/// Decodes a BEP 23 compact IPv4 peer list (6 bytes a peer: address, port).
pub fn parse_compact_v4(field: &'static str, b: &[u8]) -> Result<Vec<SocketAddr>, TrackerError> {
    if b.len() % 6 != 0 {
        return Err(TrackerError::PeersLength {
            field,
            len: b.len(),
            entry: 6,
        });
    }
    Ok(b.chunks_exact(6)
        .map(|c| {
            let ip = Ipv4Addr::new(c[0], c[1], c[2], c[3]);
            SocketAddr::new(IpAddr::V4(ip), u16::from_be_bytes([c[4], c[5]]))
        })
        .collect())
}

/// Decodes a BEP 7 compact IPv6 peer list (18 bytes a peer: address, port).
pub fn parse_compact_v6(field: &'static str, b: &[u8]) -> Result<Vec<SocketAddr>, TrackerError> {
    if b.len() % 18 != 0 {
        return Err(TrackerError::PeersLength {
            field,
            len: b.len(),
            entry: 18,
        });
    }
    Ok(b.chunks_exact(18)
        .map(|c| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&c[..16]);
            SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(a)),
                u16::from_be_bytes([c[16], c[17]]),
            )
        })
        .collect())
}

/// Decodes the original list of `{ip, port, peer id}` dictionaries. Entries
/// whose `ip` is not a literal address (BEP 3 allows DNS names, which this
/// sans-IO parser does not resolve) or whose port is out of range are skipped.
fn parse_peer_dicts(list: &[Value<'_>], out: &mut Vec<SocketAddr>) -> Result<(), TrackerError> {
    for v in list {
        let d = v
            .as_dict()
            .ok_or(bad("peers", "entry is not a dictionary"))?;
        let ip = d.get_str(b"ip").and_then(|s| s.parse::<IpAddr>().ok());
        let port = d.get_int(b"port").and_then(|p| u16::try_from(p).ok());
        match (ip, port) {
            (Some(ip), Some(port)) => out.push(SocketAddr::new(ip, port)),
            _ => tracing::debug!("skipping unusable peer entry in tracker response"),
        }
    }
    Ok(())
}

fn top_dict<'a>(v: &'a Value<'a>) -> Result<&'a Dict<'a>, TrackerError> {
    v.as_dict().ok_or(bad("(top level)", "is not a dictionary"))
}

/// Parses the body of an HTTP announce response.
///
/// A `failure reason` becomes [`TrackerError::Failure`]; `interval` is
/// required; `peers` may be compact (a byte string) or a list of
/// dictionaries; `peers6` is compact IPv6.
///
/// ```
/// use monsoon_tracker::parse_announce_response;
/// let r = parse_announce_response(b"d8:intervali900e5:peers6:\x7f\x00\x00\x01\x1a\xe1e").unwrap();
/// assert_eq!(r.interval.as_secs(), 900);
/// assert_eq!(r.peers, ["127.0.0.1:6881".parse().unwrap()]);
/// ```
pub fn parse_announce_response(body: &[u8]) -> Result<AnnounceResponse, TrackerError> {
    let v = DecodeOptions::new().lenient().decode(body)?;
    let d = top_dict(&v)?;
    if let Some(reason) = d.get(b"failure reason") {
        let text = reason
            .as_bytes()
            .ok_or(bad("failure reason", "is not a string"))?;
        return Err(TrackerError::Failure(lossy(text)));
    }
    let interval = seconds(d, "interval")?.ok_or(bad("interval", "is missing"))?;
    let mut peers = Vec::new();
    match d.get(b"peers") {
        None => {}
        Some(Value::Bytes(b)) => peers = parse_compact_v4("peers", b)?,
        Some(Value::List(l)) => parse_peer_dicts(l, &mut peers)?,
        Some(_) => return Err(bad("peers", "is neither a string nor a list")),
    }
    match d.get(b"peers6") {
        None => {}
        Some(Value::Bytes(b)) => peers.extend(parse_compact_v6("peers6", b)?),
        Some(_) => return Err(bad("peers6", "is not a string")),
    }
    Ok(AnnounceResponse {
        interval,
        min_interval: seconds(d, "min interval")?,
        tracker_id: d.get_bytes(b"tracker id").map(lossy),
        complete: count(d, "complete")?,
        incomplete: count(d, "incomplete")?,
        warning: d.get_bytes(b"warning message").map(lossy),
        peers,
    })
}

/// Parses the body of an HTTP scrape response (`files` dictionary keyed by
/// 20-byte info-hashes). Entries with keys of another length are skipped.
pub fn parse_scrape_response(body: &[u8]) -> Result<ScrapeResponse, TrackerError> {
    let v = DecodeOptions::new().lenient().decode(body)?;
    let d = top_dict(&v)?;
    if let Some(reason) = d.get(b"failure reason") {
        let text = reason
            .as_bytes()
            .ok_or(bad("failure reason", "is not a string"))?;
        return Err(TrackerError::Failure(lossy(text)));
    }
    let files = d
        .get_dict(b"files")
        .ok_or(bad("files", "is missing or not a dictionary"))?;
    let mut out = Vec::with_capacity(files.len());
    for (k, v) in files.entries() {
        let Ok(hash) = <[u8; 20]>::try_from(*k) else {
            continue;
        };
        let f = v
            .as_dict()
            .ok_or(bad("files", "entry is not a dictionary"))?;
        out.push((
            hash,
            ScrapeStats {
                complete: count(f, "complete")?.unwrap_or(0),
                downloaded: count(f, "downloaded")?.unwrap_or(0),
                incomplete: count(f, "incomplete")?.unwrap_or(0),
            },
        ));
    }
    Ok(ScrapeResponse { files: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn full_response() {
        let body = b"d8:completei5e10:incompletei7e8:intervali1800e12:min intervali60e\
                     5:peers12:\x0a\x00\x00\x01\x1a\xe1\xc0\xa8\x01\x02\x00\x50\
                     6:peers618:\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1a\xe2\
                     10:tracker id3:abc15:warning message4:caree";
        let r = parse_announce_response(body).unwrap();
        assert_eq!(r.interval, Duration::from_secs(1800));
        assert_eq!(r.min_interval, Some(Duration::from_secs(60)));
        assert_eq!(r.complete, Some(5));
        assert_eq!(r.incomplete, Some(7));
        assert_eq!(r.tracker_id.as_deref(), Some("abc"));
        assert_eq!(r.warning.as_deref(), Some("care"));
        assert_eq!(
            r.peers,
            [
                sa("10.0.0.1:6881"),
                sa("192.168.1.2:80"),
                sa("[2001:db8::1]:6882")
            ]
        );
    }

    #[test]
    fn minimal_response() {
        let r = parse_announce_response(b"d8:intervali0ee").unwrap();
        assert_eq!(r, AnnounceResponse::default());
    }

    #[test]
    fn failure_reason_is_typed() {
        let e = parse_announce_response(b"d14:failure reason9:not todaye").unwrap_err();
        assert!(
            matches!(e, TrackerError::Failure(ref s) if s == "not today"),
            "{e}"
        );
        // Failure wins even without interval, and invalid UTF-8 is kept lossily.
        let e = parse_announce_response(b"d14:failure reason2:\xffxe").unwrap_err();
        assert!(
            matches!(e, TrackerError::Failure(ref s) if s == "\u{fffd}x"),
            "{e}"
        );
        let e = parse_scrape_response(b"d14:failure reason1:xe").unwrap_err();
        assert!(matches!(e, TrackerError::Failure(_)), "{e}");
    }

    #[test]
    fn dictionary_peers() {
        let body = b"d8:intervali1e5:peersl\
            d2:ip8:10.1.2.37:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti6881ee\
            d2:ip3:::14:porti1ee\
            d2:ip11:example.com4:porti1ee\
            d2:ip7:1.2.3.44:porti70000ee\
            d2:ip7:1.2.3.4e\
            ee";
        let r = parse_announce_response(body).unwrap();
        assert_eq!(r.peers, [sa("10.1.2.3:6881"), sa("[::1]:1")]);
        let e = parse_announce_response(b"d8:intervali1e5:peersli1eee").unwrap_err();
        assert!(
            matches!(e, TrackerError::InvalidField { field: "peers", .. }),
            "{e}"
        );
    }

    #[test]
    fn hostile_compact_lists() {
        for n in [1usize, 5, 7, 11, 13] {
            let mut body = format!("d8:intervali1e5:peers{n}:").into_bytes();
            body.extend(std::iter::repeat_n(1u8, n));
            body.push(b'e');
            let e = parse_announce_response(&body).unwrap_err();
            assert!(
                matches!(e, TrackerError::PeersLength { field: "peers", len, entry: 6 } if len == n),
                "{n}: {e}"
            );
        }
        for n in [1usize, 6, 17, 19, 35] {
            let mut body = format!("d8:intervali1e6:peers6{n}:").into_bytes();
            body.extend(std::iter::repeat_n(1u8, n));
            body.push(b'e');
            let e = parse_announce_response(&body).unwrap_err();
            assert!(
                matches!(
                    e,
                    TrackerError::PeersLength {
                        field: "peers6",
                        entry: 18,
                        ..
                    }
                ),
                "{n}: {e}"
            );
        }
        // A declared length past the end of the body is a bencode error.
        let e = parse_announce_response(b"d8:intervali1e5:peers999999999999:\x01e").unwrap_err();
        assert!(matches!(e, TrackerError::Bencode(_)), "{e}");
        let e = parse_announce_response(b"d8:intervali1e5:peers12:\x01\x02\x03").unwrap_err();
        assert!(matches!(e, TrackerError::Bencode(_)), "{e}");
    }

    #[test]
    fn wrong_types_and_values() {
        let cases: &[(&[u8], &str)] = &[
            (b"le", "(top level)"),
            (b"i1e", "(top level)"),
            (b"de", "interval"),
            (b"d8:interval1:5e", "interval"),
            (b"d8:intervali-1ee", "interval"),
            (b"d8:intervali1e12:min intervali-5ee", "min interval"),
            (b"d8:completei-1e8:intervali1ee", "complete"),
            (b"d10:incomplete1:x8:intervali1ee", "incomplete"),
            (b"d8:intervali1e5:peersi3ee", "peers"),
            (b"d8:intervali1e6:peers6lee", "peers6"),
            (b"d14:failure reasoni1ee", "failure reason"),
        ];
        for (body, field) in cases {
            let e = parse_announce_response(body).unwrap_err();
            assert!(
                matches!(e, TrackerError::InvalidField { field: f, .. } if f == *field),
                "{}: {e}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(matches!(
            parse_announce_response(b"not bencode").unwrap_err(),
            TrackerError::Bencode(_)
        ));
        assert!(matches!(
            parse_announce_response(b"d8:intervali1eejunk").unwrap_err(),
            TrackerError::Bencode(_)
        ));
    }

    #[test]
    fn huge_counts_saturate() {
        let r = parse_announce_response(b"d8:completei99999999999e8:intervali1ee").unwrap();
        assert_eq!(r.complete, Some(u32::MAX));
    }

    #[test]
    fn scrape() {
        let mut body = b"d5:filesd20:".to_vec();
        body.extend([7u8; 20]);
        body.extend(b"d8:completei3e10:downloadedi9e10:incompletei4e4:name1:xe");
        body.extend(b"3:abcd8:completei1ee");
        body.extend(b"20:");
        body.extend([8u8; 20]);
        body.extend(b"deee");
        let r = parse_scrape_response(&body).unwrap();
        assert_eq!(r.files.len(), 2);
        assert_eq!(
            r.get(&[7; 20]),
            Some(&ScrapeStats {
                complete: 3,
                downloaded: 9,
                incomplete: 4
            })
        );
        assert_eq!(r.get(&[8; 20]), Some(&ScrapeStats::default()));
        assert_eq!(r.get(&[9; 20]), None);
        assert!(matches!(
            parse_scrape_response(b"de").unwrap_err(),
            TrackerError::InvalidField { field: "files", .. }
        ));
        assert!(
            parse_scrape_response(b"d5:filesdee")
                .unwrap()
                .files
                .is_empty()
        );
    }
}
