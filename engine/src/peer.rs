//! One task per peer connection: handshake, then framed messages both ways.
//!
//! The task owns the socket and nothing else: every message it reads goes to
//! the torrent task as a [`TorrentEvent`], and it writes whatever the torrent
//! task tells it to. Keep-alives and the idle timeout are handled here.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use monsoon_piece::PeerKey;
use monsoon_wire::{HANDSHAKE_LEN, Handshake, Message, PeerCodec};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};
use tokio_util::codec::{FramedRead, FramedWrite};
use tracing::{Instrument, debug, debug_span};

use crate::torrent::TorrentEvent;

/// A byte stream to a peer: a `TcpStream`, or an in-memory `tokio::io::duplex`
/// half in tests.
pub trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for T {}

/// A boxed transport.
pub(crate) type BoxTransport = Box<dyn Transport>;

/// What the torrent task tells a peer task to do.
#[derive(Debug)]
pub(crate) enum PeerCmd {
    /// Write these messages, then flush.
    Send(Vec<Message>),
    /// Close the connection.
    Close,
}

/// Capacity of the torrent → peer command channel. A peer whose channel is
/// full is not draining its socket; the torrent task drops it.
pub(crate) const PEER_CMD_CAPACITY: usize = 256;

/// Sends our handshake.
pub(crate) async fn write_handshake(
    stream: &mut BoxTransport,
    hs: &Handshake,
) -> std::io::Result<()> {
    let mut buf = BytesMut::with_capacity(HANDSHAKE_LEN);
    hs.encode(&mut buf);
    stream.write_all(&buf).await?;
    stream.flush().await
}

/// Reads exactly one handshake (never more bytes than it, so what follows
/// stays in the stream for the message codec).
pub(crate) async fn read_handshake(
    stream: &mut BoxTransport,
    limit: Duration,
) -> Result<Handshake, String> {
    let mut buf = [0u8; HANDSHAKE_LEN];
    match timeout(limit, stream.read_exact(&mut buf)).await {
        Err(_) => Err("handshake timed out".into()),
        Ok(Err(e)) => Err(format!("handshake: {e}")),
        Ok(Ok(_)) => Handshake::decode(&buf).map_err(|e| format!("handshake: {e}")),
    }
}

/// Settings a peer task needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerTimers {
    pub(crate) idle: Duration,
    pub(crate) keepalive: Duration,
    /// Largest frame accepted: the codec's default, or more when this
    /// torrent's bitfield needs it.
    pub(crate) max_frame: usize,
}

/// The frame limit for a torrent of `pieces` pieces: its bitfield message
/// (plus the id byte) must fit.
pub(crate) fn max_frame_for(pieces: u32) -> usize {
    monsoon_wire::DEFAULT_MAX_FRAME.max(pieces.div_ceil(8) as usize + 1)
}

/// Runs a connection whose handshakes are done until either side closes it;
/// always reports `PeerClosed` at the end.
/// A connection ready for its peer task.
pub(crate) struct PeerConn {
    pub(crate) key: PeerKey,
    pub(crate) addr: SocketAddr,
    pub(crate) stream: BoxTransport,
    /// Our handshake, when it still has to be sent (incoming connections).
    pub(crate) handshake: Option<Handshake>,
    /// Messages to send first (extension handshake, bitfield).
    pub(crate) first: Vec<Message>,
}

pub(crate) fn spawn_peer(
    conn: PeerConn,
    cmds: mpsc::Receiver<PeerCmd>,
    events: mpsc::Sender<TorrentEvent>,
    timers: PeerTimers,
) {
    let PeerConn {
        key,
        addr,
        stream,
        handshake,
        first,
    } = conn;
    let span = debug_span!("peer", %addr, key);
    tokio::spawn(
        async move {
            let reason = run(key, stream, handshake, first, cmds, &events, timers).await;
            debug!(%reason, "peer closed");
            let _ = events.send(TorrentEvent::PeerClosed(key, reason)).await;
        }
        .instrument(span),
    );
}

async fn run(
    key: PeerKey,
    mut stream: BoxTransport,
    handshake: Option<Handshake>,
    first: Vec<Message>,
    mut cmds: mpsc::Receiver<PeerCmd>,
    events: &mpsc::Sender<TorrentEvent>,
    timers: PeerTimers,
) -> String {
    if let Some(hs) = handshake {
        if let Err(e) = write_handshake(&mut stream, &hs).await {
            return format!("write handshake: {e}");
        }
    }
    let (r, w) = tokio::io::split(stream);
    let codec = PeerCodec::with_max_frame(timers.max_frame);
    let mut reader = FramedRead::with_capacity(r, codec.clone(), 64 * 1024);
    let mut writer = FramedWrite::new(w, codec);
    for m in first {
        if let Err(e) = writer.feed(m).await {
            return format!("write: {e}");
        }
    }
    if let Err(e) = writer.flush().await {
        return format!("write: {e}");
    }
    let mut last_recv = Instant::now();
    let mut last_sent = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1).min(timers.keepalive));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            cmd = cmds.recv() => match cmd {
                Some(PeerCmd::Send(msgs)) => {
                    for m in msgs {
                        if let Err(e) = writer.feed(m).await {
                            return format!("write: {e}");
                        }
                    }
                    if let Err(e) = writer.flush().await {
                        return format!("write: {e}");
                    }
                    last_sent = Instant::now();
                }
                Some(PeerCmd::Close) | None => return "closed by us".into(),
            },
            msg = reader.next() => match msg {
                Some(Ok(Message::KeepAlive)) => last_recv = Instant::now(),
                Some(Ok(m)) => {
                    last_recv = Instant::now();
                    if events.send(TorrentEvent::Peer(key, m)).await.is_err() {
                        return "torrent stopped".into();
                    }
                }
                Some(Err(e)) => return format!("protocol error: {e}"),
                None => return "connection closed by peer".into(),
            },
            _ = tick.tick() => {
                let now = Instant::now();
                if now.duration_since(last_recv) > timers.idle {
                    return "idle timeout".into();
                }
                if now.duration_since(last_sent) >= timers.keepalive {
                    if let Err(e) = writer.send(Message::KeepAlive).await {
                        return format!("write: {e}");
                    }
                    last_sent = now;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::max_frame_for;

    #[test]
    fn the_largest_bitfield_fits_the_frame_limit() {
        let pieces = crate::MAX_PIECES;
        assert!(max_frame_for(pieces) > pieces.div_ceil(8) as usize);
        assert_eq!(max_frame_for(10), monsoon_wire::DEFAULT_MAX_FRAME);
    }
}
