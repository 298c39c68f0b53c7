//! Path sanitising: hostile names never resolve outside the download folder,
//! and land where libtorrent puts them (the expected paths below are what
//! libtorrent 2.0.8 gives for the same torrents).

use std::path::{Component, Path};

use monsoon_bencode::OwnedValue;
use monsoon_metainfo::{Metainfo, MetainfoError, is_contained};
use proptest::prelude::*;

use super::{hashes, multi_info, parse, single_info, torrent};

#[test]
fn dot_dot_and_friends_are_dropped_or_replaced() {
    let info = multi_info(
        "dl",
        &[
            (&["..", "..", "etc", "passwd"], 1),
            (&["/etc/shadow"], 1),
            (&["", ".", "a"], 1),
            (&["C:\\Windows", "x"], 1),
            (&["..\\..\\evil"], 1),
            (&["\0"], 1),
            (&[".."], 1),
            (&["...", ".hidden"], 1),
        ],
        16384,
    );
    let m = parse(&torrent(info)).unwrap();
    let paths: Vec<String> = m.files.iter().map(|f| f.path().to_string()).collect();
    // An empty component becomes `_`, so `dl/_` is a folder: the files
    // that sanitise to `_` are renamed.
    assert_eq!(
        paths,
        [
            "dl/etc/passwd",
            "dl/etcshadow",
            "dl/_/a",
            "dl/C:Windows/x",
            "dl/....evil",
            "dl/_.1",
            "dl/_.2",
            "dl/.../.hidden",
        ]
    );
    for f in &m.files {
        assert!(is_contained(&f.path().to_path_buf()), "{:?}", f.path());
    }
}

#[test]
fn hostile_names_are_sanitised() {
    for (raw, want) in [
        ("../x", "..x"),
        ("a\\b", "ab"),
        ("n\0", "n"),
        ("n\x01", "n_"),
        ("x\ny", "x_y"),
    ] {
        let m = parse(&torrent(single_info(raw, 10, 16384))).unwrap();
        assert_eq!(m.name, want);
        assert_eq!(m.files.file(0).path(), [want]);
    }
    let m = parse(&torrent(
        single_info("x", 10, 16384).insert("name", OwnedValue::bytes(b"caf\xe9")),
    ))
    .unwrap();
    assert_eq!(m.name, "caf_");
    // A single file needs a name.
    for raw in ["", ".", "..", "/", "\0"] {
        assert_eq!(
            parse(&torrent(single_info(raw, 10, 16384))),
            Err(MetainfoError::UnusableName),
            "{raw:?}"
        );
    }
    // A folder whose name sanitises to nothing is named after the info-hash
    // (an empty name is `_`, like any empty component).
    let m = parse(&torrent(multi_info("", &[(&["a"], 1)], 16384))).unwrap();
    assert_eq!(m.files.file(0).path(), ["_", "a"]);
    for raw in [".", "..", "/"] {
        let m = parse(&torrent(multi_info(raw, &[(&["a"], 1)], 16384))).unwrap();
        assert_eq!(m.name, m.info_hash_hex(), "{raw:?}");
        assert_eq!(m.files.file(0).path(), [m.info_hash_hex(), "a".to_owned()]);
    }
}

#[test]
fn duplicate_paths_after_sanitising_are_renamed() {
    let info = multi_info("d", &[(&["a/b"], 1), (&["a\\b"], 1), (&["a_b"], 1)], 16384);
    let m = parse(&torrent(info)).unwrap();
    let names: Vec<&str> = m
        .files
        .iter()
        .map(|f| f.path().components().nth(1).unwrap())
        .collect();
    assert_eq!(names, ["ab", "ab.1", "a_b"]);
}

/// Issue 19 item 5: a file `a` and a file `a/b` used to fail mid-download
/// with "Not a directory". They are decided at load time, as libtorrent
/// does: folders are reserved first, and the file is renamed `a.1`
/// whichever comes first.
#[test]
fn a_file_and_a_folder_of_the_same_name() {
    for (files, want) in [
        (
            &[(&["a"][..], 1), (&["a", "b"][..], 1)][..],
            ["t/a.1", "t/a/b"],
        ),
        (
            &[(&["a", "b"][..], 1), (&["a"][..], 1)][..],
            ["t/a/b", "t/a.1"],
        ),
        (
            &[(&["A"][..], 1), (&["a", "b"][..], 1)][..],
            ["t/A.1", "t/a/b"],
        ),
    ] {
        let m = parse(&torrent(multi_info("t", files, 16384))).unwrap();
        let paths: Vec<String> = m.files.iter().map(|f| f.path().to_string()).collect();
        assert_eq!(paths, want);
    }
    let info = multi_info(
        "t",
        &[
            (&["x.txt"], 1),
            (&["X.TXT"], 1),
            (&["x.txt"], 1),
            (&["x.1.txt"], 1),
            (&[".rc"], 1),
            (&[".rc"], 1),
        ],
        16384,
    );
    let m = parse(&torrent(info)).unwrap();
    let paths: Vec<String> = m.files.iter().map(|f| f.path().to_string()).collect();
    assert_eq!(
        paths,
        [
            "t/x.txt",
            "t/X.1.TXT",
            "t/x.2.txt",
            "t/x.1.1.txt",
            "t/.rc",
            "t/.1.rc"
        ]
    );
}

/// Path components: hostile fixed strings, arbitrary text, arbitrary bytes.
fn component() -> impl Strategy<Value = OwnedValue> {
    prop_oneof![
        prop::sample::select(vec![
            "..", ".", "", "/", "\\", "/etc", "C:", "C:\\", "..\\..", "\0", "a/../..", "~", "//"
        ])
        .prop_map(OwnedValue::from),
        "[./\\\\a-z\0:]{0,6}".prop_map(|t| OwnedValue::from(t.as_str())),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(OwnedValue::Bytes),
    ]
}

proptest! {
    #[test]
    fn no_file_resolves_outside_the_root(
        name in component(),
        files in prop::collection::vec(prop::collection::vec(component(), 1..6), 1..6),
    ) {
        let list: Vec<OwnedValue> = files
            .into_iter()
            .map(|p| OwnedValue::dict().insert("length", 1.into()).insert("path", OwnedValue::List(p)))
            .collect();
        let n = list.len();
        let info = OwnedValue::dict()
            .insert("name", name)
            .insert("files", list.into())
            .insert("piece length", 16384.into())
            .insert("pieces", hashes(1).into());
        let m = parse(&torrent(info)).unwrap();
        prop_assert_eq!(m.files.len(), n);
        let root = Path::new("/downloads/root");
        for f in &m.files {
            let rel = f.path().to_path_buf();
            prop_assert!(is_contained(&rel), "{:?}", f.path());
            prop_assert!(rel.components().all(|c| matches!(c, Component::Normal(_))));
            prop_assert_eq!(rel.components().count(), f.path().len());
            let full = root.join(&rel);
            prop_assert!(full.starts_with(root));
            prop_assert!(full.components().count() > root.components().count());
        }
        // No two files share a path (ignoring ASCII case), and no file is
        // where another file's folder is.
        let keys: Vec<String> = m.files.iter().map(|f| f.path().to_string().to_ascii_lowercase()).collect();
        let set: std::collections::HashSet<&String> = keys.iter().collect();
        prop_assert_eq!(set.len(), keys.len());
        for f in &m.files {
            for end in 1..f.path().len() {
                let dir = f.path().to_vec()[..end].join("/").to_ascii_lowercase();
                prop_assert!(!set.contains(&dir), "{} is a file and a folder", dir);
            }
        }
    }

    #[test]
    fn corrupted_torrents_are_rejected_or_consistent(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = torrent(multi_info("d", &[(&["a", "b"], 20000), (&["c"], 5)], 16384)).encode();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.truncate(cut.index(bytes.len() + 1).max(bytes.len() / 2));
        if let Ok(m) = Metainfo::from_bytes(&bytes) {
            let sum: u64 = m.files.iter().map(|f| f.length()).sum();
            prop_assert_eq!(sum, m.total_length);
            prop_assert!(m.total_length > 0);
            prop_assert_eq!(u64::from(m.piece_count()), m.total_length.div_ceil(u64::from(m.piece_length)));
            for f in &m.files {
                prop_assert!(is_contained(&f.path().to_path_buf()));
            }
        }
    }

    #[test]
    fn single_file_names_stay_one_component(name in component()) {
        let info = single_info("x", 10, 16384).insert("name", name);
        match parse(&torrent(info)) {
            Ok(m) => {
                prop_assert_eq!(m.files.file(0).path().to_path_buf().components().count(), 1);
                prop_assert!(is_contained(&m.files.file(0).path().to_path_buf()));
            }
            Err(e) => prop_assert_eq!(e, MetainfoError::UnusableName),
        }
    }
}
