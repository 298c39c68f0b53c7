//! `cargo xtask demo [--size-mib N]`: the README's "try it": builds monsoon,
//! makes a ~256 MiB torrent, seeds it from libtorrent behind opentracker on
//! 127.0.0.1, downloads it with `monsoon download` (progress bar on this
//! terminal), checks every byte and cleans up.
use std::fs;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::e2e::{self, LtOptions, MIB, Proc, Seeder, TorrentFacts, Tracker};

pub(crate) fn run(args: &[String]) -> Result<()> {
    let size_mib = match args {
        [] => 256,
        [flag, n] if flag == "--size-mib" => n.parse::<u64>()?.max(1),
        _ => bail!("expected nothing or `--size-mib N`"),
    };
    e2e::ensure_packages()?;
    let monsoon = e2e::build_monsoon()?;
    let work = e2e::fresh_dir("demo")?;
    let data = work.join("seed");
    let file = data.join("demo.bin");
    println!(
        "demo: writing {size_mib} MiB of test data to {}",
        file.display()
    );
    e2e::write_file(&file, size_mib * MIB, 2026)?;
    let port = e2e::free_port()?;
    let url = format!("http://127.0.0.1:{port}/announce");
    let torrent = work.join("demo.torrent");
    e2e::create_torrent(Some(&monsoon), &file, &url, 256 * 1024, &torrent)
        .context("monsoon create")?;
    let facts = TorrentFacts::read(&torrent)?;
    let tracker = Tracker::start(&work.join("tracker"), port, &[&facts.info_hash])?;
    println!("demo: opentracker at {}", tracker.announce_url());
    let seeder = Seeder::libtorrent(
        &torrent,
        &data,
        &work.join("seeder"),
        LtOptions {
            seed_mode: true,
            ..LtOptions::default()
        },
    )?;
    tracker.wait_seeders(&facts.info_hash, 1)?;
    println!("demo: libtorrent seeding on {}", seeder.addr());

    let out = work.join("downloads");
    println!(
        "$ monsoon download {} -o {}",
        torrent.display(),
        out.display()
    );
    let mut download = monsoon_download(&monsoon, &torrent, &out)?;
    let started = Instant::now();
    let status = download.wait(Duration::from_secs(600))?;
    let took = started.elapsed();
    if !status.success() {
        bail!("monsoon download failed: {status}");
    }
    e2e::compare(&file, &out.join(&facts.name))?;
    println!(
        "demo: {size_mib} MiB downloaded in {:.1} s and identical to the original",
        took.as_secs_f64()
    );
    drop(seeder);
    drop(tracker);
    fs::remove_dir_all(&work)?;
    println!("demo: cleaned up {}", work.display());
    Ok(())
}

fn monsoon_download(
    monsoon: &std::path::Path,
    torrent: &std::path::Path,
    out: &std::path::Path,
) -> Result<Proc> {
    let mut cmd = e2e::Client::Monsoon(monsoon.to_owned()).download_cmd(
        torrent,
        out,
        e2e::free_port()?,
        &[],
    )?;
    Proc::spawn_inherit("monsoon download", &mut cmd, out)
}
