//! Request pipelining: keep about a second of data in flight to each peer.

use monsoon_piece::PeerKey;
use monsoon_wire::{BlockRef, Message};
use tokio::time::Instant;

use super::Torrent;

impl Torrent {
    /// Tops up the peer's request pipeline from the picker.
    ///
    /// Refills once the pipeline has drained to half its target depth, so
    /// requests go out in batches rather than one per received block.
    pub(super) fn fill_requests(&mut self, key: PeerKey) {
        if self.paused
            || self.stopping.is_some()
            || self.picker.is_complete()
            || self.pending_disk_bytes >= self.cfg.max_pending_disk_bytes
        {
            return;
        }
        if self.peers.get(&key).is_some_and(|p| !p.am_interested) {
            // Interest may have changed (a piece failed and is missing again).
            self.update_interest(key);
        }
        let Some(p) = self.peers.get(&key) else {
            return;
        };
        if p.peer_choking || !p.am_interested {
            return;
        }
        let depth = p.target_depth(self.cfg.max_requests_per_peer);
        let outstanding = p.requested.len();
        if outstanding >= depth || (outstanding > 0 && outstanding > depth / 2) {
            return;
        }
        // Summed only here, past the early returns (most calls stop above).
        let in_flight: usize = self.peers.values().map(|p| p.requested.len()).sum();
        let room = self.cfg.max_requests_total.saturating_sub(in_flight);
        let want = (depth - outstanding).min(room);
        if want == 0 {
            return;
        }
        let blocks = self.picker.pick(key, want);
        if blocks.is_empty() {
            if outstanding == 0 {
                self.update_interest(key);
            }
            return;
        }
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if p.requested.is_empty() {
            // The snub clock starts when there is something to wait for.
            p.last_block = Instant::now();
        }
        let mut msgs = Vec::with_capacity(blocks.len());
        for b in blocks {
            p.requested.insert(b);
            msgs.push(Message::Request(BlockRef {
                index: b.piece,
                begin: b.begin,
                length: b.length,
            }));
        }
        self.send(key, msgs);
    }

    /// Tops up every peer (after requests were released or the disk caught up).
    pub(super) fn refill_all(&mut self) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.fill_requests(key);
        }
    }
}
