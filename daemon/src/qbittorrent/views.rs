//! The JSON shapes of qBittorrent's WebUI API: a torrent as
//! `torrents/info` lists it, its properties, files and trackers, and the
//! transfer totals, with qBittorrent's field names and `state` strings.

use serde_json::{Value, json};

use monsoon_engine::{TorrentState, TrackerStatus};

use crate::state::unix_now;
use crate::torrents::{PRIO_NORMAL, Snapshot};
use crate::views::{eta, unix};

/// qBittorrent's "infinite" ETA.
pub(crate) const ETA_INFINITE: u64 = 8_640_000;

/// qBittorrent's `state` of a torrent (WebAPI 2.8: `pausedDL`/`pausedUP`
/// for stopped torrents).
pub(crate) fn state(s: &Snapshot) -> &'static str {
    let st = &s.stats;
    let complete = st.wanted_bytes > 0 && st.done_bytes >= st.wanted_bytes;
    match st.state {
        TorrentState::FetchingMetadata if s.record.paused => "pausedDL",
        TorrentState::FetchingMetadata => "metaDL",
        TorrentState::Checking if complete => "checkingUP",
        TorrentState::Checking => "checkingDL",
        TorrentState::Downloading if st.download_rate >= 1.0 => "downloading",
        TorrentState::Downloading => "stalledDL",
        TorrentState::Seeding if st.upload_rate >= 1.0 => "uploading",
        TorrentState::Seeding => "stalledUP",
        TorrentState::Paused | TorrentState::Stopped if complete => "pausedUP",
        TorrentState::Paused | TorrentState::Stopped => "pausedDL",
        TorrentState::Error => "error",
        _ => "unknown",
    }
}

/// Daemon file priority (0 skip, 1 low, 4 normal, 7 high) to
/// qBittorrent's (0 skip, 1 normal, 6 high, 7 maximal).
pub(crate) fn qb_priority(p: u8) -> u8 {
    match p {
        0 => 0,
        1..=4 => 1,
        5..=6 => 6,
        _ => 7,
    }
}

/// qBittorrent's file priority to the daemon's; `None` for a value
/// qBittorrent does not have.
pub(crate) fn daemon_priority(p: i64) -> Option<u8> {
    match p {
        0 => Some(0),
        1 => Some(PRIO_NORMAL),
        6 => Some(6),
        7 => Some(7),
        _ => None,
    }
}

/// -1 for "none" (qBittorrent's spelling of 0 in rate limits).
fn limit(bytes: u64) -> i64 {
    if bytes == 0 {
        -1
    } else {
        i64::try_from(bytes).unwrap_or(i64::MAX)
    }
}

/// Where the torrent's file or top folder is.
fn content_path(s: &Snapshot) -> String {
    s.record.save_path.join(&s.meta.name).display().to_string()
}

/// A torrent as `torrents/info` and `sync/maindata` show it.
pub(crate) fn info(s: &Snapshot, global_ratio: Option<f64>, global_time: Option<u64>) -> Value {
    let st = &s.stats;
    let r = &s.record;
    let now = unix_now();
    let leeching = st.state == TorrentState::Downloading;
    let ratio_limit = r.seed_ratio.map_or(-2.0, |x| x);
    let time_limit = r.seed_time_secs.map_or(-2, |t| (t / 60) as i64);
    let max_ratio = r.seed_ratio.or(global_ratio).map_or(-1.0, |x| x);
    let max_time = r
        .seed_time_secs
        .or(global_time)
        .map_or(-1, |t| (t / 60) as i64);
    json!({
        "added_on": r.added,
        "amount_left": st.wanted_bytes.saturating_sub(st.done_bytes),
        "auto_tmm": false,
        "availability": -1,
        "category": r.category,
        "completed": st.done_bytes,
        "completion_on": r.done.unwrap_or(0),
        "content_path": content_path(s),
        // 0 for none here, -1 in `properties` (as qBittorrent 4.5 says).
        "dl_limit": r.download_limit,
        "dlspeed": st.download_rate as u64,
        "download_path": "",
        "downloaded": st.downloaded_total,
        "downloaded_session": st.downloaded,
        "eta": eta(s).unwrap_or(ETA_INFINITE),
        "f_l_piece_prio": false,
        "force_start": false,
        "hash": r.info_hash,
        "infohash_v1": r.info_hash,
        "infohash_v2": "",
        "last_activity": if s.recently_active { now } else { r.added },
        "magnet_uri": crate::views::magnet_uri(s),
        "max_ratio": max_ratio,
        "max_seeding_time": max_time,
        "name": s.meta.name,
        "num_complete": 0,
        "num_incomplete": 0,
        "num_leechs": if leeching { 0 } else { st.peers },
        "num_seeds": if leeching { st.peers } else { 0 },
        "priority": 0,
        "progress": st.progress(),
        "ratio": st.ratio(),
        "ratio_limit": ratio_limit,
        "save_path": r.save_path.display().to_string(),
        "seeding_time": st.seeding_time.as_secs(),
        "seeding_time_limit": time_limit,
        "seen_complete": r.done.unwrap_or(0),
        "seq_dl": false,
        "size": st.wanted_bytes,
        "state": state(s),
        "super_seeding": false,
        "tags": r.labels.join(", "),
        "time_active": (now - r.added).max(0),
        "total_size": st.total_bytes,
        "tracker": s.meta.trackers.iter().flatten().next().cloned().unwrap_or_default(),
        "trackers_count": s.meta.trackers.iter().flatten().count(),
        "up_limit": r.upload_limit,
        "uploaded": st.uploaded_total,
        "uploaded_session": st.uploaded,
        "upspeed": st.upload_rate as u64,
    })
}

/// `torrents/properties`.
pub(crate) fn properties(s: &Snapshot, t: &TrackerStatus) -> Value {
    let st = &s.stats;
    let r = &s.record;
    let now = unix_now();
    let elapsed = (now - r.added).max(1) as u64;
    json!({
        "addition_date": r.added,
        "comment": s.meta.comment.clone().unwrap_or_default(),
        "completion_date": r.done.unwrap_or(-1),
        "created_by": s.meta.created_by.clone().unwrap_or_default(),
        "creation_date": s.meta.creation_date.unwrap_or(-1),
        "dl_limit": limit(r.download_limit),
        "dl_speed": st.download_rate as u64,
        "dl_speed_avg": st.downloaded / elapsed,
        "download_path": "",
        "eta": eta(s).unwrap_or(ETA_INFINITE),
        "hash": r.info_hash,
        "infohash_v1": r.info_hash,
        "infohash_v2": "",
        "is_private": s.meta.private,
        "last_seen": r.done.unwrap_or(-1),
        "name": s.meta.name,
        "nb_connections": st.peers,
        "nb_connections_limit": -1,
        "peers": st.peers,
        "peers_total": t.leechers.unwrap_or(0),
        "piece_size": s.meta.piece_length,
        "pieces_have": st.pieces_done,
        "pieces_num": st.pieces_total,
        "reannounce": unix(t.next_announce).map_or(0, |n| (n - now).max(0)),
        "save_path": r.save_path.display().to_string(),
        "seeding_time": st.seeding_time.as_secs(),
        "seeds": st.peers,
        "seeds_total": t.seeders.unwrap_or(0),
        "share_ratio": st.ratio(),
        "time_elapsed": elapsed,
        "total_downloaded": st.downloaded_total,
        "total_downloaded_session": st.downloaded,
        "total_size": st.total_bytes,
        "total_uploaded": st.uploaded_total,
        "total_uploaded_session": st.uploaded,
        "total_wasted": st.wasted,
        "up_limit": limit(r.upload_limit),
        "up_speed": st.upload_rate as u64,
        "up_speed_avg": st.uploaded / elapsed,
    })
}

/// `torrents/files`: every file (padding files left out), or those of
/// `indexes`.
pub(crate) fn files(s: &Snapshot, progress: &[u64], indexes: Option<&[usize]>) -> Value {
    let plen = u64::from(s.meta.piece_length.max(1));
    let list: Vec<Value> = s
        .meta
        .files
        .iter()
        .enumerate()
        .filter(|(i, f)| !f.is_padding() && indexes.is_none_or(|ix| ix.contains(i)))
        .enumerate()
        .map(|(n, (i, f))| {
            let first = f.offset() / plen;
            // As qBittorrent says it: an empty file is an empty range,
            // ending one piece before it starts.
            let last = if f.length() == 0 {
                first as i64 - 1
            } else {
                ((f.offset() + f.length() - 1) / plen) as i64
            };
            let done = progress.get(i).copied().unwrap_or(0);
            let mut v = json!({
                "index": i,
                "name": f.path().to_string(),
                "size": f.length(),
                "progress": if f.length() == 0 { 1.0 } else { done as f64 / f.length() as f64 },
                "priority": qb_priority(s.record.file_priorities.get(i).copied().unwrap_or(0)),
                "piece_range": [first, last],
                "availability": -1,
            });
            // qBittorrent says it on the first file only.
            if n == 0 {
                v["is_seed"] = json!(s.stats.state == TorrentState::Seeding);
            }
            v
        })
        .collect();
    Value::Array(list)
}

/// `torrents/trackers`: the DHT, PeX and LSD rows first, as qBittorrent
/// lists them, then each tracker with the last announce's outcome.
pub(crate) fn trackers(s: &Snapshot, t: &TrackerStatus, dht: bool, lsd: bool) -> Value {
    let pseudo = |url: &str, on: bool| {
        json!({
            "url": url, "status": if on { 2 } else { 0 }, "tier": -1,
            "num_peers": 0, "num_seeds": 0, "num_leeches": 0, "num_downloaded": 0,
            "msg": if on { "" } else { "This torrent is private" },
        })
    };
    let public = !s.meta.private;
    let mut list = vec![
        pseudo("** [DHT] **", dht && public),
        pseudo("** [PeX] **", public),
        pseudo("** [LSD] **", lsd && public),
    ];
    // 1 not contacted, 2 working, 4 not working.
    let status = if t.last_error.is_some() {
        4
    } else if t.last_announce.is_some() {
        2
    } else {
        1
    };
    let msg = t
        .last_error
        .clone()
        .or_else(|| t.warning.clone())
        .unwrap_or_default();
    for (tier, urls) in s.meta.trackers.iter().enumerate() {
        for url in urls {
            list.push(json!({
                "url": url,
                "status": status,
                "tier": tier,
                "num_peers": t.peers_received,
                "num_seeds": t.seeders.map_or(-1, i64::from),
                "num_leeches": t.leechers.map_or(-1, i64::from),
                "num_downloaded": -1,
                "msg": msg,
            }));
        }
    }
    Value::Array(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_round_trip_through_qbittorrents_values() {
        for qb in [0, 1, 6, 7] {
            assert_eq!(
                qb_priority(daemon_priority(qb).unwrap()),
                qb as u8,
                "qB {qb}"
            );
        }
        for bad in [-1, 2, 5, 8, 100] {
            assert_eq!(daemon_priority(bad), None);
        }
        assert_eq!(qb_priority(PRIO_NORMAL), 1);
        assert_eq!(limit(0), -1);
        assert_eq!(limit(5), 5);
    }
}
