//! Sans-IO piece bookkeeping for BitTorrent: geometry, bitfields,
//! availability, and the piece picker.
//!
//! - [`Geometry`]: piece count and sizes (last piece shorter), 16 KiB
//!   [`Block`]s (last block shorter), validation of a peer's `(begin, length)`.
//! - [`Bitfield`]: the BEP 3 wire bitfield with typed errors for a wrong
//!   length or spare bits, O(1) counting and fast iteration over set bits.
//! - [`Picker`]: per-piece availability from bitfields / haves / have-all /
//!   have-none, and the choice of blocks to request: pieces in progress
//!   first, then rarest first with random tie-breaking (random for the first
//!   few pieces), per-piece priorities (0 = skip) and a sequential mode,
//!   endgame with bounded duplicate requests and cancels, release of a
//!   choking or departing peer's requests, and hash failures reporting the
//!   peers that contributed.
//!
//! It does no I/O, reads no clock, spawns nothing and has no randomness of
//! its own (the picker's PRNG is seeded by the caller), so the same calls
//! always give the same picks. [`Picker::with_data`] makes it the one owner
//! of both a block's state and its bytes (any type: `bytes::Bytes` in the
//! engine) until [`Picker::take_piece`] hands a complete piece over; it never
//! hashes or writes: the caller does, and reports the result.
//!
//! Picking never scans every piece: see [`Picker::pick`] for the cost.
//!
//! ```
//! use monsoon_piece::{Bitfield, Geometry, Picker, BLOCK_LEN};
//!
//! // 3 pieces of 32 KiB (2 blocks each), the last one 1 byte long.
//! let geo = Geometry::new(2 * 32 * 1024 + 1, 32 * 1024).unwrap();
//! assert_eq!((geo.piece_count(), geo.piece_size(2), geo.blocks_in_piece(2)), (3, 1, 1));
//!
//! let mut picker = Picker::new(geo, 42);
//! picker.peer_join(7);
//! picker.on_bitfield(7, &Bitfield::from_bytes(&[0b1100_0000], 3).unwrap());
//! assert!(picker.is_interesting(7));
//!
//! let blocks = picker.pick(7, 10);
//! assert_eq!(blocks.len(), 4); // both blocks of pieces 0 and 1
//! assert!(blocks.iter().all(|b| b.length == BLOCK_LEN && b.piece < 2));
//! let mut complete = Vec::new();
//! for b in blocks {
//!     let outcome = picker.on_block(7, b, ());
//!     assert!(outcome.accepted);
//!     if outcome.piece_complete {
//!         complete.push(b.piece);
//!     }
//! }
//! for piece in complete {
//!     picker.on_piece_verified(piece); // after checking its SHA-1
//! }
//! assert_eq!(picker.wanted_remaining(), 1);
//! assert!(!picker.is_interesting(7)); // it lacks piece 2
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bitfield;
mod buckets;
mod check;
mod download;
mod error;
mod geometry;
mod holders;
mod peers;
mod pick;
mod picker;
mod rng;

pub use bitfield::Bitfield;
pub use download::ENDGAME_MAX_REQUESTS;
pub use error::PieceError;
pub use geometry::{BLOCK_LEN, Block, Geometry};
pub use pick::{Endgame, Picked, RANDOM_FIRST_PIECES};
pub use picker::{BlockOutcome, PeerKey, Picker};
