//! `monsoon announce` against a real opentracker on 127.0.0.1 (HTTP and
//! UDP, text and JSON), a dead tracker, an unsupported scheme, and a
//! magnet link without trackers.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::{bstr, fails, monsoon, ok, scratch};

/// A running opentracker, killed on drop.
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

impl OpenTracker {
    /// Starts opentracker with `hash_hex` whitelisted on a free port;
    /// retries on another port if it does not come up.
    fn start(hash_hex: &str) -> Self {
        for _ in 0..5 {
            let port = loop {
                let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let port = tcp.local_addr().unwrap().port();
                if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
                    break port;
                }
            };
            let dir = scratch("opentracker");
            let wl = dir.join("whitelist");
            std::fs::write(&wl, format!("{hash_hex}\n")).unwrap();
            let child = match Command::new("opentracker")
                .args([
                    "-i",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-P",
                    &port.to_string(),
                ])
                .arg("-w")
                .arg(&wl)
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
            {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    panic!("opentracker not found: run `cargo xtask setup`")
                }
                Err(e) => panic!("cannot start opentracker: {e}"),
            };
            let mut ot = Self { child, port, dir };
            for _ in 0..100 {
                if ot.child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if ot.ready(hash_hex) {
                    return ot;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("opentracker did not start after 5 attempts");
    }

    /// Answers a `stopped` announce (which adds no peer) without failure,
    /// so the whitelist is loaded.
    fn ready(&self, hash_hex: &str) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let hash: String = (0..20)
            .map(|i| format!("%{}", &hash_hex[2 * i..2 * i + 2]))
            .collect();
        let req = format!(
            "GET /announce?info_hash={hash}&peer_id=-PROBE-0000000000000&port=1&uploaded=0\
             &downloaded=0&left=0&compact=1&event=stopped HTTP/1.0\r\n\r\n"
        );
        let mut resp = Vec::new();
        s.write_all(req.as_bytes()).is_ok()
            && s.read_to_end(&mut resp).is_ok()
            && resp.windows(8).any(|w| w == b"interval")
    }
}

const HASH: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn announces_over_http_and_udp_in_json() {
    let ot = OpenTracker::start(HASH);
    let dir = scratch("announce-json");
    let magnet = format!(
        "magnet:?xt=urn:btih:{HASH}&tr=http%3A%2F%2F127.0.0.1%3A{p}%2Fannounce&tr=udp%3A%2F%2F127.0.0.1%3A{p}",
        p = ot.port
    );
    let out = ok(&monsoon(
        &dir,
        &["announce", "--json", "--port", "7777", &magnet],
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["info_hash"], HASH);
    let trackers = v["trackers"].as_array().unwrap();
    assert_eq!(trackers.len(), 2, "{out}");
    for t in trackers {
        assert_eq!(t["ok"], true, "{t}");
        assert!(t["interval"].as_u64().unwrap() > 0, "{t}");
        assert_eq!(t["leechers"], 1, "{t}");
        assert!(
            t["peers"]
                .as_array()
                .unwrap()
                .contains(&Value::from("127.0.0.1:7777")),
            "{t}"
        );
        assert_eq!(t["stopped"]["ok"], true, "{t}");
    }
}

#[test]
fn announces_a_torrent_file_in_text() {
    let ot = OpenTracker::start(HASH);
    let dir = scratch("announce-text");
    // A torrent whose info-hash is not whitelisted: the tracker's refusal
    // is shown per tracker, the command fails with one line.
    let announce = format!("http://127.0.0.1:{}/announce", ot.port);
    let mut t = b"d8:announce".to_vec();
    t.extend(bstr(announce.as_bytes()));
    t.extend(b"4:infod6:lengthi3e4:name1:a12:piece lengthi16384e6:pieces");
    t.extend(bstr(&[0u8; 20]));
    t.extend(b"ee");
    std::fs::write(dir.join("a.torrent"), &t).unwrap();
    let out = monsoon(&dir, &["announce", "a.torrent"]);
    let err = fails(&out);
    assert!(err.contains("no tracker answered"), "{err}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&format!("tier 0  {announce}")), "{text}");
    assert!(text.contains("not authorized"), "{text}");

    // The same torrent with --tracker and the whitelisted magnet works.
    let magnet = format!("magnet:?xt=urn:btih:{HASH}");
    let udp = format!("udp://127.0.0.1:{}", ot.port);
    let text = ok(&monsoon(&dir, &["announce", "--tracker", &udp, &magnet]));
    assert!(text.contains(&format!("tier 0  {udp}")), "{text}");
    assert!(text.contains("peers:     1\n    127.0.0.1:6881"), "{text}");
    assert!(text.contains("stopped:   ok"), "{text}");
}

#[test]
fn dead_trackers_and_bad_schemes_are_reported() {
    let dir = scratch("announce-dead");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}/announce");
    let magnet = format!("magnet:?xt=urn:btih:{HASH}");
    let out = monsoon(
        &dir,
        &[
            "announce",
            "--json",
            "--tracker",
            &dead,
            "--tracker",
            "wss://x/announce",
            &magnet,
        ],
    );
    fails(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = v["trackers"].as_array().unwrap();
    assert_eq!(t[0]["ok"], false);
    assert!(
        t[0]["error"].as_str().unwrap().contains("transport error"),
        "{v}"
    );
    assert!(
        t[1]["error"].as_str().unwrap().contains("unsupported"),
        "{v}"
    );

    let err = fails(&monsoon(&dir, &["announce", &magnet]));
    assert!(err.contains("no trackers"), "{err}");
}
