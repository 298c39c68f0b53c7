//! `monsoon announce`: announce once (`started`, then `stopped`) to every
//! tracker of a torrent or magnet link and show what each one answered.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use monsoon_metainfo::Magnet;
use monsoon_tracker::{
    AnnounceRequest, AnnounceResponse, ClientConfig, Event, Tracker, TrackerError,
};
use serde_json::{Value, json};

/// Peers listed one per line in text output; the rest are counted.
const MAX_PEERS_SHOWN: usize = 20;

/// Arguments of `monsoon announce`.
#[derive(Debug, clap::Args)]
pub(crate) struct AnnounceArgs {
    /// A .torrent file (`-` for stdin), or a `magnet:?` link.
    #[arg(value_name = "FILE_OR_MAGNET")]
    target: OsString,
    /// Announce to this tracker instead of the torrent's own (repeat for
    /// several; each is its own tier).
    #[arg(long = "tracker", value_name = "URL")]
    trackers: Vec<String>,
    /// The port announced as this client's listening port.
    #[arg(long, default_value_t = 6881)]
    port: u16,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// What one tracker answered to `started` and to `stopped`.
struct Outcome {
    tier: usize,
    url: String,
    started: Result<AnnounceResponse, TrackerError>,
    /// `None` when `started` failed (nothing to stop).
    stopped: Option<Result<AnnounceResponse, TrackerError>>,
}

/// Settings for an interactive tool: a dead tracker costs seconds, not
/// the minutes BEP 15's 15 s base interval would.
fn config() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(15),
        udp_base_timeout: Duration::from_secs(3),
        udp_max_retries: 2,
        ..ClientConfig::default()
    }
}

fn random_u64() -> u64 {
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// `-MO0001-` (BEP 20 style) and 12 random alphanumerics.
fn peer_id() -> [u8; 20] {
    const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut id = *b"-MO0001-000000000000";
    let mut r = random_u64();
    for b in &mut id[8..] {
        *b = ALNUM[(r % ALNUM.len() as u64) as usize];
        r = r.rotate_right(5) ^ 0x9e37_79b9_7f4a_7c15;
    }
    id
}

pub(crate) async fn run(args: AnnounceArgs) -> anyhow::Result<()> {
    let (info_hash, tiers, left) = match args.target.to_str() {
        Some(s) if s.trim_start().to_ascii_lowercase().starts_with("magnet:") => {
            let m = Magnet::parse(s).context("invalid magnet link")?;
            // The size is unknown: announce as a leecher missing something.
            (
                m.info_hash,
                m.trackers.into_iter().map(|t| vec![t]).collect(),
                1,
            )
        }
        _ => {
            let m = crate::info::load(Path::new(&args.target))?;
            (m.info_hash, m.trackers, m.total_length)
        }
    };
    let tiers: Vec<Vec<String>> = if args.trackers.is_empty() {
        tiers
    } else {
        args.trackers.into_iter().map(|t| vec![t]).collect()
    };
    if tiers.iter().all(Vec::is_empty) {
        bail!("no trackers: the torrent lists none; pass --tracker URL");
    }

    let mut req = AnnounceRequest::new(info_hash, peer_id(), args.port);
    req.left = left;
    req.key = random_u64() as u32;
    req.event = Event::Started;
    let config = config();
    let mut tasks = tokio::task::JoinSet::new();
    let mut seed = random_u64();
    for (tier, urls) in tiers.into_iter().enumerate() {
        for url in urls {
            seed = seed.wrapping_add(1);
            let (req, config) = (req.clone(), config.clone());
            tasks.spawn(async move {
                let mut tracker = match Tracker::new(&url, &config, seed) {
                    Ok(t) => t,
                    Err(e) => {
                        return Outcome {
                            tier,
                            url,
                            started: Err(e),
                            stopped: None,
                        };
                    }
                };
                let started = tracker.announce(&req).await;
                let stopped = match &started {
                    Ok(_) => {
                        let mut stop = req;
                        stop.event = Event::Stopped;
                        Some(tracker.announce(&stop).await)
                    }
                    Err(_) => None,
                };
                Outcome {
                    tier,
                    url,
                    started,
                    stopped,
                }
            });
        }
    }
    let mut outcomes = Vec::new();
    while let Some(r) = tasks.join_next().await {
        outcomes.push(r.context("announce task failed")?);
    }
    outcomes.sort_by(|a, b| (a.tier, &a.url).cmp(&(b.tier, &b.url)));

    let out = if args.json {
        to_json(&info_hash, &outcomes).to_string()
    } else {
        to_text(&outcomes)
    };
    let mut stdout = std::io::stdout().lock();
    crate::info::quiet_pipe(writeln!(stdout, "{}", out.trim_end()))?;
    let answered = outcomes.iter().filter(|o| o.started.is_ok()).count();
    if answered == 0 {
        bail!("no tracker answered ({} tried)", outcomes.len());
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn to_json(info_hash: &[u8; 20], outcomes: &[Outcome]) -> Value {
    let trackers: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            let mut v = json!({ "tier": o.tier, "url": o.url });
            match &o.started {
                Ok(r) => {
                    v["ok"] = json!(true);
                    v["interval"] = json!(r.interval.as_secs());
                    v["min_interval"] = json!(r.min_interval.map(|d| d.as_secs()));
                    v["seeders"] = json!(r.complete);
                    v["leechers"] = json!(r.incomplete);
                    v["warning"] = json!(r.warning);
                    v["peers"] = json!(r.peers.iter().map(ToString::to_string).collect::<Vec<_>>());
                }
                Err(e) => {
                    v["ok"] = json!(false);
                    v["error"] = json!(e.to_string());
                }
            }
            if let Some(s) = &o.stopped {
                v["stopped"] = match s {
                    Ok(_) => json!({ "ok": true }),
                    Err(e) => json!({ "ok": false, "error": e.to_string() }),
                };
            }
            v
        })
        .collect();
    json!({ "info_hash": hex(info_hash), "trackers": trackers })
}

/// `90` → `1m30s`, `1800` → `30m`, `45` → `45s`.
fn secs(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s:02}s"),
    }
}

fn opt(n: Option<u32>) -> String {
    n.map_or_else(|| "?".to_owned(), |n| n.to_string())
}

fn to_text(outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    for o in outcomes {
        let _ = writeln!(s, "tier {}  {}", o.tier, o.url);
        match &o.started {
            Ok(r) => {
                let min = r
                    .min_interval
                    .map(|m| format!(" (min {})", secs(m)))
                    .unwrap_or_default();
                let _ = writeln!(s, "  interval:  {}{min}", secs(r.interval));
                let _ = writeln!(
                    s,
                    "  seeders:   {}   leechers: {}",
                    opt(r.complete),
                    opt(r.incomplete)
                );
                if let Some(w) = &r.warning {
                    let _ = writeln!(s, "  warning:   {w}");
                }
                let _ = writeln!(s, "  peers:     {}", r.peers.len());
                for p in r.peers.iter().take(MAX_PEERS_SHOWN) {
                    let _ = writeln!(s, "    {p}");
                }
                if r.peers.len() > MAX_PEERS_SHOWN {
                    let _ = writeln!(s, "    … and {} more", r.peers.len() - MAX_PEERS_SHOWN);
                }
            }
            Err(e) => {
                let _ = writeln!(s, "  error:     {e}");
            }
        }
        match &o.stopped {
            Some(Ok(_)) => s.push_str("  stopped:   ok\n"),
            Some(Err(e)) => {
                let _ = writeln!(s, "  stopped:   error: {e}");
            }
            None => {}
        }
    }
    s
}
