//! The e2e download scenarios, each one cell of the matrix: data and
//! torrents, then monsoon downloads from each seeding client, all of them, a
//! peer given by address, a corrupt peer, a resume after SIGKILL, the DHT
//! node against libtorrent's DHT, magnet links and PEX (`magnet.rs`), local
//! service discovery both ways (`lsd.rs`), 10,000 files under a limit of 64
//! open files, encryption (`encryption.rs`), v2 and hybrid torrents both
//! ways (`v2.rs`), and `monsoon daemon` driven by transmission-remote, PyPI's
//! transmission-rpc and qbittorrent-api, and its web page in headless
//! chromium (`daemon.rs`, `webui.rs`). The upload column (`upload.rs`) uses
//! the same data, torrents, tracker and cell runner.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};

use super::crowd::{self, Crowd, Fate};
use super::data::{self, MIB};
use super::matrix::Matrix;
use super::procs::{self, Proc};
use super::seeders::{Kind, LtOptions, Seeder, TorrentFacts, Tracker, flush};
use super::{Client, create_torrent, encryption, lsd, magnet, v2};

/// The longest one download may take before it counts as hung.
pub(super) const DOWNLOAD_LIMIT: Duration = Duration::from_secs(120);

/// One torrent and its data.
pub(super) struct Item {
    /// Its label in the matrix.
    pub(super) label: &'static str,
    pub(super) torrent: PathBuf,
    /// The folder holding the torrent's file or top folder (a save path).
    pub(super) data_dir: PathBuf,
    pub(super) facts: TorrentFacts,
}

impl Item {
    /// The file or top folder the torrent describes.
    pub(super) fn content(&self) -> PathBuf {
        self.data_dir.join(&self.facts.name)
    }
}

/// What both columns share: the torrents (single file first, then the
/// folder) and the tracker they announce to.
pub(super) struct Suite {
    pub(super) items: Vec<Item>,
    pub(super) tracker: Tracker,
}

/// Runs cells one after another, each in its own numbered folder, printing
/// a line per cell and recording it in a matrix.
pub(super) struct Cells {
    dir: PathBuf,
    n: usize,
    only: Option<String>,
}

impl Cells {
    /// Cells in numbered folders under `dir`; with `only`, just those whose
    /// scenario contains that text (the others keep their numbers).
    pub(super) fn new(dir: PathBuf, only: Option<String>) -> Cells {
        Cells { dir, n: 0, only }
    }

    /// Runs `f` in a fresh folder and records the cell `scenario` / `column`
    /// in `m`; `f` returns a detail for the log line.
    pub(super) fn run(
        &mut self,
        m: &mut Matrix,
        scenario: &str,
        column: &str,
        f: &dyn Fn(&Path) -> Result<String>,
    ) {
        self.n += 1;
        if self
            .only
            .as_ref()
            .is_some_and(|text| !scenario.contains(text.as_str()))
        {
            return;
        }
        let dir = self.dir.join(format!("{:02}", self.n));
        print!("e2e: {scenario} / {column} ({}) ... ", dir.display());
        flush();
        let started = Instant::now();
        let result = std::fs::create_dir_all(&dir)
            .map_err(anyhow::Error::from)
            .and_then(|()| f(&dir));
        let took = started.elapsed();
        match &result {
            Ok(detail) => println!("ok {:.1}s {detail}", took.as_secs_f64()),
            Err(e) => println!("FAILED {:.1}s: {e:#}", took.as_secs_f64()),
        }
        m.record(scenario, column, took, &result.map(drop));
    }
}

/// What every cell can use.
struct Env<'a> {
    client: &'a Client,
    tracker: &'a Tracker,
}

/// Makes the data, the torrents (with `monsoon create` when the client is
/// monsoon, recording those cells and `monsoon info`'s in `m`) and the
/// tracker.
pub(super) fn prepare(work: &Path, client: &Client, big: u64, m: &mut Matrix) -> Result<Suite> {
    let data = work.join("data");
    println!(
        "e2e: making {} MiB of test data under {}",
        big / MIB,
        data.display()
    );
    data::write_file(&data.join("single/big.bin"), big, 42)?;
    data::make_folder(&data.join("folder"), "odd", 64 * 1024)?;

    let tracker_port = procs::free_port()?;
    let url = format!("http://127.0.0.1:{tracker_port}/announce");
    let monsoon = match client {
        Client::Monsoon(bin) => Some(bin.as_path()),
        Client::Aria2 => None,
    };
    let mut items = Vec::new();
    for (label, dir, name, piece) in [
        ("single file", "single", "big.bin", 256 * 1024),
        ("folder", "folder", "odd", 64 * 1024),
    ] {
        let data_dir = data.join(dir);
        let torrent = work.join(format!("{dir}.torrent"));
        let content = data_dir.join(name);
        if let Some(bin) = monsoon {
            let started = Instant::now();
            let made = create_torrent(Some(bin), &content, &url, piece, &torrent);
            m.record(
                &format!("create ({label})"),
                "monsoon",
                started.elapsed(),
                &made,
            );
            if made.is_err() {
                println!("e2e: monsoon create failed; making {dir}.torrent with mktorrent");
                create_torrent(None, &content, &url, piece, &torrent)?;
            }
        } else {
            create_torrent(None, &content, &url, piece, &torrent)?;
        }
        let facts = TorrentFacts::read(&torrent)?;
        items.push(Item {
            label,
            torrent,
            data_dir,
            facts,
        });
    }
    if let Some(bin) = monsoon {
        for item in &items {
            let started = Instant::now();
            let checked = check_info(bin, item);
            m.record(
                &format!("info ({})", item.label),
                "monsoon",
                started.elapsed(),
                &checked,
            );
        }
    }

    let hashes: Vec<&str> = items.iter().map(|i| i.facts.info_hash.as_str()).collect();
    let tracker = Tracker::start(&work.join("tracker"), tracker_port, &hashes)?;
    Ok(Suite { items, tracker })
}

/// The download column: `client` downloads from real seeders.
pub(super) fn run_all(suite: &Suite, client: &Client, cells: &mut Cells, m: &mut Matrix) {
    let items = &suite.items;
    let env = Env {
        client,
        tracker: &suite.tracker,
    };
    for kind in [Kind::Libtorrent, Kind::Aria2, Kind::Transmission] {
        for item in items {
            cells.run(m, item.label, kind.name(), &|dir| {
                from_seeders(&env, item, &[kind], dir)
            });
        }
    }
    let all = [Kind::Libtorrent, Kind::Aria2, Kind::Transmission];
    for item in items {
        cells.run(m, item.label, "all three", &|dir| {
            from_seeders(&env, item, &all, dir)
        });
    }
    if !matches!(client, Client::Aria2) {
        for item in items {
            cells.run(
                m,
                &format!("{} --peer, no tracker", item.label),
                "libtorrent",
                &|dir| by_address(&env, item, dir),
            );
        }
    }
    let single = &items[0];
    cells.run(m, "corrupt peer + good peer", "libtorrent", &|dir| {
        corrupt_peer(&env, single, dir)
    });
    cells.run(m, "resume after SIGKILL", "libtorrent", &|dir| {
        resume(&env, single, dir)
    });
    cells.run(m, "DHT node (monsoon-dht)", "libtorrent", &dht_interop);
    if let Client::Monsoon(bin) = client {
        let folder = &items[1];
        cells.run(m, "daemon + transmission-remote", "libtorrent", &|dir| {
            super::daemon::transmission_remote(
                bin,
                &single.torrent,
                &single.data_dir,
                &single.facts,
                dir,
            )
        });
        cells.run(
            m,
            "daemon + transmission-rpc (PyPI)",
            "libtorrent",
            &|dir| {
                super::daemon::transmission_rpc(
                    bin,
                    &folder.torrent,
                    &folder.data_dir,
                    "a/b/c/deep.bin",
                    dir,
                )
            },
        );
        cells.run(
            m,
            "daemon + qbittorrent-api (PyPI), vs qbittorrent-nox",
            "libtorrent",
            &|dir| {
                super::webui::qbittorrent_api(
                    bin,
                    &folder.torrent,
                    &folder.data_dir,
                    &folder.facts,
                    "a/b/c/deep.bin",
                    dir,
                )
            },
        );
        cells.run(m, "daemon web page (chromium)", "libtorrent", &|dir| {
            super::webui::web_ui(
                bin,
                &folder.torrent,
                &folder.data_dir,
                &folder.facts,
                "a/b/c/deep.bin",
                dir,
            )
        });
        let subject = magnet::Subject {
            torrent: &single.torrent,
            data_dir: &single.data_dir,
            facts: &single.facts,
            tracker_url: suite.tracker.announce_url(),
        };
        cells.run(m, "magnet, tracker", "libtorrent", &|dir| {
            magnet::via_tracker(bin, &subject, dir)
        });
        cells.run(m, "magnet, DHT only", "libtorrent", &|dir| {
            magnet::via_dht(bin, &subject, dir)
        });
        cells.run(m, "metadata to a magnet", "libtorrent", &|dir| {
            magnet::metadata_to_libtorrent(bin, &subject, dir)
        });
        cells.run(m, "magnet to libtorrent, DHT only", "libtorrent", &|dir| {
            magnet::dht_to_libtorrent(bin, &subject, dir)
        });
        cells.run(m, "peer learnt by PEX", "libtorrent", &|dir| {
            magnet::pex(bin, &subject, dir)
        });
        cells.run(m, "LSD: monsoon finds the seeder", "libtorrent", &|dir| {
            lsd::from_libtorrent(bin, &subject, dir)
        });
        cells.run(m, "LSD: found by a leecher", "libtorrent", &|dir| {
            lsd::to_libtorrent(bin, &subject, dir)
        });
        cells.run(
            m,
            &format!("{MANY_FILES} files, ulimit -n {FD_LIMIT}"),
            "libtorrent",
            &|dir| many_files(&env, bin, dir, FD_LIMIT, 0),
        );
        cells.run(
            m,
            &format!("{MANY_FILES} files, {CROWD} incoming peers, ulimit -n {CROWD_FD_LIMIT}"),
            "libtorrent",
            &|dir| many_files(&env, bin, dir, CROWD_FD_LIMIT, CROWD),
        );
    }
    if let Client::Monsoon(bin) = client {
        let t = encryption::Target {
            monsoon: bin,
            torrent: &single.torrent,
            data_dir: &single.data_dir,
            facts: &single.facts,
        };
        for (scenario, column, f) in encryption::cells(&t) {
            cells.run(m, &scenario, column, &*f);
        }
        match v2::setup(bin, &cells.dir.with_file_name("v2")) {
            Ok(setup) => {
                for (scenario, column, f) in setup.cells() {
                    cells.run(m, &scenario, column, &*f);
                }
            }
            Err(e) => m.record("v2/hybrid setup", "libtorrent", Duration::ZERO, &Err(e)),
        }
    }
}

/// monsoon-dht's node against two libtorrent DHT sessions: the crate's
/// interop test (bootstrap from them, find their announce, be found by
/// their `dht_get_peers`), run here so the matrix shows it.
fn dht_interop(dir: &Path) -> Result<String> {
    let test = "libtorrent::interop_with_libtorrent_sessions";
    let text = procs::check_output(
        Command::new("cargo")
            .args([
                "test",
                "-p",
                "monsoon-dht",
                "--test",
                "it",
                test,
                "--",
                "--exact",
            ])
            .current_dir(crate::cmd::root()),
        Duration::from_secs(600),
    )?;
    std::fs::write(dir.join("dht-interop.log"), &text)?;
    ensure!(
        text.contains("test result: ok. 1 passed"),
        "{test} did not run: {}",
        procs::last_lines(&text, 5)
    );
    Ok(String::new())
}

/// Files in the many-files torrent, and the descriptor limit it is
/// downloaded under: far more files than descriptors, so the download
/// works only if the open-file cache fits the limit (or sheds on EMFILE).
const MANY_FILES: usize = 10_000;
const FD_LIMIT: u32 = 64;
/// Idle incoming peers that connect during the second many-files download
/// (`crowd.rs`), and the descriptor limit it runs under: more peers than
/// the limit leaves room for once files and the seeder are counted.
const CROWD: usize = 200;
const CROWD_FD_LIMIT: u32 = 256;
/// A crowd peer left without an answer or a close for longer than this
/// before the download ended counts as a hang.
const CROWD_ANSWER: Duration = Duration::from_secs(10);
/// The seeder's upload limit while the crowd connects (bytes per second):
/// the 1 MB torrent then takes about eight seconds, long enough for all
/// of the crowd to connect first even when the listen backlog overflows
/// and their SYNs are retried (unlimited, the download once ended after
/// 3 s with 12 of the 200 still waiting: the cell proved nothing).
const CROWD_SEED_RATE: u64 = 128 * 1024;

/// A torrent of 10,000 small files (about 1 MB), made by `monsoon create`,
/// downloaded from a libtorrent seeder given by address, by `monsoon
/// download` under `ulimit -n fd_limit` (soft and hard, so monsoon cannot
/// raise it); every file compared. With `crowd` > 0, that many idle peers
/// connect as soon as monsoon listens: the download must still finish, and
/// each crowd connection must be answered or closed, none left hanging.
fn many_files(
    env: &Env<'_>,
    bin: &Path,
    dir: &Path,
    fd_limit: u32,
    crowd: usize,
) -> Result<String> {
    let data_dir = dir.join("data");
    let content = data::make_many_files(&data_dir, "many", MANY_FILES)?;
    let torrent = dir.join("many.torrent");
    create_torrent(
        Some(bin),
        &content,
        &env.tracker.announce_url(),
        16 * 1024,
        &torrent,
    )?;
    let seed_mode = LtOptions {
        seed_mode: true,
        upload_limit: if crowd > 0 { CROWD_SEED_RATE } else { 0 },
        ..LtOptions::default()
    };
    let seeder = Seeder::libtorrent(&torrent, &data_dir, &dir.join("seeder"), seed_mode)?;
    let out = dir.join("out");
    let port = procs::free_port()?;
    let download = env
        .client
        .download_cmd(&torrent, &out, port, &[seeder.addr()])?;
    let mut limited = Command::new("sh");
    limited
        .arg("-c")
        .arg(format!("ulimit -n {fd_limit} && exec \"$0\" \"$@\""))
        .arg(download.get_program())
        .args(download.get_args());
    let proc = Proc::spawn(env.client.name(), &mut limited, &dir.join("download-1.log"))?;
    if crowd == 0 {
        let done = finish(proc)?;
        data::compare(&content, &out.join("many"))?;
        return Ok(done);
    }
    procs::wait_listening("monsoon download", port, DOWNLOAD_LIMIT)?;
    let hash = TorrentFacts::read(&torrent)?.info_hash;
    let people = Crowd::join(SocketAddr::from(([127, 0, 0, 1], port)), &hash, crowd)?;
    let done = finish(proc);
    let exited = Instant::now();
    let outcomes = people.leave();
    let done = done?;
    data::compare(&content, &out.join("many"))?;
    let late = outcomes
        .iter()
        .filter(|o| o.connected.is_none_or(|at| at >= exited))
        .count();
    ensure!(
        late == 0,
        "{late} crowd peers connected only after the download ended: the cell proves nothing"
    );
    let hanging = outcomes
        .iter()
        .filter(|o| {
            o.fate == Fate::Hanging
                && o.connected
                    .is_some_and(|at| exited.duration_since(at) > CROWD_ANSWER)
        })
        .count();
    let fates: Vec<Fate> = outcomes.iter().map(|o| o.fate).collect();
    let summary = crowd::summary(&fates);
    ensure!(hanging == 0, "{hanging} hanging: {summary}");
    // A client without a peer limit would answer all of them.
    ensure!(
        fates.contains(&Fate::Closed),
        "monsoon answered every one of {crowd} idle peers under ulimit -n {fd_limit}: {summary}"
    );
    Ok(format!("{done} {summary}"))
}

/// `monsoon info --json` agrees with libtorrent on the info-hash and sizes.
fn check_info(bin: &Path, item: &Item) -> Result<()> {
    let json = procs::check_output(
        Command::new(bin)
            .args(["info", "--json"])
            .arg(&item.torrent),
        Duration::from_secs(30),
    )?;
    let compact: String = json.chars().filter(|c| !c.is_whitespace()).collect();
    let f = &item.facts;
    for want in [
        format!("\"info_hash\":\"{}\"", f.info_hash),
        format!("\"total_length\":{}", f.total_length),
        format!("\"piece_length\":{}", f.piece_length),
        format!("\"piece_count\":{}", f.piece_count),
    ] {
        ensure!(
            compact.contains(&want),
            "`monsoon info --json` lacks {want}: {json}"
        );
    }
    Ok(())
}

/// Starts seeders of `kinds` and waits until the tracker lists them all.
fn seeders(env: &Env<'_>, item: &Item, kinds: &[Kind], dir: &Path) -> Result<Vec<Seeder>> {
    let hash = &item.facts.info_hash;
    let before = env.tracker.seeders(hash)?;
    let mut started = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let work = dir.join(format!("seeder{i}-{}", kind.name()));
        started.push(Seeder::start(*kind, &item.torrent, &item.data_dir, &work)?);
    }
    let want = before + u32::try_from(kinds.len())?;
    env.tracker.wait_seeders(hash, want)?;
    Ok(started)
}

/// Starts the downloader; its output goes to `dir/download-TAG.log`.
fn start_download(
    env: &Env<'_>,
    item: &Item,
    out: &Path,
    peers: &[SocketAddr],
    dir: &Path,
    tag: &str,
) -> Result<Proc> {
    let port = procs::free_port()?;
    let mut cmd = env.client.download_cmd(&item.torrent, out, port, peers)?;
    Proc::spawn(
        env.client.name(),
        &mut cmd,
        &dir.join(format!("download-{tag}.log")),
    )
}

/// Waits for a download to exit successfully; returns its last `done:` line
/// (monsoon's byte counts), if any.
fn finish(mut proc: Proc) -> Result<String> {
    let status = proc.wait(DOWNLOAD_LIMIT)?;
    if !status.success() {
        bail!("download exited with {status}: {}", procs::tail(proc.log()));
    }
    let log = std::fs::read(proc.log()).unwrap_or_default();
    Ok(String::from_utf8_lossy(&log)
        .lines()
        .rev()
        .find(|l| l.starts_with("done:"))
        .map(|l| format!("({l})"))
        .unwrap_or_default())
}

/// Downloads `item` into `dir/out` and compares every byte.
fn fetch(env: &Env<'_>, item: &Item, peers: &[SocketAddr], dir: &Path) -> Result<String> {
    let out = dir.join("out");
    let done = finish(start_download(env, item, &out, peers, dir, "1")?)?;
    data::compare(&item.content(), &out.join(&item.facts.name))?;
    Ok(done)
}

/// Through the tracker, from seeders of `kinds`.
fn from_seeders(env: &Env<'_>, item: &Item, kinds: &[Kind], dir: &Path) -> Result<String> {
    let _seeders = seeders(env, item, kinds, dir)?;
    fetch(env, item, &[], dir)
}

/// From one libtorrent seeder given with `--peer`, trackers off.
fn by_address(env: &Env<'_>, item: &Item, dir: &Path) -> Result<String> {
    let seeder = Seeder::libtorrent(
        &item.torrent,
        &item.data_dir,
        &dir.join("seeder"),
        LtOptions::default(),
    )?;
    fetch(env, item, &[seeder.addr()], dir)
}

/// A libtorrent seeder serving a copy with damaged pieces, next to a good one.
fn corrupt_peer(env: &Env<'_>, item: &Item, dir: &Path) -> Result<String> {
    let bad_dir = dir.join("bad-data");
    data::copy_tree(&item.content(), &bad_dir.join(&item.facts.name))?;
    let pieces = item.facts.piece_count;
    let damaged: Vec<u64> = (0..pieces).filter(|p| p % 5 == 1).collect();
    data::damage(
        &bad_dir.join(&item.facts.name),
        item.facts.piece_length,
        &damaged,
    )?;
    let hash = &item.facts.info_hash;
    let before = env.tracker.seeders(hash)?;
    let trust = LtOptions {
        trust: true,
        ..LtOptions::default()
    };
    let _bad = Seeder::libtorrent(&item.torrent, &bad_dir, &dir.join("bad-seeder"), trust)?;
    let good = LtOptions {
        seed_mode: true,
        ..LtOptions::default()
    };
    let _good = Seeder::libtorrent(
        &item.torrent,
        &item.data_dir,
        &dir.join("good-seeder"),
        good,
    )?;
    env.tracker.wait_seeders(hash, before + 2)?;
    fetch(env, item, &[], dir)
}

/// Kill the downloader half way (SIGKILL), restart it: it completes, and
/// the second run fetches about the missing half, not everything again.
fn resume(env: &Env<'_>, item: &Item, dir: &Path) -> Result<String> {
    let total = item.facts.total_length;
    let piece = item.facts.piece_length;
    // Slow enough to stop it half way: the whole file takes about 4 s.
    let opts = LtOptions {
        seed_mode: true,
        upload_limit: (total / 4).max(MIB),
        ..LtOptions::default()
    };
    let hash = &item.facts.info_hash;
    let before = env.tracker.seeders(hash)?;
    let mut seeder = Seeder::libtorrent(&item.torrent, &item.data_dir, &dir.join("seeder"), opts)?;
    env.tracker.wait_seeders(hash, before + 1)?;

    let out = dir.join("out");
    let mut first = start_download(env, item, &out, &[], dir, "1")?;
    let deadline = Instant::now() + DOWNLOAD_LIMIT;
    loop {
        let sent = seeder.uploaded()?;
        if sent >= total / 2 {
            break;
        }
        ensure!(
            !first.exited(),
            "the first download exited before half way ({sent} of {total} bytes sent): {}",
            procs::tail(first.log())
        );
        ensure!(
            Instant::now() < deadline,
            "half way not reached in {DOWNLOAD_LIMIT:?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
    first.kill();
    drop(first);
    let first_sent = seeder.uploaded()?;
    ensure!(
        first_sent < total,
        "the seeder sent everything ({first_sent} bytes) before the kill"
    );

    let done = finish(start_download(env, item, &out, &[], dir, "2")?)?;
    let second_sent = seeder.uploaded()? - first_sent;
    data::compare(&item.content(), &out.join(&item.facts.name))?;
    let missing = total - first_sent;
    let slack = total / 8 + 4 * piece;
    ensure!(
        second_sent <= missing + slack,
        "after the restart the seeder sent {second_sent} bytes, but only {missing} were missing \
         (+{slack} slack): the resume did not reuse the data on disk"
    );
    Ok(format!(
        "(seeder sent {first_sent} B before the kill, {second_sent} B after; {missing} B were \
         missing, bound {} B) {done}",
        missing + slack
    ))
}
