//! The extension protocol (BEP 10): the handshake we send (what we speak:
//! `ut_metadata`, and `ut_pex` for public torrents) and what we learn from a
//! peer's.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use monsoon_wire::{ExtendedHandshake, Message, UT_METADATA};

use super::TorrentCore;
use super::connections::OUR_REQQ;
use monsoon_piece::PeerKey;

/// Our id for `ut_metadata` messages (peers send them with it).
pub(super) const OUR_UT_METADATA: u8 = 1;
/// Our id for `ut_pex` messages.
pub(super) const OUR_UT_PEX: u8 = 2;
/// The name of peer exchange in the handshake's `m`.
pub(super) const UT_PEX: &str = "ut_pex";
/// Largest `reqq` we believe.
const MAX_REQQ: usize = 2048;

/// What a peer's extension handshake told us.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PeerExt {
    /// Its id for `ut_metadata` messages we send it.
    pub(super) ut_metadata: Option<u8>,
    /// Its id for `ut_pex` messages we send it.
    pub(super) ut_pex: Option<u8>,
    /// The size of the info dictionary it says it has.
    pub(super) metadata_size: Option<u64>,
    /// The port it accepts peers on (for an incoming peer, whose source
    /// port is not it).
    pub(super) listen_port: Option<u16>,
}

impl TorrentCore {
    /// Whether the torrent is private (BEP 27: no PEX, no DHT); unknown
    /// while the metadata is fetched, and then treated as private.
    pub(super) fn is_private(&self) -> bool {
        self.meta.as_ref().is_none_or(|m| m.private)
    }

    /// Whether the DHT may be used for this torrent: not for a private one
    /// (BEP 27), and only while it is downloading, seeding or fetching its
    /// metadata.
    pub fn dht_allowed(&self) -> bool {
        self.meta.as_ref().is_none_or(|m| !m.private) && self.is_active()
    }

    /// Our extension handshake for a peer at `addr`.
    pub(super) fn our_ext_handshake(&self, addr: SocketAddr) -> Message {
        let mut m = BTreeMap::new();
        m.insert(UT_METADATA.to_owned(), OUR_UT_METADATA);
        if !self.is_private() {
            m.insert(UT_PEX.to_owned(), OUR_UT_PEX);
        }
        ExtendedHandshake {
            m,
            v: Some(format!("monsoon {}", env!("CARGO_PKG_VERSION"))),
            reqq: Some(OUR_REQQ),
            p: Some(self.listen_port),
            metadata_size: self.meta.as_ref().map(|m| m.info_bytes.len() as u64),
            yourip: Some(addr.ip()),
            ..ExtendedHandshake::default()
        }
        .to_message()
    }

    /// A peer's extension handshake (it may send another to update it).
    pub(super) fn on_ext_handshake(&mut self, key: PeerKey, payload: &[u8]) {
        let Ok(ext) = ExtendedHandshake::decode(payload) else {
            return;
        };
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if let Some(reqq) = ext.reqq {
            p.reqq = (reqq as usize).clamp(1, MAX_REQQ);
        }
        p.ext = PeerExt {
            ut_metadata: ext.extension_id(UT_METADATA),
            ut_pex: ext.extension_id(UT_PEX),
            metadata_size: ext.metadata_size,
            listen_port: ext.p.filter(|&p| p != 0),
        };
    }
}
