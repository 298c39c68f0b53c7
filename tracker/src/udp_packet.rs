//! BEP 15 UDP tracker packets: encoders for connect, announce and scrape
//! requests, decoders for their responses and for error packets, and the
//! connection-id lifetime rule. No sockets here.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::error::TrackerError;
use crate::request::AnnounceRequest;
use crate::response::{AnnounceResponse, ScrapeStats, parse_compact_v4, parse_compact_v6};

/// The magic constant a connect request starts with.
pub const PROTOCOL_ID: u64 = 0x0417_2710_1980;
/// Action code of connect.
pub const ACTION_CONNECT: u32 = 0;
/// Action code of announce.
pub const ACTION_ANNOUNCE: u32 = 1;
/// Action code of scrape.
pub const ACTION_SCRAPE: u32 = 2;
/// Action code of an error response.
pub const ACTION_ERROR: u32 = 3;
/// Most info-hashes one scrape request may carry (BEP 15: about 74).
pub const MAX_SCRAPE_HASHES: usize = 74;
/// How long a connection id may be used after it was obtained (BEP 15:
/// "up to one minute").
pub const CONNECTION_ID_LIFETIME: Duration = Duration::from_secs(60);
/// Size of an encoded announce request.
pub const ANNOUNCE_REQUEST_LEN: usize = 98;

/// A connection id and when it was obtained; time is passed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionId {
    /// The id the tracker gave.
    pub id: u64,
    /// When the connect response arrived.
    pub obtained: Instant,
}

impl ConnectionId {
    /// Whether the id may still be used at `now` (less than
    /// [`CONNECTION_ID_LIFETIME`] old).
    pub fn is_valid(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.obtained) < CONNECTION_ID_LIFETIME
    }
}

/// The connect request (16 bytes).
pub fn encode_connect(transaction_id: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&PROTOCOL_ID.to_be_bytes());
    b[8..12].copy_from_slice(&ACTION_CONNECT.to_be_bytes());
    b[12..].copy_from_slice(&transaction_id.to_be_bytes());
    b
}

/// The announce request (98 bytes). `numwant: None` is sent as -1 (the
/// tracker's default); an IPv6 `ip` cannot be carried and is sent as 0.
pub fn encode_announce(
    connection_id: u64,
    transaction_id: u32,
    req: &AnnounceRequest,
) -> [u8; ANNOUNCE_REQUEST_LEN] {
    let mut b = [0u8; ANNOUNCE_REQUEST_LEN];
    b[0..8].copy_from_slice(&connection_id.to_be_bytes());
    b[8..12].copy_from_slice(&ACTION_ANNOUNCE.to_be_bytes());
    b[12..16].copy_from_slice(&transaction_id.to_be_bytes());
    b[16..36].copy_from_slice(&req.info_hash);
    b[36..56].copy_from_slice(&req.peer_id);
    b[56..64].copy_from_slice(&req.downloaded.to_be_bytes());
    b[64..72].copy_from_slice(&req.left.to_be_bytes());
    b[72..80].copy_from_slice(&req.uploaded.to_be_bytes());
    b[80..84].copy_from_slice(&req.event.udp_code().to_be_bytes());
    let ip = match req.ip {
        Some(IpAddr::V4(v4)) => v4.octets(),
        _ => [0; 4],
    };
    b[84..88].copy_from_slice(&ip);
    b[88..92].copy_from_slice(&req.key.to_be_bytes());
    let numwant = req
        .numwant
        .map_or(-1, |n| i32::try_from(n).unwrap_or(i32::MAX));
    b[92..96].copy_from_slice(&numwant.to_be_bytes());
    b[96..98].copy_from_slice(&req.port.to_be_bytes());
    b
}

/// The scrape request for up to [`MAX_SCRAPE_HASHES`] info-hashes.
pub fn encode_scrape(
    connection_id: u64,
    transaction_id: u32,
    info_hashes: &[[u8; 20]],
) -> Result<Vec<u8>, TrackerError> {
    if info_hashes.len() > MAX_SCRAPE_HASHES {
        return Err(TrackerError::TooManyHashes(info_hashes.len()));
    }
    let mut b = Vec::with_capacity(16 + 20 * info_hashes.len());
    b.extend_from_slice(&connection_id.to_be_bytes());
    b.extend_from_slice(&ACTION_SCRAPE.to_be_bytes());
    b.extend_from_slice(&transaction_id.to_be_bytes());
    for h in info_hashes {
        b.extend_from_slice(h);
    }
    Ok(b)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks the 8-byte header of a response: length, transaction id (which
/// must match), and action (which must be `expected`, or an error packet,
/// returned as [`TrackerError::Failure`]).
fn check_header(
    b: &[u8],
    transaction_id: u32,
    expected: u32,
    need: usize,
) -> Result<(), TrackerError> {
    if b.len() < 8 {
        return Err(TrackerError::Truncated {
            len: b.len(),
            need: 8,
        });
    }
    let (action, tid) = (u32_at(b, 0), u32_at(b, 4));
    if tid != transaction_id {
        return Err(TrackerError::TransactionMismatch {
            expected: transaction_id,
            got: tid,
        });
    }
    if action == ACTION_ERROR && expected != ACTION_ERROR {
        return Err(TrackerError::Failure(
            String::from_utf8_lossy(&b[8..]).into_owned(),
        ));
    }
    if action != expected {
        return Err(TrackerError::UnexpectedAction {
            expected,
            got: action,
        });
    }
    if b.len() < need {
        return Err(TrackerError::Truncated { len: b.len(), need });
    }
    Ok(())
}

/// Decodes a connect response and returns the connection id.
pub fn decode_connect(b: &[u8], transaction_id: u32) -> Result<u64, TrackerError> {
    check_header(b, transaction_id, ACTION_CONNECT, 16)?;
    let mut id = [0u8; 8];
    id.copy_from_slice(&b[8..16]);
    Ok(u64::from_be_bytes(id))
}

/// Decodes an announce response. `ipv6` says which address family the
/// request went over, which decides the peer entry size (6 or 18 bytes).
pub fn decode_announce(
    b: &[u8],
    transaction_id: u32,
    ipv6: bool,
) -> Result<AnnounceResponse, TrackerError> {
    check_header(b, transaction_id, ACTION_ANNOUNCE, 20)?;
    let peers = if ipv6 {
        parse_compact_v6("udp peers", &b[20..])?
    } else {
        parse_compact_v4("udp peers", &b[20..])?
    };
    Ok(AnnounceResponse {
        interval: Duration::from_secs(u64::from(u32_at(b, 8))),
        min_interval: None,
        tracker_id: None,
        incomplete: Some(u32_at(b, 12)),
        complete: Some(u32_at(b, 16)),
        warning: None,
        peers,
    })
}

/// Decodes a scrape response for a request of `count` info-hashes (the
/// counts come in request order).
pub fn decode_scrape(
    b: &[u8],
    transaction_id: u32,
    count: usize,
) -> Result<Vec<ScrapeStats>, TrackerError> {
    let need = count.saturating_mul(12).saturating_add(8);
    check_header(b, transaction_id, ACTION_SCRAPE, need)?;
    Ok(b[8..need]
        .chunks_exact(12)
        .map(|c| ScrapeStats {
            complete: u32_at(c, 0),
            downloaded: u32_at(c, 4),
            incomplete: u32_at(c, 8),
        })
        .collect())
}

/// Decodes an error packet and returns its message.
pub fn decode_error(b: &[u8], transaction_id: u32) -> Result<String, TrackerError> {
    check_header(b, transaction_id, ACTION_ERROR, 8)?;
    Ok(String::from_utf8_lossy(&b[8..]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Event;

    fn header(action: u32, tid: u32) -> Vec<u8> {
        let mut v = action.to_be_bytes().to_vec();
        v.extend(tid.to_be_bytes());
        v
    }

    #[test]
    fn connect_roundtrip() {
        let b = encode_connect(0x1234_5678);
        assert_eq!(
            b,
            *b"\x00\x00\x04\x17\x27\x10\x19\x80\x00\x00\x00\x00\x12\x34\x56\x78"
        );
        let mut resp = header(0, 0x1234_5678);
        resp.extend(0xaabb_ccdd_eeff_0011u64.to_be_bytes());
        assert_eq!(
            decode_connect(&resp, 0x1234_5678).unwrap(),
            0xaabb_ccdd_eeff_0011
        );
        // Extra bytes after a connect response are ignored.
        resp.push(0);
        assert!(decode_connect(&resp, 0x1234_5678).is_ok());
    }

    #[test]
    fn announce_layout() {
        let mut req = AnnounceRequest::new([1; 20], [2; 20], 0x1ae1);
        req.downloaded = 3;
        req.left = 4;
        req.uploaded = 5;
        req.event = Event::Stopped;
        req.key = 6;
        req.ip = Some("10.0.0.7".parse().unwrap());
        let b = encode_announce(0x0102_0304_0506_0708, 9, &req);
        let mut want = vec![1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, 0, 0, 0, 9];
        want.extend([1; 20]);
        want.extend([2; 20]);
        want.extend(3u64.to_be_bytes());
        want.extend(4u64.to_be_bytes());
        want.extend(5u64.to_be_bytes());
        want.extend(3u32.to_be_bytes());
        want.extend([10, 0, 0, 7]);
        want.extend(6u32.to_be_bytes());
        want.extend((-1i32).to_be_bytes());
        want.extend([0x1a, 0xe1]);
        assert_eq!(b.to_vec(), want);
        req.numwant = Some(u32::MAX);
        req.ip = Some("::1".parse().unwrap());
        let b = encode_announce(0, 0, &req);
        assert_eq!(&b[84..88], &[0; 4]);
        assert_eq!(&b[92..96], &i32::MAX.to_be_bytes());
    }

    #[test]
    fn announce_response_v4_and_v6() {
        let mut resp = header(1, 7);
        resp.extend(1800u32.to_be_bytes());
        resp.extend(2u32.to_be_bytes()); // leechers
        resp.extend(3u32.to_be_bytes()); // seeders
        let head = resp.clone();
        resp.extend([127, 0, 0, 1, 0x1a, 0xe1]);
        let r = decode_announce(&resp, 7, false).unwrap();
        assert_eq!(r.interval, Duration::from_secs(1800));
        assert_eq!((r.incomplete, r.complete), (Some(2), Some(3)));
        assert_eq!(r.peers, ["127.0.0.1:6881".parse().unwrap()]);
        let e = decode_announce(&resp, 7, true).unwrap_err();
        assert!(
            matches!(e, TrackerError::PeersLength { entry: 18, .. }),
            "{e}"
        );

        let mut v6 = head.clone();
        v6.extend(std::net::Ipv6Addr::LOCALHOST.octets());
        v6.extend([0, 80]);
        let r = decode_announce(&v6, 7, true).unwrap();
        assert_eq!(r.peers, ["[::1]:80".parse().unwrap()]);
        assert!(decode_announce(&head, 7, true).unwrap().peers.is_empty());
    }

    #[test]
    fn hostile_packets() {
        let mut ok = header(1, 7);
        ok.extend([0; 12]);
        // Every truncation of the fixed part is an error, never a panic.
        for n in 0..ok.len() {
            let e = decode_announce(&ok[..n], 7, false).unwrap_err();
            assert!(matches!(e, TrackerError::Truncated { .. }), "{n}: {e}");
        }
        // Peers not a multiple of 6.
        for extra in [1usize, 5, 7] {
            let mut b = ok.clone();
            b.extend(vec![1; extra]);
            let e = decode_announce(&b, 7, false).unwrap_err();
            assert!(
                matches!(e, TrackerError::PeersLength { entry: 6, .. }),
                "{e}"
            );
        }
        // Wrong transaction id.
        let e = decode_announce(&ok, 8, false).unwrap_err();
        assert!(
            matches!(
                e,
                TrackerError::TransactionMismatch {
                    expected: 8,
                    got: 7
                }
            ),
            "{e}"
        );
        // Wrong action.
        let e = decode_connect(&ok, 7).unwrap_err();
        assert!(
            matches!(
                e,
                TrackerError::UnexpectedAction {
                    expected: 0,
                    got: 1
                }
            ),
            "{e}"
        );
        let mut b = header(9, 7);
        b.extend([0; 20]);
        assert!(matches!(
            decode_scrape(&b, 7, 1).unwrap_err(),
            TrackerError::UnexpectedAction { got: 9, .. }
        ));
        // Too short for the connection id.
        let e = decode_connect(&header(0, 7), 7).unwrap_err();
        assert!(
            matches!(e, TrackerError::Truncated { len: 8, need: 16 }),
            "{e}"
        );
        // A huge declared count cannot overflow or allocate.
        let e = decode_scrape(&header(2, 7), 7, usize::MAX).unwrap_err();
        assert!(matches!(e, TrackerError::Truncated { .. }), "{e}");
    }

    #[test]
    fn error_packets() {
        let mut b = header(3, 7);
        b.extend(b"torrent not registered");
        let e = decode_announce(&b, 7, false).unwrap_err();
        assert!(
            matches!(e, TrackerError::Failure(ref s) if s == "torrent not registered"),
            "{e}"
        );
        assert!(matches!(
            decode_connect(&b, 7),
            Err(TrackerError::Failure(_))
        ));
        assert_eq!(decode_error(&b, 7).unwrap(), "torrent not registered");
        assert!(matches!(
            decode_error(&b, 6),
            Err(TrackerError::TransactionMismatch { .. })
        ));
    }

    #[test]
    fn scrape_roundtrip() {
        let b = encode_scrape(5, 6, &[[1; 20], [2; 20]]).unwrap();
        assert_eq!(b.len(), 56);
        assert_eq!(&b[8..12], &2u32.to_be_bytes());
        assert_eq!(&b[36..56], &[2; 20]);
        assert!(matches!(
            encode_scrape(5, 6, &[[0; 20]; 75]),
            Err(TrackerError::TooManyHashes(75))
        ));
        let mut resp = header(2, 6);
        for v in [1u32, 2, 3, 4, 5, 6] {
            resp.extend(v.to_be_bytes());
        }
        let s = decode_scrape(&resp, 6, 2).unwrap();
        assert_eq!(
            s,
            [
                ScrapeStats {
                    complete: 1,
                    downloaded: 2,
                    incomplete: 3
                },
                ScrapeStats {
                    complete: 4,
                    downloaded: 5,
                    incomplete: 6
                }
            ]
        );
        assert!(matches!(
            decode_scrape(&resp[..resp.len() - 1], 6, 2),
            Err(TrackerError::Truncated { .. })
        ));
    }

    #[test]
    fn connection_id_expires_after_a_minute() {
        let t0 = Instant::now();
        let c = ConnectionId {
            id: 1,
            obtained: t0,
        };
        assert!(c.is_valid(t0));
        assert!(c.is_valid(t0 + Duration::from_secs(59)));
        assert!(!c.is_valid(t0 + Duration::from_secs(60)));
        // A clock reading before `obtained` does not panic.
        assert!(c.is_valid(t0.checked_sub(Duration::from_secs(1)).unwrap_or(t0)));
    }
}
