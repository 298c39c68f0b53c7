//! qBittorrent's WebUI API over a real socket: the login cookie, what a
//! request without it or from another site gets, torrents listed and
//! changed with qBittorrent's names, `sync/maindata` deltas, categories
//! kept across a restart, and bad parameters; and the web page's files
//! and login.

use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use crate::util::{TestDaemon, make_torrent, scratch};

/// A client of `/api/v2` holding the `SID` cookie of a login.
struct Qb {
    http: reqwest::Client,
    base: String,
    sid: String,
}

impl Qb {
    async fn login(d: &TestDaemon, password: &str) -> Self {
        let http = reqwest::Client::new();
        let r = http
            .post(d.url("/api/v2/auth/login"))
            .form(&[("username", "admin"), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        assert_eq!(r.text().await.unwrap(), "Ok.");
        let sid = cookie.split(';').next().unwrap().to_owned();
        Self {
            http,
            base: d.url("/api/v2"),
            sid,
        }
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.sid)
            .form(form)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn json(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let (s, body) = self.post(path, form).await;
        assert_eq!(s, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn add(&self, torrent: &[u8], fields: &[(&str, &str)]) -> (u16, String) {
        let mut form = reqwest::multipart::Form::new().part(
            "torrents",
            reqwest::multipart::Part::bytes(torrent.to_vec()).file_name("x.torrent"),
        );
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let r = self
            .http
            .post(format!("{}/torrents/add", self.base))
            .header(COOKIE, &self.sid)
            .multipart(form)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn qbittorrent_clients_log_in_list_change_and_sync() {
    let root = scratch("qbt");
    let d = TestDaemon::start(&root, Some("pw")).await;
    let http = reqwest::Client::new();
    // No cookie, a wrong password, another site: refused.
    let r = http
        .get(d.url("/api/v2/torrents/info"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(d.url("/api/v2/auth/login"))
        .form(&[("username", "admin"), ("password", "nope")])
        .send()
        .await
        .unwrap();
    assert!(r.headers().get(SET_COOKIE).is_none());
    assert_eq!(r.text().await.unwrap(), "Fails.");
    let qb = Qb::login(&d, "pw").await;
    let r = http
        .post(d.url("/api/v2/torrents/delete"))
        .header(COOKIE, &qb.sid)
        .header("Origin", "https://evil.example")
        .form(&[("hashes", "all"), ("deleteFiles", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a request another site started");
    assert_eq!(qb.post("/app/webapiVersion", &[]).await.1, "2.8.19");

    let seed_dir = d.downloads.join("in");
    std::fs::create_dir_all(&seed_dir).unwrap();
    let torrent = make_torrent(&seed_dir, "show", &[("e1.mkv", 90_000), ("e2.mkv", 40_000)]);
    assert_eq!(
        qb.post(
            "/torrents/createCategory",
            &[("category", "tv"), ("savePath", "in")]
        )
        .await,
        (200, "Ok.".to_owned())
    );
    let (s, body) = qb
        .add(&torrent, &[("category", "tv"), ("tags", "a, b")])
        .await;
    assert_eq!((s, body.as_str()), (200, "Ok."));
    let (s, body) = qb.add(&torrent, &[]).await;
    assert_eq!((s, body.as_str()), (200, "Fails."), "a duplicate");
    let (s, _) = qb.add(b"d4:spam", &[]).await;
    assert_eq!(s, 415);

    // Listed with qBittorrent's fields; the category's folder holds the data.
    let list = qb.json("/torrents/info", &[("category", "tv")]).await;
    let t = &list[0];
    let hash = t["hash"].as_str().unwrap().to_owned();
    assert_eq!(t["name"], "show");
    assert_eq!(t["category"], "tv");
    assert_eq!(t["tags"], "a, b");
    assert_eq!(t["save_path"], seed_dir.display().to_string());
    assert_eq!(t["total_size"], 130_000);
    let sync0 = qb.json("/sync/maindata", &[]).await;
    assert_eq!(sync0["full_update"], true);
    assert_eq!(sync0["categories"]["tv"]["name"], "tv");
    let rid = sync0["rid"].as_u64().unwrap().to_string();
    // Checked: seeding, stalled with nobody to upload to.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let t = &qb.json("/torrents/info", &[("hashes", &hash)]).await[0];
        if t["state"] == "stalledUP" {
            assert_eq!(t["progress"], 1.0);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{t}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        qb.json("/torrents/info", &[("filter", "downloading")])
            .await,
        json!([])
    );
    let files = qb.json("/torrents/files", &[("hash", &hash)]).await;
    assert_eq!(files[1]["name"], "show/e2.mkv");
    assert_eq!(files[1]["priority"], 1);
    assert_eq!(files[1]["progress"], 1.0);

    // Changes, each seen by the next sync as a delta.
    assert_eq!(
        qb.post(
            "/torrents/filePrio",
            &[("hash", &hash), ("id", "1"), ("priority", "0")]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        qb.json("/torrents/files", &[("hash", &hash)]).await[1]["priority"],
        0
    );
    assert_eq!(qb.post("/torrents/stop", &[("hashes", &hash)]).await.0, 200);
    let delta = qb.json("/sync/maindata", &[("rid", &rid)]).await;
    assert_eq!(delta["full_update"], false, "{delta}");
    let changed = &delta["torrents"][&hash];
    assert_eq!(changed["state"], "pausedUP", "{delta}");
    assert!(
        changed.get("name").is_none(),
        "only changed fields: {delta}"
    );
    assert_eq!(
        qb.post("/torrents/start", &[("hashes", &hash)]).await.0,
        200
    );
    assert_eq!(
        qb.post(
            "/torrents/setShareLimits",
            &[
                ("hashes", &hash),
                ("ratioLimit", "2"),
                ("seedingTimeLimit", "-2")
            ]
        )
        .await
        .0,
        200
    );
    assert_eq!(qb.json("/torrents/info", &[]).await[0]["ratio_limit"], 2.0);

    // Bad parameters: 400; unknown hashes: 404; unknown categories: 409.
    let unknown = "ab".repeat(20);
    for (path, form, want) in [
        (
            "/torrents/properties",
            vec![("hash", unknown.as_str())],
            404,
        ),
        ("/torrents/files", vec![("hash", "zz")], 404),
        (
            "/torrents/filePrio",
            vec![("hash", hash.as_str()), ("id", "0"), ("priority", "3")],
            400,
        ),
        (
            "/torrents/filePrio",
            vec![("hash", hash.as_str()), ("id", "9"), ("priority", "1")],
            409,
        ),
        (
            "/torrents/filePrio",
            vec![("hash", hash.as_str()), ("id", "x"), ("priority", "1")],
            400,
        ),
        (
            "/torrents/setCategory",
            vec![("hashes", hash.as_str()), ("category", "nope")],
            409,
        ),
        ("/torrents/createCategory", vec![("category", "a//b")], 400),
        ("/torrents/info", vec![("filter", "sideways")], 400),
        (
            "/torrents/delete",
            vec![("hashes", hash.as_str()), ("deleteFiles", "maybe")],
            400,
        ),
        ("/app/setPreferences", vec![("json", "{not json")], 400),
        ("/torrents/nothing", vec![], 404),
    ] {
        let (s, body) = qb.post(path, &form).await;
        assert_eq!(s, want, "{path} {form:?}: {body}");
    }
    let added = qb
        .json(
            "/torrents/addPeers",
            &[("hashes", &hash), ("peers", "127.0.0.1:1|[::1]:2")],
        )
        .await;
    assert_eq!(added[&hash], json!({"added": 2, "failed": 0}));
    let (s, _) = qb
        .post(
            "/torrents/addPeers",
            &[("hashes", &hash), ("peers", "localhost:1")],
        )
        .await;
    assert_eq!(s, 400);
    // A bulk action skips unknown hashes, as qBittorrent does.
    assert_eq!(
        qb.post("/torrents/stop", &[("hashes", &unknown)]).await.0,
        200
    );

    // Preferences: the session's limits.
    let (s, _) = qb
        .post(
            "/app/setPreferences",
            &[("json", r#"{"dl_limit": 4096, "up_limit": 0}"#)],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(qb.json("/app/preferences", &[]).await["dl_limit"], 4096);
    assert_eq!(qb.json("/transfer/info", &[]).await["dl_rate_limit"], 4096);

    // Categories persist across a restart.
    d.stop().await;
    let d = TestDaemon::start(&root, Some("pw")).await;
    let qb = Qb::login(&d, "pw").await;
    let cats = qb.json("/torrents/categories", &[]).await;
    assert_eq!(
        cats["tv"],
        json!({"name": "tv", "savePath": seed_dir.display().to_string()})
    );
    assert_eq!(qb.json("/torrents/info", &[]).await[0]["category"], "tv");
    assert_eq!(
        qb.post(
            "/torrents/delete",
            &[("hashes", &hash), ("deleteFiles", "true")]
        )
        .await
        .0,
        200
    );
    assert!(!seed_dir.join("show").exists());
    assert_eq!(qb.post("/auth/logout", &[]).await.0, 200);
    assert_eq!(qb.post("/torrents/info", &[]).await.0, 403, "logged out");
    d.stop().await;
}

#[tokio::test]
async fn the_web_page_is_served_with_a_strict_policy_and_logs_in_with_a_cookie() {
    let d = TestDaemon::start(&scratch("web"), Some("pw")).await;
    let http = reqwest::Client::new();
    for (path, ctype, needle) in [
        ("/", "text/html", "<title>monsoon</title>"),
        ("/app.js", "text/javascript", "EventSource"),
        ("/style.css", "text/css", "prefers-color-scheme: dark"),
        ("/favicon.svg", "image/svg+xml", "<svg"),
    ] {
        let r = http.get(d.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers().clone();
        assert!(h["content-type"].to_str().unwrap().starts_with(ctype));
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert!(r.text().await.unwrap().contains(needle), "{path}");
    }
    // The page's own requests get a 401 without a browser dialog.
    let r = http
        .get(d.url("/api/v1/session"))
        .header("X-Monsoon-Web", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_none());
    let r = http
        .post(d.url("/api/v1/login"))
        .json(&json!({"password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(d.url("/api/v1/login"))
        .json(&json!({"password": "pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("SID=") && cookie.contains("HttpOnly; SameSite=Strict"));
    let sid = cookie.split(';').next().unwrap().to_owned();
    let r = http
        .get(d.url("/api/v1/session"))
        .header(COOKIE, &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(d.url("/api/v1/logout"))
        .header(COOKIE, &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http
        .get(d.url("/api/v1/session"))
        .header(COOKIE, &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the cookie no longer works");
    d.stop().await;
}
