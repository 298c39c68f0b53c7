//! The session's own promises: one entry per torrent (concurrent adds of
//! the same torrent cannot both succeed; a removed torrent is forgotten),
//! and peers over any transport (two sessions over in-memory streams).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use monsoon_engine::{
    AddTorrentOptions, BoxTransport, ConnectFuture, Connector, EngineError, Session, SessionConfig,
    TorrentState,
};

use crate::support::{assert_same_files, make_torrent, temp_dir};

fn config(root: &std::path::Path) -> SessionConfig {
    let mut cfg = SessionConfig::new(root);
    cfg.listen_addr = "127.0.0.1:0".parse().unwrap();
    cfg
}

fn offline() -> AddTorrentOptions {
    let mut o = AddTorrentOptions::default();
    o.no_trackers = true;
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_torrent_twice_at_once_is_added_once() {
    let t = make_torrent("dup", "file.bin", &[("", 100_000)], 16 * 1024);
    let session = Session::new(config(&temp_dir("dup-out"))).await.unwrap();
    let (a, b) = tokio::join!(
        session.add_torrent((*t.meta).clone(), offline()),
        session.add_torrent((*t.meta).clone(), offline()),
    );
    let oks = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
    assert_eq!(oks, 1, "exactly one add succeeds");
    let err = a.as_ref().err().or(b.as_ref().err()).unwrap();
    assert!(matches!(err, EngineError::Duplicate(_)), "{err:?}");
    assert_eq!(session.torrents().len(), 1);
    let handle = a.or(b).unwrap();
    handle.remove().await.unwrap();
    assert!(
        session.torrents().is_empty(),
        "a removed torrent is forgotten"
    );
    assert_eq!(handle.stats().state, TorrentState::Stopped);
    // And can be added again.
    session
        .add_torrent((*t.meta).clone(), offline())
        .await
        .unwrap();
    session.shutdown().await;
}

/// Dials by handing one end of an in-memory stream to another session.
struct Memory {
    to: Mutex<Weak<Session>>,
}

impl Connector for Memory {
    fn connect(&self, addr: SocketAddr) -> ConnectFuture<'_> {
        let target = self.to.lock().unwrap().upgrade();
        Box::pin(async move {
            let target = target.ok_or(std::io::ErrorKind::ConnectionRefused)?;
            let (ours, theirs) = tokio::io::duplex(64 * 1024);
            // The other side sees us at some address of ours.
            let _ = addr;
            target.accept_stream(Box::new(theirs), "10.9.9.9:6881".parse().unwrap());
            Ok(Box::new(ours) as BoxTransport)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_trade_over_in_memory_streams() {
    let t = make_torrent("mem", "file.bin", &[("", 700_001)], 32 * 1024);
    let seeder = Arc::new(Session::new(config(&t.source)).await.unwrap());
    let seeding = seeder
        .add_torrent((*t.meta).clone(), offline())
        .await
        .unwrap();
    seeding.wait_complete().await.unwrap();
    let connector = Arc::new(Memory {
        to: Mutex::new(Arc::downgrade(&seeder)),
    });
    let out = temp_dir("mem-out");
    let leecher = Session::with_connector(config(&out), connector)
        .await
        .unwrap();
    let mut opts = offline();
    // Any address: the connector does not look at it.
    opts.peers = vec!["192.0.2.1:1".parse().unwrap()];
    let leeching = leecher.add_torrent((*t.meta).clone(), opts).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), leeching.wait_complete())
        .await
        .expect("in time")
        .expect("complete");
    assert_same_files(&t.meta, &t.source, &out);
    leecher.shutdown().await;
    if let Ok(s) = Arc::try_unwrap(seeder) {
        s.shutdown().await;
    }
}
