//! The Peer Manager part of the torrent task: known addresses, connection
//! attempts, accepting handshaken peers, interest, rates and snubbing.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use monsoon_piece::{Block, PeerKey};
use monsoon_wire::{ExtendedHandshake, Handshake, Message};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};
use tracing::debug;

use super::{Torrent, TorrentEvent};
use crate::peer::{self, BoxTransport, PEER_CMD_CAPACITY, PeerCmd, PeerTimers};

/// Our view of one connected peer.
pub(crate) struct PeerState {
    pub(super) addr: SocketAddr,
    pub(super) id: [u8; 20],
    pub(super) tx: mpsc::Sender<PeerCmd>,
    pub(super) fast: bool,
    /// No message received yet: a bitfield / have-all / have-none may come.
    pub(super) fresh: bool,
    pub(super) am_interested: bool,
    pub(super) peer_interested: bool,
    pub(super) am_choking: bool,
    pub(super) peer_choking: bool,
    /// Requests in flight to this peer.
    pub(super) requested: HashSet<Block>,
    /// Requests released when the peer choked us; a late answer is accepted.
    pub(super) stale: HashSet<Block>,
    /// The peer's `reqq` (most requests it queues).
    pub(super) reqq: usize,
    pub(super) snubbed: bool,
    pub(super) last_block: Instant,
    pub(super) have_count: u32,
    pub(super) down_tick: u64,
    pub(super) down_rate: f64,
    pub(super) up_tick: u64,
    pub(super) up_rate: f64,
    pub(super) uploads_in_flight: usize,
}

/// How many requests a peer queues when it does not say (`reqq`).
const DEFAULT_REQQ: usize = 250;
/// Requests in flight to a peer whose rate is not known yet.
/// Also the floor: some clients (Transmission) answer requests in batches on
/// a timer, so a shallow queue caps their rate, and the rate caps the queue.
const START_DEPTH: usize = 128;
/// Most uploads we read ahead for one peer.
pub(super) const MAX_UPLOADS_IN_FLIGHT: usize = 64;
/// Most addresses waiting to be tried; more from a tracker or the user are
/// dropped (bounded memory against a hostile tracker).
const MAX_KNOWN: usize = 2000;
/// How long before an address that failed or dropped is tried again.
const RETRY_DELAY: Duration = Duration::from_secs(30);

/// Most released requests remembered per peer (a late answer to one is accepted).
const MAX_STALE: usize = 4096;

impl PeerState {
    /// Moves every request in flight to `stale` (a late answer to one is
    /// accepted, not a violation) and returns them for the picker.
    pub(super) fn park_requests(&mut self) -> Vec<Block> {
        if self.stale.len() > MAX_STALE {
            // Bounded memory: very old answers become violations.
            self.stale.clear();
        }
        let blocks: Vec<Block> = self.requested.drain().collect();
        self.stale.extend(blocks.iter().copied());
        blocks
    }

    /// Requests to keep in flight: about one second of data at the peer's
    /// measured rate, bounded by its `reqq` and our own limit.
    pub(super) fn target_depth(&self, max: usize) -> usize {
        if self.snubbed {
            return 1;
        }
        let per_second = (self.down_rate / f64::from(monsoon_piece::BLOCK_LEN)).ceil() as usize;
        per_second.max(START_DEPTH).min(self.reqq).min(max).max(1)
    }
}

impl Torrent {
    /// Adds addresses to try (duplicates, banned and our own are skipped).
    pub(super) fn add_peers(&mut self, addrs: Vec<SocketAddr>) {
        let now = Instant::now();
        for addr in addrs {
            if self.known.len() >= MAX_KNOWN {
                break;
            }
            if addr.port() == 0
                || self.banned_addrs.contains(&addr)
                || self.known_set.contains(&addr)
                || self.retry_after.get(&addr).is_some_and(|t| *t > now)
                || (addr.port() == self.listen_port && addr.ip().is_loopback())
            {
                continue;
            }
            self.known_set.insert(addr);
            self.known.push_back(addr);
        }
    }

    /// After a failed attempt or a closed connection: may be tried again later
    /// (the tracker will hand it out again).
    pub(super) fn forget_for_a_while(&mut self, addr: SocketAddr) {
        self.known_set.remove(&addr);
        self.retry_after.insert(addr, Instant::now() + RETRY_DELAY);
    }

    fn wants_peers(&self) -> bool {
        !self.paused && self.stopping.is_none() && !self.picker.is_complete()
    }

    /// Starts connection attempts up to the limits.
    pub(super) fn connect_more(&mut self) {
        if !self.wants_peers() {
            return;
        }
        while self.connecting < self.cfg.max_connecting
            && self.peers.len() + self.connecting < self.cfg.max_peers_per_torrent
        {
            let Some(addr) = self.known.pop_front() else {
                break;
            };
            if self.banned_addrs.contains(&addr) || self.peers.values().any(|p| p.addr == addr) {
                continue;
            }
            self.connecting += 1;
            let ours = Handshake::new(self.meta.info_hash, self.peer_id);
            let events = self.events.clone();
            let (connect_timeout, hs_timeout) =
                (self.cfg.connect_timeout, self.cfg.handshake_timeout);
            tokio::spawn(async move {
                let result = async {
                    let tcp = timeout(connect_timeout, TcpStream::connect(addr))
                        .await
                        .map_err(|_| "connect timed out".to_string())?
                        .map_err(|e| format!("connect: {e}"))?;
                    let _ = tcp.set_nodelay(true);
                    let mut stream: BoxTransport = Box::new(tcp);
                    peer::write_handshake(&mut stream, &ours)
                        .await
                        .map_err(|e| format!("handshake: {e}"))?;
                    let theirs = peer::read_handshake(&mut stream, hs_timeout).await?;
                    Ok((stream, theirs))
                }
                .await;
                let _ = events.send(TorrentEvent::Outgoing { addr, result }).await;
            });
        }
    }

    /// A connection with both handshakes read (ours is sent by the peer task
    /// for incoming ones): check it and start its task.
    pub(super) fn on_connected(
        &mut self,
        addr: SocketAddr,
        stream: BoxTransport,
        theirs: Handshake,
        incoming: bool,
    ) {
        let reject = if theirs.info_hash != self.meta.info_hash {
            Some("wrong info-hash")
        } else if theirs.peer_id == self.peer_id {
            Some("connected to ourselves")
        } else if self.banned_ids.contains(&theirs.peer_id) || self.banned_addrs.contains(&addr) {
            Some("banned")
        } else if self.peers.values().any(|p| p.id == theirs.peer_id) {
            Some("already connected to this peer")
        } else if self.paused || self.stopping.is_some() {
            Some("not accepting peers")
        } else if incoming && self.peers.len() >= self.cfg.max_peers_per_torrent {
            Some("peer limit reached")
        } else {
            None
        };
        if let Some(reason) = reject {
            debug!(%addr, reason, "dropping connection");
            if !incoming {
                self.forget_for_a_while(addr);
            }
            return;
        }
        let key = self.next_key;
        self.next_key = self.next_key.wrapping_add(1);
        let fast = theirs.reserved.fast();
        let mut first = Vec::new();
        if theirs.reserved.extension_protocol() {
            let ext = ExtendedHandshake {
                v: Some(format!("monsoon {}", env!("CARGO_PKG_VERSION"))),
                reqq: Some(500),
                p: Some(self.listen_port),
                ..ExtendedHandshake::default()
            };
            first.push(Message::Extended {
                id: 0,
                payload: ext.encode(),
            });
        }
        let have = self.picker.have();
        if fast && have.count_ones() == 0 {
            first.push(Message::HaveNone);
        } else if fast && have.all() {
            first.push(Message::HaveAll);
        } else if have.count_ones() > 0 {
            first.push(Message::Bitfield(have.to_bytes().into()));
        }
        let (tx, rx) = mpsc::channel(PEER_CMD_CAPACITY);
        self.picker.peer_join(key);
        self.key_addrs.insert(key, (addr, theirs.peer_id));
        self.peers.insert(
            key,
            PeerState {
                addr,
                id: theirs.peer_id,
                tx,
                fast,
                fresh: true,
                am_interested: false,
                peer_interested: false,
                am_choking: true,
                peer_choking: true,
                requested: HashSet::new(),
                stale: HashSet::new(),
                reqq: DEFAULT_REQQ,
                snubbed: false,
                last_block: Instant::now(),
                have_count: 0,
                down_tick: 0,
                down_rate: 0.0,
                up_tick: 0,
                up_rate: 0.0,
                uploads_in_flight: 0,
            },
        );
        debug!(%addr, key, incoming, fast, "peer connected");
        let ours = incoming.then(|| Handshake::new(self.meta.info_hash, self.peer_id));
        let conn = peer::PeerConn {
            key,
            addr,
            stream,
            handshake: ours,
            first,
        };
        let timers = PeerTimers {
            idle: self.cfg.idle_timeout,
            keepalive: self.cfg.keepalive_interval,
            max_frame: peer::max_frame_for(self.geometry.piece_count()),
        };
        peer::spawn_peer(conn, rx, self.events.clone(), timers);
    }

    /// Sends messages to a peer; a peer whose queue is full is dropped.
    pub(super) fn send(&mut self, key: PeerKey, msgs: Vec<Message>) {
        if msgs.is_empty() {
            return;
        }
        let Some(p) = self.peers.get(&key) else {
            return;
        };
        if p.tx.try_send(PeerCmd::Send(msgs)).is_err() {
            self.drop_peer(key, "not reading its messages");
        }
    }

    /// Closes a connection from our side and forgets its state.
    pub(super) fn drop_peer(&mut self, key: PeerKey, reason: &str) {
        if let Some(p) = self.peers.remove(&key) {
            debug!(addr = %p.addr, key, reason, "dropping peer");
            let _ = p.tx.try_send(PeerCmd::Close);
            self.picker.peer_gone(key);
            if self.optimistic == Some(key) {
                self.optimistic = None;
            }
            self.forget_for_a_while(p.addr);
        }
    }

    pub(super) fn on_peer_closed(&mut self, key: PeerKey, reason: &str) {
        if self.peers.contains_key(&key) {
            debug!(key, reason, "peer closed the connection");
            self.drop_peer(key, reason);
            let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
            for k in keys {
                self.fill_requests(k);
            }
        }
    }

    /// Sends interested / not interested when that changed.
    pub(super) fn update_interest(&mut self, key: PeerKey) {
        let want = !self.picker.is_complete() && self.picker.is_interesting(key);
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if want != p.am_interested {
            p.am_interested = want;
            let msg = if want {
                Message::Interested
            } else {
                Message::NotInterested
            };
            self.send(key, vec![msg]);
        }
    }

    /// Once a second: rates as a moving average of the last few seconds.
    pub(super) fn update_rates(&mut self) {
        let (mut down, mut up) = (0.0, 0.0);
        for p in self.peers.values_mut() {
            p.down_rate = p.down_rate * 0.5 + p.down_tick as f64 * 0.5;
            p.up_rate = p.up_rate * 0.5 + p.up_tick as f64 * 0.5;
            p.down_tick = 0;
            p.up_tick = 0;
            down += p.down_rate;
            up += p.up_rate;
        }
        self.stats.download_rate = down;
        self.stats.upload_rate = up;
    }

    /// A peer that unchoked us but stopped sending has its requests given to others.
    pub(super) fn check_snubs(&mut self) {
        let now = Instant::now();
        let limit = self.cfg.snub_timeout;
        let snubbed: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                !p.snubbed && !p.requested.is_empty() && now.duration_since(p.last_block) > limit
            })
            .map(|(k, _)| *k)
            .collect();
        for key in snubbed {
            debug!(key, "peer snubbed us");
            if let Some(p) = self.peers.get_mut(&key) {
                p.snubbed = true;
                for b in p.park_requests() {
                    self.picker.release(key, b);
                }
            }
        }
    }
}
