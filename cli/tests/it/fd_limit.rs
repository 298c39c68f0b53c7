//! The limit on open files is raised from the soft to the hard limit at
//! start.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{monsoon, ok, scratch};

/// `(soft, hard)` "Max open files" of process `pid`, from /proc.
fn open_files_limit(pid: &str) -> Option<(String, String)> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut fields = line["Max open files".len()..].split_whitespace();
    Some((fields.next()?.to_owned(), fields.next()?.to_owned()))
}

#[test]
fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
    let (_, hard) = open_files_limit("self").expect("/proc/self/limits");
    assert!(
        hard == "unlimited" || hard.parse::<u64>().unwrap() > 100,
        "the hard limit ({hard}) must exceed 100 for this test"
    );
    let dir = scratch("fd-limit");
    std::fs::write(dir.join("c.bin"), b"content").unwrap();
    ok(&monsoon(&dir, &["create", "c.bin", "-o", "c.torrent"]));
    // No peers, no trackers: the download waits until killed.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -S -n 100 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_monsoon"))
        .args(["download", "c.torrent", "-o", "out", "--port", "0"])
        .args(["--no-trackers", "--no-dht", "--no-lsd", "--quiet"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = None;
    while Instant::now() < deadline {
        seen = open_files_limit(&pid);
        if seen.as_ref().is_some_and(|(soft, _)| *soft == hard) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen, Some((hard.clone(), hard)));
}
