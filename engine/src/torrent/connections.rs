//! The Peer Manager's connections: dialling up to the limits, accepting or
//! refusing a handshaken connection, closing, and what a closed connection
//! leaves behind.

use std::net::SocketAddr;
use std::time::Instant;

use monsoon_piece::PeerKey;
use monsoon_wire::{Handshake, Message};
use tracing::debug;

use super::peer::PeerState;
use super::reason::{CloseReason, ConnectError, Direction, PeerEnd};
use super::{Action, MAX_DEPARTED, TorrentCore};
use crate::encryption::PeerEncryption;

/// The `reqq` we advertise: requests we queue per peer.
pub(super) const OUR_REQQ: u32 = 500;
/// When the session's connection budget is spent, the address is tried
/// again after this long.
const LIMIT_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

impl TorrentCore {
    /// Both handshakes of a connection were exchanged (for an incoming one,
    /// theirs was read and ours is still to be sent by the driver). Returns
    /// the key that names the peer from now on, or why the connection must
    /// be dropped (the driver closes it; nothing was queued for it).
    ///
    /// # Errors
    /// The [`CloseReason`] the connection is refused for: a handshake for
    /// another torrent, ourselves, a banned or duplicate peer, the peer
    /// limit, or a torrent that is not downloading or seeding.
    pub fn handle_connected(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        direction: Direction,
        theirs: &Handshake,
    ) -> Result<PeerKey, CloseReason> {
        self.set_now(now);
        if direction == Direction::Outgoing {
            self.connecting = self.connecting.saturating_sub(1);
        }
        let ours = theirs.info_hash == self.info_hash
            || Some(theirs.info_hash) == self.info_hash_v2_short();
        let refuse = if !ours {
            Some(CloseReason::WrongInfoHash)
        } else if theirs.peer_id == self.peer_id {
            Some(CloseReason::SelfConnection)
        } else if self.list.is_banned(addr, &theirs.peer_id) {
            Some(CloseReason::Banned)
        } else if !self.is_active() {
            Some(CloseReason::NotAccepting)
        } else if !self.settle_duplicate(direction, &theirs.peer_id) {
            Some(CloseReason::Duplicate)
        } else if direction == Direction::Incoming
            && self.peers.len() >= self.cfg.max_peers_per_torrent
        {
            Some(CloseReason::PeerLimit)
        } else {
            None
        };
        if let Some(reason) = refuse {
            debug!(%addr, %reason, "refusing connection");
            self.stats.closed_by_us.add(reason);
            if direction == Direction::Outgoing {
                match reason {
                    CloseReason::SelfConnection | CloseReason::WrongInfoHash => {
                        self.list.forget(addr)
                    }
                    _ => self.list.disconnected(addr, false, self.now),
                }
                self.connect_more();
            }
            return Err(reason);
        }
        let key = self.next_key;
        self.next_key = self.next_key.wrapping_add(1);
        let fast = theirs.reserved.fast();
        let mut first = Vec::new();
        if theirs.reserved.extension_protocol() {
            first.push(self.our_ext_handshake(addr));
        }
        let have = self.picker.have();
        if self.meta.is_none() {
            // No metadata yet: nothing to say about pieces (and a bitfield
            // must come first or never).
        } else if fast && have.none() {
            first.push(Message::HaveNone);
        } else if fast && have.all() {
            first.push(Message::HaveAll);
        } else if !have.none() {
            first.push(Message::Bitfield(have.to_bytes().into()));
        }
        self.picker.peer_join(key);
        self.list.connected(addr);
        let mut state = PeerState::new(addr, theirs.peer_id, direction, fast, self.now);
        state.v2 = self.speaks_v2(direction, theirs);
        let v2 = state.v2;
        self.peers.insert(key, state);
        debug!(%addr, key, ?direction, fast, v2, "peer connected");
        if fast {
            first.extend(self.allowed_fast_for(key, addr.ip()));
        }
        // After the bitfield, which must come first.
        if let (Some(port), true) = (self.dht_port, theirs.reserved.dht()) {
            if self.meta.as_ref().is_none_or(|m| !m.private) {
                first.push(Message::Port(port));
            }
        }
        self.send(key, first);
        self.count_peers();
        if v2 && self.merkle.fetching() {
            self.ask_hashes();
        }
        if direction == Direction::Outgoing {
            // Its dial slot is free: the next address need not wait a tick.
            self.connect_more();
        }
        Ok(key)
    }

    /// How the connection of `key` is carried (MSE/PE or plaintext), as
    /// the driver established it; call right after
    /// [`handle_connected`](Self::handle_connected). Counted in
    /// [`Stats::encrypted_peers`](crate::Stats::encrypted_peers).
    pub fn set_peer_encryption(&mut self, key: PeerKey, encryption: PeerEncryption) {
        if let Some(p) = self.peers.get_mut(&key) {
            p.encryption = encryption;
        }
        self.count_peers();
    }

    /// How the connection of `key` is carried, while it is connected.
    pub fn peer_encryption(&self, key: PeerKey) -> Option<PeerEncryption> {
        self.peers.get(&key).map(|p| p.encryption)
    }

    /// Updates the peer counts in the stats.
    pub(super) fn count_peers(&mut self) {
        self.stats.peers = self.peers.len();
        self.stats.encrypted_peers = self
            .peers
            .values()
            .filter(|p| p.encryption == PeerEncryption::Rc4)
            .count();
    }

    /// Whether a peer whose handshake is `theirs` speaks v2 with us (BEP 52
    /// hash messages): its handshake named the truncated v2 info-hash, or
    /// (a peer that dialled us) it named the v1 one with the v2 bit set,
    /// which libtorrent means as an offer to upgrade: we accept it and
    /// answer with the v2 info-hash (see [`reply_info_hash`](Self::reply_info_hash)).
    /// A peer we dialled with the v1 info-hash and the v2 bit answers with
    /// the v2 info-hash if it takes us for a v2 peer (libtorrent does);
    /// one that answers with the v1 info-hash (aria2c) speaks v1 only.
    fn speaks_v2(&self, direction: Direction, theirs: &Handshake) -> bool {
        let Some(short) = self.info_hash_v2_short() else {
            return false;
        };
        theirs.info_hash == short || (direction == Direction::Incoming && theirs.reserved.v2())
    }

    /// The info-hash our handshake names in answer to a peer that dialled
    /// us with `theirs`: the truncated v2 info-hash when it speaks v2 with
    /// us, else the one it named.
    pub fn reply_info_hash(&self, theirs: &Handshake) -> [u8; 20] {
        match self.info_hash_v2_short() {
            Some(short) if self.speaks_v2(Direction::Incoming, theirs) => short,
            _ => theirs.info_hash,
        }
    }

    /// A second connection to a peer we are connected to: whether to keep
    /// the new one (closing the old) rather than refuse it. When both
    /// peers dialled each other at once, both must keep the same one: the
    /// connection dialled by the peer with the greater peer id (the rule
    /// libtorrent follows), so each side decides alike.
    fn settle_duplicate(&mut self, direction: Direction, their_id: &[u8; 20]) -> bool {
        let Some((&old, p)) = self.peers.iter().find(|(_, p)| p.id == *their_id) else {
            return true;
        };
        let ours_greater = self.peer_id > *their_id;
        let keep_new =
            p.direction != direction && ours_greater == (direction == Direction::Outgoing);
        if keep_new {
            self.close_peer(old, CloseReason::Duplicate);
        }
        keep_new
    }

    /// An [`Action::Connect`] failed before both handshakes were exchanged.
    pub fn handle_connect_failed(&mut self, now: Instant, addr: SocketAddr, error: ConnectError) {
        self.set_now(now);
        debug!(%addr, %error, "connect failed");
        self.connecting = self.connecting.saturating_sub(1);
        if error == ConnectError::LimitReached {
            // Not this address's fault; and no retry loop this instant.
            self.list.postpone(addr, self.now + LIMIT_RETRY);
            self.stats.last_connect_error = Some((addr, error));
            return;
        }
        self.list.connect_failed(addr, self.now);
        self.stats.last_connect_error = Some((addr, error));
        self.connect_more();
    }

    /// A connection ended without an [`Action::Close`]: the peer closed it,
    /// it broke, or its driver closed it for a malformed frame, idleness or
    /// a full send queue.
    pub fn handle_closed(&mut self, now: Instant, key: PeerKey, end: PeerEnd) {
        self.set_now(now);
        let ours = match end {
            PeerEnd::Malformed => Some(CloseReason::Malformed),
            PeerEnd::Idle => Some(CloseReason::Idle),
            PeerEnd::NotReading => Some(CloseReason::NotReading),
            PeerEnd::ClosedByPeer | PeerEnd::Io(_) => None,
        };
        if !self.peers.contains_key(&key) {
            return;
        }
        debug!(key, ?end, "connection ended");
        match ours {
            // The driver has closed it already, or will when it sees this.
            Some(reason) => self.close_peer(key, reason),
            None => self.remove_peer(key, matches!(end, PeerEnd::Io(_))),
        }
        self.refill_all();
        self.connect_more();
    }

    /// Starts connection attempts up to the limits.
    pub(super) fn connect_more(&mut self) {
        if !self.is_active() {
            return;
        }
        let open = self.peers.len() + self.connecting;
        let room = (self.cfg.max_connecting.saturating_sub(self.connecting))
            .min(self.cfg.max_peers_per_torrent.saturating_sub(open));
        for addr in self.list.take_candidates(self.now, room) {
            self.connecting += 1;
            self.stats.connect_attempts += 1;
            self.push(Action::Connect(addr));
        }
    }

    /// Closes a connection from our side and forgets the peer.
    pub(super) fn close_peer(&mut self, key: PeerKey, reason: CloseReason) {
        if self.peers.contains_key(&key) {
            debug!(key, %reason, "closing connection");
            self.stats.closed_by_us.add(reason);
            self.remove_peer(key, reason.is_violation());
            self.push(Action::Close(key, reason));
        }
    }

    /// Forgets a peer: its requests go back to the picker, its address may
    /// be tried again later.
    fn remove_peer(&mut self, key: PeerKey, failure: bool) {
        let Some(p) = self.peers.remove(&key) else {
            return;
        };
        self.picker.peer_gone(key);
        self.forget_fetching_peer(key);
        self.merkle.forget_peer(key);
        if self.optimistic == Some(key) {
            self.optimistic = None;
        }
        if p.direction == Direction::Outgoing {
            self.list.disconnected(p.addr, failure, self.now);
        }
        self.departed.push_back((key, p.addr, p.id));
        if self.departed.len() > MAX_DEPARTED {
            self.departed.pop_front();
        }
        self.count_peers();
    }

    /// Queues messages for a peer.
    pub(super) fn send(&mut self, key: PeerKey, msgs: Vec<Message>) {
        if !msgs.is_empty() && self.peers.contains_key(&key) {
            self.push(Action::Send(key, msgs));
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
}
