//! Requests in flight per peer (sized by its measured rate and round
//! trip), endgame duplicates by who would deliver sooner, stalled peers
//! snubbed early, and dials that follow each other without waiting for a
//! tick: the decisions behind downloads from uneven swarms.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use monsoon_engine::torrent::Direction;
use monsoon_engine::{PeerSource, SessionConfig};
use monsoon_piece::PeerKey;
use monsoon_wire::{BlockRef, Handshake, Message, Reserved};

use super::harness::Harness;
use crate::sim::net::Have;
use crate::sim::torrent::SimTorrent;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A peer behind a link: each request is answered a round trip after it
/// was sent, and no sooner than `interval` after its previous block.
struct FakePeer {
    key: PeerKey,
    rtt: Duration,
    interval: Duration,
    /// Blocks on their way, in the order they arrive.
    coming: VecDeque<(Instant, BlockRef)>,
    /// When its link is free for the next block.
    free_at: Instant,
    /// Most requests it had outstanding, per second of the run.
    peak: Vec<usize>,
    /// Stops answering after this (a stall).
    silent_from: Option<Instant>,
}

impl FakePeer {
    /// Peer `n` connects, has everything and unchokes us.
    fn new(h: &mut Harness, n: u8, rtt: Duration, per_second: u32) -> Self {
        let key = h.connect(n);
        h.msg(key, Message::HaveAll);
        h.msg(key, Message::Unchoke);
        Self::on(h, key, rtt, per_second)
    }

    /// The peer of `key`, connected already.
    fn on(h: &Harness, key: PeerKey, rtt: Duration, per_second: u32) -> Self {
        let interval = Duration::from_secs(1) / per_second;
        Self {
            key,
            rtt,
            interval,
            coming: VecDeque::new(),
            free_at: h.now - interval,
            peak: Vec::new(),
            silent_from: None,
        }
    }

    fn outstanding(&self) -> usize {
        self.coming.len()
    }

    /// Takes the requests the core sent it.
    fn take_requests(&mut self, h: &mut Harness) {
        for r in h.requests(self.key) {
            let at = (h.now + self.rtt).max(self.free_at + self.interval);
            self.free_at = at;
            self.coming.push_back((at, r));
        }
    }

    /// Sends the next block it was asked for, now.
    fn answer_one(&mut self, h: &mut Harness) {
        let (_, r) = self.coming.pop_front().expect("asked");
        let block = h.block(r);
        h.msg(self.key, block);
    }
}

/// Runs the core and `peers` for `secs` seconds of virtual time in 1 ms
/// steps, ticking the core every second.
fn drive(h: &mut Harness, peers: &mut [FakePeer], secs: u64) {
    let mut next_tick = h.now + Duration::from_secs(1);
    for step in 0..secs * 1000 {
        h.now += ms(1);
        if h.now >= next_tick {
            next_tick += Duration::from_secs(1);
            h.core.handle_timeout(h.now);
            h.pump();
        }
        for p in peers.iter_mut() {
            p.take_requests(h);
            let second = (step / 1000) as usize;
            if p.peak.len() <= second {
                p.peak.resize(second + 1, 0);
            }
            p.peak[second] = p.peak[second].max(p.outstanding());
            if p.silent_from.is_some_and(|t| h.now >= t) {
                continue;
            }
            while p.coming.front().is_some_and(|(at, _)| *at <= h.now) {
                let (_, r) = p.coming.pop_front().expect("front");
                let block = h.block(r);
                h.msg(p.key, block);
            }
            // Cancelled requests are not answered.
            let cancelled: Vec<BlockRef> = h
                .take_sent(p.key, |m| matches!(m, Message::Cancel(_)))
                .into_iter()
                .filter_map(|m| match m {
                    Message::Cancel(r) => Some(r),
                    _ => None,
                })
                .collect();
            p.coming.retain(|(_, r)| !cancelled.contains(r));
        }
        assert!(step < 1_000_000);
    }
}

fn big() -> SimTorrent {
    SimTorrent::single(64 << 20, 256 * 1024, 11)
}

#[test]
fn a_new_peer_gets_the_start_window_and_it_grows_by_a_block_per_block() {
    let mut h = Harness::new(big(), Have::Nothing);
    let k = h.connect(1);
    h.msg(k, Message::HaveAll);
    h.msg(k, Message::Unchoke);
    let asked = h.requests(k);
    assert_eq!(asked.len(), 16, "the start window");
    // Blocks come back at once (no rate yet): each adds one to the
    // window; at the sixth, 10 left in flight is half the window of 22, so
    // it is topped up to 22.
    for r in &asked[..8] {
        let block = h.block(*r);
        h.msg(k, block);
    }
    assert_eq!(h.requests(k).len(), 12);
}

#[test]
fn the_pipeline_follows_each_peers_rate_and_round_trip() {
    let mut cfg = SessionConfig::new(".");
    cfg.max_requests_total = 10_000;
    let mut h = Harness::with(big(), Have::Nothing, cfg, |_| {});
    // 100 blocks/s behind 100 ms, and 2 blocks/s behind 100 ms.
    let mut peers = vec![
        FakePeer::new(&mut h, 1, ms(100), 100),
        FakePeer::new(&mut h, 2, ms(100), 2),
    ];
    drive(&mut h, &mut peers, 10);
    // Fast: 100 blocks/s x (2 x 100 ms + 750 ms) = 95 blocks; the
    // pipeline is topped up when half is left, so it peaks at the depth.
    let fast = *peers[0].peak.last().expect("peaks");
    assert!((85..=100).contains(&fast), "fast peer peaked at {fast}");
    // Slow: 2 blocks/s x 0.95 s = 1.9: the floor of two requests (once
    // its start window has drained), not a fixed start depth of hundreds
    // of blocks it would sit on for minutes.
    let slow = *peers[1].peak.last().expect("peaks");
    assert!(slow <= 3, "slow peer peaked at {slow}");
    // And the fast one was never starved: it ran at its rate.
    let got = h.core.stats().downloaded;
    assert!(got >= 5 * 100 * 16384, "downloaded {got}");
}

/// A torrent of 4 pieces of 4 blocks.
fn small() -> SimTorrent {
    SimTorrent::single(4 * 64 * 1024, 64 * 1024, 12)
}

#[test]
fn endgame_leaves_a_fast_peers_blocks_to_it() {
    let mut h = Harness::new(small(), Have::Nothing);
    // A slow peer that queues 4 requests takes 4 blocks; a fast one the
    // other 12.
    let slow = h.connect(1);
    let reqq = monsoon_wire::ExtendedHandshake {
        reqq: Some(4),
        ..Default::default()
    };
    h.msg(slow, reqq.to_message());
    h.msg(slow, Message::HaveAll);
    h.msg(slow, Message::Unchoke);
    let mut slow = FakePeer::on(&h, slow, ms(10), 200);
    slow.take_requests(&mut h);
    assert_eq!(slow.outstanding(), 4);
    let mut fast = FakePeer::new(&mut h, 3, ms(10), 200);
    fast.take_requests(&mut h);
    // Twelve, and one probe of the slow peer's (neither rate is known).
    assert_eq!(fast.outstanding(), 13);
    // The fast peer sends 4 blocks in 30 ms, the slow one its 4 in 300 ms.
    for i in 0..4 {
        h.now += ms(10);
        fast.answer_one(&mut h);
        if i == 3 {
            h.now += ms(50);
            fast.answer_one(&mut h);
        }
    }
    for _ in 0..4 {
        h.now += ms(100);
        slow.answer_one(&mut h);
    }
    // Endgame, the slow peer idle: the 7 blocks left at the fast peer's
    // rate come sooner than one at the slow one's. No duplicate.
    assert_eq!(
        h.requests(slow.key),
        [],
        "a slow peer duplicated a fast one"
    );
}

#[test]
fn endgame_gives_a_slow_peers_blocks_to_an_idle_fast_one() {
    let mut cfg = SessionConfig::new(".");
    cfg.max_requests_total = 10_000;
    let mut h = Harness::with(small(), Have::Nothing, cfg, |_| {});
    // The slow peer (2 blocks/s) is asked first and takes the start window:
    // every block. The fast one comes when there is nothing left but
    // duplicates: it probes one block at a time until its rate is known,
    // then takes the rest.
    let mut peers = vec![FakePeer::new(&mut h, 1, ms(50), 2)];
    drive(&mut h, &mut peers, 2);
    let held: Vec<BlockRef> = peers[0].coming.iter().map(|(_, r)| *r).collect();
    assert!(held.len() >= 10, "{held:?}");
    peers.push(FakePeer::new(&mut h, 2, ms(10), 200));
    drive(&mut h, &mut peers, 1);
    assert!(
        h.core.have().all(),
        "the fast peer finished what the slow one held"
    );
    // The slow peer was told it need not send most of what it still held.
    let still = peers[0].outstanding();
    assert!(still < held.len() / 2, "{still} still coming");
}

#[test]
fn a_measured_peer_that_goes_silent_is_snubbed_within_seconds() {
    let mut cfg = SessionConfig::new(".");
    cfg.snub_timeout = Duration::from_secs(60);
    let mut h = Harness::with(big(), Have::Nothing, cfg, |_| {});
    let mut peers = vec![FakePeer::new(&mut h, 1, ms(40), 50)];
    peers[0].silent_from = Some(h.now + Duration::from_millis(2500));
    drive(&mut h, &mut peers, 5);
    assert_eq!(h.core.stats().snubbed_peers, 0, "not yet: 2.5 s of silence");
    drive(&mut h, &mut peers, 2);
    // 10 blocks at 50/s is 0.2 s: the floor of 3 s applies, not the
    // configured minute.
    assert_eq!(h.core.stats().snubbed_peers, 1);
}

#[test]
fn a_finished_dial_starts_the_next_at_once() {
    let mut cfg = SessionConfig::new(".");
    cfg.max_connecting = 2;
    let mut h = Harness::with(big(), Have::Nothing, cfg, |_| {});
    let addrs: Vec<_> = (1..=5).map(Harness::addr).collect();
    h.core.add_peers(h.now, &addrs, PeerSource::Tracker);
    h.pump();
    assert_eq!(h.connects(), addrs[..2]);
    // The first dial connects: the third address is dialled now, not on
    // the next tick.
    let mut hs = Handshake::new(h.torrent.meta.info_hash, Harness::id(1));
    hs.reserved = Reserved::default().with_fast();
    let key = h
        .core
        .handle_connected(h.now, addrs[0], Direction::Outgoing, &hs);
    assert!(key.is_ok());
    h.pump();
    assert_eq!(h.connects(), addrs[2..3]);
    // The second fails: the fourth goes.
    h.core.handle_connect_failed(
        h.now,
        addrs[1],
        monsoon_engine::ConnectError::Io(std::io::ErrorKind::ConnectionRefused),
    );
    h.pump();
    assert_eq!(h.connects(), addrs[3..4]);
}

#[test]
fn endgame_a_peer_that_found_nothing_to_duplicate_looks_again_only_after_a_rest() {
    let mut cfg = SessionConfig::new(".");
    cfg.max_requests_total = 10_000;
    let mut h = Harness::with(small(), Have::Nothing, cfg, |_| {});
    // A peer with pieces 2 and 3 that has sent nothing yet (its blocks may
    // come at any time) and a fast one with pieces 0 and 1 take every
    // block: endgame.
    let slow = h.connect(1);
    h.msg(slow, Message::Bitfield(vec![0b0011_0000].into()));
    h.msg(slow, Message::Unchoke);
    assert_eq!(h.requests(slow).len(), 8);
    let fast = h.connect(2);
    h.msg(fast, Message::Bitfield(vec![0b1100_0000].into()));
    h.msg(fast, Message::Unchoke);
    let mut fast = FakePeer::on(&h, fast, ms(10), 100);
    fast.take_requests(&mut h);
    assert_eq!(fast.outstanding(), 8);
    // It sends 7 of its 8 blocks, one every 10 ms: its rate is known, its
    // last block about 10 ms away.
    for _ in 0..7 {
        h.now += ms(10);
        fast.answer_one(&mut h);
        h.pump();
    }
    fast.take_requests(&mut h);
    assert_eq!(fast.outstanding(), 1, "nothing else it could fetch");
    // A third peer with pieces 0 and 1: the one block left there comes
    // sooner from the fast peer. Nothing to duplicate.
    let third = h.connect(3);
    h.msg(third, Message::Bitfield(vec![0b1100_0000].into()));
    h.msg(third, Message::Unchoke);
    assert_eq!(h.requests(third), [], "duplicated a block about to come");
    // It now has piece 2 too, whose blocks the silent peer holds: worth a
    // duplicate, but it looked 10 ms ago and rests (each look goes through
    // every block in flight).
    h.now += ms(10);
    h.msg(third, Message::Have(2));
    assert_eq!(h.requests(third), [], "looked again within the rest");
    // 50 ms after its look, the next event (piece 3) makes it look again:
    // one probe (its own rate is not known yet).
    h.now += ms(40);
    h.msg(third, Message::Have(3));
    let asked = h.requests(third);
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].index >= 2, "{asked:?}");
}

#[test]
fn only_a_far_peer_goes_past_the_per_peer_limit() {
    let mut cfg = SessionConfig::new(".");
    cfg.max_requests_per_peer = 32;
    cfg.max_requests_total = 10_000;
    let mut h = Harness::with(big(), Have::Nothing, cfg, |_| {});
    // Both deliver 1000 blocks/s. Three bandwidth-delay products are 75
    // blocks behind 25 ms (near: most of such a round trip is the seeder's
    // own latency) and 180 behind 60 ms (far).
    let mut peers = vec![
        FakePeer::new(&mut h, 1, ms(25), 1000),
        FakePeer::new(&mut h, 2, ms(60), 1000),
    ];
    drive(&mut h, &mut peers, 1);
    let near = peers[0].peak.iter().max().copied().unwrap_or(0);
    let far = peers[1].peak.iter().max().copied().unwrap_or(0);
    assert!(near <= 32, "near peer peaked at {near}");
    assert!(far >= 120, "far peer peaked at {far}");
}

#[test]
fn near_peers_share_512_requests() {
    let mut h = Harness::new(big(), Have::Nothing);
    // Four peers 5 ms away, 300 blocks/s each: each would ask for 228
    // (its rate for two round trips and 0.75 s), 912 in all.
    let mut peers: Vec<FakePeer> = (1..=4)
        .map(|n| FakePeer::new(&mut h, n, ms(5), 300))
        .collect();
    drive(&mut h, &mut peers, 3);
    // Once their rates are known (the first second), at most 512 in all:
    // the sum of each peer's most in a second is at least that.
    for second in 1..3 {
        let sum: usize = peers.iter().map(|p| p.peak[second]).sum();
        assert!(
            sum <= 512,
            "{sum} requests in flight at the peaks of second {second}"
        );
    }
    // Within the share, each peer still carries its rate.
    let got = h.core.stats().downloaded;
    assert!(got >= 3 * 4 * 280 * 16384, "downloaded {got}");
}

#[test]
fn start_windows_are_not_cut_to_the_near_peers_share() {
    let mut h = Harness::new(big(), Have::Nothing);
    // Forty peers join before any has sent a block: 640 requests in all,
    // more than near peers share, but none of them is known to be near.
    let mut asked = 0;
    for n in 1..=40 {
        let k = h.connect(n);
        h.msg(k, Message::HaveAll);
        h.msg(k, Message::Unchoke);
        asked += h.requests(k).len();
    }
    assert_eq!(asked, 40 * 16);
}
