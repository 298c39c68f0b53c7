//! Reacting to each peer wire message; every check that closes the
//! connection of a peer that breaks the protocol is here.

use std::time::Instant;

use bytes::Bytes;
use monsoon_piece::{Bitfield, PeerKey};
use monsoon_wire::{BlockRef, Message};

use super::ext::{OUR_UT_METADATA, OUR_UT_PEX};

use super::TorrentCore;
use super::reason::CloseReason;

impl TorrentCore {
    /// A message from a connected peer.
    pub fn handle_message(&mut self, now: Instant, key: PeerKey, msg: Message) {
        self.set_now(now);
        if self.fetch.is_some() {
            return self.on_message_fetching(key, msg);
        }
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        // Bitfield / have-all / have-none come first (the extension
        // handshake may precede them: libtorrent sends it first). One that
        // comes later adds pieces, as `have`s would: aria2c sends a bitfield
        // again mid-connection, and pieces are never taken back.
        let fresh = p.fresh;
        if !matches!(msg, Message::Extended { .. }) {
            p.fresh = false;
        }
        match msg {
            Message::Choke => {
                p.peer_choking = true;
                let released = self.picker.on_choked(key);
                p.park(released);
                p.pipeline.forget_all();
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
                    return self.close_peer(key, CloseReason::HaveOutOfRange);
                }
                if !self.picker.peer_has(key, piece) {
                    p.have_count += 1;
                    self.picker.on_have(key, piece);
                }
                self.after_availability(key);
            }
            Message::Bitfield(bytes) => {
                match Bitfield::from_bytes(&bytes, self.geometry.piece_count()) {
                    Ok(bits) if fresh => {
                        p.have_count = bits.count_ones();
                        self.picker.on_bitfield(key, &bits);
                    }
                    Ok(bits) => self.add_pieces(key, &bits),
                    Err(_) => return self.close_peer(key, CloseReason::BadBitfield),
                }
                self.after_availability(key);
            }
            Message::HaveAll => {
                p.have_count = self.geometry.piece_count();
                self.picker.on_have_all(key);
                self.after_availability(key);
            }
            // Late, it takes nothing back.
            Message::HaveNone if !fresh => {}
            Message::HaveNone => self.picker.on_have_none(key),
            Message::Request(r) => self.on_request(key, r),
            Message::Piece { index, begin, data } => self.on_piece_data(key, index, begin, data),
            Message::Reject(r) => self.on_reject(key, r),
            Message::Cancel(r) => self.on_cancel(key, r),
            Message::Extended { id: 0, payload } => self.on_ext_handshake(key, &payload),
            Message::Extended {
                id: OUR_UT_METADATA,
                payload,
            } => self.on_metadata_message(key, &payload),
            Message::Extended {
                id: OUR_UT_PEX,
                payload,
            } => self.on_pex(key, &payload),
            Message::HashRequest(r) => self.on_hash_request(key, r),
            Message::Hashes { request, hashes } => self.on_hashes(key, request, &hashes),
            Message::HashReject(r) => self.on_hash_reject(key, r),
            // Keep-alive: nothing to do (the driver tracks idleness).
            // Suggest and allowed-fast are hints we may ignore (BEP 6);
            // port, other extensions: not used yet.
            _ => {}
        }
    }

    /// After a have/bitfield: maybe interested now; maybe a seed while we seed.
    /// Records that `key` has the pieces of `bits` as well (a late
    /// bitfield: a batch of `have`s).
    pub(super) fn add_pieces(&mut self, key: PeerKey, bits: &Bitfield) {
        let mut added = 0;
        for piece in bits.iter_ones() {
            if !self.picker.peer_has(key, piece) {
                self.picker.on_have(key, piece);
                added += 1;
            }
        }
        if let Some(p) = self.peers.get_mut(&key) {
            p.have_count += added;
        }
    }

    fn after_availability(&mut self, key: PeerKey) {
        let Some(p) = self.peers.get(&key) else {
            return;
        };
        if self.picker.is_complete() && p.have_count == self.geometry.piece_count() {
            return self.close_peer(key, CloseReason::BothSeeds);
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
            return self.close_peer(key, CloseReason::BlockOutOfRange);
        };
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        p.down.add(len);
        let requested = self.picker.is_requested(key, block);
        if !requested && !p.take_stale(&block) {
            return self.close_peer(key, CloseReason::UnrequestedBlock);
        }
        if requested {
            p.last_block = self.now;
            p.snubbed = false;
        }
        if requested {
            p.pipeline.on_block(self.now, block, len);
        }
        let outcome = self.picker.on_block(key, block, data);
        for (other, b) in outcome.cancel {
            if let Some(o) = self.peers.get_mut(&other) {
                o.pipeline.forget(b);
                // It may be on the wire already: accept it quietly then.
                o.park([b]);
                let cancel = Message::Cancel(BlockRef {
                    index: b.piece,
                    begin: b.begin,
                    length: b.length,
                });
                self.send(other, vec![cancel]);
            }
        }
        if outcome.piece_complete {
            self.piece_complete(block.piece);
        }
        self.fill_requests(key);
    }

    /// BEP 6: the peer will not serve this request.
    fn on_reject(&mut self, key: PeerKey, r: BlockRef) {
        let Some(block) = self.geometry.block_at(r.index, r.begin, r.length) else {
            return;
        };
        if self.picker.is_requested(key, block) {
            self.picker.release(key, block);
            if let Some(p) = self.peers.get_mut(&key) {
                p.park([block]);
                p.pipeline.forget(block);
            }
            self.refill_all();
        }
    }
}
