//! What the core asks its driver to do ([`Action`], [`DiskJob`]) and what
//! the disk answers ([`DiskResult`]).

use std::net::SocketAddr;

use bytes::Bytes;
use monsoon_piece::{Bitfield, PeerKey};
use monsoon_storage::StorageError;
use monsoon_tracker::Event;
use monsoon_wire::{BlockRef, Message};

use super::reason::CloseReason;
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
}

/// Work for the disk threads.
#[derive(Debug)]
#[non_exhaustive]
pub enum DiskJob {
    /// Hash every piece already on disk; answer [`DiskResult::Checked`].
    Check,
    /// Hash a complete piece (its blocks in order) and write it if the hash
    /// is `hash`; answer [`DiskResult::PieceWritten`].
    WritePiece {
        /// The piece.
        piece: u32,
        /// Its blocks, in order.
        blocks: Vec<Bytes>,
        /// The SHA-1 it must have.
        hash: [u8; 20],
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
}
