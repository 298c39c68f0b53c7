//! BitTorrent metainfo: .torrent files (v1, v2 and hybrid), magnet links and
//! torrent creation.
//!
//! What it does:
//! - [`Metainfo::from_bytes`] parses and validates a .torrent: BEP 3 v1,
//!   BEP 52 v2 and hybrid torrents, BEP 12 tracker tiers, BEP 19 web seeds,
//!   BEP 27 private flag, BEP 47 file attributes (padding, executable,
//!   hidden, symbolic links). It computes the info-hashes over the raw `info`
//!   bytes (SHA-1, and SHA-256 for v2 and its 20-byte truncation), reads the
//!   per-file merkle roots, and checks each piece layer against its root.
//! - File paths are sanitised so that no file of any torrent can resolve
//!   outside the download folder, and renamed when two files would collide
//!   or a file would sit where a folder is (see [`Metainfo::files`]);
//!   symbolic-link targets always name something inside the torrent
//!   ([`FileRef::symlink`]).
//! - The files are kept in a compact [`FileTable`] (from `monsoon-storage`,
//!   re-exported here): one string pool for every name, each folder once,
//!   a 24-byte row per file, so a torrent of a million files loads in well
//!   under 120 bytes of heap per file besides its own bytes.
//! - [`Magnet::parse`] reads BEP 9 magnet links, with `urn:btih:` (v1) and
//!   `urn:btmh:` (v2) info-hashes and BEP 53 `so`.
//! - [`create_torrent`] makes a v1, v2 or hybrid .torrent from a file or
//!   folder, hashing on every core.
//! - [`merkle`] (re-exported from `monsoon-storage`) builds and checks BEP 52
//!   merkle trees and proofs.
//!
//! What it does not do: no networking, no async runtime (it does not depend
//! on tokio), no downloading, and no writing of torrent data: the paths it
//! returns are plain components for a storage layer to join under its own
//! root. It depends on `monsoon-storage` — itself free of any async runtime —
//! for the layout and parallel hashing behind [`create_torrent`] and for the
//! merkle code, so that one implementation of each serves both crates; like
//! that crate it needs a Unix system.
//!
//! # libtorrent's rules
//!
//! The parser accepts what libtorrent 2.0 accepts and rejects what it
//! rejects (`torrent_info.cpp`, `file_storage.cpp`); the tests check this
//! against libtorrent itself on a corpus of hand-made torrents. Followed:
//! - bytes after the top-level dictionary are ignored; unsorted keys are
//!   accepted, except in the info dictionary of a torrent with a
//!   `meta version` (its SHA-256 must be over canonical bencode);
//! - `name.utf-8` and `path.utf-8` win over `name` and `path`; each invalid
//!   UTF-8 sequence in a name becomes `_`; separators, NUL and Unicode
//!   direction overrides are removed, other control characters become `_`,
//!   `.`/`..` components are dropped, an empty component becomes `_`, a
//!   name is cut at 240 bytes keeping its extension;
//! - a single file needs a usable name; a folder whose name sanitises to
//!   nothing is named after the info-hash;
//! - BEP 47 `attr`: `p` padding (a padding file may have no `path`; BitComet
//!   `_____padding_file_` names are padding too), `x`, `h`, and `l`
//!   symbolic links with a `symlink path` and no data (a link without a
//!   target is an empty file); a link whose target is not a file or folder
//!   of the torrent, even through other links, points to itself;
//! - file lengths up to [`MAX_FILE_LENGTH`], a total up to
//!   [`MAX_TOTAL_LENGTH`], at most [`MAX_PIECES`] pieces; `files` that is
//!   not a list is ignored (the torrent is then single-file);
//! - conflicting paths are renamed at load time (`a.1`, `dir/x.1.txt`),
//!   ignoring ASCII case, folders first; padding files of the same length may
//!   share a path;
//! - v2: `meta version` 2 needs a `file tree` and a `file tree` needs `meta
//!   version` 2, a version above 2 is rejected; the piece length is a power
//!   of two of at least 16 KiB; every file with data has a 32-byte non-zero
//!   `pieces root` and is padded to a piece boundary (padding files are not
//!   allowed in the tree); a tree with one file and no `files` list is a
//!   single-file torrent named by its key;
//! - hybrid: the v1 files must match the file tree (same files with data at
//!   the same indices, lengths, paths and offsets), with or without the
//!   padding after the last file (libtorrent before 2.0.8 left it out);
//! - `piece layers`: keys of 32 bytes and values a whole number of hashes,
//!   one per piece of the file; layers for unknown roots are ignored and a
//!   missing layer is allowed (the hashes come from peers).
//!
//! Deliberately different:
//! - a piece layer that does not hash up to its root is rejected when
//!   parsing ([`MetainfoError::PieceLayerMismatch`]); libtorrent rejects it
//!   only when the torrent is added to a session;
//! - pieces are at most [`MAX_PIECE_LENGTH`] (64 MiB, the engine holds a
//!   piece in memory), libtorrent allows 1 GiB; paths are at most
//!   [`MAX_PATH_DEPTH`] components deep; a symbolic link is followed through
//!   at most 40 other links;
//! - malformed bencode that libtorrent tolerates is an error: duplicate
//!   keys (which value would count?), numbers with leading zeros;
//! - a BitComet padding name counts only in the file's own path, not in the
//!   torrent's name; a v2 file whose path would be the torrent's folder
//!   itself is renamed like any other conflict.
//!
//! ```
//! use monsoon_bencode::OwnedValue;
//! use monsoon_metainfo::{MetaVersion, Metainfo};
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
//! assert_eq!(m.version, MetaVersion::V1);
//! assert_eq!(m.trackers, [["http://tracker.example/announce"]]);
//! assert_eq!(m.info_hash_hex().len(), 40);
//! ```
//!
//! Creating a hybrid torrent and reading it back:
//!
//! ```
//! use monsoon_metainfo::{create_torrent, CreateOptions, MetaVersion, Metainfo};
//!
//! let file = std::env::temp_dir().join(format!("monsoon-doc-{}.bin", std::process::id()));
//! std::fs::write(&file, vec![7u8; 40_000]).unwrap();
//! let opts = CreateOptions { version: MetaVersion::Hybrid, ..CreateOptions::default() };
//! let m = Metainfo::from_bytes(&create_torrent(&file, &opts).unwrap()).unwrap();
//! assert_eq!(m.version, MetaVersion::Hybrid);
//! assert_eq!(m.pieces.len(), 3); // v1 SHA-1 of each 16 KiB piece
//! assert!(m.info_hash_v2.is_some() && m.files.file(0).pieces_root().is_some());
//! # std::fs::remove_file(&file).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod conflicts;
mod create;
mod error;
mod hex;
mod magnet;
mod parse;
mod paths;
mod symlinks;
mod v1;
mod v2;

pub use create::{CreateOptions, MIN_CREATE_PIECE_LENGTH, create_torrent, default_piece_length};
pub use error::{CreateError, MagnetError, MetainfoError};
pub use magnet::Magnet;
pub use monsoon_storage::merkle;
pub use monsoon_storage::{Components, FilePath, FileRef, FileTable, Files};
pub use parse::{
    MAX_FILE_LENGTH, MAX_PATH_DEPTH, MAX_PIECE_LENGTH, MAX_PIECES, MAX_TOTAL_LENGTH, MetaVersion,
    Metainfo,
};
pub use paths::is_contained;
