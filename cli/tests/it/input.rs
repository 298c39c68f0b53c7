//! Reading a .torrent: devices, FIFOs and oversized files are refused fast
//! with bounded memory, by every command that reads one; `-` is stdin.

use std::fs::File;
use std::process::Stdio;
use std::time::Duration;

use crate::util::{fails, monsoon_bounded, ok, scratch};

/// How long a refusal may take (it should take milliseconds).
const FAST: Duration = Duration::from_secs(20);

/// The same refusal from `info`, `announce`, `download` and `seed`.
fn refused_by_every_command(tag: &str, target: &str, message: &str) {
    let dir = scratch(tag);
    for args in [
        &["info", target][..],
        &["announce", target],
        &[
            "download",
            target,
            "-o",
            "out",
            "--port",
            "0",
            "--no-trackers",
            "--no-dht",
            "--no-lsd",
        ],
        &[
            "seed",
            target,
            "--port",
            "0",
            "--no-trackers",
            "--no-dht",
            "--no-lsd",
        ],
    ] {
        let out = monsoon_bounded(&dir, args, Stdio::null(), FAST);
        let err = fails(&out);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    assert!(!dir.join("out").exists());
}

#[test]
fn a_device_is_refused_without_reading() {
    refused_by_every_command(
        "dev-zero",
        "/dev/zero",
        "/dev/zero: is a character device, not a regular file",
    );
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = scratch("fifo");
    let fifo = dir.join("pipe.torrent");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    refused_by_every_command(
        "fifo",
        fifo.to_str().unwrap(),
        "pipe.torrent: is a FIFO, not a regular file (pass - to read a torrent from stdin)",
    );
}

#[test]
fn an_oversized_sparse_file_is_refused_without_reading_it() {
    let dir = scratch("sparse");
    let big = dir.join("big.torrent");
    File::create(&big).unwrap().set_len(1 << 30).unwrap();
    refused_by_every_command(
        "sparse",
        big.to_str().unwrap(),
        "big.torrent: 1.00 GiB is larger than the 64.00 MiB limit for a .torrent file",
    );
}

#[test]
fn stdin_is_read_up_to_the_limit_plus_one_byte() {
    let dir = scratch("stdin-zero");
    let zero = File::open("/dev/zero").unwrap();
    let err = fails(&monsoon_bounded(&dir, &["info", "-"], zero.into(), FAST));
    assert!(
        err.contains("stdin: larger than the 64.00 MiB limit for a .torrent file"),
        "{err}"
    );
}

#[test]
fn stdin_holds_a_torrent_when_the_path_is_a_dash() {
    let dir = scratch("stdin-ok");
    let content = dir.join("c.bin");
    std::fs::write(&content, b"some bytes").unwrap();
    ok(&crate::util::monsoon(
        &dir,
        &["create", "c.bin", "-o", "c.torrent"],
    ));
    let file = File::open(dir.join("c.torrent")).unwrap();
    let out = ok(&monsoon_bounded(
        &dir,
        &["info", "--json", "-"],
        file.into(),
        FAST,
    ));
    assert!(out.contains("\"name\":\"c.bin\""), "{out}");
}
