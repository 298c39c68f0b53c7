//! Path sanitising: hostile names never resolve outside the download folder.

use std::path::{Component, Path};

use monsoon_bencode::OwnedValue;
use monsoon_metainfo::{Metainfo, is_contained};
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
    let paths: Vec<String> = m.files.iter().map(|f| f.path.join("/")).collect();
    assert_eq!(
        paths,
        [
            "dl/etc/passwd",
            "dl/_etc_shadow",
            "dl/a",
            "dl/C:_Windows/x",
            "dl/.._.._evil",
            "dl/_",
            "dl/_.1",
            "dl/.../.hidden",
        ]
    );
    for f in &m.files {
        assert!(is_contained(&f.relative_path()), "{:?}", f.path);
    }
}

#[test]
fn hostile_names_are_sanitised() {
    for (raw, want) in [("../x", ".._x"), ("/", "_"), ("a\\b", "a_b"), ("n\0", "n_")] {
        let m = parse(&torrent(single_info(raw, 10, 16384))).unwrap();
        assert_eq!(m.name, want);
        assert_eq!(m.files[0].path, [want]);
    }
    // A name that sanitises to nothing becomes the info-hash.
    for raw in ["", ".", ".."] {
        let m = parse(&torrent(single_info(raw, 10, 16384))).unwrap();
        assert_eq!(m.name, m.info_hash_hex());
    }
}

#[test]
fn duplicate_paths_after_sanitising_are_renamed() {
    let info = multi_info("d", &[(&["a/b"], 1), (&["a\\b"], 1), (&["a_b"], 1)], 16384);
    let m = parse(&torrent(info)).unwrap();
    let names: Vec<&str> = m.files.iter().map(|f| f.path[1].as_str()).collect();
    assert_eq!(names, ["a_b", "a_b.1", "a_b.2"]);
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
        files in prop::collection::vec(prop::collection::vec(component(), 0..6), 1..6),
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
            let rel = f.relative_path();
            prop_assert!(is_contained(&rel), "{:?}", f.path);
            prop_assert!(rel.components().all(|c| matches!(c, Component::Normal(_))));
            prop_assert_eq!(rel.components().count(), f.path.len());
            let full = root.join(&rel);
            prop_assert!(full.starts_with(root));
            prop_assert!(full.components().count() > root.components().count());
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
            let sum: u64 = m.files.iter().map(|f| f.length).sum();
            prop_assert_eq!(sum, m.total_length);
            prop_assert!(m.total_length > 0);
            prop_assert_eq!(u64::from(m.piece_count()), m.total_length.div_ceil(u64::from(m.piece_length)));
            for f in &m.files {
                prop_assert!(is_contained(&f.relative_path()));
            }
        }
    }

    #[test]
    fn single_file_names_stay_one_component(name in component()) {
        let info = single_info("x", 10, 16384).insert("name", name);
        let m = parse(&torrent(info)).unwrap();
        prop_assert_eq!(m.files[0].relative_path().components().count(), 1);
        prop_assert!(is_contained(&m.files[0].relative_path()));
    }
}
