//! `monsoon add | list | pause | resume | rm | status`: a remote for a
//! running `monsoon daemon`, through its `/api/v1` (the session id of the
//! write requests is fetched by the 409 handshake; a password goes as a
//! bearer token).

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::units;

/// Writes to stdout (a closed pipe is not an error).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        crate::info::quiet_pipe(writeln!(std::io::stdout().lock(), $($t)*))?
    }};
}

/// Where the daemon is.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RemoteArgs {
    /// The daemon's URL.
    #[arg(
        long,
        value_name = "URL",
        env = "MONSOON_REMOTE",
        default_value = "http://127.0.0.1:9091"
    )]
    remote: String,
    /// The daemon's password.
    #[arg(long, env = "MONSOON_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

/// `monsoon add`.
#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// A .torrent file (`-` for stdin) or a magnet link.
    torrent: String,
    /// Save into this folder on the daemon's host (inside its allowed folders).
    #[arg(long, value_name = "DIR")]
    save_path: Option<PathBuf>,
    /// Add it paused.
    #[arg(long)]
    paused: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// `monsoon list`.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    /// Print the daemon's JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// `monsoon pause | resume ID`.
#[derive(Debug, clap::Args)]
pub(crate) struct IdArgs {
    /// The torrent's id (see `monsoon list`) or info-hash.
    id: String,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// `monsoon rm`.
#[derive(Debug, clap::Args)]
pub(crate) struct RmArgs {
    /// The torrent's id (see `monsoon list`) or info-hash.
    id: String,
    /// Delete its downloaded data too.
    #[arg(long)]
    delete: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// `monsoon status`.
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    remote: RemoteArgs,
}

/// A connection to the daemon.
struct Client {
    http: reqwest::Client,
    base: String,
    password: Option<String>,
    session_id: Option<String>,
}

impl Client {
    fn new(args: &RemoteArgs) -> Result<Self> {
        let base = args.remote.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            bail!("--remote must be an http:// or https:// URL, not {base:?}");
        }
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()?,
            base,
            password: args.password.clone(),
            session_id: None,
        })
    }

    /// Sends a request (retrying once with the session id on a 409) and
    /// returns the JSON answer (`null` for an empty one).
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<Value> {
        let url = format!("{}/api/v1{path}", self.base);
        for _ in 0..2 {
            let mut req = self.http.request(method.clone(), &url);
            if let Some(p) = &self.password {
                req = req.bearer_auth(p);
            }
            if let Some(sid) = &self.session_id {
                req = req.header("X-Monsoon-Session-Id", sid);
            }
            if let Some((bytes, ctype)) = &body {
                req = req.header("Content-Type", *ctype).body(bytes.clone());
            }
            let resp = req.send().await.map_err(|e| {
                if e.is_connect() {
                    anyhow!(
                        "cannot reach the monsoon daemon at {} (is `monsoon daemon` running? \
                         --remote sets the URL)",
                        self.base
                    )
                } else {
                    anyhow!("{}: {e}", self.base)
                }
            })?;
            let status = resp.status();
            let sid = resp
                .headers()
                .get("x-monsoon-session-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = resp.bytes().await?;
            if status == StatusCode::CONFLICT && self.session_id.is_none() && sid.is_some() {
                self.session_id = sid;
                continue;
            }
            if !status.is_success() {
                let msg = serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|v| v["message"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
                bail!("{msg} ({status})");
            }
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&bytes).context("the daemon's answer is not JSON");
        }
        bail!("the daemon refused its own session id")
    }
}

pub(crate) async fn add(args: AddArgs) -> Result<()> {
    let mut c = Client::new(&args.remote)?;
    let mut query = Vec::new();
    if args.paused {
        query.push("paused=true".to_owned());
    }
    if let Some(p) = &args.save_path {
        let p = p.to_str().context("the save path is not UTF-8")?;
        query.push(format!("save_path={}", encode(p)));
    }
    let path = if query.is_empty() {
        "/torrents".to_owned()
    } else {
        format!("/torrents?{}", query.join("&"))
    };
    let body = if args.torrent.starts_with("magnet:") {
        let j = serde_json::json!({ "magnet": args.torrent });
        (serde_json::to_vec(&j)?, "application/json")
    } else {
        let bytes = crate::torrent_file::read(std::path::Path::new(&args.torrent))?;
        (bytes, "application/x-bittorrent")
    };
    let v = c.call(Method::POST, &path, Some(body)).await?;
    say!(
        "added {} (id {}, {})",
        v["name"].as_str().unwrap_or("?"),
        v["id"],
        v["hash"].as_str().unwrap_or("?")
    );
    Ok(())
}

pub(crate) async fn list(args: ListArgs) -> Result<()> {
    let mut c = Client::new(&args.remote)?;
    let v = c.call(Method::GET, "/torrents", None).await?;
    if args.json {
        say!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let rows = v.as_array().context("the daemon's list is not an array")?;
    say!("{}", table(rows).trim_end());
    Ok(())
}

/// The aligned table of `monsoon list`.
pub(crate) fn table(rows: &[Value]) -> String {
    let header = [
        "ID", "DONE", "SIZE", "STATE", "DOWN", "UP", "RATIO", "PEERS", "ETA", "NAME",
    ];
    let mut cells: Vec<[String; 10]> = vec![header.map(str::to_owned)];
    for t in rows {
        let rate = |k: &str| match t[k].as_u64() {
            Some(0) | None => "-".to_owned(),
            Some(b) => format!("{}/s", units::size(b)),
        };
        let name: String = t["name"].as_str().unwrap_or("?").chars().take(60).collect();
        cells.push([
            t["id"].to_string(),
            format!("{:.1}%", t["progress"].as_f64().unwrap_or(0.0) * 100.0),
            units::size(t["wanted"].as_u64().unwrap_or(0)),
            t["state"].as_str().unwrap_or("?").to_owned(),
            rate("download_rate"),
            rate("upload_rate"),
            format!("{:.2}", t["ratio"].as_f64().unwrap_or(0.0)),
            t["peers"].to_string(),
            t["eta"].as_u64().map_or_else(|| "-".to_owned(), eta),
            name.replace(|c: char| c.is_control(), "?"),
        ]);
    }
    let mut widths = [0usize; 10];
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &cells {
        let mut line = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            let pad = w - c.chars().count();
            match i {
                // Text columns to the left, numbers to the right.
                3 | 9 => {
                    line.push_str(c);
                    if i != 9 {
                        line.push_str(&" ".repeat(pad));
                    }
                }
                _ => {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(c);
                }
            }
            if i != 9 {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn eta(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

pub(crate) async fn pause(args: IdArgs) -> Result<()> {
    let mut c = Client::new(&args.remote)?;
    let id = encode(&args.id);
    c.call(Method::POST, &format!("/torrents/{id}/pause"), None)
        .await?;
    say!("paused {}", args.id);
    Ok(())
}

pub(crate) async fn resume(args: IdArgs) -> Result<()> {
    let mut c = Client::new(&args.remote)?;
    let id = encode(&args.id);
    c.call(Method::POST, &format!("/torrents/{id}/resume"), None)
        .await?;
    say!("resumed {}", args.id);
    Ok(())
}

pub(crate) async fn rm(args: RmArgs) -> Result<()> {
    let mut c = Client::new(&args.remote)?;
    let id = encode(&args.id);
    let q = if args.delete { "?delete_data=true" } else { "" };
    c.call(Method::DELETE, &format!("/torrents/{id}{q}"), None)
        .await?;
    say!(
        "removed {}{}",
        args.id,
        if args.delete { " and its data" } else { "" }
    );
    Ok(())
}

pub(crate) async fn status(args: StatusArgs) -> Result<()> {
    let mut c = Client::new(&args.remote)?;
    let s = c.call(Method::GET, "/session", None).await?;
    let st = c.call(Method::GET, "/session/stats", None).await?;
    let l = c.call(Method::GET, "/session/limits", None).await?;
    let limit = |v: &Value| match v.as_u64() {
        Some(0) | None => "none".to_owned(),
        Some(b) => format!("{}/s", units::size(b)),
    };
    say!(
        "daemon:     monsoon {} at {}",
        s["version"].as_str().unwrap_or("?"),
        c.base
    );
    say!(
        "torrents:   {} ({} active, {} paused)",
        st["torrents"],
        st["active"],
        st["paused"]
    );
    say!(
        "rates:      down {}/s, up {}/s",
        units::size(st["download_rate"].as_u64().unwrap_or(0)),
        units::size(st["upload_rate"].as_u64().unwrap_or(0))
    );
    say!(
        "limits:     down {}, up {}",
        limit(&l["download"]),
        limit(&l["upload"])
    );
    say!(
        "this run:   {} down, {} up",
        units::size(st["session"]["downloaded"].as_u64().unwrap_or(0)),
        units::size(st["session"]["uploaded"].as_u64().unwrap_or(0))
    );
    say!("peer port:  {}", s["peer_port"]);
    say!("downloads:  {}", s["download_dir"].as_str().unwrap_or("?"));
    say!("state:      {}", s["state_dir"].as_str().unwrap_or("?"));
    if let Some(problems) = s["problems"].as_array().filter(|p| !p.is_empty()) {
        say!("problems in the state directory:");
        for p in problems {
            say!(
                "  {}: {}; {}",
                p["file"].as_str().unwrap_or("?"),
                p["reason"].as_str().unwrap_or("?"),
                p["action"].as_str().unwrap_or("?")
            );
        }
    }
    Ok(())
}

/// Percent-encodes a path segment or query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_aligned() {
        let rows = vec![
            serde_json::json!({"id": 1, "name": "a.iso", "progress": 0.5, "wanted": 1u64 << 30,
                "state": "downloading", "download_rate": 2048, "upload_rate": 0, "ratio": 0.0,
                "peers": 3, "eta": 95}),
            serde_json::json!({"id": 12, "name": "long name here", "progress": 1.0, "wanted": 10,
                "state": "seeding", "download_rate": 0, "upload_rate": 0, "ratio": 1.5,
                "peers": 0, "eta": null}),
        ];
        let t = table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        // Every column starts at the same place on every line: the name
        // column (last) begins where its header does.
        let at = lines[0].find("NAME").unwrap();
        assert_eq!(&lines[1][at..], "a.iso");
        assert_eq!(&lines[2][at..], "long name here");
        assert!(
            lines[1].contains("50.0%") && lines[1].contains("1m35s"),
            "{t}"
        );
        assert!(
            lines[2].contains("100.0%") && lines[2].contains("1.50"),
            "{t}"
        );
        let ids: Vec<&str> = lines.iter().map(|l| &l[..2]).collect();
        assert_eq!(ids, ["ID", " 1", "12"]);
    }
}
