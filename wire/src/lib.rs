//! The BitTorrent peer wire protocol as a [`tokio_util::codec`] codec.
//!
//! What it covers:
//! - the BEP 3 [`Handshake`] with named [`Reserved`] bits (extension
//!   protocol, fast extension, DHT, BEP 52 v2) and its own [`HandshakeCodec`];
//! - every message of BEP 3, BEP 5 (`port`), BEP 6 (fast extension),
//!   BEP 10 (`extended`) and BEP 52 (`hash request`, `hashes`, `hash
//!   reject`, with [`HashRequest`]) as one [`Message`] enum; unknown ids
//!   decode to [`Message::Unknown`] rather than failing;
//! - [`PeerCodec`], a `Decoder`/`Encoder` that checks every length prefix
//!   against a maximum ([`DEFAULT_MAX_FRAME`]) before reserving memory,
//!   enforces each id's exact or minimum length, and hands out payloads as
//!   `Bytes` slices of the read buffer (block data is never copied);
//! - the BEP 10 extension handshake ([`ExtendedHandshake`]) and the BEP 9
//!   `ut_metadata` header ([`MetadataMessage`]).
//!
//! What it does not do: it has no sockets, no tasks, no timers and no
//! torrent state. It does not check a bitfield against the piece count, a
//! request against the torrent, or a handshake's info-hash: those need the
//! torrent and belong to the caller. It depends on `bytes`, tokio-util's
//! codec traits and `monsoon-bencode`, not on the tokio runtime.
//!
//! # Example: a client-side conversation
//!
//! Connect, exchange handshakes with [`HandshakeCodec`], switch the same
//! `Framed` to [`PeerCodec`] (bytes the peer sent right after its handshake
//! stay buffered), then exchange messages.
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use monsoon_wire::{BlockRef, ExtendedHandshake, Handshake, HandshakeCodec, Message, PeerCodec};
//! use tokio::net::TcpStream;
//! use tokio_util::codec::Framed;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let info_hash = [0xAB; 20];
//! let peer_id = *b"-MO0001-123456789012";
//! let tcp = TcpStream::connect("127.0.0.1:6881").await?;
//!
//! // 1. Handshake (advertises the extension protocol and the fast extension).
//! let mut framed = Framed::new(tcp, HandshakeCodec);
//! framed.send(Handshake::new(info_hash, peer_id)).await?;
//! let theirs = framed.next().await.ok_or("closed during handshake")??;
//! if theirs.info_hash != info_hash {
//!     return Err("peer serves another torrent".into());
//! }
//!
//! // 2. Messages. `map_codec` keeps whatever the peer already sent.
//! let mut framed = framed.map_codec(|_| PeerCodec::new());
//! if theirs.reserved.extension_protocol() {
//!     framed.send(ExtendedHandshake::default().to_message()).await?;
//! }
//! framed.send(Message::Interested).await?;
//! while let Some(msg) = framed.next().await {
//!     match msg? {
//!         Message::Unchoke => {
//!             let block = BlockRef { index: 0, begin: 0, length: 16384 };
//!             framed.send(Message::Request(block)).await?;
//!         }
//!         Message::Piece { index, begin, data } => {
//!             // `data` is a slice of the read buffer, not a copy.
//!             println!("piece {index} at {begin}: {} bytes", data.len());
//!             break;
//!         }
//!         Message::Extended { id: 0, payload } => {
//!             let ext = ExtendedHandshake::decode(&payload)?;
//!             println!("peer runs {:?}", ext.v);
//!         }
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Decoding straight from bytes, without any I/O:
//!
//! ```
//! use bytes::BytesMut;
//! use monsoon_wire::{Message, PeerCodec, WireError};
//! use tokio_util::codec::Decoder;
//!
//! let mut codec = PeerCodec::new();
//! let mut buf = BytesMut::from(&[0, 0, 0, 5, 4, 0, 0, 0, 9][..]);
//! assert_eq!(codec.decode(&mut buf).unwrap(), Some(Message::Have(9)));
//!
//! // A `have` must be exactly 5 bytes long.
//! let mut bad = BytesMut::from(&[0, 0, 0, 6, 4][..]);
//! let err = PeerCodec::new().decode(&mut bad).unwrap_err();
//! assert!(matches!(err, WireError::BadLength { id: 4, len: 6 }));
//! ```
//!
//! The crate has no cargo features.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod codec;
mod error;
mod extended;
mod handshake;
mod hashes;
mod message;
mod metadata;

pub use codec::{DEFAULT_MAX_FRAME, PeerCodec, PieceRef};
pub use error::WireError;
pub use extended::{EXTENDED_HANDSHAKE_ID, ExtendedHandshake};
pub use handshake::{HANDSHAKE_LEN, Handshake, HandshakeCodec, PROTOCOL, Reserved};
pub use hashes::{HASH_HEADER_LEN, HashRequest, MAX_HASHES};
pub use message::{BlockRef, Message, id, piece_header};
pub use metadata::{METADATA_PIECE_SIZE, MetadataMessage, UT_METADATA};
