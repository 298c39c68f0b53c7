//! Torrent metainfo (.torrent files), magnet links and torrent creation.
