//! Arbitrary bytes through `PeerCodec`, whole and split into chunks: both
//! must agree, and every decoded message (BEP 52 hash messages included)
//! must re-encode and decode to itself.
#![no_main]
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use monsoon_wire::{ExtendedHandshake, MAX_HASHES, Message, MetadataMessage, PeerCodec};
use tokio_util::codec::Decoder;

/// Decodes `stream` fed `chunk` bytes at a time; returns the messages and
/// whether it ended in an error.
fn run(stream: &[u8], chunk: usize) -> (Vec<Message>, bool) {
    let mut codec = PeerCodec::with_max_frame(1 << 16);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for part in stream.chunks(chunk) {
        buf.extend_from_slice(part);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(m)) => out.push(m),
            Ok(None) => return (out, false),
            Err(_) => return (out, true),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let whole = run(stream, stream.len().max(1));
    let chunked = run(stream, usize::from(split % 64) + 1);
    assert_eq!(whole, chunked, "chunking changed the result");

    for msg in &whole.0 {
        let mut enc = BytesMut::new();
        msg.encode(&mut enc).unwrap();
        assert_eq!(enc.len(), msg.encoded_len());
        let again = PeerCodec::new().decode(&mut enc).unwrap();
        assert_eq!(again.as_ref(), Some(msg));
        assert!(enc.is_empty());

        // BEP 52 `hashes`: whole 32-byte hashes, never more than the limit.
        if let Message::Hashes { hashes, .. } = msg {
            assert_eq!(hashes.len() % 32, 0);
            assert!(hashes.len() / 32 <= MAX_HASHES);
        }
        if let Message::Extended { payload, .. } = msg {
            if let Ok(hs) = ExtendedHandshake::decode(payload) {
                assert_eq!(ExtendedHandshake::decode(&hs.encode()).unwrap(), hs);
            }
            if let Ok((m, offset)) = MetadataMessage::decode(payload) {
                assert!(offset <= payload.len());
                assert_eq!(MetadataMessage::decode(&m.encode()).unwrap().0, m);
            }
        }
    }
});
