//! The local-network side of a torrent: a task that has the session's
//! local service discovery announce the torrent while it may (public and
//! active, as for the DHT) and hands the peers found to the torrent task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use monsoon_tracker::Lsd;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{Instrument, debug, info_span};

/// How often the task looks at whether the torrent may be announced.
const RECHECK: Duration = Duration::from_secs(2);

pub(crate) fn spawn(
    lsd: Lsd,
    info_hash: [u8; 20],
    allowed: Arc<AtomicBool>,
    out: mpsc::Sender<Vec<SocketAddr>>,
) -> JoinHandle<()> {
    let task = async move {
        let mut registered = None;
        loop {
            let may = allowed.load(Ordering::Relaxed);
            if may && registered.is_none() {
                registered = lsd.register(info_hash).await;
            } else if !may {
                // Dropping the registration stops the announces.
                registered = None;
            }
            let found = async {
                match registered.as_mut() {
                    Some(peers) => peers.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                peer = found => match peer {
                    Some(peer) => {
                        debug!(%peer, "peer from local service discovery");
                        if out.send(vec![peer]).await.is_err() {
                            return;
                        }
                    }
                    // The service stopped.
                    None => registered = None,
                },
                () = tokio::time::sleep(RECHECK) => {}
                () = out.closed() => return,
            }
        }
    };
    tokio::spawn(task.instrument(info_span!("lsd")))
}
