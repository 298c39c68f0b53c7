//! The handshake: bytes, reserved bits, bad protocol strings, its codec.

use bytes::BytesMut;
use monsoon_wire::{HANDSHAKE_LEN, Handshake, HandshakeCodec, PROTOCOL, Reserved, WireError};
use tokio_util::codec::{Decoder, Encoder};

fn sample() -> Handshake {
    Handshake::new([0x11; 20], *b"-MO0001-abcdefghijkl")
}

#[test]
fn new_sets_extension_and_fast_bits_only() {
    let hs = sample();
    assert!(hs.reserved.extension_protocol());
    assert!(hs.reserved.fast());
    assert!(!hs.reserved.dht());
    assert_eq!(hs.reserved.0, [0, 0, 0, 0, 0, 0x10, 0, 0x04]);
    assert!(Reserved::default().with_dht().dht());
    // BEP 52: "the fourth most significant bit in the last byte".
    assert_eq!(Reserved::default().with_v2().0, [0, 0, 0, 0, 0, 0, 0, 0x10]);
    assert!(Reserved([0, 0, 0, 0, 0, 0, 0, 0x10]).v2());
    assert!(!Reserved::default().with_fast().with_dht().v2());
}

#[test]
fn encodes_to_the_bep3_layout() {
    let hs = sample();
    let mut buf = BytesMut::new();
    hs.encode(&mut buf);
    assert_eq!(buf.len(), HANDSHAKE_LEN);
    assert_eq!(&buf[..20], b"\x13BitTorrent protocol");
    assert_eq!(&buf[20..28], &hs.reserved.0);
    assert_eq!(&buf[28..48], &[0x11; 20]);
    assert_eq!(&buf[48..], b"-MO0001-abcdefghijkl");
    assert_eq!(&buf[..], &hs.to_bytes()[..]);
    assert_eq!(Handshake::decode(&buf).unwrap(), hs);
}

#[test]
fn wrong_protocol_string_is_an_error() {
    let mut bytes = sample().to_bytes();
    bytes[5] = b'X';
    assert!(matches!(
        Handshake::decode(&bytes),
        Err(WireError::BadProtocol)
    ));
    bytes = sample().to_bytes();
    bytes[0] = 18;
    assert!(matches!(
        Handshake::decode(&bytes),
        Err(WireError::BadProtocol)
    ));
}

#[test]
fn codec_rejects_a_bad_protocol_from_the_first_bytes() {
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1"[..]);
    assert!(matches!(
        HandshakeCodec.decode(&mut buf),
        Err(WireError::BadProtocol)
    ));
}

#[test]
fn short_slice_is_truncated() {
    let bytes = sample().to_bytes();
    let err = Handshake::decode(&bytes[..40]).unwrap_err();
    assert!(
        matches!(
            err,
            WireError::Truncated {
                needed: 68,
                got: 40
            }
        ),
        "{err:?}"
    );
}

#[test]
fn codec_decodes_at_every_split_and_leaves_the_rest() {
    let hs = sample();
    let mut wire = BytesMut::new();
    HandshakeCodec.encode(hs, &mut wire).unwrap();
    wire.extend_from_slice(&[0, 0, 0, 1, 1]); // an unchoke right behind it
    for at in 0..=HANDSHAKE_LEN {
        let mut buf = BytesMut::from(&wire[..at]);
        let mut codec = HandshakeCodec;
        if at < HANDSHAKE_LEN {
            assert_eq!(codec.decode(&mut buf).unwrap(), None);
        }
        buf.extend_from_slice(&wire[at..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(hs));
        assert_eq!(&buf[..], &[0, 0, 0, 1, 1]);
    }
}

#[test]
fn codec_reports_eof_mid_handshake() {
    let bytes = sample().to_bytes();
    let mut buf = BytesMut::from(&bytes[..30]);
    let err = HandshakeCodec.decode_eof(&mut buf).unwrap_err();
    assert!(
        matches!(
            err,
            WireError::Truncated {
                needed: 68,
                got: 30
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        HandshakeCodec.decode_eof(&mut BytesMut::new()).unwrap(),
        None
    );
    assert_eq!(PROTOCOL.len(), 20);
}
