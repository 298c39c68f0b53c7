//! Completed pieces: hash and write off the async threads, then announce
//! them, or re-queue them and score the peers that sent bad data.

use bytes::Bytes;
use monsoon_piece::PeerKey;
use monsoon_wire::Message;
use tracing::{info, warn};

use super::{Torrent, TorrentEvent};
use crate::stats::TorrentState;

impl Torrent {
    /// Every block of `piece` arrived: verify and write it on a blocking thread.
    pub(super) fn piece_complete(&mut self, piece: u32) {
        let Some(slots) = self.in_progress.remove(&piece) else {
            return;
        };
        let Some(blocks) = slots.into_iter().collect::<Option<Vec<Bytes>>>() else {
            // The picker and our buffer disagree: start the piece over.
            warn!(piece, "piece reported complete with blocks missing");
            self.picker.on_piece_failed(piece);
            return;
        };
        let size = u64::from(self.geometry.piece_size(piece));
        self.pending_disk_bytes += size;
        let expected = self.meta.pieces[piece as usize];
        let storage = self.storage.clone();
        let events = self.events.clone();
        self.disk.submit(move || {
            let result = if monsoon_storage::hash_blocks(&blocks) == expected {
                storage
                    .write_piece(piece, &blocks)
                    .map(|()| true)
                    .map_err(|e| e.to_string())
            } else {
                Ok(false)
            };
            drop(blocks);
            let _ = events.blocking_send(TorrentEvent::PieceChecked { piece, result });
        });
    }

    pub(super) fn on_piece_checked(&mut self, piece: u32, result: Result<bool, String>) {
        let size = u64::from(self.geometry.piece_size(piece));
        self.pending_disk_bytes = self.pending_disk_bytes.saturating_sub(size);
        match result {
            Ok(true) => self.piece_verified(piece),
            Ok(false) => self.piece_failed(piece, size),
            Err(e) => return self.fail(format!("writing piece {piece}: {e}")),
        }
        self.refill_all();
    }

    fn piece_verified(&mut self, piece: u32) {
        self.picker.on_piece_verified(piece);
        if self.priorities[piece as usize] > 0 {
            self.stats.done_bytes += u64::from(self.geometry.piece_size(piece));
        }
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in &keys {
            if !self.picker.peer_has(*key, piece) {
                self.send(*key, vec![Message::Have(piece)]);
            }
        }
        if self.picker.is_complete() && self.stats.state == TorrentState::Downloading {
            info!(name = %self.meta.name, "download complete");
            self.stats.state = TorrentState::Seeding;
            self.in_progress.clear();
            let storage = self.storage.clone();
            self.disk.submit(move || {
                let _ = storage.flush();
            });
            let n = self.geometry.piece_count();
            for key in keys {
                let seed = self.peers.get(&key).is_some_and(|p| p.have_count == n);
                if seed {
                    self.drop_peer(key, "both sides are seeds");
                } else {
                    self.update_interest(key);
                }
            }
            self.publish();
        } else {
            for key in keys {
                self.update_interest(key);
            }
        }
    }

    fn piece_failed(&mut self, piece: u32, size: u64) {
        self.stats.wasted += size;
        let contributors = self.picker.on_piece_failed(piece);
        warn!(
            piece,
            peers = contributors.len(),
            "piece failed its hash check"
        );
        for key in contributors {
            let Some(&(addr, id)) = self.key_addrs.get(&key) else {
                continue;
            };
            let strikes = self.strikes.entry(addr).or_insert(0);
            *strikes += 1;
            if *strikes >= self.cfg.ban_after_failures {
                warn!(%addr, "banning peer for sending corrupt data");
                self.banned_addrs.insert(addr);
                self.banned_ids.insert(id);
                self.drop_peer(key, "banned: corrupt data");
            }
        }
    }
}
