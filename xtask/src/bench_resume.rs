//! `cargo xtask bench --resume [--size-mib N]`: how long `monsoon daemon`
//! takes to seed a large torrent again after SIGKILL (fast resume: the
//! resume file is trusted, a few pieces spot-checked) next to its first,
//! full check. The data is a sparse file (50 GiB by default) of zeros, so
//! the full check measures hashing, not the disk.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::e2e::{self, Proc, check_output, free_port};

/// GET `path` on the daemon; the body.
fn get(port: u16, path: &str) -> Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let at = text.find("\r\n\r\n").context("no HTTP body")?;
    Ok(text[at + 4..].to_owned())
}

/// The number after `"key":` in `json`.
fn number(json: &str, key: &str) -> Option<u64> {
    let pat = format!("\"{key}\":");
    let at = json.find(&pat)? + pat.len();
    let digits: String = json[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn start(bin: &Path, dir: &Path, http: u16, log: &str) -> Result<Proc> {
    let peer = free_port()?;
    Proc::spawn(
        "monsoon daemon",
        Command::new(bin)
            .arg("daemon")
            .args(["--http", &format!("127.0.0.1:{http}"), "--no-dht"])
            .args(["--port", &peer.to_string()])
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--download-dir")
            .arg(dir.join("downloads")),
        &dir.join(log),
    )
}

/// Polls (every 5 ms) until torrent 1 seeds; its `bytes_read` then.
fn until_seeding(http: u16, limit: Duration) -> Result<u64> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(body) = get(http, "/api/v1/torrents/1") {
            if body.contains("\"state\":\"seeding\"") {
                return number(&body, "bytes_read").context("no bytes_read");
            }
        }
        if Instant::now() > deadline {
            bail!("not seeding after {limit:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// What else runs: the load average and the busiest processes.
fn machine() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let top = check_output(
        Command::new("ps").args(["-eo", "pcpu,comm", "--sort=-pcpu"]),
        Duration::from_secs(10),
    )
    .unwrap_or_default();
    let busy: Vec<&str> = top.lines().skip(1).take(5).map(str::trim).collect();
    format!("load {}; busiest: {}", load.trim(), busy.join(", "))
}

pub(crate) fn run(bin: &Path, size_mib: u64) -> Result<()> {
    let dir = e2e::fresh_dir("bench-resume")?;
    let data = dir.join("downloads/big.bin");
    std::fs::create_dir_all(data.parent().context("path")?)?;
    std::fs::File::create(&data)?.set_len(size_mib << 20)?;
    let torrent = dir.join("big.torrent");
    println!("bench --resume: a {size_mib} MiB sparse file; making its torrent");
    let made = Instant::now();
    check_output(
        Command::new(bin)
            .args(["create", "--v1"])
            .arg(&data)
            .arg("-o")
            .arg(&torrent),
        Duration::from_secs(3600),
    )?;
    println!("  monsoon create: {:.1} s", made.elapsed().as_secs_f64());
    let http = free_port()?;
    let before = machine();
    let daemon = start(bin, &dir, http, "daemon-1.log")?;
    e2e::wait_listening("monsoon daemon", http, Duration::from_secs(30))?;
    let added = Instant::now();
    check_output(
        Command::new(bin)
            .arg("add")
            .arg(&torrent)
            .args(["--remote", &format!("http://127.0.0.1:{http}")]),
        Duration::from_secs(60),
    )?;
    let full_read = until_seeding(http, Duration::from_secs(3600))?;
    let full = added.elapsed();
    let resume = std::fs::read_dir(dir.join("state/resume"))?
        .filter_map(|e| e.ok())
        .find(|e| e.path().extension().is_some_and(|x| x == "resume"));
    if resume.is_none() {
        bail!("no resume file after the check");
    }
    drop(daemon); // SIGKILL
    let restarted = Instant::now();
    let _daemon = start(bin, &dir, http, "daemon-2.log")?;
    let fast_read = until_seeding(http, Duration::from_secs(600))?;
    let fast = restarted.elapsed();
    let after = machine();
    println!(
        "\n| {size_mib} MiB sparse torrent | until seeding | bytes read |\n|---|---|---|\n\
         | first start: full check | {:.2} s | {full_read} |\n\
         | restart after SIGKILL: fast resume | {:.3} s | {fast_read} |",
        full.as_secs_f64(),
        fast.as_secs_f64()
    );
    println!("(restart: from spawning the process to the API saying seeding)");
    println!("machine before: {before}\nmachine after:  {after}");
    std::io::stdout().flush()?;
    Ok(())
}
