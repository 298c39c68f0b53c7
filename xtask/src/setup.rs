//! Installs what the tests need on a fresh Debian machine: the real peers and
//! tracker from Debian's packages (and chromium, for the web page),
//! cargo-fuzz, and a Python venv under `target/` with PyPI's
//! transmission-rpc and qbittorrent-api (clients the daemon is tested
//! against) and websocket-client (which carries the DevTools protocol to
//! chromium); with `--bench`, rqbit too (a long build, so only for the
//! bench: CI runs `setup` without it).
use std::path::PathBuf;
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
    ("python3-venv", "/usr/lib/python3.11/ensurepip/__init__.py"),
    ("chromium", "/usr/bin/chromium"),
    ("qbittorrent-nox", "/usr/bin/qbittorrent-nox"),
    ("rtorrent", "/usr/bin/rtorrent"),
];

/// PyPI packages of the venv, pinned.
const PYPI: &[&str] = &[
    "transmission-rpc==7.0.12",
    "qbittorrent-api==2026.10.1",
    "websocket-client==1.9.2",
];
/// A module each of them provides, to check the venv has them.
const PYPI_MODULES: &[&str] = &["transmission_rpc", "qbittorrentapi", "websocket"];

/// Installs what is missing; `bench` adds rqbit (`cargo install rqbit
/// --locked`), which `cargo xtask bench` then measures too.
pub(crate) fn run(bench: bool) -> Result<()> {
    apt_packages()?;
    if !cmd::have("cargo-fuzz") {
        cmd::run("cargo", &["install", "--locked", "cargo-fuzz"])?;
    }
    python_venv()?;
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

/// `target/venv`: Debian's Python with the PyPI packages the tests use,
/// made (or completed) when one is missing. Returns its `python`.
pub(crate) fn python_venv() -> Result<PathBuf> {
    let venv = cmd::root().join("target/venv");
    let python = venv.join("bin/python");
    if has_modules(&python) {
        return Ok(python);
    }
    if !python.exists() {
        cmd::run_cmd(
            Command::new("/usr/bin/python3")
                .args(["-m", "venv"])
                .arg(&venv),
        )
        .map_err(|e| {
            e.context("cannot make the Python venv (Debian package python3-venv; `cargo xtask setup` installs it)")
        })?;
    }
    let mut pip = Command::new(venv.join("bin/pip"));
    pip.args(["install", "--quiet", "--disable-pip-version-check"])
        .args(PYPI);
    cmd::run_cmd(&mut pip).map_err(|e| {
        e.context(format!(
            "pip could not install {} into {} (PyPI must be reachable)",
            PYPI.join(" "),
            venv.display()
        ))
    })?;
    if !has_modules(&python) {
        bail!(
            "{} still lacks {} after pip install",
            venv.display(),
            PYPI_MODULES.join(", ")
        );
    }
    Ok(python)
}

fn has_modules(python: &std::path::Path) -> bool {
    python.exists()
        && Command::new(python)
            .arg("-c")
            .arg(format!("import {}", PYPI_MODULES.join(", ")))
            .output()
            .is_ok_and(|o| o.status.success())
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
