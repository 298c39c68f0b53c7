//! `cargo xtask bench --swarm`: downloads from an emulated internet. Every
//! libtorrent seeder sits behind a link of its own (a relay in this
//! process adding delay, a rate cap, stalls or a cut: see [`link`]), a
//! tracker in this process hands every client the links' addresses, and
//! monsoon, rqbit (if on PATH), libtorrent and aria2c download in turn
//! from the same seeders behind the same links: `--runs` runs each, the
//! order rotated, medians of wall time, CPU time and peak RSS, and the
//! bytes the links had carried beyond the torrent and its framing when
//! the client announced `completed` (wasted: duplicates, and what was in
//! flight when it was done). The links count what they deliver, so each
//! client's download rate over time is drawn into
//! `target/bench/swarm-N.png`.
//!
//! Scenarios ([`scenarios`]): 1. twenty seeders of 10-200 ms RTT and
//! 1-50 MB/s; 2. the same plus five that stall 10 s and three that vanish
//! mid-piece; 3. two fast seeders and thirty slow ones; 4. a hundred
//! seeders. `--quick` shrinks them (and the torrent) for a smoke run.
mod link;
mod plot;
mod scenarios;
mod tracker;

use std::fmt::Write as _;
use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use crate::bench::{Bencher, Sample, measure, median, retry_once};
use crate::e2e::{self, Client, MIB, PYTHON, Proc, TorrentFacts};
use crate::{cmd, e2e::script};
use link::Link;
use scenarios::{Scale, Scenario};

/// The seed of the links' draw.
const SEED: u64 = 18;

/// Options of `cargo xtask bench --swarm`.
#[derive(Debug, Clone)]
struct Options {
    runs: usize,
    size_mib: u64,
    piece_kib: u64,
    scale: Scale,
    /// Scenario numbers to run (empty: all).
    only: Vec<u32>,
    /// Client names to run (empty: all found).
    clients: Vec<String>,
    /// Another monsoon binary to measure as `monsoon-base`.
    base: Option<std::path::PathBuf>,
    quick: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut opts = Options {
        runs: 3,
        size_mib: 512,
        piece_kib: 256,
        scale: Scale::FULL,
        only: Vec::new(),
        clients: Vec::new(),
        base: None,
        quick: false,
    };
    let (mut runs, mut size) = (None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--swarm" => {}
            "--quick" => opts.quick = true,
            "--runs" => runs = Some(value()?.parse::<usize>()?.max(1)),
            "--size-mib" => size = Some(value()?.parse::<u64>()?.max(1)),
            "--piece-kib" => opts.piece_kib = value()?.parse()?,
            "--scenario" => {
                for n in value()?.split(',') {
                    opts.only.push(n.parse()?);
                }
            }
            "--clients" => {
                opts.clients = value()?.split(',').map(str::to_owned).collect();
            }
            "--base" => opts.base = Some(value()?.into()),
            other => bail!(
                "unknown bench --swarm option `{other}` (expected --quick, --runs N, --size-mib N, \
                 --piece-kib N, --scenario N[,N], --clients NAME[,NAME], --base BIN)"
            ),
        }
    }
    ensure!(
        opts.piece_kib >= 16 && opts.piece_kib.is_power_of_two(),
        "--piece-kib must be a power of two, at least 16"
    );
    if opts.quick {
        opts.scale = Scale::QUICK;
    }
    opts.runs = runs.unwrap_or(if opts.quick { 1 } else { 3 });
    opts.size_mib = size.unwrap_or(if opts.quick { 64 } else { 512 });
    Ok(opts)
}

/// One client's run: its cost and what the links saw.
#[derive(Debug, Clone)]
struct SwarmSample {
    cost: Sample,
    /// Bytes the links delivered beyond the torrent and its block framing
    /// by the time the client announced `completed` (or exited).
    wasted: i64,
    /// (seconds, bytes delivered so far), every 200 ms.
    series: Vec<(f64, u64)>,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    e2e::ensure_packages()?;
    let monsoon = e2e::build_monsoon()?;
    let mut clients = vec![
        Bencher::Known(Client::Monsoon(monsoon.clone())),
        Bencher::Libtorrent,
        Bencher::Known(Client::Aria2),
    ];
    if let Some(base) = &opts.base {
        clients.insert(1, Bencher::MonsoonBase(base.clone()));
    }
    if cmd::have("rqbit") {
        clients.insert(1, Bencher::Rqbit);
    } else {
        println!("bench --swarm: without rqbit (`cargo xtask setup --bench` installs it)");
    }
    if !opts.clients.is_empty() {
        clients.retain(|c| opts.clients.iter().any(|n| n == c.name()));
        ensure!(
            !clients.is_empty(),
            "--clients names none of monsoon, rqbit, libtorrent, aria2c"
        );
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let swarm = Arc::new(Mutex::new(tracker::Swarm::default()));
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}/announce", listener.local_addr()?);
    let tracker = rt.spawn(tracker::serve(listener, swarm.clone()));

    let work = e2e::fresh_dir("bench-swarm")?;
    let results = cmd::root().join("target/bench");
    fs::create_dir_all(&results)?;
    let data = work.join("data");
    let file = data.join("swarm.bin");
    let size = opts.size_mib * MIB;
    println!(
        "bench --swarm: writing {} MiB to {}",
        opts.size_mib,
        file.display()
    );
    e2e::write_file(&file, size, 18)?;
    let torrent = work.join("swarm.torrent");
    e2e::create_torrent(Some(&monsoon), &file, &url, opts.piece_kib * 1024, &torrent)?;
    let facts = TorrentFacts::read(&torrent)?;
    std::io::copy(&mut fs::File::open(&file)?, &mut std::io::sink())?;

    let mut all = scenarios::all(&opts.scale, size, SEED);
    if !opts.only.is_empty() {
        all.retain(|s| opts.only.contains(&s.number));
    }
    let count = all.iter().map(|s| s.links.len()).max().unwrap_or(0);
    println!("bench --swarm: starting {count} libtorrent seeders");
    let mut seeders = Proc::spawn_talking(
        "libtorrent swarm",
        std::process::Command::new(PYTHON)
            .arg(script("lt_swarm.py"))
            .arg("--torrent")
            .arg(&torrent)
            .arg("--save-path")
            .arg(&data)
            .args(["--count", &count.to_string()]),
        &work.join("lt_swarm.log"),
    )?;
    let ready = seeders.line("ready", Duration::from_secs(300))?;
    let ports: Vec<u16> = ready
        .trim_start_matches("ready ports=")
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("bad `ready` line from lt_swarm.py")?;
    ensure!(
        ports.len() == count,
        "lt_swarm.py started {} seeders, not {count}",
        ports.len()
    );

    let mut report = String::new();
    for scenario in &all {
        let text = run_scenario(
            &rt, &opts, scenario, &ports, &swarm, &clients, &work, &facts, &file, &torrent,
            &results,
        )?;
        println!("{text}");
        report.push_str(&text);
    }
    drop(seeders);
    tracker.abort();
    println!("{report}");
    let mut command = String::from("cargo xtask bench --swarm");
    if opts.quick {
        command.push_str(" --quick");
    }
    if let Some(base) = &opts.base {
        let _ = write!(command, " --base {}", base.display());
    }
    let _ = write!(
        command,
        " --runs {} --size-mib {}",
        opts.runs, opts.size_mib
    );
    println!("command: {command}");
    Ok(())
}

/// The address the link of seeder `k` listens on: 127.0.1.x, one address
/// per seeder, as on the internet.
fn link_ip(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1 + (k / 250) as u8, (k % 250) as u8 + 1)
}

#[allow(clippy::too_many_arguments)]
fn run_scenario(
    rt: &Runtime,
    opts: &Options,
    scenario: &Scenario,
    ports: &[u16],
    swarm: &Arc<Mutex<tracker::Swarm>>,
    clients: &[Bencher],
    work: &Path,
    facts: &TorrentFacts,
    file: &Path,
    torrent: &Path,
    results: &Path,
) -> Result<String> {
    let tag = format!("swarm-{}", scenario.number);
    println!(
        "\nbench --swarm: scenario {}: {}",
        scenario.number, scenario.title
    );
    let mut links = Vec::new();
    let mut servers: Vec<JoinHandle<()>> = Vec::new();
    let mut addrs = Vec::new();
    for (k, spec) in scenario.links.iter().enumerate() {
        let seeder = SocketAddr::from(([127, 0, 0, 1], ports[k]));
        let link = Link::new(spec.clone(), seeder);
        let listener = rt.block_on(tokio::net::TcpListener::bind((link_ip(k), 0)))?;
        let SocketAddr::V4(addr) = listener.local_addr()? else {
            bail!("a link listens on IPv6");
        };
        addrs.push(addr);
        servers.push(rt.spawn(link.clone().serve(listener)));
        links.push(link);
    }
    {
        let mut swarm = swarm.lock().unwrap_or_else(|e| e.into_inner());
        swarm.peers = addrs;
        swarm.links = links.clone();
    }

    let size = facts.total_length;
    let framing = size.div_ceil(16 * 1024) * 13;
    let mut samples: Vec<Vec<SwarmSample>> = vec![Vec::new(); clients.len()];
    for run in 0..opts.runs {
        for k in 0..clients.len() {
            let i = (k + run) % clients.len();
            let client = &clients[i];
            let dir = work.join(format!("{tag}-{}-{run}", client.name()));
            let attempt = || -> Result<SwarmSample> {
                for l in &links {
                    l.arm();
                }
                swarm
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .at_completion = None;
                let series = Arc::new(Mutex::new(Vec::new()));
                let sampler = rt.spawn(sample(links.clone(), series.clone()));
                let cost = measure(client, torrent, &dir);
                sampler.abort();
                let cost = cost?;
                let delivered: u64 = links
                    .iter()
                    .map(|l| l.down_bytes.load(std::sync::atomic::Ordering::SeqCst))
                    .sum();
                let series = series.lock().map(|s| s.clone()).unwrap_or_default();
                Ok(SwarmSample {
                    cost,
                    wasted: delivered as i64 - size as i64 - framing as i64,
                    series,
                })
            };
            let sample = retry_once(&tag, client.name(), run, &dir, attempt)?;
            e2e::compare(file, &dir.join("out").join(&facts.name))
                .with_context(|| format!("{} downloaded wrong bytes", client.name()))?;
            fs::remove_dir_all(&dir)?;
            let gone = links.iter().filter(|l| l.is_gone()).count();
            println!(
                "bench {tag}: {} run {}: {:.2} s wall, {:.2} s cpu, {} MiB peak RSS, {:.1} MiB wasted{}",
                client.name(),
                run + 1,
                sample.cost.wall,
                sample.cost.cpu,
                sample.cost.rss_kib / 1024,
                sample.wasted as f64 / MIB as f64,
                if gone > 0 {
                    format!(", {gone} link(s) cut")
                } else {
                    String::new()
                }
            );
            samples[i].push(sample);
        }
    }
    for s in servers {
        s.abort();
    }

    // Each client's run of median wall time, drawn.
    let series: Vec<(&str, Vec<(f64, f64)>)> = clients
        .iter()
        .zip(&samples)
        .filter_map(|(c, runs)| {
            let med = median(runs.iter().map(|s| s.cost.wall).collect());
            let run = runs.iter().min_by(|a, b| {
                (a.cost.wall - med)
                    .abs()
                    .total_cmp(&(b.cost.wall - med).abs())
            })?;
            Some((c.name(), plot::rates(&run.series, 1.0)))
        })
        .collect();
    let title = format!(
        "scenario {}: {}, {} MiB",
        scenario.number,
        scenario.title,
        size / MIB
    );
    plot::draw(&title, &series, &results.join(format!("{tag}.png")))?;
    Ok(format!(
        "\nscenario {}: {}, {} MiB, {} run(s) each:\n{}\n",
        scenario.number,
        scenario.title,
        size / MIB,
        opts.runs,
        table(clients, &samples)
    ))
}

/// Samples the bytes the links delivered every 200 ms into `out`.
async fn sample(links: Vec<Arc<Link>>, out: Arc<Mutex<Vec<(f64, u64)>>>) {
    let t0 = tokio::time::Instant::now();
    let mut every = tokio::time::interval(Duration::from_millis(200));
    loop {
        every.tick().await;
        let total = links
            .iter()
            .map(|l| l.down_bytes.load(std::sync::atomic::Ordering::Relaxed))
            .sum();
        if let Ok(mut s) = out.lock() {
            s.push((t0.elapsed().as_secs_f64(), total));
        }
    }
}

/// Medians per client, monsoon's same-run ratios, and whether it finished first.
fn table(clients: &[Bencher], samples: &[Vec<SwarmSample>]) -> String {
    let med =
        |runs: &[SwarmSample], f: fn(&SwarmSample) -> f64| median(runs.iter().map(f).collect());
    let rows: Vec<(f64, f64, f64, f64)> = samples
        .iter()
        .map(|runs| {
            (
                med(runs, |s| s.cost.wall),
                med(runs, |s| s.cost.cpu),
                med(runs, |s| s.cost.rss_kib as f64 / 1024.0),
                med(runs, |s| s.wasted as f64 / MIB as f64),
            )
        })
        .collect();
    let mut out = String::from(
        "| client | median wall (s) | median CPU user+sys (s) | median peak RSS (MiB) | median wasted (MiB) | walls (s) |\n|---|---|---|---|---|---|",
    );
    for ((c, (w, cpu, rss, waste)), runs) in clients.iter().zip(&rows).zip(samples) {
        let walls: Vec<String> = runs.iter().map(|s| format!("{:.2}", s.cost.wall)).collect();
        let _ = write!(
            out,
            "\n| {} | {w:.2} | {cpu:.2} | {rss:.1} | {waste:.1} | {} |",
            c.name(),
            walls.join(", ")
        );
    }
    if let Some(m) = clients.iter().position(|c| c.name() == "monsoon") {
        let (mw, mc, mr, _) = rows[m];
        for (c, (w, cpu, rss, _)) in clients.iter().zip(&rows) {
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
        // Against the other clients: a `--base` monsoon is not one.
        let first = clients
            .iter()
            .zip(&rows)
            .filter(|(c, _)| !matches!(c, Bencher::MonsoonBase(_)))
            .min_by(|a, b| a.1.0.total_cmp(&b.1.0))
            .map_or("nobody", |(c, _)| c.name());
        let _ = write!(
            out,
            "\ntarget: monsoon finishes first: {} (first: {first})",
            if first == "monsoon" { "met" } else { "NOT met" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(wall: f64, cpu: f64, rss_mib: u64, wasted_mib: i64) -> SwarmSample {
        SwarmSample {
            cost: Sample {
                wall,
                cpu,
                rss_kib: rss_mib * 1024,
            },
            wasted: wasted_mib * MIB as i64,
            series: Vec::new(),
        }
    }

    #[test]
    fn table_has_medians_ratios_and_the_verdict() {
        let clients = [Bencher::Known(Client::Monsoon("m".into())), Bencher::Rqbit];
        let samples = [
            vec![
                run(4.0, 2.0, 30, 1),
                run(9.0, 3.0, 40, 5),
                run(5.0, 2.5, 35, 2),
            ],
            vec![
                run(8.0, 4.0, 20, 0),
                run(6.0, 4.0, 20, 0),
                run(7.0, 5.0, 20, 0),
            ],
        ];
        let t = table(&clients, &samples);
        assert!(
            t.contains("| monsoon | 5.00 | 2.50 | 35.0 | 2.0 | 4.00, 9.00, 5.00 |"),
            "{t}"
        );
        assert!(t.contains("| rqbit | 7.00 | 4.00 | 20.0 | 0.0 |"), "{t}");
        assert!(
            t.contains("monsoon / rqbit: wall 0.71x, CPU 0.62x, RSS 1.75x"),
            "{t}"
        );
        assert!(
            t.contains("monsoon finishes first: met (first: monsoon)"),
            "{t}"
        );
        let slow = [vec![run(9.0, 1.0, 1, 0)], vec![run(8.0, 1.0, 1, 0)]];
        assert!(table(&clients, &slow).contains("NOT met (first: rqbit)"));
        // A `--base` build of monsoon is measured, not raced.
        let with_base = [
            Bencher::Known(Client::Monsoon("m".into())),
            Bencher::MonsoonBase("b".into()),
            Bencher::Rqbit,
        ];
        let runs = [
            vec![run(5.0, 1.0, 1, 0)],
            vec![run(4.0, 1.0, 1, 0)],
            vec![run(6.0, 1.0, 1, 0)],
        ];
        let t = table(&with_base, &runs);
        assert!(t.contains("monsoon / monsoon-base: wall 1.25x"), "{t}");
        assert!(t.contains("finishes first: met (first: monsoon)"), "{t}");
    }

    #[test]
    fn options_quick_and_full() {
        let args = |s: &str| -> Vec<String> { s.split_whitespace().map(str::to_owned).collect() };
        let q = parse(&args("--swarm --quick")).unwrap();
        assert_eq!((q.runs, q.size_mib, q.scale.many), (1, 64, 24));
        let f = parse(&args(
            "--swarm --scenario 1,3 --runs 5 --clients monsoon,rqbit",
        ))
        .unwrap();
        assert_eq!((f.runs, f.size_mib, f.scale.many), (5, 512, 100));
        assert_eq!(f.only, [1, 3]);
        assert_eq!(f.clients, ["monsoon", "rqbit"]);
        assert!(parse(&args("--swarm --piece-kib 100")).is_err());
        assert!(parse(&args("--swarm --bogus")).is_err());
    }

    #[test]
    fn every_seeder_gets_its_own_address() {
        assert_eq!(link_ip(0), Ipv4Addr::new(127, 0, 1, 1));
        assert_eq!(link_ip(249), Ipv4Addr::new(127, 0, 1, 250));
        assert_eq!(link_ip(250), Ipv4Addr::new(127, 0, 2, 1));
    }
}
