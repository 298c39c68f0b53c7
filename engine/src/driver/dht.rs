//! The DHT side of a torrent: a task that announces the torrent on the
//! session's DHT node and looks for peers on start and every
//! `announce_interval` (sooner while it finds nobody), handing what it
//! finds to the torrent task. It does nothing while the torrent may not
//! use the DHT (private, paused, stopped).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use monsoon_dht::Dht;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{Instrument, debug, info_span};

/// A lookup that found nobody is tried again after this long, doubling
/// each time it finds nobody again (up to the announce interval).
const RETRY_EMPTY: Duration = Duration::from_secs(5);
/// Addresses handed over at once.
const BATCH: usize = 32;

pub(crate) fn spawn(
    dht: Dht,
    info_hash: [u8; 20],
    port: u16,
    every: Duration,
    allowed: Arc<AtomicBool>,
    out: mpsc::Sender<Vec<SocketAddr>>,
) -> JoinHandle<()> {
    let task = async move {
        let mut empty = 0u32;
        loop {
            let mut found = 0;
            if allowed.load(Ordering::Relaxed) {
                if let Ok(mut search) = dht.announce(info_hash, Some(port)).await {
                    let mut batch = Vec::new();
                    while let Some(addr) = search.next().await {
                        found += 1;
                        batch.push(addr);
                        if batch.len() >= BATCH
                            && out.send(std::mem::take(&mut batch)).await.is_err()
                        {
                            return;
                        }
                    }
                    if !batch.is_empty() && out.send(batch).await.is_err() {
                        return;
                    }
                }
                debug!(found, "DHT lookup done");
            }
            empty = if found == 0 {
                empty.saturating_add(1)
            } else {
                0
            };
            let wait = if empty > 0 {
                RETRY_EMPTY
                    .saturating_mul(1 << (empty - 1).min(10))
                    .min(every)
            } else {
                every
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = out.closed() => return,
            }
        }
    };
    tokio::spawn(task.instrument(info_span!("dht")))
}
