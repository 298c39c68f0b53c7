//! Arbitrary bytes as a handshake: `Handshake::decode` and `HandshakeCodec`
//! must agree, and a decoded handshake must re-encode to the same 68 bytes.
#![no_main]
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use monsoon_wire::{HANDSHAKE_LEN, Handshake, HandshakeCodec};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let direct = Handshake::decode(data);
    let mut buf = BytesMut::from(data);
    let framed = HandshakeCodec.decode_eof(&mut buf);
    match (&direct, &framed) {
        (Ok(a), Ok(Some(b))) => {
            assert_eq!(a, b);
            assert_eq!(&a.to_bytes()[..], &data[..HANDSHAKE_LEN]);
            assert_eq!(buf.len(), data.len() - HANDSHAKE_LEN);
            assert_eq!(Handshake::decode(&a.to_bytes()).unwrap(), *a);
        }
        (Err(_), Err(_)) => {}
        (Err(_), Ok(None)) => assert!(data.is_empty()),
        _ => panic!("Handshake::decode and HandshakeCodec disagree: {direct:?} vs {framed:?}"),
    }
});
