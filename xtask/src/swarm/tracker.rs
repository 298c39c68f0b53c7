//! The swarm bench's tracker: an HTTP announce endpoint that hands every
//! downloader the same peer list, the links' addresses (so every client
//! meets the seeders only through their emulated links). Seeders
//! (`left=0`) get an empty list, so they never dial each other. The first
//! `event=completed` of a run snapshots the bytes the links have carried:
//! what a client was sent by the time it had everything.
use std::fmt::Write as _;
use std::net::SocketAddrV4;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::link::Link;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Longest announce request read.
const MAX_REQUEST: usize = 8 * 1024;

/// The bencoded announce reply: `peers` in compact form (BEP 23), a long
/// interval so nobody announces again during a run.
pub(crate) fn reply(peers: &[SocketAddrV4]) -> Vec<u8> {
    let mut compact = Vec::with_capacity(peers.len() * 6);
    for p in peers {
        compact.extend_from_slice(&p.ip().octets());
        compact.extend_from_slice(&p.port().to_be_bytes());
    }
    let mut out = format!(
        "d8:completei{}e10:incompletei0e8:intervali3600e12:min intervali3600e5:peers{}:",
        peers.len(),
        compact.len()
    )
    .into_bytes();
    out.extend_from_slice(&compact);
    out.push(b'e');
    out
}

/// Whether the request line of an HTTP announce has `key=value`.
fn has(request: &str, pair: &str) -> bool {
    let line = request.lines().next().unwrap_or_default();
    let query = line.split_once('?').map_or("", |(_, q)| q);
    let query = query.split(' ').next().unwrap_or_default();
    query.split('&').any(|kv| kv == pair)
}

/// Whether an HTTP announce says `left=0` (a seeder).
pub(crate) fn is_seeder(request: &str) -> bool {
    has(request, "left=0")
}

/// Whether an HTTP announce says `event=completed`.
pub(crate) fn is_completed(request: &str) -> bool {
    has(request, "event=completed")
}

/// What the tracker hands out and what it saw, shared with the bench.
#[derive(Debug, Default)]
pub(crate) struct Swarm {
    /// The links' addresses, the peer list.
    pub(crate) peers: Vec<SocketAddrV4>,
    /// The links, to count what they carried.
    pub(crate) links: Vec<Arc<Link>>,
    /// Bytes the links had delivered at the run's first `completed`.
    pub(crate) at_completion: Option<u64>,
}

/// Answers announces on `listener` from `swarm` (read at each announce,
/// so it may change between scenarios) until the task is dropped.
pub(crate) async fn serve(listener: TcpListener, swarm: Arc<Mutex<Swarm>>) {
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            continue;
        };
        let swarm = swarm.clone();
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(1024);
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_REQUEST {
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let request = String::from_utf8_lossy(&buf);
            let body = {
                let mut swarm = swarm.lock().unwrap_or_else(|e| e.into_inner());
                if is_completed(&request) && swarm.at_completion.is_none() {
                    let carried = swarm
                        .links
                        .iter()
                        .map(|l| l.down_bytes.load(Ordering::SeqCst))
                        .sum();
                    swarm.at_completion = Some(carried);
                }
                if is_seeder(&request) {
                    reply(&[])
                } else {
                    reply(&swarm.peers)
                }
            };
            let mut head = String::new();
            let _ = write!(
                head,
                "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&body).await;
            let _ = s.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;
    use tokio::net::TcpStream;

    #[test]
    fn reply_lists_peers_in_compact_form() {
        let peers = [
            SocketAddrV4::new(Ipv4Addr::new(127, 0, 1, 2), 0x1a2b),
            SocketAddrV4::new(Ipv4Addr::new(127, 0, 1, 3), 80),
        ];
        let got = reply(&peers);
        let mut want =
            b"d8:completei2e10:incompletei0e8:intervali3600e12:min intervali3600e5:peers12:"
                .to_vec();
        want.extend_from_slice(&[127, 0, 1, 2, 0x1a, 0x2b, 127, 0, 1, 3, 0, 80, b'e']);
        assert_eq!(got, want);
        assert!(reply(&[]).ends_with(b"5:peers0:e"));
    }

    #[test]
    fn completed_is_an_event_of_the_query() {
        assert!(is_completed(
            "GET /announce?left=0&event=completed&port=1 HTTP/1.1\r\n"
        ));
        assert!(!is_completed(
            "GET /announce?left=0&event=started HTTP/1.1\r\nX: event=completed\r\n"
        ));
    }

    #[test]
    fn only_left_zero_is_a_seeder() {
        assert!(is_seeder(
            "GET /announce?info_hash=%aa&left=0&port=1 HTTP/1.1\r\n"
        ));
        assert!(!is_seeder(
            "GET /announce?info_hash=%aa&left=1000&port=1 HTTP/1.1\r\n"
        ));
        assert!(!is_seeder(
            "GET /announce?left=10 HTTP/1.1\r\nX: left=0\r\n"
        ));
        assert!(!is_seeder("garbage"));
    }

    #[tokio::test]
    async fn answers_a_downloader_over_http() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = SocketAddrV4::new(Ipv4Addr::new(127, 0, 1, 9), 6881);
        let link = Link::new(
            super::super::link::LinkSpec::new(Duration::from_millis(10), 0),
            "127.0.0.1:9".parse().unwrap(),
        );
        link.down_bytes.store(1234, Ordering::SeqCst);
        let swarm = Arc::new(Mutex::new(Swarm {
            peers: vec![peer],
            links: vec![link.clone()],
            at_completion: None,
        }));
        let server = tokio::spawn(serve(listener, swarm.clone()));
        let ask = |query: &'static str| async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let request = format!("GET /announce?{query} HTTP/1.0\r\n\r\n");
            s.write_all(request.as_bytes()).await.unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        };
        let work = async {
            let got = ask("left=5&port=1").await;
            assert!(got.starts_with(b"HTTP/1.0 200 OK\r\n"));
            assert!(got.ends_with(&reply(&[peer])));
            assert_eq!(swarm.lock().unwrap().at_completion, None);
            ask("left=0&event=completed").await;
            link.down_bytes.store(9999, Ordering::SeqCst);
            // Only the first completion counts.
            let got = ask("left=0&event=completed").await;
            assert!(got.ends_with(&reply(&[])), "a seeder gets nobody");
        };
        tokio::time::timeout(Duration::from_secs(10), work)
            .await
            .expect("answered");
        server.abort();
        assert_eq!(swarm.lock().unwrap().at_completion, Some(1234));
    }
}
