//! The tokio driver (feature `tokio`): one task owning a [`Node`] and its
//! UDP sockets, and [`Dht`], the cloneable handle the engine calls.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::config::Config;
use crate::error::Error;
use crate::krpc::MAX_PACKET_LEN;
use crate::node::{Node, Stats};
use crate::search::{Event, SearchDone, SearchId};
use crate::state::SavedState;

/// The usual public bootstrap routers.
pub const DEFAULT_BOOTSTRAP: &[&str] = &[
    "router.bittorrent.com:6881",
    "router.utorrent.com:6881",
    "dht.transmissionbt.com:6881",
    "dht.libtorrent.org:25401",
];

/// Peers buffered per search before the driver drops new ones (the reader
/// is too slow).
pub const PEER_CHANNEL: usize = 256;

/// How long a bootstrap host name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of [`Dht::bind`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DhtConfig {
    /// The node's settings (`ipv4` / `ipv6` are set from the bound sockets).
    pub node: Config,
    /// Bootstrap nodes as `host:port` (names are resolved in the
    /// background). Defaults to [`DEFAULT_BOOTSTRAP`].
    pub bootstrap: Vec<String>,
    /// A state saved by [`Dht::save`] in an earlier run: its id is reused
    /// (unless `node.id` is set) and its nodes are tried first.
    pub state: Option<SavedState>,
}

impl Default for DhtConfig {
    fn default() -> Self {
        DhtConfig {
            node: Config::default(),
            bootstrap: DEFAULT_BOOTSTRAP.iter().map(|s| (*s).to_owned()).collect(),
            state: None,
        }
    }
}

enum Command {
    Search {
        info_hash: [u8; 20],
        /// `None`: only `get_peers`; `Some(port)`: announce too.
        announce: Option<Option<u16>>,
        reply: oneshot::Sender<Result<PeerSearch, Error>>,
    },
    Bootstrap(oneshot::Sender<Result<oneshot::Receiver<SearchDone>, Error>>),
    AddNode(SocketAddr),
    Resolved(Vec<SocketAddr>),
    Stats(oneshot::Sender<Stats>),
    Save(oneshot::Sender<SavedState>),
    Shutdown,
}

/// A running `get_peers` or announce: peers as they arrive, then a summary.
#[derive(Debug)]
pub struct PeerSearch {
    peers: mpsc::Receiver<SocketAddr>,
    done: oneshot::Receiver<SearchDone>,
}

impl PeerSearch {
    /// The next peer found; `None` once the search is over.
    pub async fn next(&mut self) -> Option<SocketAddr> {
        self.peers.recv().await
    }

    /// Waits for the end of the search (peers not yet read are dropped).
    pub async fn done(self) -> Result<SearchDone, Error> {
        self.done.await.map_err(|_| Error::Stopped)
    }

    /// Reads every peer until the end, then the summary.
    pub async fn collect(mut self) -> Result<(Vec<SocketAddr>, SearchDone), Error> {
        let mut peers = Vec::new();
        while let Some(p) = self.next().await {
            peers.push(p);
        }
        Ok((peers, self.done().await?))
    }
}

/// A handle to a DHT node running on tokio; clones share the node, which
/// stops when [`Dht::shutdown`] is called or every handle is dropped.
///
/// ```no_run
/// use monsoon_dht::{Dht, DhtConfig, SavedState};
///
/// # async fn demo(saved: Option<Vec<u8>>) -> Result<(), monsoon_dht::Error> {
/// let mut config = DhtConfig::default(); // the public routers
/// config.state = saved.as_deref().map(SavedState::decode).transpose()?;
/// let dht = Dht::bind("0.0.0.0:6881".parse().unwrap(), config).await?;
///
/// // Announce a torrent (our peer port; None = the DHT socket's port) and
/// // take the peers found on the way.
/// let mut search = dht.announce([0xab; 20], Some(51413)).await?;
/// while let Some(peer) = search.next().await {
///     println!("peer {peer}");
/// }
/// let summary = search.done().await?; // closest nodes with tokens, who accepted
///
/// dht.add_node("203.0.113.7:6881".parse().unwrap()).await?; // a peer's BEP 5 `port`
/// let stats = dht.stats().await?; // nodes_v4, good_v4, queries_in, queries_out, ...
/// let bytes = dht.save().await?.encode(); // for the engine's state directory
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Dht {
    tx: mpsc::Sender<Command>,
    local: Vec<SocketAddr>,
}

struct Sink {
    peers: Option<mpsc::Sender<SocketAddr>>,
    done: oneshot::Sender<SearchDone>,
}

impl Dht {
    /// Binds a UDP socket to `addr` and starts the node on it (in the
    /// family of `addr`), bootstrapping at once.
    pub async fn bind(addr: SocketAddr, config: DhtConfig) -> Result<Dht, Error> {
        Dht::bind_all(&[addr], config).await
    }

    /// Like [`bind`](Self::bind) with one socket per address (at most one
    /// IPv4 and one IPv6): the node takes part in both DHTs.
    pub async fn bind_all(addrs: &[SocketAddr], mut config: DhtConfig) -> Result<Dht, Error> {
        let mut v4 = None;
        let mut v6 = None;
        for a in addrs {
            let slot = if a.is_ipv4() { &mut v4 } else { &mut v6 };
            if slot.is_none() {
                *slot = Some(UdpSocket::bind(a).await?);
            }
        }
        let local: Vec<SocketAddr> = [&v4, &v6]
            .into_iter()
            .flatten()
            .map(UdpSocket::local_addr)
            .collect::<Result<_, _>>()?;
        config.node.ipv4 = v4.is_some();
        config.node.ipv6 = v6.is_some();
        let mut names = Vec::new();
        for b in &config.bootstrap {
            match b.parse::<SocketAddr>() {
                Ok(a) => config.node.bootstrap.push(a),
                Err(_) => names.push(b.clone()),
            }
        }
        if let Some(state) = &config.state {
            config.node.id = config.node.id.or(Some(state.id));
        }
        let now = Instant::now().into_std();
        let mut node = Node::new(config.node, now);
        if let Some(state) = &config.state {
            node.restore(state);
        }
        node.bootstrap(now)?;
        let (tx, rx) = mpsc::channel(64);
        if !names.is_empty() {
            // A weak sender: a slow DNS answer does not keep the node alive.
            tokio::spawn(resolve(names, tx.downgrade()));
        }
        let task = Task {
            node,
            v4,
            v6,
            rx,
            sinks: HashMap::new(),
        };
        tokio::spawn(task.run());
        Ok(Dht { tx, local })
    }

    /// The bound addresses.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// The first bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local[0]
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).await.map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Finds peers of `info_hash`.
    pub async fn get_peers(&self, info_hash: [u8; 20]) -> Result<PeerSearch, Error> {
        self.ask(|reply| Command::Search {
            info_hash,
            announce: None,
            reply,
        })
        .await?
    }

    /// Finds peers of `info_hash` and announces us as one: `port` is our
    /// peer port, `None` means the port our DHT packets come from
    /// (`implied_port`). The engine repeats this about every 15 minutes.
    pub async fn announce(
        &self,
        info_hash: [u8; 20],
        port: Option<u16>,
    ) -> Result<PeerSearch, Error> {
        self.ask(|reply| Command::Search {
            info_hash,
            announce: Some(port),
            reply,
        })
        .await?
    }

    /// Bootstraps again and waits for the end of that lookup.
    pub async fn bootstrap(&self) -> Result<SearchDone, Error> {
        let done = self.ask(Command::Bootstrap).await??;
        done.await.map_err(|_| Error::Stopped)
    }

    /// Pings `addr` (a peer's DHT port from its BEP 5 `port` message); it
    /// joins the routing table if it answers.
    pub async fn add_node(&self, addr: SocketAddr) -> Result<(), Error> {
        self.tx
            .send(Command::AddNode(addr))
            .await
            .map_err(|_| Error::Stopped)
    }

    /// Counters and table sizes.
    pub async fn stats(&self) -> Result<Stats, Error> {
        self.ask(Command::Stats).await
    }

    /// Our id and the nodes worth keeping, to pass back in
    /// [`DhtConfig::state`] at the next start (`SavedState::encode` makes
    /// the bytes to write).
    pub async fn save(&self) -> Result<SavedState, Error> {
        self.ask(Command::Save).await
    }

    /// Stops the node (searches end without their summary).
    pub async fn shutdown(&self) {
        let _ = self.tx.send(Command::Shutdown).await;
    }
}

/// Resolves bootstrap host names and hands the addresses to the task.
async fn resolve(names: Vec<String>, tx: mpsc::WeakSender<Command>) {
    let mut found = Vec::new();
    for name in names {
        match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(name.as_str())).await {
            Ok(Ok(addrs)) => found.extend(addrs),
            Ok(Err(e)) => tracing::debug!(%name, error = %e, "cannot resolve DHT bootstrap node"),
            Err(_) => tracing::debug!(%name, "resolving DHT bootstrap node timed out"),
        }
    }
    if let (false, Some(tx)) = (found.is_empty(), tx.upgrade()) {
        let _ = tx.send(Command::Resolved(found)).await;
    }
}

struct Task {
    node: Node,
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
    rx: mpsc::Receiver<Command>,
    sinks: HashMap<SearchId, Sink>,
}

async fn recv(sock: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match sock {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

impl Task {
    async fn run(mut self) {
        // One byte more than a packet may have, so longer ones are seen as such.
        let mut buf4 = vec![0u8; MAX_PACKET_LEN + 1];
        let mut buf6 = vec![0u8; MAX_PACKET_LEN + 1];
        loop {
            self.flush().await;
            let deadline = Instant::from_std(self.node.poll_timeout());
            tokio::select! {
                r = recv(self.v4.as_ref(), &mut buf4) => self.packet(r, &buf4),
                r = recv(self.v6.as_ref(), &mut buf6) => self.packet(r, &buf6),
                cmd = self.rx.recv() => match cmd {
                    Some(Command::Shutdown) | None => return,
                    Some(cmd) => self.command(cmd),
                },
                () = tokio::time::sleep_until(deadline) => {
                    self.node.handle_timeout(Instant::now().into_std());
                }
            }
        }
    }

    fn packet(&mut self, r: std::io::Result<(usize, SocketAddr)>, buf: &[u8]) {
        match r {
            Ok((n, from)) => {
                let now = Instant::now().into_std();
                if let Err(e) = self.node.handle_packet(now, from, &buf[..n]) {
                    tracing::trace!(%from, error = %e, "dropped DHT packet");
                }
            }
            // ICMP errors surface here on some systems; the query times out.
            Err(e) => tracing::trace!(error = %e, "DHT socket receive error"),
        }
    }

    fn command(&mut self, cmd: Command) {
        let now = Instant::now().into_std();
        match cmd {
            Command::Search {
                info_hash,
                announce,
                reply,
            } => {
                let started = match announce {
                    None => self.node.get_peers(now, info_hash),
                    Some(port) => self.node.announce(now, info_hash, port),
                };
                let result = started.map(|id| {
                    let (ptx, prx) = mpsc::channel(PEER_CHANNEL);
                    let (dtx, drx) = oneshot::channel();
                    self.sinks.insert(
                        id,
                        Sink {
                            peers: Some(ptx),
                            done: dtx,
                        },
                    );
                    PeerSearch {
                        peers: prx,
                        done: drx,
                    }
                });
                let _ = reply.send(result);
            }
            Command::Bootstrap(reply) => {
                let result = self.node.bootstrap(now).map(|id| {
                    let (dtx, drx) = oneshot::channel();
                    self.sinks.insert(
                        id,
                        Sink {
                            peers: None,
                            done: dtx,
                        },
                    );
                    drx
                });
                let _ = reply.send(result);
            }
            Command::AddNode(addr) => self.node.add_node(now, addr),
            Command::Resolved(addrs) => {
                for a in addrs {
                    self.node.add_bootstrap_node(a);
                }
                let _ = self.node.bootstrap(now);
            }
            Command::Stats(reply) => {
                let _ = reply.send(self.node.stats(now));
            }
            Command::Save(reply) => {
                let _ = reply.send(self.node.save(now));
            }
            Command::Shutdown => {}
        }
    }

    /// Sends what the node wants sent and hands events to their searches.
    async fn flush(&mut self) {
        while let Some(t) = self.node.poll_transmit() {
            let sock = match (t.to, &self.v4, &self.v6) {
                (SocketAddr::V4(_), Some(s), _) | (SocketAddr::V6(_), _, Some(s)) => s,
                _ => continue,
            };
            if let Err(e) = sock.send_to(&t.data, t.to).await {
                tracing::trace!(to = %t.to, error = %e, "DHT send failed");
            }
        }
        while let Some(ev) = self.node.poll_event() {
            match ev {
                Event::Peers { id, peers, .. } => {
                    let Some(sink) = self.sinks.get(&id) else {
                        continue;
                    };
                    let Some(tx) = &sink.peers else { continue };
                    for p in peers {
                        if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(p) {
                            // Nobody listens any more: stop searching.
                            self.node.cancel(id);
                            self.sinks.remove(&id);
                            break;
                        }
                    }
                }
                Event::Done(done) => {
                    if let Some(sink) = self.sinks.remove(&done.id) {
                        let _ = sink.done.send(done);
                    }
                }
            }
        }
    }
}
