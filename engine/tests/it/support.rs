//! Test support: scripted peers built on the wire codec that serve a torrent
//! from memory, with faults on demand, and helpers to make torrents.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use monsoon_engine::{CreateOptions, Metainfo, create_torrent};
use monsoon_wire::{HANDSHAKE_LEN, Handshake, Message, PeerCodec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

/// What a scripted seeder does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Serves correct data.
    None,
    /// Flips a byte in every block it sends.
    Corrupt,
    /// Closes the connection half way through the first piece it serves.
    DisconnectMidPiece,
    /// Chokes and unchokes after every few blocks (dropping the requests it got while choked).
    ChokeFlap,
    /// Never unchokes.
    NeverUnchoke,
    /// Sends one block every 300 ms.
    Slow,
    /// Answers with a handshake for another info-hash.
    WrongInfoHash,
    /// Sends a bitfield one byte too long.
    BadBitfieldLength,
    /// Sends a piece message nobody asked for.
    UnrequestedPiece,
    /// Sends a frame whose length prefix is far beyond any limit.
    Oversize,
}

/// A scripted seeder listening on 127.0.0.1.
pub(crate) struct Seeder {
    pub(crate) addr: SocketAddr,
    /// Payload bytes this seeder sent in piece messages.
    pub(crate) bytes_served: Arc<AtomicU64>,
    /// Connections it accepted.
    pub(crate) connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Seeder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Data and metainfo of a test torrent.
#[derive(Clone)]
pub(crate) struct TestTorrent {
    pub(crate) meta: Arc<Metainfo>,
    /// The torrent's bytes as one stream (files concatenated, padding as zeros).
    pub(crate) data: Arc<Vec<u8>>,
    /// Where the source files are.
    pub(crate) source: PathBuf,
}

/// Logs to the test output when `MONSOON_LOG` is set (e.g. `MONSOON_LOG=debug`).
pub(crate) fn init_logging() {
    if let Ok(filter) = std::env::var("MONSOON_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// A fresh, empty directory under the system temp dir.
pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "monsoon-test-{}-{}-{}",
        std::process::id(),
        tag,
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Deterministic pseudo-random bytes.
pub(crate) fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes files (relative path, length) under `root/name` — or one file
/// `root/name` when `files` has a single entry with an empty path — and
/// makes a torrent of it.
pub(crate) fn make_torrent(
    tag: &str,
    name: &str,
    files: &[(&str, usize)],
    piece_len: u32,
) -> TestTorrent {
    let root = temp_dir(tag);
    let single = files.len() == 1 && files[0].0.is_empty();
    let target = root.join(name);
    let mut paths: Vec<(PathBuf, usize)> = Vec::new();
    for (i, (rel, len)) in files.iter().enumerate() {
        let path = if single {
            target.clone()
        } else {
            target.join(rel)
        };
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes(*len, i as u64 + 7)).unwrap();
        paths.push((path, *len));
    }
    let opts = CreateOptions {
        piece_length: Some(piece_len),
        ..CreateOptions::default()
    };
    let torrent = create_torrent(&target, &opts).unwrap();
    let meta = Metainfo::from_bytes(&torrent).unwrap();
    let mut data = Vec::with_capacity(meta.total_length as usize);
    for f in &meta.files {
        if f.is_padding() {
            data.extend(std::iter::repeat_n(0u8, f.length() as usize));
        } else {
            let p = root.join(f.path().to_path_buf());
            data.extend(std::fs::read(&p).unwrap());
        }
    }
    assert_eq!(data.len() as u64, meta.total_length);
    TestTorrent {
        meta: Arc::new(meta),
        data: Arc::new(data),
        source: root,
    }
}

/// Reads every file of `meta` under `root` and compares with the source.
pub(crate) fn assert_same_files(meta: &Metainfo, source: &Path, downloaded: &Path) {
    for f in meta.files.iter().filter(|f| !f.is_padding()) {
        let rel = f.path().to_path_buf();
        let want = std::fs::read(source.join(&rel)).unwrap();
        let got = std::fs::read(downloaded.join(&rel))
            .unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
        assert!(got == want, "{} differs from the source", rel.display());
    }
}

/// Starts a scripted seeder for `t`.
pub(crate) async fn seeder(t: &TestTorrent, fault: Fault) -> Seeder {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bytes_served = Arc::new(AtomicU64::new(0));
    let connections = Arc::new(AtomicUsize::new(0));
    let (served, conns, t) = (bytes_served.clone(), connections.clone(), t.clone());
    let task = tokio::spawn(async move {
        let mut n = 0u8;
        while let Ok((tcp, _)) = listener.accept().await {
            conns.fetch_add(1, Ordering::Relaxed);
            n = n.wrapping_add(1);
            let mut id = *b"-SC0001-000000000000";
            id[19] = n;
            id[18] = addr.port() as u8;
            id[17] = (addr.port() >> 8) as u8;
            let (t, served) = (t.clone(), served.clone());
            tokio::spawn(serve(tcp, t, fault, served, id));
        }
    });
    Seeder {
        addr,
        bytes_served,
        connections,
        task,
    }
}

async fn serve(
    mut tcp: TcpStream,
    t: TestTorrent,
    fault: Fault,
    served: Arc<AtomicU64>,
    id: [u8; 20],
) {
    let mut hs = [0u8; HANDSHAKE_LEN];
    if tcp.read_exact(&mut hs).await.is_err() {
        return;
    }
    let Ok(theirs) = Handshake::decode(&hs) else {
        return;
    };
    let mut info_hash = theirs.info_hash;
    if fault == Fault::WrongInfoHash {
        info_hash[0] ^= 0xff;
    }
    let ours = Handshake::new(info_hash, id);
    let mut buf = BytesMut::new();
    ours.encode(&mut buf);
    if tcp.write_all(&buf).await.is_err() {
        return;
    }
    if fault == Fault::Oversize {
        let _ = tcp.write_all(&[0xff, 0xff, 0xff, 0xf0, 7]).await;
        let _ = tcp.write_all(&[0u8; 1024]).await;
        // Keep the socket open until the engine closes it.
        let mut sink = [0u8; 1024];
        let wait = async { while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {} };
        let _ = tokio::time::timeout(Duration::from_secs(30), wait).await;
        return;
    }
    let mut framed = Framed::new(tcp, PeerCodec::new());
    let count = t.meta.piece_count() as usize;
    let mut bits = vec![0u8; count.div_ceil(8)];
    for i in 0..count {
        bits[i / 8] |= 0x80 >> (i % 8);
    }
    if fault == Fault::BadBitfieldLength {
        bits.push(0);
    }
    if framed
        .send(Message::Bitfield(Bytes::from(bits)))
        .await
        .is_err()
    {
        return;
    }
    if fault == Fault::UnrequestedPiece {
        let data = Bytes::copy_from_slice(&t.data[..16 * 1024.min(t.data.len())]);
        let _ = framed
            .send(Message::Piece {
                index: 0,
                begin: 0,
                data,
            })
            .await;
    }
    let mut choked = true;
    let mut sent_blocks = 0u64;
    let piece_len = u64::from(t.meta.piece_length);
    while let Some(Ok(msg)) = framed.next().await {
        match msg {
            Message::Interested if fault != Fault::NeverUnchoke => {
                choked = false;
                if framed.send(Message::Unchoke).await.is_err() {
                    return;
                }
            }
            Message::Request(r) if !choked => {
                let start = (u64::from(r.index) * piece_len + u64::from(r.begin)) as usize;
                let end = start + r.length as usize;
                if end > t.data.len() {
                    return;
                }
                let mut block = t.data[start..end].to_vec();
                match fault {
                    Fault::Corrupt => block[0] ^= 0x55,
                    Fault::Slow => tokio::time::sleep(Duration::from_millis(300)).await,
                    Fault::DisconnectMidPiece if sent_blocks >= 2 => return,
                    _ => {}
                }
                served.fetch_add(block.len() as u64, Ordering::Relaxed);
                let piece = Message::Piece {
                    index: r.index,
                    begin: r.begin,
                    data: Bytes::from(block),
                };
                if framed.send(piece).await.is_err() {
                    return;
                }
                sent_blocks += 1;
                if fault == Fault::ChokeFlap && sent_blocks % 3 == 0 {
                    // Choke (dropping queued requests), then unchoke again.
                    if framed.send(Message::Choke).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    while let Ok(Some(Ok(_))) =
                        tokio::time::timeout(Duration::from_millis(1), framed.next()).await
                    {
                    }
                    if framed.send(Message::Unchoke).await.is_err() {
                        return;
                    }
                }
            }
            _ => {}
        }
    }
}
