//! The Peer Manager's address book: every peer address we know, where it
//! came from, how often connecting to it failed and when to try it again,
//! and who is banned.
//!
//! An address that fails is not forgotten: it is tried again after a delay
//! that grows with its fail count (libtorrent's `min_reconnect_time` ×
//! fail count), and dropped after [`MAX_FAILCOUNT`] failures — except an
//! address the user gave, which is always retried (after at most
//! [`USER_RETRY_MAX`]), so `--peer A` started before the peer at A is up
//! connects once it is.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Most addresses remembered per torrent; more from a tracker or PEX are
/// dropped, or replace the address that failed most (bounded memory
/// against a hostile tracker).
pub(super) const MAX_KNOWN: usize = 2000;
/// Failed attempts after which an address not given by the user is
/// forgotten (until a tracker gives it again).
pub(super) const MAX_FAILCOUNT: u32 = 3;
/// Delay before retrying an address, per failure (an address that failed
/// twice waits twice as long).
pub(super) const RECONNECT_DELAY: Duration = Duration::from_secs(30);
/// First retry delay of a user-given address; doubles per failure …
pub(super) const USER_RETRY_BASE: Duration = Duration::from_secs(1);
/// … up to this.
pub(super) const USER_RETRY_MAX: Duration = Duration::from_secs(15);
/// Most banned addresses (and peer ids) remembered, and most addresses
/// with strikes; the oldest is forgotten first.
pub(super) const MAX_BANNED: usize = 1024;

/// Where a peer address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum PeerSource {
    /// Given by the user (`--peer`, the handle's `add_peers`): always retried.
    User,
    /// A tracker's announce response.
    Tracker,
    /// The DHT.
    Dht,
    /// Peer exchange.
    Pex,
    /// Local service discovery (a peer on the local network).
    Lsd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Idle,
    Connecting,
    Connected,
}

#[derive(Debug)]
struct Entry {
    source: PeerSource,
    status: Status,
    fails: u32,
    not_before: Instant,
    /// Order of arrival (older first among equals).
    seq: u64,
    /// It announced a hybrid's v2 info-hash: dialled as a v2 peer.
    v2: bool,
}

/// Known addresses, their retry schedule, and bans.
#[derive(Debug, Default)]
pub(super) struct PeerList {
    entries: BTreeMap<SocketAddr, Entry>,
    next_seq: u64,
    /// Pieces each address sent that failed their hash check (incoming
    /// peers too), oldest first out.
    strikes: HashMap<SocketAddr, u32>,
    strike_order: VecDeque<SocketAddr>,
    banned_addrs: HashSet<SocketAddr>,
    banned_ids: HashSet<[u8; 20]>,
    ban_order: VecDeque<(SocketAddr, [u8; 20])>,
}

impl PeerList {
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Learns an address. A user-given address becomes `User` even if it
    /// was known from elsewhere (and is tried at once).
    pub(super) fn add(&mut self, addr: SocketAddr, source: PeerSource, now: Instant) {
        if self.banned_addrs.contains(&addr) {
            return;
        }
        if let Some(e) = self.entries.get_mut(&addr) {
            if source == PeerSource::User && e.source != PeerSource::User {
                e.source = PeerSource::User;
                e.not_before = now;
            }
            return;
        }
        if self.entries.len() >= MAX_KNOWN && !self.evict_one(source) {
            return;
        }
        self.next_seq += 1;
        self.entries.insert(
            addr,
            Entry {
                source,
                status: Status::Idle,
                fails: 0,
                not_before: now,
                seq: self.next_seq,
                v2: false,
            },
        );
    }

    /// Notes that `addr` (if known) announced a hybrid's v2 info-hash.
    pub(super) fn mark_v2(&mut self, addr: SocketAddr) {
        if let Some(e) = self.entries.get_mut(&addr) {
            e.v2 = true;
        }
    }

    /// Whether `addr` announced a hybrid's v2 info-hash.
    pub(super) fn learnt_v2(&self, addr: &SocketAddr) -> bool {
        self.entries.get(addr).is_some_and(|e| e.v2)
    }

    /// Makes room for an address from `source`: drops the idle non-user
    /// address that failed most (a user address may also replace one that
    /// never failed). False if nothing could go.
    fn evict_one(&mut self, source: PeerSource) -> bool {
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| e.status == Status::Idle && e.source != PeerSource::User)
            .filter(|(_, e)| e.fails > 0 || source == PeerSource::User)
            .max_by_key(|(_, e)| (e.fails, std::cmp::Reverse(e.seq)))
            .map(|(a, _)| *a);
        victim.is_some_and(|a| self.entries.remove(&a).is_some())
    }

    /// Up to `max` addresses to dial now (fewest failures first, then
    /// oldest), marked as connecting.
    pub(super) fn take_candidates(&mut self, now: Instant, max: usize) -> Vec<SocketAddr> {
        if max == 0 {
            return Vec::new();
        }
        let mut due: Vec<(u32, u64, SocketAddr)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.status == Status::Idle && e.not_before <= now)
            .map(|(a, e)| (e.fails, e.seq, *a))
            .collect();
        due.sort_unstable();
        due.truncate(max);
        for (_, _, a) in &due {
            if let Some(e) = self.entries.get_mut(a) {
                e.status = Status::Connecting;
            }
        }
        due.into_iter().map(|(_, _, a)| a).collect()
    }

    /// A dial (or its handshake) failed: retry later, or forget it.
    pub(super) fn connect_failed(&mut self, addr: SocketAddr, now: Instant) {
        let Some(e) = self.entries.get_mut(&addr) else {
            return;
        };
        e.fails += 1;
        e.status = Status::Idle;
        if e.source != PeerSource::User && e.fails >= MAX_FAILCOUNT {
            self.entries.remove(&addr);
            return;
        }
        e.not_before = now + retry_delay(e.source, e.fails);
    }

    /// `addr` could not be tried now (not its fault): later, as it was.
    pub(super) fn postpone(&mut self, addr: SocketAddr, until: Instant) {
        if let Some(e) = self.entries.get_mut(&addr) {
            e.status = Status::Idle;
            e.not_before = until;
        }
    }

    /// A connection to or from `addr` is up.
    pub(super) fn connected(&mut self, addr: SocketAddr) {
        if let Some(e) = self.entries.get_mut(&addr) {
            e.status = Status::Connected;
            e.fails = 0;
        }
    }

    /// A connection to `addr` ended; `failure` if the peer misbehaved or
    /// the connection broke. It may be tried again later.
    pub(super) fn disconnected(&mut self, addr: SocketAddr, failure: bool, now: Instant) {
        let Some(e) = self.entries.get_mut(&addr) else {
            return;
        };
        e.status = Status::Idle;
        if failure {
            e.fails += 1;
            if e.source != PeerSource::User && e.fails >= MAX_FAILCOUNT {
                self.entries.remove(&addr);
                return;
            }
        }
        e.not_before = now + retry_delay(e.source, e.fails.max(1));
    }

    /// Never dial `addr` again (it is ourselves, or serves another torrent),
    /// unless it is learnt anew.
    pub(super) fn forget(&mut self, addr: SocketAddr) {
        self.entries.remove(&addr);
    }

    /// After a resume: user-given addresses are tried at once.
    pub(super) fn retry_now(&mut self, now: Instant) {
        for e in self.entries.values_mut() {
            if e.source == PeerSource::User {
                e.not_before = now;
            }
        }
    }

    /// One more piece from `addr` failed its hash check; returns its total.
    pub(super) fn strike(&mut self, addr: SocketAddr) -> u32 {
        if !self.strikes.contains_key(&addr) {
            self.strike_order.push_back(addr);
            if self.strike_order.len() > MAX_BANNED {
                if let Some(old) = self.strike_order.pop_front() {
                    self.strikes.remove(&old);
                }
            }
        }
        let n = self.strikes.entry(addr).or_insert(0);
        *n += 1;
        *n
    }

    /// Never talk to this address or peer id again.
    pub(super) fn ban(&mut self, addr: SocketAddr, id: [u8; 20]) {
        self.entries.remove(&addr);
        if self.banned_addrs.insert(addr) {
            self.banned_ids.insert(id);
            self.ban_order.push_back((addr, id));
            if self.ban_order.len() > MAX_BANNED {
                if let Some((a, i)) = self.ban_order.pop_front() {
                    self.banned_addrs.remove(&a);
                    if !self.ban_order.iter().any(|(_, other)| *other == i) {
                        self.banned_ids.remove(&i);
                    }
                }
            }
        }
    }

    pub(super) fn is_banned(&self, addr: SocketAddr, id: &[u8; 20]) -> bool {
        self.banned_addrs.contains(&addr) || self.banned_ids.contains(id)
    }

    /// Addresses known and not connected or connecting.
    pub(super) fn idle_count(&self) -> usize {
        self.entries
            .values()
            .filter(|e| e.status == Status::Idle)
            .count()
    }

    /// Addresses remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn banned_count(&self) -> usize {
        self.banned_addrs.len()
    }
}

fn retry_delay(source: PeerSource, fails: u32) -> Duration {
    match source {
        PeerSource::User => USER_RETRY_BASE
            .saturating_mul(1 << fails.saturating_sub(1).min(16))
            .min(USER_RETRY_MAX),
        _ => RECONNECT_DELAY.saturating_mul(fails),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], n))
    }

    #[test]
    fn user_addresses_are_retried_forever_with_capped_backoff() {
        let mut now = Instant::now();
        let mut list = PeerList::new();
        list.add(addr(1), PeerSource::User, now);
        let mut waits = Vec::new();
        for _ in 0..10 {
            assert_eq!(list.take_candidates(now, 5), vec![addr(1)]);
            list.connect_failed(addr(1), now);
            let wait = list.entries[&addr(1)].not_before - now;
            let early = now + wait - Duration::from_millis(1);
            assert!(
                list.take_candidates(early, 5).is_empty(),
                "not before {wait:?}"
            );
            now += wait;
            waits.push(wait);
        }
        assert_eq!(waits[0], USER_RETRY_BASE);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(*waits.last().unwrap(), USER_RETRY_MAX);
        assert_eq!(list.len(), 1, "never forgotten");
    }

    #[test]
    fn tracker_addresses_back_off_then_are_forgotten() {
        let t0 = Instant::now();
        let mut list = PeerList::new();
        list.add(addr(1), PeerSource::Tracker, t0);
        assert_eq!(list.take_candidates(t0, 5), vec![addr(1)]);
        list.connect_failed(addr(1), t0);
        assert!(list.take_candidates(t0 + RECONNECT_DELAY / 2, 5).is_empty());
        let t1 = t0 + RECONNECT_DELAY;
        assert_eq!(list.take_candidates(t1, 5), vec![addr(1)]);
        list.connect_failed(addr(1), t1);
        assert!(
            list.take_candidates(t1 + RECONNECT_DELAY, 5).is_empty(),
            "two failures wait twice as long"
        );
        let t2 = t1 + 2 * RECONNECT_DELAY;
        assert_eq!(list.take_candidates(t2, 5), vec![addr(1)]);
        list.connect_failed(addr(1), t2);
        assert_eq!(list.len(), 0, "forgotten after {MAX_FAILCOUNT} failures");
        // A tracker handing it out again starts it afresh.
        list.add(addr(1), PeerSource::Tracker, t2);
        assert_eq!(list.take_candidates(t2, 5), vec![addr(1)]);
    }

    #[test]
    fn fewest_failures_first_and_bounded() {
        let t0 = Instant::now();
        let mut list = PeerList::new();
        for i in 0..MAX_KNOWN as u16 + 10 {
            list.add(addr(i + 1), PeerSource::Tracker, t0);
        }
        assert_eq!(list.len(), MAX_KNOWN, "never more than MAX_KNOWN");
        let first = list.take_candidates(t0, 1)[0];
        list.connect_failed(first, t0);
        let later = t0 + RECONNECT_DELAY;
        assert_ne!(list.take_candidates(later, 1)[0], first);
        // A user address replaces the one that failed.
        list.add(addr(60000), PeerSource::User, later);
        assert_eq!(list.len(), MAX_KNOWN);
        assert!(list.entries.contains_key(&addr(60000)));
        assert!(!list.entries.contains_key(&first));
    }

    #[test]
    fn bans_are_bounded_and_block_re_adding() {
        let t0 = Instant::now();
        let mut list = PeerList::new();
        list.add(addr(1), PeerSource::Tracker, t0);
        list.ban(addr(1), [1; 20]);
        list.add(addr(1), PeerSource::Tracker, t0);
        assert_eq!(list.len(), 0);
        assert!(list.is_banned(addr(2), &[1; 20]), "by peer id too");
        for i in 0..MAX_BANNED as u16 + 5 {
            let mut id = [0xee; 20];
            id[..2].copy_from_slice(&i.to_be_bytes());
            list.ban(addr(100 + i), id);
        }
        assert_eq!(list.banned_count(), MAX_BANNED);
        assert!(!list.is_banned(addr(1), &[9; 20]), "oldest ban forgotten");
    }

    #[test]
    fn strikes_count_per_address_and_are_bounded() {
        let mut list = PeerList::new();
        assert_eq!(list.strike(addr(1)), 1);
        assert_eq!(list.strike(addr(1)), 2, "an address not in the book too");
        for i in 0..MAX_BANNED as u16 {
            list.strike(addr(100 + i));
        }
        assert_eq!(list.strikes.len(), MAX_BANNED);
        assert_eq!(list.strike(addr(1)), 1, "oldest forgotten");
    }
}
