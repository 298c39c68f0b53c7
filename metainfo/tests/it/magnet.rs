//! Magnet URI parsing.

use monsoon_metainfo::{Magnet, MagnetError, MetaVersion};

const HEX: &str = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

#[test]
fn full_magnet() {
    let uri = format!(
        "magnet:?xt=urn:btih:{HEX}&dn=Big+Buck%20Bunny&tr=udp%3A%2F%2Ftracker.example%3A1337\
         &tr=http%3A%2F%2Fb%2Fann&tr.1=udp%3A%2F%2Ftracker.example%3A1337&x.pe=127.0.0.1:6881\
         &x.pe=%5B::1%5D:6882&so=0,2,4-6&ws=http%3A%2F%2Fignored"
    );
    let m = Magnet::parse(&uri).unwrap();
    assert_eq!(m.info_hash_hex(), HEX);
    assert_eq!(m.display_name.as_deref(), Some("Big Buck Bunny"));
    assert_eq!(m.trackers, ["udp://tracker.example:1337", "http://b/ann"]);
    assert_eq!(m.peers, ["127.0.0.1:6881", "[::1]:6882"]);
    assert_eq!(m.select_only, [0..=0, 2..=2, 4..=6]);
}

#[test]
fn minimal_and_base32_and_case() {
    let m = Magnet::parse(&format!("magnet:?xt=urn:btih:{}", HEX.to_uppercase())).unwrap();
    assert_eq!(m.info_hash_hex(), HEX);
    assert_eq!(m.display_name, None);
    assert!(m.trackers.is_empty() && m.peers.is_empty() && m.select_only.is_empty());

    let b32 = Magnet::parse("MAGNET:?xt=URN:BTIH:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK").unwrap();
    assert_eq!(b32.info_hash_hex(), HEX);
    let lower = Magnet::parse("magnet:?xt=urn:btih:yex6dqdlxisuvhoj6um3gnnkpqjwpkek").unwrap();
    assert_eq!(lower.info_hash, b32.info_hash);
}

#[test]
fn hybrid_magnet_has_both_hashes_and_uses_btih() {
    let uri = format!(
        "magnet:?xt=urn:btmh:1220{}&xt=urn:btih:{HEX}",
        "ab".repeat(32)
    );
    let m = Magnet::parse(&uri).unwrap();
    assert_eq!(m.info_hash_hex(), HEX);
    assert_eq!(m.info_hash_v2, Some([0xab; 32]));
    assert_eq!(m.info_hash_v2_hex(), Some("ab".repeat(32)));
    assert_eq!(m.version(), MetaVersion::Hybrid);
}

#[test]
fn v2_magnet_uses_the_truncated_hash() {
    let mut v2 = [0u8; 32];
    for (i, b) in v2.iter_mut().enumerate() {
        *b = i as u8;
    }
    let hex: String = v2.iter().map(|b| format!("{b:02X}")).collect();
    let m = Magnet::parse(&format!("magnet:?xt=urn:btmh:1220{hex}&dn=x")).unwrap();
    assert_eq!(m.version(), MetaVersion::V2);
    assert!(!m.has_v1);
    assert_eq!(m.info_hash_v2, Some(v2));
    assert_eq!(m.info_hash[..], v2[..20]);
    // The same hash twice is fine; two different ones are not.
    let twice = format!("magnet:?xt=urn:btmh:1220{hex}&xt=urn:btmh:1220{hex}");
    assert_eq!(Magnet::parse(&twice).unwrap().info_hash_v2, Some(v2));
}

#[test]
fn errors() {
    let cases: Vec<(String, MagnetError)> = vec![
        ("http://x/?xt=urn:btih:{HEX}".into(), MagnetError::NotMagnet),
        ("magnet:".into(), MagnetError::NotMagnet),
        ("magnet:?dn=x".into(), MagnetError::MissingInfoHash),
        (
            format!("magnet:?xt=urn:btmh:1114{}", "ab".repeat(20)),
            MagnetError::InvalidInfoHashV2(format!("1114{}", "ab".repeat(20))),
        ),
        (
            format!("magnet:?xt=urn:btmh:1220{}", "ab".repeat(31)),
            MagnetError::InvalidInfoHashV2(format!("1220{}", "ab".repeat(31))),
        ),
        (
            format!(
                "magnet:?xt=urn:btmh:1220{}&xt=urn:btmh:1220{}",
                "ab".repeat(32),
                "cd".repeat(32)
            ),
            MagnetError::ConflictingInfoHash,
        ),
        (
            "magnet:?xt=urn:btih:abc".into(),
            MagnetError::InvalidInfoHash("abc".into()),
        ),
        (
            format!("magnet:?xt=urn:btih:{}", "g".repeat(40)),
            MagnetError::InvalidInfoHash("g".repeat(40)),
        ),
        (
            format!("magnet:?xt=urn:btih:{}", "1".repeat(32)),
            MagnetError::InvalidInfoHash("1".repeat(32)),
        ),
        (
            format!("magnet:?xt=urn:btih:{HEX}&xt=urn:btih:{}", "0".repeat(40)),
            MagnetError::ConflictingInfoHash,
        ),
        (
            format!("magnet:?xt=urn:btih:{HEX}&dn=%zz"),
            MagnetError::InvalidEscape("%zz".into()),
        ),
        (
            format!("magnet:?xt=urn:btih:{HEX}&dn=50%"),
            MagnetError::InvalidEscape("50%".into()),
        ),
        (
            format!("magnet:?xt=urn:btih:{HEX}&so=3-1"),
            MagnetError::InvalidSelectOnly("3-1".into()),
        ),
        (
            format!("magnet:?xt=urn:btih:{HEX}&so=a"),
            MagnetError::InvalidSelectOnly("a".into()),
        ),
    ];
    for (uri, want) in cases {
        assert_eq!(Magnet::parse(&uri), Err(want), "{uri}");
    }
}
