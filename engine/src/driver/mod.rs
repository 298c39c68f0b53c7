//! The tokio side of a torrent: the torrent task feeds the sans-IO
//! [`TorrentCore`] with what happens — peer messages, finished connection
//! attempts, disk results, tracker peers, commands, timeouts — and carries
//! out the [`Action`]s it returns. It never awaits the network or the disk:
//! peer tasks get messages through bounded queues, disk jobs run on the
//! disk threads, dials and handshakes in their own tasks.
//!
//! Each producer has its own narrow event type and channel (peer tasks:
//! [`PeerEvent`](peer::PeerEvent); the disk: [`DiskResult`]; the tracker
//! task: peer addresses; the session and dial tasks: [`NewConnection`];
//! the handle: [`Command`]), so none of them depends on the torrent task.

pub(crate) mod announce;
mod connect;
mod dht;
pub(crate) mod disk;
mod lsd;
pub(crate) mod peer;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use monsoon_piece::PeerKey;
use monsoon_tracker::Event;
use monsoon_wire::{Handshake, Message};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};

use crate::config::SessionConfig;
use crate::encryption::{Dialled, Limits, PeerEncryption};
use crate::error::EngineError;
use crate::priorities::piece_priorities;
use crate::rate::Limiter;
use crate::stats::Stats;
use crate::torrent::{
    Action, ConnectError, Direction, DiskResult, PeerEnd, PeerSource, SeedLimits, TorrentCore,
};
use crate::transport::{BoxTransport, Connector};
use disk::TorrentDisk;
use peer::{PeerConn, PeerEvent, PeerEventKind, PeerLink, PeerTimers};

/// Capacity of a torrent's channel of peer events (all its peers together).
pub(crate) const PEER_EVENTS: usize = 1024;
/// Capacity of a torrent's channel of disk results.
const DISK_RESULTS: usize = 256;
/// Capacity of a torrent's channel of new connections.
pub(crate) const NEW_CONNECTIONS: usize = 64;
/// Capacity of a torrent's command channel.
pub(crate) const COMMANDS: usize = 64;
/// Peer events handled in one go before looking at other channels.
const PEER_BATCH: usize = 64;
/// How long a stopping torrent waits for its disk jobs and its tracker.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Commands from a [`TorrentHandle`](crate::TorrentHandle).
pub(crate) enum Command {
    Pause,
    Resume,
    AddPeers(Vec<SocketAddr>),
    /// File priorities (one per file); the result goes back.
    SetFilePriorities(Vec<u8>, oneshot::Sender<Result<(), EngineError>>),
    /// This torrent's rate limits, bytes per second (0: none).
    SetRateLimits {
        upload: u64,
        download: u64,
    },
    /// When to stop seeding.
    SetSeedLimits(SeedLimits),
    /// The pieces verified on disk.
    Pieces(oneshot::Sender<monsoon_piece::Bitfield>),
    /// The connected peers.
    Peers(oneshot::Sender<Vec<crate::torrent::PeerInfo>>),
    /// Bytes of each file verified on disk.
    FileProgress(oneshot::Sender<Vec<u64>>),
    /// Hash everything on disk again.
    Recheck,
    /// How announcing goes.
    Trackers(oneshot::Sender<announce::TrackerStatus>),
    /// Stop (and delete the files when asked), then acknowledge.
    Remove(oneshot::Sender<()>, bool),
}

/// A connection for the torrent, handshakes done (or failed).
pub(crate) enum NewConnection {
    /// A dial the core asked for (with its share of the session's
    /// connection budget).
    Outgoing {
        addr: SocketAddr,
        result: Result<Dialled, ConnectError>,
        permit: Option<OwnedSemaphorePermit>,
    },
    /// A peer that dialled us; its handshake named this torrent.
    Incoming {
        addr: SocketAddr,
        stream: BoxTransport,
        handshake: Handshake,
        encryption: PeerEncryption,
        permit: Option<OwnedSemaphorePermit>,
    },
}

/// What every torrent of a session shares: its connection budget and its
/// rate limits.
#[derive(Clone)]
pub(crate) struct Shared {
    /// One permit per connection (`SessionConfig::max_peers`).
    pub(crate) peers: Arc<Semaphore>,
    /// One permit per dial in progress (`SessionConfig::max_half_open`).
    pub(crate) half_open: Arc<Semaphore>,
    pub(crate) upload: Arc<Limiter>,
    pub(crate) download: Arc<Limiter>,
    pub(crate) read_cache: Arc<disk::ReadCache>,
}

/// The channels a torrent task reads, created before the task so the
/// session can register its senders.
pub(crate) struct Inbox {
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) connections: mpsc::Receiver<NewConnection>,
    pub(crate) connections_tx: mpsc::Sender<NewConnection>,
}

/// What the torrent task needs besides its core.
pub(crate) struct Wiring {
    pub(crate) cfg: Arc<SessionConfig>,
    pub(crate) connector: Arc<dyn Connector>,
    pub(crate) disk_pool: Arc<disk::DiskPool>,
    pub(crate) storage: Arc<dyn monsoon_storage::Storage>,
    pub(crate) our_handshake: Handshake,
    pub(crate) stats: watch::Sender<Stats>,
    /// Where the handles read the metainfo (set when a magnet's arrives).
    pub(crate) meta_slot: crate::session::MetaSlot,
    pub(crate) shared: Shared,
    /// This torrent's own rate limits (0: none).
    pub(crate) upload_limit: u64,
    pub(crate) download_limit: u64,
    /// Where to keep the torrent's resume data, and what a resume file
    /// read at start said (for the first check).
    pub(crate) resume: Option<(std::path::PathBuf, Option<crate::resume::ResumeData>)>,
    /// The session's local service discovery.
    pub(crate) lsd: Option<monsoon_tracker::Lsd>,
    /// The session's DHT node, how often to announce, and our port.
    pub(crate) dht: Option<(monsoon_dht::Dht, Duration, u16)>,
    /// The tracker client, if the torrent announces.
    pub(crate) announcer: Option<(Box<dyn monsoon_tracker::Announcer>, announce::Params)>,
}

/// The torrent task.
pub(crate) struct TorrentTask {
    core: TorrentCore,
    cfg: Arc<SessionConfig>,
    connector: Arc<dyn Connector>,
    disk: TorrentDisk,
    our_handshake: Handshake,
    timers: PeerTimers,
    shared: Shared,
    links: HashMap<PeerKey, PeerLink>,
    stats: watch::Sender<Stats>,
    peer_tx: mpsc::Sender<PeerEvent>,
    peer_rx: mpsc::Receiver<PeerEvent>,
    disk_rx: mpsc::Receiver<DiskResult>,
    inbox: Inbox,
    tracker: Option<(mpsc::Sender<Event>, JoinHandle<()>)>,
    tracker_rx: Option<mpsc::Receiver<announce::TrackerPeers>>,
    /// Peers the DHT finds; whether the DHT may be used now; the node (for
    /// the `port` messages of peers).
    dht_rx: Option<mpsc::Receiver<Vec<SocketAddr>>>,
    /// Peers the DHT finds under a hybrid's v2 info-hash.
    dht_v2_rx: Option<mpsc::Receiver<Vec<SocketAddr>>>,
    dht_allowed: Arc<std::sync::atomic::AtomicBool>,
    dht: Option<monsoon_dht::Dht>,
    dht_tasks: Vec<JoinHandle<()>>,
    /// Peers local service discovery finds (announced while `dht_allowed`:
    /// the same rule, public and active).
    lsd_rx: Option<mpsc::Receiver<Vec<SocketAddr>>>,
    lsd_task: Option<JoinHandle<()>>,
    /// Each connected peer's address.
    peer_addrs: HashMap<PeerKey, SocketAddr>,
    /// The resume file, when the next save is due, and what the last save
    /// held (pieces, uploaded, downloaded).
    resume_path: Option<std::path::PathBuf>,
    tracker_status: Arc<std::sync::Mutex<announce::TrackerStatus>>,
    meta_slot: crate::session::MetaSlot,
    next_save: Instant,
    saved: (u32, u64, u64),
}

impl TorrentTask {
    pub(crate) fn new(core: TorrentCore, inbox: Inbox, wiring: Wiring) -> Self {
        let (peer_tx, peer_rx) = mpsc::channel(PEER_EVENTS);
        let (disk_tx, disk_rx) = mpsc::channel(DISK_RESULTS);
        let disk = TorrentDisk {
            pool: wiring.disk_pool,
            storage: wiring.storage,
            cache: wiring.shared.read_cache.clone(),
            id: core.info_hash(),
            results: disk_tx,
            resume: Arc::new(std::sync::Mutex::new(
                wiring.resume.as_ref().and_then(|r| r.1.clone()),
            )),
        };
        let tracker_status = Arc::new(std::sync::Mutex::new(announce::TrackerStatus::default()));
        let (tracker, tracker_rx) = match wiring.announcer {
            Some((announcer, params)) => {
                let (events_tx, events_rx) = mpsc::channel(announce::EVENT_QUEUE);
                let (peers_tx, peers_rx) = mpsc::channel(16);
                let task = announce::spawn(
                    announcer,
                    params,
                    wiring.stats.subscribe(),
                    events_rx,
                    peers_tx,
                    tracker_status.clone(),
                );
                (Some((events_tx, task)), Some(peers_rx))
            }
            None => (None, None),
        };
        let dht_allowed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (dht, dht_rx, dht_v2_rx, dht_tasks) = match wiring.dht {
            Some((node, every, port)) => {
                let (tx, rx) = mpsc::channel(16);
                let mut tasks = vec![dht::spawn(
                    node.clone(),
                    core.info_hash(),
                    port,
                    every,
                    dht_allowed.clone(),
                    tx,
                )];
                // A hybrid is announced and looked up under its v2
                // info-hash too, as libtorrent does; the peers found
                // there are v2 peers.
                let v2 = core
                    .info_hash_v2_short()
                    .filter(|h| *h != core.info_hash())
                    .map(|h| {
                        let (tx, rx) = mpsc::channel(16);
                        let allowed = dht_allowed.clone();
                        tasks.push(dht::spawn(node.clone(), h, port, every, allowed, tx));
                        rx
                    });
                (Some(node), Some(rx), v2, tasks)
            }
            None => (None, None, None, Vec::new()),
        };
        let (lsd_rx, lsd_task) = match wiring.lsd {
            Some(service) => {
                let (tx, rx) = mpsc::channel(16);
                let task = lsd::spawn(service, core.info_hash(), dht_allowed.clone(), tx);
                (Some(rx), Some(task))
            }
            None => (None, None),
        };
        let timers = PeerTimers {
            idle: wiring.cfg.idle_timeout,
            keepalive: wiring.cfg.keepalive_interval,
            max_frame: core.max_frame(),
            up: [
                wiring.shared.upload.clone(),
                Arc::new(Limiter::new(wiring.upload_limit)),
            ],
            down: [
                wiring.shared.download.clone(),
                Arc::new(Limiter::new(wiring.download_limit)),
            ],
        };
        let mut core = core;
        core.set_upload_limit(now(), effective(&timers.up));
        let first_save = Instant::now() + wiring.cfg.resume_interval;
        Self {
            core,
            cfg: wiring.cfg,
            connector: wiring.connector,
            disk,
            our_handshake: wiring.our_handshake,
            timers,
            shared: wiring.shared,
            links: HashMap::new(),
            stats: wiring.stats,
            peer_tx,
            peer_rx,
            disk_rx,
            inbox,
            tracker,
            tracker_rx,
            resume_path: wiring.resume.map(|r| r.0),
            tracker_status,
            dht_rx,
            dht_v2_rx,
            dht_allowed,
            dht,
            dht_tasks,
            lsd_rx,
            lsd_task,
            peer_addrs: HashMap::new(),
            meta_slot: wiring.meta_slot,
            next_save: first_save,
            saved: (0, 0, 0),
        }
    }

    /// A magnet link's metadata arrived: its files and their resume data,
    /// before the check the core asks for next.
    fn on_metadata(&mut self, meta: Arc<crate::Metainfo>) {
        if let Ok(mut slot) = self.meta_slot.write() {
            *slot = Some(meta.clone());
        }
        self.timers.max_frame =
            monsoon_wire::DEFAULT_MAX_FRAME.max(meta.piece_count().div_ceil(8) as usize + 1);
        match crate::session::storage_for(&self.cfg, &meta) {
            Ok(storage) => self.disk.storage = storage,
            Err(e) => {
                self.core.handle_setup_error(now(), e);
                return;
            }
        }
        if let Some((_, Ok(Some(data)))) =
            crate::session::load_resume(self.resume_path.clone(), &meta, &self.cfg.download_root)
        {
            if let Ok(mut r) = self.disk.resume.lock() {
                *r = Some(data);
            }
        }
    }

    /// What a resume file would hold now: pieces, uploaded, downloaded.
    fn resume_mark(&self) -> (u32, u64, u64) {
        let s = self.core.stats();
        (s.pieces_done, s.uploaded_total, s.downloaded_total)
    }

    /// Saves the resume data when it changed and a save is due (or `now`).
    fn save_resume(&mut self, now: bool) {
        let Some(path) = &self.resume_path else {
            return;
        };
        if !now && Instant::now() < self.next_save {
            return;
        }
        self.next_save = Instant::now() + self.cfg.resume_interval;
        let mark = self.resume_mark();
        if mark == self.saved || !self.core.is_checked() {
            return;
        }
        self.saved = mark;
        let have = self.core.have().clone();
        let root = self.cfg.download_root.clone();
        self.disk
            .save_resume(path.clone(), root, have, (mark.1, mark.2));
    }

    /// Runs the torrent until it is removed (or every handle and the
    /// session are gone).
    pub(crate) async fn run(mut self) {
        self.execute();
        self.publish();
        let ack = loop {
            let deadline = self.core.poll_timeout();
            tokio::select! {
                biased;
                cmd = self.inbox.commands.recv() => match cmd {
                    Some(Command::Remove(ack, delete)) => break Some((ack, delete)),
                    Some(cmd) => self.on_command(cmd),
                    None => break None,
                },
                Some(result) = self.disk_rx.recv() => self.core.handle_disk(now(), result),
                Some(conn) = self.inbox.connections.recv() => self.on_connection(conn),
                Some(ev) = self.peer_rx.recv() => {
                    self.on_peer_event(ev);
                    for _ in 1..PEER_BATCH {
                        match self.peer_rx.try_recv() {
                            Ok(ev) => self.on_peer_event(ev),
                            Err(_) => break,
                        }
                    }
                }
                Some(found) = recv_opt(&mut self.tracker_rx) => {
                    if found.v2 {
                        self.core.add_v2_peers(now(), &found.addrs, PeerSource::Tracker);
                    } else {
                        self.core.add_peers(now(), &found.addrs, PeerSource::Tracker);
                    }
                }
                Some(addrs) = recv_opt(&mut self.dht_rx) => {
                    self.core.add_peers(now(), &addrs, PeerSource::Dht);
                }
                Some(addrs) = recv_opt(&mut self.dht_v2_rx) => {
                    self.core.add_v2_peers(now(), &addrs, PeerSource::Dht);
                }
                Some(addrs) = recv_opt(&mut self.lsd_rx) => {
                    self.core.add_peers(now(), &addrs, PeerSource::Lsd);
                }
                _ = sleep_until(deadline.map_or_else(far_future, Instant::from_std)) => {
                    self.core.handle_timeout(now());
                    self.publish();
                    self.save_resume(false);
                }
            }
            self.execute();
        };
        self.shutdown().await;
        if let Some((ack, delete)) = ack {
            if delete {
                let storage = self.disk.storage.clone();
                let path = self.resume_path.clone();
                let deleted = tokio::task::spawn_blocking(move || {
                    if let Some(p) = path {
                        let _ = std::fs::remove_file(p);
                    }
                    storage.delete_files()
                })
                .await;
                if let Ok(Err(e)) = deleted {
                    tracing::warn!(error = %e, "cannot delete the torrent's files");
                }
            }
            let _ = ack.send(());
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Pause => self.core.pause(now()),
            Command::Resume => self.core.resume(now()),
            Command::AddPeers(addrs) => self.core.add_peers(now(), &addrs, PeerSource::User),
            Command::SetFilePriorities(files, reply) => {
                let layout = self.disk.storage.layout();
                let result = piece_priorities(layout, Some(&files))
                    .and_then(|prio| self.core.set_piece_priorities(now(), prio));
                let _ = reply.send(result);
                self.publish();
            }
            Command::SetRateLimits { upload, download } => {
                self.timers.up[1].set_rate(upload);
                self.timers.down[1].set_rate(download);
                self.core
                    .set_upload_limit(now(), effective(&self.timers.up));
            }
            Command::SetSeedLimits(limits) => self.core.set_seed_limits(now(), limits),
            Command::Pieces(reply) => {
                let _ = reply.send(self.core.have().clone());
            }
            Command::Peers(reply) => {
                let _ = reply.send(self.core.peer_infos());
            }
            Command::FileProgress(reply) => {
                let _ = reply.send(file_progress(self.disk.storage.layout(), self.core.have()));
            }
            Command::Recheck => self.core.recheck(now()),
            Command::Trackers(reply) => {
                let status = self
                    .tracker_status
                    .lock()
                    .map(|s| s.clone())
                    .unwrap_or_default();
                let _ = reply.send(status);
            }
            Command::Remove(..) => {}
        }
    }

    fn on_peer_event(&mut self, ev: PeerEvent) {
        match ev.kind {
            PeerEventKind::Message(msg) => {
                // BEP 5: a peer's DHT node is worth knowing.
                if let (Message::Port(port), Some(dht)) = (&msg, &self.dht) {
                    if let Some(addr) = self.peer_addrs.get(&ev.key) {
                        let (dht, node) = (dht.clone(), SocketAddr::new(addr.ip(), *port));
                        tokio::spawn(async move { dht.add_node(node).await });
                    }
                }
                self.core.handle_message(now(), ev.key, msg);
            }
            PeerEventKind::Sent(bytes) => self.core.handle_sent(now(), ev.key, bytes),
            PeerEventKind::Closed(end) => {
                self.links.remove(&ev.key);
                self.peer_addrs.remove(&ev.key);
                self.core.handle_closed(now(), ev.key, end);
            }
        }
    }

    fn on_connection(&mut self, conn: NewConnection) {
        let (addr, stream, theirs, encryption, direction, permit) = match conn {
            NewConnection::Outgoing {
                addr,
                result,
                permit,
            } => match result {
                Ok(d) => (
                    addr,
                    d.stream,
                    d.theirs,
                    d.encryption,
                    Direction::Outgoing,
                    permit,
                ),
                Err(e) => return self.core.handle_connect_failed(now(), addr, e),
            },
            NewConnection::Incoming {
                addr,
                stream,
                handshake,
                encryption,
                permit,
            } => (
                addr,
                stream,
                handshake,
                encryption,
                Direction::Incoming,
                permit,
            ),
        };
        // Our answer to a peer that dialled us names the info-hash it
        // speaks (a hybrid's v1 or v2 one).
        let reply = Handshake {
            info_hash: self.core.reply_info_hash(&theirs),
            ..self.our_handshake
        };
        // A refused connection is dropped here (closing it).
        if let Ok(key) = self.core.handle_connected(now(), addr, direction, &theirs) {
            self.core.set_peer_encryption(key, encryption);
            let conn = PeerConn {
                key,
                addr,
                stream,
                handshake: (direction == Direction::Incoming).then_some(reply),
                permit,
            };
            let link = peer::spawn(conn, self.peer_tx.clone(), self.timers.clone());
            self.links.insert(key, link);
            self.peer_addrs.insert(key, addr);
        }
    }

    /// Carries out every action the core has queued.
    fn execute(&mut self) {
        let mut changed = false;
        while let Some(action) = self.core.poll_action() {
            match action {
                Action::Connect(addr) => {
                    let permits = (
                        self.shared.half_open.clone().try_acquire_owned(),
                        self.shared.peers.clone().try_acquire_owned(),
                    );
                    match permits {
                        (Ok(half_open), Ok(peer)) => connect::spawn(
                            addr,
                            self.connector.clone(),
                            Handshake {
                                info_hash: self.core.dial_info_hash(addr),
                                ..self.our_handshake
                            },
                            (
                                self.cfg.encryption,
                                Limits {
                                    connect: self.cfg.connect_timeout,
                                    handshake: self.cfg.handshake_timeout,
                                },
                            ),
                            (half_open, peer),
                            self.inbox.connections_tx.clone(),
                        ),
                        // The session is at its limit: try again later.
                        _ => {
                            self.core
                                .handle_connect_failed(now(), addr, ConnectError::LimitReached)
                        }
                    }
                }
                Action::Send(key, msgs) => {
                    let sent = self.links.get(&key).is_some_and(|l| l.send(msgs));
                    if !sent && self.links.remove(&key).is_some() {
                        self.core.handle_closed(now(), key, PeerEnd::NotReading);
                    }
                }
                Action::Close(key, _) => {
                    // Dropping the link closes the connection.
                    self.links.remove(&key);
                    self.peer_addrs.remove(&key);
                }
                Action::Disk(job) => self.disk.run(job),
                Action::Announce(event) => {
                    if let Some((tx, _)) = &self.tracker {
                        if tx.try_send(event).is_err() {
                            tracing::warn!(?event, "tracker task busy; announce dropped");
                        }
                    }
                }
                Action::MetadataReceived(meta) => self.on_metadata(meta),
                Action::PieceLayersReceived(meta) => {
                    if let Ok(mut slot) = self.meta_slot.write() {
                        *slot = Some(meta);
                    }
                }
                Action::StateChanged(state) => {
                    changed = true;
                    if state == crate::stats::TorrentState::Seeding {
                        self.save_resume(true);
                    }
                }
            }
        }
        if changed {
            self.publish();
        }
        self.dht_allowed.store(
            self.core.dht_allowed(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    fn publish(&self) {
        self.stats.send_replace(self.core.stats().clone());
    }

    /// After `stop`: let the disk finish the jobs it has, flush, and let
    /// the tracker task send `stopped`.
    async fn shutdown(&mut self) {
        self.core.stop(now());
        self.execute();
        self.links.clear();
        let deadline = Instant::now() + STOP_GRACE;
        while self.core.disk_jobs_pending() > 0 {
            match tokio::time::timeout_at(deadline, self.disk_rx.recv()).await {
                Ok(Some(result)) => self.core.handle_disk(now(), result),
                _ => break,
            }
        }
        let storage = self.disk.storage.clone();
        let (id, have, mark) = (self.disk.id, self.core.have().clone(), self.resume_mark());
        let root = self.cfg.download_root.clone();
        let path = self
            .resume_path
            .clone()
            .filter(|_| mark != self.saved && self.core.is_checked());
        let _ = tokio::task::spawn_blocking(move || match path {
            Some(path) => {
                if let Err(e) = disk::save_resume_now(
                    storage.as_ref(),
                    (&path, &root),
                    id,
                    have,
                    (mark.1, mark.2),
                ) {
                    tracing::warn!(error = %e, "cannot save resume data");
                }
            }
            None => {
                let _ = storage.flush();
            }
        })
        .await;
        for task in self.dht_tasks.drain(..) {
            task.abort();
        }
        if let Some(task) = self.lsd_task.take() {
            task.abort();
        }
        if let Some((tx, task)) = self.tracker.take() {
            drop(tx);
            let _ = timeout(STOP_GRACE, task).await;
        }
        self.publish();
    }
}

/// Bytes of each file inside verified pieces.
fn file_progress(layout: &monsoon_storage::Layout, have: &monsoon_piece::Bitfield) -> Vec<u64> {
    let mut done = vec![0u64; layout.files().len()];
    for p in have.iter_ones() {
        for span in layout.spans_iter(p, 0, layout.piece_size(p)) {
            done[span.file] += u64::from(span.len);
        }
    }
    done
}

/// The tightest non-zero limit of `limits` (0: none).
fn effective(limits: &[Arc<Limiter>; 2]) -> u64 {
    limits
        .iter()
        .map(|l| l.rate())
        .filter(|&r| r > 0)
        .min()
        .unwrap_or(0)
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
