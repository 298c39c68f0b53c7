//! `monsoon create`: make a .torrent from a file or a folder.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use monsoon_metainfo::{CreateOptions, MetaVersion, Metainfo, create_torrent};

use crate::units;

/// Arguments of `monsoon create`.
#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// The file or folder to share.
    path: PathBuf,
    /// Tracker URL. Each -t is one tier; separate URLs of the same tier with
    /// commas (`-t udp://a:1,udp://b:1`).
    #[arg(short = 't', long = "tracker", value_name = "URL")]
    trackers: Vec<String>,
    /// Web seed URL (BEP 19); may be repeated.
    #[arg(short = 'w', long = "web-seed", value_name = "URL")]
    web_seeds: Vec<String>,
    /// Piece length: bytes (262144, 256K, 1M) or a power of two exponent
    /// (18 = 256 KiB, as mktorrent's -l). Default: 16 KiB–16 MiB, aiming at
    /// no more than about 2000 pieces.
    #[arg(short = 'l', long = "piece-length", value_name = "PIECE_LENGTH",
          value_parser = units::parse_piece_length)]
    piece_length: Option<u32>,
    /// Where to write the torrent (default: NAME.torrent in the current folder).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,
    /// Set the private flag (BEP 27: no DHT, no peer exchange).
    #[arg(long)]
    private: bool,
    /// A comment stored in the torrent.
    #[arg(short = 'c', long)]
    comment: Option<String>,
    /// Overwrite OUT if it exists.
    #[arg(short = 'f', long)]
    force: bool,
    /// Hashing threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Leave out the creation date (byte-identical output for the same data).
    #[arg(long)]
    no_date: bool,
    /// Make a BitTorrent v1 torrent only (BEP 3: SHA-1 pieces, no padding
    /// between files), for clients that cannot load hybrids (Transmission
    /// 3, aria2 1.36).
    #[arg(long, conflicts_with_all = ["v2", "hybrid"])]
    v1: bool,
    /// Make a BitTorrent v2 torrent only (BEP 52: per-file SHA-256 merkle
    /// trees), which v1-only clients cannot load.
    #[arg(long, conflicts_with = "hybrid")]
    v2: bool,
    /// Make a hybrid v1 + v2 torrent, loadable by v1-only and v2 clients.
    /// This is the default, as in libtorrent and qBittorrent; the flag is
    /// accepted for scripts that say it.
    #[arg(long)]
    hybrid: bool,
}

pub(crate) fn run(args: CreateArgs) -> anyhow::Result<()> {
    let mut trackers = Vec::new();
    for t in &args.trackers {
        let tier: Vec<String> = t
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        if tier.is_empty() {
            bail!("empty tracker URL in `-t {t}`");
        }
        if let Some(bad) = tier.iter().find(|u| !u.contains("://")) {
            bail!("tracker `{bad}` is not a URL (expected e.g. http://host/announce)");
        }
        trackers.push(tier);
    }
    let creation_date = if args.no_date {
        None
    } else {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok())
    };
    let opts = CreateOptions {
        trackers,
        url_list: args.web_seeds.clone(),
        piece_length: args.piece_length,
        private: args.private,
        comment: args.comment.clone(),
        created_by: Some(concat!("monsoon/", env!("CARGO_PKG_VERSION")).to_owned()),
        creation_date,
        threads: args.threads,
        // clap rejects any two of the three flags together.
        version: match (args.v1, args.v2, args.hybrid) {
            (true, _, _) => MetaVersion::V1,
            (_, true, _) => MetaVersion::V2,
            (_, _, _hybrid) => MetaVersion::Hybrid,
        },
    };
    let bytes = create_torrent(&args.path, &opts)?;
    let meta = Metainfo::from_bytes(&bytes).context("the created torrent does not parse")?;
    let out = match &args.output {
        Some(o) => o.clone(),
        None => PathBuf::from(format!("{}.torrent", meta.name)),
    };
    write_out(&out, &bytes, args.force)?;
    let files = meta.files.iter().filter(|f| !f.is_padding()).count();
    let mut stdout = std::io::stdout().lock();
    let hashes = match (meta.version, meta.info_hash_v2_hex()) {
        (MetaVersion::V1, _) | (_, None) => format!("info-hash {}", meta.info_hash_hex()),
        (MetaVersion::V2, Some(v2)) => format!("v2 info-hash {v2}"),
        (MetaVersion::Hybrid, Some(v2)) => {
            format!("info-hash {}, v2 info-hash {v2}", meta.info_hash_hex())
        }
    };
    crate::info::quiet_pipe(writeln!(
        stdout,
        "{}: {} ({} in {files} file{}, {} pieces of {}), {hashes}",
        out.display(),
        meta.name,
        units::size(meta.total_length),
        if files == 1 { "" } else { "s" },
        meta.piece_count(),
        units::size(u64::from(meta.piece_length)),
    ))
}

fn write_out(out: &Path, bytes: &[u8], force: bool) -> anyhow::Result<()> {
    let mut o = OpenOptions::new();
    o.write(true);
    if force {
        o.create(true).truncate(true);
    } else {
        o.create_new(true);
    }
    let mut f = o.open(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{}: already exists (use --force to overwrite)",
                out.display()
            )
        } else {
            anyhow::Error::new(e).context(out.display().to_string())
        }
    })?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| out.display().to_string())
}
