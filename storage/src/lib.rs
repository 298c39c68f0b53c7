//! Where a torrent's bytes live: file layout, positioned I/O, piece hashing
//! and recheck.
//!
//! - [`FileTable`] holds a torrent's files compactly (one string pool for
//!   every name, each folder once, a 24-byte row per file): paths, lengths,
//!   offsets, BEP 47 attributes and v2 merkle roots, shared by the metainfo
//!   and the layout.
//! - [`Layout`] lays a torrent's files (a [`FileTable`], or [`FileEntry`]s,
//!   including zero-length and BEP 47 padding files) end to end and maps
//!   `(piece, begin, len)` to file [`Span`]s.
//! - [`Storage`] is what the engine drives: write a verified piece (one
//!   vectored positioned write per file span), read a block, flush.
//!   [`FileStorage`] keeps the data in files under a download root;
//!   [`MemoryStorage`] keeps it in memory for tests.
//! - [`hash_blocks`], [`check_piece`] and [`recheck`] compute SHA-1 with
//!   the `sha1` crate, which uses the CPU's SHA instructions when present;
//!   [`recheck`] hashes existing data on all cores and returns which pieces
//!   are valid, for resuming a download; [`hash_pieces`] hashes every piece
//!   on all cores (SHA-1 and BEP 52 merkle), for creating torrents.
//! - [`merkle`]: BitTorrent v2 (BEP 52) merkle trees — SHA-256 of 16 KiB
//!   blocks, piece layers, roots and `hashes` proofs. It lives here, under
//!   its own name, so that both this crate (v2 piece verification) and the
//!   metainfo crate (parsing and creating v2 torrents, which depends on this
//!   one) use the same code.
//!
//! It does not parse metainfo (paths arrive already sanitised, and are
//! checked again before touching disk), pick pieces, or run an async
//! runtime: call it from blocking threads. Unix only (`pread`/`pwritev`,
//! `openat`).
//!
//! No file is ever opened through a symlink under the download root (see
//! [`FileStorage`]). The crate's `unsafe` is confined to one module of
//! thin system-call wrappers (`openat2`, `openat`, `mkdirat`,
//! `readlinkat`, `pwritev`), each call with its SAFETY argument.
//!
//! ```
//! use bytes::Bytes;
//! use monsoon_storage::{check_piece, hash_blocks, FileEntry, Layout, MemoryStorage, Storage};
//!
//! // Three files across two 8-byte pieces, one of them a padding file.
//! let layout = Layout::new(
//!     vec![FileEntry::new(["a"], 3), FileEntry::padding(5), FileEntry::new(["b"], 6)],
//!     8,
//! )
//! .unwrap();
//! assert_eq!(layout.piece_count(), 2);
//! let storage = MemoryStorage::new(layout);
//! let piece = [Bytes::from_static(b"abc"), Bytes::from_static(&[0; 5])];
//! let hash = hash_blocks(&piece);
//! storage.write_piece(0, &piece).unwrap();
//! assert!(check_piece(&storage, 0, &hash).unwrap());
//! assert_eq!(storage.read(0, 2, 3).unwrap(), &b"c\0\0"[..]);
//! // Piece 1 was never written: its file does not exist.
//! assert!(!check_piece(&storage, 1, &hash).unwrap());
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(unix))]
compile_error!("monsoon-storage needs a Unix system (pread/pwritev)");

mod beneath;
mod error;
mod file;
mod file_path;
mod hash;
mod layout;
mod memory;
pub mod merkle;
mod path;
mod storage;
mod sys;
mod table;
mod table_builder;
mod vectored;

pub use error::StorageError;
pub use file::{DEFAULT_MAX_OPEN_FILES, FileStorage};
pub use file_path::{Components, FilePath};
pub use hash::{
    Digests, PieceHashes, check_piece, hash_blocks, hash_bytes, hash_pieces, recheck, recheck_by,
    recheck_with_progress,
};
pub use layout::{FileEntry, Layout, Span, Spans};
pub use memory::MemoryStorage;
pub use storage::{FileStamp, Storage};
pub use table::{FileRef, FileTable, Files};
pub use table_builder::{FileAttrs, FileTableBuilder};
