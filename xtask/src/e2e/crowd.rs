//! A crowd of idle incoming peers: N TCP connections to a client's listening
//! port, each sending a BitTorrent handshake for one torrent and then
//! `interested`, and holding the connection open without asking for
//! anything. It shows whether a client under a file-descriptor limit closes
//! the connections it cannot take at once and keeps downloading, rather than
//! running out of descriptors.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// How long a peer of the crowd waits for the client's handshake before it
/// counts the connection as left hanging.
const ANSWER_LIMIT: Duration = Duration::from_secs(20);
/// How often a waiting peer looks at the stop flag.
const POLL: Duration = Duration::from_millis(200);

/// What became of one connection of the crowd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// The client refused the TCP connection.
    Refused,
    /// The client answered the handshake and kept the connection until the
    /// crowd left.
    Kept,
    /// The client answered the handshake, then closed the connection (when
    /// the torrent completed, or later for a reason of its own).
    AnsweredThenClosed,
    /// The client closed the connection without answering the handshake.
    Closed,
    /// Neither an answer nor a close within [`ANSWER_LIMIT`].
    Hanging,
}

/// One connection's fate and when it was made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    pub(crate) fate: Fate,
    pub(crate) connected: Option<Instant>,
}

impl Outcome {
    fn new(fate: Fate, connected: Option<Instant>) -> Outcome {
        Outcome { fate, connected }
    }
}

/// The crowd's connections, each on its own thread until [`Crowd::leave`].
pub(crate) struct Crowd {
    stop: Arc<AtomicBool>,
    peers: Vec<JoinHandle<Outcome>>,
}

impl Crowd {
    /// Opens `n` connections to `addr`, one after another, each sending the
    /// handshake for `info_hash` (40 hex digits) and `interested`.
    pub(crate) fn join(addr: SocketAddr, info_hash: &str, n: usize) -> Result<Crowd> {
        let hash = hex20(info_hash)?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut peers = Vec::with_capacity(n);
        for i in 0..n {
            let stop = Arc::clone(&stop);
            let peer = thread::Builder::new()
                .name(format!("crowd-{i}"))
                .spawn(move || one_peer(addr, hash, i, &stop))?;
            peers.push(peer);
        }
        Ok(Crowd { stop, peers })
    }

    /// Closes every connection and says what became of each.
    pub(crate) fn leave(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::SeqCst);
        self.peers
            .into_iter()
            .map(|p| p.join().unwrap_or(Outcome::new(Fate::Hanging, None)))
            .collect()
    }
}

/// A count of each fate, for the log line.
pub(crate) fn summary(fates: &[Fate]) -> String {
    let count = |f: Fate| fates.iter().filter(|&&x| x == f).count();
    format!(
        "crowd of {}: {} kept, {} answered then closed, {} closed unanswered, {} refused, {} hanging",
        fates.len(),
        count(Fate::Kept),
        count(Fate::AnsweredThenClosed),
        count(Fate::Closed),
        count(Fate::Refused),
        count(Fate::Hanging),
    )
}

fn hex20(hex: &str) -> Result<[u8; 20]> {
    let mut out = [0u8; 20];
    anyhow::ensure!(hex.len() == 40, "not a 40-digit info-hash: {hex}");
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).context("info-hash digit")?;
    }
    Ok(out)
}

fn one_peer(addr: SocketAddr, info_hash: [u8; 20], i: usize, stop: &AtomicBool) -> Outcome {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return Outcome::new(Fate::Refused, None);
    };
    let connected = Instant::now();
    let end = |fate| Outcome::new(fate, Some(connected));
    let mut hello = Vec::with_capacity(68 + 5);
    hello.push(19);
    hello.extend_from_slice(b"BitTorrent protocol");
    hello.extend_from_slice(&[0; 8]);
    hello.extend_from_slice(&info_hash);
    hello.extend_from_slice(format!("-XC0001-{i:012}").as_bytes());
    hello.extend_from_slice(&[0, 0, 0, 1, 2]); // interested
    if s.write_all(&hello).is_err() || s.set_read_timeout(Some(POLL)).is_err() {
        return end(Fate::Closed);
    }
    let mut got = 0usize;
    let mut buf = [0u8; 4096];
    let closed = |got: usize| {
        if got >= 68 {
            Fate::AnsweredThenClosed
        } else {
            Fate::Closed
        }
    };
    loop {
        match s.read(&mut buf) {
            Ok(0) => return end(closed(got)),
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return end(closed(got)),
        }
        if stop.load(Ordering::SeqCst) {
            let fate = if got >= 68 { Fate::Kept } else { Fate::Hanging };
            return Outcome::new(fate, Some(connected));
        }
        if got < 68 && connected.elapsed() > ANSWER_LIMIT {
            return Outcome::new(Fate::Hanging, Some(connected));
        }
    }
}
