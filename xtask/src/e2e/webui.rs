//! The daemon's web page in a real browser, and its qBittorrent API with a
//! client nobody here wrote: Debian's headless `chromium` driven through
//! the DevTools protocol (`xtask/scripts/webui_check.py`), and PyPI's
//! `qbittorrent-api` (`xtask/scripts/qbt_check.py`), each against a
//! `monsoon daemon` downloading from a libtorrent seeder through
//! opentracker.
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::procs;
use super::seeders::{LtOptions, Seeder, TorrentFacts};

/// Where the browser test leaves its screenshots.
pub(crate) const SHOTS: &str = "target/webui";

/// Runs a check script of the venv; returns its `ok ...` line.
fn run_script(script: &str, args: &mut Command, dir: &Path, limit: Duration) -> Result<String> {
    let out = procs::output(args, limit)?;
    let log = dir.join(script.replace(".py", ".log"));
    std::fs::write(&log, &out.1)?;
    if !out.0.success() {
        bail!("{script} failed:\n{}", procs::last_lines(&out.1, 15));
    }
    Ok(out
        .1
        .lines()
        .find(|l| l.starts_with("ok"))
        .with_context(|| format!("{script} printed no `ok` line ({})", log.display()))?
        .to_owned())
}

/// The web page in chromium: add through the file input, watch 100 %,
/// pause, resume, skip `skip`, remove with data, a name made of HTML, the
/// banner while the daemon is down, a login.
pub(super) fn web_ui(
    bin: &Path,
    torrent: &Path,
    data_dir: &Path,
    facts: &TorrentFacts,
    skip: &str,
    dir: &Path,
) -> Result<String> {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        bail!("no /usr/bin/chromium (Debian package chromium; `cargo xtask setup` installs it)");
    }
    let python = crate::setup::python_venv()?;
    // A torrent named like an HTML tag, with no tracker and no seeder.
    let xss_dir = dir.join("xss");
    let xss_name = "<img src=x onerror=alert(1)>";
    std::fs::create_dir_all(xss_dir.join(xss_name))?;
    std::fs::write(xss_dir.join(xss_name).join("<b>bold.txt"), b"x")?;
    let xss_torrent = dir.join("xss.torrent");
    procs::check_output(
        Command::new(bin)
            .arg("create")
            .arg(xss_dir.join(xss_name))
            .arg("-o")
            .arg(&xss_torrent),
        Duration::from_secs(30),
    )?;
    let _seeder = Seeder::libtorrent(torrent, data_dir, &dir.join("seeder"), LtOptions::default())?;
    // About 8 s for the whole torrent while the page limits the rate.
    let kib = (facts.total_length / 8 / 1024).max(16);
    let shots = crate::cmd::root().join(SHOTS);
    run_script(
        "webui_check.py",
        Command::new(&python)
            .arg(super::script("webui_check.py"))
            .arg("--chromium")
            .arg(chromium)
            .arg("--monsoon")
            .arg(bin)
            .arg("--dir")
            .arg(dir)
            .arg("--torrent")
            .arg(torrent)
            .args(["--name", &facts.name])
            .arg("--source")
            .arg(data_dir)
            .args(["--skip", skip])
            .arg("--xss-torrent")
            .arg(&xss_torrent)
            .arg("--shots")
            .arg(&shots)
            .args(["--limit-kib", &kib.to_string()]),
        dir,
        Duration::from_secs(300),
    )
}
