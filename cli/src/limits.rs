//! The network and seeding options `download` and `seed` share, and the
//! parsers for rates (`500K`) and durations (`1h30m`).

use std::time::Duration;

use monsoon_engine::{
    AddTorrentOptions, DhtSettings, Encryption, LsdSettings, SeedLimits, SessionConfig,
};

/// Port, rate and peer limits.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct NetArgs {
    /// Port to accept peers on (0: any free port).
    #[arg(long, default_value_t = 6881)]
    pub(crate) port: u16,
    /// Upload limit in bytes per second, with K/M/G suffixes (powers of 1024); 0: none.
    #[arg(long, value_name = "RATE", default_value = "0", value_parser = parse_rate)]
    max_upload_rate: u64,
    /// Download limit in bytes per second, like --max-upload-rate; 0: none.
    #[arg(long, value_name = "RATE", default_value = "0", value_parser = parse_rate)]
    max_download_rate: u64,
    /// Most peer connections for the torrent (default 100, fewer when the
    /// process may open few files).
    #[arg(long, value_name = "N")]
    max_peers: Option<usize>,
    /// Do not use the DHT (trackers and given peers only).
    #[arg(long)]
    no_dht: bool,
    /// Join the DHT through this node instead of the public routers (repeatable).
    #[arg(long, value_name = "HOST:PORT")]
    dht_bootstrap: Vec<String>,
    /// Message stream encryption (MSE/PE): `prefer` dials encrypted, falls
    /// back to plaintext and accepts both; `require` uses RC4 only;
    /// `disable` plaintext only.
    #[arg(long, value_name = "MODE", default_value = "prefer", value_parser = parse_encryption)]
    encryption: Encryption,
    /// Do not look for peers on the local network (BEP 14 local service discovery).
    #[arg(long)]
    no_lsd: bool,
    /// Announce on the local network through the interface with this IPv4
    /// address (default: the system's choice).
    #[arg(long, value_name = "IP")]
    lsd_interface: Option<std::net::Ipv4Addr>,
}

impl NetArgs {
    pub(crate) fn apply(&self, cfg: &mut SessionConfig, opts: &mut AddTorrentOptions) {
        cfg.listen_addr.set_port(self.port);
        if let Some(n) = self.max_peers {
            cfg.max_peers_per_torrent = n.max(1);
            cfg.max_peers = cfg.max_peers.max(n);
        }
        opts.max_upload_rate = self.max_upload_rate;
        opts.max_download_rate = self.max_download_rate;
        cfg.encryption = self.encryption;
        if !self.no_dht {
            let mut dht = DhtSettings::default();
            if !self.dht_bootstrap.is_empty() {
                dht.bootstrap.clone_from(&self.dht_bootstrap);
            }
            cfg.dht = Some(dht);
        }
        if !self.no_lsd {
            let mut lsd = LsdSettings::default();
            if let Some(ip) = self.lsd_interface {
                lsd.interface_v4 = ip;
            }
            cfg.lsd = Some(lsd);
        }
    }
}

/// Where fast-resume data is kept.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StateArgs {
    /// Folder for resume data (default: $XDG_STATE_HOME/monsoon, else
    /// ~/.local/state/monsoon); a re-run trusts files that did not change.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<std::path::PathBuf>,
    /// How often resume data is saved while it changes.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    resume_interval: Duration,
}

impl StateArgs {
    /// Sets the resume file of the torrent `info_hash_hex` and the interval.
    pub(crate) fn apply(
        &self,
        info_hash_hex: &str,
        cfg: &mut SessionConfig,
        opts: &mut AddTorrentOptions,
    ) {
        cfg.resume_interval = self.resume_interval.max(Duration::from_millis(10));
        let dir = self.state_dir.clone().or_else(default_state_dir);
        if let (Some(dht), Some(d)) = (cfg.dht.as_mut(), &dir) {
            dht.state_file = Some(d.join("dht.state"));
        }
        opts.resume_file = dir.map(|d| d.join("resume").join(format!("{info_hash_hex}.resume")));
    }
}

/// `$XDG_STATE_HOME/monsoon`, else `~/.local/state/monsoon`.
pub(crate) fn default_state_dir() -> Option<std::path::PathBuf> {
    let xdg = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty());
    match xdg {
        Some(d) => Some(std::path::PathBuf::from(d).join("monsoon")),
        None => std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(|h| std::path::PathBuf::from(h).join(".local/state/monsoon")),
    }
}

/// `prefer`, `require` or `disable`.
pub(crate) fn parse_encryption(s: &str) -> Result<Encryption, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "prefer" => Ok(Encryption::Prefer),
        "require" | "required" => Ok(Encryption::Require),
        "disable" | "disabled" => Ok(Encryption::Disable),
        _ => Err(format!(
            "`{s}` is not an encryption mode (prefer, require, disable)"
        )),
    }
}

/// When to stop seeding.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SeedArgs {
    /// Stop seeding once uploaded / size reaches this ratio (e.g. 2.0).
    #[arg(long, value_name = "R", value_parser = parse_ratio)]
    ratio: Option<f64>,
    /// Stop seeding after this long (e.g. 90s, 30m, 2h, 1d, 1h30m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    seed_time: Option<Duration>,
}

impl SeedArgs {
    pub(crate) fn limits(&self) -> SeedLimits {
        SeedLimits::new(self.ratio, self.seed_time)
    }
}

/// A rate: bytes per second, with an optional `K`, `M` or `G` suffix
/// (powers of 1024) and an optional trailing `B` or `/s`; `0` is no limit.
pub(crate) fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim().trim_end_matches("/s").trim_end_matches(['b', 'B']);
    let (digits, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    let n: f64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a rate (e.g. 0, 500K, 2M, 1.5M)"))?;
    if !n.is_finite() || n < 0.0 {
        return Err(format!("`{s}` is not a rate (e.g. 0, 500K, 2M, 1.5M)"));
    }
    let bytes = n * mult as f64;
    if bytes > u64::MAX as f64 / 2.0 {
        return Err(format!("rate `{s}` is too large"));
    }
    Ok(bytes as u64)
}

/// A duration: a sequence of numbers with units `d`, `h`, `m`, `s`, `ms`
/// (`1h30m`, `90s`, `500ms`); a bare number is seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration (e.g. 90s, 30m, 2h, 1d, 1h30m, 500ms)");
    let t = s.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total_ms: u64 = 0;
    let mut rest = t;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let ms = match &rest[..unit_len] {
            "d" => 86_400_000,
            "h" => 3_600_000,
            "m" => 60_000,
            "s" => 1000,
            "ms" => 1,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total_ms = n
            .checked_mul(ms)
            .and_then(|v| total_ms.checked_add(v))
            .ok_or_else(bad)?;
    }
    Ok(Duration::from_millis(total_ms))
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err(format!("`{s}` is not a ratio (e.g. 1.0, 2.5)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("0"), Ok(0));
        assert_eq!(parse_rate("500K"), Ok(500 * 1024));
        assert_eq!(parse_rate("2M"), Ok(2 << 20));
        assert_eq!(parse_rate("1.5m"), Ok(3 << 19));
        assert_eq!(parse_rate("100KB/s"), Ok(100 * 1024));
        assert_eq!(parse_rate("12345"), Ok(12345));
        for bad in ["", "fast", "-1K", "1X", "inf", "NaN", "99999999999G"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn encryption_modes() {
        assert_eq!(parse_encryption("prefer"), Ok(Encryption::Prefer));
        assert_eq!(parse_encryption("Require"), Ok(Encryption::Require));
        assert_eq!(parse_encryption("disable"), Ok(Encryption::Disable));
        for bad in ["", "rc4", "on", "yes"] {
            assert!(parse_encryption(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        for bad in ["", "h", "1x", "1h30", "99999999999999999999d", "-5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
