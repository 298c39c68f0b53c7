//! `monsoon download`: fetch a torrent with a progress display.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use monsoon_engine::{AddTorrentOptions, Magnet, Metainfo, Session, SessionConfig, TorrentHandle};

use crate::limits::{NetArgs, SeedArgs, StateArgs};
use crate::progress::{Progress, init_logging};
use crate::serve::{self, End};

/// Arguments of `monsoon download`.
#[derive(Debug, clap::Args)]
pub(crate) struct DownloadArgs {
    /// The .torrent file (`-` for stdin), or a magnet link.
    torrent: PathBuf,
    /// For a magnet link: write the .torrent once its metadata arrived.
    #[arg(long, value_name = "FILE")]
    save_torrent: Option<PathBuf>,
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
    #[command(flatten)]
    state: StateArgs,
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

/// Downloads; `fd_limit` is the process's limit on open files (raised at
/// start), which sizes the peer and open-file limits.
pub(crate) async fn run(args: DownloadArgs, fd_limit: Option<u64>) -> Result<()> {
    init_logging();
    let magnet = args
        .torrent
        .to_str()
        .filter(|s| s.starts_with("magnet:"))
        .map(|s| Magnet::parse(s).context("not a valid magnet link"))
        .transpose()?;
    let source = match magnet {
        Some(m) => Source::Magnet(m),
        None => Source::File(crate::info::load(&args.torrent)?),
    };
    let file_priorities = match &source {
        Source::File(meta) if !args.only.is_empty() => Some(only(&args.only, meta)?),
        _ => None,
    };
    let info_hash = match &source {
        Source::File(m) => m.info_hash_hex(),
        Source::Magnet(m) => m.info_hash_hex(),
    };
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let mut cfg = SessionConfig::new(&args.output);
    // Descriptor-bound limits first; explicit options (--max-peers) win.
    if let Some(limit) = fd_limit {
        cfg = cfg.fit_fd_limit(limit);
    }
    let mut opts = AddTorrentOptions::default();
    args.net.apply(&mut cfg, &mut opts);
    args.state.apply(&info_hash, &mut cfg, &mut opts);
    let session = match Session::new(cfg.clone()).await {
        Ok(s) => s,
        Err(_) if args.net.port != 0 => {
            cfg.listen_addr.set_port(0);
            Session::new(cfg).await.context("cannot listen for peers")?
        }
        Err(e) => return Err(e).context("cannot listen for peers"),
    };
    opts.peers = args.peers;
    opts.file_priorities = file_priorities;
    opts.sequential = args.sequential;
    opts.no_trackers = args.no_trackers;
    opts.seed_limits = args.seeding.limits();
    let (handle, name) = match source {
        Source::File(meta) => {
            let name = meta.name.clone();
            (session.add_torrent(meta, opts).await?, name)
        }
        Source::Magnet(magnet) => {
            let name = magnet
                .display_name
                .clone()
                .unwrap_or_else(|| info_hash.clone());
            let trackers = magnet.trackers.clone();
            let handle = session.add_magnet(magnet, opts).await?;
            // Once the metadata is in: --only, --save-torrent.
            let (h, only_patterns, save) =
                (handle.clone(), args.only.clone(), args.save_torrent.clone());
            let added = (!args.quiet).then(std::time::Instant::now);
            tokio::spawn(async move {
                after_metadata(h, only_patterns, save, trackers, added).await;
            });
            (handle, name)
        }
    };
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

/// What to download: a .torrent, or a magnet link.
enum Source {
    File(Metainfo),
    Magnet(Magnet),
}

/// File priorities for `--only`.
fn only(patterns: &[String], meta: &Metainfo) -> Result<Vec<u8>> {
    let prio: Vec<u8> = meta
        .files
        .iter()
        .map(|f| {
            let path = f.path().to_string();
            u8::from(patterns.iter().any(|p| path_matches(p, &path)))
        })
        .collect();
    if prio.iter().all(|p| *p == 0) {
        bail!("no file of the torrent matches {patterns:?}");
    }
    Ok(prio)
}

/// A magnet link's metadata arrived: say how long it took since `added`
/// (unless quiet), apply `--only`, write `--save-torrent`.
async fn after_metadata(
    handle: TorrentHandle,
    patterns: Vec<String>,
    save: Option<PathBuf>,
    trackers: Vec<String>,
    added: Option<std::time::Instant>,
) {
    let mut stats = handle.subscribe();
    let meta = loop {
        if let Some(m) = handle.metainfo() {
            break m;
        }
        if stats.changed().await.is_err() {
            return;
        }
    };
    if let Some(added) = added {
        eprintln!(
            "metadata: {} ({}, {} pieces) after {:.3} s",
            meta.name,
            crate::units::size(meta.total_length),
            meta.piece_count(),
            added.elapsed().as_secs_f64()
        );
    }
    if !patterns.is_empty() {
        match only(&patterns, &meta) {
            Ok(prio) => {
                let _ = handle.set_file_priorities(prio).await;
            }
            Err(e) => eprintln!("warning: {e}; downloading everything"),
        }
    }
    if let Some(path) = save {
        if let Err(e) = std::fs::write(&path, torrent_file(&meta.info_bytes, &trackers)) {
            eprintln!("warning: cannot write {}: {e}", path.display());
        }
    }
}

/// A .torrent holding `info` (the raw info dictionary) and `trackers`.
fn torrent_file(info: &[u8], trackers: &[String]) -> Vec<u8> {
    let bstr = |b: &[u8]| {
        let mut v = format!("{}:", b.len()).into_bytes();
        v.extend_from_slice(b);
        v
    };
    let mut out = b"d".to_vec();
    if let Some(first) = trackers.first() {
        out.extend(bstr(b"announce"));
        out.extend(bstr(first.as_bytes()));
        out.extend(bstr(b"announce-list"));
        out.extend(b"l");
        for t in trackers {
            out.extend(b"l");
            out.extend(bstr(t.as_bytes()));
            out.extend(b"e");
        }
        out.extend(b"e");
    }
    out.extend(bstr(b"info"));
    out.extend_from_slice(info);
    out.push(b'e');
    out
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
