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
pub(crate) mod disk;
pub(crate) mod peer;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use monsoon_piece::PeerKey;
use monsoon_tracker::Event;
use monsoon_wire::Handshake;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};

use crate::config::SessionConfig;
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
    /// Stop, then acknowledge.
    Remove(oneshot::Sender<()>),
}

/// A connection for the torrent, handshakes done (or failed).
pub(crate) enum NewConnection {
    /// A dial the core asked for (with its share of the session's
    /// connection budget).
    Outgoing {
        addr: SocketAddr,
        result: Result<(BoxTransport, Handshake), ConnectError>,
        permit: Option<OwnedSemaphorePermit>,
    },
    /// A peer that dialled us; its handshake named this torrent.
    Incoming {
        addr: SocketAddr,
        stream: BoxTransport,
        handshake: Handshake,
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
    pub(crate) shared: Shared,
    /// This torrent's own rate limits (0: none).
    pub(crate) upload_limit: u64,
    pub(crate) download_limit: u64,
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
}

impl TorrentTask {
    pub(crate) fn new(core: TorrentCore, inbox: Inbox, wiring: Wiring) -> Self {
        let (peer_tx, peer_rx) = mpsc::channel(PEER_EVENTS);
        let (disk_tx, disk_rx) = mpsc::channel(DISK_RESULTS);
        let disk = TorrentDisk {
            pool: wiring.disk_pool,
            storage: wiring.storage,
            hashes: Arc::new(core.metainfo().pieces.clone()),
            cache: wiring.shared.read_cache.clone(),
            id: core.metainfo().info_hash,
            results: disk_tx,
        };
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
                );
                (Some((events_tx, task)), Some(peers_rx))
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
        }
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
                    Some(Command::Remove(ack)) => break Some(ack),
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
                Some(addrs) = recv_opt(&mut self.tracker_rx) => {
                    self.core.add_peers(now(), &addrs, PeerSource::Tracker);
                }
                _ = sleep_until(deadline.map_or_else(far_future, Instant::from_std)) => {
                    self.core.handle_timeout(now());
                    self.publish();
                }
            }
            self.execute();
        };
        self.shutdown().await;
        if let Some(ack) = ack {
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
            Command::Remove(_) => {}
        }
    }

    fn on_peer_event(&mut self, ev: PeerEvent) {
        match ev.kind {
            PeerEventKind::Message(msg) => self.core.handle_message(now(), ev.key, msg),
            PeerEventKind::Sent(bytes) => self.core.handle_sent(now(), ev.key, bytes),
            PeerEventKind::Closed(end) => {
                self.links.remove(&ev.key);
                self.core.handle_closed(now(), ev.key, end);
            }
        }
    }

    fn on_connection(&mut self, conn: NewConnection) {
        let (addr, stream, theirs, direction, permit) = match conn {
            NewConnection::Outgoing {
                addr,
                result,
                permit,
            } => match result {
                Ok((stream, hs)) => (addr, stream, hs, Direction::Outgoing, permit),
                Err(e) => return self.core.handle_connect_failed(now(), addr, e),
            },
            NewConnection::Incoming {
                addr,
                stream,
                handshake,
                permit,
            } => (addr, stream, handshake, Direction::Incoming, permit),
        };
        // A refused connection is dropped here (closing it).
        if let Ok(key) = self.core.handle_connected(now(), addr, direction, &theirs) {
            let conn = PeerConn {
                key,
                addr,
                stream,
                handshake: (direction == Direction::Incoming).then_some(self.our_handshake),
                permit,
            };
            let link = peer::spawn(conn, self.peer_tx.clone(), self.timers.clone());
            self.links.insert(key, link);
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
                            self.our_handshake,
                            (self.cfg.connect_timeout, self.cfg.handshake_timeout),
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
                }
                Action::Disk(job) => self.disk.run(job),
                Action::Announce(event) => {
                    if let Some((tx, _)) = &self.tracker {
                        if tx.try_send(event).is_err() {
                            tracing::warn!(?event, "tracker task busy; announce dropped");
                        }
                    }
                }
                Action::StateChanged(_) => changed = true,
            }
        }
        if changed {
            self.publish();
        }
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
        let _ = tokio::task::spawn_blocking(move || storage.flush()).await;
        if let Some((tx, task)) = self.tracker.take() {
            drop(tx);
            let _ = timeout(STOP_GRACE, task).await;
        }
        self.publish();
    }
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
