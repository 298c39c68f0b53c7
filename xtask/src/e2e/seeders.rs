//! The real clients monsoon is tested against: opentracker, and seeders
//! driven by libtorrent (Python), aria2c and transmission-daemon.
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::procs::{self, Proc};

/// Debian's Python, the one `python3-libtorrent` is built for.
pub(crate) const PYTHON: &str = "/usr/bin/python3";

/// How long a seeder may take to check its data and announce.
const READY: Duration = Duration::from_secs(120);

/// `xtask/scripts/NAME`.
pub(crate) fn script(name: &str) -> PathBuf {
    crate::cmd::root().join("xtask/scripts").join(name)
}

/// What libtorrent reads in a .torrent.
#[derive(Debug, Clone)]
pub(crate) struct TorrentFacts {
    /// The info-hash, lowercase hex.
    pub(crate) info_hash: String,
    /// Bytes per piece.
    pub(crate) piece_length: u64,
    /// Number of pieces.
    pub(crate) piece_count: u64,
    /// Sum of the file lengths.
    pub(crate) total_length: u64,
    /// The torrent's name (file or top folder).
    pub(crate) name: String,
}

impl TorrentFacts {
    /// Reads `torrent` with libtorrent.
    pub(crate) fn read(torrent: &Path) -> Result<TorrentFacts> {
        let text = procs::check_output(
            Command::new(PYTHON).arg(script("lt_info.py")).arg(torrent),
            Duration::from_secs(30),
        )?;
        let line = text.lines().next().context("lt_info.py printed nothing")?;
        let mut it = line.splitn(5, ' ');
        let mut field = || it.next().context("short lt_info.py line");
        Ok(TorrentFacts {
            info_hash: field()?.to_owned(),
            piece_length: field()?.parse()?,
            piece_count: field()?.parse()?,
            total_length: field()?.parse()?,
            name: field()?.to_owned(),
        })
    }
}

/// opentracker on 127.0.0.1 (HTTP and UDP on the same port) with a whitelist.
pub(crate) struct Tracker {
    port: u16,
    _proc: Proc,
}

impl Tracker {
    /// Starts opentracker on `port` in `dir`, accepting only `info_hashes`
    /// (hex).
    pub(crate) fn start(dir: &Path, port: u16, info_hashes: &[&str]) -> Result<Tracker> {
        fs::create_dir_all(dir)?;
        let mut list = String::new();
        for hash in info_hashes {
            writeln!(list, "{hash}")?;
        }
        fs::write(dir.join("whitelist"), list)?;
        let p = port.to_string();
        // opentracker chroots to `-d` when it runs as root, so the whitelist
        // path is relative to it.
        let proc = Proc::spawn(
            "opentracker",
            Command::new("opentracker")
                .args(["-i", "127.0.0.1", "-p", &p, "-P", &p, "-d"])
                .arg(dir)
                .args(["-w", "whitelist"])
                .current_dir(dir),
            &dir.join("opentracker.log"),
        )?;
        procs::wait_listening("opentracker", port, Duration::from_secs(20))?;
        let tracker = Tracker { port, _proc: proc };
        // It loads the whitelist in a thread of its own after it listens:
        // until then it refuses every torrent.
        if let Some(first) = info_hashes.first() {
            procs::wait_until("opentracker's whitelist", Duration::from_secs(20), || {
                Ok(tracker.accepts(first))
            })?;
        }
        // opentracker listens with SO_REUSEPORT: a second one on this port
        // (another run's) would answer some announces from its whitelist.
        let shared = procs::tcp_listeners(port);
        if shared > 1 {
            bail!("{shared} programs listen on tracker port {port}: is another run using it?");
        }
        Ok(tracker)
    }

    /// Whether an announce for `info_hash` (hex) is answered with an
    /// interval (a `stopped` announce, which adds no peer).
    fn accepts(&self, info_hash: &str) -> bool {
        let mut query = String::new();
        for i in (0..info_hash.len()).step_by(2) {
            let _ = write!(query, "%{}", &info_hash[i..i + 2]);
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let sent = write!(
            s,
            "GET /announce?info_hash={query}&peer_id=-XT0001-whitelist000&port=1\
             &uploaded=0&downloaded=0&left=0&event=stopped&compact=1 HTTP/1.0\r\n\r\n"
        );
        let mut reply = Vec::new();
        sent.is_ok()
            && s.read_to_end(&mut reply).is_ok()
            && String::from_utf8_lossy(&reply).contains("8:interval")
    }

    /// The HTTP announce URL.
    pub(crate) fn announce_url(&self) -> String {
        format!("http://127.0.0.1:{}/announce", self.port)
    }

    /// How many seeders the tracker lists for `info_hash` (hex), by scrape.
    pub(crate) fn seeders(&self, info_hash: &str) -> Result<u32> {
        let mut query = String::new();
        for i in (0..info_hash.len()).step_by(2) {
            write!(query, "%{}", &info_hash[i..i + 2])?;
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            s,
            "GET /scrape?info_hash={query} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        )?;
        let mut body = Vec::new();
        s.read_to_end(&mut body)?;
        let text = String::from_utf8_lossy(&body);
        let Some(at) = text.find("8:completei") else {
            return Ok(0);
        };
        let rest = &text[at + "8:completei".len()..];
        let end = rest.find('e').context("bad scrape reply")?;
        Ok(rest[..end].parse()?)
    }

    /// The peer addresses the tracker hands out for `info_hash` (hex), asked
    /// by announcing a probe leecher at 127.0.0.1:9 (the discard port, so a
    /// client that tries it is refused at once) that then announces
    /// `stopped`, so the swarm is left as it was.
    pub(crate) fn peers(&self, info_hash: &str) -> Result<Vec<SocketAddr>> {
        let reply = self.probe(info_hash, "")?;
        self.probe(info_hash, "&event=stopped")?;
        let key = b"5:peers";
        let at = reply
            .windows(key.len())
            .position(|w| w == key)
            .with_context(|| format!("no peers in {:?}", String::from_utf8_lossy(&reply)))?
            + key.len();
        let colon = reply[at..]
            .iter()
            .position(|&b| b == b':')
            .context("bad peers length")?;
        let len: usize = std::str::from_utf8(&reply[at..at + colon])?.parse()?;
        let list = reply
            .get(at + colon + 1..at + colon + 1 + len)
            .context("short peers string")?;
        Ok(list
            .chunks_exact(6)
            .map(|p| SocketAddr::from(([p[0], p[1], p[2], p[3]], u16::from_be_bytes([p[4], p[5]]))))
            .collect())
    }

    /// One announce of the probe leecher; the raw reply.
    fn probe(&self, info_hash: &str, event: &str) -> Result<Vec<u8>> {
        let mut query = String::new();
        for i in (0..info_hash.len()).step_by(2) {
            write!(query, "%{}", &info_hash[i..i + 2])?;
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            s,
            "GET /announce?info_hash={query}&peer_id=-XT0001-probe0000000&port=9&uploaded=0\
             &downloaded=0&left=1&compact=1&numwant=200{event} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        )?;
        let mut reply = Vec::new();
        s.read_to_end(&mut reply)?;
        Ok(reply)
    }

    /// Waits at most `limit` until the tracker does (`listed`) or does not
    /// hand out `peer`.
    pub(crate) fn wait_listed(
        &self,
        info_hash: &str,
        peer: SocketAddr,
        listed: bool,
        limit: Duration,
    ) -> Result<()> {
        let what = if listed {
            format!("the tracker lists {peer}")
        } else {
            format!("the tracker no longer lists {peer}")
        };
        procs::wait_until(&what, limit, || {
            Ok(self.peers(info_hash)?.contains(&peer) == listed)
        })
    }

    /// Waits until the tracker lists at least `n` seeders for `info_hash`.
    pub(crate) fn wait_seeders(&self, info_hash: &str, n: u32) -> Result<()> {
        procs::wait_until(&format!("{n} seeder(s) on the tracker"), READY, || {
            Ok(self.seeders(info_hash)? >= n)
        })
    }
}

/// Which program seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// libtorrent-rasterbar through `xtask/scripts/lt_seed.py`.
    Libtorrent,
    /// aria2c.
    Aria2,
    /// transmission-daemon, fed through transmission-remote.
    Transmission,
}

impl Kind {
    /// Short name for tables.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Libtorrent => "libtorrent",
            Kind::Aria2 => "aria2",
            Kind::Transmission => "transmission",
        }
    }
}

/// How a libtorrent seeder treats its data.
#[derive(Debug, Clone, Default)]
pub(crate) struct LtOptions {
    /// Skip the initial check (pieces are hashed when first requested).
    pub(crate) seed_mode: bool,
    /// Serve the data as it is, damaged or not (no hash checks at all).
    pub(crate) trust: bool,
    /// Upload limit in bytes per second (0: none).
    pub(crate) upload_limit: u64,
    /// Run libtorrent's DHT node, joined through these nodes.
    pub(crate) dht: Option<Vec<SocketAddr>>,
    /// Connect to these peers too.
    pub(crate) peers: Vec<SocketAddr>,
    /// The data may be incomplete: ready once checked; the rest is
    /// downloaded at most this fast (bytes per second, 0: no limit).
    pub(crate) partial: Option<u64>,
    /// Neither send nor heed PEX for this torrent.
    pub(crate) no_pex: bool,
    /// RC4-encrypted (MSE/PE) connections only, both ways.
    pub(crate) forced_encryption: bool,
    /// Local service discovery on (BEP 14, on 127.0.0.1).
    pub(crate) lsd: bool,
}

/// A running seeder; dropping it stops it.
pub(crate) struct Seeder {
    kind: Kind,
    port: u16,
    proc: Proc,
}

impl Seeder {
    /// Starts a seeder of `kind` for `torrent` whose data is in `data_dir`
    /// (the folder holding the torrent's file or top folder). `work` is a
    /// scratch folder for its logs and configuration.
    pub(crate) fn start(
        kind: Kind,
        torrent: &Path,
        data_dir: &Path,
        work: &Path,
    ) -> Result<Seeder> {
        match kind {
            Kind::Libtorrent => Seeder::libtorrent(torrent, data_dir, work, LtOptions::default()),
            Kind::Aria2 => Seeder::aria2(torrent, data_dir, work),
            Kind::Transmission => Seeder::transmission(torrent, data_dir, work, false),
        }
    }

    /// A libtorrent seeder; returns once it is seeding.
    pub(crate) fn libtorrent(
        torrent: &Path,
        data_dir: &Path,
        work: &Path,
        opts: LtOptions,
    ) -> Result<Seeder> {
        fs::create_dir_all(work)?;
        let port = procs::free_port()?;
        let mut cmd = Command::new(PYTHON);
        cmd.arg(script("lt_seed.py"))
            .arg("--torrent")
            .arg(torrent)
            .arg("--save-path")
            .arg(data_dir)
            .args(["--port", &port.to_string(), "--max-seconds", "1800"]);
        if opts.seed_mode {
            cmd.arg("--seed-mode");
        }
        if opts.trust {
            cmd.arg("--trust");
        }
        if opts.upload_limit > 0 {
            cmd.args(["--upload-limit", &opts.upload_limit.to_string()]);
        }
        if let Some(nodes) = &opts.dht {
            cmd.arg("--dht");
            for n in nodes {
                cmd.args(["--dht-node", &n.to_string()]);
            }
        }
        for p in &opts.peers {
            cmd.args(["--peer", &p.to_string()]);
        }
        if opts.no_pex {
            cmd.arg("--no-pex");
        }
        if opts.lsd {
            cmd.arg("--lsd");
        }
        if let Some(limit) = opts.partial {
            cmd.arg("--partial");
            if limit > 0 {
                cmd.args(["--download-limit", &limit.to_string()]);
            }
        }
        if opts.forced_encryption {
            cmd.arg("--forced-encryption");
        }
        let mut proc =
            Proc::spawn_talking("libtorrent seeder", &mut cmd, &work.join("lt_seed.log"))?;
        proc.line("ready", READY)?;
        Ok(Seeder {
            kind: Kind::Libtorrent,
            port,
            proc,
        })
    }

    /// An aria2c seeder that checks its data first (`-V`).
    pub(crate) fn aria2(torrent: &Path, data_dir: &Path, work: &Path) -> Result<Seeder> {
        fs::create_dir_all(work)?;
        let port = procs::free_port()?;
        let proc = Proc::spawn(
            "aria2c seeder",
            Command::new("aria2c")
                .args([
                    "--seed-ratio=0",
                    "-V",
                    "--bt-seed-unverified=false",
                    "--enable-dht=false",
                    "--enable-dht6=false",
                    "--bt-enable-lpd=false",
                    "--enable-peer-exchange=false",
                    "--disable-ipv6=true",
                    "--summary-interval=0",
                    "--console-log-level=warn",
                    "--file-allocation=none",
                    "--auto-save-interval=0",
                    "--bt-max-peers=0",
                    // Ends by itself should this run die without killing it.
                    "--stop=1800",
                ])
                .arg(format!("--listen-port={port}"))
                .arg(format!("--dir={}", data_dir.display()))
                .arg(format!("--log={}", work.join("aria2c-debug.log").display()))
                .arg("--log-level=notice")
                .arg(torrent)
                .current_dir(work),
            &work.join("aria2c.log"),
        )?;
        procs::wait_listening("aria2c seeder", port, READY)?;
        Ok(Seeder {
            kind: Kind::Aria2,
            port,
            proc,
        })
    }

    /// A transmission-daemon seeder: starts the daemon, adds the torrent,
    /// waits for its check, then re-announces (the first announce went out
    /// while it was still checking). `encrypted`: encryption required,
    /// else tolerated (see [`Transmission::start`]).
    pub(crate) fn transmission(
        torrent: &Path,
        data_dir: &Path,
        work: &Path,
        encrypted: bool,
    ) -> Result<Seeder> {
        let daemon = Transmission::start(data_dir, work, encrypted)?;
        let torrent = torrent.to_str().context("torrent path is not UTF-8")?;
        daemon.remote(&["-a", torrent])?;
        procs::wait_until("transmission check", READY, || {
            let list = daemon.remote(&["-l"])?;
            let row = list.lines().nth(1).unwrap_or_default();
            Ok(row.contains("100%") && !row.contains("Verif"))
        })?;
        daemon.remote(&["-t", "all", "--reannounce"])?;
        procs::wait_listening("transmission peer port", daemon.port, READY)?;
        Ok(Seeder {
            kind: Kind::Transmission,
            port: daemon.port,
            proc: daemon.proc,
        })
    }

    /// The seeder's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Its peer address.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Payload bytes uploaded so far (libtorrent seeders only).
    pub(crate) fn uploaded(&mut self) -> Result<u64> {
        self.status_field("uploaded")
    }

    /// Payload bytes downloaded so far (libtorrent seeders only; non-zero
    /// only with `LtOptions::partial`).
    pub(crate) fn downloaded(&mut self) -> Result<u64> {
        self.status_field("downloaded")
    }

    fn status_field(&mut self, key: &str) -> Result<u64> {
        if self.kind != Kind::Libtorrent {
            bail!("only the libtorrent seeder reports its status");
        }
        self.proc.send("status")?;
        let line = self.proc.line("status", Duration::from_secs(10))?;
        let prefix = format!("{key}=");
        let value = line
            .split(' ')
            .find_map(|kv| kv.strip_prefix(prefix.as_str()))
            .with_context(|| format!("no {key}= in status line"))?;
        Ok(value.parse()?)
    }
}

/// A transmission-daemon on 127.0.0.1 with its own configuration folder,
/// driven through transmission-remote; seeder or leecher.
pub(crate) struct Transmission {
    /// The daemon (killed on drop).
    pub(crate) proc: Proc,
    /// Its RPC port.
    pub(crate) rpc: u16,
    /// Its peer port.
    pub(crate) port: u16,
}

impl Transmission {
    /// Starts the daemon with `work/transmission` as its configuration and
    /// `download_dir` for data; returns once its RPC port answers. No DHT,
    /// LSD, port mapping or uTP. `encrypted`: encryption required (`-er`),
    /// else tolerated (`-et`).
    pub(crate) fn start(download_dir: &Path, work: &Path, encrypted: bool) -> Result<Transmission> {
        let config = work.join("transmission");
        fs::create_dir_all(&config)?;
        let port = procs::free_port()?;
        let rpc = procs::free_port()?;
        let proc = Proc::spawn(
            "transmission-daemon",
            Command::new("transmission-daemon")
                .args([
                    "-f",
                    "--log-error",
                    "-T",
                    "--no-dht",
                    "--no-lpd",
                    "--no-portmap",
                ])
                .args(["--no-utp", if encrypted { "-er" } else { "-et" }])
                .args(["-GSR", "--no-incomplete-dir", "-C"])
                .args([
                    "--allowed",
                    "127.0.0.1",
                    "-r",
                    "127.0.0.1",
                    "-i",
                    "127.0.0.1",
                ])
                .args(["-p", &rpc.to_string(), "-P", &port.to_string()])
                .arg("-g")
                .arg(&config)
                .arg("-w")
                .arg(download_dir),
            &work.join("transmission.log"),
        )?;
        procs::wait_listening("transmission rpc", rpc, READY)?;
        Ok(Transmission { proc, rpc, port })
    }

    /// Runs `transmission-remote 127.0.0.1:RPC args…`; returns its output.
    pub(crate) fn remote(&self, args: &[&str]) -> Result<String> {
        Transmission::remote_to(self.rpc, args)
    }

    /// [`Transmission::remote`] for a daemon known by its RPC port.
    pub(crate) fn remote_to(rpc: u16, args: &[&str]) -> Result<String> {
        procs::check_output(
            Command::new("transmission-remote")
                .arg(format!("127.0.0.1:{rpc}"))
                .args(args),
            Duration::from_secs(30),
        )
    }
}

/// Flushes stdout so progress lines show before a long step.
pub(crate) fn flush() {
    let _ = std::io::stdout().flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opentracker_scrapes_and_lists_peers() {
        assert!(
            crate::cmd::have("opentracker"),
            "opentracker is missing: run `cargo xtask setup` (Debian package opentracker)"
        );
        let dir = std::env::temp_dir().join(format!("xtask-tracker-{}", std::process::id()));
        let hash = "a6042cfec9c4f3ad41c06dfca2d2090b4eaa445f";
        let port = procs::free_port().unwrap();
        let tracker = Tracker::start(&dir, port, &[hash]).unwrap();
        assert_eq!(
            tracker.announce_url(),
            format!("http://127.0.0.1:{port}/announce")
        );
        assert_eq!(tracker.seeders(hash).unwrap(), 0);
        // Announce a seeder by hand (left=0), then the scrape counts it.
        let mut query = String::new();
        for i in (0..hash.len()).step_by(2) {
            write!(query, "%{}", &hash[i..i + 2]).unwrap();
        }
        let announce = |event: &str| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(
                s,
                "GET /announce?info_hash={query}&peer_id=-XT0001-000000000000&port=6881\
                 &uploaded=0&downloaded=0&left=0&event={event}&compact=1 HTTP/1.0\r\n\r\n"
            )
            .unwrap();
            let mut reply = Vec::new();
            s.read_to_end(&mut reply).unwrap();
            reply
        };
        let reply = announce("started");
        assert!(String::from_utf8_lossy(&reply).contains("8:interval"));
        assert_eq!(tracker.seeders(hash).unwrap(), 1);
        let seeder = SocketAddr::from(([127, 0, 0, 1], 6881));
        assert!(tracker.peers(hash).unwrap().contains(&seeder));
        tracker
            .wait_listed(hash, seeder, true, Duration::from_secs(30))
            .unwrap();
        // The probe left no leecher behind.
        let scrape = || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(s, "GET /scrape?info_hash={query} HTTP/1.0\r\n\r\n").unwrap();
            let mut reply = Vec::new();
            s.read_to_end(&mut reply).unwrap();
            String::from_utf8_lossy(&reply).into_owned()
        };
        let text = scrape();
        assert!(text.contains("10:incompletei0e"), "{text}");
        announce("stopped");
        assert!(!tracker.peers(hash).unwrap().contains(&seeder));
        tracker
            .wait_listed(hash, seeder, false, Duration::from_secs(30))
            .unwrap();
        drop(tracker);
        fs::remove_dir_all(dir).unwrap();
    }
}
