//! Dialling a peer the core asked for: connect (through the session's
//! [`Connector`]), exchange handshakes — in plaintext or inside MSE, as the
//! session's [`Encryption`] policy says — and hand the result to the
//! torrent task.

use std::net::SocketAddr;
use std::sync::Arc;

use monsoon_wire::Handshake;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tracing::{Instrument, debug_span};

use super::NewConnection;
use crate::encryption::{self, Encryption, Limits};
use crate::transport::Connector;

pub(super) fn spawn(
    addr: SocketAddr,
    connector: Arc<dyn Connector>,
    ours: Handshake,
    (policy, limits): (Encryption, Limits),
    (half_open, peer): (OwnedSemaphorePermit, OwnedSemaphorePermit),
    results: mpsc::Sender<NewConnection>,
) {
    let task = async move {
        let result = encryption::dial(&*connector, addr, &ours, policy, limits).await;
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
