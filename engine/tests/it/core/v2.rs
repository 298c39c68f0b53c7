//! The core's BitTorrent v2 rules: which handshakes speak v2 (libtorrent's
//! upgrade of a hybrid connection), the info-hash our answer names, `hash
//! request`s served from the piece layers (and rejected when they do not
//! fit, or come too fast), and a hybrid whose two halves disagree.

use monsoon_engine::torrent::Direction;
use monsoon_engine::{CloseReason, MetaVersion, PeerSource, TorrentError, TorrentState};
use monsoon_piece::PeerKey;
use monsoon_storage::merkle::{self, Hash256};
use monsoon_wire::{Handshake, HashRequest, Message, Reserved};

use super::harness::Harness;
use crate::sim::net::Have;
use crate::sim::torrent::SimTorrent;

/// A torrent of `version` whose first file has 38 pieces of 32 KiB (75
/// blocks: a tree of 128 leaves, 7 layers above them; the piece layer is
/// layer 1, 64 nodes wide) and whose second file has one piece.
fn torrent(version: MetaVersion, bad_sha1: Option<u32>) -> SimTorrent {
    let files = [("a.bin", 37 * 32768 + 100), ("b.bin", 5000)];
    SimTorrent::versioned(&files, 32768, 6, version, bad_sha1)
}

fn short(t: &SimTorrent) -> [u8; 20] {
    t.meta.info_hash_v2.unwrap()[..20].try_into().unwrap()
}

fn handshake(info_hash: [u8; 20], n: u8, v2_bit: bool) -> Handshake {
    let mut hs = Handshake::new(info_hash, Harness::id(n));
    hs.reserved = Reserved::default().with_extension_protocol().with_fast();
    if v2_bit {
        hs.reserved = hs.reserved.with_v2();
    }
    hs
}

fn speaks_v2(h: &Harness, n: u8) -> bool {
    let addr = Harness::addr(n);
    let p = h.core.peer_infos().into_iter().find(|p| p.addr == addr);
    p.expect("connected").v2
}

#[test]
fn a_hybrid_speaks_v2_with_peers_naming_its_v2_hash_or_offering_to_upgrade() {
    use Direction::{Incoming, Outgoing};
    let t = torrent(MetaVersion::Hybrid, None);
    let (v1, v2) = (t.meta.info_hash, short(&t));
    let mut h = Harness::new(t, Have::All);
    // (who dialled, the info-hash their handshake names, the v2 bit,
    // whether the connection speaks v2, what our answer to a dial names)
    let cases = [
        (Incoming, v1, true, true, v2),
        (Incoming, v1, false, false, v1),
        (Incoming, v2, false, true, v2),
        (Incoming, v2, true, true, v2),
        // Their answer to our dial: v1 is a v1-only client (aria2c), the
        // v2 hash a client that took our offer (libtorrent).
        (Outgoing, v1, true, false, v1),
        (Outgoing, v1, false, false, v1),
        (Outgoing, v2, false, true, v2),
    ];
    for (n, (direction, ih, bit, v2_expected, answer)) in (1..).zip(cases) {
        let hs = handshake(ih, n, bit);
        if direction == Incoming {
            assert_eq!(h.core.reply_info_hash(&hs), answer, "case {n}");
        }
        h.handshake(n, direction, &hs).expect("accepted");
        assert_eq!(speaks_v2(&h, n), v2_expected, "case {n}");
    }
    let other = handshake([9; 20], 30, true);
    assert_eq!(
        h.handshake(30, Incoming, &other),
        Err(CloseReason::WrongInfoHash)
    );
}

#[test]
fn peers_that_announced_the_v2_hash_are_dialled_by_it() {
    let t = torrent(MetaVersion::Hybrid, None);
    let (v1, v2) = (t.meta.info_hash, short(&t));
    let mut h = Harness::new(t, Have::Nothing);
    let (a, b) = (Harness::addr(1), Harness::addr(2));
    let now = h.now;
    h.core.add_peers(now, &[a], PeerSource::Tracker);
    h.core.add_v2_peers(now, &[b], PeerSource::Dht);
    h.pump();
    let mut dialled = h.connects();
    dialled.sort();
    assert_eq!(dialled, [a, b]);
    assert_eq!(h.core.dial_info_hash(a), v1, "v1 with the offer to upgrade");
    assert_eq!(h.core.dial_info_hash(b), v2);
    // Its answer naming the v2 hash makes a v2 connection.
    h.handshake(2, Direction::Outgoing, &handshake(v2, 2, false))
        .unwrap();
    assert!(speaks_v2(&h, 2));
    // A v1 torrent has no v2 hash to name.
    let t = SimTorrent::single(100_000, 32768, 2);
    let v1 = t.meta.info_hash;
    let mut h = Harness::new(t, Have::Nothing);
    let now = h.now;
    h.core.add_v2_peers(now, &[b], PeerSource::Tracker);
    assert_eq!(h.core.dial_info_hash(b), v1);
}

#[test]
fn a_v1_torrent_never_speaks_v2_and_rejects_hash_requests() {
    let t = SimTorrent::single(100_000, 32768, 2);
    let v1 = t.meta.info_hash;
    let mut h = Harness::new(t, Have::All);
    let hs = handshake(v1, 1, true);
    assert_eq!(h.core.reply_info_hash(&hs), v1);
    let k = h.handshake(1, Direction::Incoming, &hs).unwrap();
    assert!(!speaks_v2(&h, 1));
    let req = HashRequest {
        pieces_root: [1; 32],
        base_layer: 0,
        index: 0,
        length: 2,
        proof_layers: 0,
    };
    h.msg(k, Message::HashRequest(req));
    let sent = h.take_sent(k, |m| matches!(m, Message::HashReject(_)));
    assert_eq!(sent, [Message::HashReject(req)]);
}

/// A v2 seed and a v2 peer connected to it.
fn v2_seed() -> (Harness, PeerKey) {
    let t = torrent(MetaVersion::V2, None);
    let hs = handshake(short(&t), 1, false);
    let mut h = Harness::new(t, Have::All);
    assert_eq!(h.core.state(), TorrentState::Seeding);
    let k = h.handshake(1, Direction::Incoming, &hs).unwrap();
    h.sent(k);
    (h, k)
}

/// What we answer to `req`.
fn ask(h: &mut Harness, k: PeerKey, req: HashRequest) -> Message {
    h.msg(k, Message::HashRequest(req));
    let mut got = h.take_sent(k, |m| {
        matches!(m, Message::Hashes { .. } | Message::HashReject(_))
    });
    assert_eq!(got.len(), 1, "{got:?}");
    got.remove(0)
}

fn hashes_of(m: &Message) -> Vec<Hash256> {
    let Message::Hashes { hashes, .. } = m else {
        panic!("rejected: {m:?}");
    };
    hashes.chunks(32).map(|c| c.try_into().unwrap()).collect()
}

#[test]
fn hash_requests_are_answered_from_the_piece_layer_with_their_proof() {
    let (mut h, k) = v2_seed();
    let meta = h.torrent.meta.clone();
    let root = meta.files.file(0).pieces_root().copied().unwrap();
    let layer = meta.piece_layer(0).unwrap().to_vec();
    assert_eq!(layer.len(), 38);
    let pad = merkle::pad_hash(2);
    // (index, count, proof layers, uncles in the answer): the proof layers
    // count from the base layer, the first uncle is the sibling of the
    // root of the `count` hashes (BEP 52 as libtorrent reads it).
    for (index, count, proof, uncles) in [
        (0u32, 64u32, 5u32, 0usize),
        (32, 32, 5, 1),
        (0, 2, 5, 5),
        (36, 4, 5, 4),
        (32, 32, 0, 0),
    ] {
        let req = HashRequest {
            pieces_root: root,
            base_layer: 1,
            index,
            length: count,
            proof_layers: proof,
        };
        let answer = ask(&mut h, k, req);
        assert!(matches!(answer, Message::Hashes { request, .. } if request == req));
        let got = hashes_of(&answer);
        assert_eq!(got.len(), count as usize + uncles, "{req:?}");
        let (base, proof_hashes) = got.split_at(count as usize);
        for (i, hash) in base.iter().enumerate() {
            let want = layer.get(index as usize + i).unwrap_or(&pad);
            assert_eq!(hash, want, "node {} of {req:?}", index as usize + i);
        }
        // With every proof layer, the answer leads to the root.
        if proof == 5 {
            assert!(merkle::verify_hashes(
                &root,
                128,
                1,
                u64::from(index),
                base,
                proof_hashes
            ));
        }
    }
    assert!(h.closes().is_empty());
}

#[test]
fn hash_requests_that_do_not_fit_are_rejected() {
    let (mut h, k) = v2_seed();
    let meta = h.torrent.meta.clone();
    let root = meta.files.file(0).pieces_root().copied().unwrap();
    let small = meta
        .files
        .iter()
        .find(|f| f.name() == "b.bin")
        .unwrap()
        .pieces_root()
        .copied()
        .unwrap();
    let ok = HashRequest {
        pieces_root: root,
        base_layer: 1,
        index: 0,
        length: 2,
        proof_layers: 5,
    };
    assert!(matches!(ask(&mut h, k, ok), Message::Hashes { .. }));
    for bad in [
        HashRequest {
            pieces_root: [7; 32],
            ..ok
        },
        // Below the piece layer: we keep no block hashes.
        HashRequest {
            base_layer: 0,
            ..ok
        },
        HashRequest { length: 3, ..ok },
        HashRequest { length: 0, ..ok },
        HashRequest { index: 1, ..ok },
        HashRequest { index: 64, ..ok },
        HashRequest {
            index: 62,
            length: 4,
            ..ok
        },
        HashRequest {
            proof_layers: 6,
            ..ok
        },
        HashRequest {
            base_layer: 7,
            length: 1,
            proof_layers: 0,
            ..ok
        },
        // A file of one piece has no piece layer.
        HashRequest {
            pieces_root: small,
            base_layer: 0,
            ..ok
        },
    ] {
        assert_eq!(
            ask(&mut h, k, bad),
            Message::HashReject(bad),
            "{bad:?} is rejected"
        );
    }
    assert!(
        h.closes().is_empty(),
        "a bad request is rejected, not fatal"
    );
}

#[test]
fn a_peer_asking_for_hashes_too_fast_is_rejected_then_closed() {
    let (mut h, k) = v2_seed();
    let req = HashRequest {
        pieces_root: h.torrent.meta.files.file(0).pieces_root().copied().unwrap(),
        base_layer: 1,
        index: 0,
        length: 64,
        proof_layers: 5,
    };
    let answered = |h: &mut Harness, n: usize| {
        (0..n)
            .filter(|_| matches!(ask(h, k, req), Message::Hashes { .. }))
            .count()
    };
    assert_eq!(answered(&mut h, 100), 64, "64 a second are answered");
    h.tick(1);
    assert_eq!(answered(&mut h, 10), 10, "the next second, again");
    for _ in 0..2000 {
        h.msg(k, Message::HashRequest(req));
        if !h.closes().is_empty() {
            break;
        }
        h.sent(k);
    }
    assert!(
        !h.core
            .peer_infos()
            .iter()
            .any(|p| p.addr == Harness::addr(1)),
        "closed for flooding"
    );
    assert_eq!(
        h.core.stats().closed_by_us.get(CloseReason::RequestFlood),
        1
    );
}

#[test]
fn a_hybrid_piece_that_matches_one_hash_only_stops_the_torrent() {
    let t = torrent(MetaVersion::Hybrid, Some(1));
    let v1 = t.meta.info_hash;
    let mut h = Harness::new(t, Have::Nothing);
    let k = h
        .handshake(1, Direction::Incoming, &handshake(v1, 1, false))
        .unwrap();
    h.msg(k, Message::HaveAll);
    h.msg(k, Message::Unchoke);
    // Serve what is asked until the core stops asking.
    for _ in 0..100 {
        let asked = h.requests(k);
        if asked.is_empty() {
            break;
        }
        for r in asked {
            let block = h.block(r);
            h.msg(k, block);
        }
    }
    assert_eq!(h.core.state(), TorrentState::Error);
    assert!(
        matches!(
            h.core.stats().error,
            Some(TorrentError::InconsistentHashes { piece: 1 })
        ),
        "{:?}",
        h.core.stats().error
    );
    assert!(!h.core.have().get(1), "nothing of it is kept");
}
