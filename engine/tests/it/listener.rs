//! The listener under hostile input: silent connections are bounded and time out.

use std::time::Duration;

use futures_util::future::join_all;
use monsoon_engine::{Session, SessionConfig};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use crate::support::temp_dir;

/// Waits (at most `limit`) for the server to close `c`; returns when it did.
async fn closed_after(mut c: TcpStream, start: Instant, limit: Duration) -> Option<Duration> {
    let mut b = [0u8; 1];
    match timeout(limit, c.read(&mut b)).await {
        Ok(Ok(0) | Err(_)) => Some(start.elapsed()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_bounded_and_time_out() {
    let mut cfg = SessionConfig::new(temp_dir("listen"));
    cfg.listen_addr = "127.0.0.1:0".parse().unwrap();
    cfg.handshake_timeout = Duration::from_secs(1);
    let session = Session::new(cfg).await.unwrap();
    let mut conns = Vec::new();
    for _ in 0..100 {
        conns.push(TcpStream::connect(session.listen_addr()).await.unwrap());
    }
    let start = Instant::now();
    let closed = join_all(
        conns
            .into_iter()
            .map(|c| closed_after(c, start, Duration::from_secs(10))),
    )
    .await;
    let early = closed
        .iter()
        .filter(|t| t.is_some_and(|t| t < Duration::from_millis(900)))
        .count();
    // Beyond the 64 pending handshakes, connections are refused at once …
    assert!(
        early >= 36,
        "only {early} of 100 silent connections were dropped at once"
    );
    // … and every silent one is closed once the handshake timeout passes.
    assert!(
        closed.iter().all(Option::is_some),
        "a silent connection stayed open"
    );
    session.shutdown().await;
}
