//! The handle a library user holds for one torrent, and the session's
//! registry of torrents it looks handles and incoming connections up in.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};

use crate::driver::{Command, NewConnection};
use crate::error::EngineError;
use crate::stats::{Stats, TorrentState};
use crate::torrent::SeedLimits;

/// What the session knows of a running torrent.
#[derive(Clone)]
pub(crate) struct Registered {
    /// The torrent's info-hash (a hybrid is registered under its truncated
    /// v2 info-hash as well, with the same entry).
    pub(crate) info_hash: [u8; 20],
    pub(crate) meta: crate::session::MetaSlot,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) connections: mpsc::Sender<NewConnection>,
    pub(crate) stats: watch::Receiver<Stats>,
}

/// The session's torrents by info-hash (one entry per torrent, two for a
/// hybrid, removed with it).
pub(crate) type Registry = Arc<Mutex<HashMap<[u8; 20], Registered>>>;

/// A torrent in a [`Session`](crate::Session): watch its progress, pause,
/// resume, add peers, choose files, remove it, or wait until it completes.
#[derive(Debug, Clone)]
pub struct TorrentHandle {
    pub(crate) info_hash: [u8; 20],
    pub(crate) meta: crate::session::MetaSlot,
    pub(crate) tx: mpsc::Sender<Command>,
    pub(crate) stats: watch::Receiver<Stats>,
    pub(crate) registry: Registry,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registered")
    }
}

impl TorrentHandle {
    pub(crate) fn new(info_hash: [u8; 20], reg: &Registered, registry: Registry) -> Self {
        Self {
            info_hash,
            meta: reg.meta.clone(),
            tx: reg.commands.clone(),
            stats: reg.stats.clone(),
            registry,
        }
    }

    /// The torrent's info-hash.
    pub fn info_hash(&self) -> [u8; 20] {
        self.info_hash
    }

    /// The torrent's metainfo (`None` while a magnet link's metadata is
    /// being fetched).
    pub fn metainfo(&self) -> Option<Arc<crate::Metainfo>> {
        self.meta.read().ok().and_then(|m| m.clone())
    }

    /// The latest progress snapshot.
    pub fn stats(&self) -> Stats {
        self.stats.borrow().clone()
    }

    /// A stream of progress snapshots (updated about once a second and on
    /// every state change).
    pub fn subscribe(&self) -> watch::Receiver<Stats> {
        self.stats.clone()
    }

    async fn command(&self, cmd: Command) -> Result<(), EngineError> {
        self.tx.send(cmd).await.map_err(|_| EngineError::Stopped)
    }

    /// Disconnects every peer and stops requesting until [`resume`](Self::resume).
    pub async fn pause(&self) -> Result<(), EngineError> {
        self.command(Command::Pause).await
    }

    /// Starts again after [`pause`](Self::pause), or retries after an error.
    pub async fn resume(&self) -> Result<(), EngineError> {
        self.command(Command::Resume).await
    }

    /// Adds peer addresses to connect to (as `--peer` does); they are
    /// retried until they answer.
    pub async fn add_peers(&self, peers: Vec<SocketAddr>) -> Result<(), EngineError> {
        self.command(Command::AddPeers(peers)).await
    }

    /// Chooses which files to download: one priority per file, in metainfo
    /// order (0 = skip, higher = sooner). A seeding torrent that now wants
    /// more goes back to downloading.
    pub async fn set_file_priorities(&self, priorities: Vec<u8>) -> Result<(), EngineError> {
        let (reply, answer) = oneshot::channel();
        self.command(Command::SetFilePriorities(priorities, reply))
            .await?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// Sets this torrent's rate limits, payload bytes per second (0: none);
    /// the session's limits apply too.
    pub async fn set_rate_limits(&self, upload: u64, download: u64) -> Result<(), EngineError> {
        self.command(Command::SetRateLimits { upload, download })
            .await
    }

    /// Which pieces are verified on disk (one bit per piece).
    pub async fn pieces(&self) -> Result<monsoon_piece::Bitfield, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.command(Command::Pieces(reply)).await?;
        answer.await.map_err(|_| EngineError::Stopped)
    }

    /// Sets when to stop seeding.
    pub async fn set_seed_limits(&self, limits: SeedLimits) -> Result<(), EngineError> {
        self.command(Command::SetSeedLimits(limits)).await
    }

    /// The connected peers.
    pub async fn peers(&self) -> Result<Vec<crate::torrent::PeerInfo>, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.command(Command::Peers(reply)).await?;
        answer.await.map_err(|_| EngineError::Stopped)
    }

    /// Bytes of each file (metainfo order) verified on disk.
    pub async fn file_progress(&self) -> Result<Vec<u64>, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.command(Command::FileProgress(reply)).await?;
        answer.await.map_err(|_| EngineError::Stopped)
    }

    /// How announcing to the trackers goes.
    pub async fn tracker_status(&self) -> Result<crate::TrackerStatus, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.command(Command::Trackers(reply)).await?;
        answer.await.map_err(|_| EngineError::Stopped)
    }

    /// Hashes every piece on disk again (peers are dropped while it runs).
    pub async fn recheck(&self) -> Result<(), EngineError> {
        self.command(Command::Recheck).await
    }

    /// Stops the torrent: closes its peers, announces `stopped`, flushes its
    /// files, and removes it from the session. Returns when that is done.
    pub async fn remove(&self) -> Result<(), EngineError> {
        self.remove_with(false).await
    }

    /// [`remove`](Self::remove), then deletes its files (never through a
    /// symlink; folders left empty go too) and its resume file.
    pub async fn remove_and_delete(&self) -> Result<(), EngineError> {
        self.remove_with(true).await
    }

    async fn remove_with(&self, delete: bool) -> Result<(), EngineError> {
        let (ack, done) = oneshot::channel();
        self.command(Command::Remove(ack, delete)).await?;
        let _ = done.await;
        if let Ok(mut reg) = self.registry.lock() {
            reg.retain(|_, r| r.info_hash != self.info_hash);
        }
        Ok(())
    }

    /// Waits until every wanted piece is verified on disk. Fails if the
    /// torrent fails or is stopped first.
    pub async fn wait_complete(&self) -> Result<(), EngineError> {
        let mut rx = self.stats.clone();
        loop {
            {
                let s = rx.borrow_and_update();
                match s.state {
                    TorrentState::Seeding => return Ok(()),
                    TorrentState::Error => {
                        return Err(match &s.error {
                            Some(e) => EngineError::Torrent(e.clone()),
                            None => EngineError::Stopped,
                        });
                    }
                    TorrentState::Stopped => return Err(EngineError::Stopped),
                    _ => {}
                }
            }
            if rx.changed().await.is_err() {
                return Err(EngineError::Stopped);
            }
        }
    }
}
