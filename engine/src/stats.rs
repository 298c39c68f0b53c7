//! What a torrent reports about itself, streamed through `tokio::sync::watch`.

/// The lifecycle state of a torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TorrentState {
    /// Checking existing data on disk (resume).
    Checking,
    /// Fetching pieces.
    Downloading,
    /// Every wanted piece is verified on disk; serving others.
    Seeding,
    /// Paused by the user: no peers, no requests.
    Paused,
    /// Stopped (removed or the session shut down).
    Stopped,
    /// Failed; [`Stats::error`] says why.
    Error,
}

/// A snapshot of a torrent's progress.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Current state.
    pub state: TorrentState,
    /// Bytes of the torrent (all files, padding included).
    pub total_bytes: u64,
    /// Bytes of the pieces we want (selected files).
    pub wanted_bytes: u64,
    /// Bytes of wanted pieces verified on disk.
    pub done_bytes: u64,
    /// Pieces verified on disk (wanted or not).
    pub pieces_done: u32,
    /// Pieces in the torrent.
    pub pieces_total: u32,
    /// Payload bytes received from peers this session (including discarded ones).
    pub downloaded: u64,
    /// Payload bytes sent to peers this session.
    pub uploaded: u64,
    /// Payload bytes received in pieces that failed their hash check.
    pub wasted: u64,
    /// Download rate, bytes per second (over the last few seconds).
    pub download_rate: f64,
    /// Upload rate, bytes per second.
    pub upload_rate: f64,
    /// Connected peers.
    pub peers: usize,
    /// Peers known but not connected.
    pub known_peers: usize,
    /// Peers banned for sending bad data.
    pub banned_peers: usize,
    /// What went wrong, in state [`TorrentState::Error`].
    pub error: Option<String>,
}

impl Stats {
    pub(crate) fn new(total_bytes: u64, pieces_total: u32) -> Self {
        Self {
            state: TorrentState::Checking,
            total_bytes,
            wanted_bytes: total_bytes,
            done_bytes: 0,
            pieces_done: 0,
            pieces_total,
            downloaded: 0,
            uploaded: 0,
            wasted: 0,
            download_rate: 0.0,
            upload_rate: 0.0,
            peers: 0,
            known_peers: 0,
            banned_peers: 0,
            error: None,
        }
    }

    /// Fraction of wanted bytes done, 0.0 ..= 1.0.
    pub fn progress(&self) -> f64 {
        if self.wanted_bytes == 0 {
            1.0
        } else {
            self.done_bytes as f64 / self.wanted_bytes as f64
        }
    }

    /// Whether every wanted piece is verified.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, TorrentState::Seeding)
    }
}
