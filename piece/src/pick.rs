//! Choosing blocks: pieces in progress first, then rarest first (or
//! sequential), then endgame duplicates.

use std::collections::BinaryHeap;

use crate::download::ENDGAME_MAX_REQUESTS;
use crate::picker::{Has, State};
use crate::{Bitfield, Block, PeerKey, Picker};

/// Until this many pieces are verified, new pieces are chosen at random
/// rather than rarest first, to have something to share sooner.
pub const RANDOM_FIRST_PIECES: u32 = 4;

/// Random probes tried per piece in the random-first phase before falling
/// back to rarest first.
const RANDOM_PROBES: u32 = 16;

/// A scan of a peer's bitfield keeps this many times the pieces needed as
/// candidates for its next picks.
const CANDIDATES_PER_SCAN: usize = 32;

impl<B> Picker<B> {
    /// Up to `max` blocks to request from `peer` now; they are recorded as
    /// outstanding to it.
    ///
    /// Order:
    /// 1. free blocks of pieces already in progress that the peer has (finish
    ///    pieces, keep few partial ones);
    /// 2. new pieces the peer has: highest priority first, then rarest first
    ///    with random tie-breaking (random for the first
    ///    [`RANDOM_FIRST_PIECES`] pieces), or in index order in sequential
    ///    mode;
    /// 3. in endgame only (see [`in_endgame`](Self::in_endgame)): blocks
    ///    outstanding to other peers, fewest requesters first, each block to
    ///    at most [`ENDGAME_MAX_REQUESTS`] peers.
    ///
    /// Never returns a block of a piece the peer lacks, of a priority-0
    /// piece, already received, or already outstanding to this peer; outside
    /// endgame never one outstanding to anyone. If it returns fewer than
    /// `max` blocks, no other block could be requested from this peer.
    ///
    /// # Cost
    /// With `n` pieces, `P` peers, and `h` the pieces this peer has:
    /// - step 1: O(partial pieces), a short list (pieces are finished before
    ///   new ones start);
    /// - step 2: per new piece, O(P / 64 + peers holding it) for the
    ///   per-peer counters, plus finding it. Fresh pieces sit in buckets ordered by (priority, availability),
    ///   so nothing is sorted at pick time: the scan walks the buckets in
    ///   order (skipping pieces that only seeds have) and stops at the first
    ///   piece the peer has. For a peer holding a fraction `f` of the fresh
    ///   pieces that is about `1/f` pieces examined — O(1) for a peer that
    ///   has most pieces, and for a seed exactly the first piece. The walk
    ///   is bounded by the cost of reading the peer's own bitfield,
    ///   `n / 64 + h`: a sparse peer, or one whose pieces all sit late in the
    ///   buckets, has its bitfield scanned instead, so the worst case is
    ///   O(n / 64 + h) per pick, never a scan of every piece per block.
    ///   Such a scan keeps the next best pieces as candidates for the peer's
    ///   next picks (checked to be still fresh when used; their order may
    ///   lag behind availability changes since the scan), so it is paid
    ///   once per many pieces.
    ///   Sequential mode walks the peer's bitfield from the first missing
    ///   piece. A peer with no fresh piece costs O(1) here;
    /// - step 3 (endgame only): every block in progress.
    pub fn pick(&mut self, peer: PeerKey, max: usize) -> Vec<Block> {
        self.pick_with(peer, max, Endgame::ANY, |_, _| f64::INFINITY)
            .blocks
    }

    /// [`pick`](Self::pick) with the caller's estimates of when each peer
    /// would deliver a block (`endgame.own` for `peer`, asked now;
    /// `eta(other, block)` for another that has `block` outstanding; any
    /// unit, sooner is less). In endgame they decide the duplicates: a
    /// block is asked of `peer` too only if `own` is sooner than the `eta`
    /// of every peer that has it outstanding, so a
    /// slow peer never takes a block a faster one holds; and when a block
    /// already has [`ENDGAME_MAX_REQUESTS`] requesters, `peer` takes the
    /// place of the latest of them if its `eta` is finite, which is
    /// returned in [`Picked::displaced`] (send it a `cancel`). At most
    /// `endgame.most` duplicates are picked. [`pick`](Self::pick) is this
    /// with every other peer infinitely late: duplicates go to any peer up
    /// to the bound, and nobody is displaced.
    pub fn pick_with(
        &mut self,
        peer: PeerKey,
        max: usize,
        endgame: Endgame,
        eta: impl FnMut(PeerKey, Block) -> f64,
    ) -> Picked {
        let mut displaced = Vec::new();
        let mut out = Vec::new();
        let Some(&pi) = self.peer_idx.get(&peer) else {
            return Picked::default();
        };
        let pi = pi as usize;
        if max == 0 || !self.interesting_at(pi) {
            return Picked::default();
        }
        out.reserve(max.min(256));
        self.pick_partial(pi, max, &mut out);
        let per_piece = self.geo.blocks_in_piece(0) as usize;
        while out.len() < max {
            let found = self.find_fresh(pi, (max - out.len()).div_ceil(per_piece));
            if found.is_empty() {
                break;
            }
            for p in found {
                if out.len() >= max {
                    break;
                }
                self.start_download(p);
                self.take_blocks(p, pi, max, &mut out);
            }
        }
        if out.len() < max && self.in_endgame() {
            let max = max.min(out.len().saturating_add(endgame.most));
            self.pick_endgame(pi, max, &mut out, (endgame.own, eta), &mut displaced);
        }
        self.peers[pi].requests.extend_from_slice(&out);
        Picked {
            blocks: out,
            displaced,
        }
    }

    /// Takes free blocks of active piece `p` for peer `pi`.
    fn take_blocks(&mut self, p: u32, pi: usize, max: usize, out: &mut Vec<Block>) {
        let key = self.peers[pi].key;
        let d = &mut self.downloads[self.idx[p as usize] as usize];
        while out.len() < max {
            match d.take_free(key) {
                Some(b) => out.push(self.geo.block(p, b)),
                None => break,
            }
        }
        if d.free == 0 {
            self.partial_remove(p);
        }
    }

    fn pick_partial(&mut self, pi: usize, max: usize, out: &mut Vec<Block>) {
        let mut i = 0;
        while i < self.partial.len() && out.len() < max {
            let p = self.partial[i];
            if self.prio[p as usize] > 0 && self.peers[pi].has.get(p) {
                self.take_blocks(p, pi, max, out);
                if self.partial.get(i) == Some(&p) {
                    i += 1;
                }
                // else: `p` left the list and another piece took its place.
            } else {
                i += 1;
            }
        }
    }

    /// Up to `want` fresh pieces that peer `pi` has, best first, by the
    /// current policy.
    fn find_fresh(&mut self, pi: usize, want: usize) -> Vec<u32> {
        let held = self.fresh_has_at(pi);
        if held == 0 || want == 0 {
            return Vec::new();
        }
        if self.sequential {
            return self.find_sequential(pi, want);
        }
        let seed = matches!(self.peers[pi].has, Has::All);
        // A peer with a bitfield has only pieces of availability >= 1.
        let lowest = u32::from(!seed);
        if self.have.count_ones() < RANDOM_FIRST_PIECES {
            if let Some(p) = self.random_probe(pi, lowest) {
                return vec![p];
            }
        }
        if seed {
            // A seed has every piece: the first `want` in bucket order.
            return self
                .levels
                .iter()
                .flat_map(|l| l.pieces.iter().copied())
                .take(want)
                .collect();
        }
        // Candidates left from an earlier scan of its bitfield.
        let mut found = Vec::with_capacity(want);
        let peer = &mut self.peers[pi];
        while found.len() < want {
            match peer.candidates.pop() {
                Some(p) if self.state[p as usize] == State::Fresh && peer.has.get(p) => {
                    found.push(p)
                }
                Some(_) => {}
                None => break,
            }
        }
        if !found.is_empty() {
            return found;
        }
        let Has::Bits(bits) = &self.peers[pi].has else {
            return found;
        };
        // What reading the peer's bitfield costs, and what walking the
        // buckets is expected to cost if its pieces are spread evenly.
        let budget = u64::from(self.geo.piece_count()) / 64 + u64::from(bits.count_ones());
        let expected = u64::from(self.fresh) * want as u64 / u64::from(held);
        if expected <= budget {
            let mut examined = 0u64;
            'levels: for level in &self.levels {
                for &p in &level.pieces[level.bucket_start(lowest)..] {
                    examined += 1;
                    if examined > budget {
                        break 'levels;
                    }
                    if bits.get(p) {
                        found.push(p);
                        if found.len() == want {
                            return found;
                        }
                    }
                }
            }
            if examined <= budget {
                return found;
            }
            // The peer's pieces sit late in the buckets: its bitfield is cheaper.
        }
        // Read the bitfield once for the next several picks too.
        let mut best = self.best_in_bitfield(bits, want.saturating_mul(CANDIDATES_PER_SCAN));
        let rest = best.split_off(want.min(best.len()));
        self.peers[pi].candidates = rest.into_iter().rev().collect();
        best
    }

    /// The `want` best fresh pieces of `bits` by (priority level, bucket
    /// position): O(n / 64 + pieces in `bits` + found · log want).
    fn best_in_bitfield(&self, bits: &Bitfield, want: usize) -> Vec<u32> {
        let mut heap: BinaryHeap<(u8, u32, u32)> = BinaryHeap::with_capacity(want + 1);
        for p in bits.iter_ones() {
            if self.state[p as usize] != State::Fresh {
                continue;
            }
            let key = (
                self.level_of[self.prio[p as usize] as usize],
                self.idx[p as usize],
                p,
            );
            if heap.len() < want {
                heap.push(key);
            } else if heap.peek().is_some_and(|top| key < *top) {
                heap.pop();
                heap.push(key);
            }
        }
        heap.into_sorted_vec().into_iter().map(|k| k.2).collect()
    }

    fn random_probe(&mut self, pi: usize, lowest: u32) -> Option<u32> {
        let level = self.levels.first()?;
        let from = level.bucket_start(lowest);
        let span = level.len().checked_sub(from).filter(|&s| s > 0)? as u32;
        for _ in 0..RANDOM_PROBES {
            let p = level.pieces[from + self.rng.below(span) as usize];
            if self.peers[pi].has.get(p) {
                return Some(p);
            }
        }
        None
    }

    fn find_sequential(&mut self, pi: usize, want: usize) -> Vec<u32> {
        let n = self.geo.piece_count();
        while self.seq_cursor < n && self.state[self.seq_cursor as usize] != State::Fresh {
            self.seq_cursor += 1;
        }
        let fresh = |p: &u32| self.state[*p as usize] == State::Fresh;
        match &self.peers[pi].has {
            Has::All => (self.seq_cursor..n).filter(fresh).take(want).collect(),
            Has::Bits(bits) => bits
                .iter_ones_from(self.seq_cursor)
                .filter(fresh)
                .take(want)
                .collect(),
        }
    }

    fn pick_endgame(
        &mut self,
        pi: usize,
        max: usize,
        out: &mut Vec<Block>,
        (own, mut eta): (f64, impl FnMut(PeerKey, Block) -> f64),
        displaced: &mut Vec<(PeerKey, Block)>,
    ) {
        let key = self.peers[pi].key;
        // Fewest requesters first: blocks requested once, then twice, ...
        for below in 2..=ENDGAME_MAX_REQUESTS + 1 {
            for di in 0..self.downloads.len() {
                if out.len() >= max {
                    return;
                }
                let d = &self.downloads[di];
                let p = d.piece;
                if self.prio[p as usize] == 0 || d.is_complete() || !self.peers[pi].has.get(p) {
                    continue;
                }
                for bi in 0..d.blocks.len() as u32 {
                    if out.len() >= max {
                        return;
                    }
                    let d = &mut self.downloads[di];
                    let holders = d.blocks[bi as usize].requesters();
                    if holders.is_empty() || holders.len() >= below || holders.contains(&key) {
                        continue;
                    }
                    // The latest holder, and whether we beat every one.
                    let block = self.geo.block(p, bi);
                    let mut latest = (f64::NEG_INFINITY, holders[0]);
                    let mut sooner = true;
                    for &h in holders {
                        let t = eta(h, block);
                        sooner &= own < t;
                        if t > latest.0 {
                            latest = (t, h);
                        }
                    }
                    let full = holders.len() >= ENDGAME_MAX_REQUESTS;
                    // Only a peer known to be late gives its place up.
                    if !sooner || (full && !latest.0.is_finite()) {
                        continue;
                    }
                    if full {
                        let gone = latest.1;
                        d.remove_requester(bi, gone);
                        let b = self.geo.block(p, bi);
                        if let Some(&gi) = self.peer_idx.get(&gone) {
                            let reqs = &mut self.peers[gi as usize].requests;
                            if let Some(k) = reqs.iter().position(|x| *x == b) {
                                reqs.swap_remove(k);
                            }
                        }
                        displaced.push((gone, b));
                    }
                    if self.downloads[di].add_requester(bi, key) {
                        out.push(self.geo.block(p, bi));
                    }
                }
            }
        }
    }
}

/// How a peer may take endgame duplicates in [`Picker::pick_with`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Endgame {
    /// When it would deliver a block asked of it now (the unit of `eta`).
    pub own: f64,
    /// Most duplicates to pick for it now.
    pub most: usize,
}

impl Endgame {
    /// Sooner than anyone, no limit: what [`Picker::pick`] uses.
    pub const ANY: Endgame = Endgame {
        own: 0.0,
        most: usize::MAX,
    };
}

/// What [`Picker::pick_with`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Picked {
    /// The blocks to request from the peer, now outstanding to it.
    pub blocks: Vec<Block>,
    /// Endgame: requesters whose place the peer took (the block is no
    /// longer outstanding to them): send each a `cancel`.
    pub displaced: Vec<(PeerKey, Block)>,
}
