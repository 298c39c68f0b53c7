//! Compact encodings (BEP 5, BEP 32): peers as address + port (6 or 18
//! bytes), nodes as id + address + port (26 or 38 bytes).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::id::NodeId;

/// A node's id and UDP address, as carried in `nodes` / `nodes6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeInfo {
    /// Its node id.
    pub id: NodeId,
    /// Its UDP address.
    pub addr: SocketAddr,
}

/// Bytes of a compact IPv4 node (BEP 5).
pub const NODE_V4_LEN: usize = 26;
/// Bytes of a compact IPv6 node (BEP 32).
pub const NODE_V6_LEN: usize = 38;

/// Appends the compact form of `addr` (6 or 18 bytes).
pub(crate) fn put_addr(out: &mut Vec<u8>, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
    }
    out.extend_from_slice(&addr.port().to_be_bytes());
}

/// The address in a 6- or 18-byte compact string (`None` for other lengths).
pub(crate) fn addr_from(b: &[u8]) -> Option<SocketAddr> {
    match b.len() {
        6 => {
            let ip = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
            Some(SocketAddr::new(ip.into(), u16::from_be_bytes([b[4], b[5]])))
        }
        18 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[..16]);
            let port = u16::from_be_bytes([b[16], b[17]]);
            Some(SocketAddr::new(Ipv6Addr::from(a).into(), port))
        }
        _ => None,
    }
}

/// Appends the compact form of a node (26 or 38 bytes).
pub(crate) fn put_node(out: &mut Vec<u8>, n: &NodeInfo) {
    out.extend_from_slice(&n.id.0);
    put_addr(out, &n.addr);
}

/// The nodes in a compact string of `entry`-byte entries; the caller has
/// checked the length is a whole number of entries.
pub(crate) fn nodes_from(b: &[u8], entry: usize) -> impl Iterator<Item = NodeInfo> + '_ {
    b.chunks_exact(entry).filter_map(|c| {
        let mut id = [0u8; 20];
        id.copy_from_slice(&c[..20]);
        addr_from(&c[20..]).map(|addr| NodeInfo {
            id: NodeId(id),
            addr,
        })
    })
}
