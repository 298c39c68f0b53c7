//! The tokio side of Local Service Discovery: the multicast sockets (IPv4,
//! and IPv6 when the system allows), one [`LsdCore`] per group, and the
//! torrents listening for the peers it finds.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::lsd::{
    LSD_GROUP_V4, LSD_GROUP_V6, LSD_PORT, LsdConfig, LsdCore, LsdReceived, MAX_LSD_DATAGRAM,
};

/// Peers queued per torrent before more are dropped.
const PEER_QUEUE: usize = 64;
/// Commands queued to the LSD task.
const COMMANDS: usize = 64;

/// Where and how often to announce.
#[derive(Debug, Clone)]
pub struct LsdSettings {
    /// The interface (by its IPv4 address) to join the group on and send
    /// from; unspecified: the system's choice (the default route's).
    pub interface_v4: Ipv4Addr,
    /// The IPv4 group and port.
    pub group_v4: SocketAddrV4,
    /// The IPv6 group and port, if IPv6 is used (on the default interface;
    /// set-up failures are logged and IPv6 is skipped).
    pub group_v6: Option<SocketAddrV6>,
    /// How often each torrent is announced.
    pub announce_interval: Duration,
    /// The least time between two datagrams on one group.
    pub min_gap: Duration,
    /// Multicast TTL (BEP 14 suggests more than 1 for its wider scopes).
    pub ttl: u32,
}

impl Default for LsdSettings {
    fn default() -> Self {
        Self {
            interface_v4: Ipv4Addr::UNSPECIFIED,
            group_v4: SocketAddrV4::new(LSD_GROUP_V4, LSD_PORT),
            group_v6: Some(SocketAddrV6::new(LSD_GROUP_V6, LSD_PORT, 0, 0)),
            announce_interval: Duration::from_secs(5 * 60),
            min_gap: Duration::from_secs(60),
            ttl: 32,
        }
    }
}

enum Command {
    Add([u8; 20], mpsc::Sender<SocketAddr>),
    Remove([u8; 20]),
}

/// A running LSD service. Cloning shares it; it stops when the last clone
/// and the last [`LsdPeers`] are dropped.
#[derive(Debug, Clone)]
pub struct Lsd {
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Add(h, _) => write!(f, "Add({h:02x?})"),
            Command::Remove(h) => write!(f, "Remove({h:02x?})"),
        }
    }
}

/// The peers LSD finds for one torrent, announced while this lives.
#[derive(Debug)]
pub struct LsdPeers {
    info_hash: [u8; 20],
    peers: mpsc::Receiver<SocketAddr>,
    commands: mpsc::Sender<Command>,
}

impl LsdPeers {
    /// The next peer found (`None` once the service has stopped).
    pub async fn recv(&mut self) -> Option<SocketAddr> {
        self.peers.recv().await
    }
}

impl Drop for LsdPeers {
    fn drop(&mut self) {
        let _ = self.commands.try_send(Command::Remove(self.info_hash));
    }
}

impl Lsd {
    /// Opens the sockets and starts announcing for a client listening on
    /// `port`, with `cookie` to recognise our own announces.
    ///
    /// # Errors
    /// The IPv4 socket could not be bound or could not join the group.
    pub async fn start(settings: LsdSettings, port: u16, cookie: String) -> io::Result<Lsd> {
        let v4 = open_v4(&settings)?;
        let v6 = match settings.group_v6 {
            Some(g) => match open_v6(g) {
                Ok(s) => Some((s, g)),
                Err(e) => {
                    debug!(error = %e, "LSD over IPv6 unavailable");
                    None
                }
            },
            None => None,
        };
        let core = |group: SocketAddr| {
            let mut cfg = LsdConfig::new(group);
            cfg.announce_interval = settings.announce_interval;
            cfg.min_gap = settings.min_gap;
            LsdCore::new(cfg, port, cookie.clone())
        };
        let mut groups = vec![Group {
            core: core(settings.group_v4.into()),
            socket: v4,
            to: settings.group_v4.into(),
        }];
        if let Some((socket, g)) = v6 {
            groups.push(Group {
                core: core(g.into()),
                socket,
                to: g.into(),
            });
        }
        let (tx, rx) = mpsc::channel(COMMANDS);
        tokio::spawn(run(groups, rx));
        Ok(Lsd { commands: tx })
    }

    /// Announces `info_hash` from now on; the peers found come through the
    /// returned [`LsdPeers`] (dropping it stops the announces). `None` if
    /// the service has stopped.
    pub async fn register(&self, info_hash: [u8; 20]) -> Option<LsdPeers> {
        let (tx, rx) = mpsc::channel(PEER_QUEUE);
        self.commands.send(Command::Add(info_hash, tx)).await.ok()?;
        Some(LsdPeers {
            info_hash,
            peers: rx,
            commands: self.commands.clone(),
        })
    }
}

struct Group {
    core: LsdCore,
    socket: UdpSocket,
    to: SocketAddr,
}

fn open_v4(s: &LsdSettings) -> io::Result<UdpSocket> {
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    // Other clients on this host listen on the same port.
    sock.set_reuse_address(true)?;
    sock.set_reuse_port(true)?;
    sock.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, s.group_v4.port())).into())?;
    sock.join_multicast_v4(s.group_v4.ip(), &s.interface_v4)?;
    if !s.interface_v4.is_unspecified() {
        sock.set_multicast_if_v4(&s.interface_v4)?;
    }
    sock.set_multicast_loop_v4(true)?;
    sock.set_multicast_ttl_v4(s.ttl)?;
    sock.set_nonblocking(true)?;
    UdpSocket::from_std(sock.into())
}

fn open_v6(group: SocketAddrV6) -> io::Result<UdpSocket> {
    let sock = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    sock.set_only_v6(true)?;
    sock.set_reuse_address(true)?;
    sock.set_reuse_port(true)?;
    sock.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, group.port())).into())?;
    sock.join_multicast_v6(group.ip(), 0)?;
    sock.set_multicast_loop_v6(true)?;
    sock.set_nonblocking(true)?;
    UdpSocket::from_std(sock.into())
}

async fn recv_on(groups: &[Group], buf: &mut [u8]) -> (usize, io::Result<(usize, SocketAddr)>) {
    let first = groups[0].socket.recv_from(buf);
    match groups.get(1) {
        None => (0, first.await),
        Some(second) => {
            let mut other = [0u8; MAX_LSD_DATAGRAM + 1];
            tokio::select! {
                r = first => (0, r),
                r = second.socket.recv_from(&mut other) => {
                    let r = r.map(|(n, from)| {
                        buf[..n].copy_from_slice(&other[..n]);
                        (n, from)
                    });
                    (1, r)
                }
            }
        }
    }
}

async fn run(mut groups: Vec<Group>, mut commands: mpsc::Receiver<Command>) {
    let mut torrents: HashMap<[u8; 20], mpsc::Sender<SocketAddr>> = HashMap::new();
    // One byte more than we read, so a longer datagram shows as too long.
    let mut buf = [0u8; MAX_LSD_DATAGRAM + 1];
    loop {
        let now = Instant::now();
        for g in &mut groups {
            while let Some(datagram) = g.core.poll_send(now.into_std()) {
                if let Err(e) = g.socket.send_to(&datagram, g.to).await {
                    debug!(error = %e, group = %g.to, "LSD announce not sent");
                }
            }
        }
        let wake = groups
            .iter()
            .filter_map(|g| g.core.poll_timeout(now.into_std()))
            .min()
            .map_or_else(|| now + Duration::from_secs(3600), Instant::from_std);
        tokio::select! {
            cmd = commands.recv() => match cmd {
                None => return,
                Some(Command::Add(hash, tx)) => {
                    torrents.insert(hash, tx);
                    groups.iter_mut().for_each(|g| g.core.add(hash));
                }
                Some(Command::Remove(hash)) => {
                    // A torrent added again since holds a live sender.
                    if torrents.get(&hash).is_some_and(mpsc::Sender::is_closed) {
                        torrents.remove(&hash);
                        groups.iter_mut().for_each(|g| g.core.remove(&hash));
                    }
                }
            },
            (i, got) = recv_on(&groups, &mut buf) => match got {
                Ok((n, from)) => {
                    let got = groups[i].core.on_datagram(Instant::now().into_std(), from, &buf[..n]);
                    match got {
                        LsdReceived::Peers(peers) => {
                            for (hash, peer) in peers {
                                if let Some(tx) = torrents.get(&hash) {
                                    debug!(%peer, "peer from local service discovery");
                                    let _ = tx.try_send(peer);
                                }
                            }
                        }
                        LsdReceived::Invalid(e) => debug!(%from, error = %e, "LSD datagram dropped"),
                        LsdReceived::RateLimited => debug!(%from, "LSD datagram over the rate limit"),
                        LsdReceived::Ours => {}
                    }
                }
                Err(e) => {
                    warn!(error = %e, "LSD socket error");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
            () = tokio::time::sleep_until(wake) => {}
        }
    }
}
