//! The JSON shapes of the daemon's own API (`/api/v1`): a torrent, its
//! files, peers and trackers, the session.

use serde::Serialize;

use monsoon_engine::{PeerInfo, TorrentState, TrackerStatus};

use crate::torrents::Snapshot;

/// A torrent with its progress.
#[derive(Debug, Serialize)]
pub(crate) struct TorrentView {
    pub(crate) id: u32,
    pub(crate) hash: String,
    pub(crate) name: String,
    /// `checking`, `downloading`, `seeding`, `paused`, `error`, ...
    pub(crate) state: &'static str,
    /// Wanted bytes verified over wanted bytes, 0..=1.
    pub(crate) progress: f64,
    pub(crate) size: u64,
    pub(crate) wanted: u64,
    pub(crate) done: u64,
    pub(crate) pieces_done: u32,
    pub(crate) pieces_total: u32,
    pub(crate) download_rate: u64,
    pub(crate) upload_rate: u64,
    /// Payload bytes, all runs together.
    pub(crate) downloaded: u64,
    pub(crate) uploaded: u64,
    pub(crate) ratio: f64,
    pub(crate) peers: usize,
    pub(crate) known_peers: usize,
    /// Seconds until done at the current rate (`null`: unknown or done).
    pub(crate) eta: Option<u64>,
    pub(crate) save_path: String,
    pub(crate) added: i64,
    pub(crate) done_date: Option<i64>,
    pub(crate) labels: Vec<String>,
    pub(crate) category: String,
    /// False while a magnet link's metadata is fetched (no files yet).
    pub(crate) has_metadata: bool,
    pub(crate) paused: bool,
    pub(crate) error: Option<String>,
    pub(crate) resume_error: Option<String>,
    pub(crate) seed_limit_reached: bool,
    pub(crate) limits: LimitsView,
    /// Bytes read from its files since the daemon started it (the start-up
    /// check and uploads): a fast-resume start reads only a few pieces.
    pub(crate) bytes_read: u64,
}

/// A torrent's own limits.
#[derive(Debug, Serialize)]
pub(crate) struct LimitsView {
    pub(crate) upload: u64,
    pub(crate) download: u64,
    pub(crate) seed_ratio: Option<f64>,
    pub(crate) seed_time_secs: Option<u64>,
}

/// The name of a state in the API.
pub(crate) fn state_name(s: TorrentState) -> &'static str {
    match s {
        TorrentState::FetchingMetadata => "fetching_metadata",
        TorrentState::Checking => "checking",
        TorrentState::Downloading => "downloading",
        TorrentState::Seeding => "seeding",
        TorrentState::Paused => "paused",
        TorrentState::Stopped => "stopped",
        TorrentState::Error => "error",
        _ => "unknown",
    }
}

/// Seconds to finish at the current rate.
pub(crate) fn eta(s: &Snapshot) -> Option<u64> {
    let st = &s.stats;
    let left = st.wanted_bytes.saturating_sub(st.done_bytes);
    (st.state == TorrentState::Downloading && left > 0 && st.download_rate >= 1.0)
        .then(|| (left as f64 / st.download_rate).ceil() as u64)
}

impl TorrentView {
    pub(crate) fn new(s: &Snapshot) -> Self {
        let st = &s.stats;
        let r = &s.record;
        Self {
            id: r.id,
            hash: r.info_hash.clone(),
            name: s.meta.name.clone(),
            state: state_name(st.state),
            progress: st.progress(),
            size: st.total_bytes,
            wanted: st.wanted_bytes,
            done: st.done_bytes,
            pieces_done: st.pieces_done,
            pieces_total: st.pieces_total,
            download_rate: st.download_rate as u64,
            upload_rate: st.upload_rate as u64,
            downloaded: st.downloaded_total,
            uploaded: st.uploaded_total,
            ratio: st.ratio(),
            peers: st.peers,
            known_peers: st.known_peers,
            eta: eta(s),
            save_path: r.save_path.display().to_string(),
            added: r.added,
            done_date: r.done,
            labels: r.labels.clone(),
            category: r.category.clone(),
            has_metadata: s.has_meta,
            paused: r.paused,
            error: st.error.as_ref().map(ToString::to_string),
            resume_error: st.resume_error.as_ref().map(ToString::to_string),
            seed_limit_reached: st.seed_limit_reached,
            limits: LimitsView {
                upload: r.upload_limit,
                download: r.download_limit,
                seed_ratio: r.seed_ratio,
                seed_time_secs: r.seed_time_secs,
            },
            bytes_read: s.bytes_read,
        }
    }
}

/// One file of a torrent.
#[derive(Debug, Serialize)]
pub(crate) struct FileView {
    pub(crate) index: usize,
    pub(crate) path: String,
    pub(crate) size: u64,
    /// Bytes verified on disk.
    pub(crate) done: u64,
    /// 0: skipped; 1 low, 4 normal, 7 high.
    pub(crate) priority: u8,
}

pub(crate) fn files(s: &Snapshot, progress: &[u64]) -> Vec<FileView> {
    s.meta
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.is_padding())
        .map(|(i, f)| FileView {
            index: i,
            path: f.path().to_string(),
            size: f.length(),
            done: progress.get(i).copied().unwrap_or(0),
            priority: s.record.file_priorities.get(i).copied().unwrap_or(0),
        })
        .collect()
}

/// A connected peer.
#[derive(Debug, Serialize)]
pub(crate) struct PeerView {
    pub(crate) address: String,
    pub(crate) client: String,
    pub(crate) incoming: bool,
    pub(crate) progress: f64,
    pub(crate) download_rate: u64,
    pub(crate) upload_rate: u64,
    pub(crate) am_choking: bool,
    pub(crate) am_interested: bool,
    pub(crate) peer_choking: bool,
    pub(crate) peer_interested: bool,
    pub(crate) snubbed: bool,
    pub(crate) encrypted: bool,
}

impl PeerView {
    pub(crate) fn new(p: &PeerInfo) -> Self {
        Self {
            address: p.addr.to_string(),
            client: p.client.clone(),
            incoming: p.direction == monsoon_engine::torrent::Direction::Incoming,
            progress: p.progress,
            download_rate: p.download_rate as u64,
            upload_rate: p.upload_rate as u64,
            am_choking: p.am_choking,
            am_interested: p.am_interested,
            peer_choking: p.peer_choking,
            peer_interested: p.peer_interested,
            snubbed: p.snubbed,
            encrypted: p.encrypted,
        }
    }
}

/// The trackers of a torrent and how announcing goes.
#[derive(Debug, Serialize)]
pub(crate) struct TrackersView {
    /// Tiers of announce URLs (BEP 12).
    pub(crate) tiers: Vec<Vec<String>>,
    pub(crate) last_announce: Option<i64>,
    pub(crate) next_announce: Option<i64>,
    pub(crate) last_error: Option<String>,
    pub(crate) warning: Option<String>,
    pub(crate) seeders: Option<u32>,
    pub(crate) leechers: Option<u32>,
    pub(crate) peers_received: u64,
    pub(crate) announces: u64,
}

pub(crate) fn unix(t: Option<std::time::SystemTime>) -> Option<i64> {
    t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
}

impl TrackersView {
    pub(crate) fn new(s: &Snapshot, t: &TrackerStatus) -> Self {
        Self {
            tiers: s.meta.trackers.clone(),
            last_announce: unix(t.last_announce),
            next_announce: unix(t.next_announce),
            last_error: t.last_error.clone(),
            warning: t.warning.clone(),
            seeders: t.seeders,
            leechers: t.leechers,
            peers_received: t.peers_received,
            announces: t.announces,
        }
    }
}

/// A magnet link for the torrent: its hash, name and trackers (qBittorrent's
/// `magnet_uri`, Transmission's `magnetLink`).
pub(crate) fn magnet_uri(s: &Snapshot) -> String {
    let mut m = format!("magnet:?xt=urn:btih:{}", s.record.info_hash);
    m.push_str("&dn=");
    m.push_str(&percent_encode(&s.meta.name));
    for url in s.meta.trackers.iter().flatten() {
        m.push_str("&tr=");
        m.push_str(&percent_encode(url));
    }
    m
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
