//! How bytes reach peers: the [`Transport`] a connection runs over, the
//! [`Connector`] that dials one (TCP by default; tests use in-memory
//! streams, and encryption or uTP plug in here), and the handshake reads
//! and writes every connection starts with.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use bytes::BytesMut;
use monsoon_wire::{HANDSHAKE_LEN, Handshake};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::torrent::ConnectError;

/// A byte stream to a peer: a `TcpStream`, or any other stream (an
/// in-memory `tokio::io::duplex` half in tests) handed to a
/// [`Session`](crate::Session) through a [`Connector`] or
/// [`Session::accept_stream`](crate::Session::accept_stream).
pub trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for T {}

/// A boxed transport.
pub type BoxTransport = Box<dyn Transport>;

/// The future a [`Connector`] returns.
pub type ConnectFuture<'a> = Pin<Box<dyn Future<Output = io::Result<BoxTransport>> + Send + 'a>>;

/// Opens connections to peers. The session applies its connect timeout
/// around [`connect`](Self::connect) and exchanges the BitTorrent
/// handshakes over the stream it returns.
pub trait Connector: Send + Sync + 'static {
    /// Opens a stream to `addr`.
    fn connect(&self, addr: SocketAddr) -> ConnectFuture<'_>;
}

/// Dials peers over TCP (with `TCP_NODELAY`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpConnector;

impl Connector for TcpConnector {
    fn connect(&self, addr: SocketAddr) -> ConnectFuture<'_> {
        Box::pin(async move {
            let tcp = TcpStream::connect(addr).await?;
            let _ = tcp.set_nodelay(true);
            Ok(Box::new(tcp) as BoxTransport)
        })
    }
}

/// Sends our handshake.
pub(crate) async fn write_handshake(stream: &mut BoxTransport, hs: &Handshake) -> io::Result<()> {
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
) -> Result<Handshake, ConnectError> {
    let mut buf = [0u8; HANDSHAKE_LEN];
    match timeout(limit, stream.read_exact(&mut buf)).await {
        Err(_) => Err(ConnectError::HandshakeTimeout),
        Ok(Err(e)) => Err(ConnectError::from(&e)),
        Ok(Ok(_)) => Handshake::decode(&buf).map_err(|_| ConnectError::BadHandshake),
    }
}
