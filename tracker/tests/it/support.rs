//! Test helpers: requests, a canned-response HTTP server, a tiny runtime.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use monsoon_tracker::{AnnounceRequest, ClientConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// An announce request for `info_hash` from a client listening on `port`.
pub(crate) fn request(info_hash: [u8; 20], peer: u8, port: u16) -> AnnounceRequest {
    let mut peer_id = *b"-MO0001-000000000000";
    peer_id[19] = peer;
    let mut r = AnnounceRequest::new(info_hash, peer_id, port);
    r.left = 1000;
    r.key = u32::from(peer);
    r
}

/// A config with short timeouts so failing tests end quickly.
pub(crate) fn fast_config() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(10),
        udp_base_timeout: Duration::from_millis(200),
        udp_max_retries: 3,
        ..ClientConfig::default()
    }
}

/// The handler of a canned server: request target → full HTTP response.
pub(crate) type Handler = Arc<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

/// An HTTP server on 127.0.0.1 answering every request with `handler`,
/// recording the request targets; stops when dropped.
pub(crate) struct CannedServer {
    pub(crate) addr: SocketAddr,
    pub(crate) targets: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CannedServer {
    pub(crate) async fn start(handler: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let t = targets.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let handler = handler.clone();
                let t = t.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Read the request head, bounded in size.
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let target = head.split(' ').nth(1).unwrap_or("").to_owned();
                    t.lock().unwrap().push(target.clone());
                    let resp = handler(&target);
                    let _ = sock.write_all(&resp).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Self {
            addr,
            targets,
            task,
        }
    }

    /// `http://ADDR{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

/// A 200 response with `body` and the given extra headers.
pub(crate) fn ok(body: &[u8], headers: &str) -> Vec<u8> {
    response(200, "OK", body, headers)
}

/// A response with a status, body and extra headers (each ending in CRLF).
pub(crate) fn response(code: u16, reason: &str, body: &[u8], headers: &str) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// A port nothing listens on (bound, then released).
pub(crate) fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
