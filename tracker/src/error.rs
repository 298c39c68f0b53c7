//! The crate's error types: everything an announce or a scrape can fail
//! with ([`TrackerError`]), and why a local service discovery datagram is
//! not used ([`LsdError`], a small `Copy` kind that `TrackerError` wraps).

use std::io;

/// Why an announce or a scrape failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackerError {
    /// A local service discovery datagram is not a usable announce.
    #[error("local service discovery: {0}")]
    Lsd(#[from] LsdError),
    /// The tracker answered with a `failure reason` (HTTP) or an error
    /// packet (UDP); this is its text.
    #[error("tracker failure: {0}")]
    Failure(String),
    /// The announce URL could not be parsed.
    #[error("invalid tracker URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The URL's scheme is neither `http`, `https` nor `udp`.
    #[error("unsupported tracker scheme {0:?}")]
    UnsupportedScheme(String),
    /// The announce URL has no `announce` component, so by convention the
    /// tracker has no scrape URL.
    #[error("scrape not supported by this tracker")]
    ScrapeNotSupported,
    /// The tracker did not answer in time (HTTP timeout, or every UDP
    /// retransmission went unanswered).
    #[error("tracker timed out")]
    Timeout,
    /// A network or HTTP transport error (connection refused, TLS, DNS,
    /// too many redirects, ...).
    #[error("transport error: {0}")]
    Transport(String),
    /// A socket error.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The HTTP tracker answered with a non-success status and no
    /// `failure reason`.
    #[error("HTTP status {0}")]
    HttpStatus(u16),
    /// The response body is larger than [`ClientConfig::max_body`](crate::ClientConfig::max_body).
    #[error("response body larger than {limit} bytes")]
    BodyTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The HTTP response is not valid bencode.
    #[error("response is not bencode: {0}")]
    Bencode(#[from] monsoon_bencode::Error),
    /// The response is well-formed but not a tracker response (top level
    /// not a dictionary, a required key missing, a value of the wrong type
    /// or out of range).
    #[error("invalid response: field {field:?} {problem}")]
    InvalidField {
        /// The response key (or UDP packet field) at fault.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A compact peer list whose length is not a multiple of the entry size
    /// (6 bytes for IPv4, 18 for IPv6).
    #[error("compact peer list {field:?} of {len} bytes is not a multiple of {entry}")]
    PeersLength {
        /// `peers` or `peers6` (or `udp peers`).
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The size of one entry.
        entry: usize,
    },
    /// A UDP packet shorter than its action requires.
    #[error("UDP packet of {len} bytes is shorter than {need}")]
    Truncated {
        /// Bytes received.
        len: usize,
        /// Bytes the packet needs at least.
        need: usize,
    },
    /// A UDP response whose transaction id is not the one sent.
    #[error("UDP transaction id {got:#x}, expected {expected:#x}")]
    TransactionMismatch {
        /// The id sent.
        expected: u32,
        /// The id received.
        got: u32,
    },
    /// A UDP response whose action is not the one requested (nor an error).
    #[error("UDP action {got}, expected {expected}")]
    UnexpectedAction {
        /// The action requested.
        expected: u32,
        /// The action received.
        got: u32,
    },
    /// A scrape of more info-hashes than one request can carry.
    #[error("cannot scrape {0} info-hashes in one request")]
    TooManyHashes(usize),
    /// The tracker list holds no usable tracker.
    #[error("no usable tracker")]
    NoTrackers,
    /// Every tracker in every tier failed; each one's URL and error.
    #[error("all {} trackers failed", .0.len())]
    AllFailed(Vec<(String, TrackerError)>),
}

/// Why a received datagram is not an announce we can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LsdError {
    /// Longer than [`MAX_LSD_DATAGRAM`](crate::MAX_LSD_DATAGRAM).
    #[error("LSD datagram of {0} bytes is too long")]
    TooLong(usize),
    /// Not ASCII text, or not ended by an empty line.
    #[error("LSD datagram is not an HTTP-like request")]
    Malformed,
    /// The request line is not `BT-SEARCH * HTTP/1.1`.
    #[error("not a BT-SEARCH request")]
    NotBtSearch,
    /// No `Port` header, or one that is not a port number from 1 to 65535.
    #[error("missing or invalid Port header")]
    BadPort,
    /// An `Infohash` header that is not 40 hex digits.
    #[error("invalid Infohash header")]
    BadInfohash,
    /// No `Infohash` header.
    #[error("no Infohash header")]
    NoInfohash,
}
