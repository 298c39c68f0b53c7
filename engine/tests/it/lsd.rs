//! Local service discovery between two sessions on 127.0.0.1: a leecher
//! given no tracker and no peer finds the seeder through LSD alone and
//! downloads; a private torrent is never announced. Each test uses a
//! multicast port of its own, so parallel runs do not hear each other.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use monsoon_engine::{
    AddTorrentOptions, CreateOptions, LsdSettings, Metainfo, Session, SessionConfig, create_torrent,
};
use monsoon_tracker::{LSD_GROUP_V4, parse_lsd};

use crate::support::{assert_same_files, bytes, make_torrent, temp_dir};

/// Upper bound on each wait.
const LIMIT: Duration = Duration::from_secs(30);

/// A free UDP port on 127.0.0.1 (for the test's own multicast group).
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// LSD on loopback, on `port`, fast: announces every second, a datagram
/// at most every 50 ms.
fn lsd(port: u16) -> LsdSettings {
    LsdSettings {
        interface_v4: Ipv4Addr::LOCALHOST,
        group_v4: SocketAddrV4::new(LSD_GROUP_V4, port),
        group_v6: None,
        announce_interval: Duration::from_secs(1),
        min_gap: Duration::from_millis(50),
        ttl: 0,
    }
}

fn config(root: &std::path::Path, port: u16) -> SessionConfig {
    let mut cfg = SessionConfig::new(root);
    cfg.listen_addr = "127.0.0.1:0".parse().unwrap();
    cfg.lsd = Some(lsd(port));
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leecher_finds_the_seeder_on_the_local_network() {
    crate::support::init_logging();
    let port = free_udp_port();
    let t = make_torrent("lsd", "file.bin", &[("", 700_000)], 16 * 1024);
    let seeder = Session::new(config(&t.source, port)).await.unwrap();
    let mut opts = AddTorrentOptions::default();
    opts.no_trackers = true;
    let seeding = seeder.add_torrent((*t.meta).clone(), opts).await.unwrap();
    seeding.wait_complete().await.unwrap();

    let out = temp_dir("lsd-out");
    let leecher = Session::new(config(&out, port)).await.unwrap();
    let mut opts = AddTorrentOptions::default();
    opts.no_trackers = true;
    let leeching = leecher.add_torrent((*t.meta).clone(), opts).await.unwrap();
    tokio::time::timeout(LIMIT, leeching.wait_complete())
        .await
        .expect("no peer found through LSD in time")
        .expect("download failed");
    leecher.shutdown().await;
    seeder.shutdown().await;
    assert_same_files(&t.meta, &t.source, &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_torrent_is_never_announced() {
    let port = free_udp_port();
    // A listener on the test's group sees what the session announces.
    let sniff = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .unwrap();
    sniff.set_reuse_address(true).unwrap();
    sniff.set_reuse_port(true).unwrap();
    sniff
        .bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)).into())
        .unwrap();
    sniff
        .join_multicast_v4(&LSD_GROUP_V4, &Ipv4Addr::LOCALHOST)
        .unwrap();
    sniff.set_nonblocking(true).unwrap();
    let sniff = tokio::net::UdpSocket::from_std(sniff.into()).unwrap();

    let dir = temp_dir("lsd-private");
    let mut metas = Vec::new();
    for (name, private) in [("public.bin", false), ("private.bin", true)] {
        let src = dir.join(name);
        std::fs::write(&src, bytes(50_000, 3)).unwrap();
        let opts = CreateOptions {
            private,
            ..CreateOptions::default()
        };
        metas.push(Metainfo::from_bytes(&create_torrent(&src, &opts).unwrap()).unwrap());
    }
    let session = Session::new(config(&dir, port)).await.unwrap();
    for meta in &metas {
        let mut opts = AddTorrentOptions::default();
        opts.no_trackers = true;
        session.add_torrent(meta.clone(), opts).await.unwrap();
    }
    // Three announces of the public torrent (a second apart): the private
    // one, added at the same time, would be in one of them by now.
    let (public, private) = (metas[0].info_hash, metas[1].info_hash);
    let mut buf = [0u8; 2048];
    let mut seen_public = 0;
    while seen_public < 3 {
        let (n, _) = tokio::time::timeout(LIMIT, sniff.recv_from(&mut buf))
            .await
            .expect("no LSD announce in time")
            .unwrap();
        let Ok(a) = parse_lsd(&buf[..n]) else {
            continue;
        };
        assert!(
            !a.info_hashes.contains(&private),
            "the private torrent was announced"
        );
        assert_eq!(a.port, session.listen_addr().port());
        seen_public += usize::from(a.info_hashes.contains(&public));
    }
    session.shutdown().await;
}
