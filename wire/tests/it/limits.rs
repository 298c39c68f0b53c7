//! Limits and malformed frames: oversize, wrong length per id, truncated at EOF.

use bytes::BytesMut;
use monsoon_wire::{
    DEFAULT_MAX_FRAME, HASH_HEADER_LEN, MAX_HASHES, Message, PeerCodec, WireError, id,
};
use tokio_util::codec::Decoder;

use crate::strategies::decode_chunks;

fn frame(len: u32, rest: &[u8]) -> Vec<u8> {
    let mut v = len.to_be_bytes().to_vec();
    v.extend_from_slice(rest);
    v
}

#[test]
fn oversize_length_is_rejected_before_reserving() {
    let mut buf = BytesMut::from(&frame(u32::MAX, &[id::PIECE])[..]);
    let cap = buf.capacity();
    let err = PeerCodec::new().decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, WireError::FrameTooLarge { len, max } if len == u32::MAX as usize && max == DEFAULT_MAX_FRAME),
        "{err:?}"
    );
    assert_eq!(buf.capacity(), cap);
}

#[test]
fn the_maximum_is_configurable_and_inclusive() {
    let ok = frame(9 + 7, &[&[id::PIECE][..], &[0; 8], &[1; 7]].concat());
    let got = decode_chunks(PeerCodec::with_max_frame(16), [&ok[..]]).unwrap();
    assert_eq!(got.len(), 1);
    let err = decode_chunks(PeerCodec::with_max_frame(15), [&ok[..]]).unwrap_err();
    assert!(
        matches!(err, WireError::FrameTooLarge { len: 16, max: 15 }),
        "{err:?}"
    );
    assert_eq!(PeerCodec::with_max_frame(15).max_frame(), 15);
}

#[test]
fn default_maximum_admits_a_bitfield_of_the_largest_torrent() {
    // monsoon's metainfo parser accepts at most 2^21 pieces (libtorrent's
    // default limit too): a 262,144-byte bitfield, 262,145 with the id byte.
    let bits = vec![0xffu8; (1 << 21) / 8];
    let wire = frame(
        1 + bits.len() as u32,
        &[&[id::BITFIELD][..], &bits].concat(),
    );
    let got = decode_chunks(PeerCodec::new(), [&wire[..]]).unwrap();
    assert_eq!(got, vec![Message::Bitfield(bits.into())]);
}

#[test]
fn every_fixed_size_id_rejects_other_lengths() {
    let rules: &[(u8, usize)] = &[
        (id::CHOKE, 1),
        (id::UNCHOKE, 1),
        (id::INTERESTED, 1),
        (id::NOT_INTERESTED, 1),
        (id::HAVE_ALL, 1),
        (id::HAVE_NONE, 1),
        (id::HAVE, 5),
        (id::SUGGEST, 5),
        (id::ALLOWED_FAST, 5),
        (id::REQUEST, 13),
        (id::CANCEL, 13),
        (id::REJECT, 13),
        (id::PORT, 3),
        (id::HASH_REQUEST, 49),
        (id::HASH_REJECT, 49),
    ];
    for &(msg_id, exact) in rules {
        for len in [exact - 1, exact + 1, exact + 100]
            .into_iter()
            .filter(|&l| l >= 1)
        {
            // Only the header and the id byte: the error must come before the body.
            let mut buf = BytesMut::from(&frame(len as u32, &[msg_id])[..]);
            let err = PeerCodec::new().decode(&mut buf).unwrap_err();
            assert!(
                matches!(err, WireError::BadLength { id, len: l } if id == msg_id && l == len),
                "id {msg_id} len {len}: {err:?}"
            );
        }
        let body = vec![0; exact - 1];
        let ok = frame(exact as u32, &[&[msg_id][..], &body].concat());
        assert_eq!(decode_chunks(PeerCodec::new(), [&ok[..]]).unwrap().len(), 1);
    }
}

#[test]
fn minimum_lengths_are_enforced() {
    for (msg_id, min) in [(id::PIECE, 9usize), (id::EXTENDED, 2)] {
        let mut buf = BytesMut::from(&frame(min as u32 - 1, &[msg_id])[..]);
        let err = PeerCodec::new().decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, WireError::BadLength { id, .. } if id == msg_id),
            "{err:?}"
        );
    }
    // An empty piece and an empty bitfield are well-formed frames.
    let piece = frame(9, &[id::PIECE, 0, 0, 0, 1, 0, 0, 0, 2]);
    let bitfield = frame(1, &[id::BITFIELD]);
    let got = decode_chunks(PeerCodec::new(), [&piece[..], &bitfield[..]]).unwrap();
    assert_eq!(
        got,
        vec![
            Message::Piece {
                index: 1,
                begin: 2,
                data: Default::default()
            },
            Message::Bitfield(Default::default()),
        ]
    );
}

/// BEP 52 `hashes`: the 48-byte header, then whole 32-byte hashes, at most
/// `MAX_HASHES`; a message at the limit fits the default frame size.
#[test]
fn hashes_messages_are_bounded_whole_hashes() {
    let header = [7u8; HASH_HEADER_LEN];
    for bad in [
        HASH_HEADER_LEN,
        HASH_HEADER_LEN + 1 + 31,
        1 + HASH_HEADER_LEN + 32 * (MAX_HASHES + 1),
    ] {
        let mut buf = BytesMut::from(&frame(bad as u32, &[id::HASHES])[..]);
        let err = PeerCodec::with_max_frame(usize::MAX)
            .decode(&mut buf)
            .unwrap_err();
        assert!(
            matches!(err, WireError::BadLength { id: id::HASHES, len } if len == bad),
            "{bad}: {err:?}"
        );
    }
    let most = vec![1u8; 32 * MAX_HASHES];
    let len = 1 + HASH_HEADER_LEN + most.len();
    assert!(len <= DEFAULT_MAX_FRAME, "{len}");
    let wire = frame(len as u32, &[&[id::HASHES][..], &header, &most].concat());
    let got = decode_chunks(PeerCodec::new(), [&wire[..]]).unwrap();
    let [Message::Hashes { request, hashes }] = &got[..] else {
        panic!("{got:?}");
    };
    assert_eq!(request.pieces_root, [7; 32]);
    assert_eq!(request.base_layer, 0x0707_0707);
    assert_eq!(hashes.len(), 32 * MAX_HASHES);
    // No hashes at all is well formed too.
    let empty = frame(49, &[&[id::HASHES][..], &header].concat());
    assert_eq!(
        decode_chunks(PeerCodec::new(), [&empty[..]]).unwrap().len(),
        1
    );
}

#[test]
fn unknown_ids_are_messages_not_errors() {
    let wire = frame(4, &[99, 1, 2, 3]);
    let got = decode_chunks(PeerCodec::new(), [&wire[..]]).unwrap();
    assert_eq!(
        got,
        vec![Message::Unknown {
            id: 99,
            payload: vec![1, 2, 3].into()
        }]
    );
}

#[test]
fn truncated_at_eof_in_the_prefix() {
    let err = decode_chunks(PeerCodec::new(), [&[0u8, 0, 0][..]]).unwrap_err();
    assert!(
        matches!(err, WireError::Truncated { needed: 4, got: 3 }),
        "{err:?}"
    );
}

#[test]
fn truncated_at_eof_in_the_body() {
    let wire = frame(13, &[id::REQUEST, 0, 0, 0, 1]);
    let err = decode_chunks(PeerCodec::new(), [&wire[..]]).unwrap_err();
    assert!(
        matches!(err, WireError::Truncated { needed: 17, got: 9 }),
        "{err:?}"
    );
    // EOF right after the prefix.
    let err = decode_chunks(PeerCodec::new(), [&frame(5, &[])[..]]).unwrap_err();
    assert!(
        matches!(err, WireError::Truncated { needed: 9, got: 4 }),
        "{err:?}"
    );
}

#[test]
fn clean_eof_between_frames_is_not_an_error() {
    let wire = frame(1, &[id::CHOKE]);
    let got = decode_chunks(PeerCodec::new(), [&wire[..]]).unwrap();
    assert_eq!(got, vec![Message::Choke]);
}

#[test]
fn the_decoder_reserves_exactly_the_rest_of_the_frame() {
    let mut buf = BytesMut::with_capacity(16);
    buf.extend_from_slice(&frame(16393, &[id::PIECE, 0, 0]));
    let mut codec = PeerCodec::new();
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(buf.capacity() >= 16393, "capacity {}", buf.capacity());
    assert!(buf.capacity() < 2 * 16393, "capacity {}", buf.capacity());
}
