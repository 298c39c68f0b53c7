//! Choosing blocks: pieces in progress first, then rarest first (or
//! sequential), then endgame duplicates.

use crate::download::ENDGAME_MAX_REQUESTS;
use crate::picker::{Has, State};
use crate::{Block, PeerKey, Picker};

/// Until this many pieces are verified, new pieces are chosen at random
/// rather than rarest first, to have something to share sooner.
pub const RANDOM_FIRST_PIECES: u32 = 4;

/// Random probes tried per piece in the random-first phase before falling
/// back to rarest first.
const RANDOM_PROBES: u32 = 16;

impl Picker {
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
    /// O(partial pieces) for step 1, plus, per new piece started, O(P) for
    /// the per-peer counters and the pieces examined to find one the peer
    /// has. Pieces are kept in buckets ordered by (priority, availability),
    /// so nothing is sorted at pick time; the scan walks the buckets in
    /// order and stops at the first piece the peer has, skipping the pieces
    /// nobody but seeds has. For a peer holding a fraction `f` of the fresh
    /// pieces, about `1/f` pieces are examined (O(1) for a peer that has
    /// most pieces). When the peer has so few of them that this would cost
    /// more than reading its bitfield (fresh / held > n / 64 + held), the
    /// peer's own bitfield is scanned instead: O(n / 64 + pieces it has).
    /// Sequential mode walks the peer's bitfield from the first missing
    /// piece. Endgame examines every block in progress. A peer with no
    /// fresh piece costs O(1) past step 1.
    pub fn pick(&mut self, peer: PeerKey, max: usize) -> Vec<Block> {
        let mut out = Vec::new();
        let Some(&pi) = self.peer_idx.get(&peer) else {
            return out;
        };
        let pi = pi as usize;
        if max == 0 || !self.interesting_at(pi) {
            return out;
        }
        out.reserve(max.min(256));
        self.pick_partial(pi, max, &mut out);
        while out.len() < max {
            let Some(p) = self.find_fresh(pi) else {
                break;
            };
            self.start_download(p);
            self.take_blocks(p, pi, max, &mut out);
        }
        if out.len() < max && self.in_endgame() {
            self.pick_endgame(pi, max, &mut out);
        }
        self.peers[pi].requests.extend_from_slice(&out);
        out
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

    /// A fresh piece that peer `pi` has, by the current policy.
    fn find_fresh(&mut self, pi: usize) -> Option<u32> {
        let held = self.fresh_has_at(pi);
        if held == 0 {
            return None;
        }
        if self.sequential {
            return self.find_sequential(pi);
        }
        let seed = matches!(self.peers[pi].has, Has::All);
        // A peer with a bitfield has only pieces of availability >= 1.
        let lowest = u32::from(!seed);
        if self.have.count_ones() < RANDOM_FIRST_PIECES {
            if let Some(p) = self.random_probe(pi, lowest) {
                return Some(p);
            }
        }
        let n = u64::from(self.geo.piece_count());
        let (fresh, held) = (u64::from(self.fresh), u64::from(held));
        if let Has::Bits(bits) = &self.peers[pi].has {
            if fresh > held * (n / 64 + held) {
                return bits
                    .iter_ones()
                    .filter(|&p| self.state[p as usize] == State::Fresh)
                    .min_by_key(|&p| {
                        (
                            self.level_of[self.prio[p as usize] as usize],
                            self.idx[p as usize],
                        )
                    });
            }
        }
        let has = &self.peers[pi].has;
        for level in &self.levels {
            let from = level.bucket_start(lowest);
            if let Some(&p) = level.pieces[from..].iter().find(|&&p| has.get(p)) {
                return Some(p);
            }
        }
        None
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

    fn find_sequential(&mut self, pi: usize) -> Option<u32> {
        let n = self.geo.piece_count();
        while self.seq_cursor < n && self.state[self.seq_cursor as usize] != State::Fresh {
            self.seq_cursor += 1;
        }
        match &self.peers[pi].has {
            Has::All => (self.seq_cursor < n).then_some(self.seq_cursor),
            Has::Bits(bits) => bits
                .iter_ones_from(self.seq_cursor)
                .find(|&p| self.state[p as usize] == State::Fresh),
        }
    }

    fn pick_endgame(&mut self, pi: usize, max: usize, out: &mut Vec<Block>) {
        let key = self.peers[pi].key;
        let has = &self.peers[pi].has;
        // Fewest requesters first: blocks requested once, then twice, ...
        for below in 2..=ENDGAME_MAX_REQUESTS {
            for d in &mut self.downloads {
                if out.len() >= max {
                    return;
                }
                let p = d.piece;
                if self.prio[p as usize] == 0 || d.is_complete() || !has.get(p) {
                    continue;
                }
                for bi in 0..d.blocks.len() as u32 {
                    if out.len() >= max {
                        return;
                    }
                    if d.blocks[bi as usize].requesters().len() < below && d.add_requester(bi, key)
                    {
                        out.push(self.geo.block(p, bi));
                    }
                }
            }
        }
    }
}
