//! The lifecycle: checking, downloading, seeding, paused, error, stopped
//! (see [`TorrentState`] for the transitions), and the commands that move
//! a torrent between them.

use std::sync::Arc;
use std::time::Instant;

use monsoon_piece::{Bitfield, PeerKey};
use monsoon_storage::StorageError;
use monsoon_tracker::Event;
use tracing::{info, warn};

use super::{Action, CloseReason, DiskJob, TorrentCore};
use crate::error::TorrentError;
use crate::stats::TorrentState;

/// Facts the state alone does not tell.
#[derive(Debug, Default)]
pub(super) struct Life {
    /// The data on disk was checked: the picker knows what we have.
    checked: bool,
    /// A check ([`DiskJob::Check`]) is out.
    checking: bool,
    /// Paused by the user (a check that is running finishes into `Paused`).
    paused: bool,
    /// `started` was announced and `stopped` not yet.
    announced: bool,
}

impl TorrentCore {
    /// Where a new torrent starts: checking its data, or paused.
    pub(super) fn start(&mut self, paused: bool) {
        self.life.paused = paused;
        if paused {
            self.stats.state = TorrentState::Paused;
        } else if self.awaiting_layers() {
            self.enter_fetching();
        } else {
            self.begin_check(false);
        }
    }

    /// A magnet link: fetching its metadata (or paused, to fetch later).
    pub(super) fn start_without_metadata(&mut self, paused: bool) {
        self.life.paused = paused;
        if paused {
            self.stats.state = TorrentState::Paused;
        } else {
            self.enter_fetching();
        }
    }

    /// Fetching what the torrent lacks from peers: its info dictionary
    /// (a magnet link), or the piece layers of a v2 torrent.
    fn enter_fetching(&mut self) {
        self.set_state(TorrentState::FetchingMetadata);
        if !self.life.announced {
            self.life.announced = true;
            self.push(Action::Announce(Event::Started));
        }
        self.connect_more();
        self.ask_hashes();
    }

    /// The metadata arrived and is installed: check what is on disk (once
    /// a v2 torrent's piece layers are in as well).
    pub(super) fn metadata_ready(&mut self) {
        if self.life.paused {
            self.set_state(TorrentState::Paused);
        } else if self.awaiting_layers() {
            self.enter_fetching();
        } else {
            self.begin_check(false);
        }
    }

    fn begin_check(&mut self, full: bool) {
        self.set_state(TorrentState::Checking);
        if !self.life.checking {
            self.life.checking = true;
            let verifier = self.verifier.clone();
            self.push(Action::Disk(DiskJob::Check { full, verifier }));
        }
    }

    /// Command: hash every piece on disk again (peers are closed while it
    /// runs), then go on as the result says.
    pub fn recheck(&mut self, now: Instant) {
        self.set_now(now);
        if matches!(self.state(), TorrentState::Stopped | TorrentState::Checking)
            || self.fetch.is_some()
            || self.awaiting_layers()
        {
            return;
        }
        self.close_all(CloseReason::NotAccepting);
        self.stats.error = None;
        self.life.paused = false;
        self.begin_check(true);
    }

    /// The check of existing data finished.
    pub(super) fn on_checked(&mut self, result: Result<Bitfield, StorageError>) {
        self.life.checking = false;
        if self.state() == TorrentState::Stopped {
            return;
        }
        let have = match result {
            Ok(have) => have,
            Err(e) => return self.fail(TorrentError::Check(Arc::new(e))),
        };
        self.picker.set_have(&have);
        self.life.checked = true;
        if self.seed_only {
            // Seed what is there: what is missing is not wanted.
            let prio: Vec<u8> = (0..self.geometry.piece_count())
                .map(|p| u8::from(have.get(p) && self.priorities[p as usize] > 0))
                .collect();
            self.apply_priorities(prio);
        }
        let found = have.count_ones();
        if found > 0 {
            info!(pieces = found, "resuming with pieces already on disk");
        }
        self.recount_done();
        if self.life.paused {
            self.set_state(TorrentState::Paused);
        } else {
            self.enter_active();
        }
    }

    /// Downloading or seeding, as the pieces say; announces `started`.
    fn enter_active(&mut self) {
        let state = if self.picker.is_complete() {
            TorrentState::Seeding
        } else {
            TorrentState::Downloading
        };
        self.set_state(state);
        if !self.life.announced {
            self.life.announced = true;
            self.push(Action::Announce(Event::Started));
        }
        // Peers already connected (a magnet's, or those kept through a
        // recheck) may have unchoked us: ask them now, not at the next tick.
        self.refill_all();
        self.connect_more();
    }

    /// Every wanted piece is verified: seeding from now on.
    pub(super) fn on_download_complete(&mut self) {
        info!(name = %self.meta.as_ref().map_or("", |m| m.name.as_str()), "download complete");
        self.set_state(TorrentState::Seeding);
        if self.life.announced {
            self.push(Action::Announce(Event::Completed));
        }
        self.push(Action::Disk(DiskJob::Flush));
        let n = self.geometry.piece_count();
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            let seed = self.peers.get(&key).is_some_and(|p| p.have_count == n);
            if seed {
                self.close_peer(key, CloseReason::BothSeeds);
            } else {
                self.update_interest(key);
            }
        }
    }

    /// More pieces became wanted while seeding (priorities changed).
    pub(super) fn on_download_incomplete(&mut self) {
        if self.state() == TorrentState::Seeding {
            self.set_state(TorrentState::Downloading);
            self.connect_more();
        }
    }

    /// Command: disconnect every peer and stop announcing until
    /// [`resume`](Self::resume). A running check finishes first.
    pub fn pause(&mut self, now: Instant) {
        self.set_now(now);
        if matches!(self.state(), TorrentState::Stopped | TorrentState::Paused) {
            return;
        }
        self.life.paused = true;
        self.close_all(CloseReason::Paused);
        self.announce_stopped();
        if !self.life.checking {
            self.set_state(TorrentState::Paused);
        }
    }

    /// Command: leave `Paused` or `Error`. Checks the data first if it was
    /// never checked (or the check failed); else downloads or seeds.
    pub fn resume(&mut self, now: Instant) {
        self.set_now(now);
        if !matches!(self.state(), TorrentState::Paused | TorrentState::Error) {
            return;
        }
        self.life.paused = false;
        self.stats.error = None;
        self.list.retry_now(now);
        if self.fetch.is_some() || self.awaiting_layers() {
            self.enter_fetching();
        } else if self.life.checked {
            self.enter_active();
        } else {
            self.begin_check(false);
        }
    }

    /// Command: the torrent is removed or its session shuts down. Closes
    /// every peer and announces `stopped`; final.
    pub fn stop(&mut self, now: Instant) {
        self.set_now(now);
        if self.state() == TorrentState::Stopped {
            return;
        }
        self.close_all(CloseReason::Stopped);
        self.announce_stopped();
        self.set_state(TorrentState::Stopped);
    }

    /// Something the torrent cannot go on without failed: `Error` until
    /// resumed.
    pub(super) fn fail(&mut self, error: TorrentError) {
        if self.state() == TorrentState::Stopped {
            return;
        }
        warn!(%error, "torrent failed");
        self.close_all(CloseReason::Failed);
        self.announce_stopped();
        self.stats.error = Some(error);
        self.set_state(TorrentState::Error);
    }

    fn announce_stopped(&mut self) {
        if self.life.announced {
            self.life.announced = false;
            self.push(Action::Announce(Event::Stopped));
        }
    }

    /// Whether the data on disk was checked (so [`have`](Self::have) says
    /// what is there).
    pub fn is_checked(&self) -> bool {
        self.life.checked && !self.life.checking
    }

    /// The driver could not set up the files of a magnet link's torrent.
    pub fn handle_setup_error(&mut self, now: Instant, error: StorageError) {
        self.set_now(now);
        self.fail(TorrentError::Setup(Arc::new(error)));
    }

    /// Whether peers may be connected and blocks exchanged.
    pub(super) fn is_active(&self) -> bool {
        matches!(
            self.state(),
            TorrentState::Downloading | TorrentState::Seeding | TorrentState::FetchingMetadata
        )
    }

    fn close_all(&mut self, reason: CloseReason) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.close_peer(key, reason);
        }
    }

    fn set_state(&mut self, state: TorrentState) {
        if self.stats.state != state {
            self.update_seeding_time();
            self.seeding_since = (state == TorrentState::Seeding).then_some(self.now);
            self.stats.state = state;
            self.refresh_stats();
            self.push(Action::StateChanged(state));
        }
    }

    /// Adds the seeding time since the last look to the stats.
    fn update_seeding_time(&mut self) {
        if let Some(since) = self.seeding_since {
            self.stats.seeding_time += self.now.saturating_duration_since(since);
            self.seeding_since = Some(self.now);
        }
    }

    /// On each tick: a seeding torrent that reached its ratio or seeding
    /// time pauses.
    pub(super) fn check_seed_limits(&mut self) {
        self.update_seeding_time();
        if self.state() != TorrentState::Seeding {
            return;
        }
        let l = self.seed_limits;
        let by_ratio = l.ratio.is_some_and(|r| self.stats.ratio() >= r);
        let by_time = l.time.is_some_and(|t| self.stats.seeding_time >= t);
        if by_ratio || by_time {
            info!(ratio = self.stats.ratio(), "seeding limit reached");
            self.stats.seed_limit_reached = true;
            let now = self.now;
            self.pause(now);
        }
    }

    /// Recomputes the bytes of wanted pieces verified.
    pub(super) fn recount_done(&mut self) {
        let have = self.picker.have();
        self.stats.done_bytes = have
            .iter_ones()
            .filter(|&p| self.priorities[p as usize] > 0)
            .map(|p| u64::from(self.geometry.piece_size(p)))
            .sum();
    }

    /// Sets the piece priorities and what follows from them in the stats.
    fn apply_priorities(&mut self, priorities: Vec<u8>) {
        self.picker.set_priorities(&priorities);
        self.stats.wanted_bytes = (0..self.geometry.piece_count())
            .filter(|&p| priorities[p as usize] > 0)
            .map(|p| u64::from(self.geometry.piece_size(p)))
            .sum();
        self.priorities = priorities;
        self.recount_done();
    }

    /// Command: new piece priorities (0 = skip). A seeding torrent that now
    /// wants a missing piece goes back to downloading; a downloading one
    /// whose remaining pieces are all skipped becomes seeding.
    ///
    /// # Errors
    /// The list does not have one priority per piece.
    pub fn set_piece_priorities(
        &mut self,
        now: Instant,
        priorities: Vec<u8>,
    ) -> Result<(), crate::EngineError> {
        self.set_now(now);
        let n = self.geometry.piece_count();
        if priorities.len() != n as usize {
            return Err(crate::EngineError::PiecePriorityCount {
                given: priorities.len(),
                pieces: n,
            });
        }
        self.apply_priorities(priorities);
        if !self.life.checked {
            return Ok(());
        }
        self.cancel_skipped();
        if self.picker.is_complete() {
            if self.state() == TorrentState::Downloading {
                self.on_download_complete();
            }
        } else {
            self.on_download_incomplete();
        }
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.update_interest(key);
        }
        self.refill_all();
        Ok(())
    }
}
