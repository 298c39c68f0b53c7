//! Which torrent versions a session takes: v1 and hybrid (through the v1
//! half), not v2-only yet (a typed error, never a half-started torrent).

use monsoon_engine::{
    AddTorrentOptions, CreateOptions, EngineError, Magnet, MetaVersion, Metainfo, Session,
    SessionConfig, create_torrent,
};

use crate::support::{bytes, temp_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_only_is_refused_and_hybrid_is_added() {
    let dir = temp_dir("versions");
    let src = dir.join("src.bin");
    std::fs::write(&src, bytes(40_000, 1)).unwrap();
    let mut cfg = SessionConfig::new(dir.join("dl"));
    cfg.listen_addr = "127.0.0.1:0".parse().unwrap();
    let session = Session::new(cfg).await.unwrap();
    for (version, accepted) in [(MetaVersion::V2, false), (MetaVersion::Hybrid, true)] {
        let opts = CreateOptions {
            version,
            ..CreateOptions::default()
        };
        let meta = Metainfo::from_bytes(&create_torrent(&src, &opts).unwrap()).unwrap();
        assert_eq!(meta.version, version);
        let mut add = AddTorrentOptions::default();
        add.no_trackers = true;
        let added = session.add_torrent(meta, add).await;
        match added {
            Err(EngineError::V2OnlyUnsupported) => assert!(!accepted),
            Ok(_) => assert!(accepted),
            Err(e) => panic!("{version:?}: {e}"),
        }
    }
    // A magnet link with only a v2 hash is refused the same way.
    let v2_only = Magnet::parse(&format!("magnet:?xt=urn:btmh:1220{}", "ab".repeat(32))).unwrap();
    assert!(!v2_only.has_v1);
    let added = session
        .add_magnet(v2_only, AddTorrentOptions::default())
        .await;
    assert!(
        matches!(added, Err(EngineError::V2OnlyUnsupported)),
        "{added:?}"
    );
    session.shutdown().await;
}
