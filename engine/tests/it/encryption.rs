//! Message stream encryption between sessions over loopback: two sessions
//! that require it exchange a torrent over RC4; a session that requires it
//! refuses plaintext, one that disables it refuses MSE; an MSE peer is
//! routed among several torrents by its `req2` hash; a dial that prefers
//! encryption falls back to plaintext, one that requires it does not.

use std::time::Duration;

use monsoon_engine::{
    AddTorrentOptions, ConnectError, Encryption, PeerEncryption, Session, SessionConfig, Stats,
    TorrentHandle, TorrentState,
};
use monsoon_mse::{Entropy, Exchange, Initiator, Methods};
use monsoon_wire::{HANDSHAKE_LEN, Handshake};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Fault, assert_same_files, make_torrent, seeder, temp_dir};

fn config(root: &std::path::Path, encryption: Encryption) -> SessionConfig {
    let mut cfg = SessionConfig::new(root);
    cfg.listen_addr = "127.0.0.1:0".parse().unwrap();
    cfg.handshake_timeout = Duration::from_secs(5);
    cfg.encryption = encryption;
    cfg
}

fn options(peers: Vec<std::net::SocketAddr>) -> AddTorrentOptions {
    let mut opts = AddTorrentOptions::default();
    opts.no_trackers = true;
    opts.peers = peers;
    opts
}

/// Watches `handle` until it completes (at most 60 s); returns the largest
/// `encrypted_peers` and `peers` seen meanwhile.
async fn complete_watching(handle: &TorrentHandle) -> (usize, usize) {
    let mut rx = handle.subscribe();
    let (mut enc, mut peers) = (0, 0);
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let s: Stats = rx.borrow_and_update().clone();
            enc = enc.max(s.encrypted_peers);
            peers = peers.max(s.peers);
            if s.is_complete() || rx.changed().await.is_err() {
                return;
            }
        }
    })
    .await
    .expect("completes in time");
    (enc, peers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_that_require_encryption_exchange_a_torrent_over_rc4() {
    crate::support::init_logging();
    let t = make_torrent("mse-rc4", "file.bin", &[("", 6 << 20)], 256 * 1024);
    let seeder = Session::new(config(&t.source, Encryption::Require))
        .await
        .unwrap();
    let mut opts = options(Vec::new());
    // Slow enough (3 s) for the stats to show the connection while it lasts.
    opts.max_upload_rate = 2 << 20;
    let seeding = seeder.add_torrent((*t.meta).clone(), opts).await.unwrap();
    seeding.wait_complete().await.unwrap();

    let out = temp_dir("mse-rc4-out");
    let leecher = Session::new(config(&out, Encryption::Require))
        .await
        .unwrap();
    let leeching = leecher
        .add_torrent((*t.meta).clone(), options(vec![seeder.listen_addr()]))
        .await
        .unwrap();
    let seeder_view = tokio::spawn({
        let seeding = seeding.clone();
        async move {
            let mut rx = seeding.subscribe();
            let mut enc = 0;
            while rx.changed().await.is_ok() {
                enc = enc.max(rx.borrow_and_update().encrypted_peers);
                if enc > 0 {
                    break;
                }
            }
            enc
        }
    });
    let (enc, peers) = complete_watching(&leeching).await;
    assert_same_files(&t.meta, &t.source, &out);
    assert_eq!((enc, peers), (1, 1), "the one peer was RC4-encrypted");
    let seen = tokio::time::timeout(Duration::from_secs(10), seeder_view)
        .await
        .expect("the seeder saw an encrypted peer")
        .unwrap();
    assert_eq!(seen, 1);
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// Sends a plaintext handshake for `info_hash`; returns how many bytes came
/// back before the connection closed (at most 68 are read).
async fn plaintext_reply(addr: std::net::SocketAddr, info_hash: [u8; 20]) -> usize {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let hs = Handshake::new(info_hash, *b"-XX0000-plaintext000");
    tcp.write_all(&hs.to_bytes()).await.unwrap();
    let mut buf = [0u8; HANDSHAKE_LEN];
    let mut got = 0;
    let read = async {
        while got < buf.len() {
            match tcp.read(&mut buf[got..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("an answer or a close in time");
    got
}

/// Runs MSE as the initiator for `info_hash` over a new connection to
/// `addr`, our handshake inside; returns the peer's handshake, decrypted,
/// or `None` when the connection closed first.
async fn mse_handshake(
    addr: std::net::SocketAddr,
    info_hash: [u8; 20],
    offer: Methods,
) -> Option<(Handshake, monsoon_mse::CryptoMethod)> {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let ours = Handshake::new(info_hash, *b"-XX0000-encrypted000");
    let mut hs = Initiator::new(
        info_hash,
        offer,
        &ours.to_bytes(),
        Entropy::random().unwrap(),
    )
    .unwrap();
    let mut buf = vec![0u8; 4096];
    let run = async {
        loop {
            let out = hs.take_output();
            tcp.write_all(&out).await.ok()?;
            if let Some(done) = hs.take_established() {
                return Some((done, Vec::new()));
            }
            let n = tcp.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            let used = hs.receive(&buf[..n]).ok()?;
            if let Some(done) = hs.take_established() {
                tcp.write_all(&hs.take_output()).await.ok()?;
                return Some((done, buf[used..n].to_vec()));
            }
        }
    };
    let (done, mut rest) = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("in time")?;
    while rest.len() < HANDSHAKE_LEN {
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
            .await
            .expect("in time")
            .ok()?;
        if n == 0 {
            return None;
        }
        rest.extend_from_slice(&buf[..n]);
    }
    let mut ciphers = done.ciphers;
    if let Some(c) = &mut ciphers {
        c.read.apply(&mut rest);
    }
    Some((
        Handshake::decode(&rest[..HANDSHAKE_LEN]).unwrap(),
        done.method,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_decide_which_handshakes_are_accepted() {
    crate::support::init_logging();
    let t = make_torrent("mse-policy", "file.bin", &[("", 300_000)], 16 * 1024);
    let ih = t.meta.info_hash;
    for (policy, plaintext_ok, mse_ok) in [
        (Encryption::Require, false, true),
        (Encryption::Disable, true, false),
        (Encryption::Prefer, true, true),
    ] {
        let s = Session::new(config(&t.source, policy)).await.unwrap();
        let h = s
            .add_torrent((*t.meta).clone(), options(Vec::new()))
            .await
            .unwrap();
        h.wait_complete().await.unwrap();
        let got = plaintext_reply(s.listen_addr(), ih).await;
        assert_eq!(got == HANDSHAKE_LEN, plaintext_ok, "{policy:?}: plaintext");
        let theirs = mse_handshake(s.listen_addr(), ih, Methods::BOTH).await;
        assert_eq!(theirs.is_some(), mse_ok, "{policy:?}: MSE");
        if let Some((theirs, method)) = theirs {
            assert_eq!(theirs.info_hash, ih);
            assert_eq!(theirs.peer_id, s.peer_id());
            // Offered both, the session chooses RC4.
            assert_eq!(method, monsoon_mse::CryptoMethod::Rc4);
        }
        s.shutdown().await;
    }
    // Require: a peer offering plaintext only is refused.
    let s = Session::new(config(&t.source, Encryption::Require))
        .await
        .unwrap();
    let h = s
        .add_torrent((*t.meta).clone(), options(Vec::new()))
        .await
        .unwrap();
    h.wait_complete().await.unwrap();
    assert!(
        mse_handshake(s.listen_addr(), ih, Methods::PLAINTEXT)
            .await
            .is_none()
    );
    // Prefer: it is accepted, with a plaintext payload.
    s.shutdown().await;
    let s = Session::new(config(&t.source, Encryption::Prefer))
        .await
        .unwrap();
    let h = s
        .add_torrent((*t.meta).clone(), options(Vec::new()))
        .await
        .unwrap();
    h.wait_complete().await.unwrap();
    let (theirs, method) = mse_handshake(s.listen_addr(), ih, Methods::PLAINTEXT)
        .await
        .expect("accepted");
    assert_eq!(theirs.info_hash, ih);
    assert_eq!(method, monsoon_mse::CryptoMethod::Plaintext);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mse_peer_finds_its_torrent_among_several_by_the_req2_hash() {
    let torrents: Vec<_> = (0..4)
        .map(|i| {
            make_torrent(
                &format!("mse-many-{i}"),
                "file.bin",
                &[("", 100_000 + i * 1000)],
                16 * 1024,
            )
        })
        .collect();
    let root = temp_dir("mse-many");
    let s = Session::new(config(&root, Encryption::Prefer))
        .await
        .unwrap();
    for t in &torrents {
        let h = s
            .add_torrent((*t.meta).clone(), options(Vec::new()))
            .await
            .unwrap();
        // Accepting peers once its (empty) data is checked.
        let mut rx = h.subscribe();
        while rx.borrow_and_update().state != TorrentState::Downloading {
            tokio::time::timeout(Duration::from_secs(10), rx.changed())
                .await
                .expect("checked in time")
                .unwrap();
        }
    }
    for t in &torrents {
        let ih = t.meta.info_hash;
        let (theirs, _) = mse_handshake(s.listen_addr(), ih, Methods::RC4)
            .await
            .expect("routed");
        assert_eq!(theirs.info_hash, ih);
    }
    // A torrent the session does not have: closed.
    assert!(
        mse_handshake(s.listen_addr(), [0xee; 20], Methods::RC4)
            .await
            .is_none()
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_falls_back_to_plaintext_and_require_does_not() {
    crate::support::init_logging();
    let t = make_torrent("mse-fallback", "file.bin", &[("", 400_000)], 16 * 1024);
    // A scripted seeder that speaks plaintext only.
    let plain = seeder(&t, Fault::None).await;

    let out = temp_dir("mse-fallback-prefer");
    let s = Session::new(config(&out, Encryption::Prefer))
        .await
        .unwrap();
    let h = s
        .add_torrent((*t.meta).clone(), options(vec![plain.addr]))
        .await
        .unwrap();
    let (enc, _) = complete_watching(&h).await;
    assert_same_files(&t.meta, &t.source, &out);
    assert_eq!(enc, 0, "the fallback connection is plaintext");
    // It dialled twice: the encrypted attempt, then plaintext.
    assert!(plain.connections.load(std::sync::atomic::Ordering::Relaxed) >= 2);
    s.shutdown().await;

    let out = temp_dir("mse-fallback-require");
    let s = Session::new(config(&out, Encryption::Require))
        .await
        .unwrap();
    let h = s
        .add_torrent((*t.meta).clone(), options(vec![plain.addr]))
        .await
        .unwrap();
    let mut rx = h.subscribe();
    let err = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some((_, e)) = rx.borrow_and_update().last_connect_error.clone() {
                return e;
            }
            rx.changed().await.unwrap();
        }
    })
    .await
    .expect("a failed attempt in time");
    // The peer reads our key as a handshake and drops us (a reset, as it
    // leaves bytes unread) or closes: either way no plaintext retry.
    assert!(
        matches!(err, ConnectError::Encryption(_) | ConnectError::Io(_)),
        "{err:?}"
    );
    // (A retry in plaintext would have come before the result was reported.)
    assert_eq!(h.stats().peers, 0);
    assert_eq!(h.stats().downloaded, 0);
    s.shutdown().await;
}

#[test]
fn peer_list_flags() {
    assert_eq!(PeerEncryption::Rc4.flag(), Some('E'));
    assert_eq!(PeerEncryption::Handshake.flag(), Some('e'));
    assert_eq!(PeerEncryption::None.flag(), None);
}
