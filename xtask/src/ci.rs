//! `cargo xtask ci`: everything a submission must pass, in order (the end to
//! end run against real clients last).
use std::process::Command;

use anyhow::Result;

use crate::{cmd, e2e, fuzz, setup};

pub(crate) fn run() -> Result<()> {
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
