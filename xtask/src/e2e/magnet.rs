//! Magnet links, metadata exchange, the DHT and PEX against libtorrent:
//! monsoon fetches a magnet through a tracker and through the DHT alone,
//! serves metadata to a libtorrent magnet download (found through the
//! tracker, and through monsoon's DHT node alone), and learns a peer only
//! through libtorrent's PEX.
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

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

/// A magnet link with a tracker, from a libtorrent seeder; then libtorrent
/// fetches the same magnet from the same seeder, and the detail compares the
/// times to metadata and to completion.
pub(super) fn via_tracker(bin: &Path, s: &Subject<'_>, dir: &Path) -> Result<String> {
    let _seeder = Seeder::libtorrent(
        s.torrent,
        s.data_dir,
        &dir.join("seeder"),
        LtOptions::default(),
    )?;
    let started = Instant::now();
    download(
        bin,
        s,
        &s.magnet(true),
        &["--no-dht".into(), "--no-lsd".into()],
        dir,
    )?;
    let process = started.elapsed().as_secs_f64();
    let log = std::fs::read_to_string(dir.join("download.log")).unwrap_or_default();
    let our_metadata = seconds_after(&log, "metadata: ").unwrap_or(f64::NAN);
    let ours = seconds_after(&log, "done: ").unwrap_or(f64::NAN);
    let theirs = libtorrent_magnet(s, &s.magnet(true), &[], &dir.join("libtorrent"))?;
    Ok(format!(
        "monsoon: metadata {our_metadata:.3} s, done {ours:.2} s (process {process:.2} s); \
         libtorrent: metadata {:.3} s, done {:.2} s",
        seconds_after(&theirs, "metadata after").unwrap_or(f64::NAN),
        seconds_after(&theirs, "finished after").unwrap_or(f64::NAN),
    ))
}

/// The seconds in the last line of `text` starting with `prefix` and
/// ending `after S s` or `in S s`.
fn seconds_after(text: &str, prefix: &str) -> Option<f64> {
    let line = text.lines().rev().find(|l| l.starts_with(prefix))?;
    let rest = line.strip_suffix(" s")?;
    rest.rsplit_once(' ')?.1.parse().ok()
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

/// Starts `monsoon seed` of the subject on a free port with `args`; returns
/// once it serves, with its port (TCP, and UDP for its DHT node). Its log
/// (`seed.log`) has the engine's connection events (see
/// [`incoming_handshakes`]).
pub(super) fn monsoon_seed(
    bin: &Path,
    s: &Subject<'_>,
    args: &[&str],
    dir: &Path,
) -> Result<(Proc, u16)> {
    let port = procs::free_port()?;
    let mut seed = Command::new(bin);
    seed.env("XDG_STATE_HOME", dir.join("state"))
        .env("MONSOON_LOG", "monsoon_engine::torrent::connections=debug")
        .env("NO_COLOR", "1")
        .arg("seed")
        .arg(s.torrent)
        .arg("-d")
        .arg(s.data_dir)
        .args(["--port", &port.to_string()])
        .args(args);
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
    Ok((seeder, port))
}

/// Runs `lt_download.py --magnet MAGNET args` into `dir/out`, compares the
/// bytes, and returns what it printed.
fn libtorrent_magnet(s: &Subject<'_>, magnet: &str, args: &[String], dir: &Path) -> Result<String> {
    let out = dir.join("out");
    std::fs::create_dir_all(&out)?;
    let mut lt = Command::new(PYTHON);
    lt.arg(script("lt_download.py"))
        .args(["--magnet", magnet])
        .arg("--save-path")
        .arg(&out)
        .args([
            "--port",
            &procs::free_port()?.to_string(),
            "--max-seconds",
            "100",
        ])
        .args(args);
    let (status, text) = procs::output(&mut lt, LIMIT)?;
    if !status.success() {
        bail!(
            "libtorrent's magnet download failed: {}",
            procs::last_lines(&text, 10)
        );
    }
    data::compare(&s.data_dir.join(&s.facts.name), &out.join(&s.facts.name))?;
    Ok(text)
}

/// libtorrent downloads a magnet link whose metadata only `monsoon seed`
/// has (through the tracker).
pub(super) fn metadata_to_libtorrent(bin: &Path, s: &Subject<'_>, dir: &Path) -> Result<String> {
    let (_seeder, _) = monsoon_seed(bin, s, &["--no-dht", "--no-lsd"], dir)?;
    libtorrent_magnet(s, &s.magnet(true), &[], dir)?;
    Ok(String::new())
}

/// libtorrent downloads a magnet link without tracker, knowing only
/// monsoon's DHT node: through it, libtorrent's lookup reaches a third node
/// (a libtorrent session seeding another torrent) where `monsoon seed`
/// announced itself, then fetches the metadata and every byte from monsoon,
/// the only peer that has them. libtorrent only looks up and never announces,
/// so the connection must be libtorrent's, to the address monsoon announced.
pub(super) fn dht_to_libtorrent(bin: &Path, s: &Subject<'_>, dir: &Path) -> Result<String> {
    // The third node: a libtorrent DHT node seeding an unrelated torrent.
    let other = dir.join("other");
    std::fs::create_dir_all(&other)?;
    std::fs::write(other.join("other.bin"), b"not the subject of this cell")?;
    let other_torrent = dir.join("other.torrent");
    procs::check_output(
        Command::new(bin)
            .args(["create", "--v1"])
            .arg(other.join("other.bin"))
            .arg("-o")
            .arg(&other_torrent),
        Duration::from_secs(30),
    )?;
    let node = Seeder::libtorrent(
        &other_torrent,
        &other,
        &dir.join("dht-node"),
        LtOptions {
            dht: Some(Vec::new()),
            ..LtOptions::default()
        },
    )?;
    let node_addr = node.addr().to_string();
    let args = ["--no-trackers", "--no-lsd", "--dht-bootstrap", &node_addr];
    let (seeder, port) = monsoon_seed(bin, s, &args, dir)?;
    let monsoon_node = format!("127.0.0.1:{port}");
    libtorrent_magnet(
        s,
        &s.magnet(false),
        &[
            "--dht-node".into(),
            monsoon_node,
            "--dht-lookup-only".into(),
        ],
        dir,
    )?;
    // libtorrent found monsoon through the DHT and connected to monsoon's
    // port (it does not announce itself, so monsoon cannot find it).
    let incoming = incoming_handshakes(seeder.log());
    ensure!(
        incoming > 0,
        "libtorrent never connected to monsoon, yet finished: from whom?"
    );
    Ok(format!("{incoming} incoming handshakes"))
}

/// How many peers connected to the seeder whose log is `log` and got as far
/// as the torrent (connected, or refused as a duplicate of a connection
/// monsoon made itself).
fn incoming_handshakes(log: &Path) -> usize {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(without_colours)
        .filter(|l| {
            (l.contains("peer connected") && l.contains("direction=Incoming"))
                || l.contains("already connected to this peer")
        })
        .count()
}

/// `line` without ANSI colour codes, whatever the terminal settings.
fn without_colours(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
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
