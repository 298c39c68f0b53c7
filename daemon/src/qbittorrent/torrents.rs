//! qBittorrent's `torrents/*` endpoints: list (with filters and sorting),
//! one torrent's properties, files and trackers, add, delete, stop and
//! start, recheck, categories and tags, share limits, file priorities.

use std::cmp::Ordering;
use std::path::PathBuf;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::params::Hashes;
use super::views::{self, daemon_priority};
use super::{Params, QbError, QbResult, json_response, ok_text, text};
use crate::error::DaemonError;
use crate::http::App;
use crate::torrents::{AddRequest, Added, Snapshot, TorrentRef};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/torrents/info", get(info).post(info))
        .route("/torrents/properties", get(properties).post(properties))
        .route("/torrents/files", get(files).post(files))
        .route("/torrents/trackers", get(trackers).post(trackers))
        .route("/torrents/categories", get(categories).post(categories))
        .route("/torrents/tags", get(tags).post(tags))
        .route("/torrents/add", post(add))
        .route("/torrents/delete", post(delete))
        .route("/torrents/stop", post(stop))
        .route("/torrents/pause", post(stop))
        .route("/torrents/start", post(start))
        .route("/torrents/resume", post(start))
        .route("/torrents/recheck", post(recheck))
        .route("/torrents/setCategory", post(set_category))
        .route("/torrents/createCategory", post(create_category))
        .route("/torrents/editCategory", post(edit_category))
        .route("/torrents/removeCategories", post(remove_categories))
        .route("/torrents/addTags", post(add_tags))
        .route("/torrents/removeTags", post(remove_tags))
        .route("/torrents/setShareLimits", post(set_share_limits))
        .route("/torrents/setDownloadLimit", post(set_download_limit))
        .route("/torrents/setUploadLimit", post(set_upload_limit))
        .route("/torrents/topPrio", post(queue))
        .route("/torrents/bottomPrio", post(queue))
        .route("/torrents/increasePrio", post(queue))
        .route("/torrents/decreasePrio", post(queue))
        .route("/torrents/setForceStart", post(set_force_start))
        .route("/torrents/filePrio", post(file_prio))
        .route("/torrents/addPeers", post(add_peers))
}

/// The torrents `hashes` names that exist (unknown ones are skipped, as
/// qBittorrent skips them in bulk actions).
fn targets(app: &App, p: &Params) -> Result<Vec<TorrentRef>, QbError> {
    Ok(match p.hashes()? {
        Hashes::All => app
            .torrents
            .list()
            .into_iter()
            .map(|s| TorrentRef::Id(s.record.id))
            .collect(),
        Hashes::Some(list) => list
            .into_iter()
            .filter(|r| app.torrents.get(r).is_ok())
            .collect(),
    })
}

/// Whether `s` passes `torrents/info`'s `filter`.
fn passes(filter: &str, s: &Snapshot) -> Result<bool, QbError> {
    let st = views::state(s);
    let complete = s.stats.wanted_bytes > 0 && s.stats.done_bytes >= s.stats.wanted_bytes;
    let moving = s.stats.download_rate >= 1.0 || s.stats.upload_rate >= 1.0;
    Ok(match filter {
        "all" => true,
        "downloading" => {
            matches!(st, "downloading" | "stalledDL" | "metaDL" | "checkingDL")
                || (st == "pausedDL")
        }
        "seeding" => matches!(st, "uploading" | "stalledUP" | "checkingUP"),
        "completed" => complete,
        "paused" | "stopped" => st.starts_with("paused"),
        "resumed" | "running" => !st.starts_with("paused"),
        "active" => moving,
        "inactive" => !moving,
        "stalled" => matches!(st, "stalledDL" | "stalledUP"),
        "stalled_uploading" => st == "stalledUP",
        "stalled_downloading" => st == "stalledDL",
        "checking" => st.starts_with("checking"),
        "moving" => false,
        "errored" => st == "error",
        other => return Err(QbError::bad(format!("unknown filter {other:?}"))),
    })
}

/// Orders two values of one field (numbers, then strings, then booleans).
fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// `torrents/info`: `filter`, `category`, `tag`, `hashes`, `sort`,
/// `reverse`, `limit`, `offset`.
async fn info(State(app): State<App>, p: Params) -> QbResult {
    let settings = app.torrents.settings();
    let filter = p.get("filter").unwrap_or("all");
    let wanted: Option<Vec<String>> = match p.get("hashes") {
        Some(h) if !h.eq_ignore_ascii_case("all") => Some(
            h.split('|')
                .map(|x| x.trim().to_ascii_lowercase())
                .collect(),
        ),
        _ => None,
    };
    let mut out = Vec::new();
    for s in app.torrents.list() {
        if !passes(filter, &s)? {
            continue;
        }
        if let Some(c) = p.get("category") {
            if s.record.category != c {
                continue;
            }
        }
        if let Some(t) = p.get("tag") {
            let untagged = t.is_empty() && s.record.labels.is_empty();
            if !untagged && !s.record.labels.iter().any(|l| l == t) {
                continue;
            }
        }
        if wanted
            .as_ref()
            .is_some_and(|w| !w.contains(&s.record.info_hash))
        {
            continue;
        }
        out.push(views::info(
            &s,
            settings.seed_ratio,
            settings.seed_time_secs,
        ));
    }
    if let Some(key) = p.get("sort") {
        out.sort_by(|a, b| compare(&a[key], &b[key]));
    }
    if p.bool("reverse")? == Some(true) {
        out.reverse();
    }
    let offset = p.int("offset")?.unwrap_or(0);
    let offset = if offset < 0 {
        out.len().saturating_sub(offset.unsigned_abs() as usize)
    } else {
        (offset as usize).min(out.len())
    };
    let mut out: Vec<Value> = out.split_off(offset);
    if let Some(limit) = p.int("limit")?.filter(|l| *l > 0) {
        out.truncate(limit as usize);
    }
    Ok(json_response(Value::Array(out)))
}

async fn properties(State(app): State<App>, p: Params) -> QbResult {
    let r = p.hash()?;
    let s = app.torrents.get(&r)?;
    let (_, h) = app.torrents.handle(&r)?;
    let t = h.tracker_status().await.map_err(DaemonError::from)?;
    Ok(json_response(views::properties(&s, &t)))
}

async fn files(State(app): State<App>, p: Params) -> QbResult {
    let r = p.hash()?;
    let s = app.torrents.get(&r)?;
    let indexes = match p.get("indexes") {
        Some(ix) => Some(
            ix.split('|')
                .map(|i| i.trim().parse::<usize>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| QbError::bad("indexes must be integers separated by |"))?,
        ),
        None => None,
    };
    let (_, h) = app.torrents.handle(&r)?;
    let progress = h.file_progress().await.unwrap_or_default();
    Ok(json_response(views::files(
        &s,
        &progress,
        indexes.as_deref(),
    )))
}

async fn trackers(State(app): State<App>, p: Params) -> QbResult {
    let r = p.hash()?;
    let s = app.torrents.get(&r)?;
    let (_, h) = app.torrents.handle(&r)?;
    let t = h.tracker_status().await.map_err(DaemonError::from)?;
    Ok(json_response(views::trackers(
        &s,
        &t,
        app.torrents.dht_enabled(),
        app.torrents.lsd_enabled(),
    )))
}

/// `torrents/add`: .torrent files (multipart) and `urls` (magnet links,
/// one a line), with `savepath`, `category`, `tags`, `paused`/`stopped`,
/// `upLimit`, `dlLimit`, `ratioLimit`, `seedingTimeLimit`. "Ok." when
/// anything was added; 415 when a .torrent is not valid; "Fails." when
/// every one was there already.
async fn add(State(app): State<App>, p: Params) -> QbResult {
    let paused = p.bool("stopped")?.or(p.bool("paused")?).unwrap_or(false);
    let category = p.get("category").unwrap_or("").to_owned();
    let mut save_path = p
        .get("savepath")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    if save_path.is_none() && !category.is_empty() {
        save_path = app.torrents.category_path(&category);
    }
    let tags: Vec<String> = p
        .get("tags")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let up = p.int("upLimit")?.filter(|l| *l > 0).map(|l| l as u64);
    let down = p.int("dlLimit")?.filter(|l| *l > 0).map(|l| l as u64);
    let ratio = p.float("ratioLimit")?;
    let minutes = p.int("seedingTimeLimit")?;
    let mut requests = Vec::new();
    for (_, bytes) in &p.files {
        requests.push(AddRequest {
            torrent: bytes.clone(),
            ..AddRequest::default()
        });
    }
    for url in p.get("urls").unwrap_or("").lines().map(str::trim) {
        if url.is_empty() {
            continue;
        }
        if !url.starts_with("magnet:") {
            return Err(QbError::bad(format!(
                "only magnet links are taken in `urls` (monsoon does not fetch {url:?})"
            )));
        }
        requests.push(AddRequest {
            magnet: Some(url.to_owned()),
            ..AddRequest::default()
        });
    }
    if requests.is_empty() {
        return Err(QbError::bad("give .torrent files or `urls`"));
    }
    let mut added = 0;
    for mut req in requests {
        req.save_path = save_path.clone();
        req.paused = paused;
        req.labels = tags.clone();
        req.category = category.clone();
        let id = match app.torrents.add(req).await {
            Ok(Added::New(id)) => id,
            Ok(Added::Duplicate(_)) => continue,
            Err(DaemonError::BadTorrent(_)) => {
                return Err(QbError(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Torrent file is not valid.".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        added += 1;
        let r = TorrentRef::Id(id);
        if up.is_some() || down.is_some() {
            app.torrents
                .set_rate_limits(&r, up.unwrap_or(0), down.unwrap_or(0))
                .await?;
        }
        if ratio.is_some() || minutes.is_some() {
            let (ratio, time) = share_limits(ratio, minutes, None, None);
            app.torrents.set_seed_limits(&r, ratio, time).await?;
        }
    }
    Ok(if added > 0 { ok_text() } else { text("Fails.") })
}

/// qBittorrent's share limits (-2: the global one, -1: none) as the
/// daemon's: `None` follows the session; "none" is a limit too large to
/// reach. `old_*` is kept when a value is absent.
fn share_limits(
    ratio: Option<f64>,
    minutes: Option<i64>,
    old_ratio: Option<f64>,
    old_time: Option<u64>,
) -> (Option<f64>, Option<u64>) {
    let ratio = match ratio {
        None => old_ratio,
        Some(r) if r <= -1.5 => None,
        Some(r) if r < 0.0 => Some(f64::from(u32::MAX)),
        Some(r) => Some(r),
    };
    let time = match minutes {
        None => old_time,
        Some(m) if m <= -2 => None,
        Some(m) if m < 0 => Some(u64::from(u32::MAX) * 60),
        Some(m) => Some(m as u64 * 60),
    };
    (ratio, time)
}

async fn delete(State(app): State<App>, p: Params) -> QbResult {
    let with_files = p.bool("deleteFiles")?.unwrap_or(false);
    for r in targets(&app, &p)? {
        app.torrents.remove(&r, with_files).await?;
    }
    Ok(ok_text())
}

async fn stop(State(app): State<App>, p: Params) -> QbResult {
    for r in targets(&app, &p)? {
        app.torrents.pause(&r).await?;
    }
    Ok(ok_text())
}

async fn start(State(app): State<App>, p: Params) -> QbResult {
    for r in targets(&app, &p)? {
        app.torrents.resume(&r).await?;
    }
    Ok(ok_text())
}

async fn recheck(State(app): State<App>, p: Params) -> QbResult {
    for r in targets(&app, &p)? {
        app.torrents.recheck(&r).await?;
    }
    Ok(ok_text())
}

/// `setForceStart` (`value=true`): there is no queue, so it starts them.
async fn set_force_start(State(app): State<App>, p: Params) -> QbResult {
    if p.bool("value")?.unwrap_or(false) {
        for r in targets(&app, &p)? {
            app.torrents.resume(&r).await?;
        }
    }
    Ok(ok_text())
}

/// Queue moves: every torrent runs (there is no queue), so nothing moves.
async fn queue(State(app): State<App>, p: Params) -> QbResult {
    targets(&app, &p)?;
    Ok(ok_text())
}

async fn categories(State(app): State<App>) -> QbResult {
    Ok(json_response(categories_json(&app)))
}

/// `{name: {name, savePath}}`.
pub(super) fn categories_json(app: &App) -> Value {
    let mut out = serde_json::Map::new();
    for (name, c) in app.torrents.settings().categories {
        let path = c
            .save_path
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        out.insert(name.clone(), json!({ "name": name, "savePath": path }));
    }
    Value::Object(out)
}

async fn set_category(State(app): State<App>, p: Params) -> QbResult {
    let name = p.required("category")?.to_owned();
    if !name.is_empty() && !app.torrents.has_category(&name) {
        return Err(QbError(
            StatusCode::CONFLICT,
            "Category name does not exist".into(),
        ));
    }
    for r in targets(&app, &p)? {
        app.torrents.set_category(&r, &name)?;
    }
    Ok(ok_text())
}

async fn create_category(State(app): State<App>, p: Params) -> QbResult {
    let name = p.required("category")?;
    if app.torrents.has_category(name.trim()) {
        return Err(QbError(
            StatusCode::CONFLICT,
            "Category already exists".into(),
        ));
    }
    let path = p.get("savePath").map(std::path::Path::new);
    app.torrents.create_category(name, path)?;
    Ok(ok_text())
}

async fn edit_category(State(app): State<App>, p: Params) -> QbResult {
    let name = p.required("category")?;
    if !app.torrents.has_category(name.trim()) {
        return Err(QbError(
            StatusCode::CONFLICT,
            "Category name does not exist".into(),
        ));
    }
    let path = p.get("savePath").map(std::path::Path::new);
    app.torrents.create_category(name, path)?;
    Ok(ok_text())
}

async fn remove_categories(State(app): State<App>, p: Params) -> QbResult {
    let names: Vec<String> = p
        .required("categories")?
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    app.torrents.remove_categories(&names)?;
    Ok(ok_text())
}

/// Every tag a torrent has.
async fn tags(State(app): State<App>) -> QbResult {
    let mut all: Vec<String> = app
        .torrents
        .list()
        .into_iter()
        .flat_map(|s| s.record.labels)
        .collect();
    all.sort();
    all.dedup();
    Ok(json_response(json!(all)))
}

fn tag_list(p: &Params) -> Result<Vec<String>, QbError> {
    Ok(p.required("tags")?
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect())
}

async fn add_tags(State(app): State<App>, p: Params) -> QbResult {
    let new = tag_list(&p)?;
    for r in targets(&app, &p)? {
        let mut labels = app.torrents.get(&r)?.record.labels;
        labels.extend(new.iter().cloned());
        app.torrents.set_labels(&r, labels)?;
    }
    Ok(ok_text())
}

async fn remove_tags(State(app): State<App>, p: Params) -> QbResult {
    let gone = p.get("tags").map(|_| tag_list(&p)).transpose()?;
    for r in targets(&app, &p)? {
        let mut labels = app.torrents.get(&r)?.record.labels;
        match &gone {
            Some(g) => labels.retain(|l| !g.contains(l)),
            None => labels.clear(),
        }
        app.torrents.set_labels(&r, labels)?;
    }
    Ok(ok_text())
}

/// `setShareLimits`: `ratioLimit` and `seedingTimeLimit` (minutes), -2 for
/// the global limit, -1 for none.
async fn set_share_limits(State(app): State<App>, p: Params) -> QbResult {
    let ratio = p.float("ratioLimit")?;
    let minutes = p.int("seedingTimeLimit")?;
    if ratio.is_none() && minutes.is_none() {
        return Err(QbError::bad("give ratioLimit or seedingTimeLimit"));
    }
    for r in targets(&app, &p)? {
        let rec = app.torrents.get(&r)?.record;
        let (ratio, time) = share_limits(ratio, minutes, rec.seed_ratio, rec.seed_time_secs);
        app.torrents.set_seed_limits(&r, ratio, time).await?;
    }
    Ok(ok_text())
}

async fn set_download_limit(State(app): State<App>, p: Params) -> QbResult {
    let limit = p.int("limit")?.unwrap_or(0).max(0) as u64;
    for r in targets(&app, &p)? {
        let up = app.torrents.get(&r)?.record.upload_limit;
        app.torrents.set_rate_limits(&r, up, limit).await?;
    }
    Ok(ok_text())
}

async fn set_upload_limit(State(app): State<App>, p: Params) -> QbResult {
    let limit = p.int("limit")?.unwrap_or(0).max(0) as u64;
    for r in targets(&app, &p)? {
        let down = app.torrents.get(&r)?.record.download_limit;
        app.torrents.set_rate_limits(&r, limit, down).await?;
    }
    Ok(ok_text())
}

/// `addPeers` (`hashes`, `peers` = `ip:port|[v6]:port`): peers to
/// connect to, besides those the trackers give; answers
/// `{hash: {"added": n, "failed": 0}}` as qBittorrent does. 400 for a bad
/// address.
async fn add_peers(State(app): State<App>, p: Params) -> QbResult {
    let peers = p
        .required("peers")?
        .split('|')
        .map(|a| a.trim().parse::<std::net::SocketAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| QbError::bad("peers must be ip:port separated by |"))?;
    if peers.len() > 200 {
        return Err(QbError::bad("at most 200 peers at once"));
    }
    let mut out = serde_json::Map::new();
    for r in targets(&app, &p)? {
        let hash = app.torrents.get(&r)?.record.info_hash;
        let (_, h) = app.torrents.handle(&r)?;
        h.add_peers(peers.clone())
            .await
            .map_err(DaemonError::from)?;
        out.insert(hash, json!({ "added": peers.len(), "failed": 0 }));
    }
    Ok(json_response(Value::Object(out)))
}

/// `filePrio` (`hash`, `id` = file indexes separated by `|`, `priority`
/// 0, 1, 6 or 7): 400 for a bad priority or id, 404 for an unknown hash,
/// 409 for a file that does not exist or metadata not there yet.
async fn file_prio(State(app): State<App>, p: Params) -> QbResult {
    let r = p.hash()?;
    let prio = p
        .int("priority")?
        .and_then(daemon_priority)
        .ok_or_else(|| QbError::bad("Priority is not valid"))?;
    let ids = p
        .required("id")?
        .split('|')
        .map(|i| i.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| QbError::bad("File IDs must be integers"))?;
    let s = app.torrents.get(&r)?;
    if !s.has_meta {
        return Err(QbError(
            StatusCode::CONFLICT,
            "Torrent's metadata has not yet downloaded".into(),
        ));
    }
    let n = s.record.file_priorities.len();
    if let Some(bad) = ids.iter().find(|&&i| i >= n) {
        return Err(QbError(
            StatusCode::CONFLICT,
            format!("File ID is not valid: {bad}"),
        ));
    }
    app.torrents
        .edit_file_priorities(&r, |prios| {
            for i in ids {
                prios[i] = prio;
            }
            Ok(())
        })
        .await?;
    Ok(ok_text())
}

#[cfg(test)]
mod tests {
    use super::share_limits;

    #[test]
    fn share_limits_follow_qbittorrents_conventions() {
        // -2: the global limit; -1: none; absent: unchanged.
        assert_eq!(
            share_limits(Some(-2.0), Some(-2), Some(1.0), Some(60)),
            (None, None)
        );
        let (r, t) = share_limits(Some(-1.0), Some(-1), None, None);
        assert!(r.unwrap() > 1e9 && t.unwrap() > 1 << 30);
        assert_eq!(
            share_limits(Some(1.5), Some(30), None, None),
            (Some(1.5), Some(1800))
        );
        assert_eq!(
            share_limits(None, None, Some(2.0), Some(5)),
            (Some(2.0), Some(5))
        );
    }
}
