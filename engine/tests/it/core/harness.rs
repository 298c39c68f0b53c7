//! One torrent core driven by hand: fake peers, a fake clock, the disk run
//! on the spot (with errors on demand), every action kept for asserting.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use monsoon_engine::torrent::{Action, Direction, DiskJob, DiskResult, TorrentCore, TorrentParams};
use monsoon_engine::{CloseReason, SessionConfig};
use monsoon_piece::PeerKey;
use monsoon_storage::{MemoryStorage, StorageError};
use monsoon_tracker::Event;
use monsoon_wire::{BlockRef, Handshake, Message, Reserved};

use crate::sim::net::Have;
use crate::sim::torrent::SimTorrent;

pub(crate) struct Harness {
    pub(crate) core: TorrentCore,
    pub(crate) now: Instant,
    pub(crate) torrent: SimTorrent,
    pub(crate) storage: Arc<MemoryStorage>,
    /// Actions not looked at yet (disk jobs are run as they come).
    pub(crate) out: Vec<Action>,
    /// Make the next writes fail with this I/O error kind.
    pub(crate) fail_writes: Option<std::io::ErrorKind>,
    /// Make the check fail.
    pub(crate) fail_check: bool,
    /// Connections write nothing (a peer that does not read).
    pub(crate) stall_writes: bool,
}

pub(crate) const OUR_ID: [u8; 20] = *b"-MO0100-ourselves000";

impl Harness {
    pub(crate) fn new(torrent: SimTorrent, have: Have) -> Self {
        Self::with(torrent, have, SessionConfig::new("."), |_| {})
    }

    pub(crate) fn with(
        torrent: SimTorrent,
        have: Have,
        cfg: SessionConfig,
        params: impl FnOnce(&mut TorrentParams),
    ) -> Self {
        let now = Instant::now();
        let mut p = TorrentParams::new(torrent.meta.clone(), Arc::new(cfg), OUR_ID, 6881);
        p.seed = 7;
        params(&mut p);
        let core = TorrentCore::new(p, now).expect("core");
        let storage = Arc::new(torrent.storage(&have));
        let mut h = Self {
            core,
            now,
            torrent,
            storage,
            out: Vec::new(),
            fail_writes: None,
            fail_check: false,
            stall_writes: false,
        };
        h.pump();
        h
    }

    /// Runs disk jobs (unless held) and keeps every other action.
    pub(crate) fn pump(&mut self) {
        loop {
            let mut ran = false;
            let mut written = Vec::new();
            while let Some(a) = self.core.poll_action() {
                match a {
                    Action::Disk(job) => {
                        let result = self.run(job);
                        self.core.handle_disk(self.now, result);
                        ran = true;
                    }
                    other => {
                        if let (false, Action::Send(k, msgs)) = (self.stall_writes, &other) {
                            let bytes: u64 = msgs
                                .iter()
                                .map(|m| match m {
                                    Message::Piece { data, .. } => data.len() as u64,
                                    _ => 0,
                                })
                                .sum();
                            if bytes > 0 {
                                written.push((*k, bytes));
                            }
                        }
                        self.out.push(other)
                    }
                }
            }
            // The connections write what they were given at once (unless
            // a test stalls them).
            for (k, bytes) in written {
                self.core.handle_sent(self.now, k, bytes);
                ran = true;
            }
            if !ran {
                return;
            }
        }
    }

    fn run(&mut self, job: DiskJob) -> DiskResult {
        match job {
            DiskJob::Check { .. } if self.fail_check => {
                DiskResult::Checked(Err(io_error(std::io::ErrorKind::PermissionDenied)))
            }
            DiskJob::WritePiece { piece, .. } if self.fail_writes.is_some() => {
                DiskResult::PieceWritten {
                    piece,
                    result: Err(io_error(
                        self.fail_writes.unwrap_or(std::io::ErrorKind::Other),
                    )),
                    block_hashes: Vec::new(),
                }
            }
            job => job.run(self.storage.as_ref()),
        }
    }

    pub(crate) fn addr(n: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 1, n], 6881))
    }

    pub(crate) fn id(n: u8) -> [u8; 20] {
        let mut id = *b"-XX0000-000000000000";
        id[19] = n;
        id
    }

    /// A peer `n` (fast and extension bits set) connects to us.
    pub(crate) fn connect(&mut self, n: u8) -> PeerKey {
        self.try_connect(n, Direction::Incoming, Self::id(n), true)
            .expect("connection accepted")
    }

    pub(crate) fn try_connect(
        &mut self,
        n: u8,
        direction: Direction,
        id: [u8; 20],
        fast: bool,
    ) -> Result<PeerKey, CloseReason> {
        let mut reserved = Reserved::default().with_extension_protocol();
        if fast {
            reserved = reserved.with_fast();
        }
        let mut hs = Handshake::new(self.torrent.meta.info_hash, id);
        hs.reserved = reserved;
        let r = self
            .core
            .handle_connected(self.now, Self::addr(n), direction, &hs);
        self.pump();
        r
    }

    /// A peer `n` whose handshake (ours to it, or its answer to ours) is
    /// `hs` connects.
    pub(crate) fn handshake(
        &mut self,
        n: u8,
        direction: Direction,
        hs: &Handshake,
    ) -> Result<PeerKey, CloseReason> {
        let r = self
            .core
            .handle_connected(self.now, Self::addr(n), direction, hs);
        self.pump();
        r
    }

    pub(crate) fn msg(&mut self, key: PeerKey, msg: Message) {
        self.core.handle_message(self.now, key, msg);
        self.pump();
    }

    /// Advances the clock by `secs` seconds, one tick at a time.
    pub(crate) fn tick(&mut self, secs: u64) {
        for _ in 0..secs {
            self.now += Duration::from_secs(1);
            self.core.handle_timeout(self.now);
            self.pump();
        }
    }

    /// Takes the messages sent to `key` since the last look.
    pub(crate) fn sent(&mut self, key: PeerKey) -> Vec<Message> {
        let mut got = Vec::new();
        self.out.retain_mut(|a| match a {
            Action::Send(k, msgs) if *k == key => {
                got.append(msgs);
                false
            }
            _ => true,
        });
        got
    }

    /// Takes the messages sent to `key` that `pick` selects, leaving the others.
    pub(crate) fn take_sent(
        &mut self,
        key: PeerKey,
        pick: impl Fn(&Message) -> bool,
    ) -> Vec<Message> {
        let mut got = Vec::new();
        for a in &mut self.out {
            if let Action::Send(k, msgs) = a {
                if *k == key {
                    let (taken, kept): (Vec<Message>, Vec<Message>) =
                        std::mem::take(msgs).into_iter().partition(|m| pick(m));
                    got.extend(taken);
                    *msgs = kept;
                }
            }
        }
        got
    }

    /// Takes the requests sent to `key` since the last look.
    pub(crate) fn requests(&mut self, key: PeerKey) -> Vec<BlockRef> {
        self.take_sent(key, |m| matches!(m, Message::Request(_)))
            .into_iter()
            .filter_map(|m| match m {
                Message::Request(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// Takes the closes since the last look.
    pub(crate) fn closes(&mut self) -> Vec<(PeerKey, CloseReason)> {
        let mut got = Vec::new();
        self.out.retain(|a| match a {
            Action::Close(k, r) => {
                got.push((*k, *r));
                false
            }
            _ => true,
        });
        got
    }

    /// Takes the announces since the last look.
    pub(crate) fn announces(&mut self) -> Vec<Event> {
        let mut got = Vec::new();
        self.out.retain(|a| match a {
            Action::Announce(e) => {
                got.push(*e);
                false
            }
            _ => true,
        });
        got
    }

    /// Takes the dials since the last look.
    pub(crate) fn connects(&mut self) -> Vec<SocketAddr> {
        let mut got = Vec::new();
        self.out.retain(|a| match a {
            Action::Connect(addr) => {
                got.push(*addr);
                false
            }
            _ => true,
        });
        got
    }

    /// The block `r` of the torrent, as a peer would send it.
    pub(crate) fn block(&self, r: BlockRef) -> Message {
        let start = self.torrent.layout.piece_range(r.index).start as usize + r.begin as usize;
        let data =
            bytes::Bytes::copy_from_slice(&self.torrent.data[start..start + r.length as usize]);
        Message::Piece {
            index: r.index,
            begin: r.begin,
            data,
        }
    }
}

pub(crate) fn io_error(kind: std::io::ErrorKind) -> StorageError {
    StorageError::Io {
        path: "file.bin".into(),
        source: std::io::Error::from(kind),
    }
}
