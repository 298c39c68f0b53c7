//! Local service discovery (BEP 14) against libtorrent on the loopback
//! interface: with no tracker, no DHT and no peer address, monsoon and
//! libtorrent find each other through their multicast announces alone,
//! both ways.
//!
//! libtorrent announces on the real group and port (239.192.152.143:6771),
//! so these cells use them too (on 127.0.0.1 only: nothing leaves the
//! machine). Another run's announces on the same host are for other
//! torrents and are ignored.
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Result, bail, ensure};

use super::PYTHON;
use super::data;
use super::magnet::{Subject, monsoon_seed};
use super::procs::{self, Proc};
use super::seeders::{LtOptions, Seeder, script};

/// The longest one download may take (libtorrent announces at once, then
/// every 5 minutes; monsoon at once, then every 5 minutes, at most once a
/// minute).
const LIMIT: Duration = Duration::from_secs(120);

/// monsoon's flags: peers from the local network only.
const LOCAL_ONLY: [&str; 5] = [
    "--no-trackers",
    "--no-dht",
    "--lsd-interface",
    "127.0.0.1",
    "--quiet",
];

/// `monsoon download` finds a libtorrent seeder through LSD alone.
pub(super) fn from_libtorrent(bin: &Path, s: &Subject<'_>, dir: &Path) -> Result<String> {
    let _seeder = Seeder::libtorrent(
        s.torrent,
        s.data_dir,
        &dir.join("seeder"),
        LtOptions {
            lsd: true,
            ..LtOptions::default()
        },
    )?;
    let out = dir.join("out");
    let mut cmd = Command::new(bin);
    cmd.env("XDG_STATE_HOME", dir.join("state"))
        .arg("download")
        .arg(s.torrent)
        .arg("-o")
        .arg(&out)
        .args(["--port", &procs::free_port()?.to_string()])
        .args(LOCAL_ONLY);
    let mut proc = Proc::spawn("monsoon download", &mut cmd, &dir.join("download.log"))?;
    let status = proc.wait(LIMIT)?;
    ensure!(
        status.success(),
        "download exited with {status}: {}",
        procs::tail(proc.log())
    );
    data::compare(&s.data_dir.join(&s.facts.name), &out.join(&s.facts.name))?;
    Ok(String::new())
}

/// A libtorrent leecher finds `monsoon seed` through LSD alone.
pub(super) fn to_libtorrent(bin: &Path, s: &Subject<'_>, dir: &Path) -> Result<String> {
    let (_seeder, _) = monsoon_seed(bin, s, &LOCAL_ONLY[..4], dir)?;
    let out = dir.join("out");
    std::fs::create_dir_all(&out)?;
    let mut lt = Command::new(PYTHON);
    lt.arg(script("lt_download.py"))
        .arg("--torrent")
        .arg(s.torrent)
        .arg("--save-path")
        .arg(&out)
        .args(["--port", &procs::free_port()?.to_string(), "--lsd"])
        .args(["--max-seconds", &LIMIT.as_secs().to_string()]);
    let (status, text) = procs::output(&mut lt, LIMIT + Duration::from_secs(10))?;
    if !status.success() {
        bail!(
            "libtorrent found nothing through LSD: {}",
            procs::last_lines(&text, 10)
        );
    }
    data::compare(&s.data_dir.join(&s.facts.name), &out.join(&s.facts.name))?;
    Ok(String::new())
}
