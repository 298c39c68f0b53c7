//! BEP 10 extension handshake and BEP 9 metadata headers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use monsoon_wire::{ExtendedHandshake, Message, MetadataMessage, WireError};
use proptest::prelude::*;

#[test]
fn full_handshake_round_trips() {
    let mut hs = ExtendedHandshake::default();
    hs.m.insert("ut_metadata".into(), 2);
    hs.m.insert("ut_pex".into(), 1);
    hs.p = Some(6881);
    hs.v = Some("monsoon 0.1".into());
    hs.reqq = Some(500);
    hs.metadata_size = Some(123_456);
    hs.yourip = Some(IpAddr::V6(Ipv6Addr::LOCALHOST));
    hs.ipv6 = Some(Ipv6Addr::LOCALHOST);
    hs.ipv4 = Some(Ipv4Addr::new(10, 0, 0, 1));
    hs.upload_only = Some(true);
    let bytes = hs.encode();
    assert_eq!(ExtendedHandshake::decode(&bytes).unwrap(), hs);
    assert_eq!(
        hs.to_message(),
        Message::Extended {
            id: 0,
            payload: bytes
        }
    );
}

#[test]
fn empty_handshake_encodes_an_empty_m() {
    let hs = ExtendedHandshake::default();
    assert_eq!(&hs.encode()[..], b"d1:mdee");
    assert_eq!(ExtendedHandshake::decode(b"de").unwrap(), hs);
}

#[test]
fn decodes_a_libtorrent_style_dictionary() {
    // Keys out of order, extra keys, an IPv4 yourip, a disabled extension.
    let raw = b"d1:md11:ut_metadatai2e6:ut_pexi0ee13:metadata_sizei31235e1:pi6881e4:reqqi500e11:upload_onlyi1e1:v18:libtorrent 2.0.8.06:yourip4:\x7f\x00\x00\x01e";
    let hs = ExtendedHandshake::decode(raw).unwrap();
    assert_eq!(hs.extension_id("ut_metadata"), Some(2));
    assert_eq!(hs.extension_id("ut_pex"), None);
    assert_eq!(hs.m.get("ut_pex"), Some(&0));
    assert_eq!(hs.metadata_size, Some(31235));
    assert_eq!(hs.p, Some(6881));
    assert_eq!(hs.reqq, Some(500));
    assert_eq!(hs.v.as_deref(), Some("libtorrent 2.0.8.0"));
    assert_eq!(hs.yourip, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    assert_eq!(hs.upload_only, Some(true));
}

#[test]
fn mistyped_or_out_of_range_fields_are_absent() {
    let raw = b"d1:md1:ai300e1:bi-1e1:c1:xe1:pi70000e4:reqq3:abc6:yourip3:abce";
    let hs = ExtendedHandshake::decode(raw).unwrap();
    assert!(hs.m.is_empty());
    assert_eq!((hs.p, hs.reqq, hs.yourip), (None, None, None));
}

#[test]
fn not_a_dictionary_is_an_error() {
    assert!(matches!(
        ExtendedHandshake::decode(b"li1ee"),
        Err(WireError::BadField(_))
    ));
    assert!(matches!(
        ExtendedHandshake::decode(b"d1:m"),
        Err(WireError::Bencode(_))
    ));
}

#[test]
fn metadata_headers_round_trip_and_report_the_data_offset() {
    for (msg, piece) in [
        (MetadataMessage::Request { piece: 3 }, 3),
        (
            MetadataMessage::Data {
                piece: 1,
                total_size: 40_000,
            },
            1,
        ),
        (MetadataMessage::Reject { piece: 0 }, 0),
    ] {
        let header = msg.encode();
        let mut payload = header.to_vec();
        payload.extend_from_slice(b"xyz");
        assert_eq!(
            MetadataMessage::decode(&payload).unwrap(),
            (msg, header.len())
        );
        assert_eq!(msg.piece(), piece);
    }
    assert_eq!(
        &MetadataMessage::Request { piece: 0 }.encode()[..],
        b"d8:msg_typei0e5:piecei0ee"
    );
}

#[test]
fn bad_metadata_headers_are_errors() {
    let cases: &[(&[u8], &str)] = &[
        (b"d8:msg_typei7e5:piecei0ee", "msg_type"),
        (b"d8:msg_typei0ee", "piece"),
        (b"d8:msg_typei1e5:piecei0ee", "total_size"),
        (b"d8:msg_typei0e5:piecei-1ee", "piece"),
        (b"i1e", "dictionary"),
    ];
    for &(raw, field) in cases {
        let err = MetadataMessage::decode(raw).unwrap_err();
        assert!(
            matches!(err, WireError::BadField(f) if f == field),
            "{raw:?}: {err:?}"
        );
    }
}

proptest! {
    #[test]
    fn extended_handshake_round_trips(
        m in proptest::collection::btree_map("[a-z_]{1,12}", any::<u8>(), 0..6),
        p in any::<Option<u16>>(),
        v in proptest::option::of("[ -~]{0,20}"),
        reqq in any::<Option<u32>>(),
        metadata_size in proptest::option::of(0..i64::MAX as u64),
        v4 in any::<Option<[u8; 4]>>(),
        v6 in any::<Option<[u8; 16]>>(),
    ) {
        let hs = ExtendedHandshake {
            m, p, v, reqq, metadata_size,
            yourip: v4.map(IpAddr::from),
            ipv6: v6.map(Ipv6Addr::from),
            ipv4: v4.map(Ipv4Addr::from),
            upload_only: None,
        };
        prop_assert_eq!(ExtendedHandshake::decode(&hs.encode()).unwrap(), hs);
    }

    #[test]
    fn metadata_header_round_trips(kind in 0..3u8, piece in any::<u32>(), total_size in 0..i64::MAX as u64) {
        let msg = match kind {
            0 => MetadataMessage::Request { piece },
            1 => MetadataMessage::Data { piece, total_size },
            _ => MetadataMessage::Reject { piece },
        };
        let header = msg.encode();
        prop_assert_eq!(MetadataMessage::decode(&header).unwrap(), (msg, header.len()));
    }

    #[test]
    fn arbitrary_extension_payloads_never_panic(data in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = ExtendedHandshake::decode(&data);
        let _ = MetadataMessage::decode(&data);
    }
}
