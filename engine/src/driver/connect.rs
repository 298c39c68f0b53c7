//! Dialling a peer the core asked for: connect (through the session's
//! [`Connector`]), send our handshake, read theirs, and hand the result to
//! the torrent task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use monsoon_wire::Handshake;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tracing::{Instrument, debug_span};

use super::NewConnection;
use crate::torrent::ConnectError;
use crate::transport::{Connector, read_handshake, write_handshake};

pub(super) fn spawn(
    addr: SocketAddr,
    connector: Arc<dyn Connector>,
    ours: Handshake,
    connect_timeout: Duration,
    handshake_timeout: Duration,
    results: mpsc::Sender<NewConnection>,
) {
    let task = async move {
        let result = async {
            let mut stream = timeout(connect_timeout, connector.connect(addr))
                .await
                .map_err(|_| ConnectError::Timeout)?
                .map_err(|e| ConnectError::from(&e))?;
            write_handshake(&mut stream, &ours)
                .await
                .map_err(|e| ConnectError::from(&e))?;
            let theirs = read_handshake(&mut stream, handshake_timeout).await?;
            Ok((stream, theirs))
        }
        .await;
        let _ = results.send(NewConnection::Outgoing { addr, result }).await;
    };
    tokio::spawn(task.instrument(debug_span!("dial", %addr)));
}
