//! Announce and scrape requests, and the HTTP query strings they become.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::error::TrackerError;

/// The `event` of an announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Event {
    /// A regular (periodic) announce: no event.
    #[default]
    None,
    /// The first announce of a download.
    Started,
    /// The download has just completed.
    Completed,
    /// The client is leaving the swarm.
    Stopped,
}

impl Event {
    /// The value of the HTTP `event` parameter (`None` sends no parameter).
    pub fn as_http_str(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Started => Some("started"),
            Self::Completed => Some("completed"),
            Self::Stopped => Some("stopped"),
        }
    }

    /// The BEP 15 event code (0 none, 1 completed, 2 started, 3 stopped).
    pub fn udp_code(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Completed => 1,
            Self::Started => 2,
            Self::Stopped => 3,
        }
    }
}

/// Everything an announce tells the tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    /// SHA-1 of the torrent's info dictionary.
    pub info_hash: [u8; 20],
    /// This client's peer id.
    pub peer_id: [u8; 20],
    /// The port this client accepts peer connections on.
    pub port: u16,
    /// Bytes uploaded since the `started` announce.
    pub uploaded: u64,
    /// Bytes downloaded since the `started` announce.
    pub downloaded: u64,
    /// Bytes still missing.
    pub left: u64,
    /// Why this announce is sent.
    pub event: Event,
    /// How many peers are wanted (`None`: the tracker's default).
    pub numwant: Option<u32>,
    /// A random key identifying this client across IP changes.
    pub key: u32,
    /// Ask for a compact peer list (BEP 23); nearly every tracker requires it.
    pub compact: bool,
    /// The `tracker id` a previous response gave, to send back.
    pub tracker_id: Option<String>,
    /// This client's address, if it must be told to the tracker.
    pub ip: Option<IpAddr>,
}

impl AnnounceRequest {
    /// A request with the given hashes and port, nothing transferred, event
    /// `None`, compact peers, key 0 and the tracker's default numwant.
    pub fn new(info_hash: [u8; 20], peer_id: [u8; 20], port: u16) -> Self {
        Self {
            info_hash,
            peer_id,
            port,
            uploaded: 0,
            downloaded: 0,
            left: 0,
            event: Event::None,
            numwant: None,
            key: 0,
            compact: true,
            tracker_id: None,
            ip: None,
        }
    }
}

/// Appends `bytes` to `out` percent-encoded byte by byte: only RFC 3986
/// unreserved characters (`A-Z a-z 0-9 - . _ ~`) stay as they are.
pub fn percent_encode_into(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

/// `bytes` percent-encoded byte by byte (see [`percent_encode_into`]).
pub fn percent_encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    percent_encode_into(&mut s, bytes);
    s
}

/// Splits off a fragment (never sent) and returns the URL with the
/// separator that starts the next query parameter appended.
fn query_base(url: &str) -> String {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    let mut s = String::with_capacity(url.len() + 256);
    s.push_str(url);
    match url.find('?') {
        None => s.push('?'),
        Some(i) if i + 1 == url.len() || url.ends_with('&') => {}
        Some(_) => s.push('&'),
    }
    s
}

/// The full HTTP announce URL for `req`: `announce_url` with the announce
/// parameters appended to any query it already has.
///
/// ```
/// use monsoon_tracker::{AnnounceRequest, Event, announce_url};
/// let mut req = AnnounceRequest::new([0xab; 20], *b"-MO0001-abcdefghijkl", 6881);
/// req.event = Event::Started;
/// let url = announce_url("http://t.example/announce?passkey=x", &req);
/// assert!(url.starts_with("http://t.example/announce?passkey=x&info_hash=%AB%AB"));
/// assert!(url.contains("&event=started"));
/// ```
pub fn announce_url(announce_url: &str, req: &AnnounceRequest) -> String {
    let mut s = query_base(announce_url);
    s.push_str("info_hash=");
    percent_encode_into(&mut s, &req.info_hash);
    s.push_str("&peer_id=");
    percent_encode_into(&mut s, &req.peer_id);
    let _ = write!(
        s,
        "&port={}&uploaded={}&downloaded={}&left={}&compact={}",
        req.port,
        req.uploaded,
        req.downloaded,
        req.left,
        u8::from(req.compact)
    );
    if let Some(event) = req.event.as_http_str() {
        s.push_str("&event=");
        s.push_str(event);
    }
    if let Some(n) = req.numwant {
        let _ = write!(s, "&numwant={n}");
    }
    let _ = write!(s, "&key={:08X}", req.key);
    if let Some(id) = &req.tracker_id {
        s.push_str("&trackerid=");
        percent_encode_into(&mut s, id.as_bytes());
    }
    if let Some(ip) = req.ip {
        s.push_str("&ip=");
        percent_encode_into(&mut s, ip.to_string().as_bytes());
    }
    s
}

/// The scrape URL derived from an announce URL by the BEP 48 convention:
/// the last path component must start with `announce`, which is replaced
/// by `scrape`. Anything else is [`TrackerError::ScrapeNotSupported`].
///
/// ```
/// use monsoon_tracker::scrape_url;
/// assert_eq!(scrape_url("http://t.example/x/announce.php?k=1").unwrap(),
///            "http://t.example/x/scrape.php?k=1");
/// assert!(scrape_url("http://t.example/a").is_err());
/// ```
pub fn scrape_url(announce_url: &str) -> Result<String, TrackerError> {
    let end = announce_url.find(['?', '#']).unwrap_or(announce_url.len());
    let (path, rest) = announce_url.split_at(end);
    let slash = path.rfind('/').ok_or(TrackerError::ScrapeNotSupported)?;
    // The slash must be in the path, not one of the two after the scheme.
    if path[..slash].ends_with('/') || !path[..slash].contains("://") {
        return Err(TrackerError::ScrapeNotSupported);
    }
    let last = &path[slash + 1..];
    let tail = last
        .strip_prefix("announce")
        .ok_or(TrackerError::ScrapeNotSupported)?;
    Ok(format!("{}/scrape{tail}{rest}", &path[..slash]))
}

/// The full HTTP scrape URL for `info_hashes` (one `info_hash` parameter
/// each) given a scrape URL from [`scrape_url`].
pub fn scrape_query_url(scrape_url: &str, info_hashes: &[[u8; 20]]) -> String {
    let mut s = query_base(scrape_url);
    for (i, h) in info_hashes.iter().enumerate() {
        if i > 0 {
            s.push('&');
        }
        s.push_str("info_hash=");
        percent_encode_into(&mut s, h);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> AnnounceRequest {
        let mut r = AnnounceRequest::new(
            *b"\x00\x01\x7f\x80\xff -._~aZ09%&=+/?",
            *b"-MO0001-\x00\xffabcdefghij",
            6881,
        );
        r.uploaded = 1;
        r.downloaded = 2;
        r.left = 3;
        r
    }

    #[test]
    fn percent_encoding_is_bytewise() {
        assert_eq!(
            percent_encode(b"\x00\x01\x7f\x80\xff -._~az09AZ%&=+/?#"),
            "%00%01%7F%80%FF%20-._~az09AZ%25%26%3D%2B%2F%3F%23"
        );
        // Every byte value round-trips through a simple decoder.
        let all: Vec<u8> = (0..=255).collect();
        let enc = percent_encode(&all);
        let mut dec = Vec::new();
        let mut it = enc.bytes();
        while let Some(b) = it.next() {
            if b == b'%' {
                let hex = [it.next().unwrap(), it.next().unwrap()];
                dec.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
            } else {
                dec.push(b);
            }
        }
        assert_eq!(dec, all);
    }

    #[test]
    fn announce_query_has_every_parameter() {
        let mut r = req();
        r.event = Event::Completed;
        r.numwant = Some(50);
        r.key = 0xdead_beef;
        r.tracker_id = Some("a b".into());
        r.ip = Some("::1".parse().unwrap());
        let url = announce_url("http://t/announce", &r);
        assert_eq!(
            url,
            "http://t/announce?info_hash=%00%01%7F%80%FF%20-._~aZ09%25%26%3D%2B%2F%3F\
             &peer_id=-MO0001-%00%FFabcdefghij&port=6881&uploaded=1&downloaded=2&left=3\
             &compact=1&event=completed&numwant=50&key=DEADBEEF&trackerid=a%20b&ip=%3A%3A1"
        );
    }

    #[test]
    fn announce_query_keeps_existing_query_and_drops_fragment() {
        let r = req();
        let url = announce_url("http://t/a?passkey=abc#frag", &r);
        assert!(
            url.starts_with("http://t/a?passkey=abc&info_hash="),
            "{url}"
        );
        assert!(!url.contains("frag"));
        assert!(!url.contains("event="));
        let url = announce_url("http://t/a?", &r);
        assert!(url.starts_with("http://t/a?info_hash="), "{url}");
        let url = announce_url("http://t/a?x=1&", &r);
        assert!(url.starts_with("http://t/a?x=1&info_hash="), "{url}");
    }

    #[test]
    fn event_codes() {
        assert_eq!(Event::Started.as_http_str(), Some("started"));
        assert_eq!(Event::Stopped.as_http_str(), Some("stopped"));
        assert_eq!(Event::None.as_http_str(), None);
        let codes: Vec<u32> = [
            Event::None,
            Event::Completed,
            Event::Started,
            Event::Stopped,
        ]
        .iter()
        .map(|e| e.udp_code())
        .collect();
        assert_eq!(codes, [0, 1, 2, 3]);
    }

    #[test]
    fn scrape_url_convention() {
        let ok = [
            ("http://e.com/announce", "http://e.com/scrape"),
            ("http://e.com/x/announce", "http://e.com/x/scrape"),
            ("http://e.com/announce.php", "http://e.com/scrape.php"),
            (
                "http://e.com/a/announce?x2%0644",
                "http://e.com/a/scrape?x2%0644",
            ),
            (
                "https://e.com:8080/announce?a=announce",
                "https://e.com:8080/scrape?a=announce",
            ),
        ];
        for (a, s) in ok {
            assert_eq!(scrape_url(a).unwrap(), s, "{a}");
        }
        for a in [
            "http://e.com/a",
            "http://e.com/announce?x=2/4",
            "http://e.com/x%064announce",
            "http://e.com/x/announcer/y",
            "http://announce",
            "announce",
        ] {
            let got = scrape_url(a);
            if a == "http://e.com/announce?x=2/4" {
                assert_eq!(got.unwrap(), "http://e.com/scrape?x=2/4");
            } else {
                assert!(
                    matches!(got, Err(TrackerError::ScrapeNotSupported)),
                    "{a}: {got:?}"
                );
            }
        }
    }

    #[test]
    fn scrape_query_repeats_info_hash() {
        let url = scrape_query_url("http://e.com/scrape?k=1", &[[0; 20], [0xff; 20]]);
        assert_eq!(
            url,
            format!(
                "http://e.com/scrape?k=1&info_hash={}&info_hash={}",
                "%00".repeat(20),
                "%FF".repeat(20)
            )
        );
    }
}
