//! `cargo xtask bench --upload`: one large torrent served on loopback to a
//! libtorrent leecher by monsoon (`monsoon seed`), by libtorrent, and by
//! rqbit when it is on PATH, one seeder at a time, order rotated between
//! runs. For each: the leecher's wall time, and the seeder's CPU time
//! (user + sys, from /proc, counted from the moment it announces as a seed,
//! so its own check of the data is left out) and peak RSS. Then the rate
//! limit's accuracy: `monsoon seed --max-upload-rate R` serving for 20 s.
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use crate::cmd;
use crate::e2e::{self, LtOptions, MIB, PYTHON, Proc, Seeder, TorrentFacts, Tracker};

/// The seeders compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Monsoon,
    Libtorrent,
    Rqbit,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Monsoon => "monsoon",
            Server::Libtorrent => "libtorrent",
            Server::Rqbit => "rqbit",
        }
    }
}

/// A seeder under test, running.
enum Running {
    Proc(Proc),
    Lt(Seeder),
}

impl Running {
    /// Stops it the way a user would (SIGTERM, so it says `stopped` to
    /// the tracker), then makes sure it is gone.
    fn stop(self) {
        if let Running::Proc(mut p) = self {
            let _ = Command::new("kill")
                .args(["-TERM", &p.pid().to_string()])
                .status();
            let _ = p.wait(Duration::from_secs(15));
        }
    }

    fn pid(&self) -> u32 {
        match self {
            Running::Proc(p) => p.pid(),
            Running::Lt(s) => s.pid(),
        }
    }
}

/// CPU seconds (user + sys) and peak RSS (KiB) of a process, from /proc.
fn usage(pid: u32) -> Result<(f64, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').context("odd /proc stat")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = 100.0; // USER_HZ on Linux
    let cpu = (f[11].parse::<f64>()? + f[12].parse::<f64>()?) / ticks;
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .context("no VmHWM")?
        .parse()?;
    Ok((cpu, hwm))
}

/// Options: runs, size, and the limit to check.
pub(crate) fn run(monsoon: &Path, runs: usize, size_mib: u64, limit: u64) -> Result<()> {
    let mut servers = vec![Server::Monsoon, Server::Libtorrent];
    if cmd::have("rqbit") {
        servers.push(Server::Rqbit);
    } else {
        println!("bench --upload: rqbit is not on PATH (cargo xtask setup --bench installs it)");
    }
    let work = e2e::fresh_dir("bench-upload")?;
    let data = work.join("data");
    let file = data.join("upload.bin");
    println!(
        "bench --upload: writing {size_mib} MiB to {}",
        file.display()
    );
    e2e::write_file(&file, size_mib * MIB, 11)?;
    let port = e2e::free_port()?;
    let url = format!("http://127.0.0.1:{port}/announce");
    let torrent = work.join("upload.torrent");
    e2e::create_torrent(Some(monsoon), &file, &url, MIB, &torrent)?;
    let facts = TorrentFacts::read(&torrent)?;
    let _tracker = Tracker::start(&work.join("tracker"), port, &[&facts.info_hash])?;
    std::io::copy(&mut fs::File::open(&file)?, &mut std::io::sink())?;

    let mut samples: Vec<Vec<(f64, f64, u64)>> = vec![Vec::new(); servers.len()];
    for run in 0..runs {
        for k in 0..servers.len() {
            let i = (k + run) % servers.len();
            let s = servers[i];
            let dir = work.join(format!("{}-{run}", s.name()));
            fs::create_dir_all(&dir)?;
            let seeder = start(s, monsoon, &torrent, &data, &dir)?;
            let (cpu0, _) = usage(seeder.pid())?;
            let leech = leecher(&torrent, &dir.join("out"), None)?;
            let wall = leech.0;
            let (cpu1, hwm) = usage(seeder.pid())?;
            seeder.stop();
            e2e::compare(&file, &dir.join("out").join(&facts.name))
                .with_context(|| format!("the leecher got wrong bytes from {}", s.name()))?;
            fs::remove_dir_all(&dir)?;
            println!(
                "bench upload: {} run {}: leecher {wall:.2} s, seeder {:.2} s cpu, {} MiB peak RSS",
                s.name(),
                run + 1,
                cpu1 - cpu0,
                hwm / 1024
            );
            samples[i].push((wall, cpu1 - cpu0, hwm));
        }
    }
    let mut report = format!(
        "\n{size_mib} MiB served to one libtorrent leecher, {runs} runs each (medians):\n\
         | seeder | leecher wall (s) | seeder CPU user+sys (s) | seeder peak RSS (MiB) |\n|---|---|---|---|"
    );
    let meds: Vec<(f64, f64, f64)> = samples
        .iter()
        .map(|v| {
            (
                median(v.iter().map(|x| x.0).collect()),
                median(v.iter().map(|x| x.1).collect()),
                median(v.iter().map(|x| x.2 as f64 / 1024.0).collect()),
            )
        })
        .collect();
    for (s, (w, c, r)) in servers.iter().zip(&meds) {
        let _ = write!(report, "\n| {} | {w:.2} | {c:.2} | {r:.1} |", s.name());
    }
    let (mw, mc, mr) = meds[0];
    for (s, (w, c, _)) in servers.iter().zip(&meds).skip(1) {
        let _ = write!(
            report,
            "\nmonsoon / {}: leecher wall {:.2}x, seeder CPU {:.2}x",
            s.name(),
            mw / w,
            mc / c
        );
    }
    let lt = servers.iter().position(|s| *s == Server::Libtorrent);
    let fastest = meds.iter().all(|m| mw <= m.0);
    let _ = write!(
        report,
        "\ntargets: monsoon's leecher finishes first: {}; CPU <= libtorrent's: {}; RSS <= 48 MiB: {} ({mr:.1} MiB)",
        verdict(fastest),
        verdict(lt.is_some_and(|l| mc <= meds[l].1)),
        verdict(mr <= 48.0)
    );

    // The rate limit's accuracy.
    let dir = work.join("limit");
    fs::create_dir_all(&dir)?;
    let mut seeder = Command::new(monsoon);
    seeder
        .env("XDG_STATE_HOME", dir.join("state"))
        .arg("seed")
        .arg(&torrent)
        .arg("-d")
        .arg(&data)
        .args([
            "--port",
            &e2e::free_port()?.to_string(),
            "--no-dht",
            "--no-lsd",
        ])
        .args(["--max-upload-rate", &limit.to_string()]);
    let mut seeder = Proc::spawn("monsoon seed (limited)", &mut seeder, &dir.join("seed.log"))?;
    wait_log(&mut seeder, "listening on")?;
    let (_, got) = leecher(&torrent, &dir.join("out"), Some(20))?;
    Running::Proc(seeder).stop();
    let (bytes, secs) = got.context("no rate measured")?;
    let rate = bytes as f64 / secs;
    let err = (rate - limit as f64) / limit as f64 * 100.0;
    let _ = write!(
        report,
        "\n\nupload limit {} B/s: the leecher got {:.0} B/s over {secs:.1} s ({err:+.1}%; target within 5%: {})",
        limit,
        rate,
        verdict(err.abs() <= 5.0)
    );
    println!("{report}");
    println!(
        "command: cargo xtask bench --upload --runs {runs} --size-mib {size_mib} --limit {limit}"
    );
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn start(s: Server, monsoon: &Path, torrent: &Path, data: &Path, dir: &Path) -> Result<Running> {
    let log = dir.join("seeder.log");
    Ok(match s {
        Server::Monsoon => {
            let mut c = Command::new(monsoon);
            c.env("XDG_STATE_HOME", dir.join("state"));
            c.arg("seed").arg(torrent).arg("-d").arg(data).args([
                "--port",
                &e2e::free_port()?.to_string(),
                "--no-dht",
                "--no-lsd",
            ]);
            let mut p = Proc::spawn("monsoon seed", &mut c, &log)?;
            wait_log(&mut p, "listening on")?;
            Running::Proc(p)
        }
        Server::Libtorrent => Running::Lt(Seeder::libtorrent(
            torrent,
            data,
            dir,
            LtOptions::default(),
        )?),
        Server::Rqbit => {
            let mut c = Command::new("rqbit");
            // --overwrite: serve the file that is there (rqbit 9 refuses
            // existing files without it).
            c.args(["--disable-dht", "download", "--overwrite", "-o"])
                .arg(data)
                .arg(torrent);
            let p = Proc::spawn("rqbit seeder", &mut c, &log)?;
            // rqbit checks the file, then serves; it says little, so wait for
            // the check to end (it reads the whole file once).
            std::thread::sleep(Duration::from_secs(10));
            Running::Proc(p)
        }
    })
}

/// Waits (bounded) until the process's log says `what`: a seeder is
/// ready once its data is checked.
fn wait_log(p: &mut Proc, what: &str) -> Result<()> {
    for _ in 0..1200 {
        if fs::read_to_string(p.log())
            .unwrap_or_default()
            .contains(what)
        {
            // The tracker hears of it right after.
            std::thread::sleep(Duration::from_millis(500));
            return Ok(());
        }
        if p.exited() {
            bail!(
                "{} exited: {}",
                p.log().display(),
                fs::read_to_string(p.log()).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("not ready after 120 s: {}", p.log().display())
}

/// Runs the libtorrent leecher: its wall time, and with `for_seconds` the
/// (bytes, seconds) it measured.
fn leecher(
    torrent: &Path,
    out: &Path,
    for_seconds: Option<u64>,
) -> Result<(f64, Option<(u64, f64)>)> {
    fs::create_dir_all(out)?;
    let mut c = Command::new(PYTHON);
    c.arg(e2e::script("lt_download.py"))
        .arg("--torrent")
        .arg(torrent)
        .arg("--save-path")
        .arg(out)
        .args(["--port", &e2e::free_port()?.to_string()]);
    if let Some(s) = for_seconds {
        c.args(["--for-seconds", &s.to_string()]);
    }
    let start = std::time::Instant::now();
    let (status, text) = e2e::output(&mut c, Duration::from_secs(900))?;
    let wall = start.elapsed().as_secs_f64();
    ensure!(status.success(), "the leecher failed: {text}");
    let got = text.lines().find_map(|l| {
        let mut f = l.strip_prefix("downloaded ")?.split_whitespace();
        Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
    });
    Ok((wall, got))
}
