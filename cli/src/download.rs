//! `monsoon download`: fetch a torrent with a progress display.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use monsoon_engine::{AddTorrentOptions, Metainfo, Session, SessionConfig};

use crate::limits::{NetArgs, SeedArgs};
use crate::progress::{Progress, init_logging};
use crate::serve::{self, End};

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
    #[command(flatten)]
    net: NetArgs,
    /// Keep seeding once the download is complete (until Ctrl-C or a limit).
    #[arg(long)]
    seed: bool,
    #[command(flatten)]
    seeding: SeedArgs,
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
    let mut opts = AddTorrentOptions::default();
    args.net.apply(&mut cfg, &mut opts);
    let session = match Session::new(cfg.clone()).await {
        Ok(s) => s,
        Err(_) if args.net.port != 0 => {
            cfg.listen_addr.set_port(0);
            Session::new(cfg).await.context("cannot listen for peers")?
        }
        Err(e) => return Err(e).context("cannot listen for peers"),
    };
    let name = meta.name.clone();
    opts.peers = args.peers;
    opts.file_priorities = file_priorities;
    opts.sequential = args.sequential;
    opts.no_trackers = args.no_trackers;
    opts.seed_limits = args.seeding.limits();
    let handle = session.add_torrent(meta, opts).await?;
    let mut progress = Progress::new(args.quiet, &name);
    let result = match serve::wait(&handle, &mut progress, args.seed).await {
        Ok(End::Complete(s) | End::LimitReached(s)) => Ok(s),
        // Interrupted while seeding: the download was done.
        Ok(End::Interrupted(s)) if s.is_complete() => Ok(s),
        Ok(End::Interrupted(_)) => Err(anyhow::anyhow!(
            "interrupted; run the same command again to resume"
        )),
        Err(e) => Err(e),
    };
    progress.finish(result.as_ref().ok());
    session.shutdown().await;
    result.map(|_| ())
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
