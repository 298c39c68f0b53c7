//! Peer exchange (BEP 11, `ut_pex`): about once a minute each peer that
//! speaks it hears which peers we connected to and dropped since; what
//! peers tell us goes to the peer list, at most 50 addresses a message and
//! one message a minute per peer. Never for private torrents (BEP 27).

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use monsoon_bencode::{DecodeOptions, OwnedValue};
use monsoon_piece::PeerKey;
use monsoon_wire::Message;

use super::TorrentCore;
use super::peer_list::PeerSource;
use super::reason::Direction;

/// Addresses honoured (and sent) per message.
pub(super) const MAX_PEX_ADDED: usize = 50;
/// We tell each peer at most this often (BEP 11: about once a minute).
const PEX_EVERY: Duration = Duration::from_secs(60);
/// A peer's PEX messages closer together than this are ignored.
const MIN_PEX_GAP: Duration = Duration::from_secs(55);
/// Largest `ut_pex` payload read.
const MAX_PEX_PAYLOAD: usize = 64 * 1024;

impl TorrentCore {
    /// Addresses of our peers that accept connections.
    fn connectable(&self) -> BTreeSet<SocketAddr> {
        self.peers
            .values()
            .filter_map(|p| match p.direction {
                Direction::Outgoing => Some(p.addr),
                Direction::Incoming => p
                    .ext
                    .listen_port
                    .map(|port| SocketAddr::new(p.addr.ip(), port)),
            })
            .collect()
    }

    /// Tells each PEX peer what changed since its last message: the first
    /// message as soon as there is something to say, then at most one a
    /// minute.
    pub(super) fn send_pex(&mut self) {
        if self.is_private() {
            return;
        }
        let now = self.now;
        let now_set = self.connectable();
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            let Some(p) = self.peers.get_mut(&key) else {
                continue;
            };
            let Some(id) = p.ext.ut_pex else {
                continue;
            };
            if p.pex_told
                .is_some_and(|t| now.duration_since(t) < PEX_EVERY)
            {
                continue;
            }
            // Not itself, under either of its addresses.
            let own = p.addr;
            let own_listen = p
                .ext
                .listen_port
                .map(|port| SocketAddr::new(own.ip(), port));
            let added: Vec<SocketAddr> = now_set
                .iter()
                .filter(|a| **a != own && Some(**a) != own_listen && !p.pex_sent.contains(a))
                .take(MAX_PEX_ADDED)
                .copied()
                .collect();
            let dropped: Vec<SocketAddr> = p
                .pex_sent
                .iter()
                .filter(|a| !now_set.contains(a))
                .take(MAX_PEX_ADDED)
                .copied()
                .collect();
            if added.is_empty() && dropped.is_empty() {
                continue;
            }
            p.pex_told = Some(now);
            for a in &dropped {
                p.pex_sent.remove(a);
            }
            p.pex_sent.extend(added.iter().copied());
            let payload = encode(&added, &dropped).into();
            self.send(key, vec![Message::Extended { id, payload }]);
        }
    }

    /// A peer's `ut_pex` message.
    pub(super) fn on_pex(&mut self, key: PeerKey, payload: &[u8]) {
        if self.is_private() || payload.len() > MAX_PEX_PAYLOAD {
            return;
        }
        let now = self.now;
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if p.pex_heard
            .is_some_and(|t| now.duration_since(t) < MIN_PEX_GAP)
        {
            return;
        }
        p.pex_heard = Some(now);
        let added = decode_added(payload);
        self.add_peers(now, &added, PeerSource::Pex);
    }
}

fn compact(addrs: &[SocketAddr], v6: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for a in addrs {
        match (a.ip(), v6) {
            (IpAddr::V4(ip), false) => out.extend_from_slice(&ip.octets()),
            (IpAddr::V6(ip), true) => out.extend_from_slice(&ip.octets()),
            _ => continue,
        }
        out.extend_from_slice(&a.port().to_be_bytes());
    }
    out
}

/// A `ut_pex` payload.
pub(super) fn encode(added: &[SocketAddr], dropped: &[SocketAddr]) -> Vec<u8> {
    let flags = |v6: bool| {
        let n = added.iter().filter(|a| a.is_ipv6() == v6).count();
        // 0x10: reachable (they accepted a connection or we made one).
        OwnedValue::Bytes(vec![0x10; n])
    };
    OwnedValue::dict()
        .insert("added", OwnedValue::Bytes(compact(added, false)))
        .insert("added.f", flags(false))
        .insert("added6", OwnedValue::Bytes(compact(added, true)))
        .insert("added6.f", flags(true))
        .insert("dropped", OwnedValue::Bytes(compact(dropped, false)))
        .insert("dropped6", OwnedValue::Bytes(compact(dropped, true)))
        .encode()
}

/// The addresses a `ut_pex` payload adds, at most [`MAX_PEX_ADDED`].
pub(super) fn decode_added(payload: &[u8]) -> Vec<SocketAddr> {
    let Ok(v) = DecodeOptions::new().lenient().decode(payload) else {
        return Vec::new();
    };
    let Some(d) = v.as_dict() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(b) = d.get_bytes(b"added") {
        for c in b.chunks_exact(6) {
            let ip = IpAddr::from([c[0], c[1], c[2], c[3]]);
            out.push(SocketAddr::new(ip, u16::from_be_bytes([c[4], c[5]])));
        }
    }
    if let Some(b) = d.get_bytes(b"added6") {
        for c in b.chunks_exact(18) {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&c[..16]);
            out.push(SocketAddr::new(
                IpAddr::from(ip),
                u16::from_be_bytes([c[16], c[17]]),
            ));
        }
    }
    out.truncate(MAX_PEX_ADDED);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let a: SocketAddr = "10.1.2.3:6881".parse().unwrap();
        let b: SocketAddr = "[2001:db8::1]:51413".parse().unwrap();
        let bytes = encode(&[a, b], &[]);
        assert_eq!(decode_added(&bytes), [a, b]);
        let many: Vec<SocketAddr> = (1..=200u16)
            .map(|i| SocketAddr::from(([10, 0, 0, 1], i)))
            .collect();
        assert_eq!(decode_added(&encode(&many, &[])).len(), MAX_PEX_ADDED);
        assert!(decode_added(b"garbage").is_empty());
        assert!(
            decode_added(b"d5:added3:abce").is_empty(),
            "a short entry is dropped"
        );
    }
}
