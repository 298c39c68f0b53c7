//! What the core tells about its peers, for peer lists in user interfaces.

use std::net::SocketAddr;

use super::TorrentCore;
use super::reason::Direction;
use crate::encryption::PeerEncryption;

/// One connected peer, as a user interface shows it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PeerInfo {
    /// Its address.
    pub addr: SocketAddr,
    /// Its client, from its peer id (`"libtorrent 2.0.8"`, or the raw
    /// prefix when unknown).
    pub client: String,
    /// Who dialled.
    pub direction: Direction,
    /// Fraction of the torrent it has, 0.0 ..= 1.0.
    pub progress: f64,
    /// Bytes per second it sends us.
    pub download_rate: f64,
    /// Bytes per second we send it.
    pub upload_rate: f64,
    /// We choke it (it may not download from us).
    pub am_choking: bool,
    /// We want something it has.
    pub am_interested: bool,
    /// It chokes us.
    pub peer_choking: bool,
    /// It wants something we have.
    pub peer_interested: bool,
    /// It unchoked us but stopped sending what we asked for.
    pub snubbed: bool,
    /// The connection is RC4-encrypted (MSE/PE): flag `E`.
    pub encrypted: bool,
    /// How the connection is carried: plaintext, an encrypted handshake
    /// with a plaintext payload (flag `e`), or RC4 (`E`); see
    /// [`PeerEncryption::flag`].
    pub encryption: PeerEncryption,
    /// It speaks BitTorrent v2 with us (BEP 52 hash messages).
    pub v2: bool,
}

impl TorrentCore {
    /// The connected peers.
    pub fn peer_infos(&self) -> Vec<PeerInfo> {
        let n = f64::from(self.geometry.piece_count().max(1));
        self.peers
            .values()
            .map(|p| PeerInfo {
                addr: p.addr,
                client: client_name(&p.id),
                direction: p.direction,
                progress: f64::from(p.have_count) / n,
                download_rate: p.down.rate,
                upload_rate: p.up.rate,
                am_choking: p.am_choking,
                am_interested: p.am_interested,
                peer_choking: p.peer_choking,
                peer_interested: p.peer_interested,
                snubbed: p.snubbed,
                encrypted: p.encryption == PeerEncryption::Rc4,
                encryption: p.encryption,
                v2: p.v2,
            })
            .collect()
    }
}

/// A client's name and version from its peer id: Azureus style
/// (`-LT2080-…`) for the clients people meet, else the printable prefix.
pub fn client_name(id: &[u8; 20]) -> String {
    if id[0] == b'-' && id[7] == b'-' {
        let code = std::str::from_utf8(&id[1..3]).unwrap_or("??");
        let name = match code {
            "LT" => "libtorrent",
            "lt" => "libTorrent (rtorrent)",
            "qB" => "qBittorrent",
            "TR" => "Transmission",
            "UT" => "µTorrent",
            "DE" => "Deluge",
            "AZ" => "Vuze",
            "BI" => "BiglyBT",
            "MO" => "monsoon",
            "rQ" => "rqbit",
            "KT" => "KTorrent",
            "WW" => "WebTorrent",
            _ => "",
        };
        let version: Vec<String> = id[3..7]
            .iter()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| (*c as char).to_string())
            .collect();
        let version = version.join(".");
        return if name.is_empty() {
            format!("{} {version}", String::from_utf8_lossy(&id[..8]))
        } else {
            format!("{name} {version}")
        };
    }
    if id.starts_with(b"A2-") {
        return "aria2".to_string();
    }
    id.iter()
        .take_while(|c| c.is_ascii_graphic())
        .take(8)
        .map(|c| *c as char)
        .collect::<String>()
}

#[cfg(test)]
mod tests {
    use super::client_name;

    #[test]
    fn client_names() {
        assert_eq!(client_name(b"-LT2080-abcdefghijkl"), "libtorrent 2.0.8.0");
        assert_eq!(client_name(b"-TR3000-abcdefghijkl"), "Transmission 3.0.0.0");
        assert_eq!(client_name(b"-ZZ1234-abcdefghijkl"), "-ZZ1234- 1.2.3.4");
        assert_eq!(client_name(b"A2-1-35-0-abcdefghij"), "aria2");
        assert_eq!(client_name(&[0xff; 20]), "");
    }
}
