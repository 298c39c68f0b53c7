//! The block state machine of one piece being downloaded.

use crate::PeerKey;

/// How many peers one block may be requested from at once (endgame duplicates).
pub const ENDGAME_MAX_REQUESTS: usize = 3;

/// The state of one block of a piece in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Neither requested nor received.
    Free,
    /// Outstanding to `n` peers (more than one only in endgame).
    Requested {
        peers: [PeerKey; ENDGAME_MAX_REQUESTS],
        n: u8,
    },
    /// Received from this peer (kept to report contributors of a bad piece).
    Received(PeerKey),
}

impl Slot {
    pub(crate) fn requesters(&self) -> &[PeerKey] {
        match self {
            Slot::Requested { peers, n } => &peers[..*n as usize],
            _ => &[],
        }
    }
}

/// A piece in progress: the state of each block, the data of the blocks
/// received, and running counts.
#[derive(Debug, Clone)]
pub(crate) struct Download<B> {
    pub(crate) piece: u32,
    pub(crate) blocks: Vec<Slot>,
    /// The data of each received block, until [`Picker::take_piece`](crate::Picker::take_piece).
    pub(crate) data: Vec<Option<B>>,
    /// Blocks in `Slot::Free`.
    pub(crate) free: u32,
    /// Blocks in `Slot::Received`.
    pub(crate) received: u32,
    /// No free block below this index.
    pub(crate) next_free: u32,
    /// Position in the picker's partial list (pieces with a free block), or `NONE`.
    pub(crate) partial_pos: u32,
}

pub(crate) const NONE: u32 = u32::MAX;

impl<B> Download<B> {
    pub(crate) fn new(piece: u32, blocks: u32) -> Self {
        Self {
            piece,
            blocks: vec![Slot::Free; blocks as usize],
            data: (0..blocks).map(|_| None).collect(),
            free: blocks,
            received: 0,
            next_free: 0,
            partial_pos: NONE,
        }
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.received as usize == self.blocks.len()
    }

    /// Whether nothing is requested or received: the piece can go back to the buckets.
    pub(crate) fn is_untouched(&self) -> bool {
        self.free as usize == self.blocks.len()
    }

    /// Marks the next free block as requested by `peer`; returns its index.
    pub(crate) fn take_free(&mut self, peer: PeerKey) -> Option<u32> {
        if self.free == 0 {
            return None;
        }
        let mut i = self.next_free as usize;
        while self.blocks[i] != Slot::Free {
            i += 1;
        }
        let mut peers = [0; ENDGAME_MAX_REQUESTS];
        peers[0] = peer;
        self.blocks[i] = Slot::Requested { peers, n: 1 };
        self.free -= 1;
        self.next_free = i as u32 + 1;
        Some(i as u32)
    }

    /// Adds `peer` as another requester of block `i` (endgame). False if it
    /// already is one, the block is not requested, or the bound is reached.
    pub(crate) fn add_requester(&mut self, i: u32, peer: PeerKey) -> bool {
        match &mut self.blocks[i as usize] {
            Slot::Requested { peers, n }
                if (*n as usize) < ENDGAME_MAX_REQUESTS
                    && !peers[..*n as usize].contains(&peer) =>
            {
                peers[*n as usize] = peer;
                *n += 1;
                true
            }
            _ => false,
        }
    }

    /// Removes `peer` from block `i`'s requesters; the block becomes free when
    /// none is left. Returns whether `peer` was a requester.
    pub(crate) fn remove_requester(&mut self, i: u32, peer: PeerKey) -> bool {
        let slot = &mut self.blocks[i as usize];
        let Slot::Requested { peers, n } = slot else {
            return false;
        };
        let Some(k) = peers[..*n as usize].iter().position(|&p| p == peer) else {
            return false;
        };
        peers.copy_within(k + 1..*n as usize, k);
        *n -= 1;
        if *n == 0 {
            *slot = Slot::Free;
            self.free += 1;
            self.next_free = self.next_free.min(i);
        }
        true
    }
}
