//! `monsoon daemon`: the long-running service (see the monsoon-daemon
//! crate): every torrent of the state directory, an HTTP API and
//! Transmission RPC, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use monsoon_daemon::{Daemon, DaemonConfig};
use monsoon_engine::{DhtSettings, LsdSettings};
use tokio::signal::unix::{SignalKind, signal};

use crate::limits::{default_state_dir, parse_duration};

/// How logs are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// One line of text per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// Arguments of `monsoon daemon`.
#[derive(Debug, clap::Args)]
pub(crate) struct DaemonArgs {
    /// Address of the HTTP API and Transmission RPC. Anything but a
    /// loopback address needs --password or --password-file.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9091")]
    http: SocketAddr,
    /// Folder for the daemon's state: torrents, their settings, resume
    /// data (default: $XDG_STATE_HOME/monsoon, else ~/.local/state/monsoon).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Where torrents are saved unless a client names another allowed
    /// folder (default: ~/Downloads).
    #[arg(long, value_name = "DIR")]
    download_dir: Option<PathBuf>,
    /// Another folder clients may save into or add .torrent files from
    /// (repeatable).
    #[arg(long = "allow-dir", value_name = "DIR")]
    allow_dirs: Vec<PathBuf>,
    /// Port to accept peers on.
    #[arg(long, default_value_t = 6881)]
    port: u16,
    /// Password for the HTTP API (basic auth with any user name, or
    /// Authorization: Bearer PASSWORD).
    #[arg(long, conflicts_with = "password_file")]
    password: Option<String>,
    /// Read the password from this file (its first line).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Log format on stderr (MONSOON_LOG sets the filter, default `info`).
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Do not use the DHT.
    #[arg(long)]
    no_dht: bool,
    /// Do not look for peers on the local network (BEP 14 local service discovery).
    #[arg(long)]
    no_lsd: bool,
    /// Join the DHT through this node instead of the public routers (repeatable).
    #[arg(long, value_name = "HOST:PORT")]
    dht_bootstrap: Vec<String>,
    /// How often resume data is saved while a torrent changes.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    resume_interval: Duration,
}

fn init_logging(format: LogFormat) {
    let filter = std::env::var("MONSOON_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

fn password(args: &DaemonArgs) -> Result<Option<String>> {
    if let Some(p) = &args.password {
        return Ok(Some(p.clone()));
    }
    let Some(file) = &args.password_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("password file {}", file.display()))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        bail!("password file {} is empty", file.display());
    }
    Ok(Some(line.to_owned()))
}

/// Runs the daemon until SIGINT or SIGTERM.
pub(crate) async fn run(args: DaemonArgs, fd_limit: Option<u64>) -> Result<()> {
    init_logging(args.log_format);
    let state_dir = args
        .state_dir
        .clone()
        .or_else(default_state_dir)
        .context("no --state-dir, and neither XDG_STATE_HOME nor HOME is set")?;
    let download_dir = match &args.download_dir {
        Some(d) => d.clone(),
        None => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join("Downloads"))
            .context("no --download-dir, and HOME is not set")?,
    };
    std::fs::create_dir_all(&download_dir)
        .with_context(|| format!("download folder {}", download_dir.display()))?;
    let download_dir = std::fs::canonicalize(&download_dir)?;
    let mut cfg = DaemonConfig::new(&state_dir, &download_dir);
    cfg.http = args.http;
    cfg.password = password(&args)?;
    cfg.allowed_dirs.clone_from(&args.allow_dirs);
    if let Some(limit) = fd_limit {
        cfg.session = cfg.session.fit_fd_limit(limit);
    }
    cfg.session.listen_addr.set_port(args.port);
    cfg.session.resume_interval = args.resume_interval.max(Duration::from_millis(10));
    if !args.no_dht {
        let mut dht = DhtSettings::default();
        if !args.dht_bootstrap.is_empty() {
            dht.bootstrap.clone_from(&args.dht_bootstrap);
        }
        dht.state_file = Some(state_dir.join("dht.state"));
        cfg.session.dht = Some(dht);
    }
    if !args.no_lsd {
        cfg.session.lsd = Some(LsdSettings::default());
    }
    let exposed = !args.http.ip().is_loopback();
    let daemon = Daemon::start(cfg).await?;
    for p in daemon.problems() {
        tracing::warn!("state directory: {p}");
    }
    if exposed {
        tracing::warn!(
            http = %daemon.local_addr(),
            "serving beyond this machine: every request needs the password, and plain HTTP \
             sends it unencrypted (put a TLS proxy in front)"
        );
    }
    tracing::info!(
        http = %format!("http://{}", daemon.local_addr()),
        peer_port = daemon.peer_port().await.unwrap_or(0),
        state_dir = %state_dir.display(),
        download_dir = %download_dir.display(),
        "monsoon daemon listening"
    );
    let mut term = signal(SignalKind::terminate())?;
    daemon
        .run(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        })
        .await?;
    Ok(())
}
