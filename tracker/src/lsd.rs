//! Local Service Discovery (BEP 14): the `BT-SEARCH` announce format and a
//! sans-IO core that decides when to announce which torrents and which
//! received announces to believe.
//!
//! An announce is an HTTP-like request sent to a multicast group:
//!
//! ```text
//! BT-SEARCH * HTTP/1.1\r\n
//! Host: 239.192.152.143:6771\r\n
//! Port: <our listen port>\r\n
//! Infohash: <40 hex digits>\r\n      (one or more)
//! cookie: <opaque>\r\n               (to recognise our own announces)
//! \r\n\r\n
//! ```
//!
//! The peer announced is the datagram's source address with the `Port`.
//! [`LsdCore`] keeps BEP 14's rules: every torrent announced every
//! [`LsdConfig::announce_interval`] (5 minutes), at most one datagram per
//! [`LsdConfig::min_gap`] (1 minute) with as many due info-hashes as fit in
//! [`MAX_LSD_DATAGRAM`] bytes, our own announces ignored, and a rate limit
//! per source address on what we read.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

pub use crate::error::LsdError;

/// The LSD port.
pub const LSD_PORT: u16 = 6771;
/// The IPv4 multicast group (organisation-local scope).
pub const LSD_GROUP_V4: Ipv4Addr = Ipv4Addr::new(239, 192, 152, 143);
/// The IPv6 multicast group (site-local scope), as BEP 14 and libtorrent
/// have it.
pub const LSD_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff15, 0, 0, 0, 0, 0, 0xefc0, 0x988f);
/// The largest datagram we send (BEP 14: stay under the MTU) and the
/// largest we read.
pub const MAX_LSD_DATAGRAM: usize = 1400;
/// Source addresses whose rate we track (the least recently seen is
/// forgotten beyond this).
pub const MAX_LSD_SOURCES: usize = 256;

/// A parsed announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LsdAnnounce {
    /// The port the announcing client listens on.
    pub port: u16,
    /// The torrents it announces.
    pub info_hashes: Vec<[u8; 20]>,
    /// Its cookie, if it sent one.
    pub cookie: Option<String>,
}

/// The `Host` header value for `group`.
fn host(group: SocketAddr) -> String {
    match group {
        SocketAddr::V4(a) => a.to_string(),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

/// The datagram announcing `info_hashes` (all of them: the caller keeps
/// the list short enough, see [`LsdCore`]) to `group`.
pub fn encode_lsd(group: SocketAddr, port: u16, info_hashes: &[[u8; 20]], cookie: &str) -> Vec<u8> {
    let mut s = format!(
        "BT-SEARCH * HTTP/1.1\r\nHost: {}\r\nPort: {port}\r\n",
        host(group)
    );
    for h in info_hashes {
        s.push_str("Infohash: ");
        for b in h {
            let _ = write!(s, "{b:02x}");
        }
        s.push_str("\r\n");
    }
    if !cookie.is_empty() {
        let _ = write!(s, "cookie: {cookie}\r\n");
    }
    s.push_str("\r\n\r\n");
    s.into_bytes()
}

/// Bytes one `Infohash` header takes.
const HASH_LINE: usize = "Infohash: \r\n".len() + 40;

/// Reads an announce. Header names are case-insensitive, unknown headers
/// are ignored (BEP 14 asks for that), `\n` line ends are accepted as well
/// as `\r\n`.
///
/// # Errors
/// An [`LsdError`] saying what is wrong. The size limit bounds the rest:
/// a datagram of [`MAX_LSD_DATAGRAM`] bytes holds at most 28 info-hashes.
pub fn parse_lsd(datagram: &[u8]) -> Result<LsdAnnounce, LsdError> {
    if datagram.len() > MAX_LSD_DATAGRAM {
        return Err(LsdError::TooLong(datagram.len()));
    }
    let text = std::str::from_utf8(datagram).map_err(|_| LsdError::Malformed)?;
    if !text.is_ascii() {
        return Err(LsdError::Malformed);
    }
    // Each line ends with a line feed: what follows the last one is not
    // a line (and an empty line there is not the end of the headers).
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    let mut lines = complete
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request = lines.next().ok_or(LsdError::Malformed)?;
    let mut parts = request.split_ascii_whitespace();
    if parts.next() != Some("BT-SEARCH")
        || parts.next() != Some("*")
        || !parts.next().is_some_and(|v| v.starts_with("HTTP/1."))
        || parts.next().is_some()
    {
        return Err(LsdError::NotBtSearch);
    }
    let (mut port, mut hashes, mut cookie, mut ended) = (None, Vec::new(), None, false);
    for line in lines {
        if line.is_empty() {
            ended = true;
            break;
        }
        let (name, value) = line.split_once(':').ok_or(LsdError::Malformed)?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("port") {
            let p: u16 = value.parse().map_err(|_| LsdError::BadPort)?;
            if p == 0 {
                return Err(LsdError::BadPort);
            }
            port = Some(p);
        } else if name.eq_ignore_ascii_case("infohash") {
            hashes.push(unhex(value).ok_or(LsdError::BadInfohash)?);
        } else if name.eq_ignore_ascii_case("cookie") {
            cookie = Some(value.to_owned());
        }
    }
    if !ended {
        return Err(LsdError::Malformed);
    }
    let port = port.ok_or(LsdError::BadPort)?;
    if hashes.is_empty() {
        return Err(LsdError::NoInfohash);
    }
    Ok(LsdAnnounce {
        port,
        info_hashes: hashes,
        cookie,
    })
}

fn unhex(s: &str) -> Option<[u8; 20]> {
    let b = s.as_bytes();
    if b.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        out[i] = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// When and how much [`LsdCore`] announces and listens.
#[derive(Debug, Clone)]
pub struct LsdConfig {
    /// The group announces go to (also the `Host` header).
    pub group: SocketAddr,
    /// How often each torrent is announced (BEP 14: every 5 minutes).
    pub announce_interval: Duration,
    /// The least time between two datagrams we send (BEP 14: at most one
    /// a minute).
    pub min_gap: Duration,
    /// Datagrams read per source address per minute; more are dropped.
    pub per_source_per_minute: u32,
}

impl LsdConfig {
    /// BEP 14's timings for `group`.
    pub fn new(group: SocketAddr) -> Self {
        Self {
            group,
            announce_interval: Duration::from_secs(5 * 60),
            min_gap: Duration::from_secs(60),
            per_source_per_minute: 20,
        }
    }
}

/// What became of a received datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LsdReceived {
    /// Peers for torrents we announce: (info-hash, peer address).
    Peers(Vec<([u8; 20], SocketAddr)>),
    /// Our own announce, looped back.
    Ours,
    /// The source sent more than its share this minute.
    RateLimited,
    /// Not a usable announce.
    Invalid(LsdError),
}

/// The sans-IO side of LSD for one group: the torrents to announce, when
/// the next datagram may go out, and the per-source rate limit.
///
/// Call order: [`LsdCore::add`]/[`LsdCore::remove`] as torrents come and
/// go; [`LsdCore::poll_send`] whenever [`LsdCore::poll_timeout`] has
/// passed (it returns the datagram to send, if any); [`LsdCore::on_datagram`]
/// for each datagram received.
#[derive(Debug)]
pub struct LsdCore {
    cfg: LsdConfig,
    port: u16,
    cookie: String,
    /// Each torrent and when it was last announced (`None`: never).
    torrents: BTreeMap<[u8; 20], Option<Instant>>,
    /// When we last sent a datagram.
    last_sent: Option<Instant>,
    /// Per source address: the start of its current minute and its count.
    sources: HashMap<IpAddr, (Instant, u32)>,
}

impl LsdCore {
    /// A core announcing our listen `port` with `cookie` (which should be
    /// random per session, so two clients on one host tell theirs apart).
    pub fn new(cfg: LsdConfig, port: u16, cookie: String) -> Self {
        Self {
            cfg,
            port,
            cookie,
            torrents: BTreeMap::new(),
            last_sent: None,
            sources: HashMap::new(),
        }
    }

    /// Starts announcing `info_hash` (soon: it is due at once).
    pub fn add(&mut self, info_hash: [u8; 20]) {
        self.torrents.entry(info_hash).or_insert(None);
    }

    /// Stops announcing `info_hash` and reporting peers for it.
    pub fn remove(&mut self, info_hash: &[u8; 20]) {
        self.torrents.remove(info_hash);
    }

    /// Whether `info_hash` is announced.
    pub fn contains(&self, info_hash: &[u8; 20]) -> bool {
        self.torrents.contains_key(info_hash)
    }

    fn due(&self, now: Instant, last: Option<Instant>) -> bool {
        last.is_none_or(|t| now.saturating_duration_since(t) >= self.cfg.announce_interval)
    }

    /// When [`LsdCore::poll_send`] may next return a datagram (`None`:
    /// nothing to announce); `now` if it may at once.
    pub fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        let due = self
            .torrents
            .values()
            .map(|last| last.map_or(now, |t| t + self.cfg.announce_interval))
            .min()?;
        let gap_end = self.last_sent.map_or(now, |t| t + self.cfg.min_gap);
        Some(due.max(gap_end).max(now))
    }

    /// The datagram to send now, if the gap since the last one has passed
    /// and some torrents are due: the due ones least recently announced
    /// first, as many as fit in [`MAX_LSD_DATAGRAM`] bytes.
    pub fn poll_send(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self
            .last_sent
            .is_some_and(|t| now.saturating_duration_since(t) < self.cfg.min_gap)
        {
            return None;
        }
        let mut due: Vec<([u8; 20], Option<Instant>)> = self
            .torrents
            .iter()
            .filter(|(_, last)| self.due(now, **last))
            .map(|(h, last)| (*h, *last))
            .collect();
        if due.is_empty() {
            return None;
        }
        // Never announced first, then the oldest.
        due.sort_by_key(|(_, last)| *last);
        let fixed = encode_lsd(self.cfg.group, self.port, &[], &self.cookie).len();
        let fit = (MAX_LSD_DATAGRAM - fixed) / HASH_LINE;
        let chosen: Vec<[u8; 20]> = due.iter().take(fit.max(1)).map(|(h, _)| *h).collect();
        for h in &chosen {
            self.torrents.insert(*h, Some(now));
        }
        self.last_sent = Some(now);
        Some(encode_lsd(self.cfg.group, self.port, &chosen, &self.cookie))
    }

    /// Reads a datagram from `from`: the peers it gives for our torrents.
    pub fn on_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) -> LsdReceived {
        if !self.admit(now, from.ip()) {
            return LsdReceived::RateLimited;
        }
        let announce = match parse_lsd(datagram) {
            Ok(a) => a,
            Err(e) => return LsdReceived::Invalid(e),
        };
        if announce.cookie.as_deref() == Some(self.cookie.as_str()) {
            return LsdReceived::Ours;
        }
        let peer = SocketAddr::new(from.ip(), announce.port);
        LsdReceived::Peers(
            announce
                .info_hashes
                .into_iter()
                .filter(|h| self.torrents.contains_key(h))
                .map(|h| (h, peer))
                .collect(),
        )
    }

    /// Counts a datagram from `ip`; false once it is over its share.
    fn admit(&mut self, now: Instant, ip: IpAddr) -> bool {
        const MINUTE: Duration = Duration::from_secs(60);
        if !self.sources.contains_key(&ip) && self.sources.len() >= MAX_LSD_SOURCES {
            // Forget the source whose minute started longest ago.
            if let Some(oldest) = self
                .sources
                .iter()
                .min_by_key(|(_, v)| v.0)
                .map(|(k, _)| *k)
            {
                self.sources.remove(&oldest);
            }
        }
        let entry = self.sources.entry(ip).or_insert((now, 0));
        if now.saturating_duration_since(entry.0) >= MINUTE {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.cfg.per_source_per_minute
    }
}
