//! Choking: tit-for-tat every `choke_interval`, an optimistic unchoke that
//! rotates every `optimistic_interval`, and immediate unchokes while slots are free.

use monsoon_piece::PeerKey;
use monsoon_wire::Message;

use super::Torrent;

impl Torrent {
    fn unchoked_count(&self) -> usize {
        self.peers.values().filter(|p| !p.am_choking).count()
    }

    fn set_choke(&mut self, key: PeerKey, choke: bool) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if p.am_choking != choke {
            p.am_choking = choke;
            self.send(
                key,
                vec![if choke {
                    Message::Choke
                } else {
                    Message::Unchoke
                }],
            );
        }
    }

    /// An interested peer is unchoked at once while an upload slot is free.
    pub(super) fn unchoke_if_free(&mut self, key: PeerKey) {
        if self.unchoked_count() < self.cfg.upload_slots + 1 {
            self.set_choke(key, false);
        }
    }

    /// Re-evaluates who we upload to: the interested peers that give us the
    /// most (or, when seeding, take the most), plus one optimistic unchoke.
    pub(super) fn rechoke(&mut self, rotate_optimistic: bool) {
        let seeding = self.picker.is_complete();
        let mut interested: Vec<(PeerKey, f64)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.peer_interested)
            .map(|(k, p)| (*k, if seeding { p.up_rate } else { p.down_rate }))
            .collect();
        interested.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut unchoke: Vec<PeerKey> = interested
            .iter()
            .take(self.cfg.upload_slots)
            .map(|(k, _)| *k)
            .collect();
        let choked: Vec<PeerKey> = interested
            .iter()
            .skip(self.cfg.upload_slots)
            .map(|(k, _)| *k)
            .collect();
        if rotate_optimistic || self.optimistic.is_none_or(|k| !self.peers.contains_key(&k)) {
            self.optimistic = if choked.is_empty() {
                None
            } else {
                Some(choked[(self.ticks as usize) % choked.len()])
            };
        }
        if let Some(k) = self.optimistic {
            unchoke.push(k);
        }
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.set_choke(key, !unchoke.contains(&key));
        }
    }
}
