//! Session settings: listen address, peer limits, timeouts, download root.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Settings for a [`Session`](crate::Session). `Default` gives values fit
/// for a desktop client; tests shorten the timeouts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Where to accept incoming peers (port 0 picks a free port).
    pub listen_addr: SocketAddr,
    /// Folder that torrents are downloaded into (each torrent's files go
    /// under it, by their paths in the metainfo).
    pub download_root: PathBuf,
    /// Most peer connections per torrent (connected or connecting).
    pub max_peers_per_torrent: usize,
    /// Most outgoing connection attempts in progress per torrent.
    pub max_connecting: usize,
    /// How long an outgoing TCP connect may take.
    pub connect_timeout: Duration,
    /// How long the peer may take to send its handshake.
    pub handshake_timeout: Duration,
    /// A peer that sends nothing (not even a keep-alive) for this long is dropped.
    pub idle_timeout: Duration,
    /// We send a keep-alive after this long without sending anything.
    pub keepalive_interval: Duration,
    /// A peer that unchoked us but sends no requested block for this long is
    /// snubbed: its requests are given to other peers.
    pub snub_timeout: Duration,
    /// Most requests in flight to one peer (also bounded by the peer's `reqq`).
    pub max_requests_per_peer: usize,
    /// Most requests in flight for one torrent, all peers together: what
    /// arrives must be held until its piece is complete, so this bounds memory
    /// (512 blocks = 8 MiB) whatever the number of fast peers.
    pub max_requests_total: usize,
    /// Bytes of completed pieces waiting to be hashed and written before we
    /// stop requesting more (bounds memory when the disk is slower than the net).
    pub max_pending_disk_bytes: u64,
    /// A peer that contributed to this many pieces that failed their hash
    /// check is banned for the session.
    pub ban_after_failures: u32,
    /// Peers we unchoke besides the optimistic one. When seeding with no
    /// upload limit, more are opened while every slot is busy.
    pub upload_slots: usize,
    /// Interval for re-evaluating who we unchoke (tit-for-tat).
    pub choke_interval: Duration,
    /// How often the optimistic unchoke rotates.
    pub optimistic_interval: Duration,
    /// Upper bound on a tracker's re-announce interval we honour.
    pub max_announce_interval: Duration,
    /// Threads that hash, write and read pieces (one writer avoids
    /// contention on a file's lock; SHA-1 runs at about 2 GB/s per thread).
    pub disk_threads: usize,
    /// Our 20-byte peer id (`None`: generated, `-MO0100-` + random).
    pub peer_id: Option<[u8; 20]>,
    /// Most peer connections in the whole session (all torrents, both
    /// directions); an incoming connection over it is closed at once.
    pub max_peers: usize,
    /// Most outgoing connection attempts in progress in the session.
    pub max_half_open: usize,
    /// Session-wide upload limit, payload bytes per second (0: none).
    pub max_upload_rate: u64,
    /// Session-wide download limit, payload bytes per second (0: none).
    pub max_download_rate: u64,
    /// A peer that takes none of the data we queued for it for this long
    /// is dropped.
    pub send_timeout: Duration,
    /// Bytes of pieces kept after reading them for uploads (a piece read
    /// once serves the blocks asked of it next), per session.
    pub read_cache_bytes: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 6881),
            download_root: PathBuf::from("."),
            max_peers_per_torrent: 60,
            max_connecting: 12,
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(150),
            keepalive_interval: Duration::from_secs(90),
            snub_timeout: Duration::from_secs(45),
            max_requests_per_peer: 512,
            max_requests_total: 512,
            max_pending_disk_bytes: 8 << 20,
            ban_after_failures: 2,
            upload_slots: 8,
            choke_interval: Duration::from_secs(10),
            optimistic_interval: Duration::from_secs(30),
            max_announce_interval: Duration::from_secs(3600),
            disk_threads: 1,
            peer_id: None,
            max_peers: 500,
            max_half_open: 64,
            max_upload_rate: 0,
            max_download_rate: 0,
            send_timeout: Duration::from_secs(60),
            read_cache_bytes: 16 << 20,
        }
    }
}

impl SessionConfig {
    /// Default settings with the given download root.
    pub fn new(download_root: impl Into<PathBuf>) -> Self {
        Self {
            download_root: download_root.into(),
            ..Self::default()
        }
    }
}
