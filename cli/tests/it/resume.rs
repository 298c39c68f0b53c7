//! Fast resume under SIGKILL: `monsoon download` killed at 20 random
//! moments never leaves a resume file that claims a piece that is not on
//! disk, never loses a piece a resume file claimed, and the download still
//! completes.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use monsoon_engine::{Metainfo, ResumeData};
use sha1::{Digest, Sha1};

use crate::util::{Guard, data, ok, scratch};

#[test]
fn resume_files_never_claim_a_piece_that_a_kill_lost() {
    let dir = scratch("killloop");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let content = data(16 << 20, 3);
    std::fs::write(dir.join("src/data.bin"), &content).unwrap();
    ok(&crate::util::monsoon(
        &dir,
        &["create", "src/data.bin", "-l", "64K", "-o", "t.torrent"],
    ));
    let meta = Metainfo::from_bytes(&std::fs::read(dir.join("t.torrent")).unwrap()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Slow enough that every one of the 20 runs is killed mid-download
    // (each downloads for under 1.3 s, 20 runs under 13 MiB of 16).
    let seeder = |rate: &str| {
        Command::new(env!("CARGO_BIN_EXE_monsoon"))
            .args(["seed", "t.torrent", "-d", "src", "--no-trackers", "--quiet"])
            .args(["--port", &port.to_string(), "--max-upload-rate", rate])
            .args(["--no-dht", "--no-lsd"])
            .current_dir(&dir)
            .env("XDG_STATE_HOME", dir.join(".seed-state"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Guard)
            .unwrap()
    };
    let mut slow_seeder = seeder("512K");
    let state = dir.join(".state");
    let resume = state
        .join("monsoon/resume")
        .join(format!("{}.resume", meta.info_hash_hex()));
    let download = || {
        Command::new(env!("CARGO_BIN_EXE_monsoon"))
            .args([
                "download",
                "t.torrent",
                "-o",
                "out",
                "--no-trackers",
                "--no-dht",
                "--no-lsd",
                "--quiet",
                "--port",
                "0",
            ])
            .args([
                "--peer",
                &format!("127.0.0.1:{port}"),
                "--resume-interval",
                "100ms",
            ])
            .current_dir(&dir)
            .env("XDG_STATE_HOME", &state)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Guard)
            .unwrap()
    };
    // A fixed pseudo-random sequence of kill points, 100 to 1300 ms.
    let mut x: u32 = 0x9e37_79b9;
    let mut claimed = piece_set(&meta, None);
    let mut kills = 0;
    for _ in 0..20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let mut child = download();
        std::thread::sleep(Duration::from_millis(100 + u64::from(x % 1200)));
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "run {} ended before its kill point",
            kills + 1
        );
        child.0.kill().unwrap(); // SIGKILL
        child.0.wait().unwrap();
        kills += 1;
        let Some(r) = ResumeData::load(
            &resume,
            &meta.info_hash,
            meta.piece_count(),
            1,
            &dir.join("out"),
        )
        .unwrap() else {
            assert!(claimed.is_empty(), "kill {kills}: the resume file vanished");
            continue;
        };
        let file = std::fs::read(dir.join("out/data.bin")).unwrap_or_default();
        for p in r.have.iter_ones() {
            let start = p as usize * 65536;
            let end = (start + 65536).min(content.len());
            let on_disk = file
                .get(start..end)
                .map(|b| <[u8; 20]>::from(Sha1::digest(b)));
            assert_eq!(
                on_disk,
                Some(meta.pieces[p as usize]),
                "kill {kills}: piece {p} claimed but not on disk"
            );
        }
        // Nothing a resume file claimed was lost by a kill and a restart.
        let now = piece_set(&meta, Some(&r));
        let lost: Vec<u32> = claimed.difference(&now).copied().collect();
        assert!(lost.is_empty(), "kill {kills}: pieces {lost:?} were lost");
        claimed = now;
    }
    assert_eq!(kills, 20);
    assert!(!claimed.is_empty(), "no resume file ever claimed a piece");
    // And it completes, from an unthrottled seeder.
    slow_seeder.0.kill().unwrap();
    slow_seeder.0.wait().unwrap();
    let _seeder = seeder("0");
    let mut child = download();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the last run did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    assert_eq!(std::fs::read(dir.join("out/data.bin")).unwrap(), content);
}

/// The pieces `r` claims (none without one).
fn piece_set(meta: &Metainfo, r: Option<&ResumeData>) -> std::collections::BTreeSet<u32> {
    r.map(|r| {
        r.have
            .iter_ones()
            .filter(|&p| p < meta.piece_count())
            .collect()
    })
    .unwrap_or_default()
}
