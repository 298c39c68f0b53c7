//! `cargo xtask ci`: everything a submission must pass, in order (the end to
//! end run against real clients last).
use std::process::Command;

use anyhow::Result;

use crate::{cmd, e2e, fuzz, setup};

pub(crate) fn run() -> Result<()> {
    // A CI checkout is built once: incremental caches only double the
    // size of target/ (7 of 18 GiB before), so every cargo run below goes
    // without them.
    // SAFETY: no other thread exists yet; the children inherit the variable.
    unsafe { std::env::set_var("CARGO_INCREMENTAL", "0") };
    setup::run(false)?;
    cmd::run("cargo", &["fmt", "--all", "--", "--check"])?;
    cmd::run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    cmd::run_cmd(Command::new("cargo").args(["test", "--workspace"]))?;
    fuzz::build()?;
    fuzz::ci()?;
    e2e::run(&[])?;
    println!("xtask ci: all steps passed");
    Ok(())
}
