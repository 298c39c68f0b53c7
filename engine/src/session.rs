//! The session: owns the listener and runs many torrents.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use monsoon_storage::{FileEntry, FileStorage, Layout, Storage};
use monsoon_tracker::{Announcer, ClientConfig, TrackerList};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tracing::{Instrument, debug, info_span};

use crate::config::SessionConfig;
use crate::disk::DiskPool;
use crate::error::EngineError;
use crate::handle::{Registry, TorrentHandle};
use crate::metainfo::Metainfo;
use crate::peer::{self, BoxTransport};
use crate::stats::Stats;
use crate::torrent::{EVENT_CAPACITY, Torrent, TorrentEvent, TorrentInit};

/// How a torrent is added to a session. `Default` downloads every file,
/// announces to the torrent's trackers and starts at once.
#[derive(Default)]
#[non_exhaustive]
pub struct AddTorrentOptions {
    /// Peers to connect to besides those the trackers give.
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
    disk: Arc<DiskPool>,
    handles: Mutex<Vec<TorrentHandle>>,
    accept_task: tokio::task::JoinHandle<()>,
}

impl Session {
    /// Binds the listener and starts accepting peers.
    pub async fn new(cfg: SessionConfig) -> Result<Self, EngineError> {
        let listener = TcpListener::bind(cfg.listen_addr).await?;
        let listen_addr = listener.local_addr()?;
        let peer_id = cfg.peer_id.unwrap_or_else(generate_peer_id);
        let cfg = Arc::new(cfg);
        let registry: Registry = Arc::default();
        let disk = DiskPool::new(cfg.disk_threads)?;
        let accept_task = tokio::spawn(accept_loop(listener, registry.clone(), cfg.clone()));
        Ok(Self {
            cfg,
            peer_id,
            listen_addr,
            registry,
            disk,
            handles: Mutex::new(Vec::new()),
            accept_task,
        })
    }

    /// Where the session accepts peers.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    /// Our peer id.
    pub fn peer_id(&self) -> [u8; 20] {
        self.peer_id
    }

    /// Adds a torrent and starts it (checking existing data first).
    pub async fn add_torrent(
        &self,
        meta: Metainfo,
        opts: AddTorrentOptions,
    ) -> Result<TorrentHandle, EngineError> {
        if !meta.version.has_v1() {
            return Err(EngineError::V2OnlyUnsupported);
        }
        let info_hash = meta.info_hash;
        if self
            .registry
            .lock()
            .is_ok_and(|r| r.contains_key(&info_hash))
        {
            return Err(EngineError::Duplicate(meta.info_hash_hex()));
        }
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
        let piece_priorities = piece_priorities(&layout, opts.file_priorities.as_deref())?;
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
        let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
        let meta = Arc::new(meta);
        let (stats_tx, stats_rx) =
            watch::channel(Stats::new(meta.total_length, meta.piece_count()));
        let span = info_span!("torrent", name = %meta.name);
        let init = TorrentInit {
            meta,
            storage,
            cfg: self.cfg.clone(),
            peer_id: self.peer_id,
            listen_port: self.listen_addr.port(),
            piece_priorities,
            sequential: opts.sequential,
            peers: opts.peers,
            announcer,
            paused: opts.paused,
            seed: seed_from(&info_hash),
            disk: self.disk.clone(),
        };
        let torrent = Torrent::new(init, tx.clone(), stats_tx)?;
        tokio::spawn(torrent.run(rx).instrument(span));
        if let Ok(mut reg) = self.registry.lock() {
            reg.insert(info_hash, tx.clone());
        }
        let handle = TorrentHandle {
            info_hash,
            tx,
            stats: stats_rx,
            registry: self.registry.clone(),
        };
        if let Ok(mut h) = self.handles.lock() {
            h.push(handle.clone());
        }
        Ok(handle)
    }

    /// Stops every torrent (each announces `stopped` and flushes) and the listener.
    pub async fn shutdown(self) {
        self.accept_task.abort();
        let handles: Vec<TorrentHandle> =
            self.handles.lock().map(|h| h.clone()).unwrap_or_default();
        for h in handles {
            let _ = h.remove().await;
        }
    }
}

/// Piece priorities from file priorities: a piece gets the highest priority
/// of the (non-padding) files it overlaps.
fn piece_priorities(layout: &Layout, files: Option<&[u8]>) -> Result<Vec<u8>, EngineError> {
    let n = layout.piece_count() as usize;
    let Some(files) = files else {
        return Ok(vec![1; n]);
    };
    if files.len() != layout.files().len() {
        return Err(EngineError::PriorityCount {
            given: files.len(),
            files: layout.files().len(),
        });
    }
    let mut prio = vec![0u8; n];
    for (i, f) in layout.files().iter().enumerate() {
        if f.padding || f.length == 0 {
            continue;
        }
        for p in layout.file_pieces(i) {
            prio[p as usize] = prio[p as usize].max(files[i]);
        }
    }
    Ok(prio)
}

fn seed_from(bytes: &[u8; 20]) -> u64 {
    let mut s = [0u8; 8];
    s.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(s) ^ std::process::id() as u64
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

/// Incoming connections whose handshake has not arrived yet, at most: a
/// flood of silent connections cannot grow tasks and sockets without bound.
const MAX_PENDING_HANDSHAKES: usize = 64;

async fn accept_loop(listener: TcpListener, registry: Registry, cfg: Arc<SessionConfig>) {
    let pending = Arc::new(tokio::sync::Semaphore::new(MAX_PENDING_HANDSHAKES));
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
        let Ok(permit) = pending.clone().try_acquire_owned() else {
            debug!(%addr, "too many handshakes in progress; dropping connection");
            continue;
        };
        let registry = registry.clone();
        let limit = cfg.handshake_timeout;
        tokio::spawn(
            async move {
                let result = route_incoming(tcp, addr, registry, limit).await;
                drop(permit);
                if let Err(reason) = result {
                    debug!(reason, "incoming connection dropped");
                }
            }
            .instrument(info_span!("incoming", %addr)),
        );
    }
}

/// Reads an incoming peer's handshake and hands the connection to its torrent.
async fn route_incoming(
    tcp: TcpStream,
    addr: SocketAddr,
    registry: Registry,
    limit: std::time::Duration,
) -> Result<(), String> {
    let _ = tcp.set_nodelay(true);
    let mut stream: BoxTransport = Box::new(tcp);
    let handshake = peer::read_handshake(&mut stream, limit).await?;
    let tx = registry
        .lock()
        .ok()
        .and_then(|r| r.get(&handshake.info_hash).cloned())
        .ok_or("handshake for a torrent we do not have")?;
    tx.send(TorrentEvent::Incoming {
        addr,
        stream,
        handshake,
    })
    .await
    .map_err(|_| "torrent stopped".to_string())
}
