//! Project tasks: `cargo xtask ci | setup | fuzz [--seconds N]`.
#![allow(clippy::print_stdout)]

mod ci;
mod cmd;
mod fuzz;
mod setup;

use anyhow::{Result, bail};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci                  setup, fmt check, clippy, tests, fuzz build (what .ci/run runs)
  setup               install the Debian packages and cargo tools the tests need
  fuzz [--seconds N]  run every fuzz target for N seconds (default 30)";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(task) = args.first() else {
        println!("{USAGE}");
        return Ok(());
    };
    let rest = &args[1..];
    match task.as_str() {
        "ci" => ci::run(),
        "setup" => setup::run(),
        "fuzz" => fuzz::run(seconds_arg(rest, 30)?),
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
