//! The UDP tracker client (BEP 15): a thin tokio shell that sends the
//! packets of `udp_packet`, retransmits on the 15 · 2ⁿ s schedule and
//! keeps the connection id for a minute.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use tokio::net::UdpSocket;
use url::{Host, Url};

use crate::config::ClientConfig;
use crate::error::TrackerError;
use crate::request::AnnounceRequest;
use crate::response::{AnnounceResponse, ScrapeResponse};
use crate::tier::SplitMix64;
use crate::udp_packet::{
    ConnectionId, decode_announce, decode_connect, decode_scrape, encode_announce, encode_connect,
    encode_scrape,
};

/// Largest UDP datagram.
const MAX_DATAGRAM: usize = 65_536;

/// A UDP tracker (`udp://host:port`).
#[derive(Debug)]
pub struct UdpTracker {
    url: String,
    host: Host<String>,
    port: u16,
    config: ClientConfig,
    socket: Option<UdpSocket>,
    conn: Option<ConnectionId>,
    rng: SplitMix64,
}

/// What one exchange produced: a decoded value, or nothing in time.
enum Exchange<T> {
    Done(T),
    TimedOut,
}

impl UdpTracker {
    /// A tracker at `url`, which must be `udp://host:port[/...]`; `seed`
    /// seeds the transaction ids.
    pub fn new(url: &str, config: &ClientConfig, seed: u64) -> Result<Self, TrackerError> {
        let invalid = |reason: &str| TrackerError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let parsed = Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        if parsed.scheme() != "udp" {
            return Err(TrackerError::UnsupportedScheme(parsed.scheme().to_owned()));
        }
        let host = parsed.host().ok_or_else(|| invalid("no host"))?.to_owned();
        let port = parsed.port().ok_or_else(|| invalid("no port"))?;
        Ok(Self {
            url: url.to_owned(),
            host,
            port,
            config: config.clone(),
            socket: None,
            conn: None,
            rng: SplitMix64::new(seed),
        })
    }

    /// The announce URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn tid(&mut self) -> u32 {
        // The high half of SplitMix64's output.
        (self.rng.next_u64() >> 32) as u32
    }

    /// Resolves the host and opens a socket connected to it, once.
    async fn ensure_socket(&mut self) -> Result<(), TrackerError> {
        if self.socket.is_none() {
            let addr = match &self.host {
                Host::Ipv4(a) => SocketAddr::new(IpAddr::V4(*a), self.port),
                Host::Ipv6(a) => SocketAddr::new(IpAddr::V6(*a), self.port),
                Host::Domain(d) => tokio::net::lookup_host((d.as_str(), self.port))
                    .await?
                    .next()
                    .ok_or_else(|| TrackerError::InvalidUrl {
                        url: self.url.clone(),
                        reason: "host has no address".to_owned(),
                    })?,
            };
            let local: IpAddr = if addr.is_ipv6() {
                Ipv6Addr::UNSPECIFIED.into()
            } else {
                Ipv4Addr::UNSPECIFIED.into()
            };
            let sock = UdpSocket::bind((local, 0)).await?;
            sock.connect(addr).await?;
            self.socket = Some(sock);
        }
        Ok(())
    }

    /// Sends `packet` and waits for the `n`-th timeout for a datagram that
    /// `decode` accepts; datagrams with another transaction id (late
    /// answers to earlier tries) are ignored.
    async fn exchange<T>(
        &mut self,
        packet: &[u8],
        n: u32,
        decode: impl Fn(&[u8], bool) -> Result<T, TrackerError>,
    ) -> Result<Exchange<T>, TrackerError> {
        let wait = self.config.udp_timeout(n);
        self.ensure_socket().await?;
        let Some(sock) = self.socket.as_ref() else {
            return Err(TrackerError::Io(std::io::ErrorKind::NotConnected.into()));
        };
        let ipv6 = sock.peer_addr()?.is_ipv6();
        sock.send(packet).await?;
        let deadline = tokio::time::Instant::now() + wait;
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let len = match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
                Err(_) => return Ok(Exchange::TimedOut),
                Ok(r) => r?,
            };
            match decode(&buf[..len], ipv6) {
                Err(TrackerError::TransactionMismatch { .. }) => {
                    tracing::debug!(url = %self.url, "ignoring UDP datagram of another transaction");
                }
                other => return other.map(Exchange::Done),
            }
        }
    }

    /// Runs one request with connect and retransmissions: `build` makes
    /// the packet from a connection id and transaction id, `decode` reads
    /// the answer for that transaction id.
    async fn transact<T>(
        &mut self,
        build: impl Fn(u64, u32) -> Vec<u8>,
        decode: impl Fn(&[u8], u32, bool) -> Result<T, TrackerError>,
    ) -> Result<T, TrackerError> {
        let mut n = 0u32;
        loop {
            if n > self.config.udp_max_retries {
                return Err(TrackerError::Timeout);
            }
            let conn = match self.conn {
                Some(c) if c.is_valid(Instant::now()) => c.id,
                _ => {
                    let tid = self.tid();
                    let r = self
                        .exchange(&encode_connect(tid), n, |b, _| decode_connect(b, tid))
                        .await;
                    match r {
                        Ok(Exchange::Done(id)) => {
                            self.conn = Some(ConnectionId {
                                id,
                                obtained: Instant::now(),
                            });
                            id
                        }
                        Ok(Exchange::TimedOut) => {
                            n += 1;
                            continue;
                        }
                        Err(e) => return Err(self.on_error(e)),
                    }
                }
            };
            let tid = self.tid();
            match self
                .exchange(&build(conn, tid), n, |b, v6| decode(b, tid, v6))
                .await
            {
                Ok(Exchange::Done(v)) => return Ok(v),
                Ok(Exchange::TimedOut) => {
                    // The id may have gone stale on the tracker's side.
                    self.conn = None;
                    n += 1;
                }
                Err(e) => return Err(self.on_error(e)),
            }
        }
    }

    /// Forgets the socket after an I/O error so the next try re-resolves.
    fn on_error(&mut self, e: TrackerError) -> TrackerError {
        if matches!(e, TrackerError::Io(_)) {
            self.socket = None;
            self.conn = None;
        }
        e
    }

    /// Announces `req`.
    pub async fn announce(
        &mut self,
        req: &AnnounceRequest,
    ) -> Result<AnnounceResponse, TrackerError> {
        self.transact(
            |conn, tid| encode_announce(conn, tid, req).to_vec(),
            decode_announce,
        )
        .await
    }

    /// Scrapes up to 74 info-hashes.
    pub async fn scrape(
        &mut self,
        info_hashes: &[[u8; 20]],
    ) -> Result<ScrapeResponse, TrackerError> {
        // Check the count before any network traffic.
        encode_scrape(0, 0, info_hashes)?;
        let n = info_hashes.len();
        let stats = self
            .transact(
                |conn, tid| encode_scrape(conn, tid, info_hashes).unwrap_or_default(),
                |b, tid, _| decode_scrape(b, tid, n),
            )
            .await?;
        Ok(ScrapeResponse {
            files: info_hashes.iter().copied().zip(stats).collect(),
        })
    }
}
