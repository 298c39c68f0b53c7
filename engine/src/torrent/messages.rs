//! Reacting to each peer wire message, and serving uploads.

use bytes::Bytes;
use monsoon_piece::{Bitfield, PeerKey};
use monsoon_wire::{BlockRef, ExtendedHandshake, Message};
use tokio::time::Instant;

use super::peers::MAX_UPLOADS_IN_FLIGHT;
use super::{Torrent, TorrentEvent};

/// Largest block we serve (BEP 3 clients use 16 KiB; some ask up to 128 KiB).
const MAX_UPLOAD_BLOCK: u32 = 128 * 1024;

impl Torrent {
    pub(super) fn on_message(&mut self, key: PeerKey, msg: Message) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        // Bitfield / have-all / have-none must come first, but the extension
        // handshake may precede them (libtorrent sends it first).
        let fresh = p.fresh;
        if !matches!(msg, Message::Extended { .. }) {
            p.fresh = false;
        }
        match msg {
            Message::KeepAlive => {}
            Message::Choke => {
                p.peer_choking = true;
                p.park_requests();
                self.picker.on_choked(key);
                self.refill_all();
            }
            Message::Unchoke => {
                p.peer_choking = false;
                self.fill_requests(key);
            }
            Message::Interested => {
                p.peer_interested = true;
                self.unchoke_if_free(key);
            }
            Message::NotInterested => p.peer_interested = false,
            Message::Have(piece) => {
                if piece >= self.geometry.piece_count() {
                    return self.drop_peer(key, "have for a piece outside the torrent");
                }
                if !self.picker.peer_has(key, piece) {
                    p.have_count += 1;
                    self.picker.on_have(key, piece);
                }
                self.after_availability(key);
            }
            Message::Bitfield(bytes) => {
                if !fresh {
                    return self.drop_peer(key, "bitfield after the first message");
                }
                match Bitfield::from_bytes(&bytes, self.geometry.piece_count()) {
                    Ok(bits) => {
                        p.have_count = bits.count_ones();
                        self.picker.on_bitfield(key, &bits);
                        self.after_availability(key);
                    }
                    Err(_) => self.drop_peer(key, "bitfield of the wrong length"),
                }
            }
            Message::HaveAll | Message::HaveNone if !fresh => {
                self.drop_peer(key, "have-all/none after the first message")
            }
            Message::HaveAll => {
                p.have_count = self.geometry.piece_count();
                self.picker.on_have_all(key);
                self.after_availability(key);
            }
            Message::HaveNone => self.picker.on_have_none(key),
            Message::Request(r) => self.on_request(key, r),
            Message::Piece { index, begin, data } => self.on_piece_data(key, index, begin, data),
            Message::Reject(r) => {
                if let Some(block) = self.geometry.block_at(r.index, r.begin, r.length) {
                    if p.requested.remove(&block) {
                        self.picker.release(key, block);
                        self.refill_all();
                    }
                }
            }
            Message::Extended { id: 0, payload } => {
                if let Ok(ext) = ExtendedHandshake::decode(&payload) {
                    if let Some(reqq) = ext.reqq {
                        p.reqq = (reqq as usize).clamp(1, 2048);
                    }
                }
            }
            // Cancel: the read may already be in flight; the block is small.
            // Suggest, allowed-fast, port, unknown extensions: nothing to do.
            _ => {}
        }
    }

    /// After a have/bitfield: maybe interested now; maybe a seed while we seed.
    fn after_availability(&mut self, key: PeerKey) {
        let Some(p) = self.peers.get(&key) else {
            return;
        };
        if self.picker.is_complete() && p.have_count == self.geometry.piece_count() {
            return self.drop_peer(key, "both sides are seeds");
        }
        self.update_interest(key);
        self.fill_requests(key);
    }

    fn on_piece_data(&mut self, key: PeerKey, index: u32, begin: u32, data: Bytes) {
        let len = data.len() as u64;
        self.stats.downloaded += len;
        let Some(block) = u32::try_from(data.len())
            .ok()
            .and_then(|l| self.geometry.block_at(index, begin, l))
        else {
            return self.drop_peer(key, "piece data that is not one of our blocks");
        };
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        p.down_tick += len;
        if !p.requested.remove(&block) && !p.stale.remove(&block) {
            return self.drop_peer(key, "piece data we did not request");
        }
        p.last_block = Instant::now();
        p.snubbed = false;
        let outcome = self.picker.on_block(key, block);
        for (other, b) in outcome.cancel {
            if let Some(o) = self.peers.get_mut(&other) {
                if o.requested.remove(&b) {
                    // It may be on the wire already: accept it quietly then.
                    o.stale.insert(b);
                    let msg = Message::Cancel(BlockRef {
                        index: b.piece,
                        begin: b.begin,
                        length: b.length,
                    });
                    self.send(other, vec![msg]);
                }
            }
        }
        if outcome.accepted {
            let slots = self
                .in_progress
                .entry(block.piece)
                .or_insert_with(|| vec![None; self.geometry.blocks_in_piece(block.piece) as usize]);
            slots[block.index_in_piece() as usize] = Some(data);
            if outcome.piece_complete {
                self.piece_complete(block.piece);
            }
        }
        self.fill_requests(key);
    }

    fn on_request(&mut self, key: PeerKey, r: BlockRef) {
        let in_range = r.index < self.geometry.piece_count()
            && r.length > 0
            && r.length <= MAX_UPLOAD_BLOCK
            && u64::from(r.begin) + u64::from(r.length)
                <= u64::from(self.geometry.piece_size(r.index));
        if !in_range {
            return self.drop_peer(key, "request outside the torrent");
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
        let storage = self.storage.clone();
        let events = self.events.clone();
        self.disk.submit(move || {
            let result = storage
                .read(r.index, r.begin, r.length)
                .map_err(|e| e.to_string());
            let _ = events.blocking_send(TorrentEvent::BlockRead {
                peer: key,
                req: r,
                result,
            });
        });
    }

    pub(super) fn on_block_read(
        &mut self,
        key: PeerKey,
        r: BlockRef,
        result: Result<Bytes, String>,
    ) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        p.uploads_in_flight = p.uploads_in_flight.saturating_sub(1);
        match result {
            Ok(data) if !p.am_choking => {
                let len = data.len() as u64;
                p.up_tick += len;
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
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "reading a block to upload failed");
                if p.fast {
                    self.send(key, vec![Message::Reject(r)]);
                }
            }
        }
    }
}
