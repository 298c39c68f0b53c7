//! A daemon on 127.0.0.1 with its own folders, a client that speaks its
//! API, and torrents made on the spot.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use monsoon_daemon::{Daemon, DaemonConfig};
use monsoon_engine::{CreateOptions, create_torrent};
use serde_json::Value;
use tokio::sync::oneshot;

/// A fresh, empty folder (resolved, so paths compare equal).
pub(crate) fn scratch(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "daemon-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::canonicalize(dir).unwrap()
}

/// Deterministic pseudo-random bytes.
pub(crate) fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Writes `files` (relative path, length) under `dir/name` and returns
/// the .torrent of that folder (or of the file, for one file named `name`).
pub(crate) fn make_torrent(dir: &Path, name: &str, files: &[(&str, usize)]) -> Vec<u8> {
    let root = dir.join(name);
    if files.len() == 1 && files[0].0 == name {
        std::fs::write(&root, data(files[0].1, 7)).unwrap();
    } else {
        for (i, (path, len)) in files.iter().enumerate() {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data(*len, i as u32 + 1)).unwrap();
        }
    }
    let opts = CreateOptions {
        piece_length: Some(32 << 10),
        ..CreateOptions::default()
    };
    create_torrent(&root, &opts).unwrap()
}

/// A daemon running in this process.
pub(crate) struct TestDaemon {
    pub(crate) addr: SocketAddr,
    pub(crate) peer_port: u16,
    pub(crate) state: PathBuf,
    pub(crate) downloads: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), monsoon_daemon::DaemonError>>>,
}

impl TestDaemon {
    /// A daemon with folders under `root` (`state/`, `downloads/`).
    pub(crate) async fn start(root: &Path, password: Option<&str>) -> Self {
        let mut cfg = DaemonConfig::new(root.join("state"), root.join("downloads"));
        cfg.http = "127.0.0.1:0".parse().unwrap();
        cfg.password = password.map(str::to_owned);
        cfg.session.listen_addr = "127.0.0.1:0".parse().unwrap();
        cfg.session.resume_interval = Duration::from_millis(100);
        Self::with(cfg).await
    }

    pub(crate) async fn with(cfg: DaemonConfig) -> Self {
        let state = cfg.state_dir.clone();
        let downloads = cfg.download_dir.clone();
        let daemon = Daemon::start(cfg).await.expect("daemon starts");
        let addr = daemon.local_addr();
        let peer_port = daemon.peer_port().await.unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(daemon.run(async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            peer_port,
            state,
            downloads,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops it and waits until it has.
    pub(crate) async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A client of `/api/v1` that does the session-id handshake.
pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    base: String,
    sid: String,
}

impl Api {
    pub(crate) async fn new(d: &TestDaemon) -> Self {
        let http = reqwest::Client::new();
        let r = http.get(d.url("/api/v1/session")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let sid = r.headers()["x-monsoon-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["session_id"], sid.as_str());
        Self {
            http,
            base: d.url("/api/v1"),
            sid,
        }
    }

    pub(crate) fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("X-Monsoon-Session-Id", &self.sid)
    }

    /// GET, expecting 200, as JSON.
    pub(crate) async fn get(&self, path: &str) -> Value {
        let r = self.req(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// Adds raw .torrent bytes with a query; returns (status, JSON).
    pub(crate) async fn add(&self, torrent: &[u8], query: &str) -> (u16, Value) {
        let r = self
            .req(reqwest::Method::POST, &format!("/torrents{query}"))
            .header("Content-Type", "application/x-bittorrent")
            .body(torrent.to_vec())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Sends `method path` with an optional JSON body; returns (status, JSON or null).
    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self.req(method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Polls torrent `id` until `ok` holds (at most `limit`), returning it.
    pub(crate) async fn wait_for(
        &self,
        id: u64,
        limit: Duration,
        what: &str,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let t = self.get(&format!("/torrents/{id}")).await;
            if ok(&t) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not after {limit:?}: {t:#}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
