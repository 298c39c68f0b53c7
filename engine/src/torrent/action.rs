//! What the core asks its driver to do ([`Action`], [`DiskJob`]) and what
//! the disk answers ([`DiskResult`]).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use monsoon_piece::{Bitfield, PeerKey};
use monsoon_storage::{Storage, StorageError};
use monsoon_tracker::Event;
use monsoon_wire::{BlockRef, Message};

use super::reason::CloseReason;
use super::verify::{PieceCheck, Verdict, Verifier};
use crate::stats::TorrentState;

/// One thing for the driver to do, in the order the core asked.
#[derive(Debug)]
#[non_exhaustive]
pub enum Action {
    /// Dial `addr`, exchange handshakes, then report with
    /// [`handle_connected`](super::TorrentCore::handle_connected) or
    /// [`handle_connect_failed`](super::TorrentCore::handle_connect_failed).
    Connect(SocketAddr),
    /// Send these messages to the peer, in order. A peer that cannot take
    /// them (its queue is full) is reported with
    /// [`handle_closed`](super::TorrentCore::handle_closed) and
    /// [`PeerEnd::NotReading`](super::PeerEnd::NotReading).
    Send(PeerKey, Vec<Message>),
    /// Close the connection; the core has already forgotten the peer.
    Close(PeerKey, CloseReason),
    /// Run a disk job off the async workers and report its
    /// [`DiskResult`] with [`handle_disk`](super::TorrentCore::handle_disk).
    Disk(DiskJob),
    /// Announce to the trackers (`Started`, `Completed`, `Stopped`); the
    /// tracker task keeps re-announcing on its own between events.
    Announce(Event),
    /// The lifecycle state changed (publish the stats now).
    StateChanged(TorrentState),
    /// A magnet link's metadata arrived and checked out: the driver sets up
    /// the torrent's storage before the disk jobs that follow.
    MetadataReceived(Arc<crate::metainfo::Metainfo>),
    /// The piece layers the torrent lacked arrived from peers and proved
    /// out (BEP 52): this metainfo has them (its handles may show it, a
    /// `.torrent` saved from it is complete).
    PieceLayersReceived(Arc<crate::metainfo::Metainfo>),
}

/// Work for the disk threads.
#[derive(Debug)]
#[non_exhaustive]
pub enum DiskJob {
    /// Find which pieces are valid on disk; answer [`DiskResult::Checked`].
    /// Unless `full`, a driver may trust a resume file for unchanged files
    /// (the first check after a start); `full` hashes every piece (a
    /// recheck the user asked for).
    Check {
        /// Hash everything, whatever a resume file says.
        full: bool,
        /// What each piece must hash to.
        verifier: Arc<Verifier>,
    },
    /// Hash a complete piece (its blocks in order) and write it if it
    /// passes `check`; answer [`DiskResult::PieceWritten`].
    WritePiece {
        /// The piece.
        piece: u32,
        /// Its blocks, in order.
        blocks: Vec<Bytes>,
        /// The hashes it must match (SHA-1, merkle, or both).
        check: PieceCheck,
        /// Also hash each block when the piece matches (it failed before,
        /// and the blocks of the failed attempts are to be compared).
        block_hashes: bool,
    },
    /// Read a block for a peer; answer [`DiskResult::Read`].
    Read {
        /// Who asked.
        peer: PeerKey,
        /// What it asked for.
        block: BlockRef,
    },
    /// Make written data durable; answer [`DiskResult::Flushed`].
    Flush,
}

impl DiskJob {
    /// Does the job on the calling thread, against `storage`: what a
    /// driver's disk threads call (never on an async worker: it hashes and
    /// does blocking I/O).
    pub fn run(self, storage: &dyn Storage) -> DiskResult {
        match self {
            DiskJob::Check { verifier, .. } => {
                let threads = std::thread::available_parallelism().map_or(2, usize::from);
                let result = verifier.recheck(storage, threads).map(|valid| {
                    let mut have = Bitfield::new(valid.len() as u32);
                    for (i, ok) in valid.iter().enumerate() {
                        have.set(i as u32, *ok);
                    }
                    have
                });
                DiskResult::Checked(result)
            }
            DiskJob::WritePiece {
                piece,
                blocks,
                check,
                block_hashes,
            } => {
                let verdict = check.check_blocks(&blocks);
                if verdict == Verdict::Disagree {
                    return DiskResult::HashesDisagree { piece };
                }
                let matches = verdict == Verdict::Match;
                let result = if matches {
                    storage.write_piece(piece, &blocks).map(|()| true)
                } else {
                    Ok(false)
                };
                let block_hashes = if block_hashes || !matches {
                    blocks
                        .iter()
                        .map(|b| monsoon_storage::hash_bytes(b))
                        .collect()
                } else {
                    Vec::new()
                };
                DiskResult::PieceWritten {
                    piece,
                    result,
                    block_hashes,
                }
            }
            DiskJob::Read { peer, block } => DiskResult::Read {
                peer,
                block,
                result: storage.read(block.index, block.begin, block.length),
            },
            DiskJob::Flush => DiskResult::Flushed(storage.flush()),
        }
    }
}

/// The answer to a [`DiskJob`].
#[derive(Debug)]
#[non_exhaustive]
pub enum DiskResult {
    /// Which pieces on disk are valid.
    Checked(Result<Bitfield, StorageError>),
    /// `Ok(true)`: the piece matched its hash and was written;
    /// `Ok(false)`: it did not match (nothing written).
    PieceWritten {
        /// The piece.
        piece: u32,
        /// The outcome.
        result: Result<bool, StorageError>,
        /// The SHA-1 of each block, when the piece did not match or
        /// `block_hashes` was asked for; else empty.
        block_hashes: Vec<[u8; 20]>,
    },
    /// A block read for a peer.
    Read {
        /// Who asked.
        peer: PeerKey,
        /// What it asked for.
        block: BlockRef,
        /// The data.
        result: Result<Bytes, StorageError>,
    },
    /// Written data is durable (or not).
    Flushed(Result<(), StorageError>),
    /// A hybrid torrent's piece matched one of its hashes and not the
    /// other (see [`Verdict::Disagree`]); nothing was written.
    HashesDisagree {
        /// The piece.
        piece: u32,
    },
}
