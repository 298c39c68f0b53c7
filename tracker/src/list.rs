//! One tracker of any scheme ([`Tracker`]), the BEP 12 tracker list
//! ([`TrackerList`]) and the [`Announcer`] trait the engine calls.

use std::future::Future;
use std::pin::Pin;

use crate::config::ClientConfig;
use crate::error::TrackerError;
use crate::http::{HttpTracker, build_client};
use crate::request::AnnounceRequest;
use crate::response::{AnnounceResponse, ScrapeResponse};
use crate::tier::{SplitMix64, TierPos, Tiers};
use crate::udp::UdpTracker;

/// The future an [`Announcer`] returns.
pub type AnnounceFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AnnounceResponse, TrackerError>> + Send + 'a>>;

/// Something that announces: one tracker, a tracker list, or a test fake.
/// Object safe, so the engine can hold a `Box<dyn Announcer>`.
pub trait Announcer: Send {
    /// Sends one announce and returns what the tracker answered.
    fn announce<'a>(&'a mut self, req: &'a AnnounceRequest) -> AnnounceFuture<'a>;
}

/// One tracker, HTTP(S) or UDP, chosen by the URL's scheme.
#[derive(Debug)]
#[non_exhaustive]
pub enum Tracker {
    /// An `http://` or `https://` tracker.
    Http(HttpTracker),
    /// A `udp://` tracker.
    Udp(UdpTracker),
}

/// The scheme of `url` if it is one this crate speaks, or why not.
fn check_url(url: &str) -> Result<&'static str, TrackerError> {
    let parsed = url::Url::parse(url).map_err(|e| TrackerError::InvalidUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    match parsed.scheme() {
        "http" => Ok("http"),
        "https" => Ok("https"),
        "udp" => Ok("udp"),
        other => Err(TrackerError::UnsupportedScheme(other.to_owned())),
    }
}

impl Tracker {
    /// A tracker for `url` (`http`, `https` or `udp`); `seed` seeds UDP
    /// transaction ids.
    pub fn new(url: &str, config: &ClientConfig, seed: u64) -> Result<Self, TrackerError> {
        match check_url(url)? {
            "udp" => Ok(Self::Udp(UdpTracker::new(url, config, seed)?)),
            _ => Ok(Self::Http(HttpTracker::new(url, config)?)),
        }
    }

    fn with_client(
        url: &str,
        client: &reqwest::Client,
        config: &ClientConfig,
        seed: u64,
    ) -> Result<Self, TrackerError> {
        match check_url(url)? {
            "udp" => Ok(Self::Udp(UdpTracker::new(url, config, seed)?)),
            _ => Ok(Self::Http(HttpTracker::with_client(
                url,
                client.clone(),
                config,
            ))),
        }
    }

    /// The announce URL.
    pub fn url(&self) -> &str {
        match self {
            Self::Http(t) => t.url(),
            Self::Udp(t) => t.url(),
        }
    }

    /// Announces `req`.
    pub async fn announce(
        &mut self,
        req: &AnnounceRequest,
    ) -> Result<AnnounceResponse, TrackerError> {
        match self {
            Self::Http(t) => t.announce(req).await,
            Self::Udp(t) => t.announce(req).await,
        }
    }

    /// Scrapes `info_hashes`.
    pub async fn scrape(
        &mut self,
        info_hashes: &[[u8; 20]],
    ) -> Result<ScrapeResponse, TrackerError> {
        match self {
            Self::Http(t) => t.scrape(info_hashes).await,
            Self::Udp(t) => t.scrape(info_hashes).await,
        }
    }
}

impl Announcer for Tracker {
    fn announce<'a>(&'a mut self, req: &'a AnnounceRequest) -> AnnounceFuture<'a> {
        Box::pin(Tracker::announce(self, req))
    }
}

impl Announcer for HttpTracker {
    fn announce<'a>(&'a mut self, req: &'a AnnounceRequest) -> AnnounceFuture<'a> {
        Box::pin(HttpTracker::announce(self, req))
    }
}

impl Announcer for UdpTracker {
    fn announce<'a>(&'a mut self, req: &'a AnnounceRequest) -> AnnounceFuture<'a> {
        Box::pin(UdpTracker::announce(self, req))
    }
}

/// One tracker's answer in [`TrackerList::announce_each`].
#[derive(Debug)]
pub struct TrackerResult {
    /// The tier the tracker was listed in (index into the list given to
    /// [`TrackerList::new`]).
    pub tier: usize,
    /// The announce URL.
    pub url: String,
    /// What it answered.
    pub result: Result<AnnounceResponse, TrackerError>,
}

#[derive(Debug)]
struct Entry {
    tier: usize,
    tracker: Tracker,
    /// The `tracker id` it last gave, sent back when the request has none.
    tracker_id: Option<String>,
}

impl Entry {
    async fn announce(&mut self, req: &AnnounceRequest) -> Result<AnnounceResponse, TrackerError> {
        let r = match (&req.tracker_id, &self.tracker_id) {
            (None, Some(id)) => {
                let mut req = req.clone();
                req.tracker_id = Some(id.clone());
                self.tracker.announce(&req).await
            }
            _ => self.tracker.announce(req).await,
        };
        if let Ok(resp) = &r
            && resp.tracker_id.is_some()
        {
            self.tracker_id.clone_from(&resp.tracker_id);
        }
        r
    }
}

/// The trackers of a torrent in BEP 12 tiers, over HTTP and UDP clients.
///
/// [`TrackerList::announce`] (and the [`Announcer`] impl) tries trackers in
/// tier order until one answers, and moves it to the front of its tier.
/// [`TrackerList::announce_each`] asks every tracker, for tools that show
/// what each one says.
#[derive(Debug)]
pub struct TrackerList {
    tiers: Tiers<Entry>,
    /// `(tier, url)` of each tracker skipped for its scheme or URL.
    skipped: Vec<(usize, String)>,
}

impl TrackerList {
    /// A list from the torrent's `announce-list` (or a single announce URL
    /// as one tier). Each tier is shuffled once from `seed`; URLs with an
    /// unsupported scheme or that do not parse are skipped with a logged
    /// reason (see [`TrackerList::skipped`]); exact duplicates are dropped.
    pub fn new(tiers: Vec<Vec<String>>, config: ClientConfig, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let shuffle_seed = rng.next_u64();
        let client = match build_client(&config) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!("cannot build the HTTP client, HTTP trackers skipped: {e}");
                None
            }
        };
        let mut seen = std::collections::HashSet::new();
        let mut skipped = Vec::new();
        let mut entries = Vec::with_capacity(tiers.len());
        for (tier, urls) in tiers.into_iter().enumerate() {
            let mut t = Vec::with_capacity(urls.len());
            for url in urls {
                if !seen.insert(url.clone()) {
                    continue;
                }
                let made = match &client {
                    Some(c) => Tracker::with_client(&url, c, &config, rng.next_u64()),
                    None => Tracker::new(&url, &config, rng.next_u64()),
                };
                match made {
                    Ok(tracker) => t.push(Entry {
                        tier,
                        tracker,
                        tracker_id: None,
                    }),
                    Err(e) => {
                        tracing::warn!(url = %url, "skipping tracker: {e}");
                        skipped.push((tier, url));
                    }
                }
            }
            entries.push(t);
        }
        Self {
            tiers: Tiers::new(entries, shuffle_seed),
            skipped,
        }
    }

    /// Number of usable trackers.
    pub fn len(&self) -> usize {
        self.tiers.len()
    }

    /// Whether no tracker is usable.
    pub fn is_empty(&self) -> bool {
        self.tiers.is_empty()
    }

    /// The usable trackers' URLs, tier by tier in the order they will be
    /// tried.
    pub fn urls(&self) -> Vec<Vec<String>> {
        self.tiers
            .tiers()
            .iter()
            .map(|t| t.iter().map(|e| e.tracker.url().to_owned()).collect())
            .collect()
    }

    /// `(tier, url)` of the trackers skipped at construction.
    pub fn skipped(&self) -> &[(usize, String)] {
        &self.skipped
    }

    /// Announces to the first tracker that answers, in BEP 12 order; that
    /// tracker moves to the front of its tier. If every tracker fails, the
    /// error is the only tracker's own one, or [`TrackerError::AllFailed`]
    /// with each one's; with no usable tracker it is
    /// [`TrackerError::NoTrackers`].
    pub async fn announce(
        &mut self,
        req: &AnnounceRequest,
    ) -> Result<AnnounceResponse, TrackerError> {
        let mut errors = Vec::new();
        for pos in self.tiers.order() {
            let Some(entry) = self.tiers.get_mut(pos) else {
                continue;
            };
            match entry.announce(req).await {
                Ok(resp) => {
                    self.tiers.on_success(pos);
                    return Ok(resp);
                }
                Err(e) => {
                    tracing::debug!(url = %entry.tracker.url(), "announce failed: {e}");
                    errors.push((entry.tracker.url().to_owned(), e));
                }
            }
        }
        match errors.len() {
            0 => Err(TrackerError::NoTrackers),
            1 => Err(errors.pop().map_or(TrackerError::NoTrackers, |(_, e)| e)),
            _ => Err(TrackerError::AllFailed(errors)),
        }
    }

    /// Announces to every tracker at once and returns each one's answer,
    /// skipped ones included (with their URL error), ordered by tier. The
    /// tier order is not changed.
    pub async fn announce_each(&mut self, req: &AnnounceRequest) -> Vec<TrackerResult> {
        let futs = self.tiers.iter_mut().map(|(_, e)| async move {
            let result = e.announce(req).await;
            TrackerResult {
                tier: e.tier,
                url: e.tracker.url().to_owned(),
                result,
            }
        });
        let mut out = futures_util::future::join_all(futs).await;
        for (tier, url) in &self.skipped {
            // Recreate the construction error (errors are not `Clone`).
            let err = match UdpTracker::new(url, &ClientConfig::default(), 0) {
                Err(e) => e,
                Ok(_) => check_url(url)
                    .err()
                    .unwrap_or_else(|| TrackerError::Transport("HTTP client unavailable".into())),
            };
            out.push(TrackerResult {
                tier: *tier,
                url: url.clone(),
                result: Err(err),
            });
        }
        out.sort_by_key(|r| r.tier);
        out
    }

    /// Scrapes `info_hashes` at the first tracker (in tier order) that
    /// answers.
    pub async fn scrape(
        &mut self,
        info_hashes: &[[u8; 20]],
    ) -> Result<ScrapeResponse, TrackerError> {
        let mut last = TrackerError::NoTrackers;
        for pos in self.tiers.order() {
            let Some(entry) = self.tiers.get_mut(pos) else {
                continue;
            };
            match entry.tracker.scrape(info_hashes).await {
                Ok(r) => return Ok(r),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The position of `url` among the usable trackers, if present.
    pub fn position(&self, url: &str) -> Option<TierPos> {
        self.tiers
            .order()
            .into_iter()
            .find(|p| self.tiers.get(*p).is_some_and(|e| e.tracker.url() == url))
    }
}

impl Announcer for TrackerList {
    fn announce<'a>(&'a mut self, req: &'a AnnounceRequest) -> AnnounceFuture<'a> {
        Box::pin(TrackerList::announce(self, req))
    }
}
