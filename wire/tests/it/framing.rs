//! The codecs under `Framed`: handshake then messages over one stream.

use futures_util::{SinkExt, StreamExt};
use monsoon_wire::{BlockRef, Handshake, HandshakeCodec, Message, PeerCodec, WireError};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::Framed;

use crate::strategies::encode_all;

#[tokio::test]
async fn map_codec_keeps_bytes_read_with_the_handshake() {
    let (mut a, b) = tokio::io::duplex(1 << 16);
    let hs = Handshake::new([7; 20], *b"-MO0001-000000000001");
    let msgs = vec![
        Message::HaveAll,
        Message::Unchoke,
        Message::Piece {
            index: 0,
            begin: 0,
            data: vec![1; 100].into(),
        },
    ];
    // Handshake and messages in one write: the handshake read gets them all.
    let mut wire = hs.to_bytes().to_vec();
    wire.extend_from_slice(&encode_all(&msgs));
    a.write_all(&wire).await.unwrap();
    drop(a);

    let mut framed = Framed::new(b, HandshakeCodec);
    assert_eq!(framed.next().await.unwrap().unwrap(), hs);
    assert!(
        !framed.read_buffer().is_empty(),
        "test needs buffered bytes"
    );
    let mut framed = framed.map_codec(|_| PeerCodec::new());
    let mut got = Vec::new();
    while let Some(m) = framed.next().await {
        got.push(m.unwrap());
    }
    assert_eq!(got, msgs);
}

#[tokio::test]
async fn two_codecs_talk_to_each_other() {
    let (a, b) = tokio::io::duplex(1024);
    let client = async move {
        let mut f = Framed::new(a, HandshakeCodec);
        f.send(Handshake::new([1; 20], [2; 20])).await.unwrap();
        let theirs = f.next().await.unwrap().unwrap();
        let mut f = f.map_codec(|_| PeerCodec::new());
        f.send(Message::Request(BlockRef {
            index: 0,
            begin: 0,
            length: 16384,
        }))
        .await
        .unwrap();
        let reply = f.next().await.unwrap().unwrap();
        (theirs, reply)
    };
    let server = async move {
        let mut f = Framed::new(b, HandshakeCodec);
        let theirs = f.next().await.unwrap().unwrap();
        f.send(Handshake::new(theirs.info_hash, [3; 20]))
            .await
            .unwrap();
        let mut f = f.map_codec(|_| PeerCodec::new());
        let Some(Ok(Message::Request(r))) = f.next().await else {
            return Err("expected a request");
        };
        let block = vec![0xAB; r.length as usize];
        f.send(Message::Piece {
            index: r.index,
            begin: r.begin,
            data: block.into(),
        })
        .await
        .unwrap();
        Ok(theirs)
    };
    let ((theirs, reply), server_saw) = tokio::join!(client, server);
    assert_eq!(server_saw.unwrap().peer_id, [2; 20]);
    assert_eq!(theirs.peer_id, [3; 20]);
    let Message::Piece { data, .. } = reply else {
        panic!("expected a piece, got {reply:?}")
    };
    assert_eq!(data.len(), 16384);
}

#[tokio::test]
async fn a_protocol_violation_ends_the_stream_with_its_error() {
    let (mut a, b) = tokio::io::duplex(1024);
    a.write_all(&[0, 0, 0, 1, 1, 0, 0, 0, 2, 4]).await.unwrap(); // unchoke, then a 2-byte have
    drop(a);
    let mut f = Framed::new(b, PeerCodec::new());
    assert_eq!(f.next().await.unwrap().unwrap(), Message::Unchoke);
    let err = f.next().await.unwrap().unwrap_err();
    assert!(
        matches!(err, WireError::BadLength { id: 4, len: 2 }),
        "{err:?}"
    );
    assert!(f.next().await.is_none());
}
