//! `cargo xtask bench [--runs N] [--size-mib N] [--profile]`: downloads one
//! large single-file torrent on loopback with monsoon, aria2c, libtorrent
//! (Python binding) and rqbit when it is on PATH, alternating, and prints
//! the median wall time, CPU time (user+sys, from wait4) and peak RSS of each,
//! with monsoon's ratios. Scenario 1: one libtorrent seeder. Scenario 2: four
//! seeders at once (libtorrent, aria2c, Transmission, libtorrent).
//!
//! transmission-cli (3.00) is left out: it stops its torrent right after
//! adding it here and never finishes.
//!
//! `--profile` instead runs each client once under `strace -f -c` (syscalls
//! per MiB) and once under `perf record` (CPU by thread, binary, function).
//!
//! `--encryption` measures what MSE/PE costs instead: monsoon as it is
//! (`prefer`: against libtorrent's defaults, an encrypted handshake and a
//! plaintext payload) and `monsoon-rc4` (`--encryption require`: RC4 on
//! every byte), alternating, from one libtorrent seeder.
//!
//! The libtorrent seeders run in seed mode with every piece trusted, so they
//! serve from the page cache without hashing; the data is read once before
//! the first run so it is in the page cache.
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use crate::cmd;
use crate::e2e::{self, Client, Kind, LtOptions, MIB, PYTHON, Proc, Seeder, TorrentFacts, Tracker};

/// A downloader the bench can drive.
#[derive(Debug, Clone)]
pub(crate) enum Bencher {
    /// monsoon or aria2c, as in the e2e tests.
    Known(Client),
    /// libtorrent through `xtask/scripts/lt_download.py`.
    Libtorrent,
    /// `rqbit download --exit-on-finish`.
    Rqbit,
    /// `monsoon download --encryption require` (RC4 both ways).
    MonsoonRc4(std::path::PathBuf),
    /// Another monsoon binary (`--base BIN`: the build to compare with).
    MonsoonBase(std::path::PathBuf),
}

impl Bencher {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Bencher::Known(c) => c.name(),
            Bencher::Libtorrent => "libtorrent",
            Bencher::Rqbit => "rqbit",
            Bencher::MonsoonRc4(_) => "monsoon-rc4",
            Bencher::MonsoonBase(_) => "monsoon-base",
        }
    }

    fn command(&self, torrent: &Path, out: &Path, port: u16) -> Result<Command> {
        match self {
            Bencher::Known(c) => c.download_cmd(torrent, out, port, &[]),
            Bencher::Libtorrent => {
                let mut c = Command::new(PYTHON);
                c.arg(e2e::script("lt_download.py"))
                    .arg("--torrent")
                    .arg(torrent)
                    .arg("--save-path")
                    .arg(out)
                    .args(["--port", &port.to_string()]);
                Ok(c)
            }
            Bencher::MonsoonBase(bin) => {
                Client::Monsoon(bin.clone()).download_cmd(torrent, out, port, &[])
            }
            Bencher::MonsoonRc4(bin) => {
                let mut c = Client::Monsoon(bin.clone()).download_cmd(torrent, out, port, &[])?;
                c.args(["--encryption", "require"]);
                Ok(c)
            }
            Bencher::Rqbit => {
                let mut c = Command::new("rqbit");
                c.args(["--disable-dht", "download", "--exit-on-finish", "-o"])
                    .arg(out)
                    .arg(torrent);
                Ok(c)
            }
        }
    }
}

/// One measured run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) wall: f64,
    pub(crate) cpu: f64,
    pub(crate) rss_kib: u64,
}

/// Options of `cargo xtask bench`.
struct Options {
    runs: usize,
    size_mib: u64,
    profile: bool,
    /// `--upload`: monsoon serving instead of downloading.
    upload: bool,
    /// `--limit`: the upload limit whose accuracy `--upload` checks.
    limit: u64,
    /// `--resume`: the daemon's restart with fast resume vs a full check.
    resume: bool,
    /// `--size-mib` was given.
    size_given: bool,
    /// `--encryption`: monsoon plaintext against monsoon with RC4.
    encryption: bool,
    /// `--base BIN`: measure this monsoon binary too, as `monsoon-base`.
    base: Option<std::path::PathBuf>,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut opts = Options {
        runs: 3,
        size_mib: 1024,
        profile: false,
        upload: false,
        resume: false,
        size_given: false,
        limit: 8 << 20,
        encryption: false,
        base: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || -> Result<u64> {
            Ok(it
                .next()
                .with_context(|| format!("{arg} needs a number"))?
                .parse()?)
        };
        match arg.as_str() {
            "--runs" => opts.runs = usize::try_from(value()?)?.max(1),
            "--size-mib" => {
                opts.size_mib = value()?.max(1);
                opts.size_given = true;
            }
            "--profile" => opts.profile = true,
            "--upload" => opts.upload = true,
            "--resume" => opts.resume = true,
            "--limit" => opts.limit = value()?.max(1),
            "--encryption" => opts.encryption = true,
            "--base" => {
                opts.base = Some(it.next().context("--base needs a monsoon binary")?.into())
            }
            other => bail!(
                "unknown bench option `{other}` (expected --runs N, --size-mib N, --profile, --upload, --limit BYTES_PER_S, --encryption, --resume, --base BIN)"
            ),
        }
    }
    Ok(opts)
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--swarm") {
        return crate::swarm::run(args);
    }
    if args.iter().any(|a| a == "--memory") {
        return memory(args);
    }
    let opts = parse(args)?;
    e2e::ensure_packages()?;
    if opts.resume {
        let bin = e2e::build_monsoon()?;
        let size = if opts.size_given {
            opts.size_mib
        } else {
            50 << 10
        };
        return crate::bench_resume::run(&bin, size);
    }
    if opts.upload {
        let bin = e2e::build_monsoon()?;
        return crate::bench_upload::run(&bin, opts.runs, opts.size_mib, opts.limit);
    }
    let mut clients = Vec::new();
    let monsoon = match e2e::build_monsoon() {
        Ok(bin) => {
            clients.push(Bencher::Known(Client::Monsoon(bin.clone())));
            Some(bin)
        }
        Err(e) => {
            println!("bench: WITHOUT monsoon: {e:#}");
            None
        }
    };
    if opts.encryption {
        let bin = monsoon.clone().context("--encryption needs monsoon")?;
        clients.push(Bencher::MonsoonRc4(bin));
    } else {
        if let Some(base) = &opts.base {
            clients.push(Bencher::MonsoonBase(base.clone()));
        }
        clients.push(Bencher::Known(Client::Aria2));
        clients.push(Bencher::Libtorrent);
        if cmd::have("rqbit") {
            clients.push(Bencher::Rqbit);
        } else {
            println!("bench: without rqbit (`cargo xtask setup --bench` installs it)");
        }
    }

    let work = e2e::fresh_dir("bench")?;
    let data = work.join("data");
    let file = data.join("bench.bin");
    println!("bench: writing {} MiB to {}", opts.size_mib, file.display());
    e2e::write_file(&file, opts.size_mib * MIB, 7)?;
    let port = e2e::free_port()?;
    let url = format!("http://127.0.0.1:{port}/announce");
    let torrent = work.join("bench.torrent");
    e2e::create_torrent(monsoon.as_deref(), &file, &url, MIB, &torrent)
        .or_else(|_| e2e::create_torrent(None, &file, &url, MIB, &torrent))?;
    let facts = TorrentFacts::read(&torrent)?;
    let tracker = Tracker::start(&work.join("tracker"), port, &[&facts.info_hash])?;
    // Into the page cache.
    std::io::copy(&mut fs::File::open(&file)?, &mut std::io::sink())?;

    let mut report = String::new();
    let trust = LtOptions {
        seed_mode: true,
        trust: true,
        ..LtOptions::default()
    };
    {
        let seeder = Seeder::libtorrent(&torrent, &data, &work.join("seed-lt"), trust.clone())?;
        tracker.wait_seeders(&facts.info_hash, 1)?;
        if opts.profile {
            for client in &clients {
                let text = profile(&work, &torrent, client, opts.size_mib)?;
                println!("\n== {} ==\n{text}", client.name());
            }
            println!(
                "command: cargo xtask bench --profile --size-mib {}",
                opts.size_mib
            );
            return Ok(());
        }
        let table = scenario(
            &work, &torrent, &facts, &file, &clients, opts.runs, "1-seeder",
        )?;
        drop(seeder);
        let _ = writeln!(
            report,
            "\none libtorrent seeder, {} MiB, {} runs each:\n{table}",
            opts.size_mib, opts.runs
        );
    }
    if opts.encryption {
        println!("{report}");
        println!(
            "command: cargo xtask bench --encryption --runs {} --size-mib {}",
            opts.runs, opts.size_mib
        );
        return Ok(());
    }
    {
        let before = tracker.seeders(&facts.info_hash)?;
        let seeders = [
            Seeder::libtorrent(&torrent, &data, &work.join("seed4-lt1"), trust.clone())?,
            Seeder::start(Kind::Aria2, &torrent, &data, &work.join("seed4-aria2"))?,
            Seeder::start(Kind::Transmission, &torrent, &data, &work.join("seed4-tr"))?,
            Seeder::libtorrent(&torrent, &data, &work.join("seed4-lt2"), trust)?,
        ];
        tracker.wait_seeders(&facts.info_hash, before + 4)?;
        let table = scenario(
            &work,
            &torrent,
            &facts,
            &file,
            &clients,
            opts.runs,
            "4-seeders",
        )?;
        drop(seeders);
        let _ = writeln!(
            report,
            "\nfour seeders (libtorrent, aria2c, Transmission, libtorrent), {} MiB, {} runs each:\n{table}",
            opts.size_mib, opts.runs
        );
    }
    println!("{report}");
    println!(
        "command: cargo xtask bench --runs {} --size-mib {}",
        opts.runs, opts.size_mib
    );
    Ok(())
}

/// `bench --memory [--quick] [--dir DIR]` (see `bench_memory.rs`).
fn memory(args: &[String]) -> Result<()> {
    let mut opts = crate::bench_memory::Options {
        quick: false,
        dir: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--memory" => {}
            "--quick" => opts.quick = true,
            "--dir" => opts.dir = Some(it.next().context("--dir needs a folder")?.into()),
            other => bail!("unknown bench --memory option `{other}` (expected --quick, --dir DIR)"),
        }
    }
    e2e::ensure_packages()?;
    let bin = e2e::build_monsoon()?;
    crate::bench_memory::run(&bin, &opts)
}

/// Runs every client `runs` times, alternating, and returns the table.
fn scenario(
    work: &Path,
    torrent: &Path,
    facts: &TorrentFacts,
    expected: &Path,
    clients: &[Bencher],
    runs: usize,
    tag: &str,
) -> Result<String> {
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); clients.len()];
    for run in 0..runs {
        // Rotate who goes first: on this VM, a run that follows the release
        // of a lot of memory pays to fault fresh pages back in (seen as 0.5 to
        // 2.5 s of system time for 1 GiB of page cache), so no client should
        // always sit in the same place in the order.
        for k in 0..clients.len() {
            let i = (k + run) % clients.len();
            let client = &clients[i];
            let dir = work.join(format!("{tag}-{}-{run}", client.name()));
            let sample = retry_once(tag, client.name(), run, &dir, || {
                measure(client, torrent, &dir)
            })?;
            e2e::compare(expected, &dir.join("out").join(&facts.name))
                .with_context(|| format!("{} downloaded wrong bytes", client.name()))?;
            fs::remove_dir_all(&dir)?;
            println!(
                "bench {tag}: {} run {}: {:.2} s wall, {:.2} s cpu, {} MiB peak RSS",
                client.name(),
                run + 1,
                sample.wall,
                sample.cpu,
                sample.rss_kib / 1024
            );
            samples[i].push(sample);
        }
    }
    Ok(table(clients, &samples, tag))
}

/// One download under `measure.py`; `sync` first so earlier writeback does
/// not land in this run.
pub(crate) fn measure(client: &Bencher, torrent: &Path, dir: &Path) -> Result<Sample> {
    fs::create_dir_all(dir)?;
    e2e::check_output(&mut Command::new("sync"), Duration::from_secs(120))?;
    let result = dir.join("measure.txt");
    let inner = client.command(torrent, &dir.join("out"), e2e::free_port()?)?;
    let mut cmd = Command::new(PYTHON);
    cmd.arg(e2e::script("measure.py"))
        .arg(&result)
        .arg(inner.get_program())
        .args(inner.get_args())
        .current_dir(dir);
    let mut proc = Proc::spawn(client.name(), &mut cmd, &dir.join("client.log"))?;
    let status = proc.wait(Duration::from_secs(600))?;
    let text = fs::read_to_string(&result).unwrap_or_default();
    ensure!(
        status.success(),
        "{} failed ({status}): {}",
        client.name(),
        fs::read_to_string(proc.log()).unwrap_or_default()
    );
    parse_measure(&text)
}

/// What `measure.py` wrote: exit status, wall, user and system CPU (s),
/// peak RSS (KiB).
pub(crate) fn parse_measure(text: &str) -> Result<Sample> {
    let f: Vec<&str> = text.split_whitespace().collect();
    ensure!(f.len() == 5, "bad measure.py output: {text:?}");
    Ok(Sample {
        wall: f[1].parse()?,
        cpu: f[2].parse::<f64>()? + f[3].parse::<f64>()?,
        rss_kib: f[4].parse()?,
    })
}

/// One download under `strace -f -c` (syscalls per MiB) and one under
/// `perf record` (where the CPU time goes).
fn profile(work: &Path, torrent: &Path, client: &Bencher, size_mib: u64) -> Result<String> {
    let mut report = String::new();
    let dir = work.join(format!("profile-strace-{}", client.name()));
    fs::create_dir_all(&dir)?;
    let inner = client.command(torrent, &dir.join("out"), e2e::free_port()?)?;
    let stats = dir.join("strace.txt");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-c", "-o"])
        .arg(&stats)
        .arg("--")
        .arg(inner.get_program())
        .args(inner.get_args());
    let status =
        Proc::spawn("strace", &mut cmd, &dir.join("client.log"))?.wait(Duration::from_secs(900))?;
    ensure!(
        status.success(),
        "{} under strace failed: {status}",
        client.name()
    );
    let text = fs::read_to_string(&stats)?;
    let mut rows: Vec<(u64, &str)> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.get(3)?.parse().ok()?, *f.last()?))
        })
        .collect();
    rows.sort_unstable_by(|a, b| b.cmp(a));
    let _ = writeln!(report, "\nsyscalls per MiB downloaded (strace -f -c):");
    for (calls, name) in rows.iter().take(9) {
        let _ = writeln!(
            report,
            "  {name:<16} {:>10.1}",
            *calls as f64 / size_mib as f64
        );
    }

    let dir = work.join(format!("profile-perf-{}", client.name()));
    fs::create_dir_all(&dir)?;
    let inner = client.command(torrent, &dir.join("out"), e2e::free_port()?)?;
    let data = dir.join("perf.data");
    let mut cmd = Command::new("perf");
    cmd.args(["record", "-e", "cpu-clock", "-F", "1999", "-g", "-o"])
        .arg(&data)
        .arg("--")
        .arg(inner.get_program())
        .args(inner.get_args());
    let status = Proc::spawn("perf record", &mut cmd, &dir.join("client.log"))?
        .wait(Duration::from_secs(900))?;
    ensure!(
        status.success(),
        "{} under perf failed: {status}",
        client.name()
    );
    for (title, sort) in [
        ("by thread", "comm"),
        ("by binary", "dso"),
        ("by function", "dso,symbol"),
    ] {
        let text = e2e::check_output(
            Command::new("perf")
                .args([
                    "report",
                    "--stdio",
                    "--no-children",
                    "-g",
                    "none",
                    "--percent-limit",
                    "0.7",
                    "--sort",
                    sort,
                    "-i",
                ])
                .arg(&data),
            Duration::from_secs(300),
        )?;
        let _ = writeln!(report, "\nCPU samples {title} (perf record -e cpu-clock):");
        for line in text.lines().filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        }) {
            let line = line.trim().trim_end_matches(['-', ' ']);
            let _ = writeln!(report, "  {line}");
        }
    }
    Ok(report)
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A benchmark, not a test: a failed run (`attempt`, writing into `dir`) is
/// said and tried once more in an emptied `dir`.
pub(crate) fn retry_once<T>(
    tag: &str,
    client: &str,
    run: usize,
    dir: &Path,
    mut attempt: impl FnMut() -> Result<T>,
) -> Result<T> {
    match attempt() {
        Ok(s) => Ok(s),
        Err(e) => {
            println!(
                "bench {tag}: {client} run {} failed, once more: {e:#}",
                run + 1
            );
            fs::remove_dir_all(dir)?;
            attempt()
        }
    }
}

/// Medians per client, then monsoon's ratio to each other client.
fn table(clients: &[Bencher], samples: &[Vec<Sample>], tag: &str) -> String {
    let meds: Vec<(f64, f64, f64)> = samples
        .iter()
        .map(|s| {
            (
                median(s.iter().map(|x| x.wall).collect()),
                median(s.iter().map(|x| x.cpu).collect()),
                median(s.iter().map(|x| x.rss_kib as f64 / 1024.0).collect()),
            )
        })
        .collect();
    let mut out = String::from(
        "| client | median wall (s) | median CPU user+sys (s) | median peak RSS (MiB) |\n|---|---|---|---|",
    );
    for (c, (w, cpu, rss)) in clients.iter().zip(&meds) {
        let _ = write!(out, "\n| {} | {w:.2} | {cpu:.2} | {rss:.1} |", c.name());
    }
    if let Some(m) = clients.iter().position(|c| c.name() == "monsoon") {
        let (mw, mc, mr) = meds[m];
        for (c, (w, cpu, rss)) in clients.iter().zip(&meds) {
            if c.name() != "monsoon" {
                let _ = write!(
                    out,
                    "\nmonsoon / {}: wall {:.2}x, CPU {:.2}x, RSS {:.2}x",
                    c.name(),
                    mw / w,
                    mc / cpu,
                    mr / rss
                );
            }
        }
        let _ = write!(out, "\n{}", targets(clients, &meds, tag));
    }
    out
}

/// The targets for monsoon, as same-run ratios: one libtorrent
/// seeder: wall <= 0.5x rqbit's, CPU <= aria2c's, peak RSS <= rqbit's +
/// 8 MiB; the four mixed seeders: wall <= 0.6x rqbit's and below
/// libtorrent's, CPU <= aria2c's. A client that did not run is said.
fn targets(clients: &[Bencher], meds: &[(f64, f64, f64)], tag: &str) -> String {
    let find = |name: &str| {
        clients
            .iter()
            .position(|c| c.name() == name)
            .map(|i| meds[i])
    };
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let Some((mw, mc, mr)) = find("monsoon") else {
        return String::new();
    };
    let mut parts = Vec::new();
    let wall_share = if tag == "1-seeder" { 0.5 } else { 0.6 };
    match find("rqbit") {
        Some((rw, _, rr)) => {
            parts.push(format!(
                "wall <= {wall_share}x rqbit: {} ({:.2}x)",
                verdict(mw <= wall_share * rw),
                mw / rw
            ));
            if tag == "1-seeder" {
                parts.push(format!(
                    "peak RSS <= rqbit + 8 MiB: {} ({mr:.1} vs {:.1} MiB)",
                    verdict(mr <= rr + 8.0),
                    rr + 8.0
                ));
            }
        }
        None => parts.push("rqbit targets: rqbit not installed".to_owned()),
    }
    if tag != "1-seeder" {
        if let Some((lw, _, _)) = find("libtorrent") {
            parts.push(format!(
                "wall < libtorrent: {} ({:.2}x)",
                verdict(mw < lw),
                mw / lw
            ));
        }
    }
    if let Some((_, ac, _)) = find("aria2c") {
        parts.push(format!(
            "CPU <= aria2c: {} ({:.2}x)",
            verdict(mc <= ac),
            mc / ac
        ));
    }
    format!("targets: {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measure_py_output_is_wall_cpu_and_peak_rss() {
        let s = parse_measure("0 2.500 1.250 0.250 40960\n").unwrap();
        assert_eq!((s.wall, s.cpu, s.rss_kib), (2.5, 1.5, 40960));
        assert!(parse_measure("0 2.5 1.25 0.25").is_err(), "a field short");
        assert!(parse_measure("").is_err());
    }

    fn sample(wall: f64, cpu: f64, rss_mib: u64) -> Sample {
        Sample {
            wall,
            cpu,
            rss_kib: rss_mib * 1024,
        }
    }

    #[test]
    fn medians_ratios_and_targets() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        let clients = [
            Bencher::Known(Client::Monsoon("monsoon".into())),
            Bencher::Known(Client::Aria2),
            Bencher::Rqbit,
            Bencher::Libtorrent,
        ];
        let samples = [
            vec![
                sample(2.0, 1.0, 40),
                sample(9.0, 1.0, 40),
                sample(3.0, 1.0, 40),
            ],
            vec![
                sample(8.0, 2.0, 20),
                sample(7.0, 2.0, 20),
                sample(6.0, 2.0, 20),
            ],
            vec![sample(6.0, 3.0, 30)],
            vec![sample(2.5, 3.0, 900)],
        ];
        let t = table(&clients, &samples, "1-seeder");
        assert!(t.contains("| monsoon | 3.00 | 1.00 | 40.0 |"), "{t}");
        assert!(t.contains("| aria2c | 7.00 | 2.00 | 20.0 |"), "{t}");
        assert!(
            t.contains("monsoon / aria2c: wall 0.43x, CPU 0.50x, RSS 2.00x"),
            "{t}"
        );
        assert!(t.contains("wall <= 0.5x rqbit: met (0.50x)"), "{t}");
        assert!(
            t.contains("peak RSS <= rqbit + 8 MiB: NOT met (40.0 vs 38.0 MiB)"),
            "{t}"
        );
        assert!(t.contains("CPU <= aria2c: met (0.50x)"), "{t}");
        assert!(!t.contains("wall < libtorrent"), "{t}");
        let t = table(&clients, &samples, "4-seeders");
        assert!(t.contains("wall <= 0.6x rqbit: met (0.50x)"), "{t}");
        assert!(t.contains("wall < libtorrent: NOT met (1.20x)"), "{t}");
        assert!(!t.contains("peak RSS <="), "{t}");
        let without = table(&clients[..2], &samples[..2], "1-seeder");
        assert!(without.contains("rqbit not installed"), "{without}");
    }
}
