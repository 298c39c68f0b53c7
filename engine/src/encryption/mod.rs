//! Message stream encryption (MSE/PE, the `monsoon-mse` handshake) on
//! peer connections: the session's [`Encryption`] policy, how each
//! connection ended up ([`PeerEncryption`]), the encrypting dial (with a
//! plaintext retry when the policy prefers but does not require it), and
//! telling an incoming plaintext handshake from an encrypted one by its
//! first 20 bytes.

mod stream;

use std::net::SocketAddr;
use std::time::Duration;

use monsoon_mse::{
    CryptoMethod, Entropy, Established, Exchange, Initiator, Methods, MseError, PLAINTEXT_PREFIX,
    Responder, req2,
};
use monsoon_wire::{HANDSHAKE_LEN, Handshake};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tracing::debug;

use crate::handle::Registry;
use crate::torrent::ConnectError;
use crate::transport::{BoxTransport, Connector, read_handshake, write_handshake};
pub(crate) use stream::EncryptedStream;

/// Whether a session encrypts its peer connections (MSE/PE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Encryption {
    /// Dial with the encrypted handshake, offering RC4 and plaintext (the
    /// peer chooses), and dial again in plaintext when the peer does not
    /// speak it; accept both kinds, choosing RC4 when offered.
    #[default]
    Prefer,
    /// RC4 only, both ways: plaintext peers are refused.
    Require,
    /// Plaintext only: never dial encrypted; encrypted peers are refused.
    Disable,
}

impl Encryption {
    /// The methods offered when dialling, and accepted from a peer.
    fn methods(self) -> Methods {
        match self {
            Encryption::Require => Methods::RC4,
            _ => Methods::BOTH,
        }
    }
}

/// How one connection is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PeerEncryption {
    /// A plaintext BitTorrent connection.
    #[default]
    None,
    /// The MSE handshake, then a plaintext payload (what the peers chose).
    Handshake,
    /// The MSE handshake, then RC4 on every byte.
    Rc4,
}

impl PeerEncryption {
    /// The flag peer lists show: `E` for RC4, `e` for an encrypted
    /// handshake with a plaintext payload.
    pub fn flag(self) -> Option<char> {
        match self {
            PeerEncryption::None => None,
            PeerEncryption::Handshake => Some('e'),
            PeerEncryption::Rc4 => Some('E'),
        }
    }
}

/// A dialled connection, both handshakes done.
pub(crate) struct Dialled {
    pub(crate) stream: BoxTransport,
    pub(crate) theirs: Handshake,
    pub(crate) encryption: PeerEncryption,
}

/// Timeouts of one dial: the TCP connect, each handshake.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) connect: Duration,
    pub(crate) handshake: Duration,
}

/// Connects to `addr` and exchanges handshakes as `policy` says: in
/// plaintext, or inside MSE (our handshake as its initial payload). With
/// [`Encryption::Prefer`], an encrypted handshake the peer refuses or
/// breaks off is followed by a plaintext attempt on a new connection (not
/// one that timed out: a silent peer stays silent).
pub(crate) async fn dial(
    connector: &dyn Connector,
    addr: SocketAddr,
    ours: &Handshake,
    policy: Encryption,
    limits: Limits,
) -> Result<Dialled, ConnectError> {
    if policy == Encryption::Disable {
        return dial_plaintext(connector, addr, ours, limits).await;
    }
    let stream = connect(connector, addr, limits.connect).await?;
    match encrypted(stream, ours, policy.methods(), limits.handshake).await {
        Err(e) if policy == Encryption::Prefer && e != ConnectError::HandshakeTimeout => {
            debug!(%addr, error = %e, "encrypted handshake failed; trying plaintext");
            dial_plaintext(connector, addr, ours, limits).await
        }
        result => result,
    }
}

async fn connect(
    connector: &dyn Connector,
    addr: SocketAddr,
    limit: Duration,
) -> Result<BoxTransport, ConnectError> {
    timeout(limit, connector.connect(addr))
        .await
        .map_err(|_| ConnectError::Timeout)?
        .map_err(|e| ConnectError::from(&e))
}

async fn dial_plaintext(
    connector: &dyn Connector,
    addr: SocketAddr,
    ours: &Handshake,
    limits: Limits,
) -> Result<Dialled, ConnectError> {
    let mut stream = connect(connector, addr, limits.connect).await?;
    write_handshake(&mut stream, ours)
        .await
        .map_err(|e| ConnectError::from(&e))?;
    let theirs = read_handshake(&mut stream, limits.handshake).await?;
    Ok(Dialled {
        stream,
        theirs,
        encryption: PeerEncryption::None,
    })
}

/// MSE as the initiator, our handshake inside it; then theirs.
async fn encrypted(
    mut stream: BoxTransport,
    ours: &Handshake,
    offer: Methods,
    limit: Duration,
) -> Result<Dialled, ConnectError> {
    let entropy = Entropy::random().map_err(|_| ConnectError::Io(std::io::ErrorKind::Other))?;
    let mut hs = Initiator::new(ours.info_hash, offer, &ours.to_bytes(), entropy)
        .map_err(ConnectError::Encryption)?;
    let (established, rest) = exchange(&mut stream, &mut hs, limit).await?;
    let (mut stream, encryption) = wrap(stream, established, rest);
    let theirs = read_handshake(&mut stream, limit).await?;
    Ok(Dialled {
        stream,
        theirs,
        encryption,
    })
}

/// Runs a handshake over `stream` until it is established; returns it and
/// the bytes read past its end (still as the peer sent them).
async fn exchange(
    stream: &mut BoxTransport,
    hs: &mut impl Exchange,
    limit: Duration,
) -> Result<(Established, Vec<u8>), ConnectError> {
    let run = async {
        let mut buf = vec![0u8; 4096];
        let mut rest = Vec::new();
        loop {
            let out = hs.take_output();
            if !out.is_empty() {
                stream.write_all(&out).await?;
                stream.flush().await?;
            }
            if let Some(established) = hs.take_established() {
                return Ok((established, rest));
            }
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Err(Failure::Mse(hs.truncated()));
            }
            let used = hs.receive(&buf[..n]).map_err(Failure::Mse)?;
            rest = buf[used..n].to_vec();
        }
    };
    match timeout(limit, run).await {
        Err(_) => Err(ConnectError::HandshakeTimeout),
        Ok(Err(Failure::Io(e))) => Err(ConnectError::from(&e)),
        Ok(Err(Failure::Mse(e))) => Err(ConnectError::Encryption(e)),
        Ok(Ok(done)) => Ok(done),
    }
}

enum Failure {
    Io(std::io::Error),
    Mse(MseError),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

/// The stream after the handshake: the payload that came with it first
/// (decrypted), then RC4 or plaintext.
fn wrap(
    stream: BoxTransport,
    established: Established,
    mut rest: Vec<u8>,
) -> (BoxTransport, PeerEncryption) {
    let mut prefix = established.initial_payload;
    match established.ciphers {
        Some(mut ciphers) => {
            ciphers.read.apply(&mut rest);
            prefix.extend_from_slice(&rest);
            let ciphers = Some((ciphers.read, ciphers.write));
            let stream = EncryptedStream::new(stream, ciphers, prefix);
            (Box::new(stream), PeerEncryption::Rc4)
        }
        None => {
            debug_assert_eq!(established.method, CryptoMethod::Plaintext);
            prefix.extend_from_slice(&rest);
            let stream = EncryptedStream::new(stream, None, prefix);
            (Box::new(stream), PeerEncryption::Handshake)
        }
    }
}

/// An incoming connection, its handshake read.
pub(crate) struct Accepted {
    pub(crate) stream: BoxTransport,
    pub(crate) theirs: Handshake,
    pub(crate) encryption: PeerEncryption,
}

/// Why an incoming connection was dropped before reaching a torrent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AcceptError {
    #[error("no handshake in time")]
    Timeout,
    #[error("{0}")]
    Io(std::io::ErrorKind),
    #[error("not a BitTorrent handshake")]
    BadHandshake,
    #[error("plaintext handshake, and encryption is required")]
    PlaintextRefused,
    #[error("encrypted handshake, and encryption is disabled")]
    EncryptedRefused,
    #[error("encrypted handshake: {0}")]
    Mse(MseError),
    #[error("the handshake inside MSE names another torrent than its stream key")]
    InfoHashMismatch,
}

/// Reads the first bytes of an incoming connection: a plaintext handshake,
/// or MSE as the responder (the torrent found among the session's by its
/// `HASH('req2', SKEY)`) and the handshake inside it.
pub(crate) async fn accept(
    mut stream: BoxTransport,
    registry: &Registry,
    policy: Encryption,
    limit: Duration,
) -> Result<Accepted, AcceptError> {
    let mut first = [0u8; HANDSHAKE_LEN];
    let io = |e: std::io::Error| AcceptError::Io(e.kind());
    timeout(
        limit,
        stream.read_exact(&mut first[..PLAINTEXT_PREFIX.len()]),
    )
    .await
    .map_err(|_| AcceptError::Timeout)?
    .map_err(io)?;
    if first[..PLAINTEXT_PREFIX.len()] == PLAINTEXT_PREFIX[..] {
        if policy == Encryption::Require {
            return Err(AcceptError::PlaintextRefused);
        }
        timeout(
            limit,
            stream.read_exact(&mut first[PLAINTEXT_PREFIX.len()..]),
        )
        .await
        .map_err(|_| AcceptError::Timeout)?
        .map_err(io)?;
        let theirs = Handshake::decode(&first).map_err(|_| AcceptError::BadHandshake)?;
        return Ok(Accepted {
            stream,
            theirs,
            encryption: PeerEncryption::None,
        });
    }
    if policy == Encryption::Disable {
        return Err(AcceptError::EncryptedRefused);
    }
    let lookup = |hash: &[u8; 20]| -> Option<[u8; 20]> {
        let reg = registry.lock().ok()?;
        reg.keys().find(|ih| req2(ih) == *hash).copied()
    };
    let entropy = Entropy::random().map_err(|_| AcceptError::Io(std::io::ErrorKind::Other))?;
    let mut hs = Responder::new(lookup, policy.methods(), entropy).map_err(AcceptError::Mse)?;
    hs.receive(&first[..PLAINTEXT_PREFIX.len()])
        .map_err(AcceptError::Mse)?;
    let (established, rest) = match exchange(&mut stream, &mut hs, limit).await {
        Ok(done) => done,
        Err(ConnectError::Encryption(e)) => return Err(AcceptError::Mse(e)),
        Err(ConnectError::HandshakeTimeout) => return Err(AcceptError::Timeout),
        Err(ConnectError::Io(kind)) => return Err(AcceptError::Io(kind)),
        Err(_) => return Err(AcceptError::BadHandshake),
    };
    let info_hash = established.info_hash;
    let (mut stream, encryption) = wrap(stream, established, rest);
    let theirs = read_handshake(&mut stream, limit)
        .await
        .map_err(|e| match e {
            ConnectError::HandshakeTimeout => AcceptError::Timeout,
            ConnectError::Io(kind) => AcceptError::Io(kind),
            _ => AcceptError::BadHandshake,
        })?;
    if theirs.info_hash != info_hash {
        return Err(AcceptError::InfoHashMismatch);
    }
    Ok(Accepted {
        stream,
        theirs,
        encryption,
    })
}
