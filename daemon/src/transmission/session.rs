//! `session-get`, `session-set`, `session-stats` and `free-space`.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::names::Style;
use super::request::{RpcRequest, canonical_key};
use crate::http::App;

/// The rpc-version we speak (Transmission 4.0's; snake_case requests of
/// version 18 are understood too).
pub(crate) const RPC_VERSION: u32 = 17;

/// Every session field, in snake_case.
async fn all_fields(app: &App) -> Vec<(&'static str, Value)> {
    let t = &app.torrents;
    let s = t.settings();
    let dir = t.default_dir();
    let free = crate::free_space::free_space(&dir).map_or(-1, |(f, _)| f as i64);
    let kb = |b: u64| b.div_ceil(1000);
    let port = t.listen_port().await.unwrap_or(0);
    vec![
        ("alt_speed_down", json!(0)),
        ("alt_speed_enabled", json!(false)),
        ("alt_speed_time_begin", json!(0)),
        ("alt_speed_time_day", json!(0)),
        ("alt_speed_time_enabled", json!(false)),
        ("alt_speed_time_end", json!(0)),
        ("alt_speed_up", json!(0)),
        ("blocklist_enabled", json!(false)),
        ("blocklist_size", json!(0)),
        ("blocklist_url", json!("")),
        ("cache_size_mb", json!(0)),
        ("config_dir", json!(t.state_dir().display().to_string())),
        ("default_trackers", json!("")),
        ("dht_enabled", json!(true)),
        ("download_dir", json!(dir.display().to_string())),
        ("download_dir_free_space", json!(free)),
        ("download_queue_enabled", json!(false)),
        ("download_queue_size", json!(0)),
        ("encryption", json!("tolerated")),
        (
            "idle_seeding_limit",
            json!(s.seed_time_secs.map_or(0, |t| t / 60)),
        ),
        ("idle_seeding_limit_enabled", json!(false)),
        ("incomplete_dir", json!("")),
        ("incomplete_dir_enabled", json!(false)),
        ("lpd_enabled", json!(false)),
        ("peer_limit_global", json!(t.peer_limits().0)),
        ("peer_limit_per_torrent", json!(t.peer_limits().1)),
        ("peer_port", json!(port)),
        ("peer_port_random_on_start", json!(false)),
        ("pex_enabled", json!(true)),
        ("port_forwarding_enabled", json!(false)),
        ("queue_stalled_enabled", json!(false)),
        ("queue_stalled_minutes", json!(30)),
        ("rename_partial_files", json!(false)),
        ("rpc_version", json!(RPC_VERSION)),
        ("rpc_version_minimum", json!(14)),
        ("rpc_version_semver", json!("5.3.0")),
        ("script_torrent_added_enabled", json!(false)),
        ("script_torrent_added_filename", json!("")),
        ("script_torrent_done_enabled", json!(false)),
        ("script_torrent_done_filename", json!("")),
        ("script_torrent_done_seeding_enabled", json!(false)),
        ("script_torrent_done_seeding_filename", json!("")),
        ("seed_queue_enabled", json!(false)),
        ("seed_queue_size", json!(0)),
        ("seed_ratio_limit", json!(s.seed_ratio.unwrap_or(2.0))),
        ("seed_ratio_limited", json!(s.seed_ratio.is_some())),
        ("session_id", json!(app.auth.session_id())),
        ("speed_limit_down", json!(kb(s.download_limit))),
        ("speed_limit_down_enabled", json!(s.download_limit > 0)),
        ("speed_limit_up", json!(kb(s.upload_limit))),
        ("speed_limit_up_enabled", json!(s.upload_limit > 0)),
        ("start_added_torrents", json!(true)),
        ("trash_original_torrent_files", json!(false)),
        (
            "units",
            json!({
                "speed-units": ["kB/s", "MB/s", "GB/s", "TB/s"],
                "speed-bytes": 1000,
                "size-units": ["kB", "MB", "GB", "TB"],
                "size-bytes": 1000,
                "memory-units": ["KiB", "MiB", "GiB", "TiB"],
                "memory-bytes": 1024,
            }),
        ),
        ("utp_enabled", json!(false)),
        (
            "version",
            json!(format!("monsoon {}", env!("CARGO_PKG_VERSION"))),
        ),
    ]
}

pub(crate) async fn get(app: &App, req: &RpcRequest) -> Result<Value, String> {
    let all = all_fields(app).await;
    let style = if req.snake {
        Style::Snake
    } else {
        Style::Kebab
    };
    let mut out = Map::new();
    match req.strings("fields").map_err(|e| e.to_string())? {
        Some(fields) if !fields.is_empty() => {
            for f in fields {
                let c = canonical_key(&f);
                if let Some((_, v)) = all.iter().find(|(k, _)| *k == c) {
                    out.insert(f, v.clone());
                }
            }
        }
        _ => {
            for (k, v) in all {
                out.insert(style.key(k), v);
            }
        }
    }
    Ok(Value::Object(out))
}

/// Speed limits (kB/s, with their `_enabled` switches), the download
/// folder and the seeding ratio; other keys are accepted and ignored.
pub(crate) async fn set(app: &App, req: &RpcRequest) -> Result<Value, String> {
    let e = |e: super::request::RpcRequestError| e.to_string();
    let t = &app.torrents;
    let s = t.settings();
    let limit = |value: Option<u64>, enabled: Option<bool>, current: u64| match (value, enabled) {
        (_, Some(false)) => 0,
        (Some(v), _) => v.saturating_mul(1000),
        (None, _) => current,
    };
    let down = limit(
        req.u64("speed_limit_down").map_err(e)?,
        req.bool("speed_limit_down_enabled").map_err(e)?,
        s.download_limit,
    );
    let up = limit(
        req.u64("speed_limit_up").map_err(e)?,
        req.bool("speed_limit_up_enabled").map_err(e)?,
        s.upload_limit,
    );
    if (up, down) != (s.upload_limit, s.download_limit) {
        t.set_session_limits(up, down).await;
    }
    let ratio = req.f64("seed_ratio_limit").map_err(e)?;
    let limited = req.bool("seed_ratio_limited").map_err(e)?;
    if ratio.is_some() || limited.is_some() {
        if ratio.is_some_and(|r| r < 0.0) {
            return Err("seedRatioLimit must not be negative".into());
        }
        let new = match (limited, ratio) {
            (Some(false), _) => None,
            (_, Some(r)) => Some(r),
            (Some(true), None) => Some(s.seed_ratio.unwrap_or(2.0)),
            (None, None) => s.seed_ratio,
        };
        t.set_session_seed_limits(new, s.seed_time_secs).await;
    }
    if let Some(dir) = req.str("download_dir").map_err(e)? {
        t.set_download_dir(Path::new(dir))
            .map_err(|e| e.to_string())?;
    }
    Ok(json!({}))
}

pub(crate) async fn stats(app: &App, req: &RpcRequest) -> Result<Value, String> {
    let v = crate::sse::session_stats(app).await;
    let style = if req.snake {
        Style::Snake
    } else {
        Style::Camel
    };
    let block = |o: &Value, seconds: &str| {
        style.object(vec![
            ("uploaded_bytes", o["uploaded"].clone()),
            ("downloaded_bytes", o["downloaded"].clone()),
            (
                "files_added",
                o.get("files_added").cloned().unwrap_or(json!(0)),
            ),
            (
                "session_count",
                o.get("sessions").cloned().unwrap_or(json!(1)),
            ),
            ("seconds_active", o[seconds].clone()),
        ])
    };
    let mut out = Map::new();
    for (k, val) in [
        ("active_torrent_count", v["active"].clone()),
        ("download_speed", v["download_rate"].clone()),
        ("paused_torrent_count", v["paused"].clone()),
        ("torrent_count", v["torrents"].clone()),
        ("upload_speed", v["upload_rate"].clone()),
    ] {
        out.insert(style.key(k), val);
    }
    let kebab = |k: &str| {
        if req.snake {
            k.to_owned()
        } else {
            k.replace('_', "-")
        }
    };
    out.insert(
        kebab("cumulative_stats"),
        block(&v["cumulative"], "seconds"),
    );
    out.insert(kebab("current_stats"), block(&v["session"], "seconds"));
    Ok(Value::Object(out))
}

/// Free space of a folder inside the allowed ones.
pub(crate) async fn free_space(app: &App, req: &RpcRequest) -> Result<Value, String> {
    let path = req
        .str("path")
        .map_err(|e| e.to_string())?
        .ok_or("free-space needs `path`")?;
    let dir = app
        .torrents
        .resolve(Path::new(path))
        .map_err(|e| e.to_string())?;
    let (free, total) = crate::free_space::free_space(&dir).map_err(|e| format!("{path}: {e}"))?;
    let size = if req.snake {
        "size_bytes"
    } else {
        "size-bytes"
    };
    Ok(json!({ "path": path, size: free, "total_size": total }))
}
