//! The torrent description the engine runs: re-exported from
//! [`monsoon_metainfo`], which parses .torrent files and magnet links
//! without the engine.

pub use monsoon_metainfo::{
    CreateError, CreateOptions, FilePath, FileRef, FileTable, MAX_PATH_DEPTH, MAX_PIECE_LENGTH,
    MAX_PIECES, MIN_CREATE_PIECE_LENGTH, Magnet, MagnetError, MetaVersion, Metainfo, MetainfoError,
    create_torrent, default_piece_length, is_contained,
};
