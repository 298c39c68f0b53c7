//! Serving requests: checked against the torrent and our choking, read on
//! the disk threads, sent when the read comes back.

use std::sync::Arc;

use bytes::Bytes;
use monsoon_piece::PeerKey;
use monsoon_storage::StorageError;
use monsoon_wire::{BlockRef, Message};
use tracing::warn;

use super::reason::CloseReason;
use super::{Action, DiskJob, TorrentCore};
use crate::error::TorrentError;

/// Largest block we serve (BEP 3 clients use 16 KiB; some ask up to 128 KiB).
pub(super) const MAX_UPLOAD_BLOCK: u32 = 128 * 1024;
/// Most reads in flight on the disk threads for one peer.
pub(super) const MAX_UPLOADS_IN_FLIGHT: usize = 64;

impl TorrentCore {
    pub(super) fn on_request(&mut self, key: PeerKey, r: BlockRef) {
        let in_range = r.index < self.geometry.piece_count()
            && r.length > 0
            && r.length <= MAX_UPLOAD_BLOCK
            && u64::from(r.begin) + u64::from(r.length)
                <= u64::from(self.geometry.piece_size(r.index));
        if !in_range {
            return self.close_peer(key, CloseReason::RequestOutOfRange);
        }
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let refuse = p.am_choking
            || !self.picker.have().get(r.index)
            || p.uploads_in_flight >= MAX_UPLOADS_IN_FLIGHT;
        if refuse {
            if p.fast {
                self.send(key, vec![Message::Reject(r)]);
            }
            return;
        }
        p.uploads_in_flight += 1;
        self.push(Action::Disk(DiskJob::Read {
            peer: key,
            block: r,
        }));
    }

    pub(super) fn on_block_read(
        &mut self,
        key: PeerKey,
        r: BlockRef,
        result: Result<Bytes, StorageError>,
    ) {
        let data = match result {
            Ok(data) => data,
            Err(e) => {
                warn!(error = %e, "reading a block to upload failed");
                return self.fail(TorrentError::Read {
                    piece: r.index,
                    source: Arc::new(e),
                });
            }
        };
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        p.uploads_in_flight = p.uploads_in_flight.saturating_sub(1);
        if p.am_choking {
            // Choked since it asked: dropped (BEP 3), or rejected (BEP 6).
            if p.fast {
                self.send(key, vec![Message::Reject(r)]);
            }
            return;
        }
        let len = data.len() as u64;
        p.up.add(len);
        self.stats.uploaded += len;
        self.send(
            key,
            vec![Message::Piece {
                index: r.index,
                begin: r.begin,
                data,
            }],
        );
    }
}
