//! Project tasks: `cargo xtask ci | setup | fuzz | e2e | bench | demo`.
#![allow(clippy::print_stdout)]

mod bench;
mod bench_memory;
mod bench_resume;
mod bench_upload;
mod ci;
mod cmd;
mod demo;
mod e2e;
mod fuzz;
mod setup;
mod swarm;

use anyhow::{Result, bail};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci                  setup, fmt check, clippy, tests, fuzz build, every fuzz target for 20 s
                      from fuzz/corpus/, e2e (what .ci/run runs)
  setup [--bench]     install the Debian packages and cargo tools the tests need
                      (--bench: rqbit too, a long `cargo install`)
  fuzz [--seconds N]  run every fuzz target for N seconds (default 30), keeping what it
                      finds in target/fuzz/corpus/ and failing inputs in target/fuzz/artifacts/
  fuzz --ci           the CI step alone: every target for 20 s from fuzz/corpus/ only
  e2e [--quick]       on 127.0.0.1 with opentracker: monsoon downloads from libtorrent,
                      aria2c and Transmission, and the seeder under test uploads to
                      libtorrent, aria2c, Transmission, qBittorrent and rtorrent; prints
                      two matrices, fails if a cell fails; monsoon daemon against
                      transmission-remote, PyPI's transmission-rpc and qbittorrent-api,
                      and its web page in headless chromium
                      (--client aria2c: aria2c downloads, to check the harness;
                      --upload-seeder libtorrent|monsoon: who seeds in the upload matrix;
                      --only TEXT: the cells whose scenario contains TEXT;
                      --matrix download|upload: one matrix;
                      --leecher NAME: that leecher's upload cells)
  bench [--runs N] [--size-mib N]
                      1 GiB from libtorrent on loopback: monsoon vs aria2c (and rqbit,
                      transmission-cli if installed); median wall, CPU, peak RSS
  bench --swarm [--quick] [--runs N] [--size-mib N] [--scenario N[,N]] [--clients A,B]
        [--base BIN]
                      from libtorrent seeders behind emulated links (delay, rate, stalls,
                      cuts): 20 uneven seeders; + stalling and vanishing ones; 2 fast + 30
                      slow; 100 seeders. monsoon, rqbit, libtorrent, aria2c; medians, wasted
                      bytes, a rate plot per scenario in target/bench/ (--quick: small, 1 run;
                      --base BIN: that monsoon build too, as monsoon-base, in both benches)
  bench --upload [--runs N] [--size-mib N] [--limit BYTES_PER_S]
                      1 GiB served to a libtorrent leecher by monsoon, libtorrent (and rqbit):
                      leecher wall, seeder CPU and peak RSS; then the upload limit's accuracy
  bench --resume [--size-mib N]
                      monsoon daemon seeding a sparse torrent (50 GiB): the first, full check vs
                      the restart after SIGKILL with fast resume (time to seeding, bytes read)
  bench --memory [--quick] [--dir DIR]
                      monsoon's peak RSS downloading sparse zeros: 1 GiB vs 64 GiB at 256 KiB
                      pieces, 1 GiB vs 32 GiB (the most monsoon loads) at 16 KiB; DIR must hold
                      64 GiB (a compressing filesystem will do); --quick: 64 MiB vs 1 GiB
  demo                build, make a 256 MiB torrent, seed it, download it with progress";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(task) = args.first() else {
        println!("{USAGE}");
        return Ok(());
    };
    let rest = &args[1..];
    match task.as_str() {
        "ci" => ci::run(),
        "setup" => setup::run(setup::parse(rest)?),
        "fuzz" if rest == ["--ci"] => fuzz::ci(),
        "fuzz" => fuzz::run(seconds_arg(rest, 30)?),
        "e2e" => e2e::run(rest),
        "bench" => bench::run(rest),
        "demo" => demo::run(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}

fn seconds_arg(args: &[String], default: u64) -> Result<u64> {
    match args {
        [] => Ok(default),
        [flag, n] if flag == "--seconds" => Ok(n.parse()?),
        _ => bail!("expected `--seconds N`"),
    }
}
