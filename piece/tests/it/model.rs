//! The picker against a simple model: random sequences of peer joins,
//! bitfields, haves, chokes, picks, block arrivals and hash results.
//!
//! Invariants checked after every step: a block is never outstanding twice
//! to the same peer, never requested outside endgame while already
//! outstanding, never requested from a peer that lacks its piece, skipped
//! pieces are never requested, a short pick means nothing else could be
//! requested, and the picker's view (requests, interest, endgame, counts)
//! matches the model. At the end, with a seed present, the download completes.
use std::collections::{BTreeMap, BTreeSet};

use monsoon_piece::{BLOCK_LEN, Bitfield, Block, ENDGAME_MAX_REQUESTS, Geometry, PeerKey, Picker};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Join(u32),
    Bitfield(u32, u16),
    Have(u32, u32),
    HaveAll(u32),
    HaveNone(u32),
    Gone(u32),
    Choke(u32),
    Release(u32, usize),
    Pick(u32, usize),
    Deliver(u32, usize),
    DeliverAny(u32, u32, u32),
    DeliverBad(u32, u32),
    Hash(usize, bool),
    Prio(Vec<u8>),
    Sequential(bool),
    Resume(u16),
}

fn op() -> impl Strategy<Value = Op> {
    let peer = 0u32..5;
    prop_oneof![
        2 => peer.clone().prop_map(Op::Join),
        3 => (peer.clone(), any::<u16>()).prop_map(|(k, m)| Op::Bitfield(k, m)),
        3 => (peer.clone(), 0u32..16).prop_map(|(k, p)| Op::Have(k, p)),
        1 => peer.clone().prop_map(Op::HaveAll),
        1 => peer.clone().prop_map(Op::HaveNone),
        1 => peer.clone().prop_map(Op::Gone),
        1 => peer.clone().prop_map(Op::Choke),
        1 => (peer.clone(), any::<usize>()).prop_map(|(k, i)| Op::Release(k, i)),
        8 => (peer.clone(), 0usize..8).prop_map(|(k, m)| Op::Pick(k, m)),
        8 => (peer.clone(), any::<usize>()).prop_map(|(k, i)| Op::Deliver(k, i)),
        1 => (peer.clone(), 0u32..16, 0u32..4).prop_map(|(k, p, b)| Op::DeliverAny(k, p, b)),
        1 => (peer.clone(), 0u32..16).prop_map(|(k, p)| Op::DeliverBad(k, p)),
        3 => (any::<usize>(), prop::bool::weighted(0.8)).prop_map(|(i, ok)| Op::Hash(i, ok)),
        1 => prop::collection::vec(prop_oneof![1 => Just(0u8), 3 => 1u8..4], 0..12).prop_map(Op::Prio),
        1 => any::<bool>().prop_map(Op::Sequential),
        1 => any::<u16>().prop_map(Op::Resume),
    ]
}

fn geometry() -> impl Strategy<Value = Geometry> {
    (
        1u32..10,
        1u32..4,
        prop_oneof![Just(0u32), Just(100)],
        1u32..=100,
    )
        .prop_map(|(pieces, blocks, extra, last_pct)| {
            let piece_len = blocks * BLOCK_LEN + extra;
            let last = (u64::from(piece_len) * u64::from(last_pct) / 100).max(1);
            Geometry::new(
                u64::from(pieces - 1) * u64::from(piece_len) + last,
                piece_len,
            )
            .unwrap()
        })
}

struct Model {
    geo: Geometry,
    peers: BTreeMap<PeerKey, BTreeSet<u32>>,
    outstanding: BTreeMap<Block, BTreeSet<PeerKey>>,
    received: BTreeMap<Block, PeerKey>,
    verified: BTreeSet<u32>,
    pending: BTreeSet<u32>,
    prio: Vec<u8>,
}

impl Model {
    fn n(&self) -> u32 {
        self.geo.piece_count()
    }

    fn blocks(&self, p: u32) -> impl Iterator<Item = Block> + '_ {
        (0..self.geo.blocks_in_piece(p)).map(move |b| self.geo.block(p, b))
    }

    fn wanted(&self, p: u32) -> bool {
        self.prio[p as usize] > 0 && !self.verified.contains(&p)
    }

    fn is_outstanding(&self, b: &Block) -> bool {
        self.outstanding.get(b).is_some_and(|s| !s.is_empty())
    }

    fn endgame(&self) -> bool {
        let wanted: Vec<u32> = (0..self.n()).filter(|&p| self.wanted(p)).collect();
        !wanted.is_empty()
            && wanted.iter().all(|&p| {
                self.blocks(p)
                    .all(|b| self.received.contains_key(&b) || self.is_outstanding(&b))
            })
    }

    fn drop_peer_requests(&mut self, k: PeerKey) {
        for set in self.outstanding.values_mut() {
            set.remove(&k);
        }
        self.outstanding.retain(|_, s| !s.is_empty());
    }

    fn requests_of(&self, k: PeerKey) -> Vec<Block> {
        self.outstanding
            .iter()
            .filter(|(_, s)| s.contains(&k))
            .map(|(b, _)| *b)
            .collect()
    }

    fn forget_piece(&mut self, p: u32) {
        self.received.retain(|b, _| b.piece != p);
        self.outstanding.retain(|b, _| b.piece != p);
    }
}

fn check(picker: &Picker, m: &Model) -> Result<(), TestCaseError> {
    picker
        .check_consistency()
        .map_err(|e| TestCaseError::fail(format!("inconsistent: {e}")))?;
    let wanted = (0..m.n()).filter(|&p| m.wanted(p)).count() as u32;
    prop_assert_eq!(picker.wanted_remaining(), wanted);
    prop_assert_eq!(picker.is_complete(), wanted == 0);
    prop_assert_eq!(picker.in_endgame(), m.endgame());
    for (&k, has) in &m.peers {
        let interesting = has.iter().any(|&p| m.wanted(p));
        prop_assert_eq!(picker.is_interesting(k), interesting, "peer {}", k);
        for p in 0..m.n() {
            prop_assert_eq!(picker.peer_has(k, p), has.contains(&p));
        }
        let mut reqs = picker.requests(k).to_vec();
        reqs.sort();
        prop_assert_eq!(reqs, m.requests_of(k), "requests of peer {}", k);
        let avail = m.peers.values().filter(|s| s.contains(&0)).count() as u32;
        prop_assert_eq!(picker.availability(0), avail);
    }
    for p in 0..m.n() {
        prop_assert_eq!(picker.have().get(p), m.verified.contains(&p));
    }
    Ok(())
}

fn do_pick(
    picker: &mut Picker,
    m: &mut Model,
    k: PeerKey,
    max: usize,
) -> Result<(), TestCaseError> {
    let blocks = picker.pick(k, max);
    let Some(has) = m.peers.get(&k).cloned() else {
        prop_assert!(blocks.is_empty(), "picked for an unknown peer");
        return Ok(());
    };
    prop_assert!(blocks.len() <= max);
    let mut duplicated = false;
    let mut seen = BTreeSet::new();
    for b in &blocks {
        prop_assert_eq!(m.geo.block_at(b.piece, b.begin, b.length), Some(*b));
        prop_assert!(seen.insert(*b), "{:?} twice in one pick", b);
        prop_assert!(has.contains(&b.piece), "{:?} from a peer that lacks it", b);
        prop_assert!(m.prio[b.piece as usize] > 0, "{:?} of a skipped piece", b);
        prop_assert!(
            !m.verified.contains(&b.piece),
            "{:?} of a verified piece",
            b
        );
        prop_assert!(!m.received.contains_key(b), "{:?} already received", b);
        let req = m.outstanding.get(b).cloned().unwrap_or_default();
        prop_assert!(!req.contains(&k), "{:?} already outstanding to {}", b, k);
        duplicated |= !req.is_empty();
    }
    for b in &blocks {
        let set = m.outstanding.entry(*b).or_default();
        set.insert(k);
        prop_assert!(set.len() <= ENDGAME_MAX_REQUESTS);
    }
    if duplicated {
        prop_assert!(m.endgame(), "a duplicate request outside endgame");
    }
    if blocks.len() < max {
        let endgame = m.endgame();
        for &p in &has {
            if !m.wanted(p) {
                continue;
            }
            for b in m.blocks(p) {
                if m.received.contains_key(&b) {
                    continue;
                }
                let req = m.outstanding.get(&b).cloned().unwrap_or_default();
                prop_assert!(!req.is_empty(), "short pick left {:?} unrequested", b);
                if endgame {
                    prop_assert!(
                        req.contains(&k) || req.len() >= ENDGAME_MAX_REQUESTS,
                        "short endgame pick left {:?} for {}",
                        b,
                        k
                    );
                }
            }
        }
    }
    Ok(())
}

fn deliver(
    picker: &mut Picker,
    m: &mut Model,
    k: PeerKey,
    b: Block,
) -> Result<bool, TestCaseError> {
    let out = picker.on_block(k, b, ());
    let valid = m.geo.block_at(b.piece, b.begin, b.length) == Some(b);
    let expect = valid
        && !m.verified.contains(&b.piece)
        && !m.received.contains_key(&b)
        && m.is_outstanding(&b);
    prop_assert_eq!(out.accepted, expect, "accepting {:?} from {}", b, k);
    if !expect {
        prop_assert!(!out.piece_complete && out.cancel.is_empty());
        return Ok(false);
    }
    let others: BTreeSet<PeerKey> = m
        .outstanding
        .remove(&b)
        .unwrap()
        .into_iter()
        .filter(|&o| o != k)
        .collect();
    let cancel: BTreeSet<PeerKey> = out
        .cancel
        .iter()
        .map(|&(o, cb)| {
            assert_eq!(cb, b);
            o
        })
        .collect();
    prop_assert_eq!(cancel.len(), out.cancel.len());
    prop_assert_eq!(cancel, others);
    m.received.insert(b, k);
    let complete = m.blocks(b.piece).all(|x| m.received.contains_key(&x));
    prop_assert_eq!(out.piece_complete, complete);
    if complete {
        m.pending.insert(b.piece);
    }
    Ok(complete)
}

fn hash_result(picker: &mut Picker, m: &mut Model, p: u32, ok: bool) -> Result<(), TestCaseError> {
    m.pending.remove(&p);
    if ok {
        picker.on_piece_verified(p);
        m.verified.insert(p);
    } else {
        let who = picker.on_piece_failed(p);
        let expect: Vec<PeerKey> = m
            .received
            .iter()
            .filter(|(b, _)| b.piece == p)
            .map(|(_, &k)| k)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        prop_assert_eq!(who, expect);
    }
    m.forget_piece(p);
    Ok(())
}

fn run(geo: Geometry, seed: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut picker = Picker::new(geo, seed);
    let n = geo.piece_count();
    let mut m = Model {
        geo,
        peers: BTreeMap::new(),
        outstanding: BTreeMap::new(),
        received: BTreeMap::new(),
        verified: BTreeSet::new(),
        pending: BTreeSet::new(),
        prio: vec![1; n as usize],
    };
    check(&picker, &m)?;
    for op in ops {
        match op {
            Op::Join(k) => {
                picker.peer_join(k);
                m.peers.entry(k).or_default();
            }
            Op::Bitfield(k, mask) => {
                let mut bits = Bitfield::new(n);
                for p in 0..n {
                    bits.set(p, mask & (1 << p) != 0);
                }
                picker.on_bitfield(k, &bits);
                m.peers.insert(k, bits.iter_ones().collect());
            }
            Op::Have(k, p) => {
                picker.on_have(k, p);
                let set = m.peers.entry(k).or_default();
                if p < n {
                    set.insert(p);
                }
            }
            Op::HaveAll(k) => {
                picker.on_have_all(k);
                m.peers.insert(k, (0..n).collect());
            }
            Op::HaveNone(k) => {
                picker.on_have_none(k);
                m.peers.insert(k, BTreeSet::new());
            }
            Op::Gone(k) => {
                picker.peer_gone(k);
                m.peers.remove(&k);
                m.drop_peer_requests(k);
            }
            Op::Choke(k) => {
                picker.on_choked(k);
                m.drop_peer_requests(k);
            }
            Op::Release(k, i) => {
                let reqs = m.requests_of(k);
                if !reqs.is_empty() {
                    let b = reqs[i % reqs.len()];
                    picker.release(k, b);
                    m.outstanding.get_mut(&b).unwrap().remove(&k);
                    m.outstanding.retain(|_, s| !s.is_empty());
                }
            }
            Op::Pick(k, max) => do_pick(&mut picker, &mut m, k, max)?,
            Op::Deliver(k, i) => {
                let reqs = m.requests_of(k);
                if !reqs.is_empty() {
                    deliver(&mut picker, &mut m, k, reqs[i % reqs.len()])?;
                }
            }
            Op::DeliverAny(k, p, b) => {
                let p = p % n;
                let b = geo.block(p, b % geo.blocks_in_piece(p));
                deliver(&mut picker, &mut m, k, b)?;
            }
            Op::DeliverBad(k, p) => {
                let mut b = geo.block(p % n, 0);
                b.length += 1;
                deliver(&mut picker, &mut m, k, b)?;
                b.piece = n + p;
                deliver(&mut picker, &mut m, k, b)?;
            }
            Op::Hash(i, ok) => {
                if !m.pending.is_empty() {
                    let p = *m.pending.iter().nth(i % m.pending.len()).unwrap();
                    hash_result(&mut picker, &mut m, p, ok)?;
                }
            }
            Op::Prio(v) => {
                picker.set_priorities(&v);
                for (i, p) in m.prio.iter_mut().enumerate() {
                    *p = v.get(i).copied().unwrap_or(1);
                }
            }
            Op::Sequential(on) => picker.set_sequential(on),
            Op::Resume(mask) => {
                // set_have mid-download: pieces now had drop out of progress,
                // pieces no longer had are wanted again.
                let mut bits = Bitfield::new(n);
                for p in 0..n {
                    bits.set(p, mask & (1 << p) != 0);
                }
                picker.set_have(&bits);
                m.verified = bits.iter_ones().collect();
                for p in bits.iter_ones() {
                    m.pending.remove(&p);
                    m.forget_piece(p);
                }
            }
        }
        check(&picker, &m)?;
    }

    // Completion: hashes pass, a seed joins, everyone else is choked and
    // then all deliver at once what they are asked for.
    for p in m.pending.clone() {
        hash_result(&mut picker, &mut m, p, true)?;
    }
    picker.on_have_all(100);
    m.peers.insert(100, (0..n).collect());
    for k in m.peers.keys().copied().collect::<Vec<_>>() {
        picker.on_choked(k);
        m.drop_peer_requests(k);
    }
    check(&picker, &m)?;
    let total_blocks: u32 = (0..n).map(|p| geo.blocks_in_piece(p)).sum();
    for _round in 0..=total_blocks {
        if picker.is_complete() {
            break;
        }
        for k in m.peers.keys().copied().collect::<Vec<_>>() {
            do_pick(&mut picker, &mut m, k, 3)?;
            for b in m.requests_of(k) {
                if deliver(&mut picker, &mut m, k, b)? {
                    hash_result(&mut picker, &mut m, b.piece, true)?;
                }
            }
            check(&picker, &m)?;
        }
    }
    prop_assert!(picker.is_complete(), "download did not complete");
    for p in 0..n {
        prop_assert_eq!(
            picker.have().get(p),
            m.prio[p as usize] > 0 || m.verified.contains(&p)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn picker_matches_model(
        geo in geometry(),
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 0..80),
    ) {
        run(geo, seed, ops)?;
    }
}
