//! Installs what the tests need on a fresh Debian machine: the real peers and
//! tracker from Debian's packages, and cargo-fuzz; with `--bench`, rqbit too
//! (a long build, so only for the bench: CI runs `setup` without it).
use std::process::Command;

use anyhow::{Result, bail};

use crate::cmd;

/// Debian packages the test suites, e2e and bench use, and a file each installs.
pub(crate) const PACKAGES: &[(&str, &str)] = &[
    ("opentracker", "/usr/bin/opentracker"),
    (
        "python3-libtorrent",
        "/usr/lib/python3/dist-packages/libtorrent.cpython-311-x86_64-linux-gnu.so",
    ),
    ("aria2", "/usr/bin/aria2c"),
    ("mktorrent", "/usr/bin/mktorrent"),
    ("transmission-cli", "/usr/bin/transmission-create"),
    ("transmission-daemon", "/usr/bin/transmission-daemon"),
    ("qbittorrent-nox", "/usr/bin/qbittorrent-nox"),
    ("rtorrent", "/usr/bin/rtorrent"),
];

/// Installs what is missing; `bench` adds rqbit (`cargo install rqbit
/// --locked`), which `cargo xtask bench` then measures too.
pub(crate) fn run(bench: bool) -> Result<()> {
    apt_packages()?;
    if !cmd::have("cargo-fuzz") {
        cmd::run("cargo", &["install", "--locked", "cargo-fuzz"])?;
    }
    if bench && !cmd::have("rqbit") {
        cmd::run("cargo", &["install", "--locked", "rqbit"])?;
    }
    Ok(())
}

/// Reads `setup`'s options: nothing, or `--bench`.
pub(crate) fn parse(args: &[String]) -> Result<bool> {
    match args {
        [] => Ok(false),
        [flag] if flag == "--bench" => Ok(true),
        _ => bail!("setup takes no option but --bench"),
    }
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

fn apt_packages() -> Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .map(|(pkg, _)| *pkg)
        .filter(|pkg| !installed(pkg))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "missing Debian packages: {}\ninstall them as root with:\n  apt-get update && apt-get install -y {}",
            missing.join(" "),
            missing.join(" ")
        );
    }
    cmd::run("apt-get", &["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    cmd::run_cmd(
        Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
