//! Torrent metainfo (.torrent files), magnet links and torrent creation.
//!
//! - [`Metainfo::from_bytes`] parses and validates a v1 .torrent (a hybrid
//!   v1/v2 one through its v1 half); the info-hash is the SHA-1 of the raw
//!   `info` bytes.
//! - File paths are sanitised so that no file of any torrent can resolve
//!   outside the download folder (see [`FileInfo::path`]): empty, `.` and
//!   `..` components are dropped, separators and control characters inside a
//!   component become `_`, and non-UTF-8 names are decoded lossily unless a
//!   `.utf-8` variant is present (libtorrent's rules).
//! - [`Magnet::parse`] reads BEP 9 magnet links.
//! - [`create_torrent`] makes a .torrent from a file or folder.

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
