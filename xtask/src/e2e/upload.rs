//! The upload column: the seeder under test serves the single-file and the
//! folder torrent to each real leecher (libtorrent, aria2c, Transmission,
//! qBittorrent, rtorrent), via opentracker and via its address alone, plus
//! one cell where three different leechers download from it at once. Every
//! copy is compared byte for byte.
//!
//! Each cell has an opentracker of its own (the torrent is a copy announcing
//! to it, same info-hash), so no peer of an earlier cell is listed: rtorrent
//! keeps one address per IP, and a dead 127.0.0.1 entry would hide the
//! seeder from it.
//!
//! The seeder under test is `monsoon seed` or a libtorrent seeder standing
//! in for it: the same cells and checks either way, chosen by
//! `--upload-seeder` (default: `DEFAULT_UPLOAD_SEEDER` in `e2e/mod.rs`).
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use super::data;
use super::direct;
use super::leechers::{self, Leecher, Source};
use super::matrix::Matrix;
use super::procs::{self, Proc};
use super::scenarios::{Cells, DOWNLOAD_LIMIT, Item, Suite};
use super::seeders::{LtOptions, Seeder, Tracker};

/// How long the seeder under test may take to check its data and listen.
const READY: Duration = Duration::from_secs(120);

/// How long it may take to exit after SIGTERM, and to be gone from the
/// tracker (its `stopped` announce) after that.
const STOP: Duration = Duration::from_secs(30);

/// Which program is the seeder under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UploadSeeder {
    /// libtorrent (`lt_seed.py`), standing in for monsoon.
    Libtorrent,
    /// `monsoon seed`.
    Monsoon,
}

impl UploadSeeder {
    /// Its name on the command line and in tables.
    pub(crate) fn name(self) -> &'static str {
        match self {
            UploadSeeder::Libtorrent => "libtorrent",
            UploadSeeder::Monsoon => "monsoon",
        }
    }

    /// Reads `--upload-seeder`'s value.
    pub(crate) fn parse(text: Option<&str>) -> Result<UploadSeeder> {
        match text {
            Some("libtorrent") => Ok(UploadSeeder::Libtorrent),
            Some("monsoon") => Ok(UploadSeeder::Monsoon),
            other => bail!("--upload-seeder takes libtorrent or monsoon, not {other:?}"),
        }
    }
}

/// The command line the upload column runs monsoon's seeder with: verify
/// the data under `data_dir`, listen on `port`, say `listening on` once
/// checked, announce to the torrent's trackers unless `announce` is false
/// (`--no-trackers`: the leechers are given its address), serve until
/// SIGTERM, then announce `stopped` and exit 0. Its resume data goes under
/// `state` (`XDG_STATE_HOME`), not the user's.
pub(crate) fn monsoon_seed_cmd(
    bin: &Path,
    torrent: &Path,
    data_dir: &Path,
    port: u16,
    announce: bool,
    state: &Path,
) -> Command {
    let mut c = Command::new(bin);
    c.env("XDG_STATE_HOME", state);
    c.arg("seed")
        .arg(torrent)
        .arg("-d")
        .arg(data_dir)
        .args(["--port", &port.to_string()])
        // Hermetic: leechers find it through the tracker or by address.
        .args(["--no-dht", "--no-lsd"]);
    if !announce {
        c.arg("--no-trackers");
    }
    c
}

/// What the upload cells share.
pub(super) struct Env<'a> {
    pub(super) seeder: UploadSeeder,
    /// The monsoon binary, needed when `seeder` is monsoon.
    pub(super) monsoon: Option<&'a Path>,
    /// Only this leecher's cells (`--leecher`), not the three-at-once one.
    pub(super) only: Option<Leecher>,
}

/// A running seeder under test; dropping it kills it, [`SeederUnderTest::stop`]
/// stops it politely and checks how.
pub(super) struct SeederUnderTest {
    running: Running,
    addr: SocketAddr,
}

enum Running {
    Libtorrent(Seeder),
    Monsoon(Proc),
}

impl SeederUnderTest {
    /// Starts seeding `torrent` from `data_dir`; `announce` says whether to
    /// the torrent's tracker or nowhere. Returns once it accepts connections.
    pub(super) fn start(
        env: &Env<'_>,
        torrent: &Path,
        data_dir: &Path,
        announce: bool,
        work: &Path,
    ) -> Result<SeederUnderTest> {
        std::fs::create_dir_all(work)?;
        match env.seeder {
            UploadSeeder::Libtorrent => {
                let torrent = if announce {
                    torrent.to_path_buf()
                } else {
                    let copy = work.join("trackerless.torrent");
                    direct::retracked(torrent, &copy, None)?;
                    copy
                };
                let seeder = Seeder::libtorrent(&torrent, data_dir, work, LtOptions::default())?;
                Ok(SeederUnderTest {
                    addr: seeder.addr(),
                    running: Running::Libtorrent(seeder),
                })
            }
            UploadSeeder::Monsoon => {
                let bin = env
                    .monsoon
                    .context("the monsoon seeder needs the monsoon binary")?;
                let port = procs::free_port()?;
                let state = work.join("state");
                let mut cmd = monsoon_seed_cmd(bin, torrent, data_dir, port, announce, &state);
                let mut proc =
                    Proc::spawn("monsoon seed", &mut cmd, &work.join("monsoon-seed.log"))?;
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                // Ready once it has checked its data and says so; then the
                // port must answer too.
                let deadline = Instant::now() + READY;
                let said = |p: &Proc| {
                    std::fs::read_to_string(p.log()).is_ok_and(|t| t.contains("listening on"))
                };
                while !said(&proc)
                    || TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
                {
                    if let Some(status) = proc.try_status()? {
                        bail!(
                            "monsoon seed exited with {status} before listening on {addr}: {}",
                            procs::tail(proc.log())
                        );
                    }
                    ensure!(
                        Instant::now() < deadline,
                        "monsoon seed does not listen on {addr} after {READY:?}: {}",
                        procs::tail(proc.log())
                    );
                    thread::sleep(Duration::from_millis(100));
                }
                Ok(SeederUnderTest {
                    addr,
                    running: Running::Monsoon(proc),
                })
            }
        }
    }

    /// Its peer address.
    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Payload bytes it has uploaded, when it can say (libtorrent can).
    fn uploaded(&mut self) -> Option<Result<u64>> {
        match &mut self.running {
            Running::Libtorrent(seeder) => Some(seeder.uploaded()),
            Running::Monsoon(_) => None,
        }
    }

    /// Stops it: monsoon by SIGTERM, which must end in exit status 0 within
    /// [`STOP`]; libtorrent by closing its stdin.
    fn stop(self) -> Result<()> {
        match self.running {
            Running::Libtorrent(seeder) => drop(seeder),
            Running::Monsoon(mut proc) => {
                let status = proc.terminate(STOP)?;
                ensure!(
                    status.success(),
                    "monsoon seed exited with {status} after SIGTERM: {}",
                    procs::tail(proc.log())
                );
            }
        }
        Ok(())
    }
}

/// Every upload cell: each leecher × {via tracker, by address} × {single
/// file, folder}, then three leechers at once (single file, via tracker).
pub(super) fn run_all(suite: &Suite, env: &Env<'_>, cells: &mut Cells, m: &mut Matrix) {
    for item in &suite.items {
        for announce in [true, false] {
            let how = if announce {
                "via tracker"
            } else {
                "by address"
            };
            let row = format!("{} {how}", item.label);
            for leecher in Leecher::ALL {
                if env.only.is_some_and(|only| only != leecher) {
                    continue;
                }
                cells.run(m, &row, leecher.name(), &|dir| {
                    serve(env, item, announce, &[leecher], dir)
                });
            }
        }
    }
    if env.only.is_some() {
        return;
    }
    let single = &suite.items[0];
    let three = [Leecher::Libtorrent, Leecher::Aria2, Leecher::Transmission];
    cells.run(
        m,
        &format!("{} via tracker", single.label),
        "three at once",
        &|dir| serve(env, single, true, &three, dir),
    );
}

/// The seeder under test serves `item` to `leechers` at once; each copy is
/// compared. Via the cell's own tracker when `announce`, else each leecher
/// is given the seeder's address. Afterwards the seeder is stopped politely
/// (monsoon by SIGTERM, and it must exit 0) and, when it announced, must be
/// gone from the tracker's list: it announced `stopped`.
fn serve(
    env: &Env<'_>,
    item: &Item,
    announce: bool,
    leechers: &[Leecher],
    dir: &Path,
) -> Result<String> {
    let hash = &item.facts.info_hash;
    let tracker = Tracker::start(&dir.join("tracker"), procs::free_port()?, &[hash])?;
    let torrent = dir.join("cell.torrent");
    direct::retracked(&item.torrent, &torrent, Some(&tracker.announce_url()))?;
    let out = |l: Leecher| dir.join(format!("out-{}", l.name()));
    let start = |l: Leecher, source| l.start(&torrent, &out(l), source, &dir.join(l.name()));

    // Some leechers join the swarm first; the seeder finds them in the reply
    // to its first announce and dials them (`Leecher::joins_before_seeder`).
    let (first, then): (Vec<Leecher>, Vec<Leecher>) = leechers
        .iter()
        .partition(|l| announce && l.joins_before_seeder());
    let mut started = Vec::new();
    for &l in &first {
        let d = start(l, Source::Tracker)?;
        tracker.wait_listed(hash, d.addr(), true, READY)?;
        started.push((l, d));
    }
    let mut seeder =
        SeederUnderTest::start(env, &torrent, &item.data_dir, announce, &dir.join("seeder"))?;
    let addr = seeder.addr();
    let source = if announce {
        tracker.wait_listed(hash, addr, true, READY)?;
        Source::Tracker
    } else {
        Source::Peer(addr)
    };
    for &l in &then {
        started.push((l, start(l, source)?));
    }
    let (order, mut downloads): (Vec<Leecher>, Vec<_>) = started.into_iter().unzip();
    let results = leechers::wait_all(&mut downloads, DOWNLOAD_LIMIT);
    drop(downloads);
    let mut times = Vec::new();
    let mut errors = Vec::new();
    for (l, result) in order.into_iter().zip(results) {
        let checked = result.and_then(|took| {
            let copy = out(l).join(&item.facts.name);
            data::compare_with(&item.content(), &copy, !l.creates_empty_files())
                .with_context(|| format!("{}'s copy", l.name()))?;
            Ok(took)
        });
        match checked {
            Ok(took) => times.push(format!("{} {:.1}s", l.name(), took.as_secs_f64())),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    // Every piece came from the seeder under test at least once.
    let total = item.facts.total_length;
    if let Some(sent) = seeder.uploaded() {
        let sent = sent?;
        ensure!(
            sent >= total,
            "the seeder under test uploaded {sent} bytes, less than one copy ({total})"
        );
    }
    seeder.stop()?;
    if announce {
        tracker
            .wait_listed(hash, addr, false, STOP)
            .context("the seeder under test did not announce `stopped`")?;
    }
    Ok(times.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monsoon_seed_command_line() {
        let args = |announce| {
            let c = monsoon_seed_cmd(
                Path::new("/bin/monsoon"),
                Path::new("t.torrent"),
                Path::new("data"),
                6881,
                announce,
                Path::new("state"),
            );
            assert_eq!(c.get_program(), "/bin/monsoon");
            let envs: Vec<_> = c.get_envs().collect();
            assert_eq!(
                envs,
                [(
                    std::ffi::OsStr::new("XDG_STATE_HOME"),
                    Some(std::ffi::OsStr::new("state"))
                )]
            );
            c.get_args()
                .map(|a| a.to_str().unwrap().to_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            args(true),
            "seed t.torrent -d data --port 6881 --no-dht --no-lsd"
        );
        assert_eq!(
            args(false),
            "seed t.torrent -d data --port 6881 --no-dht --no-lsd --no-trackers"
        );
    }

    #[test]
    fn upload_seeder_names_round_trip() {
        for s in [UploadSeeder::Libtorrent, UploadSeeder::Monsoon] {
            assert_eq!(UploadSeeder::parse(Some(s.name())).unwrap(), s);
        }
        assert!(UploadSeeder::parse(Some("rqbit")).is_err());
        assert!(UploadSeeder::parse(None).is_err());
    }
}
