//! What a torrent reports about itself, streamed through `tokio::sync::watch`.

use std::net::SocketAddr;

use crate::error::TorrentError;
use crate::torrent::{CloseCounts, ConnectError};

/// The lifecycle state of a torrent.
///
/// ```text
///                      ┌──────────── resume ───────────┐
///                      v                               │
/// FetchingMetadata ─> Checking ─> Downloading ─> Seeding
///                       │ │           │  ^          │
///                       │ │           │  └ wanted ──┘ (more files selected)
///                       │ └─> Error <─┴──────────────┘ (disk failure)
///                       └──> Paused <── pause, from any state but Stopped
///                  Stopped <── stop (remove, session shutdown), from any state
/// ```
///
/// - `FetchingMetadata`: a torrent added from a magnet link has no info
///   dictionary yet; peers are found and asked for it. Once it is received
///   and hashes to the info-hash, the torrent goes to `Checking`.
/// - `Checking`: the data already on disk is hashed (resume). Then
///   `Downloading` if a wanted piece is missing, else `Seeding`; `Error` if
///   the disk cannot be read; `Paused` if paused meanwhile. A torrent added
///   paused stays `Paused` without checking until it is resumed.
/// - `Downloading`: peers are dialled and accepted, blocks requested.
///   `Seeding` once every wanted piece is verified on disk; `Error` when a
///   verified piece cannot be written.
/// - `Seeding`: every wanted piece is verified on disk; peers are still
///   served (whether to keep seeding is the caller's choice: stop it, or
///   keep it). `Error` when a block cannot be read for a peer.
/// - `Paused`: no connections, no announces. `resume` goes back to
///   `Checking` if the data was never checked, else to `Downloading` or
///   `Seeding`.
/// - `Error`: no connections, no announces; [`Stats::error`] says why.
///   `resume` retries (from `Checking` if the check failed).
/// - `Stopped`: final; the torrent was removed or its session shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TorrentState {
    /// Waiting for the info dictionary from peers (magnet link).
    FetchingMetadata,
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
#[derive(Debug, Clone)]
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
    /// Payload bytes received, all sessions together (from the resume file).
    pub downloaded_total: u64,
    /// Payload bytes sent, all sessions together.
    pub uploaded_total: u64,
    /// Earlier sessions' (uploaded, downloaded).
    pub(crate) prior_totals: (u64, u64),
    /// Payload bytes received in pieces that failed their hash check.
    pub wasted: u64,
    /// Download rate, bytes per second (over the last few seconds).
    pub download_rate: f64,
    /// Upload rate, bytes per second.
    pub upload_rate: f64,
    /// Connected peers.
    pub peers: usize,
    /// Connected peers whose connection is RC4-encrypted (MSE/PE; flag
    /// `E` in peer lists).
    pub encrypted_peers: usize,
    /// Peer addresses known and not connected (waiting to be tried, or to
    /// be tried again after a failure).
    pub known_peers: usize,
    /// Peers banned for sending bad data.
    pub banned_peers: usize,
    /// Connected peers that unchoked us but stopped sending what we asked
    /// for (their requests went to others).
    pub snubbed_peers: usize,
    /// Outgoing connection attempts so far.
    pub connect_attempts: u64,
    /// The last failed connection attempt: where, and why. Says why a
    /// torrent has no peers.
    pub last_connect_error: Option<(SocketAddr, ConnectError)>,
    /// Connections we closed, counted by reason (protocol violations,
    /// bans, limits, ...).
    pub closed_by_us: CloseCounts,
    /// What went wrong, in state [`TorrentState::Error`].
    pub error: Option<TorrentError>,
    /// Time spent seeding this session.
    pub seeding_time: std::time::Duration,
    /// The torrent paused because a seeding limit (ratio or time) was reached.
    pub seed_limit_reached: bool,
    /// The resume file could not be used (it was moved aside and the data
    /// checked in full).
    pub resume_error: Option<std::sync::Arc<crate::resume::ResumeError>>,
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
            downloaded_total: 0,
            uploaded_total: 0,
            prior_totals: (0, 0),
            wasted: 0,
            download_rate: 0.0,
            upload_rate: 0.0,
            peers: 0,
            encrypted_peers: 0,
            known_peers: 0,
            banned_peers: 0,
            snubbed_peers: 0,
            connect_attempts: 0,
            last_connect_error: None,
            closed_by_us: CloseCounts::default(),
            error: None,
            seeding_time: std::time::Duration::ZERO,
            seed_limit_reached: false,
            resume_error: None,
        }
    }

    /// Fraction of wanted bytes done, 0.0 ..= 1.0.
    pub fn progress(&self) -> f64 {
        if self.state == TorrentState::FetchingMetadata {
            0.0
        } else if self.wanted_bytes == 0 {
            1.0
        } else {
            self.done_bytes as f64 / self.wanted_bytes as f64
        }
    }

    /// Upload ratio, all sessions together: bytes uploaded over bytes
    /// downloaded, or over the wanted bytes when less was downloaded (a
    /// torrent seeded from disk).
    pub fn ratio(&self) -> f64 {
        let up = self.prior_totals.0 + self.uploaded;
        let down = self.prior_totals.1 + self.downloaded;
        let base = down.max(self.wanted_bytes);
        if base == 0 {
            0.0
        } else {
            up as f64 / base as f64
        }
    }

    /// Whether every wanted piece is verified.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, TorrentState::Seeding)
    }
}
