//! cargo-fuzz targets: build them all, run each for a short fixed time from
//! the committed corpus (`cargo xtask ci`), or for as long as asked
//! (`cargo xtask fuzz --seconds N`).
//!
//! `fuzz/corpus/<target>/` is the committed corpus: a few small hand-made
//! inputs per target, which every run reads and none writes. What runs
//! find goes under `target/fuzz/`, outside the repository:
//! - `target/fuzz/corpus/<target>/`: inputs the long runs found, kept from
//!   one long run to the next (copy a minimised few into the committed
//!   corpus when they are worth it: `cargo fuzz cmin`);
//! - `target/fuzz/ci-corpus/<target>/`: the CI run's, emptied before each
//!   run, so CI always starts from the committed corpus alone;
//! - `target/fuzz/artifacts/<target>/`: inputs that made a target crash,
//!   run out of memory or hang (`crash-…`, `oom-…`, `timeout-…`); a run
//!   that fails prints their paths and how to reproduce.
//!
//! `cargo fuzz run TARGET` by hand with no corpus folder writes into the
//! committed one (cargo-fuzz's default); give it
//! `../target/fuzz/corpus/TARGET corpus/TARGET` instead, as these runs do.
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::cmd;

/// Seconds each target runs in `cargo xtask ci` (9 targets: about 3 min).
pub(crate) const CI_SECONDS: u64 = 20;

/// One input running longer than this many seconds is a failure (a hang).
const INPUT_TIMEOUT: u64 = 10;

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

/// The CI run: every target for [`CI_SECONDS`] from the committed corpus.
pub(crate) fn ci() -> Result<()> {
    run_all(CI_SECONDS, "ci-corpus", true)
}

/// The long run: every target for `seconds`, growing `target/fuzz/corpus/`.
pub(crate) fn run(seconds: u64) -> Result<()> {
    run_all(seconds, "corpus", false)
}

/// Runs every target for `seconds`, writing new inputs to
/// `target/fuzz/SCRATCH/<target>/` (emptied first when `fresh`); runs them
/// all, then fails if any failed, naming the inputs that did it.
fn run_all(seconds: u64, scratch: &str, fresh: bool) -> Result<()> {
    let root = cmd::root();
    let mut failures = Vec::new();
    for target in targets()? {
        let committed = root.join("fuzz/corpus").join(&target);
        ensure!(
            committed.is_dir(),
            "{} is missing: every fuzz target needs a committed corpus of a few small inputs",
            committed.display()
        );
        let found = root.join("target/fuzz").join(scratch).join(&target);
        if fresh && found.exists() {
            fs::remove_dir_all(&found).with_context(|| format!("remove {}", found.display()))?;
        }
        fs::create_dir_all(&found)?;
        let artifacts = root.join("target/fuzz/artifacts").join(&target);
        fs::create_dir_all(&artifacts)?;
        let before = files_in(&artifacts)?;
        let mut c = fuzz_cmd();
        // libFuzzer writes new inputs to the first corpus folder only.
        c.args(["fuzz", "run", "-s", "none", &target])
            .arg(&found)
            .arg(&committed)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-timeout={INPUT_TIMEOUT}"))
            // After cargo-fuzz's own (the last one counts): keep inputs
            // under target/, not in the source tree.
            .arg(format!("-artifact_prefix={}/", artifacts.display()));
        if let Err(e) = cmd::run_cmd(&mut c) {
            let new: Vec<PathBuf> = files_in(&artifacts)?.difference(&before).cloned().collect();
            println!("fuzz: {target} FAILED: {e:#}");
            for input in &new {
                println!("fuzz: {target}: failing input kept at {}", input.display());
                println!(
                    "fuzz:   reproduce: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -s none {target} {})",
                    input.display()
                );
            }
            failures.push(match new.first() {
                Some(input) => format!("{target} (input: {})", input.display()),
                None => format!("{target} (no input saved; see its output above)"),
            });
        }
    }
    if !failures.is_empty() {
        bail!("fuzz targets failed: {}", failures.join(", "));
    }
    Ok(())
}

/// The files directly in `dir`.
fn files_in(dir: &Path) -> Result<BTreeSet<PathBuf>> {
    let mut out = BTreeSet::new();
    for entry in fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_file() {
            out.insert(path);
        }
    }
    Ok(out)
}
