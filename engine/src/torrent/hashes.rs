//! BEP 52 hash exchange: answering peers' `hash request`s from our piece
//! layers, and fetching the piece layers a torrent lacks (a magnet link's
//! info dictionary never has them), each checked against its file's
//! `pieces root` before it is used.
//!
//! Layers are asked for in chunks of 512 piece hashes (as libtorrent asks,
//! and as it accepts them), each with the uncle hashes up to the root, from
//! peers that speak v2 with us, a few chunks per peer at once. A chunk not
//! answered within [`ASK_TIMEOUT`] or rejected goes to another peer (the
//! same peer is asked again after [`REFUSAL_TTL`], as libtorrent retries:
//! a lone seeder may have been busy). An
//! answer to a request we did not send (to that peer) is dropped unread; an
//! answer of the wrong size, or whose hashes do not lead to the file's root,
//! closes the connection ([`CloseReason::BadHashes`]).
//!
//! A v2-only torrent downloads nothing until every layer is known (there is
//! nothing else to check its pieces with): it stays in `FetchingMetadata`.
//! A hybrid torrent downloads meanwhile, checking pieces with SHA-1, and
//! checks both once the layers are in.
//!
//! What a peer can make us do is bounded: a request is answered from a
//! tree built once per file from its piece layer (so at most twice the
//! layers' size is held, and a request costs a copy of at most 8192 hashes),
//! at most [`MAX_HASH_REQUESTS_PER_TICK`] requests per peer and second are
//! answered (the rest rejected, and a peer far beyond that is closed for
//! flooding), and an answer is hashed only if it is the one we wait for.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use monsoon_piece::PeerKey;
use monsoon_storage::merkle::{self, Hash256, MerkleTree};
use monsoon_wire::{HashRequest, Message};
use tracing::{debug, info, warn};

use super::reason::CloseReason;
use super::verify::Verifier;
use super::{Action, TorrentCore};
use crate::metainfo::Metainfo;

/// Piece hashes asked for in one request (libtorrent's chunk).
const CHUNK: u32 = 512;
/// Chunks asked of one peer at once.
const ASK_PER_PEER: usize = 4;
/// A chunk not answered in this long is asked of another peer.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);
/// Hash requests answered per peer and second; more are rejected.
pub(super) const MAX_HASH_REQUESTS_PER_TICK: u32 = 64;
/// Hash requests per peer and second past which it is closed for flooding.
const HASH_FLOOD: u32 = 16 * MAX_HASH_REQUESTS_PER_TICK;
/// Most base-layer hashes one request may ask for (libtorrent's limit).
const MAX_COUNT: u32 = 8192;
/// Refusals remembered (peer, file, chunk), at most.
const MAX_REFUSALS: usize = 1 << 16;
/// How long a peer that rejected (or did not answer) a chunk is not asked
/// for it again.
const REFUSAL_TTL: Duration = Duration::from_secs(30);

/// The BEP 52 state of a torrent.
#[derive(Debug, Default)]
pub(super) struct Merkle {
    /// File index of each `pieces root`.
    by_root: HashMap<Hash256, usize>,
    /// Trees built from piece layers so far, by file (on the first request
    /// for the file).
    trees: HashMap<usize, MerkleTree>,
    /// The piece layers still missing, while they are fetched.
    fetch: Option<LayerFetch>,
}

/// The piece layers being fetched.
#[derive(Debug)]
struct LayerFetch {
    /// Files whose layer is missing, and what arrived of it.
    files: BTreeMap<usize, Pending>,
    /// Chunks asked: (file, chunk) → who, since when, what exactly.
    asked: BTreeMap<(usize, u32), (PeerKey, Instant, HashRequest)>,
    /// (peer, file, chunk) the peer rejected or did not answer, and when.
    refused: BTreeMap<(PeerKey, usize, u32), Instant>,
}

/// One file's piece layer, as it arrives.
#[derive(Debug)]
struct Pending {
    root: Hash256,
    len: u64,
    pieces: u32,
    chunks: Vec<Option<Vec<Hash256>>>,
}

impl Merkle {
    /// The state for `meta`: its roots, and a fetch of the piece layers it
    /// lacks.
    pub(super) fn new(meta: &Metainfo) -> Merkle {
        let mut m = Merkle::default();
        if !meta.version.has_v2() {
            return m;
        }
        let pl = u64::from(meta.piece_length);
        let mut files = BTreeMap::new();
        for (i, f) in meta.files.iter().enumerate() {
            let Some(&root) = f
                .pieces_root()
                .filter(|_| !f.is_padding() && f.length() > 0)
            else {
                continue;
            };
            m.by_root.entry(root).or_insert(i);
            if meta.piece_layer(i).is_none() {
                let pieces = f.length().div_ceil(pl) as u32;
                files.insert(
                    i,
                    Pending {
                        root,
                        len: f.length(),
                        pieces,
                        chunks: vec![None; pieces.div_ceil(CHUNK) as usize],
                    },
                );
            }
        }
        if !files.is_empty() {
            m.fetch = Some(LayerFetch {
                files,
                asked: BTreeMap::new(),
                refused: BTreeMap::new(),
            });
        }
        m
    }

    /// Whether piece layers are being fetched.
    pub(super) fn fetching(&self) -> bool {
        self.fetch.is_some()
    }

    /// A peer left: its chunks are asked of others.
    pub(super) fn forget_peer(&mut self, key: PeerKey) {
        if let Some(f) = self.fetch.as_mut() {
            f.asked.retain(|_, (k, ..)| *k != key);
            f.refused.retain(|(k, ..), _| *k != key);
        }
    }
}

/// The request for chunk `chunk` of a file of `len` bytes whose root is
/// `root` and pieces `piece_length` long: its piece hashes (at least two,
/// libtorrent mishandles a single one) and every uncle up to the root.
fn chunk_request(root: Hash256, len: u64, piece_length: u32, chunk: u32) -> HashRequest {
    let pieces = len.div_ceil(u64::from(piece_length)) as u32;
    let base = (piece_length / merkle::BLOCK_SIZE).trailing_zeros();
    let layers = merkle::leaf_count(len).trailing_zeros();
    let index = chunk * CHUNK;
    let count = (pieces - index).next_power_of_two().clamp(2, CHUNK);
    HashRequest {
        pieces_root: root,
        base_layer: base,
        index,
        length: count,
        proof_layers: layers - base - 1,
    }
}

/// How many uncle hashes answer `req` (BEP 52 as libtorrent reads it: the
/// proof layers count from the base layer, and the first uncle is the
/// sibling of the root of the `length` hashes).
fn uncle_count(req: &HashRequest) -> u32 {
    (req.proof_layers + 1).saturating_sub(req.length.max(1).trailing_zeros())
}

impl TorrentCore {
    /// Whether the torrent waits for piece layers before it can check or
    /// download anything (a v2-only torrent without them).
    pub(super) fn awaiting_layers(&self) -> bool {
        self.meta.is_some() && !self.verifier.complete()
    }

    /// A peer's `hash request`: the hashes, or a `hash reject` when we
    /// cannot (or will not) answer.
    pub(super) fn on_hash_request(&mut self, key: PeerKey, req: HashRequest) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        p.hash_requests = p.hash_requests.saturating_add(1);
        let n = p.hash_requests;
        if n > HASH_FLOOD {
            return self.close_peer(key, CloseReason::RequestFlood);
        }
        let answer = if n > MAX_HASH_REQUESTS_PER_TICK {
            None
        } else {
            self.answer_hashes(&req)
        };
        debug!(
            key,
            base = req.base_layer,
            index = req.index,
            count = req.length,
            answered = answer.is_some(),
            "hash request"
        );
        let msg = match answer {
            Some(hashes) => Message::Hashes {
                request: req,
                hashes,
            },
            None => Message::HashReject(req),
        };
        self.send(key, vec![msg]);
    }

    /// The answer to `req` from our piece layers, checked as libtorrent
    /// checks a request (`validate_hash_request`); `None` when it does not
    /// fit the file's tree, asks below the piece layer, or the layer is not
    /// known yet.
    fn answer_hashes(&mut self, req: &HashRequest) -> Option<Bytes> {
        let meta = self.meta.as_ref()?;
        let &file = self.merkle.by_root.get(&req.pieces_root)?;
        let f = meta.files.get(file)?;
        let layers = merkle::leaf_count(f.length()).trailing_zeros();
        let fits = req.base_layer < layers
            && (1..=MAX_COUNT).contains(&req.length)
            && req.length.is_power_of_two()
            && req.proof_layers < layers - req.base_layer;
        if !fits || f.length() <= u64::from(meta.piece_length) {
            return None;
        }
        let layer = meta.piece_layer(file)?;
        let blocks_per_piece = meta.piece_length / merkle::BLOCK_SIZE;
        let tree = self
            .merkle
            .trees
            .entry(file)
            .or_insert_with(|| MerkleTree::from_piece_layer(layer, blocks_per_piece));
        let uncles = uncle_count(req);
        let (hashes, proof) = tree.hashes(req.base_layer, req.index, req.length, uncles)?;
        if proof.len() != uncles as usize {
            return None;
        }
        let mut out = BytesMut::with_capacity((hashes.len() + proof.len()) * 32);
        for h in hashes.iter().chain(&proof) {
            out.extend_from_slice(h);
        }
        Some(out.freeze())
    }

    /// Asks peers that speak v2 for the chunks of piece layers nobody is
    /// asked for (and gives up on answers that are late).
    pub(super) fn ask_hashes(&mut self) {
        let now = self.now;
        let piece_length = self.geometry.piece_len();
        let Some(f) = self.merkle.fetch.as_mut() else {
            return;
        };
        let late: Vec<(usize, u32)> = f
            .asked
            .iter()
            .filter(|(_, (_, at, _))| now.duration_since(*at) >= ASK_TIMEOUT)
            .map(|(k, _)| *k)
            .collect();
        for k in late {
            if let Some((peer, ..)) = f.asked.remove(&k) {
                debug!(peer, file = k.0, chunk = k.1, "hash request timed out");
                f.refused.insert((peer, k.0, k.1), now);
            }
        }
        f.refused
            .retain(|_, at| now.duration_since(*at) < REFUSAL_TTL);
        if f.refused.len() > MAX_REFUSALS {
            f.refused.clear();
        }
        let mut busy: BTreeMap<PeerKey, usize> = BTreeMap::new();
        for (peer, ..) in f.asked.values() {
            *busy.entry(*peer).or_default() += 1;
        }
        let peers: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| p.v2)
            .map(|(k, _)| *k)
            .collect();
        let mut sends = Vec::new();
        for (&file, pending) in &f.files {
            for (chunk, got) in pending.chunks.iter().enumerate() {
                let chunk = chunk as u32;
                if got.is_some() || f.asked.contains_key(&(file, chunk)) {
                    continue;
                }
                let Some(&peer) = peers.iter().find(|k| {
                    busy.get(k).copied().unwrap_or(0) < ASK_PER_PEER
                        && !f.refused.contains_key(&(**k, file, chunk))
                }) else {
                    continue;
                };
                let req = chunk_request(pending.root, pending.len, piece_length, chunk);
                *busy.entry(peer).or_default() += 1;
                f.asked.insert((file, chunk), (peer, now, req));
                sends.push((peer, Message::HashRequest(req)));
            }
        }
        for (peer, msg) in sends {
            self.send(peer, vec![msg]);
        }
    }

    /// A peer rejected a hash request: ask someone else.
    pub(super) fn on_hash_reject(&mut self, key: PeerKey, req: HashRequest) {
        let Some(f) = self.merkle.fetch.as_mut() else {
            return;
        };
        let found = f
            .asked
            .iter()
            .find(|(_, (k, _, r))| *k == key && *r == req)
            .map(|(id, _)| *id);
        if let Some(id) = found {
            f.asked.remove(&id);
            f.refused.insert((key, id.0, id.1), self.now);
            self.ask_hashes();
        }
    }

    /// A peer's `hashes`: if they answer what we asked it, they must prove
    /// out against the file's root.
    pub(super) fn on_hashes(&mut self, key: PeerKey, req: HashRequest, data: &Bytes) {
        let Some(f) = self.merkle.fetch.as_mut() else {
            return;
        };
        let Some(id) = f
            .asked
            .iter()
            .find(|(_, (k, _, r))| *k == key && *r == req)
            .map(|(id, _)| *id)
        else {
            // Not asked of this peer (or given up on): not even hashed.
            return;
        };
        f.asked.remove(&id);
        let (file, chunk) = id;
        let Some(pending) = f.files.get_mut(&file) else {
            return;
        };
        let count = req.length as usize;
        let want = count + uncle_count(&req) as usize;
        let hashes: Vec<Hash256> = data
            .chunks_exact(32)
            .map(|c| c.try_into().expect("chunks_exact(32) yields 32 bytes"))
            .collect();
        let proven = data.len() == want * 32
            && merkle::verify_hashes(
                &pending.root,
                merkle::leaf_count(pending.len),
                req.base_layer,
                u64::from(req.index),
                &hashes[..count],
                &hashes[count..],
            );
        if !proven {
            warn!(
                key,
                file, chunk, "hashes that do not prove out against the file's root"
            );
            f.refused.insert((key, file, chunk), self.now);
            self.close_peer(key, CloseReason::BadHashes);
            return self.ask_hashes();
        }
        let real = (pending.pieces - req.index).min(req.length) as usize;
        pending.chunks[chunk as usize] = Some(hashes[..real].to_vec());
        if f.files
            .values()
            .all(|p| p.chunks.iter().all(Option::is_some))
        {
            self.layers_complete();
        } else {
            self.ask_hashes();
        }
    }

    /// Every missing piece layer arrived and proved out: the torrent's
    /// metainfo gets them, its pieces their merkle hashes; a torrent that
    /// waited for them checks its data now.
    fn layers_complete(&mut self) {
        let (Some(f), Some(meta)) = (self.merkle.fetch.take(), self.meta.as_ref()) else {
            return;
        };
        let waited = self.awaiting_layers();
        let mut m = Metainfo::clone(meta);
        for (file, pending) in f.files {
            let layer: Vec<Hash256> = pending.chunks.into_iter().flatten().flatten().collect();
            m.piece_layers.insert(file, layer);
        }
        info!(files = m.piece_layers.len(), "piece layers received");
        let meta = Arc::new(m);
        self.verifier = Arc::new(Verifier::new(&meta));
        self.meta = Some(meta.clone());
        self.push(Action::PieceLayersReceived(meta));
        if waited {
            self.metadata_ready();
        }
    }
}
