//! The announce task: drives the tracker client (behind the `Announcer`
//! trait) for one torrent — `started`, re-announces on the tracker's
//! interval, `completed` when the download finishes, `stopped` at the end.

use std::time::Duration;

use monsoon_tracker::{AnnounceRequest, Announcer, Event};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};
use tracing::{Instrument, debug, info_span, warn};

use crate::stats::{Stats, TorrentState};
use crate::torrent::TorrentEvent;

/// Fixed parts of every announce.
pub(crate) struct Params {
    pub(crate) info_hash: [u8; 20],
    pub(crate) peer_id: [u8; 20],
    pub(crate) port: u16,
    pub(crate) max_interval: Duration,
}

/// Shortest wait between announces, whatever the tracker says.
const MIN_INTERVAL: Duration = Duration::from_secs(30);
/// First retry delay after a failed announce; doubles up to `max_interval`.
const RETRY_BASE: Duration = Duration::from_secs(15);
/// How long the final `stopped` may take.
const STOPPED_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn spawn(
    announcer: Box<dyn Announcer>,
    params: Params,
    progress: watch::Receiver<Stats>,
    events: mpsc::Sender<TorrentEvent>,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let span = info_span!("announce");
    tokio::spawn(run(announcer, params, progress, events, stop).instrument(span))
}

fn request(params: &Params, key: u32, stats: &Stats, event: Event) -> AnnounceRequest {
    AnnounceRequest {
        info_hash: params.info_hash,
        peer_id: params.peer_id,
        port: params.port,
        uploaded: stats.uploaded,
        downloaded: stats.downloaded,
        left: stats.wanted_bytes.saturating_sub(stats.done_bytes),
        event,
        numwant: Some(200),
        key,
        compact: true,
        tracker_id: None,
        ip: None,
    }
}

async fn run(
    mut announcer: Box<dyn Announcer>,
    params: Params,
    mut progress: watch::Receiver<Stats>,
    events: mpsc::Sender<TorrentEvent>,
    mut stop: watch::Receiver<bool>,
) {
    let key = u32::from_le_bytes([
        params.peer_id[16],
        params.peer_id[17],
        params.peer_id[18],
        params.peer_id[19],
    ]);
    // Wait for the resume check, so that `left` is right in `started`.
    while progress.borrow().state == TorrentState::Checking {
        if progress.changed().await.is_err() {
            return;
        }
    }
    let mut event = Event::Started;
    let mut completed_sent = progress.borrow().is_complete();
    let mut announced = false;
    let mut failures = 0u32;
    loop {
        let req = request(&params, key, &progress.borrow(), event);
        let result = if matches!(event, Event::Completed) {
            // `completed` is worth finishing even when a stop is on its way.
            match timeout(STOPPED_TIMEOUT, announcer.announce(&req)).await {
                Ok(r) => r,
                Err(_) => {
                    event = Event::None;
                    continue;
                }
            }
        } else {
            tokio::select! {
                r = announcer.announce(&req) => r,
                _ = stop.changed() => break,
            }
        };
        let wait = match result {
            Ok(resp) => {
                announced = true;
                failures = 0;
                event = Event::None;
                debug!(peers = resp.peers.len(), interval = ?resp.interval, "announced");
                if !resp.peers.is_empty()
                    && events.send(TorrentEvent::Peers(resp.peers)).await.is_err()
                {
                    return;
                }
                let min = resp.min_interval.unwrap_or(MIN_INTERVAL).max(MIN_INTERVAL);
                resp.interval.clamp(min, params.max_interval.max(min))
            }
            Err(e) => {
                warn!(error = %e, "announce failed");
                failures = failures.saturating_add(1);
                (RETRY_BASE * 2u32.saturating_pow(failures.min(10) - 1)).min(params.max_interval)
            }
        };
        let deadline = Instant::now() + wait;
        loop {
            tokio::select! {
                _ = sleep_until(deadline) => break,
                changed = progress.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if !completed_sent && progress.borrow().is_complete() {
                        completed_sent = true;
                        event = Event::Completed;
                        break;
                    }
                }
                _ = stop.changed() => {
                    if announced {
                        let req = request(&params, key, &progress.borrow(), Event::Stopped);
                        let _ = timeout(STOPPED_TIMEOUT, announcer.announce(&req)).await;
                    }
                    return;
                }
            }
        }
    }
    if announced {
        let req = request(&params, key, &progress.borrow(), Event::Stopped);
        let _ = timeout(STOPPED_TIMEOUT, announcer.announce(&req)).await;
    }
}
