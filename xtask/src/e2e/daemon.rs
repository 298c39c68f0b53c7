//! `monsoon daemon` driven by clients nobody here wrote, each downloading
//! from a libtorrent seeder through opentracker: Debian's
//! `transmission-remote` (add, `-l` percents checked against the daemon's
//! own figure while it downloads, `-S`/`-s`, `-si`, `-r`) and PyPI's
//! `transmission-rpc` (`xtask/scripts/trpc_check.py`, behind a password).
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use super::data;
use super::procs::{self, Proc};
use super::seeders::{LtOptions, Seeder, TorrentFacts};

/// How long the daemon may take to stop after SIGTERM.
const STOP_LIMIT: Duration = Duration::from_secs(5);

/// A running `monsoon daemon`.
pub(super) struct DaemonProc {
    proc: Proc,
    pub(super) http: u16,
    bin: PathBuf,
}

impl DaemonProc {
    pub(super) fn start(bin: &Path, dir: &Path, password: Option<&str>) -> Result<DaemonProc> {
        let http = procs::free_port()?;
        let port = procs::free_port()?;
        let mut cmd = Command::new(bin);
        cmd.arg("daemon")
            .args(["--http", &format!("127.0.0.1:{http}")])
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--download-dir")
            .arg(dir.join("downloads"))
            .args(["--port", &port.to_string(), "--no-dht", "--no-lsd"]);
        if let Some(p) = password {
            std::fs::write(dir.join("password"), format!("{p}\n"))?;
            cmd.arg("--password-file").arg(dir.join("password"));
        }
        let proc = Proc::spawn("monsoon daemon", &mut cmd, &dir.join("daemon.log"))?;
        procs::wait_listening("monsoon daemon", http, Duration::from_secs(30))?;
        Ok(DaemonProc {
            proc,
            http,
            bin: bin.to_owned(),
        })
    }

    /// `transmission-remote 127.0.0.1:PORT ARGS`, which must succeed.
    fn remote(&self, args: &[&str]) -> Result<String> {
        procs::check_output(
            Command::new("transmission-remote")
                .arg(format!("127.0.0.1:{}", self.http))
                .args(args),
            Duration::from_secs(30),
        )
    }

    /// The daemon's own progress of torrent `id`, 0..=1 (`monsoon list --json`).
    fn progress(&self, id: u64) -> Result<f64> {
        let text = procs::check_output(
            Command::new(&self.bin)
                .args(["list", "--json", "--remote"])
                .arg(format!("http://127.0.0.1:{}", self.http)),
            Duration::from_secs(30),
        )?;
        let key = format!("\"id\": {id},");
        let at = text
            .find(&key)
            .context("torrent not in `monsoon list --json`")?;
        let rest = &text[at..];
        let p = rest.find("\"progress\": ").context("no progress field")?;
        let num: String = rest[p + 12..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '-')
            .collect();
        Ok(num.parse()?)
    }

    /// SIGTERM; fails unless it exits cleanly within [`STOP_LIMIT`].
    pub(super) fn stop(mut self) -> Result<Duration> {
        let started = Instant::now();
        procs::check_output(
            Command::new("kill").args(["-TERM", &self.proc.pid().to_string()]),
            Duration::from_secs(10),
        )?;
        let status = self.proc.wait(STOP_LIMIT)?;
        ensure!(status.success(), "monsoon daemon exited with {status}");
        Ok(started.elapsed())
    }
}

/// The `-l` row of torrent `id`: (percent done, the whole row).
fn row(list: &str, id: u64) -> Option<(Option<f64>, String)> {
    list.lines().skip(1).find_map(|line| {
        let mut it = line.split_whitespace();
        let first = it.next()?;
        if first.trim_end_matches('*') != id.to_string() {
            return None;
        }
        let pct = it.next()?.strip_suffix('%').and_then(|p| p.parse().ok());
        Some((pct, line.to_owned()))
    })
}

/// transmission-remote against the daemon, downloading `torrent` (its data
/// in `data_dir`) from a libtorrent seeder.
pub(super) fn transmission_remote(
    bin: &Path,
    torrent: &Path,
    data_dir: &Path,
    facts: &TorrentFacts,
    dir: &Path,
) -> Result<String> {
    let _seeder = Seeder::libtorrent(torrent, data_dir, &dir.join("seeder"), LtOptions::default())?;
    let d = DaemonProc::start(bin, dir, None)?;
    // About 8 s for the whole torrent: time to watch it move.
    let kb = (facts.total_length / 8 / 1000).max(1);
    d.remote(&["-d", &kb.to_string()])?;
    let added = d.remote(&["-a", torrent.to_str().context("path")?])?;
    ensure!(added.contains("success"), "-a: {added}");
    let mut seen = Vec::new();
    let mut stopped_once = false;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let before = d.progress(1)? * 100.0;
        let list = d.remote(&["-l"])?;
        let after = d.progress(1)? * 100.0;
        let (pct, line) = row(&list, 1).with_context(|| format!("no row for id 1 in:\n{list}"))?;
        let pct = pct.unwrap_or(0.0);
        // transmission-remote rounds; the daemon moved on meanwhile.
        ensure!(
            pct >= before.floor() - 1.0 && pct <= after.ceil() + 1.0,
            "-l says {pct}% while the daemon said {before:.2}% then {after:.2}%: {line}"
        );
        seen.push(pct);
        if pct >= 100.0 {
            ensure!(
                line.contains("Seeding") || line.contains("Idle"),
                "done but: {line}"
            );
            break;
        }
        if !stopped_once && seen.iter().filter(|p| **p > 0.0).count() >= 3 {
            // Stop, check it says so, start again, lift the limit.
            stopped_once = true;
            d.remote(&["-t", "1", "-S"])?;
            let (_, stopped) = row(&d.remote(&["-l"])?, 1).context("row")?;
            ensure!(stopped.contains("Stopped"), "after -S: {stopped}");
            d.remote(&["-t", "1", "-s"])?;
            d.remote(&["-D"])?;
        }
        ensure!(Instant::now() < deadline, "not done in time; saw {seen:?}");
        thread::sleep(Duration::from_millis(300));
    }
    ensure!(
        seen.iter().any(|p| *p > 0.0 && *p < 100.0),
        "never saw a percent between 0 and 100: {seen:?}"
    );
    ensure!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "percent went back: {seen:?}"
    );
    data::compare(
        &data_dir.join(&facts.name),
        &dir.join("downloads").join(&facts.name),
    )?;
    let info = d.remote(&["-si"])?;
    ensure!(info.contains("monsoon"), "-si: {info}");
    let stats = d.remote(&["-st"])?;
    ensure!(stats.contains("Started"), "-st: {stats}");
    let removed = d.remote(&["-t", "1", "-r"])?;
    ensure!(removed.contains("success"), "-r: {removed}");
    let list = d.remote(&["-l"])?;
    ensure!(row(&list, 1).is_none(), "still listed after -r:\n{list}");
    ensure!(
        dir.join("downloads").join(&facts.name).exists(),
        "-r (not --remove-and-delete) deleted the data"
    );
    let took = d.stop()?;
    let mut shown: Vec<u32> = seen.iter().map(|p| *p as u32).collect();
    shown.dedup();
    Ok(format!(
        "-l percents {shown:?}, stopped in {:.1}s",
        took.as_secs_f64()
    ))
}

/// PyPI's transmission-rpc against the daemon (with a password):
/// `xtask/scripts/trpc_check.py` adds the multi-file `torrent`, skips
/// `skip`, downloads the rest from a libtorrent seeder, stops, removes with
/// the data.
pub(super) fn transmission_rpc(
    bin: &Path,
    torrent: &Path,
    data_dir: &Path,
    skip: &str,
    dir: &Path,
) -> Result<String> {
    let python = crate::setup::python_venv()?;
    let _seeder = Seeder::libtorrent(torrent, data_dir, &dir.join("seeder"), LtOptions::default())?;
    let password = "e2e-secret";
    let d = DaemonProc::start(bin, dir, Some(password))?;
    let out = procs::output(
        Command::new(&python)
            .arg(super::script("trpc_check.py"))
            .args(["--port", &d.http.to_string(), "--password", password])
            .arg("--torrent")
            .arg(torrent)
            .arg("--source")
            .arg(data_dir)
            .args(["--skip", skip]),
        Duration::from_secs(300),
    )?;
    std::fs::write(dir.join("trpc_check.log"), &out.1)?;
    if !out.0.success() {
        bail!("trpc_check.py failed:\n{}", procs::last_lines(&out.1, 15));
    }
    let line = out
        .1
        .lines()
        .find(|l| l.starts_with("ok"))
        .context("trpc_check.py printed no `ok` line")?
        .to_owned();
    let took = d.stop()?;
    Ok(format!("{line}; stopped in {:.1}s", took.as_secs_f64()))
}
