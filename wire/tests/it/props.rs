//! Property tests: round-trips and streams split at every offset.

use bytes::BytesMut;
use monsoon_wire::{Message, PeerCodec};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

use crate::strategies::{decode_chunks, encode_all, message};

proptest! {
    #[test]
    fn every_message_round_trips(msg in message()) {
        let mut buf = BytesMut::new();
        PeerCodec::new().encode(msg.clone(), &mut buf).unwrap();
        prop_assert_eq!(buf.len(), msg.encoded_len());
        let mut codec = PeerCodec::new();
        prop_assert_eq!(codec.decode(&mut buf).unwrap(), Some(msg));
        prop_assert!(buf.is_empty());
        prop_assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    }

    #[test]
    fn a_stream_decodes_the_same_however_it_is_chunked(
        msgs in proptest::collection::vec(message(), 0..12),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
    ) {
        let wire = encode_all(&msgs);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut prev = 0;
        for p in points.into_iter().chain([wire.len()]) {
            chunks.push(&wire[prev..p]);
            prev = p;
        }
        prop_assert_eq!(decode_chunks(PeerCodec::new(), chunks).unwrap(), msgs);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_chunks(PeerCodec::with_max_frame(256), [&data[..]]);
    }
}

/// One of every variant, for the exhaustive split test.
fn one_of_each() -> Vec<Message> {
    use monsoon_wire::{BlockRef, HashRequest};
    let b = BlockRef {
        index: 1,
        begin: 16384,
        length: 16384,
    };
    let hr = HashRequest {
        pieces_root: [0xab; 32],
        base_layer: 1,
        index: 4,
        length: 2,
        proof_layers: 3,
    };
    vec![
        Message::KeepAlive,
        Message::Choke,
        Message::Unchoke,
        Message::Interested,
        Message::NotInterested,
        Message::Have(7),
        Message::Bitfield(vec![0xff, 0x80].into()),
        Message::Request(b),
        Message::Piece {
            index: 1,
            begin: 0,
            data: vec![9; 40].into(),
        },
        Message::Cancel(b),
        Message::Port(6881),
        Message::Suggest(3),
        Message::HaveAll,
        Message::HaveNone,
        Message::Reject(b),
        Message::AllowedFast(5),
        Message::Extended {
            id: 0,
            payload: b"d1:md11:ut_metadatai3eee".to_vec().into(),
        },
        Message::HashRequest(hr),
        Message::Hashes {
            request: hr,
            hashes: (0..96).collect::<Vec<u8>>().into(),
        },
        Message::HashReject(hr),
        Message::Unknown {
            id: 200,
            payload: vec![1, 2, 3].into(),
        },
        Message::KeepAlive,
    ]
}

#[test]
fn split_at_every_byte_offset_gives_the_same_messages() {
    let msgs = one_of_each();
    let wire = encode_all(&msgs);
    for at in 0..=wire.len() {
        let got = decode_chunks(PeerCodec::new(), [&wire[..at], &wire[at..]]).unwrap();
        assert_eq!(got, msgs, "split at {at}");
    }
}

#[test]
fn one_byte_at_a_time_gives_the_same_messages() {
    let msgs = one_of_each();
    let wire = encode_all(&msgs);
    let got = decode_chunks(PeerCodec::new(), wire.chunks(1)).unwrap();
    assert_eq!(got, msgs);
}

#[test]
fn piece_data_is_a_slice_of_the_read_buffer() {
    let msg = Message::Piece {
        index: 0,
        begin: 0,
        data: vec![5; 16384].into(),
    };
    let mut buf = encode_all(std::slice::from_ref(&msg));
    let start = buf.as_ptr() as usize;
    let Some(Message::Piece { data, .. }) = PeerCodec::new().decode(&mut buf).unwrap() else {
        panic!("expected a piece");
    };
    // Same allocation, 13 bytes in: split off, not copied.
    assert_eq!(data.as_ptr() as usize, start + 13);
    assert_eq!(data.len(), 16384);
}

#[test]
fn piece_ref_encodes_like_the_owned_piece() {
    use monsoon_wire::{PieceRef, piece_header};
    let block = vec![3u8; 1000];
    let mut a = BytesMut::new();
    PieceRef {
        index: 4,
        begin: 32768,
        data: &block,
    }
    .encode(&mut a)
    .unwrap();
    let b = encode_all(&[Message::Piece {
        index: 4,
        begin: 32768,
        data: block.clone().into(),
    }]);
    assert_eq!(a, b);
    assert_eq!(&a[..13], &piece_header(4, 32768, block.len()).unwrap());
    assert_eq!(piece_header(0, 0, u32::MAX as usize), None);
}
