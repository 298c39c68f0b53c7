//! The upload path through the core: queueing to our `reqq`, bounded reads
//! and send queue, cancels, choking, the allowed fast set, the seeding
//! choker, seeding limits, and hostile leechers (each closed or throttled
//! for its reason while the others are served).

use std::collections::BTreeSet;
use std::time::Duration;

use monsoon_engine::torrent::{Action, DiskJob};
use monsoon_engine::{CloseReason, SeedLimits, TorrentState};
use monsoon_piece::PeerKey;
use monsoon_wire::{BlockRef, Message};

use super::harness::Harness;
use crate::sim::net::Have;
use crate::sim::torrent::SimTorrent;

fn seeder() -> Harness {
    Harness::new(SimTorrent::single(4 * 1024 * 1024, 64 * 1024, 9), Have::All)
}

fn req(i: u32) -> BlockRef {
    BlockRef {
        index: (i / 4) % 64,
        begin: (i % 4) * 16384,
        length: 16384,
    }
}

/// A leecher that is unchoked.
fn leecher(h: &mut Harness, n: u8) -> PeerKey {
    let k = h.connect(n);
    h.msg(k, Message::Interested);
    assert!(h.sent(k).contains(&Message::Unchoke));
    k
}

fn pieces_sent(msgs: &[Message]) -> usize {
    msgs.iter()
        .filter(|m| matches!(m, Message::Piece { .. }))
        .count()
}

#[test]
fn every_queued_request_is_served_once() {
    let mut h = seeder();
    let k = leecher(&mut h, 1);
    for i in 0..40 {
        h.msg(k, Message::Request(req(i)));
    }
    let sent = h.sent(k);
    assert_eq!(pieces_sent(&sent), 40);
    assert_eq!(h.core.stats().uploaded, 40 * 16384);
    assert!(h.closes().is_empty());
}

#[test]
fn a_burst_of_ten_thousand_requests_is_bounded_then_closed() {
    let mut h = seeder();
    h.stall_writes = true; // nothing drains: the queue must hold
    let flood = leecher(&mut h, 1);
    let good = leecher(&mut h, 2);
    let mut read = 0;
    let mut rejects = 0;
    for i in 0..10_000u32 {
        // Ten thousand different requests (lengths differ).
        let r = BlockRef {
            index: i % 64,
            begin: 0,
            length: 1 + i / 64 * 100,
        };
        h.msg(flood, Message::Request(r));
        if h.core.peer_count() < 2 {
            break;
        }
    }
    for m in h.sent(flood) {
        match m {
            Message::Piece { data, .. } => read += data.len(),
            Message::Reject(_) => rejects += 1,
            _ => {}
        }
    }
    // At most 2 MiB (plus one read) for it while nothing drained, the rest
    // of the 500 it may queue waited, the rest was rejected, then dropped.
    assert!(read <= 2 * 1024 * 1024 + 128 * 1024, "{read} bytes read");
    assert!(rejects >= 1000, "{rejects} rejects");
    assert_eq!(h.closes(), [(flood, CloseReason::RequestFlood)]);
    // The other leecher is served.
    h.stall_writes = false;
    h.msg(good, Message::Request(req(0)));
    assert_eq!(pieces_sent(&h.sent(good)), 1);
}

#[test]
fn a_peer_that_does_not_read_gets_2_mib_at_most_and_is_dropped_after_the_send_timeout() {
    let mut h = seeder();
    h.stall_writes = true;
    let k = leecher(&mut h, 1);
    for i in 0..250 {
        h.msg(k, Message::Request(req(i)));
    }
    let reads = h
        .out
        .iter()
        .filter(|a| matches!(a, Action::Send(_, m) if m.iter().any(|m| matches!(m, Message::Piece{..}))))
        .count();
    assert_eq!(reads, 2 * 1024 * 1024 / 16384, "reads stop at 2 MiB unsent");
    h.tick(59);
    assert!(h.closes().is_empty(), "not before the send timeout");
    h.tick(2);
    assert_eq!(h.closes(), [(k, CloseReason::NotReading)]);
}

#[test]
fn cancels_remove_queued_requests_and_a_storm_of_them_is_harmless() {
    let mut h = seeder();
    h.stall_writes = true;
    let k = leecher(&mut h, 1);
    // 128 blocks fill the 2 MiB; the rest wait in the queue.
    for i in 0..200 {
        h.msg(k, Message::Request(req(i)));
    }
    h.sent(k);
    for i in 100..200 {
        h.msg(k, Message::Cancel(req(i)));
    }
    // A storm of cancels for things never asked.
    for i in 0..5000 {
        h.msg(k, Message::Cancel(req(10_000 + i)));
    }
    h.stall_writes = false;
    h.core.handle_sent(h.now, k, 2 * 1024 * 1024);
    h.pump();
    let served: BTreeSet<(u32, u32)> = h
        .sent(k)
        .iter()
        .filter_map(|m| match m {
            Message::Piece { index, begin, .. } => Some((*index, *begin)),
            _ => None,
        })
        .collect();
    for i in 100..200 {
        let r = req(i);
        assert!(
            !served.contains(&(r.index, r.begin)),
            "cancelled {r:?} was sent"
        );
    }
    assert!(h.closes().is_empty());
}

#[test]
fn choking_rejects_what_was_queued_except_the_allowed_fast_set() {
    let mut h = seeder();
    let k = h.connect(1);
    // A fast peer gets its allowed fast set with the pieces we have.
    let first = h.sent(k);
    let allowed: Vec<u32> = first
        .iter()
        .filter_map(|m| match m {
            Message::AllowedFast(p) => Some(*p),
            _ => None,
        })
        .collect();
    assert_eq!(allowed.len(), 10, "{first:?}");
    // Choked, it may still ask for those.
    let r = BlockRef {
        index: allowed[0],
        begin: 0,
        length: 16384,
    };
    h.msg(k, Message::Request(r));
    assert_eq!(pieces_sent(&h.sent(k)), 1);
    let other = (0..64).find(|p| !allowed.contains(p)).unwrap();
    let r2 = BlockRef {
        index: other,
        begin: 0,
        length: 16384,
    };
    h.msg(k, Message::Request(r2));
    assert_eq!(h.sent(k), [Message::Reject(r2)]);
}

#[test]
fn interest_flood_changes_nothing() {
    let mut h = seeder();
    let k = h.connect(1);
    h.sent(k);
    for _ in 0..10_000 {
        h.msg(k, Message::Interested);
        h.msg(k, Message::NotInterested);
    }
    let sent = h.sent(k);
    assert!(
        sent.len() <= 2,
        "{} messages for an interest flood",
        sent.len()
    );
    assert!(h.closes().is_empty());
}

/// Twelve interested peers downloading as fast as they may for `secs`
/// seconds; returns the blocks each got and the most unchoked at once.
fn twelve_leechers(h: &mut Harness, secs: u32) -> (Vec<usize>, usize) {
    let keys: Vec<PeerKey> = (0..12).map(|n| h.connect(n)).collect();
    for &k in &keys {
        h.sent(k);
        h.msg(k, Message::Interested);
    }
    let mut got = vec![0; keys.len()];
    let mut open: BTreeSet<PeerKey> = BTreeSet::new();
    let mut most = 0;
    let mut next = 0u32;
    for _ in 0..secs {
        for &k in &keys {
            for m in h.take_sent(k, |m| matches!(m, Message::Choke | Message::Unchoke)) {
                match m {
                    Message::Unchoke => {
                        open.insert(k);
                    }
                    _ => {
                        open.remove(&k);
                    }
                }
            }
            if open.contains(&k) {
                for _ in 0..8 {
                    h.msg(k, Message::Request(req(next)));
                    next += 1;
                }
            }
            got[k as usize] += pieces_sent(&h.sent(k));
        }
        most = most.max(open.len());
        h.tick(1);
    }
    (got, most)
}

#[test]
fn seeding_choker_rotates_every_interested_peer_through_the_slots() {
    // An upload limit keeps the slots at 8 (+ 1 optimistic).
    let t = SimTorrent::single(4 * 1024 * 1024, 64 * 1024, 9);
    let mut h = Harness::with(t, Have::All, monsoon_engine::SessionConfig::new("."), |p| {
        p.upload_limit = 10 << 20;
    });
    let (got, most) = twelve_leechers(&mut h, 600);
    assert!(most <= 9 + 1, "{most} unchoked at once");
    // Round robin: over ten minutes each peer got a fair share, not only
    // the eight that were unchoked first.
    let (min, max) = (got.iter().min().unwrap(), got.iter().max().unwrap());
    assert!(*min * 2 >= *max, "shares {got:?}");
}

#[test]
fn without_an_upload_limit_busy_slots_open_more() {
    let mut h = seeder();
    let (got, most) = twelve_leechers(&mut h, 30);
    assert!(got.iter().all(|g| *g > 0), "{got:?}");
    assert!(most > 9, "only {most} unchoked while every slot was busy");
}

#[test]
fn seeding_stops_at_the_ratio() {
    let t = SimTorrent::single(1024 * 1024, 64 * 1024, 9);
    let mut h = Harness::with(t, Have::All, monsoon_engine::SessionConfig::new("."), |p| {
        p.seed_limits = SeedLimits::new(Some(0.7), None);
    });
    let k = leecher(&mut h, 1);
    for i in 0..40 {
        h.msg(k, Message::Request(req(i)));
    }
    h.tick(1);
    assert_eq!(h.core.state(), TorrentState::Seeding, "ratio 0.625 < 0.7");
    for i in 40..64 {
        h.msg(k, Message::Request(req(i)));
    }
    h.tick(1);
    assert_eq!(h.core.state(), TorrentState::Paused);
    assert!(h.core.stats().seed_limit_reached);
    assert!(h.core.stats().ratio() >= 0.7);
    let _ = (Duration::ZERO, DiskJob::Flush);
}

#[test]
fn seeding_stops_after_the_seed_time() {
    let t = SimTorrent::single(256 * 1024, 64 * 1024, 9);
    let mut h = Harness::with(t, Have::All, monsoon_engine::SessionConfig::new("."), |p| {
        p.seed_limits = SeedLimits::new(None, Some(Duration::from_secs(30)));
    });
    h.tick(29);
    assert_eq!(h.core.state(), TorrentState::Seeding);
    h.tick(2);
    assert_eq!(h.core.state(), TorrentState::Paused);
    assert!(h.core.stats().seed_limit_reached);
    assert!(h.core.stats().seeding_time >= Duration::from_secs(30));
}
