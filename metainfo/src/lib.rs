//! BitTorrent metainfo: .torrent files, magnet links and torrent creation.
//!
//! What it does:
//! - [`Metainfo::from_bytes`] parses and validates a v1 .torrent (a hybrid
//!   v1/v2 one through its v1 half); the info-hash is the SHA-1 of the raw
//!   `info` bytes exactly as they appear in the file.
//! - File paths are sanitised so that no file of any torrent can resolve
//!   outside the download folder (see [`FileInfo::path`]): empty, `.` and
//!   `..` components are dropped, separators and control characters inside a
//!   component become `_`, and non-UTF-8 names are decoded lossily unless a
//!   `.utf-8` variant is present (libtorrent's rules).
//! - [`Magnet::parse`] reads BEP 9 magnet links (with BEP 53 `so`).
//! - [`create_torrent`] makes a .torrent from a file or folder, hashing on
//!   every core.
//!
//! What it does not do: no networking, no async runtime (it does not depend
//! on tokio), no downloading, and no writing of torrent data: the paths it
//! returns are plain components for a storage layer to join under its own
//! root.
//!
//! ```
//! use monsoon_bencode::OwnedValue;
//! use monsoon_metainfo::Metainfo;
//!
//! let info = OwnedValue::dict()
//!     .insert("name", "hello.txt".into())
//!     .insert("length", 5.into())
//!     .insert("piece length", 16384.into())
//!     .insert("pieces", OwnedValue::bytes([0u8; 20]));
//! let torrent = OwnedValue::dict()
//!     .insert("announce", "http://tracker.example/announce".into())
//!     .insert("info", info)
//!     .encode();
//! let m = Metainfo::from_bytes(&torrent).unwrap();
//! assert_eq!((m.name.as_str(), m.total_length, m.piece_count()), ("hello.txt", 5, 1));
//! assert_eq!(m.trackers, [["http://tracker.example/announce"]]);
//! assert_eq!(m.info_hash_hex().len(), 40);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod create;
mod error;
mod hex;
mod magnet;
mod parse;
mod paths;

pub use create::{CreateOptions, MIN_CREATE_PIECE_LENGTH, create_torrent, default_piece_length};
pub use error::{CreateError, MagnetError, MetainfoError};
pub use magnet::Magnet;
pub use parse::{FileInfo, MAX_PATH_DEPTH, MAX_PIECE_LENGTH, MAX_PIECES, Metainfo};
pub use paths::is_contained;
