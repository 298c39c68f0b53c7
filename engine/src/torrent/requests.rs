//! Request pipelining (about a second of data in flight to each peer),
//! rates, and snubbing.

use monsoon_piece::PeerKey;
use monsoon_wire::{BlockRef, Message};
use tracing::debug;

use super::TorrentCore;

impl TorrentCore {
    /// Tops up the peer's request pipeline from the picker.
    ///
    /// Refills once the pipeline has drained to half its target depth, so
    /// requests go out in batches rather than one per received block.
    pub(super) fn fill_requests(&mut self, key: PeerKey) {
        if !self.is_active()
            || self.fetch.is_some()
            || self.picker.is_complete()
            || self.awaiting_layers()
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
        let outstanding = self.picker.requests(key).len();
        if outstanding >= depth || (outstanding > 0 && outstanding > depth / 2) {
            return;
        }
        // Summed only here, past the early returns (most calls stop above).
        let room = self
            .cfg
            .max_requests_total
            .saturating_sub(self.picker.requests_total());
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
        if outstanding == 0 {
            if let Some(p) = self.peers.get_mut(&key) {
                // The snub clock starts when there is something to wait for.
                p.last_block = self.now;
            }
        }
        let msgs = blocks
            .into_iter()
            .map(|b| {
                Message::Request(BlockRef {
                    index: b.piece,
                    begin: b.begin,
                    length: b.length,
                })
            })
            .collect();
        self.send(key, msgs);
    }

    /// Withdraws the requests for pieces now skipped (priority 0) of which
    /// nothing has arrived: each is released in the picker and cancelled on
    /// the wire, and its answer, if already on the way, is accepted quietly.
    /// Without this a skipped file keeps arriving for as long as the
    /// pipelines were deep. A skipped piece partly received keeps its
    /// requests, so that it completes and is written rather than held in
    /// memory half done.
    pub(super) fn cancel_skipped(&mut self) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            let skipped: Vec<_> = self
                .picker
                .requests(key)
                .iter()
                .copied()
                .filter(|b| {
                    self.priorities[b.piece as usize] == 0 && !self.picker.has_received(b.piece)
                })
                .collect();
            if skipped.is_empty() {
                continue;
            }
            for &b in &skipped {
                self.picker.release(key, b);
            }
            if let Some(p) = self.peers.get_mut(&key) {
                p.park(skipped.iter().copied());
            }
            let cancels = skipped
                .iter()
                .map(|b| {
                    Message::Cancel(BlockRef {
                        index: b.piece,
                        begin: b.begin,
                        length: b.length,
                    })
                })
                .collect();
            self.send(key, cancels);
        }
    }

    /// Tops up every peer (after requests were released or the disk caught up).
    pub(super) fn refill_all(&mut self) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.fill_requests(key);
        }
    }

    /// On each tick: rates as a moving average of the last few seconds.
    pub(super) fn update_rates(&mut self) {
        let secs = self.now.duration_since(self.last_tick).as_secs_f64();
        self.last_tick = self.now;
        let (mut down, mut up) = (0.0, 0.0);
        for p in self.peers.values_mut() {
            p.down.tick(secs);
            p.up.tick(secs);
            down += p.down.rate;
            up += p.up.rate;
        }
        self.stats.download_rate = down;
        self.stats.upload_rate = up;
    }

    /// A peer that unchoked us but sends nothing we asked for within the
    /// snub timeout has its requests given to others (and gets one request
    /// at a time until it sends again).
    pub(super) fn check_snubs(&mut self) {
        let limit = self.cfg.snub_timeout;
        let snubbed: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(k, p)| {
                !p.snubbed
                    && !self.picker.requests(**k).is_empty()
                    && self.now.duration_since(p.last_block) > limit
            })
            .map(|(k, _)| *k)
            .collect();
        for key in snubbed {
            debug!(key, "peer snubbed us");
            let released = self.picker.release_peer(key);
            if let Some(p) = self.peers.get_mut(&key) {
                p.snubbed = true;
                p.park(released);
            }
        }
    }
}
