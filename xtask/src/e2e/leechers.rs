//! The real clients the seeder under test uploads to: libtorrent (Python),
//! aria2c, Transmission, qBittorrent (through its WebUI API) and rtorrent.
//! Each downloads one torrent into a folder, from the tracker in the torrent
//! or from one peer address without a tracker, and the harness waits
//! (bounded) until it says it is complete.
//!
//! How each is given a peer address: libtorrent by `connect_peer` and
//! qBittorrent by `torrents/addPeers`, both on a copy of the torrent with no
//! tracker; aria2c, Transmission 3 and rtorrent 0.9 have no way to be given
//! one, so they get a copy whose only tracker is a [`OnePeerTracker`] that
//! answers with that address alone (the seeder announces nowhere).
//!
//! Transmission 3 never dials an address in 127.0.0.0/8 (it calls them
//! martian), wherever it learnt it. Given an address, it gets a [`Relay`]
//! on this machine's own address that forwards to the seeder; via the
//! tracker, it must be in the swarm before the seeder, which then dials it
//! (see [`Leecher::joins_before_seeder`]). So must rtorrent: it keeps one
//! address per IP, and the tracker's reply lists it and the seeder, both on
//! 127.0.0.1.
use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use super::Client;
use super::direct::{self, OnePeerTracker, Relay};
use super::http::{self, Body};
use super::procs::{self, Proc};
use super::seeders::{PYTHON, Transmission, script};

/// How long a client may take to start and answer on its control port.
const START: Duration = Duration::from_secs(60);

/// How often a wait asks the clients again.
const POLL: Duration = Duration::from_millis(200);

/// A client that downloads in the upload column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leecher {
    /// libtorrent-rasterbar through `xtask/scripts/lt_download.py`.
    Libtorrent,
    /// aria2c (exits when done: `--seed-time=0`).
    Aria2,
    /// transmission-daemon, fed and polled through transmission-remote.
    Transmission,
    /// qbittorrent-nox, driven through its WebUI API.
    Qbittorrent,
    /// rtorrent in daemon mode; its `event.download.finished` writes a file.
    Rtorrent,
}

impl Leecher {
    /// Every leecher, in table order.
    pub(crate) const ALL: [Leecher; 5] = [
        Leecher::Libtorrent,
        Leecher::Aria2,
        Leecher::Transmission,
        Leecher::Qbittorrent,
        Leecher::Rtorrent,
    ];

    /// Short name for tables.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Leecher::Libtorrent => "libtorrent",
            Leecher::Aria2 => "aria2c",
            Leecher::Transmission => "transmission",
            Leecher::Qbittorrent => "qbittorrent",
            Leecher::Rtorrent => "rtorrent",
        }
    }

    /// The leecher called `name`.
    pub(crate) fn parse(name: Option<&str>) -> Result<Leecher> {
        Leecher::ALL
            .into_iter()
            .find(|l| Some(l.name()) == name)
            .with_context(|| {
                let names: Vec<&str> = Leecher::ALL.iter().map(|l| l.name()).collect();
                format!("--leecher takes one of {}, not {name:?}", names.join(", "))
            })
    }

    /// Whether it dials peers on 127.0.0.1. Transmission 3 does not.
    fn dials_loopback(self) -> bool {
        self != Leecher::Transmission
    }

    /// Whether, via a tracker on 127.0.0.1, it must join the swarm before
    /// the seeder, so the seeder finds it in the reply to its first announce
    /// and dials it: Transmission (it never dials loopback) and rtorrent
    /// (it keeps one address per IP, so of itself and the seeder, both
    /// 127.0.0.1, it may keep itself).
    pub(crate) fn joins_before_seeder(self) -> bool {
        matches!(self, Leecher::Transmission | Leecher::Rtorrent)
    }

    /// Whether it creates the empty files of a torrent. Transmission 3 does
    /// not (transmission/transmission#417, fixed in 4.0).
    pub(crate) fn creates_empty_files(self) -> bool {
        self != Leecher::Transmission
    }

    /// Starts downloading `torrent` into `out` (the content lands in
    /// `out/NAME`) from `source`. `work` takes its configuration and logs.
    pub(crate) fn start(
        self,
        torrent: &Path,
        out: &Path,
        source: Source,
        work: &Path,
    ) -> Result<Download> {
        fs::create_dir_all(out)?;
        fs::create_dir_all(work)?;
        let out = fs::canonicalize(out)?;
        let work = fs::canonicalize(work)?;
        // What the client is handed: the torrent itself, a copy with no
        // tracker (clients that take an address), or a copy announcing to a
        // one-peer stub (clients that do not).
        let mut stub = None;
        let mut relay = None;
        let (torrent, peer) = match source {
            Source::Tracker => (torrent.to_path_buf(), None),
            Source::Peer(addr) if matches!(self, Leecher::Libtorrent | Leecher::Qbittorrent) => {
                let copy = work.join("trackerless.torrent");
                direct::retracked(torrent, &copy, None)?;
                (copy, Some(addr))
            }
            Source::Peer(addr) => {
                let addr = if self.dials_loopback() {
                    addr
                } else {
                    let r = Relay::start(addr)?;
                    let a = r.addr();
                    relay = Some(r);
                    a
                };
                let tracker = OnePeerTracker::start(addr)?;
                let copy = work.join("one-peer.torrent");
                direct::retracked(torrent, &copy, Some(&tracker.announce_url()))?;
                stub = Some(tracker);
                (copy, None)
            }
        };
        let Started {
            proc,
            finish,
            log,
            port,
        } = match self {
            Leecher::Libtorrent => libtorrent(&torrent, &out, peer, &work)?,
            Leecher::Aria2 => aria2(&torrent, &out, &work)?,
            Leecher::Transmission => transmission(&torrent, &out, &work)?,
            Leecher::Qbittorrent => qbittorrent(&torrent, &out, peer, &work)?,
            Leecher::Rtorrent => rtorrent(&torrent, &out, &work)?,
        };
        Ok(Download {
            leecher: self,
            proc,
            added: Instant::now(),
            finish,
            log,
            status: String::new(),
            port,
            stub,
            _relay: relay,
            done: None,
        })
    }
}

/// Where a leecher finds its peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The tracker named in the torrent.
    Tracker,
    /// This address alone, no tracker.
    Peer(SocketAddr),
}

/// How the harness learns that a client has finished.
enum Finish {
    /// It exits with status 0 once every piece is checked.
    Exit,
    /// `transmission-remote -t 1 -i` says 100%; the torrent is then stopped,
    /// which writes out Transmission's cache.
    Transmission { rpc: u16 },
    /// `torrents/info` says progress 1 in an upload state. With a peer to
    /// give, `addPeers` again every 2 s while the torrent has no seed.
    Qbittorrent {
        webui: u16,
        peer: Option<SocketAddr>,
        last_add: Option<Instant>,
    },
    /// rtorrent's `event.download.finished` created this file.
    Marker(PathBuf),
}

/// One client downloading; dropping it kills the client.
pub(crate) struct Download {
    leecher: Leecher,
    proc: Proc,
    added: Instant,
    finish: Finish,
    /// The log that tells most when it fails.
    log: PathBuf,
    /// The client's last answer about the torrent, for error messages.
    status: String,
    /// Its peer port on 127.0.0.1.
    port: u16,
    stub: Option<OnePeerTracker>,
    _relay: Option<Relay>,
    done: Option<Duration>,
}

impl Download {
    /// Its peer address (what a tracker lists for it).
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Looks once: `Ok(true)` when finished (the client is then killed).
    fn poll(&mut self) -> Result<bool> {
        if self.done.is_some() {
            return Ok(true);
        }
        let exited = self.proc.try_status()?;
        if let (Some(status), false) = (exited, matches!(self.finish, Finish::Exit)) {
            bail!("exited with {status} before finishing");
        }
        let finished = match &mut self.finish {
            Finish::Exit => match exited {
                Some(status) if status.success() => true,
                Some(status) => bail!("exited with {status}"),
                None => false,
            },
            Finish::Transmission { rpc } => transmission_done(*rpc, &mut self.status)?,
            Finish::Qbittorrent {
                webui,
                peer,
                last_add,
            } => qbittorrent_done(*webui, *peer, last_add, &mut self.status)?,
            Finish::Marker(file) => file.exists(),
        };
        if finished {
            self.done = Some(self.added.elapsed());
            self.proc.kill();
        }
        Ok(finished)
    }

    /// An error about this download, with its client's last words.
    fn fail(&self, what: &anyhow::Error) -> anyhow::Error {
        let mut text = format!("{}: {what:#}", self.leecher.name());
        if !self.status.is_empty() {
            let _ = write!(text, "\nlast status: {}", self.status.trim());
        }
        if let Some(stub) = &self.stub {
            let _ = write!(text, "\n(one-peer tracker: {} announces)", stub.announces());
        }
        let _ = write!(text, "\n{}", procs::tail(&self.log));
        anyhow::anyhow!(text)
    }
}

/// Waits at most `limit` for every download at once; one result each, in
/// order: the time it took, or why it failed (with its log's tail).
pub(crate) fn wait_all(downloads: &mut [Download], limit: Duration) -> Vec<Result<Duration>> {
    let deadline = Instant::now() + limit;
    let mut results: Vec<Option<Result<Duration>>> = downloads.iter().map(|_| None).collect();
    loop {
        for (d, slot) in downloads.iter_mut().zip(&mut results) {
            if slot.is_some() {
                continue;
            }
            match d.poll() {
                Ok(true) => *slot = Some(Ok(d.done.expect("set when finished"))),
                Ok(false) => {}
                Err(e) => {
                    *slot = Some(Err(d.fail(&e)));
                    d.proc.kill();
                }
            }
        }
        if results.iter().all(Option::is_some) {
            break;
        }
        if Instant::now() >= deadline {
            for (d, slot) in downloads.iter_mut().zip(&mut results) {
                if slot.is_none() {
                    let e = anyhow::anyhow!("not complete after {limit:?}");
                    *slot = Some(Err(d.fail(&e)));
                    d.proc.kill();
                }
            }
            break;
        }
        thread::sleep(POLL);
    }
    results
        .into_iter()
        .map(|r| r.expect("every slot is filled"))
        .collect()
}

/// What a driver returns.
struct Started {
    proc: Proc,
    finish: Finish,
    /// The log that tells most when it fails.
    log: PathBuf,
    /// Its peer port.
    port: u16,
}

fn libtorrent(
    torrent: &Path,
    out: &Path,
    peer: Option<SocketAddr>,
    work: &Path,
) -> Result<Started> {
    let port = procs::free_port()?;
    let mut cmd = Command::new(PYTHON);
    cmd.arg(script("lt_download.py"))
        .arg("--torrent")
        .arg(torrent)
        .arg("--save-path")
        .arg(out)
        .args(["--port", &port.to_string(), "--max-seconds", "900"]);
    if let Some(peer) = peer {
        cmd.args(["--peer", &peer.to_string()]);
    }
    let log = work.join("lt_download.log");
    let proc = Proc::spawn("libtorrent leecher", &mut cmd, &log)?;
    Ok(Started {
        proc,
        finish: Finish::Exit,
        log,
        port,
    })
}

fn aria2(torrent: &Path, out: &Path, work: &Path) -> Result<Started> {
    let port = procs::free_port()?;
    let mut cmd = Client::Aria2.download_cmd(torrent, out, port, &[])?;
    cmd.current_dir(work);
    let log = work.join("aria2c.log");
    let proc = Proc::spawn("aria2c leecher", &mut cmd, &log)?;
    Ok(Started {
        proc,
        finish: Finish::Exit,
        log,
        port,
    })
}

fn transmission(torrent: &Path, out: &Path, work: &Path) -> Result<Started> {
    let daemon = Transmission::start(out, work, false)?;
    let torrent = torrent.to_str().context("torrent path is not UTF-8")?;
    daemon.remote(&["-a", torrent])?;
    Ok(Started {
        log: daemon.proc.log().to_path_buf(),
        finish: Finish::Transmission { rpc: daemon.rpc },
        port: daemon.port,
        proc: daemon.proc,
    })
}

fn transmission_done(rpc: u16, status: &mut String) -> Result<bool> {
    *status = Transmission::remote_to(rpc, &["-t", "1", "-i"])?;
    if !status.contains("Percent Done: 100%") {
        return Ok(false);
    }
    Transmission::remote_to(rpc, &["-t", "1", "-S"])?;
    procs::wait_until("transmission stops the torrent", START, || {
        *status = Transmission::remote_to(rpc, &["-t", "1", "-i"])?;
        Ok(status.contains("State: Stopped"))
    })?;
    Ok(true)
}

/// Its profile folder with a configuration written before the first start:
/// legal notice accepted, WebUI on 127.0.0.1 without login for localhost,
/// no DHT, LSD, PeX, UPnP, queueing or country lookups.
fn qbittorrent(
    torrent: &Path,
    out: &Path,
    peer: Option<SocketAddr>,
    work: &Path,
) -> Result<Started> {
    let profile = work.join("qbittorrent");
    let config = profile.join("qBittorrent/config");
    fs::create_dir_all(&config)?;
    let port = procs::free_port()?;
    let webui = procs::free_port()?;
    let out_text = out.to_str().context("output path is not UTF-8")?;
    fs::write(
        config.join("qBittorrent.conf"),
        format!(
            "[LegalNotice]\nAccepted=true\n\n\
             [BitTorrent]\nSession\\Port={port}\nSession\\Interface=lo\n\
             Session\\InterfaceName=lo\nSession\\InterfaceAddress=127.0.0.1\n\
             Session\\DHTEnabled=false\nSession\\LSDEnabled=false\nSession\\PeXEnabled=false\n\
             Session\\QueueingSystemEnabled=false\nSession\\BTProtocol=TCP\n\
             Session\\AddTrackersEnabled=false\nSession\\DefaultSavePath={out_text}\n\n\
             [Preferences]\nWebUI\\Enabled=true\nWebUI\\Address=127.0.0.1\nWebUI\\Port={webui}\n\
             WebUI\\LocalHostAuth=false\nWebUI\\CSRFProtection=false\n\
             WebUI\\HostHeaderValidation=false\nConnection\\UPnP=false\n\
             Connection\\ResolvePeerCountries=false\nGeneral\\Locale=en\n"
        ),
    )?;
    let proc = Proc::spawn(
        "qbittorrent-nox",
        Command::new("qbittorrent-nox")
            .arg(format!("--profile={}", profile.display()))
            .current_dir(work),
        &work.join("qbittorrent-nox.log"),
    )?;
    let log = profile.join("qBittorrent/data/logs/qbittorrent.log");
    procs::wait_listening("qbittorrent WebUI", webui, START)
        .map_err(|e| anyhow::anyhow!("{e:#}\n{}", procs::tail(&log)))?;
    let bytes = fs::read(torrent)?;
    let (code, reply) = http::request(
        webui,
        "/api/v2/torrents/add",
        &Body::Multipart {
            fields: &[("savepath", out_text), ("paused", "false")],
            file_field: "torrents",
            file_name: "t.torrent",
            file: &bytes,
        },
    )?;
    ensure!(
        code == 200 && reply.trim() == "Ok.",
        "qbittorrent did not take the torrent: {code} {reply}"
    );
    let finish = Finish::Qbittorrent {
        webui,
        peer,
        last_add: None,
    };
    Ok(Started {
        proc,
        finish,
        log,
        port,
    })
}

fn qbittorrent_done(
    webui: u16,
    peer: Option<SocketAddr>,
    last_add: &mut Option<Instant>,
    status: &mut String,
) -> Result<bool> {
    let (code, json) = http::request(webui, "/api/v2/torrents/info", &Body::None)?;
    ensure!(code == 200, "torrents/info answered {code}: {json}");
    *status = json;
    let Some(hash) = http::json_field(status, "hash") else {
        return Ok(false);
    };
    let progress = http::json_field(status, "progress").unwrap_or("0");
    let state = http::json_field(status, "state").unwrap_or("");
    let seeds = http::json_field(status, "num_seeds").unwrap_or("0");
    if progress == "1" && state.ends_with("UP") {
        return Ok(true);
    }
    let due = last_add.is_none_or(|t| t.elapsed() >= Duration::from_secs(2));
    if let (Some(peer), "0", true) = (peer, seeds, due) {
        let form = format!("hashes={hash}&peers={peer}");
        let (code, reply) = http::request(webui, "/api/v2/torrents/addPeers", &Body::Form(&form))?;
        ensure!(code == 200, "addPeers answered {code}: {reply}");
        *last_add = Some(Instant::now());
    }
    Ok(false)
}

/// rtorrent with no rtorrent.rc but ours (`-n -o import=…`), in daemon mode
/// (no terminal needed); the torrent is loaded and started by the config.
fn rtorrent(torrent: &Path, out: &Path, work: &Path) -> Result<Started> {
    let port = procs::free_port()?;
    let session = work.join("rtorrent-session");
    fs::create_dir_all(&session)?;
    let log = work.join("rtorrent.log");
    let marker = work.join("rtorrent-finished");
    let rc = work.join("rtorrent.rc");
    // rtorrent's config syntax splits on commas and spaces and has quotes.
    let plain = |p: &Path| -> Result<String> {
        let text = p.to_str().context("path is not UTF-8")?;
        ensure!(
            !text.contains([',', ' ', '"', '\\', '=', ';']),
            "rtorrent cannot take the path {text:?}"
        );
        Ok(text.to_owned())
    };
    fs::write(
        &rc,
        format!(
            "system.daemon.set = true\n\
             network.bind_address.set = 127.0.0.1\n\
             network.port_range.set = {port}-{port}\n\
             network.port_random.set = no\n\
             dht.mode.set = disable\n\
             protocol.pex.set = no\n\
             trackers.use_udp.set = no\n\
             directory.default.set = {out}\n\
             session.path.set = {session}\n\
             log.open_file = \"main\", {log}\n\
             log.add_output = \"info\", \"main\"\n\
             log.add_output = \"tracker_info\", \"main\"\n\
             method.set_key = event.download.finished, xtask_done, \
             \"execute.nothrow=touch,{marker}\"\n\
             load.start = {torrent}\n",
            out = plain(out)?,
            session = plain(&session)?,
            log = plain(&log)?,
            marker = plain(&marker)?,
            torrent = plain(torrent)?,
        ),
    )?;
    let proc = Proc::spawn(
        "rtorrent",
        Command::new("rtorrent")
            .arg("-n")
            .arg("-o")
            .arg(format!("import={}", plain(&rc)?))
            .current_dir(work),
        &work.join("rtorrent.stdout.log"),
    )?;
    Ok(Started {
        proc,
        finish: Finish::Marker(marker),
        log,
        port,
    })
}
