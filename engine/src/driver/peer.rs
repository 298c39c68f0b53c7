//! One task per peer connection: framed messages both ways.
//!
//! The task owns the socket and nothing else: every message it reads goes
//! to the torrent task as a [`PeerEvent`], and it writes whatever the
//! torrent task queues. Keep-alives and the idle timeout are handled here.
//! Reading and writing run side by side, so a peer that stops reading
//! cannot stall what we read from it, and dropping the [`PeerLink`] closes
//! the connection at once, even in the middle of a write.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use monsoon_piece::PeerKey;
use monsoon_wire::{Handshake, Message, PeerCodec, WireError};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::codec::{FramedRead, FramedWrite};
use tracing::{Instrument, debug, debug_span};

use crate::rate::{Limiter, throttle};
use crate::torrent::PeerEnd;
use crate::transport::{BoxTransport, write_handshake};

/// What a peer task reports to its torrent task.
#[derive(Debug)]
pub(crate) struct PeerEvent {
    pub(crate) key: PeerKey,
    pub(crate) kind: PeerEventKind,
}

#[derive(Debug)]
pub(crate) enum PeerEventKind {
    /// A message the peer sent.
    Message(Message),
    /// Block payload bytes written to the peer.
    Sent(u64),
    /// The connection ended on its own (not closed by the torrent task).
    Closed(PeerEnd),
}

/// Batches of messages queued for one peer, at most: a peer whose queue is
/// full does not read its socket, and is dropped.
const PEER_QUEUE: usize = 256;

/// The torrent task's end of a connection: queue messages; drop it to
/// close the connection.
#[derive(Debug)]
pub(crate) struct PeerLink {
    cmds: mpsc::Sender<Vec<Message>>,
    _close: oneshot::Sender<()>,
    /// The session's connection budget, given back when the link goes.
    _permit: Option<OwnedSemaphorePermit>,
}

impl PeerLink {
    /// Queues messages; false if the peer's queue is full (or it is gone).
    pub(crate) fn send(&self, msgs: Vec<Message>) -> bool {
        self.cmds.try_send(msgs).is_ok()
    }
}

/// Settings a peer task needs.
#[derive(Debug, Clone)]
pub(crate) struct PeerTimers {
    pub(crate) idle: Duration,
    pub(crate) keepalive: Duration,
    /// Largest frame accepted.
    pub(crate) max_frame: usize,
    /// Rate limits on block payload: the session's and the torrent's.
    pub(crate) up: [Arc<Limiter>; 2],
    pub(crate) down: [Arc<Limiter>; 2],
}

/// A connection whose handshakes are read, ready for its task.
pub(crate) struct PeerConn {
    pub(crate) key: PeerKey,
    pub(crate) addr: SocketAddr,
    pub(crate) stream: BoxTransport,
    /// Our handshake, when it still has to be sent (incoming connections).
    pub(crate) handshake: Option<Handshake>,
    /// Its share of the session's connection budget.
    pub(crate) permit: Option<OwnedSemaphorePermit>,
}

/// Starts the task of a connection; it runs until either side closes it.
pub(crate) fn spawn(
    conn: PeerConn,
    events: mpsc::Sender<PeerEvent>,
    timers: PeerTimers,
) -> PeerLink {
    let (cmds_tx, cmds) = mpsc::channel(PEER_QUEUE);
    let (close_tx, close) = oneshot::channel();
    let key = conn.key;
    let span = debug_span!("peer", addr = %conn.addr, key);
    let permit = conn.permit;
    tokio::spawn(
        async move {
            let end = tokio::select! {
                biased;
                _ = close => None,
                end = run(conn.stream, conn.handshake, key, cmds, &events, timers) => Some(end),
            };
            if let Some(end) = end {
                debug!(?end, "connection ended");
                let kind = PeerEventKind::Closed(end);
                let _ = events.send(PeerEvent { key, kind }).await;
            }
        }
        .instrument(span),
    );
    PeerLink {
        cmds: cmds_tx,
        _close: close_tx,
        _permit: permit,
    }
}

async fn run(
    mut stream: BoxTransport,
    handshake: Option<Handshake>,
    key: PeerKey,
    mut cmds: mpsc::Receiver<Vec<Message>>,
    events: &mpsc::Sender<PeerEvent>,
    timers: PeerTimers,
) -> PeerEnd {
    if let Some(hs) = handshake {
        if let Err(e) = write_handshake(&mut stream, &hs).await {
            return PeerEnd::Io(e.kind());
        }
    }
    let (r, w) = tokio::io::split(stream);
    let codec = PeerCodec::with_max_frame(timers.max_frame);
    let mut reader = FramedRead::with_capacity(r, codec.clone(), 64 * 1024);
    let mut writer = FramedWrite::new(w, codec);
    // When the last frame arrived, in milliseconds since `start`.
    let start = Instant::now();
    let last_recv = AtomicU64::new(0);
    let since_start = || start.elapsed().as_millis() as u64;
    let last_recv_at = || start + Duration::from_millis(last_recv.load(Ordering::Relaxed));

    let read_side = async {
        loop {
            match reader.next().await {
                Some(Ok(msg)) => {
                    last_recv.store(since_start(), Ordering::Relaxed);
                    match &msg {
                        Message::KeepAlive => continue,
                        // Reading waits for the download limit: the peer's
                        // sending slows with our reading.
                        Message::Piece { data, .. } => {
                            let down = [&*timers.down[0], &*timers.down[1]];
                            throttle(&down, data.len() as u64).await;
                        }
                        _ => {}
                    }
                    let kind = PeerEventKind::Message(msg);
                    if events.send(PeerEvent { key, kind }).await.is_err() {
                        // The torrent task is gone.
                        return PeerEnd::ClosedByPeer;
                    }
                }
                Some(Err(WireError::Io(e))) => return PeerEnd::Io(e.kind()),
                Some(Err(_)) => return PeerEnd::Malformed,
                None => return PeerEnd::ClosedByPeer,
            }
        }
    };
    let write_side = async {
        loop {
            let msgs = match timeout(timers.keepalive, cmds.recv()).await {
                Ok(Some(msgs)) => msgs,
                // The torrent task dropped its end: closed by us.
                Ok(None) => return PeerEnd::ClosedByPeer,
                Err(_) => vec![Message::KeepAlive],
            };
            let mut payload = 0u64;
            for m in msgs {
                if let Message::Piece { data, .. } = &m {
                    let up = [&*timers.up[0], &*timers.up[1]];
                    throttle(&up, data.len() as u64).await;
                    payload += data.len() as u64;
                }
                if let Err(e) = writer.feed(m).await {
                    return write_error(e);
                }
            }
            if let Err(e) = writer.flush().await {
                return write_error(e);
            }
            if payload > 0 {
                let kind = PeerEventKind::Sent(payload);
                if events.send(PeerEvent { key, kind }).await.is_err() {
                    return PeerEnd::ClosedByPeer;
                }
            }
        }
    };
    let idle = async {
        loop {
            sleep_until(last_recv_at() + timers.idle).await;
            if last_recv_at() + timers.idle <= Instant::now() {
                return PeerEnd::Idle;
            }
        }
    };
    tokio::select! {
        end = read_side => end,
        end = write_side => end,
        end = idle => end,
    }
}

fn write_error(e: WireError) -> PeerEnd {
    match e {
        WireError::Io(e) => PeerEnd::Io(e.kind()),
        _ => PeerEnd::Malformed,
    }
}
