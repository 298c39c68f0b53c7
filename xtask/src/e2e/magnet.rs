//! Magnet links, metadata exchange, the DHT and PEX against libtorrent:
//! monsoon fetches a magnet through a tracker and through the DHT alone,
//! serves metadata to a libtorrent magnet download, and learns a peer
//! only through libtorrent's PEX.
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Result, bail, ensure};

use super::PYTHON;
use super::data;
use super::procs::{self, Proc};
use super::seeders::{LtOptions, Seeder, TorrentFacts, script};

/// The longest one magnet download may take.
const LIMIT: Duration = Duration::from_secs(120);

/// A torrent the cells use: its file, the folder holding its data, and
/// what libtorrent read in it.
pub(super) struct Subject<'a> {
    pub(super) torrent: &'a Path,
    pub(super) data_dir: &'a Path,
    pub(super) facts: &'a TorrentFacts,
    pub(super) tracker_url: String,
}

impl Subject<'_> {
    fn magnet(&self, tracker: bool) -> String {
        let mut m = format!(
            "magnet:?xt=urn:btih:{}&dn={}",
            self.facts.info_hash, self.facts.name
        );
        if tracker {
            m.push_str("&tr=");
            m.push_str(&self.tracker_url.replace(':', "%3A").replace('/', "%2F"));
        }
        m
    }
}

/// Runs `monsoon download MAGNET` with `args` into `dir/out`, then checks
/// the bytes.
fn download(
    bin: &Path,
    s: &Subject<'_>,
    magnet: &str,
    args: &[String],
    dir: &Path,
) -> Result<String> {
    let out = dir.join("out");
    let mut cmd = Command::new(bin);
    cmd.env("XDG_STATE_HOME", dir.join("state"))
        .arg("download")
        .arg(magnet)
        .arg("-o")
        .arg(&out)
        .args(["--port", &procs::free_port()?.to_string()])
        .args(["--save-torrent"])
        .arg(dir.join("saved.torrent"))
        .args(args);
    let mut proc = Proc::spawn(
        "monsoon download (magnet)",
        &mut cmd,
        &dir.join("download.log"),
    )?;
    let status = proc.wait(LIMIT)?;
    ensure!(
        status.success(),
        "download exited with {status}: {}",
        procs::tail(proc.log())
    );
    data::compare(&s.data_dir.join(&s.facts.name), &out.join(&s.facts.name))?;
    // The .torrent written from the fetched metadata has the same info-hash.
    let saved = TorrentFacts::read(&dir.join("saved.torrent"))?;
    ensure!(
        saved.info_hash == s.facts.info_hash,
        "saved.torrent has another info-hash"
    );
    Ok(String::new())
}

/// A magnet link with a tracker, from a libtorrent seeder.
pub(super) fn via_tracker(bin: &Path, s: &Subject<'_>, dir: &Path) -> Result<String> {
    let _seeder = Seeder::libtorrent(
        s.torrent,
        s.data_dir,
        &dir.join("seeder"),
        LtOptions::default(),
    )?;
    download(
        bin,
        s,
        &s.magnet(true),
        &["--no-dht".into(), "--no-lsd".into()],
        dir,
    )
}

/// A magnet link without tracker or peer: two libtorrent seeders in a DHT
/// of their own, which monsoon joins through one of them.
pub(super) fn via_dht(bin: &Path, s: &Subject<'_>, dir: &Path) -> Result<String> {
    let first = Seeder::libtorrent(
        s.torrent,
        s.data_dir,
        &dir.join("seeder1"),
        LtOptions {
            dht: Some(Vec::new()),
            ..LtOptions::default()
        },
    )?;
    let _second = Seeder::libtorrent(
        s.torrent,
        s.data_dir,
        &dir.join("seeder2"),
        LtOptions {
            dht: Some(vec![first.addr()]),
            ..LtOptions::default()
        },
    )?;
    let args = vec![
        "--no-trackers".into(),
        "--no-lsd".into(),
        "--dht-bootstrap".into(),
        first.addr().to_string(),
    ];
    download(bin, s, &s.magnet(false), &args, dir)
}

/// libtorrent downloads a magnet link whose metadata only `monsoon seed`
/// has (through the tracker).
pub(super) fn metadata_to_libtorrent(bin: &Path, s: &Subject<'_>, dir: &Path) -> Result<String> {
    let mut seed = Command::new(bin);
    seed.env("XDG_STATE_HOME", dir.join("state"))
        .arg("seed")
        .arg(s.torrent)
        .arg("-d")
        .arg(s.data_dir)
        .args([
            "--port",
            &procs::free_port()?.to_string(),
            "--no-dht",
            "--no-lsd",
        ]);
    let mut seeder = Proc::spawn("monsoon seed", &mut seed, &dir.join("seed.log"))?;
    procs::wait_until("monsoon seed to serve", Duration::from_secs(60), || {
        ensure!(
            !seeder.exited(),
            "monsoon seed exited: {}",
            procs::tail(seeder.log())
        );
        Ok(std::fs::read_to_string(seeder.log())
            .unwrap_or_default()
            .contains("listening on"))
    })?;
    let out = dir.join("out");
    std::fs::create_dir_all(&out)?;
    let mut lt = Command::new(PYTHON);
    lt.arg(script("lt_download.py"))
        .args(["--magnet", &s.magnet(true)])
        .arg("--save-path")
        .arg(&out)
        .args([
            "--port",
            &procs::free_port()?.to_string(),
            "--max-seconds",
            "100",
        ]);
    let (status, text) = procs::output(&mut lt, LIMIT)?;
    if !status.success() {
        bail!(
            "libtorrent's magnet download failed: {}",
            procs::last_lines(&text, 10)
        );
    }
    data::compare(&s.data_dir.join(&s.facts.name), &out.join(&s.facts.name))?;
    Ok(String::new())
}

/// monsoon is given one libtorrent peer, which has half the data and is
/// fetching the rest (slowly) from a second one; monsoon knows the second
/// only through the first one's PEX, and gets data from it.
pub(super) fn pex(bin: &Path, s: &Subject<'_>, dir: &Path) -> Result<String> {
    // Without PEX of its own, so it cannot learn monsoon from the known
    // peer and call it: monsoon has to do the calling.
    let mut hidden = Seeder::libtorrent(
        s.torrent,
        s.data_dir,
        &dir.join("hidden"),
        LtOptions {
            no_pex: true,
            ..LtOptions::default()
        },
    )?;
    // Half of the file, in a copy of its own.
    let half = dir.join("half");
    std::fs::create_dir_all(&half)?;
    let file = half.join(&s.facts.name);
    std::fs::copy(s.data_dir.join(&s.facts.name), &file)?;
    let f = std::fs::OpenOptions::new().write(true).open(&file)?;
    f.set_len(s.facts.total_length / 2)?;
    drop(f);
    // It stays a leecher while monsoon runs (downloading slowly) (two seeds would hang up on
    // each other, and a peer not connected is not in PEX).
    let mut known = Seeder::libtorrent(
        s.torrent,
        &half,
        &dir.join("known"),
        LtOptions {
            peers: vec![hidden.addr()],
            partial: Some(16 << 10),
            upload_limit: 1 << 20,
            ..LtOptions::default()
        },
    )?;
    let peer: SocketAddr = known.addr();
    let mut cmd = Command::new(bin);
    cmd.env("XDG_STATE_HOME", dir.join("state"))
        .arg("download")
        .arg(s.torrent)
        .arg("-o")
        .arg(dir.join("out"))
        .args([
            "--port",
            &procs::free_port()?.to_string(),
            "--no-trackers",
            "--no-dht",
            "--no-lsd",
        ])
        .args(["--peer", &peer.to_string()]);
    let mut proc = Proc::spawn("monsoon download", &mut cmd, &dir.join("download.log"))?;
    // libtorrent sends its first PEX message a minute after the handshake.
    let status = proc.wait(LIMIT + Duration::from_secs(60))?;
    ensure!(
        status.success(),
        "download exited with {status}: {}",
        procs::tail(proc.log())
    );
    data::compare(
        &s.data_dir.join(&s.facts.name),
        &dir.join("out").join(&s.facts.name),
    )?;
    // What the hidden peer sent beyond what the known one fetched from it
    // went to monsoon, the only other peer it could have met.
    let sent = hidden.uploaded()?;
    let to_known = known.downloaded()?;
    let to_monsoon = sent.saturating_sub(to_known);
    ensure!(
        to_monsoon >= s.facts.total_length / 4,
        "the peer known only through PEX sent monsoon {to_monsoon} bytes \
         ({sent} sent, {to_known} of them to the known peer)"
    );
    Ok(format!(
        "({} MiB from the peer learnt through PEX)",
        to_monsoon >> 20
    ))
}
