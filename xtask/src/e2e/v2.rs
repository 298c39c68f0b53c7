//! BitTorrent v2 and hybrid torrents (BEP 52) against real clients. The
//! torrents are libtorrent's (`create_torrent`, hybrid by default or
//! `v2_only`), of a single file and of the odd-sized folder; a tracker of
//! their own lists each under the info-hashes clients announce (a hybrid's
//! v1 one and its truncated v2 one, a v2 torrent's truncated one), so a
//! client announcing the wrong one finds nobody.
//!
//! Cells: monsoon downloads each from a libtorrent seeder and libtorrent
//! downloads each from `monsoon seed`; a `urn:btmh` magnet link both ways
//! (metadata, then the piece layers by `hash request`), and a hybrid's
//! link with both `xt` (`urn:btih` and `urn:btmh`); and a hybrid swarm
//! with a v1-only client and libtorrent, with monsoon as the seeder and as
//! the downloader: monsoon's log must show a connection that speaks v1 (the
//! v1-only client) and one that speaks v2 (libtorrent).
//!
//! The v1-only client is rtorrent (libtorrent-rakshasa 0.13). Debian's
//! aria2c 1.36 cannot be one: it drops the empty keys of a `file tree`
//! when it reads an info dictionary (from a .torrent or from peers), so it
//! takes any hybrid for another torrent (a wrong v1 info-hash; aria2 issue
//! 1903, fixed after 1.36). Transmission 3.00 refuses to load a hybrid.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use super::data::{self, MIB};
use super::encryption::Cell;
use super::procs::{self, Proc};
use super::seeders::{LtOptions, PYTHON, Seeder, Tracker, script};

/// How long a download may take.
const LIMIT: Duration = Duration::from_secs(120);

/// A torrent libtorrent made, and what it read in it.
#[derive(Clone)]
pub(super) struct V2Torrent {
    /// `v2` or `hybrid`.
    version: &'static str,
    /// `single file` or `folder`.
    shape: &'static str,
    torrent: PathBuf,
    /// The folder holding the torrent's file or top folder.
    data_dir: PathBuf,
    name: String,
    /// The v1 info-hash (hex) of a hybrid.
    v1: Option<String>,
    /// The v2 info-hash (64 hex digits).
    v2: String,
    /// The v1 view's pad files: (size, path under `data_dir`).
    pads: Vec<(u64, String)>,
}

impl V2Torrent {
    /// Reads `torrent` with `lt_v2.py info`.
    fn read(
        version: &'static str,
        shape: &'static str,
        torrent: PathBuf,
        data_dir: PathBuf,
    ) -> Result<V2Torrent> {
        let text = procs::check_output(
            Command::new(PYTHON)
                .arg(script("lt_v2.py"))
                .arg("info")
                .arg(&torrent),
            Duration::from_secs(30),
        )?;
        let mut lines = text.lines();
        let first = lines.next().context("lt_v2.py info printed nothing")?;
        let f: Vec<&str> = first.splitn(6, ' ').collect();
        ensure!(f.len() == 6, "bad lt_v2.py line {first:?}");
        let pads = lines
            .filter_map(|l| l.strip_prefix("pad "))
            .map(|l| {
                let (size, path) = l.split_once(' ').context("bad pad line")?;
                Ok((size.parse()?, path.to_owned()))
            })
            .collect::<Result<_>>()?;
        Ok(V2Torrent {
            version,
            shape,
            torrent,
            data_dir,
            name: f[5].to_owned(),
            v1: (f[0] != "-").then(|| f[0].to_owned()),
            v2: f[1].to_owned(),
            pads,
        })
    }

    /// The info-hash trackers know it by first: a hybrid's v1 one, a v2
    /// torrent's truncated one.
    fn primary(&self) -> &str {
        self.v1.as_deref().unwrap_or(&self.v2[..40])
    }

    /// Every info-hash it is announced under.
    fn hashes(&self) -> Vec<&str> {
        self.v1
            .iter()
            .map(String::as_str)
            .chain([&self.v2[..40]])
            .collect()
    }

    fn content(&self) -> PathBuf {
        self.data_dir.join(&self.name)
    }

    fn label(&self, what: &str) -> String {
        format!("{}: {what} ({})", self.version, self.shape)
    }
}

/// The torrents, their data and their tracker.
pub(super) struct V2Setup {
    monsoon: PathBuf,
    tracker: Tracker,
    torrents: Vec<V2Torrent>,
}

/// Makes the data (an odd-sized file of about 8 MiB, the odd-sized folder),
/// a v2 and a hybrid torrent of each with libtorrent, and their tracker.
pub(super) fn setup(monsoon: &Path, work: &Path) -> Result<V2Setup> {
    let data = work.join("data");
    data::write_file(&data.join("single/big.bin"), 8 * MIB + 12_345, 52)?;
    data::make_folder(&data.join("folder"), "odd", 64 * 1024)?;
    let port = procs::free_port()?;
    let url = format!("http://127.0.0.1:{port}/announce");
    let mut torrents = Vec::new();
    for version in ["v2", "hybrid"] {
        for (shape, dir, name, piece) in [
            ("single file", "single", "big.bin", 256 * 1024),
            ("folder", "folder", "odd", 64 * 1024),
        ] {
            let data_dir = data.join(dir);
            let torrent = work.join(format!("{version}-{dir}.torrent"));
            procs::check_output(
                Command::new(PYTHON)
                    .arg(script("lt_v2.py"))
                    .args(["create", &format!("--{version}")])
                    .arg(data_dir.join(name))
                    .arg(&torrent)
                    .args(["--piece-length", &piece.to_string(), "--tracker", &url]),
                Duration::from_secs(60),
            )?;
            torrents.push(V2Torrent::read(version, shape, torrent, data_dir)?);
        }
    }
    let hashes: Vec<&str> = torrents.iter().flat_map(V2Torrent::hashes).collect();
    let tracker = Tracker::start(&work.join("tracker"), port, &hashes)?;
    Ok(V2Setup {
        monsoon: monsoon.to_owned(),
        tracker,
        torrents,
    })
}

impl V2Setup {
    /// Every v2 cell, in the order they run.
    pub(super) fn cells(&self) -> Vec<Cell<'_>> {
        let mut cells: Vec<Cell<'_>> = Vec::new();
        for t in &self.torrents {
            cells.push((
                t.label("download"),
                "libtorrent",
                Box::new(move |dir| self.download(t, dir)),
            ));
            cells.push((
                t.label("seed"),
                "libtorrent",
                Box::new(move |dir| self.seed(t, dir)),
            ));
        }
        let v2_single = &self.torrents[0];
        cells.push((
            v2_single.label("btmh magnet, download"),
            "libtorrent",
            Box::new(move |dir| self.magnet_download(v2_single, dir)),
        ));
        cells.push((
            v2_single.label("btmh magnet, seed"),
            "libtorrent",
            Box::new(move |dir| self.magnet_seed(v2_single, dir)),
        ));
        let hybrid_single = &self.torrents[2];
        cells.push((
            hybrid_single.label("btih + btmh magnet, download"),
            "libtorrent",
            Box::new(move |dir| self.magnet_download(hybrid_single, dir)),
        ));
        let hybrid_folder = &self.torrents[3];
        cells.push((
            hybrid_folder.label("swarm, download"),
            "rtorrent + libtorrent",
            Box::new(move |dir| self.swarm_download(hybrid_folder, dir)),
        ));
        cells.push((
            hybrid_folder.label("swarm, seed"),
            "rtorrent + libtorrent",
            Box::new(move |dir| self.swarm_seed(hybrid_folder, dir)),
        ));
        cells
    }

    /// `monsoon download` (through the tracker, or of a magnet link),
    /// logging which connections speak v2.
    fn monsoon_download(&self, what: &Path, dir: &Path) -> Result<Proc> {
        let mut c = Command::new(&self.monsoon);
        c.env("XDG_STATE_HOME", dir.join("state"))
            .env("MONSOON_LOG", "monsoon_engine::torrent::connections=debug")
            .env("NO_COLOR", "1")
            .arg("download")
            .arg(what)
            .arg("-o")
            .arg(dir.join("out"))
            .args(["--port", &procs::free_port()?.to_string()])
            .args(["--no-dht", "--no-lsd"]);
        Proc::spawn("monsoon download", &mut c, &dir.join("download.log"))
    }

    /// `monsoon seed` of `t`, once it listens.
    fn monsoon_seed(&self, t: &V2Torrent, dir: &Path) -> Result<Proc> {
        let mut c = Command::new(&self.monsoon);
        c.env("XDG_STATE_HOME", dir.join("state"))
            .env("MONSOON_LOG", "monsoon_engine::torrent::connections=debug")
            .env("NO_COLOR", "1")
            .arg("seed")
            .arg(&t.torrent)
            .arg("-d")
            .arg(&t.data_dir)
            .args(["--port", &procs::free_port()?.to_string()])
            .args(["--no-dht", "--no-lsd"]);
        let mut seed = Proc::spawn("monsoon seed", &mut c, &dir.join("seed.log"))?;
        procs::wait_until("monsoon seed to serve", Duration::from_secs(60), || {
            ensure!(
                !seed.exited(),
                "monsoon seed exited: {}",
                procs::tail(seed.log())
            );
            Ok(fs::read_to_string(seed.log())
                .unwrap_or_default()
                .contains("listening on"))
        })?;
        Ok(seed)
    }

    /// A libtorrent seeder of `t`, listed by the tracker.
    fn lt_seeder(&self, t: &V2Torrent, dir: &Path) -> Result<Seeder> {
        let before = self.tracker.seeders(t.primary())?;
        let opts = LtOptions {
            seed_mode: true,
            ..LtOptions::default()
        };
        let seeder = Seeder::libtorrent(&t.torrent, &t.data_dir, &dir.join("lt-seeder"), opts)?;
        self.tracker.wait_seeders(t.primary(), before + 1)?;
        Ok(seeder)
    }

    /// Waits for `proc` to exit successfully.
    fn finish(mut proc: Proc) -> Result<()> {
        let status = proc.wait(LIMIT)?;
        ensure!(
            status.success(),
            "exited with {status}: {}",
            procs::tail(proc.log())
        );
        Ok(())
    }

    /// monsoon downloads `t` from a libtorrent seeder through the tracker.
    fn download(&self, t: &V2Torrent, dir: &Path) -> Result<String> {
        let _seeder = self.lt_seeder(t, dir)?;
        let proc = self.monsoon_download(&t.torrent, dir)?;
        let log = proc.log().to_owned();
        Self::finish(proc)?;
        data::compare(&t.content(), &dir.join("out").join(&t.name))?;
        ensure!(
            speaks(&log)?.1 > 0,
            "no connection spoke v2: {}",
            procs::tail(&log)
        );
        Ok(String::new())
    }

    /// libtorrent downloads `t` (its .torrent, or `magnet`) from `monsoon
    /// seed`, which it finds through the tracker.
    fn to_libtorrent(&self, t: &V2Torrent, magnet: Option<&str>, dir: &Path) -> Result<String> {
        let before = self.tracker.seeders(t.primary())?;
        let seed = self.monsoon_seed(t, dir)?;
        self.tracker.wait_seeders(t.primary(), before + 1)?;
        let out = dir.join("lt-out");
        fs::create_dir_all(&out)?;
        let mut lt = Command::new(PYTHON);
        lt.arg(script("lt_download.py"));
        match magnet {
            Some(m) => lt.args(["--magnet", m]),
            None => lt.arg("--torrent").arg(&t.torrent),
        };
        lt.arg("--save-path").arg(&out).args([
            "--port",
            &procs::free_port()?.to_string(),
            "--max-seconds",
            "100",
        ]);
        let (status, text) = procs::output(&mut lt, LIMIT)?;
        fs::write(dir.join("lt-download.log"), &text)?;
        if !status.success() {
            bail!(
                "libtorrent's download failed: {}",
                procs::last_lines(&text, 10)
            );
        }
        data::compare(&t.content(), &out.join(&t.name))?;
        ensure!(
            speaks(seed.log())?.1 > 0,
            "no connection spoke v2: {}",
            procs::tail(seed.log())
        );
        Ok(String::new())
    }

    fn seed(&self, t: &V2Torrent, dir: &Path) -> Result<String> {
        self.to_libtorrent(t, None, dir)
    }

    /// `t`'s magnet link: its v2 info-hash (`urn:btmh`), and for a hybrid
    /// its v1 one too (`urn:btih`), as libtorrent writes them.
    fn magnet(&self, t: &V2Torrent) -> String {
        let tracker = self.tracker.announce_url();
        let v1 =
            t.v1.as_ref()
                .map(|h| format!("xt=urn:btih:{h}&"))
                .unwrap_or_default();
        format!(
            "magnet:?{v1}xt=urn:btmh:1220{}&dn={}&tr={}",
            t.v2,
            t.name,
            escape(&tracker)
        )
    }

    /// monsoon downloads a magnet link from a libtorrent seeder: a
    /// `urn:btmh` one (announced under the truncated v2 info-hash), or a
    /// hybrid's with both `xt` (announced under the v1 one); the metadata
    /// must match both hashes, then the piece layers come by `hash
    /// request`.
    fn magnet_download(&self, t: &V2Torrent, dir: &Path) -> Result<String> {
        let _seeder = self.lt_seeder(t, dir)?;
        let proc = self.monsoon_download(Path::new(&self.magnet(t)), dir)?;
        Self::finish(proc)?;
        data::compare(&t.content(), &dir.join("out").join(&t.name))?;
        Ok(String::new())
    }

    /// libtorrent downloads a `urn:btmh` link from `monsoon seed`: our
    /// metadata, our answers to its hash requests.
    fn magnet_seed(&self, t: &V2Torrent, dir: &Path) -> Result<String> {
        self.to_libtorrent(t, Some(&self.magnet(t)), dir)
    }

    /// monsoon downloads a hybrid from an rtorrent seeder (v1 only) and a
    /// libtorrent one.
    fn swarm_download(&self, t: &V2Torrent, dir: &Path) -> Result<String> {
        let (tracker, t) = own_tracker(t, dir)?;
        let t = &t;
        let copy = dir.join("rtorrent-data");
        data::copy_tree(&t.content(), &copy.join(&t.name))?;
        // A v1-only client keeps the pad files as files of zeros.
        for (size, path) in &t.pads {
            let pad = copy.join(path);
            fs::create_dir_all(pad.parent().context("pad path")?)?;
            fs::write(&pad, vec![0u8; usize::try_from(*size)?])?;
        }
        let before = tracker.seeders(t.primary())?;
        let short = &t.v2[..40];
        let before_v2 = tracker.seeders(short)?;
        // Both slowed down, so that monsoon needs both.
        let _rtorrent = rtorrent(&t.torrent, &copy, &dir.join("rtorrent"), 256)?;
        let opts = LtOptions {
            seed_mode: true,
            upload_limit: 256 * 1024,
            ..LtOptions::default()
        };
        let _lt = Seeder::libtorrent(&t.torrent, &t.data_dir, &dir.join("lt-seeder"), opts)?;
        tracker.wait_seeders(t.primary(), before + 2)?;
        tracker.wait_seeders(short, before_v2 + 1)?;
        let proc = self.monsoon_download(&t.torrent, dir)?;
        let log = proc.log().to_owned();
        Self::finish(proc)?;
        data::compare(&t.content(), &dir.join("out").join(&t.name))?;
        let (v1, v2) = speaks(&log)?;
        ensure!(
            v1 > 0 && v2 > 0,
            "{v1} v1 and {v2} v2 connections (want both): {}",
            procs::tail(&log)
        );
        Ok(format!("({v1} v1 and {v2} v2 connections)"))
    }

    /// rtorrent (v1 only), then libtorrent, download a hybrid from one
    /// `monsoon seed` (one after the other, so that each gets it from
    /// monsoon).
    fn swarm_seed(&self, t: &V2Torrent, dir: &Path) -> Result<String> {
        let (tracker, t) = own_tracker(t, dir)?;
        let t = &t;
        let before = tracker.seeders(t.primary())?;
        let seed = self.monsoon_seed(t, dir)?;
        tracker.wait_seeders(t.primary(), before + 1)?;
        let rt_out = dir.join("rtorrent-out");
        let mut rtorrent = rtorrent(&t.torrent, &rt_out, &dir.join("rtorrent"), 0)?;
        // rtorrent keeps running once done: its files tell.
        procs::wait_until("rtorrent's download", LIMIT, || {
            ensure!(
                !rtorrent.exited(),
                "rtorrent exited: {}",
                procs::tail(rtorrent.log())
            );
            Ok(data::compare(&t.content(), &rt_out.join(&t.name)).is_ok())
        })?;
        drop(rtorrent);
        let lt_out = dir.join("lt-out");
        fs::create_dir_all(&lt_out)?;
        let mut lt = Command::new(PYTHON);
        lt.arg(script("lt_download.py"))
            .arg("--torrent")
            .arg(&t.torrent)
            .arg("--save-path")
            .arg(&lt_out)
            .args([
                "--port",
                &procs::free_port()?.to_string(),
                "--max-seconds",
                "100",
            ]);
        let lt = Proc::spawn("libtorrent", &mut lt, &dir.join("lt-download.log"))?;
        Self::finish(lt)?;
        data::compare(&t.content(), &lt_out.join(&t.name))?;
        let (v1, v2) = speaks(seed.log())?;
        ensure!(
            v1 > 0 && v2 > 0,
            "{v1} v1 and {v2} v2 connections (want both): {}",
            procs::tail(seed.log())
        );
        Ok(format!("({v1} v1 and {v2} v2 connections)"))
    }
}

/// A tracker for one cell, and a copy of `t` announcing to it: rtorrent
/// keeps one address per IP (all are 127.0.0.1 here), so the dead peers of
/// earlier cells must not be listed.
fn own_tracker(t: &V2Torrent, dir: &Path) -> Result<(Tracker, V2Torrent)> {
    let port = procs::free_port()?;
    let tracker = Tracker::start(&dir.join("tracker"), port, &t.hashes())?;
    let mut copy = t.clone();
    copy.torrent = dir.join("swarm.torrent");
    procs::check_output(
        Command::new(PYTHON)
            .arg(script("lt_v2.py"))
            .arg("retrack")
            .arg(&t.torrent)
            .arg(&copy.torrent)
            .arg(tracker.announce_url()),
        Duration::from_secs(30),
    )?;
    Ok((tracker, copy))
}

/// rtorrent's address: it tries one peer per IP address, and the tracker
/// lists it among the others (itself included), which all are on
/// 127.0.0.1.
const RTORRENT_IP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(127, 0, 0, 2);

/// rtorrent (libtorrent-rakshasa: BitTorrent v1 only) with `torrent`, its
/// data in `data_dir` (checked, then seeded or downloaded), announcing to
/// the torrent's tracker, uploading at most `upload_kib` KiB/s (0: no
/// limit); its configuration and logs in `work`. It runs until dropped.
fn rtorrent(torrent: &Path, data_dir: &Path, work: &Path, upload_kib: u32) -> Result<Proc> {
    let home = work.join("home");
    let session = work.join("session");
    fs::create_dir_all(&home)?;
    fs::create_dir_all(&session)?;
    fs::create_dir_all(data_dir)?;
    let port = procs::free_port()?;
    let path = |p: &Path| p.to_str().context("path is not UTF-8").map(str::to_owned);
    let rc = format!(
        "system.daemon.set = true\n\
         directory.default.set = {}\n\
         session.path.set = {}\n\
         network.port_range.set = {port}-{port}\n\
         network.port_random.set = no\n\
         network.bind_address.set = {RTORRENT_IP}\n\
         dht.mode.set = disable\n\
         protocol.pex.set = no\n\
         trackers.use_udp.set = no\n\
         throttle.global_up.max_rate.set_kb = {upload_kib}\n\
         log.open_file = \"main\", {}\n\
         log.add_output = \"info\", \"main\"\n\
         load.start_verbose = {}\n",
        path(data_dir)?,
        path(&session)?,
        path(&work.join("rtorrent-info.log"))?,
        path(torrent)?,
    );
    fs::write(home.join(".rtorrent.rc"), rc)?;
    let mut c = Command::new("rtorrent");
    c.env("HOME", &home);
    let proc = Proc::spawn("rtorrent", &mut c, &work.join("rtorrent.log"))?;
    let addr = std::net::SocketAddr::new(RTORRENT_IP.into(), port);
    procs::wait_until("rtorrent to listen", Duration::from_secs(30), || {
        Ok(std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok())
    })?;
    Ok(proc)
}

/// How many connections in a monsoon log (`MONSOON_LOG` with the
/// connections module at debug) spoke v1 and how many v2.
fn speaks(log: &Path) -> Result<(usize, usize)> {
    let text = fs::read_to_string(log).with_context(|| format!("read {}", log.display()))?;
    let connected = text.lines().filter(|l| l.contains("peer connected"));
    let (mut v1, mut v2) = (0, 0);
    for line in connected {
        if line.contains("v2=true") {
            v2 += 1;
        } else if line.contains("v2=false") {
            v1 += 1;
        }
    }
    Ok((v1, v2))
}

/// `s` as a query value.
fn escape(s: &str) -> String {
    s.replace(':', "%3A").replace('/', "%2F")
}
