//! The saved state of a node: its id and the nodes worth trying at the
//! next start, as a small bencoded file (`id`, compact `nodes`, `nodes6`).
//! Where the file lives is the caller's business.

use monsoon_bencode::{DecodeOptions, encode_bytes};

use crate::compact::{NODE_V4_LEN, NODE_V6_LEN, NodeInfo, nodes_from, put_node};
use crate::error::Error;
use crate::id::NodeId;

/// Nodes a saved state may hold per family.
pub const MAX_SAVED_NODES: usize = 1024;

/// A node's id and the nodes it knew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedState {
    /// The node's id (reuse it with [`Config::id`](crate::Config::id)).
    pub id: NodeId,
    /// Nodes of both families.
    pub nodes: Vec<NodeInfo>,
}

impl SavedState {
    /// As bencode: `d2:id20:…5:nodes…6:nodes6…e`.
    pub fn encode(&self) -> Vec<u8> {
        let (v4, v6): (Vec<&NodeInfo>, Vec<&NodeInfo>) =
            self.nodes.iter().partition(|n| n.addr.is_ipv4());
        let mut out = Vec::new();
        out.push(b'd');
        encode_bytes(b"id", &mut out);
        encode_bytes(&self.id.0, &mut out);
        for (key, list) in [("nodes", v4), ("nodes6", v6)] {
            let mut buf = Vec::new();
            for n in list.iter().take(MAX_SAVED_NODES) {
                put_node(&mut buf, n);
            }
            encode_bytes(key.as_bytes(), &mut out);
            encode_bytes(&buf, &mut out);
        }
        out.push(b'e');
        out
    }

    /// Reads what [`encode`](Self::encode) wrote.
    pub fn decode(data: &[u8]) -> Result<SavedState, Error> {
        let limit = 64 + MAX_SAVED_NODES * (NODE_V4_LEN + NODE_V6_LEN);
        if data.len() > limit {
            return Err(Error::PacketTooLong {
                len: data.len(),
                max: limit,
            });
        }
        let v = DecodeOptions::new().max_depth(2).decode(data)?;
        let d = v.as_dict().ok_or(Error::NotADict)?;
        let id = d.get_bytes(b"id").ok_or(Error::MissingKey { key: "id" })?;
        let id: [u8; 20] = id.try_into().map_err(|_| Error::WrongLength {
            key: "id",
            len: id.len(),
            expected: "20",
        })?;
        let mut nodes = Vec::new();
        for (key, entry, expected) in [
            ("nodes", NODE_V4_LEN, "a multiple of 26"),
            ("nodes6", NODE_V6_LEN, "a multiple of 38"),
        ] {
            let b = match d.get(key.as_bytes()) {
                None => continue,
                Some(v) => v.as_bytes().ok_or(Error::WrongType {
                    key,
                    expected: "a byte string",
                })?,
            };
            if b.len() % entry != 0 {
                return Err(Error::WrongLength {
                    key,
                    len: b.len(),
                    expected,
                });
            }
            if b.len() / entry > MAX_SAVED_NODES {
                return Err(Error::TooMany {
                    key,
                    count: b.len() / entry,
                    max: MAX_SAVED_NODES,
                });
            }
            nodes.extend(nodes_from(b, entry));
        }
        Ok(SavedState {
            id: NodeId(id),
            nodes,
        })
    }
}
