//! The handle a library user holds for one torrent.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};

use crate::error::EngineError;
use crate::stats::{Stats, TorrentState};
use crate::torrent::{Command, TorrentEvent};

pub(crate) type Registry = Arc<Mutex<HashMap<[u8; 20], mpsc::Sender<TorrentEvent>>>>;

/// A torrent in a [`Session`](crate::Session): watch its progress, pause,
/// resume, add peers, remove it, or wait until it completes.
#[derive(Debug, Clone)]
pub struct TorrentHandle {
    pub(crate) info_hash: [u8; 20],
    pub(crate) tx: mpsc::Sender<TorrentEvent>,
    pub(crate) stats: watch::Receiver<Stats>,
    pub(crate) registry: Registry,
}

impl TorrentHandle {
    /// The torrent's info-hash.
    pub fn info_hash(&self) -> [u8; 20] {
        self.info_hash
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
        self.tx
            .send(TorrentEvent::Cmd(cmd))
            .await
            .map_err(|_| EngineError::Stopped)
    }

    /// Disconnects every peer and stops requesting until [`resume`](Self::resume).
    pub async fn pause(&self) -> Result<(), EngineError> {
        self.command(Command::Pause).await
    }

    /// Starts connecting and requesting again.
    pub async fn resume(&self) -> Result<(), EngineError> {
        self.command(Command::Resume).await
    }

    /// Adds peer addresses to connect to (as `--peer` does).
    pub async fn add_peers(&self, peers: Vec<SocketAddr>) -> Result<(), EngineError> {
        self.tx
            .send(TorrentEvent::Peers(peers))
            .await
            .map_err(|_| EngineError::Stopped)
    }

    /// Stops the torrent: closes its peers, announces `stopped`, flushes its
    /// files, and removes it from the session. Returns when that is done.
    pub async fn remove(&self) -> Result<(), EngineError> {
        let (ack, done) = oneshot::channel();
        self.command(Command::Remove(ack)).await?;
        let _ = done.await;
        if let Ok(mut reg) = self.registry.lock() {
            reg.remove(&self.info_hash);
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
                        return Err(EngineError::Failed(
                            s.error.clone().unwrap_or_else(|| "unknown error".into()),
                        ));
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
