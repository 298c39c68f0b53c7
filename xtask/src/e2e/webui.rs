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
            .args(["create", "--v1"])
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

/// A `qbittorrent-nox` with its own profile, WebUI on `port` (default
/// credentials admin / adminadmin of 4.5), saving into `dir/downloads`.
fn qbittorrent_nox(dir: &Path, port: u16) -> Result<procs::Proc> {
    let nox = Path::new("/usr/bin/qbittorrent-nox");
    if !nox.exists() {
        bail!(
            "no {} (Debian package qbittorrent-nox; `cargo xtask setup` installs it)",
            nox.display()
        );
    }
    let profile = dir.join("qbt-profile");
    let conf = profile.join("qBittorrent/config");
    std::fs::create_dir_all(&conf)?;
    let peer_port = procs::free_port()?;
    // MultiConnectionsPerIp: otherwise libtorrent keeps one peer per IP,
    // and the tracker's dead 127.0.0.1 entries from earlier cells hid the
    // seeder added by address (stalledDL in the full matrix, 3 runs of 3).
    std::fs::write(
        conf.join("qBittorrent.conf"),
        format!(
            "[LegalNotice]\nAccepted=true\n\n[BitTorrent]\nSession\\DHTEnabled=false\n\
             Session\\LSDEnabled=false\nSession\\PeXEnabled=false\nSession\\Port={peer_port}\n\
             Session\\MultiConnectionsPerIp=true\n\
             Session\\DefaultSavePath={}\nSession\\QueueingSystemEnabled=false\n\n\
             [Preferences]\nWebUI\\Port={port}\nWebUI\\Address=127.0.0.1\n\
             WebUI\\LocalHostAuth=true\nConnection\\PortRangeMin={peer_port}\n\
             Downloads\\SavePath={}\n",
            dir.join("downloads").display(),
            dir.join("downloads").display()
        ),
    )?;
    let mut cmd = Command::new(nox);
    cmd.arg(format!("--profile={}", profile.display()))
        .arg(format!("--webui-port={port}"));
    let proc = procs::Proc::spawn(
        "qbittorrent-nox",
        &mut cmd,
        &dir.join("qbittorrent-nox.log"),
    )?;
    procs::wait_listening("qbittorrent-nox", port, Duration::from_secs(60))?;
    Ok(proc)
}

/// PyPI's qbittorrent-api against the daemon (with a password), then the
/// same script against qbittorrent-nox, and the two runs compared field by
/// field (the table goes to `target/qbt-compare.md`).
pub(super) fn qbittorrent_api(
    bin: &Path,
    torrent: &Path,
    data_dir: &Path,
    facts: &TorrentFacts,
    skip: &str,
    dir: &Path,
) -> Result<String> {
    let python = crate::setup::python_venv()?;
    let seeder = Seeder::libtorrent(torrent, data_dir, &dir.join("seeder"), LtOptions::default())?;
    let peer = seeder.addr().to_string();
    // About 8 s for the whole torrent while the limit is on.
    // A whole number of KiB/s: qBittorrent rounds down to one.
    let limit = (facts.total_length / 8 / 1024).max(16) * 1024;
    let script = |url: &str, user: &str, password: &str, report: &Path, run: &Path| {
        let mut c = Command::new(&python);
        c.arg(super::script("qbt_check.py"))
            .args(["--url", url, "--username", user, "--password", password])
            .arg("--torrent")
            .arg(torrent)
            .args(["--name", &facts.name, "--skip", skip])
            .arg("--content")
            .arg(data_dir.join(&facts.name))
            .args(["--limit", &limit.to_string(), "--peer", &peer])
            .arg("--report")
            .arg(report);
        run_script("qbt_check.py", &mut c, run, Duration::from_secs(300))
    };
    let ours = dir.join("monsoon");
    std::fs::create_dir_all(&ours)?;
    let d = super::daemon::DaemonProc::start(bin, &ours, Some("qbt-secret"))?;
    let url = format!("http://127.0.0.1:{}", d.http);
    let line = script(
        &url,
        "admin",
        "qbt-secret",
        &dir.join("monsoon.json"),
        &ours,
    )?;
    d.stop()?;
    let theirs = dir.join("qbittorrent-nox");
    std::fs::create_dir_all(&theirs)?;
    let port = procs::free_port()?;
    let mut nox = qbittorrent_nox(&theirs, port)?;
    let url = format!("http://127.0.0.1:{port}");
    let result = script(
        &url,
        "admin",
        "adminadmin",
        &dir.join("qbittorrent-nox.json"),
        &theirs,
    );
    nox.stop();
    result.context("the same script against qbittorrent-nox")?;
    let table = crate::cmd::root().join("target/qbt-compare.md");
    let compared = run_script(
        "qbt_compare.py",
        Command::new(&python)
            .arg(super::script("qbt_compare.py"))
            .arg(dir.join("monsoon.json"))
            .arg(dir.join("qbittorrent-nox.json"))
            .arg(&table),
        dir,
        Duration::from_secs(30),
    )?;
    Ok(format!("{line}; {compared}"))
}
