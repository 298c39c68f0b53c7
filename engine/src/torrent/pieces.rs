//! The Piece Manager's side of the core: complete pieces go to the disk to
//! be hashed and written; what comes back is announced, or re-queued with
//! the peers that sent bad data found and banned.
//!
//! Who sent bad data: a piece that fails with one sender counts a strike
//! against it (banned after `ban_after_failures`). A piece that fails with
//! several senders strikes nobody, since honest peers would be punished
//! with the guilty one; instead each block's hash is kept, and when the
//! piece later passes, whoever had sent a block that differs from the good
//! one is banned at once (libtorrent's "smart ban").

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
            DiskResult::PieceWritten {
                piece,
                result,
                block_hashes,
            } => self.on_piece_written(piece, result, &block_hashes),
            DiskResult::Read {
                peer,
                block,
                result,
            } => self.on_block_read(peer, block, result),
            DiskResult::Flushed(Err(e)) => self.fail(TorrentError::Flush(Arc::new(e))),
            DiskResult::Flushed(Ok(())) => {}
            DiskResult::HashesDisagree { piece } => {
                let size = u64::from(self.geometry.piece_size(piece));
                self.pending_disk_bytes = self.pending_disk_bytes.saturating_sub(size);
                self.picker.on_piece_failed(piece);
                self.fail(TorrentError::InconsistentHashes { piece });
            }
        }
    }

    /// Every block of `piece` arrived: hand it to the disk to verify and write.
    pub(super) fn piece_complete(&mut self, piece: u32) {
        let Some(blocks) = self.picker.take_piece(piece) else {
            return;
        };
        self.pending_disk_bytes += u64::from(self.geometry.piece_size(piece));
        let check = self.verifier.piece(piece);
        let block_hashes = self.suspects.contains_key(&piece);
        self.push(Action::Disk(DiskJob::WritePiece {
            piece,
            blocks,
            check,
            block_hashes,
        }));
    }

    fn on_piece_written(
        &mut self,
        piece: u32,
        result: Result<bool, StorageError>,
        block_hashes: &[[u8; 20]],
    ) {
        let size = u64::from(self.geometry.piece_size(piece));
        self.pending_disk_bytes = self.pending_disk_bytes.saturating_sub(size);
        if self.state() == TorrentState::Stopped {
            return;
        }
        match result {
            Ok(true) => {
                self.convict(piece, block_hashes);
                self.piece_verified(piece);
            }
            Ok(false) => self.piece_failed(piece, size, block_hashes),
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

    fn piece_failed(&mut self, piece: u32, size: u64, block_hashes: &[[u8; 20]]) {
        self.stats.wasted += size;
        let senders = self.picker.senders(piece).unwrap_or_default();
        self.picker.on_piece_failed(piece);
        let mut distinct = senders.clone();
        distinct.sort_unstable();
        distinct.dedup();
        warn!(piece, peers = distinct.len(), "piece failed its hash check");
        match distinct[..] {
            [] => {}
            [only] => {
                if let Some((addr, id)) = self.identity(only) {
                    if self.list.strike(addr) >= self.cfg.ban_after_failures {
                        self.ban(only, addr, id);
                    }
                }
            }
            _ => {
                // Remember who sent what; judged when the piece passes.
                if !self.suspects.contains_key(&piece) {
                    self.suspect_order.push_back(piece);
                    if self.suspect_order.len() > MAX_SUSPECT_PIECES {
                        if let Some(old) = self.suspect_order.pop_front() {
                            self.suspects.remove(&old);
                        }
                    }
                }
                let attempt: Vec<Suspect> = senders
                    .iter()
                    .zip(block_hashes)
                    .enumerate()
                    .filter_map(|(block, (&key, hash))| {
                        let (addr, id) = self.identity(key)?;
                        let block = block as u32;
                        let hash = *hash;
                        Some(Suspect {
                            key,
                            addr,
                            id,
                            block,
                            hash,
                        })
                    })
                    .collect();
                let record = self.suspects.entry(piece).or_default();
                let room = MAX_SUSPECT_BLOCKS.saturating_sub(record.len());
                record.extend(attempt.into_iter().take(room));
            }
        }
        self.refresh_stats();
    }

    /// A piece that failed before passed: ban whoever had sent a block that
    /// differs from the good one.
    fn convict(&mut self, piece: u32, good: &[[u8; 20]]) {
        let Some(record) = self.suspects.remove(&piece) else {
            return;
        };
        self.suspect_order.retain(|&p| p != piece);
        let mut guilty: Vec<(PeerKey, std::net::SocketAddr, [u8; 20])> = record
            .iter()
            .filter(|s| good.get(s.block as usize).is_some_and(|g| *g != s.hash))
            .map(|s| (s.key, s.addr, s.id))
            .collect();
        guilty.sort_unstable();
        guilty.dedup();
        for (key, addr, id) in guilty {
            self.ban(key, addr, id);
        }
    }

    fn ban(&mut self, key: PeerKey, addr: std::net::SocketAddr, id: [u8; 20]) {
        warn!(%addr, "banning peer for sending corrupt data");
        self.list.ban(addr, id);
        self.close_peer(key, CloseReason::Banned);
        // Another connection from the same peer id goes too.
        let same: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| p.id == id)
            .map(|(k, _)| *k)
            .collect();
        for k in same {
            self.close_peer(k, CloseReason::Banned);
        }
    }
}

/// One block of a failed piece and who sent it.
#[derive(Debug)]
pub(super) struct Suspect {
    key: PeerKey,
    addr: std::net::SocketAddr,
    id: [u8; 20],
    block: u32,
    hash: [u8; 20],
}

/// Failed pieces whose blocks are remembered for a smart ban, at most.
pub(super) const MAX_SUSPECT_PIECES: usize = 64;
/// Blocks remembered per failed piece (over all its failed attempts).
const MAX_SUSPECT_BLOCKS: usize = 4096;
