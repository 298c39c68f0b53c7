//! Property tests: the parsers never panic on arbitrary bytes, and what
//! the encoders write the decoders read back.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use monsoon_bencode::OwnedValue;
use monsoon_tracker::{
    AnnounceRequest, Event, TrackerError, decode_announce, decode_connect, decode_scrape,
    encode_announce, parse_announce_response, parse_scrape_response, percent_encode,
};
use proptest::prelude::*;

fn v4_peer() -> impl Strategy<Value = SocketAddr> {
    (any::<[u8; 4]>(), any::<u16>())
        .prop_map(|(ip, p)| SocketAddr::new(Ipv4Addr::from(ip).into(), p))
}

fn v6_peer() -> impl Strategy<Value = SocketAddr> {
    (any::<[u8; 16]>(), any::<u16>())
        .prop_map(|(ip, p)| SocketAddr::new(Ipv6Addr::from(ip).into(), p))
}

fn compact(peers: &[SocketAddr]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in peers {
        match p.ip() {
            IpAddr::V4(a) => out.extend(a.octets()),
            IpAddr::V6(a) => out.extend(a.octets()),
        }
        out.extend(p.port().to_be_bytes());
    }
    out
}

proptest! {
    #[test]
    fn http_parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_announce_response(&body);
        let _ = parse_scrape_response(&body);
    }

    #[test]
    fn udp_decoders_never_panic(
        b in proptest::collection::vec(any::<u8>(), 0..256),
        tid: u32,
        ipv6: bool,
        n in 0usize..100,
    ) {
        let _ = decode_connect(&b, tid);
        let _ = decode_announce(&b, tid, ipv6);
        let _ = decode_scrape(&b, tid, n);
    }

    #[test]
    fn http_response_roundtrip(
        v4 in proptest::collection::vec(v4_peer(), 0..20),
        v6 in proptest::collection::vec(v6_peer(), 0..20),
        interval in 0i64..100_000,
        complete in 0i64..1_000_000,
    ) {
        let body = OwnedValue::dict()
            .insert("interval", OwnedValue::Int(interval))
            .insert("complete", OwnedValue::Int(complete))
            .insert("peers", OwnedValue::bytes(compact(&v4)))
            .insert("peers6", OwnedValue::bytes(compact(&v6)))
            .encode();
        let r = parse_announce_response(&body).unwrap();
        prop_assert_eq!(r.interval.as_secs(), interval as u64);
        prop_assert_eq!(r.complete, Some(complete as u32));
        let want: Vec<SocketAddr> = v4.iter().chain(&v6).copied().collect();
        prop_assert_eq!(r.peers, want);
    }

    #[test]
    fn truncated_compact_lists_are_errors(
        peers in proptest::collection::vec(v4_peer(), 1..10),
        cut in 1usize..6,
    ) {
        let mut c = compact(&peers);
        c.truncate(c.len() - cut);
        let body = OwnedValue::dict()
            .insert("interval", OwnedValue::Int(1))
            .insert("peers", OwnedValue::bytes(c))
            .encode();
        let is_peers_length = matches!(
            parse_announce_response(&body),
            Err(TrackerError::PeersLength { entry: 6, .. })
        );
        prop_assert!(is_peers_length);
    }

    #[test]
    fn udp_announce_fields(
        info_hash: [u8; 20],
        peer_id: [u8; 20],
        port: u16,
        left: u64,
        key: u32,
        conn: u64,
        tid: u32,
    ) {
        let mut req = AnnounceRequest::new(info_hash, peer_id, port);
        req.left = left;
        req.key = key;
        req.event = Event::Started;
        let b = encode_announce(conn, tid, &req);
        prop_assert_eq!(&b[0..8], &conn.to_be_bytes());
        prop_assert_eq!(&b[12..16], &tid.to_be_bytes());
        prop_assert_eq!(&b[16..36], &info_hash);
        prop_assert_eq!(&b[36..56], &peer_id);
        prop_assert_eq!(&b[64..72], &left.to_be_bytes());
        prop_assert_eq!(&b[88..92], &key.to_be_bytes());
        prop_assert_eq!(&b[96..98], &port.to_be_bytes());
    }

    #[test]
    fn percent_encoding_uses_only_safe_characters(bytes: Vec<u8>) {
        let e = percent_encode(&bytes);
        prop_assert!(e.bytes().all(|c| c.is_ascii_alphanumeric() || b"-._~%".contains(&c)));
    }
}
