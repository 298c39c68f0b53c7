//! Peer events: joins, bitfields, haves, chokes, departures, and the
//! availability counts they change.

use crate::picker::{Has, Peer, State};
use crate::{Bitfield, Block, PeerKey, Picker};

impl<B> Picker<B> {
    /// A new connection. Nothing is known of its pieces until its bitfield
    /// (or have-all / haves) arrives. Joining twice is a no-op.
    pub fn peer_join(&mut self, peer: PeerKey) {
        self.peer_slot(peer);
    }

    pub(crate) fn peer_slot(&mut self, peer: PeerKey) -> usize {
        if let Some(&i) = self.peer_idx.get(&peer) {
            return i as usize;
        }
        let i = self.peers.len();
        self.holders.reserve_slot(i);
        self.peers.push(Peer {
            key: peer,
            has: Has::Bits(Bitfield::new(self.geo.piece_count())),
            wanted_has: 0,
            fresh_has: 0,
            requests: Vec::new(),
            candidates: Vec::new(),
        });
        self.peer_idx.insert(peer, i as u32);
        i
    }

    /// The peer's bitfield (replacing whatever was known). A full bitfield
    /// makes it a seed. Ignored if `bits` is not one bit per piece (the
    /// engine checks with [`Bitfield::from_bytes`]). Joins an unknown peer.
    pub fn on_bitfield(&mut self, peer: PeerKey, bits: &Bitfield) {
        if bits.len() != self.geo.piece_count() {
            return;
        }
        let i = self.peer_slot(peer);
        self.clear_has(i);
        if bits.all() {
            self.peers[i].has = Has::All;
            self.seeds += 1;
            return;
        }
        let (mut wanted, mut fresh) = (0, 0);
        for p in bits.iter_ones() {
            self.avail_inc(p);
            self.holders.set(p, i, true);
            wanted += u32::from(self.is_wanted(p));
            fresh += u32::from(self.state[p as usize] == State::Fresh);
        }
        let peer = &mut self.peers[i];
        peer.has = Has::Bits(bits.clone());
        peer.wanted_has = wanted;
        peer.fresh_has = fresh;
    }

    /// The peer announced `piece`. Ignored past the end. Joins an unknown peer.
    pub fn on_have(&mut self, peer: PeerKey, piece: u32) {
        if piece >= self.geo.piece_count() {
            return;
        }
        let i = self.peer_slot(peer);
        let Has::Bits(bits) = &mut self.peers[i].has else {
            return;
        };
        if bits.get(piece) {
            return;
        }
        bits.set(piece, true);
        let now_all = bits.all();
        self.avail_inc(piece);
        self.holders.set(piece, i, true);
        let wanted = self.is_wanted(piece);
        let fresh = self.state[piece as usize] == State::Fresh;
        let peer = &mut self.peers[i];
        peer.wanted_has += u32::from(wanted);
        peer.fresh_has += u32::from(fresh);
        if now_all {
            self.clear_has(i);
            self.peers[i].has = Has::All;
            self.seeds += 1;
        }
    }

    /// The peer has every piece (BEP 6 have-all). Joins an unknown peer.
    pub fn on_have_all(&mut self, peer: PeerKey) {
        let i = self.peer_slot(peer);
        self.clear_has(i);
        self.peers[i].has = Has::All;
        self.seeds += 1;
    }

    /// The peer has no piece (BEP 6 have-none). Joins an unknown peer.
    pub fn on_have_none(&mut self, peer: PeerKey) {
        let i = self.peer_slot(peer);
        self.clear_has(i);
    }

    /// Whether `peer` has `piece` (false for an unknown peer).
    pub fn peer_has(&self, peer: PeerKey, piece: u32) -> bool {
        piece < self.geo.piece_count()
            && self
                .peer_idx
                .get(&peer)
                .is_some_and(|&i| self.peers[i as usize].has.get(piece))
    }

    /// Whether `peer` has a wanted piece we have not verified yet (in
    /// progress or not). O(1): kept as a per-peer count.
    pub fn is_interesting(&self, peer: PeerKey) -> bool {
        self.peer_idx
            .get(&peer)
            .is_some_and(|&i| self.interesting_at(i as usize))
    }

    pub(crate) fn interesting_at(&self, i: usize) -> bool {
        match self.peers[i].has {
            Has::All => self.wanted_remaining > 0,
            Has::Bits(_) => self.peers[i].wanted_has > 0,
        }
    }

    /// Fresh pieces peer `i` has.
    pub(crate) fn fresh_has_at(&self, i: usize) -> u32 {
        match self.peers[i].has {
            Has::All => self.fresh,
            Has::Bits(_) => self.peers[i].fresh_has,
        }
    }

    /// The peer disconnected: its outstanding blocks are released and its
    /// pieces no longer count towards availability. Unknown peers are ignored.
    pub fn peer_gone(&mut self, peer: PeerKey) {
        let Some(&i) = self.peer_idx.get(&peer) else {
            return;
        };
        let i = i as usize;
        self.release_all(i);
        self.clear_has(i);
        self.peer_idx.remove(&peer);
        self.peers.swap_remove(i);
        let last = self.peers.len();
        if let Some(moved) = self.peers.get(i) {
            self.peer_idx.insert(moved.key, i as u32);
            // Its column moves from the last slot to `i`.
            if let Has::Bits(bits) = &moved.has {
                for p in bits.iter_ones() {
                    self.holders.set(p, last, false);
                    self.holders.set(p, i, true);
                }
            }
        }
    }

    /// The peer choked us: its outstanding blocks are released (they may be
    /// picked for other peers; a late answer is still accepted while the
    /// block is outstanding to someone). Returns the released blocks.
    pub fn on_choked(&mut self, peer: PeerKey) -> Vec<Block> {
        self.release_peer(peer)
    }

    /// Releases every block outstanding to `peer` (it choked us, or snubs
    /// us) and returns them; the peer stays known.
    pub fn release_peer(&mut self, peer: PeerKey) -> Vec<Block> {
        match self.peer_idx.get(&peer) {
            Some(&i) => {
                let released = self.peers[i as usize].requests.clone();
                self.release_all(i as usize);
                released
            }
            None => Vec::new(),
        }
    }

    /// One request to `peer` was rejected (BEP 6) or timed out: the block is
    /// no longer outstanding to it. Ignored if it was not.
    pub fn release(&mut self, peer: PeerKey, block: Block) {
        let Some(&i) = self.peer_idx.get(&peer) else {
            return;
        };
        let reqs = &mut self.peers[i as usize].requests;
        if let Some(k) = reqs.iter().position(|b| *b == block) {
            reqs.swap_remove(k);
            self.unrequest(block, peer);
        }
    }

    fn release_all(&mut self, i: usize) {
        let mut reqs = std::mem::take(&mut self.peers[i].requests);
        let key = self.peers[i].key;
        for b in reqs.drain(..) {
            self.unrequest(b, key);
        }
        self.peers[i].requests = reqs;
    }

    /// Forgets what peer `i` has (availability, counters); it becomes an
    /// empty-bitfield peer.
    fn clear_has(&mut self, i: usize) {
        let empty = Has::Bits(Bitfield::new(self.geo.piece_count()));
        match std::mem::replace(&mut self.peers[i].has, empty) {
            Has::All => self.seeds -= 1,
            Has::Bits(bits) => {
                for p in bits.iter_ones() {
                    self.avail_dec(p);
                    self.holders.set(p, i, false);
                }
            }
        }
        self.peers[i].wanted_has = 0;
        self.peers[i].fresh_has = 0;
        self.peers[i].candidates.clear();
    }

    fn avail_inc(&mut self, p: u32) {
        if self.state[p as usize] == State::Fresh {
            let lv = self.level_of[self.prio[p as usize] as usize] as usize;
            self.levels[lv].inc(&mut self.idx, p, self.counts[p as usize]);
        }
        self.counts[p as usize] += 1;
    }

    fn avail_dec(&mut self, p: u32) {
        if self.state[p as usize] == State::Fresh {
            let lv = self.level_of[self.prio[p as usize] as usize] as usize;
            self.levels[lv].dec(&mut self.idx, p, self.counts[p as usize]);
        }
        self.counts[p as usize] -= 1;
    }

    pub(crate) fn is_wanted(&self, p: u32) -> bool {
        self.prio[p as usize] > 0 && self.state[p as usize] != State::Have
    }
}
