//! How many requests to keep in flight to one peer: its delivery rate
//! times two round trips and a margin (its bandwidth-delay product, twice,
//! plus [`MARGIN`] of data), both measured on the blocks themselves —
//! libtorrent's `request_queue_time`, sized per peer rather than fixed.
//! Enough to cover the round trip, our refilling at half depth, and
//! clients that serve in batches on a timer; never so much that a slow
//! peer sits on blocks a fast one could fetch sooner.
//!
//! Measured per block, not per tick: a download from a fast swarm may
//! last a few seconds, and a tick is a second. Until the first rate sample
//! the depth is a small window that grows by one per block (doubling
//! each round trip while it is the limit, as TCP's slow start does); once
//! measured, a depth that limits the rate still grows, since two round
//! trips' worth of the rate it allows is more than itself.
//!
//! The same measures say when a peer has stalled ([`Pipeline::stall_after`])
//! and, in endgame, which peer would deliver a block sooner.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use monsoon_piece::{BLOCK_LEN, Block};

/// Requests in flight to a peer whose rate is not known yet: 256 KiB, so
/// thirty slow peers joining at once hold 8 MiB, not the whole torrent
/// (with 32, a peer sending 2 blocks a second sat on its first requests
/// for 16 s).
pub(super) const START_WINDOW: usize = 16;
/// Time beyond two round trips that requests cover: the peer's own delays
/// (disk; Transmission serves in batches on a timer) and our refilling
/// at half depth.
pub(super) const MARGIN: Duration = Duration::from_millis(750);
/// Fewest requests in flight to a peer that is not snubbed: one arriving
/// while the next is on its way.
const MIN_DEPTH: usize = 2;
/// Shortest stretch a rate sample covers (and at least a round trip).
const MIN_SAMPLE: Duration = Duration::from_millis(50);
/// Shortest silence after which a peer whose rate is known counts as stalled.
pub(super) const MIN_STALL: Duration = Duration::from_secs(3);
/// The shortest round trip of a far peer: one whose pipeline may go beyond
/// `max_requests_per_peer` and whose requests do not come out of the
/// torrent's share for near peers. A near peer's measured round trip is
/// mostly the seeder's own latency (its disk, its queues), which deeper
/// queues do not cover any better: with one libtorrent seeder on loopback,
/// letting it go to three such "bandwidth-delay products" made the
/// download 1.6x slower and take 1.8x the CPU.
pub(super) const FAR_RTT: Duration = Duration::from_millis(30);
/// Most request times remembered (beyond any depth we use).
const MAX_SENT: usize = 8192;

/// A multiplicative hash for our own requests (not chosen by a peer, so
/// SipHash's flooding resistance buys nothing; it showed at 13 % of the CPU
/// in endgame with two dozen peers).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct BlockHasher(u64);

impl Hasher for BlockHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// One peer's request pipeline: what it delivers and how fast.
#[derive(Debug, Clone)]
pub(super) struct Pipeline {
    /// Each outstanding request and when it was sent, oldest first (peers
    /// answer in order, so an arriving block is found near the front),
    /// numbered in sending order.
    sent: VecDeque<(Block, Instant, u64)>,
    /// The number of each outstanding request (its place in the queue is
    /// its number less the front's).
    numbers: HashMap<Block, u64, BuildHasherDefault<BlockHasher>>,
    next_number: u64,
    /// The shortest time a block took to come after it was asked for.
    min_rtt: Option<Duration>,
    /// Delivery rate (bytes/s), a moving average of samples.
    rate: Option<f64>,
    /// The sample being taken: since when, and how many bytes.
    sample: Option<(Instant, u64)>,
    /// The depth before the rate is known.
    window: usize,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self {
            sent: VecDeque::new(),
            numbers: HashMap::default(),
            next_number: 0,
            min_rtt: None,
            rate: None,
            sample: None,
            window: START_WINDOW,
        }
    }
}

impl Pipeline {
    /// `blocks` were requested at `now`.
    pub(super) fn requested(&mut self, now: Instant, blocks: &[Block]) {
        let room = MAX_SENT.saturating_sub(self.sent.len());
        for &b in blocks.iter().take(room) {
            self.sent.push_back((b, now, self.next_number));
            self.numbers.insert(b, self.next_number);
            self.next_number += 1;
        }
    }

    /// Removes the `i`th request from the queue.
    fn remove_at(&mut self, i: usize) -> Option<Instant> {
        let (b, at, _) = self.sent.remove(i)?;
        self.numbers.remove(&b);
        Some(at)
    }

    /// One more than the most requests any block of the queue can have
    /// ahead of it (see [`place`](Self::place)); 0 when nothing is queued.
    pub(super) fn span(&self) -> usize {
        match (self.sent.front(), self.sent.back()) {
            (Some(f), Some(b)) => usize::try_from(b.2 - f.2 + 1).unwrap_or(usize::MAX),
            _ => 0,
        }
    }

    /// How many requests are ahead of `block` in the queue (at most: a
    /// request that left from the middle still counts), if it is there.
    pub(super) fn place(&self, block: &Block) -> Option<usize> {
        let front = self.sent.front()?.2;
        let n = self.numbers.get(block)?;
        usize::try_from(n.saturating_sub(front)).ok()
    }

    /// The requested `block` arrived at `now` (`bytes` long).
    pub(super) fn on_block(&mut self, now: Instant, block: Block, bytes: u64) {
        if let Some(i) = self.sent.iter().position(|(b, ..)| *b == block) {
            if let Some(at) = self.remove_at(i) {
                let rtt = now.saturating_duration_since(at);
                self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
            }
        }
        if self.sent.is_empty() {
            // Idle time to come is not the peer's rate.
            self.sample = None;
        }
        if self.rate.is_none() {
            self.window = self.window.saturating_add(1);
        }
        let Some((start, sum)) = &mut self.sample else {
            // The sample starts here (this block's bytes came before it).
            if !self.sent.is_empty() {
                self.sample = Some((now, 0));
            }
            return;
        };
        *sum += bytes;
        let span = now.saturating_duration_since(*start);
        if span >= MIN_SAMPLE.max(self.min_rtt.unwrap_or_default()) {
            let sample = *sum as f64 / span.as_secs_f64();
            // Up at once (a pipeline that limited the rate has just been
            // deepened), down gently (one slow stretch is not a new rate).
            self.rate = Some(self.rate.map_or(sample, |r| {
                if sample > r {
                    sample
                } else {
                    0.5 * r + 0.5 * sample
                }
            }));
            self.sample = Some((now, 0));
        }
    }

    /// The request for `block` was cancelled or rejected.
    pub(super) fn forget(&mut self, block: Block) {
        if let Some(i) = self.sent.iter().position(|(b, ..)| *b == block) {
            self.remove_at(i);
        }
        if self.sent.is_empty() {
            self.sample = None;
        }
    }

    /// Every request was released (a choke, a snub).
    pub(super) fn forget_all(&mut self) {
        self.sent.clear();
        self.numbers.clear();
        self.sample = None;
    }

    /// Only `outstanding` requests are in flight (the picker forgot some:
    /// a piece that failed its check): the oldest go.
    pub(super) fn resync(&mut self, outstanding: usize) {
        while self.sent.len() > outstanding {
            self.remove_at(0);
        }
    }

    /// Requests in flight, as far as it knows.
    pub(super) fn outstanding(&self) -> usize {
        self.sent.len()
    }

    /// The measured delivery rate, bytes/s.
    pub(super) fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// The shortest time a block took to come after it was asked for.
    pub(super) fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    /// Whether its round trip is long (at least [`FAR_RTT`]): a peer far
    /// away, whose pipeline must be deep to carry its rate.
    pub(super) fn is_far(&self) -> bool {
        self.min_rtt.is_some_and(|r| r >= FAR_RTT)
    }

    /// Whether its round trip is known to be short (under [`FAR_RTT`]).
    pub(super) fn is_near(&self) -> bool {
        self.min_rtt.is_some_and(|r| r < FAR_RTT)
    }

    /// How long this peer may send nothing we asked for before it counts
    /// as stalled: ten blocks' time at its rate plus two round trips, and
    /// at least [`MIN_STALL`]; `None` before its rate is known.
    pub(super) fn stall_after(&self) -> Option<Duration> {
        let rate = self.rate.filter(|r| *r > 0.0)?;
        let blocks = Duration::from_secs_f64(10.0 * f64::from(BLOCK_LEN) / rate);
        Some((blocks + 2 * self.min_rtt.unwrap_or_default()).max(MIN_STALL))
    }

    /// Requests to keep in flight, at most the peer's `reqq` and `max`;
    /// `max` is exceeded only by a far peer (see [`FAR_RTT`]), as far as
    /// three bandwidth-delay products need, since on a short round trip
    /// requests beyond it only fill our memory with blocks the disk has not
    /// caught up with.
    pub(super) fn depth(&self, reqq: usize, max: usize) -> usize {
        let block = f64::from(BLOCK_LEN);
        let (want, cap) = match self.rate {
            None => (self.window, max),
            Some(rate) => {
                let rtt = self.min_rtt.unwrap_or_default();
                let time = 2 * rtt + MARGIN;
                let want = (rate * time.as_secs_f64() / block).ceil() as usize;
                let bdp = (rate * rtt.as_secs_f64() / block).ceil() as usize;
                let cap = if self.is_far() { max.max(3 * bdp) } else { max };
                (want, cap)
            }
        };
        want.max(MIN_DEPTH).min(cap).min(reqq).max(1)
    }
}
