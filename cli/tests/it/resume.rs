//! Fast resume under SIGKILL: `monsoon download` killed at 20 random
//! moments never leaves a resume file that claims a piece that is not on
//! disk, and the download still completes.

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
    let seeder = Command::new(env!("CARGO_BIN_EXE_monsoon"))
        .args([
            "seed",
            "t.torrent",
            "-d",
            "src",
            "--no-trackers",
            "--no-dht",
            "--no-lsd",
            "--quiet",
        ])
        .args(["--port", &port.to_string(), "--max-upload-rate", "1M"])
        .current_dir(&dir)
        .env("XDG_STATE_HOME", dir.join(".seed-state"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _seeder = Guard(seeder);
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
    let mut most = 0;
    let mut kills = 0;
    for _ in 0..20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let mut child = download();
        std::thread::sleep(Duration::from_millis(100 + u64::from(x % 1200)));
        if child.0.try_wait().unwrap().is_some() {
            break; // finished before this kill point
        }
        child.0.kill().unwrap(); // SIGKILL
        child.0.wait().unwrap();
        kills += 1;
        let Some(r) = ResumeData::load(&resume, &meta.info_hash, meta.piece_count(), 1).unwrap()
        else {
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
        most = most.max(r.have.count_ones());
    }
    assert!(
        kills >= 10,
        "only {kills} kills happened before the download finished"
    );
    assert!(most > 0, "no resume file ever claimed a piece");
    // And it completes.
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
