//! Local service discovery (BEP 14): the announce format against what
//! libtorrent sends, every way a datagram can be wrong, the core's timing
//! (one datagram per gap, each torrent every interval, least recently
//! announced first), and what it believes of received announces.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use monsoon_tracker::{
    LSD_GROUP_V4, LSD_PORT, LsdConfig, LsdCore, LsdError, LsdReceived, MAX_LSD_DATAGRAM,
    encode_lsd, parse_lsd,
};
use proptest::prelude::*;

fn group() -> SocketAddr {
    SocketAddr::from((LSD_GROUP_V4, LSD_PORT))
}

fn hash(n: u8) -> [u8; 20] {
    [n; 20]
}

/// A datagram libtorrent 2.0.8 sent (captured on 127.0.0.1).
const FROM_LIBTORRENT: &[u8] =
    b"BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 46002\r\n\
Infohash: d639048097cd967a64646c2471f68155b15b3f04\r\ncookie: 2fd0c9b7\r\n\r\n\r\n";

#[test]
fn reads_libtorrents_announce() {
    let a = parse_lsd(FROM_LIBTORRENT).unwrap();
    assert_eq!(a.port, 46002);
    assert_eq!(a.cookie.as_deref(), Some("2fd0c9b7"));
    assert_eq!(a.info_hashes.len(), 1);
    assert_eq!(a.info_hashes[0][..3], [0xd6, 0x39, 0x04]);
    assert_eq!(a.info_hashes[0][19], 0x04);
}

#[test]
fn writes_what_libtorrent_writes() {
    let mut h = [0u8; 20];
    let hex = "d639048097cd967a64646c2471f68155b15b3f04";
    for (i, b) in h.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    assert_eq!(
        encode_lsd(group(), 46002, &[h], "2fd0c9b7"),
        FROM_LIBTORRENT
    );
}

#[test]
fn every_malformed_announce_is_a_typed_error() {
    let ok = String::from_utf8(FROM_LIBTORRENT.to_vec()).unwrap();
    let cases: Vec<(Vec<u8>, LsdError)> = vec![
        (
            vec![b'x'; MAX_LSD_DATAGRAM + 1],
            LsdError::TooLong(MAX_LSD_DATAGRAM + 1),
        ),
        (
            ok.replace("BT-SEARCH", "M-SEARCH").into(),
            LsdError::NotBtSearch,
        ),
        (
            ok.replace("* HTTP/1.1", "/ HTTP/1.1").into(),
            LsdError::NotBtSearch,
        ),
        (ok.replace("Port: 46002\r\n", "").into(), LsdError::BadPort),
        (ok.replace("46002", "0").into(), LsdError::BadPort),
        (ok.replace("46002", "70000").into(), LsdError::BadPort),
        (ok.replace("46002", "-1").into(), LsdError::BadPort),
        (ok.replace("b3f04", "b3f0").into(), LsdError::BadInfohash),
        (ok.replace("b3f04", "b3f0g").into(), LsdError::BadInfohash),
        (
            ok.replace("Infohash: d639048097cd967a64646c2471f68155b15b3f04\r\n", "")
                .into(),
            LsdError::NoInfohash,
        ),
        (
            ok.replace("\r\n\r\n\r\n", "\r\n").into(),
            LsdError::Malformed,
        ),
        (
            ok.replace("cookie: ", "cookie ").into(),
            LsdError::Malformed,
        ),
        (
            ok.replace("2fd0c9b7", "2fd0c9b\u{e9}").into(),
            LsdError::Malformed,
        ),
        (vec![0xff, 0xfe], LsdError::Malformed),
        (Vec::new(), LsdError::NotBtSearch),
    ];
    for (datagram, want) in cases {
        assert_eq!(
            parse_lsd(&datagram),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(&datagram)
        );
    }
    // The size limit bounds the hashes: a datagram of the largest size
    // full of the shortest hash lines is still one hash per 50 bytes.
    let mut text = String::from("BT-SEARCH * HTTP/1.1\nPort: 1\n");
    while text.len() + 50 < MAX_LSD_DATAGRAM {
        text.push_str(&format!("infohash:{}\n", hex(&hash(1))));
    }
    text.push('\n');
    assert_eq!(parse_lsd(text.as_bytes()).unwrap().info_hashes.len(), 27);
    text.insert_str(text.len() - 1, &format!("infohash:{}\n", hex(&hash(1))));
    assert_eq!(
        parse_lsd(text.as_bytes()),
        Err(LsdError::TooLong(text.len()))
    );
}

#[test]
fn tolerates_what_bep_14_allows() {
    // Unknown headers, other header case, bare \n line ends.
    let text = "BT-SEARCH * HTTP/1.1\nHOST: [ff15::efc0:988f]:6771\nX-Other: 1\nport: 7\n\
                infohash: 0101010101010101010101010101010101010101\n\n";
    let a = parse_lsd(text.as_bytes()).unwrap();
    assert_eq!((a.port, a.info_hashes, a.cookie), (7, vec![hash(1)], None));
}

fn hex(h: &[u8; 20]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn core() -> LsdCore {
    LsdCore::new(LsdConfig::new(group()), 6881, "ours".into())
}

fn hashes_in(datagram: &[u8]) -> Vec<[u8; 20]> {
    parse_lsd(datagram).unwrap().info_hashes
}

#[test]
fn one_datagram_per_gap_and_each_torrent_every_interval() {
    let t0 = Instant::now();
    let s = Duration::from_secs;
    let mut c = core();
    assert_eq!(c.poll_timeout(t0), None, "nothing to announce");
    for n in 1..=3 {
        c.add(hash(n));
    }
    assert_eq!(c.poll_timeout(t0), Some(t0));
    let d = c.poll_send(t0).unwrap();
    assert_eq!(hashes_in(&d), vec![hash(1), hash(2), hash(3)]);
    assert_eq!(parse_lsd(&d).unwrap().port, 6881);
    assert_eq!(
        c.poll_send(t0 + s(1)),
        None,
        "all three were just announced"
    );
    assert_eq!(c.poll_timeout(t0 + s(1)), Some(t0 + s(300)));
    // A torrent added later waits for the end of the one-minute gap.
    c.add(hash(4));
    assert_eq!(c.poll_timeout(t0 + s(10)), Some(t0 + s(60)));
    assert_eq!(c.poll_send(t0 + s(59)), None);
    assert_eq!(hashes_in(&c.poll_send(t0 + s(60)).unwrap()), vec![hash(4)]);
    // Five minutes after their announce, the first three again.
    assert_eq!(c.poll_send(t0 + s(299)), None);
    assert_eq!(
        hashes_in(&c.poll_send(t0 + s(300)).unwrap()),
        vec![hash(1), hash(2), hash(3)]
    );
    // A removed torrent is not announced again.
    c.remove(&hash(4));
    assert_eq!(c.poll_send(t0 + s(400)), None);
    assert_eq!(c.poll_timeout(t0 + s(400)), Some(t0 + s(600)));
}

#[test]
fn many_torrents_take_turns_in_datagrams_under_the_limit() {
    let t0 = Instant::now();
    let mut c = core();
    for n in 0..100 {
        c.add(hash(n));
    }
    let mut seen = Vec::new();
    let mut t = t0;
    for _ in 0..10 {
        if let Some(d) = c.poll_send(t) {
            assert!(d.len() <= MAX_LSD_DATAGRAM, "{} bytes", d.len());
            seen.extend(hashes_in(&d));
        }
        t += Duration::from_secs(60);
    }
    // Every torrent once before any twice: 100 torrents, about 24 a
    // datagram, 5 datagrams in the first 5 minutes.
    let first: Vec<[u8; 20]> = seen.iter().take(100).copied().collect();
    let mut sorted = first.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        100,
        "a torrent was announced twice before all were once"
    );
}

#[test]
fn received_announces_ours_others_and_floods() {
    let t0 = Instant::now();
    let mut c = core();
    c.add(hash(1));
    let from: SocketAddr = "192.168.1.5:6771".parse().unwrap();
    let theirs = encode_lsd(group(), 51413, &[hash(1), hash(2)], "theirs");
    assert_eq!(
        c.on_datagram(t0, from, &theirs),
        LsdReceived::Peers(vec![(hash(1), "192.168.1.5:51413".parse().unwrap())]),
        "the peer is the sender's address with the announced port, for our torrents only"
    );
    let ours = encode_lsd(group(), 6881, &[hash(1)], "ours");
    assert_eq!(c.on_datagram(t0, from, &ours), LsdReceived::Ours);
    assert_eq!(
        c.on_datagram(t0, from, b"garbage"),
        LsdReceived::Invalid(LsdError::NotBtSearch)
    );
    // 20 a minute per source: the three above plus 17 more pass, then no
    // more until the minute is over; another source is not affected.
    for _ in 0..17 {
        assert!(matches!(
            c.on_datagram(t0, from, &theirs),
            LsdReceived::Peers(_)
        ));
    }
    assert_eq!(c.on_datagram(t0, from, &theirs), LsdReceived::RateLimited);
    let other: SocketAddr = "192.168.1.6:6771".parse().unwrap();
    assert!(matches!(
        c.on_datagram(t0, other, &theirs),
        LsdReceived::Peers(_)
    ));
    let later = t0 + Duration::from_secs(60);
    assert!(matches!(
        c.on_datagram(later, from, &theirs),
        LsdReceived::Peers(_)
    ));
}

proptest! {
    #[test]
    fn encode_then_parse_gives_back_the_announce(
        port in 1u16..,
        n in 1usize..=20,
        seed in any::<u8>(),
        cookie in "[a-z0-9]{0,16}",
    ) {
        let hashes: Vec<[u8; 20]> = (0..n).map(|i| hash(seed.wrapping_add(i as u8))).collect();
        let d = encode_lsd(group(), port, &hashes, &cookie);
        prop_assert!(d.len() <= MAX_LSD_DATAGRAM);
        let a = parse_lsd(&d).unwrap();
        prop_assert_eq!(a.port, port);
        prop_assert_eq!(a.info_hashes, hashes);
        prop_assert_eq!(a.cookie, (!cookie.is_empty()).then_some(cookie));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
        let _ = parse_lsd(&bytes);
    }
}
