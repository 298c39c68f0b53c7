//! Request pipelining (about a second of data in flight to each peer),
//! rates, and snubbing.

use monsoon_piece::{BLOCK_LEN, Endgame, PeerKey};
use monsoon_wire::{BlockRef, Message};
use tracing::debug;

use super::TorrentCore;

/// Endgame: a block is asked of a second peer only if that peer would
/// deliver it this many times sooner than the peer that has it (by the
/// block's place in that peer's queue, at its rate): what the first has
/// already sent is wasted when the duplicate wins.
const ENDGAME_SOONER: f64 = 4.0;
/// Endgame: how long a peer that found no block worth duplicating waits
/// before it looks again (a look goes through every block in flight: with
/// two dozen peers, looking at every arrival took half the CPU).
const ENDGAME_REST: std::time::Duration = std::time::Duration::from_millis(50);
/// Requests in flight to near peers (round trip under
/// [`FAR_RTT`](super::pipeline::FAR_RTT)), all of them together: 8 MiB,
/// what a disk keeps up with on a short round trip. Far peers' requests
/// come on top, and so do the start windows of peers whose round trip is
/// not measured yet, up to `max_requests_total`.
const NEAR_REQUESTS: usize = 512;
/// Endgame: what a peer that has not delivered a block yet is taken to
/// need for one, in seconds.
const PROBE_ETA: f64 = 0.25;

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
        let own = p.target_depth(self.cfg.max_requests_per_peer);
        let outstanding = self.picker.requests(key).len();
        // Requests the picker forgot (a piece that failed) are not in flight.
        if let Some(p) = self.peers.get_mut(&key) {
            p.pipeline.resync(outstanding);
        }
        // Its share is at most its own depth: most calls stop here, before
        // the share is summed over every peer (with a hundred peers, that
        // sum on every block was 4 % of the CPU).
        let full =
            |depth: usize| outstanding >= depth || (outstanding > 0 && outstanding > depth / 2);
        if full(own) {
            return;
        }
        let (cap, depth) = self.fair_share(own);
        if full(depth) {
            return;
        }
        let room = cap.saturating_sub(self.picker.requests_total());
        let want = (depth - outstanding).min(room);
        if want == 0 || self.would_finish_last(key, outstanding) {
            return;
        }
        let blocks = self.pick_blocks(key, want);
        if blocks.is_empty() {
            if outstanding == 0 {
                self.update_interest(key);
            }
            return;
        }
        if let Some(p) = self.peers.get_mut(&key) {
            if outstanding == 0 {
                // The snub clock starts when there is something to wait for.
                p.last_block = self.now;
            }
            p.pipeline.requested(self.now, &blocks);
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

    /// The torrent's cap on requests in flight, and a peer's depth within
    /// it. The cap is [`NEAR_REQUESTS`] plus what the other peers (far, or
    /// not measured yet) ask for, at most `max_requests_total`. When all
    /// peers together ask for more, a peer gets a share of the cap in
    /// proportion to what it asks for, so the peers that return blocks most
    /// often do not take the whole cap from the far fast ones. Sums over
    /// every peer: called only past the early returns of
    /// [`fill_requests`](Self::fill_requests).
    fn fair_share(&self, depth: usize) -> (usize, usize) {
        let max = self.cfg.max_requests_per_peer;
        let (mut all, mut others) = (0, 0);
        for p in self.peers.values() {
            if p.peer_choking || !p.am_interested {
                continue;
            }
            let d = p.target_depth(max);
            all += d;
            if !p.pipeline.is_near() {
                others += d;
            }
        }
        let cap = (NEAR_REQUESTS + others).min(self.cfg.max_requests_total);
        if all <= cap {
            return (cap, depth);
        }
        (cap, (depth * cap / all).max(1))
    }

    /// Near the end: whether a block asked of `key` now would come after
    /// the whole swarm could have delivered everything left (what is not
    /// requested yet and what is in flight, at all peers' rates together).
    /// Such a peer gets nothing new: what it would hold is what endgame
    /// would have to fetch twice.
    fn would_finish_last(&self, key: PeerKey, outstanding: usize) -> bool {
        let Some(rate) = self.peers.get(&key).and_then(|p| p.pipeline.rate()) else {
            return false;
        };
        let left = self.picker.blocks_unrequested();
        if left == 0 || rate <= 0.0 {
            return false;
        }
        let block = f64::from(BLOCK_LEN);
        let mine = (outstanding + 1) as f64 * block / rate;
        let all: f64 = self.peers.values().filter_map(|p| p.pipeline.rate()).sum();
        let work = (left as usize + self.picker.requests_total()) as f64 * block;
        mine > work / all
    }

    /// Picks for `key`. In endgame, a block another peer has outstanding
    /// is asked of this one too only where this one would deliver it
    /// [`ENDGAME_SOONER`] times sooner, by their rates and queues; a peer
    /// whose place it takes is sent a `cancel`. A peer whose rate is not
    /// known yet takes one duplicate at a time.
    fn pick_blocks(&mut self, key: PeerKey, want: usize) -> Vec<monsoon_piece::Block> {
        let peers = &self.peers;
        // Seconds until a peer would deliver a block: one asked of it now
        // (`None`), or one it has outstanding, by its place in its queue.
        // Not known for a peer that has not delivered yet (nor for one that
        // snubbed or choked us).
        let eta = |k: PeerKey, block: Option<monsoon_piece::Block>| -> Option<f64> {
            let p = peers.get(&k)?;
            let rate = p.pipeline.rate().unwrap_or(p.down.rate);
            if p.snubbed || p.peer_choking || rate <= 0.0 {
                return None;
            }
            let ahead = match block {
                None => p.pipeline.outstanding(),
                Some(b) => p.pipeline.place(&b).unwrap_or(p.pipeline.outstanding()),
            };
            Some((ahead + 1) as f64 * f64::from(BLOCK_LEN) / rate)
        };
        // A peer whose rate is not measured yet probes one block at a
        // time, taken to need its round trip for it (or a quarter second
        // before its first block).
        let endgame = match eta(key, None) {
            Some(t) => Endgame {
                own: t * ENDGAME_SOONER,
                most: usize::MAX,
            },
            None => {
                let rtt = self.peers.get(&key).and_then(|p| p.pipeline.min_rtt());
                Endgame {
                    own: rtt.map_or(PROBE_ETA, |r| r.as_secs_f64()) * ENDGAME_SOONER,
                    most: 1,
                }
            }
        };
        // Nobody's queue is long enough for a duplicate to beat it: no
        // endgame scan of every block in flight (and while this pick
        // cannot reach endgame, no look at every peer's queue).
        let in_endgame = self.picker.in_endgame();
        let may_reach = in_endgame
            || self.picker.blocks_unrequested() <= u64::try_from(want).unwrap_or(u64::MAX);
        let latest = peers
            .iter()
            .filter(|_| may_reach)
            .filter(|&(&k, _)| k != key)
            .map(|(_, p)| {
                let rate = p.pipeline.rate().unwrap_or(p.down.rate);
                if p.snubbed || p.peer_choking || rate <= 0.0 {
                    f64::INFINITY
                } else {
                    p.pipeline.span() as f64 * f64::from(BLOCK_LEN) / rate
                }
            })
            .fold(0.0, f64::max);
        // A peer that found nothing to duplicate looks again only after a
        // while: each look goes through every block in flight.
        let resting = peers
            .get(&key)
            .and_then(|p| p.endgame_rest)
            .is_some_and(|until| self.now < until);
        let endgame = if endgame.own < latest && !resting {
            endgame
        } else {
            Endgame { most: 0, ..endgame }
        };
        let scanned = endgame.most > 0 && in_endgame;
        let own = endgame.own;
        let picked = self.picker.pick_with(key, want, endgame, |holder, block| {
            // Its whole queue first: when even that is not later than
            // ours, the block's place need not be looked up.
            let Some(p) = peers.get(&holder) else {
                return f64::INFINITY;
            };
            let rate = p.pipeline.rate().unwrap_or(p.down.rate);
            if rate > 0.0 {
                let most = p.pipeline.span() as f64 * f64::from(BLOCK_LEN) / rate;
                if most <= own {
                    return most;
                }
            }
            eta(holder, Some(block)).unwrap_or(f64::INFINITY)
        });
        if let Some(p) = self.peers.get_mut(&key) {
            p.endgame_rest =
                (scanned && picked.blocks.is_empty()).then_some(self.now + ENDGAME_REST);
        }
        for (other, b) in picked.displaced {
            if let Some(o) = self.peers.get_mut(&other) {
                // It may be on the wire already: accept it quietly then.
                o.park([b]);
                o.pipeline.forget(b);
                let cancel = Message::Cancel(BlockRef {
                    index: b.piece,
                    begin: b.begin,
                    length: b.length,
                });
                self.send(other, vec![cancel]);
            }
        }
        picked.blocks
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
                for &b in &skipped {
                    p.pipeline.forget(b);
                }
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
    /// snub timeout — or, once its rate is known, within a few seconds and
    /// ten times the time a block takes at that rate (a stall: a peer that
    /// vanished without closing, a congested link) — has its requests given
    /// to others (and gets one request at a time until it sends again).
    pub(super) fn check_snubs(&mut self) {
        let limit = self.cfg.snub_timeout;
        let snubbed: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(k, p)| {
                let silent = self.now.duration_since(p.last_block);
                !p.snubbed
                    && !self.picker.requests(**k).is_empty()
                    && silent > p.pipeline.stall_after().map_or(limit, |s| s.min(limit))
            })
            .map(|(k, _)| *k)
            .collect();
        for key in snubbed {
            debug!(key, "peer snubbed us");
            let released = self.picker.release_peer(key);
            if let Some(p) = self.peers.get_mut(&key) {
                p.snubbed = true;
                p.park(released);
                p.pipeline.forget_all();
            }
        }
    }
}
