//! `monsoon seed`: verify a torrent's data on disk and serve it until
//! Ctrl-C, SIGTERM or a seeding limit.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use monsoon_engine::{AddTorrentOptions, Session, SessionConfig, TorrentState};

use crate::limits::{NetArgs, SeedArgs, StateArgs};
use crate::progress::{Progress, init_logging};
use crate::serve::{self, End};

/// Arguments of `monsoon seed`.
#[derive(Debug, clap::Args)]
pub(crate) struct SeedCmdArgs {
    /// The .torrent file (`-` for stdin).
    torrent: PathBuf,
    /// Folder that holds the torrent's data (its file or folder is DIR/NAME).
    #[arg(short = 'd', long = "dir", default_value = ".")]
    dir: PathBuf,
    /// Seed what is valid even if files are missing or damaged.
    #[arg(long)]
    partial: bool,
    /// Connect to this peer as well (repeatable).
    #[arg(long = "peer", value_name = "IP:PORT")]
    peers: Vec<SocketAddr>,
    /// Do not contact the torrent's trackers.
    #[arg(long)]
    no_trackers: bool,
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    seeding: SeedArgs,
    #[command(flatten)]
    state: StateArgs,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
}

/// Seeds; `fd_limit` is the process's limit on open files (raised at
/// start), which sizes the peer and open-file limits.
pub(crate) async fn run(args: SeedCmdArgs, fd_limit: Option<u64>) -> Result<()> {
    init_logging();
    let meta = crate::info::load(&args.torrent)?;
    if !args.dir.is_dir() {
        bail!("{} is not a folder", args.dir.display());
    }
    let mut cfg = SessionConfig::new(&args.dir);
    // Descriptor-bound limits first; explicit options (--max-peers) win.
    if let Some(limit) = fd_limit {
        cfg = cfg.fit_fd_limit(limit);
    }
    let mut opts = AddTorrentOptions::default();
    args.net.apply(&mut cfg, &mut opts);
    args.state.apply(&meta.info_hash_hex(), &mut cfg, &mut opts);
    let session = Session::new(cfg).await.context("cannot listen for peers")?;
    opts.peers = args.peers;
    opts.no_trackers = args.no_trackers;
    opts.seed_only = true;
    opts.seed_limits = args.seeding.limits();
    let files = meta.files.clone();
    let (name, piece_length, pieces) = (meta.name.clone(), meta.piece_length, meta.piece_count());
    let handle = session.add_torrent(meta, opts).await?;
    // The check first: say what is missing before serving anything.
    let mut stats = handle.subscribe();
    while stats.borrow_and_update().state == TorrentState::Checking {
        if stats.changed().await.is_err() {
            break;
        }
    }
    let have = handle.pieces().await?;
    let missing = pieces - have.count_ones();
    if missing > 0 {
        let report = damage_report(&files, piece_length, |p| have.get(p));
        if !args.partial || missing == pieces {
            session.shutdown().await;
            bail!(
                "{missing} of {pieces} pieces are missing or damaged ({report}); {}",
                if missing == pieces {
                    "nothing to seed"
                } else {
                    "--partial seeds the rest"
                }
            );
        }
        eprintln!(
            "seeding {} of {pieces} pieces; missing or damaged: {report}",
            pieces - missing
        );
    }
    if !args.quiet {
        eprintln!("seeding {name}, listening on {}", session.listen_addr());
    }
    let mut progress = Progress::new(args.quiet, &name);
    let result = serve::wait(&handle, &mut progress, true).await;
    let last = match &result {
        Ok(End::Complete(s) | End::LimitReached(s) | End::Interrupted(s)) => Some(s.clone()),
        Err(_) => None,
    };
    progress.finish(last.as_ref());
    session.shutdown().await;
    result.map(|_| ())
}

/// "a/x.bin (3 pieces), b.bin (missing)": the files with bad pieces.
fn damage_report(
    files: &monsoon_engine::FileTable,
    piece_length: u32,
    have: impl Fn(u32) -> bool,
) -> String {
    let plen = u64::from(piece_length);
    let mut parts = Vec::new();
    for f in files.iter().filter(|f| !f.is_padding() && f.length() > 0) {
        let first = (f.offset() / plen) as u32;
        let last = ((f.offset() + f.length() - 1) / plen) as u32;
        let bad = (first..=last).filter(|&p| !have(p)).count();
        if bad == (last - first + 1) as usize {
            parts.push(format!("{} (all {bad} pieces)", f.path()));
        } else if bad > 0 {
            parts.push(format!("{} ({bad} pieces)", f.path()));
        }
    }
    const SHOWN: usize = 5;
    let more = parts.len().saturating_sub(SHOWN);
    parts.truncate(SHOWN);
    if more > 0 {
        parts.push(format!("and {more} more files"));
    }
    parts.join(", ")
}
