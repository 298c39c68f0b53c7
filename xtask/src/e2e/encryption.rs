//! The encryption (MSE/PE) cells: monsoon against libtorrent with RC4
//! forced both ways (`out_enc_policy` / `in_enc_policy` = `pe_forced`,
//! `allowed_enc_level` = `pe_rc4`) and against Transmission with
//! encryption required (`-er`, settings.json `encryption: 2`), as the
//! downloader and as the seeder; and a plaintext-only monsoon
//! (`--encryption disable`) that neither serves, which shows the others did
//! encrypt.
//!
//! Transmission never dials a 127.x address (it counts loopback as a
//! "martian" address), so monsoon dials it in both directions; libtorrent
//! dials `monsoon seed`, which is how monsoon's responder meets a real
//! initiator.
use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use super::data;
use super::procs::{self, Proc};
use super::seeders::{LtOptions, PYTHON, Seeder, TorrentFacts, Transmission, script};

/// How long a download may take.
const LIMIT: Duration = Duration::from_secs(120);
/// How long the plaintext-only download is given to get anything.
const REFUSED_FOR: Duration = Duration::from_secs(12);

/// One torrent, its data and the tracker it announces to.
pub(super) struct Target<'a> {
    pub(super) monsoon: &'a Path,
    pub(super) torrent: &'a Path,
    /// The folder holding the torrent's file or top folder.
    pub(super) data_dir: &'a Path,
    pub(super) facts: &'a TorrentFacts,
}

impl Target<'_> {
    fn content(&self) -> std::path::PathBuf {
        self.data_dir.join(&self.facts.name)
    }
}

/// A cell: its scenario, its column, and what it runs in its folder.
pub(super) type Cell<'a> = (
    String,
    &'static str,
    Box<dyn Fn(&Path) -> Result<String> + 'a>,
);

/// Every encryption cell, in the order they run.
pub(super) fn cells<'a>(t: &'a Target<'a>) -> Vec<Cell<'a>> {
    let lt = "libtorrent forced";
    let tr = "transmission -er";
    let mut cells: Vec<Cell<'a>> = Vec::new();
    for mode in ["require", "prefer"] {
        cells.push((
            format!("MSE: download --encryption {mode}"),
            lt,
            Box::new(move |dir| from_forced_libtorrent(t, mode, dir)),
        ));
    }
    let refused = "MSE: download --encryption disable (refused)";
    cells.push((
        refused.into(),
        lt,
        Box::new(|dir| plaintext_refused(t, false, dir)),
    ));
    let seed = "MSE: seed --encryption require";
    cells.push((
        seed.into(),
        lt,
        Box::new(|dir| to_forced_libtorrent(t, dir)),
    ));
    let download = "MSE: download --encryption require";
    cells.push((
        download.into(),
        tr,
        Box::new(|dir| from_transmission(t, dir)),
    ));
    cells.push((
        refused.into(),
        tr,
        Box::new(|dir| plaintext_refused(t, true, dir)),
    ));
    cells.push((seed.into(), tr, Box::new(|dir| to_transmission(t, dir))));
    cells
}

fn forced_lt_seeder(t: &Target<'_>, dir: &Path) -> Result<Seeder> {
    let opts = LtOptions {
        seed_mode: true,
        forced_encryption: true,
        ..LtOptions::default()
    };
    Seeder::libtorrent(t.torrent, t.data_dir, &dir.join("lt-seeder"), opts)
}

/// `monsoon download --encryption MODE --peer ADDR --no-trackers`.
fn download(t: &Target<'_>, mode: &str, peer: std::net::SocketAddr, dir: &Path) -> Result<Proc> {
    let mut c = Command::new(t.monsoon);
    c.arg("download")
        .arg(t.torrent)
        .arg("-o")
        .arg(dir.join("out"))
        .args(["--port", &procs::free_port()?.to_string()])
        .args([
            "--encryption",
            mode,
            "--no-trackers",
            "--no-dht",
            "--no-lsd",
        ])
        .arg("--peer")
        .arg(peer.to_string());
    Proc::spawn(
        &format!("monsoon download --encryption {mode}"),
        &mut c,
        &dir.join(format!("download-{mode}.log")),
    )
}

/// Waits for a download to succeed, then compares every byte.
fn finish(t: &Target<'_>, mut p: Proc, dir: &Path) -> Result<()> {
    let status = p.wait(LIMIT)?;
    ensure!(
        status.success(),
        "download exited with {status}: {}",
        procs::tail(p.log())
    );
    data::compare(&t.content(), &dir.join("out").join(&t.facts.name))
}

/// monsoon (`--encryption MODE`) downloads from a libtorrent seeder that
/// accepts RC4-encrypted peers only.
pub(super) fn from_forced_libtorrent(t: &Target<'_>, mode: &str, dir: &Path) -> Result<String> {
    let mut seeder = forced_lt_seeder(t, dir)?;
    finish(t, download(t, mode, seeder.addr(), dir)?, dir)?;
    Ok(format!(
        "(libtorrent pe_forced/pe_rc4 sent {} B)",
        seeder.uploaded()?
    ))
}

/// A plaintext-only monsoon gets nothing from a seeder that requires
/// encryption (libtorrent forced, or Transmission `-er` with `transmission`
/// set): its connections are refused, so the cells that passed were
/// encrypted.
pub(super) fn plaintext_refused(t: &Target<'_>, transmission: bool, dir: &Path) -> Result<String> {
    let mut seeder = if transmission {
        Seeder::transmission(t.torrent, t.data_dir, &dir.join("tr-seeder"), true)?
    } else {
        forced_lt_seeder(t, dir)?
    };
    let mut p = download(t, "disable", seeder.addr(), dir)?;
    let deadline = Instant::now() + REFUSED_FOR;
    while Instant::now() < deadline {
        ensure!(
            !p.exited(),
            "the plaintext-only download ended: {}",
            procs::tail(p.log())
        );
        thread::sleep(Duration::from_millis(200));
    }
    p.kill();
    let log = fs::read_to_string(p.log()).unwrap_or_default();
    let last = log
        .lines()
        .rev()
        .find(|l| l.contains("peers"))
        .unwrap_or("no status line")
        .trim()
        .to_owned();
    ensure!(
        last.contains(" 0.0% 0 B/") && last.contains(" 0 peers"),
        "the plaintext-only download got somewhere: {last}"
    );
    if !transmission {
        let sent = seeder.uploaded()?;
        ensure!(sent == 0, "the seeder sent {sent} B to a plaintext peer");
    }
    Ok(format!("(nothing in {REFUSED_FOR:?}; monsoon: {last})"))
}

/// `monsoon seed --encryption require --no-trackers` on a free port,
/// dialling `peer` if given; ready once it says it listens (its data
/// checked).
fn monsoon_seed(t: &Target<'_>, peer: Option<u16>, dir: &Path) -> Result<(Proc, u16)> {
    let port = procs::free_port()?;
    let mut c = Command::new(t.monsoon);
    c.arg("seed")
        .arg(t.torrent)
        .arg("-d")
        .arg(t.data_dir)
        .args(["--port", &port.to_string(), "--encryption", "require"])
        .args(["--no-trackers", "--no-dht", "--no-lsd"]);
    if let Some(p) = peer {
        c.args(["--peer", &format!("127.0.0.1:{p}")]);
    }
    let p = Proc::spawn(
        "monsoon seed --encryption require",
        &mut c,
        &dir.join("seed.log"),
    )?;
    let deadline = Instant::now() + LIMIT;
    loop {
        let log = fs::read_to_string(dir.join("seed.log")).unwrap_or_default();
        if log.contains("listening on") {
            return Ok((p, port));
        }
        ensure!(Instant::now() < deadline, "monsoon seed not ready: {log}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// A libtorrent leecher with RC4 forced downloads from
/// `monsoon seed --encryption require`.
pub(super) fn to_forced_libtorrent(t: &Target<'_>, dir: &Path) -> Result<String> {
    let (_seed, port) = monsoon_seed(t, None, dir)?;
    let out = dir.join("out");
    fs::create_dir_all(&out)?;
    let mut c = Command::new(PYTHON);
    c.arg(script("lt_download.py"))
        .arg("--torrent")
        .arg(t.torrent)
        .arg("--save-path")
        .arg(&out)
        .args(["--port", &procs::free_port()?.to_string()])
        .args([
            "--peer",
            &format!("127.0.0.1:{port}"),
            "--forced-encryption",
        ])
        .args(["--max-seconds", &LIMIT.as_secs().to_string()]);
    let text = procs::check_output(&mut c, LIMIT + Duration::from_secs(30))?;
    fs::write(dir.join("lt-download.log"), &text)?;
    data::compare(&t.content(), &out.join(&t.facts.name))?;
    Ok(String::new())
}

/// monsoon (`--encryption require`) downloads from Transmission with
/// encryption required.
pub(super) fn from_transmission(t: &Target<'_>, dir: &Path) -> Result<String> {
    let seeder = Seeder::transmission(t.torrent, t.data_dir, &dir.join("tr-seeder"), true)?;
    finish(t, download(t, "require", seeder.addr(), dir)?, dir)?;
    Ok(String::new())
}

/// Transmission with encryption required downloads from
/// `monsoon seed --encryption require` (which dials it).
pub(super) fn to_transmission(t: &Target<'_>, dir: &Path) -> Result<String> {
    let out = dir.join("out");
    fs::create_dir_all(&out)?;
    let leecher = Transmission::start(&out, dir, true)?;
    let torrent = t.torrent.to_str().context("torrent path is not UTF-8")?;
    let added = leecher.remote(&["-a", torrent])?;
    if !added.contains("success") {
        bail!("transmission-remote -a: {added}");
    }
    let (_seed, _) = monsoon_seed(t, Some(leecher.port), dir)?;
    let got = dir.join("out").join(&t.facts.name);
    procs::wait_until("transmission download", LIMIT, || {
        let list = leecher.remote(&["-l"])?;
        let row = list.lines().nth(1).unwrap_or_default().to_owned();
        Ok(row.contains("100%") && got.exists())
    })?;
    data::compare(&t.content(), &got)?;
    Ok(String::new())
}
