//! `cargo xtask e2e [--quick] [--client aria2c] [--upload-seeder S] [--only C]`:
//! on 127.0.0.1 with a real tracker (opentracker), monsoon downloads from
//! real clients (libtorrent, aria2c, Transmission), and the seeder under
//! test uploads to real clients (libtorrent, aria2c, Transmission,
//! qBittorrent, rtorrent); every byte is compared.
//!
//! `--client aria2c` runs the download matrix with aria2c as the downloader:
//! a check of the harness itself (aria2c cannot take a peer address, so the
//! no-tracker cell is skipped). `--upload-seeder libtorrent|monsoon` picks
//! the seeder under test of the upload matrix (default
//! [`DEFAULT_UPLOAD_SEEDER`]). `--only TEXT` runs the cells whose scenario
//! names contain TEXT; `--matrix download|upload` runs one matrix;
//! `--leecher NAME` keeps only that leecher's upload cells.
mod crowd;
mod daemon;
mod data;
mod direct;
mod encryption;
mod http;
mod leechers;
mod lsd;
mod magnet;
mod matrix;
mod procs;
mod scenarios;
mod seeders;
mod upload;
mod v2;
mod webui;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

pub(crate) use data::{MIB, compare, write_file};
pub(crate) use procs::{Proc, check_output, free_port, output, wait_listening};
pub(crate) use seeders::{Kind, LtOptions, PYTHON, Seeder, TorrentFacts, Tracker, script};

use crate::{cmd, setup};
use matrix::Matrix;
use upload::UploadSeeder;

/// The seeder under test of the upload matrix when `--upload-seeder` is not
/// given: `monsoon seed`. `--upload-seeder libtorrent` runs the same cells
/// against libtorrent, a check of the harness itself.
const DEFAULT_UPLOAD_SEEDER: UploadSeeder = UploadSeeder::Monsoon;

/// The downloader under test.
#[derive(Debug, Clone)]
pub(crate) enum Client {
    /// The `monsoon` binary.
    Monsoon(PathBuf),
    /// aria2c (to check the harness, and as the bench's yardstick).
    Aria2,
}

impl Client {
    /// Short name for tables.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Client::Monsoon(_) => "monsoon",
            Client::Aria2 => "aria2c",
        }
    }

    /// The command that downloads `torrent` into `out` (files land in
    /// `out/NAME`), listening on `port`; with `peers` and no trackers when
    /// `peers` is not empty.
    pub(crate) fn download_cmd(
        &self,
        torrent: &Path,
        out: &Path,
        port: u16,
        peers: &[std::net::SocketAddr],
    ) -> Result<Command> {
        Ok(match self {
            Client::Monsoon(bin) => {
                let mut c = Command::new(bin);
                // Resume data beside the download, not in the user's state.
                c.env("XDG_STATE_HOME", out.parent().unwrap_or(out).join("state"));
                c.arg("download")
                    .arg(torrent)
                    .arg("-o")
                    .arg(out)
                    .args(["--port", &port.to_string()])
                    // Hermetic: peers come from the tracker or --peer only.
                    .args(["--no-dht", "--no-lsd"]);
                if !peers.is_empty() {
                    c.arg("--no-trackers");
                }
                for p in peers {
                    c.args(["--peer", &p.to_string()]);
                }
                c
            }
            Client::Aria2 => {
                if !peers.is_empty() {
                    bail!("aria2c cannot be given a peer address");
                }
                let mut c = Command::new("aria2c");
                c.args([
                    "--seed-time=0",
                    "--enable-dht=false",
                    "--enable-dht6=false",
                    "--bt-enable-lpd=false",
                    "--enable-peer-exchange=false",
                    "--disable-ipv6=true",
                    "--summary-interval=0",
                    "--console-log-level=warn",
                    "--file-allocation=none",
                    "--bt-hash-check-seed=false",
                    "--bt-max-peers=0",
                    "--check-integrity=true",
                ])
                .arg(format!("--listen-port={port}"))
                .arg(format!("--dir={}", out.display()))
                .arg(torrent);
                c
            }
        })
    }
}

/// Options of `cargo xtask e2e`.
#[derive(Debug)]
struct Options {
    quick: bool,
    aria2_client: bool,
    /// Run only the cells whose scenario contains this text.
    only: Option<String>,
    upload_seeder: UploadSeeder,
    download: bool,
    upload: bool,
    leecher: Option<leechers::Leecher>,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut opts = Options {
        quick: false,
        aria2_client: false,
        only: None,
        upload_seeder: DEFAULT_UPLOAD_SEEDER,
        download: true,
        upload: true,
        leecher: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => opts.quick = true,
            "--client" => match it.next().map(String::as_str) {
                Some("aria2c") => opts.aria2_client = true,
                Some("monsoon") => opts.aria2_client = false,
                other => bail!("--client takes monsoon or aria2c, not {other:?}"),
            },
            "--only" => match it.next() {
                Some(text) => opts.only = Some(text.clone()),
                None => bail!("--only takes part of a scenario's name"),
            },
            "--upload-seeder" => {
                opts.upload_seeder = UploadSeeder::parse(it.next().map(String::as_str))?;
            }
            "--leecher" => {
                opts.leecher = Some(leechers::Leecher::parse(it.next().map(String::as_str))?);
            }
            "--matrix" => match it.next().map(String::as_str) {
                Some("download") => opts.upload = false,
                Some("upload") => opts.download = false,
                other => bail!("--matrix takes download or upload, not {other:?}"),
            },
            other => bail!(
                "unknown e2e option `{other}` (expected --quick, --client aria2c, --only TEXT, \
                 --upload-seeder libtorrent|monsoon, --matrix download|upload, --leecher NAME)"
            ),
        }
    }
    Ok(opts)
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    ensure_packages()?;
    let client = if opts.aria2_client {
        Client::Aria2
    } else {
        Client::Monsoon(build_monsoon()?)
    };
    let monsoon_seed = match (
        opts.upload && opts.upload_seeder == UploadSeeder::Monsoon,
        &client,
    ) {
        (false, _) => None,
        (true, Client::Monsoon(bin)) => Some(require_command(bin, "seed")?),
        (true, Client::Aria2) => Some(require_command(&build_monsoon()?, "seed")?),
    };
    let work = fresh_dir("e2e")?;
    let big = if opts.quick { 16 * MIB } else { 64 * MIB };
    let mut down = Matrix::default();
    let suite = scenarios::prepare(&work, &client, big, &mut down)?;
    let mut cells = scenarios::Cells::new(work.join("cells"), opts.only.clone());
    if opts.download {
        scenarios::run_all(&suite, &client, &mut cells, &mut down);
    }
    let mut up = Matrix::default();
    if opts.upload {
        let env = upload::Env {
            seeder: opts.upload_seeder,
            monsoon: monsoon_seed.as_deref(),
            only: opts.leecher,
        };
        upload::run_all(&suite, &env, &mut cells, &mut up);
    }
    if opts.download {
        println!(
            "\ndownload: {} downloads from each seeding client (columns)\n{}",
            client.name(),
            down.render()
        );
    }
    if opts.upload {
        println!(
            "\nupload: {} seeds to each leeching client (columns)\n{}",
            opts.upload_seeder.name(),
            up.render()
        );
    }
    let failed = down.failures() + up.failures();
    if failed > 0 {
        bail!(
            "e2e: {failed} cell(s) failed (logs under {})",
            work.display()
        );
    }
    println!("e2e: every cell passed");
    Ok(())
}

/// Installs the Debian packages (through `setup`) when one is missing.
pub(crate) fn ensure_packages() -> Result<()> {
    if setup::PACKAGES
        .iter()
        .all(|(_, file)| Path::new(file).exists())
    {
        return Ok(());
    }
    setup::run(false)
}

/// `target/NAME`, emptied.
pub(crate) fn fresh_dir(name: &str) -> Result<PathBuf> {
    let dir = cmd::root().join("target").join(name);
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("remove {}", dir.display()))?;
    }
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Builds `target/release/monsoon` and checks it has a `download` command.
pub(crate) fn build_monsoon() -> Result<PathBuf> {
    cmd::run("cargo", &["build", "--release", "-p", "monsoon-cli"])?;
    let bin = cmd::root().join("target/release/monsoon");
    let (_, help) = output(Command::new(&bin).arg("--help"), Duration::from_secs(30))?;
    if !help.contains("download") {
        bail!(
            "{} has no `download` command yet (its --help does not mention one), so there is \
             nothing to test end to end; `cargo xtask e2e --client aria2c` checks the harness alone",
            bin.display()
        );
    }
    Ok(bin)
}

/// Checks that `bin` has the subcommand `command` (`bin command --help`
/// succeeds); returns `bin`.
pub(crate) fn require_command(bin: &Path, command: &str) -> Result<PathBuf> {
    let (status, text) = output(
        Command::new(bin).args([command, "--help"]),
        Duration::from_secs(30),
    )?;
    if !status.success() {
        bail!(
            "{} has no `{command}` command yet (`{command} --help` failed: {}); \
             `--upload-seeder libtorrent` runs the upload matrix without it",
            bin.display(),
            procs::last_lines(&text, 3)
        );
    }
    Ok(bin.to_path_buf())
}

/// Makes `out` for `content` announcing to `url`, with `monsoon create
/// --v1` when `monsoon` is given, else with mktorrent. v1 only: the
/// seeders and leechers of these rows include Transmission 3, which refuses
/// hybrids, and aria2c 1.36, which gets their v1 info-hash wrong (the v2
/// and hybrid rows are in `v2.rs`).
pub(crate) fn create_torrent(
    monsoon: Option<&Path>,
    content: &Path,
    url: &str,
    piece_length: u64,
    out: &Path,
) -> Result<()> {
    let mut c = match monsoon {
        Some(bin) => {
            let mut c = Command::new(bin);
            c.args(["create", "--v1"])
                .arg(content)
                .args(["-t", url, "-l", &piece_length.to_string(), "-o"])
                .arg(out);
            c
        }
        None => {
            let mut c = Command::new("mktorrent");
            c.args([
                "-a",
                url,
                "-l",
                &piece_length.trailing_zeros().to_string(),
                "-o",
            ])
            .arg(out)
            .arg(content);
            c
        }
    };
    check_output(&mut c, Duration::from_secs(300))?;
    Ok(())
}
