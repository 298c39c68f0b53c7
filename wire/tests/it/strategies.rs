//! Proptest strategies for messages, and helpers shared by the tests.

use bytes::{Bytes, BytesMut};
use monsoon_wire::{BlockRef, HashRequest, MAX_HASHES, Message, PeerCodec, WireError, id};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn block() -> impl Strategy<Value = BlockRef> {
    (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(index, begin, length)| BlockRef {
        index,
        begin,
        length,
    })
}

/// Ids no variant of `Message` claims, so `Unknown` round-trips.
fn unknown_id() -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("known id", |i| {
        !matches!(
            *i,
            0..=9 | id::SUGGEST..=id::ALLOWED_FAST | id::EXTENDED..=id::HASH_REJECT
        )
    })
}

fn hash_request() -> impl Strategy<Value = HashRequest> {
    (any::<[u8; 32]>(), any::<[u32; 4]>()).prop_map(|(pieces_root, [b, i, l, p])| HashRequest {
        pieces_root,
        base_layer: b,
        index: i,
        length: l,
        proof_layers: p,
    })
}

/// A whole number of 32-byte hashes, up to the limit (mostly few).
fn hashes() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        4 => 0..12usize,
        1 => Just(MAX_HASHES),
    ]
    .prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n * 32))
    .prop_map(Bytes::from)
}

/// Any message, every variant.
pub(crate) fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::KeepAlive),
        Just(Message::Choke),
        Just(Message::Unchoke),
        Just(Message::Interested),
        Just(Message::NotInterested),
        any::<u32>().prop_map(Message::Have),
        bytes(64).prop_map(Message::Bitfield),
        block().prop_map(Message::Request),
        (any::<u32>(), any::<u32>(), bytes(300)).prop_map(|(index, begin, data)| Message::Piece {
            index,
            begin,
            data
        }),
        block().prop_map(Message::Cancel),
        any::<u16>().prop_map(Message::Port),
        any::<u32>().prop_map(Message::Suggest),
        Just(Message::HaveAll),
        Just(Message::HaveNone),
        block().prop_map(Message::Reject),
        any::<u32>().prop_map(Message::AllowedFast),
        (any::<u8>(), bytes(64)).prop_map(|(id, payload)| Message::Extended { id, payload }),
        hash_request().prop_map(Message::HashRequest),
        (hash_request(), hashes())
            .prop_map(|(request, hashes)| Message::Hashes { request, hashes }),
        hash_request().prop_map(Message::HashReject),
        (unknown_id(), bytes(64)).prop_map(|(id, payload)| Message::Unknown { id, payload }),
    ]
}

/// Encodes messages back to back.
pub(crate) fn encode_all(msgs: &[Message]) -> BytesMut {
    let mut buf = BytesMut::new();
    for m in msgs {
        m.encode(&mut buf).unwrap();
    }
    buf
}

/// Feeds `chunks` to a fresh codec one after another, then signals EOF.
pub(crate) fn decode_chunks<'a>(
    mut codec: PeerCodec,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Message>, WireError> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(m) = codec.decode(&mut buf)? {
            out.push(m);
        }
    }
    while let Some(m) = codec.decode_eof(&mut buf)? {
        out.push(m);
    }
    Ok(out)
}
