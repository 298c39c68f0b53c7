//! Interop with libtorrent's DHT on 127.0.0.1 (Debian's python3-libtorrent,
//! driven by `tests/support/lt_dht.py`): our node bootstraps from two
//! libtorrent sessions, finds the one seeding a torrent through
//! `get_peers`, and libtorrent's `dht_get_peers` finds what we announced.
//!
//! Needs `/usr/bin/python3` with the `libtorrent` module: `cargo xtask
//! setup` installs it. Without it the test fails and says so.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use monsoon_dht::{Dht, NodeId};

use crate::driver::local_config;

const PYTHON: &str = "/usr/bin/python3";
/// The longest any one step may take.
const STEP: Duration = Duration::from_secs(20);

/// The libtorrent sessions; dropping this kills the Python process.
struct Lt {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    work: PathBuf,
}

impl Drop for Lt {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

impl Lt {
    fn start(ports: &[u16]) -> Lt {
        let probe = Command::new(PYTHON)
            .args(["-c", "import libtorrent"])
            .output();
        assert!(
            probe.is_ok_and(|o| o.status.success()),
            "{PYTHON} cannot import libtorrent: run `cargo xtask setup` \
             (it installs Debian's python3-libtorrent)"
        );
        let work = std::env::temp_dir().join(format!("monsoon-dht-lt-{}", std::process::id()));
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/lt_dht.py");
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        let mut child = Command::new(PYTHON)
            .arg(script)
            .args([
                "--ports",
                &ports.join(","),
                "--max-seconds",
                "120",
                "--work",
            ])
            .arg(&work)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start lt_dht.py");
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lt = Lt {
            child,
            stdin,
            lines,
            work,
        };
        lt.expect(|l| l.starts_with("ready "), "the sessions to be ready");
        lt
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to lt_dht.py");
        self.stdin.flush().expect("flush");
    }

    /// The first line that `want` accepts (earlier lines are skipped),
    /// within [`STEP`].
    fn expect(&mut self, want: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if want(&line) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!("libtorrent: no line for {what} in {STEP:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("lt_dht.py exited waiting for {what}")
                }
            }
        }
    }
}

/// A port free for TCP and UDP on 127.0.0.1 (libtorrent listens on both).
fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn sorted(mut v: Vec<SocketAddr>) -> Vec<SocketAddr> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interop_with_libtorrent_sessions() {
    let started = Instant::now();
    let (p1, p2) = (free_port(), free_port());
    let mut lt = tokio::task::block_in_place(|| Lt::start(&[p1, p2]));

    // 1. Our node bootstraps from the two libtorrent sessions.
    let ours = Dht::bind(addr(0), local_config(&[addr(p1), addr(p2)]))
        .await
        .unwrap();
    let boot = tokio::time::timeout(STEP, ours.bootstrap())
        .await
        .unwrap()
        .unwrap();
    let found = sorted(boot.closest.iter().map(|n| n.addr).collect());
    assert_eq!(
        found,
        sorted(vec![addr(p1), addr(p2)]),
        "bootstrap answers: {boot:?}"
    );
    assert_eq!(ours.stats().await.unwrap().nodes_v4, 2);
    let port = ours.local_addr().port();
    lt.send(&format!("add_node 0 {port}"));
    lt.send(&format!("add_node 1 {port}"));

    // 2. Session 0 seeds a torrent, so it announces itself to the DHT: to
    // session 1 and to us (it accepts our tokens).
    lt.send("seed 0");
    let seeding = tokio::task::block_in_place(|| {
        lt.expect(|l| l.starts_with("seeding 0 "), "the seeding line")
    });
    let hex = seeding.split(' ').nth(2).unwrap().to_owned();
    let info_hash = NodeId::from_hex(&hex).unwrap().0;
    tokio::time::timeout(STEP, async {
        while ours.stats().await.unwrap().announces_in == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("libtorrent never announced to our node");

    // Our get_peers asks the network (our own store is not consulted), so
    // the peer comes from libtorrent's answers.
    let search = ours.get_peers(info_hash).await.unwrap();
    let (peers, done) = tokio::time::timeout(STEP, search.collect())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peers, vec![addr(p1)], "peers of {hex}");
    let tokens = sorted(done.closest.iter().map(|n| n.addr).collect());
    assert_eq!(
        tokens,
        sorted(vec![addr(p1), addr(p2)]),
        "libtorrent gave us tokens"
    );

    // 3. We announce an info-hash; libtorrent's dht_get_peers finds us.
    let ours_hash = [0x6d; 20];
    let search = ours.announce(ours_hash, Some(6666)).await.unwrap();
    let (_, done) = tokio::time::timeout(STEP, search.collect())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        sorted(done.announced.clone()),
        sorted(vec![addr(p1), addr(p2)]),
        "libtorrent accepted our announce_peer"
    );
    let ours_hex = NodeId(ours_hash).to_hex();
    lt.send(&format!("get_peers 1 {ours_hex}"));
    let prefix = format!("peers 1 {ours_hex} ");
    let line = tokio::task::block_in_place(|| {
        lt.expect(|l| l.starts_with(&prefix), "libtorrent's get_peers")
    });
    assert!(line.split(' ').any(|a| a == "127.0.0.1:6666"), "{line}");

    let took = started.elapsed();
    assert!(took < Duration::from_secs(50), "interop took {took:?}");
}
