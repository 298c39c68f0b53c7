//! Picker scenarios: in-progress first, rarest first, priorities,
//! sequential, endgame and cancels, chokes, hash failures, resume.
use monsoon_piece::{
    BLOCK_LEN, Bitfield, Block, Endgame, Geometry, PeerKey, Picker, RANDOM_FIRST_PIECES,
};

fn bits(n: u32, ones: &[u32]) -> Bitfield {
    let mut b = Bitfield::new(n);
    for &i in ones {
        b.set(i, true);
    }
    b
}

/// `pieces` pieces of `blocks` full blocks each.
fn picker(pieces: u32, blocks: u32) -> Picker {
    let len = blocks * BLOCK_LEN;
    Picker::new(
        Geometry::new(u64::from(pieces) * u64::from(len), len).unwrap(),
        1,
    )
}

#[test]
fn rarest_first_after_random_start() {
    let n = 40;
    let mut p = picker(n, 1);
    // Past the random first pieces.
    let done: Vec<u32> = (0..RANDOM_FIRST_PIECES).collect();
    p.set_have(&bits(n, &done));
    p.on_have_all(1);
    // Peer 2 has every piece but 37, peer 3 only 20 and 37: 20 is the most
    // common piece, 37 the rarest.
    let all_but_37: Vec<u32> = (0..n).filter(|&i| i != 37).collect();
    p.on_bitfield(2, &bits(n, &all_but_37));
    p.on_bitfield(3, &bits(n, &[20, 37]));
    assert_eq!((p.availability(20), p.availability(37)), (3, 2));
    assert_eq!(p.pick(3, 1)[0].piece, 37);
    // Peer 2 gets piece 20 last.
    let got = p.pick(2, (n - RANDOM_FIRST_PIECES - 2) as usize);
    assert!(got.iter().all(|b| b.piece != 20 && b.piece != 37));
    assert_eq!(p.pick(2, 1)[0].piece, 20);
}

#[test]
fn pieces_in_progress_come_first() {
    let mut p = picker(10, 4);
    p.on_have_all(1);
    p.on_have_all(2);
    let first = p.pick(1, 2);
    assert_eq!(first[0].piece, first[1].piece);
    let piece = first[0].piece;
    // Peer 2 finishes the piece peer 1 started before starting another.
    let second = p.pick(2, 3);
    assert_eq!(second[0].piece, piece);
    assert_eq!(second[1].piece, piece);
    assert_ne!(second[2].piece, piece);
    assert_eq!(p.in_progress(), 2);
}

#[test]
fn priorities_and_skip() {
    let n = 8;
    let mut p = picker(n, 1);
    p.set_priorities(&[0, 1, 1, 3, 0, 2, 1, 1]);
    assert_eq!(p.wanted_remaining(), 6);
    p.on_bitfield(1, &bits(n, &[0, 4]));
    assert!(!p.is_interesting(1), "only skipped pieces");
    assert!(p.pick(1, 10).is_empty());
    p.on_have_all(2);
    let got: Vec<u32> = p.pick(2, 10).iter().map(|b| b.piece).collect();
    assert_eq!(got.len(), 6);
    assert_eq!(&got[..2], &[3, 5], "highest priority first");
    assert!(!got.contains(&0) && !got.contains(&4));
}

#[test]
fn sequential_mode() {
    let n = 30;
    let mut p = picker(n, 2);
    p.set_sequential(true);
    assert!(p.is_sequential());
    p.on_bitfield(1, &bits(n, &[3, 5, 9, 12]));
    p.on_have_all(2);
    let got: Vec<u32> = p.pick(1, 5).iter().map(|b| b.piece).collect();
    assert_eq!(got, vec![3, 3, 5, 5, 9]);
    let got: Vec<u32> = p.pick(2, 6).iter().map(|b| b.piece).collect();
    assert_eq!(got, vec![9, 0, 0, 1, 1, 2]);
}

#[test]
fn endgame_duplicates_and_cancels() {
    let mut p = picker(2, 2);
    p.on_have_all(1);
    p.on_have_all(2);
    let a = p.pick(1, 10);
    assert_eq!(a.len(), 4);
    assert!(p.in_endgame());
    let b = p.pick(2, 10);
    assert_eq!(b.len(), 4, "every block once more");
    assert!(p.pick(2, 10).is_empty(), "never twice to the same peer");
    p.on_have_all(3);
    p.on_have_all(4);
    assert_eq!(p.pick(3, 10).len(), 4);
    assert!(
        p.pick(4, 10).is_empty(),
        "at most three requesters per block"
    );
    let out = p.on_block(2, a[0], ());
    assert!(out.accepted && !out.piece_complete);
    let mut cancel = out.cancel.clone();
    cancel.sort();
    assert_eq!(cancel, vec![(1, a[0]), (3, a[0])]);
    assert!(!p.requests(1).contains(&a[0]));
    let late = p.on_block(1, a[0], ());
    assert!(!late.accepted, "a duplicate is not accepted");
}

#[test]
fn endgame_duplicates_go_to_whoever_delivers_sooner() {
    // Seconds each peer would take for a block asked of it now.
    let eta = |k: PeerKey, _: Block| match k {
        1 => 5.0,
        2 => 9.0,
        3 => 7.0,
        _ => f64::INFINITY,
    };
    let soon = |own: f64, most: usize| Endgame { own, most };
    let mut p = picker(1, 2);
    for k in 1..=6 {
        p.on_have_all(k);
    }
    let a = p.pick(1, 10);
    assert_eq!(a.len(), 2);
    // Not sooner than peer 1: nothing.
    assert!(p.pick_with(2, 10, soon(5.0, 9), eta).blocks.is_empty());
    // Sooner, but one at a time.
    let b = p.pick_with(2, 10, soon(4.0, 1), eta);
    assert_eq!((b.blocks.len(), b.displaced.len()), (1, 0));
    assert_eq!(p.pick_with(3, 10, soon(4.0, 9), eta).blocks.len(), 2);
    // Block 0 has three requesters (1, 2, 3), block 1 two (1, 3). A peer
    // sooner than all of them is the third on block 1 (fewest requesters
    // first), and takes the latest one's place on block 0 (peer 2, 9 s),
    // who is to be told.
    let d = p.pick_with(4, 10, soon(4.9, 9), eta);
    assert_eq!(d.blocks, [a[1], a[0]]);
    assert_eq!(d.displaced, [(2, a[0])]);
    assert!(!p.requests(2).contains(&a[0]));
    assert!(p.requests(4).contains(&a[0]));
    // Both blocks are full now, each with peer 4, whose time is not
    // known: it is not displaced, however soon the next one is.
    let e = p.pick_with(5, 10, soon(0.1, 9), eta);
    assert!(e.blocks.is_empty() && e.displaced.is_empty(), "{e:?}");
    // Nobody is displaced for a holder whose time is not known.
    let mut q = picker(1, 1);
    for k in 1..=4 {
        q.on_have_all(k);
    }
    for k in 1..=3 {
        assert_eq!(q.pick(k, 1).len(), 1);
    }
    let z = q.pick_with(4, 1, soon(0.0, 9), |_, _| f64::INFINITY);
    assert!(z.blocks.is_empty() && z.displaced.is_empty());
}

#[test]
fn choke_releases_and_late_blocks() {
    let mut p = picker(1, 3);
    p.on_have_all(1);
    p.on_have_all(2);
    let got = p.pick(1, 3);
    assert_eq!(p.requests(1).len(), 3);
    p.on_choked(1);
    assert!(p.requests(1).is_empty());
    assert_eq!(
        p.in_progress(),
        0,
        "an untouched piece goes back to missing"
    );
    // Released and requested from nobody: a late block is dropped.
    assert!(!p.on_block(1, got[0], ()).accepted);
    // Requested from peer 2 now: a late block from peer 1 is accepted and
    // peer 2's request is to be cancelled.
    let again = p.pick(2, 3);
    assert_eq!(again.len(), 3);
    let out = p.on_block(1, again[0], ());
    assert!(out.accepted);
    assert_eq!(out.cancel, vec![(2, again[0])]);
    // A single release.
    p.release(2, again[1]);
    assert_eq!(p.requests(2), &[again[2]]);
    assert_eq!(p.pick(1, 1), vec![again[1]]);
    assert!(p.in_endgame());
    p.peer_gone(2);
    assert_eq!(p.availability(0), 1);
    assert!(!p.in_endgame());
    assert_eq!(p.pick(1, 5), vec![again[2]]);
}

#[test]
fn hash_failure_reports_contributors_and_requeues() {
    let mut p = picker(1, 2);
    p.on_have_all(7);
    p.on_have_all(9);
    let a = p.pick(7, 1);
    let b = p.pick(9, 1);
    assert!(!p.on_block(7, a[0], ()).piece_complete);
    assert!(p.on_block(9, b[0], ()).piece_complete);
    assert!(p.pick(7, 5).is_empty(), "complete piece waits for its hash");
    assert_eq!(p.on_piece_failed(0), vec![7, 9]);
    assert_eq!(p.wanted_remaining(), 1);
    assert_eq!(p.pick(7, 5).len(), 2, "piece back to missing");
    assert_eq!(
        p.on_piece_failed(0),
        Vec::<u32>::new(),
        "nothing received yet"
    );
    assert!(p.requests(7).is_empty());
}

#[test]
fn resume_and_interest() {
    let n = 10;
    let mut p = picker(n, 1);
    p.set_have(&bits(n, &[0, 1, 2, 3, 4, 5, 6, 7, 8]));
    assert_eq!(p.wanted_remaining(), 1);
    p.on_bitfield(1, &bits(n, &[0, 1, 2]));
    assert!(!p.is_interesting(1));
    p.on_have(1, 9);
    assert!(p.is_interesting(1));
    assert_eq!(p.availability(9), 1);
    let got = p.pick(1, 4);
    assert_eq!(
        got,
        vec![Block {
            piece: 9,
            begin: 0,
            length: BLOCK_LEN
        }]
    );
    assert!(p.on_block(1, got[0], ()).piece_complete);
    p.on_piece_verified(9);
    assert!(p.is_complete());
    assert!(!p.is_interesting(1));
    assert!(p.have().all());
    assert!(!p.in_endgame());
}

#[test]
fn full_bitfield_and_haves_make_a_seed() {
    let n = 3;
    let mut p = picker(n, 1);
    p.on_bitfield(1, &bits(n, &[0, 1]));
    p.on_have(1, 2);
    assert_eq!((p.availability(0), p.availability(2)), (1, 1));
    p.on_have_none(1);
    assert_eq!(p.availability(0), 0);
    assert!(!p.is_interesting(1));
    p.on_bitfield(2, &Bitfield::full(n));
    assert_eq!(p.availability(1), 1);
    p.on_bitfield(2, &Bitfield::new(5));
    assert_eq!(
        p.availability(1),
        1,
        "a bitfield of the wrong length is ignored"
    );
    p.check_consistency().unwrap();
}

#[test]
fn peer_with_late_pieces_falls_back_to_its_bitfield() {
    let n = 10_000;
    let mut p = picker(n, 1);
    p.set_have(&bits(n, &[0, 1, 2, 3]));
    let early: Vec<u32> = (4..8_000).collect();
    let late: Vec<u32> = (8_000..n).collect();
    p.on_bitfield(1, &bits(n, &early));
    for k in 2..8 {
        p.on_bitfield(k, &bits(n, &late));
    }
    // Peer 7's pieces all sit behind 7,996 it lacks: more than reading its bitfield costs.
    let got = p.pick(7, 5);
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|b| b.piece >= 8_000));
    // A peer with a handful of pieces: its bitfield is read directly.
    let taken: Vec<u32> = got.iter().map(|b| b.piece).collect();
    let mut spare = (8_000..n).filter(|x| !taken.contains(x));
    let (a, b) = (spare.next().unwrap(), spare.next().unwrap());
    p.on_bitfield(8, &bits(n, &[5, a, b]));
    let got: Vec<u32> = p.pick(8, 3).iter().map(|b| b.piece).collect();
    assert_eq!(got[0], 5, "the rarest of its pieces first");
    assert_eq!(got.len(), 3);
    p.check_consistency().unwrap();
}

#[test]
fn many_peers_come_and_go() {
    let n = 50;
    let mut p = picker(n, 2);
    let mut seed = 0x1234_5678_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for k in 0..300u32 {
        let mask = next();
        let ones: Vec<u32> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
        p.on_bitfield(k, &bits(n, &ones));
        if k % 3 == 0 {
            p.peer_gone(k / 2);
        }
        if k % 7 == 0 {
            p.on_have_all(k);
        }
        for b in p.pick(k, 3) {
            if p.on_block(k, b, ()).piece_complete && k % 5 != 0 {
                p.on_piece_verified(b.piece);
            }
        }
    }
    p.check_consistency().unwrap();
    assert!(
        p.peer_count() > 128,
        "the holders matrix grew past two words"
    );
    for k in 0..300 {
        p.peer_gone(k);
    }
    p.check_consistency().unwrap();
    assert_eq!(p.peer_count(), 0);
    assert_eq!((0..n).map(|i| p.availability(i)).sum::<u32>(), 0);
}

#[test]
fn block_data_is_kept_until_the_piece_is_taken() {
    let len = 3 * BLOCK_LEN;
    let geo = Geometry::new(2 * u64::from(len), len).unwrap();
    let mut p: Picker<String> = Picker::with_data(geo, 1);
    p.on_have_all(1);
    p.on_have_all(2);
    let a = p.pick(1, 3);
    assert_eq!(a.len(), 3);
    // Blocks arrive out of order; a duplicate and an unrequested one are refused.
    assert!(p.on_block(1, a[2], "c".into()).accepted);
    assert!(!p.on_block(1, a[2], "c again".into()).accepted);
    assert!(p.take_piece(a[0].piece).is_none(), "not complete yet");
    assert!(p.on_block(1, a[0], "a".into()).accepted);
    assert!(p.on_block(1, a[1], "b".into()).piece_complete);
    assert_eq!(
        p.take_piece(a[0].piece),
        Some(vec!["a".to_string(), "b".into(), "c".into()]),
        "in block order"
    );
    assert_eq!(p.take_piece(a[0].piece), None, "taken once");
    // Contributors are still known after the data left.
    assert_eq!(p.on_piece_failed(a[0].piece), vec![1]);
    let b = p.pick(2, 3);
    assert!(p.on_block(2, b[0], "x".into()).accepted);
    p.on_piece_verified(b[0].piece);
    assert_eq!(
        p.take_piece(b[0].piece),
        None,
        "verified pieces hold no data"
    );
}

#[test]
fn released_requests_are_returned() {
    let mut p = picker(4, 2);
    p.on_have_all(1);
    let got = p.pick(1, 3);
    assert_eq!(p.requests_total(), 3);
    assert!(p.is_requested(1, got[0]));
    let mut released = p.on_choked(1);
    released.sort_by_key(|b| (b.piece, b.begin));
    let mut want = got.clone();
    want.sort_by_key(|b| (b.piece, b.begin));
    assert_eq!(released, want);
    assert_eq!(p.requests_total(), 0);
    assert!(!p.is_requested(1, got[0]));
    assert!(p.release_peer(9).is_empty(), "unknown peer");
}

#[test]
fn senders_of_a_complete_piece() {
    let mut p = picker(2, 3);
    p.on_have_all(1);
    p.on_have_all(2);
    let a = p.pick(1, 2);
    let b = p.pick(2, 1);
    assert_eq!(a[0].piece, b[0].piece);
    p.on_block(2, b[0], ());
    assert_eq!(p.senders(a[0].piece), None, "not complete");
    p.on_block(1, a[1], ());
    p.on_block(1, a[0], ());
    assert_eq!(p.senders(a[0].piece), Some(vec![1, 1, 2]));
    p.on_piece_verified(a[0].piece);
    assert_eq!(p.senders(a[0].piece), None);
}
