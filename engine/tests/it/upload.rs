//! A seeding session over loopback against a hostile leecher that never
//! reads its socket: we close it (and say why) while a good leecher is
//! served.

use std::time::Duration;

use futures_util::SinkExt;
use monsoon_engine::{AddTorrentOptions, CloseReason, Session, SessionConfig};
use monsoon_wire::{BlockRef, HANDSHAKE_LEN, Handshake, Message, PeerCodec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::FramedWrite;

use crate::support::{assert_same_files, make_torrent, temp_dir};

fn config(root: &std::path::Path) -> SessionConfig {
    let mut cfg = SessionConfig::new(root);
    cfg.listen_addr = "127.0.0.1:0".parse().unwrap();
    cfg.send_timeout = Duration::from_secs(2);
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leecher_that_never_reads_is_dropped_and_others_are_served() {
    crate::support::init_logging();
    let t = make_torrent("noread", "file.bin", &[("", 24 << 20)], 256 * 1024);
    let seeder = Session::new(config(&t.source)).await.unwrap();
    let mut opts = AddTorrentOptions::default();
    opts.no_trackers = true;
    let seeding = seeder.add_torrent((*t.meta).clone(), opts).await.unwrap();
    seeding.wait_complete().await.unwrap();

    // The hostile one: handshake, interested, requests for everything, and
    // never another read.
    let mut tcp = TcpStream::connect(seeder.listen_addr()).await.unwrap();
    tcp.write_all(&Handshake::new(t.meta.info_hash, *b"-XX0000-neverreads00").to_bytes())
        .await
        .unwrap();
    let mut hs = [0u8; HANDSHAKE_LEN];
    tcp.read_exact(&mut hs).await.unwrap();
    let mut w = FramedWrite::new(tcp, PeerCodec::new());
    w.send(Message::Interested).await.unwrap();
    let pieces = t.meta.piece_count();
    for i in 0..pieces * 16 {
        let r = BlockRef {
            index: i / 16,
            begin: (i % 16) * 16384,
            length: 16384,
        };
        w.feed(Message::Request(r)).await.unwrap();
    }
    w.flush().await.unwrap();

    // A good leecher meanwhile.
    let out = temp_dir("noread-out");
    let leecher = Session::new(config(&out)).await.unwrap();
    let mut opts = AddTorrentOptions::default();
    opts.no_trackers = true;
    opts.peers = vec![seeder.listen_addr()];
    let leeching = leecher.add_torrent((*t.meta).clone(), opts).await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), leeching.wait_complete())
        .await
        .expect("the good leecher is served in time")
        .unwrap();
    assert_same_files(&t.meta, &t.source, &out);

    // The one that does not read is closed for it, within the timeout.
    let mut stats = seeding.subscribe();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if stats
                .borrow_and_update()
                .closed_by_us
                .get(CloseReason::NotReading)
                >= 1
            {
                return;
            }
            if stats.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "not closed: {:?}",
        seeding.stats().closed_by_us
    );
    assert_eq!(seeding.stats().closed_by_us.get(CloseReason::NotReading), 1);
    // Its socket sees the end once it reads what was buffered.
    let mut tcp = w.into_inner();
    let mut sink = vec![0u8; 1 << 20];
    let eof = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match tcp.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(eof.is_ok(), "the connection stayed open");
    leecher.shutdown().await;
    seeder.shutdown().await;
}
