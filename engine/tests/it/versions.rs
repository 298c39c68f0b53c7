//! Which torrent versions a session takes (all three), and how a hybrid is
//! known by both its info-hashes: one torrent, listed once, found (and
//! refused as a duplicate) by either hash, gone from both when removed;
//! and the SHA-1s each version's pieces are checked against.

use monsoon_engine::{
    AddTorrentOptions, CreateOptions, EngineError, Magnet, MetaVersion, Metainfo, Session,
    SessionConfig, create_torrent,
};

use crate::support::{bytes, temp_dir};

fn no_trackers() -> AddTorrentOptions {
    let mut add = AddTorrentOptions::default();
    add.no_trackers = true;
    add
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_version_is_added_and_a_hybrid_answers_to_both_hashes() {
    let dir = temp_dir("versions");
    let src = dir.join("src.bin");
    std::fs::write(&src, bytes(40_000, 1)).unwrap();
    let mut cfg = SessionConfig::new(dir.join("dl"));
    cfg.listen_addr = "127.0.0.1:0".parse().unwrap();
    let session = Session::new(cfg).await.unwrap();
    let make = |version| {
        let opts = CreateOptions {
            version,
            ..CreateOptions::default()
        };
        Metainfo::from_bytes(&create_torrent(&src, &opts).unwrap()).unwrap()
    };
    let v2 = make(MetaVersion::V2);
    assert_eq!(v2.version, MetaVersion::V2);
    let v2_handle = session
        .add_torrent(v2.clone(), no_trackers())
        .await
        .unwrap();
    assert_eq!(v2_handle.info_hash(), v2.info_hash, "the truncated SHA-256");
    let hybrid = make(MetaVersion::Hybrid);
    let v2_full = hybrid.info_hash_v2.unwrap();
    let handle = session
        .add_torrent(hybrid.clone(), no_trackers())
        .await
        .unwrap();
    assert_eq!(handle.info_hash(), hybrid.info_hash, "known by its v1 hash");
    assert_eq!(session.torrents().len(), 2, "the hybrid is listed once");

    // The same hybrid, named by its v2 hash alone, or by its v1 hash alone.
    let by_v2 = Magnet::parse(&format!("magnet:?xt=urn:btmh:1220{}", hex(&v2_full))).unwrap();
    let by_v1 = Magnet::parse(&format!("magnet:?xt=urn:btih:{}", hybrid.info_hash_hex())).unwrap();
    for m in [by_v2.clone(), by_v1] {
        let added = session.add_magnet(m, no_trackers()).await;
        assert!(matches!(added, Err(EngineError::Duplicate(_))), "{added:?}");
    }
    // Removed, it is gone under both hashes: the v2 link adds a torrent.
    handle.remove().await.unwrap();
    let again = session.add_magnet(by_v2, no_trackers()).await.unwrap();
    assert_eq!(
        again.info_hash(),
        v2_full[..20],
        "a v2 link's torrent is known by the truncated hash"
    );
    assert_eq!(session.torrents().len(), 2);
    session.shutdown().await;
}

/// A v1 or hybrid torrent's pieces are checked against the metainfo's own
/// SHA-1s, shared, not copied (a copy was 20 bytes a piece: 40 MiB for the
/// 2 Mi pieces of a 32 GiB torrent of 16 KiB pieces); a v2-only torrent
/// has none.
#[test]
fn the_verifier_shares_the_metainfos_sha1s() {
    use std::sync::Arc;

    use monsoon_engine::torrent::Verifier;

    let dir = temp_dir("verifier-sha1s");
    let src = dir.join("src.bin");
    std::fs::write(&src, bytes(100_000, 3)).unwrap();
    for version in [MetaVersion::V1, MetaVersion::Hybrid, MetaVersion::V2] {
        let opts = CreateOptions {
            version,
            piece_length: Some(16384),
            ..CreateOptions::default()
        };
        let meta = Arc::new(Metainfo::from_bytes(&create_torrent(&src, &opts).unwrap()).unwrap());
        let verifier = Verifier::new(&meta);
        assert_eq!(verifier.piece_count(), 7);
        for p in 0..7 {
            let expected = version.has_v1().then(|| meta.pieces[p as usize]);
            assert_eq!(verifier.piece(p).sha1, expected, "{version:?} piece {p}");
        }
        let shared = if version.has_v1() { 2 } else { 1 };
        assert_eq!(Arc::strong_count(&meta), shared, "{version:?}");
        if version == MetaVersion::V1 {
            assert_eq!(verifier, Verifier::v1(meta.pieces.clone()));
        }
    }
}
