//! Choking: whom we upload to. Every `choke_interval` the interested peers
//! are ranked and the best `slots` unchoked, plus one optimistic unchoke
//! that rotates every `optimistic_interval` to the peer that waited longest
//! for one; between rounds, interested peers are unchoked at once while a
//! slot is free.
//!
//! - Downloading: tit-for-tat, the peers that send us the most first.
//! - Seeding: round robin (libtorrent's default seed choker): a peer keeps
//!   its slot while we upload to it, until it has had its quota (20
//!   pieces' worth, and at least a minute); then it goes behind the peers
//!   that waited longest. With no upload limit, more slots open while every
//!   slot is busy (each one faster than the last by 2 KiB/s, as
//!   libtorrent's rate-based choker counts).

use std::time::Duration;

use monsoon_piece::PeerKey;
use monsoon_wire::Message;

use super::TorrentCore;

/// Pieces' worth of data a seeding slot serves before it rotates.
const SEEDING_PIECE_QUOTA: u64 = 20;
/// Shortest time a seeding slot is held before it rotates.
const SEEDING_MIN_SLOT: Duration = Duration::from_secs(60);
/// Upload rate the first extra slot needs (bytes/s); each next one 2 KiB/s more.
const RATE_SLOT_START: f64 = 1024.0;
const RATE_SLOT_STEP: f64 = 2048.0;

impl TorrentCore {
    fn unchoked_count(&self) -> usize {
        self.peers.values().filter(|p| !p.am_choking).count()
    }

    fn set_choke(&mut self, key: PeerKey, choke: bool) {
        let now = self.now;
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if p.am_choking == choke {
            return;
        }
        p.am_choking = choke;
        if choke {
            self.send(key, vec![Message::Choke]);
            self.drop_queued_requests(key);
        } else {
            p.unchoked_at = now;
            p.uploaded_since_unchoke = 0;
            self.send(key, vec![Message::Unchoke]);
        }
    }

    /// An interested peer is unchoked at once while an upload slot is free.
    pub(super) fn unchoke_if_free(&mut self, key: PeerKey) {
        if self.unchoked_count() < self.slots + 1 {
            self.set_choke(key, false);
        }
    }

    /// Upload slots for this round (besides the optimistic one).
    fn slot_count(&self, seeding: bool) -> usize {
        let base = self.cfg.upload_slots.max(1);
        if !seeding || self.upload_limit != 0 {
            return base;
        }
        let mut rates: Vec<f64> = self
            .peers
            .values()
            .filter(|p| !p.am_choking)
            .map(|p| p.up.rate)
            .collect();
        rates.sort_by(|a, b| b.total_cmp(a));
        let mut threshold = RATE_SLOT_START;
        let mut busy = 0;
        for r in rates {
            if r < threshold {
                break;
            }
            busy += 1;
            threshold += RATE_SLOT_STEP;
        }
        base.max(busy + 1)
    }

    /// Re-evaluates who we upload to (see the module docs); the optimistic
    /// slot moves when `rotate_optimistic`.
    pub(super) fn rechoke(&mut self, rotate_optimistic: bool) {
        let seeding = self.picker.is_complete();
        let quota = u64::from(self.geometry.piece_len()) * SEEDING_PIECE_QUOTA;
        let now = self.now;
        let mut ranked: Vec<(PeerKey, &super::peer::PeerState)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.peer_interested)
            .map(|(k, p)| (*k, p))
            .collect();
        if seeding {
            ranked.sort_by(|(ka, a), (kb, b)| {
                let done = |p: &super::peer::PeerState| {
                    !p.am_choking
                        && p.uploaded_since_unchoke > quota
                        && now.duration_since(p.unchoked_at) >= SEEDING_MIN_SLOT
                };
                // A choked peer's residual transfer does not count.
                let rate = |p: &super::peer::PeerState| if p.am_choking { 0.0 } else { p.up.rate };
                done(a)
                    .cmp(&done(b))
                    .then(rate(b).total_cmp(&rate(a)))
                    .then(a.unchoked_at.cmp(&b.unchoked_at))
                    .then(ka.cmp(kb))
            });
        } else {
            // Stable: equal rates keep key order, so the choice is deterministic.
            ranked.sort_by(|(_, a), (_, b)| b.down.rate.total_cmp(&a.down.rate));
        }
        let ranked: Vec<PeerKey> = ranked.into_iter().map(|(k, _)| k).collect();
        self.slots = self.slot_count(seeding);
        let mut unchoke: Vec<PeerKey> = ranked.iter().take(self.slots).copied().collect();
        let choked: Vec<PeerKey> = ranked.iter().skip(self.slots).copied().collect();
        // The optimistic peer left, lost interest, or earned a regular
        // slot: the optimistic slot goes to another.
        let optimistic_gone = self.optimistic.is_none_or(|k| !choked.contains(&k));
        if rotate_optimistic || optimistic_gone {
            // The one that waited longest since its last optimistic turn.
            self.optimistic = choked
                .iter()
                .min_by_key(|k| (self.peers.get(k).map_or(0, |p| p.optimistic_at), **k))
                .copied();
            if let Some(p) = self.optimistic.and_then(|k| self.peers.get_mut(&k)) {
                p.optimistic_at = self.ticks;
            }
        }
        if let Some(k) = self.optimistic {
            if !unchoke.contains(&k) {
                unchoke.push(k);
            }
        }
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.set_choke(key, !unchoke.contains(&key));
        }
    }
}
