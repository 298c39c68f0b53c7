//! The Piece Manager's side of the core: complete pieces go to the disk to
//! be hashed and written; what comes back is announced, or re-queued with
//! the peers that sent bad data scored and banned.

use std::sync::Arc;
use std::time::Instant;

use monsoon_piece::PeerKey;
use monsoon_storage::StorageError;
use monsoon_wire::Message;
use tracing::warn;

use super::reason::CloseReason;
use super::{Action, DiskJob, DiskResult, TorrentCore};
use crate::error::TorrentError;
use crate::stats::TorrentState;

impl TorrentCore {
    /// A [`DiskJob`] finished.
    pub fn handle_disk(&mut self, now: Instant, result: DiskResult) {
        self.set_now(now);
        self.disk_jobs = self.disk_jobs.saturating_sub(1);
        match result {
            DiskResult::Checked(result) => self.on_checked(result),
            DiskResult::PieceWritten { piece, result } => self.on_piece_written(piece, result),
            DiskResult::Read {
                peer,
                block,
                result,
            } => self.on_block_read(peer, block, result),
            DiskResult::Flushed(Err(e)) => self.fail(TorrentError::Flush(Arc::new(e))),
            DiskResult::Flushed(Ok(())) => {}
        }
    }

    /// Every block of `piece` arrived: hand it to the disk to verify and write.
    pub(super) fn piece_complete(&mut self, piece: u32) {
        let Some(blocks) = self.picker.take_piece(piece) else {
            return;
        };
        self.pending_disk_bytes += u64::from(self.geometry.piece_size(piece));
        let hash = self.meta.pieces[piece as usize];
        self.push(Action::Disk(DiskJob::WritePiece {
            piece,
            blocks,
            hash,
        }));
    }

    fn on_piece_written(&mut self, piece: u32, result: Result<bool, StorageError>) {
        let size = u64::from(self.geometry.piece_size(piece));
        self.pending_disk_bytes = self.pending_disk_bytes.saturating_sub(size);
        if self.state() == TorrentState::Stopped {
            return;
        }
        match result {
            Ok(true) => self.piece_verified(piece),
            Ok(false) => self.piece_failed(piece, size),
            Err(e) => {
                // The piece is not on disk: it must be fetched again.
                self.picker.on_piece_failed(piece);
                return self.fail(TorrentError::Write {
                    piece,
                    source: Arc::new(e),
                });
            }
        }
        self.refill_all();
    }

    fn piece_verified(&mut self, piece: u32) {
        self.picker.on_piece_verified(piece);
        if self.priorities[piece as usize] > 0 {
            self.stats.done_bytes += u64::from(self.geometry.piece_size(piece));
        }
        self.stats.pieces_done = self.picker.have().count_ones();
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for &key in &keys {
            if !self.picker.peer_has(key, piece) {
                self.send(key, vec![Message::Have(piece)]);
            }
        }
        if self.picker.is_complete() && self.state() == TorrentState::Downloading {
            self.on_download_complete();
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
            let Some((addr, id)) = self.identity(key) else {
                continue;
            };
            if self.list.strike(addr) >= self.cfg.ban_after_failures {
                warn!(%addr, "banning peer for sending corrupt data");
                self.list.ban(addr, id);
                self.close_peer(key, CloseReason::Banned);
            }
        }
        self.refresh_stats();
    }
}
