//! Deterministic simulation: hundreds of sans-IO nodes on a fake network
//! with a fake clock (latency, packet loss, nodes vanishing), no sockets.
//! A node announces an info-hash; another node's `get_peers` must find the
//! announcer's address.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use monsoon_dht::{Config, Event, Node, NodeId, SearchDone, SearchId};

/// SplitMix64 for the network's own choices (latency, loss, who leaves).
pub(crate) struct Dice(u64);

impl Dice {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

type Packet = Reverse<(Instant, u64, usize, SocketAddr, Vec<u8>)>;

/// The simulated network.
pub(crate) struct Net {
    pub(crate) nodes: Vec<Option<Node>>,
    pub(crate) addrs: Vec<SocketAddr>,
    by_addr: HashMap<SocketAddr, usize>,
    wake: Vec<Instant>,
    /// Each node's wake-up time, stale entries skipped when popped.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    queue: BinaryHeap<Packet>,
    pub(crate) now: Instant,
    dice: Dice,
    /// Packets lost, per thousand.
    loss: u64,
    seq: u64,
    /// Every event of every node, with the node's index.
    pub(crate) events: Vec<(usize, Event)>,
    pub(crate) sent: u64,
    pub(crate) lost: u64,
    /// Nodes on IPv6 addresses (BEP 32) instead of IPv4.
    v6: bool,
}

impl Net {
    pub(crate) fn new(seed: u64, loss_per_mille: u64) -> Net {
        Net {
            nodes: Vec::new(),
            addrs: Vec::new(),
            by_addr: HashMap::new(),
            wake: Vec::new(),
            timers: BinaryHeap::new(),
            queue: BinaryHeap::new(),
            now: Instant::now(),
            dice: Dice(seed),
            loss: loss_per_mille,
            seq: 0,
            events: Vec::new(),
            sent: 0,
            lost: 0,
            v6: false,
        }
    }

    /// The same network over IPv6 only.
    pub(crate) fn ipv6(mut self) -> Net {
        self.v6 = true;
        self
    }

    /// Adds a node at 10.x.y.z:6881 (or [fd00::n]:6881) bootstrapping from
    /// node 0 and two random earlier nodes, and starts its bootstrap.
    pub(crate) fn join(&mut self) -> usize {
        let i = self.nodes.len();
        let addr = if self.v6 {
            SocketAddr::from((Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, i as u16 + 1), 6881))
        } else {
            SocketAddr::from((
                Ipv4Addr::new(10, 0, (i / 250) as u8, (i % 250) as u8 + 1),
                6881,
            ))
        };
        let mut config = Config::default();
        config.seed = self.dice.next();
        config.ipv4 = !self.v6;
        config.ipv6 = self.v6;
        if i > 0 {
            config.bootstrap.push(self.addrs[0]);
            for _ in 0..2 {
                let j = self.dice.below(i as u64) as usize;
                config.bootstrap.push(self.addrs[j]);
            }
        }
        let mut node = Node::new(config, self.now);
        node.bootstrap(self.now).unwrap();
        self.nodes.push(Some(node));
        self.addrs.push(addr);
        self.by_addr.insert(addr, i);
        self.wake.push(self.now);
        self.timers.push(Reverse((self.now, i)));
        self.flush(i);
        i
    }

    /// Takes node `i` off the network: packets to it vanish.
    pub(crate) fn kill(&mut self, i: usize) {
        self.nodes[i] = None;
    }

    pub(crate) fn node(&mut self, i: usize) -> &mut Node {
        self.nodes[i].as_mut().expect("node is alive")
    }

    /// Queues what node `i` sends and collects its events.
    pub(crate) fn flush(&mut self, i: usize) {
        let Some(node) = self.nodes[i].as_mut() else {
            return;
        };
        let from = self.addrs[i];
        while let Some(t) = node.poll_transmit() {
            self.sent += 1;
            if self.dice.below(1000) < self.loss {
                self.lost += 1;
                continue;
            }
            let Some(&to) = self.by_addr.get(&t.to) else {
                continue;
            };
            let at = self.now + Duration::from_millis(5 + self.dice.below(45));
            self.seq += 1;
            self.queue.push(Reverse((at, self.seq, to, from, t.data)));
        }
        while let Some(ev) = node.poll_event() {
            self.events.push((i, ev));
        }
        let t = node.poll_timeout();
        if t != self.wake[i] {
            self.wake[i] = t;
            self.timers.push(Reverse((t, i)));
        }
    }

    /// The earliest live timer (dropping stale heap entries).
    fn next_timer(&mut self) -> Option<(Instant, usize)> {
        while let Some(&Reverse((t, i))) = self.timers.peek() {
            if self.nodes[i].is_some() && self.wake[i] == t {
                return Some((t, i));
            }
            self.timers.pop();
        }
        None
    }

    /// Runs one packet delivery or one timer; false when there is nothing.
    fn step(&mut self, until: Instant) -> bool {
        let timer = self.next_timer();
        let packet = self.queue.peek().map(|Reverse(p)| p.0);
        match (timer, packet) {
            (_, Some(at)) if at <= until && timer.is_none_or(|(t, _)| at <= t) => {
                let Reverse((at, _, to, from, data)) = self.queue.pop().expect("peeked");
                self.now = self.now.max(at);
                if let Some(node) = self.nodes[to].as_mut() {
                    // Every packet here comes from a correct node.
                    node.handle_packet(self.now, from, &data).unwrap();
                    self.flush(to);
                }
                true
            }
            (Some((t, i)), _) if t <= until => {
                self.now = self.now.max(t);
                let now = self.now;
                self.node(i).handle_timeout(now);
                self.flush(i);
                true
            }
            _ => false,
        }
    }

    /// Runs the network for `d` of simulated time.
    pub(crate) fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        // Bounded: every step consumes a packet or moves a timer forward.
        for _ in 0..10_000_000 {
            if !self.step(until) {
                self.now = until;
                return;
            }
        }
        panic!("simulation did not settle");
    }

    /// Runs until node `i` reports the end of search `id`, at most `limit`.
    pub(crate) fn run_until_done(&mut self, i: usize, id: SearchId, limit: Duration) -> SearchDone {
        let deadline = self.now + limit;
        while self.now < deadline {
            if let Some(done) = self.done(i, id) {
                return done;
            }
            self.run_for(Duration::from_millis(100));
        }
        self.done(i, id)
            .unwrap_or_else(|| panic!("search {id:?} of node {i} not done in {limit:?}"))
    }

    fn done(&self, i: usize, id: SearchId) -> Option<SearchDone> {
        self.events.iter().find_map(|(n, e)| match e {
            Event::Done(d) if *n == i && d.id == id => Some(d.clone()),
            _ => None,
        })
    }

    /// Every peer node `i`'s search `id` reported.
    pub(crate) fn peers(&self, i: usize, id: SearchId) -> Vec<SocketAddr> {
        self.events
            .iter()
            .filter_map(|(n, e)| match e {
                Event::Peers { id: s, peers, .. } if *n == i && *s == id => Some(peers.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

/// A network of `n` nodes joining 20 ms apart, then settling for a minute.
fn swarm(n: usize, seed: u64, loss: u64) -> Net {
    settle(Net::new(seed, loss), n)
}

fn settle(mut net: Net, n: usize) -> Net {
    for _ in 0..n {
        net.join();
        net.run_for(Duration::from_millis(20));
    }
    net.run_for(Duration::from_secs(60));
    net
}

/// Two distinct random nodes other than node 0.
fn pick_two(net: &mut Net) -> (usize, usize) {
    let n = net.nodes.len() as u64;
    let a = 1 + net.dice.below(n - 1) as usize;
    let mut b = a;
    while b == a {
        b = 1 + net.dice.below(n - 1) as usize;
    }
    (a, b)
}

#[test]
fn three_hundred_nodes_find_an_announced_peer() {
    let mut net = swarm(300, 1, 0);
    let (a, b) = pick_two(&mut net);
    let info_hash = [0x5a; 20];

    let now = net.now;
    let ann = net.node(a).announce(now, info_hash, None).unwrap();
    net.flush(a);
    let announced = net.run_until_done(a, ann, Duration::from_secs(60));
    assert_eq!(announced.announced.len(), 8, "{announced:?}");

    // The 8 nodes that stored the announce are the 8 closest of the whole
    // network: the lookup converged.
    let mut all: Vec<NodeId> = net.nodes.iter().flatten().map(Node::id).collect();
    all.sort_by_key(|id| id.distance(&NodeId(info_hash)));
    let mut got: Vec<NodeId> = announced.closest.iter().map(|n| n.id).collect();
    got.sort_by_key(|id| id.distance(&NodeId(info_hash)));
    assert_eq!(got, all[..8], "closest nodes found vs. true closest");

    let now = net.now;
    let search = net.node(b).get_peers(now, info_hash).unwrap();
    net.flush(b);
    let done = net.run_until_done(b, search, Duration::from_secs(60));
    let peers = net.peers(b, search);
    assert_eq!(peers, vec![net.addrs[a]], "peers found by node {b}");
    assert_eq!(done.peers, 1);
    assert_eq!(done.closest.len(), 8);
}

#[test]
fn lossy_network_with_nodes_leaving_mid_lookup() {
    let mut net = swarm(300, 2, 200);
    let (a, b) = pick_two(&mut net);
    let info_hash = [0xa7; 20];

    let now = net.now;
    let ann = net.node(a).announce(now, info_hash, Some(7000)).unwrap();
    net.flush(a);
    let announced = net.run_until_done(a, ann, Duration::from_secs(120));
    assert!(
        announced.announced.len() >= 3,
        "announced to {:?}",
        announced.announced
    );

    let now = net.now;
    let search = net.node(b).get_peers(now, info_hash).unwrap();
    net.flush(b);
    net.run_for(Duration::from_millis(60));
    // 10 % of the nodes vanish while the lookup runs.
    let mut gone = 0;
    while gone < 30 {
        let j = net.dice.below(300) as usize;
        if j != a && j != b && net.nodes[j].is_some() {
            net.kill(j);
            gone += 1;
        }
    }
    net.run_until_done(b, search, Duration::from_secs(120));
    let want = SocketAddr::new(net.addrs[a].ip(), 7000);
    let peers = net.peers(b, search);
    assert_eq!(peers, vec![want], "peers found by node {b}");
    assert!(
        net.lost * 100 / net.sent >= 19,
        "{} of {} lost",
        net.lost,
        net.sent
    );
}

#[test]
fn an_ipv6_network_finds_an_announced_peer() {
    let mut net = settle(Net::new(3, 0).ipv6(), 100);
    let (a, b) = pick_two(&mut net);
    let info_hash = [0x66; 20];
    let now = net.now;
    let ann = net.node(a).announce(now, info_hash, None).unwrap();
    net.flush(a);
    let announced = net.run_until_done(a, ann, Duration::from_secs(60));
    assert_eq!(announced.announced.len(), 8);
    assert!(
        announced.announced.iter().all(SocketAddr::is_ipv6),
        "{announced:?}"
    );
    let now = net.now;
    let search = net.node(b).get_peers(now, info_hash).unwrap();
    net.flush(b);
    net.run_until_done(b, search, Duration::from_secs(60));
    assert_eq!(net.peers(b, search), vec![net.addrs[a]]);
    let stats = net.node(b).stats(now);
    assert!(stats.nodes_v6 >= 8 && stats.nodes_v4 == 0, "{stats:?}");
}
