//! Differential tests against libtorrent: for every hand-made torrent under
//! `tests/fixtures/cases/`, we accept what libtorrent 2.0.8 accepts and
//! reject what it rejects, and read the same info-hashes, name, sizes,
//! offsets, paths (after sanitising and conflict renaming), BEP 47
//! attributes, symlink targets and merkle roots. `cases.json` holds
//! libtorrent's verdicts; `tests/fixtures/make_fixtures.py` regenerates both.

use std::path::PathBuf;

use monsoon_metainfo::{Metainfo, MetainfoError};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares what we read with what libtorrent read; returns the mismatches.
pub(crate) fn compare(m: &Metainfo, lt: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut check = |what: &str, ours: Value, theirs: &Value| {
        if ours != *theirs {
            diffs.push(format!("{what}: ours {ours}, libtorrent {theirs}"));
        }
    };
    let v1 = m.version.has_v1().then(|| m.info_hash_hex());
    check("info_hash_v1", v1.into(), &lt["info_hash_v1"]);
    check(
        "info_hash_v2",
        m.info_hash_v2_hex().into(),
        &lt["info_hash_v2"],
    );
    check("name", m.name.clone().into(), &lt["name"]);
    check("piece_length", m.piece_length.into(), &lt["piece_length"]);
    check("num_pieces", m.piece_count().into(), &lt["num_pieces"]);
    check("total_size", m.total_length.into(), &lt["total_size"]);
    let theirs = lt["files"].as_array().unwrap();
    check("file count", m.files.len().into(), &theirs.len().into());
    for (i, (f, t)) in m.files.iter().zip(theirs).enumerate() {
        let mut check = |what: &str, ours: Value, theirs: &Value| {
            if ours != *theirs {
                diffs.push(format!("file {i} {what}: ours {ours}, libtorrent {theirs}"));
            }
        };
        check("size", f.length().into(), &t["size"]);
        check("offset", f.offset().into(), &t["offset"]);
        check("pad", f.is_padding().into(), &t["pad"]);
        // Padding is never written: only its length matters.
        if !f.is_padding() {
            check("path", f.path().to_string().into(), &t["path"]);
        }
        check("hidden", f.is_hidden().into(), &t["hidden"]);
        check("executable", f.is_executable().into(), &t["executable"]);
        let link = f.symlink().map(|l| l.to_string());
        check("symlink", link.into(), &t["symlink"]);
        let root = f.pieces_root().map(|r| hex(r));
        check("root", root.into(), &t["root"]);
    }
    diffs
}

#[test]
fn we_accept_and_reject_what_libtorrent_does() {
    let verdicts: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("cases.json")).unwrap()).unwrap();
    let verdicts = verdicts.as_object().unwrap();
    assert!(verdicts.len() >= 70, "regenerate with make_fixtures.py");
    let mut failures = Vec::new();
    for (name, lt) in verdicts {
        let bytes =
            std::fs::read(fixtures().join("cases").join(format!("{name}.torrent"))).unwrap();
        let ours = Metainfo::from_bytes(&bytes);
        // libtorrent checks piece layers against the roots when the torrent
        // is added to a session; we check them while parsing.
        let lt_ok = lt["ok"] == true && lt["add_error"].is_null();
        match (&ours, lt_ok) {
            (Ok(m), true) => {
                for d in compare(m, lt) {
                    failures.push(format!("{name}: {d}"));
                }
            }
            (Err(_), false) => {}
            (Ok(_), false) => failures.push(format!(
                "{name}: accepted, libtorrent says {}",
                lt.get("error").or(lt.get("add_error")).unwrap()
            )),
            (Err(e), true) => failures.push(format!("{name}: rejected ({e}), libtorrent accepts")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The typed error for each case libtorrent rejects (libtorrent's message
/// in the comment).
#[test]
fn rejections_are_typed() {
    use MetainfoError as E;
    let cases: &[(&str, MetainfoError)] = &[
        // "the v1 and v2 file metadata does not match"
        ("hybrid_length_mismatch", E::HybridMismatch { file: 0 }),
        ("hybrid_path_mismatch", E::HybridMismatch { file: 0 }),
        ("hybrid_single_name_mismatch", E::HybridMismatch { file: 0 }),
        ("hybrid_without_padding", E::HybridMismatch { file: 1 }),
        // "missing name in torrent file"
        ("v1_dotdot_name_single", E::UnusableName),
        ("v1_empty_name_single", E::UnusableName),
        ("v1_empty_path", E::InvalidPath { file: 1 }),
        ("v1_path_utf8_empty", E::InvalidPath { file: 0 }),
        ("v2_single_dotdot", E::UnusableName),
        // "Success" (libtorrent sets no error code)
        ("v1_entry_not_a_dict", E::InvalidFileEntry { file: 0 }),
        ("v2_leaf_not_dict", E::InvalidFileTree { file: 0 }),
        // "invalid length of torrent"
        (
            "v1_file_too_large",
            E::FileTooLarge {
                file: 0,
                length: 1 << 45,
            },
        ),
        ("v1_missing_length", E::InvalidLength { file: 0 }),
        ("v1_negative_length", E::InvalidLength { file: 0 }),
        // "the torrent contains v2 keys but does not specify meta version 2"
        ("v1_file_tree_without_version", E::FileTreeWithoutVersion),
        // "the torrent file has an unknown meta version"
        ("v1_meta_version_3", E::UnsupportedVersion(3)),
        ("v2_meta_version_3", E::UnsupportedVersion(3)),
        // "no files in torrent"
        ("v1_no_files", E::EmptyFileList),
        ("v2_empty_tree", E::EmptyFileList),
        // "invalid or missing 'piece length' entry in torrent file"
        ("v1_piece_length_zero", E::InvalidPieceLength(0)),
        ("v2_piece_length_8k", E::PieceLengthNotPowerOfTwo(8192)),
        (
            "v2_piece_length_not_pow2",
            E::PieceLengthNotPowerOfTwo(49152),
        ),
        // "invalid 'name' of torrent (possible exploit attempt)"
        ("v1_symlink_bad_target", E::InvalidSymlinkPath { file: 1 }),
        // "incorrect number of piece hashes in torrent file"
        (
            "v1_wrong_piece_count",
            E::PieceCountMismatch {
                expected: 1,
                actual: 2,
            },
        ),
        // "failed to parse files from torrent file"
        ("v2_empty_key", E::InvalidFileTree { file: 0 }),
        ("v2_node_not_dict", E::InvalidFileTree { file: 0 }),
        // "a v2 file entry has no root hash"
        ("v2_missing_root", E::MissingPiecesRoot { file: 0 }),
        ("v2_short_root", E::MissingPiecesRoot { file: 0 }),
        ("v2_zero_root", E::MissingPiecesRoot { file: 0 }),
        // "the v2 torrent file has no file tree"
        ("v2_no_file_tree", E::MissingFileTree),
        // "a file in the v2 metadata has the pad attribute set"
        ("v2_pad_attr", E::PadFileInTree { file: 2 }),
        // "a piece layer is invalid"
        ("v2_piece_layers_bad_key", E::InvalidPieceLayers),
        ("v2_piece_layers_odd", E::InvalidPieceLayers),
        (
            "v2_piece_layers_short",
            E::PieceLayerLength {
                file: 0,
                expected: 96,
                actual: 64,
            },
        ),
        // (when added to a session) "a piece layer is invalid"
        (
            "v2_piece_layers_wrong_hashes",
            E::PieceLayerMismatch { file: 0 },
        ),
    ];
    for (name, want) in cases {
        let bytes =
            std::fs::read(fixtures().join("cases").join(format!("{name}.torrent"))).unwrap();
        assert_eq!(Metainfo::from_bytes(&bytes).as_ref(), Err(want), "{name}");
    }
    // "invalid bencoding": an unsorted info dictionary with a meta version.
    for name in ["v1_unsorted_keys_meta_version_1", "v2_unsorted_info"] {
        let bytes =
            std::fs::read(fixtures().join("cases").join(format!("{name}.torrent"))).unwrap();
        assert!(
            matches!(Metainfo::from_bytes(&bytes), Err(E::NotCanonical(_))),
            "{name}"
        );
    }
}
