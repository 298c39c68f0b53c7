//! `cargo xtask e2e [--quick] [--client aria2c]`: monsoon downloads from real
//! clients (libtorrent, aria2c, Transmission) through a real tracker
//! (opentracker) on 127.0.0.1, and every byte is compared.
//!
//! `--client aria2c` runs the same matrix with aria2c as the downloader: a
//! check of the harness itself (aria2c cannot take a peer address, so the
//! no-tracker cell is skipped). `--only TEXT` runs the cells whose scenario
//! names contain TEXT.
mod data;
mod encryption;
mod lsd;
mod magnet;
mod matrix;
mod procs;
mod scenarios;
mod seeders;
mod v2;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

pub(crate) use data::{MIB, compare, write_file};
pub(crate) use procs::{Proc, check_output, free_port, output};
pub(crate) use seeders::{Kind, LtOptions, PYTHON, Seeder, TorrentFacts, Tracker, script};

use crate::{cmd, setup};

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
}

fn parse(args: &[String]) -> Result<Options> {
    let mut opts = Options {
        quick: false,
        aria2_client: false,
        only: None,
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
            other => bail!(
                "unknown e2e option `{other}` (expected --quick, --client aria2c, --only TEXT)"
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
    let work = fresh_dir("e2e")?;
    let big = if opts.quick { 16 * MIB } else { 64 * MIB };
    let matrix = scenarios::run_all(&work, &client, big, opts.only.as_deref())?;
    println!("\n{}", matrix.render());
    let failed = matrix.failures();
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
    setup::run()
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

/// Makes `out` for `content` announcing to `url`, with `monsoon create`
/// when `monsoon` is given, else with mktorrent.
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
            c.arg("create")
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
