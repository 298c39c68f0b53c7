//! monsoon-engine: composes the monsoon protocol crates into a BitTorrent client.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod metainfo;

pub use metainfo::{
    CreateError, CreateOptions, FileInfo, MAX_PATH_DEPTH, MAX_PIECE_LENGTH, MAX_PIECES,
    MIN_CREATE_PIECE_LENGTH, Magnet, MagnetError, Metainfo, MetainfoError, create_torrent,
    default_piece_length, is_contained,
};
