//! `monsoon seed`: refuses damaged data unless `--partial`, and serves a
//! `monsoon download` until its seeding time is up (exit 0).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Guard, data, fails, monsoon, ok, scratch};

/// A folder `dir/src` with one 300 kB file and its torrent `dir/t.torrent`.
fn torrent(tag: &str) -> std::path::PathBuf {
    let dir = scratch(tag);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/data.bin"), data(300_000, 7)).unwrap();
    ok(&monsoon(
        &dir,
        &["create", "src/data.bin", "-l", "16K", "-o", "t.torrent"],
    ));
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn damaged_data_is_refused_with_the_file_named() {
    let dir = torrent("seed-damaged");
    let mut bytes = std::fs::read(dir.join("src/data.bin")).unwrap();
    bytes[100_000] ^= 1;
    std::fs::write(dir.join("src/data.bin"), bytes).unwrap();
    let args = [
        "seed",
        "t.torrent",
        "-d",
        "src",
        "--port",
        "0",
        "--no-trackers",
        "--no-dht",
        "--no-lsd",
    ];
    let err = fails(&monsoon(&dir, &args));
    assert!(
        err.contains("1 of 19 pieces are missing or damaged"),
        "{err}"
    );
    assert!(
        err.contains("data.bin (1 pieces)") && err.contains("--partial"),
        "{err}"
    );
    // Nothing at all: nothing to seed, even with --partial.
    std::fs::remove_file(dir.join("src/data.bin")).unwrap();
    let err = fails(&monsoon(&dir, &[&args[..], &["--partial"]].concat()));
    assert!(
        err.contains("19 of 19") && err.contains("nothing to seed"),
        "{err}"
    );
}

#[test]
fn seed_serves_a_download_then_stops_at_its_seed_time() {
    let dir = torrent("seed-serve");
    let port = free_port().to_string();
    let seed_args = [
        "seed",
        "t.torrent",
        "-d",
        "src",
        "--port",
        &port,
        "--no-trackers",
        "--no-dht",
        "--no-lsd",
        "--seed-time",
        "4s",
    ];
    let seeder = Command::new(env!("CARGO_BIN_EXE_monsoon"))
        .args(seed_args)
        .current_dir(&dir)
        .env("XDG_STATE_HOME", dir.join(".state"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seeder = Guard(seeder);
    let peer = format!("127.0.0.1:{port}");
    let down = monsoon(
        &dir,
        &[
            "download",
            "t.torrent",
            "-o",
            "out",
            "--no-trackers",
            "--no-dht",
            "--no-lsd",
            "--port",
            "0",
            "--peer",
            &peer,
        ],
    );
    ok(&down);
    assert_eq!(
        std::fs::read(dir.join("out/data.bin")).unwrap(),
        std::fs::read(dir.join("src/data.bin")).unwrap()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = seeder.0.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            panic!("monsoon seed did not stop after its seed time");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(seeder.0.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{status:?}: {err}");
    assert!(
        err.contains("300.00 kB uploaded") || err.contains("292.97 KiB uploaded"),
        "{err}"
    );
}
