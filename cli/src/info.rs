//! `monsoon info`: what a .torrent file or a magnet link describes.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use monsoon_metainfo::{FileRef, Magnet, MetaVersion, Metainfo};
use serde_json::{Value, json};

use crate::{torrent_file, units};

/// Arguments of `monsoon info`.
#[derive(Debug, clap::Args)]
pub(crate) struct InfoArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// A .torrent file (`-` for stdin), or a `magnet:?` link.
    #[arg(value_name = "FILE_OR_MAGNET")]
    target: OsString,
}

pub(crate) fn run(args: InfoArgs) -> anyhow::Result<()> {
    let stdout = io::stdout();
    // Written as it is made: a torrent of a million files prints tens of
    // megabytes, which need not sit in memory.
    let mut out = BufWriter::new(stdout.lock());
    let written = match args.target.to_str() {
        Some(s) if s.trim_start().to_ascii_lowercase().starts_with("magnet:") => {
            let m = Magnet::parse(s).context("invalid magnet link")?;
            let text = if args.json {
                magnet_json(&m).to_string()
            } else {
                magnet_text(&m)
            };
            writeln!(out, "{}", text.trim_end())
        }
        _ => {
            let path = Path::new(&args.target);
            let m = load(path)?;
            if args.json {
                write_torrent_json(&mut out, &m)
            } else {
                write_torrent_text(&mut out, &m)
            }
        }
    };
    quiet_pipe(written.and_then(|()| out.flush()))
}

/// A closed stdout (`monsoon info x | head -1`) is not an error.
pub(crate) fn quiet_pipe(r: io::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to stdout"),
    }
}

/// Reads (see [`torrent_file::read`]) and parses a .torrent file, `-`
/// for stdin; errors name the file.
pub(crate) fn load(path: &Path) -> anyhow::Result<Metainfo> {
    let bytes = torrent_file::read(path)?;
    Metainfo::from_bytes(&bytes).with_context(|| format!("{}: invalid torrent", path.display()))
}

/// The JSON object of a torrent, keys in sorted order as serde_json
/// writes them, its `files` array written a file at a time.
fn write_torrent_json(out: &mut impl Write, m: &Metainfo) -> io::Result<()> {
    let head = match json!({
        "name": m.name,
        "version": version(m.version),
        "info_hash": m.info_hash_hex(),
        "info_hash_v1": m.version.has_v1().then(|| m.info_hash_hex()),
        "info_hash_v2": m.info_hash_v2_hex(),
        "total_length": m.total_length,
        "piece_length": m.piece_length,
        "piece_count": m.piece_count(),
        "multi_file": m.multi_file,
        "trackers": m.trackers,
        "url_list": m.url_list,
        "private": m.private,
        "creation_date": m.creation_date,
        "comment": m.comment,
        "created_by": m.created_by,
    }) {
        Value::Object(head) => head,
        _ => serde_json::Map::new(),
    };
    let mut keys: Vec<&str> = head.keys().map(String::as_str).chain(["files"]).collect();
    keys.sort_unstable();
    out.write_all(b"{")?;
    for (n, key) in keys.into_iter().enumerate() {
        if n > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b":")?;
        match head.get(key) {
            Some(v) => serde_json::to_writer(&mut *out, v)?,
            None => {
                out.write_all(b"[")?;
                for f in &m.files {
                    if f.index() > 0 {
                        out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut *out, &file_json(m, f))?;
                }
                out.write_all(b"]")?;
            }
        }
    }
    out.write_all(b"}\n")
}

/// One element of `files`.
fn file_json(m: &Metainfo, f: FileRef<'_>) -> Value {
    let mut v = json!({ "path": f.path().to_string(), "length": f.length() });
    if f.is_padding() {
        v["padding"] = json!(true);
    }
    if f.is_executable() {
        v["executable"] = json!(true);
    }
    if f.is_hidden() {
        v["hidden"] = json!(true);
    }
    if let Some(target) = f.symlink() {
        v["symlink"] = json!(target.to_string());
    }
    if let Some(root) = f.pieces_root() {
        v["pieces_root"] = json!(hex(root));
        v["piece_layer"] = json!(m.piece_layer(f.index()).is_some());
    }
    v
}

/// `v1`, `v2` or `hybrid`.
fn version(v: MetaVersion) -> &'static str {
    match v {
        MetaVersion::V1 => "v1",
        MetaVersion::V2 => "v2",
        MetaVersion::Hybrid => "hybrid",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The text description of a torrent, its files written a line at a time.
fn write_torrent_text(out: &mut impl Write, m: &Metainfo) -> io::Result<()> {
    let mut s = String::new();
    let _ = writeln!(s, "name:          {}", m.name);
    let _ = writeln!(s, "version:       {}", version(m.version));
    if m.version.has_v1() {
        let _ = writeln!(s, "info-hash:     {}", m.info_hash_hex());
    }
    if let Some(v2) = m.info_hash_v2_hex() {
        let _ = writeln!(s, "info-hash v2:  {v2}");
    }
    let _ = writeln!(
        s,
        "total size:    {} ({} bytes)",
        units::size(m.total_length),
        m.total_length
    );
    let _ = writeln!(
        s,
        "piece length:  {} ({} bytes)",
        units::size(u64::from(m.piece_length)),
        m.piece_length
    );
    let _ = writeln!(s, "pieces:        {}", m.piece_count());
    let _ = writeln!(s, "private:       {}", if m.private { "yes" } else { "no" });
    if let Some(d) = m.creation_date {
        let _ = writeln!(s, "created:       {}", units::utc(d));
    }
    if let Some(c) = &m.created_by {
        let _ = writeln!(s, "created by:    {c}");
    }
    if let Some(c) = &m.comment {
        let _ = writeln!(s, "comment:       {c}");
    }
    if m.trackers.is_empty() {
        let _ = writeln!(s, "trackers:      none");
    } else {
        let _ = writeln!(s, "trackers:");
        for (i, tier) in m.trackers.iter().enumerate() {
            let _ = writeln!(s, "  tier {}: {}", i + 1, tier.join(", "));
        }
    }
    if !m.url_list.is_empty() {
        let _ = writeln!(s, "web seeds:");
        for u in &m.url_list {
            let _ = writeln!(s, "  {u}");
        }
    }
    let padding = m.files.iter().filter(|f| f.is_padding()).count();
    let shown = m.files.len() - padding;
    let _ = write!(s, "files ({shown}");
    if padding > 0 {
        let _ = write!(s, ", plus {padding} padding");
    }
    let _ = writeln!(s, "):");
    out.write_all(s.as_bytes())?;
    for f in m.files.iter().filter(|f| !f.is_padding()) {
        write!(out, "  {:>12}  {}", units::size(f.length()), f.path())?;
        if let Some(target) = f.symlink() {
            write!(out, " -> {target}")?;
        }
        if let Some(root) = f.pieces_root() {
            write!(out, "  root {}", hex(root))?;
        }
        writeln!(out)?;
    }
    if m.version.has_v2() && !m.has_piece_layers() {
        writeln!(out, "piece layers:  missing (to be fetched from peers)")?;
    }
    Ok(())
}

fn magnet_json(m: &Magnet) -> Value {
    let so: Vec<Value> = m
        .select_only
        .iter()
        .map(|r| json!([r.start(), r.end()]))
        .collect();
    // A magnet link does not carry the info dictionary: the sizes and files
    // are unknown (null) until the metadata is fetched from peers. Each `tr`
    // is its own tier, as libtorrent does.
    json!({
        "magnet": true,
        "name": m.display_name,
        "version": version(m.version()),
        "info_hash": m.info_hash_hex(),
        "info_hash_v1": m.has_v1.then(|| m.info_hash_hex()),
        "info_hash_v2": m.info_hash_v2_hex(),
        "total_length": null,
        "piece_length": null,
        "piece_count": null,
        "files": null,
        "trackers": m.trackers.iter().map(|t| vec![t]).collect::<Vec<_>>(),
        "private": null,
        "peers": m.peers,
        "select_only": so,
    })
}

fn magnet_text(m: &Magnet) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "magnet link (files and sizes are known once the metadata is fetched)"
    );
    let _ = writeln!(
        s,
        "name:          {}",
        m.display_name.as_deref().unwrap_or("(none)")
    );
    let _ = writeln!(s, "version:       {}", version(m.version()));
    if m.has_v1 {
        let _ = writeln!(s, "info-hash:     {}", m.info_hash_hex());
    }
    if let Some(v2) = m.info_hash_v2_hex() {
        let _ = writeln!(s, "info-hash v2:  {v2}");
    }
    if m.trackers.is_empty() {
        let _ = writeln!(s, "trackers:      none");
    } else {
        let _ = writeln!(s, "trackers:");
        for (i, t) in m.trackers.iter().enumerate() {
            let _ = writeln!(s, "  tier {}: {t}", i + 1);
        }
    }
    if !m.peers.is_empty() {
        let _ = writeln!(s, "peers:         {}", m.peers.join(", "));
    }
    if !m.select_only.is_empty() {
        let so: Vec<String> = m
            .select_only
            .iter()
            .map(|r| {
                if r.start() == r.end() {
                    r.start().to_string()
                } else {
                    format!("{}-{}", r.start(), r.end())
                }
            })
            .collect();
        let _ = writeln!(s, "select only:   files {}", so.join(","));
    }
    s
}
