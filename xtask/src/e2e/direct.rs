//! Handing a client one peer address without a tracker: copies of a
//! .torrent with their trackers replaced or removed (the info dictionary,
//! and so the info-hash, byte for byte the same), a one-peer announce stub
//! for clients that have no way to be given an address (aria2c,
//! Transmission 3 and rtorrent 0.9 have no "add peer" option or call), and
//! a relay for a client that never dials 127.0.0.0/8 (Transmission 3).
use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

/// Writes to `dst` a copy of the torrent `src` whose only tracker is
/// `announce`, or which has no tracker at all when `announce` is `None`.
/// Every other top-level key, `info` above all, is copied as raw bytes.
pub(crate) fn retracked(src: &Path, dst: &Path, announce: Option<&str>) -> Result<()> {
    let bytes = fs::read(src).with_context(|| format!("read {}", src.display()))?;
    let out = replace_trackers(&bytes, announce)
        .with_context(|| format!("{} is not a bencoded dictionary", src.display()))?;
    fs::write(dst, out).with_context(|| format!("write {}", dst.display()))
}

/// The bytes of a torrent with `announce` and `announce-list` dropped and
/// `announce` set anew when given, its key in sorted order (BEP 3 keys are
/// sorted; a client that re-encodes to check must see the same order).
fn replace_trackers(torrent: &[u8], announce: Option<&str>) -> Result<Vec<u8>> {
    ensure!(torrent.first() == Some(&b'd'), "does not start with `d`");
    let mut entries: Vec<(&[u8], &[u8])> = Vec::new();
    let mut at = 1;
    while torrent.get(at) != Some(&b'e') {
        let key_end = skip(torrent, at)?;
        let key = string(&torrent[at..key_end])?;
        let value_end = skip(torrent, key_end)?;
        entries.push((key, &torrent[key_end..value_end]));
        at = value_end;
    }
    ensure!(at + 1 == torrent.len(), "bytes after the dictionary");
    entries.retain(|(key, _)| !matches!(*key, b"announce" | b"announce-list"));
    let value;
    if let Some(url) = announce {
        value = format!("{}:{url}", url.len());
        entries.push((b"announce", value.as_bytes()));
    }
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = vec![b'd'];
    for (key, value) in entries {
        out.extend_from_slice(format!("{}:", key.len()).as_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(value);
    }
    out.push(b'e');
    Ok(out)
}

/// The contents of a bencoded string `N:bytes` (all of `raw`).
fn string(raw: &[u8]) -> Result<&[u8]> {
    let colon = raw
        .iter()
        .position(|&b| b == b':')
        .context("a key is not a string")?;
    Ok(&raw[colon + 1..])
}

/// Where the bencoded value starting at `at` ends (one past its last byte).
fn skip(b: &[u8], at: usize) -> Result<usize> {
    let mut depth = 0usize;
    let mut i = at;
    loop {
        match b.get(i).copied() {
            None => bail!("truncated at byte {i}"),
            Some(b'i') => {
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b'e')
                    .context("unterminated integer")?;
                i += end + 1;
            }
            Some(b'l' | b'd') => {
                depth += 1;
                i += 1;
                continue;
            }
            Some(b'e') if depth > 0 => {
                depth -= 1;
                i += 1;
            }
            Some(c) if c.is_ascii_digit() => {
                let colon = b[i..]
                    .iter()
                    .position(|&c| c == b':')
                    .context("string without `:`")?;
                let len: usize = std::str::from_utf8(&b[i..i + colon])?
                    .parse()
                    .with_context(|| format!("bad string length at byte {i}"))?;
                i = (i + colon + 1)
                    .checked_add(len)
                    .filter(|&end| end <= b.len())
                    .with_context(|| format!("string at byte {at} runs past the end"))?;
            }
            Some(c) => bail!("unexpected byte {c:#04x} at {i}"),
        }
        if depth == 0 {
            return Ok(i);
        }
    }
}

/// An HTTP tracker on 127.0.0.1 that answers every announce with one peer:
/// how a client that cannot be given an address is pointed at a seeder that
/// announces nowhere. Stops when dropped.
pub(crate) struct OnePeerTracker {
    port: u16,
    announces: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl OnePeerTracker {
    /// Starts answering with `peer` (an IPv4 address).
    pub(crate) fn start(peer: SocketAddr) -> Result<OnePeerTracker> {
        let SocketAddr::V4(v4) = peer else {
            bail!("the one-peer tracker answers IPv4 peers only, not {peer}")
        };
        let mut compact = v4.ip().octets().to_vec();
        compact.extend_from_slice(&v4.port().to_be_bytes());
        let mut body = b"d8:completei1e10:incompletei0e8:intervali1800e5:peers6:".to_vec();
        body.extend_from_slice(&compact);
        body.push(b'e');

        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let announces = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (announces, stop) = (Arc::clone(&announces), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            if answer(stream, &body).unwrap_or(false) {
                                announces.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            thread::sleep(Duration::from_millis(20));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        };
        Ok(OnePeerTracker {
            port,
            announces,
            stop,
            thread: Some(thread),
        })
    }

    /// Its announce URL.
    pub(crate) fn announce_url(&self) -> String {
        format!("http://127.0.0.1:{}/announce", self.port)
    }

    /// How many announces it has answered.
    pub(crate) fn announces(&self) -> usize {
        self.announces.load(Ordering::Relaxed)
    }
}

impl Drop for OnePeerTracker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request; answers `/announce` with `body` (returns true) and
/// anything else (a scrape) with 404.
fn answer(mut stream: TcpStream, body: &[u8]) -> Result<bool> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        ensure!(n > 0 && request.len() < 16 * 1024, "bad request");
        request.extend_from_slice(&buf[..n]);
    }
    let is_announce = request.starts_with(b"GET /announce");
    if is_announce {
        write!(
            stream,
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )?;
        stream.write_all(body)?;
    } else {
        stream.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
    }
    stream.flush()?;
    Ok(is_announce)
}

/// This machine's own IPv4 addresses outside 127.0.0.0/8 (from the kernel's
/// routing table, `/proc/net/fib_trie`: the `/32 host LOCAL` entries).
pub(crate) fn local_ipv4() -> Result<Vec<Ipv4Addr>> {
    let text = fs::read_to_string("/proc/net/fib_trie").context("read /proc/net/fib_trie")?;
    Ok(host_addresses(&text))
}

/// The `|-- a.b.c.d` entries followed by `/32 host LOCAL`, not loopback,
/// each once.
fn host_addresses(fib_trie: &str) -> Vec<Ipv4Addr> {
    let mut found = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in fib_trie.lines() {
        let line = line.trim_start_matches([' ', '|', '+', '-']).trim();
        if let Ok(ip) = line.parse::<Ipv4Addr>() {
            last = Some(ip);
        } else if line.starts_with("/32 host LOCAL") {
            if let Some(ip) = last.filter(|ip| !ip.is_loopback() && !found.contains(ip)) {
                found.push(ip);
            }
        }
    }
    found
}

/// A TCP relay from one of this machine's non-loopback addresses to a peer
/// on 127.0.0.1: Transmission 3 drops every 127.0.0.0/8 address it is
/// given (its `isMartianAddr`), so in the by-address cells it dials this
/// relay, which forwards every byte both ways to the seeder. Stops, and
/// cuts its connections, when dropped.
pub(crate) struct Relay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    /// Listens on the first non-loopback local address, forwarding to `to`.
    pub(crate) fn start(to: SocketAddr) -> Result<Relay> {
        let ip = local_ipv4()?.into_iter().next().context(
            "this machine has no IPv4 address outside 127.0.0.0/8, and Transmission 3 \
             will not dial a loopback peer",
        )?;
        let listener = TcpListener::bind((ip, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, streams) = (Arc::clone(&stop), Arc::clone(&streams));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((inbound, _)) => {
                            let _ = forward(inbound, to, &streams);
                        }
                        Err(_) => thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        };
        Ok(Relay {
            addr,
            stop,
            streams,
            thread: Some(thread),
        })
    }

    /// The address to give the client.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for s in self.streams.lock().expect("relay streams").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// Connects to `to` and copies both ways on two threads; each direction
/// ends by shutting the other side's write half.
fn forward(inbound: TcpStream, to: SocketAddr, streams: &Mutex<Vec<TcpStream>>) -> Result<()> {
    inbound.set_nonblocking(false)?;
    let outbound = TcpStream::connect_timeout(&to, Duration::from_secs(5))?;
    {
        let mut all = streams.lock().expect("relay streams");
        all.push(inbound.try_clone()?);
        all.push(outbound.try_clone()?);
    }
    for (mut from, mut into) in [
        (inbound.try_clone()?, outbound.try_clone()?),
        (outbound, inbound),
    ] {
        thread::spawn(move || {
            let _ = io::copy(&mut from, &mut into);
            let _ = into.shutdown(Shutdown::Write);
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A torrent as mktorrent writes one: announce first, info last.
    const TORRENT: &[u8] = b"d8:announce22:http://t.example/annou13:announce-listll22:http://t.example/annouee7:comment2:hi4:infod6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee";

    fn info_span(torrent: &[u8]) -> &[u8] {
        let at = torrent
            .windows(6)
            .position(|w| w == b"4:info")
            .expect("info key")
            + 6;
        &torrent[at..skip(torrent, at).unwrap()]
    }

    #[test]
    fn trackers_are_replaced_or_dropped_and_info_is_untouched() {
        let one = replace_trackers(TORRENT, Some("http://127.0.0.1:9/announce")).unwrap();
        assert_eq!(
            one,
            b"d8:announce27:http://127.0.0.1:9/announce7:comment2:hi4:infod6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee"
        );
        let none = replace_trackers(TORRENT, None).unwrap();
        assert_eq!(
            none,
            b"d7:comment2:hi4:infod6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee"
        );
        assert_eq!(info_span(&one), info_span(TORRENT));
        assert_eq!(info_span(&none), info_span(TORRENT));
        // A torrent without trackers gets one, in sorted position.
        let added = replace_trackers(&none, Some("u")).unwrap();
        assert!(added.starts_with(b"d8:announce1:u7:comment"), "{added:?}");
    }

    #[test]
    fn damaged_torrents_are_errors() {
        for bad in [
            &b""[..],
            b"le",
            b"d8:announce",
            b"d8:announce99:x4:infodee",
            b"d4:infod4:name1:xe",
            b"d4:infodee trailing",
            b"d4:infoi12",
        ] {
            assert!(replace_trackers(bad, None).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn local_addresses_from_the_routing_table() {
        let trie = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n\
                    |-- 127.0.0.1\n              /32 host LOCAL\n\
                    |-- 192.0.2.0\n              /24 link UNICAST\n\
                    |-- 192.0.2.2\n              /32 host LOCAL\n\
                    |-- 192.0.2.255\n           /32 link BROADCAST\n\
                    Local:\n     |-- 192.0.2.2\n              /32 host LOCAL\n";
        assert_eq!(host_addresses(trie), vec![Ipv4Addr::new(192, 0, 2, 2)]);
    }

    #[test]
    fn the_relay_forwards_both_ways() {
        if local_ipv4().unwrap().is_empty() {
            // Nothing to bind to; Relay::start says so (the e2e cell fails).
            assert!(Relay::start(SocketAddr::from(([127, 0, 0, 1], 9))).is_err());
            return;
        }
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = echo.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = echo.accept().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf.map(|b| b.to_ascii_uppercase())).unwrap();
        });
        let relay = Relay::start(to).unwrap();
        assert!(!relay.addr().ip().is_loopback());
        let mut c = TcpStream::connect(relay.addr()).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"hello").unwrap();
        let mut reply = Vec::new();
        c.read_to_end(&mut reply).unwrap();
        assert_eq!(reply, b"HELLO");
        server.join().unwrap();
    }

    #[test]
    fn the_stub_answers_announces_with_its_one_peer() {
        let peer = SocketAddr::from(([127, 0, 0, 1], 0x1a2b));
        let tracker = OnePeerTracker::start(peer).unwrap();
        let url = tracker.announce_url();
        let port: u16 = url
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches("/announce")
            .parse()
            .unwrap();
        let get = |path: &str| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
            let mut reply = Vec::new();
            s.read_to_end(&mut reply).unwrap();
            reply
        };
        let reply = get("/announce?info_hash=x&event=started");
        assert!(
            reply.ends_with(b"5:peers6:\x7f\x00\x00\x01\x1a\x2be"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        assert!(get("/scrape?info_hash=x").starts_with(b"HTTP/1.0 404"));
        assert_eq!(tracker.announces(), 1);
    }
}
