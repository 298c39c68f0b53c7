//! `torrent-add`, `torrent-start` / `-stop` / `-verify` / `-remove`,
//! `torrent-set` and the queue moves.

use std::path::Path;

use base64::Engine;
use serde_json::{Value, json};

use super::names::Style;
use super::request::{Ids, RpcRequest, RpcRequestError};
use super::select;
use crate::error::DaemonError;
use crate::http::App;
use crate::torrents::{AddRequest, Added, PRIO_HIGH, PRIO_LOW, PRIO_NORMAL, TorrentRef};

fn e(err: RpcRequestError) -> String {
    err.to_string()
}

fn d(err: DaemonError) -> String {
    err.to_string()
}

/// The torrents `ids` names; an unknown id or hash is an error.
fn refs(app: &App, req: &RpcRequest) -> Result<Vec<TorrentRef>, String> {
    let ids = req.ids().map_err(e)?;
    if let Ids::Some(list) = &ids {
        for r in list {
            let r = match r {
                super::request::IdRef::Id(i) => TorrentRef::Id(*i),
                super::request::IdRef::Hash(h) => TorrentRef::Hash(h.clone()),
            };
            app.torrents.get(&r).map_err(d)?;
        }
    }
    Ok(select(app, &ids)
        .into_iter()
        .map(|s| TorrentRef::Id(s.record.id))
        .collect())
}

pub(crate) async fn add(app: &App, req: &RpcRequest) -> Result<Value, String> {
    let mut add = AddRequest {
        paused: req.bool("paused").map_err(e)?.unwrap_or(false),
        labels: req.strings("labels").map_err(e)?.unwrap_or_default(),
        save_path: req.str("download_dir").map_err(e)?.map(Into::into),
        ..AddRequest::default()
    };
    if let Some(b64) = req.str("metainfo").map_err(e)? {
        let clean: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        add.torrent = base64::engine::general_purpose::STANDARD
            .decode(clean.as_bytes())
            .map_err(|_| "metainfo is not valid base64".to_owned())?;
    } else if let Some(name) = req.str("filename").map_err(e)? {
        if name.trim_start().starts_with("magnet:") {
            add.magnet = Some(name.to_owned());
        } else if name.contains("://") {
            return Err(
                "adding from a URL is not supported; send the .torrent as `metainfo`".into(),
            );
        } else {
            add.torrent = crate::api::read_torrent_path(app, Path::new(name)).map_err(d)?;
        }
    } else {
        return Err("torrent-add needs `filename` or `metainfo`".into());
    }
    if add.magnet.is_none() {
        let meta = monsoon_engine::Metainfo::from_bytes(&add.torrent)
            .map_err(|err| d(DaemonError::BadTorrent(err)))?;
        let n = meta.files.len();
        let mut prios = vec![PRIO_NORMAL; n];
        let edited = apply_file_args(req, &mut prios)?;
        if edited {
            add.file_priorities = Some(prios);
        }
    }
    let added = app.torrents.add(add).await.map_err(d)?;
    let (key, id) = match added {
        Added::New(id) => ("torrent_added", id),
        Added::Duplicate(id) => ("torrent_duplicate", id),
    };
    let s = app.torrents.get(&TorrentRef::Id(id)).map_err(d)?;
    let style = if req.snake {
        Style::Snake
    } else {
        Style::Camel
    };
    let obj = style.object(vec![
        ("id", json!(id)),
        ("name", json!(s.meta.name)),
        ("hash_string", json!(s.record.info_hash)),
    ]);
    let key = if req.snake {
        key.to_owned()
    } else {
        key.replace('_', "-")
    };
    Ok(json!({ key: obj }))
}

/// `files_wanted`, `files_unwanted`, `priority_high/normal/low` applied
/// to `prios` (an empty list means every file). Returns whether any was
/// given.
fn apply_file_args(req: &RpcRequest, prios: &mut [u8]) -> Result<bool, String> {
    let n = prios.len();
    let mut any = false;
    let mut each = |key: &str, f: &mut dyn FnMut(&mut u8)| -> Result<(), String> {
        let Some(list) = req.indices(key).map_err(e)? else {
            return Ok(());
        };
        any = true;
        if list.is_empty() {
            prios.iter_mut().for_each(&mut *f);
        }
        for i in list {
            let p = prios
                .get_mut(i)
                .ok_or_else(|| format!("`{key}`: no file {i} (the torrent has {n})"))?;
            f(p);
        }
        Ok(())
    };
    // Priorities first, then wanted/unwanted, so that "unwanted" wins.
    each("priority_high", &mut |p| {
        *p = if *p == 0 { 0 } else { PRIO_HIGH }
    })?;
    each("priority_low", &mut |p| {
        *p = if *p == 0 { 0 } else { PRIO_LOW }
    })?;
    each("priority_normal", &mut |p| {
        *p = if *p == 0 { 0 } else { PRIO_NORMAL }
    })?;
    each("files_wanted", &mut |p| {
        if *p == 0 {
            *p = PRIO_NORMAL;
        }
    })?;
    each("files_unwanted", &mut |p| *p = 0)?;
    Ok(any)
}

pub(crate) async fn start(app: &App, req: &RpcRequest) -> Result<Value, String> {
    for r in refs(app, req)? {
        app.torrents.resume(&r).await.map_err(d)?;
    }
    Ok(json!({}))
}

pub(crate) async fn stop(app: &App, req: &RpcRequest) -> Result<Value, String> {
    for r in refs(app, req)? {
        app.torrents.pause(&r).await.map_err(d)?;
    }
    Ok(json!({}))
}

pub(crate) async fn verify(app: &App, req: &RpcRequest) -> Result<Value, String> {
    for r in refs(app, req)? {
        app.torrents.recheck(&r).await.map_err(d)?;
    }
    Ok(json!({}))
}

pub(crate) async fn remove(app: &App, req: &RpcRequest) -> Result<Value, String> {
    let delete = req.bool("delete_local_data").map_err(e)?.unwrap_or(false);
    for r in refs(app, req)? {
        app.torrents.remove(&r, delete).await.map_err(d)?;
    }
    Ok(json!({}))
}

/// Checks the ids (there is no queue: every torrent runs).
pub(crate) async fn queue_move(app: &App, req: &RpcRequest) -> Result<Value, String> {
    refs(app, req)?;
    Ok(json!({}))
}

pub(crate) async fn set(app: &App, req: &RpcRequest) -> Result<Value, String> {
    let targets = refs(app, req)?;
    let labels = req.strings("labels").map_err(e)?;
    let up = (
        req.u64("upload_limit").map_err(e)?,
        req.bool("upload_limited").map_err(e)?,
    );
    let down = (
        req.u64("download_limit").map_err(e)?,
        req.bool("download_limited").map_err(e)?,
    );
    let ratio = req.f64("seed_ratio_limit").map_err(e)?;
    let ratio_mode = req.i64("seed_ratio_mode").map_err(e)?;
    if ratio.is_some_and(|r| r < 0.0) {
        return Err("seedRatioLimit must not be negative".into());
    }
    for r in targets {
        let snap = app.torrents.get(&r).map_err(d)?;
        let mut prios = snap.record.file_priorities.clone();
        if apply_file_args(req, &mut prios)? && prios != snap.record.file_priorities {
            app.torrents
                .set_file_priorities(&r, prios)
                .await
                .map_err(d)?;
        }
        let limit = |(v, on): (Option<u64>, Option<bool>), cur: u64| match (v, on) {
            (_, Some(false)) => 0,
            (Some(v), _) => v.saturating_mul(1000),
            (None, _) => cur,
        };
        let new_up = limit(up, snap.record.upload_limit);
        let new_down = limit(down, snap.record.download_limit);
        if (new_up, new_down) != (snap.record.upload_limit, snap.record.download_limit) {
            app.torrents
                .set_rate_limits(&r, new_up, new_down)
                .await
                .map_err(d)?;
        }
        if ratio.is_some() || ratio_mode.is_some() {
            // Mode 0: the session's; 1: this torrent's; 2: no limit.
            let new = match (ratio_mode, ratio) {
                (Some(0), _) => None,
                (Some(2), _) => Some(-1.0),
                (_, Some(x)) => Some(x),
                (Some(_), None) => snap.record.seed_ratio.filter(|x| *x >= 0.0).or(Some(2.0)),
                (None, None) => snap.record.seed_ratio,
            };
            app.torrents
                .set_seed_limits(&r, new, snap.record.seed_time_secs)
                .await
                .map_err(d)?;
        }
        if let Some(l) = &labels {
            app.torrents.set_labels(&r, l.clone()).map_err(d)?;
        }
    }
    Ok(json!({}))
}
