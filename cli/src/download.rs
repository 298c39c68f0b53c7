//! `monsoon download`: fetch a torrent with a progress display.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use monsoon_engine::{AddTorrentOptions, Metainfo, Session, SessionConfig, Stats, TorrentState};

/// Arguments of `monsoon download`.
#[derive(Debug, clap::Args)]
pub(crate) struct DownloadArgs {
    /// The .torrent file.
    torrent: PathBuf,
    /// Folder to download into.
    #[arg(short = 'o', long = "output", default_value = ".")]
    output: PathBuf,
    /// Connect to this peer as well (repeatable); works without any tracker.
    #[arg(long = "peer", value_name = "IP:PORT")]
    peers: Vec<SocketAddr>,
    /// Port to accept peers on (0: any free port).
    #[arg(long, default_value_t = 6881)]
    port: u16,
    /// Only download files whose path matches (glob with * and ?, or a folder prefix); repeatable.
    #[arg(long = "only", value_name = "PATTERN")]
    only: Vec<String>,
    /// Download pieces in order (for streaming).
    #[arg(long)]
    sequential: bool,
    /// Do not contact the torrent's trackers (use --peer).
    #[arg(long)]
    no_trackers: bool,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) async fn run(args: DownloadArgs) -> Result<()> {
    init_logging();
    let bytes = std::fs::read(&args.torrent)
        .with_context(|| format!("cannot read {}", args.torrent.display()))?;
    let meta = Metainfo::from_bytes(&bytes)
        .with_context(|| format!("{} is not a valid torrent", args.torrent.display()))?;
    let file_priorities = if args.only.is_empty() {
        None
    } else {
        let prio: Vec<u8> = meta
            .files
            .iter()
            .map(|f| u8::from(args.only.iter().any(|p| path_matches(p, &f.path.join("/")))))
            .collect();
        if prio.iter().all(|p| *p == 0) {
            bail!("no file of the torrent matches {:?}", args.only);
        }
        Some(prio)
    };
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let mut cfg = SessionConfig::new(&args.output);
    cfg.listen_addr.set_port(args.port);
    let session = match Session::new(cfg.clone()).await {
        Ok(s) => s,
        Err(_) if args.port != 0 => {
            cfg.listen_addr.set_port(0);
            Session::new(cfg).await.context("cannot listen for peers")?
        }
        Err(e) => return Err(e).context("cannot listen for peers"),
    };
    let name = meta.name.clone();
    let mut opts = AddTorrentOptions::default();
    opts.peers = args.peers;
    opts.file_priorities = file_priorities;
    opts.sequential = args.sequential;
    opts.no_trackers = args.no_trackers;
    let handle = session.add_torrent(meta, opts).await?;
    let mut progress = Progress::new(args.quiet, &name);
    let mut stats = handle.subscribe();
    let result = loop {
        tokio::select! {
            changed = stats.changed() => {
                if changed.is_err() {
                    break Err(anyhow::anyhow!("the torrent stopped"));
                }
                let s = stats.borrow_and_update().clone();
                progress.update(&s);
                match s.state {
                    TorrentState::Seeding => break Ok(s),
                    TorrentState::Error => break Err(match s.error {
                        Some(e) => anyhow::Error::new(e),
                        None => anyhow::anyhow!("the torrent failed"),
                    }),
                    _ => {}
                }
            }
            _ = tokio::signal::ctrl_c() => break Err(anyhow::anyhow!("interrupted; run the same command again to resume")),
        }
    };
    progress.finish(result.as_ref().ok());
    session.shutdown().await;
    result.map(|_| ())
}

/// Engine logs on stderr, filtered by `MONSOON_LOG` (e.g. `MONSOON_LOG=debug`); off by default.
fn init_logging() {
    if let Ok(filter) = std::env::var("MONSOON_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// Progress display: a bar on a terminal, a status line every few seconds otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    last_line: Option<std::time::Instant>,
}

impl Progress {
    fn new(quiet: bool, name: &str) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {percent:>3}% {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {prefix}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            plain: !quiet && !terminal,
            last_line: None,
        }
    }

    fn update(&mut self, s: &Stats) {
        if let Some(bar) = &self.bar {
            bar.set_length(s.wanted_bytes);
            bar.set_position(s.done_bytes);
            bar.set_prefix(peers_text(s));
        } else if self.plain
            && self
                .last_line
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(2))
        {
            self.last_line = Some(std::time::Instant::now());
            eprintln!(
                "{:?} {:5.1}% {}/{} {}/s {}",
                s.state,
                s.progress() * 100.0,
                HumanBytes(s.done_bytes),
                HumanBytes(s.wanted_bytes),
                HumanBytes(s.download_rate as u64),
                peers_text(s)
            );
        }
    }

    fn finish(&self, done: Option<&Stats>) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
        if let (Some(s), true) = (done, self.bar.is_some() || self.plain) {
            eprintln!(
                "done: {} verified, {} downloaded, {} wasted",
                HumanBytes(s.done_bytes),
                HumanBytes(s.downloaded),
                HumanBytes(s.wasted)
            );
        }
    }
}

/// "3 peers", or with no peer, why not: the attempts made and the last error.
fn peers_text(s: &Stats) -> String {
    match (&s.last_connect_error, s.peers) {
        (Some((addr, err)), 0) => format!(
            "0 peers ({} attempts, {} waiting; last: {addr}: {err})",
            s.connect_attempts, s.known_peers
        ),
        (None, 0) if s.known_peers == 0 => "0 peers (no peer address yet)".to_string(),
        (_, n) => format!("{n} peers"),
    }
}

/// `*` matches any run of characters (including `/`), `?` one character; a
/// pattern without wildcards also matches everything under it as a folder.
fn path_matches(pattern: &str, path: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        let p = pattern.trim_end_matches('/');
        return path == p || path.starts_with(&format!("{p}/")) || path.ends_with(&format!("/{p}"));
    }
    glob(pattern.as_bytes(), path.as_bytes())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    // Iterative wildcard match with one backtrack point: O(len(p) * len(s)).
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn patterns() {
        assert!(path_matches("*.mkv", "show/ep1.mkv"));
        assert!(!path_matches("*.mkv", "show/ep1.srt"));
        assert!(path_matches("show", "show/ep1.srt"));
        assert!(path_matches("ep?.srt", "ep1.srt"));
        assert!(!path_matches("ep?.srt", "show/ep12.srt"));
        assert!(path_matches("ep1.srt", "show/ep1.srt"));
        assert!(!path_matches("sho", "show/ep1.srt"));
    }
}
