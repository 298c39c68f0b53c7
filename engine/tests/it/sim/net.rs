//! A deterministic network of torrent cores: no sockets, no threads, no
//! sleeps. Time is virtual and jumps from event to event; every node is a
//! real [`TorrentCore`] with an in-memory storage, behind an access link
//! with a one-way latency and an upload rate; messages on a connection
//! arrive in order; disk jobs answer after a millisecond. Faulty nodes
//! rewrite what their core sends (see [`Fault`]).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use monsoon_engine::torrent::{Action, DiskJob, DiskResult, PeerEnd, TorrentCore, TorrentParams};
use monsoon_engine::{ConnectError, Metainfo, PeerSource, SessionConfig, TorrentState};
use monsoon_piece::PeerKey;
use monsoon_storage::MemoryStorage;
use monsoon_tracker::Event;
use monsoon_wire::{Handshake, Message, MetadataMessage};

pub(crate) use super::node::{Fault, Have, Log, NodeSpec};
use super::torrent::SimTorrent;

/// How long a disk job takes.
const DISK_DELAY: Duration = Duration::from_millis(1);

pub(crate) struct Node {
    pub(crate) core: TorrentCore,
    pub(crate) storage: Arc<MemoryStorage>,
    pub(crate) addr: SocketAddr,
    pub(crate) spec: NodeSpec,
    pub(crate) log: Log,
    handshake: Handshake,
    /// When its upload link is free again.
    up_free_at: Instant,
    /// Connections: our key -> (peer node, its key once known).
    links: BTreeMap<PeerKey, Link>,
    online: bool,
    /// Hash requests it rejected so far (for [`Fault::RejectHashes`]).
    rejected: u32,
}

#[derive(Debug, Clone, Copy)]
struct Link {
    peer: usize,
    /// Block bytes sent on it (for faults).
    sent: u64,
    blocks: u32,
}

enum Ev {
    /// A dial from `from` reaches `to`.
    Dial {
        from: usize,
        to: usize,
    },
    /// `to` accepted `from`'s dial as `to_key`, answering with `hs`; the
    /// answer reaches `from`.
    Accepted {
        from: usize,
        to: usize,
        to_key: PeerKey,
        hs: Handshake,
    },
    /// A dial failed (nobody there, or refused).
    DialFailed {
        from: usize,
        addr: SocketAddr,
    },
    /// A message sent by `from` on its connection `key` arrives.
    Deliver {
        from: usize,
        key: PeerKey,
        msg: Message,
    },
    /// The other end closed: after the last message it sent, `to` hears of
    /// it; `route` (the closer's way to `to`) goes then.
    Closed {
        to: usize,
        key: PeerKey,
        route: Option<(usize, PeerKey)>,
    },
    Disk {
        to: usize,
        result: DiskResult,
    },
    /// Node `to` wrote `bytes` of block payload on its connection `key`.
    Sent {
        to: usize,
        key: PeerKey,
        bytes: u64,
    },
    Peers {
        to: usize,
        addrs: Vec<SocketAddr>,
    },
}

struct Scheduled {
    at: Instant,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Scheduled {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// The network.
pub(crate) struct Sim {
    pub(crate) t0: Instant,
    pub(crate) now: Instant,
    pub(crate) nodes: Vec<Node>,
    pub(crate) torrent: SimTorrent,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    /// Both ends of every open connection: (node, key) -> (node, key).
    routes: BTreeMap<(usize, PeerKey), (usize, PeerKey)>,
    /// Events handled so far (a bound on every run).
    pub(crate) steps: u64,
}

/// Settings every node's core gets (short timeouts for quick tests).
pub(crate) fn config() -> SessionConfig {
    let mut cfg = SessionConfig::new(".");
    cfg.snub_timeout = Duration::from_secs(5);
    cfg
}

impl Sim {
    /// A network of `specs` nodes sharing `torrent`; each node gets the
    /// address `10.0.0.i:6881`. Nobody knows anybody until
    /// [`introduce`](Self::introduce) or a tracker announce (every node
    /// announcing `started` learns every node's address).
    pub(crate) fn new(torrent: SimTorrent, specs: Vec<NodeSpec>, cfg: SessionConfig) -> Self {
        let t0 = Instant::now();
        let cfg = Arc::new(cfg);
        let mut nodes = Vec::new();
        for (i, spec) in specs.into_iter().enumerate() {
            let addr = SocketAddr::from(([10, 0, (i / 250) as u8, (i % 250) as u8 + 1], 6881));
            let mut id = *b"-SM0001-000000000000";
            id[14..20].copy_from_slice(format!("{i:06}").as_bytes());
            let storage = Arc::new(torrent.storage(&spec.have));
            let mut params = if spec.magnet {
                let v2 = torrent.meta.info_hash_v2;
                let info_hash = match v2 {
                    Some(v2) if spec.btmh_only => v2[..20].try_into().expect("20 bytes"),
                    _ => torrent.meta.info_hash,
                };
                let mut p = TorrentParams::magnet(info_hash, cfg.clone(), id, 6881);
                p.info_hash_v2 = v2;
                p
            } else {
                TorrentParams::new(torrent.meta.clone(), cfg.clone(), id, 6881)
            };
            if spec.v1_only {
                params.info_hash_v2 = None;
            }
            params.piece_priorities = spec.priorities.clone();
            params.seed = i as u64 + 1;
            let mut handshake = Handshake::new(params.info_hash, id);
            if params.info_hash_v2.is_some() {
                handshake.reserved = handshake.reserved.with_v2();
            }
            let core = TorrentCore::new(params, t0).expect("core");
            nodes.push(Node {
                core,
                storage,
                addr,
                log: Log::default(),
                handshake,
                up_free_at: t0,
                links: BTreeMap::new(),
                online: true,
                rejected: 0,
                spec,
            });
        }
        let mut sim = Self {
            t0,
            now: t0,
            nodes,
            torrent,
            queue: BinaryHeap::new(),
            seq: 0,
            routes: BTreeMap::new(),
            steps: 0,
        };
        for i in 0..sim.nodes.len() {
            sim.drain(i);
        }
        sim
    }

    pub(crate) fn meta(&self) -> &Arc<Metainfo> {
        &self.torrent.meta
    }

    /// Virtual time since the start.
    pub(crate) fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Tells node `i` the addresses of `others` (as `--peer` does).
    pub(crate) fn introduce(&mut self, i: usize, others: &[usize]) {
        let addrs: Vec<SocketAddr> = others.iter().map(|&j| self.nodes[j].addr).collect();
        let now = self.now;
        self.nodes[i].core.add_peers(now, &addrs, PeerSource::User);
        self.drain(i);
    }

    /// Puts node `i` back on the network (it answers dials again).
    pub(crate) fn bring_online(&mut self, i: usize) {
        self.nodes[i].online = true;
    }

    /// Takes node `i` off the network (its connections break, dials to and
    /// from it fail, messages to it are lost); its disk and timers go on.
    pub(crate) fn take_offline(&mut self, i: usize) {
        self.nodes[i].online = false;
        let links = std::mem::take(&mut self.nodes[i].links);
        for (key, link) in links {
            // A reset: what is in flight either way is lost.
            if let Some(other) = self.routes.remove(&(i, key)) {
                self.routes.remove(&other);
                let d = self.one_way(i, link.peer);
                self.schedule(
                    d,
                    Ev::Closed {
                        to: other.0,
                        key: other.1,
                        route: None,
                    },
                );
            }
            let now = self.now;
            self.nodes[i].core.handle_closed(
                now,
                key,
                PeerEnd::Io(std::io::ErrorKind::NetworkDown),
            );
        }
        self.drain(i);
    }

    /// Runs until `done` holds or `limit` of virtual time passes; returns
    /// whether `done` held. Bounded in steps too.
    pub(crate) fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Sim) -> bool,
    ) -> bool {
        let end = self.now + limit;
        while !done(self) {
            if self.steps > 20_000_000 || !self.step(end) {
                return done(self);
            }
        }
        true
    }

    /// Whether every node has every wanted piece.
    pub(crate) fn all_complete(&self) -> bool {
        self.nodes
            .iter()
            .all(|n| !n.online || n.core.state() == TorrentState::Seeding)
    }

    /// One event (or timeout); false when nothing is left before `end`.
    fn step(&mut self, end: Instant) -> bool {
        let next_ev = self.queue.peek().map(|Reverse(s)| s.at);
        let next_timeout = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.core.poll_timeout().map(|t| (t, i)))
            .min();
        let take_event = match (next_ev, next_timeout) {
            (Some(e), Some((t, _))) => e <= t,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return false,
        };
        self.steps += 1;
        if take_event {
            let Some(Reverse(s)) = self.queue.pop() else {
                return false;
            };
            if s.at > end {
                self.queue.push(Reverse(s));
                return false;
            }
            self.now = self.now.max(s.at);
            self.handle(s.ev);
        } else if let Some((t, i)) = next_timeout {
            if t > end {
                return false;
            }
            self.now = self.now.max(t);
            let now = self.now;
            self.nodes[i].core.handle_timeout(now);
            self.drain(i);
        }
        true
    }

    fn schedule(&mut self, after: Duration, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at: self.now + after,
            seq: self.seq,
            ev,
        }));
    }

    fn one_way(&self, a: usize, b: usize) -> Duration {
        self.nodes[a].spec.latency + self.nodes[b].spec.latency
    }

    fn handle(&mut self, ev: Ev) {
        let now = self.now;
        let at = self.elapsed();
        match ev {
            Ev::Dial { from, to } => {
                let from_addr = self.nodes[from].addr;
                // The dialler names the info-hash its core chooses.
                let hs = Handshake {
                    info_hash: self.nodes[from].core.dial_info_hash(self.nodes[to].addr),
                    ..self.nodes[from].handshake
                };
                let n = &mut self.nodes[to];
                if !n.online {
                    return self.schedule(
                        self.one_way(from, to),
                        Ev::DialFailed {
                            from,
                            addr: self.nodes[to].addr,
                        },
                    );
                }
                let result = n.core.handle_connected(
                    now,
                    from_addr,
                    monsoon_engine::torrent::Direction::Incoming,
                    &hs,
                );
                // The answer names the info-hash its core speaks with
                // this peer (a hybrid's v2 one for a v2 peer).
                let reply = Handshake {
                    info_hash: n.core.reply_info_hash(&hs),
                    ..n.handshake
                };
                match result {
                    Ok(key) => {
                        n.links.insert(
                            key,
                            Link {
                                peer: from,
                                sent: 0,
                                blocks: 0,
                            },
                        );
                        n.log.connected.push((at, from));
                        self.schedule(
                            self.one_way(from, to),
                            Ev::Accepted {
                                from,
                                to,
                                to_key: key,
                                hs: reply,
                            },
                        );
                    }
                    Err(reason) => {
                        n.log.closed.push((at, from, reason));
                        let addr = n.addr;
                        self.schedule(self.one_way(from, to), Ev::DialFailed { from, addr });
                    }
                }
                self.drain(to);
            }
            Ev::Accepted {
                from,
                to,
                to_key,
                hs,
            } => {
                let to_addr = self.nodes[to].addr;
                let n = &mut self.nodes[from];
                if !n.online {
                    return;
                }
                match n.core.handle_connected(
                    now,
                    to_addr,
                    monsoon_engine::torrent::Direction::Outgoing,
                    &hs,
                ) {
                    Ok(key) => {
                        n.links.insert(
                            key,
                            Link {
                                peer: to,
                                sent: 0,
                                blocks: 0,
                            },
                        );
                        n.log.connected.push((at, to));
                        self.routes.insert((from, key), (to, to_key));
                        self.routes.insert((to, to_key), (from, key));
                    }
                    Err(reason) => {
                        n.log.closed.push((at, to, reason));
                        self.schedule(
                            self.one_way(from, to),
                            Ev::Closed {
                                to,
                                key: to_key,
                                route: None,
                            },
                        );
                    }
                }
                self.drain(from);
            }
            Ev::DialFailed { from, addr } => {
                let err = ConnectError::Io(std::io::ErrorKind::ConnectionRefused);
                self.nodes[from].core.handle_connect_failed(now, addr, err);
                self.drain(from);
            }
            Ev::Deliver { from, key, msg } => {
                let Some(&(to, key)) = self.routes.get(&(from, key)) else {
                    return;
                };
                let n = &mut self.nodes[to];
                if std::env::var("SIM_TRACE").is_ok()
                    && !matches!(msg, Message::Piece { .. } | Message::Request(_))
                {
                    eprintln!(
                        "{at:?} {from}->{to} key {key} known={} {msg:?}",
                        n.links.contains_key(&key)
                    );
                }
                if n.online && n.links.contains_key(&key) {
                    n.core.handle_message(now, key, msg);
                    self.drain(to);
                }
            }
            Ev::Closed { to, key, route } => {
                if let Some(route) = route {
                    self.routes.remove(&route);
                }
                let n = &mut self.nodes[to];
                if n.links.remove(&key).is_some() && n.online {
                    n.core.handle_closed(now, key, PeerEnd::ClosedByPeer);
                    self.drain(to);
                }
            }
            Ev::Disk { to, result } => {
                self.nodes[to].core.handle_disk(now, result);
                self.drain(to);
            }
            Ev::Sent { to, key, bytes } => {
                self.nodes[to].core.handle_sent(now, key, bytes);
                self.drain(to);
            }
            Ev::Peers { to, addrs } => {
                if self.nodes[to].online {
                    self.nodes[to]
                        .core
                        .add_peers(now, &addrs, PeerSource::Tracker);
                    self.drain(to);
                }
            }
        }
    }

    /// Carries out node `i`'s actions.
    fn drain(&mut self, i: usize) {
        while let Some(action) = self.nodes[i].core.poll_action() {
            match action {
                Action::Connect(addr) => match self.nodes.iter().position(|n| n.addr == addr) {
                    Some(j) if self.nodes[i].online => {
                        self.schedule(self.one_way(i, j), Ev::Dial { from: i, to: j })
                    }
                    _ => {
                        self.schedule(Duration::from_millis(100), Ev::DialFailed { from: i, addr })
                    }
                },
                Action::Send(key, msgs) => {
                    for msg in msgs {
                        self.send(i, key, msg);
                    }
                }
                Action::Close(key, reason) => {
                    if let Some(l) = self.nodes[i].links.remove(&key) {
                        let at = self.elapsed();
                        self.nodes[i].log.closed.push((at, l.peer, reason));
                        let d = self.one_way(i, l.peer);
                        self.cut(i, key, d);
                    }
                }
                Action::Disk(job) => {
                    let result = self.run_disk(i, job);
                    self.schedule(DISK_DELAY, Ev::Disk { to: i, result });
                }
                Action::Announce(event) => {
                    self.nodes[i].log.announces.push(event);
                    if event == Event::Started {
                        let addrs: Vec<SocketAddr> = (0..self.nodes.len())
                            .filter(|&j| j != i)
                            .map(|j| self.nodes[j].addr)
                            .collect();
                        self.schedule(Duration::from_millis(50), Ev::Peers { to: i, addrs });
                    }
                }
                Action::StateChanged(state) => {
                    let at = self.elapsed();
                    let log = &mut self.nodes[i].log;
                    log.states.push((at, state));
                    if state == TorrentState::Seeding && log.completed_at.is_none() {
                        log.completed_at = Some(at);
                    }
                }
                _ => {}
            }
        }
    }

    /// The engine's own disk executor, on the in-memory storage.
    fn run_disk(&self, i: usize, job: DiskJob) -> DiskResult {
        let n = &self.nodes[i];
        job.run(n.storage.as_ref())
    }

    /// One message from node `i` on its connection `key`, through the
    /// node's fault and upload link.
    fn send(&mut self, i: usize, key: PeerKey, msg: Message) {
        let Some(link) = self.nodes[i].links.get(&key).copied() else {
            return;
        };
        let fault = self.nodes[i].spec.fault;
        let pieces = self.meta().piece_count();
        match &msg {
            Message::Request(r) => {
                let at = self.elapsed();
                let log = &mut self.nodes[i].log;
                log.requests.push((link.peer, *r));
                log.first_request_at.get_or_insert(at);
                if self.nodes[i].core.have().get(r.index) {
                    self.nodes[i].log.requested_owned.push(r.index);
                }
            }
            Message::Cancel(r) => self.nodes[i].log.cancels.push((link.peer, *r)),
            Message::HashRequest(r) => self.nodes[i].log.hash_requests.push((link.peer, *r)),
            _ => {}
        }
        let mut out = vec![msg];
        match (fault, &out[0]) {
            (Fault::Corrupt, Message::Piece { index, begin, data }) => {
                let mut bad = data.to_vec();
                bad[0] ^= 0x55;
                out[0] = Message::Piece {
                    index: *index,
                    begin: *begin,
                    data: Bytes::from(bad),
                };
            }
            (Fault::BadBitfield, Message::HaveAll | Message::Bitfield(_) | Message::HaveNone) => {
                out[0] =
                    Message::Bitfield(Bytes::from(vec![0xff; pieces.div_ceil(8) as usize + 2]));
            }
            (Fault::UnrequestedBlock, Message::HaveAll | Message::Bitfield(_)) => {
                let len =
                    (self.meta().piece_length.min(16 * 1024) as usize).min(self.torrent.data.len());
                let data = Bytes::copy_from_slice(&self.torrent.data[..len]);
                out.push(Message::Piece {
                    index: 0,
                    begin: 0,
                    data,
                });
            }
            (Fault::HaveOutOfRange, Message::HaveAll | Message::Bitfield(_)) => {
                out.push(Message::Have(pieces + 3));
            }
            (Fault::MetadataSize(size), Message::Extended { id: 0, payload }) => {
                let mut ext = monsoon_wire::ExtendedHandshake::decode(payload).expect("our own");
                ext.metadata_size = Some(size);
                out[0] = ext.to_message();
            }
            (Fault::CorruptMetadata, Message::Extended { id: 1, payload })
                if payload.len() > 100 =>
            {
                let mut bad = payload.to_vec();
                let last = bad.len() - 1;
                bad[last] ^= 0x5a;
                out[0] = Message::Extended {
                    id: 1,
                    payload: Bytes::from(bad),
                };
            }
            (Fault::CorruptHashes, Message::Hashes { request, hashes }) => {
                let mut bad = hashes.to_vec();
                bad[0] ^= 0x5a;
                out[0] = Message::Hashes {
                    request: *request,
                    hashes: Bytes::from(bad),
                };
            }
            (Fault::RejectHashes(n), Message::Hashes { request, .. })
                if self.nodes[i].rejected < n =>
            {
                self.nodes[i].rejected += 1;
                out[0] = Message::HashReject(*request);
            }
            (Fault::ShortMetadata, Message::Extended { id: 1, payload }) if payload.len() > 100 => {
                out[0] = Message::Extended {
                    id: 1,
                    payload: payload.slice(..payload.len() - 1),
                };
            }
            (Fault::MetadataPieceOutOfRange, Message::Extended { id: 1, payload }) => {
                if let Ok((MetadataMessage::Data { total_size, .. }, used)) =
                    MetadataMessage::decode(payload)
                {
                    let mut bad = MetadataMessage::Data {
                        piece: 1000,
                        total_size,
                    }
                    .encode();
                    bad.extend_from_slice(&payload[used..]);
                    out[0] = Message::Extended {
                        id: 1,
                        payload: bad.freeze(),
                    };
                }
            }
            (Fault::StallAfter(n), Message::Piece { data, .. }) if link.sent >= n => {
                // Swallowed, as if written to a peer that never gets it.
                let bytes = data.len() as u64;
                self.schedule(Duration::ZERO, Ev::Sent { to: i, key, bytes });
                return;
            }
            (Fault::DisconnectAfter(n), Message::Piece { .. }) if link.sent >= n => {
                // The node drops the connection (its core did not decide it).
                self.nodes[i].links.remove(&key);
                let now = self.now;
                self.nodes[i].core.handle_closed(
                    now,
                    key,
                    PeerEnd::Io(std::io::ErrorKind::ConnectionReset),
                );
                let d = self.one_way(i, link.peer);
                self.cut(i, key, d);
                return;
            }
            _ => {}
        }
        if let (Fault::ChokeFlap(every), Message::Piece { .. }) = (fault, &out[0]) {
            if (link.blocks + 1) % every == 0 {
                out.push(Message::Choke);
                out.push(Message::Unchoke);
            }
        }
        for m in out {
            self.transmit(i, key, link, m);
        }
    }

    fn transmit(&mut self, i: usize, key: PeerKey, link: Link, msg: Message) {
        let size = match &msg {
            Message::Piece { data, .. } => 13 + data.len() as u64,
            Message::Bitfield(b) => 5 + b.len() as u64,
            Message::Hashes { hashes, .. } => 53 + hashes.len() as u64,
            _ => 17,
        };
        if let Message::Piece { data, .. } = &msg {
            let n = &mut self.nodes[i];
            n.log.served += data.len() as u64;
            if let Some(l) = n.links.get_mut(&key) {
                l.sent += data.len() as u64;
                l.blocks += 1;
            }
        }
        let n = &mut self.nodes[i];
        let mut start = n.up_free_at.max(self.now);
        if let Fault::Pause { at, len } = n.spec.fault {
            let (from, to) = (self.t0 + at, self.t0 + at + len);
            if start >= from && start < to {
                start = to;
            }
        }
        let busy = Duration::from_secs_f64(size as f64 / n.spec.upload.max(1) as f64);
        n.up_free_at = start + busy;
        // An unchoke after a flap's choke waits 20 ms.
        let extra =
            if matches!(msg, Message::Unchoke) && matches!(n.spec.fault, Fault::ChokeFlap(_)) {
                Duration::from_millis(20)
            } else {
                Duration::ZERO
            };
        if extra > Duration::ZERO {
            n.up_free_at += extra;
        }
        let written = n.up_free_at;
        if let Message::Piece { data, .. } = &msg {
            let bytes = data.len() as u64;
            self.seq += 1;
            self.queue.push(Reverse(Scheduled {
                at: written,
                seq: self.seq,
                ev: Ev::Sent { to: i, key, bytes },
            }));
        }
        let arrive = written + self.one_way(i, link.peer);
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at: arrive,
            seq: self.seq,
            ev: Ev::Deliver { from: i, key, msg },
        }));
    }

    /// Node `i` ends its connection `key`: what it sent still arrives,
    /// then the other end hears of the close; what the other end sends from
    /// now on is lost.
    fn cut(&mut self, i: usize, key: PeerKey, after: Duration) {
        let Some(&other) = self.routes.get(&(i, key)) else {
            return;
        };
        self.routes.remove(&other);
        let last = self.nodes[i].up_free_at.max(self.now) + self.one_way(i, other.0);
        let at = last.max(self.now + after);
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            ev: Ev::Closed {
                to: other.0,
                key: other.1,
                route: Some((i, key)),
            },
        }));
    }
}
