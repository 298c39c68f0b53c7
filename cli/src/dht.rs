//! `monsoon dht`: runs a DHT node on its own — from the routing table the
//! last run saved — joins the DHT, optionally looks for the peers of an
//! info-hash, stays up a while answering others if asked, then prints the
//! routing table and traffic counters and saves the table for next time.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use monsoon_dht::{Dht, DhtConfig, SavedState, Stats};
use serde_json::json;

use crate::limits::{default_state_dir, parse_duration};
use crate::progress::init_logging;

/// The longest the join and the lookup may each take.
const STEP_LIMIT: Duration = Duration::from_secs(30);

/// Arguments of `monsoon dht`.
#[derive(Debug, clap::Args)]
pub(crate) struct DhtArgs {
    /// UDP port of the node (0: any free port).
    #[arg(long, default_value_t = 6881)]
    port: u16,
    /// Join through this node instead of the public routers (repeatable);
    /// the nodes saved by the last run are tried as well.
    #[arg(long, value_name = "HOST:PORT")]
    bootstrap: Vec<String>,
    /// Join nobody: only answer the nodes that come (a bootstrap node for
    /// a private test network).
    #[arg(long, conflicts_with = "bootstrap")]
    alone: bool,
    /// Look for the peers of this info-hash (40 hex digits) or magnet link.
    #[arg(long, value_name = "HASH")]
    get_peers: Option<String>,
    /// Stay up this long before printing (answering queries meanwhile;
    /// Ctrl-C ends it early), e.g. 30s, 10m.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    stay: Duration,
    /// Folder of the saved routing table (default: $XDG_STATE_HOME/monsoon,
    /// shared with `download` and `seed`).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: DhtArgs) -> Result<()> {
    init_logging();
    let target = args.get_peers.as_deref().map(info_hash).transpose()?;
    let state_file = args
        .state_dir
        .clone()
        .or_else(default_state_dir)
        .map(|d| d.join("dht.state"));
    let mut config = DhtConfig::default();
    if args.alone {
        config.bootstrap.clear();
    } else {
        if !args.bootstrap.is_empty() {
            config.bootstrap.clone_from(&args.bootstrap);
        }
        config.state = state_file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| SavedState::decode(&b).ok());
    }
    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, args.port));
    let dht = Dht::bind(addr, config)
        .await
        .with_context(|| format!("cannot run a DHT node on UDP port {}", args.port))?;
    eprintln!("DHT node on UDP port {}", dht.local_addr().port());
    if !args.alone {
        match tokio::time::timeout(STEP_LIMIT, dht.bootstrap()).await {
            Ok(Ok(done)) => eprintln!("joined: {} nodes answered", done.closest.len()),
            Ok(Err(e)) => eprintln!("join failed: {e}"),
            Err(_) => eprintln!("join still running after {}s", STEP_LIMIT.as_secs()),
        }
    }
    let mut found = Vec::new();
    if let Some(hash) = target {
        let search = dht.get_peers(hash).await?;
        if let Ok(Ok((peers, _))) = tokio::time::timeout(STEP_LIMIT, search.collect()).await {
            found = peers;
        }
    }
    if !args.stay.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(args.stay) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    let stats = dht.stats().await?;
    if !args.alone {
        if let Some(file) = &state_file {
            save(&dht, file).await;
        }
    }
    dht.shutdown().await;
    let port = dht.local_addr().port();
    if args.json {
        let peers: Vec<String> = found.iter().map(ToString::to_string).collect();
        let mut v = stats_json(&stats, port);
        if let Some(hash) = &args.get_peers {
            v["get_peers"] = json!({ "target": hash, "peers": peers });
        }
        crate::info::quiet_pipe(print_line(&serde_json::to_string_pretty(&v)?))
    } else {
        let mut text = stats_text(&stats, port);
        if let Some(hash) = target {
            text.push_str(&format!("peers of {}  {}\n", hex(&hash), found.len()));
            for p in &found {
                text.push_str(&format!("  {p}\n"));
            }
        }
        crate::info::quiet_pipe(print_line(text.trim_end()))
    }
}

fn print_line(s: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{s}")
}

/// Writes the routing table to `file` (atomically: a temporary file, then
/// a rename); a failure is reported, not fatal.
async fn save(dht: &Dht, file: &std::path::Path) {
    let Ok(state) = dht.save().await else {
        return;
    };
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = file.with_extension("tmp");
    let written = std::fs::write(&tmp, state.encode()).and_then(|()| std::fs::rename(&tmp, file));
    if let Err(e) = written {
        eprintln!(
            "warning: cannot save the routing table to {}: {e}",
            file.display()
        );
    }
}

/// An info-hash from 40 hex digits or a magnet link.
fn info_hash(s: &str) -> Result<[u8; 20]> {
    if s.starts_with("magnet:") {
        let m = monsoon_metainfo::Magnet::parse(s).context("invalid magnet link")?;
        if !m.has_v1 {
            bail!("the magnet link has no v1 (btih) info-hash");
        }
        return Ok(m.info_hash);
    }
    let b = s.as_bytes();
    if b.len() != 40 || !s.is_ascii() {
        bail!("`{s}` is not an info-hash (40 hex digits) nor a magnet link");
    }
    let mut out = [0u8; 20];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
            .with_context(|| format!("`{s}` is not an info-hash (40 hex digits)"))?;
    }
    Ok(out)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn stats_json(s: &Stats, port: u16) -> serde_json::Value {
    json!({
        "port": port,
        "id": hex(&s.id.0),
        "nodes_v4": s.nodes_v4, "good_v4": s.good_v4, "buckets_v4": s.buckets_v4,
        "nodes_v6": s.nodes_v6, "good_v6": s.good_v6, "buckets_v6": s.buckets_v6,
        "queries_in": s.queries_in, "queries_out": s.queries_out,
        "responses_in": s.responses_in, "responses_out": s.responses_out,
        "errors_in": s.errors_in, "errors_out": s.errors_out,
        "timeouts": s.timeouts, "rate_limited": s.rate_limited,
        "decode_errors": s.decode_errors, "bad_tokens": s.bad_tokens,
        "stored_info_hashes": s.info_hashes, "stored_peers": s.stored_peers,
        "external_ip": s.external_ip.map(|ip| ip.to_string()),
    })
}

fn stats_text(s: &Stats, port: u16) -> String {
    let mut t = String::new();
    t.push_str(&format!(
        "node id      {} (UDP port {port})\n",
        hex(&s.id.0)
    ));
    t.push_str(&format!(
        "IPv4 table   {} nodes ({} good) in {} buckets\n",
        s.nodes_v4, s.good_v4, s.buckets_v4
    ));
    t.push_str(&format!(
        "IPv6 table   {} nodes ({} good) in {} buckets\n",
        s.nodes_v6, s.good_v6, s.buckets_v6
    ));
    t.push_str(&format!(
        "queries      {} sent, {} answered ({} timed out, {} errors); {} received\n",
        s.queries_out, s.responses_in, s.timeouts, s.errors_in, s.queries_in
    ));
    t.push_str(&format!(
        "dropped      {} over the rate limit, {} not KRPC, {} bad tokens\n",
        s.rate_limited, s.decode_errors, s.bad_tokens
    ));
    t.push_str(&format!(
        "peer store   {} peers for {} info-hashes\n",
        s.stored_peers, s.info_hashes
    ));
    if let Some(ip) = s.external_ip {
        t.push_str(&format!("external IP  {ip}\n"));
    }
    t
}
