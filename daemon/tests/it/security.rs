//! Who may talk to the daemon: the session id for writes (CSRF), the
//! password, the Host check, the loopback default.

use base64::Engine;
use monsoon_daemon::{DaemonConfig, DaemonError};
use reqwest::Method;
use serde_json::json;

use crate::util::{TestDaemon, make_torrent, scratch};

#[tokio::test]
async fn writes_need_the_session_id_and_reads_give_it() {
    let d = TestDaemon::start(&scratch("csrf"), None).await;
    let http = reqwest::Client::new();
    let torrent = make_torrent(&d.downloads, "f.bin", &[("f.bin", 1000)]);
    // A write without the id: 409, the id in the answer, nothing added.
    let r = http
        .post(d.url("/api/v1/torrents"))
        .body(torrent.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let sid = r.headers()["x-monsoon-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"], "session_id");
    let list: serde_json::Value = http
        .get(d.url("/api/v1/torrents"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
    // A wrong id is refused the same way.
    let r = http
        .post(d.url("/api/v1/torrents"))
        .header("X-Monsoon-Session-Id", "0123")
        .body(torrent.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = http
        .post(d.url("/api/v1/torrents"))
        .header("X-Monsoon-Session-Id", &sid)
        .body(torrent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // DNS rebinding: a page on another name that resolves to us.
    let r = http
        .get(d.url("/api/v1/torrents"))
        .header("Host", "evil.example:9091")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(d.url("/transmission/rpc"))
        .header("Host", "evil.example")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    d.stop().await;
}

#[tokio::test]
async fn a_password_guards_every_endpoint() {
    let d = TestDaemon::start(&scratch("password"), Some("hunter2")).await;
    let http = reqwest::Client::new();
    for path in ["/api/v1/torrents", "/api/v1/session", "/api/v1/events"] {
        let r = http.get(d.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert!(r.headers().contains_key("www-authenticate"));
    }
    let r = http
        .get(d.url("/api/v1/torrents"))
        .basic_auth("anyone", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(d.url("/api/v1/torrents"))
        .basic_auth("anyone", Some("hunter2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Basic auth is sent by browsers on their own: a write needs the id too.
    let r = http
        .put(d.url("/api/v1/session/limits"))
        .basic_auth("anyone", Some("hunter2"))
        .json(&json!({"upload": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    // A bearer token is never added by a browser: it is enough.
    let r = http
        .put(d.url("/api/v1/session/limits"))
        .bearer_auth("hunter2")
        .json(&json!({"upload": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // With a password, any Host is fine.
    let r = http
        .get(d.url("/api/v1/torrents"))
        .header("Host", "nas.lan:9091")
        .bearer_auth("hunter2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Transmission: 401 first, then the 409 handshake, then an answer.
    let rpc = d.url("/transmission/rpc");
    let body = r#"{"method":"session-get","arguments":{"fields":["version"]}}"#;
    let r = http.post(&rpc).body(body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("u:hunter2")
    );
    let r = http
        .post(&rpc)
        .header("Authorization", &auth)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let sid = r.headers()["x-transmission-session-id"].clone();
    let r = http
        .post(&rpc)
        .header("Authorization", &auth)
        .header("X-Transmission-Session-Id", sid)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["result"], "success");
    assert!(
        v["arguments"]["version"]
            .as_str()
            .unwrap()
            .starts_with("monsoon")
    );
    d.stop().await;
}

#[tokio::test]
async fn beyond_loopback_only_with_a_password() {
    let root = scratch("exposed");
    let mut cfg = DaemonConfig::new(root.join("s"), root.join("d"));
    cfg.http = "0.0.0.0:0".parse().unwrap();
    cfg.session.listen_addr = "127.0.0.1:0".parse().unwrap();
    match monsoon_daemon::Daemon::start(cfg.clone()).await {
        Err(e @ DaemonError::PasswordRequired(_)) => {
            assert!(e.to_string().contains("--password"), "{e}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("served 0.0.0.0 without a password"),
    }
    // Nothing was created before the refusal.
    assert!(!root.join("s").exists());
    cfg.password = Some("pw".into());
    let d = TestDaemon::with(cfg).await;
    let r = reqwest::Client::new()
        .request(
            Method::GET,
            format!("http://127.0.0.1:{}/api/v1/session", d.addr.port()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    d.stop().await;
}

#[tokio::test]
async fn guessing_the_password_bans_the_address() {
    let d = TestDaemon::start(&scratch("guessing"), Some("hunter2")).await;
    let http = reqwest::Client::new();
    // Requests without credentials are not guesses.
    for _ in 0..10 {
        let r = http.get(d.url("/api/v1/torrents")).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
    // Four wrong passwords, then the right one: the count starts again.
    let login = |password: &str| {
        http.post(d.url("/api/v1/login"))
            .json(&json!({ "password": password }))
            .send()
    };
    for _ in 0..4 {
        assert_eq!(login("wrong").await.unwrap().status(), 401);
    }
    assert_eq!(login("hunter2").await.unwrap().status(), 204);
    // Five in a row, through any interface: banned.
    for _ in 0..2 {
        assert_eq!(login("wrong").await.unwrap().status(), 401);
    }
    let r = http
        .post(d.url("/transmission/rpc"))
        .basic_auth("admin", Some("guess"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(d.url("/api/v2/auth/login"))
        .form(&[("username", "admin"), ("password", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "Fails.");
    let r = http
        .get(d.url("/api/v1/torrents"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Now even the right password is refused, everywhere, for a while.
    let r = login("hunter2").await.unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&wait), "{wait}");
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"], "banned");
    let r = http
        .get(d.url("/api/v1/torrents"))
        .bearer_auth("hunter2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    d.stop().await;
}
