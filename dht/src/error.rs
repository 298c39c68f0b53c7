//! The crate's error type: malformed KRPC messages and saved state (each
//! variant says which key and what was wrong), and the driver's failures.

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A datagram longer than [`MAX_PACKET_LEN`](crate::MAX_PACKET_LEN).
    #[error("packet of {len} bytes is longer than {max}")]
    PacketTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not bencode, or bencode over the decoder's limits.
    #[error("not bencode: {0}")]
    Bencode(#[from] monsoon_bencode::Error),
    /// The message (or saved state) is not a dictionary.
    #[error("message is not a dictionary")]
    NotADict,
    /// A required key is absent.
    #[error("missing key {key:?}")]
    MissingKey {
        /// The key.
        key: &'static str,
    },
    /// A key holds a value of the wrong bencode type.
    #[error("key {key:?} is not {expected}")]
    WrongType {
        /// The key.
        key: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// A byte string of the wrong length (an id that is not 20 bytes, a
    /// compact list that is not a whole number of entries).
    #[error("key {key:?} has {len} bytes, expected {expected}")]
    WrongLength {
        /// The key.
        key: &'static str,
        /// Its length.
        len: usize,
        /// What the length should be.
        expected: &'static str,
    },
    /// A list or compact string with more entries than the limit.
    #[error("key {key:?} holds {count} entries, more than {max}")]
    TooMany {
        /// The key.
        key: &'static str,
        /// Entries found.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A `y` that is none of `q`, `r`, `e` (its first bytes, lossily).
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// A port that is not in 1..=65535.
    #[error("key {key:?} holds port {value}, not in 1..=65535")]
    BadPort {
        /// The key.
        key: &'static str,
        /// The value found.
        value: i64,
    },
    /// [`Config::max_searches`](crate::Config::max_searches) searches are
    /// already running.
    #[error("{max} searches are already running")]
    TooManySearches {
        /// The limit.
        max: usize,
    },
    /// A socket error in the driver.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The driver's task has stopped (the node was shut down or panicked).
    #[error("the DHT task has stopped")]
    Stopped,
}
