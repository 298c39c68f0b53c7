//! Against an in-test UDP tracker: retransmission on the BEP 15 schedule,
//! giving up after the configured retries, datagrams of another
//! transaction ignored, connection id reused, error packets, IPv6 peers.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use monsoon_tracker::{
    ACTION_ANNOUNCE, ACTION_CONNECT, ACTION_ERROR, ClientConfig, PROTOCOL_ID, TrackerError,
    UdpTracker,
};
use tokio::net::UdpSocket;

use crate::support::request;

fn config(base_ms: u64, retries: u32) -> ClientConfig {
    ClientConfig {
        udp_base_timeout: Duration::from_millis(base_ms),
        udp_max_retries: retries,
        ..ClientConfig::default()
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// What the fake tracker does with the n-th packet of a kind.
#[derive(Clone, Copy)]
enum Reply {
    /// Answer normally.
    Answer,
    /// Drop it (the client must retransmit).
    Drop,
    /// First answer with a wrong transaction id, then normally.
    StaleThenAnswer,
    /// Answer with an error packet.
    Error,
}

/// A scripted fake tracker; returns the packets it received.
struct Fake {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<Vec<Vec<u8>>>,
}

impl Fake {
    /// Serves `script.len()` packets, replying to the i-th as `script[i]`.
    async fn start(bind: &str, script: Vec<Reply>, peers: Vec<u8>) -> Self {
        let sock = UdpSocket::bind(bind).await.unwrap();
        let addr = sock.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut buf = [0u8; 2048];
            for reply in script {
                let (n, from) = sock.recv_from(&mut buf).await.unwrap();
                let p = buf[..n].to_vec();
                let tid = u32_at(&p, 12);
                let is_connect = p[..8] == PROTOCOL_ID.to_be_bytes();
                let action = u32_at(&p, 8);
                let mut out = Vec::new();
                match reply {
                    Reply::Drop => {}
                    Reply::Error => {
                        out.extend(ACTION_ERROR.to_be_bytes());
                        out.extend(tid.to_be_bytes());
                        out.extend(b"go away");
                    }
                    Reply::Answer | Reply::StaleThenAnswer => {
                        if is_connect {
                            out.extend(ACTION_CONNECT.to_be_bytes());
                            out.extend(tid.to_be_bytes());
                            out.extend(0x0c0f_fee0_u64.to_be_bytes());
                        } else {
                            assert_eq!(action, ACTION_ANNOUNCE);
                            assert_eq!(&p[..8], &0x0c0f_fee0_u64.to_be_bytes());
                            out.extend(ACTION_ANNOUNCE.to_be_bytes());
                            out.extend(tid.to_be_bytes());
                            out.extend([0, 0, 0, 42, 0, 0, 0, 1, 0, 0, 0, 2]);
                            out.extend(&peers);
                        }
                        if matches!(reply, Reply::StaleThenAnswer) {
                            let mut stale = out.clone();
                            stale[4..8].copy_from_slice(&tid.wrapping_add(1).to_be_bytes());
                            sock.send_to(&stale, from).await.unwrap();
                        }
                    }
                }
                if !out.is_empty() {
                    sock.send_to(&out, from).await.unwrap();
                }
                seen.push(p);
            }
            seen
        });
        Self { addr, task }
    }

    fn url(&self) -> String {
        format!("udp://{}", self.addr)
    }

    async fn packets(self) -> Vec<Vec<u8>> {
        self.task.await.unwrap()
    }
}

fn is_connect(p: &[u8]) -> bool {
    p[..8] == PROTOCOL_ID.to_be_bytes()
}

#[tokio::test]
async fn announce_reuses_the_connection_id() {
    use Reply::Answer;
    let fake = Fake::start(
        "127.0.0.1:0",
        vec![Answer; 3],
        vec![127, 0, 0, 9, 0x1a, 0xe1],
    )
    .await;
    let mut t = UdpTracker::new(&fake.url(), &config(2000, 3), 1).unwrap();
    let req = request([1; 20], 1, 6881);
    let r = t.announce(&req).await.unwrap();
    assert_eq!(r.interval, Duration::from_secs(42));
    assert_eq!((r.incomplete, r.complete), (Some(1), Some(2)));
    assert_eq!(r.peers, ["127.0.0.9:6881".parse().unwrap()]);
    t.announce(&req).await.unwrap();
    let seen = fake.packets().await;
    let kinds: Vec<bool> = seen.iter().map(|p| is_connect(p)).collect();
    assert_eq!(kinds, [true, false, false], "one connect, two announces");
    // The announce carries the request's fields.
    assert_eq!(seen[1].len(), 98);
    assert_eq!(&seen[1][16..36], &[1; 20]);
    assert_eq!(&seen[1][96..98], &6881u16.to_be_bytes());
}

#[tokio::test]
async fn lost_packets_are_retransmitted() {
    use Reply::{Answer, Drop};
    let script = vec![Drop, Answer, Drop, Answer, Answer];
    let fake = Fake::start("127.0.0.1:0", script, vec![]).await;
    let mut t = UdpTracker::new(&fake.url(), &config(500, 4), 2).unwrap();
    let r = t.announce(&request([2; 20], 1, 1)).await.unwrap();
    assert!(r.peers.is_empty());
    let seen = fake.packets().await;
    // The lost connect is retransmitted; after a lost announce the client
    // does not trust the connection id and connects again.
    let kinds: Vec<bool> = seen.iter().map(|p| is_connect(p)).collect();
    assert_eq!(kinds, [true, true, false, true, false]);
    // Every try used a fresh transaction id.
    let tids: std::collections::HashSet<u32> = seen.iter().map(|p| u32_at(p, 12)).collect();
    assert_eq!(tids.len(), seen.len());
}

#[tokio::test]
async fn gives_up_after_the_configured_retries() {
    // A socket that never answers: count what arrived afterwards.
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let url = format!("udp://{}", sock.local_addr().unwrap());
    let mut t = UdpTracker::new(&url, &config(10, 2), 3).unwrap();
    let e = t.announce(&request([3; 20], 1, 1)).await.unwrap_err();
    assert!(matches!(e, TrackerError::Timeout), "{e}");
    let mut buf = [0u8; 128];
    let mut n = 0;
    while sock.try_recv_from(&mut buf).is_ok() {
        assert!(is_connect(&buf));
        n += 1;
    }
    assert_eq!(n, 3, "first try plus two retransmissions");
}

#[tokio::test]
async fn stale_transaction_ids_are_ignored() {
    use Reply::StaleThenAnswer;
    let fake = Fake::start(
        "127.0.0.1:0",
        vec![StaleThenAnswer; 2],
        vec![1, 2, 3, 4, 0, 80],
    )
    .await;
    let mut t = UdpTracker::new(&fake.url(), &config(5000, 0), 4).unwrap();
    let r = t.announce(&request([4; 20], 1, 1)).await.unwrap();
    assert_eq!(r.peers, ["1.2.3.4:80".parse().unwrap()]);
    assert_eq!(
        fake.packets().await.len(),
        2,
        "no retransmission was needed"
    );
}

#[tokio::test]
async fn error_packet_is_a_failure() {
    use Reply::{Answer, Error};
    let fake = Fake::start("127.0.0.1:0", vec![Answer, Error], vec![]).await;
    let mut t = UdpTracker::new(&fake.url(), &config(5000, 0), 5).unwrap();
    let e = t.announce(&request([5; 20], 1, 1)).await.unwrap_err();
    assert!(
        matches!(e, TrackerError::Failure(ref s) if s == "go away"),
        "{e}"
    );
    fake.packets().await;
}

#[tokio::test]
async fn ipv6_tracker_returns_ipv6_peers() {
    use Reply::Answer;
    let mut peers = Ipv6Addr::LOCALHOST.octets().to_vec();
    peers.extend([0x1a, 0xe2]);
    let fake = Fake::start("[::1]:0", vec![Answer; 2], peers).await;
    let mut t = UdpTracker::new(&fake.url(), &config(5000, 0), 6).unwrap();
    let r = t.announce(&request([6; 20], 1, 1)).await.unwrap();
    assert_eq!(
        r.peers,
        [SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 6882)]
    );
    fake.packets().await;
}

#[tokio::test]
async fn urls_without_port_are_rejected() {
    let e = UdpTracker::new("udp://127.0.0.1/announce", &ClientConfig::default(), 0).unwrap_err();
    assert!(matches!(e, TrackerError::InvalidUrl { .. }), "{e}");
    let e = UdpTracker::new("http://127.0.0.1:1/", &ClientConfig::default(), 0).unwrap_err();
    assert!(matches!(e, TrackerError::UnsupportedScheme(_)), "{e}");
}
