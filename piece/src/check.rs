//! A full consistency check of the picker's incremental bookkeeping against
//! a recomputation from scratch (for tests and fuzzing).

use std::collections::HashSet;

use crate::download::{NONE, Slot};
use crate::picker::{Has, State};
use crate::{Block, PeerKey, Picker};

impl<B> Picker<B> {
    /// Recomputes every counter, bucket and index from scratch and compares
    /// with the incrementally maintained ones. O(n · P); for tests and
    /// fuzzing, not for production paths.
    ///
    /// # Errors
    /// A description of the first inconsistency found.
    #[doc(hidden)]
    pub fn check_consistency(&self) -> Result<(), String> {
        let n = self.geo.piece_count();
        let mut counts = vec![0u32; n as usize];
        let mut seeds = 0;
        for peer in &self.peers {
            match &peer.has {
                Has::All => seeds += 1,
                Has::Bits(b) => b.iter_ones().for_each(|p| counts[p as usize] += 1),
            }
        }
        if counts != self.counts || seeds != self.seeds {
            return Err("availability counts differ".into());
        }
        let mut fresh = 0;
        let mut wanted = 0;
        for p in 0..n {
            let pu = p as usize;
            let st = self.state[pu];
            if (st == State::Have) != self.have.get(p) {
                return Err(format!("piece {p}: state {st:?} vs have bit"));
            }
            if st == State::Skip && self.prio[pu] > 0 {
                return Err(format!(
                    "piece {p}: skipped with priority {}",
                    self.prio[pu]
                ));
            }
            if st == State::Fresh {
                if self.prio[pu] == 0 {
                    return Err(format!("piece {p}: fresh with priority 0"));
                }
                let lv = &self.levels[self.level_of[self.prio[pu] as usize] as usize];
                if lv.pieces.get(self.idx[pu] as usize) != Some(&p) {
                    return Err(format!("piece {p}: not where idx says in its level"));
                }
                fresh += 1;
            }
            if st == State::Active {
                let d = self.downloads.get(self.idx[pu] as usize);
                if d.is_none_or(|d| d.piece != p) {
                    return Err(format!("piece {p}: active without its download"));
                }
            }
            wanted += u32::from(self.is_wanted(p));
        }
        for lv in &self.levels {
            lv.check(&self.counts, &self.idx)?;
        }
        if fresh != self.fresh || self.levels.iter().map(|l| l.len() as u32).sum::<u32>() != fresh {
            return Err("fresh count differs".into());
        }
        if wanted != self.wanted_remaining {
            return Err("wanted_remaining differs".into());
        }
        let mut outstanding: HashSet<(PeerKey, Block)> = HashSet::new();
        let mut partial = 0;
        let mut partial_wanted = 0;
        for d in &self.downloads {
            let free = d.blocks.iter().filter(|s| **s == Slot::Free).count() as u32;
            let received = d
                .blocks
                .iter()
                .filter(|s| matches!(s, Slot::Received(_)))
                .count() as u32;
            if free != d.free || received != d.received {
                return Err(format!("piece {}: block counts differ", d.piece));
            }
            let stray = d
                .blocks
                .iter()
                .zip(&d.data)
                .any(|(s, data)| data.is_some() && !matches!(s, Slot::Received(_)));
            if stray {
                return Err(format!(
                    "piece {}: data held for a block not received",
                    d.piece
                ));
            }
            if d.is_untouched() {
                return Err(format!("piece {}: untouched but active", d.piece));
            }
            if d.blocks[..(d.next_free as usize).min(d.blocks.len())].contains(&Slot::Free) {
                return Err(format!("piece {}: free block below next_free", d.piece));
            }
            if (free > 0) != (d.partial_pos != NONE) {
                return Err(format!("piece {}: partial membership wrong", d.piece));
            }
            if d.partial_pos != NONE {
                partial += 1;
                partial_wanted += u32::from(self.prio[d.piece as usize] > 0);
                if self.partial.get(d.partial_pos as usize) != Some(&d.piece) {
                    return Err(format!("piece {}: partial_pos wrong", d.piece));
                }
            }
            for (bi, s) in d.blocks.iter().enumerate() {
                for &r in s.requesters() {
                    if !outstanding.insert((r, self.geo.block(d.piece, bi as u32))) {
                        return Err(format!("piece {} block {bi}: requester twice", d.piece));
                    }
                }
            }
        }
        if partial != self.partial.len() || partial_wanted != self.partial_wanted {
            return Err("partial list differs".into());
        }
        let mut listed = HashSet::new();
        for (i, peer) in self.peers.iter().enumerate() {
            if self.peer_idx.get(&peer.key) != Some(&(i as u32)) {
                return Err(format!("peer {}: index wrong", peer.key));
            }
            for p in 0..n {
                let held = matches!(&peer.has, Has::Bits(b) if b.get(p));
                if self.holders.get(p, i) != held {
                    return Err(format!("peer {}: holders row of piece {p} wrong", peer.key));
                }
            }
            if let Has::Bits(b) = &peer.has {
                let w = b.iter_ones().filter(|&p| self.is_wanted(p)).count() as u32;
                let f = b
                    .iter_ones()
                    .filter(|&p| self.state[p as usize] == State::Fresh)
                    .count() as u32;
                if w != peer.wanted_has || f != peer.fresh_has {
                    return Err(format!("peer {}: counters differ", peer.key));
                }
            }
            for &b in &peer.requests {
                if !listed.insert((peer.key, b)) {
                    return Err(format!("peer {}: {b:?} listed twice", peer.key));
                }
            }
        }
        for p in 0..n {
            let mut stray = None;
            self.holders.for_each(p, |s| {
                if s >= self.peers.len() {
                    stray = Some(s);
                }
            });
            if let Some(s) = stray {
                return Err(format!("piece {p}: holder bit for empty slot {s}"));
            }
        }
        if self.peer_idx.len() != self.peers.len() {
            return Err("peer index size differs".into());
        }
        // A peer that goes is removed from every block, so both sides must agree exactly.
        if outstanding != listed {
            return Err("outstanding requests differ from the peers' lists".into());
        }
        Ok(())
    }
}
