//! The own API over a real socket: add, list, get, pause, resume, files,
//! limits, remove with data; a download from another daemon, watched
//! through the event stream; bad input of every kind.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::util::{Api, TestDaemon, data, make_torrent, scratch};

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn add_check_pause_resume_files_limits_and_remove_with_data() {
    let root = scratch("api");
    let d = TestDaemon::start(&root, None).await;
    let api = Api::new(&d).await;
    assert_eq!(api.get("/torrents").await, json!([]));
    // The data is already in a folder under the download folder.
    let seed_dir = d.downloads.join("seeded");
    std::fs::create_dir_all(&seed_dir).unwrap();
    let torrent = make_torrent(
        &seed_dir,
        "pack",
        &[("a.bin", 100_000), ("sub/b.bin", 70_000)],
    );
    let (status, t) = api.add(&torrent, "?save_path=seeded&labels=x,y").await;
    assert_eq!(status, 201, "{t}");
    let id = t["id"].as_u64().unwrap();
    assert_eq!(t["name"], "pack");
    assert_eq!(t["labels"], json!(["x", "y"]));
    assert_eq!(t["save_path"], seed_dir.display().to_string());
    let t = api
        .wait_for(id, LIMIT, "seeding", |t| t["state"] == "seeding")
        .await;
    assert_eq!(t["progress"], 1.0);
    // The check read every byte.
    assert_eq!(t["bytes_read"], 170_000);
    assert!(t["done_date"].as_i64().is_some());
    let files = api.get(&format!("/torrents/{id}/files")).await;
    assert_eq!(files[0]["path"], "pack/a.bin");
    assert_eq!(files[1]["done"], 70_000);
    assert_eq!(files[1]["priority"], 4);
    let list = api.get("/torrents").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let by_hash = api
        .get(&format!("/torrents/{}", t["hash"].as_str().unwrap()))
        .await;
    assert_eq!(by_hash["id"], id);

    let (s, _) = api
        .send(Method::POST, &format!("/torrents/{id}/pause"), None)
        .await;
    assert_eq!(s, 204);
    let t = api
        .wait_for(id, LIMIT, "paused", |t| t["state"] == "paused")
        .await;
    assert_eq!(t["paused"], true);
    let (s, _) = api
        .send(Method::POST, &format!("/torrents/{id}/resume"), None)
        .await;
    assert_eq!(s, 204);
    api.wait_for(id, LIMIT, "seeding again", |t| {
        t["state"] == "seeding" && t["paused"] == false
    })
    .await;

    // Skip the second file: wanted bytes shrink.
    let (s, e) = api
        .send(
            Method::PUT,
            &format!("/torrents/{id}/files"),
            Some(json!({"indices": [1], "priority": 0})),
        )
        .await;
    assert_eq!(s, 204, "{e}");
    let t = api
        .wait_for(id, LIMIT, "wanted", |t| t["wanted"] != 170_000)
        .await;
    assert!(t["wanted"].as_u64().unwrap() < 170_000, "{t}");
    assert_eq!(
        api.get(&format!("/torrents/{id}/files")).await[1]["priority"],
        0
    );

    let (s, _) = api
        .send(
            Method::PUT,
            &format!("/torrents/{id}/limits"),
            Some(json!({"upload": 1000, "seed_ratio": 2.5})),
        )
        .await;
    assert_eq!(s, 204);
    let t = api.get(&format!("/torrents/{id}")).await;
    assert_eq!(
        t["limits"],
        json!({"upload": 1000, "download": 0, "seed_ratio": 2.5, "seed_time_secs": null})
    );
    let (s, l) = api
        .send(
            Method::PUT,
            "/session/limits",
            Some(json!({"download": 5000})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(l["download"], 5000);
    assert_eq!(api.get("/session/limits").await["download"], 5000);
    let (s, _) = api
        .send(
            Method::PUT,
            &format!("/torrents/{id}/labels"),
            Some(json!({"labels": ["tv"]})),
        )
        .await;
    assert_eq!(s, 204);
    let stats = api.get("/session/stats").await;
    assert_eq!(stats["torrents"], 1);
    let trackers = api.get(&format!("/torrents/{id}/trackers")).await;
    assert_eq!(trackers["tiers"], json!([]));
    assert!(api.get(&format!("/torrents/{id}/peers")).await.is_array());

    // The state directory holds it.
    let hash = t["hash"].as_str().unwrap().to_owned();
    let record = d.state.join("torrents").join(format!("{hash}.json"));
    let saved: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(saved["labels"], json!(["tv"]));
    assert_eq!(saved["file_priorities"], json!([4, 0]));

    let (s, _) = api
        .send(
            Method::DELETE,
            &format!("/torrents/{id}?delete_data=true"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(api.get("/torrents").await, json!([]));
    assert!(!seed_dir.join("pack").exists(), "the data is deleted");
    assert!(!record.exists(), "the record is deleted");
    let (s, e) = api
        .send(Method::GET, &format!("/torrents/{id}"), None)
        .await;
    assert_eq!((s, e["error"].as_str()), (404, Some("not_found")));
    d.stop().await;
}

/// Reads server-sent events until one of kind `event` satisfies `ok`.
async fn wait_event(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    event: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no `{event}` event in time"))
            .expect("stream open")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let kind = block.lines().find_map(|l| l.strip_prefix("event: "));
            let body: String = block
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            if kind == Some(event) {
                let v: Value = serde_json::from_str(&body).unwrap();
                if ok(&v) {
                    return v;
                }
            }
        }
    }
}

#[tokio::test]
async fn a_daemon_downloads_from_another_and_the_event_stream_follows() {
    let root = scratch("swarm");
    let seeder = TestDaemon::start(&root.join("a"), None).await;
    let leecher = TestDaemon::start(&root.join("b"), None).await;
    let (sa, lb) = (Api::new(&seeder).await, Api::new(&leecher).await);
    let torrent = make_torrent(&seeder.downloads, "movie.bin", &[("movie.bin", 3 << 20)]);
    let (s, t) = sa.add(&torrent, "").await;
    assert_eq!(s, 201);
    let sid = t["id"].as_u64().unwrap();
    sa.wait_for(sid, LIMIT, "seeding", |t| t["state"] == "seeding")
        .await;

    let events = lb.req(Method::GET, "/events").send().await.unwrap();
    assert_eq!(events.status(), 200);
    let mut stream = events.bytes_stream();
    let snap = wait_event(&mut stream, "snapshot", |_| true).await;
    assert_eq!(snap, json!([]));

    let (s, t) = lb.add(&torrent, "").await;
    assert_eq!(s, 201);
    let id = t["id"].as_u64().unwrap();
    let (s, e) = lb
        .send(
            Method::POST,
            &format!("/torrents/{id}/peers"),
            Some(json!({"peers": [format!("127.0.0.1:{}", seeder.peer_port)]})),
        )
        .await;
    assert_eq!(s, 204, "{e}");
    let done = wait_event(&mut stream, "torrent", |t| t["progress"] == 1.0).await;
    assert_eq!(done["state"], "seeding");
    assert_eq!(
        std::fs::read(leecher.downloads.join("movie.bin")).unwrap(),
        data(3 << 20, 7)
    );
    let t = lb.get(&format!("/torrents/{id}")).await;
    assert!(t["downloaded"].as_u64().unwrap() >= 3 << 20);
    let (s, _) = lb
        .send(Method::DELETE, &format!("/torrents/{id}"), None)
        .await;
    assert_eq!(s, 204);
    wait_event(&mut stream, "removed", |r| r["id"] == id).await;
    // Removed without --delete: the data stays.
    assert!(leecher.downloads.join("movie.bin").exists());
    leecher.stop().await;
    seeder.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_4xx_with_a_message_and_the_daemon_keeps_running() {
    let root = scratch("bad");
    let d = TestDaemon::start(&root, None).await;
    let api = Api::new(&d).await;
    let torrent = make_torrent(&d.downloads, "ok.bin", &[("ok.bin", 50_000)]);
    let code = |v: &Value| v["error"].as_str().unwrap_or("").to_owned();

    let (s, e) = api.add(b"d4:spam", "").await;
    assert_eq!((s, code(&e).as_str()), (400, "bad_torrent"), "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not a valid .torrent")
    );
    let (s, e) = api.add(b"", "").await;
    assert_eq!((s, code(&e).as_str()), (400, "bad_request"));
    let (s, e) = api.add(b"magnet:?xt=urn:btih:0000", "").await;
    assert_eq!((s, code(&e).as_str()), (400, "bad_request"), "{e}");
    let (s, e) = api
        .send(
            Method::POST,
            "/torrents",
            Some(json!({"magnet": "magnet:?xt=urn:btih:00"})),
        )
        .await;
    assert_eq!((s, code(&e).as_str()), (400, "bad_request"));
    let (s, e) = api
        .send(
            Method::POST,
            "/torrents",
            Some(json!({"magnet": "magnet:?xt=urn:btih:0000000000000000000000000000000000000000", "file_priorities": [1]})),
        )
        .await;
    assert_eq!((s, code(&e).as_str()), (400, "bad_request"));
    // A magnet link's save path is held to the same folders as a .torrent's.
    let (s, e) = api
        .send(
            Method::POST,
            "/torrents?save_path=../elsewhere",
            Some(json!({"magnet": "magnet:?xt=urn:btih:0000000000000000000000000000000000000000"})),
        )
        .await;
    assert_eq!((s, code(&e).as_str()), (403, "forbidden_path"), "{e}");
    let big = vec![b'x'; 22 << 20];
    let (s, _) = api.add(&big, "").await;
    assert_eq!(s, 413);
    // Bad JSON, wrong shapes, unknown fields.
    let r = api
        .req(Method::POST, "/torrents")
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(code(&r.json().await.unwrap()), "bad_json");
    let (s, e) = api
        .send(
            Method::PUT,
            "/session/limits",
            Some(json!({"upload": "fast"})),
        )
        .await;
    assert_eq!((s, code(&e).as_str()), (400, "bad_json"));
    let (s, e) = api
        .send(
            Method::PUT,
            "/session/limits",
            Some(json!({"seed_ratio": -1.0})),
        )
        .await;
    assert_eq!((s, code(&e).as_str()), (400, "bad_request"));

    // Paths outside the download folder: `..`, absolute, a symlink out.
    let outside = root.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("x.torrent"), &torrent).unwrap();
    std::os::unix::fs::symlink(&outside, d.downloads.join("link")).unwrap();
    for q in [
        "?save_path=../outside".to_owned(),
        format!("?save_path={}", outside.display()),
        "?save_path=link/deeper".to_owned(),
    ] {
        let (s, e) = api.add(&torrent, &q).await;
        assert_eq!((s, code(&e).as_str()), (403, "forbidden_path"), "{q}: {e}");
    }
    for path in [
        outside.join("x.torrent"),
        d.downloads.join("link/x.torrent"),
    ] {
        let (s, e) = api
            .send(Method::POST, "/torrents", Some(json!({"path": path})))
            .await;
        assert_eq!((s, code(&e).as_str()), (403, "forbidden_path"), "{e}");
    }
    // Nothing was added by any of that.
    assert_eq!(api.get("/torrents").await, json!([]));
    // A path inside works.
    std::fs::write(d.downloads.join("in.torrent"), &torrent).unwrap();
    let (s, t) = api
        .send(
            Method::POST,
            "/torrents",
            Some(json!({"path": "in.torrent", "paused": true})),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["paused"], true);
    let id = t["id"].as_u64().unwrap();
    let (s, e) = api.add(&torrent, "").await;
    assert_eq!((s, code(&e).as_str()), (409, "duplicate"));
    assert!(e["message"].as_str().unwrap().contains(&format!("id {id}")));

    // Unknown ids and endpoints, wrong priorities.
    for path in [
        "/torrents/999",
        "/torrents/nope",
        &format!("/torrents/{}", "f".repeat(40)),
    ] {
        let (s, e) = api.send(Method::GET, path, None).await;
        assert_eq!((s, code(&e).as_str()), (404, "not_found"), "{path}");
    }
    let (s, e) = api.send(Method::POST, "/torrents/999/pause", None).await;
    assert_eq!((s, code(&e).as_str()), (404, "not_found"));
    let (s, e) = api.send(Method::GET, "/nothing/here", None).await;
    assert_eq!((s, code(&e).as_str()), (404, "not_found"));
    let (s, e) = api
        .send(
            Method::PUT,
            &format!("/torrents/{id}/files"),
            Some(json!({"priorities": [1, 2, 3]})),
        )
        .await;
    assert_eq!((s, code(&e).as_str()), (400, "bad_request"), "{e}");
    let (s, e) = api
        .send(
            Method::PUT,
            &format!("/torrents/{id}/files"),
            Some(json!({"indices": [5], "priority": 1})),
        )
        .await;
    assert_eq!((s, code(&e).as_str()), (400, "bad_request"), "{e}");
    let (s, e) = api
        .send(
            Method::DELETE,
            &format!("/torrents/{id}?delete_data=maybe"),
            None,
        )
        .await;
    assert_eq!((s, code(&e).as_str()), (400, "bad_query"));
    let (s, e) = api
        .send(
            Method::PUT,
            &format!("/torrents/{id}/labels"),
            Some(json!({"labels": ["a\u{7}"]})),
        )
        .await;
    assert_eq!((s, code(&e).as_str()), (400, "bad_request"));

    // Still serving.
    assert_eq!(api.get("/torrents").await.as_array().unwrap().len(), 1);
    assert_eq!(api.get("/session").await["torrents"], 1);
    d.stop().await;
}

/// Many changes to one torrent at once (each saves its record, and one
/// session change saves the settings): every one succeeds, and the record
/// on disk is the one the API shows, not an older copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_all_succeed_and_the_newest_record_is_on_disk() {
    let root = scratch("concurrent");
    let d = TestDaemon::start(&root, None).await;
    let api = std::sync::Arc::new(Api::new(&d).await);
    let seed_dir = d.downloads.join("c");
    std::fs::create_dir_all(&seed_dir).unwrap();
    let torrent = make_torrent(&seed_dir, "c.bin", &[("c.bin", 50_000)]);
    let (status, t) = api.add(&torrent, "?save_path=c").await;
    assert_eq!(status, 201, "{t}");
    let id = t["id"].as_u64().unwrap();
    let hash = t["hash"].as_str().unwrap().to_owned();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let api = api.clone();
            tokio::spawn(async move {
                let (path, body) = if i % 8 == 0 {
                    ("/session/limits".to_owned(), json!({"upload": 1000 + i}))
                } else {
                    (
                        format!("/torrents/{id}/labels"),
                        json!({"labels": [format!("l{i}")]}),
                    )
                };
                api.send(Method::PUT, &path, Some(body)).await
            })
        })
        .collect();
    for t in tasks {
        let (s, e) = t.await.unwrap();
        assert!(s == 204 || s == 200, "{s} {e}");
    }
    let shown = api.get(&format!("/torrents/{id}")).await;
    let record = d.state.join("torrents").join(format!("{hash}.json"));
    let saved: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(saved["labels"], shown["labels"]);
    let limits = api.get("/session/limits").await;
    let settings: Value =
        serde_json::from_slice(&std::fs::read(d.state.join("session.json")).unwrap()).unwrap();
    assert_eq!(settings["upload_limit"], limits["upload"]);
    d.stop().await;
}
