//! Transmission RPC over a real socket, in both spellings: add, get
//! fields, set files, start, stop, verify, remove with data, the session.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::util::{TestDaemon, make_torrent, scratch};

/// A Transmission client doing the session-id handshake.
struct Rpc {
    http: reqwest::Client,
    url: String,
    sid: String,
}

impl Rpc {
    async fn new(d: &TestDaemon) -> Self {
        let http = reqwest::Client::new();
        let url = d.url("/transmission/rpc");
        let r = http.post(&url).body("{}").send().await.unwrap();
        assert_eq!(r.status(), 409);
        let sid = r.headers()["x-transmission-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        Self { http, url, sid }
    }

    async fn call(&self, method: &str, args: Value) -> Value {
        let body = json!({"method": method, "arguments": args, "tag": 42});
        let r = self
            .http
            .post(&self.url)
            .header("X-Transmission-Session-Id", &self.sid)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["tag"], 42);
        v
    }

    /// Arguments of a call that must succeed.
    async fn ok(&self, method: &str, args: Value) -> Value {
        let v = self.call(method, args).await;
        assert_eq!(v["result"], "success", "{method}: {v}");
        v["arguments"].clone()
    }

    async fn torrent(&self, id: u64, fields: &[&str]) -> Value {
        let a = self
            .ok("torrent-get", json!({"ids": [id], "fields": fields}))
            .await;
        a["torrents"][0].clone()
    }

    async fn wait_status(&self, id: u64, status: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let t = self.torrent(id, &["status", "percentDone"]).await;
            if t["status"] == status {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "status {status} not reached: {t}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn transmission_clients_can_drive_the_daemon() {
    let root = scratch("rpc");
    let d = TestDaemon::start(&root, None).await;
    let rpc = Rpc::new(&d).await;

    let s = rpc.ok("session-get", json!({})).await;
    assert_eq!(s["rpc-version"], 17);
    assert_eq!(s["download-dir"], d.downloads.display().to_string());
    assert_eq!(s["session-id"], rpc.sid.as_str());
    // The limits the session runs with, not numbers of Transmission's own.
    let cfg = monsoon_engine::SessionConfig::default();
    assert_eq!(s["peer-limit-per-torrent"], cfg.max_peers_per_torrent);
    assert_eq!(s["peer-limit-global"], cfg.max_peers);
    let s = rpc
        .ok(
            "session_get",
            json!({"fields": ["rpc_version", "peer_port"]}),
        )
        .await;
    assert_eq!(s, json!({"rpc_version": 17, "peer_port": d.peer_port}));

    let torrent = make_torrent(
        &d.downloads,
        "album",
        &[("1.flac", 90_000), ("2.flac", 40_000)],
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(&torrent);
    let bad = rpc
        .call(
            "torrent-add",
            json!({"metainfo": b64, "download-dir": "/etc"}),
        )
        .await;
    assert!(bad["result"].as_str().unwrap().contains("outside"), "{bad}");
    let added = rpc
        .ok(
            "torrent-add",
            json!({"metainfo": b64, "paused": true, "labels": ["music"]}),
        )
        .await;
    let id = added["torrent-added"]["id"].as_u64().unwrap();
    let hash = added["torrent-added"]["hashString"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(added["torrent-added"]["name"], "album");
    let dup = rpc.ok("torrent_add", json!({"metainfo": b64})).await;
    assert_eq!(dup["torrent_duplicate"]["hash_string"], hash.as_str());

    let t = rpc
        .torrent(
            id,
            &[
                "id",
                "hashString",
                "name",
                "status",
                "totalSize",
                "sizeWhenDone",
                "labels",
                "downloadDir",
                "files",
                "fileStats",
                "wanted",
                "priorities",
                "isFinished",
                "error",
                "errorString",
                "eta",
                "addedDate",
                "trackers",
                "trackerStats",
                "peers",
                "uploadRatio",
                "leftUntilDone",
                "noSuchField",
            ],
        )
        .await;
    assert_eq!(t["status"], 0, "added paused: {t}");
    assert_eq!(t["hashString"], hash.as_str());
    assert_eq!(t["totalSize"], 130_000);
    assert_eq!(t["labels"], json!(["music"]));
    assert_eq!(t["downloadDir"], d.downloads.display().to_string());
    assert_eq!(t["files"][1]["name"], "album/2.flac");
    assert_eq!(t["files"][1]["length"], 40_000);
    assert_eq!(
        t["fileStats"][0],
        json!({"bytesCompleted": 0, "wanted": true, "priority": 0})
    );
    assert_eq!(t["wanted"], json!([1, 1]));
    assert_eq!(t["error"], 0);
    assert!(t.get("noSuchField").is_none());
    assert!(t["addedDate"].as_i64().unwrap() > 1_600_000_000);

    // Start it: the data is there, so it is checked and seeds.
    rpc.ok("torrent-start", json!({"ids": [id]})).await;
    let t = rpc.wait_status(id, 6).await;
    assert_eq!(t["percentDone"], 1.0);
    // In snake_case, nested keys too.
    let t = rpc
        .ok(
            "torrent_get",
            json!({"ids": [hash], "fields": ["file_stats", "percent_done"]}),
        )
        .await;
    assert_eq!(t["torrents"][0]["file_stats"][1]["bytes_completed"], 40_000);
    assert_eq!(t["torrents"][0]["percent_done"], 1.0);
    let t = rpc.torrent(id, &["peer-limit", "maxConnectedPeers"]).await;
    let limit = monsoon_engine::SessionConfig::default().max_peers_per_torrent;
    assert_eq!(t, json!({"peer-limit": limit, "maxConnectedPeers": limit}));

    // Skip a file, raise the other.
    rpc.ok(
        "torrent-set",
        json!({"ids": [id], "files-unwanted": [1], "priority-high": [0]}),
    )
    .await;
    let t = rpc
        .torrent(id, &["wanted", "priorities", "sizeWhenDone"])
        .await;
    assert_eq!(t["wanted"], json!([1, 0]));
    assert_eq!(t["priorities"], json!([1, 0]));
    assert!(t["sizeWhenDone"].as_u64().unwrap() < 130_000);
    rpc.ok(
        "torrent-set",
        json!({"ids": id, "uploadLimit": 50, "uploadLimited": true, "labels": ["a", "b"]}),
    )
    .await;
    let t = rpc
        .torrent(id, &["uploadLimit", "uploadLimited", "labels"])
        .await;
    assert_eq!(
        t,
        json!({"uploadLimit": 50, "uploadLimited": true, "labels": ["a", "b"]})
    );

    rpc.ok("torrent-stop", json!({"ids": [id]})).await;
    rpc.wait_status(id, 0).await;
    rpc.ok("torrent-start", json!({"ids": [id]})).await;
    rpc.wait_status(id, 6).await;
    rpc.ok("torrent-verify", json!({"ids": [id]})).await;
    rpc.wait_status(id, 6).await;
    rpc.ok("queue-move-top", json!({"ids": [id]})).await;

    let recent = rpc
        .ok(
            "torrent-get",
            json!({"ids": "recently-active", "fields": ["id"]}),
        )
        .await;
    assert_eq!(recent["torrents"], json!([{"id": id}]));
    assert_eq!(recent["removed"], json!([]));
    let table = rpc
        .ok(
            "torrent-get",
            json!({"fields": ["id", "name"], "format": "table"}),
        )
        .await;
    assert_eq!(table["torrents"], json!([["id", "name"], [id, "album"]]));

    rpc.ok(
        "session-set",
        json!({"speed-limit-down": 100, "speed-limit-down-enabled": true}),
    )
    .await;
    let s = rpc
        .ok(
            "session-get",
            json!({"fields": ["speed-limit-down", "speed-limit-down-enabled"]}),
        )
        .await;
    assert_eq!(
        s,
        json!({"speed-limit-down": 100, "speed-limit-down-enabled": true})
    );
    let stats = rpc.ok("session-stats", json!({})).await;
    assert_eq!(stats["torrentCount"], 1);
    assert_eq!(stats["cumulative-stats"]["filesAdded"], 1);
    let stats = rpc.ok("session_stats", json!({})).await;
    assert_eq!(stats["current_stats"]["files_added"], 0);
    let free = rpc
        .ok(
            "free-space",
            json!({"path": d.downloads.display().to_string()}),
        )
        .await;
    assert!(free["size-bytes"].as_u64().unwrap() > 0);
    assert!(free["total_size"].as_u64().unwrap() >= free["size-bytes"].as_u64().unwrap());
    let out = rpc.call("free-space", json!({"path": "/"})).await;
    assert_ne!(out["result"], "success");

    // Errors are answers, not crashes.
    let v = rpc.call("no-such-method", json!({})).await;
    assert_eq!(v["result"], "method name not recognized");
    let v = rpc.call("torrent-stop", json!({"ids": [999]})).await;
    assert!(
        v["result"].as_str().unwrap().contains("no torrent 999"),
        "{v}"
    );
    let v = rpc.call("torrent-add", json!({"metainfo": "!!!"})).await;
    assert!(v["result"].as_str().unwrap().contains("base64"), "{v}");
    let v = rpc
        .call("torrent-add", json!({"filename": "magnet:?xt=urn:btih:00"}))
        .await;
    assert!(v["result"].as_str().unwrap().contains("magnet"), "{v}");
    let r = rpc
        .http
        .post(&rpc.url)
        .header("X-Transmission-Session-Id", &rpc.sid)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    rpc.ok(
        "torrent-remove",
        json!({"ids": [id], "delete-local-data": true}),
    )
    .await;
    assert!(!d.downloads.join("album").exists(), "data deleted");
    let recent = rpc
        .ok(
            "torrent-get",
            json!({"ids": "recently-active", "fields": ["id"]}),
        )
        .await;
    assert_eq!(recent["torrents"], json!([]));
    assert_eq!(recent["removed"], json!([id]));
    d.stop().await;
}
