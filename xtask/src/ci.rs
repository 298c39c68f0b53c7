//! `cargo xtask ci`: everything a submission must pass, in order.
use std::process::Command;

use anyhow::Result;

use crate::{cmd, fuzz, setup};

pub(crate) fn run() -> Result<()> {
    setup::run()?;
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
    println!("xtask ci: all steps passed");
    Ok(())
}
