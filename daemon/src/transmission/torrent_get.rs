//! `torrent-get`: each requested field of each requested torrent, in the
//! client's spelling. Fields that need the torrent task (files, peers,
//! trackers, pieces) are fetched only when asked for.

use base64::Engine;
use monsoon_engine::{PeerInfo, TorrentState, TrackerStatus};
use serde_json::{Map, Value, json};

use super::names::Style;
use super::request::{Ids, RpcRequest, canonical_key};
use super::select;
use crate::http::App;
use crate::torrents::{PRIO_HIGH, PRIO_LOW, Snapshot};
use crate::views::{eta, unix};

/// Transmission's status numbers.
pub(crate) fn status(s: TorrentState) -> u8 {
    match s {
        TorrentState::Checking => 2,
        TorrentState::Downloading | TorrentState::FetchingMetadata => 4,
        TorrentState::Seeding => 6,
        _ => 0,
    }
}

/// Transmission's priority (-1 low, 0 normal, 1 high) of an engine one.
pub(crate) fn tr_priority(p: u8) -> i8 {
    match p {
        0 => 0,
        p if p <= PRIO_LOW => -1,
        p if p >= PRIO_HIGH => 1,
        _ => 0,
    }
}

/// What a torrent's fields may need from its task.
#[derive(Default)]
struct Extra {
    files: Option<Vec<u64>>,
    peers: Option<Vec<PeerInfo>>,
    trackers: Option<TrackerStatus>,
    pieces: Option<Vec<u8>>,
    /// The session's limit of peers per torrent.
    peer_limit: usize,
}

const NEEDS_FILES: &[&str] = &["files", "file_stats"];
const NEEDS_PEERS: &[&str] = &["peers", "peers_getting_from_us", "peers_sending_to_us"];
const NEEDS_TRACKERS: &[&str] = &["error", "error_string", "tracker_stats"];

pub(crate) async fn run(app: &App, req: &RpcRequest) -> Result<Value, String> {
    let fields: Vec<String> = req
        .strings("fields")
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| vec!["id".into(), "name".into(), "hashString".into()]);
    let canon: Vec<String> = fields.iter().map(|f| canonical_key(f)).collect();
    let ids = req.ids().map_err(|e| e.to_string())?;
    let snaps = select(app, &ids);
    let needs = |list: &[&str]| canon.iter().any(|c| list.contains(&c.as_str()));
    let table = req.str("format").ok().flatten() == Some("table");
    let mut rows = Vec::with_capacity(snaps.len());
    for s in &snaps {
        let mut extra = Extra {
            peer_limit: app.torrents.peer_limits().1,
            ..Extra::default()
        };
        if let Ok((_, h)) = app
            .torrents
            .handle(&crate::torrents::TorrentRef::Id(s.record.id))
        {
            if needs(NEEDS_FILES) {
                extra.files = h.file_progress().await.ok();
            }
            if needs(NEEDS_PEERS) {
                extra.peers = h.peers().await.ok();
            }
            if needs(NEEDS_TRACKERS) {
                extra.trackers = h.tracker_status().await.ok();
            }
            if needs(&["pieces"]) {
                extra.pieces = h.pieces().await.ok().map(|b| b.as_bytes().to_vec());
            }
        }
        let values: Vec<Value> = fields
            .iter()
            .zip(&canon)
            .map(|(given, c)| {
                let style = if req.snake || given.contains('_') {
                    Style::Snake
                } else {
                    Style::Camel
                };
                field(s, c, style, &extra).unwrap_or(Value::Null)
            })
            .collect();
        rows.push(values);
    }
    let torrents: Vec<Value> = if table {
        let mut t = vec![Value::from(fields.clone())];
        t.extend(rows.into_iter().map(Value::from));
        t
    } else {
        rows.into_iter()
            .map(|vals| {
                let mut m = Map::new();
                for ((given, c), v) in fields.iter().zip(&canon).zip(vals) {
                    // Unknown fields are left out, as Transmission does.
                    if !v.is_null() || nullable(c) {
                        m.insert(given.clone(), v);
                    }
                }
                Value::Object(m)
            })
            .collect()
    };
    let mut out = json!({ "torrents": torrents });
    if ids == Ids::RecentlyActive {
        out["removed"] = json!(app.torrents.recently_removed());
    }
    Ok(out)
}

/// Fields whose value may be null (none: every known field has a value).
fn nullable(_field: &str) -> bool {
    false
}

/// The value of one field (`None`: not a field we know).
fn field(s: &Snapshot, f: &str, style: Style, x: &Extra) -> Option<Value> {
    let st = &s.stats;
    let r = &s.record;
    let m = &s.meta;
    let left = st.wanted_bytes.saturating_sub(st.done_bytes);
    let kb = |b: u64| b.div_ceil(1000);
    Some(match f {
        "id" => json!(r.id),
        "hash_string" => json!(r.info_hash),
        "name" => json!(m.name),
        "status" => json!(status(st.state)),
        "percent_done" => json!(st.progress()),
        "percent_complete" => json!(if st.pieces_total == 0 {
            0.0
        } else {
            f64::from(st.pieces_done) / f64::from(st.pieces_total)
        }),
        "metadata_percent_complete" => json!(1.0),
        "recheck_progress" => json!(if st.state == TorrentState::Checking {
            st.progress()
        } else {
            0.0
        }),
        "total_size" => json!(st.total_bytes),
        "size_when_done" => json!(st.wanted_bytes),
        "left_until_done" => json!(left),
        "desired_available" => json!(left),
        "have_valid" => json!(st.done_bytes),
        "have_unchecked" | "corrupt_ever_unused" => json!(0),
        "corrupt_ever" => json!(st.wasted),
        "rate_download" => json!(st.download_rate as u64),
        "rate_upload" => json!(st.upload_rate as u64),
        "eta" => json!(eta(s).map_or(-1, |e| e as i64)),
        "eta_idle" => json!(-1),
        "peers_connected" => json!(st.peers),
        "peers_getting_from_us" => json!(x.peers.as_ref().map_or(0, |p| {
            p.iter()
                .filter(|p| !p.am_choking && p.peer_interested)
                .count()
        })),
        "peers_sending_to_us" => json!(
            x.peers
                .as_ref()
                .map_or(0, |p| p.iter().filter(|p| p.download_rate >= 1.0).count())
        ),
        "webseeds_sending_to_us" => json!(0),
        "upload_ratio" => json!(if st.downloaded_total == 0 && st.uploaded_total == 0 {
            -1.0
        } else {
            st.ratio()
        }),
        "uploaded_ever" => json!(st.uploaded_total),
        "downloaded_ever" => json!(st.downloaded_total),
        "error" => json!(if st.error.is_some() {
            3
        } else if x.trackers.as_ref().is_some_and(|t| t.last_error.is_some()) {
            2
        } else if x.trackers.as_ref().is_some_and(|t| t.warning.is_some()) {
            1
        } else {
            0
        }),
        "error_string" => json!(match (&st.error, &x.trackers) {
            (Some(e), _) => e.to_string(),
            (None, Some(t)) => t
                .last_error
                .clone()
                .or_else(|| t.warning.clone())
                .unwrap_or_default(),
            _ => String::new(),
        }),
        "download_dir" => json!(r.save_path.display().to_string()),
        "added_date" => json!(r.added),
        "done_date" => json!(r.done.unwrap_or(0)),
        "start_date" | "activity_date" => json!(r.added),
        "edit_date" => json!(0),
        "date_created" => json!(m.creation_date.unwrap_or(0)),
        "is_finished" => json!(st.seed_limit_reached),
        "is_stalled" => {
            json!(st.state == TorrentState::Downloading && st.download_rate < 1.0 && st.peers == 0)
        }
        "is_private" => json!(m.private),
        "labels" => json!(r.labels),
        "comment" => json!(m.comment.clone().unwrap_or_default()),
        "creator" => json!(m.created_by.clone().unwrap_or_default()),
        "piece_count" => json!(st.pieces_total),
        "piece_size" => json!(m.piece_length),
        "pieces" => json!(
            base64::engine::general_purpose::STANDARD.encode(x.pieces.as_deref().unwrap_or(&[]))
        ),
        "file_count" => json!(m.files.iter().filter(|f| !f.is_padding()).count()),
        "files" => files(s, style, x),
        "file_stats" => file_stats(s, style, x),
        "wanted" => json!(
            visible(s)
                .map(|(i, _)| u8::from(r.file_priorities.get(i).is_some_and(|&p| p > 0)))
                .collect::<Vec<_>>()
        ),
        "priorities" => json!(
            visible(s)
                .map(|(i, _)| tr_priority(r.file_priorities.get(i).copied().unwrap_or(0)))
                .collect::<Vec<_>>()
        ),
        "peers" => peers(style, x),
        "peers_from" => style.object(vec![
            ("from_cache", json!(0)),
            ("from_dht", json!(0)),
            ("from_incoming", json!(0)),
            ("from_lpd", json!(0)),
            ("from_ltep", json!(0)),
            ("from_pex", json!(0)),
            ("from_tracker", json!(st.peers)),
        ]),
        "trackers" => json!(
            trackers(s)
                .map(|(id, tier, url)| style.object(vec![
                    ("announce", json!(url)),
                    ("id", json!(id)),
                    ("scrape", json!(scrape_url(url))),
                    ("sitename", json!(host(url))),
                    ("tier", json!(tier)),
                ]))
                .collect::<Vec<_>>()
        ),
        "tracker_stats" => tracker_stats(s, style, x),
        "tracker_list" => json!(
            m.trackers
                .iter()
                .map(|t| t.join("\n"))
                .collect::<Vec<_>>()
                .join("\n\n")
        ),
        "magnet_link" => json!(crate::views::magnet_uri(s)),
        "queue_position" => json!(r.id.saturating_sub(1)),
        "seconds_seeding" => json!(st.seeding_time.as_secs()),
        "seconds_downloading" => json!(0),
        "seed_ratio_limit" => json!(r.seed_ratio.filter(|x| *x >= 0.0).unwrap_or(0.0)),
        "seed_ratio_mode" => json!(match r.seed_ratio {
            None => 0,
            Some(x) if x < 0.0 => 2,
            Some(_) => 1,
        }),
        "seed_idle_limit" => json!(r.seed_time_secs.map_or(0, |t| t / 60)),
        "seed_idle_mode" => json!(0),
        "sequential_download" => json!(false),
        "download_limit" => json!(kb(r.download_limit)),
        "download_limited" => json!(r.download_limit > 0),
        "upload_limit" => json!(kb(r.upload_limit)),
        "upload_limited" => json!(r.upload_limit > 0),
        "honors_session_limits" => json!(true),
        "bandwidth_priority" => json!(0),
        "max_connected_peers" | "peer_limit" => json!(x.peer_limit),
        "webseeds" => json!(m.url_list),
        "torrent_file" => json!(""),
        "primary_mime_type" => json!("application/octet-stream"),
        "group" => json!(""),
        _ => return None,
    })
}

/// The files a client sees (padding files hidden), with their index.
fn visible(s: &Snapshot) -> impl Iterator<Item = (usize, monsoon_storage::FileRef<'_>)> {
    s.meta
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.is_padding())
}

fn files(s: &Snapshot, style: Style, x: &Extra) -> Value {
    let plen = u64::from(s.meta.piece_length.max(1));
    json!(
        visible(s)
            .map(|(i, f)| {
                let first = f.offset() / plen;
                let end = (f.offset() + f.length()).div_ceil(plen).max(first + 1);
                style.object(vec![
                    ("bytes_completed", json!(done(x, i))),
                    ("length", json!(f.length())),
                    ("name", json!(f.path().to_string())),
                    ("begin_piece", json!(first)),
                    ("end_piece", json!(end)),
                ])
            })
            .collect::<Vec<_>>()
    )
}

fn done(x: &Extra, i: usize) -> u64 {
    x.files
        .as_ref()
        .and_then(|f| f.get(i))
        .copied()
        .unwrap_or(0)
}

fn file_stats(s: &Snapshot, style: Style, x: &Extra) -> Value {
    json!(
        visible(s)
            .map(|(i, _)| {
                let p = s.record.file_priorities.get(i).copied().unwrap_or(0);
                style.object(vec![
                    ("bytes_completed", json!(done(x, i))),
                    ("wanted", json!(p > 0)),
                    ("priority", json!(tr_priority(p))),
                ])
            })
            .collect::<Vec<_>>()
    )
}

fn peers(style: Style, x: &Extra) -> Value {
    let list = x.peers.as_deref().unwrap_or(&[]);
    json!(
        list.iter()
            .map(|p| {
                let incoming = p.direction == monsoon_engine::torrent::Direction::Incoming;
                let mut flags = String::new();
                if p.download_rate >= 1.0 {
                    flags.push('D');
                }
                if p.upload_rate >= 1.0 {
                    flags.push('U');
                }
                if p.encrypted {
                    flags.push('E');
                }
                if incoming {
                    flags.push('I');
                }
                style.object(vec![
                    ("address", json!(p.addr.ip().to_string())),
                    ("port", json!(p.addr.port())),
                    ("client_name", json!(p.client)),
                    ("client_is_choked", json!(p.peer_choking)),
                    ("client_is_interested", json!(p.am_interested)),
                    ("peer_is_choked", json!(p.am_choking)),
                    ("peer_is_interested", json!(p.peer_interested)),
                    ("flag_str", json!(flags)),
                    ("is_downloading_from", json!(p.download_rate >= 1.0)),
                    ("is_uploading_to", json!(p.upload_rate >= 1.0)),
                    ("is_encrypted", json!(p.encrypted)),
                    ("is_incoming", json!(incoming)),
                    ("is_utp", json!(false)),
                    ("progress", json!(p.progress)),
                    ("rate_to_client", json!(p.download_rate as u64)),
                    ("rate_to_peer", json!(p.upload_rate as u64)),
                ])
            })
            .collect::<Vec<_>>()
    )
}

/// (id, tier, url) of every tracker.
fn trackers(s: &Snapshot) -> impl Iterator<Item = (usize, usize, &str)> {
    s.meta
        .trackers
        .iter()
        .enumerate()
        .flat_map(|(tier, urls)| urls.iter().map(move |u| (tier, u.as_str())))
        .enumerate()
        .map(|(id, (tier, u))| (id, tier, u))
}

fn tracker_stats(s: &Snapshot, style: Style, x: &Extra) -> Value {
    let t = x.trackers.clone().unwrap_or_default();
    json!(
        trackers(s)
            .map(|(id, tier, url)| {
                let announced = t.last_announce.is_some();
                style.object(vec![
                    ("announce", json!(url)),
                    ("announce_state", json!(if announced { 1 } else { 0 })),
                    ("download_count", json!(-1)),
                    ("has_announced", json!(announced)),
                    ("has_scraped", json!(false)),
                    ("host", json!(host(url))),
                    ("id", json!(id)),
                    ("is_backup", json!(tier > 0)),
                    ("last_announce_peer_count", json!(t.peers_received)),
                    (
                        "last_announce_result",
                        json!(t.last_error.clone().unwrap_or_else(|| "Success".into())),
                    ),
                    (
                        "last_announce_start_time",
                        json!(unix(t.last_announce).unwrap_or(0)),
                    ),
                    (
                        "last_announce_succeeded",
                        json!(announced && t.last_error.is_none()),
                    ),
                    (
                        "last_announce_time",
                        json!(unix(t.last_announce).unwrap_or(0)),
                    ),
                    ("last_announce_timed_out", json!(false)),
                    ("last_scrape_result", json!("")),
                    ("last_scrape_start_time", json!(0)),
                    ("last_scrape_succeeded", json!(false)),
                    ("last_scrape_time", json!(0)),
                    ("last_scrape_timed_out", json!(false)),
                    ("leecher_count", json!(t.leechers.map_or(-1, i64::from))),
                    (
                        "next_announce_time",
                        json!(unix(t.next_announce).unwrap_or(0)),
                    ),
                    ("next_scrape_time", json!(0)),
                    ("scrape", json!(scrape_url(url))),
                    ("scrape_state", json!(0)),
                    ("seeder_count", json!(t.seeders.map_or(-1, i64::from))),
                    ("sitename", json!(host(url))),
                    ("tier", json!(tier)),
                ])
            })
            .collect::<Vec<_>>()
    )
}

/// `http://host:port/announce` → `host`.
fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let hostport = rest.split(['/', '?']).next().unwrap_or("");
    let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
    host.to_owned()
}

/// The scrape URL of an HTTP announce URL (BEP 48 convention), else "".
fn scrape_url(url: &str) -> String {
    match url.rfind("/announce") {
        Some(i) if url.starts_with("http") => format!("{}/scrape{}", &url[..i], &url[i + 9..]),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_priorities_and_urls() {
        assert_eq!(status(TorrentState::Paused), 0);
        assert_eq!(status(TorrentState::Checking), 2);
        assert_eq!(status(TorrentState::Downloading), 4);
        assert_eq!(status(TorrentState::Seeding), 6);
        assert_eq!(status(TorrentState::Error), 0);
        assert_eq!(
            [0, PRIO_LOW, crate::torrents::PRIO_NORMAL, PRIO_HIGH].map(tr_priority),
            [0, -1, 0, 1]
        );
        assert_eq!(
            host("http://tracker.example:6969/announce?x"),
            "tracker.example"
        );
        assert_eq!(host("udp://10.0.0.1:80"), "10.0.0.1");
        assert_eq!(
            scrape_url("http://t.example/x/announce.php?k=1"),
            "http://t.example/x/scrape.php?k=1"
        );
        assert_eq!(scrape_url("udp://t.example:80"), "");
        assert_eq!(
            crate::views::percent_encode("a b/ü<c>"),
            "a%20b%2F%C3%BC%3Cc%3E"
        );
    }
}
