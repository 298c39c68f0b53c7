//! The torrent task: the control plane of one torrent.
//!
//! One task owns all of a torrent's download state — the picker, the peers'
//! protocol state, the blocks of pieces in progress — and reacts to events
//! from one channel: messages from peer tasks, finished connection attempts,
//! disk results, peers from the announce task and commands from the handle.
//! Nothing on the hot path takes a lock. It never awaits the network or the
//! disk: peers get commands through bounded channels (`try_send`), and disk
//! work runs on blocking threads and reports back as events.

mod choke;
mod messages;
mod peers;
mod pieces;
mod requests;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use monsoon_piece::{Bitfield, Geometry, PeerKey, Picker};
use monsoon_storage::Storage;
use monsoon_tracker::Announcer;
use monsoon_wire::{BlockRef, Handshake, Message};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::announce;
use crate::config::SessionConfig;
use crate::disk::DiskPool;
use crate::metainfo::Metainfo;
use crate::peer::BoxTransport;
use crate::stats::{Stats, TorrentState};

pub(crate) use peers::PeerState;

/// Capacity of a torrent's event channel (peers, disk, commands).
pub(crate) const EVENT_CAPACITY: usize = 1024;

/// Everything that reaches a torrent task.
pub(crate) enum TorrentEvent {
    /// A message from a connected peer.
    Peer(PeerKey, Message),
    /// A peer task ended.
    PeerClosed(PeerKey, String),
    /// An outgoing connection attempt finished (handshakes exchanged).
    Outgoing {
        addr: SocketAddr,
        result: Result<(BoxTransport, Handshake), String>,
    },
    /// An incoming connection whose handshake named this torrent.
    Incoming {
        addr: SocketAddr,
        stream: BoxTransport,
        handshake: Handshake,
    },
    /// A completed piece was hashed (and written when it matched).
    PieceChecked {
        piece: u32,
        result: Result<bool, String>,
    },
    /// A block read for upload.
    BlockRead {
        peer: PeerKey,
        req: BlockRef,
        result: Result<Bytes, String>,
    },
    /// Peer addresses (tracker, user).
    Peers(Vec<SocketAddr>),
    /// A command from the handle.
    Cmd(Command),
}

/// Commands from a [`TorrentHandle`](crate::TorrentHandle).
pub(crate) enum Command {
    Pause,
    Resume,
    Remove(oneshot::Sender<()>),
}

/// What a torrent task starts from.
pub(crate) struct TorrentInit {
    pub(crate) meta: Arc<Metainfo>,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) cfg: Arc<SessionConfig>,
    pub(crate) peer_id: [u8; 20],
    pub(crate) listen_port: u16,
    pub(crate) piece_priorities: Vec<u8>,
    pub(crate) sequential: bool,
    pub(crate) peers: Vec<SocketAddr>,
    pub(crate) announcer: Option<Box<dyn Announcer>>,
    pub(crate) paused: bool,
    pub(crate) seed: u64,
    pub(crate) disk: Arc<DiskPool>,
}

pub(crate) struct Torrent {
    meta: Arc<Metainfo>,
    geometry: Geometry,
    picker: Picker,
    storage: Arc<dyn Storage>,
    disk: Arc<DiskPool>,
    cfg: Arc<SessionConfig>,
    peer_id: [u8; 20],
    listen_port: u16,
    priorities: Vec<u8>,
    events: mpsc::Sender<TorrentEvent>,
    peers: HashMap<PeerKey, PeerState>,
    next_key: PeerKey,
    known: VecDeque<SocketAddr>,
    known_set: HashSet<SocketAddr>,
    retry_after: HashMap<SocketAddr, Instant>,
    connecting: usize,
    banned_addrs: HashSet<SocketAddr>,
    banned_ids: HashSet<[u8; 20]>,
    strikes: HashMap<SocketAddr, u32>,
    key_addrs: HashMap<PeerKey, (SocketAddr, [u8; 20])>,
    in_progress: HashMap<u32, Vec<Option<Bytes>>>,
    pending_disk_bytes: u64,
    stats: Stats,
    stats_tx: watch::Sender<Stats>,
    paused: bool,
    stopping: Option<oneshot::Sender<()>>,
    announce_stop: Option<watch::Sender<bool>>,
    announce_task: Option<tokio::task::JoinHandle<()>>,
    ticks: u64,
    optimistic: Option<PeerKey>,
}

impl Torrent {
    pub(crate) fn new(
        init: TorrentInit,
        events: mpsc::Sender<TorrentEvent>,
        stats_tx: watch::Sender<Stats>,
    ) -> Result<Self, monsoon_piece::PieceError> {
        let geometry = Geometry::new(init.meta.total_length, init.meta.piece_length)?;
        let mut picker = Picker::new(geometry, init.seed);
        picker.set_priorities(&init.piece_priorities);
        picker.set_sequential(init.sequential);
        let mut stats = Stats::new(init.meta.total_length, geometry.piece_count());
        stats.wanted_bytes = (0..geometry.piece_count())
            .filter(|&p| init.piece_priorities[p as usize] > 0)
            .map(|p| u64::from(geometry.piece_size(p)))
            .sum();
        let mut t = Self {
            meta: init.meta,
            geometry,
            picker,
            storage: init.storage,
            disk: init.disk,
            cfg: init.cfg,
            peer_id: init.peer_id,
            listen_port: init.listen_port,
            priorities: init.piece_priorities,
            events,
            peers: HashMap::new(),
            next_key: 0,
            known: VecDeque::new(),
            known_set: HashSet::new(),
            retry_after: HashMap::new(),
            connecting: 0,
            banned_addrs: HashSet::new(),
            banned_ids: HashSet::new(),
            strikes: HashMap::new(),
            key_addrs: HashMap::new(),
            in_progress: HashMap::new(),
            pending_disk_bytes: 0,
            stats,
            stats_tx,
            paused: init.paused,
            stopping: None,
            announce_stop: None,
            announce_task: None,
            ticks: 0,
            optimistic: None,
        };
        t.add_peers(init.peers);
        if let Some(announcer) = init.announcer {
            let (stop_tx, stop_rx) = watch::channel(false);
            let task = announce::spawn(
                announcer,
                announce::Params {
                    info_hash: t.meta.info_hash,
                    peer_id: t.peer_id,
                    port: t.listen_port,
                    max_interval: t.cfg.max_announce_interval,
                },
                t.stats_tx.subscribe(),
                t.events.clone(),
                stop_rx,
            );
            t.announce_stop = Some(stop_tx);
            t.announce_task = Some(task);
        }
        Ok(t)
    }

    /// Runs the torrent until it is removed.
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<TorrentEvent>) {
        if let Err(e) = self.check_existing().await {
            self.fail(e);
        }
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while self.stopping.is_none() {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ev) => self.on_event(ev),
                    None => break,
                },
                _ = tick.tick() => self.on_tick(),
            }
        }
        self.shutdown().await;
    }

    /// Resume: hash what is already on disk and start from it.
    async fn check_existing(&mut self) -> Result<(), String> {
        self.publish();
        let storage = self.storage.clone();
        let hashes = self.meta.pieces.clone();
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        let present = tokio::task::spawn_blocking(move || {
            monsoon_storage::recheck(storage.as_ref(), &hashes, threads)
        })
        .await
        .map_err(|e| format!("recheck: {e}"))?
        .map_err(|e| format!("recheck: {e}"))?;
        let mut have = Bitfield::new(self.geometry.piece_count());
        for (i, ok) in present.iter().enumerate() {
            if *ok {
                have.set(i as u32, true);
            }
        }
        let found = have.count_ones();
        self.picker.set_have(&have);
        if found > 0 {
            info!(pieces = found, "resuming with pieces already on disk");
        }
        self.recount_done();
        self.stats.state = if self.paused {
            TorrentState::Paused
        } else if self.picker.is_complete() {
            TorrentState::Seeding
        } else {
            TorrentState::Downloading
        };
        self.publish();
        Ok(())
    }

    fn on_event(&mut self, ev: TorrentEvent) {
        match ev {
            TorrentEvent::Peer(key, msg) => self.on_message(key, msg),
            TorrentEvent::PeerClosed(key, reason) => self.on_peer_closed(key, &reason),
            TorrentEvent::Outgoing { addr, result } => {
                self.connecting = self.connecting.saturating_sub(1);
                match result {
                    Ok((stream, hs)) => self.on_connected(addr, stream, hs, false),
                    Err(e) => {
                        tracing::debug!(%addr, error = %e, "connect failed");
                        self.forget_for_a_while(addr);
                    }
                }
            }
            TorrentEvent::Incoming {
                addr,
                stream,
                handshake,
            } => self.on_connected(addr, stream, handshake, true),
            TorrentEvent::PieceChecked { piece, result } => self.on_piece_checked(piece, result),
            TorrentEvent::BlockRead { peer, req, result } => self.on_block_read(peer, req, result),
            TorrentEvent::Peers(addrs) => {
                self.add_peers(addrs);
                self.connect_more();
            }
            TorrentEvent::Cmd(cmd) => self.on_command(cmd),
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Pause => {
                self.paused = true;
                let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
                for key in keys {
                    self.drop_peer(key, "paused");
                }
                self.stats.state = TorrentState::Paused;
                self.publish();
            }
            Command::Resume => {
                self.paused = false;
                self.stats.state = if self.picker.is_complete() {
                    TorrentState::Seeding
                } else {
                    TorrentState::Downloading
                };
                self.retry_after.clear();
                self.connect_more();
                self.publish();
            }
            Command::Remove(ack) => self.stopping = Some(ack),
        }
    }

    fn on_tick(&mut self) {
        self.ticks += 1;
        self.update_rates();
        self.check_snubs();
        let choke_every = self.cfg.choke_interval.as_secs().max(1);
        if self.ticks % choke_every == 0 {
            let rotate = self.ticks % self.cfg.optimistic_interval.as_secs().max(1) < choke_every;
            self.rechoke(rotate);
        }
        if !self.paused {
            self.connect_more();
            let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
            for key in keys {
                self.fill_requests(key);
            }
        }
        self.publish();
    }

    fn fail(&mut self, error: String) {
        warn!(%error, "torrent failed");
        self.stats.state = TorrentState::Error;
        self.stats.error = Some(error);
        self.paused = true;
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.drop_peer(key, "torrent failed");
        }
        self.publish();
    }

    fn publish(&mut self) {
        self.stats.peers = self.peers.len();
        self.stats.known_peers = self.known.len();
        self.stats.banned_peers = self.banned_addrs.len();
        self.stats.pieces_done = self.picker.have().count_ones();
        self.stats_tx.send_replace(self.stats.clone());
    }

    fn recount_done(&mut self) {
        let have = self.picker.have();
        self.stats.done_bytes = have
            .iter_ones()
            .filter(|&p| self.priorities[p as usize] > 0)
            .map(|p| u64::from(self.geometry.piece_size(p)))
            .sum();
    }

    async fn shutdown(&mut self) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.drop_peer(key, "torrent removed");
        }
        if let Some(stop) = self.announce_stop.take() {
            let _ = stop.send(true);
        }
        if let Some(task) = self.announce_task.take() {
            // The announce task sends `stopped` with its own timeout.
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        let storage = self.storage.clone();
        let _ = tokio::task::spawn_blocking(move || storage.flush()).await;
        if self.stats.state != TorrentState::Error {
            self.stats.state = TorrentState::Stopped;
        }
        self.publish();
        if let Some(ack) = self.stopping.take() {
            let _ = ack.send(());
        }
    }
}
