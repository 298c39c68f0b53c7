//! Session settings: listen address, peer limits, timeouts, download root,
//! and sizing the descriptor-hungry limits from the process's file limit.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::encryption::Encryption;

/// Settings for a [`Session`](crate::Session). `Default` gives values fit
/// for a desktop client; tests shorten the timeouts. A program that knows
/// its limit on open files calls [`SessionConfig::fit_fd_limit`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Where to accept incoming peers (port 0 picks a free port).
    pub listen_addr: SocketAddr,
    /// Folder that torrents are downloaded into (each torrent's files go
    /// under it, by their paths in the metainfo).
    pub download_root: PathBuf,
    /// Most peer connections per torrent (connected or connecting): 100,
    /// as qBittorrent (a hundred seeders together are faster than sixty, and
    /// a session of a few torrents stays within [`max_peers`](Self::max_peers)).
    pub max_peers_per_torrent: usize,
    /// Most outgoing connection attempts in progress per torrent.
    pub max_connecting: usize,
    /// Most incoming connections waiting for their handshake, session-wide
    /// (each holds a socket).
    pub max_pending_handshakes: usize,
    /// Most files each torrent's storage keeps open at once (its handle
    /// cache: `FileStorage::with_max_open_files`).
    pub max_open_files: usize,
    /// How long an outgoing TCP connect may take.
    pub connect_timeout: Duration,
    /// How long the peer may take to send its handshake.
    pub handshake_timeout: Duration,
    /// A peer that sends nothing (not even a keep-alive) for this long is dropped.
    pub idle_timeout: Duration,
    /// We send a keep-alive after this long without sending anything.
    pub keepalive_interval: Duration,
    /// A peer that unchoked us but sends no requested block for this long is
    /// snubbed: its requests are given to other peers. Once its rate is
    /// known it is snubbed sooner, after ten blocks' time at that rate plus
    /// two round trips, and at least 3 s (a stalled link).
    pub snub_timeout: Duration,
    /// Most requests in flight to one peer (also bounded by the peer's
    /// `reqq`), unless three times its bandwidth-delay product is more (a
    /// fast peer far away): on a short round trip, more requests only fill
    /// memory with blocks the disk has not caught up with.
    pub max_requests_per_peer: usize,
    /// Most requests in flight for one torrent, all peers together: what
    /// arrives must be held until its piece is complete, so this bounds memory
    /// (4096 blocks = 64 MiB) whatever the number of fast peers. Each peer
    /// asks for its rate times two round trips and 0.75 s; twenty peers
    /// 100 ms away need 32 MiB in flight for 300 MB/s (512 capped them at
    /// 80 MB/s). Peers with a short round trip (under 30 ms) share 512 of
    /// these (8 MiB): more only costs memory and CPU there.
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
    /// How often a torrent's resume data is saved while it changes (it is
    /// also saved on completion and when the torrent stops).
    pub resume_interval: Duration,
    /// The DHT (BEP 5): `None` (the default for a library session) runs
    /// none; the `monsoon` command turns it on.
    pub dht: Option<DhtSettings>,
    /// Local service discovery (BEP 14): announce public torrents on the
    /// local network and take the peers found there; `None` (the default
    /// for a library session): off. If its socket cannot be set up, the
    /// session logs a warning and runs without it.
    pub lsd: Option<monsoon_tracker::LsdSettings>,
    /// Bytes of pieces kept after reading them for uploads (a piece read
    /// once serves the blocks asked of it next), per session.
    pub read_cache_bytes: usize,
    /// Message stream encryption (MSE/PE) of peer connections, both ways.
    pub encryption: Encryption,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 6881),
            download_root: PathBuf::from("."),
            max_peers_per_torrent: 100,
            max_connecting: 12,
            max_pending_handshakes: crate::MAX_PENDING_HANDSHAKES,
            max_open_files: monsoon_storage::DEFAULT_MAX_OPEN_FILES,
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(150),
            keepalive_interval: Duration::from_secs(90),
            snub_timeout: Duration::from_secs(45),
            max_requests_per_peer: 512,
            max_requests_total: 4096,
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
            resume_interval: Duration::from_secs(30),
            read_cache_bytes: 16 << 20,
            encryption: Encryption::default(),
            dht: None,
            lsd: None,
        }
    }
}

/// How the session's DHT node runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DhtSettings {
    /// Nodes to join the DHT through, `host:port` (the public routers by
    /// default).
    pub bootstrap: Vec<String>,
    /// Where the node keeps its id and good nodes between runs.
    pub state_file: Option<PathBuf>,
    /// How often each torrent announces itself and looks for peers.
    pub announce_interval: Duration,
}

impl Default for DhtSettings {
    fn default() -> Self {
        Self {
            bootstrap: monsoon_dht::DEFAULT_BOOTSTRAP
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            state_file: None,
            announce_interval: Duration::from_secs(15 * 60),
        }
    }
}

impl SessionConfig {
    /// Descriptors [`SessionConfig::fit_fd_limit`] keeps for everything but
    /// peers and torrent files: stdio, the runtime (epoll, its wakers, the
    /// signal pipe), the listeners, tracker and DNS sockets, the download
    /// root and the folders walked to open a file, state files.
    pub const RESERVED_FDS: u64 = 32;

    /// Default settings with the given download root.
    pub fn new(download_root: impl Into<PathBuf>) -> Self {
        Self {
            download_root: download_root.into(),
            ..Self::default()
        }
    }

    /// Lowers the limits that hold file descriptors so a session fits in a
    /// process allowed `limit` open files (the soft `RLIMIT_NOFILE`, which
    /// the `monsoon` program first raises to the hard limit). Never raises
    /// a limit above its current value.
    ///
    /// After [`RESERVED_FDS`](Self::RESERVED_FDS), half of the rest goes
    /// to peer connections ([`max_peers`](Self::max_peers) session-wide,
    /// and within it [`max_peers_per_torrent`](Self::max_peers_per_torrent),
    /// [`max_half_open`](Self::max_half_open) and
    /// [`max_connecting`](Self::max_connecting)), a quarter to [incoming
    /// handshakes](Self::max_pending_handshakes) and a quarter to [open
    /// files](Self::max_open_files); each at least 1. The storage also
    /// copes when the budget is wrong: on `EMFILE` it closes its cached
    /// files and retries.
    ///
    /// ```
    /// use monsoon_engine::SessionConfig;
    ///
    /// let small = SessionConfig::default().fit_fd_limit(64);
    /// assert_eq!((small.max_peers, small.max_peers_per_torrent, small.max_half_open), (16, 16, 16));
    /// assert_eq!(
    ///     (small.max_connecting, small.max_pending_handshakes, small.max_open_files),
    ///     (12, 8, 8)
    /// );
    /// // 1024 (a common default soft limit): peers capped at 496 instead of 500.
    /// let desktop = SessionConfig::default().fit_fd_limit(1024);
    /// assert_eq!((desktop.max_peers, desktop.max_peers_per_torrent, desktop.max_open_files), (496, 100, 128));
    /// let big = SessionConfig::default().fit_fd_limit(1 << 20);
    /// assert_eq!((big.max_peers, big.max_peers_per_torrent, big.max_open_files), (500, 100, 128));
    /// let none = SessionConfig::default().fit_fd_limit(0);
    /// assert_eq!((none.max_peers, none.max_connecting, none.max_open_files), (1, 1, 1));
    /// ```
    #[must_use]
    pub fn fit_fd_limit(mut self, limit: u64) -> Self {
        let budget = limit.saturating_sub(Self::RESERVED_FDS);
        let share = |parts: u64| usize::try_from(budget / parts).unwrap_or(usize::MAX);
        self.max_peers = self.max_peers.min(share(2)).max(1);
        self.max_peers_per_torrent = self.max_peers_per_torrent.min(self.max_peers).max(1);
        self.max_half_open = self.max_half_open.min(self.max_peers).max(1);
        self.max_connecting = self.max_connecting.min(self.max_peers_per_torrent).max(1);
        self.max_pending_handshakes = self.max_pending_handshakes.min(share(4)).max(1);
        self.max_open_files = self.max_open_files.min(share(4)).max(1);
        self
    }
}
