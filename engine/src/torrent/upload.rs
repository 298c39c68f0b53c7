//! Serving requests: checked against the torrent and our choking, queued
//! per peer up to the `reqq` we advertise, read a few at a time on the disk
//! threads, and sent as the peer's connection drains; with the fast
//! extension (BEP 6), refusals are rejected and new peers get an allowed
//! fast set.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use monsoon_piece::PeerKey;
use monsoon_storage::StorageError;
use monsoon_wire::{BlockRef, Message};
use sha1::{Digest, Sha1};
use tracing::{debug, warn};

use super::connections::OUR_REQQ;
use super::reason::CloseReason;
use super::{Action, DiskJob, TorrentCore};
use crate::error::TorrentError;

/// Largest block we serve (BEP 3 clients use 16 KiB; some ask up to 128 KiB).
pub(super) const MAX_UPLOAD_BLOCK: u32 = 128 * 1024;
/// Reads in flight on the disk threads for one peer.
const MAX_READS_PER_PEER: usize = 8;
/// Payload bytes queued for one peer's connection and not yet written:
/// no more reads start for it beyond this (its send queue is bounded in
/// bytes, whatever it asks).
pub(super) const MAX_UNSENT: u64 = 2 << 20;
/// Requests refused for a full queue, without a block sent in between,
/// after which the peer is dropped for flooding.
const MAX_OVERFLOW: u32 = 4 * OUR_REQQ;
/// Size of the allowed fast set we give (BEP 6 suggests 10).
const ALLOWED_FAST: usize = 10;

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
        let have = self.picker.have().get(r.index);
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let allowed = !p.am_choking || p.allowed_fast.contains(&r.index);
        if p.queue.contains(&r) || p.reading.contains(&r) {
            return; // asked twice: served once
        }
        let full = p.queue.len() + p.reading.len() >= OUR_REQQ as usize;
        if full {
            p.overflow += 1;
            if p.overflow > MAX_OVERFLOW {
                return self.close_peer(key, CloseReason::RequestFlood);
            }
        }
        if !have || !allowed || full {
            // BEP 6: say so; without it, drop the request and keep the peer.
            if p.fast {
                self.send(key, vec![Message::Reject(r)]);
            }
            return;
        }
        p.queue.push_back(r);
        self.dispatch_reads(key);
    }

    /// Starts reads for the peer's queued requests while few are in flight
    /// and its connection is not backed up.
    pub(super) fn dispatch_reads(&mut self, key: PeerKey) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let mut jobs = Vec::new();
        while p.reading.len() < MAX_READS_PER_PEER {
            let in_flight: u64 = p.reading.iter().map(|r| u64::from(r.length)).sum();
            if p.unsent + in_flight >= MAX_UNSENT {
                break;
            }
            let Some(r) = p.queue.pop_front() else {
                break;
            };
            if p.unsent == 0 {
                // Nothing was waiting: the stall clock starts now.
                p.last_send_progress = self.now;
            }
            p.reading.push_back(r);
            jobs.push(r);
        }
        for block in jobs {
            self.push(Action::Disk(DiskJob::Read { peer: key, block }));
        }
    }

    /// BEP 3 `cancel`: forget a queued request; a read in flight is dropped
    /// when it comes back.
    pub(super) fn on_cancel(&mut self, key: PeerKey, r: BlockRef) {
        if let Some(p) = self.peers.get_mut(&key) {
            p.queue.retain(|q| *q != r);
            p.reading.retain(|q| *q != r);
        }
    }

    /// We choke the peer: its queued requests are dropped (BEP 3), or
    /// rejected (BEP 6) unless they are in its allowed fast set.
    pub(super) fn drop_queued_requests(&mut self, key: PeerKey) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let allowed = p.allowed_fast.clone();
        let mut dropped = Vec::new();
        for list in [&mut p.queue, &mut p.reading] {
            list.retain(|r| {
                let keep = allowed.contains(&r.index);
                if !keep {
                    dropped.push(*r);
                }
                keep
            });
        }
        if p.fast && !dropped.is_empty() {
            self.send(key, dropped.into_iter().map(Message::Reject).collect());
        }
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
        let Some(at) = p.reading.iter().position(|q| *q == r) else {
            return; // cancelled, or choked since
        };
        p.reading.remove(at);
        let len = data.len() as u64;
        p.up.add(len);
        p.unsent += len;
        p.uploaded_since_unchoke += len;
        p.overflow = 0;
        self.stats.uploaded += len;
        self.send(
            key,
            vec![Message::Piece {
                index: r.index,
                begin: r.begin,
                data,
            }],
        );
        self.dispatch_reads(key);
    }

    /// On each tick: a peer that took nothing of what we queued for it
    /// within the send timeout is dropped.
    pub(super) fn check_stalled_sends(&mut self) {
        let limit = self.cfg.send_timeout;
        let stalled: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| p.unsent > 0 && self.now.duration_since(p.last_send_progress) > limit)
            .map(|(k, _)| *k)
            .collect();
        for key in stalled {
            debug!(key, "peer does not read what we send");
            self.close_peer(key, CloseReason::NotReading);
        }
    }

    /// The allowed fast set for a new fast-extension peer: the pieces of its
    /// BEP 6 set that we have, as messages (remembered on the peer).
    pub(super) fn allowed_fast_for(&mut self, key: PeerKey, ip: IpAddr) -> Vec<Message> {
        let IpAddr::V4(v4) = ip else {
            return Vec::new(); // BEP 6 defines the set for IPv4 only
        };
        let set = allowed_fast_set(
            u32::from(v4),
            &self.meta.info_hash,
            self.geometry.piece_count(),
            ALLOWED_FAST,
        );
        let have: Vec<u32> = set
            .into_iter()
            .filter(|&p| self.picker.have().get(p))
            .collect();
        if let Some(p) = self.peers.get_mut(&key) {
            p.allowed_fast.clone_from(&have);
        }
        have.into_iter().map(Message::AllowedFast).collect()
    }
}

/// BEP 6's allowed fast set of `k` pieces for the IPv4 address `ip` (its
/// /24 network) and the torrent's info-hash.
pub(super) fn allowed_fast_set(ip: u32, info_hash: &[u8; 20], pieces: u32, k: usize) -> Vec<u32> {
    let k = k.min(pieces as usize);
    let mut set = Vec::with_capacity(k);
    let mut x: Vec<u8> = (ip & 0xFFFF_FF00).to_be_bytes().to_vec();
    x.extend_from_slice(info_hash);
    while set.len() < k {
        x = Sha1::digest(&x).to_vec();
        for chunk in x.chunks_exact(4) {
            if set.len() >= k {
                break;
            }
            let y = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let index = y % pieces;
            if !set.contains(&index) {
                set.push(index);
            }
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::allowed_fast_set;

    #[test]
    fn allowed_fast_set_matches_the_bep_6_example() {
        let ip = u32::from(std::net::Ipv4Addr::new(80, 4, 4, 200));
        let set7 = allowed_fast_set(ip, &[0xaa; 20], 1313, 7);
        assert_eq!(set7, [1059, 431, 808, 1217, 287, 376, 1188]);
        let set9 = allowed_fast_set(ip, &[0xaa; 20], 1313, 9);
        assert_eq!(set9, [1059, 431, 808, 1217, 287, 376, 1188, 353, 508]);
        // The /24 decides, not the host.
        let neighbour = u32::from(std::net::Ipv4Addr::new(80, 4, 4, 1));
        assert_eq!(allowed_fast_set(neighbour, &[0xaa; 20], 1313, 7), set7);
        assert_eq!(
            allowed_fast_set(ip, &[0xaa; 20], 3, 10).len(),
            3,
            "never more than the pieces"
        );
    }
}
