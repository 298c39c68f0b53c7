//! What a simulated node is: its part in the swarm ([`NodeSpec`]), what
//! it does wrong ([`Fault`]), and what it did ([`Log`]).

use std::time::Duration;

use monsoon_engine::{CloseReason, TorrentState};
use monsoon_tracker::Event;
use monsoon_wire::{BlockRef, HashRequest};
/// What a faulty node does wrong (to what its honest core sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    /// Flips a byte of every block it sends.
    Corrupt,
    /// Sends a choke and, 20 ms later, an unchoke after every `n` blocks.
    ChokeFlap(u32),
    /// Its first message is a bitfield two bytes too long.
    BadBitfield,
    /// Sends a block nobody asked for right after its bitfield.
    UnrequestedBlock,
    /// Sends a `have` for a piece past the end after its bitfield.
    HaveOutOfRange,
    /// Drops every connection once it has sent this many block bytes on it.
    DisconnectAfter(u64),
    /// Stops sending blocks (silently) once it has sent this many block
    /// bytes on a connection.
    StallAfter(u64),
    /// Its upload link carries nothing from `at` (since the start) for
    /// `len`, as a run of losses would; what was on the wire still lands.
    Pause {
        at: Duration,
        len: Duration,
    },
    /// Says in its extension handshake that the metadata is this big.
    MetadataSize(u64),
    /// Flips a byte of every metadata piece it sends.
    CorruptMetadata,
    /// Sends every metadata piece one byte short.
    ShortMetadata,
    /// Sends every metadata piece under an index past the last piece.
    MetadataPieceOutOfRange,
    /// Flips a byte of every BEP 52 `hashes` message it sends.
    CorruptHashes,
    /// Rejects the first `n` hash requests it gets (a `hash reject` for
    /// the `hashes` its core would send).
    RejectHashes(u32),
}

/// One node of the network.
#[derive(Debug, Clone)]
pub(crate) struct NodeSpec {
    /// Upload rate, bytes per second.
    pub(crate) upload: u64,
    /// One-way latency of its access link.
    pub(crate) latency: Duration,
    /// Pieces it starts with (on its storage).
    pub(crate) have: Have,
    pub(crate) fault: Fault,
    /// Piece priorities (`None`: everything).
    pub(crate) priorities: Option<Vec<u8>>,
    /// Added from a magnet link: it fetches the metadata from its peers
    /// (a v2 or hybrid torrent's link names its v2 info-hash).
    pub(crate) magnet: bool,
    /// A client that knows only BitTorrent v1 (of a hybrid torrent): it
    /// names the v1 info-hash, without the v2 bit, and never speaks v2.
    pub(crate) v1_only: bool,
    /// Its magnet link names the v2 info-hash alone (`btmh`, no `btih`):
    /// it knows a hybrid by its truncated v2 info-hash.
    pub(crate) btmh_only: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Have {
    All,
    Nothing,
    Pieces(Vec<u32>),
}

impl NodeSpec {
    pub(crate) fn seed(upload: u64) -> Self {
        Self {
            upload,
            latency: Duration::from_millis(20),
            have: Have::All,
            fault: Fault::None,
            priorities: None,
            magnet: false,
            v1_only: false,
            btmh_only: false,
        }
    }

    pub(crate) fn leech(upload: u64) -> Self {
        Self {
            have: Have::Nothing,
            ..Self::seed(upload)
        }
    }

    /// A leecher added from a magnet link.
    pub(crate) fn magnet(upload: u64) -> Self {
        Self {
            magnet: true,
            ..Self::leech(upload)
        }
    }

    pub(crate) fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }

    /// A leecher added from a `btmh`-only magnet link.
    pub(crate) fn btmh_magnet(upload: u64) -> Self {
        Self {
            btmh_only: true,
            ..Self::magnet(upload)
        }
    }

    /// A v1-only client (see [`NodeSpec::v1_only`]).
    pub(crate) fn v1_only(mut self) -> Self {
        self.v1_only = true;
        self
    }

    pub(crate) fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}

/// What a node did, for tests to assert on.
#[derive(Debug, Default)]
pub(crate) struct Log {
    /// Connections its core closed or refused: (when, peer node, reason).
    pub(crate) closed: Vec<(Duration, usize, CloseReason)>,
    /// Connections set up: (when, peer node).
    pub(crate) connected: Vec<(Duration, usize)>,
    /// Requests sent, per (peer node, piece).
    pub(crate) requests: Vec<(usize, BlockRef)>,
    /// When the first request went out (virtual time since the start).
    pub(crate) first_request_at: Option<Duration>,
    /// Requests for a piece it already had when it asked (must stay empty).
    pub(crate) requested_owned: Vec<u32>,
    /// Cancels sent: (peer node, block).
    pub(crate) cancels: Vec<(usize, BlockRef)>,
    /// Block bytes it sent.
    pub(crate) served: u64,
    pub(crate) states: Vec<(Duration, TorrentState)>,
    pub(crate) announces: Vec<Event>,
    /// When it became a seed (virtual time since the start).
    pub(crate) completed_at: Option<Duration>,
    /// BEP 52 hash requests sent: (peer node, request).
    pub(crate) hash_requests: Vec<(usize, HashRequest)>,
}
