//! Choking: tit-for-tat every `choke_interval`, an optimistic unchoke that
//! rotates every `optimistic_interval` (to the interested peer that waited
//! longest for one), and immediate unchokes while slots are free.

use monsoon_piece::PeerKey;
use monsoon_wire::Message;

use super::TorrentCore;

impl TorrentCore {
    fn unchoked_count(&self) -> usize {
        self.peers.values().filter(|p| !p.am_choking).count()
    }

    fn set_choke(&mut self, key: PeerKey, choke: bool) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if p.am_choking != choke {
            p.am_choking = choke;
            let msg = if choke {
                Message::Choke
            } else {
                Message::Unchoke
            };
            self.send(key, vec![msg]);
        }
    }

    /// An interested peer is unchoked at once while an upload slot is free.
    pub(super) fn unchoke_if_free(&mut self, key: PeerKey) {
        if self.unchoked_count() < self.cfg.upload_slots + 1 {
            self.set_choke(key, false);
        }
    }

    /// Re-evaluates who we upload to: the interested peers that give us the
    /// most (or, when seeding, take the most), plus one optimistic unchoke
    /// among the others, rotated when `rotate_optimistic`.
    pub(super) fn rechoke(&mut self, rotate_optimistic: bool) {
        let seeding = self.picker.is_complete();
        let mut interested: Vec<(PeerKey, f64)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.peer_interested)
            .map(|(k, p)| (*k, if seeding { p.up.rate } else { p.down.rate }))
            .collect();
        // Stable: equal rates keep key order, so the choice is deterministic.
        interested.sort_by(|a, b| b.1.total_cmp(&a.1));
        let slots = self.cfg.upload_slots;
        let mut unchoke: Vec<PeerKey> = interested.iter().take(slots).map(|(k, _)| *k).collect();
        let choked: Vec<PeerKey> = interested.iter().skip(slots).map(|(k, _)| *k).collect();
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
