//! Why connections end: [`CloseReason`] for the connections the core
//! closes, [`PeerEnd`] for those that end on their own, [`ConnectError`]
//! for attempts that never became connections.

use std::io;

/// Which side opened a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// We dialled the peer.
    Outgoing,
    /// The peer dialled us.
    Incoming,
}

/// Why the core closes a connection (or refuses a new one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer's handshake names another torrent.
    WrongInfoHash,
    /// A bitfield whose length or spare bits do not fit the torrent.
    BadBitfield,
    /// A `have` for a piece past the end of the torrent.
    HaveOutOfRange,
    /// A block that is not one of the torrent's blocks.
    BlockOutOfRange,
    /// A block we never requested from this peer (nor cancelled).
    UnrequestedBlock,
    /// A request outside the torrent, or longer than we serve.
    RequestOutOfRange,
    /// Far more requests than the `reqq` we advertised, again and again.
    RequestFlood,
    /// A frame the codec rejected (oversized, wrong length for its id).
    Malformed,
    /// A metadata size over [`MAX_METADATA`](super::MAX_METADATA).
    MetadataTooLarge,
    /// A metadata piece of the wrong size or never asked for, a garbled
    /// `ut_metadata` message, or metadata that does not hash to the
    /// info-hash.
    BadMetadata,
    /// BEP 52 `hashes` of the wrong size for the request they answer, or
    /// that do not prove out against the file's `pieces root`.
    BadHashes,
    /// Nothing received, not even a keep-alive, for the idle timeout.
    Idle,
    /// The peer sent data that failed hash checks too often.
    Banned,
    /// We connected to ourselves.
    SelfConnection,
    /// Already connected to this peer (same peer id).
    Duplicate,
    /// Both sides have everything: nothing to exchange.
    BothSeeds,
    /// The torrent has as many peers as it may.
    PeerLimit,
    /// The peer does not read what we send (its send queue is full).
    NotReading,
    /// The torrent is checking its data, paused or failed: not accepting peers.
    NotAccepting,
    /// The torrent was paused.
    Paused,
    /// The torrent was removed or the session shut down.
    Stopped,
    /// The torrent failed (see [`TorrentError`](crate::TorrentError)).
    Failed,
}

impl CloseReason {
    /// Whether the peer broke the protocol (as opposed to a decision of ours).
    pub fn is_violation(self) -> bool {
        matches!(
            self,
            CloseReason::WrongInfoHash
                | CloseReason::BadBitfield
                | CloseReason::HaveOutOfRange
                | CloseReason::BlockOutOfRange
                | CloseReason::UnrequestedBlock
                | CloseReason::RequestOutOfRange
                | CloseReason::RequestFlood
                | CloseReason::Malformed
                | CloseReason::MetadataTooLarge
                | CloseReason::BadMetadata
                | CloseReason::BadHashes
        )
    }

    /// A short description.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::WrongInfoHash => "handshake for another torrent",
            CloseReason::BadBitfield => "bitfield of the wrong length",
            CloseReason::HaveOutOfRange => "have for a piece outside the torrent",
            CloseReason::BlockOutOfRange => "piece data that is not one of our blocks",
            CloseReason::UnrequestedBlock => "piece data we did not request",
            CloseReason::RequestOutOfRange => "request outside the torrent",
            CloseReason::RequestFlood => "far more requests than we queue",
            CloseReason::Malformed => "malformed message",
            CloseReason::MetadataTooLarge => "metadata size over the limit",
            CloseReason::BadMetadata => "bad metadata",
            CloseReason::BadHashes => "hashes that do not match the file's root",
            CloseReason::Idle => "idle timeout",
            CloseReason::Banned => "banned: corrupt data",
            CloseReason::SelfConnection => "connected to ourselves",
            CloseReason::Duplicate => "already connected to this peer",
            CloseReason::BothSeeds => "both sides are seeds",
            CloseReason::PeerLimit => "peer limit reached",
            CloseReason::NotReading => "not reading its messages",
            CloseReason::NotAccepting => "not accepting peers now",
            CloseReason::Paused => "torrent paused",
            CloseReason::Stopped => "torrent stopped",
            CloseReason::Failed => "torrent failed",
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Connections closed (or refused) by us, counted by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseCounts(Vec<(CloseReason, u64)>);

impl CloseCounts {
    /// How many connections were closed for `reason`.
    pub fn get(&self, reason: CloseReason) -> u64 {
        self.0
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    }

    /// Connections closed because the peer broke the protocol.
    pub fn violations(&self) -> u64 {
        self.0
            .iter()
            .filter(|(r, _)| r.is_violation())
            .map(|(_, n)| n)
            .sum()
    }

    /// Every reason with its count, in the order [`CloseReason`] lists them.
    pub fn iter(&self) -> impl Iterator<Item = (CloseReason, u64)> + '_ {
        self.0.iter().copied()
    }

    pub(crate) fn add(&mut self, reason: CloseReason) {
        match self.0.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => {
                self.0.push((reason, 1));
                self.0.sort_unstable();
            }
        }
    }
}

/// How a connection ended without the core closing it (reported by the
/// connection's driver through [`TorrentCore::handle_closed`](super::TorrentCore::handle_closed)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerEnd {
    /// The peer closed the connection.
    ClosedByPeer,
    /// The connection failed.
    Io(io::ErrorKind),
    /// The peer sent a frame the codec rejected; the driver closed it.
    Malformed,
    /// The peer sent nothing for the idle timeout; the driver closed it.
    Idle,
    /// Our messages could not be queued (the peer does not read).
    NotReading,
}

/// Why an outgoing connection attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The TCP connect did not finish in time.
    #[error("connect timed out")]
    Timeout,
    /// The connection failed (refused, unreachable, reset, ...).
    #[error("{0}")]
    Io(io::ErrorKind),
    /// The peer did not send its handshake in time.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// The peer's handshake is not a BitTorrent handshake.
    #[error("not a BitTorrent handshake")]
    BadHandshake,
    /// Not attempted: the session has as many connections (or dials in
    /// progress) as it may. Not held against the address.
    #[error("session connection limit reached")]
    LimitReached,
    /// The encrypted handshake (MSE/PE) failed.
    #[error("encrypted handshake: {0}")]
    Encryption(monsoon_mse::MseError),
}

impl From<&io::Error> for ConnectError {
    fn from(e: &io::Error) -> Self {
        if e.kind() == io::ErrorKind::TimedOut {
            ConnectError::Timeout
        } else {
            ConnectError::Io(e.kind())
        }
    }
}
