//! Dialling a peer the core asked for: connect (through the session's
//! [`Connector`]), send our handshake, read theirs, and hand the result to
//! the torrent task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use monsoon_wire::Handshake;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio::time::timeout;
use tracing::{Instrument, debug_span};

use super::NewConnection;
use crate::torrent::ConnectError;
use crate::transport::{Connector, read_handshake, write_handshake};

pub(super) fn spawn(
    addr: SocketAddr,
    connector: Arc<dyn Connector>,
    ours: Handshake,
    (connect_timeout, handshake_timeout): (Duration, Duration),
    (half_open, peer): (OwnedSemaphorePermit, OwnedSemaphorePermit),
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
        drop(half_open);
        let permit = result.is_ok().then_some(peer);
        let _ = results
            .send(NewConnection::Outgoing {
                addr,
                result,
                permit,
            })
            .await;
    };
    tokio::spawn(task.instrument(debug_span!("dial", %addr)));
}
