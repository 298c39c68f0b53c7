//! The session: owns the listener, the disk threads and the connector, and
//! runs many torrents (one torrent task each).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use monsoon_storage::{FileEntry, FileStorage, Layout, Storage};
use monsoon_tracker::{Announcer, ClientConfig, TrackerList};
use monsoon_wire::Handshake;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tracing::{Instrument, debug, info_span};

use crate::config::SessionConfig;
use crate::driver::{self, Inbox, NewConnection, Shared, TorrentTask, Wiring, announce};
use crate::error::EngineError;
use crate::handle::{Registered, Registry, TorrentHandle};
use crate::metainfo::Metainfo;
use crate::priorities::piece_priorities;
use crate::rate::Limiter;
use crate::stats::Stats;
use crate::torrent::{PeerSource, SeedLimits, TorrentCore, TorrentParams};
use crate::transport::{BoxTransport, Connector, TcpConnector, read_handshake};

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
        let pending = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
        let shared = Shared {
            peers: Arc::new(Semaphore::new(cfg.max_peers.max(1))),
            half_open: Arc::new(Semaphore::new(cfg.max_half_open.max(1))),
            upload: Arc::new(Limiter::new(cfg.max_upload_rate)),
            download: Arc::new(Limiter::new(cfg.max_download_rate)),
            read_cache: Arc::new(driver::disk::ReadCache::new(cfg.read_cache_bytes)),
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
            accept_task,
        })
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
    /// # Errors
    /// [`EngineError::Duplicate`] if the session has it already; storage,
    /// geometry and priority errors.
    pub async fn add_torrent(
        &self,
        meta: Metainfo,
        opts: AddTorrentOptions,
    ) -> Result<TorrentHandle, EngineError> {
        if !meta.version.has_v1() {
            return Err(EngineError::V2OnlyUnsupported);
        }
        let info_hash = meta.info_hash;
        let (commands_tx, commands) = mpsc::channel(driver::COMMANDS);
        let (connections_tx, connections) = mpsc::channel(driver::NEW_CONNECTIONS);
        let (stats_tx, stats_rx) =
            watch::channel(Stats::new(meta.total_length, meta.piece_count()));
        let registered = Registered {
            commands: commands_tx,
            connections: connections_tx.clone(),
            stats: stats_rx,
        };
        {
            // Checked and reserved under one lock: two adds of the same
            // torrent cannot both succeed.
            let mut reg = self.registry.lock().map_err(|_| EngineError::Stopped)?;
            if reg.contains_key(&info_hash) {
                return Err(EngineError::Duplicate(meta.info_hash_hex()));
            }
            reg.insert(info_hash, registered.clone());
        }
        let inbox = Inbox {
            commands,
            connections,
            connections_tx,
        };
        match self.start_torrent(meta, opts, inbox, stats_tx) {
            Ok(()) => Ok(TorrentHandle::new(
                info_hash,
                &registered,
                self.registry.clone(),
            )),
            Err(e) => {
                if let Ok(mut reg) = self.registry.lock() {
                    reg.remove(&info_hash);
                }
                Err(e)
            }
        }
    }

    fn start_torrent(
        &self,
        meta: Metainfo,
        opts: AddTorrentOptions,
        inbox: Inbox,
        stats: watch::Sender<Stats>,
    ) -> Result<(), EngineError> {
        let info_hash = meta.info_hash;
        let files: Vec<FileEntry> = meta
            .files
            .iter()
            .map(|f| FileEntry {
                path: f.path.clone(),
                length: f.length,
                // Symbolic links (BEP 47) have no data and are not created
                // yet: never written, like padding.
                padding: f.padding || f.symlink.is_some(),
            })
            .collect();
        let layout = Layout::new(files, meta.piece_length)?;
        let priorities = piece_priorities(&layout, opts.file_priorities.as_deref())?;
        let storage: Arc<dyn Storage> = match opts.storage {
            Some(s) => s,
            None => {
                let files = FileStorage::new(self.cfg.download_root.clone(), layout)?;
                // Zero-length files have no pieces: create them up front.
                files.create_empty_files()?;
                Arc::new(files)
            }
        };
        let announcer = match opts.announcer {
            Some(a) => Some(a),
            None if !opts.no_trackers && !meta.trackers.is_empty() => {
                Some(Box::new(TrackerList::new(
                    meta.trackers.clone(),
                    ClientConfig::default(),
                    seed_from(&self.peer_id),
                )) as Box<dyn Announcer>)
            }
            None => None,
        };
        let meta = Arc::new(meta);
        let span = info_span!("torrent", name = %meta.name);
        let mut params = TorrentParams::new(
            meta.clone(),
            self.cfg.clone(),
            self.peer_id,
            self.listen_addr.port(),
        );
        params.piece_priorities = Some(priorities);
        params.sequential = opts.sequential;
        params.paused = opts.paused;
        params.seed = seed_from(&info_hash);
        params.seed_limits = opts.seed_limits;
        params.seed_only = opts.seed_only;
        let now = Instant::now();
        let mut core = TorrentCore::new(params, now)?;
        core.add_peers(now, &opts.peers, PeerSource::User);
        let wiring = Wiring {
            cfg: self.cfg.clone(),
            connector: self.connector.clone(),
            disk_pool: self.disk.clone(),
            storage,
            our_handshake: Handshake::new(info_hash, self.peer_id),
            stats,
            shared: self.shared.clone(),
            upload_limit: opts.max_upload_rate,
            download_limit: opts.max_download_rate,
            announcer: announcer.map(|a| {
                let params = announce::Params {
                    info_hash,
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
            .map(|(ih, r)| TorrentHandle::new(*ih, r, self.registry.clone()))
            .collect()
    }

    /// Stops every torrent (each announces `stopped` and flushes) and the listener.
    pub async fn shutdown(self) {
        self.accept_task.abort();
        for h in self.torrents() {
            let _ = h.remove().await;
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
    tokio::spawn(
        async move {
            let result = route_incoming(stream, addr, registry, limit, connection).await;
            drop(permit);
            if let Err(reason) = result {
                debug!(reason, "incoming connection dropped");
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

/// Reads an incoming peer's handshake and hands the connection to its torrent.
async fn route_incoming(
    mut stream: BoxTransport,
    addr: SocketAddr,
    registry: Registry,
    limit: std::time::Duration,
    permit: OwnedSemaphorePermit,
) -> Result<(), &'static str> {
    let handshake = read_handshake(&mut stream, limit)
        .await
        .map_err(|_| "no valid handshake")?;
    let tx = registry
        .lock()
        .ok()
        .and_then(|r| r.get(&handshake.info_hash).map(|t| t.connections.clone()))
        .ok_or("handshake for a torrent we do not have")?;
    tx.send(NewConnection::Incoming {
        addr,
        stream,
        handshake,
        permit: Some(permit),
    })
    .await
    .map_err(|_| "torrent stopped")
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
