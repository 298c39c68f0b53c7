//! The Torrent Manager's decisions for one torrent: a sans-IO core.
//!
//! [`TorrentCore`] owns every decision of one torrent — which peers to dial
//! and accept (the *Peer Manager*: [`peer_list`](self) and `connections`),
//! which blocks to request from whom (the *Piece Manager*: the
//! [`monsoon_piece::Picker`], which also holds the bytes of pieces in
//! progress), whom to upload to (`choke`, `upload`), when a piece goes to the
//! disk and what its hash result means (`pieces`), when to announce, and the
//! torrent's lifecycle (`lifecycle`). It performs no I/O: no sockets, no
//! threads, no clock. Each input is a method named for what happened, taking
//! the current time; the decisions come out as [`Action`]s to carry out, and
//! [`poll_timeout`](TorrentCore::poll_timeout) says when to call back.
//! The engine's tokio driver (the torrent task) feeds it and carries out its
//! actions; tests drive it with a fake clock and an in-memory network.
//!
//! # Call order
//! 1. [`TorrentCore::new`], then drain [`poll_action`](TorrentCore::poll_action)
//!    (a new torrent asks for a [`DiskJob::Check`] first).
//! 2. Feed what happens, in any order, each with `now`:
//!    [`handle_disk`](TorrentCore::handle_disk) for every finished
//!    [`DiskJob`]; [`handle_connected`](TorrentCore::handle_connected) once
//!    both handshakes of a connection are exchanged (it returns the new
//!    peer's key, or why the connection must be dropped);
//!    [`handle_connect_failed`](TorrentCore::handle_connect_failed) for a
//!    [`Action::Connect`] that failed; [`handle_message`](TorrentCore::handle_message)
//!    for each message a peer sent; [`handle_closed`](TorrentCore::handle_closed)
//!    when a connection ended without an [`Action::Close`];
//!    [`add_peers`](TorrentCore::add_peers) for addresses from trackers or the
//!    user; [`handle_timeout`](TorrentCore::handle_timeout) when the time from
//!    [`poll_timeout`](TorrentCore::poll_timeout) is reached; the commands
//!    [`pause`](TorrentCore::pause), [`resume`](TorrentCore::resume) and
//!    [`stop`](TorrentCore::stop).
//! 3. After each input, drain [`poll_action`](TorrentCore::poll_action) and
//!    carry the actions out in order, and read
//!    [`poll_timeout`](TorrentCore::poll_timeout) again.
//!
//! # Lifecycle
//! See [`TorrentState`] for the states and every transition.

mod action;
mod choke;
mod connections;
mod ext;
mod hashes;
mod info;
mod lifecycle;
mod messages;
mod metadata;
mod peer;
mod peer_list;
mod pex;
mod pieces;
mod pipeline;
mod reason;
mod requests;
mod upload;
mod verify;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use monsoon_piece::{Bitfield, Geometry, PeerKey, Picker};

pub use action::{Action, DiskJob, DiskResult};
pub use info::{PeerInfo, client_name};
pub use metadata::MAX_METADATA;
pub use peer_list::PeerSource;
pub use reason::{CloseCounts, CloseReason, ConnectError, Direction, PeerEnd};
pub use verify::{MerklePiece, PieceCheck, Verdict, Verifier};

use crate::config::SessionConfig;
use crate::error::EngineError;
use crate::metainfo::Metainfo;
use crate::stats::{Stats, TorrentState};
use peer::PeerState;
use peer_list::PeerList;

/// How often the core wants [`TorrentCore::handle_timeout`]: rates,
/// snubbing, choking rounds and connection attempts run on this tick.
pub const TICK: Duration = Duration::from_secs(1);

/// Peers that left, remembered so that a piece failing its hash check
/// after they left still counts against them (bounded).
const MAX_DEPARTED: usize = 256;

/// What a [`TorrentCore`] starts from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TorrentParams {
    /// The torrent's info-hash: SHA-1 for v1 and hybrid torrents, the
    /// SHA-256 truncated to 20 bytes for a v2-only one (what trackers, the
    /// DHT and handshakes use).
    pub info_hash: [u8; 20],
    /// The v2 info-hash (SHA-256) of a v2 or hybrid torrent: its peers may
    /// speak v2 (BEP 52 hash messages), and a handshake may name it
    /// (truncated) instead of `info_hash`.
    pub info_hash_v2: Option<[u8; 32]>,
    /// The torrent; `None` for a magnet link: its info dictionary is
    /// fetched from peers first (state `FetchingMetadata`).
    pub meta: Option<Arc<Metainfo>>,
    /// For a magnet link: the files to download (BEP 53 `so`, file
    /// indices), applied when the metadata arrives; `None`: all.
    pub select_files: Option<Vec<std::ops::RangeInclusive<u32>>>,
    /// Limits and intervals.
    pub cfg: Arc<SessionConfig>,
    /// Our peer id.
    pub peer_id: [u8; 20],
    /// The port we accept peers on (advertised to peers; an address on
    /// loopback with this port is ourselves).
    pub listen_port: u16,
    /// One priority per piece (0 = do not download); `None`: all 1.
    pub piece_priorities: Option<Vec<u8>>,
    /// Download pieces in order instead of rarest first.
    pub sequential: bool,
    /// Start paused (the check of existing data waits for `resume`).
    pub paused: bool,
    /// Seed of the picker's tie-breaking PRNG.
    pub seed: u64,
    /// When to stop seeding (the torrent pauses once a limit is reached).
    pub seed_limits: SeedLimits,
    /// Seed only what the check finds on disk: missing pieces become
    /// unwanted (priority 0) instead of being downloaded.
    pub seed_only: bool,
    /// Our DHT node's port, told to peers that run one (BEP 5 `port`).
    pub dht_port: Option<u16>,
    /// Payload bytes uploaded and downloaded in earlier sessions (from a
    /// resume file), added to this session's in the totals.
    pub prior_totals: (u64, u64),
    /// The upload limit in force for this torrent, bytes per second (0:
    /// none). The driver enforces it; the choker opens more slots only
    /// when there is none.
    pub upload_limit: u64,
}

/// When a seeding torrent has done enough: it pauses, with
/// [`Stats::seed_limit_reached`] set.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct SeedLimits {
    /// Stop once uploaded / max(downloaded, wanted bytes) reaches this.
    pub ratio: Option<f64>,
    /// Stop after seeding this long (time in `Seeding`, this session).
    pub time: Option<Duration>,
}

impl SeedLimits {
    /// No limit: seed until stopped.
    pub fn none() -> Self {
        Self::default()
    }

    /// Stop at `ratio` and/or after `time`, whichever comes first.
    pub fn new(ratio: Option<f64>, time: Option<Duration>) -> Self {
        Self { ratio, time }
    }
}

impl TorrentParams {
    /// Parameters with every piece wanted, not paused, seed 0.
    pub fn new(
        meta: Arc<Metainfo>,
        cfg: Arc<SessionConfig>,
        peer_id: [u8; 20],
        listen_port: u16,
    ) -> Self {
        let mut p = Self::magnet(meta.info_hash, cfg, peer_id, listen_port);
        p.info_hash_v2 = meta.info_hash_v2;
        p.meta = Some(meta);
        p
    }

    /// Parameters for a magnet link: the metadata is fetched from peers.
    pub fn magnet(
        info_hash: [u8; 20],
        cfg: Arc<SessionConfig>,
        peer_id: [u8; 20],
        listen_port: u16,
    ) -> Self {
        Self {
            info_hash,
            info_hash_v2: None,
            meta: None,
            select_files: None,
            cfg,
            peer_id,
            listen_port,
            piece_priorities: None,
            sequential: false,
            paused: false,
            seed: 0,
            seed_limits: SeedLimits::none(),
            seed_only: false,
            dht_port: None,
            prior_totals: (0, 0),
            upload_limit: 0,
        }
    }
}

/// The sans-IO core of one torrent. See the [module docs](self) for the
/// call order.
pub struct TorrentCore {
    info_hash: [u8; 20],
    /// The v2 info-hash (v2 and hybrid torrents).
    info_hash_v2: Option<[u8; 32]>,
    /// BEP 52: merkle trees for answering hash requests, and the piece
    /// layers being fetched.
    merkle: hashes::Merkle,
    /// `None` until a magnet link's metadata arrives.
    meta: Option<Arc<Metainfo>>,
    /// What each piece must hash to (empty until the metadata is known).
    verifier: Arc<Verifier>,
    /// The metadata exchange, while fetching it.
    fetch: Option<metadata::Fetch>,
    sequential: bool,
    seed: u64,
    cfg: Arc<SessionConfig>,
    geometry: Geometry,
    /// Block states, requests and the bytes of pieces in progress.
    picker: Picker<Bytes>,
    priorities: Vec<u8>,
    peer_id: [u8; 20],
    listen_port: u16,
    /// Connected peers (a `BTreeMap` so that iteration, and so every
    /// decision, is deterministic).
    peers: BTreeMap<PeerKey, PeerState>,
    next_key: PeerKey,
    list: PeerList,
    /// Recently departed peers: key, address, peer id.
    departed: VecDeque<(PeerKey, SocketAddr, [u8; 20])>,
    /// Blocks of failed pieces and who sent them (see `pieces`), oldest
    /// piece first out.
    suspects: BTreeMap<u32, Vec<pieces::Suspect>>,
    suspect_order: VecDeque<u32>,
    /// Bytes of complete pieces handed to the disk and not answered yet.
    pending_disk_bytes: u64,
    /// Disk jobs handed out and not answered yet.
    disk_jobs: usize,
    life: lifecycle::Life,
    stats: Stats,
    actions: VecDeque<Action>,
    /// The time of the input being handled (inputs set it; helpers read it).
    now: Instant,
    next_tick: Instant,
    last_tick: Instant,
    /// Outgoing attempts in progress.
    connecting: usize,
    ticks: u64,
    optimistic: Option<PeerKey>,
    /// Upload slots of the last choking round.
    slots: usize,
    seed_limits: SeedLimits,
    seed_only: bool,
    dht_port: Option<u16>,
    upload_limit: u64,
    /// Since when the torrent is seeding (this stretch).
    seeding_since: Option<Instant>,
}

impl TorrentCore {
    /// A torrent that starts by checking the data on disk (or paused,
    /// waiting for [`resume`](Self::resume), if `params.paused`).
    ///
    /// # Errors
    /// [`EngineError::Piece`] if the metainfo's geometry is unusable,
    /// [`EngineError::PiecePriorityCount`] if the priorities do not have one
    /// entry per piece.
    pub fn new(params: TorrentParams, now: Instant) -> Result<Self, EngineError> {
        // Until the metadata is known (a magnet link), the geometry and the
        // picker are a one-byte placeholder that nothing reads: messages go
        // to the metadata exchange (`metadata.rs`) instead.
        let geometry = Geometry::new(1, monsoon_piece::BLOCK_LEN)?;
        let mut core = Self {
            info_hash: params.info_hash,
            info_hash_v2: params.info_hash_v2,
            merkle: hashes::Merkle::default(),
            meta: None,
            verifier: Arc::default(),
            fetch: None,
            geometry,
            picker: Picker::with_data(geometry, params.seed),
            priorities: vec![0],
            sequential: params.sequential,
            seed: params.seed,
            peer_id: params.peer_id,
            listen_port: params.listen_port,
            peers: BTreeMap::new(),
            next_key: 0,
            list: PeerList::new(),
            departed: VecDeque::new(),
            suspects: BTreeMap::new(),
            suspect_order: VecDeque::new(),
            pending_disk_bytes: 0,
            disk_jobs: 0,
            life: lifecycle::Life::default(),
            stats: Stats::new(0, 0),
            actions: VecDeque::new(),
            now,
            next_tick: now + TICK,
            last_tick: now,
            connecting: 0,
            ticks: 0,
            optimistic: None,
            slots: params.cfg.upload_slots.max(1),
            seed_limits: params.seed_limits,
            seed_only: params.seed_only,
            dht_port: params.dht_port,
            upload_limit: params.upload_limit,
            seeding_since: None,
            cfg: params.cfg,
        };
        core.stats.prior_totals = params.prior_totals;
        match params.meta {
            Some(meta) => {
                core.install(meta, params.piece_priorities)?;
                core.start(params.paused);
            }
            None => core.start_fetching(params.select_files, params.paused),
        }
        Ok(core)
    }

    /// Sets the torrent's metainfo: geometry, picker, priorities, stats.
    fn install(
        &mut self,
        meta: Arc<Metainfo>,
        priorities: Option<Vec<u8>>,
    ) -> Result<(), EngineError> {
        let geometry = Geometry::new(meta.total_length, meta.piece_length)?;
        let n = geometry.piece_count();
        let priorities = priorities.unwrap_or_else(|| vec![1; n as usize]);
        if priorities.len() != n as usize {
            return Err(EngineError::PiecePriorityCount {
                given: priorities.len(),
                pieces: n,
            });
        }
        let mut picker = Picker::with_data(geometry, self.seed);
        picker.set_priorities(&priorities);
        picker.set_sequential(self.sequential);
        let state = self.stats.state;
        let prior = self.stats.prior_totals;
        let (down, up) = (self.stats.downloaded, self.stats.uploaded);
        let mut stats = Stats::new(meta.total_length, n);
        stats.state = state;
        stats.prior_totals = prior;
        stats.downloaded = down;
        stats.uploaded = up;
        stats.closed_by_us = std::mem::take(&mut self.stats.closed_by_us);
        stats.connect_attempts = self.stats.connect_attempts;
        stats.wanted_bytes = (0..n)
            .filter(|&p| priorities[p as usize] > 0)
            .map(|p| u64::from(geometry.piece_size(p)))
            .sum();
        self.stats = stats;
        self.geometry = geometry;
        self.picker = picker;
        self.priorities = priorities;
        self.verifier = Arc::new(Verifier::new(&meta));
        self.merkle = hashes::Merkle::new(&meta);
        self.meta = Some(meta);
        Ok(())
    }

    /// The next action to carry out, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next; `None`
    /// once stopped.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (self.state() != TorrentState::Stopped).then_some(self.next_tick)
    }

    /// The time has come (see [`poll_timeout`](Self::poll_timeout)): rates,
    /// snubbed peers, choking rounds, connection attempts, request refills.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.set_now(now);
        if now < self.next_tick || self.state() == TorrentState::Stopped {
            return;
        }
        self.next_tick = now + TICK;
        self.ticks += 1;
        for p in self.peers.values_mut() {
            p.hash_requests = 0;
        }
        self.update_rates();
        self.check_snubs();
        self.check_stalled_sends();
        self.check_seed_limits();
        let choke_every = self.cfg.choke_interval.as_secs().max(1);
        if self.ticks % choke_every == 0 {
            let rotate = self.ticks % self.cfg.optimistic_interval.as_secs().max(1) < choke_every;
            self.rechoke(rotate);
        }
        self.connect_more();
        self.refill_all();
        self.ask_metadata();
        self.ask_hashes();
        self.send_pex();
        self.refresh_stats();
    }

    /// The payload bytes queued for a peer (in [`Action::Send`] piece
    /// messages) that its connection has now written: more reads for it may
    /// start. Drivers report this so that a peer that does not read is
    /// never sent more than a bounded amount.
    pub fn handle_sent(&mut self, now: Instant, key: PeerKey, bytes: u64) {
        self.set_now(now);
        if let Some(p) = self.peers.get_mut(&key) {
            p.unsent = p.unsent.saturating_sub(bytes);
            p.last_send_progress = self.now;
            self.dispatch_reads(key);
        }
    }

    /// Records that the resume file could not be used (shown in the stats).
    pub fn note_resume_error(&mut self, error: Arc<crate::resume::ResumeError>) {
        self.stats.resume_error = Some(error);
    }

    /// Command: new seeding limits (checked on the next tick).
    pub fn set_seed_limits(&mut self, now: Instant, limits: SeedLimits) {
        self.set_now(now);
        self.seed_limits = limits;
        self.stats.seed_limit_reached = false;
    }

    /// The upload limit now in force for this torrent (0: none).
    pub fn set_upload_limit(&mut self, now: Instant, rate: u64) {
        self.set_now(now);
        self.upload_limit = rate;
    }

    /// Peer addresses to try, from `source`.
    pub fn add_peers(&mut self, now: Instant, addrs: &[SocketAddr], source: PeerSource) {
        self.learn(now, addrs, source, false);
    }

    /// Peer addresses a tracker or the DHT gave for a hybrid's v2
    /// info-hash: they speak v2, and are dialled naming it (see
    /// [`dial_info_hash`](Self::dial_info_hash)), as libtorrent dials the
    /// peers of its v2 announces.
    pub fn add_v2_peers(&mut self, now: Instant, addrs: &[SocketAddr], source: PeerSource) {
        self.learn(now, addrs, source, true);
    }

    fn learn(&mut self, now: Instant, addrs: &[SocketAddr], source: PeerSource, v2: bool) {
        self.set_now(now);
        for &addr in addrs {
            if addr.port() == 0 || (addr.port() == self.listen_port && addr.ip().is_loopback()) {
                continue;
            }
            self.list.add(addr, source, now);
            if v2 {
                self.list.mark_v2(addr);
            }
        }
        self.connect_more();
    }

    /// The info-hash our handshake names when we dial `addr`: a hybrid's
    /// truncated v2 info-hash for a peer that announced it, else
    /// [`info_hash`](Self::info_hash) (with the v2 bit, a hybrid's offer to
    /// upgrade, which libtorrent takes on a plaintext connection only: an
    /// encrypted one is bound to the info-hash of its MSE handshake).
    pub fn dial_info_hash(&self, addr: SocketAddr) -> [u8; 20] {
        match self.info_hash_v2_short() {
            Some(short) if self.list.learnt_v2(&addr) => short,
            _ => self.info_hash,
        }
    }

    /// The torrent's lifecycle state.
    pub fn state(&self) -> TorrentState {
        self.stats.state
    }

    /// A snapshot of the torrent's progress.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The torrent this core downloads (`None` while a magnet link's
    /// metadata is being fetched).
    pub fn metainfo(&self) -> Option<&Arc<Metainfo>> {
        self.meta.as_ref()
    }

    /// The torrent's info-hash.
    pub fn info_hash(&self) -> [u8; 20] {
        self.info_hash
    }

    /// The 20-byte info-hash a handshake names for the v2 protocol: the
    /// v2 info-hash truncated (v2 and hybrid torrents).
    pub fn info_hash_v2_short(&self) -> Option<[u8; 20]> {
        self.info_hash_v2.map(|h| truncate(&h))
    }

    /// Pieces verified on disk.
    pub fn have(&self) -> &Bitfield {
        self.picker.have()
    }

    /// Disk jobs handed out whose [`DiskResult`] has not come back yet.
    pub fn disk_jobs_pending(&self) -> usize {
        self.disk_jobs
    }

    /// Connected peers.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// The largest frame a peer of this torrent may send: the codec's
    /// default, or more when this torrent's bitfield needs it.
    pub fn max_frame(&self) -> usize {
        monsoon_wire::DEFAULT_MAX_FRAME.max(self.geometry.piece_count().div_ceil(8) as usize + 1)
    }

    /// Time moves forward only.
    fn set_now(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    fn push(&mut self, action: Action) {
        if let Action::Disk(_) = action {
            self.disk_jobs += 1;
        }
        self.actions.push_back(action);
    }

    /// Updates the counters of [`Stats`] that are not kept as they change.
    fn refresh_stats(&mut self) {
        self.count_peers();
        self.stats.known_peers = self.list.idle_count();
        self.stats.banned_peers = self.list.banned_count();
        self.stats.snubbed_peers = self.peers.values().filter(|p| p.snubbed).count();
        self.stats.pieces_done = self.picker.have().count_ones();
        self.stats.uploaded_total = self.stats.prior_totals.0 + self.stats.uploaded;
        self.stats.downloaded_total = self.stats.prior_totals.1 + self.stats.downloaded;
    }

    /// A peer's address and id, connected or recently departed.
    fn identity(&self, key: PeerKey) -> Option<(SocketAddr, [u8; 20])> {
        match self.peers.get(&key) {
            Some(p) => Some((p.addr, p.id)),
            None => self
                .departed
                .iter()
                .find(|(k, ..)| *k == key)
                .map(|&(_, addr, id)| (addr, id)),
        }
    }
}

/// A v2 info-hash truncated to the 20 bytes of handshakes, trackers and
/// the DHT (BEP 52).
pub(crate) fn truncate(h: &[u8; 32]) -> [u8; 20] {
    let mut out = [0u8; 20];
    out.copy_from_slice(&h[..20]);
    out
}
