//! `monsoon daemon` as a process, driven by `monsoon add | list | pause |
//! resume | rm | status`: the remote commands, a clean stop on SIGTERM,
//! and a restart after SIGKILL that uses fast resume (the torrent seeds
//! again having read a few pieces, not the whole data), then one after the
//! state files were damaged (reported, moved aside, rechecked).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{Guard, data, fails, ok, scratch};

/// A `monsoon daemon` child on a free port.
struct DaemonProc {
    guard: Guard,
    url: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl DaemonProc {
    fn start(dir: &Path) -> Self {
        let port = free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("daemon.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_monsoon"))
            .args(["daemon", "--http", &format!("127.0.0.1:{port}")])
            .args(["--state-dir", "state", "--download-dir", "downloads"])
            .args([
                "--port",
                "0",
                "--no-dht",
                "--no-lsd",
                "--resume-interval",
                "100ms",
            ])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let d = DaemonProc {
            guard: Guard(child),
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the daemon does not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }

    /// `monsoon ARGS --remote URL` in `dir`.
    fn remote(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_monsoon"))
            .args(args)
            .args(["--remote", &self.url])
            .current_dir(dir)
            .output()
            .unwrap()
    }

    fn list(&self, dir: &Path) -> Vec<Value> {
        let out = ok(&self.remote(dir, &["list", "--json"]));
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// Polls `list` until torrent `id` satisfies `f`.
    fn wait(&self, dir: &Path, id: u64, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let list = self.list(dir);
            if let Some(t) = list.iter().find(|t| t["id"] == id) {
                if f(t) {
                    return t.clone();
                }
            }
            assert!(Instant::now() < deadline, "{what}: {list:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, and how long until it exited (and its status).
    fn terminate(mut self) -> (Duration, std::process::ExitStatus) {
        let pid = self.guard.0.id().to_string();
        let started = Instant::now();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        loop {
            if let Some(status) = self.guard.0.try_wait().unwrap() {
                return (started.elapsed(), status);
            }
            assert!(started.elapsed() < Duration::from_secs(20), "still running");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn kill(mut self) {
        self.guard.0.kill().unwrap();
        self.guard.0.wait().unwrap();
    }
}

/// Writes `len` bytes at `dir/downloads/name` and makes `dir/name.torrent`.
fn content(dir: &Path, name: &str, len: usize, piece: &str) -> PathBuf {
    let downloads = dir.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    std::fs::write(downloads.join(name), data(len, 9)).unwrap();
    let torrent = dir.join(format!("{name}.torrent"));
    ok(&crate::util::monsoon(
        dir,
        &[
            "create",
            downloads.join(name).to_str().unwrap(),
            "-l",
            piece,
            "-o",
            torrent.to_str().unwrap(),
        ],
    ));
    torrent
}

#[test]
fn remote_commands_against_a_running_daemon() {
    let dir = scratch("remote");
    let torrent = content(&dir, "a.bin", 300_000, "32K");
    let d = DaemonProc::start(&dir);
    let out = ok(&d.remote(&dir, &["add", torrent.to_str().unwrap()]));
    assert!(out.starts_with("added a.bin (id 1, "), "{out}");
    d.wait(&dir, 1, "seeding", |t| t["state"] == "seeding");
    let table = ok(&d.remote(&dir, &["list"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("ID  ") && lines[0].ends_with("NAME"),
        "{table}"
    );
    assert!(
        lines[1].contains("100.0%") && lines[1].contains("seeding"),
        "{table}"
    );
    assert!(lines[1].ends_with("a.bin"), "{table}");

    assert_eq!(ok(&d.remote(&dir, &["pause", "1"])), "paused 1\n");
    d.wait(&dir, 1, "paused", |t| t["state"] == "paused");
    assert_eq!(ok(&d.remote(&dir, &["resume", "1"])), "resumed 1\n");
    d.wait(&dir, 1, "seeding", |t| t["state"] == "seeding");
    let status = ok(&d.remote(&dir, &["status"]));
    assert!(
        status.contains("torrents:   1 (0 active, 0 paused)"),
        "{status}"
    );

    // Errors: one line, status 1.
    let err = fails(&d.remote(&dir, &["pause", "99"]));
    assert!(
        err.contains("no torrent 99") && err.contains("404"),
        "{err}"
    );
    std::fs::write(dir.join("bad.torrent"), b"d3:foo").unwrap();
    let err = fails(&d.remote(&dir, &["add", "bad.torrent"]));
    assert!(err.contains("not a valid .torrent"), "{err}");
    let err = fails(&d.remote(&dir, &["add", "magnet:?xt=urn:btih:0123"]));
    assert!(err.contains("not a usable magnet link"), "{err}");
    let err = fails(&d.remote(&dir, &["add", torrent.to_str().unwrap()]));
    assert!(err.contains("already added"), "{err}");
    let err = fails(&crate::util::monsoon(
        &dir,
        &[
            "list",
            "--remote",
            &format!("http://127.0.0.1:{}", free_port()),
        ],
    ));
    assert!(err.contains("cannot reach the monsoon daemon"), "{err}");

    assert_eq!(
        ok(&d.remote(&dir, &["rm", "--delete", "1"])),
        "removed 1 and its data\n"
    );
    assert!(!dir.join("downloads/a.bin").exists());
    assert_eq!(d.list(&dir), Vec::<Value>::new());
    let (took, status) = d.terminate();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
}

#[test]
fn a_killed_daemon_restarts_with_fast_resume_and_survives_damaged_state() {
    let dir = scratch("restart");
    let size = 32 << 20;
    let big = content(&dir, "big.bin", size, "256K");
    let small = content(&dir, "small.bin", 100_000, "32K");
    let d = DaemonProc::start(&dir);
    ok(&d.remote(&dir, &["add", big.to_str().unwrap()]));
    ok(&d.remote(&dir, &["add", "--paused", small.to_str().unwrap()]));
    let t = d.wait(&dir, 1, "seeding", |t| t["state"] == "seeding");
    // The first check hashed everything.
    assert_eq!(t["bytes_read"], size);
    let hash = t["hash"].as_str().unwrap().to_owned();
    let resume = dir.join(format!("state/resume/{hash}.resume"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !resume.exists() {
        assert!(Instant::now() < deadline, "no resume file");
        std::thread::sleep(Duration::from_millis(20));
    }
    d.kill();

    // Restart after SIGKILL: both back, the big one seeding after reading
    // a few pieces (spot checks) instead of 32 MiB.
    let started = Instant::now();
    let d = DaemonProc::start(&dir);
    let t = d.wait(&dir, 1, "seeding after restart", |t| {
        t["state"] == "seeding"
    });
    let took = started.elapsed();
    let read = t["bytes_read"].as_u64().unwrap();
    assert!(read <= 1 << 20, "fast resume read {read} bytes");
    eprintln!("restart to seeding: {took:?}, {read} bytes read");
    let list = d.list(&dir);
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["name"], "small.bin");
    assert_eq!(list[1]["paused"], true);
    assert_eq!(list[1]["state"], "paused");
    d.kill();

    // Damage: the big one's record is garbage, the small one's .torrent
    // truncated. Reported and moved aside; the big one comes back with a
    // new id and a full check; nothing crashes.
    let record = dir.join(format!("state/torrents/{hash}.json"));
    std::fs::write(&record, b"{\"version\": 1, \"id\": ").unwrap();
    let small_hash = list[1]["hash"].as_str().unwrap();
    let small_torrent = dir.join(format!("state/torrents/{small_hash}.torrent"));
    let bytes = std::fs::read(&small_torrent).unwrap();
    std::fs::write(&small_torrent, &bytes[..bytes.len() / 2]).unwrap();
    let d = DaemonProc::start(&dir);
    let status = ok(&d.remote(&dir, &["status"]));
    assert!(
        status.contains("problems in the state directory"),
        "{status}"
    );
    assert!(status.contains(&format!("{hash}.json")), "{status}");
    assert!(status.contains("checked in full"), "{status}");
    assert!(
        status.contains(&format!("{small_hash}.torrent")),
        "{status}"
    );
    assert!(status.contains("not restored"), "{status}");
    assert!(record.with_extension("json.corrupt").exists());
    assert!(small_torrent.with_extension("torrent.corrupt").exists());
    let list = d.list(&dir);
    assert_eq!(list.len(), 1, "{list:?}");
    let id = list[0]["id"].as_u64().unwrap();
    assert_eq!(list[0]["hash"], hash.as_str());
    let t = d.wait(&dir, id, "rechecked", |t| t["state"] == "seeding");
    assert_eq!(t["bytes_read"], size, "a full recheck");
    let (took, status) = d.terminate();
    assert!(
        status.success() && took < Duration::from_secs(5),
        "{took:?} {status:?}"
    );
}

/// `monsoon seed` with the daemon's state directory uses the resume file
/// the daemon wrote: a piece damaged behind its back (same size and time)
/// goes unnoticed unless a spot check draws it, as the other pieces are not
/// hashed again; with an empty state directory the same command finds it.
#[test]
fn monsoon_seed_uses_the_resume_files_the_daemon_wrote() {
    let dir = scratch("shared-resume");
    // 64 pieces of 64 KiB, two of them spot-checked at random.
    let torrent = content(&dir, "s.bin", 4 << 20, "64K");
    let d = DaemonProc::start(&dir);
    ok(&d.remote(&dir, &["add", torrent.to_str().unwrap()]));
    let t = d.wait(&dir, 1, "seeding", |t| t["state"] == "seeding");
    let hash = t["hash"].as_str().unwrap().to_owned();
    let (_, status) = d.terminate();
    assert!(status.success());
    assert!(dir.join(format!("state/resume/{hash}.resume")).exists());

    let file = dir.join("downloads/s.bin");
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[10 * 65536 + 5] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(mtime)
        .unwrap();

    let seed = |state: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_monsoon"))
            .args(["seed", torrent.to_str().unwrap(), "-d", "downloads"])
            .args([
                "--state-dir",
                state,
                "--no-trackers",
                "--no-dht",
                "--no-lsd",
            ])
            .args(["--port", "0"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        (Guard(child), stderr)
    };
    // Trusted: it starts seeding all 64 pieces. The two spot-checked
    // pieces are drawn anew on every start, so one start in 32 hashes the
    // damaged piece and rightly refuses; a full recheck would refuse every
    // time. Up to four starts: all four refuse by chance once in a million.
    let mut lines = Vec::new();
    for _ in 0..4 {
        let (mut child, stderr) = seed("state");
        let line = first_line_with(stderr, &["seeding s.bin", "error:"]);
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        let trusted = line.starts_with("seeding s.bin");
        lines.push(line);
        if trusted {
            break;
        }
    }
    assert!(
        lines.last().unwrap().starts_with("seeding s.bin"),
        "{lines:?}"
    );
    // Without the resume file, the check finds the damaged piece.
    let (mut child, stderr) = seed("other-state");
    let line = first_line_with(stderr, &["seeding s.bin", "error:"]);
    assert!(
        line.contains("1 of 64 pieces are missing or damaged"),
        "{line}"
    );
    assert_eq!(child.0.wait().unwrap().code(), Some(1));
}

/// The first line of `stderr` containing one of `needles` (within 30 s).
fn first_line_with(stderr: std::process::ChildStderr, needles: &[&str]) -> String {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if needles.iter().any(|n| line.contains(n)) => return line,
            Ok(_) => {}
            Err(e) => panic!("no line with {needles:?}: {e}"),
        }
    }
}
