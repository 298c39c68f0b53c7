//! Against a real tracker: Debian's `opentracker`, started per test on a
//! free 127.0.0.1 port with a whitelist holding the test's info-hash.
//!
//! Covers, over HTTP and over UDP: two clients announcing the same
//! info-hash each receive the other's address; scrape shows one seeder and
//! one leecher; `stopped` removes the peer (from the peer list and the
//! scrape counts); an info-hash outside the whitelist is a typed
//! `Failure` over HTTP (and a truncated-packet error over UDP, the bare
//! header opentracker sends); a tracker list over both schemes answers from each.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use monsoon_tracker::{
    AnnounceRequest, Event, HttpTracker, ScrapeStats, Tracker, TrackerError, TrackerList,
    UdpTracker,
};

use crate::support::{fast_config, request};

/// A running opentracker, killed (and its directory removed) on drop.
struct OpenTracker {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for OpenTracker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port free for both TCP and UDP on 127.0.0.1 at the time of the call,
/// never the same twice in this process. opentracker listens with
/// `SO_REUSEPORT`, so two of them started on one port by tests running in
/// parallel would share it (and answer from each other's whitelist).
fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        let mut given = GIVEN.lock().unwrap();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// How many sockets listen on TCP `127.0.0.1:port` (from /proc/net/tcp).
fn listeners(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!("0100007F:{port:04X}");
    table
        .lines()
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.get(1) == Some(&local.as_str()) && cols.get(3) == Some(&"0A")
        })
        .count()
}

impl OpenTracker {
    /// Starts opentracker with `info_hashes` whitelisted; retries on
    /// another port if it does not come up.
    fn start(info_hashes: &[[u8; 20]]) -> Self {
        for _attempt in 0..5 {
            let port = free_port();
            let dir = std::env::temp_dir()
                .join(format!("monsoon-opentracker-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let wl = dir.join("whitelist");
            let list: String = info_hashes.iter().map(|h| hex(h) + "\n").collect();
            std::fs::write(&wl, list).unwrap();
            let spawned = Command::new("opentracker")
                .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-P"])
                .arg(port.to_string())
                .arg("-w")
                .arg(&wl)
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let child = match spawned {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    panic!("opentracker not found: run `cargo xtask setup`")
                }
                Err(e) => panic!("cannot start opentracker: {e}"),
            };
            let mut ot = Self { child, port, dir };
            // Wait (bounded) until it answers and has loaded the whitelist.
            for _ in 0..100 {
                if ot.child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if probe(port, &info_hashes[0]) {
                    // Alone on its port, or another run's tracker would
                    // answer half of the connections.
                    if listeners(port) == 1 {
                        return ot;
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("opentracker did not start after 5 attempts");
    }

    fn http(&self) -> String {
        format!("http://127.0.0.1:{}/announce", self.port)
    }

    fn udp(&self) -> String {
        format!("udp://127.0.0.1:{}", self.port)
    }
}

/// Whether the tracker answers a `stopped` announce (which adds no peer)
/// for `hash` with something other than a failure.
fn probe(port: u16, hash: &[u8; 20]) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!(
        "GET /announce?info_hash={}&peer_id=-PROBE-0000000000000&port=1&uploaded=0\
         &downloaded=0&left=0&compact=1&event=stopped HTTP/1.0\r\n\r\n",
        monsoon_tracker::percent_encode(hash)
    );
    let mut resp = Vec::new();
    s.write_all(req.as_bytes()).is_ok()
        && s.read_to_end(&mut resp).is_ok()
        && resp.windows(8).any(|w| w == b"interval")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The swarm scenario, for any tracker: `make` builds a fresh client.
async fn two_peers_scenario(make: impl Fn() -> Tracker, hash: [u8; 20]) {
    let (mut a, mut b) = (make(), make());
    let mut leecher = request(hash, 1, 40001);
    leecher.event = Event::Started;
    let mut seeder = request(hash, 2, 40002);
    seeder.event = Event::Started;
    seeder.left = 0;

    let r = a.announce(&leecher).await.unwrap();
    assert!(r.interval > Duration::ZERO, "{r:?}");
    let r = b.announce(&seeder).await.unwrap();
    assert!(r.peers.contains(&addr(40001)), "seeder sees leecher: {r:?}");
    assert_eq!((r.complete, r.incomplete), (Some(1), Some(1)), "{r:?}");

    leecher.event = Event::None;
    let r = a.announce(&leecher).await.unwrap();
    assert!(r.peers.contains(&addr(40002)), "leecher sees seeder: {r:?}");

    let s = a.scrape(&[hash]).await.unwrap();
    assert_eq!(
        s.get(&hash).map(|s| (s.complete, s.incomplete)),
        Some((1, 1)),
        "{s:?}"
    );

    seeder.event = Event::Stopped;
    b.announce(&seeder).await.unwrap();
    let r = a.announce(&leecher).await.unwrap();
    assert!(!r.peers.contains(&addr(40002)), "stopped peer gone: {r:?}");
    assert_eq!(r.complete, Some(0), "{r:?}");
    let s = a.scrape(&[hash]).await.unwrap();
    assert!(
        matches!(
            s.get(&hash),
            Some(ScrapeStats {
                complete: 0,
                incomplete: 1,
                ..
            })
        ),
        "{s:?}"
    );
}

#[tokio::test]
async fn http_two_peers_scrape_and_stopped() {
    let hash = [0x11; 20];
    let ot = OpenTracker::start(&[hash]);
    let url = ot.http();
    let make = || Tracker::Http(HttpTracker::new(&url, &fast_config()).unwrap());
    two_peers_scenario(make, hash).await;
}

#[tokio::test]
async fn udp_two_peers_scrape_and_stopped() {
    let hash = [0x22; 20];
    let ot = OpenTracker::start(&[hash]);
    let url = ot.udp();
    let seed = std::cell::Cell::new(1u64);
    let make = || {
        seed.set(seed.get() + 1);
        Tracker::Udp(UdpTracker::new(&url, &fast_config(), seed.get()).unwrap())
    };
    two_peers_scenario(make, hash).await;
}

#[tokio::test]
async fn unlisted_info_hash_is_a_failure() {
    let ot = OpenTracker::start(&[[0x33; 20]]);
    let req = request([0x44; 20], 1, 40003);
    let http = HttpTracker::new(&ot.http(), &fast_config()).unwrap();
    let e = http.announce(&req).await.unwrap_err();
    assert!(
        matches!(e, TrackerError::Failure(ref s) if s.contains("not authorized")),
        "{e}"
    );
    let mut udp = UdpTracker::new(&ot.udp(), &fast_config(), 9).unwrap();
    // Over UDP, opentracker answers an unlisted hash with a bare 8-byte
    // announce header, which the decoder rejects as truncated.
    let e = udp.announce(&req).await.unwrap_err();
    assert!(
        matches!(e, TrackerError::Truncated { len: 8, need: 20 }),
        "{e}"
    );
}

#[tokio::test]
async fn tracker_list_over_both_schemes() {
    let hash = [0x55; 20];
    let ot = OpenTracker::start(&[hash]);
    let mut list = TrackerList::new(vec![vec![ot.http(), ot.udp()]], fast_config(), 3);
    assert_eq!(list.len(), 2);
    let mut req: AnnounceRequest = request(hash, 1, 40004);
    req.event = Event::Started;
    let each = list.announce_each(&req).await;
    assert_eq!(each.len(), 2);
    for r in &each {
        let resp = r.result.as_ref().unwrap();
        assert!(resp.peers.contains(&addr(40004)), "{}: {resp:?}", r.url);
    }
    req.event = Event::None;
    let r = list.announce(&req).await.unwrap();
    assert_eq!(r.incomplete, Some(1));
    let s = list.scrape(&[hash]).await.unwrap();
    assert_eq!(s.get(&hash).map(|s| s.incomplete), Some(1));
}
