//! The Tracker Manager: one task per torrent drives the tracker client
//! (behind the [`Announcer`] trait). The core says when the torrent starts,
//! completes and stops ([`Event`]s); this task sends those announces,
//! re-announces on the tracker's interval in between (retrying failures
//! with a growing delay), and hands the peers it learns back.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::time::SystemTime;

use monsoon_tracker::{AnnounceRequest, AnnounceResponse, Announcer, Event, TrackerError};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};
use tracing::{Instrument, debug, info_span, warn};

use crate::stats::Stats;

/// Fixed parts of every announce.
pub(crate) struct Params {
    pub(crate) info_hash: [u8; 20],
    /// A hybrid torrent's truncated v2 info-hash: every announce is sent
    /// for it too (as libtorrent does), so v2 peers that look it up find
    /// us, and we them.
    pub(crate) also: Option<[u8; 20]>,
    pub(crate) peer_id: [u8; 20],
    pub(crate) port: u16,
    pub(crate) max_interval: Duration,
}

/// What the tracker task reports: peer addresses, and whether they came
/// from the announce of a hybrid's v2 info-hash (v2 peers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrackerPeers {
    pub(crate) addrs: Vec<SocketAddr>,
    pub(crate) v2: bool,
}

/// Shortest wait between announces, whatever the tracker says.
const MIN_INTERVAL: Duration = Duration::from_secs(30);
/// First retry delay after a failed announce; doubles up to `max_interval`.
const RETRY_BASE: Duration = Duration::from_secs(15);
/// How long a `stopped` or `completed` announce may take.
const FINAL_TIMEOUT: Duration = Duration::from_secs(5);
/// Events the core may queue for the task (a handful per lifecycle change).
pub(crate) const EVENT_QUEUE: usize = 32;

/// Starts the task. It ends when `events` closes (after announcing
/// `stopped` if the core asked for it first).
pub(crate) fn spawn(
    announcer: Box<dyn Announcer>,
    params: Params,
    progress: watch::Receiver<Stats>,
    events: mpsc::Receiver<Event>,
    peers: mpsc::Sender<TrackerPeers>,
    status: Arc<Mutex<TrackerStatus>>,
) -> JoinHandle<()> {
    let task = Task {
        announcer,
        params,
        progress,
        peers,
        key: 0,
        status,
    };
    tokio::spawn(task.run(events).instrument(info_span!("announce")))
}

struct Task {
    announcer: Box<dyn Announcer>,
    params: Params,
    progress: watch::Receiver<Stats>,
    peers: mpsc::Sender<TrackerPeers>,
    key: u32,
    status: Arc<Mutex<TrackerStatus>>,
}

/// How announcing goes, for user interfaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackerStatus {
    /// When the last announce was answered or failed.
    pub last_announce: Option<SystemTime>,
    /// When the next regular announce is due (while started).
    pub next_announce: Option<SystemTime>,
    /// Why the last announce failed (`None` after a success).
    pub last_error: Option<String>,
    /// The tracker's warning, if its last answer had one.
    pub warning: Option<String>,
    /// Seeders and leechers the tracker counted in its last answer.
    pub seeders: Option<u32>,
    /// See `seeders`.
    pub leechers: Option<u32>,
    /// Peer addresses received, all announces together.
    pub peers_received: u64,
    /// Announces answered.
    pub announces: u64,
}

impl Task {
    fn note(&self, f: impl FnOnce(&mut TrackerStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    async fn run(mut self, mut events: mpsc::Receiver<Event>) {
        let id = self.params.peer_id;
        self.key = u32::from_le_bytes([id[16], id[17], id[18], id[19]]);
        // Between `started` and `stopped` (as the core said).
        let mut started = false;
        // The next regular announce, while started.
        let mut next: Option<Instant> = None;
        // The tracker answered since `started` (until then, every regular
        // announce is a `started` again).
        let mut greeted = false;
        let mut queued: Option<Event> = None;
        let mut failures = 0u32;
        loop {
            let event = match queued.take() {
                Some(e) => e,
                None => tokio::select! {
                    e = events.recv() => match e {
                        Some(e) => e,
                        None => return,
                    },
                    _ = sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => Event::None,
                },
            };
            let event = match event {
                Event::Stopped => {
                    if started && greeted {
                        self.announce_final(Event::Stopped).await;
                    }
                    (started, greeted, next) = (false, false, None);
                    self.note(|s| s.next_announce = None);
                    continue;
                }
                Event::Started => {
                    (started, greeted) = (true, false);
                    Event::Started
                }
                _ if !started => continue,
                Event::None if !greeted => Event::Started,
                e => e,
            };
            let req = self.request(event);
            let result = if event == Event::Completed {
                // Worth finishing even when a stop is on its way.
                match timeout(FINAL_TIMEOUT, self.announce_all(&req)).await {
                    Ok(r) => r,
                    Err(_) => {
                        next = Some(Instant::now());
                        continue;
                    }
                }
            } else {
                tokio::select! {
                    r = self.announce_all(&req) => r,
                    e = events.recv() => match e {
                        // Interrupted: a `stopped` needs no announce if the
                        // tracker never heard us; anything else goes next.
                        Some(e) => {
                            queued = Some(e);
                            next = Some(Instant::now());
                            continue;
                        }
                        None => return,
                    },
                }
            };
            let wait = match result {
                Ok((resp, v2_peers)) => {
                    greeted = true;
                    failures = 0;
                    self.note(|s| {
                        s.last_announce = Some(SystemTime::now());
                        s.last_error = None;
                        s.warning.clone_from(&resp.warning);
                        s.seeders = resp.complete;
                        s.leechers = resp.incomplete;
                        s.peers_received += (resp.peers.len() + v2_peers.len()) as u64;
                        s.announces += 1;
                    });
                    debug!(peers = resp.peers.len(), interval = ?resp.interval, "announced");
                    // The v2 peers first: a peer in both lists is dialled
                    // as a v2 peer.
                    for (addrs, v2) in [(v2_peers, true), (resp.peers, false)] {
                        if !addrs.is_empty()
                            && self.peers.send(TrackerPeers { addrs, v2 }).await.is_err()
                        {
                            return;
                        }
                    }
                    let min = resp.min_interval.unwrap_or(MIN_INTERVAL).max(MIN_INTERVAL);
                    resp.interval.clamp(min, self.params.max_interval.max(min))
                }
                Err(e) => {
                    warn!(error = %e, "announce failed");
                    self.note(|s| {
                        s.last_announce = Some(SystemTime::now());
                        s.last_error = Some(e.to_string());
                    });
                    failures = failures.saturating_add(1);
                    (RETRY_BASE * 2u32.saturating_pow(failures.min(10) - 1))
                        .min(self.params.max_interval)
                }
            };
            next = Some(Instant::now() + wait);
            self.note(|s| s.next_announce = Some(SystemTime::now() + wait));
        }
    }

    async fn announce_final(&mut self, event: Event) {
        let req = self.request(event);
        let _ = timeout(FINAL_TIMEOUT, self.announce_all(&req)).await;
    }

    /// Announces `req`, then the same for the v2 info-hash of a hybrid:
    /// the first answer's figures (the second's if the first failed) with
    /// the peers of the first, and the peers of the second.
    async fn announce_all(
        &mut self,
        req: &AnnounceRequest,
    ) -> Result<(AnnounceResponse, Vec<SocketAddr>), TrackerError> {
        let first = self.announcer.announce(req).await;
        let Some(also) = self.params.also else {
            return first.map(|a| (a, Vec::new()));
        };
        let second_req = AnnounceRequest {
            info_hash: also,
            ..req.clone()
        };
        let second = self.announcer.announce(&second_req).await;
        match (first, second) {
            (Ok(a), Ok(b)) => Ok((a, b.peers)),
            (Ok(a), Err(e)) => {
                debug!(error = %e, "announce of the v2 info-hash failed");
                Ok((a, Vec::new()))
            }
            (Err(_), Ok(mut b)) => {
                let peers = std::mem::take(&mut b.peers);
                Ok((b, peers))
            }
            (Err(e), Err(_)) => Err(e),
        }
    }

    fn request(&self, event: Event) -> AnnounceRequest {
        let stats = self.progress.borrow();
        AnnounceRequest {
            info_hash: self.params.info_hash,
            peer_id: self.params.peer_id,
            port: self.params.port,
            uploaded: stats.uploaded,
            downloaded: stats.downloaded,
            // A magnet link's size is not known yet: a leecher all the same.
            left: if stats.state == crate::stats::TorrentState::FetchingMetadata {
                1
            } else {
                stats.wanted_bytes.saturating_sub(stats.done_bytes)
            },
            event,
            numwant: Some(200),
            key: self.key,
            compact: true,
            tracker_id: None,
            ip: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use monsoon_tracker::AnnounceFuture;

    use super::*;

    /// Records every announce; answers with one peer and a 60 s interval,
    /// or fails while `fail` is set.
    #[derive(Clone, Default)]
    struct Fake {
        seen: Arc<Mutex<Vec<(Duration, Event)>>>,
        hashes: Arc<Mutex<Vec<[u8; 20]>>>,
        fail: Arc<Mutex<bool>>,
        start: Arc<Mutex<Option<Instant>>>,
    }

    impl Announcer for Fake {
        fn announce<'a>(&'a mut self, req: &'a AnnounceRequest) -> AnnounceFuture<'a> {
            let start = *self.start.lock().unwrap().get_or_insert_with(Instant::now);
            self.seen.lock().unwrap().push((start.elapsed(), req.event));
            self.hashes.lock().unwrap().push(req.info_hash);
            let peer = format!("10.0.0.{}:1", req.info_hash[0]).parse().unwrap();
            let fail = *self.fail.lock().unwrap();
            Box::pin(async move {
                if fail {
                    return Err(TrackerError::Failure("down".into()));
                }
                Ok(AnnounceResponse {
                    interval: Duration::from_secs(60),
                    min_interval: None,
                    tracker_id: None,
                    complete: None,
                    incomplete: None,
                    warning: None,
                    peers: vec![peer],
                })
            })
        }
    }

    fn start(
        fake: &Fake,
    ) -> (
        mpsc::Sender<Event>,
        mpsc::Receiver<TrackerPeers>,
        JoinHandle<()>,
    ) {
        start_with(fake, None)
    }

    fn start_with(
        fake: &Fake,
        also: Option<[u8; 20]>,
    ) -> (
        mpsc::Sender<Event>,
        mpsc::Receiver<TrackerPeers>,
        JoinHandle<()>,
    ) {
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let (peers_tx, peers) = mpsc::channel(16);
        let (_, progress) = watch::channel(Stats::new(100, 1));
        let params = Params {
            info_hash: [1; 20],
            also,
            peer_id: [2; 20],
            port: 6881,
            max_interval: Duration::from_secs(3600),
        };
        let status = Arc::default();
        let task = spawn(
            Box::new(fake.clone()),
            params,
            progress,
            events,
            peers_tx,
            status,
        );
        (events_tx, peers, task)
    }

    fn events(fake: &Fake) -> Vec<Event> {
        fake.seen.lock().unwrap().iter().map(|s| s.1).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn announces_follow_the_core_and_the_interval() {
        let fake = Fake::default();
        let (tx, mut peers, task) = start(&fake);
        tx.send(Event::Started).await.unwrap();
        assert_eq!(
            peers.recv().await.unwrap().addrs.len(),
            1,
            "peers handed back"
        );
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(events(&fake), [Event::Started, Event::None]);
        tx.send(Event::Completed).await.unwrap();
        tx.send(Event::Stopped).await.unwrap();
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(
            events(&fake),
            [
                Event::Started,
                Event::None,
                Event::Completed,
                Event::Stopped
            ],
            "nothing after stopped"
        );
        // Resumed: started again; the task ends when the core goes.
        tx.send(Event::Started).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(events(&fake).last(), Some(&Event::Started));
        drop(tx);
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn failures_retry_started_with_a_growing_delay() {
        let fake = Fake::default();
        *fake.fail.lock().unwrap() = true;
        let (tx, _peers, _task) = start(&fake);
        tx.send(Event::Started).await.unwrap();
        tokio::time::sleep(Duration::from_secs(100)).await;
        let seen = fake.seen.lock().unwrap().clone();
        let at: Vec<u64> = seen.iter().map(|s| s.0.as_secs()).collect();
        assert_eq!(at, [0, 15, 45], "15 s, then 30 s");
        assert!(seen.iter().all(|s| s.1 == Event::Started), "{seen:?}");
        // A stop before the tracker ever answered sends no `stopped`.
        tx.send(Event::Stopped).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!events(&fake).contains(&Event::Stopped));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hybrid_announces_both_info_hashes_and_gets_both_peer_lists() {
        let fake = Fake::default();
        let (tx, mut peers, _task) = start_with(&fake, Some([2; 20]));
        tx.send(Event::Started).await.unwrap();
        let got = [peers.recv().await.unwrap(), peers.recv().await.unwrap()];
        let found = |addr: &str, v2| TrackerPeers {
            addrs: vec![addr.parse().unwrap()],
            v2,
        };
        assert_eq!(
            got,
            [found("10.0.0.2:1", true), found("10.0.0.1:1", false)],
            "the peers of both answers, those of the v2 one (first) as v2 peers"
        );
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(
            *fake.hashes.lock().unwrap(),
            [[1; 20], [2; 20], [1; 20], [2; 20]],
            "every announce for both"
        );
        assert_eq!(
            events(&fake),
            [Event::Started, Event::Started, Event::None, Event::None]
        );
    }
}
