//! Torrent creation: round-trip through the parser, piece hashes checked
//! against the data, deterministic output, and every error.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use monsoon_metainfo::{
    CreateError, CreateOptions, MAX_PATH_DEPTH, MAX_PIECES, MetaVersion, Metainfo, create_torrent,
};
use sha1::{Digest, Sha1};

/// A fresh, empty directory under cargo's per-test temp folder.
fn scratch(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "metainfo-create-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Deterministic pseudo-random bytes.
fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn check_pieces(m: &Metainfo, stream: &[u8]) {
    assert_eq!(m.total_length, stream.len() as u64);
    let want: Vec<[u8; 20]> = stream
        .chunks(m.piece_length as usize)
        .map(|c| Sha1::digest(c).into())
        .collect();
    assert_eq!(m.pieces, want);
}

#[test]
fn folder_round_trip() {
    let root = scratch("folder");
    let src = root.join("album");
    fs::create_dir_all(src.join("b/deep")).unwrap();
    fs::create_dir_all(src.join("a")).unwrap();
    // Sizes chosen so pieces straddle file boundaries; one empty file.
    let files: [(&str, usize); 5] = [
        ("z.txt", 1000),
        ("a/1.bin", 20000),
        ("b/deep/x", 16384),
        ("b/empty", 0),
        ("b/y", 33333),
    ];
    for (i, (p, len)) in files.iter().enumerate() {
        fs::write(src.join(p), data(*len, i as u32)).unwrap();
    }
    let opts = CreateOptions {
        trackers: vec![
            vec!["http://t1/ann".into(), "http://t2/ann".into()],
            vec!["udp://t3:1".into()],
        ],
        url_list: vec!["http://seed/".into()],
        piece_length: Some(16384),
        private: true,
        comment: Some("made by a test".into()),
        created_by: Some("monsoon/test".into()),
        creation_date: Some(1_700_000_000),
        threads: 3,
        version: MetaVersion::V1,
    };
    let bytes = create_torrent(&src, &opts).unwrap();
    // Canonical bencode: the strict decoder accepts it.
    assert!(monsoon_bencode::decode(&bytes).is_ok());
    let m = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(m.name, "album");
    assert!(m.multi_file && m.private);
    let paths: Vec<String> = m.files.iter().map(|f| f.path().to_string()).collect();
    assert_eq!(
        paths,
        [
            "album/a/1.bin",
            "album/b/deep/x",
            "album/b/empty",
            "album/b/y",
            "album/z.txt"
        ]
    );
    let mut stream = Vec::new();
    for f in &m.files {
        stream.extend(fs::read(root.join(f.path().to_path_buf())).unwrap());
    }
    check_pieces(&m, &stream);
    assert_eq!(m.trackers, opts.trackers);
    assert_eq!(m.url_list, ["http://seed/"]);
    assert_eq!(m.comment.as_deref(), Some("made by a test"));
    assert_eq!(m.created_by.as_deref(), Some("monsoon/test"));
    assert_eq!(m.creation_date, Some(1_700_000_000));

    // Same tree, any thread count: the same bytes.
    for threads in [1, 2, 7, 64] {
        let again = create_torrent(
            &src,
            &CreateOptions {
                threads,
                ..opts.clone()
            },
        )
        .unwrap();
        assert_eq!(again, bytes, "threads = {threads}");
    }
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn single_file_with_default_piece_length() {
    let root = scratch("single");
    let path = root.join("movie.mkv");
    let content = data(300_001, 9);
    fs::write(&path, &content).unwrap();
    let opts = CreateOptions {
        trackers: vec![vec!["http://t/ann".into()]],
        ..CreateOptions::default()
    };
    let bytes = create_torrent(&path, &opts).unwrap();
    let m = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(m.name, "movie.mkv");
    assert!(!m.multi_file && !m.private);
    assert_eq!(m.piece_length, 16384);
    assert_eq!(m.files.file(0).path(), ["movie.mkv"]);
    check_pieces(&m, &content);
    assert_eq!(m.trackers, [["http://t/ann"]]);
    // A single tracker is written as `announce` only.
    let top = monsoon_bencode::decode(&bytes).unwrap();
    assert!(top.as_dict().unwrap().get(b"announce-list").is_none());
    assert!(m.comment.is_none() && m.creation_date.is_none());
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn errors() {
    let root = scratch("errors");
    let missing = root.join("nope");
    assert!(matches!(
        create_torrent(&missing, &CreateOptions::default()),
        Err(CreateError::Io { path, .. }) if path == missing
    ));

    let empty_dir = root.join("empty");
    fs::create_dir_all(empty_dir.join("sub")).unwrap();
    fs::write(empty_dir.join("sub/zero"), b"").unwrap();
    assert!(matches!(
        create_torrent(&empty_dir, &CreateOptions::default()),
        Err(CreateError::Empty(_))
    ));

    let file = root.join("f");
    fs::write(&file, b"abc").unwrap();
    for pl in [1000, 8192, 3 << 14, 128 << 20] {
        let opts = CreateOptions {
            piece_length: Some(pl),
            ..CreateOptions::default()
        };
        assert!(matches!(
            create_torrent(&file, &opts),
            Err(CreateError::InvalidPieceLength(p)) if p == u64::from(pl)
        ));
    }

    // A sparse file needing more than MAX_PIECES pieces at 16 KiB.
    let big = root.join("big");
    let f = fs::File::create(&big).unwrap();
    let len = (u64::from(MAX_PIECES) + 1) * 16384;
    f.set_len(len).unwrap();
    let opts = CreateOptions {
        piece_length: Some(16384),
        ..CreateOptions::default()
    };
    assert!(matches!(
        create_torrent(&big, &opts),
        Err(CreateError::TooManyPieces(n)) if n == u64::from(MAX_PIECES) + 1
    ));
    fs::remove_file(&big).unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let sock_dir = root.join("sock");
        fs::create_dir_all(&sock_dir).unwrap();
        fs::write(sock_dir.join("a"), b"data").unwrap();
        let sock = sock_dir.join("s");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(matches!(
            create_torrent(&sock_dir, &CreateOptions::default()),
            Err(CreateError::NotAFile(p)) if p == sock
        ));

        let bad_dir = root.join("nonutf8");
        fs::create_dir_all(&bad_dir).unwrap();
        let bad = bad_dir.join(std::ffi::OsStr::from_bytes(b"\xff"));
        fs::write(&bad, b"data").unwrap();
        assert!(matches!(
            create_torrent(&bad_dir, &CreateOptions::default()),
            Err(CreateError::NonUtf8Name(p)) if p == bad
        ));

        // A symlink loop.
        let looped = root.join("loop");
        fs::create_dir_all(looped.join("sub")).unwrap();
        fs::write(looped.join("a"), b"data").unwrap();
        std::os::unix::fs::symlink(&looped, looped.join("sub/again")).unwrap();
        assert!(matches!(
            create_torrent(&looped, &CreateOptions::default()),
            Err(CreateError::Loop(p)) if p == looped.join("sub/again")
        ));

        // A tree deeper than MAX_PATH_DEPTH.
        let deep = root.join("deep");
        let mut leaf = deep.clone();
        for _ in 0..=MAX_PATH_DEPTH {
            leaf.push("d");
        }
        fs::create_dir_all(&leaf).unwrap();
        fs::write(leaf.join("f"), b"data").unwrap();
        assert!(matches!(
            create_torrent(&deep, &CreateOptions::default()),
            Err(CreateError::TooDeep(_))
        ));
    }
    fs::remove_dir_all(&root).unwrap();
}
