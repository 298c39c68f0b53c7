//! Metadata exchange (BEP 9): a torrent added from a magnet link fetches
//! its info dictionary from peers (state `FetchingMetadata`), checks it
//! against the info-hash, and goes on to `Checking` with the same peers
//! connected; a torrent that has its metadata serves it.
//!
//! While fetching, what peers say about pieces (bitfield, haves) is kept
//! and replayed once the piece count is known; a peer that announces a
//! metadata size over [`MAX_METADATA`] or sends a piece of the wrong size
//! or never asked for is closed, and every peer that sent part of a
//! metadata that does not hash to the info-hash is closed.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use monsoon_piece::{Bitfield, PeerKey};
use monsoon_wire::{METADATA_PIECE_SIZE, Message, MetadataMessage};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use tracing::{debug, info, warn};

use super::reason::CloseReason;
use super::{Action, TorrentCore, truncate};
use crate::error::TorrentError;
use crate::metainfo::Metainfo;

/// Largest info dictionary accepted from peers: 16 MiB.
pub const MAX_METADATA: u64 = 16 << 20;
/// Metadata pieces asked of one peer at once.
const ASK_PER_PEER: usize = 2;
/// A metadata piece not answered in this long is asked of another peer.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);
/// `have`s kept per peer before the piece count is known.
const MAX_STASHED_HAVES: usize = 1 << 16;

/// What a peer said about its pieces before we knew how many there are.
#[derive(Debug, Default)]
struct Stash {
    bitfield: Option<Bytes>,
    /// The last bitfield sent after another message (its pieces are added).
    late_bitfield: Option<Bytes>,
    have_all: bool,
    haves: Vec<u32>,
}

/// The state of the metadata exchange.
#[derive(Debug)]
pub(super) struct Fetch {
    select_files: Option<Vec<RangeInclusive<u32>>>,
    size: Option<usize>,
    pieces: Vec<Option<(Bytes, PeerKey)>>,
    /// Pieces asked: who, since when.
    asked: BTreeMap<u32, (PeerKey, Instant)>,
    /// Peers that said they do not have it.
    refused: BTreeSet<PeerKey>,
    stash: BTreeMap<PeerKey, Stash>,
}

impl Fetch {
    fn count(&self) -> u32 {
        self.size
            .map_or(0, |s| s.div_ceil(METADATA_PIECE_SIZE) as u32)
    }

    fn piece_len(&self, piece: u32) -> usize {
        let size = self.size.unwrap_or(0);
        (size - piece as usize * METADATA_PIECE_SIZE).min(METADATA_PIECE_SIZE)
    }
}

impl TorrentCore {
    /// A magnet link: peers are found and asked for the metadata.
    pub(super) fn start_fetching(
        &mut self,
        select_files: Option<Vec<RangeInclusive<u32>>>,
        paused: bool,
    ) {
        self.fetch = Some(Fetch {
            select_files,
            size: None,
            pieces: Vec::new(),
            asked: BTreeMap::new(),
            refused: BTreeSet::new(),
            stash: BTreeMap::new(),
        });
        self.start_without_metadata(paused);
    }

    /// A message while the metadata is fetched.
    pub(super) fn on_message_fetching(&mut self, key: PeerKey, msg: Message) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let fresh = p.fresh;
        if !matches!(msg, Message::Extended { .. }) {
            p.fresh = false;
        }
        let Some(fetch) = self.fetch.as_mut() else {
            return;
        };
        let stash = fetch.stash.entry(key).or_default();
        match msg {
            Message::Choke => p.peer_choking = true,
            Message::Unchoke => p.peer_choking = false,
            Message::Interested => p.peer_interested = true,
            Message::NotInterested => p.peer_interested = false,
            Message::Bitfield(b) if !fresh => stash.late_bitfield = Some(b),
            Message::Bitfield(b) => stash.bitfield = Some(b),
            Message::HaveAll => stash.have_all = true,
            Message::HaveNone => {}
            Message::Have(i) if stash.haves.len() < MAX_STASHED_HAVES => stash.haves.push(i),
            // We have nothing yet.
            Message::Request(r) if p.fast => self.send(key, vec![Message::Reject(r)]),
            Message::HashRequest(r) => self.send(key, vec![Message::HashReject(r)]),
            Message::Piece { .. } => self.close_peer(key, CloseReason::UnrequestedBlock),
            Message::Extended { id: 0, payload } => {
                self.on_ext_handshake(key, &payload);
                self.check_metadata_size(key);
                self.ask_metadata();
            }
            Message::Extended {
                id: super::ext::OUR_UT_METADATA,
                payload,
            } => self.on_metadata_message(key, &payload),
            _ => {}
        }
    }

    /// A peer's announced metadata size: too large closes it; the first
    /// sane one is the size we fetch.
    fn check_metadata_size(&mut self, key: PeerKey) {
        let Some(size) = self.peers.get(&key).and_then(|p| p.ext.metadata_size) else {
            return;
        };
        if size > MAX_METADATA {
            self.close_peer(key, CloseReason::MetadataTooLarge);
        }
    }

    /// Asks peers that have the metadata for the pieces nobody is asked for.
    pub(super) fn ask_metadata(&mut self) {
        let now = self.now;
        // The size fetched is the one most connected peers announce: a liar
        // that came first cannot pin it once it is gone.
        let mut sizes: BTreeMap<u64, usize> = BTreeMap::new();
        for p in self.peers.values() {
            if let (Some(_), Some(s)) = (p.ext.ut_metadata, p.ext.metadata_size) {
                if s > 0 && s <= MAX_METADATA {
                    *sizes.entry(s).or_default() += 1;
                }
            }
        }
        let Some(f) = self.fetch.as_mut() else {
            return;
        };
        let supported = f.size.is_some_and(|s| sizes.contains_key(&(s as u64)));
        if !supported {
            let best = sizes
                .iter()
                .max_by_key(|(s, n)| (**n, std::cmp::Reverse(**s)))
                .map(|(s, _)| *s);
            if best.map(|b| b as usize) != f.size {
                f.size = best.map(|b| b as usize);
                f.pieces = vec![None; f.count() as usize];
                f.asked.clear();
            }
        }
        let Some(size) = f.size else {
            return;
        };
        f.asked
            .retain(|_, (_, at)| now.duration_since(*at) < ASK_TIMEOUT);
        let mut missing: Vec<u32> = (0..f.count())
            .filter(|p| f.pieces[*p as usize].is_none() && !f.asked.contains_key(p))
            .collect();
        missing.reverse();
        let mut sends = Vec::new();
        for (key, p) in &self.peers {
            let Some(id) = p.ext.ut_metadata else {
                continue;
            };
            if p.ext.metadata_size != Some(size as u64) || f.refused.contains(key) {
                continue;
            }
            let busy = f.asked.values().filter(|(k, _)| k == key).count();
            for _ in busy..ASK_PER_PEER {
                let Some(piece) = missing.pop() else { break };
                f.asked.insert(piece, (*key, now));
                let payload = MetadataMessage::Request { piece }.encode().freeze();
                sends.push((*key, Message::Extended { id, payload }));
            }
        }
        for (key, msg) in sends {
            self.send(key, vec![msg]);
        }
    }

    /// A `ut_metadata` message: a piece of the metadata we fetch, or a
    /// request for ours.
    pub(super) fn on_metadata_message(&mut self, key: PeerKey, payload: &[u8]) {
        let Ok((msg, used)) = MetadataMessage::decode(payload) else {
            return self.close_peer(key, CloseReason::BadMetadata);
        };
        match msg {
            MetadataMessage::Request { piece } => self.serve_metadata(key, piece),
            MetadataMessage::Reject { piece } => {
                if let Some(f) = self.fetch.as_mut() {
                    if f.asked.get(&piece).is_some_and(|(k, _)| *k == key) {
                        f.asked.remove(&piece);
                    }
                    f.refused.insert(key);
                }
                self.ask_metadata();
            }
            MetadataMessage::Data { piece, total_size } => {
                let data = Bytes::copy_from_slice(&payload[used..]);
                self.on_metadata_piece(key, piece, total_size, data);
            }
            _ => {}
        }
    }

    fn on_metadata_piece(&mut self, key: PeerKey, piece: u32, total: u64, data: Bytes) {
        let Some(f) = self.fetch.as_mut() else {
            return; // we have it already: a late answer
        };
        let asked = f.asked.get(&piece).is_some_and(|(k, _)| *k == key);
        let fits =
            f.size == Some(total as usize) && piece < f.count() && data.len() == f.piece_len(piece);
        if !asked || !fits {
            return self.close_peer(key, CloseReason::BadMetadata);
        }
        f.asked.remove(&piece);
        f.pieces[piece as usize] = Some((data, key));
        if f.pieces.iter().all(Option::is_some) {
            self.metadata_complete();
        } else {
            self.ask_metadata();
        }
    }

    /// Whether metadata whose info dictionary hashed right is the torrent
    /// the link names. A `btih` link: its v1 half (a v2-only dictionary
    /// whose SHA-1 happens to be the link's is not). A `btmh` link: its v2
    /// half, and if the link names a v1 info-hash too, that one (a hybrid
    /// named by its v2 info-hash alone keeps the truncated one as its
    /// name).
    fn names(&self, m: &Metainfo) -> bool {
        match self.info_hash_v2 {
            None => m.version.has_v1() && m.info_hash == self.info_hash,
            Some(v2) => {
                m.info_hash_v2 == Some(v2)
                    && (m.info_hash == self.info_hash || truncate(&v2) == self.info_hash)
            }
        }
    }

    /// Every piece is in: check the hash, then become a torrent.
    fn metadata_complete(&mut self) {
        let Some(f) = self.fetch.as_mut() else {
            return;
        };
        let mut info = BytesMut::with_capacity(f.size.unwrap_or(0));
        let mut senders = BTreeSet::new();
        for (data, key) in f.pieces.iter().flatten() {
            info.extend_from_slice(data);
            senders.insert(*key);
        }
        // A v2 (or hybrid) link names the SHA-256 of the info dictionary,
        // a v1 link its SHA-1.
        let hashes_right = match self.info_hash_v2 {
            Some(v2) => <[u8; 32]>::from(Sha256::digest(&info)) == v2,
            None => <[u8; 20]>::from(Sha1::digest(&info)) == self.info_hash,
        };
        if !hashes_right {
            warn!(
                peers = senders.len(),
                "metadata does not match the info-hash"
            );
            f.pieces.iter_mut().for_each(|p| *p = None);
            f.size = None;
            for key in senders {
                self.close_peer(key, CloseReason::BadMetadata);
            }
            return;
        }
        let mut torrent = b"d4:info".to_vec();
        torrent.extend_from_slice(&info);
        torrent.push(b'e');
        let meta = match Metainfo::from_bytes(&torrent) {
            Ok(m) if self.names(&m) => Arc::new(m),
            Ok(_) => return self.fail(TorrentError::MetadataMismatch),
            Err(e) => return self.fail(TorrentError::Metadata(Arc::new(e))),
        };
        info!(name = %meta.name, pieces = meta.piece_count(), "metadata received");
        let Some(f) = self.fetch.take() else {
            return;
        };
        let priorities = f.select_files.as_ref().and_then(|sel| {
            let files: Vec<u8> = (0..meta.files.len() as u32)
                .map(|i| u8::from(sel.iter().any(|r| r.contains(&i))))
                .collect();
            let layout = crate::priorities::layout_of(&meta).ok()?;
            crate::priorities::piece_priorities(&layout, Some(&files)).ok()
        });
        if let Err(e) = self.install(meta.clone(), priorities) {
            warn!(error = %e, "unusable metadata");
            return;
        }
        self.push(Action::MetadataReceived(meta));
        // What the peers said about their pieces, now that we can read it.
        for (key, stash) in f.stash {
            self.replay(key, stash);
        }
        // Tell every peer we have the metadata now (and whether we do PEX).
        let keys: Vec<(PeerKey, std::net::SocketAddr)> =
            self.peers.iter().map(|(k, p)| (*k, p.addr)).collect();
        for (key, addr) in keys {
            let hello = self.our_ext_handshake(addr);
            self.send(key, vec![hello]);
        }
        self.metadata_ready();
    }

    fn replay(&mut self, key: PeerKey, stash: Stash) {
        if !self.peers.contains_key(&key) {
            return;
        }
        self.picker.peer_join(key);
        let n = self.geometry.piece_count();
        if stash.have_all {
            self.picker.on_have_all(key);
        } else if let Some(b) = stash.bitfield {
            match Bitfield::from_bytes(&b, n) {
                Ok(bits) => self.picker.on_bitfield(key, &bits),
                Err(_) => return self.close_peer(key, CloseReason::BadBitfield),
            }
        }
        for i in stash.haves {
            if i >= n {
                return self.close_peer(key, CloseReason::HaveOutOfRange);
            }
            self.picker.on_have(key, i);
        }
        if let Some(b) = stash.late_bitfield {
            match Bitfield::from_bytes(&b, n) {
                Ok(bits) => {
                    for i in bits.iter_ones() {
                        self.picker.on_have(key, i);
                    }
                }
                Err(_) => return self.close_peer(key, CloseReason::BadBitfield),
            }
        }
        let count = (0..n).filter(|&i| self.picker.peer_has(key, i)).count() as u32;
        if let Some(p) = self.peers.get_mut(&key) {
            p.have_count = count;
        }
    }

    /// Serves a piece of our metadata, or says we have none.
    fn serve_metadata(&mut self, key: PeerKey, piece: u32) {
        let Some(id) = self.peers.get(&key).and_then(|p| p.ext.ut_metadata) else {
            return;
        };
        let info = self.meta.as_ref().map(|m| &m.info_bytes);
        let reply = match info {
            Some(info) if (piece as usize) * METADATA_PIECE_SIZE < info.len() => {
                let start = piece as usize * METADATA_PIECE_SIZE;
                let end = (start + METADATA_PIECE_SIZE).min(info.len());
                let total_size = info.len() as u64;
                let mut payload = MetadataMessage::Data { piece, total_size }.encode();
                payload.extend_from_slice(&info[start..end]);
                payload.freeze()
            }
            _ => MetadataMessage::Reject { piece }.encode().freeze(),
        };
        debug!(key, piece, "metadata request");
        self.send(key, vec![Message::Extended { id, payload: reply }]);
    }

    /// A peer left while the metadata was fetched.
    pub(super) fn forget_fetching_peer(&mut self, key: PeerKey) {
        if let Some(f) = self.fetch.as_mut() {
            f.asked.retain(|_, (k, _)| *k != key);
            f.stash.remove(&key);
            f.refused.remove(&key);
        }
    }
}
