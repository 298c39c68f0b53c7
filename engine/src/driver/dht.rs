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

/// A lookup that found nobody is tried again after this long, the first
/// [`QUICK_RETRIES`] times (a new torrent's first lookups often come before
/// the DHT knows its peers: the swarm's announces, our own bootstrap), then
/// after twice as long each time it finds nobody again, up to the announce
/// interval.
const RETRY_EMPTY: Duration = Duration::from_secs(5);
const QUICK_RETRIES: u32 = 6;
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
            let wait = next_lookup(empty, every);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = out.closed() => return,
            }
        }
    };
    tokio::spawn(task.instrument(info_span!("dht")))
}

/// How long to wait before the next lookup after `empty` lookups in a row
/// found nobody (0: the last one found someone).
fn next_lookup(empty: u32, every: Duration) -> Duration {
    if empty == 0 {
        return every;
    }
    let doublings = empty.saturating_sub(QUICK_RETRIES).min(10);
    RETRY_EMPTY.saturating_mul(1 << doublings).min(every)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_that_find_nobody_are_retried_quickly_then_less_often() {
        let every = Duration::from_secs(15 * 60);
        let waits: Vec<u64> = (1..=12).map(|n| next_lookup(n, every).as_secs()).collect();
        assert_eq!(waits, [5, 5, 5, 5, 5, 5, 10, 20, 40, 80, 160, 320]);
        assert_eq!(next_lookup(40, every), every);
        assert_eq!(next_lookup(0, every), every);
        // Never more often than the interval asks, when it is short.
        assert_eq!(
            next_lookup(1, Duration::from_secs(2)),
            Duration::from_secs(2)
        );
    }
}
