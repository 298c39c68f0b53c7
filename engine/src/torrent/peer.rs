//! The protocol state of one connected peer, as the core sees it. What is
//! outstanding to the peer is the picker's to know
//! ([`Picker::requests`](monsoon_piece::Picker::requests)), not this.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use monsoon_piece::Block;
use monsoon_wire::BlockRef;

use super::pipeline::Pipeline;
use super::reason::Direction;
use crate::encryption::PeerEncryption;

/// How many requests a peer queues when it does not say (`reqq`).
pub(super) const DEFAULT_REQQ: usize = 250;
/// Most released requests remembered per peer (a late answer to one is accepted).
const MAX_STALE: usize = 4096;

/// Our view of one connected peer.
#[derive(Debug)]
pub(super) struct PeerState {
    pub(super) addr: SocketAddr,
    pub(super) id: [u8; 20],
    pub(super) direction: Direction,
    /// It speaks the fast extension (BEP 6).
    pub(super) fast: bool,
    /// No message received yet: a bitfield / have-all / have-none may come.
    pub(super) fresh: bool,
    pub(super) am_interested: bool,
    pub(super) peer_interested: bool,
    pub(super) am_choking: bool,
    pub(super) peer_choking: bool,
    /// Requests released (choke, snub, cancel, reject), with how many
    /// answers to each may still come (a block released, asked again and
    /// cancelled may come twice): a late answer is accepted, not a
    /// violation.
    stale: HashMap<Block, u16>,
    /// The peer's `reqq` (most requests it queues).
    pub(super) reqq: usize,
    pub(super) snubbed: bool,
    /// When the last requested block arrived, or when requests started
    /// (the snub clock).
    pub(super) last_block: Instant,
    pub(super) have_count: u32,
    pub(super) down: Rate,
    pub(super) up: Rate,
    /// How deep its request pipeline should be.
    pub(super) pipeline: Pipeline,
    /// Endgame: it found nothing to duplicate; it looks again after this.
    pub(super) endgame_rest: Option<Instant>,
    /// Requests accepted and not read yet, oldest first (at most our
    /// advertised `reqq` together with `reading`).
    pub(super) queue: std::collections::VecDeque<BlockRef>,
    /// Reads on the disk threads for this peer; a block whose request was
    /// cancelled meanwhile is no longer here, and its data is dropped.
    pub(super) reading: std::collections::VecDeque<BlockRef>,
    /// Payload bytes handed to the driver and not yet written out.
    pub(super) unsent: u64,
    /// When the connection last wrote (or nothing was waiting).
    pub(super) last_send_progress: Instant,
    /// Requests refused for a full queue since a block was last sent.
    pub(super) overflow: u32,
    /// When we last unchoked it (or connected, if never).
    pub(super) unchoked_at: Instant,
    /// Payload bytes sent since we last unchoked it.
    pub(super) uploaded_since_unchoke: u64,
    /// Pieces we said it may request while choked (BEP 6 allowed fast).
    pub(super) allowed_fast: Vec<u32>,
    /// The tick of its last optimistic unchoke (0: never).
    pub(super) optimistic_at: u64,
    /// How the connection is carried (told by the driver).
    pub(super) encryption: PeerEncryption,
    /// It speaks BitTorrent v2 with us: we may send it BEP 52 hash
    /// messages (see `TorrentCore::speaks_v2`).
    pub(super) v2: bool,
    /// Hash requests it made since the last tick (answered or rejected).
    pub(super) hash_requests: u32,
    /// What its extension handshake said.
    pub(super) ext: super::ext::PeerExt,
    /// Peer exchange: the addresses we told it about, and when it last
    /// told us some.
    pub(super) pex_sent: std::collections::BTreeSet<SocketAddr>,
    pub(super) pex_heard: Option<Instant>,
    pub(super) pex_told: Option<Instant>,
}

impl PeerState {
    pub(super) fn new(
        addr: SocketAddr,
        id: [u8; 20],
        direction: Direction,
        fast: bool,
        now: Instant,
    ) -> Self {
        Self {
            addr,
            id,
            direction,
            fast,
            fresh: true,
            am_interested: false,
            peer_interested: false,
            am_choking: true,
            peer_choking: true,
            stale: HashMap::new(),
            reqq: DEFAULT_REQQ,
            snubbed: false,
            last_block: now,
            have_count: 0,
            down: Rate::default(),
            up: Rate::default(),
            pipeline: Pipeline::default(),
            endgame_rest: None,
            queue: std::collections::VecDeque::new(),
            reading: std::collections::VecDeque::new(),
            unsent: 0,
            last_send_progress: now,
            overflow: 0,
            unchoked_at: now,
            uploaded_since_unchoke: 0,
            allowed_fast: Vec::new(),
            optimistic_at: 0,
            encryption: PeerEncryption::None,
            v2: false,
            hash_requests: 0,
            ext: super::ext::PeerExt::default(),
            pex_sent: std::collections::BTreeSet::new(),
            pex_heard: None,
            pex_told: None,
        }
    }

    /// Remembers requests released from this peer (a late answer to one is
    /// accepted).
    pub(super) fn park(&mut self, blocks: impl IntoIterator<Item = Block>) {
        if self.stale.len() > MAX_STALE {
            // Bounded memory: very old answers become violations.
            self.stale.clear();
        }
        for b in blocks {
            let n = self.stale.entry(b).or_insert(0);
            *n = n.saturating_add(1);
        }
    }

    /// A block arrived that is not outstanding: whether it answers a
    /// released request (then one fewer such answer may come).
    pub(super) fn take_stale(&mut self, block: &Block) -> bool {
        match self.stale.get_mut(block) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                self.stale.remove(block);
                true
            }
            None => false,
        }
    }

    /// Requests to keep in flight: about one second of data at the peer's
    /// measured rate (see [`Pipeline`]), bounded by its `reqq` and our own
    /// limit; one while it is snubbed.
    pub(super) fn target_depth(&self, max: usize) -> usize {
        if self.snubbed {
            return 1;
        }
        self.pipeline.depth(self.reqq, max)
    }
}

/// A payload rate: bytes counted as they pass, turned into bytes per
/// second on each tick (a moving average over the last few seconds).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Rate {
    pub(super) pending: u64,
    pub(super) rate: f64,
}

impl Rate {
    pub(super) fn add(&mut self, bytes: u64) {
        self.pending += bytes;
    }

    /// Folds the bytes counted over the last `secs` seconds into the rate;
    /// returns the rate of those seconds alone.
    pub(super) fn tick(&mut self, secs: f64) -> f64 {
        let now = self.pending as f64 / secs.max(1e-3);
        self.rate = self.rate * 0.5 + now * 0.5;
        if self.rate < 1.0 {
            // The halving never reaches zero by itself: an idle peer
            // (and a finished torrent) shows 0 B/s, not a tail of 1e-9.
            self.rate = 0.0;
        }
        self.pending = 0;
        now
    }
}
