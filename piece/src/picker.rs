//! The `Picker`: its state, piece states and the block state machine, block
//! and hash events. Peer events live in `peers.rs`, choosing blocks in `pick.rs`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::buckets::Level;
use crate::download::{Download, NONE, Slot};
use crate::holders::Holders;
use crate::rng::Rng;
use crate::{Bitfield, Block, Geometry};

/// How the engine names a peer connection (its own numbering).
pub type PeerKey = u32;

/// What [`Picker::on_block`] decided about an arriving block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockOutcome {
    /// Whether the block is wanted. `true` exactly when the block names one of
    /// this torrent's blocks, its piece is in progress, the block has not been
    /// received yet, and it is outstanding to at least one peer — to this
    /// peer, or (a late answer, for example after a choke) to another.
    /// `false` means drop the data: the block is a duplicate (already
    /// received, or the piece is verified), or nobody has it outstanding
    /// (never requested, or released by a choke / [`Picker::release`] and not
    /// requested again). Whether that is a protocol violation is for the
    /// engine to judge from its own request queue: a block it never asked
    /// this peer for may close the connection, a block it cancelled may not.
    pub accepted: bool,
    /// Every block of the piece has now arrived: hash it, then call
    /// [`Picker::on_piece_verified`] or [`Picker::on_piece_failed`].
    pub piece_complete: bool,
    /// Endgame: the other peers that had this block outstanding (no longer
    /// outstanding to them now); send each a `cancel`.
    pub cancel: Vec<(PeerKey, Block)>,
}

/// A piece's state in the picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Verified.
    Have,
    /// Wanted, nothing requested or received: in the availability buckets.
    Fresh,
    /// Priority 0 and not in progress.
    Skip,
    /// In progress (or complete and waiting for its hash check): has a `Download`.
    Active,
}

/// Which pieces a peer has.
#[derive(Debug, Clone)]
pub(crate) enum Has {
    Bits(Bitfield),
    /// A seed (have-all, or a full bitfield): counted in `Picker::seeds`, not per piece.
    All,
}

impl Has {
    #[inline]
    pub(crate) fn get(&self, piece: u32) -> bool {
        match self {
            Has::Bits(b) => b.get(piece),
            Has::All => true,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) key: PeerKey,
    pub(crate) has: Has,
    /// Bits peers: wanted (priority > 0, not verified) pieces it has.
    pub(crate) wanted_has: u32,
    /// Bits peers: fresh pieces it has.
    pub(crate) fresh_has: u32,
    /// Blocks outstanding to this peer.
    pub(crate) requests: Vec<Block>,
    /// Fresh pieces it has, best last, from the last scan of its bitfield
    /// (checked again before use).
    pub(crate) candidates: Vec<u32>,
}

pub(crate) const NO_LEVEL: u8 = u8::MAX;

/// A multiplicative hash for peer keys: they are numbers the engine hands
/// out, not attacker-chosen, so SipHash's flooding resistance buys nothing
/// and costs a lookup per block.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// The piece picker: which blocks to request from which peer.
///
/// Sans-IO: it never blocks, reads no clock and owns no randomness source
/// beyond a PRNG seeded by [`new`](Self::new); the same calls give the same
/// picks.
///
/// # Call order
/// 1. [`new`](Self::new), then optionally [`set_have`](Self::set_have)
///    (resume), [`set_priorities`](Self::set_priorities),
///    [`set_sequential`](Self::set_sequential).
/// 2. Per connection: [`peer_join`](Self::peer_join), then the peer's
///    [`on_bitfield`](Self::on_bitfield) / [`on_have_all`](Self::on_have_all) /
///    [`on_have_none`](Self::on_have_none) and later
///    [`on_have`](Self::on_have)s; [`is_interesting`](Self::is_interesting)
///    says whether to send `interested`.
/// 3. While the peer unchokes us: [`pick`](Self::pick) for its free request
///    slots, [`on_block`](Self::on_block) for each arriving block,
///    [`release`](Self::release) for a rejected or timed-out request,
///    [`on_choked`](Self::on_choked) when it chokes us,
///    [`peer_gone`](Self::peer_gone) when it disconnects.
/// 4. When [`BlockOutcome::piece_complete`]: hash the piece, then
///    [`on_piece_verified`](Self::on_piece_verified) or
///    [`on_piece_failed`](Self::on_piece_failed).
///
/// # Cost
/// `n` pieces, `P` connected peers.
/// - `on_have`, `on_block`, `release`: O(1) (plus O(k) to find the block in
///   a peer's k outstanding requests); availability changes move a piece
///   between neighbouring buckets in O(1).
/// - `on_bitfield`, `on_have_all`/`on_have_none` replacing a bitfield,
///   `peer_gone`: O(n / 64 + pieces the peer has).
/// - `on_piece_verified`, starting a piece, a piece going back to missing:
///   O(P / 64 + peers holding the piece), to keep the per-peer counters
///   that make `is_interesting` O(1): a piece-major bit matrix of which
///   peers hold each piece makes this one short row read, not a look into
///   every peer's bitfield. It is less than the `have` the engine sends
///   every peer per piece, and amortised over the piece's blocks.
///
/// # Memory
/// About 14 bytes per piece, plus per peer with a bitfield `n / 8` bytes
/// for the bitfield and `n / 8` for its column in the holders matrix
/// (rounded up to 64 peers), plus the pieces in progress.
/// - `pick`: see [`pick`](Self::pick).
/// - `set_have`, `set_priorities`: rebuild everything, O(n + P·n/64).
#[derive(Debug, Clone)]
pub struct Picker<B = ()> {
    pub(crate) geo: Geometry,
    pub(crate) rng: Rng,
    pub(crate) have: Bitfield,
    pub(crate) prio: Vec<u8>,
    pub(crate) state: Vec<State>,
    /// Fresh: position in its level; Active: index in `downloads`.
    pub(crate) idx: Vec<u32>,
    /// Which peer slots (with a bitfield) hold each piece.
    pub(crate) holders: Holders,
    /// Availability from peers with a bitfield (seeds are counted in `seeds`).
    pub(crate) counts: Vec<u32>,
    pub(crate) seeds: u32,
    /// Priority levels, highest priority first.
    pub(crate) levels: Vec<Level>,
    pub(crate) level_of: [u8; 256],
    /// Pieces in the levels.
    pub(crate) fresh: u32,
    pub(crate) downloads: Vec<Download<B>>,
    /// Pieces in progress with at least one free block.
    pub(crate) partial: Vec<u32>,
    /// Pieces in `partial` with priority > 0.
    pub(crate) partial_wanted: u32,
    pub(crate) wanted_remaining: u32,
    pub(crate) peers: Vec<Peer>,
    pub(crate) peer_idx: HashMap<PeerKey, u32, BuildHasherDefault<KeyHasher>>,
    pub(crate) sequential: bool,
    /// No fresh piece below this index.
    pub(crate) seq_cursor: u32,
}

impl Picker {
    /// A picker for `geometry` with nothing downloaded, every piece at
    /// priority 1, and its tie-breaking PRNG seeded with `seed`. It keeps
    /// no block data (`B = ()`); see [`with_data`](Self::with_data).
    pub fn new(geometry: Geometry, seed: u64) -> Self {
        Self::with_data(geometry, seed)
    }
}

impl<B> Picker<B> {
    /// A picker for `geometry` with nothing downloaded, every piece at
    /// priority 1, and its tie-breaking PRNG seeded with `seed`, that keeps
    /// the data of each received block (of type `B`, e.g. `bytes::Bytes`)
    /// until the piece is complete and [`take_piece`](Self::take_piece)
    /// moves it out: block states and block data have one owner.
    pub fn with_data(geometry: Geometry, seed: u64) -> Self {
        let n = geometry.piece_count() as usize;
        let mut picker = Self {
            geo: geometry,
            rng: Rng::new(seed),
            have: Bitfield::new(geometry.piece_count()),
            prio: vec![1; n],
            state: vec![State::Skip; n],
            idx: vec![NONE; n],
            counts: vec![0; n],
            holders: Holders::new(geometry.piece_count()),
            seeds: 0,
            levels: Vec::new(),
            level_of: [NO_LEVEL; 256],
            fresh: 0,
            downloads: Vec::new(),
            partial: Vec::new(),
            partial_wanted: 0,
            wanted_remaining: 0,
            peers: Vec::new(),
            peer_idx: HashMap::default(),
            sequential: false,
            seq_cursor: 0,
        };
        picker.rebuild();
        picker
    }

    /// The torrent's geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.geo
    }

    /// Marks the pieces we already have (resume after a recheck). Meant to be
    /// called before any pick; pieces in progress that `have` contains are
    /// dropped (their outstanding requests forgotten). Ignored if `have` is
    /// not one bit per piece.
    pub fn set_have(&mut self, have: &Bitfield) {
        if have.len() != self.geo.piece_count() {
            return;
        }
        self.have = have.clone();
        self.rebuild();
    }

    /// Sets each piece's priority: `prio[i]` for piece `i`, 0 = skip (never
    /// requested), higher = sooner. Missing entries are 1, extra ones are
    /// ignored. A piece in progress whose priority becomes 0 stays in
    /// progress (blocks already requested are still accepted) but gets no new
    /// requests.
    pub fn set_priorities(&mut self, prio: &[u8]) {
        for (i, p) in self.prio.iter_mut().enumerate() {
            *p = prio.get(i).copied().unwrap_or(1);
        }
        self.rebuild();
    }

    /// Sequential mode (streaming): new pieces are started in index order
    /// (priority 0 still skipped, other priorities ignored) instead of
    /// rarest first.
    pub fn set_sequential(&mut self, on: bool) {
        self.sequential = on;
        self.seq_cursor = 0;
    }

    /// Whether sequential mode is on.
    pub fn is_sequential(&self) -> bool {
        self.sequential
    }

    /// The priority of `piece` (0 past the end).
    pub fn priority(&self, piece: u32) -> u8 {
        self.prio.get(piece as usize).copied().unwrap_or(0)
    }

    /// How many connected peers have `piece`.
    pub fn availability(&self, piece: u32) -> u32 {
        self.counts
            .get(piece as usize)
            .map_or(0, |c| c + self.seeds)
    }

    /// Pieces verified so far.
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    /// Whether every wanted (priority > 0) piece is verified.
    pub fn is_complete(&self) -> bool {
        self.wanted_remaining == 0
    }

    /// The number of wanted (priority > 0) pieces not verified yet.
    pub fn wanted_remaining(&self) -> u32 {
        self.wanted_remaining
    }

    /// Endgame: something is still missing, and every block of every wanted
    /// missing piece is received or outstanding. [`pick`](Self::pick) then
    /// requests outstanding blocks again from other peers (each block from
    /// at most [`ENDGAME_MAX_REQUESTS`](crate::ENDGAME_MAX_REQUESTS) peers).
    pub fn in_endgame(&self) -> bool {
        self.wanted_remaining > 0 && self.fresh == 0 && self.partial_wanted == 0
    }

    /// Wanted blocks not requested from anyone yet: the blocks of pieces not
    /// started, and the free blocks of pieces in progress. O(pieces in
    /// progress).
    pub fn blocks_unrequested(&self) -> u64 {
        let per_piece = u64::from(self.geo.blocks_in_piece(0));
        let partial: u64 = self
            .partial
            .iter()
            .filter(|&&p| self.prio[p as usize] > 0)
            .map(|&p| u64::from(self.downloads[self.idx[p as usize] as usize].free))
            .sum();
        u64::from(self.fresh) * per_piece + partial
    }

    /// The number of pieces in progress (including complete ones waiting for
    /// their hash check).
    pub fn in_progress(&self) -> usize {
        self.downloads.len()
    }

    /// The blocks outstanding to `peer` (picked and neither received nor released).
    pub fn requests(&self, peer: PeerKey) -> &[Block] {
        self.peer_idx
            .get(&peer)
            .map_or(&[], |&i| &self.peers[i as usize].requests)
    }

    /// Whether `block` is outstanding to `peer`.
    pub fn is_requested(&self, peer: PeerKey, block: Block) -> bool {
        self.requests(peer).contains(&block)
    }

    /// Requests outstanding to all peers together (an endgame block
    /// requested from two peers counts twice). O(P).
    pub fn requests_total(&self) -> usize {
        self.peers.iter().map(|p| p.requests.len()).sum()
    }

    /// The number of known peers.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    // ---- piece states ----

    /// Puts a wanted piece into the buckets.
    pub(crate) fn fresh_insert(&mut self, p: u32) {
        let lv = self.level_of[self.prio[p as usize] as usize] as usize;
        self.levels[lv].insert(&mut self.idx, p, self.counts[p as usize], &mut self.rng);
        self.state[p as usize] = State::Fresh;
        self.fresh += 1;
        self.seq_cursor = self.seq_cursor.min(p);
        let peers = &mut self.peers;
        self.holders.for_each(p, |s| peers[s].fresh_has += 1);
    }

    /// Takes a piece out of the buckets (its state is the caller's to set).
    pub(crate) fn fresh_remove(&mut self, p: u32) {
        let lv = self.level_of[self.prio[p as usize] as usize] as usize;
        self.levels[lv].remove(&mut self.idx, p, self.counts[p as usize]);
        self.idx[p as usize] = NONE;
        self.fresh -= 1;
        let peers = &mut self.peers;
        self.holders.for_each(p, |s| peers[s].fresh_has -= 1);
    }

    /// A fresh piece starts downloading.
    pub(crate) fn start_download(&mut self, p: u32) {
        self.fresh_remove(p);
        self.idx[p as usize] = self.downloads.len() as u32;
        self.downloads
            .push(Download::new(p, self.geo.blocks_in_piece(p)));
        self.state[p as usize] = State::Active;
        self.partial_add(p);
    }

    pub(crate) fn partial_add(&mut self, p: u32) {
        let d = &mut self.downloads[self.idx[p as usize] as usize];
        if d.partial_pos == NONE {
            d.partial_pos = self.partial.len() as u32;
            self.partial.push(p);
            self.partial_wanted += u32::from(self.prio[p as usize] > 0);
        }
    }

    pub(crate) fn partial_remove(&mut self, p: u32) {
        let d = &mut self.downloads[self.idx[p as usize] as usize];
        let pos = d.partial_pos;
        if pos == NONE {
            return;
        }
        d.partial_pos = NONE;
        self.partial.swap_remove(pos as usize);
        if let Some(&moved) = self.partial.get(pos as usize) {
            self.downloads[self.idx[moved as usize] as usize].partial_pos = pos;
        }
        self.partial_wanted -= u32::from(self.prio[p as usize] > 0);
    }

    /// Removes an active piece's download, forgetting its outstanding
    /// requests at every peer. The piece's state is the caller's to set.
    fn drop_download(&mut self, p: u32) -> Download<B> {
        self.partial_remove(p);
        let s = self.idx[p as usize] as usize;
        let d = self.downloads.swap_remove(s);
        if let Some(moved) = self.downloads.get(s) {
            self.idx[moved.piece as usize] = s as u32;
        }
        self.idx[p as usize] = NONE;
        for (bi, slot) in d.blocks.iter().enumerate() {
            for &r in slot.requesters() {
                let b = self.geo.block(p, bi as u32);
                if let Some(&pi) = self.peer_idx.get(&r) {
                    let reqs = &mut self.peers[pi as usize].requests;
                    if let Some(k) = reqs.iter().position(|x| *x == b) {
                        reqs.swap_remove(k);
                    }
                }
            }
        }
        d
    }

    /// `peer` no longer has `block` outstanding (already removed from its list).
    pub(crate) fn unrequest(&mut self, block: Block, peer: PeerKey) {
        let p = block.piece;
        if self.state[p as usize] != State::Active {
            return;
        }
        let d = &mut self.downloads[self.idx[p as usize] as usize];
        let bi = block.index_in_piece();
        if !d.remove_requester(bi, peer) || d.blocks[bi as usize] != Slot::Free {
            return;
        }
        let untouched = d.is_untouched();
        if d.free == 1 {
            self.partial_add(p);
        }
        if untouched {
            self.drop_download(p);
            self.back_to_missing(p);
        }
    }

    /// A piece that is neither verified nor in progress: fresh or skipped.
    fn back_to_missing(&mut self, p: u32) {
        if self.prio[p as usize] > 0 {
            self.fresh_insert(p);
        } else {
            self.state[p as usize] = State::Skip;
        }
    }

    // ---- blocks and pieces ----

    /// A block arrived from `peer` with its `data`. See [`BlockOutcome`] for
    /// what is accepted; the data of an accepted block is kept until
    /// [`take_piece`](Self::take_piece), that of a refused one is dropped.
    /// Never panics on what a peer sends: a block outside the torrent is
    /// simply not accepted.
    pub fn on_block(&mut self, peer: PeerKey, block: Block, data: B) -> BlockOutcome {
        let mut out = BlockOutcome::default();
        let Some(b) = self.geo.block_at(block.piece, block.begin, block.length) else {
            return out;
        };
        let p = b.piece as usize;
        if self.state[p] != State::Active {
            return out;
        }
        let s = self.idx[p] as usize;
        let bi = b.index_in_piece() as usize;
        let slot = self.downloads[s].blocks[bi];
        let requesters = slot.requesters();
        if requesters.is_empty() {
            return out;
        }
        for &r in requesters {
            if let Some(&pi) = self.peer_idx.get(&r) {
                let reqs = &mut self.peers[pi as usize].requests;
                if let Some(k) = reqs.iter().position(|x| *x == b) {
                    reqs.swap_remove(k);
                }
            }
            if r != peer {
                out.cancel.push((r, b));
            }
        }
        let d = &mut self.downloads[s];
        d.blocks[bi] = Slot::Received(peer);
        d.data[bi] = Some(data);
        d.received += 1;
        out.accepted = true;
        out.piece_complete = d.is_complete();
        out
    }

    /// Moves the data of every block of a complete piece out, in block
    /// order, to be hashed and written. The piece stays in progress (its
    /// blocks still name who sent them) until
    /// [`on_piece_verified`](Self::on_piece_verified) or
    /// [`on_piece_failed`](Self::on_piece_failed). `None` if the piece is
    /// not complete or its data was already taken.
    pub fn take_piece(&mut self, piece: u32) -> Option<Vec<B>> {
        if self.state.get(piece as usize) != Some(&State::Active) {
            return None;
        }
        let d = &mut self.downloads[self.idx[piece as usize] as usize];
        if !d.is_complete() || d.data.iter().any(Option::is_none) {
            return None;
        }
        Some(d.data.iter_mut().filter_map(Option::take).collect())
    }

    /// Whether some block of `piece` has arrived and waits for the rest.
    pub fn has_received(&self, piece: u32) -> bool {
        if self.state.get(piece as usize) != Some(&State::Active) {
            return false;
        }
        self.downloads[self.idx[piece as usize] as usize]
            .blocks
            .iter()
            .any(|s| matches!(s, Slot::Received(_)))
    }

    /// Who sent each block of a complete piece in progress, in block order
    /// (to tell, when its hash check fails, whom to suspect). `None` if the
    /// piece is not complete and in progress.
    pub fn senders(&self, piece: u32) -> Option<Vec<PeerKey>> {
        if self.state.get(piece as usize) != Some(&State::Active) {
            return None;
        }
        let d = &self.downloads[self.idx[piece as usize] as usize];
        d.blocks
            .iter()
            .map(|s| match s {
                Slot::Received(p) => Some(*p),
                _ => None,
            })
            .collect()
    }

    /// The piece passed its hash check (or was found on disk): it is ours.
    /// Works in any state; outstanding requests for it are forgotten.
    pub fn on_piece_verified(&mut self, piece: u32) {
        if piece >= self.geo.piece_count() {
            return;
        }
        match self.state[piece as usize] {
            State::Have => return,
            State::Fresh => self.fresh_remove(piece),
            State::Active => {
                self.drop_download(piece);
            }
            State::Skip => {}
        }
        if self.prio[piece as usize] > 0 {
            self.wanted_remaining -= 1;
            let peers = &mut self.peers;
            self.holders.for_each(piece, |s| peers[s].wanted_has -= 1);
        }
        self.state[piece as usize] = State::Have;
        self.have.set(piece, true);
    }

    /// The piece failed its hash check: it goes back to missing (any
    /// outstanding requests for it are forgotten) and the peers that sent
    /// its blocks are returned (each once, ascending; possibly peers that
    /// are gone). Empty if the piece was not in progress.
    pub fn on_piece_failed(&mut self, piece: u32) -> Vec<PeerKey> {
        if piece >= self.geo.piece_count() || self.state[piece as usize] != State::Active {
            return Vec::new();
        }
        let d = self.drop_download(piece);
        let mut who: Vec<PeerKey> = d
            .blocks
            .iter()
            .filter_map(|s| match s {
                Slot::Received(p) => Some(*p),
                _ => None,
            })
            .collect();
        who.sort_unstable();
        who.dedup();
        self.back_to_missing(piece);
        who
    }

    // ---- rebuild ----

    /// Recomputes the levels and every counter from `have`, `prio` and the
    /// downloads in progress.
    fn rebuild(&mut self) {
        let n = self.geo.piece_count();
        for p in 0..n {
            let pu = p as usize;
            if self.have.get(p) {
                if self.state[pu] == State::Active {
                    self.drop_download(p);
                }
                self.state[pu] = State::Have;
            } else if self.state[pu] != State::Active {
                self.state[pu] = if self.prio[pu] > 0 {
                    State::Fresh
                } else {
                    State::Skip
                };
            }
        }
        let mut prios: Vec<u8> = Vec::new();
        let mut seen = [false; 256];
        for &pr in &self.prio {
            if pr > 0 && !seen[pr as usize] {
                seen[pr as usize] = true;
                prios.push(pr);
            }
        }
        prios.sort_unstable_by(|a, b| b.cmp(a));
        self.level_of = [NO_LEVEL; 256];
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); prios.len()];
        for (l, &pr) in prios.iter().enumerate() {
            self.level_of[pr as usize] = l as u8;
        }
        for p in 0..n {
            if self.state[p as usize] == State::Fresh {
                members[self.level_of[self.prio[p as usize] as usize] as usize].push(p);
            }
        }
        self.fresh = members.iter().map(|m| m.len() as u32).sum();
        self.levels = prios
            .iter()
            .zip(&members)
            .map(|(_, m)| Level::build(m, &self.counts, &mut self.idx, &mut self.rng))
            .collect();
        self.partial_wanted = self
            .partial
            .iter()
            .filter(|&&p| self.prio[p as usize] > 0)
            .count() as u32;
        self.wanted_remaining = (0..n).filter(|&p| self.is_wanted(p)).count() as u32;
        for i in 0..self.peers.len() {
            self.peers[i].candidates.clear();
            if let Has::Bits(b) = &self.peers[i].has {
                let (mut w, mut f) = (0, 0);
                for p in b.iter_ones() {
                    w += u32::from(self.is_wanted(p));
                    f += u32::from(self.state[p as usize] == State::Fresh);
                }
                self.peers[i].wanted_has = w;
                self.peers[i].fresh_has = f;
            }
        }
        self.seq_cursor = 0;
    }
}
