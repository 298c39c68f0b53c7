//! `sync/maindata`: everything at once, then only what changed. Each
//! answer gets a new `rid`; a client that sends it back gets the
//! difference from that answer (changed fields of changed torrents,
//! removed hashes, categories and tags that came or went, changed server
//! state). An unknown or forgotten `rid` gets everything again
//! (`full_update`).

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::extract::State;
use serde_json::{Map, Value, json};

use super::{Params, QbResult, json_response, torrents::categories_json, transfer, views};
use crate::http::App;

/// Answers remembered to diff against.
const KEEP: usize = 64;

/// The last answers, by rid.
#[derive(Debug, Default)]
pub(crate) struct SyncHistory {
    next: u64,
    kept: VecDeque<(u64, Value)>,
}

impl SyncHistory {
    /// Files `full` under a new rid; returns it and the answer `since`
    /// had, if still kept.
    fn record(&mut self, since: u64, full: Value) -> (u64, Option<Value>) {
        let old = self
            .kept
            .iter()
            .find(|(rid, _)| *rid == since && since != 0)
            .map(|(_, v)| v.clone());
        self.next += 1;
        if self.kept.len() >= KEEP {
            self.kept.pop_front();
        }
        self.kept.push_back((self.next, full));
        (self.next, old)
    }
}

/// Every torrent, category and tag, and the server state.
fn full(app: &App) -> Value {
    let settings = app.torrents.settings();
    let mut torrents = Map::new();
    let mut tags: Vec<String> = Vec::new();
    for s in app.torrents.list() {
        tags.extend(s.record.labels.iter().cloned());
        torrents.insert(
            s.record.info_hash.clone(),
            views::info(&s, settings.seed_ratio, settings.seed_time_secs),
        );
    }
    tags.sort();
    tags.dedup();
    let mut server = transfer(app);
    let c = settings.cumulative;
    let (sent, received) = app.torrents.session_bytes();
    if let Some(o) = server.as_object_mut() {
        o.insert("alltime_dl".into(), json!(c.downloaded + received));
        o.insert("alltime_ul".into(), json!(c.uploaded + sent));
        o.insert("queueing".into(), json!(false));
        o.insert("refresh_interval".into(), json!(1500));
        o.insert("use_alt_speed_limits".into(), json!(false));
        let free =
            crate::free_space::free_space(&app.torrents.default_dir()).map_or(0, |(free, _)| free);
        o.insert("free_space_on_disk".into(), json!(free));
    }
    json!({
        "torrents": torrents,
        "categories": categories_json(app),
        "tags": tags,
        "server_state": server,
    })
}

/// The fields of `new` that differ from `old` (all of them for a new key).
fn changed(old: &Map<String, Value>, new: &Map<String, Value>) -> Map<String, Value> {
    new.iter()
        .filter(|(k, v)| old.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The difference between two full answers.
fn delta(old: &Value, new: &Value) -> Value {
    let empty = Map::new();
    let obj = |v: &Value, k: &str| v[k].as_object().cloned().unwrap_or_default();
    let (old_t, new_t) = (obj(old, "torrents"), obj(new, "torrents"));
    let mut torrents = Map::new();
    for (hash, t) in &new_t {
        let t = t.as_object().unwrap_or(&empty);
        let before = old_t.get(hash).and_then(Value::as_object);
        let diff = match before {
            Some(b) => changed(b, t),
            None => t.clone(),
        };
        if !diff.is_empty() {
            torrents.insert(hash.clone(), Value::Object(diff));
        }
    }
    let removed: Vec<&String> = old_t.keys().filter(|h| !new_t.contains_key(*h)).collect();
    let (old_c, new_c) = (obj(old, "categories"), obj(new, "categories"));
    let categories = changed(&old_c, &new_c);
    let categories_removed: Vec<&String> =
        old_c.keys().filter(|c| !new_c.contains_key(*c)).collect();
    let list = |v: &Value| -> Vec<String> {
        v["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (old_tags, new_tags) = (list(old), list(new));
    let tags: Vec<&String> = new_tags.iter().filter(|t| !old_tags.contains(t)).collect();
    let tags_removed: Vec<&String> = old_tags.iter().filter(|t| !new_tags.contains(t)).collect();
    let server = changed(&obj(old, "server_state"), &obj(new, "server_state"));
    let mut out = Map::new();
    out.insert("full_update".into(), json!(false));
    if !torrents.is_empty() {
        out.insert("torrents".into(), Value::Object(torrents));
    }
    if !removed.is_empty() {
        out.insert("torrents_removed".into(), json!(removed));
    }
    if !categories.is_empty() {
        out.insert("categories".into(), Value::Object(categories));
    }
    if !categories_removed.is_empty() {
        out.insert("categories_removed".into(), json!(categories_removed));
    }
    if !tags.is_empty() {
        out.insert("tags".into(), json!(tags));
    }
    if !tags_removed.is_empty() {
        out.insert("tags_removed".into(), json!(tags_removed));
    }
    if !server.is_empty() {
        out.insert("server_state".into(), Value::Object(server));
    }
    Value::Object(out)
}

/// `sync/maindata?rid=N`.
pub(crate) async fn maindata(State(app): State<App>, p: Params) -> QbResult {
    let since = p.int("rid")?.unwrap_or(0).max(0) as u64;
    let now = full(&app);
    let (rid, old) = {
        let mut h = app.qb_sync.lock().unwrap_or_else(|e| e.into_inner());
        h.record(since, now.clone())
    };
    let mut answer = match old {
        Some(old) => delta(&old, &now),
        None => {
            let mut v = now;
            v["full_update"] = json!(true);
            v
        }
    };
    answer["rid"] = json!(rid);
    Ok(json_response(answer))
}

/// Shared by the handlers: the history behind the daemon's `App`.
pub(crate) type Shared = std::sync::Arc<Mutex<SyncHistory>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn state(torrents: Value, cats: Value, tags: Value, dl: u64) -> Value {
        json!({
            "torrents": torrents, "categories": cats, "tags": tags,
            "server_state": { "dl_info_speed": dl, "connection_status": "connected" },
        })
    }

    #[test]
    fn deltas_carry_only_what_changed() {
        let a = state(
            json!({"h1": {"name": "one", "progress": 0.5}, "h2": {"name": "two", "progress": 1.0}}),
            json!({"tv": {"name": "tv", "savePath": ""}}),
            json!(["x"]),
            10,
        );
        let b = state(
            json!({"h1": {"name": "one", "progress": 0.75}, "h3": {"name": "three", "progress": 0.0}}),
            json!({"films": {"name": "films", "savePath": "/f"}}),
            json!(["x", "y"]),
            10,
        );
        let d = delta(&a, &b);
        assert_eq!(d["full_update"], false);
        assert_eq!(d["torrents"]["h1"], json!({"progress": 0.75}));
        assert_eq!(d["torrents"]["h3"]["name"], "three");
        assert_eq!(d["torrents_removed"], json!(["h2"]));
        assert_eq!(
            d["categories"],
            json!({"films": {"name": "films", "savePath": "/f"}})
        );
        assert_eq!(d["categories_removed"], json!(["tv"]));
        assert_eq!(d["tags"], json!(["y"]));
        assert!(d.get("tags_removed").is_none());
        assert!(d.get("server_state").is_none(), "{d}");
        // No change at all: only full_update.
        assert_eq!(delta(&b, &b), json!({"full_update": false}));
    }

    #[test]
    fn rids_are_new_each_time_and_unknown_ones_get_everything() {
        let mut h = SyncHistory::default();
        let (r1, old) = h.record(0, json!(1));
        assert_eq!(old, None);
        let (r2, old) = h.record(r1, json!(2));
        assert!(r2 > r1);
        assert_eq!(old, Some(json!(1)));
        assert_eq!(h.record(999, json!(3)).1, None);
        for i in 0..KEEP as u64 + 1 {
            h.record(0, json!(i));
        }
        assert_eq!(h.record(r2, json!(0)).1, None, "forgotten past {KEEP}");
    }
}
