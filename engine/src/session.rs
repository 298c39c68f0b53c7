//! The session: owns the listener, the disk threads and the connector, and
//! runs many torrents (one torrent task each).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use monsoon_storage::{FileEntry, FileStorage, Layout, MemoryStorage, Storage};
use monsoon_tracker::{Announcer, ClientConfig, TrackerList};
use monsoon_wire::Handshake;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tracing::{Instrument, debug, info_span, warn};

use crate::config::SessionConfig;
use crate::driver::{self, Inbox, NewConnection, Shared, TorrentTask, Wiring, announce};
use crate::encryption;
use crate::error::EngineError;
use crate::handle::{Registered, Registry, TorrentHandle};
use crate::metainfo::Metainfo;
use crate::priorities::{layout_of, piece_priorities};
use crate::rate::Limiter;
use crate::resume::ResumeData;
use crate::stats::Stats;
use crate::torrent::{PeerSource, SeedLimits, TorrentCore, TorrentParams};
use crate::transport::{BoxTransport, Connector, TcpConnector};

/// How a torrent is added to a session. `Default` downloads every file,
/// announces to the torrent's trackers and starts at once.
#[derive(Default)]
#[non_exhaustive]
pub struct AddTorrentOptions {
    /// Peers to connect to besides those the trackers give (retried until
    /// they answer).
    pub peers: Vec<SocketAddr>,
    /// One priority per file in metainfo order (0 = do not download); `None`: all 1.
    pub file_priorities: Option<Vec<u8>>,
    /// Download pieces in order (for streaming) instead of rarest-first.
    pub sequential: bool,
    /// Do not contact the torrent's trackers.
    pub no_trackers: bool,
    /// Use this tracker client instead of the torrent's tracker list (tests use a fake).
    pub announcer: Option<Box<dyn Announcer>>,
    /// Use this storage instead of files under the download root.
    pub storage: Option<Arc<dyn Storage>>,
    /// Add the torrent paused.
    pub paused: bool,
    /// This torrent's upload limit, payload bytes per second (0: none).
    pub max_upload_rate: u64,
    /// This torrent's download limit, payload bytes per second (0: none).
    pub max_download_rate: u64,
    /// When to stop seeding (default: never).
    pub seed_limits: SeedLimits,
    /// Seed what the check finds on disk and download nothing (missing
    /// pieces become unwanted).
    pub seed_only: bool,
    /// Keep fast-resume data in this file: read at start (unchanged files
    /// are trusted instead of hashed), written every 30 s while it changes,
    /// on completion and when the torrent stops.
    pub resume_file: Option<std::path::PathBuf>,
    /// Put the files under this folder rather than the session's download
    /// root (when `storage` is not given; for a magnet link, once its
    /// metadata arrives).
    pub download_root: Option<std::path::PathBuf>,
}

/// A BitTorrent session: one listening socket and any number of torrents.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use monsoon_engine::{AddTorrentOptions, Metainfo, Session, SessionConfig};
///
/// let session = Session::new(SessionConfig::new("downloads")).await?;
/// let meta = Metainfo::from_bytes(&std::fs::read("file.torrent")?)?;
/// let torrent = session.add_torrent(meta, AddTorrentOptions::default()).await?;
/// let mut progress = torrent.subscribe();
/// tokio::spawn(async move {
///     while progress.changed().await.is_ok() {
///         let s = progress.borrow().clone();
///         eprintln!("{:.1}% at {:.0} B/s from {} peers", s.progress() * 100.0, s.download_rate, s.peers);
///     }
/// });
/// torrent.wait_complete().await?;
/// session.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Session {
    cfg: Arc<SessionConfig>,
    peer_id: [u8; 20],
    listen_addr: SocketAddr,
    registry: Registry,
    disk: Arc<driver::disk::DiskPool>,
    connector: Arc<dyn Connector>,
    /// Incoming connections whose handshake has not arrived yet.
    pending: Arc<Semaphore>,
    shared: Shared,
    /// The DHT node, when the configuration asks for one.
    dht: Option<monsoon_dht::Dht>,
    /// Local service discovery, when the configuration asks for it.
    lsd: Option<monsoon_tracker::Lsd>,
    accept_task: tokio::task::JoinHandle<()>,
}

/// Incoming connections whose handshake has not arrived yet, at most: a
/// flood of silent connections cannot grow tasks and sockets without bound.
pub const MAX_PENDING_HANDSHAKES: usize = 64;

impl Session {
    /// Binds the listener and starts accepting peers; dials peers over TCP.
    pub async fn new(cfg: SessionConfig) -> Result<Self, EngineError> {
        Self::with_connector(cfg, Arc::new(TcpConnector)).await
    }

    /// Like [`new`](Self::new), dialling peers through `connector` (an
    /// in-memory network in tests, an encrypting or uTP transport).
    pub async fn with_connector(
        cfg: SessionConfig,
        connector: Arc<dyn Connector>,
    ) -> Result<Self, EngineError> {
        let listener = TcpListener::bind(cfg.listen_addr).await?;
        let listen_addr = listener.local_addr()?;
        let peer_id = cfg.peer_id.unwrap_or_else(generate_peer_id);
        let cfg = Arc::new(cfg);
        let registry: Registry = Arc::default();
        let disk = driver::disk::DiskPool::new(cfg.disk_threads)?;
        let pending = Arc::new(Semaphore::new(cfg.max_pending_handshakes.max(1)));
        let shared = Shared {
            peers: Arc::new(Semaphore::new(cfg.max_peers.max(1))),
            half_open: Arc::new(Semaphore::new(cfg.max_half_open.max(1))),
            upload: Arc::new(Limiter::new(cfg.max_upload_rate)),
            download: Arc::new(Limiter::new(cfg.max_download_rate)),
            read_cache: Arc::new(driver::disk::ReadCache::new(cfg.read_cache_bytes)),
        };
        let dht = match &cfg.dht {
            Some(settings) => Some(start_dht(settings, listen_addr).await?),
            None => None,
        };
        let lsd = match &cfg.lsd {
            Some(settings) => {
                // The random part of the peer id tells our announces
                // from another session's on this host.
                let cookie: String = peer_id[8..].iter().map(|b| format!("{b:02x}")).collect();
                // Without multicast the rest still works: say so, go on.
                match monsoon_tracker::Lsd::start(settings.clone(), listen_addr.port(), cookie)
                    .await
                {
                    Ok(lsd) => Some(lsd),
                    Err(e) => {
                        warn!(error = %e, "local service discovery unavailable");
                        None
                    }
                }
            }
            None => None,
        };
        let accept_task = tokio::spawn(accept_loop(
            listener,
            registry.clone(),
            cfg.clone(),
            pending.clone(),
            shared.peers.clone(),
        ));
        Ok(Self {
            cfg,
            peer_id,
            listen_addr,
            registry,
            disk,
            connector,
            pending,
            shared,
            dht,
            lsd,
            accept_task,
        })
    }

    /// The session's DHT node, if it runs one.
    pub fn dht(&self) -> Option<&monsoon_dht::Dht> {
        self.dht.as_ref()
    }

    /// Changes the session-wide rate limits, payload bytes per second
    /// (0: none); every torrent follows at once.
    pub fn set_rate_limits(&self, upload: u64, download: u64) {
        self.shared.upload.set_rate(upload);
        self.shared.download.set_rate(download);
    }

    /// Connections open (or being dialled) in the whole session.
    pub fn connections(&self) -> usize {
        self.cfg.max_peers.max(1) - self.shared.peers.available_permits()
    }

    /// Where the session accepts peers.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    /// Our peer id.
    pub fn peer_id(&self) -> [u8; 20] {
        self.peer_id
    }

    /// Takes a connection a peer opened to us by other means than the
    /// listener (an in-memory stream in tests, another transport): its
    /// handshake is read and it goes to the torrent it names, as if the
    /// listener had accepted it. Dropped when too many handshakes are
    /// pending.
    pub fn accept_stream(&self, stream: BoxTransport, addr: SocketAddr) {
        let Ok(permit) = self.shared.peers.clone().try_acquire_owned() else {
            debug!(%addr, "session connection limit reached; dropping connection");
            return;
        };
        spawn_incoming(
            stream,
            addr,
            self.registry.clone(),
            &self.cfg,
            &self.pending,
            permit,
        );
    }

    /// Adds a torrent and starts it (checking existing data first).
    ///
    /// v1, v2 and hybrid torrents are all downloaded and served; a hybrid
    /// talks v1 to v1-only peers and v2 to the others, and peers may reach
    /// it by either info-hash. A v2 torrent whose `.torrent` lacks piece
    /// layers fetches them from peers before checking its data.
    ///
    /// # Errors
    /// [`EngineError::Duplicate`] if the session has it already (by either
    /// info-hash); storage, geometry and priority errors.
    pub async fn add_torrent(
        &self,
        meta: Metainfo,
        opts: AddTorrentOptions,
    ) -> Result<TorrentHandle, EngineError> {
        self.add(Source::Meta(Arc::new(meta)), opts)
    }

    /// Adds a torrent from a magnet link: its metadata is fetched from
    /// peers (trackers from `tr`, peer hints from `x.pe`, and the peers the
    /// caller gives), then it goes on as any torrent. BEP 53 `so` selects
    /// the files; `opts.file_priorities` is not used (the files are not
    /// known yet).
    ///
    /// A `btmh` (v2) link's metadata is checked against its SHA-256, and
    /// its piece layers are fetched from peers as well (`hash request`).
    ///
    /// # Errors
    /// [`EngineError::Duplicate`] if the session has it already.
    pub async fn add_magnet(
        &self,
        magnet: crate::Magnet,
        opts: AddTorrentOptions,
    ) -> Result<TorrentHandle, EngineError> {
        self.add(Source::Magnet(magnet), opts)
    }

    fn add(&self, source: Source, opts: AddTorrentOptions) -> Result<TorrentHandle, EngineError> {
        let info_hash = source.info_hash();
        let (commands_tx, commands) = mpsc::channel(driver::COMMANDS);
        let (connections_tx, connections) = mpsc::channel(driver::NEW_CONNECTIONS);
        let stats = match &source {
            Source::Meta(m) => Stats::new(m.total_length, m.piece_count()),
            Source::Magnet(_) => Stats::new(0, 0),
        };
        let (stats_tx, stats_rx) = watch::channel(stats);
        let meta_slot: MetaSlot = Arc::new(std::sync::RwLock::new(match &source {
            Source::Meta(m) => Some(m.clone()),
            Source::Magnet(_) => None,
        }));
        let registered = Registered {
            info_hash,
            meta: meta_slot.clone(),
            commands: commands_tx,
            connections: connections_tx.clone(),
            stats: stats_rx,
        };
        {
            // Checked and reserved under one lock: two adds of the same
            // torrent cannot both succeed.
            // A hybrid is found by either info-hash (incoming handshakes
            // name one or the other).
            let mut reg = self.registry.lock().map_err(|_| EngineError::Stopped)?;
            let keys = source.keys();
            if let Some(taken) = keys.iter().find(|k| reg.contains_key(*k)) {
                return Err(EngineError::Duplicate(hex(taken)));
            }
            for k in keys {
                reg.insert(k, registered.clone());
            }
        }
        let inbox = Inbox {
            commands,
            connections,
            connections_tx,
        };
        match self.start_torrent(source, opts, inbox, stats_tx, meta_slot) {
            Ok(()) => Ok(TorrentHandle::new(
                info_hash,
                &registered,
                self.registry.clone(),
            )),
            Err(e) => {
                if let Ok(mut reg) = self.registry.lock() {
                    reg.retain(|_, r| r.info_hash != info_hash);
                }
                Err(e)
            }
        }
    }

    fn start_torrent(
        &self,
        source: Source,
        opts: AddTorrentOptions,
        inbox: Inbox,
        stats: watch::Sender<Stats>,
        meta_slot: MetaSlot,
    ) -> Result<(), EngineError> {
        let info_hash = source.info_hash();
        let cfg = match &opts.download_root {
            Some(dir) => {
                let mut c = (*self.cfg).clone();
                c.download_root.clone_from(dir);
                Arc::new(c)
            }
            None => self.cfg.clone(),
        };
        let info_hash_v2 = source.info_hash_v2();
        let (meta, trackers, hints, select, name) = match source {
            Source::Meta(m) => {
                let t = m.trackers.clone();
                let name = m.name.clone();
                (Some(m), t, Vec::new(), None, name)
            }
            Source::Magnet(mg) => {
                let hints: Vec<SocketAddr> =
                    mg.peers.iter().filter_map(|p| p.parse().ok()).collect();
                let tiers = if mg.trackers.is_empty() {
                    Vec::new()
                } else {
                    vec![mg.trackers.clone()]
                };
                let sel = (!mg.select_only.is_empty()).then(|| mg.select_only.clone());
                let name = mg.display_name.clone().unwrap_or_else(|| hex(&info_hash));
                (None, tiers, hints, sel, name)
            }
        };
        let priorities = match &meta {
            Some(m) => Some(piece_priorities(
                &layout_of(m)?,
                opts.file_priorities.as_deref(),
            )?),
            None => None,
        };
        let storage: Arc<dyn Storage> = match (opts.storage, &meta) {
            (Some(s), _) => s,
            (None, Some(m)) => storage_for(&cfg, m)?,
            // Set up once the metadata is known.
            (None, None) => Arc::new(MemoryStorage::new(Layout::new(
                vec![FileEntry::new(["-"], 1)],
                monsoon_piece::BLOCK_LEN,
            )?)),
        };
        let announcer =
            match opts.announcer {
                Some(a) => Some(a),
                None if !opts.no_trackers && !trackers.is_empty() => Some(Box::new(
                    TrackerList::new(trackers, ClientConfig::default(), seed_from(&self.peer_id)),
                )
                    as Box<dyn Announcer>),
                None => None,
            };
        let span = info_span!("torrent", %name);
        let mut params = TorrentParams::magnet(
            info_hash,
            cfg.clone(),
            self.peer_id,
            self.listen_addr.port(),
        );
        params.meta = meta.clone();
        params.info_hash_v2 = info_hash_v2;
        params.select_files = select;
        params.piece_priorities = priorities;
        params.sequential = opts.sequential;
        params.paused = opts.paused;
        params.seed = seed_from(&info_hash);
        params.seed_limits = opts.seed_limits;
        params.seed_only = opts.seed_only;
        params.dht_port = self.dht.as_ref().map(|d| d.local_addr().port());
        let resume = match &meta {
            Some(m) => load_resume(opts.resume_file, m, &cfg.download_root),
            None => opts.resume_file.map(|p| (p, Ok(None))),
        };
        let mut resume_error = None;
        let resume = resume.map(|(path, read)| match read {
            Ok(data) => (path, data),
            Err(e) => {
                warn!(error = %e, "resume file not used; checking everything");
                resume_error = Some(Arc::new(e));
                (path, None)
            }
        });
        if let Some((_, Some(r))) = &resume {
            params.prior_totals = (r.uploaded, r.downloaded);
        }
        let now = Instant::now();
        let mut core = TorrentCore::new(params, now)?;
        if let Some(e) = resume_error {
            core.note_resume_error(e);
        }
        core.add_peers(now, &opts.peers, PeerSource::User);
        core.add_peers(now, &hints, PeerSource::User);
        let wiring = Wiring {
            cfg,
            connector: self.connector.clone(),
            disk_pool: self.disk.clone(),
            storage,
            our_handshake: {
                let mut hs = Handshake::new(info_hash, self.peer_id);
                if self.dht.is_some() {
                    hs.reserved = hs.reserved.with_dht();
                }
                // BEP 52: we speak v2 for this torrent (never for a v1 one:
                // libtorrent drops a peer claiming v2 for a v1 torrent).
                if info_hash_v2.is_some() {
                    hs.reserved = hs.reserved.with_v2();
                }
                hs
            },
            stats,
            meta_slot,
            shared: self.shared.clone(),
            upload_limit: opts.max_upload_rate,
            download_limit: opts.max_download_rate,
            resume,
            lsd: self.lsd.clone(),
            dht: self.dht.clone().map(|d| {
                let every = self
                    .cfg
                    .dht
                    .as_ref()
                    .map_or(std::time::Duration::from_secs(900), |s| s.announce_interval);
                (d, every, self.listen_addr.port())
            }),
            announcer: announcer.map(|a| {
                let params = announce::Params {
                    info_hash,
                    also: info_hash_v2
                        .map(|v2| crate::torrent::truncate(&v2))
                        .filter(|short| *short != info_hash),
                    peer_id: self.peer_id,
                    port: self.listen_addr.port(),
                    max_interval: self.cfg.max_announce_interval,
                };
                (a, params)
            }),
        };
        let task = TorrentTask::new(core, inbox, wiring);
        tokio::spawn(task.run().instrument(span));
        Ok(())
    }

    /// The torrents of this session.
    pub fn torrents(&self) -> Vec<TorrentHandle> {
        let Ok(reg) = self.registry.lock() else {
            return Vec::new();
        };
        reg.iter()
            .filter(|(ih, r)| **ih == r.info_hash)
            .map(|(ih, r)| TorrentHandle::new(*ih, r, self.registry.clone()))
            .collect()
    }

    /// Stops every torrent (each announces `stopped` and flushes) and the listener.
    pub async fn shutdown(self) {
        self.accept_task.abort();
        for h in self.torrents() {
            let _ = h.remove().await;
        }
        if let Some(dht) = &self.dht {
            let file = self.cfg.dht.as_ref().and_then(|d| d.state_file.clone());
            if let (Some(file), Ok(state)) = (file, dht.save().await) {
                if let Some(dir) = file.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                let tmp = file.with_extension("tmp");
                if std::fs::write(&tmp, state.encode()).is_ok() {
                    let _ = std::fs::rename(&tmp, &file);
                }
            }
            dht.shutdown().await;
        }
    }
}

/// Hands a connection to the torrent its handshake names, in a task of its
/// own (bounded by `pending`).
fn spawn_incoming(
    stream: BoxTransport,
    addr: SocketAddr,
    registry: Registry,
    cfg: &SessionConfig,
    pending: &Arc<Semaphore>,
    connection: OwnedSemaphorePermit,
) {
    let Ok(permit) = pending.clone().try_acquire_owned() else {
        debug!(%addr, "too many handshakes in progress; dropping connection");
        return;
    };
    let limit = cfg.handshake_timeout;
    let policy = cfg.encryption;
    tokio::spawn(
        async move {
            let result = route_incoming(stream, addr, registry, (policy, limit), connection).await;
            drop(permit);
            if let Err(reason) = result {
                debug!(%reason, "incoming connection dropped");
            }
        }
        .instrument(info_span!("incoming", %addr)),
    );
}

async fn accept_loop(
    listener: TcpListener,
    registry: Registry,
    cfg: Arc<SessionConfig>,
    pending: Arc<Semaphore>,
    connections: Arc<Semaphore>,
) {
    loop {
        let (tcp, addr) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of descriptors and the like: do not spin.
                debug!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        // Over the session's connection limit: closed at once, before it
        // costs a task or a handshake.
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            debug!(%addr, "session connection limit reached; dropping connection");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        spawn_incoming(
            Box::new(tcp),
            addr,
            registry.clone(),
            &cfg,
            &pending,
            permit,
        );
    }
}

/// Reads an incoming peer's handshake (plaintext, or inside MSE as the
/// policy allows) and hands the connection to its torrent.
async fn route_incoming(
    stream: BoxTransport,
    addr: SocketAddr,
    registry: Registry,
    (policy, limit): (encryption::Encryption, std::time::Duration),
    permit: OwnedSemaphorePermit,
) -> Result<(), String> {
    let accepted = encryption::accept(stream, &registry, policy, limit)
        .await
        .map_err(|e| e.to_string())?;
    let handshake = accepted.theirs;
    let tx = registry
        .lock()
        .ok()
        .and_then(|r| r.get(&handshake.info_hash).map(|t| t.connections.clone()))
        .ok_or("handshake for a torrent we do not have")?;
    tx.send(NewConnection::Incoming {
        addr,
        stream: accepted.stream,
        handshake,
        encryption: accepted.encryption,
        permit: Some(permit),
    })
    .await
    .map_err(|_| "torrent stopped".to_owned())
}

/// Binds the DHT node on the UDP port of the listen address, with the
/// nodes saved by the last run.
async fn start_dht(
    settings: &crate::config::DhtSettings,
    listen: SocketAddr,
) -> Result<monsoon_dht::Dht, EngineError> {
    let mut config = monsoon_dht::DhtConfig::default();
    config.bootstrap.clone_from(&settings.bootstrap);
    config.state = settings
        .state_file
        .as_ref()
        .and_then(|f| std::fs::read(f).ok())
        .and_then(|b| monsoon_dht::SavedState::decode(&b).ok());
    monsoon_dht::Dht::bind(listen, config)
        .await
        .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string())))
}

/// Where a torrent comes from.
enum Source {
    Meta(Arc<Metainfo>),
    Magnet(crate::Magnet),
}

impl Source {
    /// The info-hash the torrent is known by (trackers, the DHT, handles).
    fn info_hash(&self) -> [u8; 20] {
        match self {
            Source::Meta(m) => m.info_hash,
            Source::Magnet(m) => m.info_hash,
        }
    }

    /// The v2 info-hash, for a v2 or hybrid torrent (or link).
    fn info_hash_v2(&self) -> Option<[u8; 32]> {
        match self {
            Source::Meta(m) => m.info_hash_v2,
            Source::Magnet(m) => m.info_hash_v2,
        }
    }

    /// Every 20-byte info-hash a handshake may name: the info-hash, and a
    /// hybrid's truncated v2 info-hash.
    fn keys(&self) -> Vec<[u8; 20]> {
        let mut keys = vec![self.info_hash()];
        if let Some(v2) = self.info_hash_v2() {
            let short = crate::torrent::truncate(&v2);
            if short != keys[0] {
                keys.push(short);
            }
        }
        keys
    }
}

/// A torrent's metainfo once known (shared by its handles and its task).
pub(crate) type MetaSlot = Arc<std::sync::RwLock<Option<Arc<Metainfo>>>>;

fn hex(b: &[u8; 20]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Files under the download root for `meta` (zero-length files created now).
/// BEP 47 symbolic links are not created (storage skips them, as it skips
/// padding): a warning says how many, and names the first.
pub(crate) fn storage_for(
    cfg: &SessionConfig,
    meta: &Metainfo,
) -> Result<Arc<dyn Storage>, monsoon_storage::StorageError> {
    let mut links = meta.files.iter().filter(|f| f.is_symlink());
    if let Some(first) = links.next() {
        warn!(
            links = links.count() + 1,
            first = %first.path(),
            "symbolic links (BEP 47) of the torrent are not created: skipped"
        );
    }
    let files = FileStorage::new(cfg.download_root.clone(), layout_of(meta)?)?
        .with_max_open_files(cfg.max_open_files);
    // Zero-length files have no pieces: create them up front.
    files.create_empty_files()?;
    Ok(Arc::new(files))
}

/// Reads the resume file at `path` (if any) for `meta`, whose files are
/// under `root`.
pub(crate) fn load_resume(
    path: Option<std::path::PathBuf>,
    meta: &Metainfo,
    root: &std::path::Path,
) -> Option<(
    std::path::PathBuf,
    Result<Option<ResumeData>, crate::resume::ResumeError>,
)> {
    path.map(|p| {
        let read = ResumeData::load(
            &p,
            &meta.info_hash,
            meta.piece_count(),
            meta.files.len(),
            root,
        );
        (p, read)
    })
}

fn seed_from(bytes: &[u8; 20]) -> u64 {
    let mut s = [0u8; 8];
    s.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(s) ^ u64::from(std::process::id())
}

/// `-MO0100-` followed by 12 random characters (BEP 20 style).
fn generate_peer_id() -> [u8; 20] {
    use std::hash::{BuildHasher, Hasher};
    let mut id = *b"-MO0100-000000000000";
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
    for chunk in id[8..].chunks_mut(6) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        let mut r = h.finish();
        for b in chunk {
            *b = alphabet[(r % alphabet.len() as u64) as usize];
            r /= alphabet.len() as u64;
        }
    }
    id
}
