//! cargo-fuzz targets: build them all (CI) or run each for a while.
use std::process::Command;

use anyhow::{Context, Result};

use crate::cmd;

fn fuzz_cmd() -> Command {
    let mut c = Command::new("cargo");
    // cargo-fuzz needs nightly flags; the stable compiler accepts them with this.
    c.env("RUSTC_BOOTSTRAP", "1")
        .current_dir(cmd::root().join("fuzz"));
    c
}

fn targets() -> Result<Vec<String>> {
    let out = fuzz_cmd()
        .args(["fuzz", "list"])
        .output()
        .context("cargo fuzz list")?;
    anyhow::ensure!(
        out.status.success(),
        "cargo fuzz list failed; run `cargo xtask setup`"
    );
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .map(str::to_owned)
        .collect())
}

/// Builds every fuzz target.
pub(crate) fn build() -> Result<()> {
    cmd::run_cmd(fuzz_cmd().args(["fuzz", "build", "-s", "none"]))
}

/// Runs every target for `seconds`, starting from the seed corpus in `fuzz/seeds/`.
pub(crate) fn run(seconds: u64) -> Result<()> {
    for target in targets()? {
        let corpus = cmd::root().join("fuzz/corpus").join(&target);
        std::fs::create_dir_all(&corpus)?;
        let seeds = cmd::root().join("fuzz/seeds").join(&target);
        let mut c = fuzz_cmd();
        c.args(["fuzz", "run", "-s", "none", &target])
            .arg(&corpus)
            .args(seeds.is_dir().then_some(seeds.as_os_str()))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"));
        cmd::run_cmd(&mut c)?;
    }
    Ok(())
}
