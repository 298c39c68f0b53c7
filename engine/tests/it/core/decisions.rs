//! The core's decisions, one peer message at a time: choking, request
//! pipelining, interest, and the checks that close hostile connections.

use std::collections::BTreeSet;

use monsoon_engine::CloseReason;
use monsoon_piece::PeerKey;
use monsoon_wire::{BlockRef, ExtendedHandshake, Message};

use super::harness::Harness;
use crate::sim::net::Have;
use crate::sim::torrent::SimTorrent;

fn big() -> SimTorrent {
    SimTorrent::single(8 * 1024 * 1024, 16 * 1024, 1)
}

/// Who we unchoked last, from the choke/unchoke messages sent.
fn unchoked(h: &mut Harness, keys: &[PeerKey], state: &mut BTreeSet<PeerKey>) {
    for &k in keys {
        for m in h.take_sent(k, |m| matches!(m, Message::Choke | Message::Unchoke)) {
            match m {
                Message::Unchoke => {
                    state.insert(k);
                }
                Message::Choke => {
                    state.remove(&k);
                }
                _ => {}
            }
        }
    }
}

#[test]
fn leeching_choker_keeps_the_fastest_and_rotates_one_optimistic_slot() {
    let mut cfg = monsoon_engine::SessionConfig::new(".");
    cfg.max_requests_per_peer = 16;
    cfg.upload_slots = 4;
    let mut h = Harness::with(big(), Have::Nothing, cfg, |_| {});
    let keys: Vec<PeerKey> = (0..8).map(|n| h.connect(n)).collect();
    let mut open = BTreeSet::new();
    for &k in &keys {
        h.msg(k, Message::HaveAll);
        h.msg(k, Message::Interested);
        h.msg(k, Message::Unchoke);
    }
    unchoked(&mut h, &keys, &mut open);
    // While slots are free, interested peers are unchoked at once: 4 + 1.
    assert_eq!(open, keys[..5].iter().copied().collect());
    // Peer i sends i+1 blocks a second for ten seconds, a second after it
    // was asked (so its pipeline is sized for a one-second round trip).
    let mut asked: Vec<Vec<BlockRef>> = keys.iter().map(|&k| h.requests(k)).collect();
    h.tick(1);
    for _ in 0..10 {
        for (i, &k) in keys.iter().enumerate() {
            for _ in 0..=i {
                let r = asked[i].remove(0);
                let block = h.block(r);
                h.msg(k, block);
            }
            asked[i].extend(h.requests(k));
        }
        h.tick(1);
    }
    unchoked(&mut h, &keys, &mut open);
    // The four fastest, plus one optimistic among the others.
    let fastest: BTreeSet<PeerKey> = keys[4..].iter().copied().collect();
    assert!(fastest.is_subset(&open), "{open:?}");
    assert_eq!(open.len(), 5, "{open:?}");
    let first_optimistic = *open.difference(&fastest).next().unwrap();
    // Thirty seconds on, the optimistic slot has moved to another slow peer.
    let mut seen = BTreeSet::from([first_optimistic]);
    for _ in 0..3 {
        for (i, &k) in keys.iter().enumerate() {
            for _ in 0..=i {
                if let Some(r) = (!asked[i].is_empty()).then(|| asked[i].remove(0)) {
                    let block = h.block(r);
                    h.msg(k, block);
                }
            }
            asked[i].extend(h.requests(k));
        }
        h.tick(10);
        unchoked(&mut h, &keys, &mut open);
        assert!(fastest.is_subset(&open));
        assert_eq!(open.len(), 5);
        seen.extend(open.difference(&fastest));
    }
    assert!(
        seen.len() >= 2,
        "the optimistic unchoke never rotated: {seen:?}"
    );
}

#[test]
fn seeding_choker_ranks_peers_by_what_they_take() {
    let mut cfg = monsoon_engine::SessionConfig::new(".");
    cfg.upload_slots = 4;
    // Limited upload: the slot count stays at 4.
    let mut h = Harness::with(big(), Have::All, cfg, |p| p.upload_limit = 1 << 20);
    let keys: Vec<PeerKey> = (0..7).map(|n| h.connect(n)).collect();
    let mut open = BTreeSet::new();
    for &k in &keys {
        h.msg(k, Message::Interested);
    }
    unchoked(&mut h, &keys, &mut open);
    assert_eq!(open.len(), 5);
    // Every peer asks; only unchoked ones are served; peer i asks for i+1
    // blocks a second.
    let mut next = 0u32;
    for _ in 0..20 {
        for (i, &k) in keys.iter().enumerate() {
            for _ in 0..=i {
                h.msg(
                    k,
                    Message::Request(BlockRef {
                        index: next % 512,
                        begin: 0,
                        length: 16384,
                    }),
                );
                next += 1;
            }
        }
        h.tick(1);
    }
    unchoked(&mut h, &keys, &mut open);
    // The peers that took most while unchoked keep their slots.
    assert!(
        open.contains(&keys[4]) && open.contains(&keys[3]),
        "{open:?}"
    );
    assert_eq!(open.len(), 5);
}

#[test]
fn pipeline_fills_to_the_start_depth_bounded_by_reqq_and_the_torrent_cap() {
    let mut cfg = monsoon_engine::SessionConfig::new(".");
    cfg.max_requests_total = 30;
    let mut h = Harness::with(big(), Have::Nothing, cfg, |_| {});
    let a = h.connect(1);
    h.msg(a, Message::HaveAll);
    assert_eq!(h.sent(a).last(), Some(&Message::Interested));
    h.msg(a, Message::Unchoke);
    assert_eq!(h.requests(a).len(), 16, "the start window");
    // A peer that queues only 10 gets 10.
    let b = h.connect(2);
    let ext = ExtendedHandshake {
        reqq: Some(10),
        ..ExtendedHandshake::default()
    };
    h.msg(b, ext.to_message());
    h.msg(b, Message::HaveAll);
    h.msg(b, Message::Unchoke);
    assert_eq!(h.requests(b).len(), 10);
    // The torrent-wide cap leaves 30 - 26 for a third.
    let c = h.connect(3);
    h.msg(c, Message::HaveAll);
    h.msg(c, Message::Unchoke);
    assert_eq!(h.requests(c).len(), 4);
    // A choke gives a's requests back: the others may take them.
    h.msg(a, Message::Choke);
    let more = h.requests(b).len() + h.requests(c).len();
    assert!(more > 0, "released requests went nowhere");
}

#[test]
fn interest_follows_what_the_peer_has_and_what_we_want() {
    let t = SimTorrent::single(4 * 16 * 1024, 16 * 1024, 2);
    let mut h = Harness::new(t, Have::Pieces(vec![0, 1]));
    let k = h.connect(1);
    let mut bits = monsoon_piece::Bitfield::new(4);
    bits.set(0, true);
    h.msg(k, Message::Bitfield(bits.to_bytes().into()));
    assert!(
        !h.sent(k).contains(&Message::Interested),
        "it has nothing we lack"
    );
    h.msg(k, Message::Have(3));
    assert_eq!(h.sent(k), [Message::Interested]);
    h.msg(k, Message::Unchoke);
    let asked = h.requests(k);
    assert_eq!(asked.len(), 1);
    let block = h.block(asked[0]);
    h.msg(k, block);
    // Piece 3 verified: nothing else it has is missing.
    let sent = h.sent(k);
    assert!(sent.contains(&Message::NotInterested), "{sent:?}");
    assert!(!sent.contains(&Message::Have(3)), "it has piece 3 already");
}

/// A fresh downloading core with peer `k` that has everything and
/// unchoked us; returns the requests it got.
fn with_peer(h: &mut Harness) -> (PeerKey, Vec<BlockRef>) {
    let k = h.connect(1);
    h.msg(k, Message::HaveAll);
    h.msg(k, Message::Unchoke);
    let asked = h.requests(k);
    (k, asked)
}

#[test]
fn a_late_bitfield_adds_pieces_and_keeps_the_peer() {
    // aria2c sends a bitfield again mid-connection as it gets pieces:
    // it is a batch of `have`s, not a protocol violation.
    let t = SimTorrent::single(10 * 16 * 1024, 16 * 1024, 3);
    let mut h = Harness::new(t, Have::Nothing);
    let k = h.connect(1);
    h.msg(k, Message::Have(1));
    h.msg(k, Message::Unchoke);
    let first: Vec<u32> = h.requests(k).iter().map(|r| r.index).collect();
    assert_eq!(first, vec![1], "only piece 1 is known");
    // Pieces 1 and 6 (bits 0 and 1 of byte 0 are pieces 0 and 1...).
    h.msg(k, Message::Bitfield(vec![0b0100_0010, 0].into()));
    // A late have-none takes nothing back.
    h.msg(k, Message::HaveNone);
    let block = h.block(BlockRef {
        index: 1,
        begin: 0,
        length: 16384,
    });
    h.msg(k, block);
    let next: Vec<u32> = h.requests(k).iter().map(|r| r.index).collect();
    assert_eq!(next, vec![6], "piece 6 came with the late bitfield");
    assert!(h.closes().is_empty(), "{:?}", h.closes());
    // A late bitfield that does not fit the torrent is still refused.
    h.msg(k, Message::Bitfield(vec![0xff, 0xff].into()));
    assert_eq!(h.closes(), vec![(k, CloseReason::BadBitfield)]);
}

#[test]
fn hostile_messages_close_the_connection_for_their_reason() {
    let t = SimTorrent::single(10 * 16 * 1024 + 100, 16 * 1024, 3);
    let n = t.meta.piece_count();
    let cases: Vec<(&str, Vec<Message>, CloseReason)> = vec![
        (
            "have past the end",
            vec![Message::Have(n)],
            CloseReason::HaveOutOfRange,
        ),
        (
            "bitfield too long",
            vec![Message::Bitfield(vec![0xff, 0xe0, 0].into())],
            CloseReason::BadBitfield,
        ),
        (
            "bitfield spare bits",
            vec![Message::Bitfield(vec![0xff, 0xff].into())],
            CloseReason::BadBitfield,
        ),
        (
            "block not asked for",
            vec![Message::Piece {
                index: 3,
                begin: 0,
                data: vec![0; 16384].into(),
            }],
            CloseReason::UnrequestedBlock,
        ),
        (
            "block of a wrong size",
            vec![Message::Piece {
                index: 0,
                begin: 0,
                data: vec![0; 100].into(),
            }],
            CloseReason::BlockOutOfRange,
        ),
        (
            "block past the end",
            vec![Message::Piece {
                index: n,
                begin: 0,
                data: vec![0; 16384].into(),
            }],
            CloseReason::BlockOutOfRange,
        ),
        (
            "request past the end",
            vec![Message::Request(BlockRef {
                index: n,
                begin: 0,
                length: 16384,
            })],
            CloseReason::RequestOutOfRange,
        ),
        (
            "request of length 0",
            vec![Message::Request(BlockRef {
                index: 0,
                begin: 0,
                length: 0,
            })],
            CloseReason::RequestOutOfRange,
        ),
        (
            "request over 128 KiB",
            vec![Message::Request(BlockRef {
                index: 0,
                begin: 0,
                length: 128 * 1024 + 1,
            })],
            CloseReason::RequestOutOfRange,
        ),
        (
            "request across the piece end",
            vec![Message::Request(BlockRef {
                index: n - 1,
                begin: 0,
                length: 16384,
            })],
            CloseReason::RequestOutOfRange,
        ),
    ];
    for (what, msgs, reason) in cases {
        let mut h = Harness::new(t.clone(), Have::Nothing);
        let k = h.connect(1);
        for m in msgs {
            h.msg(k, m);
        }
        assert_eq!(h.closes(), [(k, reason)], "{what}");
        assert_eq!(h.core.stats().closed_by_us.get(reason), 1, "{what}");
        assert_eq!(h.core.peer_count(), 0, "{what}");
        // Later messages of the closed peer are ignored.
        h.msg(k, Message::Have(0));
        assert!(h.closes().is_empty(), "{what}");
    }
}

#[test]
fn a_late_answer_to_a_released_request_is_accepted() {
    let mut h = Harness::new(big(), Have::Nothing);
    let (k, asked) = with_peer(&mut h);
    h.msg(k, Message::Choke);
    // Its answers to the requests it had are still welcome.
    let block = h.block(asked[0]);
    h.msg(k, block);
    assert!(h.closes().is_empty());
    // But not twice.
    let block = h.block(asked[0]);
    h.msg(k, block);
    assert_eq!(h.closes(), [(k, CloseReason::UnrequestedBlock)]);
}

#[test]
fn the_download_rate_falls_to_zero_when_blocks_stop() {
    let mut h = Harness::new(big(), Have::Nothing);
    let (k, asked) = with_peer(&mut h);
    for r in asked.iter().take(16) {
        let block = h.block(*r);
        h.msg(k, block);
    }
    h.tick(1);
    assert!(h.core.stats().download_rate > 0.0);
    // Halving each second would leave a tail forever; idle is 0.
    h.tick(40);
    assert!(h.closes().is_empty(), "the peer is still connected");
    assert_eq!(h.core.stats().download_rate, 0.0);
}

#[test]
fn skipping_pieces_cancels_their_requests_in_flight() {
    let mut h = Harness::new(big(), Have::Nothing);
    let (k, asked) = with_peer(&mut h);
    let skipped = |piece: u32| piece % 2 == 0;
    assert!(asked.iter().any(|r| skipped(r.index)));
    let prios = (0..512).map(|p| u8::from(!skipped(p))).collect();
    h.core.set_piece_priorities(h.now, prios).unwrap();
    h.pump();
    let sent = h.sent(k);
    let cancelled: BTreeSet<_> = sent
        .iter()
        .filter_map(|m| match m {
            Message::Cancel(r) => Some((r.index, r.begin)),
            _ => None,
        })
        .collect();
    let expected: BTreeSet<_> = asked
        .iter()
        .filter(|r| skipped(r.index))
        .map(|r| (r.index, r.begin))
        .collect();
    assert_eq!(cancelled, expected, "exactly the skipped pieces' requests");
    let new_requests: Vec<_> = sent
        .iter()
        .filter_map(|m| match m {
            Message::Request(r) => Some(r.index),
            _ => None,
        })
        .collect();
    assert!(
        !new_requests.is_empty() && new_requests.iter().all(|&p| !skipped(p)),
        "the freed slots go to wanted pieces: {new_requests:?}"
    );
    // An answer already on the wire is accepted, not a violation.
    let late = asked.iter().find(|r| skipped(r.index)).unwrap();
    let block = h.block(*late);
    h.msg(k, block);
    assert!(h.closes().is_empty());
}

#[test]
fn a_skipped_piece_partly_received_is_completed_not_abandoned() {
    // 16 pieces of 4 blocks; the start depth asks for all of them.
    let t = SimTorrent::single(1024 * 1024, 64 * 1024, 3);
    let mut h = Harness::new(t, Have::Nothing);
    let (k, asked) = with_peer(&mut h);
    let started = asked[0].index;
    let untouched = asked
        .iter()
        .map(|r| r.index)
        .find(|&p| p != started)
        .unwrap();
    let first = h.block(asked[0]);
    h.msg(k, first);
    let mut prios = vec![1u8; 16];
    prios[started as usize] = 0;
    prios[untouched as usize] = 0;
    h.core.set_piece_priorities(h.now, prios).unwrap();
    h.pump();
    let cancelled: Vec<u32> = h
        .sent(k)
        .iter()
        .filter_map(|m| match m {
            Message::Cancel(r) => Some(r.index),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled, [untouched; 4], "only the piece with nothing yet");
    // The partly received one completes and is written.
    for r in asked.iter().filter(|r| r.index == started).skip(1) {
        let block = h.block(*r);
        h.msg(k, block);
    }
    assert!(h.closes().is_empty());
    assert_eq!(h.core.stats().pieces_done, 1, "verified and written");
}

#[test]
fn requests_we_will_not_serve_are_rejected_with_the_fast_extension() {
    let mut h = Harness::new(big(), Have::Pieces(vec![0]));
    let k = h.connect(1);
    let r = BlockRef {
        index: 0,
        begin: 0,
        length: 16384,
    };
    // Choked: rejected.
    h.msg(k, Message::Request(r));
    assert!(h.sent(k).contains(&Message::Reject(r)));
    h.msg(k, Message::Interested);
    assert!(h.sent(k).contains(&Message::Unchoke));
    // A piece we do not have: rejected; one we have: served.
    let missing = BlockRef { index: 1, ..r };
    h.msg(k, Message::Request(missing));
    assert_eq!(h.sent(k), [Message::Reject(missing)]);
    h.msg(k, Message::Request(r));
    assert_eq!(h.sent(k), [h.block(r)]);
    assert_eq!(h.core.stats().uploaded, 16384);
    // Without the fast extension, refused requests are dropped silently
    // and the connection stays.
    let (id, dir) = (Harness::id(2), monsoon_engine::torrent::Direction::Incoming);
    let plain = h.try_connect(2, dir, id, false).unwrap();
    h.sent(plain);
    h.msg(plain, Message::Request(r));
    assert!(h.sent(plain).is_empty());
    assert!(h.closes().is_empty());
}

#[test]
fn a_seed_meeting_a_seed_hangs_up() {
    let mut h = Harness::new(big(), Have::All);
    let k = h.connect(1);
    h.msg(k, Message::HaveAll);
    assert_eq!(h.closes(), [(k, CloseReason::BothSeeds)]);
}

#[test]
fn peer_infos_say_who_and_how() {
    let mut h = Harness::new(big(), Have::Nothing);
    let k = h.connect(1);
    h.msg(k, Message::HaveAll);
    h.msg(k, Message::Unchoke);
    let infos = h.core.peer_infos();
    assert_eq!(infos.len(), 1);
    let p = &infos[0];
    assert_eq!(p.addr, Harness::addr(1));
    assert_eq!(p.client, "-XX0000- 0.0.0.0");
    assert_eq!(p.progress, 1.0);
    assert!(p.am_interested && !p.peer_choking && p.am_choking && !p.peer_interested);
}
