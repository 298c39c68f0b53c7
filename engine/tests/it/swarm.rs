//! In-process swarms: the engine downloads from scripted seeders over
//! loopback, with faults, resume and selective download.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use monsoon_engine::{
    AddTorrentOptions, CloseReason, Encryption, Session, SessionConfig, Stats, TorrentState,
};

use crate::support::{
    Fault, Seeder, TestTorrent, assert_same_files, make_torrent, seeder, temp_dir,
};

/// Bound on any one download in these tests.
const LIMIT: Duration = Duration::from_secs(60);

fn config(root: &Path) -> SessionConfig {
    let mut cfg = SessionConfig::new(root);
    cfg.listen_addr = "127.0.0.1:0".parse().unwrap();
    // The scripted seeders speak plaintext only: dial them so, without the
    // encrypted attempt first (tests/it/encryption.rs covers that retry).
    cfg.encryption = Encryption::Disable;
    cfg.snub_timeout = Duration::from_secs(2);
    cfg.idle_timeout = Duration::from_secs(20);
    cfg
}

async fn download_with(
    t: &TestTorrent,
    seeders: &[&Seeder],
    out: &Path,
    file_priorities: Option<Vec<u8>>,
) -> Stats {
    crate::support::init_logging();
    let session = Session::new(config(out)).await.unwrap();
    let mut opts = AddTorrentOptions::default();
    opts.peers = seeders.iter().map(|s| s.addr).collect();
    opts.no_trackers = true;
    opts.file_priorities = file_priorities;
    let handle = session.add_torrent((*t.meta).clone(), opts).await.unwrap();
    tokio::time::timeout(LIMIT, handle.wait_complete())
        .await
        .expect("download did not finish in time")
        .expect("download failed");
    let stats = handle.stats();
    session.shutdown().await;
    stats
}

async fn download(t: &TestTorrent, seeders: &[&Seeder]) -> (PathBuf, Stats) {
    let out = temp_dir("out");
    let stats = download_with(t, seeders, &out, None).await;
    assert_same_files(&t.meta, &t.source, &out);
    (out, stats)
}

fn multi_file(tag: &str) -> TestTorrent {
    make_torrent(
        tag,
        "multi",
        &[
            ("a/one.bin", 70_001),
            ("empty.txt", 0),
            ("b/c/tiny.bin", 5),
            ("three.bin", 300_017),
            ("b/odd.bin", 49_153),
        ],
        32 * 1024,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_seeder_single_file() {
    let t = make_torrent("one", "file.bin", &[("", 1_000_003)], 32 * 1024);
    let s = seeder(&t, Fault::None).await;
    let (_, stats) = download(&t, &[&s]).await;
    assert_eq!(stats.done_bytes, t.meta.total_length);
    assert_eq!(stats.pieces_done, t.meta.piece_count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_seeders_multi_file() {
    let t = multi_file("eight");
    let mut seeders = Vec::new();
    for _ in 0..8 {
        seeders.push(seeder(&t, Fault::None).await);
    }
    let refs: Vec<&Seeder> = seeders.iter().collect();
    let (out, _) = download(&t, &refs).await;
    assert_eq!(
        std::fs::metadata(out.join("multi/empty.txt"))
            .unwrap()
            .len(),
        0
    );
    let used = seeders
        .iter()
        .filter(|s| s.bytes_served.load(Ordering::Relaxed) > 0)
        .count();
    assert!(
        used >= 2,
        "blocks should come from several seeders, came from {used}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupting_seeder_is_banned() {
    // The corrupting seeder alone first: its bad pieces are its own (a
    // piece with one sender is a strike; the second strike bans). Then the
    // good seeders finish the download.
    crate::support::init_logging();
    let t = make_torrent("corrupt", "file.bin", &[("", 3_000_000)], 16 * 1024);
    let bad = seeder(&t, Fault::Corrupt).await;
    let good1 = seeder(&t, Fault::None).await;
    let good2 = seeder(&t, Fault::None).await;
    let out = temp_dir("corrupt-out");
    let session = Session::new(config(&out)).await.unwrap();
    let mut opts = AddTorrentOptions::default();
    opts.peers = vec![bad.addr];
    opts.no_trackers = true;
    let handle = session.add_torrent((*t.meta).clone(), opts).await.unwrap();
    let mut watch = handle.subscribe();
    tokio::time::timeout(LIMIT, async {
        while watch.borrow_and_update().banned_peers == 0 {
            watch.changed().await.unwrap();
        }
    })
    .await
    .expect("the corrupting seeder was never banned");
    handle
        .add_peers(vec![good1.addr, good2.addr])
        .await
        .unwrap();
    tokio::time::timeout(LIMIT, handle.wait_complete())
        .await
        .expect("download did not finish in time")
        .expect("download failed");
    let stats = handle.stats();
    session.shutdown().await;
    assert_same_files(&t.meta, &t.source, &out);
    assert!(
        stats.wasted >= 2 * 16 * 1024,
        "corrupt pieces were detected: {stats:?}"
    );
    assert_eq!(stats.banned_peers, 1, "{stats:?}");
    assert_eq!(stats.closed_by_us.get(CloseReason::Banned), 1, "{stats:?}");
}

/// Downloads from a faulty seeder and a good one. `closed`: the reason
/// monsoon must have closed the faulty connection for before the download
/// finished; `None`: the peer did nothing wrong by the protocol, and
/// monsoon must not have closed anything for a violation.
async fn survives(fault: Fault, closed: Option<CloseReason>) {
    let t = make_torrent("fault", "file.bin", &[("", 400_000)], 16 * 1024);
    let bad = seeder(&t, fault).await;
    let good = seeder(&t, Fault::None).await;
    // The stats as the download completed (before the session shut down).
    let (_, stats) = download(&t, &[&bad, &good]).await;
    assert!(
        bad.connections.load(Ordering::Relaxed) >= 1,
        "{fault:?}: never connected"
    );
    let by_us = &stats.closed_by_us;
    match closed {
        Some(reason) => assert!(
            by_us.get(reason) >= 1,
            "{fault:?}: not closed for {reason:?} before the download finished: {by_us:?}"
        ),
        None => assert_eq!(by_us.violations(), 0, "{fault:?}: {by_us:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_mid_piece() {
    survives(Fault::DisconnectMidPiece, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn choke_flapping() {
    survives(Fault::ChokeFlap, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_unchokes() {
    survives(Fault::NeverUnchoke, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn very_slow_peer() {
    survives(Fault::Slow, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_info_hash() {
    survives(Fault::WrongInfoHash, Some(CloseReason::WrongInfoHash)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitfield_of_wrong_length() {
    survives(Fault::BadBitfieldLength, Some(CloseReason::BadBitfield)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrequested_piece_data() {
    survives(Fault::UnrequestedPiece, Some(CloseReason::UnrequestedBlock)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_message() {
    survives(Fault::Oversize, Some(CloseReason::Malformed)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_fetches_only_missing_and_corrupt_pieces() {
    let piece = 16 * 1024u32;
    let t = make_torrent("resume", "file.bin", &[("", 40 * 16 * 1024 + 1000)], piece);
    let out = temp_dir("resume-out");
    // A half-downloaded file: the first 20 pieces present, one of them corrupt.
    let mut partial = t.data[..20 * piece as usize].to_vec();
    partial[5 * piece as usize + 17] ^= 1;
    std::fs::write(out.join("file.bin"), &partial).unwrap();
    let s = seeder(&t, Fault::None).await;
    download_with(&t, &[&s], &out, None).await;
    assert_same_files(&t.meta, &t.source, &out);
    let missing = t.meta.total_length - 20 * u64::from(piece) + u64::from(piece);
    assert_eq!(
        s.bytes_served.load(Ordering::Relaxed),
        missing,
        "only missing and corrupt pieces are fetched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selective_download_skips_unwanted_files() {
    let t = multi_file("select");
    let s = seeder(&t, Fault::None).await;
    let out = temp_dir("select-out");
    // Skip "three.bin" (300 KB): only pieces it shares with wanted files are fetched.
    let prio: Vec<u8> = t
        .meta
        .files
        .iter()
        .map(|f| u8::from(f.name() != "three.bin"))
        .collect();
    let stats = download_with(&t, &[&s], &out, Some(prio)).await;
    for f in t
        .meta
        .files
        .iter()
        .filter(|f| !f.is_padding() && f.name() != "three.bin")
    {
        let rel = f.path().to_path_buf();
        assert_eq!(
            std::fs::read(out.join(&rel)).unwrap(),
            std::fs::read(t.source.join(&rel)).unwrap()
        );
    }
    let served = s.bytes_served.load(Ordering::Relaxed);
    let skipped = 300_017 - 2 * u64::from(t.meta.piece_length);
    assert!(
        served <= t.meta.total_length - skipped,
        "served {served} bytes of an unwanted file"
    );
    assert!(stats.wanted_bytes < t.meta.total_length);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_seeds_to_engine() {
    // One session seeds the source folder (its resume check finds every
    // piece); another downloads from it through its listener.
    let t = multi_file("e2e");
    crate::support::init_logging();
    let seeder = Session::new(config(&t.source)).await.unwrap();
    let mut opts = AddTorrentOptions::default();
    opts.no_trackers = true;
    let seeding = seeder.add_torrent((*t.meta).clone(), opts).await.unwrap();
    tokio::time::timeout(LIMIT, seeding.wait_complete())
        .await
        .expect("recheck took too long")
        .expect("the seeder finds its data complete");
    assert_eq!(seeding.stats().state, TorrentState::Seeding);

    let out = temp_dir("e2e-out");
    let leecher = Session::new(config(&out)).await.unwrap();
    let mut opts = AddTorrentOptions::default();
    opts.no_trackers = true;
    opts.peers = vec![seeder.listen_addr()];
    let leeching = leecher.add_torrent((*t.meta).clone(), opts).await.unwrap();
    tokio::time::timeout(LIMIT, leeching.wait_complete())
        .await
        .expect("download did not finish in time")
        .expect("download failed");
    assert_same_files(&t.meta, &t.source, &out);
    // Stats are published about once a second.
    let mut stats = seeding.subscribe();
    let uploaded = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let up = stats.borrow_and_update().uploaded;
            if up >= t.meta.total_length || stats.changed().await.is_err() {
                return up;
            }
        }
    })
    .await
    .unwrap_or(0);
    assert_eq!(
        uploaded, t.meta.total_length,
        "the seeder uploaded every byte once"
    );
    leecher.shutdown().await;
    seeder.shutdown().await;
}
